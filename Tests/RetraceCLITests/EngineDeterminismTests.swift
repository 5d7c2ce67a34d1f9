import Foundation
import Testing

/// The engine's promise over real data: each strategy gives the same fingerprint run after
/// run, pinned to either CPU or not, and with a store writer whose commits fail and are
/// retried (the fingerprint is over the journaled outputs; the store is only a projection).
@Suite("Engine determinism over real data")
struct EngineDeterminismTests {
    /// Binance USD-M BTCUSDT, 2024-08-08: depth snapshot + updates, trades and BBO (≈ 94,000
    /// events), imported once for all the strategies (nil when the shared data is absent).
    static let binance: String? = {
        let d = sharedDatasets + "/crypto/binance_usdm_btcusdt_20240808"
        guard sharedFilePresent(d + "_depth_updates.csv.gz") else { return nil }
        let out = scratch("determinism-data") + "/data"
        let r = try? retrace(["import", "l2-csv", "--snapshot", d + "_depth_snapshot.csv.gz", "--updates", d + "_depth_updates.csv.gz",
                              "--trades", d + "_trades.csv.gz", "--bbo", d + "_bbo.csv.gz", "--out", out])
        return r?.status == 0 ? out : "import failed: \(r?.stderr ?? "could not run retrace")"
    }()

    func run(_ data: String, _ strategy: String, _ out: String, _ extra: [String]) throws -> [String: Any] {
        let r = try retrace(["backtest", "--data", data, "--strategy", strategy, "--out", out, "--json", "--param", "size=0.01", "--param", "close_at_end=false"] + extra)
        #expect(r.status == 0, "\(strategy) \(extra): \(r.stderr)")
        return try summary(r)
    }

    @Test("ema-cross, mean-reversion and market-maker: three runs, unpinned, on CPU 0 without profiling and reading ahead, and on CPU 1 with a failing store ⇒ one fingerprint each", arguments: ["ema-cross", "mean-reversion", "market-maker"])
    func strategies(_ strategy: String) throws {
        guard let data = Self.binance else { return }
        try #require(!data.hasPrefix("import failed"), "\(data)")
        let dir = scratch("determinism-\(strategy)")
        defer { removeScratch(dir) }
        let first = try run(data, strategy, dir + "/a", [])
        let cpu0 = try run(data, strategy, dir + "/c", ["--pin", "0", "--set", "engine.profile_every=0", "--set", "engine.read_ahead=on"])
        let failing = try run(data, strategy, dir + "/d", ["--pin", "1", "--set", "engine.read_ahead=off", "--set", "store.fault_every=2", "--set", "store.ring_slots=64",
                                                           "--set", "store.initial_batch_rows=8", "--set", "store.min_batch_rows=4",
                                                           "--set", "store.max_delay_ms=0.1", "--set", "store.retry_base_ms=0.1", "--set", "store.retry_max_ms=1"])
        let fingerprint = try #require(first["fingerprint"] as? String)
        #expect((first["orders"] as? Int ?? 0) > 0, "\(strategy) trades on this data")
        for (name, s) in [("again, on CPU 0 reading ahead", cpu0), ("again, on CPU 1 with store faults", failing)] {
            #expect(s["fingerprint"] as? String == fingerprint, "\(strategy) \(name)")
        }
        #expect((cpu0["placement"] as? String)?.hasPrefix("cpu 0") == true)
        // Latency is measured (every 16th event by default) without touching the outputs.
        #expect(cpu0["tick_to_order_p99_nanos"] == nil)
        #expect((first["tick_to_order_p99_nanos"] as? Int ?? 0) > 0)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/a/manifest.json"))) as? [String: Any]
        let stages = Set((manifest?["latency"] as? [[String: Any]] ?? []).compactMap { $0["stage"] as? String })
        #expect(stages.isSuperset(of: ["receive", "book", "strategy", "send", "tick_to_order"]), "\(stages)")
        #expect((failing["store_failed_commits"] as? Int ?? 0) > 0, "the store writer failed and retried")
        #expect(failing["store_stale"] == nil)
        // The retried store holds what the clean one holds.
        for run in ["a", "d"] { #expect(try retrace(["export", dir + "/" + run, "--csv", dir + "/" + run + "/csv", "--quiet"]).status == 0) }
        for table in ["orders", "fills", "positions", "equity"] {
            #expect(try csvRows(dir + "/a/csv/\(table).csv") == csvRows(dir + "/d/csv/\(table).csv"), "\(strategy) \(table)")
        }
    }
}
