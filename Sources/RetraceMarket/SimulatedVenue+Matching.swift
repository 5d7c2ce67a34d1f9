import RetraceCore

extension SimulatedVenue {
    /// Fills the whole order at `price`. Returns false when an all-in order could not
    /// afford one unit (it is then rejected).
    mutating func fill<L: VenueListener>(_ w: inout WorkingOrder, _ instrument: Instrument, at price: Price, _ liquidity: Liquidity, _ listener: inout L) -> Bool {
        var quantity = w.leaves
        if w.order.sizing == .allEquity {
            quantity = listener.allInQuantity(instrument: instrument, price: price, feeRate: fees.rate(liquidity))
            if quantity.raw <= 0 {
                listener.venueRejected(OrderRejected(orderID: w.order.orderID, instrument: w.order.instrument, reason: .insufficientFunds))
                return false
            }
        }
        let fee = Money.fee(price: price, quantity: quantity, rate: fees.rate(liquidity), priceScale: instrument.priceScale, quantityScale: instrument.quantityScale)
        w.leaves = .zero
        listener.venueFilled(OrderFilled(orderID: w.order.orderID, instrument: w.order.instrument, side: w.order.side, price: price,
                                         quantity: quantity, fee: fee, liquidity: liquidity, leavesQuantity: .zero))
        return true
    }

    /// Runs `decide` over the instrument's working orders in submission order; an order
    /// for which it returns a fill price and liquidity is filled and removed.
    mutating func match<L: VenueListener>(_ id: InstrumentID, _ listener: inout L, _ decide: (OrderSubmitted) -> (Price, Liquidity)?) {
        guard let instrument = instruments[Int(id.raw)], !working.isEmpty else { return }
        var i = 0
        while i < working.count {
            guard working[i].order.instrument == id, let (price, liquidity) = decide(working[i].order) else { i += 1; continue }
            var w = working.remove(at: i)
            _ = fill(&w, instrument, at: price, liquidity, &listener)
        }
    }

    mutating func matchTouch<L: VenueListener>(_ id: InstrumentID, _ listener: inout L) {
        let book = markets[Int(id.raw)].book
        match(id, &listener) { order in
            guard let touch = order.side == .buy ? book.bestAsk?.price : book.bestBid?.price else { return nil }
            if order.type == .market { return (touch, .taker) }
            let through = order.side == .buy ? touch < order.limitPrice : touch > order.limitPrice
            return through ? (order.limitPrice, .maker) : nil
        }
    }

    mutating func matchTrade<L: VenueListener>(_ t: TradeReceived, _ listener: inout L) {
        let quoted = markets[Int(t.instrument.raw)].hasQuotes
        match(t.instrument, &listener) { order in
            if order.type == .market { return quoted ? nil : (t.price, .taker) }
            let through = order.side == .buy ? t.price < order.limitPrice : t.price > order.limitPrice
            return through ? (order.limitPrice, .maker) : nil
        }
    }

    mutating func matchBar<L: VenueListener>(_ b: BarReceived, _ listener: inout L) {
        match(b.instrument, &listener) { order in
            if order.type == .market { return (b.open, .taker) }
            if order.side == .buy {
                return b.low <= order.limitPrice ? (min(b.open, order.limitPrice), .maker) : nil
            }
            return b.high >= order.limitPrice ? (max(b.open, order.limitPrice), .maker) : nil
        }
    }
}
