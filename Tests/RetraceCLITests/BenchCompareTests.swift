import Foundation
import Testing

/// `retrace bench --compare BASELINE --results FILE`: ratios, noise bands by kind of
/// figure, and the exit status a CI job can use.
@Suite("Bench comparison")
struct BenchCompareTests {
    static func write(_ path: String, _ figures: [(String, Double, String)]) throws {
        let list = figures.map { "{\"name\":\"\($0.0)\",\"value\":\($0.1),\"unit\":\"\($0.2)\"}" }.joined(separator: ",")
        try Data("{\"machine\":{},\"figures\":[\(list)]}".utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test("a baseline from another CPU or another mode is named before the table; the same CPU (named shortly or in full) and mode print no note")
    func context() throws {
        let dir = scratch("bench-compare-context")
        defer { removeScratch(dir) }
        func write(_ name: String, cpu: String, mode: String) throws {
            let figure = "{\"name\":\"engine.backtest.ema_cross.fills\",\"value\":46274,\"unit\":\"fills\"}"
            try Data("{\"machine\":{\"cpu\":\"\(cpu)\"},\"mode\":\"\(mode)\",\"figures\":[\(figure)]}".utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        try write("base.json", cpu: "AMD EPYC", mode: "full")
        try write("other.json", cpu: "Intel Xeon", mode: "quick")
        try write("same.json", cpu: "AMD EPYC 9R45 Processor", mode: "full")  // the baseline names the model shortly
        let other = try retrace(["bench", "--compare", dir + "/base.json", "--results", dir + "/other.json"])
        #expect(other.status == 0, "\(other.stdout)")
        #expect(other.stdout.contains("the baseline was measured on AMD EPYC, these figures on Intel Xeon"), "\(other.stdout)")
        #expect(other.stdout.contains("the baseline ran --mode full, these figures --mode quick"), "\(other.stdout)")
        let same = try retrace(["bench", "--compare", dir + "/base.json", "--results", dir + "/same.json"])
        #expect(same.status == 0 && !same.stdout.contains("note:"), "\(same.stdout)")
    }

    @Test("a rate down 10 % is noise, down 30 % a regression; a p99 up 30 % is noise; a fill count that changes is flagged; an allocation rate near zero moves by an absolute slack; exit 1 on any")
    func bands() throws {
        let dir = scratch("bench-compare")
        defer { removeScratch(dir) }
        try Self.write(dir + "/base.json", [("engine.backtest.ema_cross.events_per_second", 1_000_000, "events/s"), ("journal.commit.fsync.p99_micros", 150, "µs"),
                                            ("engine.backtest.ema_cross.fills", 46274, "fills"), ("codec.decode.events_per_second", 40e6, "events/s")])
        try Self.write(dir + "/ok.json", [("engine.backtest.ema_cross.events_per_second", 900_000, "events/s"), ("journal.commit.fsync.p99_micros", 195, "µs"),
                                          ("engine.backtest.ema_cross.fills", 46274, "fills"), ("codec.decode.events_per_second", 60e6, "events/s")])
        let ok = try retrace(["bench", "--compare", dir + "/base.json", "--results", dir + "/ok.json"])
        #expect(ok.status == 0, "\(ok.stdout)")
        #expect(ok.stdout.contains("codec.decode.events_per_second") && ok.stdout.contains("better"))
        #expect(ok.stdout.contains("no regressions"))
        try Self.write(dir + "/bad.json", [("engine.backtest.ema_cross.events_per_second", 700_000, "events/s"), ("journal.commit.fsync.p99_micros", 150, "µs"),
                                           ("engine.backtest.ema_cross.fills", 45000, "fills")])
        let bad = try retrace(["bench", "--compare", dir + "/base.json", "--results", dir + "/bad.json"])
        #expect(bad.status == 1)
        let lines = bad.stdout.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("engine.backtest.ema_cross.events_per_second") && $0.hasSuffix("REGRESSION") }, "\(bad.stdout)")
        #expect(lines.contains { $0.hasPrefix("engine.backtest.ema_cross.fills") && $0.hasSuffix("CHANGED") })
        #expect(bad.stdout.contains("not measured this time: 1 baseline figures"))
        // An allocation rate near zero: 3e-5 → 6e-5 per event is the same behaviour; 0.01 is not.
        try Self.write(dir + "/alloc-base.json", [("engine.hotpath.mallocs_per_event", 3e-5, "allocations/event")])
        try Self.write(dir + "/alloc-same.json", [("engine.hotpath.mallocs_per_event", 6e-5, "allocations/event")])
        try Self.write(dir + "/alloc-worse.json", [("engine.hotpath.mallocs_per_event", 0.01, "allocations/event")])
        let same = try retrace(["bench", "--compare", dir + "/alloc-base.json", "--results", dir + "/alloc-same.json"])
        #expect(same.status == 0 && same.stdout.contains("within noise"), "\(same.stdout)")
        let worse = try retrace(["bench", "--compare", dir + "/alloc-base.json", "--results", dir + "/alloc-worse.json"])
        #expect(worse.status == 1 && worse.stdout.contains("REGRESSION"), "\(worse.stdout)")
        let missing = try retrace(["bench", "--compare", dir + "/nothing.json"])
        #expect(missing.status == 2 && missing.stderr.contains("nothing.json"))
    }
}
