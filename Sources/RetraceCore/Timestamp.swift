/// A point in time: integer nanoseconds since the Unix epoch, UTC.
///
/// The only time type in engine state. Formatting and parsing live in
/// `Timestamp+ISO8601.swift`.
@frozen
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public var nanos: Int64

    /// Creates a timestamp from nanoseconds since the epoch.
    @inlinable public init(nanos: Int64) { self.nanos = nanos }

    /// The epoch itself.
    public static let zero = Timestamp(nanos: 0)
    /// The greatest representable time; used as "never".
    public static let max = Timestamp(nanos: Int64.max)

    @inlinable public static func < (a: Timestamp, b: Timestamp) -> Bool { a.nanos < b.nanos }

    /// This time moved by `nanos` nanoseconds.
    @inlinable public func adding(nanos delta: Int64) -> Timestamp { Timestamp(nanos: nanos + delta) }

    public var description: String { iso8601 }
}

extension Timestamp {
    /// Parses a duration: `250ms`, `60s`, `5us` (or `5µs`), `100ns`, `5m`, `1h`, `1d`, or plain
    /// nanoseconds. Nil for anything else, or a negative amount.
    public static func parseDurationNanos(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ns", 1), ("us", 1_000), ("µs", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000),
                                        ("m", 60_000_000_000), ("h", 3_600_000_000_000), ("d", 86_400_000_000_000)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            if let n = Int64(text.dropLast(suffix.count)), n >= 0 { return n * factor }
        }
        if let n = Int64(text), n >= 0 { return n }
        return nil
    }
}
