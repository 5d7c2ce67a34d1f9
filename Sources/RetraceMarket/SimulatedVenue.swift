import RetraceCore

/// A deterministic venue that matches orders against recorded market data (v0: zero
/// latency, no queue model, recorded size is not consumed).
///
/// Rules, per feed kind of the instrument:
/// - **Quotes (BBO / L2):** market orders fill at once at the touch (ask for a buy, bid
///   for a sell) as taker. A limit order that crosses the touch on arrival fills there
///   as taker; otherwise it rests and fills at its limit, as maker, once the opposite
///   touch moves strictly through it (ask < limit for a buy) or a trade prints through it.
/// - **Trades only:** market orders fill at the next trade's price; resting limits fill at
///   their limit when a trade prints strictly through them.
/// - **Bars:** orders placed while a bar is processed fill on the next bar: market orders
///   at its open; a buy limit when `low ≤ limit`, at `min(open, limit)` (mirror for sells),
///   as backtesting.py does.
/// Orders are matched in submission order. Fills are full (size is not limited by the
/// recorded liquidity in this version).
public struct SimulatedVenue {
    /// A working order.
    public struct WorkingOrder: Equatable, Sendable {
        public var order: OrderSubmitted
        public var leaves: Quantity
    }

    /// Per-instrument market view.
    public struct MarketView: Sendable {
        public var book = L2Book()
        public var lastTrade: Price?
        public var lastBar: BarReceived?
        public var hasQuotes = false
    }

    public let fees: FeeSchedule
    public internal(set) var instruments: [Instrument?] = []
    public internal(set) var markets: [MarketView] = []
    /// Working orders in submission order.
    public internal(set) var working: [WorkingOrder] = []

    public init(fees: FeeSchedule) { self.fees = fees }

    /// Makes an instrument tradable.
    public mutating func define(_ instrument: Instrument) {
        let i = Int(instrument.id.raw)
        while instruments.count <= i { instruments.append(nil); markets.append(MarketView()) }
        instruments[i] = instrument
    }

    /// The market view of an instrument, if defined.
    public func market(_ id: InstrumentID) -> MarketView? {
        Int(id.raw) < markets.count ? markets[Int(id.raw)] : nil
    }

    /// Receives an order. Answers (accept, reject, maybe a fill) go to `listener`.
    public mutating func submit<L: VenueListener>(_ order: OrderSubmitted, listener: inout L) {
        let index = Int(order.instrument.raw)
        guard index < instruments.count, let instrument = instruments[index] else {
            listener.venueRejected(OrderRejected(orderID: order.orderID, instrument: order.instrument, reason: .unknownInstrument))
            return
        }
        if order.sizing == .fixed && order.quantity.raw <= 0 {
            listener.venueRejected(OrderRejected(orderID: order.orderID, instrument: order.instrument, reason: .invalidQuantity))
            return
        }
        if order.type == .limit && order.limitPrice.raw <= 0 {
            listener.venueRejected(OrderRejected(orderID: order.orderID, instrument: order.instrument, reason: .invalidPrice))
            return
        }
        listener.venueAccepted(OrderAccepted(orderID: order.orderID, instrument: order.instrument))
        var w = WorkingOrder(order: order, leaves: order.quantity)
        let m = markets[index]
        if m.hasQuotes, let touch = order.side == .buy ? m.book.bestAsk?.price : m.book.bestBid?.price {
            let crosses = order.type == .market || (order.side == .buy ? order.limitPrice >= touch : order.limitPrice <= touch)
            if crosses {
                _ = fill(&w, instrument, at: touch, .taker, &listener)
                return
            }
        }
        working.append(w)
    }

    /// Cancels a working order; unknown or finished ids are ignored (returns false).
    @discardableResult
    public mutating func cancel<L: VenueListener>(_ id: ClientOrderID, listener: inout L) -> Bool {
        guard let i = working.firstIndex(where: { $0.order.orderID == id }) else { return false }
        let w = working.remove(at: i)
        listener.venueCanceled(OrderCanceled(orderID: id, instrument: w.order.instrument, leavesQuantity: w.leaves))
        return true
    }

    /// Matches working orders against a market event, then updates the market view.
    public mutating func onMarket<L: VenueListener>(_ body: EventBody, listener: inout L) {
        switch body {
        case .quoteReceived(let q):
            guard Int(q.instrument.raw) < markets.count else { return }
            markets[Int(q.instrument.raw)].book.apply(q)
            markets[Int(q.instrument.raw)].hasQuotes = true
            matchTouch(q.instrument, &listener)
        case .l2LevelUpdated(let u):
            guard Int(u.instrument.raw) < markets.count else { return }
            markets[Int(u.instrument.raw)].book.apply(u)
            markets[Int(u.instrument.raw)].hasQuotes = true
            matchTouch(u.instrument, &listener)
        case .tradeReceived(let t):
            guard Int(t.instrument.raw) < markets.count else { return }
            matchTrade(t, &listener)
            markets[Int(t.instrument.raw)].lastTrade = t.price
        case .barReceived(let b):
            guard Int(b.instrument.raw) < markets.count else { return }
            matchBar(b, &listener)
            markets[Int(b.instrument.raw)].lastBar = b
        default:
            break
        }
    }

    /// The price a position in `instrument` would be closed at when the data ends:
    /// the touch for quote feeds, the last trade, or the last bar's open (backtesting.py's
    /// rule for trades still open at the end). Nil when nothing was seen.
    public func closeOutPrice(_ id: InstrumentID, side: Side) -> Price? {
        guard let m = market(id) else { return nil }
        if m.hasQuotes, let level = side == .buy ? m.book.bestAsk : m.book.bestBid { return level.price }
        if let bar = m.lastBar { return bar.open }
        return m.lastTrade
    }

    /// Fills a close-out order at `price` (session end), as taker.
    public mutating func closeOut<L: VenueListener>(_ order: OrderSubmitted, at price: Price, listener: inout L) {
        guard let instrument = instruments[Int(order.instrument.raw)] else { return }
        listener.venueAccepted(OrderAccepted(orderID: order.orderID, instrument: order.instrument))
        var w = WorkingOrder(order: order, leaves: order.quantity)
        _ = fill(&w, instrument, at: price, .taker, &listener)
    }
}
