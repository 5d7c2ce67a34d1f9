import RetraceCore
import RetraceMarket

/// The latest market state per instrument: best bid and ask, last trade, and the top of
/// the book (up to `depth` levels a side), indexed by instrument id (no hashing).
///
/// Quotes, trades and bars are written into an instrument's entry as they arrive. A depth
/// event (an L2 level update or an L3 order message) only marks the entry's book part
/// stale: the venue's book already holds every level, so the best bid and ask and the top
/// levels are copied from it when somebody next reads the entry (`Ledger.lastValue`), not
/// after every update, which most of the time nobody reads. The top levels are then the
/// book's, with no gaps: a removed top level is replaced by the next one down.
public struct LastValueCache: Sendable {
    public struct Entry: Equatable, Sendable {
        public var bid: L2Level?
        public var ask: L2Level?
        public var lastTrade: Trade?
        public var updated = Timestamp(nanos: .min)
        /// Best first, at most `depth` levels a side (depth feeds).
        public var bids: [L2Level] = []
        public var asks: [L2Level] = []
        /// The instrument has depth data: its bid, ask and levels come from the book, and
        /// quotes (marks only, as at the venue) leave them alone.
        public internal(set) var hasDepth = false
        /// A depth event came after the book part was last copied.
        public internal(set) var levelsStale = false
    }

    public struct L2Level: Equatable, Sendable {
        public var price: Price
        public var quantity: Quantity
    }

    public struct Trade: Equatable, Sendable {
        public var price: Price
        public var quantity: Quantity
        public var time: Timestamp
    }

    public let depth: Int
    var entries: [Entry] = []

    public init(depth: Int = 5) {
        precondition(depth >= 0, "depth must not be negative")
        self.depth = depth
    }

    /// The entry as cached: for a depth-fed instrument its book part may be stale (see
    /// `entry(_:book:)`).
    subscript(id: InstrumentID) -> Entry? { Int(id.raw) < entries.count ? entries[Int(id.raw)] : nil }

    /// How the cache reads a book: `book(instrument, side, visit)` calls `visit(price, size)`
    /// over the side's recorded levels best first until it returns false.
    public typealias BookReader = (InstrumentID, Side, (Int64, Int64) -> Bool) -> Void

    /// The entry for `id`, its book part first copied from `book` when a depth event made
    /// it stale. Nil before the instrument's first market event.
    public mutating func entry(_ id: InstrumentID, book: BookReader) -> Entry? {
        let i = Int(id.raw)
        guard i < entries.count else { return nil }
        if entries[i].levelsStale { refresh(i, book) }
        return entries[i]
    }

    /// Copies every stale entry's book part (before a snapshot: what is saved then never
    /// depends on what was read).
    mutating func refreshAll(book: BookReader) {
        for i in entries.indices where entries[i].levelsStale { refresh(i, book) }
    }

    private mutating func refresh(_ i: Int, _ book: BookReader) {
        let keep = depth
        let wanted = max(1, keep)  // the best level even when no levels are kept
        let id = InstrumentID(UInt32(i))
        entries.withUnsafeMutableBufferPointer { table in
            let entry = table.baseAddress! + i
            // In place: the arrays keep their capacity, so a refresh allocates nothing (L2).
            for k in 0..<2 {
                let side: Side = k == 0 ? .buy : .sell
                var best: L2Level?
                var n = 0
                if side == .buy { entry.pointee.bids.removeAll(keepingCapacity: true) } else { entry.pointee.asks.removeAll(keepingCapacity: true) }
                book(id, side) { price, size in
                    let level = L2Level(price: Price(raw: price), quantity: Quantity(raw: size))
                    if n == 0 { best = level }
                    if n < keep {
                        if side == .buy { entry.pointee.bids.append(level) } else { entry.pointee.asks.append(level) }
                    }
                    n += 1
                    return n < wanted
                }
                if side == .buy { entry.pointee.bid = best } else { entry.pointee.ask = best }
            }
            entry.pointee.levelsStale = false
        }
    }

    /// Updates from a market event; other events are ignored.
    public mutating func apply(_ event: Event) {
        guard let id = event.body.marketInstrument else { return }
        let i = Int(id.raw)
        if i >= entries.count { grow(to: i) }
        // One uniqueness check of the table per event (each `entries[i]` write made one).
        entries.withUnsafeMutableBufferPointer { table in
            let entry = table.baseAddress! + i
            entry.pointee.updated = event.receiveTime
            switch event.body {
            case .l2LevelUpdated, .orderBookMessage:
                entry.pointee.levelsStale = true
                entry.pointee.hasDepth = true
            case .quoteReceived(let q):
                guard !entry.pointee.hasDepth else { break }
                entry.pointee.bid = q.bidPrice.raw > 0 ? L2Level(price: q.bidPrice, quantity: q.bidQuantity) : nil
                entry.pointee.ask = q.askPrice.raw > 0 ? L2Level(price: q.askPrice, quantity: q.askQuantity) : nil
            case .tradeReceived(let t):
                entry.pointee.lastTrade = Trade(price: t.price, quantity: t.quantity, time: event.receiveTime)
            case .barReceived(let b):
                entry.pointee.lastTrade = Trade(price: b.close, quantity: b.volume, time: event.receiveTime)
            default:
                break
            }
        }
    }

    private mutating func grow(to i: Int) {
        while entries.count <= i {
            var e = Entry()
            e.bids.reserveCapacity(depth)
            e.asks.reserveCapacity(depth)
            entries.append(e)
        }
    }
}

/// A least-recently-used cache with a time to live in engine time, for reference data
/// (instrument details, fee tiers, symbol maps). O(1) get and put: a hash map to slots of a
/// doubly linked recency list held in arrays. Nothing iterates the map, so no hash order
/// leaks out; eviction order is the recency order.
public struct LRUCache<Key: Hashable, Value> {
    struct Slot {
        var key: Key
        var value: Value
        var expires: Int64
        var prev: Int
        var next: Int
    }

    public let capacity: Int
    public let ttlNanos: Int64
    var index: [Key: Int] = [:]
    var slots: [Slot] = []
    var head = -1  // most recent
    var tail = -1  // least recent
    public private(set) var hits = 0
    public private(set) var misses = 0
    public private(set) var evictions = 0

    public init(capacity: Int, ttlNanos: Int64) {
        precondition(capacity > 0 && ttlNanos > 0, "an LRU cache needs a positive capacity and time to live")
        self.capacity = capacity
        self.ttlNanos = ttlNanos
        index.reserveCapacity(capacity)
        slots.reserveCapacity(capacity)
    }

    public var count: Int { index.count }

    /// The value for `key` if present and not expired at `now` (an expired entry is dropped).
    /// The most recent entry is compared first, without hashing: a run that asks about one
    /// instrument again and again pays one key comparison.
    public mutating func get(_ key: Key, now: Int64) -> Value? {
        if head >= 0, slots[head].key == key, slots[head].expires > now {
            hits += 1
            return slots[head].value
        }
        guard let i = index[key] else { misses += 1; return nil }
        if slots[i].expires <= now {
            remove(i)
            misses += 1
            return nil
        }
        moveToFront(i)
        hits += 1
        return slots[i].value
    }

    /// Stores `value` for `key`, valid until `now + ttl` or `until` if that is earlier (data
    /// known to change at a time); evicts the least recently used entry when full.
    public mutating func put(_ key: Key, _ value: Value, now: Int64, until: Int64 = .max) {
        let expires = min(now &+ ttlNanos, until)
        if let i = index[key] {
            slots[i].value = value
            slots[i].expires = expires
            moveToFront(i)
            return
        }
        let i: Int
        if slots.count < capacity {
            i = slots.count
            slots.append(Slot(key: key, value: value, expires: expires, prev: -1, next: -1))
        } else {
            i = tail
            unlink(i)
            index[slots[i].key] = nil
            evictions += 1
            slots[i] = Slot(key: key, value: value, expires: expires, prev: -1, next: -1)
        }
        index[key] = i
        linkFront(i)
    }

    /// Keys from most to least recently used (for inspection; recency order, never hash order).
    public var keysByRecency: [Key] {
        var out: [Key] = []
        var i = head
        while i >= 0 { out.append(slots[i].key); i = slots[i].next }
        return out
    }

    mutating func remove(_ i: Int) {
        unlink(i)
        index[slots[i].key] = nil
        // Keep the slot array dense: move the last slot into the hole.
        let last = slots.count - 1
        if i != last {
            let moved = slots[last]
            slots[i] = moved
            index[moved.key] = i
            if moved.prev >= 0 { slots[moved.prev].next = i } else { head = i }
            if moved.next >= 0 { slots[moved.next].prev = i } else { tail = i }
        }
        slots.removeLast()
    }

    mutating func unlink(_ i: Int) {
        let (p, n) = (slots[i].prev, slots[i].next)
        if p >= 0 { slots[p].next = n } else { head = n }
        if n >= 0 { slots[n].prev = p } else { tail = p }
        slots[i].prev = -1
        slots[i].next = -1
    }

    mutating func linkFront(_ i: Int) {
        slots[i].next = head
        slots[i].prev = -1
        if head >= 0 { slots[head].prev = i }
        head = i
        if tail < 0 { tail = i }
    }

    mutating func moveToFront(_ i: Int) {
        guard head != i else { return }
        unlink(i)
        linkFront(i)
    }
}

/// Drops feed messages whose id was already seen among the last `window` ids: a Bloom
/// filter answers "certainly new" for most messages at the cost of a few bit reads, and an
/// exact set of the window's ids confirms a suspected duplicate. The Bloom filter is two
/// halves that rotate every `window` insertions, so it forgets ids older than about two
/// windows; the exact set forgets ids older than one window. Hashing is a fixed mix (not
/// Swift's per-process seeded `Hasher`), so decisions are the same in every process.
///
/// Only messages that carry an id meant to be unique are checked (trade ids); messages that
/// are identical but distinct events (LOBSTER rows) are never passed in.
public struct Deduplicator: Sendable {
    public let window: Int
    let bits: Int
    var filters: [[UInt64]]
    var current = 0
    var insertedInCurrent = 0
    /// The window's ids in arrival order (a ring) and an exact index of them.
    var ring: [UInt64]
    var ringNext = 0
    var ringCount = 0
    var exact: OrderIndex
    public private(set) var dropped = 0
    public private(set) var checked = 0
    public private(set) var bloomPositives = 0

    /// The tables (about 1.5 MB for the default window) are made on the first id checked:
    /// a run whose feed carries no trade ids (quotes, depth) never pays for zeroing them.
    public init(window: Int = 65_536) {
        precondition(window > 0, "dedup window must be positive")
        self.window = window
        var b = 64
        while b < window * 10 { b *= 2 }  // about 10 bits per id: ~1 % false positives with 4 probes
        bits = b
        filters = [[], []]
        ring = []
        exact = OrderIndex(capacity: 0)
    }

    /// Whether the tables exist yet (an empty deduplicator behaves as all-zero tables).
    var allocated: Bool { !ring.isEmpty }

    mutating func allocate() {
        filters = [[UInt64](repeating: 0, count: bits / 64), [UInt64](repeating: 0, count: bits / 64)]
        ring = [UInt64](repeating: 0, count: window)
        exact = OrderIndex(capacity: window)
    }

    /// The fixed hash: SplitMix64's first output for seed `x` (its mixing function).
    @inline(__always) public static func mix(_ x: UInt64) -> UInt64 {
        var g = SplitMix64(seed: x)
        return g.next()
    }

    /// Whether `id` (already scoped, e.g. instrument and trade id mixed) is new; records it.
    /// Returns false for a duplicate within the window (counted in `dropped`).
    public mutating func isNew(_ id: UInt64) -> Bool {
        if !allocated { allocate() }
        checked += 1
        let h = Self.mix(id)
        let (h1, h2) = (h, (h >> 32) | 1)
        var maybe = true
        for f in 0..<2 {
            var all = true
            for k in 0..<4 {
                let bit = Int((h1 &+ UInt64(k) &* h2) % UInt64(bits))
                if filters[f][bit >> 6] & (1 << UInt64(bit & 63)) == 0 { all = false; break }
            }
            maybe = all
            if all { break }
        }
        if maybe {
            bloomPositives += 1
            if exact[id] != nil { dropped += 1; return false }
        }
        insert(id, h1, h2)
        return true
    }

    mutating func insert(_ id: UInt64, _ h1: UInt64, _ h2: UInt64) {
        if insertedInCurrent == window {
            current ^= 1
            for w in filters[current].indices { filters[current][w] = 0 }
            insertedInCurrent = 0
        }
        for k in 0..<4 {
            let bit = Int((h1 &+ UInt64(k) &* h2) % UInt64(bits))
            filters[current][bit >> 6] |= 1 << UInt64(bit & 63)
        }
        insertedInCurrent += 1
        if ringCount == window { exact.remove(ring[ringNext]) } else { ringCount += 1 }
        ring[ringNext] = id
        ringNext = (ringNext + 1) % window
        _ = exact.insert(id, 0)
    }
}

extension LastValueCache.L2Level: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.put(price); w.put(quantity) }
    public init(state r: inout StateReader) throws(CoreError) { self.init(price: try r.get(), quantity: try r.get()) }
}

extension LastValueCache.Trade: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.put(price); w.put(quantity); w.put(time) }
    public init(state r: inout StateReader) throws(CoreError) { self.init(price: try r.get(), quantity: try r.get(), time: try r.get()) }
}

extension LastValueCache.Entry: StateCodable {
    public func saveState(_ w: inout StateWriter) {
        precondition(!levelsStale, "a last-value entry is refreshed before it is saved")
        w.put(bid); w.put(ask); w.put(lastTrade); w.put(updated); w.put(bids); w.put(asks); w.put(hasDepth)
    }
    public init(state r: inout StateReader) throws(CoreError) {
        self.init()
        (bid, ask, lastTrade, updated, bids, asks, hasDepth) = (try r.get(), try r.get(), try r.get(), try r.get(), try r.array(), try r.array(), try r.get())
    }
}

extension LastValueCache {
    func saveState(_ w: inout StateWriter) { w.put(entries) }
    mutating func restoreState(_ r: inout StateReader) throws(CoreError) {
        entries = try r.array()
        for i in entries.indices {
            entries[i].bids.reserveCapacity(depth)
            entries[i].asks.reserveCapacity(depth)
        }
    }
}

extension Deduplicator {
    func saveState(_ w: inout StateWriter) {
        // Saved as full tables either way, so a snapshot does not depend on whether an id
        // was seen yet.
        var full = self
        if !full.allocated { full.allocate() }
        w.put(window)
        w.put(sparse: full.filters[0], empty: 0)
        w.put(sparse: full.filters[1], empty: 0)
        w.put(current)
        w.put(insertedInCurrent)
        w.put(sparse: full.ring, empty: 0)
        w.put(ringNext)
        w.put(ringCount)
        w.put(full.exact)
        w.put(dropped)
        w.put(checked)
        w.put(bloomPositives)
    }

    mutating func restoreState(_ r: inout StateReader) throws(CoreError) {
        let saved: Int = try r.get()
        guard saved == window else { throw CoreError(.invalidState, "engine state: dedup window \(saved), this run has \(window)") }
        filters = [try r.sparse(empty: 0), try r.sparse(empty: 0)]
        (current, insertedInCurrent) = (try r.get(), try r.get())
        ring = try r.sparse(empty: 0)
        (ringNext, ringCount) = (try r.get(), try r.get())
        exact = try r.get()
        (dropped, checked, bloomPositives) = (try r.get(), try r.get(), try r.get())
        guard filters.allSatisfy({ $0.count == bits / 64 }), ring.count == window, (0...1).contains(current) else {
            throw CoreError(.invalidState, "engine state: dedup tables do not match its window of \(window)")
        }
    }
}
