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
