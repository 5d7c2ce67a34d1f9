import Foundation
import RetraceCore
import RetraceJournal
import Testing

/// `retrace replay` and `retrace diff` as a user runs them: a recorded run replays to its
/// fingerprint at every speed, a window gives the outputs of the same stretch of a whole
/// replay, a what-if diverges where an independent reading of the journals says, and the
/// committed incident reproduces.
@Suite("Replay and diff")
struct ReplayTests {
    /// A market-maker backtest over 1,500 generated quotes (128 s of recorded time): about
    /// a thousand orders, their cancels, and a dozen fills.
    static let recorded: (dir: String, run: String)? = {
        let dir = scratch("replay")
        guard (try? retrace(["generate", "--out", dir + "/data", "--quotes", "1500", "--seed", "5"]))?.status == 0,
              (try? retrace(["backtest", "--data", dir + "/data/quotes.csv", "--strategy", "market-maker", "--param", "refresh=250ms", "--param", "spread_bps=1",
                             "--out", dir + "/orig", "--json"]))?.status == 0 else { return nil }
        return (dir, dir + "/orig")
    }()

    func replay(_ args: [String]) throws -> (CommandResult, [String: Any]) {
        let r = try retrace(["replay"] + args + ["--json"])
        return (r, r.status == 0 || r.status == 1 ? ((try? summary(r)) ?? [:]) : [:])
    }

    /// Each input of a journal with the outputs recorded after it (before the next input),
    /// as encoded bytes. Session markers are left out.
    static func groups(_ run: String) throws -> [(input: [UInt8], outputs: [[UInt8]])] {
        let reader = try JournalReader(directory: run + "/journal")
        var out: [(input: [UInt8], outputs: [[UInt8]])] = []
        while let r = try reader.next() {
            guard let kind = EventKind(rawValue: r.payload[1]), kind != .sessionStarted, kind != .sessionEnded else { continue }
            if kind.isOutput { out[out.count - 1].outputs.append(Array(r.payload)) } else { out.append((Array(r.payload), [])) }
        }
        return out
    }

    @Test("a whole replay at max and at 100× reproduces the fingerprint; the exported tables are byte-identical; diff says identical")
    func wholeReplay() throws {
        let (dir, orig) = try #require(Self.recorded, "recording the run failed")
        let recorded = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: orig + "/manifest.json"))) as? [String: Any])
        let fingerprint = try #require(recorded["fingerprint"] as? String)
        let (rm, max) = try replay([orig, "--out", dir + "/max"])
        #expect(rm.status == 0, "\(rm.stderr)")
        #expect(max["fingerprint"] as? String == fingerprint)
        #expect(max["original_fingerprint"] as? String == fingerprint)
        #expect(max["matches"] as? Bool == true)
        #expect(max["mode"] as? String == "replay")
        #expect(max["pacing_error_p99_micros"] == nil, "no pacing at max")
        let (rp, paced) = try replay([orig, "--out", dir + "/paced", "--speed", "100"])
        #expect(rp.status == 0, "\(rp.stderr)")
        #expect(paced["fingerprint"] as? String == fingerprint)
        let p99 = try #require(paced["pacing_error_p99_micros"] as? Double)
        #expect(p99 >= 0 && (paced["pacing_error_p50_micros"] as? Double ?? -1) <= p99)
        // Wall time follows the recording: 128 s of quotes at 100× is at least 1.2 s.
        #expect((paced["wall_seconds"] as? Double ?? 0) > 1.2)
        for run in ["orig", "max", "paced"] { #expect(try retrace(["export", dir + "/" + run, "--csv", dir + "/csv-" + run, "--quiet"]).status == 0) }
        for table in ["trades", "orders", "fills", "positions", "equity"] {
            let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/csv-orig/\(table).csv"))
            #expect(a.count > 40, "\(table) has rows")
            for run in ["max", "paced"] { #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/csv-\(run)/\(table).csv")) == a, "\(run) \(table).csv") }
        }
        let d = try retrace(["diff", orig, dir + "/max"])
        #expect(d.status == 0, "\(d.stdout)\(d.stderr)")
        #expect(d.stdout.hasPrefix("identical: "))
    }

    @Test("a window fast-forwarded to --from gives the outputs of the same stretch of a whole replay, at max and at 1× alike")
    func window() throws {
        let (dir, orig) = try #require(Self.recorded, "recording the run failed")
        // Pick a window of inputs spanning about 2 s, starting at the 700th input.
        let reader = try JournalReader(directory: orig + "/journal")
        var inputs: [(UInt64, Int64)] = []
        while inputs.count < 2000, let (r, e) = try reader.nextEvent() {
            if e.body.marketInstrument != nil { inputs.append((r.sequence, e.receiveTime.nanos)) }
        }
        let start = inputs[700]
        let end = try #require(inputs.last { $0.1 <= start.1 + 2_000_000_000 && $0.0 > start.0 })
        let (wa, a) = try replay([orig, "--out", dir + "/win-max", "--from", "\(start.0)", "--until", "\(end.0)"])
        #expect(wa.status == 0, "\(wa.stderr)")
        let (wb, b) = try replay([orig, "--out", dir + "/win-1x", "--from", "\(start.0)", "--until", "\(end.0)", "--speed", "1"])
        #expect(wb.status == 0, "\(wb.stderr)")
        #expect(a["fingerprint"] as? String == b["fingerprint"] as? String, "the window at max and at wall-clock speed")
        #expect(a["matches"] is NSNull, "a window is not compared with the whole run")
        #expect(b["pacing_error_p99_micros"] is Double)
        #expect((b["wall_seconds"] as? Double ?? 0) >= Double(end.1 - start.1) / 1e9 * 0.9, "paced at 1×")
        // The window's inputs are the original's from `start` to `end`; after each of them
        // (but the last, after which the window closes the session) it recorded exactly what
        // the whole run recorded after the same input.
        let full = try Self.groups(orig)
        let win = try Self.groups(dir + "/win-max").filter { $0.input[1] != EventKind.instrumentDefined.rawValue }
        let first = try #require(full.firstIndex { $0.input == win.first?.input })
        #expect(win.count > 5, "the window holds inputs")
        var outputs = 0
        for (k, g) in win.dropLast().enumerated() {
            #expect(g.input == full[first + k].input)
            #expect(g.outputs == full[first + k].outputs, "outputs after window input \(k)")
            outputs += g.outputs.count
        }
        #expect(outputs > 0, "the window traded")
        #expect(try Self.groups(dir + "/win-1x").map(\.outputs) == Self.groups(dir + "/win-max").map(\.outputs))
    }

    @Test("a what-if replay is marked as one, and diff finds the first divergence where the journals first differ")
    func whatIf() throws {
        let (dir, orig) = try #require(Self.recorded, "recording the run failed")
        let (r, s) = try replay([orig, "--out", dir + "/whatif", "--param", "spread_bps=4"])
        #expect(r.status == 0, "a what-if may differ: \(r.stderr)")
        #expect(s["what_if"] as? Bool == true)
        #expect(s["matches"] as? Bool == false)
        // Independently: decode both journals and find the first output whose event differs.
        func outputs(_ run: String) throws -> [(UInt64, Event)] {
            let reader = try JournalReader(directory: run + "/journal")
            var o: [(UInt64, Event)] = []
            while let (rec, e) = try reader.nextEvent() {
                if e.body.kind.isOutput { o.append((rec.sequence, e)) }
            }
            return o
        }
        let (oa, ob) = (try outputs(orig), try outputs(dir + "/whatif"))
        let k = try #require(Array(zip(oa, ob)).firstIndex { $0.1.body != $1.1.body || $0.1.eventTime != $1.1.eventTime }
            ?? (oa.count != ob.count ? min(oa.count, ob.count) : nil))
        let d = try retrace(["diff", orig, dir + "/whatif", "--json", "--context", "3"])
        #expect(d.status == 1, "\(d.stderr)")
        let j = try summary(d)
        let pa = try #require(j["first_divergence_a"] as? [String: Any])
        let pb = try #require(j["first_divergence_b"] as? [String: Any])
        #expect(pa["sequence"] as? Int == Int(oa[k].0))
        #expect(pb["sequence"] as? Int == Int(ob[k].0))
        #expect(pa["output_index"] as? Int == k)
        let context = (j["context_a"] as? [String])?.count ?? 0
        #expect(context > 0 && context <= 3)
        let ta = try #require(j["a"] as? [String: Any]), tb = try #require(j["b"] as? [String: Any])
        #expect(ta["orders"] as? Int == oa.filter { $0.1.body.kind == .orderSubmitted }.count)
        #expect(tb["fills"] as? Int == ob.filter { $0.1.body.kind == .orderFilled }.count)
    }

    @Test("--break-on stops the replay and prints the state; the stopped run's outputs are the start of the original's; bad input is refused")
    func breakpoints() throws {
        let (dir, orig) = try #require(Self.recorded, "recording the run failed")
        let (r, s) = try replay([orig, "--out", dir + "/brk", "--break-on", "kind=OrderFilled", "--context", "5"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s["status"] as? String == "stopped")
        for part in ["breakpoint kind=OrderFilled at recorded #", "book DEMO (top 5):", "account: equity", "positions:", "open orders:", "last 5 events:", "OrderFilled"] {
            #expect(r.stderr.contains(part), "\(part) in \(r.stderr)")
        }
        let d = try summary(try retrace(["diff", orig, dir + "/brk", "--json"]))
        #expect(d["first_divergence_b"] is NSNull, "the stopped replay ends early; everything it recorded is the original's")
        #expect((d["common_outputs"] as? Int ?? 0) > 0)

        let pos = try replay([orig, "--out", dir + "/brk-pos", "--break-on", "position>0"])
        #expect(pos.1["status"] as? String == "stopped" && pos.0.stderr.contains("breakpoint position>0"), "\(pos.0.stderr)")

        let bad = try retrace(["replay", orig, "--out", dir + "/bad", "--break-on", "colour=red"])
        #expect(bad.status != 0 && bad.stderr.contains("--break-on colour=red"), "\(bad.stderr)")
        let data = try retrace(["replay", Self.recorded!.dir + "/data", "--out", dir + "/bad2"])
        #expect(data.status != 0 && data.stderr.contains("not a run folder"), "\(data.stderr)")
        try #require(try retrace(["import", "quotes-csv", dir + "/data/quotes.csv", "--out", dir + "/imported"]).status == 0)
        let imported = try retrace(["replay", dir + "/imported", "--out", dir + "/bad3"])
        #expect(imported.status == 1 && imported.stderr.contains("import run"), "\(imported.stderr)")
        let speed = try retrace(["replay", orig, "--out", dir + "/bad4", "--speed", "fast"])
        #expect(speed.status == 2 && speed.stderr.contains("--speed"), "\(speed.stderr)")
    }

    @Test("the committed incident replays to the fingerprint in its manifest, and its fix diverges at the first order")
    func committedIncident() throws {
        let incident = packageRoot + "/Replays/fat-finger-kill-switch"
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: incident + "/manifest.json"))) as? [String: Any])
        let dir = scratch("incident")
        defer { removeScratch(dir) }
        let (r, s) = try replay([incident, "--out", dir + "/replay"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s["fingerprint"] as? String == manifest["fingerprint"] as? String)
        #expect(s["matches"] as? Bool == true)
        let (f, _) = try replay([incident, "--out", dir + "/fix", "--param", "risk.max_order_size=10"])
        #expect(f.status == 0)
        let d = try retrace(["diff", incident, dir + "/fix"])
        #expect(d.status == 1)
        #expect(d.stdout.contains("B \(dir)/fix: #70 OrderRejected"), "\(d.stdout)")
        #expect(d.stdout.contains("reason=risk: order larger than risk.max_order_size"))
    }

    @Test("trading rules: a run with a reference file replays to its fingerprint; after the file changes the replay is refused, naming it")
    func referenceRules() throws {
        let (dir, _) = try #require(Self.recorded, "recording the run failed")
        let rules = dir + "/rules.json"
        // The generated quotes are in cents; a 5-cent tick refuses most of the maker's quotes.
        try #"{"instruments": [{"symbol": "DEMO", "tick_size": "0.05", "lot_size": "1"}]}"#.write(toFile: rules, atomically: true, encoding: .utf8)
        let b = try retrace(["backtest", "--data", dir + "/data/quotes.csv", "--strategy", "market-maker", "--param", "refresh=250ms", "--param", "spread_bps=1",
                             "--param", "reference.file=" + rules, "--out", dir + "/ruled", "--json"])
        #expect(b.status == 0, "\(b.stderr)")
        let refused = try summary(b)["reference_refused"] as? Int ?? 0
        #expect(refused > 100, "\(refused) refused")
        let (r, same) = try replay([dir + "/ruled", "--out", dir + "/ruled-replay"])
        #expect(r.status == 0 && same["matches"] as? Bool == true, "\(r.stderr)")
        try #"{"instruments": [{"symbol": "DEMO", "tick_size": "0.10"}]}"#.write(toFile: rules, atomically: true, encoding: .utf8)
        let changed = try retrace(["replay", dir + "/ruled", "--out", dir + "/ruled-changed"])
        #expect(changed.status != 0)
        #expect(changed.stderr.contains("reference.file \(rules) changed since \(dir)/ruled ran"), "\(changed.stderr)")
    }
}
