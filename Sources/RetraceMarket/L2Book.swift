import RetraceCore

/// An aggregated price-level book for one instrument: bids best (highest) first,
/// asks best (lowest) first. Fed by L2 level updates or, for BBO feeds, by quotes.
///
/// Complexity: updates are O(log n) to find the level plus O(n) to insert or remove it
/// (levels are kept in sorted arrays; books here are shallow). BBO is O(1).
public struct L2Book: Sendable {
    /// A price level.
    public struct Level: Equatable, Sendable {
        public var price: Price
        public var quantity: Quantity
        public init(price: Price, quantity: Quantity) { (self.price, self.quantity) = (price, quantity) }
    }

    /// Bids, highest price first.
    public private(set) var bids: [Level] = []
    /// Asks, lowest price first.
    public private(set) var asks: [Level] = []

    public init() {}

    /// Best bid, if any.
    @inlinable public var bestBid: Level? { bids.first }
    /// Best ask, if any.
    @inlinable public var bestAsk: Level? { asks.first }

    /// Sets one level: quantity 0 removes it.
    public mutating func apply(_ update: L2LevelUpdated) {
        precondition(update.quantity.raw >= 0, "negative level quantity \(update.quantity.raw)")
        if update.side == .buy { L2Book.set(&bids, update.price, update.quantity, descending: true) }
        else { L2Book.set(&asks, update.price, update.quantity, descending: false) }
    }

    /// Replaces the top of book with a quote (BBO feeds carry no depth). A side with a
    /// price but size 0 is kept: feeds without sizes (FX ticks) still set the touch.
    public mutating func apply(_ quote: QuoteReceived) {
        bids.removeAll(keepingCapacity: true)
        asks.removeAll(keepingCapacity: true)
        if quote.bidPrice.raw > 0 { bids.append(Level(price: quote.bidPrice, quantity: quote.bidQuantity)) }
        if quote.askPrice.raw > 0 { asks.append(Level(price: quote.askPrice, quantity: quote.askQuantity)) }
    }

    /// Quantity resting at `price` on `side` (zero when there is no level).
    public func depth(side: Side, price: Price) -> Quantity {
        let levels = side == .buy ? bids : asks
        let i = L2Book.index(levels, price, descending: side == .buy)
        return i < levels.count && levels[i].price == price ? levels[i].quantity : .zero
    }

    /// The best `n` levels of each side.
    public func top(_ n: Int) -> (bids: ArraySlice<Level>, asks: ArraySlice<Level>) {
        (bids.prefix(n), asks.prefix(n))
    }

    /// Traps if the book is inconsistent: unsorted or duplicate levels, negative sizes.
    /// (A BBO feed may be locked or crossed for an instant, or carry no sizes; that is
    /// data, not a bug. L2 updates of size 0 remove their level.)
    public func checkInvariants() {
        for i in bids.indices {
            precondition(bids[i].quantity.raw >= 0, "negative bid level at \(bids[i].price.raw)")
            if i > 0 { precondition(bids[i - 1].price > bids[i].price, "bids out of order at level \(i)") }
        }
        for i in asks.indices {
            precondition(asks[i].quantity.raw >= 0, "negative ask level at \(asks[i].price.raw)")
            if i > 0 { precondition(asks[i - 1].price < asks[i].price, "asks out of order at level \(i)") }
        }
    }

    static func index(_ levels: [Level], _ price: Price, descending: Bool) -> Int {
        var lo = 0, hi = levels.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let before = descending ? levels[mid].price > price : levels[mid].price < price
            if before { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    static func set(_ levels: inout [Level], _ price: Price, _ quantity: Quantity, descending: Bool) {
        let i = index(levels, price, descending: descending)
        let exists = i < levels.count && levels[i].price == price
        switch (exists, quantity.raw == 0) {
        case (true, true): levels.remove(at: i)
        case (true, false): levels[i].quantity = quantity
        case (false, false): levels.insert(Level(price: price, quantity: quantity), at: i)
        case (false, true): break
        }
    }
}
