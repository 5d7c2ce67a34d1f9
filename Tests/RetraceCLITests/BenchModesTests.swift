import Foundation
import Testing
@testable import RetraceCLI

/// `retrace bench --mode sustained|stress`: the load-test modes run end to end on a small
/// workload, report their figures, and the leak verdict reads a slope correctly.
@Suite("Bench modes")
struct BenchModesTests {
    static func figures(_ json: String) throws -> [String: Double] {
        let o = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let list = try #require(o["figures"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: list.compactMap { f in (f["name"] as? String).map { ($0, (f["value"] as? NSNumber)?.doubleValue ?? .nan) } })
    }

    @Test("the resident-set slope: flat or noisy memory is steady, steady growth is a leak, too few runs say so")
    func slope() {
        func point(_ i: Int, _ y: Double) -> (x: Double, y: Double) { (Double(i) * 0.5, y) }
        let flat = (0..<20).map { i in point(i, i % 3 == 0 ? 120.4 : 119.8) }
        let f = BenchModes.residentGrowth(flat)
        #expect(f.enough && !f.leaking && abs(f.slope) < 0.5)
        // A warm-up jump, then 5 MiB per minute.
        let leak = (0..<20).map { i in point(i, (i < 2 ? 60 : 200) + 2.5 * Double(i)) }
        let l = BenchModes.residentGrowth(leak)
        #expect(l.enough && l.leaking && abs(l.slope - 5) < 0.01)
        // The warm-up jump alone is not growth.
        let jump = (0..<20).map { i in point(i, i < 2 ? 60 : 200) }
        #expect(!BenchModes.residentGrowth(jump).leaking)
        #expect(!BenchModes.residentGrowth([(0, 1), (1, 50), (2, 99)]).enough)
    }

    @Test("stress stops at its bound with a rate per step; sustained repeats the run and reports the slope; wrong options are refused")
    func modes() throws {
        let stress = try retrace(["bench", "--mode", "stress", "--max-events", "40000", "--json"])
        #expect(stress.status == 0, "\(stress.stderr)")
        let s = try Self.figures(stress.stdout)
        #expect((s["stress.max_events_per_second"] ?? 0) > 0)
        #expect(s["stress.events_at_bound"] == 40001)
        #expect(stress.stdout.contains("stopped by events"))

        let sustained = try retrace(["bench", "--mode", "sustained", "--minutes", "0.04", "--events", "20000", "--json"])
        #expect(sustained.status == 0, "\(sustained.stderr)")
        let u = try Self.figures(sustained.stdout)
        #expect((u["sustained.runs"] ?? 0) >= 1)
        #expect((u["sustained.events_per_second"] ?? 0) > 0)
        #expect(u["sustained.rss_slope_mib_per_minute"] != nil && (u["sustained.peak_rss_mib"] ?? 0) > 0)

        let wrong = try retrace(["bench", "--mode", "soak"])
        #expect(wrong.status == 2 && wrong.stderr.contains("--mode must be"))
        let misplaced = try retrace(["bench", "--minutes", "3"])
        #expect(misplaced.status == 2 && misplaced.stderr.contains("--minutes belongs to --mode sustained"))
    }
}
