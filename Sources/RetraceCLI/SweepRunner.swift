import Foundation
import Glibc
import RetraceEngine

/// Runs a sweep's jobs, each as its own `retrace backtest` process: locally, up to
/// `workers` at a time, or as Ray tasks through `Scripts/ray_sweep.py`. Both read a job's
/// outcome the same way (`JobOutcome`), so results are identical whichever ran them.
struct SweepRunner {
    /// Environment variable naming the sweep's pid in its backtest processes: they ask the
    /// kernel to kill them when the sweep dies (`retrace_die_with_parent`).
    static let parentVariable = "RETRACE_SWEEP_PARENT"

    enum Backend {
        case local(workers: Int)
        /// A Ray cluster's address, the Python that has Ray, and the driver script.
        case ray(address: String, python: String, script: String, workers: Int)
    }

    let backend: Backend
    /// The `retrace` binary the jobs run (this one).
    let binary: String
    /// `SWEEP/logs`: each job's stdout and stderr.
    let logs: String

    /// Runs `jobs`, calling `done` as each finishes (in completion order).
    func run(_ jobs: [SweepJob], done: (SweepJob, JobOutcome) throws -> Void) throws {
        guard !jobs.isEmpty else { return }
        switch backend {
        case .local(let workers): try runLocally(jobs, workers: workers, done: done)
        case .ray(let address, let python, let script, let workers): try runOnRay(jobs, address: address, python: python, script: script, workers: workers, done: done)
        }
    }

    private func runLocally(_ jobs: [SweepJob], workers: Int, done: (SweepJob, JobOutcome) throws -> Void) throws {
        var running: [pid_t: (job: SweepJob, started: Int64)] = [:]
        var next = 0
        let environment = ProcessInfo.processInfo.environment.merging([Self.parentVariable: String(getpid())]) { $1 }
        while next < jobs.count || !running.isEmpty {
            while running.count < max(workers, 1) && next < jobs.count {
                let job = jobs[next]
                let pid = try Self.spawn(binary, job.arguments, environment: environment, stdout: .file(logs + "/" + job.name + ".out"),
                                         stderr: logs + "/" + job.name + ".err")
                running[pid] = (job, ReplayInput.monotonicNanos())
                next += 1
            }
            var status: Int32 = 0
            let pid = waitpid(-1, &status, 0)
            if pid < 0 {
                if errno == EINTR { continue }
                throw EngineError(.io, "sweep: waiting for a backtest process failed: \(String(cString: strerror(errno)))")
            }
            guard let (job, started) = running.removeValue(forKey: pid) else { continue }
            let wall = Double(ReplayInput.monotonicNanos() - started) / 1e9
            let (code, signal) = Self.decode(status)
            let out = (try? String(contentsOfFile: logs + "/" + job.name + ".out", encoding: .utf8)) ?? ""
            let err = (try? String(contentsOfFile: logs + "/" + job.name + ".err", encoding: .utf8)) ?? ""
            try done(job, JobOutcome(exitStatus: code, signal: signal, stdout: out, stderr: err, wallSeconds: wall))
        }
    }

    /// Starts the Ray driver with the job list and reads one JSON line per finished task.
    private func runOnRay(_ jobs: [SweepJob], address: String, python: String, script: String, workers: Int,
                         done: (SweepJob, JobOutcome) throws -> Void) throws {
        let list: [[String: Any]] = jobs.map { ["id": $0.name, "argv": $0.arguments] }
        let jobsFile = logs + "/ray-jobs.json"
        let object: [String: Any] = ["binary": binary, "jobs": list]
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted]).write(to: URL(fileURLWithPath: jobsFile))
        var arguments = [script, "--address", address, "--jobs", jobsFile]
        if workers > 0 { arguments += ["--max-in-flight", String(workers)] }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw EngineError(.io, "sweep: pipe failed: \(String(cString: strerror(errno)))") }
        let driverLog = logs + "/ray-driver.err"
        let environment = ProcessInfo.processInfo.environment.merging(["PYTHONUNBUFFERED": "1"]) { $1 }
        let pid: pid_t
        do { pid = try Self.spawn(python, arguments, environment: environment, stdout: .pipe(write: fds[1], read: fds[0]), stderr: driverLog) } catch {
            close(fds[0]); close(fds[1])
            throw error
        }
        close(fds[1])
        guard let stream = fdopen(fds[0], "r") else { throw EngineError(.io, "sweep: cannot read the Ray driver's output") }
        defer { fclose(stream) }
        let byName = Dictionary(uniqueKeysWithValues: jobs.map { ($0.name, $0) })
        var finished = Set<String>()
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, stream) > 0 {
            let text = String(cString: line!)
            guard let o = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any], let id = o["id"] as? String, let job = byName[id] else { continue }
            let exit = (o["exit"] as? Int) ?? -1
            var outcome = JobOutcome(exitStatus: exit >= 0 ? Int32(exit) : 1, signal: exit < 0 && exit > -64 ? Int32(-exit) : 0,
                                     stdout: o["stdout"] as? String ?? "", stderr: o["stderr"] as? String ?? "", wallSeconds: o["wall_seconds"] as? Double ?? 0)
            outcome.node = o["node"] as? String ?? ""
            try? (o["stdout"] as? String ?? "").write(toFile: logs + "/" + id + ".out", atomically: false, encoding: .utf8)
            try? (o["stderr"] as? String ?? "").write(toFile: logs + "/" + id + ".err", atomically: false, encoding: .utf8)
            finished.insert(id)
            try done(job, outcome)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let (code, signal) = Self.decode(status)
        if finished.count < jobs.count || code != 0 || signal != 0 {
            let tail = ((try? String(contentsOfFile: driverLog, encoding: .utf8)) ?? "").split(whereSeparator: \.isNewline).suffix(6).joined(separator: "\n    ")
            throw EngineError(.io, "sweep: the Ray driver (\(python) \(script)) ended with status \(signal != 0 ? "signal \(signal)" : String(code)) after \(finished.count) of \(jobs.count) jobs; its log \(driverLog) ends:\n    \(tail)\n  the finished jobs are recorded: run the sweep again to resume")
        }
    }

    /// Where a spawned process's stdout goes.
    enum Stdout {
        case file(String)
        case pipe(write: Int32, read: Int32)
    }

    /// posix_spawn of `path` with `arguments`; stdin from /dev/null.
    static func spawn(_ path: String, _ arguments: [String], environment: [String: String], stdout: Stdout, stderr: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        switch stdout {
        case .file(let p): posix_spawn_file_actions_addopen(&actions, 1, p, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        case .pipe(let w, let r):
            posix_spawn_file_actions_adddup2(&actions, w, 1)
            posix_spawn_file_actions_addclose(&actions, w)
            posix_spawn_file_actions_addclose(&actions, r)
        }
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid = pid_t()
        let rc = posix_spawnp(&pid, path, &actions, nil, argv, envp)
        guard rc == 0 else { throw EngineError(.io, "sweep: cannot start \(path): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// (exit code, signal) of a `waitpid` status.
    static func decode(_ status: Int32) -> (Int32, Int32) {
        let signal = status & 0x7f
        return signal == 0 ? ((status >> 8) & 0xff, 0) : (0, signal)
    }

    /// This process's executable.
    static func currentBinary() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return n > 0 ? String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
    }
}
