import RetraceCore
import RetraceEngine

/// A market maker on any feed with a touch (quotes, L2 or L3): one limit bid and one limit
/// ask around the mid, the pair shifted against the inventory (long → both quotes lower,
/// to sell more and buy less), the side that would pass `max_position` not quoted.
///
/// - Requotes when a quote's price is more than `requote_ticks` away from its target:
///   cancels it and sends a new one (a cancel never races a modify).
/// - A timer every `refresh` cancels and replaces both quotes at fresh prices, so a quote
///   never rests longer than that (stale-quote guard, and the engine's timers on the path).
/// - All pricing is integer arithmetic on raw prices: the same feed gives the same quotes.
///
/// Prices: with mid m, half-spread h = `spread_bps`/2 and skew s = `skew_bps` × position /
/// `max_position`, bid = m × (1 − (h + s)/10⁴) rounded down to a tick and ask =
/// m × (1 + (h − s)/10⁴) rounded up. With `passive` a bid is never above the best bid nor an
/// ask below the best ask, so quotes join the book instead of taking from it.
public struct MarketMaker: Strategy {
    public static let name = "market-maker"
    public static let summary = "bid and ask around the mid with inventory skew; requotes by cancel + new order; a timer refreshes both quotes"
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("size", "1", "quote size in units of the instrument (decimal)"),
        ParameterSpec("spread_bps", "10", "distance from bid to ask, in basis points of the mid (0 with passive: join the touch)"),
        ParameterSpec("skew_bps", "5", "how far both quotes move against a full position (max_position), in basis points"),
        ParameterSpec("max_position", "5", "largest position (units) either way; the side that would pass it is not quoted"),
        ParameterSpec("requote_ticks", "1", "move a quote when its target is more than this many ticks away"),
        ParameterSpec("refresh", "1s", "cancel and replace both quotes this often (0: never)"),
        ParameterSpec("passive", "true", "never quote through the touch (bid ≤ best bid, ask ≥ best ask)"),
        ParameterSpec("instrument", "", "symbol to trade (default: the run's first instrument)"),
    ]

    typealias Quote = WorkingQuote

    let sizeText: String, maxText: String, symbol: String
    let spreadBps: Int64, skewBps: Int64, requoteTicks: Int64, refreshNanos: Int64
    let passive: Bool
    var instrument: InstrumentID?
    var size = Quantity.zero
    var maxPosition = Quantity.zero
    var bid: Quote?
    var ask: Quote?
    /// A side's cancelled order not yet confirmed: that side is not requoted until then.
    var cancellingBid: ClientOrderID?
    var cancellingAsk: ClientOrderID?
    var nextTimer: UInt64 = 1

    public init(parameters p: ParameterValues) throws(EngineError) {
        (sizeText, maxText, symbol) = (p.text("size"), p.text("max_position"), p.text("instrument"))
        spreadBps = Int64(try p.nonNegativeInt("spread_bps"))
        skewBps = Int64(try p.nonNegativeInt("skew_bps"))
        requoteTicks = Int64(try p.nonNegativeInt("requote_ticks"))
        refreshNanos = try p.durationNanos("refresh")
        passive = try p.bool("passive")
    }

    public mutating func onStart(_ context: inout StrategyContext) throws(EngineError) {
        guard let i = try context.tradedInstrument(symbol: symbol) else { return }
        size = try ParameterValues.lots("size", sizeText, of: i)
        maxPosition = try ParameterValues.lots("max_position", maxText, of: i)
        guard maxPosition.raw > 0 else { throw EngineError(.invalidParameter, "parameter max_position=\(maxText): must be above zero") }
        instrument = i.id
        if refreshNanos > 0 { context.schedule(at: context.now.adding(nanos: refreshNanos), timerID: nextTimer) }
    }

    public mutating func onMarket(_ event: Event, _ context: inout StrategyContext) {
        guard let id = instrument, event.body.marketInstrument == id else { return }
        requote(id, force: false, &context)
    }

    public mutating func onTimer(_ timerID: UInt64, _ context: inout StrategyContext) {
        guard let id = instrument, timerID == nextTimer else { return }
        nextTimer += 1
        context.schedule(at: context.now.adding(nanos: refreshNanos), timerID: nextTimer)
        requote(id, force: true, &context)
    }

    /// The target prices for the current touch and position (nil: do not quote that side).
    func targets(_ id: InstrumentID, _ context: borrowing StrategyContext) -> (bid: Price?, ask: Price?) {
        let touch = context.touch(id)
        guard let b = touch.bid, let a = touch.ask, a.raw > b.raw else { return (nil, nil) }
        let position = context.position(id).raw
        let (bidRaw, askRaw) = prices(bid: b.raw, ask: a.raw, position: position)
        let wantBid = position + size.raw <= maxPosition.raw && bidRaw > 0
        let wantAsk = position - size.raw >= -maxPosition.raw && askRaw > 0
        return (wantBid ? Price(raw: bidRaw) : nil, wantAsk ? Price(raw: askRaw) : nil)
    }

    /// The raw bid and ask: bid = mid × (1 − (spread/2 + skew)/10⁴) floored to a tick,
    /// ask = mid × (1 + (spread/2 − skew)/10⁴) ceiled. In 64-bit arithmetic when nothing
    /// overflows (every realistic price; a 128-bit division is a library call of about a
    /// hundred instructions), else in 128 bits; both give the same result.
    func prices(bid b: Int64, ask a: Int64, position: Int64) -> (bid: Int64, ask: Int64) {
        if let fast = prices64(bid: b, ask: a, position: position) { return fast }
        return prices128(bid: b, ask: a, position: position)
    }

    func prices128(bid b: Int64, ask a: Int64, position: Int64) -> (bid: Int64, ask: Int64) {
        let twiceMid = Int128(b) + Int128(a)
        let skew = Int128(skewBps) * Int128(position) / Int128(maxPosition.raw)  // bps, toward flat
        let spread = Int128(spreadBps)
        var bidRaw = floorDiv(twiceMid * (20_000 - spread - 2 * skew), 40_000)
        var askRaw = ceilDiv(twiceMid * (20_000 + spread - 2 * skew), 40_000)
        if passive {
            bidRaw = min(bidRaw, Int128(b))
            askRaw = max(askRaw, Int128(a))
        }
        return (Int64(clamping: bidRaw), Int64(clamping: askRaw))
    }

    @inline(__always)
    func prices64(bid b: Int64, ask a: Int64, position: Int64) -> (bid: Int64, ask: Int64)? {
        let (twiceMid, o1) = b.addingReportingOverflow(a)
        let (skewScaled, o2) = skewBps.multipliedReportingOverflow(by: position)
        guard !o1, !o2 else { return nil }
        let skew = skewScaled / maxPosition.raw  // truncated toward zero, as Int128's
        let (twoSkew, o3) = skew.multipliedReportingOverflow(by: 2)
        let (down, o4) = Int64(20_000).subtractingReportingOverflow(spreadBps)
        let (up, o5) = Int64(20_000).addingReportingOverflow(spreadBps)
        let (low, o6) = down.subtractingReportingOverflow(twoSkew)
        let (high, o7) = up.subtractingReportingOverflow(twoSkew)
        let (bidNumerator, o8) = twiceMid.multipliedReportingOverflow(by: low)
        let (askNumerator, o9) = twiceMid.multipliedReportingOverflow(by: high)
        guard !(o3 || o4 || o5 || o6 || o7 || o8 || o9) else { return nil }
        var bidRaw = bidNumerator / 40_000
        if bidNumerator % 40_000 != 0 && bidNumerator < 0 { bidRaw -= 1 }
        var askRaw = askNumerator / 40_000
        if askNumerator % 40_000 != 0 && askNumerator > 0 { askRaw += 1 }
        if passive {
            bidRaw = min(bidRaw, b)
            askRaw = max(askRaw, a)
        }
        return (bidRaw, askRaw)
    }

    mutating func requote(_ id: InstrumentID, force: Bool, _ context: inout StrategyContext) {
        let want = targets(id, context)
        bid = place(bid, want: want.bid, side: .buy, force: force, id, &context)
        ask = place(ask, want: want.ask, side: .sell, force: force, id, &context)
    }

    mutating func place(_ current: Quote?, want: Price?, side: Side, force: Bool, _ id: InstrumentID, _ context: inout StrategyContext) -> Quote? {
        if let q = current {
            let stale = want.map { force || abs($0.raw - q.price.raw) > requoteTicks } ?? true
            guard stale else { return q }
            context.cancel(q.id)
            if side == .buy { cancellingBid = q.id } else { cancellingAsk = q.id }
            return nil
        }
        // One order per side: a new quote waits until the side's cancel is confirmed.
        guard let p = want, (side == .buy ? cancellingBid : cancellingAsk) == nil else { return nil }
        return Quote(id: context.submitLimit(id, side, quantity: size, price: p), price: p)
    }

    mutating func forget(_ order: ClientOrderID) {
        if bid?.id == order { bid = nil }
        if ask?.id == order { ask = nil }
        if cancellingBid == order { cancellingBid = nil }
        if cancellingAsk == order { cancellingAsk = nil }
    }

    public mutating func onFill(_ fill: OrderFilled, _ context: inout StrategyContext) {
        if fill.leavesQuantity.raw == 0 { forget(fill.orderID) }
        // The position changed: move the quotes to the new skew at once.
        if let id = instrument { requote(id, force: false, &context) }
    }
    public mutating func onCanceled(_ cancel: OrderCanceled, _ context: inout StrategyContext) { forget(cancel.orderID) }
    public mutating func onRejected(_ reject: OrderRejected, _ context: inout StrategyContext) { forget(reject.orderID) }
}

@inline(__always) func floorDiv(_ a: Int128, _ b: Int128) -> Int128 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

@inline(__always) func ceilDiv(_ a: Int128, _ b: Int128) -> Int128 { -floorDiv(-a, b) }

extension MarketMaker {
    public func saveState(_ w: inout StateWriter) -> Bool {
        w.put(instrument); w.put(size); w.put(maxPosition); w.put(bid); w.put(ask); w.put(cancellingBid); w.put(cancellingAsk); w.word(nextTimer)
        return true
    }
    public mutating func restoreState(_ r: inout StateReader) throws(CoreError) {
        (instrument, size, maxPosition, bid, ask) = (try r.get(), try r.get(), try r.get(), try r.get(), try r.get())
        (cancellingBid, cancellingAsk, nextTimer) = (try r.get(), try r.get(), try r.word())
    }
}
