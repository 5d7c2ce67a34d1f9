/// The only source of time for engine code (DESIGN.md determinism rule 1).
public protocol Clock {
    /// The current time.
    var now: Timestamp { get }
}

/// A clock that moves only when told: backtests advance it to each event's receive time.
public struct SimulatedClock: Clock, Sendable {
    public var now: Timestamp { current }
    @usableFromInline var current: Timestamp

    /// Starts the clock at `start`.
    public init(start: Timestamp = .zero) { current = start }

    /// Moves the clock forward to `time`. Time never runs backwards.
    @inlinable
    public mutating func advance(to time: Timestamp) {
        precondition(time >= now, "simulated clock cannot go back from \(now.nanos) to \(time.nanos) ns")
        current = time
    }
}

extension Duration {
    /// The duration in seconds, for reporting (wall times, rates, lags).
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
