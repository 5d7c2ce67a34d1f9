import Foundation
import Testing
@testable import RetraceCore
@testable import RetraceJournal
@testable import RetraceStore

/// Live mode against a loopback venue: real processes, real sockets on 127.0.0.1 ports the
/// tests pick, bounded durations, every process cleaned up.
@Suite("Live mode and the loopback venue", .serialized)
struct LiveTests {
    static var kills: Int { ProcessInfo.processInfo.environment["RETRACE_SOAK"] == "1" ? 200 : 20 }

    /// A free port on 127.0.0.1 (bound, read, released).
    static func freePort() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr)
        _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return UInt16(bigEndian: a.sin_port)
    }

    /// A background `retrace` process with its output in files.
    final class Child {
        let process = Process()
        let stdoutPath: String
        let stderrPath: String
        init(_ args: [String], in dir: String, name: String) throws {
            stdoutPath = dir + "/\(name).out"
            stderrPath = dir + "/\(name).err"
            _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
            _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
            process.executableURL = URL(fileURLWithPath: packageRoot + "/.build/debug/retrace")
            process.arguments = args
            process.currentDirectoryURL = URL(fileURLWithPath: dir)
            process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
            process.standardError = FileHandle(forWritingAtPath: stderrPath)
            try process.run()
        }
        var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
        /// Waits up to `seconds` for the exit; kills it after that.
        @discardableResult
        func wait(seconds: Double) -> Int32? {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            return process.terminationStatus
        }
        func signal(_ s: Int32) { kill(process.processIdentifier, s) }
        deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
    }

    /// Imports the bundled demo quotes once per test into `dir/data`.
    static func importDemo(_ dir: String) throws {
        let r = try retrace(["import", "quotes-csv", packageRoot + "/Datasets/demo/quotes.csv", "--out", dir + "/data"])
        guard r.status == 0 else { throw CLITestError("import failed: \(r.stderr)") }
    }

    /// Starts a venue and waits until it accepts connections.
    static func venue(_ dir: String, port: UInt16, _ extra: [String]) throws -> Child {
        let v = try Child(["venue", "--data", dir + "/data", "--listen", "127.0.0.1:\(port)", "--json", "--log-orders", dir + "/orders.csv"] + extra, in: dir, name: "venue")
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if v.stderr.contains("listening on") { return v }
            if !v.process.isRunning { throw CLITestError("venue exited: \(v.stderr)") }
            usleep(20_000)
        }
        throw CLITestError("venue did not start: \(v.stderr)")
    }

    /// Stops the venue with SIGINT and returns its JSON summary.
    static func stop(_ v: Child) throws -> [String: Any] {
        v.signal(SIGINT)
        guard v.wait(seconds: 10) == 0 else { throw CLITestError("venue did not stop cleanly: \(v.stderr)") }
        guard let o = try JSONSerialization.jsonObject(with: Data(v.stdout.utf8)) as? [String: Any] else { throw CLITestError("venue summary: \(v.stdout)") }
        return o
    }

    static func json(_ text: String) throws -> [String: Any] {
        guard let o = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { throw CLITestError("not one JSON object: \(text)") }
        return o
    }

    /// GET http://127.0.0.1:port/path over a plain socket.
    static func httpGet(port: UInt16, path: String) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr)
        let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { return nil }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, 0) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        return String(decoding: response, as: UTF8.self)
    }

    /// Parses the Prometheus text exposition format (0.0.4): every line must be a comment
    /// (`# HELP name text`, `# TYPE name type`) or a sample `name{label="v",…} value`.
    /// Returns samples keyed by `name{labels}`.
    static func parsePrometheus(_ text: String) throws -> [String: Double] {
        var samples: [String: Double] = [:]
        var types: [String: String] = [:]
        let name = /[a-zA-Z_:][a-zA-Z0-9_:]*/
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3)
                guard parts.count >= 3, parts[1] == "HELP" || parts[1] == "TYPE", (try? name.wholeMatch(in: String(parts[2]))) != nil else {
                    throw CLITestError("line \(i + 1): bad comment '\(line)'")
                }
                if parts[1] == "TYPE" {
                    guard parts.count == 4, ["counter", "gauge", "summary", "histogram", "untyped"].contains(String(parts[3])) else {
                        throw CLITestError("line \(i + 1): bad TYPE '\(line)'")
                    }
                    types[String(parts[2])] = String(parts[3])
                }
                continue
            }
            let sample = /(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?<labels>\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*)?\})? (?<value>\S+)/
            guard let m = try sample.wholeMatch(in: String(line)) else { throw CLITestError("line \(i + 1): bad sample '\(line)'") }
            let v = String(m.output.value)
            guard let value = v == "NaN" ? Double.nan : v == "+Inf" ? .infinity : v == "-Inf" ? -.infinity : Double(v) else {
                throw CLITestError("line \(i + 1): bad value '\(v)'")
            }
            let base = String(m.output.name)
            guard types[base] != nil || types[base.replacingOccurrences(of: "_count", with: "")] != nil else {
                throw CLITestError("line \(i + 1): sample \(base) has no TYPE line before it")
            }
            samples[base + String(m.output.labels ?? "")] = value
        }
        return samples
    }

    /// Fills the venue reported, client order ids it received as `new` (with duplicates).
    static func venueNews(_ dir: String) throws -> [String] {
        try csvRows(dir + "/orders.csv").filter { $0["action"] == "new" }.map { $0["client_order_id"]! }
    }

    /// Order ids submitted and fills in a run's journal.
    static func journalOrders(_ run: String) throws -> (submitted: Set<String>, fills: Int) {
        let reader = try JournalReader(directory: run + "/journal")
        var submitted = Set<String>()
        var fills = 0
        while let (_, e) = try reader.nextEvent() {
            switch e.body {
            case .orderSubmitted(let o): submitted.insert(String(o.orderID.raw))
            case .orderFilled: fills += 1
            default: break
            }
        }
        return (submitted, fills)
    }

    @Test("a loopback session with the market maker: orders, fills, metrics, clock offset within its round-trip bound, and the run replays to its fingerprint")
    func session() throws {
        let dir = scratch("live-session")
        defer { removeScratch(dir) }
        try Self.importDemo(dir)
        let port = Self.freePort(), metricsPort = Self.freePort()
        let venue = try Self.venue(dir, port: port, ["--speed", "300", "--clock-offset-ms", "250", "--drift-ppm", "5"])
        let live = try Child(["live", "--config", packageRoot + "/Config/live.json", "--venue", "127.0.0.1:\(port)", "--strategy", "market-maker",
                              "--set", "engine.pin=-1", "--metrics", "127.0.0.1:\(metricsPort)", "--out", dir + "/run", "--json"], in: dir, name: "live")
        // The endpoint while the session runs.
        var page: String?
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, live.process.isRunning {
            if let r = Self.httpGet(port: metricsPort, path: "/metrics"), r.contains("retrace_orders_total"), r.contains("retrace_tick_to_order_seconds{quantile=\"0.99\"} 0.") {
                page = r
                break
            }
            usleep(100_000)
        }
        let notFound = Self.httpGet(port: metricsPort, path: "/other")
        let status = live.wait(seconds: 30)
        let venueSummary = try Self.stop(venue)
        #expect(status == 0, "live: \(live.stderr)")
        let s = try Self.json(live.stdout)
        #expect(s["status"] as? String == "completed")
        #expect((s["orders"] as? Int ?? 0) > 100)
        #expect((s["fills"] as? Int ?? 0) > 10)
        #expect(s["fills"] as? Int == venueSummary["fills"] as? Int, "every fill the venue made is in the run")
        // Heartbeat time sync: the venue runs 250 ms ahead (plus its 5 ppm since it started,
        // microseconds). The estimate must be inside the bound its round trips give, and that
        // bound must be a loopback's (on an idle machine a fraction of a millisecond; on one
        // whose cores are saturated, a few).
        let offset = s["clock_offset_millis"] as? Double ?? 0
        let bound = s["clock_offset_bound_millis"] as? Double ?? -1
        #expect(bound > 0 && bound < 20, "clock offset bound \(bound) ms")
        #expect(abs(offset - 250) <= bound + 0.05, "clock offset estimated at \(offset) ± \(bound) ms, the venue's is 250 ms")
        #expect((s["commit_p99_micros"] as? Double ?? 0) > 0)
        #expect(s["tick_to_order_p99_micros"] != nil)
        // The metrics page parses and has what the issue asks for.
        let text = try #require(page, "no metrics page while the session ran")
        #expect(text.hasPrefix("HTTP/1.1 200 OK"))
        let body = String(text[text.range(of: "\r\n\r\n")!.upperBound...])
        let samples = try Self.parsePrometheus(body)
        for key in ["retrace_events_total{kind=\"market\"}", "retrace_journal_commit_seconds{quantile=\"0.99\"}", "retrace_tick_to_order_seconds{quantile=\"0.5\"}",
                    "retrace_ring_depth{ring=\"inbound\"}", "retrace_reconnects_total", "retrace_rejects_total{source=\"venue\"}",
                    "retrace_position{instrument=\"DEMO\"}", "retrace_realized_pnl{instrument=\"DEMO\"}", "retrace_equity", "retrace_venue_clock_offset_seconds"] {
            #expect(samples[key] != nil, "metrics page lacks \(key)")
        }
        #expect((samples["retrace_events_total{kind=\"market\"}"] ?? 0) > 0)
        // The alert rules name metrics the endpoint serves.
        let rules = try String(contentsOfFile: packageRoot + "/Config/alerts.yml", encoding: .utf8)
        let served = Set(samples.keys.map { String($0.prefix { $0 != "{" }) })
        var alerts = 0
        for line in rules.split(separator: "\n") where line.contains("expr:") {
            alerts += 1
            for m in line.matches(of: /retrace_[a-z_]+/) { #expect(served.contains(String(m.output)), "Config/alerts.yml: \(m.output) is not served") }
        }
        #expect(alerts >= 2)
        #expect(notFound?.hasPrefix("HTTP/1.1 404") == true)
        // The venue's order log.
        let header = try String(contentsOfFile: dir + "/orders.csv", encoding: .utf8).split(separator: "\n").first
        #expect(header == "venue_time_ns,action,client_order_id,side,price,quantity")
        let news = try Self.venueNews(dir)
        #expect(Set(news).count == news.count, "a client order id reached the venue twice")
        #expect(Set(news).isSubset(of: try Self.journalOrders(dir + "/run").submitted), "an order reached the venue that the journal does not hold")
        // Replayable from the journal alone.
        let replay = try retrace(["replay", dir + "/run", "--speed", "max", "--out", dir + "/replay", "--json"])
        #expect(replay.status == 0, "\(replay.stderr)")
        let r = try summary(replay)
        #expect(r["matches"] as? Bool == true)
        #expect(r["fingerprint"] as? String == s["fingerprint"] as? String)
        // What-if: the same recorded market data against the simulated venue instead of the
        // answers the venue gave.
        let sim = try retrace(["replay", dir + "/run", "--venue", "simulated", "--out", dir + "/simulated", "--json"])
        #expect(sim.status == 0, "\(sim.stderr)")
        let w = try summary(sim)
        #expect(w["what_if"] as? Bool == true && (w["orders"] as? Int ?? 0) > 0, "\(sim.stdout)")
        func marketInputs(_ run: String) throws -> [[UInt8]] {
            let reader = try JournalReader(directory: run + "/journal")
            var out: [[UInt8]] = []
            while let (record, e) = try reader.nextEvent() {
                if e.body.marketInstrument != nil { out.append(Array(record.payload)) }
            }
            return out
        }
        let kinds = try Self.kinds(dir + "/simulated")
        #expect(!kinds.contains(.venueReport) && !kinds.contains(.venueHeartbeat) && !kinds.contains(.sessionControl), "no live-session inputs: \(kinds)")
        #expect(try marketInputs(dir + "/simulated") == marketInputs(dir + "/run"), "the same market data")
    }

    @Test("live: the instrument trading rules refuse off-tick orders before they leave; the venue sees only orders on the grid; a four-slot store ring spills to the journal and the store still equals one rebuilt from it; the run replays")
    func tradingRules() throws {
        let dir = scratch("live-rules")
        defer { removeScratch(dir) }
        try Self.importDemo(dir)
        // A tick of 0.02 on prices quoted in cents: the market maker's quotes at odd cents
        // break the rule, the others go out.
        let rules = dir + "/rules.json"
        try #"{"instruments": [{"symbol": "DEMO", "tick_size": "0.02", "lot_size": "1", "min_quantity": "1"}]}"#.write(toFile: rules, atomically: true, encoding: .utf8)
        let port = Self.freePort()
        let venue = try Self.venue(dir, port: port, ["--speed", "300"])
        let live = try Child(["live", "--venue", "127.0.0.1:\(port)", "--strategy", "market-maker", "--param", "reference.file=\(rules)",
                              "--set", "engine.pin=-1", "--set", "store.ring_slots=4", "--out", dir + "/run", "--json"], in: dir, name: "live")
        let status = live.wait(seconds: 30)
        _ = try Self.stop(venue)
        #expect(status == 0, "live: \(live.stderr)")
        let manifest = try Self.json(try String(contentsOfFile: dir + "/run/manifest.json", encoding: .utf8))
        let reference = manifest["reference"] as? [String: Any]
        let refused = reference?["refused"] as? Int ?? 0
        // Every order journaled, its price, and which the rules refused.
        let reader = try JournalReader(directory: dir + "/run/journal")
        var prices: [UInt64: Int64] = [:]
        var refusedIDs = Set<UInt64>()
        while let (_, e) = try reader.nextEvent() {
            switch e.body {
            case .orderSubmitted(let o): prices[o.orderID.raw] = o.limitPrice.raw
            case .orderRejected(let r) where r.reason == .referenceTickSize: refusedIDs.insert(r.orderID.raw)
            default: break
            }
        }
        #expect(refused > 0 && refused == refusedIDs.count, "manifest reference \(String(describing: reference)), \(refusedIDs.count) journaled refusals")
        #expect(refusedIDs.allSatisfy { (prices[$0] ?? 0) % 2 != 0 }, "an order on the 0.02 grid was refused")
        let sent = try Self.venueNews(dir).compactMap(UInt64.init)
        #expect(!sent.isEmpty, "no order reached the venue")
        #expect(sent.allSatisfy { !refusedIDs.contains($0) && (prices[$0] ?? 1) % 2 == 0 }, "an off-tick order reached the venue")
        #expect(Set(sent).union(refusedIDs) == Set(prices.keys), "every order either went out or was refused")
        // The core did not wait for the store: the writer read on from the journal, and
        // what it wrote is what the journal projects to.
        #expect((manifest["store"] as? [String: Any])?["spilled_from"] as? Int != nil, "\(String(describing: manifest["store"]))")
        let rebuilt = try retrace(["journal", "rebuild-store", dir + "/run", "--out", dir + "/rebuilt.sqlite"])
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        for table in ["instruments", "orders", "fills", "positions", "equity", "trades"] {
            let query = "SELECT * FROM \(table) ORDER BY 1"
            #expect(try Self.rows(dir + "/run/store.sqlite", query) == Self.rows(dir + "/rebuilt.sqlite", query), "\(table)")
        }
        #expect(try Self.rows(dir + "/run/store.sqlite", "SELECT count(*) FROM orders") != [[.integer(0)]])
        let replay = try retrace(["replay", dir + "/run", "--out", dir + "/replay", "--json"])
        let matches = try summary(replay)["matches"] as? Bool
        #expect(replay.status == 0 && matches == true, "\(replay.stdout) \(replay.stderr)")
    }

    static func rows(_ path: String, _ sql: String) throws -> [[SQLiteValue]] { try SQLiteDatabase(path: path).query(sql) }

    static func kinds(_ run: String) throws -> Set<EventKind> {
        let reader = try JournalReader(directory: run + "/journal")
        var out: Set<EventKind> = []
        while let (_, e) = try reader.nextEvent() { out.insert(e.body.kind) }
        return out
    }

    @Test("a non-loopback metrics bind is refused without --metrics-allow-remote; bad venue addresses name themselves")
    func refusals() throws {
        let dir = scratch("live-refuse")
        defer { removeScratch(dir) }
        let r = try retrace(["live", "--venue", "127.0.0.1:1", "--strategy", "market-maker", "--metrics", "0.0.0.0:9", "--out", dir + "/run"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--metrics 0.0.0.0:9 is not a loopback address"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/run"))
        let bad = try retrace(["live", "--venue", "localhost", "--strategy", "market-maker", "--out", dir + "/run"])
        #expect(bad.status == 1 && bad.stderr.contains("'localhost' is not HOST:PORT"), "\(bad.stderr)")
        let resume = try retrace(["live", "--resume", dir + "/nothing"])
        #expect(resume.status == 1 && resume.stderr.contains(dir + "/nothing"), "\(resume.stderr)")
    }

    @Test("the kill switch file cancels everything and stops new orders; venue rejects open the circuit breaker; SIGINT stops cleanly with the summary")
    func killSwitchAndBreaker() throws {
        let dir = scratch("live-killswitch")
        defer { removeScratch(dir) }
        try Self.importDemo(dir)
        let port = Self.freePort()
        let venue = try Self.venue(dir, port: port, ["--speed", "300", "--reject-rate", "0.3", "--seed", "7"])
        let live = try Child(["live", "--venue", "127.0.0.1:\(port)", "--strategy", "market-maker", "--set", "live.breaker_rejects=3", "--set", "live.breaker_window_ms=2000",
                              "--set", "live.breaker_cooldown_ms=200", "--kill-file", dir + "/KILL", "--out", dir + "/run", "--json"], in: dir, name: "live")
        usleep(1_200_000)
        _ = FileManager.default.createFile(atPath: dir + "/KILL", contents: nil)
        usleep(700_000)
        live.signal(SIGINT)  // a graceful stop in the middle of the data
        let status = live.wait(seconds: 30)
        _ = try Self.stop(venue)
        #expect(status == 0, "\(live.stderr)")
        let s = try Self.json(live.stdout)
        #expect(s["killed"] as? Bool == true)
        #expect(s["status"] as? String == "completed")
        #expect((s["breaker_trips"] as? Int ?? 0) >= 1, "\(live.stdout)")
        #expect((s["venue_rejects"] as? Int ?? 0) >= 3)
        // Order ids are allocated in processing order: every order the venue received was
        // decided before the first one the kill switch refused.
        let reader = try JournalReader(directory: dir + "/run/journal")
        var sawKill = false
        var firstRefused = UInt64.max
        var quotes = 0
        while let (_, e) = try reader.nextEvent() {
            switch e.body {
            case .quoteReceived: quotes += 1
            case .sessionControl(let c) where c.action == .killSwitch: sawKill = true
            case .orderRejected(let r) where r.reason == .killSwitch: firstRefused = min(firstRefused, r.orderID.raw)
            default: break
            }
        }
        #expect(sawKill, "no kill switch input in the journal")
        #expect(quotes > 0 && quotes < 20_000, "SIGINT should end the session before the data does (\(quotes) quotes)")
        #expect(firstRefused < .max, "no order was refused by the kill switch")
        let sent = try Self.venueNews(dir).compactMap(UInt64.init)
        #expect(sent.allSatisfy { $0 < firstRefused }, "an order decided after the kill switch reached the venue")
        let replay = try retrace(["replay", dir + "/run", "--out", dir + "/replay", "--json"])
        let matches = try summary(replay)["matches"] as? Bool
        #expect(replay.status == 0 && matches == true, "\(replay.stdout) \(replay.stderr)")
    }

    @Test("dropped connections and sequence gaps: reconnect, resync, no fill lost, no order sent twice, replayable")
    func reconnect() throws {
        let dir = scratch("live-reconnect")
        defer { removeScratch(dir) }
        try Self.importDemo(dir)
        let port = Self.freePort()
        let venue = try Self.venue(dir, port: port, ["--speed", "300", "--drop-every", "0.8", "--gap-every", "700", "--latency-us", "200", "--jitter-us", "300"])
        let r = try retrace(["live", "--venue", "127.0.0.1:\(port)", "--strategy", "market-maker", "--out", dir + "/run", "--json"])
        let venueSummary = try Self.stop(venue)
        #expect(r.status == 0, "\(r.stderr)")
        let s = try summary(r)
        #expect((s["reconnects"] as? Int ?? 0) >= 1, "no reconnect: \(r.stdout)")
        #expect((s["gaps"] as? Int ?? 0) >= 1, "no gap detected: \(r.stdout)")
        #expect((venueSummary["drops"] as? Int ?? 0) >= 1)
        #expect(s["fills"] as? Int == venueSummary["fills"] as? Int, "venue made \(venueSummary["fills"] ?? 0) fills, the run holds \(s["fills"] ?? 0)")
        let news = try Self.venueNews(dir)
        #expect(Set(news).count == news.count, "a client order id reached the venue twice")
        #expect(venueSummary["duplicate_orders"] as? Int == 0)
        let replay = try retrace(["replay", dir + "/run", "--out", dir + "/replay", "--json"])
        let matches = try summary(replay)["matches"] as? Bool
        #expect(replay.status == 0 && matches == true, "\(replay.stdout) \(replay.stderr)")
    }

    @Test("SIGKILL of retrace live at random moments, then --resume: every venue fill journaled, no order sent twice, the final run replays")
    func killAndResume() throws {
        let dir = scratch("live-kill")
        defer { removeScratch(dir) }
        try Self.importDemo(dir)
        let port = Self.freePort()
        let kills = Self.kills
        // Enough data for every kill (917 s of quotes; ~0.5 s per round).
        let speed = max(5, 900 / (Double(kills) * 0.6 + 5))
        let venue = try Self.venue(dir, port: port, ["--speed", String(format: "%.1f", speed)])
        let run = dir + "/run"
        var rng = SplitMix64(seed: 20_261_121)
        // A resume counts once its manifest says so; one killed before that point (a loaded
        // machine can take longer than the shortest kill delay to start a process) is not a
        // resume, and the next one recovers the same journal.
        var recordedResumes = 0
        for i in 0...kills {
            let args = i == 0 ? ["live", "--venue", "127.0.0.1:\(port)", "--strategy", "market-maker", "--out", run, "--json"]
                              : ["live", "--resume", run, "--set", "store.ring_slots=4", "--json"] + (i == kills ? ["--duration", "1"] : [])
            let live = try Child(args, in: dir, name: "live\(i)")
            if i == kills {
                let status = live.wait(seconds: 60)
                #expect(status == 0, "final resume: \(live.stderr)")
                break
            }
            if i == 0 {
                // The first process must have created its run before it dies, or there is
                // nothing to resume.
                let deadline = Date().addingTimeInterval(20)
                while !FileManager.default.fileExists(atPath: run + "/manifest.json"), Date() < deadline, live.process.isRunning { usleep(5_000) }
            }
            usleep(150_000 + UInt32(rng.next(modulo: 400_000)))
            live.signal(SIGKILL)
            live.process.waitUntilExit()
            #expect(live.process.terminationReason == .uncaughtSignal, "round \(i): live exited by itself: \(live.stderr)")
            let m = try Self.json(try String(contentsOfFile: run + "/manifest.json", encoding: .utf8))
            recordedResumes = (m["live"] as? [String: Any])?["resumes"] as? Int ?? -1
        }
        let venueSummary = try Self.stop(venue)
        let manifest = try Self.json(try String(contentsOfFile: run + "/manifest.json", encoding: .utf8))
        #expect(manifest["status"] as? String == "completed")
        let live = try #require(manifest["live"] as? [String: Any])
        #expect((0..<kills).contains(recordedResumes), "\(recordedResumes) resumes recorded over \(kills - 1) killed resumes")
        #expect(live["resumes"] as? Int == recordedResumes + 1, "the final resume counts once")
        let (submitted, fills) = try Self.journalOrders(run)
        #expect(fills == venueSummary["fills"] as? Int, "the venue made \(venueSummary["fills"] ?? 0) fills, the journal holds \(fills)")
        let news = try Self.venueNews(dir)
        #expect(Set(news).count == news.count, "a client order id reached the venue twice")
        #expect(Set(news).isSubset(of: submitted), "the venue received an order the journal does not hold")
        #expect(venueSummary["duplicate_orders"] as? Int == 0)
        let replay = try retrace(["replay", run, "--out", dir + "/replay", "--json"])
        #expect(replay.status == 0, "\(replay.stderr)")
        let r = try summary(replay)
        #expect(r["matches"] as? Bool == true)
        #expect(r["fingerprint"] as? String == manifest["fingerprint"] as? String)
        // The resumes ran with a 4-slot ring to the store: re-applying the journal filled it,
        // and the writer read on from the journal instead of holding the core up. What it
        // wrote is what the journal projects to.
        let spilledFrom = try #require((manifest["store"] as? [String: Any])?["spilled_from"] as? Int, "\(String(describing: manifest["store"]))")
        var lastStart: UInt64 = 0  // the final resume's session marker, journaled once it re-applied the rest
        let reader = try JournalReader(directory: run + "/journal")
        while let (record, event) = try reader.nextEvent() { if event.body.kind == .sessionStarted { lastStart = record.sequence } }
        #expect(UInt64(spilledFrom) < lastStart, "the writer went to the journal at #\(spilledFrom), after the resume (#\(lastStart))")
        let rebuilt = try retrace(["journal", "rebuild-store", run, "--out", dir + "/rebuilt.sqlite"])
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        for table in ["instruments", "orders", "fills", "positions", "equity", "trades"] {
            let query = "SELECT * FROM \(table) ORDER BY 1"
            #expect(try Self.rows(run + "/store.sqlite", query) == Self.rows(dir + "/rebuilt.sqlite", query), "\(table)")
        }
    }
}
