import RetraceCore

/// An order-level (L3) book: per price level a FIFO of orders (price-time priority), with
/// O(1) add, cancel, reduce and execute by order id.
///
/// Prices are integer ticks. Each side is a ladder — an array indexed by tick over a window
/// that grows (re-based, doubling) to follow the prices seen, up to `maxWindowTicks`;
/// levels farther away than that live in a small sorted overflow list, so a stray far
/// price costs neither memory nor correctness. Orders live in a pool of parallel arrays
/// with a free list; an id → slot dictionary finds them. A level's volume is its orders'
/// sizes plus *unattributed* volume — liquidity known only in aggregate (a LOBSTER window
/// that starts with a populated book, or volume set by reconciliation), which may go
/// negative as bookkeeping while the level total stays the truth.
public final class L3Book {
    /// One price level's state.
    public struct Level: Equatable, Sendable {
        /// Sum of the sizes of the orders queued here.
        public var attributed: Int64 = 0
        /// Volume without a known order behind it.
        public var unattributed: Int64 = 0
        public var orders: Int32 = 0
        var head: Int32 = -1
        var tail: Int32 = -1
        /// The level's visible volume.
        public var total: Int64 { attributed + unattributed }
        var isEmpty: Bool { orders == 0 && unattributed == 0 }
        /// Shown in the book (positive volume). Bookkeeping can leave a level with orders
        /// but no visible volume; it is then kept but not shown.
        var isVisible: Bool { total > 0 }
    }

    /// An error from an operation on an unknown or duplicate order id.
    public struct BookError: Error, Equatable, CustomStringConvertible, Sendable {
        public var description: String
    }

    public static let maxWindowTicks = 1 << 20

    /// One side's ladder.
    struct Ladder {
        let isBid: Bool
        var base: Int64 = 0
        var levels: [Level] = []
        /// Levels outside the window, sorted by tick.
        var overflow: [(tick: Int64, level: Level)] = []
        /// Best visible tick in the window, or nil.
        var best: Int64?

        init(isBid: Bool) { self.isBid = isBid }

        /// Window slot of `tick`, growing the window to cover it when that keeps it within
        /// `maxWindowTicks`; nil when the tick stays outside (overflow).
        @inline(__always)
        mutating func slot(_ tick: Int64, create: Bool) -> Int? {
            let i = tick &- base
            if i >= 0 && i < Int64(levels.count) { return Int(i) }
            return create ? grow(toCover: tick) : nil
        }

        /// Grows the window to cover `tick` when that keeps it within `maxWindowTicks`.
        mutating func grow(toCover tick: Int64) -> Int? {
            if levels.isEmpty {
                base = tick - 512
                levels = [Level](repeating: Level(), count: 1024)
                return 512
            }
            let lo = min(base, tick), hi = max(base + Int64(levels.count), tick + 1)
            guard hi - lo <= Int64(L3Book.maxWindowTicks) else { return nil }
            var size = levels.count
            while Int64(size) < hi - lo { size *= 2 }
            size = min(size, L3Book.maxWindowTicks)
            // Re-base so the new tick and the old window both fit, with slack on the side that grew.
            let newBase = tick < base ? hi - Int64(size) : lo
            var grown = [Level](repeating: Level(), count: size)
            for (k, level) in levels.enumerated() where !level.isEmpty { grown[Int(base - newBase) + k] = level }
            // Overflow levels that now fall inside move into the window.
            var moved: [Int64] = []
            overflow.removeAll { entry in
                let j = entry.tick - newBase
                if j >= 0 && j < Int64(size) { grown[Int(j)] = entry.level; moved.append(entry.tick); return true }
                return false
            }
            levels = grown
            base = newBase
            for t in moved where levels[Int(t - base)].isVisible && (best.map { isBid ? t > $0 : t < $0 } ?? true) { best = t }
            return Int(tick - base)
        }

        @inline(__always)
        func level(_ tick: Int64) -> Level {
            let i = tick &- base
            if i >= 0 && i < Int64(levels.count) { return levels[Int(i)] }
            return overflowLevel(tick)
        }

        func overflowLevel(_ tick: Int64) -> Level { overflow.first { $0.tick == tick }?.level ?? Level() }

        /// Applies `change` to the level at `tick`, keeping `best` right.
        @inline(__always)
        mutating func update(_ tick: Int64, _ change: (inout Level) -> Void) {
            if let i = slot(tick, create: true) {
                change(&levels[i])
                if !levels[i].isVisible {
                    if best == tick { best = scan(from: tick) }
                } else if best.map({ isBid ? tick > $0 : tick < $0 }) ?? true {
                    best = tick
                }
            } else {
                var k = overflow.firstIndex { $0.tick >= tick } ?? overflow.count
                if k == overflow.count || overflow[k].tick != tick { overflow.insert((tick, Level()), at: k) } else { k = overflow.firstIndex { $0.tick == tick }! }
                change(&overflow[k].level)
                if overflow[k].level.isEmpty { overflow.remove(at: k) }
            }
        }

        /// The next visible window tick after `tick` going away from the inside.
        func scan(from tick: Int64) -> Int64? {
            var i = Int(tick - base)
            let step = isBid ? -1 : 1
            i += step
            while i >= 0 && i < levels.count {
                if levels[i].isVisible { return base + Int64(i) }
                i += step
            }
            return nil
        }

        /// The best visible tick overall (window or overflow).
        @inline(__always)
        var bestTick: Int64? { overflow.isEmpty ? best : bestWithOverflow }

        var bestWithOverflow: Int64? {
            let visible = overflow.lazy.filter { $0.level.isVisible }
            let far = isBid ? visible.map(\.tick).max() : visible.map(\.tick).min()
            guard let far else { return best }
            guard let best else { return far }
            return isBid ? max(far, best) : min(far, best)
        }

        /// The `n` best visible levels, best first.
        func top(_ n: Int) -> [(tick: Int64, total: Int64)] {
            var out: [(tick: Int64, total: Int64)] = []
            guard n > 0 else { return out }
            forEachBestFirst { tick, total in
                out.append((tick, total))
                return out.count < n
            }
            return out
        }

        /// Calls `body(tick, total)` over the visible levels best first until it returns
        /// false (window and overflow merged; nothing is allocated).
        func forEachBestFirst(_ body: (Int64, Int64) -> Bool) {
            var window = best
            var far = isBid ? overflow.count - 1 : 0
            while true {
                while far >= 0 && far < overflow.count && !overflow[far].level.isVisible { far += isBid ? -1 : 1 }
                let f: Int64? = far >= 0 && far < overflow.count ? overflow[far].tick : nil
                let takeFar: Bool
                switch (window, f) {
                case (nil, nil): return
                case (nil, _): takeFar = true
                case (_, nil): takeFar = false
                case (let w?, let o?): takeFar = isBid ? o > w : o < w
                }
                if takeFar {
                    guard body(f!, overflow[far].level.total) else { return }
                    far += isBid ? -1 : 1
                } else {
                    guard body(window!, levels[Int(window! - base)].total) else { return }
                    window = scan(from: window!)
                }
            }
        }

        /// Every non-empty level with its tick (window then overflow; unordered).
        func allLevels() -> [(tick: Int64, level: Level)] {
            var out = overflow
            for (i, l) in levels.enumerated() where !l.isEmpty { out.append((base + Int64(i), l)) }
            return out
        }
    }

    var bids = Ladder(isBid: true)
    var asks = Ladder(isBid: false)

    /// One pooled order: everything about it on one cache line.
    struct Slot {
        var id: UInt64
        var size: Int64
        var tick: Int64
        var arrival: UInt64
        var prev: Int32
        var next: Int32
        var isBid: Bool
    }

    // The order pool and its free list.
    var pool: [Slot] = []
    var free: [Int32] = []
    /// Orders added so far: each order's arrival number orders the queue across levels.
    public internal(set) var arrivalCounter: UInt64 = 0
    var index: OrderIndex

    public init(expectedOrders: Int = 1024) {
        index = OrderIndex(capacity: expectedOrders)
    }

    /// Number of orders resting.
    public var orderCount: Int { index.count }

    @inline(__always) func ladder(_ side: Side) -> Ladder { side == .buy ? bids : asks }

    @inline(__always) func levelOf(_ side: Side, _ tick: Int64) -> Level { side == .buy ? bids.level(tick) : asks.level(tick) }

    /// Adds order `id` at the back of its level's queue.
    public func add(id: UInt64, side: Side, tick: Int64, size: Int64) throws(BookError) {
        let slot = free.last ?? Int32(pool.count)
        guard index.insert(id, slot) else { throw BookError(description: "order \(id) is already in the book") }
        let record = Slot(id: id, size: size, tick: tick, arrival: arrivalCounter, prev: -1, next: -1, isBid: side == .buy)
        if free.isEmpty { pool.append(record) } else { free.removeLast(); pool[Int(slot)] = record }
        arrivalCounter += 1
        if side == .buy { bids.update(tick) { link(&$0, slot, size) } } else { asks.update(tick) { link(&$0, slot, size) } }
    }

    @inline(__always)
    private func link(_ level: inout Level, _ slot: Int32, _ size: Int64) {
        pool[Int(slot)].prev = level.tail
        if level.tail >= 0 { pool[Int(level.tail)].next = slot } else { level.head = slot }
        level.tail = slot
        level.orders += 1
        level.attributed += size
    }

    /// Reduces order `id` by `size` (a partial cancel or an execution); removes it at zero.
    /// - Returns: the order's remaining size.
    @discardableResult
    public func reduce(id: UInt64, by size: Int64) throws(BookError) -> Int64 {
        guard let slot = index[id] else { throw BookError(description: "order \(id) is not in the book") }
        let o = pool[Int(slot)]
        let cut = min(size, o.size)
        let remaining = o.size - cut
        if remaining == 0 {
            unlink(slot)
        } else {
            pool[Int(slot)].size = remaining
            if o.isBid { bids.update(o.tick) { $0.attributed -= cut } } else { asks.update(o.tick) { $0.attributed -= cut } }
        }
        return remaining
    }

    /// Removes order `id` entirely. - Returns: the size it had.
    @discardableResult
    public func cancel(id: UInt64) throws(BookError) -> Int64 {
        guard let slot = index[id] else { throw BookError(description: "order \(id) is not in the book") }
        let size = pool[Int(slot)].size
        unlink(slot)
        return size
    }

    /// An execution against order `id` (the same book change as `reduce`).
    @discardableResult
    public func execute(id: UInt64, size: Int64) throws(BookError) -> Int64 { try reduce(id: id, by: size) }

    private func unlink(_ slot: Int32) {
        let o = pool[Int(slot)]
        let (p, n) = (o.prev, o.next)
        if p >= 0 { pool[Int(p)].next = n }
        if n >= 0 { pool[Int(n)].prev = p }
        if o.isBid { bids.update(o.tick) { L3Book.unlinked(&$0, slot, p, n, o.size) } } else { asks.update(o.tick) { L3Book.unlinked(&$0, slot, p, n, o.size) } }
        index.remove(o.id)
        free.append(slot)
    }

    @inline(__always)
    static func unlinked(_ level: inout Level, _ slot: Int32, _ p: Int32, _ n: Int32, _ size: Int64) {
        if level.head == slot { level.head = n }
        if level.tail == slot { level.tail = p }
        level.orders -= 1
        level.attributed -= size
    }

    /// Changes the volume at a price that no known order accounts for.
    public func adjustUnattributed(side: Side, tick: Int64, by delta: Int64) {
        guard delta != 0 else { return }
        if side == .buy { bids.update(tick) { $0.unattributed += delta } } else { asks.update(tick) { $0.unattributed += delta } }
    }

    /// The order's side, tick and remaining size, if it rests in the book.
    public func order(_ id: UInt64) -> (side: Side, tick: Int64, size: Int64)? {
        guard let slot = index[id] else { return nil }
        let o = pool[Int(slot)]
        return (o.isBid ? .buy : .sell, o.tick, o.size)
    }

    /// The arrival number of order `id` (smaller arrived earlier), if it rests in the book.
    public func arrival(of id: UInt64) -> UInt64? { index[id].map { pool[Int($0)].arrival } }

    /// Applies one order-level message as an exact change of its own size at its price
    /// (LOBSTER's semantics): an add queues a new order; a reduce, delete or execution
    /// removes the message's size — from the order when it rests at that price, else from
    /// the level's unattributed volume (ids never seen); a delete takes the message's size,
    /// not the size tracked for the order, and the difference stays as bookkeeping. Hidden
    /// executions and halts leave the book alone. A reused id adds unattributed volume.
    public func applyExact(_ action: BookAction, side: Side, orderID: UInt64, tick: Int64, size: Int64) {
        switch action {
        case .add:
            do { try add(id: orderID, side: side, tick: tick, size: size) } catch {
                adjustUnattributed(side: side, tick: tick, by: size)
            }
        case .reduce, .delete, .execute:
            if let slot = index[orderID], pool[Int(slot)].tick == tick, pool[Int(slot)].isBid == (side == .buy) {
                let tracked = pool[Int(slot)].size
                if action == .delete {
                    unlink(slot)
                    adjustUnattributed(side: side, tick: tick, by: tracked - size)
                } else {
                    let cut = min(size, tracked)
                    if cut == tracked {
                        unlink(slot)
                    } else {
                        pool[Int(slot)].size = tracked - cut
                        if side == .buy { bids.update(tick) { $0.attributed -= cut } } else { asks.update(tick) { $0.attributed -= cut } }
                    }
                    adjustUnattributed(side: side, tick: tick, by: cut - size)
                }
            } else {
                adjustUnattributed(side: side, tick: tick, by: -size)
            }
        case .hiddenExecute, .halt:
            break
        }
    }

    /// Sets the visible volume at a level to `total` (the change goes to unattributed volume).
    public func setLevelTotal(side: Side, tick: Int64, total: Int64) {
        adjustUnattributed(side: side, tick: tick, by: total - depth(side: side, tick: tick))
    }

    /// Volume queued ahead of order `id` at its level: the orders before it, plus the
    /// level's unattributed volume (known liquidity that arrived earlier than any order we saw).
    public func queueAhead(of id: UInt64) -> Int64? {
        guard let slot = index[id] else { return nil }
        var ahead: Int64 = 0
        var p = pool[Int(slot)].prev
        while p >= 0 { ahead += pool[Int(p)].size; p = pool[Int(p)].prev }
        let level = ladder(pool[Int(slot)].isBid ? .buy : .sell).level(pool[Int(slot)].tick)
        return ahead + max(0, level.unattributed)
    }

    /// The best bid (tick, total volume), or nil.
    public var bestBid: (tick: Int64, total: Int64)? { bids.bestTick.map { ($0, bids.level($0).total) } }
    /// The best ask (tick, total volume), or nil.
    public var bestAsk: (tick: Int64, total: Int64)? { asks.bestTick.map { ($0, asks.level($0).total) } }

    /// Total visible volume at `tick` on `side`.
    public func depth(side: Side, tick: Int64) -> Int64 { levelOf(side, tick).total }

    /// The level state at `tick` on `side`.
    public func level(side: Side, tick: Int64) -> Level { levelOf(side, tick) }

    /// The `n` best levels of a side, best first (a top-N snapshot).
    public func top(_ n: Int, side: Side) -> [(tick: Int64, total: Int64)] { ladder(side).top(n) }

    /// Calls `body(tick, total)` over a side's visible levels best first until it returns
    /// false, allocating nothing.
    public func forEachLevel(side: Side, _ body: (Int64, Int64) -> Bool) { ladder(side).forEachBestFirst(body) }

    /// Order ids queued at a level, front first.
    public func queue(side: Side, tick: Int64) -> [UInt64] {
        var out: [UInt64] = []
        var s = ladder(side).level(tick).head
        while s >= 0 { out.append(pool[Int(s)].id); s = pool[Int(s)].next }
        return out
    }

    /// Checks the book's structure; returns the first violation found, or nil.
    /// - Level volume equals the sum of its orders' sizes (plus its unattributed volume) and
    ///   its order count matches its queue; every indexed order sits in the queue of its level.
    /// - The best prices are right; with `requireUncrossed`, best bid < best ask.
    public func checkInvariants(requireUncrossed: Bool = true) -> String? {
        var seen = 0
        for (name, ladder, bidSide) in [("bid", bids, true), ("ask", asks, false)] {
            var bestSeen: Int64?
            for (tick, level) in ladder.allLevels() {
                var sum: Int64 = 0, count: Int32 = 0, s = level.head, last: Int32 = -1
                while s >= 0 {
                    let o = pool[Int(s)]
                    guard index[o.id] == s, o.tick == tick, o.isBid == bidSide, o.prev == last else {
                        return "\(name) level \(tick): order slot \(s) (id \(o.id)) is not linked or indexed consistently"
                    }
                    sum += o.size; count += 1; last = s; s = o.next
                }
                guard last == level.tail else { return "\(name) level \(tick): tail does not end its queue" }
                guard sum == level.attributed, count == level.orders else {
                    return "\(name) level \(tick): orders sum to \(sum) in \(count) orders, level says \(level.attributed) in \(level.orders)"
                }
                seen += Int(count)
                if level.isVisible {
                    bestSeen = bestSeen.map { bidSide ? max($0, tick) : min($0, tick) } ?? tick
                }
            }
            let claimed = ladder.bestTick
            guard claimed == bestSeen else { return "best \(name) is \(claimed.map(String.init) ?? "none"), the levels say \(bestSeen.map(String.init) ?? "none")" }
        }
        guard seen == index.count else { return "\(index.count) orders indexed, \(seen) queued" }
        if requireUncrossed, let b = bestBid, let a = bestAsk, b.tick >= a.tick { return "book crossed: bid \(b.tick) ≥ ask \(a.tick)" }
        return nil
    }
}
