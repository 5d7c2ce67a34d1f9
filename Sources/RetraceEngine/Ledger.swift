import RetraceCore
import RetraceMarket

/// The account side of the engine: hears the venue, updates the portfolio, and records
/// every order, fill, position and balance event through the recorder.
///
/// Venue callbacks cannot throw, so the first recording failure is kept in `failure`
/// and the engine stops at its next check.
public final class Ledger: VenueListener {
    public private(set) var portfolio: Portfolio
    public let recorder: OutputRecorder
    /// Engine time for stamping outputs.
    public var now = Timestamp.zero
    /// The first error met while recording.
    public private(set) var failure: EngineError?
    /// Fills and rejects not yet shown to the strategy, in order.
    var pendingFills: [OrderFilled] = []
    var pendingRejects: [OrderRejected] = []
    var pendingCancels: [OrderCanceled] = []
    var pendingModifyRejects: [OrderModifyRejected] = []
    /// Whether a venue answer waits to be shown to the strategy.
    @inline(__always) var hasAnswers: Bool { !pendingFills.isEmpty || !pendingRejects.isEmpty || !pendingCancels.isEmpty || !pendingModifyRejects.isEmpty }
    /// The latest market values per instrument as the strategy sees them (BBO with sizes,
    /// last trade, top levels), updated by the engine on every market event; depth feeds'
    /// book part is copied from the venue's book when read (`lastValue`).
    var lastValues = LastValueCache(depth: 5)
    /// The run's venue, for the strategy's view of the touch. Set by the engine, which owns
    /// the venue for the whole run.
    var venue: SimulatedVenue? {
        get { venueRef?.takeUnretainedValue() }
        set { venueRef = newValue.map { Unmanaged.passUnretained($0) } }
    }
    /// `venue` without ownership: the strategy's per-event calls borrow it through this
    /// (an `unowned(unsafe)` load still retained and released it, two atomic operations).
    @usableFromInline var venueRef: Unmanaged<SimulatedVenue>?
    /// Pre-trade risk checks; they hear how the orders they let through end.
    var risk: RiskGate
    /// Instrument trading rules, through their LRU + TTL cache (nil: the run has none).
    var reference: ReferenceData?
    private var nextOrderID: UInt64 = 1
    private let equityIntervalNanos: Int64
    private var lastEquityTime = Timestamp(nanos: Int64.min)

    /// The trading-rules cache's figures and refusals (nil: the run has no reference file).
    public var referenceSummary: ReferenceSummary? { reference?.summary }

    /// The latest market values of an instrument (nil before its first market event); a
    /// depth feed's bid, ask and top levels are the venue's recorded book as it stands.
    public func lastValue(_ id: InstrumentID) -> LastValueCache.Entry? {
        guard let venueRef else { return lastValues[id] }
        return venueRef._withUnsafeGuaranteedRef { venue in
            lastValues.entry(id, book: venue.forEachRecordedLevel)
        }
    }

    init(account: AccountConfig, recorder: OutputRecorder) {
        portfolio = Portfolio(cash: account.cash)
        risk = RiskGate(limits: account.risk, startingCash: account.cash)
        reference = account.reference.map(ReferenceData.init(table:))
        self.recorder = recorder
        equityIntervalNanos = account.equityIntervalNanos
        pendingFills.reserveCapacity(64)
        pendingRejects.reserveCapacity(16)
    }

    func define(_ instrument: Instrument) { portfolio.define(instrument) }

    func allocateOrderID() -> ClientOrderID {
        defer { nextOrderID += 1 }
        return ClientOrderID(nextOrderID)
    }

    func record(_ body: EventBody) {
        guard failure == nil else { return }
        do { try recorder.record(body, at: now) } catch { failure = error }
    }

    public func venueAccepted(_ event: OrderAccepted) { record(.orderAccepted(event)) }
    public func venueCanceled(_ event: OrderCanceled) {
        risk.orderReduced(event.orderID, by: 0, finished: true)
        record(.orderCanceled(event))
        pendingCancels.append(event)
    }
    public func venueModified(_ event: OrderModified) {
        risk.orderModified(event.orderID, leaves: event.leavesQuantity.raw)
        record(.orderModified(event))
    }

    public func venueRejected(_ event: OrderRejected) {
        risk.orderReduced(event.orderID, by: 0, finished: true)
        record(.orderRejected(event))
        pendingRejects.append(event)
    }

    /// The pre-trade checks of a new order in `instrument` (nil: it may go): the
    /// instrument's trading rules first (the venue would refuse such an order), then (with
    /// `checkRisk`) the risk limits.
    func preTradeRefusal(_ order: OrderSubmitted, instrument: Instrument, touch: (bid: Int64, ask: Int64), lastTrade: Price?, now: Int64,
                         checkRisk: Bool) -> RejectReason? {
        if let reason = reference?.check(order, instrument: instrument, touch: touch, now: now) { return reason }
        guard checkRisk else { return nil }
        return risk.check(order, instrument: instrument, position: portfolio.position(order.instrument).quantity.raw, touch: touch,
                          lastTrade: lastTrade, now: now, equity: portfolio.equity)
    }

    /// Checks a modification of `order` as the order would be after it (`quantity` open at
    /// `price`): against the trading rules like a new order, then (with `checkRisk`) the
    /// risk limits.
    func modifyRefusal(_ order: OrderSubmitted, quantity: Quantity, price: Price, touch: (bid: Int64, ask: Int64), lastTrade: Price?, now: Int64,
                       checkRisk: Bool) -> OrderModifyRejected? {
        guard reference != nil || checkRisk, let instrument = portfolio.instrument(order.instrument) else { return nil }
        var changed = order
        changed.quantity = quantity
        changed.limitPrice = price
        changed.sizing = .fixed
        var reason = reference?.check(changed, instrument: instrument, touch: touch, now: now)
        if reason == nil && checkRisk {
            reason = risk.checkModify(changed, instrument: instrument, position: portfolio.position(order.instrument).quantity.raw, touch: touch,
                                      lastTrade: lastTrade, equity: portfolio.equity)
        }
        guard let reason else { return nil }
        return OrderModifyRejected(orderID: order.orderID, instrument: order.instrument, reason: reason)
    }

    /// A modification the engine refused before it left (the order works on unchanged).
    public func modifyRejected(_ event: OrderModifyRejected) {
        record(.orderModifyRejected(event))
        pendingModifyRejects.append(event)
    }

    public func venueFilled(_ event: OrderFilled) {
        risk.orderReduced(event.orderID, by: event.quantity.magnitude.raw, finished: event.leavesQuantity.raw == 0)
        record(.orderFilled(event))
        let position = portfolio.apply(event)
        record(.positionChanged(position))
        recordBalance()
        pendingFills.append(event)
    }

    public func allInQuantity(instrument: Instrument, price: Price, feeRate: Rate) -> Quantity {
        portfolio.allInQuantity(instrument: instrument, price: price, feeRate: feeRate)
    }

    /// Updates marks from a market event and records an equity point when due: every
    /// bar, and for tick feeds at most once per equity interval of event time.
    @inline(__always)
    func mark(_ event: Event) {
        guard portfolio.mark(event.body) else { return }
        if case .barReceived = event.body { recordBalance(); return }
        if event.receiveTime.nanos &- lastEquityTime.nanos >= equityIntervalNanos { recordBalance() }
    }

    func recordBalance() {
        lastEquityTime = now
        record(.balanceChanged(portfolio.balance))
    }
}

extension Ledger {
    /// Saves the account between two input events (nothing is pending then).
    func saveState(_ w: inout StateWriter) {
        precondition(pendingFills.isEmpty && pendingRejects.isEmpty && pendingCancels.isEmpty, "a snapshot is taken between events")
        w.put(portfolio)
        w.put(now)
        if let venueRef {
            venueRef._withUnsafeGuaranteedRef { venue in lastValues.refreshAll(book: venue.forEachRecordedLevel) }
        }
        lastValues.saveState(&w)
        risk.saveState(&w)
        w.word(nextOrderID)
        w.put(lastEquityTime)
    }

    func restoreState(_ r: inout StateReader) throws(CoreError) {
        portfolio = try r.get()
        now = try r.get()
        try lastValues.restoreState(&r)
        try risk.restoreState(&r)
        nextOrderID = try r.word()
        lastEquityTime = try r.get()
    }
}
