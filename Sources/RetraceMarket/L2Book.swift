import Foundation
import RetraceCore

/// An aggregated price-level (L2) book for one instrument. Fed by L2 level updates or, for
/// BBO-only feeds, by quotes.
///
/// Each side is a `PriceLadder`: level quantities in an array indexed by price (in units
/// of `tickSize` raw price), with an occupancy bitmap so the next level after the best one
/// is found a 64-slot word at a time. The window re-bases and doubles to follow prices up
/// to `PriceLadder.maxSlots`; levels farther away live in a small sorted overflow list.
/// Setting a level is O(1) (amortised); the best price is O(1).
public struct L2Book: Sendable {
    /// A price level.
    public struct Level: Equatable, Sendable {
        public var price: Price
        public var quantity: Quantity
        public init(price: Price, quantity: Quantity) { (self.price, self.quantity) = (price, quantity) }
    }

    /// Raw price units per ladder slot (1 when the tick size is unknown).
    public let tickSize: Int64
    var bidLadder: PriceLadder
    var askLadder: PriceLadder
    /// Set while the book is fed by quotes (BBO only): the touch, without the ladders.
    var quoted: (bid: Level?, ask: Level?)?

    public init(tickSize: Int64 = 1) {
        precondition(tickSize > 0, "tick size must be positive")
        self.tickSize = tickSize
        bidLadder = PriceLadder(isBid: true)
        askLadder = PriceLadder(isBid: false)
    }

    /// Best bid, if any.
    @inlinable public var bestBid: Level? { best(.buy) }
    /// Best ask, if any.
    @inlinable public var bestAsk: Level? { best(.sell) }

    /// The best level of a side.
    @inline(__always)
    public func best(_ side: Side) -> Level? {
        if let quoted { return side == .buy ? quoted.bid : quoted.ask }
        if side == .buy {
            guard let t = bidLadder.bestTick else { return nil }
            return Level(price: Price(raw: t * tickSize), quantity: Quantity(raw: bidLadder.quantity(t)))
        }
        guard let t = askLadder.bestTick else { return nil }
        return Level(price: Price(raw: t * tickSize), quantity: Quantity(raw: askLadder.quantity(t)))
    }

    /// The best raw price of a side (nil when it is empty): `best(side)?.price.raw` without
    /// looking the quantity up. Inlined, it reads the ladders in place (the venue asks for
    /// the touch several times per event).
    @inline(__always)
    public func bestPrice(_ side: Side) -> Int64? {
        if let quoted { return (side == .buy ? quoted.bid : quoted.ask)?.price.raw }
        guard let t = side == .buy ? bidLadder.bestTick : askLadder.bestTick else { return nil }
        return t * tickSize
    }

    /// Every bid, highest price first.
    public var bids: [Level] { top(Int.max).bids }
    /// Every ask, lowest price first.
    public var asks: [Level] { top(Int.max).asks }

    /// Number of levels on a side.
    public func levelCount(_ side: Side) -> Int {
        if let quoted { return (side == .buy ? quoted.bid : quoted.ask) == nil ? 0 : 1 }
        return side == .buy ? bidLadder.count : askLadder.count
    }

    /// Sets one level: quantity 0 removes it. A price off the tick grid traps (the book's
    /// tick size must divide every price it is given).
    @inlinable
    public mutating func apply(_ update: L2LevelUpdated) {
        set(side: update.side, price: update.price, quantity: update.quantity)
    }

    /// Sets the level at `price` on `side` to `quantity` (0 removes it).
    public mutating func set(side: Side, price: Price, quantity: Quantity) {
        precondition(quantity.raw >= 0, "negative level quantity \(quantity.raw)")
        precondition(onTick(price.raw), "price \(price.raw) is not a multiple of the tick size \(tickSize)")
        if quoted != nil { quoted = nil }  // level data replaces a quote feed's touch
        if side == .buy { bidLadder.set(tick(price.raw), quantity.raw) } else { askLadder.set(tick(price.raw), quantity.raw) }
    }

    /// The ladder index of a raw price that is a multiple of the tick size. A tick of one
    /// raw unit (the simulated venue's books) skips the division: a 64-bit `idiv` is
    /// 10–20 cycles of latency, and every level update made two.
    @inline(__always)
    func tick(_ raw: Int64) -> Int64 { tickSize == 1 ? raw : raw / tickSize }

    /// Whether a raw price is a multiple of the tick size (without a division for a tick of one).
    @inline(__always)
    func onTick(_ raw: Int64) -> Bool { tickSize == 1 || raw % tickSize == 0 }

    /// Replaces the top of book with a quote (BBO feeds carry no depth). A side with a
    /// price but size 0 is kept: feeds without sizes (FX ticks) still set the touch.
    public mutating func apply(_ quote: QuoteReceived) {
        if quoted == nil {
            bidLadder.removeAll()
            askLadder.removeAll()
        }
        quoted = (quote.bidPrice.raw > 0 ? Level(price: quote.bidPrice, quantity: quote.bidQuantity) : nil,
                  quote.askPrice.raw > 0 ? Level(price: quote.askPrice, quantity: quote.askQuantity) : nil)
    }

    /// Quantity resting at `price` on `side` (zero when there is no level).
    @inline(__always)
    public func depth(side: Side, price: Price) -> Quantity {
        if let quoted {
            let l = side == .buy ? quoted.bid : quoted.ask
            return l?.price == price ? l!.quantity : .zero
        }
        guard onTick(price.raw) else { return .zero }
        return Quantity(raw: side == .buy ? bidLadder.quantity(tick(price.raw)) : askLadder.quantity(tick(price.raw)))
    }

    /// The best `n` levels of each side, best first.
    public func top(_ n: Int) -> (bids: [Level], asks: [Level]) {
        if let quoted { return (n > 0 ? quoted.bid.map { [$0] } ?? [] : [], n > 0 ? quoted.ask.map { [$0] } ?? [] : []) }
        func levels(_ l: PriceLadder) -> [Level] {
            var out: [Level] = []
            l.forEachBestFirst { tick, q in
                guard out.count < n else { return false }
                out.append(Level(price: Price(raw: tick * tickSize), quantity: Quantity(raw: q)))
                return true
            }
            return out
        }
        return (levels(bidLadder), levels(askLadder))
    }

    /// Whether the best bid is at or above the best ask.
    public var isCrossed: Bool {
        if let quoted, let b = quoted.bid, let a = quoted.ask { return b.price >= a.price }
        guard let b = bidLadder.bestTick, let a = askLadder.bestTick else { return false }
        return b >= a
    }

    /// Checks the book's structure; returns the first violation found, or nil: levels and
    /// bitmap agree, the best prices are right, no negative sizes, the level count is right.
    /// With `requireUncrossed`, best bid < best ask. (A BBO feed may be locked or crossed for
    /// an instant; that is data, not a bug, so the default does not require it.)
    public func checkInvariants(requireUncrossed: Bool = false) -> String? {
        for (name, l) in [("bid", bidLadder), ("ask", askLadder)] {
            if let problem = l.check() { return "\(name) side: \(problem)" }
        }
        if requireUncrossed && isCrossed { return "book crossed: bid \(bestBid!.price.raw) ≥ ask \(bestAsk!.price.raw)" }
        return nil
    }
}

/// One side of a price-level book: quantities by tick over a re-basing window plus a
/// sorted overflow for far prices. Ticks are signed integers (price / tick size).
struct PriceLadder: Sendable {
    static let initialSlots = 4096
    static let maxSlots = 1 << 20

    let isBid: Bool
    /// Tick of slot 0.
    var base: Int64 = 0
    var quantities = LadderSlots()
    /// Bit `i % 64` of word `i / 64` is set when slot `i` holds a level.
    var words: [UInt64] = []
    /// Levels outside the window, sorted by tick.
    var overflow: [(tick: Int64, quantity: Int64)] = []
    /// Best level tick inside the window (`Int64.min` when none).
    var windowBest: Int64 = .min
    /// Levels on this side (window and overflow).
    var count = 0

    init(isBid: Bool) { self.isBid = isBid }

    @inline(__always) func better(_ a: Int64, _ b: Int64) -> Bool { isBid ? a > b : a < b }

    /// The best tick overall.
    @inline(__always)
    var bestTick: Int64? {
        let w: Int64? = windowBest == .min ? nil : windowBest
        guard !overflow.isEmpty else { return w }
        let far = isBid ? overflow[overflow.count - 1].tick : overflow[0].tick
        guard let w else { return far }
        return better(far, w) ? far : w
    }

    @inline(__always)
    func quantity(_ tick: Int64) -> Int64 {
        let i = tick &- base
        if i >= 0 && i < Int64(quantities.count) { return quantities[Int(i)] }
        guard !overflow.isEmpty, let k = overflowIndex(tick) else { return 0 }
        return overflow[k].quantity
    }

    func overflowIndex(_ tick: Int64) -> Int? {
        var lo = 0, hi = overflow.count
        while lo < hi { let mid = (lo + hi) / 2; if overflow[mid].tick < tick { lo = mid + 1 } else { hi = mid } }
        return lo < overflow.count && overflow[lo].tick == tick ? lo : nil
    }

    /// Sets the level at `tick` (0 removes it, unless `keepEmpty` — a quote with no size).
    @inline(__always)
    mutating func set(_ tick: Int64, _ quantity: Int64, keepEmpty: Bool = false) {
        let present = quantity != 0 || keepEmpty
        let i = tick &- base
        if i >= 0 && i < Int64(quantities.count) {
            setSlot(Int(i), tick, quantity, present)
        } else if present, let slot = grow(toCover: tick) {
            setSlot(slot, tick, quantity, present)
        } else {
            setOverflow(tick, quantity, present)
        }
    }

    @inline(__always)
    private mutating func setSlot(_ i: Int, _ tick: Int64, _ quantity: Int64, _ present: Bool) {
        let (w, bit) = (i >> 6, UInt64(1) << UInt64(i & 63))
        let was = words[w] & bit != 0
        quantities[i] = quantity
        if present {
            if !was { words[w] |= bit; count += 1 }
            if windowBest == .min || better(tick, windowBest) { windowBest = tick }
        } else if was {
            words[w] &= ~bit
            count -= 1
            if tick == windowBest {
                // The last window level gone (the usual case for a quote feed): nothing to scan.
                windowBest = count == overflow.count ? .min : scan(after: i).map { base + Int64($0) } ?? .min
            }
        }
    }

    private mutating func setOverflow(_ tick: Int64, _ quantity: Int64, _ present: Bool) {
        var lo = 0, hi = overflow.count
        while lo < hi { let mid = (lo + hi) / 2; if overflow[mid].tick < tick { lo = mid + 1 } else { hi = mid } }
        let exists = lo < overflow.count && overflow[lo].tick == tick
        switch (exists, present) {
        case (true, true): overflow[lo].quantity = quantity
        case (true, false): overflow.remove(at: lo); count -= 1
        case (false, true): overflow.insert((tick, quantity), at: lo); count += 1
        case (false, false): break
        }
    }

    /// The next occupied slot after `i` going away from the inside (down for bids).
    func scan(after i: Int) -> Int? {
        if isBid {
            let j = i - 1
            guard j >= 0 else { return nil }
            var w = j >> 6
            var word = words[w] & (UInt64.max >> UInt64(63 - (j & 63)))
            while true {
                if word != 0 { return w << 6 + (63 - word.leadingZeroBitCount) }
                w -= 1
                guard w >= 0 else { return nil }
                word = words[w]
            }
        } else {
            let j = i + 1
            guard j < quantities.count else { return nil }
            var w = j >> 6
            var word = words[w] & (UInt64.max << UInt64(j & 63))
            while true {
                if word != 0 { return w << 6 + word.trailingZeroBitCount }
                w += 1
                guard w < words.count else { return nil }
                word = words[w]
            }
        }
    }

    /// Grows (re-bases) the window so it covers `tick`, if that keeps it within `maxSlots`.
    /// Returns the tick's slot, or nil (the tick then goes to the overflow).
    private mutating func grow(toCover tick: Int64) -> Int? {
        if quantities.isEmpty {
            base = tick - Int64(PriceLadder.initialSlots / 2)
            quantities = LadderSlots(zeroed: PriceLadder.initialSlots)
            words = [UInt64](repeating: 0, count: PriceLadder.initialSlots / 64)
            absorbOverflow()
            return Int(tick - base)
        }
        let lo = min(base, tick), hi = max(base + Int64(quantities.count), tick + 1)
        guard hi - lo <= Int64(PriceLadder.maxSlots) else {
            // The window cannot stretch that far. If it is empty, move it instead.
            guard count == overflow.count else { return nil }
            base = tick - Int64(quantities.count / 2)
            absorbOverflow()
            return Int(tick - base)
        }
        var size = quantities.count
        while Int64(size) < hi - lo { size *= 2 }
        size = min(size, PriceLadder.maxSlots)
        let newBase = tick < base ? hi - Int64(size) : lo
        var q = LadderSlots(zeroed: size)
        var w = [UInt64](repeating: 0, count: size / 64)
        let shift = Int(base - newBase)
        forEachWindowSlot { i in
            q[i + shift] = quantities[i]
            w[(i + shift) >> 6] |= UInt64(1) << UInt64((i + shift) & 63)
        }
        quantities = q
        words = w
        base = newBase
        absorbOverflow()
        return Int(tick - base)
    }

    /// Moves overflow levels that now fall inside the window into it.
    private mutating func absorbOverflow() {
        guard !overflow.isEmpty else { return }
        let size = Int64(quantities.count)
        var kept: [(tick: Int64, quantity: Int64)] = []
        for e in overflow {
            let i = e.tick - base
            if i >= 0 && i < size {
                quantities[Int(i)] = e.quantity
                words[Int(i) >> 6] |= UInt64(1) << UInt64(Int(i) & 63)
                if windowBest == .min || better(e.tick, windowBest) { windowBest = e.tick }
            } else {
                kept.append(e)
            }
        }
        overflow = kept
    }

    private func forEachWindowSlot(_ body: (Int) -> Void) {
        for (w, word) in words.enumerated() where word != 0 {
            var bits = word
            while bits != 0 {
                body(w << 6 + bits.trailingZeroBitCount)
                bits &= bits - 1
            }
        }
    }

    /// Removes every level (cheap when few levels exist: walks from the best one).
    mutating func removeAll() {
        while windowBest != .min { set(windowBest, 0) }
        overflow.removeAll(keepingCapacity: true)
        count = 0
    }

    /// Calls `body(tick, quantity)` best first until it returns false.
    func forEachBestFirst(_ body: (Int64, Int64) -> Bool) {
        var slot: Int? = windowBest == .min ? nil : Int(windowBest - base)
        if overflow.isEmpty {
            while let s = slot {
                guard body(base + Int64(s), quantities[s]) else { return }
                slot = scan(after: s)
            }
            return
        }
        // Overflow levels lie below the window (a prefix of the sorted list) or above it (the
        // rest). Best first: the overflow on the inside of the window (better than any window
        // level), then the window, then the overflow on the outside; walked in place, with
        // no list built (this runs on every read of the last-value cache).
        let end = base + Int64(quantities.count)
        var k = 0
        while k < overflow.count && overflow[k].tick < end { k += 1 }
        let below = 0..<k, above = k..<overflow.count
        // Visits overflow levels best first (descending ticks for bids); false once `body` stops.
        func visit(_ range: Range<Int>) -> Bool {
            if isBid {
                for i in range.reversed() { guard body(overflow[i].tick, overflow[i].quantity) else { return false } }
            } else {
                for i in range { guard body(overflow[i].tick, overflow[i].quantity) else { return false } }
            }
            return true
        }
        guard visit(isBid ? above : below) else { return }
        while let s = slot {
            guard body(base + Int64(s), quantities[s]) else { return }
            slot = scan(after: s)
        }
        _ = visit(isBid ? below : above)
    }

    func check() -> String? {
        var n = overflow.count
        var bestSeen: Int64?
        for i in 0..<quantities.count {
            let q = quantities[i]
            let occupied = words[i >> 6] & (UInt64(1) << UInt64(i & 63)) != 0
            if !occupied && q != 0 { return "slot \(base + Int64(i)) holds \(q) but is not marked" }
            if occupied {
                if q < 0 { return "negative level \(q) at \(base + Int64(i))" }
                n += 1
                let t = base + Int64(i)
                if bestSeen.map({ better(t, $0) }) ?? true { bestSeen = t }
            }
        }
        for k in overflow.indices.dropFirst() where overflow[k - 1].tick >= overflow[k].tick { return "overflow out of order at \(overflow[k].tick)" }
        guard n == count else { return "count \(count), levels \(n)" }
        guard (windowBest == .min ? nil : windowBest) == bestSeen else { return "best \(windowBest), levels say \(bestSeen.map(String.init) ?? "none")" }
        return nil
    }
}

/// The level quantities of a ladder's window: zeroed memory from `calloc`, so a wide window
/// costs only the pages its levels touch. (An array filled with zeros touched every page: on
/// the Binance recording, whose updates range from 560 to 621,368 USDT, each side's window
/// grew to 2²⁰ slots, and zeroing them was 8,000 of the run's 10,000 page faults.)
/// Copy-on-write, like the array it replaces.
struct LadderSlots: @unchecked Sendable {
    final class Storage {
        let count: Int
        let base: UnsafeMutablePointer<Int64>
        init(count: Int) {
            self.count = count
            // SAFETY: calloc returns zeroed memory for `count` Int64s (at least one byte).
            guard let raw = calloc(max(count, 1), MemoryLayout<Int64>.stride) else { fatalError("out of memory for a price ladder of \(count) slots") }
            base = raw.assumingMemoryBound(to: Int64.self)
        }
        deinit { free(base) }
    }

    private var storage: Storage?

    init() {}

    /// `count` slots, all zero.
    init(zeroed count: Int) { storage = Storage(count: count) }

    /// The slots of `values` (a restored snapshot).
    init(_ values: [Int64]) {
        guard !values.isEmpty else { return }
        let s = Storage(count: values.count)
        values.withUnsafeBufferPointer { s.base.update(from: $0.baseAddress!, count: values.count) }
        storage = s
    }

    var count: Int { storage?.count ?? 0 }
    var isEmpty: Bool { count == 0 }

    /// Every slot, in order, read in place (snapshots: no copy of a wide window).
    func withSlots<R>(_ body: (UnsafeBufferPointer<Int64>) -> R) -> R {
        body(UnsafeBufferPointer(start: storage?.base, count: count))
    }

    @inline(__always)
    subscript(i: Int) -> Int64 {
        get {
            precondition(i >= 0 && i < count, "ladder slot \(i) outside 0..<\(count)")
            return storage.unsafelyUnwrapped.base[i]
        }
        set {
            precondition(i >= 0 && i < count, "ladder slot \(i) outside 0..<\(count)")
            if !isKnownUniquelyReferenced(&storage) {
                let copy = Storage(count: count)
                copy.base.update(from: storage.unsafelyUnwrapped.base, count: count)
                storage = copy
            }
            storage.unsafelyUnwrapped.base[i] = newValue
        }
    }
}
