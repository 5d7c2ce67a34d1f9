import RetraceCore

/// What a venue says about one of our orders, stamped with the venue-side time it
/// happened (the strategy hears it an ack latency later).
public enum VenueAnswer: Equatable, Sendable {
    case accepted(OrderAccepted)
    case rejected(OrderRejected)
    case canceled(OrderCanceled)
    case filled(OrderFilled)
    case modified(OrderModified)
}

/// Matching of our orders against one instrument's recorded depth (L2 levels or L3
/// order-level messages) at one venue.
///
/// The recorded book is the truth and our orders do not change it (no market impact).
/// - **Taking:** an order that crosses walks the opposite levels best first, taking at most
///   each level's recorded size less what we already took there since the level last
///   changed. Market orders and IOC cancel what is left; FOK fills whole or is cancelled
///   whole; post-only orders that would cross are rejected; limit orders rest the rest.
/// - **Resting:** a passive order joins the back of its level: the volume ahead is the
///   level's recorded size on arrival. With L3 data it is then exact: cancels and
///   executions of orders that arrived before ours (or of volume with no known order,
///   which was there before us) move us up; adds queue behind us; an execution that
///   reaches past the queue ahead fills us. With L2 data the `QueueModel` says how a
///   shrinking level moves us; trades at our price always reduce the queue ahead first and
///   the excess fills us. A trade (or execution) at a price worse than ours on our side, or
///   an opposite level at or through our price, means the market went through us: the
///   order fills whole at its price.
/// - **Self-trade prevention** applies when an incoming order would meet one of our resting
///   orders on the other side.
public final class DepthMarket {
    /// One of our passive orders.
    public struct Resting: Equatable, Sendable {
        public var order: OrderSubmitted
        public var price: Int64
        public var leaves: Int64
        /// Recorded volume ahead of us at our price.
        public var ahead: Int64
        /// L3: the book's arrival counter when we joined (orders numbered below are ahead).
        var arrival: UInt64
        /// L2: volume traded at our price since the level last changed.
        var traded: Int64 = 0
    }

    public let instrument: Instrument
    public internal(set) var l2: L2Book
    /// The order-level book, once the data has order-level messages.
    public internal(set) var l3: L3Book?
    /// Our passive orders, in time priority.
    public internal(set) var resting: [Resting] = []
    /// Liquidity we took from recorded levels that the data has not updated since.
    var consumed: [Taken] = []
    struct Taken { var side: Side; var price: Int64; var quantity: Int64 }

    public init(instrument: Instrument, tickSize: Int64 = 1) {
        self.instrument = instrument
        l2 = L2Book(tickSize: tickSize)
    }

    // MARK: - Book views

    /// Recorded size at a price.
    public func depth(side: Side, price: Int64) -> Int64 {
        if let l3 { return max(0, l3.depth(side: side, tick: price)) }
        return readL2 { $0.depth(side: side, price: Price(raw: price)).raw }
    }

    /// The best recorded price of a side. Inlined for L2 books (asked several times an
    /// event: the strategy's touch, the crossing checks).
    @inline(__always)
    public func best(_ side: Side) -> Int64? {
        if l3 == nil { return readL2 { $0.bestPrice(side) } }
        return bestOrderLevel(side)
    }

    private func bestOrderLevel(_ side: Side) -> Int64? {
        guard let l3 else { return nil }
        return (side == .buy ? l3.bestBid : l3.bestAsk)?.tick
    }

    /// Runs `body` on the L2 book in place. Reading a struct stored in a class through a
    /// plain property access copies it (retaining its arrays) on every call; an in-place
    /// access does not, and these reads run on every market event.
    @inline(__always)
    private func readL2<R>(_ body: (inout L2Book) -> R) -> R { body(&l2) }

    /// Calls `body(price, size)` over a side's recorded levels best first until it returns
    /// false, allocating nothing (L2 or L3).
    public func forEachLevel(_ side: Side, _ body: (Int64, Int64) -> Bool) {
        if let l3 {
            l3.forEachLevel(side: side, body)
            return
        }
        readL2 { book in
            let tick = book.tickSize
            if side == .buy { book.bidLadder.forEachBestFirst { t, q in body(t * tick, q) } } else { book.askLadder.forEachBestFirst { t, q in body(t * tick, q) } }
        }
    }

    private func taken(_ side: Side, _ price: Int64) -> Int64 {
        for c in consumed where c.side == side && c.price == price { return c.quantity }
        return 0
    }

    private func take(_ side: Side, _ price: Int64, _ quantity: Int64) {
        for i in consumed.indices where consumed[i].side == side && consumed[i].price == price {
            consumed[i].quantity += quantity
            return
        }
        consumed.append(Taken(side: side, price: price, quantity: quantity))
    }

    private func levelChanged(_ side: Side, _ price: Int64) {
        guard !consumed.isEmpty else { return }
        for i in consumed.indices where consumed[i].side == side && consumed[i].price == price {
            consumed.remove(at: i)
            return
        }
    }

    @inline(__always) static func crosses(_ side: Side, limit: Int64, price: Int64) -> Bool {
        side == .buy ? price <= limit : price >= limit
    }

    // MARK: - Orders

    /// Context for one call: settings, the sizing hook, and where answers go.
    public struct Context {
        public var settings: VenueSettings
        /// Whole units an all-in order may take at a price (the account's funds).
        public var allIn: (Price, Rate) -> Quantity
        public var answers: [VenueAnswer] = []
        public init(settings: VenueSettings, allIn: @escaping (Price, Rate) -> Quantity) { (self.settings, self.allIn) = (settings, allIn) }
    }

    /// An order reaches the book (already validated by the venue). `announce: false` for an
    /// order already accepted (a re-entry after a modify, a move into this market): no
    /// second accept.
    public func submit(_ order: OrderSubmitted, announce: Bool = true, _ cx: inout Context) {
        let side = order.side
        let opposite = side.opposite
        let limit: Int64? = order.type.hasLimit ? order.limitPrice.raw : nil
        var quantity = order.quantity.raw
        if order.sizing == .allEquity {
            guard let touch = bestAvailable(opposite) ?? limit else { return cancelWhole(order, quantity, &cx) }
            quantity = cx.allIn(Price(raw: touch), cx.settings.fees.taker).raw
            guard quantity > 0 else {
                cx.answers.append(.rejected(OrderRejected(orderID: order.orderID, instrument: order.instrument, reason: .insufficientFunds)))
                return
            }
        }
        let crossesNow = bestAvailable(opposite).map { limit == nil || Self.crosses(side, limit: limit!, price: $0) } ?? false
        if order.type == .postOnly && crossesNow {
            cx.answers.append(.rejected(OrderRejected(orderID: order.orderID, instrument: order.instrument, reason: .postOnlyWouldCross)))
            return
        }
        if announce { cx.answers.append(.accepted(OrderAccepted(orderID: order.orderID, instrument: order.instrument))) }
        var leaves = quantity
        if crossesNow {
            // Self-trade prevention: our resting orders on the other side this one would meet.
            if resting.contains(where: { $0.order.side == opposite && (limit == nil || Self.crosses(side, limit: limit!, price: $0.price)) }) {
                let mode = cx.settings.selfTrade
                if mode != .cancelIncoming {
                    var i = 0
                    while i < resting.count {
                        let r = resting[i]
                        if r.order.side == opposite && (limit == nil || Self.crosses(side, limit: limit!, price: r.price)) {
                            resting.remove(at: i)
                            cx.answers.append(.canceled(OrderCanceled(orderID: r.order.orderID, instrument: r.order.instrument, leavesQuantity: Quantity(raw: r.leaves))))
                        } else {
                            i += 1
                        }
                    }
                }
                if mode != .cancelResting { return cancelWhole(order, leaves, &cx) }
            }
            if order.type == .fok {
                // All or nothing: what the book offers within the limit must cover the order.
                var available: Int64 = 0
                forEachLevel(opposite) { price, size in
                    if let limit, !Self.crosses(side, limit: limit, price: price) { return false }
                    available += max(0, size - taken(opposite, price))
                    return available < leaves
                }
                if available < leaves { return cancelWhole(order, leaves, &cx) }
            }
            forEachLevel(opposite) { price, size in
                if let limit, !Self.crosses(side, limit: limit, price: price) { return false }
                let available = size - taken(opposite, price)
                if available > 0 {
                    let q = min(available, leaves)
                    take(opposite, price, q)
                    leaves -= q
                    fill(order, price: price, quantity: q, leaves: leaves, .taker, &cx)
                }
                return leaves > 0
            }
        }
        guard leaves > 0 else { return }
        switch order.type {
        case .market, .ioc, .fok:
            cx.answers.append(.canceled(OrderCanceled(orderID: order.orderID, instrument: order.instrument, leavesQuantity: Quantity(raw: leaves))))
        case .limit, .postOnly:
            rest(order, price: limit!, leaves: leaves)
        }
    }

    private func rest(_ order: OrderSubmitted, price: Int64, leaves: Int64) {
        resting.append(Resting(order: order, price: price, leaves: leaves, ahead: depth(side: order.side, price: price), arrival: l3?.arrivalCounter ?? 0))
    }

    private func cancelWhole(_ order: OrderSubmitted, _ quantity: Int64, _ cx: inout Context) {
        cx.answers.append(.canceled(OrderCanceled(orderID: order.orderID, instrument: order.instrument, leavesQuantity: Quantity(raw: quantity))))
    }

    private func fill(_ order: OrderSubmitted, price: Int64, quantity: Int64, leaves: Int64, _ liquidity: Liquidity, _ cx: inout Context) {
        let p = Price(raw: price), q = Quantity(raw: quantity)
        cx.answers.append(.filled(OrderFilled(orderID: order.orderID, instrument: order.instrument, side: order.side, price: p, quantity: q,
                                              fee: cx.settings.fees.fee(price: p, quantity: q, liquidity: liquidity, instrument: instrument),
                                              liquidity: liquidity, leavesQuantity: Quantity(raw: leaves))))
    }

    /// Cancels one of our resting orders. Returns false when it is not resting here.
    public func cancel(_ id: ClientOrderID, _ cx: inout Context) -> Bool {
        guard let i = resting.firstIndex(where: { $0.order.orderID == id }) else { return false }
        let r = resting.remove(at: i)
        cx.answers.append(.canceled(OrderCanceled(orderID: id, instrument: r.order.instrument, leavesQuantity: Quantity(raw: r.leaves))))
        return true
    }

    /// Modifies a resting order to `quantity` (its new leaves) at `price`. A size reduction
    /// at the same price keeps the queue position; a price change or a size increase
    /// re-enters the order at the back (and it may then take liquidity if it crosses).
    /// Returns false when the order is not resting here.
    public func modify(_ id: ClientOrderID, quantity: Int64, price: Int64, _ cx: inout Context) -> Bool {
        guard let i = resting.firstIndex(where: { $0.order.orderID == id }) else { return false }
        if quantity <= 0 {
            let r = resting.remove(at: i)
            cx.answers.append(.canceled(OrderCanceled(orderID: id, instrument: r.order.instrument, leavesQuantity: Quantity(raw: r.leaves))))
            return true
        }
        if price == resting[i].price && quantity <= resting[i].leaves {
            resting[i].leaves = quantity
            cx.answers.append(.modified(OrderModified(orderID: id, instrument: instrument.id, keptPriority: true, leavesQuantity: Quantity(raw: quantity), price: Price(raw: price))))
            return true
        }
        var order = resting.remove(at: i).order
        order.limitPrice = Price(raw: price)
        order.quantity = Quantity(raw: quantity)
        order.sizing = .fixed
        cx.answers.append(.modified(OrderModified(orderID: id, instrument: instrument.id, keptPriority: false, leavesQuantity: Quantity(raw: quantity), price: Price(raw: price))))
        submit(order, announce: false, &cx)
        return true
    }

    // MARK: - Market data

    /// An L2 level changed (or, in an order-level run, a level total was set).
    public func onLevel(_ u: L2LevelUpdated, _ cx: inout Context) {
        let side = u.side, price = u.price.raw, new = u.quantity.raw
        // The level's previous size matters only to orders resting in its queue; what the
        // update can newly cross, only our orders on the other side at or through its price.
        // An index loop: `for r in resting` retained and released the array's buffer on
        // every update (the elements are plain values; indexing them retains nothing).
        var queued = false, reaches = false, i = 0
        while i < resting.count {
            let r = resting[i]
            if r.order.side == side { queued = queued || r.price == price } else { reaches = reaches || Self.crosses(r.order.side, limit: r.price, price: price) }
            i += 1
        }
        let old = queued ? depth(side: side, price: price) : 0
        if let l3 { l3.setLevelTotal(side: side, tick: price, total: new) } else { l2.apply(u) }
        levelChanged(side, price)
        if queued {
            for i in resting.indices where resting[i].order.side == side && resting[i].price == price {
                var r = resting[i]
                if l3 == nil, case .power = cx.settings.queueModel {
                    let decrease = old - new - r.traded
                    let behind = max(0, old - r.traded - r.ahead)
                    let fromAhead = cx.settings.queueModel.aheadShare(decrease: decrease, ahead: r.ahead, behind: behind)
                    // What the share says came from behind but exceeds the volume behind came from ahead.
                    let excess = max(0, (decrease - fromAhead) - behind)
                    r.ahead = max(0, r.ahead - fromAhead - excess)
                }
                r.ahead = min(r.ahead, new)
                r.traded = 0
                resting[i] = r
            }
        }
        // No resting order is crossed between events (each crossing is filled when it
        // appears): only liquidity made available at this price can cross one now. An
        // emptied level moves its side's best away from our orders.
        if reaches && new > 0 { fillCrossed(cx: &cx) }
    }

    /// An order-level message: the exact queue bookkeeping, then the book change.
    public func onMessage(_ m: OrderBookMessage, _ cx: inout Context) {
        let book: L3Book
        if let l3 { book = l3 } else {
            // The first order-level message: levels set so far (a seeded window) become the
            // L3 book's volume with no known orders behind it.
            book = L3Book()
            for side in [Side.buy, .sell] {
                (side == .buy ? l2.bidLadder : l2.askLadder).forEachBestFirst { tick, q in
                    book.adjustUnattributed(side: side, tick: tick * l2.tickSize, by: q)
                    return true
                }
            }
            l3 = book
            l2 = L2Book(tickSize: l2.tickSize)
        }
        let side = m.side, price = m.price.raw, size = m.quantity.raw
        if !resting.isEmpty && m.action != .add && m.action != .halt {
            let known = book.order(m.orderID).flatMap { o in o.side == side && o.tick == price ? book.arrival(of: m.orderID) : nil }
            var given: Int64 = 0  // executed volume already given to our earlier orders here
            var i = 0
            while i < resting.count {
                var r = resting[i]
                guard r.order.side == side else { i += 1; continue }
                let executes = m.action == .execute || m.action == .hiddenExecute
                if executes && (side == .buy ? price < r.price : price > r.price) {
                    // Executed at a worse price than ours on our side: the market went through us.
                    resting.remove(at: i)
                    fill(r.order, price: r.price, quantity: r.leaves, leaves: 0, .maker, &cx)
                    continue
                }
                guard r.price == price, m.action != .hiddenExecute else { i += 1; continue }
                let ahead = known.map { $0 < r.arrival } ?? true
                var reaches: Int64 = 0
                if ahead {
                    r.ahead -= size
                    if r.ahead < 0 { reaches = m.action == .execute ? -r.ahead : 0; r.ahead = 0 }
                } else if m.action == .execute {
                    reaches = size  // an order behind us executed: the aggressor met us first
                }
                given += give(&r, min(r.leaves, max(0, reaches - given)), &cx)
                keep(r, at: &i)
            }
        }
        book.applyExact(m.action, side: side, orderID: m.orderID, tick: price, size: size)
        if m.action != .hiddenExecute && m.action != .halt { levelChanged(side, price) }
        if !resting.isEmpty {
            let total = max(0, book.depth(side: side, tick: price))
            for i in resting.indices where resting[i].order.side == side && resting[i].price == price { resting[i].ahead = min(resting[i].ahead, total) }
            fillCrossed(cx: &cx)
        }
    }

    /// A recorded trade. Ignored when the data is order-level (executions carry it).
    public func onTrade(_ t: TradeReceived, _ cx: inout Context) {
        guard l3 == nil, !resting.isEmpty else { return }
        let price = t.price.raw, size = t.quantity.raw
        // The resting side the trade hit: the seller-initiated trades hit bids.
        var given = (buy: Int64(0), sell: Int64(0))  // volume already given to our earlier orders
        var i = 0
        while i < resting.count {
            var r = resting[i]
            let side = r.order.side
            let hits = t.aggressor == .unknown || (t.aggressor == .seller) == (side == .buy)
            guard hits else { i += 1; continue }
            if side == .buy ? price < r.price : price > r.price {
                resting.remove(at: i)
                fill(r.order, price: r.price, quantity: r.leaves, leaves: 0, .maker, &cx)
                continue
            }
            guard price == r.price else { i += 1; continue }
            r.ahead -= size
            r.traded += size
            if r.ahead < 0 {
                let q = give(&r, min(r.leaves, max(0, -r.ahead - (side == .buy ? given.buy : given.sell))), &cx)
                r.ahead = 0
                if side == .buy { given.buy += q } else { given.sell += q }
            }
            keep(r, at: &i)
        }
    }

    /// The best bid and ask available to us (raw prices; 0 when a side is empty).
    public var touch: (bid: Int64, ask: Int64) { (bestAvailable(.buy) ?? 0, bestAvailable(.sell) ?? 0) }

    /// The best price of a side with liquidity we have not already taken.
    @inline(__always)
    public func bestAvailable(_ side: Side) -> Int64? {
        guard !consumed.isEmpty else { return best(side) }
        return bestUntaken(side)
    }

    private func bestUntaken(_ side: Side) -> Int64? {
        var found: Int64?
        forEachLevel(side) { price, size in
            if size - taken(side, price) > 0 { found = price; return false }
            return true
        }
        return found
    }

    /// Fills `q` (if positive) of resting order `r` at its price, as maker. Returns `q`.
    private func give(_ r: inout Resting, _ q: Int64, _ cx: inout Context) -> Int64 {
        guard q > 0 else { return 0 }
        r.leaves -= q
        fill(r.order, price: r.price, quantity: q, leaves: r.leaves, .maker, &cx)
        return q
    }

    /// Stores the updated order `r` at `i` and moves past it, or removes it when it is done
    /// (`i` then already names the next order).
    private func keep(_ r: Resting, at i: inout Int) {
        if r.leaves == 0 { resting.remove(at: i) } else { resting[i] = r; i += 1 }
    }

    /// Fills our resting orders that the opposite side now reaches (the market came to us).
    private func fillCrossed(cx: inout Context) {
        let bid = bestAvailable(.buy), ask = bestAvailable(.sell)
        var i = 0
        while i < resting.count {
            let r = resting[i]
            let through = r.order.side == .buy ? ask.map { $0 <= r.price } ?? false : bid.map { $0 >= r.price } ?? false
            if through {
                resting.remove(at: i)
                fill(r.order, price: r.price, quantity: r.leaves, leaves: 0, .maker, &cx)
            } else {
                i += 1
            }
        }
    }
}
