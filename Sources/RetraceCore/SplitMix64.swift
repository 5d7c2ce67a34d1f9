/// The seeded random number generator of Retrace (DESIGN.md rule 1): SplitMix64.
///
/// Output k (k = 0, 1, …) is `mix(seed + (k + 1) × 0x9E3779B97F4A7C15)`; the same generator
/// the peer-benchmark scripts use, so their synthetic workloads can be regenerated exactly.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    @usableFromInline var state: UInt64

    /// A generator started at `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<bound` by modulo, as the peer scripts do (bias is
    /// negligible for small bounds and keeps the streams identical).
    @inlinable
    public mutating func next(modulo bound: UInt64) -> UInt64 {
        precondition(bound > 0, "modulo bound must be positive")
        return next() % bound
    }

    /// A uniform double in [0, 1) from the top 53 bits.
    @inlinable
    public mutating func nextUnitDouble() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
