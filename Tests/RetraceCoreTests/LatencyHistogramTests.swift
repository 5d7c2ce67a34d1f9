import Testing
@testable import RetraceCore

@Suite("Latency histogram")
struct LatencyHistogramTests {
    @Test("percentiles within 0.4 % of the exact order statistic, over values from 0 to 2^62")
    func accuracy() {
        var rng = SplitMix64(seed: 21)
        for scale in [10.0, 1e4, 1e7, 1e12, 4e18] {
            var h = LatencyHistogram()
            var values: [Int64] = []
            for _ in 0..<20_000 {
                let v = Int64(scale * rng.nextUnitDouble() * rng.nextUnitDouble())
                values.append(v)
                h.record(v)
            }
            values.sort()
            for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
                let exact = values[max(0, Int((q * Double(values.count)).rounded(.up)) - 1)]
                let got = h.value(atQuantile: q)
                let error = abs(Double(got) - Double(exact)) / max(1, Double(exact))
                #expect(error <= 0.004 || abs(got - exact) <= 1, "scale \(scale) q \(q): \(got) vs \(exact)")
            }
            #expect(h.count == 20_000 && h.min == values.first && h.max == values.last)
        }
    }

    @Test("every bucket's range contains exactly the values that map to it")
    func buckets() {
        var v: Int64 = 0
        while v < Int64.max / 3 {
            let i = LatencyHistogram.index(v)
            let r = LatencyHistogram.range(i)
            #expect(r.lower <= v && v <= r.upper, "value \(v) bucket \(i) range \(r)")
            #expect(LatencyHistogram.index(r.lower) == i && LatencyHistogram.index(r.upper) == i)
            #expect(Double(r.upper - r.lower) <= Double(r.lower) / 128 + 1)
            v = v < 1_000 ? v + 1 : v + v / 97
        }
    }

    @Test("merging two histograms equals recording everything into one; negatives count as 0")
    func merge() {
        var a = LatencyHistogram(), b = LatencyHistogram(), all = LatencyHistogram()
        for v in [Int64(5), 300, 70_000, 1 << 40] { a.record(v); all.record(v) }
        for v in [Int64(-3), 9, 300, 123_456_789] { b.record(v); all.record(v) }
        a.merge(b)
        #expect(a == all)
        #expect(all.min == 0 && all.summary.count == 8)
    }
}
