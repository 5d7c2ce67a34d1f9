import RetraceCore

/// How long something takes, drawn per order (or per message) from a seeded generator, so
/// the same seed gives the same latencies in every run.
public enum LatencyModel: Equatable, Sendable {
    /// Always the same (nanoseconds).
    case constant(Int64)
    /// Normal with mean and standard deviation (ns), truncated at 0.
    case normal(mean: Int64, deviation: Int64)
    /// Log-normal: `median × e^(σ·z)` with z standard normal.
    case lognormal(median: Int64, sigma: Double)
    /// Drawn uniformly from recorded samples (ns), e.g. a run's feed latencies.
    case empirical([Int64])

    public static let zero = LatencyModel.constant(0)

    /// True when every draw is 0.
    public var isZero: Bool { self == .constant(0) }

    /// One draw (≥ 0). Uses only IEEE-754 basic operations and a fixed series for `exp`,
    /// so draws are the same on every machine.
    public func sample(_ rng: inout SplitMix64) -> Int64 {
        switch self {
        case .constant(let n): return n
        case .normal(let mean, let deviation):
            let v = Double(mean) + Double(deviation) * LatencyModel.standardNormal(&rng)
            return max(0, Int64(v.rounded()))
        case .lognormal(let median, let sigma):
            let v = Double(median) * LatencyModel.exp(sigma * LatencyModel.standardNormal(&rng))
            return max(0, Int64(min(v, 9e18).rounded()))
        case .empirical(let samples):
            guard !samples.isEmpty else { return 0 }
            return samples[Int(rng.next(modulo: UInt64(samples.count)))]
        }
    }

    /// A standard normal draw: the sum of 12 uniforms minus 6 (Irwin–Hall), which needs no
    /// transcendental functions and so is bit-identical across platforms. Tails stop at ±6σ.
    static func standardNormal(_ rng: inout SplitMix64) -> Double {
        var sum = 0.0
        for _ in 0..<12 { sum += Double(rng.next() >> 11) * 0x1p-53 }
        return sum - 6
    }

    /// e^x by range reduction (x = k·ln2 + r) and a Taylor series: basic operations only.
    static func exp(_ x: Double) -> Double {
        let ln2 = 0.6931471805599453
        let k = (x / ln2).rounded()
        let r = x - k * ln2
        var term = 1.0, sum = 1.0
        for i in 1...20 { term *= r / Double(i); sum += term }
        var result = sum
        if k > 0 { for _ in 0..<Int(min(k, 1000)) { result *= 2 } } else if k < 0 { for _ in 0..<Int(min(-k, 1000)) { result /= 2 } }
        return result
    }

    /// Parses `0`, `250us`, `constant:1ms`, `normal:1ms:200us`, `lognormal:1ms:0.5`.
    /// (`empirical` models are built by the caller from recorded samples.) Durations as
    /// `Timestamp.parseDurationNanos` reads them.
    public static func parse(_ text: String) -> LatencyModel? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let duration = Timestamp.parseDurationNanos
        switch (parts.first, parts.count) {
        case ("constant", 2): return duration(parts[1]).map { .constant($0) }
        case ("normal", 3):
            guard let m = duration(parts[1]), let d = duration(parts[2]) else { return nil }
            return .normal(mean: m, deviation: d)
        case ("lognormal", 3):
            guard let m = duration(parts[1]), let s = Double(parts[2]), s >= 0, s <= 5 else { return nil }
            return .lognormal(median: m, sigma: s)
        case (_, 1): return duration(text).map { .constant($0) }
        default: return nil
        }
    }
}

/// Where a passive order stands in an L2 level's queue as the level changes. (With L3
/// data the position is exact and no model is needed.)
public enum QueueModel: Equatable, Sendable {
    /// Only trades advance us: a level that shrinks without trades is assumed to have
    /// shrunk behind us (the queue ahead only drops to the level's new size). This is the
    /// "risk-averse" model: fills come from trades at our price after the queue ahead traded.
    case conservative
    /// A shrink not explained by trades is split between ahead and behind in proportion
    /// `f(ahead) / (f(ahead) + f(behind))` with `f(x) = x^n` (hftbacktest's power
    /// probability queue model); n = 1 is proportional, larger n favours cancels behind.
    case power(Int)

    public static func parse(_ text: String) -> QueueModel? {
        if text == "conservative" { return .conservative }
        if text.hasPrefix("power:"), let n = Int(text.dropFirst(6)), (1...6).contains(n) { return .power(n) }
        if text == "proportional" { return .power(1) }
        return nil
    }

    /// The part of a level decrease `decrease` that came from ahead of us, given the
    /// volume ahead and behind before it. Integer result, deterministic.
    func aheadShare(decrease: Int64, ahead: Int64, behind: Int64) -> Int64 {
        switch self {
        case .conservative: return 0
        case .power(let n):
            guard decrease > 0, ahead > 0 else { return 0 }
            guard behind > 0 else { return decrease }
            var fa = 1.0, fb = 1.0
            for _ in 0..<n { fa *= Double(ahead); fb *= Double(behind) }
            let share = Double(decrease) * (fa / (fa + fb))
            return min(decrease, Int64(share.rounded(.down)))
        }
    }
}

/// What happens when our incoming order would trade with one of our own resting orders.
public enum SelfTradePrevention: String, Sendable, CaseIterable {
    /// Cancel our resting order(s) it would meet, then match the incoming one (Binance
    /// EXPIRE_MAKER).
    case cancelResting = "cancel-resting"
    /// Cancel the incoming order whole (EXPIRE_TAKER).
    case cancelIncoming = "cancel-incoming"
    /// Cancel both.
    case cancelBoth = "cancel-both"
}

/// One simulated venue's rules: fees, latencies, queue model, self-trade prevention.
public struct VenueSettings: Equatable, Sendable {
    public var name: String
    public var fees: FeeSchedule
    /// Local send → the order reaches the venue's book.
    public var entryLatency: LatencyModel
    /// The venue's answer (accept, fill, cancel) → the strategy hears it.
    public var ackLatency: LatencyModel
    /// Exchange → us for market data. Nil: the recorded gap between each event's exchange
    /// time and receive time (negative gaps, from clock skew, count as 0).
    public var feedLatency: LatencyModel?
    public var queueModel: QueueModel
    public var selfTrade: SelfTradePrevention

    public init(name: String = "SIM", fees: FeeSchedule, entryLatency: LatencyModel = .zero, ackLatency: LatencyModel = .zero, feedLatency: LatencyModel? = nil,
                queueModel: QueueModel = .conservative, selfTrade: SelfTradePrevention = .cancelResting) {
        (self.name, self.fees, self.entryLatency, self.ackLatency, self.feedLatency, self.queueModel, self.selfTrade) =
            (name, fees, entryLatency, ackLatency, feedLatency, queueModel, selfTrade)
    }
}
