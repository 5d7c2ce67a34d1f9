import Foundation

/// `retrace bench --compare BASELINE`: each figure's ratio to the baseline, with a noise
/// band per kind of figure. The bands come from repeated runs on the 2-vCPU VM the baseline
/// was measured on (Benchmarks/README.md): end-to-end and codec rates spread about ±5–8 %
/// across processes, so a rate is flagged beyond 20 %; latency tails (p99, p99.9, max) and
/// fsync figures follow the disk and spread ±30 %, flagged beyond 40 %; the rings swing
/// 6× when the two threads land on one core, flagged beyond 75 %. Counts (fills, cores,
/// allocations) must not change at all beyond 1 %: they are behaviour, not speed. An
/// allocation rate per event is about zero, where a ratio means nothing (a few hundred
/// allocations over 10 M events, 3e-5 one run and 6e-5 the next): it is flagged when it
/// rises by more than one allocation per 10,000 events.
struct BenchComparison {
    struct Row { let name: String; let unit: String; let baseline: Double; let current: Double }
    var rows: [Row] = []
    var missing: [String] = []
    /// What differs between the two results besides the code (printed before the table).
    var notes: [String] = []
    let toStderr: Bool

    /// Where a result was measured: the CPU model and the mode (nil when the file does not
    /// say, as in results written before the mode was recorded).
    struct Context {
        var cpu: String?
        var mode: String?
    }

    init(baseline: [BenchCommand.Figure], current: [BenchCommand.Figure], baselineContext: Context = Context(), currentContext: Context = Context(),
         toStderr: Bool = false) {
        self.toStderr = toStderr
        // A baseline may name the model shortly ("AMD EPYC" for "AMD EPYC 9R45 …"): the
        // same model when one name begins with the other.
        if let a = baselineContext.cpu, let b = currentContext.cpu, !a.hasPrefix(b), !b.hasPrefix(a) {
            notes.append("note: the baseline was measured on \(a), these figures on \(b): the ratios compare the machines as well as the code")
        }
        if let a = baselineContext.mode, let b = currentContext.mode, a != b {
            notes.append("note: the baseline ran --mode \(a), these figures --mode \(b): the workloads differ in size, so counts such as fills show CHANGED")
        }
        let base = Dictionary(baseline.map { ($0.name, $0) }) { a, _ in a }
        for f in current {
            if let b = base[f.name] { rows.append(Row(name: f.name, unit: f.unit, baseline: b.value, current: f.value)) }
        }
        let names = Set(current.map(\.name))
        missing = baseline.map(\.name).filter { !names.contains($0) }
    }

    /// A `retrace bench --json` file's figures, and the machine and mode it names.
    static func load(_ path: String) throws -> (figures: [BenchCommand.Figure], context: Context) {
        guard let data = FileManager.default.contents(atPath: path),
              let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], let list = o["figures"] as? [[String: Any]] else {
            throw UsageError("\(path): not a 'retrace bench --json' result (an object with a figures list)")
        }
        let figures = list.compactMap { f -> BenchCommand.Figure? in
            guard let name = f["name"] as? String, let value = (f["value"] as? NSNumber)?.doubleValue else { return nil }
            return BenchCommand.Figure(name: name, value: value, unit: f["unit"] as? String ?? "")
        }
        return (figures, Context(cpu: (o["machine"] as? [String: Any])?["cpu"] as? String, mode: o["mode"] as? String))
    }

    enum Direction { case higher, lower, exact }

    static func direction(_ name: String, _ unit: String) -> Direction {
        let u = unit.lowercased()
        if u.hasSuffix("/s") || u.hasSuffix("/min") || name.contains("per_second") || name.contains("per_minute") { return .higher }
        if ["ns", "us", "µs", "micros", "s", "ms"].contains(u) || name.contains("micros") || name.contains("nanos") || name.hasSuffix("_seconds") { return .lower }
        if u == "ratio" { return name.contains("ratio_to_floor") ? .lower : .higher }
        return .exact
    }

    /// Allocations per event an allocation rate may rise by before it is flagged.
    static let allocationSlack = 1e-4

    static func band(_ name: String, _ direction: Direction) -> Double {
        if direction == .exact { return 0.01 }
        if name.contains(".ring.") { return 0.75 }
        if direction == .lower || name.contains("fsync") || name.contains("p99") || name.contains("p999") || name.contains(".max") { return 0.40 }
        return 0.20
    }

    /// Prints the table; 1 when a figure regressed beyond its band, else 0.
    func print() -> Int32 {
        var out = notes.map { $0 + "\n" }.joined()
        out += "figure".padding(toLength: 56, withPad: " ", startingAt: 0) + "      baseline        current   ratio  band  verdict\n"
        var regressions = 0
        for r in rows {
            let ratio = r.baseline == 0 ? (r.current == 0 ? 1 : .infinity) : r.current / r.baseline
            let (worse, better, exact, bandText): (Bool, Bool, Bool, String)
            if r.name.hasSuffix("mallocs_per_event") {
                (worse, better) = (r.current > r.baseline + Self.allocationSlack, r.current < r.baseline - Self.allocationSlack)
                (exact, bandText) = (false, " abs")
            } else {
                let d = Self.direction(r.name, r.unit)
                let band = Self.band(r.name, d)
                worse = d == .higher ? ratio < 1 - band : d == .lower ? ratio > 1 + band : abs(ratio - 1) > band
                better = d == .higher ? ratio > 1 + band : d == .lower ? ratio < 1 - band : false
                (exact, bandText) = (d == .exact, String(format: "±%2.0f%%", band * 100))
            }
            if worse { regressions += 1 }
            out += r.name.padding(toLength: 56, withPad: " ", startingAt: 0)
                + String(format: " %14.1f %14.1f %6.2f× ", r.baseline, r.current, ratio) + bandText + "  "
                + (worse ? (exact ? "CHANGED" : "REGRESSION") : better ? "better" : "within noise") + "\n"
        }
        if !missing.isEmpty { out += "not measured this time: \(missing.count) baseline figures (run every group to compare them all)\n" }
        out += regressions == 0 ? "no regressions beyond the noise bands" : "\(regressions) figure(s) regressed beyond their noise band"
        if toStderr { Output.err(out) } else { Output.out(out) }
        return regressions == 0 ? 0 : 1
    }
}
