import RetraceCore
import RetraceEngine
import RetraceMarket

/// Cross-venue arbitrage between two listings of one asset (instruments `a` and `b`, each on
/// its own venue): when one venue's bid is above the other's ask by more than both legs'
/// taker fees plus `edge_bps`, it buys the ask and sells the bid at once with IOC orders.
/// A leg that misses (the quote moved before the order arrived — entry latency) leaves the
/// book unbalanced; the strategy then hedges the difference with a market order on the
/// venue with the better price before it looks for the next opportunity. One pair is in
/// flight at a time, and neither leg's position goes beyond `max_position`.
///
/// Prices and sizes of the two instruments are compared at the finer of their scales, so
/// listings quoted to different decimals work; the decision uses the venues' rate fees
/// (`taker_fee`), not per-unit fees.
public struct CrossVenueArbitrage: Strategy {
    public static let name = "cross-venue-arbitrage"
    public static let summary = "buys one venue's ask and sells another's bid when the gap beats both taker fees; hedges a leg that missed"
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("a", "", "symbol of the first listing (default: the run's first instrument)"),
        ParameterSpec("b", "", "symbol of the second listing (default: the run's second instrument)"),
        ParameterSpec("size", "1", "units bought and sold per opportunity (decimal)"),
        ParameterSpec("max_position", "5", "largest position (units) either way in each listing"),
        ParameterSpec("edge_bps", "0", "gap required beyond both taker fees, in basis points of the ask (decimal, up to 2 places)"),
    ]

    /// One listing.
    struct Leg {
        var id: InstrumentID
        var priceScale: Int
        var quantityScale: Int
        var size: Quantity
        var maxPosition: Quantity
        var takerRate: Int64
    }

    let symbols: (a: String, b: String)
    let sizeText: String
    let maxText: String
    /// Edge in hundredths of a basis point (10^-6 of the price).
    let edge: Int64
    var legs: [Leg] = []
    var priceScale = 0
    var quantityScale = 0
    /// Orders sent and not finished.
    var pending: [ClientOrderID] = []
    /// Opportunities taken, legs hedged (reported at the end).
    public private(set) var pairs = 0
    public private(set) var hedges = 0

    public init(parameters p: ParameterValues) throws(EngineError) {
        symbols = (p.text("a"), p.text("b"))
        sizeText = p.text("size")
        maxText = p.text("max_position")
        guard let e = FixedPoint.parse(p.text("edge_bps"), scale: 2), e >= 0 else {
            throw EngineError(.invalidParameter, "parameter edge_bps=\(p.text("edge_bps")): expected a non-negative number with at most 2 decimals")
        }
        edge = e
    }

    public mutating func onStart(_ context: inout StrategyContext) throws(EngineError) {
        let all = context.instruments
        guard let a = try context.tradedInstrument(symbol: symbols.a) else { return }
        let b: Instrument
        if symbols.b.isEmpty {
            guard let other = all.first(where: { $0.id != a.id }) else {
                throw EngineError(.invalidParameter, "cross-venue-arbitrage needs two instruments; the run has only \(a.symbol)")
            }
            b = other
        } else {
            guard let named = try context.tradedInstrument(symbol: symbols.b) else { return }
            b = named
        }
        guard a.id != b.id else { throw EngineError(.invalidParameter, "parameters a and b name the same instrument \(a.symbol)") }
        for i in [a, b] {
            legs.append(Leg(id: i.id, priceScale: i.priceScale, quantityScale: i.quantityScale,
                            size: try ParameterValues.lots("size", sizeText, of: i),
                            maxPosition: try ParameterValues.lots("max_position", maxText, of: i),
                            takerRate: context.venue(of: i.id)?.fees.taker.raw ?? 0))
        }
        priceScale = max(a.priceScale, b.priceScale)
        quantityScale = max(a.quantityScale, b.quantityScale)
    }

    public mutating func onMarket(_ event: Event, _ context: inout StrategyContext) {
        guard legs.count == 2 else { return }
        guard let instrument = event.body.marketInstrument, instrument == legs[0].id || instrument == legs[1].id, pending.isEmpty else { return }
        if hedge(&context) { return }
        let ta = context.touch(legs[0].id), tb = context.touch(legs[1].id)
        if let ask = ta.ask, let bid = tb.bid, worthIt(buy: 0, at: ask, sell: 1, at: bid) {
            take(buy: 0, at: ask, sell: 1, at: bid, &context)
        } else if let ask = tb.ask, let bid = ta.bid, worthIt(buy: 1, at: ask, sell: 0, at: bid) {
            take(buy: 1, at: ask, sell: 0, at: bid, &context)
        }
    }

    /// Raw price or quantity of scale `from` at scale `to` (≥ from).
    static func widen(_ raw: Int64, from: Int, to: Int) -> Int128 { Int128(raw) * Int128(FixedPoint.powersOfTen[to - from]) }

    func price(_ p: Price, _ leg: Int) -> Int128 { Self.widen(p.raw, from: legs[leg].priceScale, to: priceScale) }

    /// Whether selling at `bid` and buying at `ask` gains more than both taker fees and the edge.
    func worthIt(buy: Int, at ask: Price, sell: Int, at bid: Price) -> Bool {
        let (a, b) = (price(ask, buy), price(bid, sell))
        guard b > a else { return false }
        // In 10^-8 of a price unit: gap > ask·rate_buy + bid·rate_sell + ask·edge.
        let cost = a * Int128(legs[buy].takerRate) + b * Int128(legs[sell].takerRate) + a * Int128(edge) * 100
        return (b - a) * 100_000_000 > cost
    }

    mutating func take(buy: Int, at ask: Price, sell: Int, at bid: Price, _ context: inout StrategyContext) {
        let (lb, ls) = (legs[buy], legs[sell])
        guard context.position(lb.id).raw + lb.size.raw <= lb.maxPosition.raw,
              context.position(ls.id).raw - ls.size.raw >= -ls.maxPosition.raw else { return }
        pending.append(context.submitLimit(lb.id, .buy, quantity: lb.size, price: ask, type: .ioc))
        pending.append(context.submitLimit(ls.id, .sell, quantity: ls.size, price: bid, type: .ioc))
        pairs += 1
    }

    /// When one leg filled more than the other, trades the difference at market on the venue
    /// with the better price. - Returns: whether it sent an order.
    mutating func hedge(_ context: inout StrategyContext) -> Bool {
        let net = legs.indices.reduce(Int128(0)) { $0 + Self.widen(context.position(legs[$1].id).raw, from: legs[$1].quantityScale, to: quantityScale) }
        guard net != 0 else { return false }
        let side: Side = net > 0 ? .sell : .buy
        let touches = legs.map { context.touch($0.id) }
        // Sell where the bid is higher, buy where the ask is lower; a side without a price loses.
        func quote(_ k: Int) -> Int128? { (side == .sell ? touches[k].bid : touches[k].ask).map { price($0, k) } }
        let k: Int
        switch (quote(0), quote(1)) {
        case (nil, nil): return false
        case (_, nil): k = 0
        case (nil, _): k = 1
        case (let p0?, let p1?): k = side == .sell ? (p1 > p0 ? 1 : 0) : (p1 < p0 ? 1 : 0)
        }
        let lots = net.magnitude / UInt128(FixedPoint.powersOfTen[quantityScale - legs[k].quantityScale])
        guard lots > 0, lots <= UInt128(Int64.max) else { return false }  // finer than the lot: leave it
        pending.append(context.submitMarket(legs[k].id, side, quantity: Quantity(raw: Int64(lots))))
        hedges += 1
        return true
    }

    mutating func finished(_ order: ClientOrderID) { pending.removeAll { $0 == order } }

    public mutating func onFill(_ fill: OrderFilled, _ context: inout StrategyContext) {
        if fill.leavesQuantity.raw == 0 { finished(fill.orderID) }
    }
    public mutating func onCanceled(_ cancel: OrderCanceled, _ context: inout StrategyContext) { finished(cancel.orderID) }
    public mutating func onRejected(_ reject: OrderRejected, _ context: inout StrategyContext) { finished(reject.orderID) }
}

extension CrossVenueArbitrage.Leg: StateCodable {
    func saveState(_ w: inout StateWriter) { w.put(id); w.put(priceScale); w.put(quantityScale); w.put(size); w.put(maxPosition); w.word(takerRate) }
    init(state r: inout StateReader) throws(CoreError) {
        self.init(id: try r.get(), priceScale: try r.get(), quantityScale: try r.get(), size: try r.get(), maxPosition: try r.get(), takerRate: try r.word())
    }
}

extension CrossVenueArbitrage {
    public func saveState(_ w: inout StateWriter) -> Bool {
        w.put(legs); w.put(priceScale); w.put(quantityScale); w.put(pending); w.put(pairs); w.put(hedges)
        return true
    }
    public mutating func restoreState(_ r: inout StateReader) throws(CoreError) {
        (legs, priceScale, quantityScale, pending, pairs, hedges) = (try r.array(), try r.get(), try r.get(), try r.array(), try r.get(), try r.get())
    }
}
