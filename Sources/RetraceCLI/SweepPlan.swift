import Foundation
import RetraceCore
import RetraceEngine
import RetraceJournal
import RetraceReports
import RetraceStrategies

/// The statistic a sweep ranks its runs by (a name of `RunStatistics.rows`). Higher is
/// better, except for drawdowns, fees and turnover.
struct SweepMetric: Equatable {
    let name: String
    let lowerIsBetter: Bool

    static let names = RunStatistics(startingCash: .zero, trades: [], equity: []).rows.map(\.0)
    static let lowerIsBetterNames: Set<String> = ["max_drawdown_pct", "max_drawdown_duration_seconds", "fees", "turnover", "traded_value"]

    /// `sharpe`, `pnl`, `max_drawdown` (for `max_drawdown_pct`), … : a statistic's name, with
    /// its `_pct` or `_seconds` suffix optional.
    init(parsing text: String) throws(UsageError) {
        guard let n = [text, text + "_pct", text + "_seconds"].first(where: Self.names.contains) else {
            throw UsageError("--metric must be a statistic: \(Self.names.joined(separator: ", ")) (the _pct/_seconds suffix may be left out)")
        }
        name = n
        lowerIsBetter = Self.lowerIsBetterNames.contains(n)
    }

    /// The metric in a run's statistics (nil when absent).
    func value(_ statistics: [String: String]) -> Double? {
        guard let t = statistics[name] else { return nil }
        switch t {
        case "inf": return .infinity
        case "-inf": return -.infinity
        default: return Double(t).flatMap { $0.isNaN ? nil : $0 }
        }
    }

    /// True when a run with value `a` ranks before one with `b`.
    func better(_ a: Double, than b: Double) -> Bool { lowerIsBetter ? a < b : a > b }
}

/// One backtest of a sweep.
struct SweepJob {
    enum Phase: String { case grid, train, test }
    /// Position in the job list (equal metrics rank by it: grid order).
    let index: Int
    /// This combination's grid values, in `--grid` order.
    let values: [(String, String)]
    let phase: Phase
    /// Walk-forward window number (1-based; nil in a plain sweep).
    let window: Int?
    let from: String?
    let until: String?
    /// Identity of the job: everything that decides its result (see `SweepSpec.hash`).
    let hash: String
    /// Folder name under `SWEEP/runs/` (also names its record and logs).
    let name: String
    /// Arguments of the `retrace` process that runs it.
    let arguments: [String]
}

/// What a sweep runs: the data, the strategy, the grid, the fixed parameters and settings.
struct SweepSpec {
    /// Absolute paths (jobs may run in another directory or on another machine).
    var data: String
    var out: String
    var strategy: String
    var grid: [(key: String, values: [String])]
    var params: [(String, String)]
    var seed: String?
    var config: String?
    var sets: [String] = []
    var from: String?
    var until: String?
    /// What identifies the data: a data run's id and size, or a CSV file's SHA-256.
    var dataIdentity: String
    /// Identifies the config file's content (empty without one).
    var configIdentity = ""

    /// Every combination of the grid, the last `--grid` varying fastest.
    func combinations() -> [[(String, String)]] {
        var out: [[(String, String)]] = [[]]
        for (key, values) in grid {
            out = out.flatMap { prefix in values.map { prefix + [(key, $0)] } }
        }
        return out
    }

    /// The job for one combination over `[from, until]`.
    func job(index: Int, values: [(String, String)], phase: SweepJob.Phase = .grid, window: Int? = nil, from: String?, until: String?) -> SweepJob {
        let parameters = (params + values).sorted { $0.0 < $1.0 }
        var identity = "retrace-sweep-job 1\ncode \(retraceVersion)\ndata \(dataIdentity)\nstrategy \(strategy)\n"
        for (k, v) in parameters { identity += "param \(k)=\(v)\n" }
        identity += "seed \(seed ?? "")\nconfig \(configIdentity)\n"
        for s in sets { identity += "set \(s)\n" }
        identity += "from \(from ?? "")\nuntil \(until ?? "")\n"
        var sha = SHA256()
        sha.update(Array(identity.utf8))
        let hash = SHA256.hex(sha.finalize())
        let readable = values.isEmpty ? "default" : values.map { "\($0.0)=\($0.1)" }.joined(separator: "_")
        let prefix = window.map { String(format: "w%03d-%@-", $0, phase.rawValue) } ?? ""
        let name = prefix + Self.folderSafe(readable) + "-" + hash.prefix(10)
        var arguments = ["backtest", "--data", data, "--strategy", strategy]
        for (k, v) in params + values { arguments += ["--param", "\(k)=\(v)"] }
        if let seed { arguments += ["--seed", seed] }
        if let config { arguments += ["--config", config] }
        for s in sets { arguments += ["--set", s] }
        if let from { arguments += ["--from", from] }
        if let until { arguments += ["--until", until] }
        arguments += ["--out", out + "/runs/" + name, "--force", "--json", "--stats", "--quiet"]
        return SweepJob(index: index, values: values, phase: phase, window: window, from: from, until: until, hash: hash, name: name, arguments: arguments)
    }

    /// Letters, digits and `.=_-` kept, anything else `_`; at most 80 characters.
    static func folderSafe(_ s: String) -> String {
        let kept = s.unicodeScalars.map { c -> Character in
            (c.isASCII && (CharacterSet.alphanumerics.contains(c) || ".=_-".unicodeScalars.contains(c))) ? Character(c) : "_"
        }
        return String(kept.prefix(80))
    }

    /// What identifies `--data`: a run folder's id, event count and end time, or a file's
    /// SHA-256.
    static func identity(ofData path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw EngineError(.badInput, "--data \(path): no such run folder or file")
        }
        if isDirectory.boolValue {
            let m = try RunFolder.readManifest(path)
            guard m.status == "completed" else { throw EngineError(.badInput, "--data \(path): the run is \(m.status), not completed") }
            return "run \(m.runID) events \(m.events) ended \(m.endedAt)"
        }
        return "file sha256 " + (try fileDigest(path))
    }

    /// SHA-256 of a file's bytes, as hex.
    static func fileDigest(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw EngineError(.badInput, "\(path): cannot read the file") }
        var sha = SHA256()
        data.withUnsafeBytes { sha.update($0) }
        return SHA256.hex(sha.finalize())
    }
}

/// How one job ended, from its process's exit status, stdout (the JSON summary with
/// statistics) and stderr.
struct JobOutcome {
    var status: String
    var error = ""
    var wallSeconds: Double
    var fingerprint = ""
    var statistics: [String: String] = [:]
    /// Where it ran (Ray: the node), for the record only.
    var node = ""

    var completed: Bool { status == "completed" }

    /// Reads a finished `retrace backtest --json --stats` process.
    init(exitStatus: Int32, signal: Int32 = 0, stdout: String, stderr: String, wallSeconds: Double) {
        self.wallSeconds = wallSeconds
        let lastError = stderr.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .last { !$0.isEmpty && !$0.hasPrefix("usage:") && $0.contains("error") }
            ?? stderr.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        guard signal == 0 else {
            status = "failed"
            error = "killed by signal \(signal)" + (lastError.isEmpty ? "" : ": \(lastError)")
            return
        }
        guard exitStatus == 0 else {
            status = "failed"
            error = lastError.isEmpty ? "exit status \(exitStatus)" : lastError
            return
        }
        guard let line = stdout.split(whereSeparator: \.isNewline).last,
              let o = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
              let fingerprint = o["fingerprint"] as? String, let stats = o["statistics"] as? [String: String] else {
            status = "failed"
            error = "the backtest printed no summary with statistics: \(stdout.prefix(200))"
            return
        }
        status = (o["status"] as? String) ?? "completed"
        self.fingerprint = fingerprint
        statistics = stats
        if status != "completed" { error = "run ended \(status)" }
    }

    init(status: String, error: String, wallSeconds: Double, fingerprint: String, statistics: [String: String], node: String) {
        (self.status, self.error, self.wallSeconds, self.fingerprint, self.statistics, self.node) = (status, error, wallSeconds, fingerprint, statistics, node)
    }
}

/// `SWEEP/jobs/NAME.json`: a finished job's outcome, keyed by its hash. A re-run of the
/// sweep skips a job whose record says completed with the same hash and whose run folder's
/// manifest says completed with the same fingerprint.
enum JobRecord {
    static func path(_ sweep: String, _ job: SweepJob) -> String { sweep + "/jobs/" + job.name + ".json" }

    static func write(_ sweep: String, _ job: SweepJob, _ o: JobOutcome) throws {
        let object: [String: Any] = ["hash": job.hash, "name": job.name, "status": o.status, "error": o.error, "wall_seconds": o.wallSeconds,
                                     "fingerprint": o.fingerprint, "statistics": o.statistics, "node": o.node]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
        let path = path(sweep, job)
        try data.write(to: URL(fileURLWithPath: path + ".tmp"))
        guard rename(path + ".tmp", path) == 0 else { throw EngineError(.io, "\(path): cannot rename the record into place: \(String(cString: strerror(errno)))") }
    }

    /// The outcome of a job completed earlier, or nil when it must run.
    static func completed(_ sweep: String, _ job: SweepJob) -> JobOutcome? {
        guard let data = FileManager.default.contents(atPath: path(sweep, job)),
              let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              o["hash"] as? String == job.hash, o["status"] as? String == "completed",
              let fingerprint = o["fingerprint"] as? String, let stats = o["statistics"] as? [String: String],
              let manifest = try? RunFolder.readManifest(sweep + "/runs/" + job.name),
              manifest.status == "completed", manifest.fingerprint == fingerprint else { return nil }
        return JobOutcome(status: "completed", error: "", wallSeconds: o["wall_seconds"] as? Double ?? 0, fingerprint: fingerprint, statistics: stats,
                          node: o["node"] as? String ?? "")
    }
}

/// Orders finished jobs best first: completed runs by the metric (equal values, or runs
/// without the metric, in job order), then failed runs in job order.
func rankJobs(_ jobs: [SweepJob], _ outcomes: [String: JobOutcome], by metric: SweepMetric) -> [SweepJob] {
    func key(_ j: SweepJob) -> Double? { outcomes[j.name].flatMap { $0.completed ? metric.value($0.statistics) : nil } }
    return jobs.sorted { a, b in
        let ca = outcomes[a.name]?.completed ?? false, cb = outcomes[b.name]?.completed ?? false
        if ca != cb { return ca }
        switch (key(a), key(b)) {
        case let (x?, y?) where x != y: return metric.better(x, than: y)
        case (.some, nil): return true
        case (nil, .some): return false
        default: return a.index < b.index
        }
    }
}
