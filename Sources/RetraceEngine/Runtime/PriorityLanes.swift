/// The core loop's input lanes, highest priority first. Control messages (stop, kill
/// switch, configuration) overtake order responses, which overtake market data: a fill or
/// a kill switch is never stuck behind a burst of quotes.
public enum Lane: Int, CaseIterable, Sendable {
    case control = 0
    case responses = 1
    case market = 2
}

/// One MPSC ring per lane; the consumer drains the highest non-empty lane first.
public final class PriorityLanes<Element>: @unchecked Sendable {
    @usableFromInline let rings: [MPSCRing<Element>]

    /// - Parameter capacity: per lane, a power of two ≥ 2.
    public init(capacity: Int) {
        rings = Lane.allCases.map { _ in MPSCRing<Element>(capacity: capacity) }
    }

    /// Producer (any thread). - Returns: false when that lane is full.
    @inlinable @inline(__always)
    public func push(_ value: Element, lane: Lane) -> Bool { rings[lane.rawValue].push(value) }

    /// Consumer: the oldest element of the highest non-empty lane.
    @inlinable
    public func pop() -> (lane: Lane, value: Element)? {
        for lane in Lane.allCases { if let v = rings[lane.rawValue].pop() { return (lane, v) } }
        return nil
    }

    /// Consumer: up to `max` elements, each lane drained before the next lower one.
    /// - Returns: how many.
    @inlinable
    public func popBatch(max: Int, _ body: (Lane, Element) throws -> Void) rethrows -> Int {
        var n = 0
        for lane in Lane.allCases where n < max {
            n += try rings[lane.rawValue].popBatch(max: max - n) { try body(lane, $0) }
        }
        return n
    }
}
