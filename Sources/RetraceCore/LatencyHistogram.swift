/// A log-bucketed latency histogram in the style of HdrHistogram: exact below 256, then
/// 128 buckets per power of two, so a reported percentile (its bucket's midpoint) is within
/// 0.4 % of a recorded value. Values are non-negative integers (nanoseconds by
/// convention); recording is O(1) with no allocation, and two histograms merge by adding
/// their counts. Deterministic: no floating point in its state.
public struct LatencyHistogram: Equatable, Sendable {
    static let exact = 256
    static let subBuckets = 128
    static let bucketCount = exact + 55 * subBuckets

    public private(set) var counts: [UInt64]
    public private(set) var count: UInt64 = 0
    public private(set) var min: Int64 = .max
    public private(set) var max: Int64 = .min
    /// Sum of the recorded values (wide, so it cannot overflow).
    public private(set) var sum: Int128 = 0

    public init() { counts = [UInt64](repeating: 0, count: Self.bucketCount) }

    /// The bucket of `value` (≥ 0).
    @inline(__always)
    static func index(_ value: Int64) -> Int {
        if value < 256 { return Int(value) }
        let msb = 63 - value.leadingZeroBitCount
        let shift = msb - 7
        return 256 + (shift - 1) * 128 + Int(value >> Int64(shift)) - 128
    }

    /// The values bucket `i` holds: `lowerBound...upperBound`.
    static func range(_ i: Int) -> (lower: Int64, upper: Int64) {
        if i < 256 { return (Int64(i), Int64(i)) }
        let shift = (i - 256) / 128 + 1
        let mantissa = Int64((i - 256) % 128 + 128)
        return (mantissa << Int64(shift), ((mantissa + 1) << Int64(shift)) - 1)
    }

    /// Records one value (negative values count as 0: a clock that stepped back).
    public mutating func record(_ value: Int64) { record(value, count: 1) }

    /// Records `n` occurrences of `value`. Inlined, so a count known at the call (1 above)
    /// folds away its check and its 128-bit multiplication.
    @inline(__always)
    public mutating func record(_ value: Int64, count n: UInt64) {
        guard n > 0 else { return }
        let v = Swift.max(0, value)
        // Wrapping: 2⁶⁴ recordings, or a 128-bit sum of them, are out of reach.
        counts[Self.index(v)] &+= n
        count &+= n
        sum &+= Int128(v) &* Int128(n)
        if v < min { min = v }
        if v > max { max = v }
    }

    /// Counts per power of two: element k counts values in [2^k, 2^(k+1)) (element 0 also
    /// holds 0), up to the highest non-empty power. For charts.
    public var log2Counts: [UInt64] {
        var out: [UInt64] = []
        for i in counts.indices where counts[i] != 0 {
            let lower = Self.range(i).lower
            let k = lower <= 1 ? 0 : 63 - lower.leadingZeroBitCount
            while out.count <= k { out.append(0) }
            out[k] += counts[i]
        }
        return out
    }

    /// Adds another histogram's counts.
    public mutating func merge(_ other: LatencyHistogram) {
        guard other.count > 0 else { return }
        for i in counts.indices where other.counts[i] != 0 { counts[i] += other.counts[i] }
        count += other.count
        sum += other.sum
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    /// The value at quantile `q` (0…1): the midpoint of the bucket holding the ⌈q·count⌉-th
    /// smallest value, clamped to the recorded min and max; 0 when empty.
    public func value(atQuantile q: Double) -> Int64 {
        guard count > 0 else { return 0 }
        let rank = Swift.max(1, UInt64((q * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for i in counts.indices where counts[i] != 0 {
            seen += counts[i]
            if seen >= rank {
                let r = Self.range(i)
                let mid = r.lower + (r.upper - r.lower) / 2
                return Swift.min(Swift.max(mid, min), max)
            }
        }
        return max
    }

    /// Mean of the recorded values (0 when empty).
    public var mean: Double { count == 0 ? 0 : Double(sum) / Double(count) }

    /// The usual summary: count, p50, p90, p99, p99.9, max.
    public var summary: (count: UInt64, p50: Int64, p90: Int64, p99: Int64, p999: Int64, max: Int64) {
        (count, value(atQuantile: 0.5), value(atQuantile: 0.9), value(atQuantile: 0.99), value(atQuantile: 0.999), count == 0 ? 0 : max)
    }

    /// Non-empty buckets as (lower bound, upper bound, count), lowest first — what a run
    /// saves, and enough to rebuild the histogram.
    public var buckets: [(lower: Int64, upper: Int64, count: UInt64)] {
        counts.indices.filter { counts[$0] != 0 }.map { i in let r = Self.range(i); return (r.lower, r.upper, counts[i]) }
    }
}
