import Foundation
import RetraceStore
import Testing

@testable import RetraceCLI

/// `retrace sweep` as a user runs it: a 2×2 grid ranks its runs and each run's fingerprint
/// is the one a plain backtest with the same parameters gives; a sweep killed midway
/// resumes with only the missing runs; a bad value fails its run only; walk-forward
/// windows, choices and the stitched out-of-sample curve match a hand check.
@Suite("Sweeps and walk-forward")
struct SweepTests {
    /// The bundled demo quotes (20,000 quotes, about 15 minutes) as a data run.
    static let data: (dir: String, run: String)? = {
        let dir = scratch("sweep")
        guard (try? retrace(["import", "quotes-csv", packageRoot + "/Datasets/demo/quotes.csv", "--out", dir + "/data", "--quiet"]))?.status == 0 else { return nil }
        return (dir, dir + "/data")
    }()

    static let grid = ["--strategy", "ema-cross", "--grid", "fast=5,10", "--grid", "slow=20,40"]

    /// Fingerprint of a plain `retrace backtest` with these parameters (and window).
    static func backtestFingerprint(_ data: String, _ out: String, _ params: [String], window: [String] = []) throws -> String {
        let r = try retrace(["backtest", "--data", data, "--strategy", "ema-cross", "--out", out, "--json", "--quiet"] + params.flatMap { ["--param", $0] } + window)
        guard r.status == 0 else { throw CLITestError("backtest \(params) failed: \(r.stderr)") }
        return try summary(r)["fingerprint"] as? String ?? ""
    }

    @Test("a 2×2 grid: four runs ranked by the metric, fingerprints equal to four plain backtests, sweep.sqlite in the same order, a re-run resumes all")
    func grid() throws {
        let (dir, data) = try #require(Self.data, "importing the demo quotes failed")
        let r = try retrace(["sweep", "--data", data] + Self.grid + ["--metric", "pnl", "--workers", "2", "--out", dir + "/grid", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let s = try summary(r)
        #expect(s["runs"] as? Int == 4 && s["completed"] as? Int == 4 && s["ran"] as? Int == 4)
        let rows = try csvRows(dir + "/grid/results.csv")
        #expect(rows.count == 4)
        let header = try String(contentsOfFile: dir + "/grid/results.csv", encoding: .utf8).split(separator: "\r\n").first.map(String.init) ?? ""
        #expect(header.hasPrefix("fast,slow,fingerprint,pnl,trades,"), "\(header)")
        #expect(header.hasSuffix(",wall_seconds,status,error,run"), "\(header)")
        // Best first by pnl: every row's pnl is at least the next one's.
        let pnls = rows.map { Double($0["pnl"] ?? "") ?? .nan }
        #expect(zip(pnls, pnls.dropFirst()).allSatisfy { $0 >= $1 }, "\(pnls)")
        #expect(Set(rows.map { "\($0["fast"]!)/\($0["slow"]!)" }) == ["5/20", "5/40", "10/20", "10/40"])
        for (i, row) in rows.enumerated() {
            #expect(row["status"] == "completed")
            let fingerprint = try Self.backtestFingerprint(data, dir + "/plain-\(i)", ["fast=\(row["fast"]!)", "slow=\(row["slow"]!)"])
            #expect(row["fingerprint"] == fingerprint, "fast=\(row["fast"]!) slow=\(row["slow"]!)")
            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/grid/" + row["run"]! + "/manifest.json"))) as? [String: Any]
            #expect(manifest?["fingerprint"] as? String == fingerprint, "the run folder is a normal run")
        }
        let best = try #require(s["best"] as? [String: Any])
        #expect(best["fingerprint"] as? String == rows[0]["fingerprint"])
        let db = try SQLiteDatabase(path: dir + "/grid/sweep.sqlite")
        let ranked = try db.query("SELECT rank, fingerprint, pnl FROM runs ORDER BY rank")
        #expect(ranked.map { $0[1].text ?? "" } == rows.map { $0["fingerprint"]! })
        #expect(try db.query("SELECT value FROM sweep WHERE key = 'metric'").first?.first?.text == "pnl")

        let again = try retrace(["sweep", "--data", data] + Self.grid + ["--metric", "pnl", "--out", dir + "/grid", "--json"])
        let a = try summary(again)
        #expect(again.status == 0 && a["resumed"] as? Int == 4 && a["ran"] as? Int == 0, "\(again.stdout)")
        #expect(try csvRows(dir + "/grid/results.csv").map { $0["fingerprint"]! } == rows.map { $0["fingerprint"]! })
    }

    @Test("a sweep killed midway (its backtest processes die with it) resumes with only the missing runs, to the same results")
    func resumeAfterKill() throws {
        let (dir, data) = try #require(Self.data, "importing the demo quotes failed")
        let out = dir + "/killed"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: packageRoot + "/.build/debug/retrace")
        p.arguments = ["sweep", "--data", data] + Self.grid + ["--grid", "size=1,2", "--workers", "1", "--out", out, "--quiet"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        func records() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: out + "/jobs")) ?? []).filter { $0.hasSuffix(".json") } }
        let deadline = Date().addingTimeInterval(60)
        while records().count < 2 && p.isRunning && Date() < deadline { usleep(5_000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let done = records().count
        try #require(done >= 2 && done < 8, "the sweep should be stopped between its 2nd and 8th run (had \(done))")
        usleep(300_000)
        // The backtest that was running died with the sweep: its folder is left unfinished.
        #expect(records().count == done, "no orphan finished a run after the kill")

        let r = try retrace(["sweep", "--data", data] + Self.grid + ["--grid", "size=1,2", "--workers", "2", "--out", out, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let s = try summary(r)
        #expect(s["resumed"] as? Int == done)
        #expect(s["ran"] as? Int == 8 - done)
        #expect(s["completed"] as? Int == 8)
        let whole = try retrace(["sweep", "--data", data] + Self.grid + ["--grid", "size=1,2", "--out", dir + "/unbroken", "--json", "--quiet"])
        #expect(whole.status == 0)
        let a = try csvRows(out + "/results.csv").map { [$0["fast"]!, $0["slow"]!, $0["size"]!, $0["fingerprint"]!, $0["sharpe"]!] }
        let b = try csvRows(dir + "/unbroken/results.csv").map { [$0["fast"]!, $0["slow"]!, $0["size"]!, $0["fingerprint"]!, $0["sharpe"]!] }
        #expect(a == b)
    }

    @Test("a combination with an invalid value is recorded as failed with its error; the others complete; exit status 1")
    func failingCombination() throws {
        let (dir, data) = try #require(Self.data, "importing the demo quotes failed")
        let r = try retrace(["sweep", "--data", data, "--strategy", "ema-cross", "--grid", "fast=5,zero,10", "--param", "slow=30", "--out", dir + "/failing", "--json"])
        #expect(r.status == 1)
        let s = try summary(r)
        #expect(s["completed"] as? Int == 2 && s["failed"] as? Int == 1)
        let rows = try csvRows(dir + "/failing/results.csv")
        #expect(rows.map { $0["fast"]! } .last == "zero", "the failed run ranks last")
        #expect(rows.last?["status"] == "failed")
        #expect(rows.last?["error"]?.contains("fast=zero") == true, "\(rows.last ?? [:])")
        #expect(rows.dropLast().allSatisfy { $0["status"] == "completed" && $0["slow"] == "30" && $0["fingerprint"]?.count == 64 })
        // An unknown key is a usage error before anything runs.
        let bad = try retrace(["sweep", "--data", data, "--strategy", "ema-cross", "--grid", "fats=5,10", "--out", dir + "/bad"])
        #expect(bad.status == 2 && bad.stderr.contains("fats"), "\(bad.stderr)")
    }

    @Test("walk-forward 6m/3m over the demo quotes: windows, choices, test runs and the stitched out-of-sample curve as checked by hand")
    func walkForward() throws {
        let (dir, data) = try #require(Self.data, "importing the demo quotes failed")
        let out = dir + "/wf"
        let r = try retrace(["sweep", "--data", data] + Self.grid + ["--metric", "pnl", "--walk-forward", "6m/3m", "--out", out, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        // By hand: the first quote is at 08:00:00.000846540 and the last at 08:15:17.759…;
        // windows start every 3 minutes while 6 minutes of training fit: at 0, 3, 6 and 9 min.
        let windows = try csvRows(out + "/walk-forward.csv")
        #expect(windows.count == 4)
        for (k, w) in windows.enumerated() {
            let m = 3 * k
            #expect(w["train_from"] == String(format: "2024-01-01T08:%02d:00.000846540Z", m))
            #expect(w["train_until"] == String(format: "2024-01-01T08:%02d:00.000846539Z", m + 6))
            #expect(w["test_from"] == String(format: "2024-01-01T08:%02d:00.000846540Z", m + 6))
            #expect(w["test_until"] == String(format: "2024-01-01T08:%02d:00.000846539Z", m + 9))
        }
        // Each window's choice is its training run with the highest pnl.
        let runs = try csvRows(out + "/results.csv")
        var stitched = 0.0
        for w in windows {
            let train = runs.filter { $0["window"] == w["window"] && $0["phase"] == "train" }
            #expect(train.count == 4)
            let best = try #require(train.max { Double($0["pnl"]!)! < Double($1["pnl"]!)! })
            #expect(w["fast"] == best["fast"] && w["slow"] == best["slow"], "window \(w["window"]!)")
            // The test run is a plain windowed backtest with the chosen parameters.
            let fingerprint = try Self.backtestFingerprint(data, dir + "/wf-plain-\(w["window"]!)", ["fast=\(w["fast"]!)", "slow=\(w["slow"]!)"],
                                                           window: ["--from", w["test_from"]!, "--until", w["test_until"]!])
            #expect(w["test_fingerprint"] == fingerprint)
            stitched += Double(w["test_pnl"]!)!
            #expect(abs(Double(w["oos_equity"]!)! - (100_000 + stitched)) < 1e-9, "the curve carries the earlier windows' profit")
        }
        let oos = Dictionary(uniqueKeysWithValues: try csvRows(out + "/oos-summary.csv").map { ($0["metric"]!, $0["value"]!) })
        #expect(abs(Double(oos["pnl"]!)! - stitched) < 1e-9)
        let equity = try csvRows(out + "/oos-equity.csv")
        #expect(equity.first?["window"] == "1" && equity.last?["window"] == "4")
        #expect(zip(equity, equity.dropFirst()).allSatisfy { Int64($0["time_ns"]!)! <= Int64($1["time_ns"]!)! })
        let s = try summary(r)
        #expect((s["walk_forward"] as? [String: Any])?["windows"] as? Int == 4)
    }

    @Test("walk-forward by event counts: windows of journal sequence numbers, the last test cut short by the data's end")
    func eventWindows() throws {
        // 100 market events with sequences 3...102 (two instrument definitions come first).
        let span = WalkForwardSpec.DataSpan(times: (0..<100).map { Int64($0) * 1_000 }, sequences: (3...102).map { UInt64($0) })
        let w = try WalkForwardSpec(parsing: "30/20").windows(over: span)
        #expect(w.map { [$0.trainFrom, $0.trainUntil, $0.testFrom, $0.testUntil] } == [
            ["3", "32", "33", "52"], ["23", "52", "53", "72"], ["43", "72", "73", "92"], ["63", "92", "93", "102"],
        ])
        // Durations over the same span: 30 µs of training, 20 µs tests.
        let t = try WalkForwardSpec(parsing: "30us/20us").windows(over: span)
        #expect(t.count == 4)
        #expect(t.first?.testFrom == "1970-01-01T00:00:00.000030000Z")
        #expect(throws: UsageError.self) { try WalkForwardSpec(parsing: "30d/100") }
        #expect(throws: UsageError.self) { try WalkForwardSpec(parsing: "0/5") }
        #expect(throws: UsageError.self) { try WalkForwardSpec(parsing: "200/10").windows(over: span) }
        #expect(try WalkForwardSpec(parsing: "2w/1d").train == .nanos(14 * 86_400_000_000_000))
    }

    @Test("ranking: higher is better but for drawdowns and fees; equal values keep grid order; failed runs last")
    func ranking() throws {
        func job(_ i: Int) -> SweepJob {
            SweepJob(index: i, values: [("k", String(i))], phase: .grid, window: nil, from: nil, until: nil, hash: "", name: "j\(i)", arguments: [])
        }
        func done(_ stats: [String: String]) -> JobOutcome {
            JobOutcome(status: "completed", error: "", wallSeconds: 0, fingerprint: "f", statistics: stats, node: "")
        }
        let jobs = (0..<4).map(job)
        var outcomes = ["j0": done(["sharpe": "1.5", "max_drawdown_pct": "3"]), "j1": done(["sharpe": "2", "max_drawdown_pct": "5"]),
                        "j3": done(["sharpe": "1.5", "max_drawdown_pct": "1"])]
        outcomes["j2"] = JobOutcome(status: "failed", error: "bad", wallSeconds: 0, fingerprint: "", statistics: [:], node: "")
        #expect(rankJobs(jobs, outcomes, by: try SweepMetric(parsing: "sharpe")).map(\.index) == [1, 0, 3, 2])
        #expect(rankJobs(jobs, outcomes, by: try SweepMetric(parsing: "max_drawdown")).map(\.index) == [3, 0, 1, 2])
        #expect(throws: UsageError.self) { try SweepMetric(parsing: "happiness") }
    }
}
