import Foundation
import RetraceCore
import RetraceEngine
import RetraceFeeds
import RetraceJournal
import RetraceMarket
import RetraceReports
import RetraceStore
import RetraceStrategies
import Synchronization

public enum BenchCommand {
    /// The calling thread's heap allocations so far, when the tool links the counting
    /// allocator (set once by `main` before anything runs; nil in tests).
    nonisolated(unsafe) public static var threadAllocations: (@Sendable () -> UInt64)?

    static let groups = ["codec", "journal", "book", "engine", "replay", "live", "sweep"]
    /// The groups `--mode quick` runs when none is named (sweep starts 32 processes).
    static let quickGroups = ["codec", "journal", "book", "engine", "replay", "live"]
    static let help = """
    usage: retrace bench [GROUP...] [--mode quick|full] [--json] [--iterations N] [--dataset QUOTES.csv[.gz]] [--ray ADDRESS]
                         [--compare BASELINE.json [--results RESULTS.json]]
           retrace bench --mode sustained [--minutes N] [--events N] [--json]
           retrace bench --mode stress [--step-seconds S] [--max-rss-mib M] [--max-events N] [--json]

      groups: \(groups.joined(separator: " ")). Build with -c release for real figures.
      --mode quick   (the default, about 30 s) \(quickGroups.joined(separator: " ")) unless groups are
                     named; each figure once (codec, journal, book: median of 3), and the engine
                     and replay workloads over 2,000,000 events instead of 10,000,000.
      --mode full    (minutes; what make bench runs) every group, each figure the median of N
                     iterations (default 5; 3 for engine, replay, live and sweep), 10,000,000 events.
      --mode sustained  the market maker over depth (W4's workload) back to back for --minutes
                     (default 10) in one process, --events each (default 1,000,000); samples the
                     resident set after every run and reports its growth per minute after the
                     warm-up (a leak shows as a slope; over \(BenchModes.leakMiBPerMinute) MiB/min, measured over at
                     least a minute, exits 1) and
                     the last third's rate against the first third's.
      --mode stress  the same workload at 1 M, 2 M, 4 M … events until a bound is hit: a step
                     over --step-seconds (default 60), a peak resident set over --max-rss-mib
                     (default 8192), the store lagging the core by over half the run, too little
                     free disk, or --max-events (default 32,000,000). Prints every step, the
                     highest rate and the bound that stopped it.
      RETRACE_BENCH_ENGINE_EVENTS overrides the engine and replay workloads' size in any mode.
      --ray   sweep: also run the 16-run grid through the Ray cluster at ADDRESS
              (make ray-test starts a local head and passes it)
      --compare  print each figure's ratio to a baseline (Benchmarks/baseline.json) and flag
              changes beyond its noise band; exit 1 on a regression. With --results FILE it
              compares a saved 'retrace bench --json' instead of running.

    retrace bench peer W1..W6 …  one run of a peer-comparison workload (make peer-bench;
                                 retrace bench peer --help)
    """

    struct Figure { let name: String; let value: Double; let unit: String }

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        if args.first == "peer" { return try PeerWorkloads.run(args.dropFirst()) }
        let a = try Arguments(args, valued: ["iterations", "dataset", "ray", "compare", "results", "mode", "minutes", "events", "step-seconds", "max-rss-mib", "max-events"],
                              flags: ["json"])
        if a.has("help") { Output.out(help); return 0 }
        let mode = a.value("mode") ?? "quick"
        guard ["quick", "full", "sustained", "stress"].contains(mode) else { throw UsageError("--mode must be quick, full, sustained or stress") }
        for option in ["minutes", "events"] where a.value(option) != nil && mode != "sustained" { throw UsageError("--\(option) belongs to --mode sustained") }
        for option in ["step-seconds", "max-rss-mib", "max-events"] where a.value(option) != nil && mode != "stress" { throw UsageError("--\(option) belongs to --mode stress") }
        if mode == "sustained" || mode == "stress" {
            guard a.positionals.isEmpty, a.value("compare") == nil else { throw UsageError("--mode \(mode) runs its own workload: no groups and no --compare") }
            return try loadTest(mode, a)
        }
        let baseline = try a.value("compare").map { try BenchComparison.load($0) }
        if let path = a.value("results") {
            guard let baseline else { throw UsageError("--results FILE needs --compare BASELINE") }
            let current = try BenchComparison.load(path)
            return BenchComparison(baseline: baseline.figures, current: current.figures, baselineContext: baseline.context, currentContext: current.context).print()
        }
        for g in a.positionals where !groups.contains(g) { throw UsageError("unknown group '\(g)'; groups: \(groups.joined(separator: ", "))") }
        let quick = mode == "quick"
        let selected = a.positionals.isEmpty ? (quick ? quickGroups : groups) : a.positionals
        if quick && ProcessInfo.processInfo.environment["RETRACE_BENCH_ENGINE_EVENTS"] == nil { eventsOverride = 2_000_000 }
        let iterations = Int(a.value("iterations") ?? "") ?? (quick ? 1 : 5)
        // Real market data for the compression figure: Binance BTCUSDT best bid/offer.
        let defaultDataset = "../shared/datasets/crypto/binance_usdm_btcusdt_20240808_bbo.csv.gz"
        let dataset = a.value("dataset") ?? (FileManager.default.fileExists(atPath: defaultDataset) ? defaultDataset : nil)
        if dataset == nil && !a.has("json") { Output.err("note: no dataset for journal.zstd.compression_ratio (pass --dataset QUOTES.csv[.gz])") }
        guard iterations > 0 else { throw UsageError("--iterations must be positive") }
        let scratch = try makeScratch()
        defer { removeScratch(scratch) }
        var figures: [Figure] = []
        // The fast groups take a median of 3 even in quick mode.
        let light = quick ? max(3, iterations) : iterations
        for g in selected {
            if !a.has("json") { Output.err("bench \(g)…") }
            switch g {
            case "codec": figures += try codec(light)
            case "journal": figures += try journal(light, scratch, dataset: dataset)
            case "book": figures += try book(light, scratch)
            case "replay": figures += try replay(max(1, min(iterations, 3)), scratch)
            case "sweep": figures += try sweep(max(1, min(iterations, 3)), scratch, ray: a.value("ray"))
            case "live": figures += try live(max(1, min(iterations, 3)), scratch)
            default: figures += try engine(max(1, min(iterations, 3)), scratch)
            }
        }
        printFigures(figures, mode: mode, json: a.has("json"), decimals: 1)
        if let baseline {
            // The comparison goes to stderr when stdout holds the JSON.
            return BenchComparison(baseline: baseline.figures, current: figures, baselineContext: baseline.context,
                                   currentContext: BenchComparison.Context(cpu: MachineInfo.cpuModel(), mode: mode), toStderr: a.has("json")).print()
        }
        return 0
    }

    /// Prints the figures as one JSON object (`{"machine", "mode", ["report",] "figures"}`)
    /// or as a table after the report.
    static func printFigures(_ figures: [Figure], mode: String, json: Bool, report: String? = nil, decimals: Int) {
        if json {
            var o = JSONObject()
            o.add("machine", raw: MachineInfo.json())
            o.add("mode", mode)
            if let report { o.add("report", report) }
            o.add("figures", raw: "[" + figures.map { "{\"name\":\"\($0.name)\",\"value\":\(String(format: "%.3f", $0.value)),\"unit\":\"\($0.unit)\"}" }.joined(separator: ",") + "]")
            Output.out(o.text)
        } else {
            if let report { Output.out(report) }
            for f in figures { Output.out("\(f.name.padding(toLength: 52, withPad: " ", startingAt: 0)) \(String(format: "%14.\(decimals)f", f.value)) \(f.unit)") }
        }
    }

    /// A scratch directory for this process's benchmark files.
    static func makeScratch() throws -> String {
        let scratch = NSTemporaryDirectory() + "retrace-bench-\(ProcessInfo.processInfo.processIdentifier)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        return scratch
    }

    static func removeScratch(_ scratch: String) {
        do { try FileManager.default.removeItem(atPath: scratch) } catch { Output.err("warning: could not remove \(scratch): \(error.localizedDescription)") }
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// Times `body` and returns items per second. Dirty pages the earlier phases left are
    /// written out first (`sync`), so one timed run does not pay for the previous one's
    /// writeback (a 10 M-event run writes about a gigabyte of journal and store).
    static func rate(_ items: Int, _ body: () throws -> Void) rethrows -> Double {
        Glibc.sync()
        let clock = ContinuousClock()
        let start = clock.now
        try body()
        return Double(items) / (clock.now - start).seconds
    }

    static func codec(_ iterations: Int) throws -> [Figure] {
        let events = Array(PeerQuoteWorkload.events(count: 1_000_000).dropFirst())
        let size = EventCodec.encodedSize(events[0].body)
        var buffer = [UInt8](repeating: 0, count: size * events.count)
        var encode: [Double] = [], decode: [Double] = []
        var checksum: Int64 = 0
        for _ in 0..<iterations {
            encode.append(rate(events.count) {
                buffer.withUnsafeMutableBytes { b in
                    var offset = 0
                    for e in events { offset += EventCodec.encode(e, to: b.baseAddress! + offset) }
                }
            })
            decode.append(try rate(events.count) {
                try buffer.withUnsafeBytes { b in
                    var offset = 0
                    while offset < b.count {
                        let slice = UnsafeRawBufferPointer(rebasing: b[offset..<(offset + size)])
                        if case .quoteReceived(let q) = try EventCodec.decode(slice, sequence: 0).body { checksum &+= q.bidPrice.raw }
                        offset += size
                    }
                }
            })
        }
        precondition(checksum != 0, "decode benchmark read nothing")
        return [Figure(name: "codec.encode.events_per_second", value: median(encode), unit: "events/s"),
                Figure(name: "codec.decode.events_per_second", value: median(decode), unit: "events/s")]
    }

    static func journal(_ iterations: Int, _ scratch: String, dataset: String?) throws -> [Figure] {
        var figures: [Figure] = []
        let runID = [UInt8](repeating: 1, count: 16)
        var serial = 0
        func directory() -> String { serial += 1; return scratch + "/journal-\(serial)" }
        func add(_ name: String, _ value: Double, _ unit: String) { figures.append(Figure(name: name, value: value, unit: unit)) }

        // Buffered and async appends: 1 and 4 threads, 64 and 256-byte records (frame included).
        var readRates: [Double] = []
        for mode in [SyncMode.none, .async] {
            for recordBytes in [64, 256] {
                for threads in [1, 4] {
                    let n = recordBytes == 64 ? 2_000_000 : 1_000_000
                    let payload = SyntheticRecord.payload(bytes: recordBytes - JournalFormat.frameSize)
                    var rates: [Double] = []
                    for _ in 0..<iterations {
                        let dir = directory()
                        let w = try JournalWriter(directory: dir, runID: runID, options: JournalOptions(syncMode: mode, io: .posix))
                        rates.append(try rate(n) {
                            try JournalCommand.appendConcurrently(w, payload, records: n, threads: threads, batch: Int.max, commit: nil)
                            if mode == .async { try w.waitDurable(w.nextSequence - 1) } else { try w.commit() }
                        })
                        try w.finish()
                        if mode == .none && recordBytes == 64 && threads == 1 {
                            readRates.append(try rate(n * recordBytes) {
                                let r = try JournalReader(directory: dir)
                                var sum: UInt64 = 0
                                while let record = try r.next() { sum &+= record.sequence }
                                precondition(sum > 0, "read benchmark read nothing")
                            })
                        }
                        try FileManager.default.removeItem(atPath: dir)
                    }
                    let name = "journal.append.\(mode.rawValue).\(recordBytes)B" + (threads > 1 ? ".\(threads)threads" : "")
                    add(name + ".records_per_second", median(rates), "records/s")
                    add(name + ".megabytes_per_second", median(rates) * Double(recordBytes) / 1e6, "MB/s")
                }
            }
        }
        add("journal.read.sequential.bytes_per_second", median(readRates), "bytes/s")

        // The floor: 4 KiB pwrite + fdatasync on a pre-zeroed file (the kind fsync-mode
        // segments are) and on a growing one.
        var floorZeroed: [Double] = [], floorGrowing: [Double] = []
        for k in 0..<iterations {
            floorZeroed += try fdatasyncFloor(scratch + "/floor-z-\(k)", count: 1000, prezeroed: true)
            floorGrowing += try fdatasyncFloor(scratch + "/floor-g-\(k)", count: 1000, prezeroed: false)
        }
        let floorP99 = percentile(floorZeroed, 0.99)
        add("journal.floor.fdatasync.p50_micros", percentile(floorZeroed, 0.5), "µs")
        add("journal.floor.fdatasync.p99_micros", floorP99, "µs")
        add("journal.floor.fdatasync.growing.p50_micros", percentile(floorGrowing, 0.5), "µs")
        add("journal.floor.fdatasync.growing.p99_micros", percentile(floorGrowing, 0.99), "µs")

        // fsync: one appender waiting for each commit, then 4 appenders in batches of 256
        // (each waits for its batch's last ticket); both backends.
        let defaultBackend = try backendKind(JournalOptions().io, scratch)
        for backend in [IOChoice.posix, .uring] {
            guard backend == .posix || (try? backendKind(.uring, scratch)) == .uring else { continue }
            let prefix = "journal.\(backend.rawValue)"
            for recordBytes in [64, 256] {
                let payload = SyntheticRecord.payload(bytes: recordBytes - JournalFormat.frameSize)
                var rates: [Double] = [], latencies: [Double] = []
                for _ in 0..<iterations {
                    let dir = directory()
                    let w = try JournalWriter(directory: dir, runID: runID, options: JournalOptions(syncMode: .fsync, segmentBytes: 16 << 20, io: backend))
                    let m = 1000
                    let clock = ContinuousClock()
                    rates.append(try rate(m) {
                        try payload.withUnsafeBytes { p in
                            for _ in 0..<m {
                                let start = clock.now
                                try w.waitDurable(try w.append(encoded: p))
                                latencies.append(micros(clock.now - start))
                            }
                        }
                    })
                    try w.finish()
                    try FileManager.default.removeItem(atPath: dir)
                }
                let name = "\(prefix).append.fsync.\(recordBytes)B"
                add(name + ".records_per_second", median(rates), "records/s")
                if recordBytes == 64 {
                    let p99 = percentile(latencies, 0.99)
                    add("\(prefix).commit.fsync.p50_micros", percentile(latencies, 0.5), "µs")
                    add("\(prefix).commit.fsync.p99_micros", p99, "µs")
                    add("\(prefix).commit.fsync.p999_micros", percentile(latencies, 0.999), "µs")
                    add("\(prefix).commit.fsync.p99_ratio_to_floor", p99 / floorP99, "ratio")
                }
            }
            // Four appenders at full rate.
            let payload = SyntheticRecord.payload(bytes: 48)
            var rates: [Double] = [], latencies: [Double] = []
            let perThread = 64 * 256
            for _ in 0..<iterations {
                let dir = directory()
                let w = try JournalWriter(directory: dir, runID: runID, options: JournalOptions(syncMode: .fsync, segmentBytes: 16 << 20, io: backend))
                let collected = Mutex<[Double]>([])
                rates.append(try rate(4 * perThread) {
                    try JournalCommand.appendConcurrently(w, payload, records: 4 * perThread, threads: 4, batch: 256, commit: { try w.waitDurable($0) }) { _, start in
                        collected.withLock { $0.append(micros(ContinuousClock.now - start)) }
                    }
                })
                latencies += collected.withLock { $0 }
                try w.finish()
                try FileManager.default.removeItem(atPath: dir)
            }
            add("\(prefix).append.fsync.64B.4threads.records_per_second", median(rates), "records/s")
            add("\(prefix).commit.fsync.64B.4threads.batch256.p99_micros", percentile(latencies, 0.99), "µs")
        }
        // The headline names report the default backend.
        let chosen = "journal.\(defaultBackend.rawValue)."
        for f in figures where f.name.hasPrefix(chosen) {
            figures.append(Figure(name: "journal." + f.name.dropFirst(chosen.count), value: f.value, unit: f.unit))
        }

        // zstd compaction on real market data.
        if let dataset {
            let dir = directory()
            let feed = try CSVImporter.load([ImportInput(format: .quotesCSV, path: dataset)], options: ImportOptions(instrument: "BTCUSDT"))
            let w = try JournalWriter(directory: dir, runID: runID, options: JournalOptions(syncMode: .none, segmentBytes: 16 << 20))
            for e in feed.events { try w.append(e) }
            try w.finish()
            let report = try JournalCompactor.compact(directory: dir)
            add("journal.zstd.compression_ratio", report.ratio, "ratio")
            try FileManager.default.removeItem(atPath: dir)
        }
        return figures
    }

    /// Which backend `choice` resolves to on this machine.
    static func backendKind(_ choice: IOChoice, _ scratch: String) throws -> IOBackendKind {
        let dir = scratch + "/probe-\(choice.rawValue)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let w = try JournalWriter(directory: dir, runID: [UInt8](repeating: 1, count: 16), options: JournalOptions(syncMode: .none, io: choice))
        return w.ioBackend
    }

    /// LOBSTER GOOG level 10 (100,000 messages) through the L3 book, as `retrace book`
    /// replays an imported run: messages plus the seed and reconciliation level sets.
    static func book(_ iterations: Int, _ scratch: String) throws -> [Figure] {
        try lobsterBook(iterations, scratch) + binanceBook(iterations, scratch) + matching(iterations)
    }

    /// The matcher: a depth market with 1,000 levels a side. Order-to-trade is one
    /// marketable IOC from `submit` to its fill answer, timed per order; orders per second is
    /// a mix of a post-only order that rests, an IOC that takes at the touch, and a cancel.
    /// Levels we took from are restored from the "feed" every 64 orders, outside the timing.
    static func matching(_ iterations: Int) throws -> [Figure] {
        let instrument = Instrument(id: InstrumentID(0), symbol: Symbol("BENCH")!, priceScale: 2, quantityScale: 3)
        let market = DepthMarket(instrument: instrument)
        let settings = VenueSettings(fees: FeeSchedule(maker: Rate(raw: 2_000), taker: Rate(raw: 5_000)))
        var cx = DepthMarket.Context(settings: settings) { _, _ in .zero }
        func refresh() {
            for k in 0..<1_000 as Range<Int64> {
                market.onLevel(L2LevelUpdated(instrument: instrument.id, side: .buy, price: Price(raw: 6_000_000 - 10 * k), quantity: Quantity(raw: 1_000 + k)), &cx)
                market.onLevel(L2LevelUpdated(instrument: instrument.id, side: .sell, price: Price(raw: 6_000_010 + 10 * k), quantity: Quantity(raw: 1_000 + k)), &cx)
            }
        }
        refresh()
        cx.answers.removeAll(keepingCapacity: true)
        func order(_ id: UInt64, _ side: Side, _ type: OrderType, _ price: Int64) -> OrderSubmitted {
            OrderSubmitted(orderID: ClientOrderID(id), instrument: instrument.id, side: side, type: type, sizing: .fixed, quantity: Quantity(raw: 5), limitPrice: Price(raw: price))
        }
        let clock = ContinuousClock()
        var latencies: [Double] = []
        var id: UInt64 = 0
        let perRound = 200_000
        latencies.reserveCapacity(perRound)
        var rates: [Double] = []
        var fills = 0
        for _ in 0..<max(iterations, 3) {
            latencies.removeAll(keepingCapacity: true)
            for k in 0..<perRound {
                id += 1
                let side: Side = k & 1 == 0 ? .buy : .sell
                let o = order(id, side, .ioc, side == .buy ? 6_000_010 : 6_000_000)
                let start = clock.now
                market.submit(o, &cx)
                let end = clock.now
                latencies.append((end - start).seconds * 1e9)
                if case .filled = cx.answers.last { fills += 1 }
                cx.answers.removeAll(keepingCapacity: true)
                if k & 63 == 63 { refresh(); cx.answers.removeAll(keepingCapacity: true) }
            }
            // Throughput: rest, take, cancel.
            let rounds = 100_000
            var t: Double = 0
            for k in 0..<rounds / 1_000 {
                t += 1.0 / rate(1) {
                    for j in 0..<1_000 {
                        id += 1
                        let side: Side = j & 1 == 0 ? .buy : .sell
                        market.submit(order(id, side, .postOnly, side == .buy ? 5_999_990 : 6_000_020), &cx)
                        id += 1
                        market.submit(order(id, side.opposite, .ioc, side == .buy ? 6_000_000 : 6_000_010), &cx)
                        _ = market.cancel(ClientOrderID(id - 1), &cx)
                        cx.answers.removeAll(keepingCapacity: true)
                    }
                }
                _ = k
                refresh()
                cx.answers.removeAll(keepingCapacity: true)
            }
            // Orders per second counts the two orders of each round (the cancel's time included).
            rates.append(Double(rounds / 1_000 * 2_000) / t)
        }
        precondition(fills > 0, "matching benchmark filled nothing")
        return [Figure(name: "market.order_to_trade.p50_nanos", value: percentile(latencies, 0.5), unit: "ns"),
                Figure(name: "market.order_to_trade.p99_nanos", value: percentile(latencies, 0.99), unit: "ns"),
                Figure(name: "market.orders_per_second", value: median(rates), unit: "orders/s")]
    }

    /// Binance BTCUSDT depth (snapshot + 443,262 level updates) through the L2 book, as an
    /// imported run replays it.
    static func binanceBook(_ iterations: Int, _ scratch: String) throws -> [Figure] {
        let d = "../shared/datasets/crypto/binance_usdm_btcusdt_20240808"
        guard present(d + "_depth_updates.csv.gz", "L2 book") else { return [] }
        let run = scratch + "/binance"
        let imported = try L2DepthImport.run(L2DepthImport.Options(snapshot: d + "_depth_snapshot.csv.gz", updates: d + "_depth_updates.csv.gz"), out: run, replace: true)
        var updates: [L2LevelUpdated] = []
        let reader = try JournalReader(directory: RunFolder.journalPath(run))
        while let (_, e) = try reader.nextEvent() { if case .l2LevelUpdated(let u) = e.body { updates.append(u) } }
        var rates: [Double] = []
        var check: Int64 = 0
        for _ in 0..<max(iterations, 5) {
            var book = L2Book(tickSize: imported.tickSize)
            rates.append(rate(updates.count) {
                for u in updates {
                    book.apply(u)
                    check &+= book.bestBid?.price.raw ?? 0
                }
            })
        }
        precondition(check != 0, "L2 book benchmark rebuilt nothing")
        return [Figure(name: "book.l2.binance.updates_per_second", value: median(rates), unit: "updates/s")]
    }

    /// Whether a shared dataset file is there; says which benchmark is skipped when not.
    static func present(_ path: String, _ benchmark: String) -> Bool {
        if FileManager.default.fileExists(atPath: path) { return true }
        Output.err("note: \(benchmark) benchmark skipped: \(path) is absent")
        return false
    }

    static func lobsterBook(_ iterations: Int, _ scratch: String) throws -> [Figure] {
        let d = "../shared/datasets/lobster/GOOG_2012-06-21_34200000_57600000_"
        guard present(d + "message_10.first100000.csv.gz", "L3 book") else { return [] }
        let run = scratch + "/lobster"
        let imported = try LobsterImport.run(messages: d + "message_10.first100000.csv.gz", orderbook: d + "orderbook_10.first100000.csv.gz", levels: 10,
                                             instrument: nil, date: nil, reconciliationsCSV: nil, out: run, replace: true)
        var bodies: [EventBody] = []
        var tick = LobsterReconstructor.TickSize()
        let reader = try JournalReader(directory: RunFolder.journalPath(run))
        while let (_, e) = try reader.nextEvent() {
            bodies.append(e.body)
            if case .orderBookMessage(let m) = e.body { tick.add(m.price.raw) } else if case .l2LevelUpdated(let u) = e.body { tick.add(u.price.raw) }
        }
        var rates: [Double] = []
        var check: Int64 = 0
        // A sample replays the window `passes` times (each from an empty book): one pass is
        // only a few milliseconds, too short to time on a noisy machine.
        let passes = 10
        for _ in 0..<max(iterations, 5) {
            rates.append(try rate(imported.messages * passes) {
                for _ in 0..<passes {
                    var i = 0
                    try LobsterImport.replay(next: { defer { i += 1 }; return i < bodies.count ? bodies[i] : nil }, levels: 10, tickSize: tick.value) { r in
                        check &+= r.book.bestBid?.tick ?? 0
                    }
                }
            })
        }
        precondition(check != 0, "book benchmark rebuilt nothing")
        return [Figure(name: "book.l3.lobster.messages_per_second", value: median(rates), unit: "messages/s")]
    }

    static func micros(_ d: Duration) -> Double {
        d.seconds * 1e6
    }

    static func percentile(_ xs: [Double], _ q: Double) -> Double {
        let s = xs.sorted()
        return s.isEmpty ? 0 : s[min(s.count - 1, Int(Double(s.count) * q))]
    }

    /// The floor: 4 KiB `pwrite`s, each followed by `fdatasync`, on a pre-zeroed or a growing
    /// file in the same file system as the journal. Returns each pair's latency in µs.
    static func fdatasyncFloor(_ path: String, count: Int, prezeroed: Bool) throws -> [Double] {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw JournalError(.io, "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd); unlink(path) }
        if prezeroed {
            let zeros = [UInt8](repeating: 0, count: count * 4096)
            guard zeros.withUnsafeBytes({ pwrite(fd, $0.baseAddress, $0.count, 0) }) == zeros.count, fdatasync(fd) == 0 else {
                throw JournalError(.io, "floor benchmark cannot pre-zero \(path): \(String(cString: strerror(errno)))")
            }
        }
        let block = [UInt8](repeating: 0x5A, count: 4096)
        let clock = ContinuousClock()
        var out: [Double] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            let start = clock.now
            let written = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, off_t(i * 4096)) }
            guard written == 4096, fdatasync(fd) == 0 else { throw JournalError(.io, "floor benchmark write failed: \(String(cString: strerror(errno)))") }
            out.append(micros(clock.now - start))
        }
        return out
    }

    /// The quick mode's smaller engine and replay workload (nil: full size).
    nonisolated(unsafe) static var eventsOverride: Int?

    /// Events in the end-to-end engine workload (`RETRACE_BENCH_ENGINE_EVENTS` overrides).
    static var engineEvents: Int {
        ProcessInfo.processInfo.environment["RETRACE_BENCH_ENGINE_EVENTS"].flatMap(Int.init) ?? eventsOverride ?? 10_000_000
    }

    /// `--mode sustained` and `--mode stress` (BenchModes).
    static func loadTest(_ mode: String, _ a: Arguments) throws -> Int32 {
        func number(_ name: String, _ fallback: Double) throws -> Double {
            guard let text = a.value(name) else { return fallback }
            guard let v = Double(text.replacingOccurrences(of: "_", with: "")), v > 0 else { throw UsageError("--\(name) must be a positive number, got '\(text)'") }
            return v
        }
        let scratch = try makeScratch()
        defer { removeScratch(scratch) }
        let verbose = !a.has("json")
        var figures: [Figure]
        var report: String
        var status: Int32 = 0
        if mode == "sustained" {
            let r = try BenchModes.sustained(minutes: try number("minutes", 10), events: Int(try number("events", 1_000_000)), scratch: scratch, verbose: verbose)
            (figures, report) = (r.figures, r.report)
            if r.leaking { status = 1 }
        } else {
            var limits = BenchModes.StressLimits()
            limits.stepSeconds = try number("step-seconds", limits.stepSeconds)
            limits.maxRSSMiB = try number("max-rss-mib", limits.maxRSSMiB)
            limits.maxEvents = Int(try number("max-events", Double(limits.maxEvents)))
            limits.startEvents = min(limits.startEvents, limits.maxEvents)
            (figures, report) = try BenchModes.stress(limits, scratch: scratch, verbose: verbose)
        }
        printFigures(figures, mode: mode, json: a.has("json"), report: report, decimals: 2)
        return status
    }

    /// The peer quote workload (`count` quotes), or with `depth` the peer L2 depth workload,
    /// imported into a data run at `path`.
    static func peerDataRun(_ path: String, count: Int, depth: Bool = false) throws -> String {
        let name = depth ? "peer-depth" : "peer-quotes"
        _ = try ImportDriver.writeDataRun(out: path, replace: true, inputs: [name], dataset: name,
                                          instruments: [depth ? PeerDepthWorkload.instrument : PeerQuoteWorkload.instrument]) { journal in
            if depth {
                try PeerDepthWorkload.generate(count: count) { e throws(JournalError) in try journal.append(e) }
            } else {
                try PeerQuoteWorkload.generate(count: count) { e throws(JournalError) in try journal.append(e) }
            }
            return UInt64(count + 1)
        }
        return path
    }

    static func engine(_ iterations: Int, _ scratch: String) throws -> [Figure] {
        var figures = runtime(max(7, iterations))
        // The input: the peer quote workload imported into a data run (a CRC-checked journal).
        let count = engineEvents
        let data = try peerDataRun(scratch + "/engine-data", count: count)
        defer { try? FileManager.default.removeItem(atPath: data) }
        func backtest<S: Strategy>(_ type: S.Type, _ name: String, _ overrides: [(String, String)]) throws {
            var rates: [Double] = [], drains: [Double] = [], fills: UInt64 = 0, mallocs: [Double] = [], allocations: UInt64 = 0, p99s: [Double] = []
            for k in 0..<iterations {
                let out = scratch + "/engine-\(k)"
                var source = try JournalInput(runDirectory: data)
                var settings = BacktestDriver.Settings(overrides: overrides, dataset: data, inputs: [], out: out, replace: true)
                settings.allocationCounter = threadAllocations
                var manifest: RunManifest?
                // The core's rate: the run's time less the store writer's lag after the core finished.
                let total = Double(count + 1) / (try rate(count + 1) { manifest = try BacktestDriver.run(type, source: &source, settings: settings) })
                let drain = manifest?.store?.drainSeconds ?? 0
                rates.append(Double(count + 1) / (total - drain))
                fills = manifest?.fills ?? 0
                drains.append(drain)
                if let t = manifest?.latency?.first(where: { $0.stage == "tick_to_order" && $0.venue == nil }) { p99s.append(Double(t.p99)) }
                if let hot = manifest?.hotPath { mallocs.append(hot.perEvent); allocations = max(allocations, hot.allocations) }
                try FileManager.default.removeItem(atPath: out)
            }
            figures += [Figure(name: "engine.backtest.\(name).events_per_second", value: median(rates), unit: "events/s"),
                        Figure(name: "engine.backtest.\(name).fills", value: Double(fills), unit: "fills"),
                        Figure(name: "engine.backtest.\(name).store_drain_seconds", value: median(drains), unit: "s")]
            if !p99s.isEmpty { figures.append(Figure(name: "engine.backtest.\(name).tick_to_order.p99_nanos", value: median(p99s), unit: "ns")) }
            if !mallocs.isEmpty {
                figures.append(Figure(name: "engine.backtest.\(name).mallocs_per_event", value: mallocs.max()!, unit: "allocations/event"))
                // The exact count (the rate above prints with three decimals).
                figures.append(Figure(name: "engine.backtest.\(name).hot_path_allocations", value: Double(allocations), unit: "allocations"))
            }
        }
        // The fill count is the cross-check against the peer engines on the same workload.
        try backtest(EmaCross.self, "ema_cross", [("size", "0.1"), ("close_at_end", "false")])
        // A market maker evaluating its quotes on every event (hftbacktest's comparison).
        try backtest(MarketMaker.self, "market_maker", [("size", "0.1"), ("spread_bps", "0"), ("requote_ticks", "1"), ("close_at_end", "false")])
        if threadAllocations == nil { Output.err("note: engine.hotpath.mallocs_per_event needs the retrace tool (its counting allocator)") }
        if let p99 = figures.first(where: { $0.name == "engine.backtest.market_maker.tick_to_order.p99_nanos" }) {
            figures.append(Figure(name: "engine.tick_to_order.p99_nanos", value: p99.value, unit: "ns"))
        }
        // The headline allocation count: the worst strategy's; the headline lag: ema-cross's.
        let perEvent = figures.filter { $0.name.hasSuffix(".mallocs_per_event") }.map(\.value)
        if let worst = perEvent.max() { figures.append(Figure(name: "engine.hotpath.mallocs_per_event", value: worst, unit: "allocations/event")) }
        if let lag = figures.first(where: { $0.name == "engine.backtest.ema_cross.store_drain_seconds" }) {
            figures.append(Figure(name: "engine.store.drain_seconds", value: lag.value, unit: "s"))
        }
        return figures
    }

    /// Replay of a 10 M-event backtest (ema-cross on the peer quote workload): at max speed
    /// against the backtest itself, a seek to the middle, and a diff of the two runs.
    static func replay(_ iterations: Int, _ scratch: String) throws -> [Figure] {
        let count = engineEvents
        let data = try peerDataRun(scratch + "/replay-data", count: count)
        defer { try? FileManager.default.removeItem(atPath: data) }
        let overrides = [("size", "0.1"), ("close_at_end", "false")]
        let original = scratch + "/replay-original"
        var backtestRates: [Double] = [], replayRates: [Double] = [], seeks: [Double] = [], diffs: [Double] = []
        var recorded: RunManifest?
        for _ in 0..<iterations {
            var source = try JournalInput(runDirectory: data)
            var settings = BacktestDriver.Settings(overrides: overrides, dataset: data, inputs: [data], out: original, replace: true)
            settings.snapshotEvery = RunConfig().snapshotEvery  // the default: snapshots every 1,000,000 inputs
            backtestRates.append(try rate(count + 1) { recorded = try BacktestDriver.run(EmaCross.self, source: &source, settings: settings) })
        }
        guard let recorded else { return [] }
        defer { try? FileManager.default.removeItem(atPath: original) }
        let replayed = scratch + "/replay-max"
        var records = 0
        for _ in 0..<iterations {
            var source = try ReplayInput(runDirectory: original, speed: .max)
            var settings = BacktestDriver.Settings(overrides: recorded.parameterList, dataset: data,
                                                   inputs: [original], out: replayed, replace: true, seed: recorded.seed)
            settings.mode = .replay
            var manifest: RunManifest?
            replayRates.append(try rate(count + 1) { manifest = try BacktestDriver.run(EmaCross.self, source: &source, settings: settings) })
            guard manifest?.fingerprint == recorded.fingerprint else {
                throw EngineError(.badInput, "bench replay: the replay's fingerprint \(manifest?.fingerprint ?? "none") differs from the backtest's \(recorded.fingerprint)")
            }
            records = Int(source.reader.lastSequence)
        }
        // Seek: a window of 1,000 inputs from the middle of the run, from the nearest engine
        // snapshot before it (as `retrace replay --from` does), and without snapshots.
        let middle = UInt64(records / 2)
        var fastForwards: [Double] = []
        let tag = EngineSnapshot.tag(strategy: EmaCross.name, parameters: try BacktestDriver.prepare(EmaCross.self, recorded.parameterList).2, seed: recorded.seed)
        for k in 0..<iterations * 2 {
            let gate = RecorderGate(muted: true)
            var source = try ReplayInput(runDirectory: original, speed: .max, from: .sequence(middle), until: .sequence(middle + 2000), gate: gate)
            var settings = BacktestDriver.Settings(overrides: recorded.parameterList, dataset: data,
                                                   inputs: [original], out: scratch + "/replay-seek-\(k)", replace: true, seed: recorded.seed)
            settings.mode = .replay
            settings.gate = gate
            if k % 2 == 0 {
                let seek = try source.seekSnapshot(before: .sequence(middle), tag: tag)
                guard let state = seek.state else { throw EngineError(.badInput, "bench replay: no snapshot to seek from (\(seek.note ?? ""))") }
                settings.startState = state
            }
            _ = try BacktestDriver.run(EmaCross.self, source: &source, settings: settings)
            if k % 2 == 0 { seeks.append(source.seekSeconds * 1000) } else { fastForwards.append(source.seekSeconds * 1000) }
            try FileManager.default.removeItem(atPath: scratch + "/replay-seek-\(k)")
        }
        for _ in 0..<iterations {
            var d: RunDiff?
            diffs.append(try rate(records) { d = try RunDiff.compare(original, replayed, context: 10) })
            guard d?.identical == true else { throw EngineError(.badInput, "bench replay: diff finds the replay different from the backtest") }
        }
        try? FileManager.default.removeItem(atPath: replayed)
        let backtest = median(backtestRates), replay = median(replayRates)
        return [Figure(name: "replay.backtest.events_per_second", value: backtest, unit: "events/s"),
                Figure(name: "replay.max.events_per_second", value: replay, unit: "events/s"),
                Figure(name: "replay.max.ratio_to_backtest", value: replay / backtest, unit: "ratio"),
                Figure(name: "replay.seek.middle.millis", value: median(seeks), unit: "ms"),
                Figure(name: "replay.seek.middle.fast_forward_millis", value: median(fastForwards), unit: "ms"),
                Figure(name: "diff.events_per_second", value: median(diffs), unit: "events/s")]
    }

    /// Backtests per minute of a 16-run grid (ema-cross fast × slow over 200,000 generated
    /// quotes, `RETRACE_BENCH_SWEEP_EVENTS` to change), as `retrace sweep` processes: one
    /// worker, every core, and through a Ray cluster when `ray` names one. A rate is the
    /// grid's 16 runs over the sweep command's whole wall time (spawning, every backtest,
    /// the ranked results).
    static func sweep(_ iterations: Int, _ scratch: String, ray: String?) throws -> [Figure] {
        let count = ProcessInfo.processInfo.environment["RETRACE_BENCH_SWEEP_EVENTS"].flatMap(Int.init) ?? 200_000
        let data = try peerDataRun(scratch + "/sweep-data", count: count)
        defer { try? FileManager.default.removeItem(atPath: data) }
        let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let grid = ["--strategy", "ema-cross", "--grid", "fast=5,8,10,12", "--grid", "slow=20,26,30,40", "--param", "size=0.1"]
        var serial = 0
        func perMinute(_ extra: [String]) throws -> Double {
            serial += 1
            let out = scratch + "/sweep-\(serial)"
            defer { try? FileManager.default.removeItem(atPath: out) }
            let arguments = ["sweep", "--data", data] + grid + ["--out", out, "--json", "--quiet"] + extra
            let log = scratch + "/sweep-\(serial).json"
            let pid = try SweepRunner.spawn(SweepRunner.currentBinary(), arguments, environment: ProcessInfo.processInfo.environment, stdout: .file(log),
                                            stderr: log + ".err")
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            guard SweepRunner.decode(status) == (0, 0),
                  let o = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any], o["completed"] as? Int == 16,
                  let wall = o["wall_seconds"] as? Double, wall > 0 else {
                let err = (try? String(contentsOfFile: log + ".err", encoding: .utf8)) ?? ""
                throw EngineError(.io, "bench sweep \(extra.joined(separator: " ")): the sweep failed: \(text.prefix(300)) \(err.suffix(600))")
            }
            return 16 / wall * 60
        }
        var one: [Double] = [], all: [Double] = [], onRay: [Double] = []
        for _ in 0..<iterations {
            one.append(try perMinute(["--workers", "1"]))
            all.append(try perMinute(["--workers", String(cores)]))
            if let ray { onRay.append(try perMinute(["--ray", ray])) }
        }
        var figures = [Figure(name: "sweep.runs_per_minute.1worker", value: median(one), unit: "runs/min"),
                       Figure(name: "sweep.runs_per_minute.allcores", value: median(all), unit: "runs/min"),
                       Figure(name: "sweep.scaling.allcores_over_1worker", value: median(all) / median(one), unit: "ratio"),
                       Figure(name: "sweep.cores", value: Double(cores), unit: "cores")]
        if !onRay.isEmpty {
            figures.append(Figure(name: "sweep.runs_per_minute.ray", value: median(onRay), unit: "runs/min"))
            figures.append(Figure(name: "sweep.ray_over_local_allcores", value: median(onRay) / median(all), unit: "ratio"))
        }
        return figures
    }
}

extension BenchCommand {
    /// Live mode against a loopback `retrace venue` (two child processes, like a user runs
    /// them): sustained throughput with every input fsync'd before the engine acts, at the
    /// venue's full speed, and tick-to-order and commit latency both at full speed and paced.
    static func live(_ iterations: Int, _ scratch: String) throws -> [Figure] {
        let count = ProcessInfo.processInfo.environment["RETRACE_BENCH_LIVE_EVENTS"].flatMap(Int.init) ?? 200_000
        let data = try peerDataRun(scratch + "/live-data", count: count)
        defer { try? FileManager.default.removeItem(atPath: data) }
        var serial = 0
        func session(speed: String, strategy: [String]) throws -> [String: Any] {
            serial += 1
            let dir = scratch + "/live-\(serial)"
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let listener = try TCP.listen("127.0.0.1", 0)
            let port = TCP.localPort(listener)
            close(listener)
            let venue = try SweepRunner.spawn(SweepRunner.currentBinary(), ["venue", "--data", data, "--listen", "127.0.0.1:\(port)", "--speed", speed],
                                              environment: ProcessInfo.processInfo.environment, stdout: .file(dir + "/venue.out"), stderr: dir + "/venue.err")
            defer {
                kill(venue, SIGINT)
                var status: Int32 = 0
                while waitpid(venue, &status, 0) < 0 && errno == EINTR {}
            }
            let deadline = WallClock.monotonicNanos() + 10_000_000_000
            while WallClock.monotonicNanos() < deadline, !((try? String(contentsOfFile: dir + "/venue.err", encoding: .utf8)) ?? "").contains("listening") { usleep(10_000) }
            let pid = try SweepRunner.spawn(SweepRunner.currentBinary(), ["live", "--venue", "127.0.0.1:\(port)", "--out", dir + "/run", "--json"] + strategy,
                                            environment: ProcessInfo.processInfo.environment, stdout: .file(dir + "/live.out"), stderr: dir + "/live.err")
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let text = (try? String(contentsOfFile: dir + "/live.out", encoding: .utf8)) ?? ""
            guard SweepRunner.decode(status) == (0, 0), let o = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
                let err = (try? String(contentsOfFile: dir + "/live.err", encoding: .utf8)) ?? ""
                throw EngineError(.io, "bench live: the session failed: \(text.prefix(300)) \(err.suffix(600))")
            }
            return o
        }
        var rates: [Double] = [], perCommit: [Double] = [], commitP50: [Double] = [], commitP99: [Double] = [], t2oP50: [Double] = [], t2oP99: [Double] = []
        var pacedP50: [Double] = [], pacedP99: [Double] = [], pacedCommitP99: [Double] = []
        let maker = ["--strategy", "market-maker", "--param", "size=0.01", "--param", "max_position=0.1"]
        for _ in 0..<iterations {
            let o = try session(speed: "max", strategy: maker)
            let events = Double(o["events"] as? Int ?? 0), wall = o["wall_seconds"] as? Double ?? 0
            rates.append(wall > 0 ? events / wall : 0)
            perCommit.append(events / Double(max(1, o["journal_commits"] as? Int ?? 1)))
            commitP50.append(o["commit_p50_micros"] as? Double ?? .nan)
            commitP99.append(o["commit_p99_micros"] as? Double ?? .nan)
            t2oP50.append(o["tick_to_order_p50_micros"] as? Double ?? .nan)
            t2oP99.append(o["tick_to_order_p99_micros"] as? Double ?? .nan)
            // Paced: the same feed 20× faster than recorded, so the core is not queueing.
            let p = try session(speed: "20", strategy: maker + ["--duration", "3"])
            pacedP50.append(p["tick_to_order_p50_micros"] as? Double ?? .nan)
            pacedP99.append(p["tick_to_order_p99_micros"] as? Double ?? .nan)
            pacedCommitP99.append(p["commit_p99_micros"] as? Double ?? .nan)
        }
        return [Figure(name: "live.max.events_per_second", value: median(rates), unit: "events/s"),
                Figure(name: "live.max.events_per_commit", value: median(perCommit), unit: "events"),
                Figure(name: "live.max.commit_p50_micros", value: median(commitP50), unit: "µs"),
                Figure(name: "live.max.commit_p99_micros", value: median(commitP99), unit: "µs"),
                Figure(name: "live.max.tick_to_order_p50_micros", value: median(t2oP50), unit: "µs"),
                Figure(name: "live.max.tick_to_order_p99_micros", value: median(t2oP99), unit: "µs"),
                Figure(name: "live.paced.tick_to_order_p50_micros", value: median(pacedP50), unit: "µs"),
                Figure(name: "live.paced.tick_to_order_p99_micros", value: median(pacedP99), unit: "µs"),
                Figure(name: "live.paced.commit_p99_micros", value: median(pacedCommitP99), unit: "µs")]
    }
}
