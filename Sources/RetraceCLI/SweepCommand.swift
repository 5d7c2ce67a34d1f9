import Foundation
import Glibc
import RetraceCore
import RetraceEngine
import RetraceReports
import RetraceStore
import RetraceStrategies

/// `retrace sweep`: a parameter grid (or walk-forward windows) as independent backtest
/// processes, ranked by a metric, resumable.
enum SweepCommand {
    static let help = """
    usage: retrace sweep --data RUN|FILE --strategy NAME --grid key=v1,v2,... [--grid ...] --out SWEEP
                         [--param key=value]... [--metric NAME] [--workers N] [--seed N]
                         [--config FILE] [--set key=value]... [--from SEQ|TIME] [--until SEQ|TIME]
                         [--walk-forward TRAIN/TEST] [--ray ADDRESS [--ray-python PY] [--ray-script FILE]]
                         [--quiet] [--json]

      Runs every combination of the grid values as its own 'retrace backtest' process; each
      writes a normal run folder under SWEEP/runs/. Then writes SWEEP/results.csv and
      SWEEP/sweep.sqlite (table runs), one row per run, best first by the metric.

      --grid      a parameter and the values to try, comma-separated (repeatable; the last
                  --grid varies fastest). Any strategy or account parameter.
      --param     a fixed parameter of every run
      --metric    statistic to rank by (default sharpe): pnl, sharpe, sortino, total_return,
                  annualised_return, max_drawdown, max_drawdown_duration, win_rate,
                  profit_factor, exposure, final_equity, trades, fees, turnover, ... Higher is
                  better, except max_drawdown, max_drawdown_duration, fees, turnover,
                  traded_value. Equal values keep grid order; failed runs come last.
      --workers   backtest processes at once (default: the number of cores)
      --from, --until  every run covers only this part of the data (see retrace backtest)
      --walk-forward TRAIN/TEST  rolling windows (durations like 30d/7d, 6h/1h, or event
                  counts like 50000/10000; needs a data run): on each TRAIN window every
                  combination runs and the best by the metric is chosen; it then runs on the
                  TEST window after it. Windows advance by TEST. Writes walk-forward.csv
                  (windows, choices, test results), oos-equity.csv (the test runs' equity
                  stitched into one curve) and oos-summary.csv (its statistics).
      --ray       submit each backtest as a Ray task to the cluster at ADDRESS (e.g.
                  127.0.0.1:6379) through Scripts/ray_sweep.py; every node needs this binary
                  and the data at the same paths, and --out must be storage every node sees.
                  Results and fingerprints equal a local sweep's.
      --ray-python  the Python with Ray (default: $RETRACE_PYTHON, else .venv-ray/bin/python
                  beside the Scripts folder, else python3)
      --json      print the sweep's summary as one JSON object

      Resuming: running the same command again skips every run already completed with the
      same parameters, settings and data (each run's identity is a hash of them, kept in
      SWEEP/jobs/); runs that failed or were interrupted run again. A run that fails is
      recorded with its error and the sweep goes on; the exit status is 1 if any failed.
    """

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["data", "strategy", "grid", "param", "metric", "workers", "out", "seed", "config", "set", "from", "until",
                                             "walk-forward", "ray", "ray-python", "ray-script"], flags: ["json", "quiet"])
        if a.has("help") { Output.out(help); return 0 }
        guard a.positionals.isEmpty else { throw UsageError("unexpected argument '\(a.positionals[0])'") }
        let started = ReplayInput.monotonicNanos()
        let cwd = FileManager.default.currentDirectoryPath
        func absolute(_ p: String) -> String { p.hasPrefix("/") ? p : cwd + "/" + p }
        let strategy = try StrategyCatalog.named(try a.require("strategy"))
        let known = Set((strategy.parameters + AccountConfig.parameters).map(\.name))
        var grid: [(key: String, values: [String])] = []
        for g in a.values("grid") {
            let (key, list) = try Arguments.keyValue(g, option: "grid", expects: "key=v1,v2,...")
            let values = list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard known.contains(key) else { throw UsageError("--grid \(key): not a parameter of \(strategy.name) (see retrace backtest --help)") }
            guard !values.contains(""), Set(values).count == values.count else { throw UsageError("--grid \(key): values must be non-empty and distinct, got '\(g)'") }
            guard !grid.contains(where: { $0.key == key }) else { throw UsageError("--grid \(key) is given twice") }
            grid.append((key, values))
        }
        var params: [(String, String)] = []
        for p in a.values("param") {
            let (key, value) = try Arguments.keyValue(p, option: "param")
            guard known.contains(key) else { throw UsageError("--param \(key): not a parameter of \(strategy.name) (see retrace backtest --help)") }
            guard !grid.contains(where: { $0.key == key }) else { throw UsageError("\(key) is both a --grid and a --param") }
            params.removeAll { $0.0 == key }
            params.append((key, value))
        }
        let metric = try SweepMetric(parsing: a.value("metric") ?? "sharpe")
        let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        guard let workers = Int(a.value("workers") ?? String(cores)), workers >= 1 else { throw UsageError("--workers must be a whole number ≥ 1") }
        if let s = a.value("seed"), UInt64(s) == nil { throw UsageError("--seed must be a non-negative integer") }
        for name in ["from", "until"] { _ = try BacktestCommand.bound(a, name) }
        let data = absolute(try a.require("data"))
        let out = absolute(try a.require("out"))
        var spec = SweepSpec(data: data, out: out, strategy: strategy.name, grid: grid, params: params, seed: a.value("seed"), config: a.value("config").map(absolute),
                             sets: a.values("set"), from: a.value("from"), until: a.value("until"), dataIdentity: try SweepSpec.identity(ofData: data))
        if let config = spec.config {
            _ = try RunConfig.load(config, sets: spec.sets)  // config errors before anything runs
            spec.configIdentity = try SweepSpec.fileDigest(config)
        } else if !spec.sets.isEmpty {
            _ = try RunConfig.load(nil, sets: spec.sets)
        }
        let walkForward = try a.value("walk-forward").map { (t: String) throws(UsageError) in try WalkForwardSpec(parsing: t) }
        if walkForward != nil {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: data, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw UsageError("--walk-forward needs --data to be a data run (make one with 'retrace import')")
            }
            guard spec.from == nil && spec.until == nil else { throw UsageError("--walk-forward chooses the windows itself; leave out --from/--until") }
        }

        let backend: SweepRunner.Backend
        if let address = a.value("ray") {
            let (python, script) = try rayTools(a)
            backend = .ray(address: address, python: python, script: script, workers: a.value("workers") == nil ? 0 : workers)
        } else {
            backend = .local(workers: workers)
        }
        for sub in ["", "/runs", "/jobs", "/logs"] { try FileManager.default.createDirectory(atPath: out + sub, withIntermediateDirectories: true) }
        let lock = open(out + "/.lock", O_RDWR | O_CREAT, 0o644)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else { throw EngineError(.badInput, "\(out): another sweep is running in this folder") }
        defer { close(lock) }

        var sweep = Sweep(spec: spec, metric: metric, runner: SweepRunner(backend: backend, binary: SweepRunner.currentBinary(), logs: out + "/logs"),
                          quiet: a.has("quiet") || a.has("json"))
        var report = SweepReport(spec: spec, metric: metric)
        if let walkForward {
            let span = try WalkForwardSpec.DataSpan(run: data)
            let windows = try walkForward.windows(over: span)
            var train: [SweepJob] = []
            for w in windows {
                for values in spec.combinations() {
                    train.append(spec.job(index: train.count, values: values, phase: .train, window: w.number, from: w.trainFrom, until: w.trainUntil))
                }
            }
            try sweep.execute(train, label: "train")
            var tests: [SweepJob] = []
            var choices: [Int: SweepJob] = [:]
            for w in windows {
                let ranked = rankJobs(train.filter { $0.window == w.number }, sweep.outcomes, by: metric)
                guard let best = ranked.first, sweep.outcomes[best.name]?.completed == true else { continue }
                choices[w.number] = best
                tests.append(spec.job(index: train.count + tests.count, values: best.values, phase: .test, window: w.number, from: w.testFrom, until: w.testUntil))
            }
            try sweep.execute(tests, label: "test")
            report.jobs = train + tests
            report.outcomes = sweep.outcomes
            try report.writeWalkForward(windows: windows, choices: choices, tests: tests)
        } else {
            let jobs = spec.combinations().enumerated().map { spec.job(index: $0.offset, values: $0.element, from: spec.from, until: spec.until) }
            try sweep.execute(jobs, label: "sweep")
            report.jobs = jobs
            report.outcomes = sweep.outcomes
        }
        try report.writeResults()
        let wall = Double(ReplayInput.monotonicNanos() - started) / 1e9
        report.print(json: a.has("json"), resumed: sweep.resumed, ran: sweep.ran, wall: wall, runSeconds: sweep.runSeconds, backend: backend)
        return report.failed == 0 ? 0 : 1
    }

    /// The Python with Ray and the driver script for `--ray`.
    static func rayTools(_ a: Arguments) throws -> (String, String) {
        let binaryDirectory = URL(fileURLWithPath: SweepRunner.currentBinary()).deletingLastPathComponent()
        // The repository root: the binary lives in .build/<config>/ (or wherever the user put it).
        var roots = [FileManager.default.currentDirectoryPath]
        var up = binaryDirectory
        for _ in 0..<4 {
            roots.append(up.path)
            up = up.deletingLastPathComponent()
        }
        let script = a.value("ray-script") ?? roots.map { $0 + "/Scripts/ray_sweep.py" }.first { FileManager.default.fileExists(atPath: $0) }
        guard let script, FileManager.default.fileExists(atPath: script) else {
            throw UsageError("--ray: cannot find Scripts/ray_sweep.py beside the binary or in the current directory; pass --ray-script FILE")
        }
        let root = URL(fileURLWithPath: script).deletingLastPathComponent().deletingLastPathComponent().path
        let python = a.value("ray-python") ?? ProcessInfo.processInfo.environment["RETRACE_PYTHON"]
            ?? [root + "/.venv-ray/bin/python"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "python3"
        return (python, script)
    }
}

/// Runs jobs, skipping those completed before, and keeps every outcome.
struct Sweep {
    let spec: SweepSpec
    let metric: SweepMetric
    let runner: SweepRunner
    let quiet: Bool
    var outcomes: [String: JobOutcome] = [:]
    var resumed = 0
    var ran = 0
    /// Wall seconds spent running jobs (not resuming or writing results).
    var runSeconds = 0.0

    mutating func execute(_ jobs: [SweepJob], label: String) throws {
        var todo: [SweepJob] = []
        for job in jobs {
            if let done = JobRecord.completed(spec.out, job) {
                outcomes[job.name] = done
                resumed += 1
            } else {
                todo.append(job)
            }
        }
        let skipped = jobs.count - todo.count
        if !quiet && skipped > 0 { Output.err("sweep: \(skipped) of \(jobs.count) \(label) runs already completed, resuming") }
        let progress = Progress(label, total: UInt64(todo.count), unit: "runs", quiet: quiet)
        let started = ReplayInput.monotonicNanos()
        var finished = 0
        var collected: [(String, JobOutcome)] = []
        let spec = self.spec
        let quiet = self.quiet
        try runner.run(todo) { job, outcome in
            try JobRecord.write(spec.out, job, outcome)
            collected.append((job.name, outcome))
            finished += 1
            if let progress {
                progress.update(UInt64(finished), force: true)
            } else if !quiet {
                let values = job.values.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
                let window = job.window.map { "w\($0) \(job.phase.rawValue) " } ?? ""
                let result = outcome.completed ? "pnl \(outcome.statistics["pnl"] ?? "?")" + (metric.name == "pnl" ? "" : " \(metric.name) \(outcome.statistics[metric.name] ?? "?")")
                    : "FAILED: \(outcome.error)"
                Output.err("[\(finished)/\(todo.count)] \(window)\(values.isEmpty ? "defaults" : values): \(result) (\(String(format: "%.2f", outcome.wallSeconds)) s)")
            }
        }
        progress?.finish()
        for (name, o) in collected { outcomes[name] = o }
        ran += todo.count
        runSeconds += Double(ReplayInput.monotonicNanos() - started) / 1e9
    }
}

/// The sweep's tables: results.csv, sweep.sqlite, and for walk-forward its three CSVs.
struct SweepReport {
    let spec: SweepSpec
    let metric: SweepMetric
    var jobs: [SweepJob] = []
    var outcomes: [String: JobOutcome] = [:]
    var walkForwardRows: [[String]] = []
    var walkForwardHeader: [String] = []
    var oosEquity: [[String]] = []
    var oosStatistics: RunStatistics?

    var failed: Int { jobs.filter { outcomes[$0.name]?.completed != true }.count }
    var isWalkForward: Bool { jobs.contains { $0.window != nil } }
    var keys: [String] { spec.grid.map(\.key) + spec.params.map(\.0) }
    static let statisticNames = SweepMetric.names.filter { $0 != "pnl" }

    var header: [String] {
        keys + ["fingerprint", "pnl"] + Self.statisticNames + ["wall_seconds", "status", "error", "run"] + (isWalkForward ? ["phase", "window", "from", "until"] : [])
    }

    /// Best first (walk-forward: by window, the training runs ranked, then the test run).
    var ranked: [SweepJob] {
        guard isWalkForward else { return rankJobs(jobs, outcomes, by: metric) }
        let windows = Set(jobs.compactMap(\.window)).sorted()
        return windows.flatMap { w in
            rankJobs(jobs.filter { $0.window == w && $0.phase == .train }, outcomes, by: metric) + jobs.filter { $0.window == w && $0.phase == .test }
        }
    }

    func row(_ job: SweepJob) -> [String] {
        let o = outcomes[job.name]
        let values = Dictionary(uniqueKeysWithValues: job.values + spec.params)
        var r = keys.map { values[$0] ?? "" }
        r += [o?.fingerprint ?? "", o?.statistics["pnl"] ?? ""]
        r += Self.statisticNames.map { o?.statistics[$0] ?? "" }
        r += [String(format: "%.3f", o?.wallSeconds ?? 0), o?.status ?? "not run", o?.error ?? "", "runs/" + job.name]
        if isWalkForward { r += [job.phase.rawValue, job.window.map(String.init) ?? "", job.from ?? "", job.until ?? ""] }
        return r
    }

    func writeResults() throws {
        var csv = CSVWriter(header: header)
        let ranked = self.ranked
        for job in ranked { csv.row(row(job)) }
        try Data(csv.text.utf8).write(to: URL(fileURLWithPath: spec.out + "/results.csv"))
        try writeDatabase(ranked)
    }

    /// sweep.sqlite, built beside and renamed into place (never half-written): `runs` (the
    /// rows of results.csv with their rank and job hash), `sweep` (what ran), and for
    /// walk-forward `walk_forward`, `oos_equity` and `oos_summary`.
    func writeDatabase(_ ranked: [SweepJob]) throws {
        let path = spec.out + "/sweep.sqlite"
        let staging = path + ".tmp"
        for p in [staging, staging + "-journal"] where FileManager.default.fileExists(atPath: p) { try FileManager.default.removeItem(atPath: p) }
        do {
            let db = try SQLiteDatabase(path: staging)
            try db.execute("BEGIN")
            try table(db, "runs", ["rank"] + header + ["job_hash"], ranked.enumerated().map { [String($0.offset + 1)] + row($0.element) + [$0.element.hash] })
            let about = [["strategy", spec.strategy], ["data", spec.data], ["metric", metric.name + (metric.lowerIsBetter ? " (lower is better)" : "")],
                         ["grid", spec.grid.map { "\($0.key)=\($0.values.joined(separator: ","))" }.joined(separator: " ")],
                         ["params", spec.params.map { "\($0.0)=\($0.1)" }.joined(separator: " ")], ["seed", spec.seed ?? ""], ["code_version", retraceVersion]]
            try table(db, "sweep", ["key", "value"], about)
            if isWalkForward {
                try table(db, "walk_forward", walkForwardHeader, walkForwardRows)
                try table(db, "oos_equity", ["window", "time_ns", "time", "equity"], oosEquity)
                try table(db, "oos_summary", ["metric", "value"], (oosStatistics?.rows ?? []).map { [$0.0, $0.1] })
            }
            try db.execute("COMMIT")
        }
        guard rename(staging, path) == 0 else { throw EngineError(.io, "\(path): cannot move the results into place: \(String(cString: strerror(errno)))") }
    }

    static let textColumns: Set<String> = ["fingerprint", "status", "error", "run", "phase", "from", "until", "job_hash", "train_from", "train_until",
                                           "test_from", "test_until", "train_run", "test_run", "test_fingerprint", "test_status", "test_error", "time", "key"]

    /// Creates `name` and inserts `rows`; numbers go in as numbers (but for `textColumns`),
    /// the rest as text.
    private func table(_ db: SQLiteDatabase, _ name: String, _ columns: [String], _ rows: [[String]]) throws {
        func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        try db.execute("CREATE TABLE \(quoted(name)) (\(columns.map(quoted).joined(separator: ", ")))")
        let insert = try db.prepare("INSERT INTO \(quoted(name)) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))")
        let text = columns.map(Self.textColumns.contains)
        for r in rows {
            for (i, v) in r.enumerated() {
                if text[i] {
                    insert.bind(i + 1, .text(v))
                } else if let n = Int64(v) {
                    insert.bind(i + 1, .integer(n))
                } else if let x = Double(v), x.isFinite, v.first!.isNumber || v.first == "-" {
                    insert.bind(i + 1, .real(x))
                } else {
                    insert.bind(i + 1, .text(v))
                }
            }
            try insert.run()
        }
    }

    /// walk-forward.csv, oos-equity.csv and oos-summary.csv.
    mutating func writeWalkForward(windows: [WalkForwardSpec.Window], choices: [Int: SweepJob], tests: [SweepJob]) throws {
        let grid = spec.grid.map(\.key)
        walkForwardHeader = ["window", "train_from", "train_until", "test_from", "test_until"] + grid
            + ["train_\(metric.name)", "train_run", "test_fingerprint", "test_pnl"] + (metric.name == "pnl" ? [] : ["test_\(metric.name)"])
            + ["test_status", "test_error", "test_run", "oos_equity"]
        var stitchedInput: [(window: Int, data: RunData)] = []
        var rows: [(Int, [String])] = []
        for w in windows {
            var r = [String(w.number), w.trainFrom, w.trainUntil, w.testFrom, w.testUntil]
            guard let chosen = choices[w.number] else {
                let blanks = walkForwardHeader.count - r.count - 4
                rows.append((w.number, r + Array(repeating: "", count: blanks) + ["not run", "no training run completed", ""]))
                continue
            }
            let values = Dictionary(uniqueKeysWithValues: chosen.values)
            r += grid.map { values[$0] ?? "" }
            r += [outcomes[chosen.name]?.statistics[metric.name] ?? "", "runs/" + chosen.name]
            let test = tests.first { $0.window == w.number }!
            let o = outcomes[test.name]
            r += [o?.fingerprint ?? "", o?.statistics["pnl"] ?? ""] + (metric.name == "pnl" ? [] : [o?.statistics[metric.name] ?? ""])
            r += [o?.status ?? "not run", o?.error ?? "", "runs/" + test.name]
            if o?.completed == true {
                do { stitchedInput.append((w.number, try RunData.fromJournal(spec.out + "/runs/" + test.name))) } catch {
                    throw EngineError(.io, "walk-forward window \(w.number): cannot read its test run: \(error.message)")
                }
            }
            rows.append((w.number, r))
        }
        let stitched = StitchedRun(stitchedInput)
        let points = zip(stitched.windows, stitched.data.equity)
        let ends = Dictionary(points.map { ($0.0, $0.1.balance.equity.text) }) { _, last in last }
        walkForwardRows = rows.map { $0.1 + [ends[$0.0] ?? ""] }
        oosEquity = points.map { [String($0.0), String($0.1.time.nanos), $0.1.time.iso8601, $0.1.balance.equity.text] }
        let statistics = RunStatistics(stitched.data)
        oosStatistics = statistics
        var wf = CSVWriter(header: walkForwardHeader)
        for r in walkForwardRows { wf.row(r) }
        try Data(wf.text.utf8).write(to: URL(fileURLWithPath: spec.out + "/walk-forward.csv"))
        var eq = CSVWriter(header: ["window", "time_ns", "time", "equity"])
        for r in oosEquity { eq.row(r) }
        try Data(eq.text.utf8).write(to: URL(fileURLWithPath: spec.out + "/oos-equity.csv"))
        var sm = CSVWriter(header: ["metric", "value"])
        for (k, v) in statistics.rows { sm.row([k, v]) }
        try Data(sm.text.utf8).write(to: URL(fileURLWithPath: spec.out + "/oos-summary.csv"))
    }

    func print(json: Bool, resumed: Int, ran: Int, wall: Double, runSeconds: Double, backend: SweepRunner.Backend) {
        let ranked = self.ranked
        let completed = jobs.count - failed
        let perMinute = runSeconds > 0 ? Double(ran) / runSeconds * 60 : 0
        let (backendName, workers): (String, Int) = switch backend {
        case .local(let w): ("local", w)
        case .ray(_, _, _, let w): ("ray", w)
        }
        let candidates = isWalkForward ? [] : ranked.filter { outcomes[$0.name]?.completed == true }
        if json {
            var o = JSONObject()
            o.add("sweep", spec.out)
            o.add("strategy", spec.strategy)
            o.add("metric", metric.name)
            o.add("backend", backendName)
            o.add("workers", workers)
            o.add("runs", jobs.count)
            o.add("completed", completed)
            o.add("failed", failed)
            o.add("resumed", resumed)
            o.add("ran", ran)
            o.add("wall_seconds", wall)
            o.add("runs_per_minute", perMinute)
            if let best = candidates.first, let b = outcomes[best.name] {
                var p = JSONObject()
                for (k, v) in best.values { p.add(k, v) }
                var bo = JSONObject()
                bo.add("run", spec.out + "/runs/" + best.name)
                bo.add("parameters", raw: p.text)
                bo.add("fingerprint", b.fingerprint)
                bo.add("pnl", b.statistics["pnl"] ?? "")
                bo.add(metric.name, b.statistics[metric.name] ?? "")
                o.add("best", raw: bo.text)
            }
            if let s = oosStatistics {
                var st = JSONObject()
                for (k, v) in s.rows { st.add(k, v) }
                var wf = JSONObject()
                wf.add("windows", walkForwardRows.count)
                wf.add("oos_statistics", raw: st.text)
                o.add("walk_forward", raw: wf.text)
            }
            Output.out(o.text)
            return
        }
        var s = "sweep \(spec.strategy) → \(spec.out)  [\(failed == 0 ? "completed" : "\(failed) failed")]\n"
        s += "  runs         \(jobs.count) (\(ran) run, \(resumed) already completed), \(backendName) with \(workers == 0 ? "the cluster's" : String(workers)) workers\n"
        s += "  wall         \(String(format: "%.2f", wall)) s" + (ran > 0 ? String(format: " (%.1f runs/min)", perMinute) : "") + "\n"
        s += "  ranked by    \(metric.name)\(metric.lowerIsBetter ? " (lower is better)" : "")\n"
        if isWalkForward, let st = oosStatistics {
            s += "  windows      \(walkForwardRows.count): walk-forward.csv; out-of-sample equity: oos-equity.csv\n"
            s += "  out of sample pnl \(st.pnl.text), sharpe \(String(format: "%.3f", st.sharpe)), max drawdown \(String(format: "%.3f", st.maxDrawdown * 100)) %, trades \(st.trades)\n"
        } else {
            let shown = ranked.prefix(10)
            s += "  best first:\n"
            for (i, j) in shown.enumerated() {
                let o = outcomes[j.name]
                let values = j.values.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
                let result = o?.completed == true ? (metric.name == "pnl" ? "" : "\(metric.name) \(o!.statistics[metric.name] ?? "?")  ")
                    + "pnl \(o!.statistics["pnl"] ?? "?")  \(o!.fingerprint.prefix(12))…"
                    : "FAILED: \(o?.error ?? "not run")"
                s += "  \(String(i + 1).padding(toLength: 3, withPad: " ", startingAt: 0)) \(values.isEmpty ? "defaults" : values)   \(result)\n"
            }
            if ranked.count > shown.count { s += "  … \(ranked.count - shown.count) more in results.csv\n" }
        }
        s += "  results      \(spec.out)/results.csv, \(spec.out)/sweep.sqlite"
        Output.out(s)
    }
}
