import RetraceCore

/// The top-of-book, trade and bar rules (instruments without depth data).
extension SimulatedVenue {
    /// An order reaches a venue without depth data.
    func submitTopOfBook<L: VenueListener>(_ order: OrderSubmitted, venue v: Int, at time: Int64, _ listener: inout L) {
        let index = Int(order.instrument.raw)
        // The cached touch (0 = no price), not a copy of the market view and its book.
        let t = markets[index].quoted
        let side = order.side == .buy ? t.ask : t.bid
        let touch = markets[index].hasQuotes && side > 0 ? Price(raw: side) : nil
        let crosses = touch.map { order.type == .market || (order.side == .buy ? order.limitPrice >= $0 : order.limitPrice <= $0) } ?? false
        if order.type == .postOnly && crosses {
            emit(.rejected(OrderRejected(orderID: order.orderID, instrument: order.instrument, reason: .postOnlyWouldCross)), venue: v, at: time, &listener)
            return
        }
        emit(.accepted(OrderAccepted(orderID: order.orderID, instrument: order.instrument)), venue: v, at: time, &listener)
        var w = WorkingOrder(order: order, leaves: order.quantity)
        if crosses, let touch {
            _ = fill(&w, at: touch, .taker, venue: v, at: time, &listener)
            return
        }
        if order.type == .ioc || order.type == .fok {
            // Top-of-book data: an IOC or FOK that does not cross the touch on arrival expires.
            emit(.canceled(OrderCanceled(orderID: order.orderID, instrument: order.instrument, leavesQuantity: order.quantity)), venue: v, at: time, &listener)
            return
        }
        working.append(w)
    }

    /// Changes a working order: a size reduction at the same price keeps its place in the
    /// matching order; anything else moves it to the back.
    func modifyTopOfBook<L: VenueListener>(_ i: Int, quantity: Quantity, price: Price, venue v: Int, at time: Int64, _ listener: inout L) {
        var w = working[i]
        if quantity.raw <= 0 {
            working.remove(at: i)
            emit(.canceled(OrderCanceled(orderID: w.order.orderID, instrument: w.order.instrument, leavesQuantity: w.leaves)), venue: v, at: time, &listener)
            return
        }
        let kept = (price == w.order.limitPrice || !w.order.type.hasLimit) && quantity <= w.leaves
        w.leaves = quantity
        if w.order.type.hasLimit { w.order.limitPrice = price }
        emit(.modified(OrderModified(orderID: w.order.orderID, instrument: w.order.instrument, keptPriority: kept, leavesQuantity: quantity, price: w.order.limitPrice)),
             venue: v, at: time, &listener)
        if kept { working[i] = w } else { working.remove(at: i); working.append(w) }
    }

    /// Fills the whole order at `price`. Returns false when an all-in order could not
    /// afford one unit (it is then rejected).
    func fill<L: VenueListener>(_ w: inout WorkingOrder, at price: Price, _ liquidity: Liquidity, venue v: Int, at time: Int64, _ listener: inout L) -> Bool {
        guard let instrument = instruments[Int(w.order.instrument.raw)] else { return false }
        let fees = venues[v].fees
        var quantity = w.leaves
        if w.order.sizing == .allEquity {
            quantity = listener.allInQuantity(instrument: instrument, price: price, feeRate: fees.rate(liquidity))
            if quantity.raw <= 0 {
                emit(.rejected(OrderRejected(orderID: w.order.orderID, instrument: w.order.instrument, reason: .insufficientFunds)), venue: v, at: time, &listener)
                return false
            }
        }
        let fee = fees.fee(price: price, quantity: quantity, liquidity: liquidity, instrument: instrument)
        w.leaves = .zero
        emit(.filled(OrderFilled(orderID: w.order.orderID, instrument: w.order.instrument, side: w.order.side, price: price,
                                 quantity: quantity, fee: fee, liquidity: liquidity, leavesQuantity: .zero)), venue: v, at: time, &listener)
        return true
    }

    /// Runs `decide` over the instrument's working orders in submission order; an order
    /// for which it returns a fill price and liquidity is filled and removed. Inlined, with
    /// `decide`: a quote runs it for every working order (the call per order cost more
    /// than the rule).
    @inline(__always)
    func match<L: VenueListener>(_ id: InstrumentID, venue v: Int, at time: Int64, _ listener: inout L, _ decide: (OrderSubmitted) -> (Price, Liquidity)?) {
        guard !working.isEmpty else { return }
        var i = 0
        while i < working.count {
            guard working[i].order.instrument == id, let (price, liquidity) = decide(working[i].order) else { i += 1; continue }
            var w = working.remove(at: i)
            _ = fill(&w, at: price, liquidity, venue: v, at: time, &listener)
        }
    }

    func matchTouch<L: VenueListener>(_ id: InstrumentID, venue v: Int, at time: Int64, _ listener: inout L) {
        // The cached touch, read once (not a copy of the book).
        let t = markets[Int(id.raw)].quoted
        let (bid, ask) = (t.bid > 0 ? Price(raw: t.bid) : nil, t.ask > 0 ? Price(raw: t.ask) : nil)
        match(id, venue: v, at: time, &listener) { order in
            guard let touch = order.side == .buy ? ask : bid else { return nil }
            if order.type == .market { return (touch, .taker) }
            let through = order.side == .buy ? touch < order.limitPrice : touch > order.limitPrice
            return through ? (order.limitPrice, .maker) : nil
        }
    }

    func matchTrade<L: VenueListener>(_ t: TradeReceived, venue v: Int, at time: Int64, _ listener: inout L) {
        let quoted = markets[Int(t.instrument.raw)].hasQuotes
        match(t.instrument, venue: v, at: time, &listener) { order in
            if order.type == .market { return quoted ? nil : (t.price, .taker) }
            let through = order.side == .buy ? t.price < order.limitPrice : t.price > order.limitPrice
            return through ? (order.limitPrice, .maker) : nil
        }
    }

    func matchBar<L: VenueListener>(_ b: BarReceived, venue v: Int, at time: Int64, _ listener: inout L) {
        match(b.instrument, venue: v, at: time, &listener) { order in
            if order.type == .market { return (b.open, .taker) }
            if order.side == .buy {
                return b.low <= order.limitPrice ? (min(b.open, order.limitPrice), .maker) : nil
            }
            return b.high >= order.limitPrice ? (max(b.open, order.limitPrice), .maker) : nil
        }
    }
}
