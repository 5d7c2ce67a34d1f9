import RetraceCore

/// A hierarchical timer wheel over nanosecond time (simulated or live: the wheel only sees
/// numbers). O(1) schedule and cancel; firing costs O(1) per timer per level it cascades
/// through (at most `levels`).
///
/// Layout: 11 levels of 64 slots, 6 bits of the deadline per level, so level 0 slots are
/// single nanoseconds and the wheel spans all of `Int64`. A timer sits at the level of the
/// highest 6-bit group in which its deadline differs from the wheel's current time, in the
/// slot that group names; each level keeps a 64-bit occupancy word, so finding the next
/// timer is a count-trailing-zeros per level. When the earliest deadline of a slot of level
/// L > 0 comes due, the wheel's time moves to it and the slot's timers move down (cascade)
/// relative to it: that deadline's timers straight into level 0. A level-0 slot holds
/// timers of one exact deadline, kept in scheduling order, so ties fire in the order they
/// were scheduled.
///
/// Timers live in a pool of records with a free list (no allocation once the pool has grown
/// to the peak number of pending timers). A handle carries the slot and a generation number,
/// so cancelling a timer that already fired (and whose record was reused) does nothing.
public struct TimerWheel {
    /// Refers to one scheduled timer.
    public struct Handle: Equatable, Sendable {
        let index: Int32
        let generation: UInt32
    }

    /// A timer that came due.
    public struct Fired: Equatable, Sendable {
        public var deadline: Int64
        public var id: UInt64
    }

    static let bits = 6
    static let slotsPerLevel = 64
    static let levels = 11  // 66 bits ≥ 64

    struct Node {
        var deadline: Int64
        var order: UInt64
        var id: UInt64
        var prev: Int32
        var next: Int32
        /// level × 64 + slot while scheduled; −1 when free.
        var bucket: Int32
        var generation: UInt32
    }

    var nodes: [Node] = []
    var free: [Int32] = []
    var heads: [Int32]
    var tails: [Int32]
    var occupied: [UInt64]
    /// Bit L set when level L has a timer (finding the lowest non-empty level is one instruction).
    var levelsInUse: UInt16 = 0
    /// Every timer with a deadline before `now` has fired.
    public private(set) var now: Int64
    var counter: UInt64 = 0
    public private(set) var count = 0
    /// No pending timer is due before this time: at most the earliest deadline. Until time
    /// reaches it, `nextDeadline(upTo:)` would find nothing and change nothing, so it returns
    /// at once (most events of a run with one timer pending). Not saved: a restored wheel
    /// starts from `Int64.min` and finds it again.
    var noneDueBefore: Int64 = .min

    public init(now: Int64 = .min, expectedTimers: Int = 64) {
        self.now = now
        heads = [Int32](repeating: -1, count: Self.levels * Self.slotsPerLevel)
        tails = heads
        occupied = [UInt64](repeating: 0, count: Self.levels)
        nodes.reserveCapacity(expectedTimers)
        free.reserveCapacity(expectedTimers)
    }

    /// The wheel's bucket for a deadline, relative to `now`.
    @inline(__always)
    func bucket(_ deadline: Int64) -> Int {
        let d = UInt64(bitPattern: deadline) ^ 0x8000_0000_0000_0000  // order-preserving map to unsigned
        let n = UInt64(bitPattern: now) ^ 0x8000_0000_0000_0000
        let differ = d ^ n
        let level = differ == 0 ? 0 : (63 - differ.leadingZeroBitCount) / Self.bits
        let slot = Int((d >> UInt64(level * Self.bits)) & 63)
        return level * Self.slotsPerLevel + slot
    }

    /// Schedules timer `id` at `deadline` (a deadline before now fires at the next advance).
    @discardableResult
    public mutating func schedule(at deadline: Int64, id: UInt64) -> Handle {
        let index: Int32
        if let reused = free.popLast() {
            index = reused
            nodes[Int(index)].deadline = max(deadline, now)
            nodes[Int(index)].order = counter
            nodes[Int(index)].id = id
        } else {
            index = Int32(nodes.count)
            nodes.append(Node(deadline: max(deadline, now), order: counter, id: id, prev: -1, next: -1, bucket: -1, generation: 0))
        }
        counter += 1
        count += 1
        insert(index)
        noneDueBefore = min(noneDueBefore, nodes[Int(index)].deadline)
        return Handle(index: index, generation: nodes[Int(index)].generation)
    }

    /// Links node `i` into its bucket. Level-0 buckets stay in scheduling order (a cascaded
    /// timer may have been scheduled before timers already there).
    mutating func insert(_ i: Int32) {
        let b = bucket(nodes[Int(i)].deadline)
        nodes[Int(i)].bucket = Int32(b)
        var after = tails[b]
        if b < Self.slotsPerLevel {
            let order = nodes[Int(i)].order
            while after >= 0 && nodes[Int(after)].order > order { after = nodes[Int(after)].prev }
        }
        let before = after >= 0 ? nodes[Int(after)].next : heads[b]
        nodes[Int(i)].prev = after
        nodes[Int(i)].next = before
        if after >= 0 { nodes[Int(after)].next = i } else { heads[b] = i }
        if before >= 0 { nodes[Int(before)].prev = i } else { tails[b] = i }
        occupied[b >> 6] |= 1 << UInt64(b & 63)
        levelsInUse |= 1 << UInt16(b >> 6)
    }

    mutating func unlink(_ i: Int32) {
        let n = nodes[Int(i)]
        let b = Int(n.bucket)
        if n.prev >= 0 { nodes[Int(n.prev)].next = n.next } else { heads[b] = n.next }
        if n.next >= 0 { nodes[Int(n.next)].prev = n.prev } else { tails[b] = n.prev }
        if heads[b] < 0 {
            occupied[b >> 6] &= ~(1 << UInt64(b & 63))
            if occupied[b >> 6] == 0 { levelsInUse &= ~(1 << UInt16(b >> 6)) }
        }
        nodes[Int(i)].bucket = -1
    }

    mutating func release(_ i: Int32) {
        nodes[Int(i)].generation &+= 1
        free.append(i)
        count -= 1
    }

    /// Cancels a pending timer. - Returns: false if it already fired or was cancelled.
    @discardableResult
    public mutating func cancel(_ handle: Handle) -> Bool {
        let i = Int(handle.index)
        guard i < nodes.count, nodes[i].generation == handle.generation, nodes[i].bucket >= 0 else { return false }
        unlink(handle.index)
        release(handle.index)
        return true
    }

    /// The lowest non-empty level and its first occupied slot at or after now's slot there.
    @inline(__always)
    func firstOccupied() -> (level: Int, slot: Int)? {
        guard levelsInUse != 0 else { return nil }
        let level = levelsInUse.trailingZeroBitCount
        let n = UInt64(bitPattern: now) ^ 0x8000_0000_0000_0000
        let current = Int((n >> UInt64(level * Self.bits)) & 63)
        let ahead = occupied[level] & (~0 << UInt64(current))
        // Every timer of a level sits at or after now's slot; a set bit below it would be a
        // broken invariant.
        precondition(ahead != 0, "timer wheel level \(level) has timers behind the current time")
        return (level, ahead.trailingZeroBitCount)
    }

    /// The time a slot of `level` starts, given now's higher bits.
    @inline(__always)
    func slotStart(level: Int, slot: Int) -> Int64 {
        let n = UInt64(bitPattern: now) ^ 0x8000_0000_0000_0000
        let shift = UInt64(level * Self.bits)
        let high: UInt64 = shift + 6 >= 64 ? 0 : (n >> (shift + 6)) << (shift + 6)
        return Int64(bitPattern: (high | UInt64(slot) << shift) ^ 0x8000_0000_0000_0000)
    }

    /// Whether a timer may be due at or before `time` (false: `nextDeadline(upTo: time)`
    /// is nil and would change nothing).
    @inline(__always)
    public func mayFire(by time: Int64) -> Bool { count > 0 && time >= noneDueBefore }

    /// The earliest pending deadline, or nil when no timer is pending.
    public var nextDeadline: Int64? {
        guard let (level, slot) = firstOccupied() else { return nil }
        let b = level * Self.slotsPerLevel + slot
        if level == 0 { return nodes[Int(heads[b])].deadline }
        return earliestDeadline(inBucket: b)
    }

    /// The earliest deadline of the timers in bucket `b` (a higher level's slot holds
    /// several deadlines, in no order).
    func earliestDeadline(inBucket b: Int) -> Int64 {
        var best = Int64.max
        var i = heads[b]
        while i >= 0 { best = min(best, nodes[Int(i)].deadline); i = nodes[Int(i)].next }
        return best
    }

    /// The earliest pending deadline if it is at or before `time`, else nil. The earliest
    /// timers sit in the first occupied slot of the lowest occupied level (a lower level's
    /// deadlines are all earlier). When that slot is of a higher level and its earliest
    /// deadline is due, the wheel's time moves to that deadline and the slot cascades once:
    /// its earliest timers land in level 0 at once, not one level per call (a 100 ms timer
    /// cascaded four or five times). The wheel's time moves at most to a deadline at or
    /// before `time`, so a caller that passes the earliest time anything else can happen
    /// may still schedule from then on.
    public mutating func nextDeadline(upTo time: Int64) -> Int64? {
        if levelsInUse == 0 || time < noneDueBefore { return nil }
        while let (level, slot) = firstOccupied() {
            if level == 0 {
                let deadline = slotStart(level: 0, slot: slot)  // a level-0 slot is one deadline
                noneDueBefore = deadline
                return deadline <= time ? deadline : nil
            }
            let earliest = earliestDeadline(inBucket: level * Self.slotsPerLevel + slot)
            noneDueBefore = earliest
            guard earliest <= time else { return nil }
            now = max(now, earliest)
            cascade(level: level, slot: slot)
        }
        return nil
    }

    mutating func cascade(level: Int, slot: Int) {
        let b = level * Self.slotsPerLevel + slot
        var i = heads[b]
        heads[b] = -1
        tails[b] = -1
        occupied[level] &= ~(1 << UInt64(slot))
        if occupied[level] == 0 { levelsInUse &= ~(1 << UInt16(level)) }
        while i >= 0 {
            let next = nodes[Int(i)].next
            insert(i)
            i = next
        }
    }

    /// Removes and returns the earliest timer due at or before `time` (ties: the one
    /// scheduled first), advancing the wheel's time to its deadline; nil when none is due,
    /// and then the wheel's time moves toward `time`, but not into the first occupied slot
    /// of a higher level (that slot cascades only when one of its deadlines is due, and a
    /// timer scheduled later with the same deadline must land in the same slot, behind it).
    public mutating func popDue(upTo time: Int64) -> Fired? {
        // After `nextDeadline` the earliest timer sits first in a level-0 slot.
        guard let deadline = nextDeadline(upTo: time) else {
            var limit = time
            if let (level, slot) = firstOccupied(), level > 0 { limit = min(limit, slotStart(level: level, slot: slot) - 1) }
            if limit > now { now = limit }
            return nil
        }
        now = max(now, deadline)
        let i = heads[bucket(deadline)]
        let fired = Fired(deadline: deadline, id: nodes[Int(i)].id)
        unlink(i)
        release(i)
        return fired
    }
}

extension TimerWheel.Node: StateCodable {
    func saveState(_ w: inout StateWriter) {
        w.word(deadline); w.word(order); w.word(id); w.word(prev); w.word(next); w.word(bucket); w.word(generation)
    }
    init(state r: inout StateReader) throws(CoreError) {
        self.init(deadline: try r.word(), order: try r.word(), id: try r.word(), prev: try r.word(), next: try r.word(), bucket: try r.word(), generation: try r.word())
    }
}

extension TimerWheel {
    /// Saves the pending timers with the wheel's exact layout (insertion order on ties kept).
    public func saveState(_ w: inout StateWriter) {
        w.put(nodes)
        w.putWords(free)
        w.putWords(heads)
        w.putWords(tails)
        w.putWords(occupied)
        w.word(levelsInUse)
        w.word(now)
        w.word(counter)
        w.put(count)
    }

    public mutating func restoreState(_ r: inout StateReader) throws(CoreError) {
        nodes = try r.array()
        free = try r.words()
        heads = try r.words()
        tails = try r.words()
        occupied = try r.words()
        levelsInUse = try r.word()
        now = try r.word()
        counter = try r.word()
        count = try r.get()
        noneDueBefore = .min
        guard heads.count == Self.levels * Self.slotsPerLevel, tails.count == heads.count, occupied.count == Self.levels else {
            throw CoreError(.invalidState, "engine state: timer wheel tables of the wrong size")
        }
    }
}
