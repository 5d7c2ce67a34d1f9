import RetraceCore
import RetraceMarket

/// A request the live engine wants sent to the venue once the outputs that decided it are
/// durable in the journal.
public enum OutboundRequest: Equatable, Sendable {
    case new(OrderSubmitted)
    case cancel(ClientOrderID, InstrumentID)
    case modify(ClientOrderID, InstrumentID, Quantity, Price)
    /// After a resume: what does the venue know of this order (it may never have arrived)?
    case status(ClientOrderID, InstrumentID)
}

/// A request and the receive time of the input that caused it (tick-to-order is measured
/// from there).
public struct OutboundItem: Sendable {
    public var request: OutboundRequest
    public var cause: Int64
    public init(request: OutboundRequest, cause: Int64) { (self.request, self.cause) = (request, cause) }
}

/// Settings of the live engine that change decisions (recorded in the manifest, so a
/// replay uses the same ones).
public struct LiveEngineSettings: Codable, Equatable, Sendable {
    /// Venue rejects within `breakerWindowMillis` that open the gateway's circuit breaker.
    public var breakerRejects = 5
    public var breakerWindowMillis: Int64 = 1_000
    /// How long the breaker stays open (new orders refused locally).
    public var breakerCooldownMillis: Int64 = 5_000
    /// Time-sync window (the best heartbeat sample of each window enters the fit).
    public var timeSyncWindowMillis: Int64 = 1_000
    public init() {}

    enum CodingKeys: String, CodingKey {
        case breakerRejects = "breaker_rejects", breakerWindowMillis = "breaker_window_millis", breakerCooldownMillis = "breaker_cooldown_millis"
        case timeSyncWindowMillis = "time_sync_window_millis"
    }
}

/// The live mode's core: the same strategy, ledger, risk gate, timer wheel and recorder as
/// a backtest, with the venue on the other side of a network connection. Every input —
/// market data, the venue's answers about our orders, heartbeats and session changes — is
/// journaled by the driver before `process` sees it; outputs are recorded as in a backtest,
/// and the requests to send wait in `outbound` until the driver has made them durable.
///
/// Nothing here reads a clock or the network: given the same journaled inputs it makes the
/// same decisions, which is how `retrace replay` reproduces a live run and how
/// `retrace live --resume` rebuilds its state.
public final class LiveEngine<S: Strategy> {
    public private(set) var strategy: S
    public let ledger: Ledger
    public let settings: LiveEngineSettings
    /// The market as the feed showed it (touch, last trade, depth): the strategy's view.
    /// No order of ours rests here; the venue is remote.
    public let market: SimulatedVenue
    public private(set) var clock = SimulatedClock()
    /// Venue clock estimate from heartbeats.
    public private(set) var timeSync: TimeSync
    /// Requests decided since the driver last took them.
    public var outbound: [OutboundItem] = []
    /// Whether `process` hands a new instrument definition to the store writer. A driver
    /// that journals a batch of inputs before running it turns this off and hands each new
    /// definition over as it journals it: the writer must see events in journal order.
    public var publishesDefinitions = true

    /// Our orders the venue may still act on, by id (iterate `openIDs` for order).
    public private(set) var open: [UInt64: OpenOrder] = [:]
    public struct OpenOrder: Equatable, Sendable {
        public var order: OrderSubmitted
        public var leaves: Quantity
        public var acknowledged: Bool
    }
    /// Open order ids in submission order (deterministic iteration).
    public var openIDs: [UInt64] { open.keys.sorted() }

    public private(set) var connected = false
    public private(set) var killed = false
    public private(set) var stopping = false
    public private(set) var endOfData = false
    public private(set) var counters = Counters()
    public struct Counters: Equatable, Sendable {
        public var marketEvents: UInt64 = 0
        public var reports: UInt64 = 0
        public var heartbeats: UInt64 = 0
        public var reconnects: UInt64 = 0
        public var gaps: UInt64 = 0
        public var venueRejects: UInt64 = 0
        public var localRejects: UInt64 = 0
        public var breakerTrips: UInt64 = 0
        public var duplicateReports: UInt64 = 0
        /// The last venue sequence journaled in a report (a resume asks for what follows).
        public var lastReportSequence: UInt64 = 0
    }

    private let account: AccountConfig
    private var commands: [StrategyCommand] = []
    private var timers = TimerWheel()
    private let riskActive: Bool
    private var started = false
    private var recentRejects: [Int64] = []
    private var breakerOpenUntil = Int64.min
    private var causeTime: Int64 = 0
    private let answers = AnswerQueue()

    public init(strategy: S, account: AccountConfig, recorder: OutputRecorder, settings: LiveEngineSettings) {
        self.strategy = strategy
        self.account = account
        self.settings = settings
        riskActive = account.risk.isActive
        ledger = Ledger(account: account, recorder: recorder)
        market = SimulatedVenue(venues: account.venues, assignment: account.assignment)
        ledger.venue = market
        timeSync = TimeSync(windowNanos: max(1, settings.timeSyncWindowMillis) * 1_000_000)
        commands.reserveCapacity(16)
    }

    /// Whether new orders may go out now.
    public var gatewayOpen: Bool { connected && !killed && !stopping && clock.now.nanos >= breakerOpenUntil }

    /// Applies one journaled input (its sequence already set by the driver).
    public func process(_ event: Event) throws(EngineError) {
        guard event.receiveTime >= clock.now else {
            throw EngineError(.badInput, "input event #\(event.sequence) (\(event.body.kind.name)) at \(event.receiveTime) is earlier than the previous event at \(clock.now)")
        }
        causeTime = event.receiveTime.nanos
        try fireTimers(upTo: event.receiveTime)
        setTime(event.receiveTime)
        if !started, event.body.kind != .instrumentDefined, !ledger.portfolio.instruments.isEmpty {
            started = true
            try callStrategy { (s, c) throws(EngineError) in try s.onStart(&c) }
            try drain()
        }
        switch event.body {
        case .instrumentDefined(let d):
            let i = Int(d.instrument.id.raw)
            if i < ledger.portfolio.instruments.count, ledger.portfolio.instruments[i] != nil { return }  // sent again after a reconnect
            market.define(d.instrument)
            ledger.define(d.instrument)
            if publishesDefinitions { ledger.recorder.publishInput(event) }
        case .venueReport(let report):
            try apply(report)
        case .venueHeartbeat(let h):
            counters.heartbeats += 1
            timeSync.add(TimeSync.Sample(localSend: h.pingSent == 0 ? nil : h.pingSent, venueTime: h.venueTime, localReceive: event.receiveTime.nanos))
        case .sessionControl(let c):
            try control(c)
        default:
            guard event.body.marketInstrument != nil else { return }
            counters.marketEvents += 1
            var ignore = MarketOnly()
            market.onMarket(event, at: event.receiveTime, listener: &ignore)
            ledger.mark(event)
            ledger.lastValues.apply(event)
            if riskActive { try checkKillLoss() }
            guard started else { return }
            callStrategy { s, c in s.onMarket(event, &c) }
            try drain()
        }
    }

    /// Ends the session: the balance and the session marker. Open orders were cancelled by
    /// the shutdown (or are left to the venue when the session was cut short).
    public func finish() throws(EngineError) {
        ledger.recordBalance()
        if let failure = ledger.failure { throw failure }
        let recorder = ledger.recorder
        try recorder.recordControl(.sessionEnded(SessionEnded(inputEvents: recorder.inputEvents)), at: clock.now)
    }

    // MARK: - Venue answers

    private func apply(_ report: VenueReport) throws(EngineError) {
        counters.reports += 1
        if report.venueSequence > counters.lastReportSequence { counters.lastReportSequence = report.venueSequence }
        let id = report.body.orderID.raw
        guard var o = open[id] else {
            // A report about an order that already finished (sent again after a resync).
            counters.duplicateReports += 1
            return
        }
        switch report.body {
        case .accepted(let e):
            if o.acknowledged { counters.duplicateReports += 1; return }
            o.acknowledged = true
            open[id] = o
            ledger.venueAccepted(e)
        case .rejected(let e):
            open[id] = nil
            counters.venueRejects += 1
            noteReject()
            ledger.venueRejected(e)
        case .canceled(let e):
            open[id] = nil
            ledger.venueCanceled(e)
        case .filled(let e):
            if e.leavesQuantity.raw == 0 { open[id] = nil } else {
                o.leaves = e.leavesQuantity
                o.acknowledged = true
                open[id] = o
            }
            ledger.venueFilled(e)
        case .modified(let e):
            o.leaves = e.leavesQuantity
            o.order.limitPrice = e.price
            open[id] = o
            ledger.venueModified(e)
        }
        try deliverAnswers()
        try drain()
    }

    /// Counts a venue reject; enough of them inside the window open the breaker.
    private func noteReject() {
        let now = clock.now.nanos
        recentRejects.append(now)
        let cutoff = now - settings.breakerWindowMillis * 1_000_000
        recentRejects.removeAll { $0 < cutoff }
        if recentRejects.count >= settings.breakerRejects && settings.breakerRejects > 0 {
            breakerOpenUntil = now + settings.breakerCooldownMillis * 1_000_000
            counters.breakerTrips += 1
            recentRejects.removeAll()
        }
    }

    private func control(_ c: SessionControl) throws(EngineError) {
        switch c.action {
        case .connected:
            if connected == false && counters.reports + counters.marketEvents > 0 { counters.reconnects += 1 }
            connected = true
        case .disconnected:
            connected = false
        case .gap:
            counters.gaps += 1
        case .resynced:
            break
        case .killSwitch:
            guard !killed else { return }
            killed = true
            cancelAll()
        case .endOfData:
            endOfData = true
        case .shutdown:
            guard !stopping else { return }
            if started {
                callStrategy { s, c in s.onStop(&c) }
                try drain()
            }
            stopping = true
            cancelAll()
        }
    }

    /// Asks the venue to cancel every open order (in id order).
    private func cancelAll() {
        for id in openIDs {
            let o = open[id]!
            queue(.cancel(o.order.orderID, o.order.instrument))
        }
    }

    private func checkKillLoss() throws(EngineError) {
        guard ledger.risk.checkKill(equity: ledger.portfolio.equity), !killed else { return }
        killed = true
        cancelAll()
    }

    // MARK: - Strategy commands

    @inline(__always)
    private func callStrategy<E: Error>(_ body: (inout S, inout StrategyContext) throws(E) -> Void) throws(E) {
        try StrategyContext.call(&strategy, now: clock.now, ledger: ledger, commands: &commands, body)
    }

    private func queue(_ request: OutboundRequest) {
        outbound.append(OutboundItem(request: request, cause: causeTime))
    }

    private func drain() throws(EngineError) {
        while !commands.isEmpty {
            // Nothing in this loop calls the strategy (answers wait in the ledger), so the
            // commands stay put while they are carried out.
            for command in commands {
                switch command {
                case .submit(let order):
                    ledger.record(.orderSubmitted(order))
                    if let reason = localRefusal(order) {
                        counters.localRejects += 1
                        ledger.venueRejected(OrderRejected(orderID: order.orderID, instrument: order.instrument, reason: reason))
                    } else {
                        open[order.orderID.raw] = OpenOrder(order: order, leaves: order.quantity, acknowledged: false)
                        queue(.new(order))
                    }
                case .cancel(let id):
                    if let o = open[id.raw] { queue(.cancel(id, o.order.instrument)) }
                case .modify(let id, let quantity, let price):
                    if let o = open[id.raw], gatewayOpen {
                        // Checked against the trading rules and the risk limits as the order would be after it.
                        if let refused = ledger.modifyRefusal(o.order, quantity: quantity, price: price, touch: market.touch(o.order.instrument),
                                                              lastTrade: market.lastTrade(o.order.instrument), now: clock.now.nanos, checkRisk: riskActive) {
                            counters.localRejects += 1
                            ledger.modifyRejected(refused)
                        } else {
                            queue(.modify(id, o.order.instrument, quantity, price))
                        }
                    }
                case .schedule(let time, let id):
                    timers.schedule(at: time.nanos, id: id)
                }
            }
            commands.removeAll(keepingCapacity: true)
            try deliverAnswers()
        }
        if let failure = ledger.failure { throw failure }
    }

    /// Why an order may not go out (nil: it may).
    private func localRefusal(_ order: OrderSubmitted) -> RejectReason? {
        if killed { return .killSwitch }
        if !gatewayOpen { return .venueUnavailable }
        if order.sizing != .fixed { return .liveSizing }
        if riskActive || ledger.reference != nil {
            guard let instrument = ledger.portfolio.instrument(order.instrument) else { return .unknownInstrument }
            return ledger.preTradeRefusal(order, instrument: instrument, touch: market.touch(order.instrument), lastTrade: market.lastTrade(order.instrument),
                                          now: clock.now.nanos, checkRisk: riskActive)
        }
        return nil
    }

    private func deliverAnswers() throws(EngineError) {
        try answers.deliver(from: ledger, each: { answer in
            callStrategy { s, c in answer.show(to: &s, &c) }
        }, afterFills: { () throws(EngineError) in
            if riskActive { try checkKillLoss() }
        }, end: { () throws(EngineError) in
            if !commands.isEmpty { try drain() }
        })
    }

    private func fireTimers(upTo time: Timestamp) throws(EngineError) {
        while let t = timers.nextDeadline(upTo: time.nanos), let due = timers.popDue(upTo: t) {
            setTime(Timestamp(nanos: t))
            ledger.record(.timerFired(TimerFired(timerID: due.id)))
            callStrategy { s, c in s.onTimer(due.id, &c) }
            try drain()
        }
    }

    private func setTime(_ time: Timestamp) {
        if time > clock.now { clock.advance(to: time) }
        ledger.now = clock.now
        market.now = clock.now
    }
}

/// The live engine's market view takes no orders, so it never answers.
struct MarketOnly: VenueListener {
    func venueAccepted(_ event: OrderAccepted) {}
    func venueRejected(_ event: OrderRejected) {}
    func venueCanceled(_ event: OrderCanceled) {}
    func venueFilled(_ event: OrderFilled) {}
    func allInQuantity(instrument: Instrument, price: Price, feeRate: Rate) -> Quantity { .zero }
}
