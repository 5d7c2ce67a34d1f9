import CRetraceShims
import Synchronization

/// A bounded single-producer single-consumer ring (lock-free, wait-free).
///
/// Capacity is a power of two; indices count up forever and are masked into the slots.
/// The producer's index (`tail`) and the consumer's (`head`) live on separate 128-byte
/// blocks with each side's cached copy of the other's index, so in the steady state a push
/// or pop touches only its own line plus the slot: the other side's index is reloaded
/// (acquire) only when the ring looks full (producer) or empty (consumer). A pop batch
/// publishes its new head once.
///
/// Exactly one thread may push and exactly one may pop at a time; the two may differ.
public final class SPSCRing<Element>: @unchecked Sendable {
    public let capacity: Int
    @usableFromInline let mask: Int
    @usableFromInline let slots: UnsafeMutablePointer<Element>
    /// Producer block: `tail` (atomic) at 0, its cached `head` at 64.
    @usableFromInline let producerBlock: UnsafeMutableRawPointer
    /// Consumer block: `head` (atomic) at 0, its cached `tail` at 64.
    @usableFromInline let consumerBlock: UnsafeMutableRawPointer
    @usableFromInline let tail: UnsafeMutablePointer<Atomic<Int>>
    @usableFromInline let head: UnsafeMutablePointer<Atomic<Int>>
    @usableFromInline let cachedHead: UnsafeMutablePointer<Int>
    @usableFromInline let cachedTail: UnsafeMutablePointer<Int>
    private let startIndex: Int
    /// Consumer: bytes of the slots mapped in by `populateAhead` (the whole ring: done).
    private var populated = 0

    /// - Parameters:
    ///   - capacity: a power of two ≥ 1.
    ///   - startIndex: where the indices start (tests use it to wrap the counters early).
    public init(capacity: Int, startIndex: Int = 0) {
        precondition(capacity > 0 && capacity & (capacity - 1) == 0, "ring capacity \(capacity) is not a power of two")
        self.capacity = capacity
        self.startIndex = startIndex
        mask = capacity - 1
        slots = .allocateLineAligned(capacity: capacity)
        producerBlock = .allocate(byteCount: 128, alignment: 128)
        consumerBlock = .allocate(byteCount: 128, alignment: 128)
        tail = producerBlock.bindMemory(to: Atomic<Int>.self, capacity: 1)
        tail.initialize(to: Atomic(startIndex))
        head = consumerBlock.bindMemory(to: Atomic<Int>.self, capacity: 1)
        head.initialize(to: Atomic(startIndex))
        cachedHead = (producerBlock + 64).bindMemory(to: Int.self, capacity: 1)
        cachedHead.initialize(to: startIndex)
        cachedTail = (consumerBlock + 64).bindMemory(to: Int.self, capacity: 1)
        cachedTail.initialize(to: startIndex)
    }

    deinit {
        let (h, t) = (head.pointee.load(ordering: .relaxed), tail.pointee.load(ordering: .relaxed))
        var i = h
        while i != t { (slots + (i & mask)).deinitialize(count: 1); i &+= 1 }
        UnsafeMutableRawPointer(slots).deallocate()
        tail.deinitialize(count: 1)
        head.deinitialize(count: 1)
        producerBlock.deallocate()
        consumerBlock.deallocate()
    }

    /// Producer: appends `value`. - Returns: false when the ring is full (nothing written).
    @inlinable @inline(__always)
    public func push(_ value: Element) -> Bool {
        let t = tail.pointee.load(ordering: .relaxed)
        if t &- cachedHead.pointee == capacity {
            cachedHead.pointee = head.pointee.load(ordering: .acquiring)
            if t &- cachedHead.pointee == capacity { return false }
        }
        Self.write(value, to: slots + (t & mask))
        tail.pointee.store(t &+ 1, ordering: .releasing)
        return true
    }

    /// Writes `value` into its slot. A 64-byte plain-data element goes in as four 16-byte
    /// stores rather than field by field (eight 8-byte stores for eight words): the slot's
    /// line is usually in the consumer's cache, each store waits in the store buffer until
    /// the line comes back, and half as many stores keep twice as many messages in flight.
    @inlinable @inline(__always)
    static func write(_ value: Element, to slot: UnsafeMutablePointer<Element>) {
        if _isPOD(Element.self) && MemoryLayout<Element>.size == 64 {
            typealias Line = (SIMD2<UInt64>, SIMD2<UInt64>, SIMD2<UInt64>, SIMD2<UInt64>)
            UnsafeMutableRawPointer(slot).storeBytes(of: unsafeBitCast(value, to: Line.self), as: Line.self)
        } else {
            slot.initialize(to: value)
        }
    }

    /// Consumer: removes the oldest element, or nil when the ring is empty.
    @inlinable @inline(__always)
    public func pop() -> Element? {
        let h = head.pointee.load(ordering: .relaxed)
        if h == cachedTail.pointee {
            cachedTail.pointee = tail.pointee.load(ordering: .acquiring)
            if h == cachedTail.pointee { return nil }
        }
        let value = (slots + (h & mask)).move()
        head.pointee.store(h &+ 1, ordering: .releasing)
        return value
    }

    /// Consumer: removes up to `max` elements, oldest first, handing each to `body`, and
    /// publishes the new head once. It takes what its cached view of the producer's index
    /// shows and looks again only when that view is empty, so it may take fewer than are
    /// there; 0 means the ring was empty. - Returns: how many.
    @inlinable @inline(__always)
    public func popBatch(max: Int, _ body: (Element) throws -> Void) rethrows -> Int {
        let h = head.pointee.load(ordering: .relaxed)
        var available = cachedTail.pointee &- h
        if available == 0 {
            // Only an empty cached view reloads the producer's index: reloading on every batch
            // pulls the line the producer writes on every push, which halved the ring's rate.
            cachedTail.pointee = tail.pointee.load(ordering: .acquiring)
            available = cachedTail.pointee &- h
            if available == 0 { return 0 }
        }
        let n = Swift.min(available, max)
        var i = 0
        defer { head.pointee.store(h &+ i, ordering: .releasing) }
        while i < n {
            let value = (slots + ((h &+ i) & mask)).move()
            i += 1
            try body(value)
        }
        return n
    }

    /// Consumer: maps in the slots the producer writes next, up to `lead` bytes past its
    /// latest one, until the whole ring is mapped. A fresh ring's pages are mapped on first
    /// touch: without this the producer's first pass over a 32 MiB ring takes some 8,000
    /// page faults (about 13 ms of the core thread's time); here the consumer takes them,
    /// on its own thread. Returns at once when the ring is mapped, or when the kernel cannot
    /// populate (it is then not tried again).
    public func populateAhead(lead: Int = 4 << 20) {
        let total = capacity * MemoryLayout<Element>.stride
        guard populated < total else { return }
        // The producer's own index (its line is pulled only until the ring is mapped): the
        // consumer's cached view lags it by megabytes while the store is behind.
        let written = Swift.min(tail.pointee.load(ordering: .relaxed) &- startIndex, capacity) * MemoryLayout<Element>.stride
        let target = Swift.min(total, written + lead)
        let start = Int(bitPattern: UnsafeMutableRawPointer(slots))
        let chunk = 1 << 20
        while populated < target {
            // Up to the next 1 MiB boundary (page-aligned, so no page is split between two
            // calls; `retrace_populate` leaves the partial pages at the ring's two ends).
            let from = start + populated
            let end = Swift.min(start + total, (from | (chunk - 1)) + 1)
            if retrace_populate(UnsafeMutableRawPointer(bitPattern: from), end - from, 1) != 0 {
                populated = total  // not supported here: the producer maps them as before
                return
            }
            populated = end - start
        }
    }

    /// Elements in the ring now (a snapshot; exact only when neither side is running).
    @inlinable public var count: Int { tail.pointee.load(ordering: .acquiring) &- head.pointee.load(ordering: .acquiring) }
}

extension UnsafeMutablePointer {
    /// Room for `capacity` elements starting on a 128-byte boundary (free it through
    /// `UnsafeMutableRawPointer(p).deallocate()`). A ring's slots come from here: from
    /// `malloc` (16-byte aligned) a 64-byte element straddles two cache lines, and a producer
    /// writing one shares a line with the consumer reading the one before.
    static func allocateLineAligned(capacity: Int) -> UnsafeMutablePointer {
        UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<Pointee>.stride * capacity, alignment: Swift.max(128, MemoryLayout<Pointee>.alignment))
            .bindMemory(to: Pointee.self, capacity: capacity)
    }
}
