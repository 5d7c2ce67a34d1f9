import Foundation
import Glibc
import RetraceCore
import RetraceEngine
import RetraceFeeds
import RetraceJournal
import RetraceStrategies

/// `retrace bench peer W…`: one run of a peer-comparison workload, in this process, for
/// `Scripts/peer-bench` to time against NautilusTrader and hftbacktest (one fresh process
/// per run, alternating with the peers). The input is generated with the peers' own seeded
/// rules into a data run first (not timed); the timed part is a backtest read from that
/// CRC-checked journal, its inputs journaled by reference to that journal (`journal.inputs`),
/// every output journaled and projected into the store.
enum PeerWorkloads {
    static let help = """
    usage: retrace bench peer W1|W2|W3|W4|W5|W6-replay|W6-mm [--n N] [--input RUN] [--json]
                              [--set engine.read_ahead=auto|on|off]

      W1  replay of N quotes (default 1,000,000), no strategy (NautilusTrader 'replay')
      W2  EMA(10/20) cross on the mid of N quotes, market orders of 0.1, taker fee 0.018 %
          (NautilusTrader 'ema'; the fill count must match)
      W3  L2 depth replay of N events (default 10,000,000), no strategy (hftbacktest 'goto_end')
      W4  market maker on every depth event: post-only 0.01 at the touch, position ±0.1,
          1 ms order and answer latency, power-3 queue model, maker −0.005 %, taker 0.07 %
          (hftbacktest 'mm_feed')
      W5  the same market maker every 100 ms (hftbacktest 'mm')
      W6-replay, W6-mm  W3 and W4 over a data run given with --input (the real Binance
          BTCUSDT depth file imported with 'retrace import l2-csv')

    retrace bench peer depth-csv --input RUN --csv FILE
          writes a depth data run's L2 updates and trades in hftbacktest's CSV layout
          (exch_ts,local_ts,type,side,px,qty), so hftbacktest replays the same events (W6)

      Prints one JSON object: events, events_per_second (the whole run: open, read, engine,
      journal, store drain), core_events_per_second (less the store's lag), orders, fills,
      pnl, fingerprint, read_ahead, generate_seconds (not timed), peak_rss_mib.
      The workload fixes the strategy and its parameters; --config/--set may choose only
      engine.read_ahead (a helper thread reading the data run ahead of the core).
    """

    struct Workload {
        let name: String
        let depth: Bool
        let defaultCount: Int
        let strategy: any Strategy.Type
        let parameters: [(String, String)]
    }

    static let marketMaker: [(String, String)] = [("size", "0.01"), ("max_position", "0.1"), ("entry_latency", "1ms"), ("ack_latency", "1ms"),
                                                    ("queue_model", "power:3"), ("maker_fee", "-0.00005"), ("taker_fee", "0.0007"), ("close_at_end", "false")]

    static var workloads: [Workload] { [
        Workload(name: "W1", depth: false, defaultCount: 1_000_000, strategy: NoStrategy.self, parameters: [("close_at_end", "false")]),
        Workload(name: "W2", depth: false, defaultCount: 1_000_000, strategy: EmaCross.self,
                 parameters: [("size", "0.1"), ("taker_fee", "0.00018"), ("close_at_end", "false")]),
        Workload(name: "W3", depth: true, defaultCount: 10_000_000, strategy: NoStrategy.self, parameters: [("close_at_end", "false")]),
        Workload(name: "W4", depth: true, defaultCount: 10_000_000, strategy: QueueMaker.self, parameters: marketMaker),
        Workload(name: "W5", depth: true, defaultCount: 10_000_000, strategy: QueueMaker.self, parameters: marketMaker + [("interval", "100ms")]),
        Workload(name: "W6-replay", depth: true, defaultCount: 0, strategy: NoStrategy.self, parameters: [("close_at_end", "false")]),
        Workload(name: "W6-mm", depth: true, defaultCount: 0, strategy: QueueMaker.self, parameters: marketMaker),
    ] }

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["n", "input", "scratch", "csv", "config", "set"], flags: ["json"])
        if a.has("help") { Output.out(help); return 0 }
        if a.positionals.first == "depth-csv" { return try depthCSV(try a.require("input"), try a.require("csv")) }
        guard a.positionals.count == 1, let w = workloads.first(where: { $0.name == a.positionals[0] }) else {
            throw UsageError("name one workload: \(workloads.map(\.name).joined(separator: ", "))")
        }
        guard let n = Int(a.value("n") ?? String(w.defaultCount)), n > 0 || a.value("input") != nil else { throw UsageError("--n must be a positive number of events") }
        let config = try RunConfig.load(a.value("config"), sets: a.values("set"))  // engine.read_ahead; the workload fixes the rest
        if w.name.hasPrefix("W6") && a.value("input") == nil { throw UsageError("\(w.name) reads a depth data run: --input RUN (retrace import l2-csv …)") }
        let scratch = a.value("scratch") ?? NSTemporaryDirectory() + "retrace-peer-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { if a.value("scratch") == nil { try? FileManager.default.removeItem(atPath: scratch) } }

        var data = a.value("input") ?? ""
        var generateSeconds = 0.0
        if data.isEmpty {
            data = scratch + "/data"
            let started = ReplayInput.monotonicNanos()
            _ = try BenchCommand.peerDataRun(data, count: n, depth: w.depth)
            generateSeconds = Double(ReplayInput.monotonicNanos() - started) / 1e9
        }
        let out = scratch + "/run"
        Glibc.sync()  // the data run's writeback is not the timed run's
        let started = ReplayInput.monotonicNanos()
        let manifest = try Run(data: data, out: out, parameters: w.parameters, readAhead: config.readAhead.enabled)(w.strategy)
        let seconds = Double(ReplayInput.monotonicNanos() - started) / 1e9
        let events = manifest.events
        let drain = manifest.store?.drainSeconds ?? 0
        var o = JSONObject()
        o.add("engine", "retrace")
        o.add("workload", w.name)
        o.add("strategy", manifest.strategy)
        o.add("events", events)
        o.add("seconds", seconds)
        o.add("events_per_second", Double(events) / seconds)
        o.add("core_events_per_second", Double(events) / max(seconds - drain, 1e-9))
        o.add("orders", manifest.orders)
        o.add("fills", manifest.fills)
        o.add("pnl", number: manifest.pnl)
        o.add("fingerprint", manifest.fingerprint)
        o.add("read_ahead", raw: config.readAhead.enabled ? "true" : "false")
        o.add("generate_seconds", generateSeconds)
        o.add("peak_rss_mib", BenchModes.peakMiB())
        o.add("includes", "input read from a CRC-checked journal; inputs journaled by reference to it, outputs journaled; store projected")
        Output.out(o.text)
        return 0
    }

    /// `runWorkload` for the workload's strategy.
    struct Run: StrategyWork {
        let data: String, out: String
        let parameters: [(String, String)]
        let readAhead: Bool
        func run<S: Strategy>(_ type: S.Type) throws -> RunManifest { try runWorkload(type, data: data, out: out, parameters: parameters, readAhead: readAhead) }
    }

    static func runWorkload<S: Strategy>(_ type: S.Type, data: String, out: String, parameters: [(String, String)],
                                         readAhead: Bool = JournalInput.readAheadByDefault) throws -> RunManifest {
        var source = try JournalInput(runDirectory: data, readAhead: readAhead)
        let settings = BacktestDriver.Settings(overrides: parameters, dataset: data, inputs: [data], out: out, replace: true)
        return try BacktestDriver.run(type, source: &source, settings: settings)
    }

    /// Writes RUN's depth updates and trades as `bench_hftbacktest.py --input` reads them;
    /// other events (quotes, definitions) are left out, so import the data without --bbo
    /// for both engines to see the same stream.
    static func depthCSV(_ run: String, _ path: String) throws -> Int32 {
        var reader = try JournalInput(runDirectory: run)
        var scale = (price: 1, quantity: 3)
        var text = "exch_ts,local_ts,type,side,px,qty\n"
        var rows = 0, skipped = 0
        while let input = try reader.next() {
            let e = input.event
            switch e.body {
            case .instrumentDefined(let d): scale = (d.instrument.priceScale, d.instrument.quantityScale)
            case .l2LevelUpdated(let u):
                text += "\(e.eventTime.nanos),\(e.receiveTime.nanos),D,\(u.side == .buy ? "B" : "S"),\(FixedPoint.format(u.price.raw, scale: scale.price)),\(FixedPoint.format(u.quantity.raw, scale: scale.quantity))\n"
                rows += 1
            case .tradeReceived(let t):
                text += "\(e.eventTime.nanos),\(e.receiveTime.nanos),T,\(t.aggressor == .seller ? "S" : "B"),\(FixedPoint.format(t.price.raw, scale: scale.price)),\(FixedPoint.format(t.quantity.raw, scale: scale.quantity))\n"
                rows += 1
            default: skipped += 1
            }
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        Output.out("{\"rows\":\(rows),\"skipped\":\(skipped),\"csv\":\"\(jsonEscape(path))\"}")
        return 0
    }
}
