import Synchronization

/// A bounded multi-producer single-consumer ring (lock-free).
///
/// Each slot carries a sequence number (Vyukov's bounded queue): a producer claims position
/// `p` by advancing `tail` with a compare-exchange when slot `p`'s sequence says it is free
/// (`seq == p`), writes the value, then publishes it (`seq = p + 1`, release). The consumer
/// takes position `p` when `seq == p + 1` and frees the slot for the next lap
/// (`seq = p + capacity`). A producer's elements come out in the order it pushed them;
/// elements of different producers interleave in the order they claimed positions.
///
/// Any number of threads may push; one thread at a time may pop.
public final class MPSCRing<Element>: @unchecked Sendable {
    public let capacity: Int
    @usableFromInline let mask: Int
    @usableFromInline let slots: UnsafeMutablePointer<Element>
    @usableFromInline let sequences: UnsafeMutablePointer<Atomic<Int>>
    @usableFromInline let tailBlock: UnsafeMutableRawPointer
    @usableFromInline let tail: UnsafeMutablePointer<Atomic<Int>>
    /// The consumer's position (only the consumer touches it), on its own line.
    @usableFromInline let headBlock: UnsafeMutableRawPointer
    @usableFromInline let head: UnsafeMutablePointer<Int>

    /// - Parameters:
    ///   - capacity: a power of two ≥ 2.
    ///   - startIndex: where the positions start (tests use it to wrap the counters early).
    public init(capacity: Int, startIndex: Int = 0) {
        precondition(capacity >= 2 && capacity & (capacity - 1) == 0, "MPSC ring capacity \(capacity) is not a power of two ≥ 2")
        self.capacity = capacity
        mask = capacity - 1
        slots = .allocateLineAligned(capacity: capacity)
        sequences = .allocate(capacity: capacity)
        // Slot k is first used by the position p ≥ startIndex with p & mask == k.
        for k in 0..<capacity {
            let first = startIndex &+ ((k &- startIndex) & mask)
            (sequences + k).initialize(to: Atomic(first))
        }
        tailBlock = .allocate(byteCount: 128, alignment: 128)
        tail = tailBlock.bindMemory(to: Atomic<Int>.self, capacity: 1)
        tail.initialize(to: Atomic(startIndex))
        headBlock = .allocate(byteCount: 128, alignment: 128)
        head = headBlock.bindMemory(to: Int.self, capacity: 1)
        head.initialize(to: startIndex)
    }

    deinit {
        while pop() != nil {}
        sequences.deinitialize(count: capacity)
        sequences.deallocate()
        UnsafeMutableRawPointer(slots).deallocate()
        tail.deinitialize(count: 1)
        tailBlock.deallocate()
        headBlock.deallocate()
    }

    /// Producer (any thread): appends `value`. - Returns: false when the ring is full.
    @inlinable
    public func push(_ value: Element) -> Bool {
        var p = tail.pointee.load(ordering: .relaxed)
        while true {
            let slot = sequences + (p & mask)
            let seq = slot.pointee.load(ordering: .acquiring)
            let lag = seq &- p
            if lag == 0 {
                let (won, now) = tail.pointee.compareExchange(expected: p, desired: p &+ 1, ordering: .relaxed)
                if won {
                    (slots + (p & mask)).initialize(to: value)
                    slot.pointee.store(p &+ 1, ordering: .releasing)
                    return true
                }
                p = now
            } else if lag < 0 {
                return false  // the slot still holds the element from one lap ago: full
            } else {
                p = tail.pointee.load(ordering: .relaxed)  // another producer took p
            }
        }
    }

    /// Consumer: removes the oldest published element, or nil when there is none.
    @inlinable @inline(__always)
    public func pop() -> Element? {
        let p = head.pointee
        let slot = sequences + (p & mask)
        guard slot.pointee.load(ordering: .acquiring) == p &+ 1 else { return nil }
        let value = (slots + (p & mask)).move()
        slot.pointee.store(p &+ capacity, ordering: .releasing)
        head.pointee = p &+ 1
        return value
    }

    /// Consumer: removes up to `max` published elements, oldest first. - Returns: how many.
    @inlinable @inline(__always)
    public func popBatch(max: Int, _ body: (Element) throws -> Void) rethrows -> Int {
        var n = 0
        while n < max, let value = pop() {
            n += 1
            try body(value)
        }
        return n
    }
}
