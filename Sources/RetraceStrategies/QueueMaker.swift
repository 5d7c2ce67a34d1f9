import RetraceCore
import RetraceEngine

/// A passive market maker for depth data (L2 / L3): it keeps one post-only bid at the best
/// bid and one post-only ask at the best ask, moving each order when its side of the touch
/// moves (a price change loses queue priority), and stops quoting the side that would take
/// its position beyond `max_position`. Its fills come only from the venue's queue model,
/// which makes it the strategy to compare queue models and latencies with. With `interval`
/// it re-evaluates its quotes on a timer instead of on every depth event (hftbacktest's
/// `elapse` loop).
public struct QueueMaker: Strategy {
    public static let name = "queue-maker"
    public static let summary = "post-only bid and ask at the touch of a depth feed; requotes when the touch moves; position capped"
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("size", "1", "order size in units of the instrument (decimal)"),
        ParameterSpec("max_position", "5", "largest position (in units) either way; the side that would exceed it is not quoted"),
        ParameterSpec("instrument", "", "symbol to trade (default: the run's first instrument)"),
        ParameterSpec("interval", "0", "re-evaluate the quotes every interval of engine time (e.g. 100ms) instead of on every depth event (0)"),
    ]

    typealias Quote = WorkingQuote

    let sizeText: String
    let maxText: String
    let symbol: String
    let intervalNanos: Int64
    var nextTimer: UInt64 = 1
    var instrument: InstrumentID?
    var size = Quantity.zero
    var maxPosition = Quantity.zero
    var bid: Quote?
    var ask: Quote?

    public init(parameters p: ParameterValues) throws(EngineError) {
        sizeText = p.text("size")
        maxText = p.text("max_position")
        symbol = p.text("instrument")
        intervalNanos = try p.durationNanos("interval")
    }

    public mutating func onStart(_ context: inout StrategyContext) throws(EngineError) {
        guard let i = try context.tradedInstrument(symbol: symbol) else { return }
        size = try ParameterValues.lots("size", sizeText, of: i)
        maxPosition = try ParameterValues.lots("max_position", maxText, of: i)
        instrument = i.id
        if intervalNanos > 0 { context.schedule(at: context.now.adding(nanos: intervalNanos), timerID: nextTimer) }
    }

    public mutating func onTimer(_ timerID: UInt64, _ context: inout StrategyContext) {
        guard let id = instrument, timerID == nextTimer else { return }
        nextTimer += 1
        context.schedule(at: context.now.adding(nanos: intervalNanos), timerID: nextTimer)
        requote(id, &context)
    }

    public mutating func onMarket(_ event: Event, _ context: inout StrategyContext) {
        guard let id = instrument, intervalNanos == 0 else { return }
        switch event.body {
        case .l2LevelUpdated(let u) where u.instrument == id: requote(id, &context)
        case .orderBookMessage(let m) where m.instrument == id: requote(id, &context)
        default: break
        }
    }

    mutating func requote(_ id: InstrumentID, _ context: inout StrategyContext) {
        let touch = context.touch(id)
        let position = context.position(id)
        let wantBid = position.raw + size.raw <= maxPosition.raw ? touch.bid : nil
        let wantAsk = -(position.raw - size.raw) <= maxPosition.raw ? touch.ask : nil
        bid = place(bid, want: wantBid, side: .buy, id, &context)
        ask = place(ask, want: wantAsk, side: .sell, id, &context)
    }

    func place(_ current: Quote?, want: Price?, side: Side, _ id: InstrumentID, _ context: inout StrategyContext) -> Quote? {
        switch (current, want) {
        case (nil, let p?):
            return Quote(id: context.submitLimit(id, side, quantity: size, price: p, type: .postOnly), price: p)
        case (let q?, nil):
            context.cancel(q.id)
            return nil
        case (let q?, let p?) where q.price != p:
            context.modify(q.id, quantity: size, price: p)
            return Quote(id: q.id, price: p)
        default:
            return current
        }
    }

    mutating func forget(_ order: ClientOrderID) {
        if bid?.id == order { bid = nil }
        if ask?.id == order { ask = nil }
    }

    public mutating func onFill(_ fill: OrderFilled, _ context: inout StrategyContext) {
        if fill.leavesQuantity.raw == 0 { forget(fill.orderID) }
    }
    public mutating func onCanceled(_ cancel: OrderCanceled, _ context: inout StrategyContext) { forget(cancel.orderID) }
    public mutating func onRejected(_ reject: OrderRejected, _ context: inout StrategyContext) { forget(reject.orderID) }
    /// The quote did not move (the trading rules refused the new price or size): it rests
    /// where we no longer want it, so it is cancelled, and the next event quotes afresh.
    public mutating func onModifyRejected(_ reject: OrderModifyRejected, _ context: inout StrategyContext) {
        context.cancel(reject.orderID)
        forget(reject.orderID)
    }
}

extension QueueMaker {
    public func saveState(_ w: inout StateWriter) -> Bool {
        w.word(nextTimer); w.put(instrument); w.put(size); w.put(maxPosition); w.put(bid); w.put(ask)
        return true
    }
    public mutating func restoreState(_ r: inout StateReader) throws(CoreError) {
        (nextTimer, instrument, size, maxPosition, bid, ask) = (try r.word(), try r.get(), try r.get(), try r.get(), try r.get(), try r.get())
    }
}
