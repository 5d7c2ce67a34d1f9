import Foundation
import RetraceCore
import RetraceEngine
import RetraceFeeds
import RetraceJournal
import RetraceStrategies

/// The load-test modes of `retrace bench` beyond a plain figure run:
///
/// - `sustained --minutes N`: the market maker over depth (W4's workload, every event acting:
///   the highest output rate, so the journal, the store writer and the ledger all work) run
///   back to back in one process for N minutes. The resident set is sampled after every run;
///   its growth per minute after the warm-up (a least-squares slope) is the leak figure, and
///   the rate of the last third of the runs against the first third shows a slowdown.
/// - `stress`: the same workload doubled step by step (1 M, 2 M, 4 M … events) until a bound
///   is hit: a step slower than `--step-seconds`, a peak resident set over `--max-rss-mib`,
///   the store lagging the core by more than half the run, too little free disk for the
///   next step, or `--max-events`. It reports the highest rate reached and what stopped it.
enum BenchModes {
    typealias Figure = BenchCommand.Figure

    /// W4's market maker (post-only at the touch, ±0.1 position, 1 ms latencies, power-3 queue).
    static var workload: PeerWorkloads.Workload { PeerWorkloads.workloads.first { $0.name == "W4" }! }

    /// Resident set now, in MiB (from /proc/self/statm; 0 where unreadable).
    static func residentMiB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }

    /// The process's peak resident set so far, in MiB.
    static func peakMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// Free bytes on the file system holding `path`.
    static func freeBytes(_ path: String) -> Double {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return .infinity }
        return Double(s.f_bavail) * Double(s.f_frsize)
    }

    /// A depth data run of `count` generated events at `path` (not timed).
    static func depthData(_ path: String, count: Int) throws -> String {
        try BenchCommand.peerDataRun(path, count: count, depth: true)
    }

    /// One timed market-maker backtest over `data`: (events/s, events, store lag in seconds).
    static func backtest(_ data: String, _ out: String) throws -> (rate: Double, events: UInt64, seconds: Double, drain: Double) {
        let w = workload
        let started = ReplayInput.monotonicNanos()
        let manifest = try PeerWorkloads.runWorkload(QueueMaker.self, data: data, out: out, parameters: w.parameters)
        let seconds = Double(ReplayInput.monotonicNanos() - started) / 1e9
        try FileManager.default.removeItem(atPath: out)
        return (Double(manifest.events) / seconds, manifest.events, seconds, manifest.store?.drainSeconds ?? 0)
    }

    /// Least-squares slope of y over x (nil with fewer than three points).
    static func slope(_ points: [(x: Double, y: Double)]) -> Double? {
        guard points.count >= 3 else { return nil }
        let n = Double(points.count)
        let mx = points.map(\.x).reduce(0, +) / n, my = points.map(\.y).reduce(0, +) / n
        let sxx = points.map { ($0.x - mx) * ($0.x - mx) }.reduce(0, +)
        guard sxx > 0 else { return nil }
        return points.map { ($0.x - mx) * ($0.y - my) }.reduce(0, +) / sxx
    }

    /// Growth beyond this many MiB per minute after the warm-up is reported as a leak.
    static let leakMiBPerMinute = 2.0

    /// The resident set's growth (MiB per minute) over samples (minutes, MiB) after the
    /// warm-up (allocator pools, page cache, the first runs' growth: the first fifth of the
    /// samples, at least the first two); `enough` is false with fewer than three left or
    /// when they span under a minute (seconds of warm-up extrapolated per minute would read
    /// as a leak).
    static func residentGrowth(_ samples: [(x: Double, y: Double)]) -> (slope: Double, leaking: Bool, enough: Bool) {
        let warm = Array(samples.dropFirst(max(2, samples.count / 5)))
        guard let first = warm.first, let last = warm.last, last.x - first.x >= 1, let growth = slope(warm) else { return (0, false, false) }
        return (growth, growth > leakMiBPerMinute, true)
    }

    struct SustainedResult {
        var figures: [Figure]
        var leaking: Bool
        var report: String
    }

    static func sustained(minutes: Double, events: Int, scratch: String, verbose: Bool) throws -> SustainedResult {
        let data = try depthData(scratch + "/sustained-data", count: events)
        defer { try? FileManager.default.removeItem(atPath: data) }
        let start = ReplayInput.monotonicNanos()
        let deadline = start + Int64(minutes * 60e9)
        var rates: [Double] = []
        var samples: [(x: Double, y: Double)] = [(0, residentMiB())]
        repeat {
            let r = try backtest(data, scratch + "/sustained-run")
            rates.append(r.rate)
            let t = Double(ReplayInput.monotonicNanos() - start) / 60e9
            samples.append((t, residentMiB()))
            if verbose { Output.err(String(format: "  run %d at %.2f min: %.0f events/s, resident %.1f MiB", rates.count, t, r.rate, samples.last!.y)) }
        } while ReplayInput.monotonicNanos() < deadline
        let (growth, leaking, enough) = residentGrowth(samples)
        let third = max(1, rates.count / 3)
        let early = BenchCommand.median(Array(rates.prefix(third))), late = BenchCommand.median(Array(rates.suffix(third)))
        let verdict = !enough
            ? "too few runs or under a minute after the warm-up for a slope (give more --minutes)"
            : (leaking ? "GROWING: resident set rises \(String(format: "%.2f", growth)) MiB/min after the warm-up (limit \(leakMiBPerMinute))"
                       : "steady: \(String(format: "%+.2f", growth)) MiB/min after the warm-up (limit \(leakMiBPerMinute))")
        let report = String(format: "sustained: %d runs of %d events in %.1f min; median %.0f events/s (first third %.0f, last third %.0f); resident %.1f → %.1f MiB, peak %.1f MiB; ",
                            rates.count, events + 1, samples.last!.x, BenchCommand.median(rates), early, late, samples.first!.y, samples.last!.y, peakMiB()) + verdict
        return SustainedResult(figures: [
            Figure(name: "sustained.runs", value: Double(rates.count), unit: "runs"),
            Figure(name: "sustained.events_per_second", value: BenchCommand.median(rates), unit: "events/s"),
            Figure(name: "sustained.last_third_over_first_third", value: late / early, unit: "ratio"),
            Figure(name: "sustained.rss_slope_mib_per_minute", value: growth, unit: "MiB/min"),
            Figure(name: "sustained.rss_end_mib", value: samples.last!.y, unit: "MiB"),
            Figure(name: "sustained.peak_rss_mib", value: peakMiB(), unit: "MiB"),
        ], leaking: leaking, report: report)
    }

    struct StressLimits {
        var stepSeconds = 60.0
        var maxRSSMiB = 8192.0
        var maxEvents = 32_000_000
        var startEvents = 1_000_000
    }

    static func stress(_ limits: StressLimits, scratch: String, verbose: Bool) throws -> (figures: [Figure], report: String) {
        var n = limits.startEvents
        var best = 0.0, bestEvents = 0
        var bound = ""
        var lines: [String] = []
        var bytesPerEvent = 200.0  // data run + the run's journal and store, refined after each step
        while bound.isEmpty {
            let needed = bytesPerEvent * Double(n) * 1.5
            if freeBytes(scratch) < needed {
                bound = String(format: "disk: %.1f GiB free, the %d-event step needs about %.1f GiB", freeBytes(scratch) / 1_073_741_824, n, needed / 1_073_741_824)
                break
            }
            let before = freeBytes(scratch)
            let data = try depthData(scratch + "/stress-data", count: n)
            let used = max(0, before - freeBytes(scratch))
            if used > 0 { bytesPerEvent = max(bytesPerEvent, 2.5 * used / Double(n)) }
            let r = try backtest(data, scratch + "/stress-run")
            try? FileManager.default.removeItem(atPath: data)
            let peak = peakMiB()
            let line = String(format: "  %11d events: %10.0f events/s in %6.2f s, store lag %.2f s, peak resident %.0f MiB", n + 1, r.rate, r.seconds, r.drain, peak)
            lines.append(line)
            if verbose { Output.err(line) }
            if r.rate > best { (best, bestEvents) = (r.rate, n + 1) }
            if r.seconds > limits.stepSeconds {
                bound = String(format: "time: the step took %.1f s (limit %.0f s)", r.seconds, limits.stepSeconds)
            } else if peak > limits.maxRSSMiB {
                bound = String(format: "memory: peak resident %.0f MiB (limit %.0f MiB)", peak, limits.maxRSSMiB)
            } else if r.drain > 0.5 * r.seconds {
                bound = String(format: "store lag: the store finished %.1f s after the core (over half the run)", r.drain)
            } else if n * 2 > limits.maxEvents {
                bound = "events: the next step would pass --max-events \(limits.maxEvents)"
            }
            if bound.isEmpty { n *= 2 }
        }
        let report = "stress: market maker on every depth event, doubled until a bound\n" + lines.joined(separator: "\n")
            + String(format: "\nhighest: %.0f events/s (at %d events); stopped by ", best, bestEvents) + bound
        return ([Figure(name: "stress.max_events_per_second", value: best, unit: "events/s"),
                 Figure(name: "stress.events_at_max", value: Double(bestEvents), unit: "events"),
                 Figure(name: "stress.events_at_bound", value: Double(n + 1), unit: "events"),
                 Figure(name: "stress.peak_rss_mib", value: peakMiB(), unit: "MiB")], report)
    }
}
