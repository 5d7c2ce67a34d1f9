/// One journaled event: its sequence number, its two timestamps and what happened.
///
/// `eventTime` is when it happened at the source (exchange time, or the bar's label);
/// `receiveTime` is when Retrace saw it, and is what the simulated clock follows.
@frozen
public struct Event: Equatable, Sendable {
    /// Journal sequence number: the run's total order.
    public var sequence: UInt64
    public var eventTime: Timestamp
    public var receiveTime: Timestamp
    public var body: EventBody

    @inlinable
    public init(sequence: UInt64 = 0, eventTime: Timestamp, receiveTime: Timestamp, body: EventBody) {
        self.sequence = sequence
        self.eventTime = eventTime
        self.receiveTime = receiveTime
        self.body = body
    }

    /// The initial value of a slot events are decoded into (never journaled or processed).
    @inlinable public static var placeholder: Event { Event(eventTime: .zero, receiveTime: .zero, body: .sessionEnded(SessionEnded(inputEvents: 0))) }
}

/// Every kind of event Retrace records. Market and session events are inputs; order,
/// fill, state and timer events are outputs (they enter the run fingerprint).
public enum EventBody: Equatable, Sendable {
    // Reference data
    case instrumentDefined(InstrumentDefined)
    // Market data
    case tradeReceived(TradeReceived)
    case quoteReceived(QuoteReceived)
    case barReceived(BarReceived)
    case l2LevelUpdated(L2LevelUpdated)
    case orderBookMessage(OrderBookMessage)
    // Live sessions (inputs: what a venue said, and what happened to the connection)
    case venueReport(VenueReport)
    case venueHeartbeat(VenueHeartbeat)
    case sessionControl(SessionControl)
    // Orders
    case orderSubmitted(OrderSubmitted)
    case orderAccepted(OrderAccepted)
    case orderRejected(OrderRejected)
    case orderCanceled(OrderCanceled)
    case orderFilled(OrderFilled)
    case orderModified(OrderModified)
    case orderModifyRejected(OrderModifyRejected)
    // State
    case positionChanged(PositionChanged)
    case balanceChanged(BalanceChanged)
    // Timers and session
    case timerFired(TimerFired)
    case sessionStarted(SessionStarted)
    case sessionEnded(SessionEnded)

    /// The instrument of a market-data event (trade, quote, bar, level update, order-book
    /// message); nil for every other event.
    @inlinable public var marketInstrument: InstrumentID? {
        switch self {
        case .tradeReceived(let t): t.instrument
        case .quoteReceived(let q): q.instrument
        case .barReceived(let b): b.instrument
        case .l2LevelUpdated(let u): u.instrument
        case .orderBookMessage(let m): m.instrument
        default: nil
        }
    }

    /// The codec's kind byte.
    @inlinable public var kind: EventKind {
        switch self {
        case .instrumentDefined: .instrumentDefined
        case .tradeReceived: .tradeReceived
        case .quoteReceived: .quoteReceived
        case .barReceived: .barReceived
        case .l2LevelUpdated: .l2LevelUpdated
        case .orderBookMessage: .orderBookMessage
        case .venueReport: .venueReport
        case .venueHeartbeat: .venueHeartbeat
        case .sessionControl: .sessionControl
        case .orderSubmitted: .orderSubmitted
        case .orderAccepted: .orderAccepted
        case .orderRejected: .orderRejected
        case .orderCanceled: .orderCanceled
        case .orderFilled: .orderFilled
        case .orderModified: .orderModified
        case .orderModifyRejected: .orderModifyRejected
        case .positionChanged: .positionChanged
        case .balanceChanged: .balanceChanged
        case .timerFired: .timerFired
        case .sessionStarted: .sessionStarted
        case .sessionEnded: .sessionEnded
        }
    }
}

/// The stable numbering of event kinds in the binary codec.
public enum EventKind: UInt8, Sendable, CaseIterable {
    case instrumentDefined = 1
    case tradeReceived = 10
    case quoteReceived = 11
    case barReceived = 12
    case l2LevelUpdated = 13
    case orderBookMessage = 14
    case venueReport = 15
    case venueHeartbeat = 16
    case sessionControl = 17
    case orderSubmitted = 20
    case orderAccepted = 21
    case orderRejected = 22
    case orderCanceled = 23
    case orderFilled = 24
    case orderModified = 25
    case orderModifyRejected = 26
    case positionChanged = 30
    case balanceChanged = 31
    case timerFired = 40
    case sessionStarted = 50
    case sessionEnded = 51

    /// True for events the engine produces (they enter the fingerprint).
    @inlinable public var isOutput: Bool { rawValue >= 20 && rawValue < 50 }
    /// True for a live session's own inputs (venue reports, heartbeats, session control):
    /// a backtest over a live run's market data skips them.
    @inlinable public var isLiveSession: Bool { rawValue >= 15 && rawValue <= 17 }
    /// A stable name for listings (`journal inspect`, diffs).
    public var name: String {
        switch self {
        case .instrumentDefined: "InstrumentDefined"
        case .tradeReceived: "TradeReceived"
        case .quoteReceived: "QuoteReceived"
        case .barReceived: "BarReceived"
        case .l2LevelUpdated: "L2LevelUpdated"
        case .orderBookMessage: "OrderBookMessage"
        case .venueReport: "VenueReport"
        case .venueHeartbeat: "VenueHeartbeat"
        case .sessionControl: "SessionControl"
        case .orderSubmitted: "OrderSubmitted"
        case .orderAccepted: "OrderAccepted"
        case .orderRejected: "OrderRejected"
        case .orderCanceled: "OrderCanceled"
        case .orderFilled: "OrderFilled"
        case .orderModified: "OrderModified"
        case .orderModifyRejected: "OrderModifyRejected"
        case .positionChanged: "PositionChanged"
        case .balanceChanged: "BalanceChanged"
        case .timerFired: "TimerFired"
        case .sessionStarted: "SessionStarted"
        case .sessionEnded: "SessionEnded"
        }
    }
}

/// An instrument enters the run (always before its first market event).
public struct InstrumentDefined: Equatable, Sendable {
    public var instrument: Instrument
    public init(instrument: Instrument) { self.instrument = instrument }
}

/// A trade printed on the venue.
public struct TradeReceived: Equatable, Sendable {
    public var instrument: InstrumentID
    public var price: Price
    public var quantity: Quantity
    public var aggressor: AggressorSide
    /// The venue's trade id, 0 when the feed has none.
    public var tradeID: UInt64
    public init(instrument: InstrumentID, price: Price, quantity: Quantity, aggressor: AggressorSide, tradeID: UInt64) {
        (self.instrument, self.price, self.quantity, self.aggressor, self.tradeID) = (instrument, price, quantity, aggressor, tradeID)
    }
}

/// A new best bid and offer.
public struct QuoteReceived: Equatable, Sendable {
    public var instrument: InstrumentID
    public var bidPrice: Price
    public var bidQuantity: Quantity
    public var askPrice: Price
    public var askQuantity: Quantity
    public init(instrument: InstrumentID, bidPrice: Price, bidQuantity: Quantity, askPrice: Price, askQuantity: Quantity) {
        (self.instrument, self.bidPrice, self.bidQuantity, self.askPrice, self.askQuantity) = (instrument, bidPrice, bidQuantity, askPrice, askQuantity)
    }
}

/// An OHLCV bar; its `eventTime` is the bar's label.
public struct BarReceived: Equatable, Sendable {
    public var instrument: InstrumentID
    public var open: Price
    public var high: Price
    public var low: Price
    public var close: Price
    public var volume: Quantity
    public init(instrument: InstrumentID, open: Price, high: Price, low: Price, close: Price, volume: Quantity) {
        (self.instrument, self.open, self.high, self.low, self.close, self.volume) = (instrument, open, high, low, close, volume)
    }
}

/// One price level of an aggregated book changed; quantity 0 removes the level.
public struct L2LevelUpdated: Equatable, Sendable {
    public var instrument: InstrumentID
    public var side: Side
    public var price: Price
    public var quantity: Quantity
    public init(instrument: InstrumentID, side: Side, price: Price, quantity: Quantity) {
        (self.instrument, self.side, self.price, self.quantity) = (instrument, side, price, quantity)
    }
}

/// What an order-level (L3) feed message does to the book.
public enum BookAction: UInt8, Sendable, CaseIterable {
    /// A new resting order.
    case add = 1
    /// Part of an order cancelled.
    case reduce = 2
    /// An order deleted.
    case delete = 3
    /// A visible order executed (in part or whole).
    case execute = 4
    /// A hidden order executed: a trade that leaves the visible book alone.
    case hiddenExecute = 5
    /// Trading halted (or resumed).
    case halt = 7
}

/// One message of an order-level feed (LOBSTER, exchange MBO): the exact change it makes.
public struct OrderBookMessage: Equatable, Sendable {
    public var instrument: InstrumentID
    public var action: BookAction
    /// The side of the resting order.
    public var side: Side
    /// The venue's order id (0 when the feed gives none).
    public var orderID: UInt64
    public var price: Price
    /// The size the message adds or removes.
    public var quantity: Quantity
    public init(instrument: InstrumentID, action: BookAction, side: Side, orderID: UInt64, price: Price, quantity: Quantity) {
        (self.instrument, self.action, self.side, self.orderID, self.price, self.quantity) = (instrument, action, side, orderID, price, quantity)
    }
}

/// The strategy sent an order.
public struct OrderSubmitted: Equatable, Sendable {
    public var orderID: ClientOrderID
    public var instrument: InstrumentID
    public var side: Side
    public var type: OrderType
    public var sizing: OrderSizing
    /// The order's size (0 when `sizing` decides it at fill time).
    public var quantity: Quantity
    /// The limit price (zero for market orders).
    public var limitPrice: Price
    public init(orderID: ClientOrderID, instrument: InstrumentID, side: Side, type: OrderType, sizing: OrderSizing, quantity: Quantity, limitPrice: Price) {
        (self.orderID, self.instrument, self.side, self.type, self.sizing, self.quantity, self.limitPrice) = (orderID, instrument, side, type, sizing, quantity, limitPrice)
    }
}

/// The venue accepted an order.
public struct OrderAccepted: Equatable, Sendable {
    public var orderID: ClientOrderID
    public var instrument: InstrumentID
    public init(orderID: ClientOrderID, instrument: InstrumentID) { (self.orderID, self.instrument) = (orderID, instrument) }
}

/// The order was refused.
public struct OrderRejected: Equatable, Sendable {
    public var orderID: ClientOrderID
    public var instrument: InstrumentID
    public var reason: RejectReason
    public init(orderID: ClientOrderID, instrument: InstrumentID, reason: RejectReason) { (self.orderID, self.instrument, self.reason) = (orderID, instrument, reason) }
}

/// A working order was cancelled with `leavesQuantity` unfilled.
public struct OrderCanceled: Equatable, Sendable {
    public var orderID: ClientOrderID
    public var instrument: InstrumentID
    public var leavesQuantity: Quantity
    public init(orderID: ClientOrderID, instrument: InstrumentID, leavesQuantity: Quantity) { (self.orderID, self.instrument, self.leavesQuantity) = (orderID, instrument, leavesQuantity) }
}

/// An order (partly) executed.
public struct OrderFilled: Equatable, Sendable {
    public var orderID: ClientOrderID
    public var instrument: InstrumentID
    public var side: Side
    public var price: Price
    public var quantity: Quantity
    public var fee: Money
    public var liquidity: Liquidity
    /// Quantity still working after this fill.
    public var leavesQuantity: Quantity
    public init(orderID: ClientOrderID, instrument: InstrumentID, side: Side, price: Price, quantity: Quantity, fee: Money, liquidity: Liquidity, leavesQuantity: Quantity) {
        (self.orderID, self.instrument, self.side, self.price, self.quantity, self.fee, self.liquidity, self.leavesQuantity) = (orderID, instrument, side, price, quantity, fee, liquidity, leavesQuantity)
    }
}

/// A modification was refused; the order works on unchanged (a rejection of the order
/// itself is `OrderRejected`, which ends it).
public struct OrderModifyRejected: Equatable, Sendable {
    public var orderID: ClientOrderID
    public var instrument: InstrumentID
    public var reason: RejectReason
    public init(orderID: ClientOrderID, instrument: InstrumentID, reason: RejectReason) { (self.orderID, self.instrument, self.reason) = (orderID, instrument, reason) }
}

/// The venue applied a modification: the order now works `leavesQuantity` at `price`.
/// `keptPriority` says whether it kept its place in the queue (a size reduction at the same
/// price does; a price change or a size increase does not).
public struct OrderModified: Equatable, Sendable {
    public var orderID: ClientOrderID
    public var instrument: InstrumentID
    public var keptPriority: Bool
    public var leavesQuantity: Quantity
    public var price: Price
    public init(orderID: ClientOrderID, instrument: InstrumentID, keptPriority: Bool, leavesQuantity: Quantity, price: Price) {
        (self.orderID, self.instrument, self.keptPriority, self.leavesQuantity, self.price) = (orderID, instrument, keptPriority, leavesQuantity, price)
    }
}

/// A position after a fill: signed quantity, the cost of the open quantity, and running totals.
public struct PositionChanged: Equatable, Sendable {
    public var instrument: InstrumentID
    /// Signed: negative is short.
    public var quantity: Quantity
    /// Signed cost of the open quantity at its entry prices (average price = cost / quantity).
    public var costBasis: Money
    /// Realized PnL of this instrument before fees, cumulative.
    public var realizedPnL: Money
    /// Fees paid on this instrument, cumulative.
    public var fees: Money
    public init(instrument: InstrumentID, quantity: Quantity, costBasis: Money, realizedPnL: Money, fees: Money) {
        (self.instrument, self.quantity, self.costBasis, self.realizedPnL, self.fees) = (instrument, quantity, costBasis, realizedPnL, fees)
    }
}

/// The account's balances: the equity curve is the sequence of these.
public struct BalanceChanged: Equatable, Sendable {
    public var cash: Money
    /// Cash plus open positions marked to market.
    public var equity: Money
    public var realizedPnL: Money
    public var unrealizedPnL: Money
    public var fees: Money
    public init(cash: Money, equity: Money, realizedPnL: Money, unrealizedPnL: Money, fees: Money) {
        (self.cash, self.equity, self.realizedPnL, self.unrealizedPnL, self.fees) = (cash, equity, realizedPnL, unrealizedPnL, fees)
    }
}

/// A strategy timer came due.
public struct TimerFired: Equatable, Sendable {
    public var timerID: UInt64
    public init(timerID: UInt64) { self.timerID = timerID }
}

/// The run's mode, journaled at session start.
public enum RunMode: UInt8, Sendable {
    case `import` = 0
    case backtest = 1
    case replay = 2
    case live = 3
}

/// A session begins.
public struct SessionStarted: Equatable, Sendable {
    public var mode: RunMode
    public var seed: UInt64
    public init(mode: RunMode, seed: UInt64) { (self.mode, self.seed) = (mode, seed) }
}

/// A session ends.
public struct SessionEnded: Equatable, Sendable {
    /// Input events the session processed.
    public var inputEvents: UInt64
    public init(inputEvents: UInt64) { self.inputEvents = inputEvents }
}

/// What a live venue said about one of our orders. It is an input: the live engine applies
/// it (and records the matching output event), so a replay of the journal gives the same
/// answers at the same points without asking any venue.
public struct VenueReport: Equatable, Sendable {
    /// The answer itself.
    public enum Body: Equatable, Sendable {
        case accepted(OrderAccepted)
        case rejected(OrderRejected)
        case canceled(OrderCanceled)
        case filled(OrderFilled)
        case modified(OrderModified)

        public var orderID: ClientOrderID {
            switch self {
            case .accepted(let e): e.orderID
            case .rejected(let e): e.orderID
            case .canceled(let e): e.orderID
            case .filled(let e): e.orderID
            case .modified(let e): e.orderID
            }
        }
        /// The same answer about order `id` (a venue maps its own ids to the client's).
        public func with(orderID id: ClientOrderID) -> Body {
            switch self {
            case .accepted(var e): e.orderID = id; return .accepted(e)
            case .rejected(var e): e.orderID = id; return .rejected(e)
            case .canceled(var e): e.orderID = id; return .canceled(e)
            case .filled(var e): e.orderID = id; return .filled(e)
            case .modified(var e): e.orderID = id; return .modified(e)
            }
        }
        /// The same answer as an output event body.
        public var event: EventBody {
            switch self {
            case .accepted(let e): .orderAccepted(e)
            case .rejected(let e): .orderRejected(e)
            case .canceled(let e): .orderCanceled(e)
            case .filled(let e): .orderFilled(e)
            case .modified(let e): .orderModified(e)
            }
        }
        /// The answer an output event body carries (nil for other kinds).
        public init?(_ body: EventBody) {
            switch body {
            case .orderAccepted(let e): self = .accepted(e)
            case .orderRejected(let e): self = .rejected(e)
            case .orderCanceled(let e): self = .canceled(e)
            case .orderFilled(let e): self = .filled(e)
            case .orderModified(let e): self = .modified(e)
            default: return nil
            }
        }
    }
    /// The venue session's sequence number of the message (a resumed session asks for
    /// every report after the last one it journaled).
    public var venueSequence: UInt64
    public var body: Body
    public init(venueSequence: UInt64, body: Body) { (self.venueSequence, self.body) = (venueSequence, body) }
}

/// A venue heartbeat: the venue's clock when it sent it, and, when it answers one of our
/// pings, the local time that ping left (a two-way time-sync sample; 0: one-way).
public struct VenueHeartbeat: Equatable, Sendable {
    public var venueTime: Int64
    public var pingSent: Int64
    public init(venueTime: Int64, pingSent: Int64) { (self.venueTime, self.pingSent) = (venueTime, pingSent) }
}

/// Something that happened to a live session rather than in the market: journaled as an
/// input because the engine acts on it (a kill switch cancels orders, a disconnect refuses
/// new ones), so a replay acts the same way at the same point.
public struct SessionControl: Equatable, Sendable {
    public enum Action: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        /// Logged on to the venue (`a`: the venue sequence it resumed after).
        case connected = 1
        /// The connection was lost (`a`: the last venue sequence received).
        case disconnected = 2
        /// A sequence gap (`a`: the expected sequence, `b`: the one received).
        case gap = 3
        /// The venue's snapshot after a gap or a reconnect is complete (`a`: its sequence).
        case resynced = 4
        /// The kill switch tripped (signal or file): cancel everything, trade no more.
        case killSwitch = 5
        /// A graceful stop was asked for (SIGINT, SIGTERM, end of data).
        case shutdown = 6
        /// The venue has no more market data.
        case endOfData = 7
        public var description: String {
            switch self {
            case .connected: "connected"
            case .disconnected: "disconnected"
            case .gap: "gap"
            case .resynced: "resynced"
            case .killSwitch: "kill-switch"
            case .shutdown: "shutdown"
            case .endOfData: "end-of-data"
            }
        }
    }
    public var action: Action
    public var a: UInt64
    public var b: UInt64
    public init(_ action: Action, a: UInt64 = 0, b: UInt64 = 0) { (self.action, self.a, self.b) = (action, a, b) }
}
