import RetraceCore
import RetraceMarket

/// What a finished run reports.
public struct RunResult: Sendable {
    public var inputEvents: UInt64
    public var orders: UInt64
    public var fills: UInt64
    public var startingCash: Money
    public var finalEquity: Money
    public var fees: Money
    /// Repeated trades dropped by the feed de-duplicator.
    public var duplicatesDropped: UInt64 = 0
    /// The core thread's allocations after the warm-up (when an allocation counter was given).
    public var hotPath: HotPathAllocations?
    /// The trading-rules cache's figures and refusals (when the run had a reference file).
    public var reference: ReferenceSummary?
    /// Latency histograms per stage and per venue (empty when profiling is off).
    public var latency: [LatencySummary] = []
    /// True when `afterEvent` stopped the run before its inputs ended (no settlement, no
    /// close-out: the journal ends where it stopped).
    public var stopped = false
    /// Final equity minus starting cash.
    public var pnl: Money { finalEquity - startingCash }
}

/// The single-threaded core loop: input events in journal order → simulated clock →
/// venue matching → marks → strategy → commands → venue, with every input journaled (by
/// reference when it comes from another journal) and every output journaled and handed to
/// the store writer (which fingerprints and projects them).
public final class BacktestEngine<S: Strategy> {
    public internal(set) var strategy: S
    public let ledger: Ledger
    /// The ledger again, as the storage the venue's `inout` listener parameter borrows: a
    /// local `var listener = ledger` cost a retain and a release (two atomic operations)
    /// on every input.
    private var listener: Ledger
    /// A `let`, so the per-input calls borrow it instead of retaining it.
    public let venue: SimulatedVenue
    /// Seeds the venue's random draws (latency jitter, queue models); recorded in the session marker.
    public let seed: UInt64
    public internal(set) var clock = SimulatedClock()
    private let account: AccountConfig
    private var commands: [StrategyCommand] = []
    var timers = TimerWheel()
    /// Whether any pre-trade risk check is on (off: no per-order cost).
    private let riskActive: Bool
    /// Drops repeated trade ids before they are journaled or seen (nil: off).
    var dedup: Deduplicator?
    var duplicatesDropped: UInt64 = 0
    private let answers = AnswerQueue()
    /// The ledger's recorder (read on every input).
    private let recorder: OutputRecorder
    /// Counts this thread's heap allocations (benchmarks); read after `allocationWarmup`
    /// input events and after the last one.
    public var allocationCounter: (@Sendable () -> UInt64)?
    public var allocationWarmup: UInt64 = 100_000
    /// Wall-clock checkpoints along tick-to-order (measured, never used by the logic).
    public var profiler = LatencyProfiler(every: 16)
    /// The mode recorded in the session marker.
    public var mode = RunMode.backtest
    /// Called after each input event is processed (replay breakpoints and stepping);
    /// returning true stops the run there.
    public var afterEvent: ((Event, Ledger, SimulatedVenue) -> Bool)?
    /// Engine snapshots: after every `snapshotEvery`-th input (0: never) the sink gets the
    /// state with the journal sequence of that input (`EngineSnapshot`).
    public var snapshotEvery = 0
    public var snapshotSink: ((UInt64, [UInt8]) throws(EngineError) -> Void)?
    /// The configuration a snapshot belongs to (`EngineSnapshot.tag`).
    public var snapshotTag = ""
    /// A saved state to start from instead of the first input (a replay seeking into a run).
    public var startState: [UInt8]?
    /// The instrument definitions seen, as recorded (a snapshot carries them).
    var definitions: [Event] = []
    /// The journal sequence of the latest input (0: not journaled: muted or dropped).
    private var lastInputSequence: UInt64 = 0

    public init(strategy: S, account: AccountConfig, recorder: OutputRecorder, seed: UInt64 = 0) {
        self.strategy = strategy
        self.account = account
        riskActive = account.risk.isActive
        dedup = account.dedupWindow > 0 ? Deduplicator(window: account.dedupWindow) : nil
        ledger = Ledger(account: account, recorder: recorder)
        listener = ledger
        self.recorder = recorder
        self.seed = seed
        venue = SimulatedVenue(venues: account.venues, assignment: account.assignment, seed: seed)
        ledger.venue = venue
        commands.reserveCapacity(16)
    }

    /// Runs every event of `source` and closes the session. Returns the summary.
    public func run<Source: InputSource>(_ source: inout Source) throws(EngineError) -> RunResult {
        let recorder = ledger.recorder
        try recorder.recordControl(.sessionStarted(SessionStarted(mode: mode, seed: seed)), at: .zero)
        var started = false
        var stopped = false
        var count: UInt64 = 0
        var allocationsAtWarmup: UInt64?
        if let state = startState {
            try resume(from: state)
            started = true
        }
        var sink = snapshotEvery > 0 ? snapshotSink : nil
        // One slot the source decodes each input into (or it hands out a slot of its own,
        // holding an event decoded ahead): the event is never copied on its way in.
        let own = UnsafeMutablePointer<InputEvent>.allocate(capacity: 1)
        own.initialize(to: .empty)
        defer {
            own.deinitialize(count: 1)
            own.deallocate()
        }
        do throws(EngineError) {
            while let slot = try source.next(slot: own) {
                if !started, slot.pointee.event.body.kind != .instrumentDefined {
                    try start(at: slot.pointee.event.receiveTime)
                    started = true
                }
                try process(&slot.pointee)
                count &+= 1
                if let write = sink, started, count % UInt64(snapshotEvery) == 0, lastInputSequence > 0 {
                    if let state = saveState() {
                        try releaseHeldInputs()  // the snapshot names an input the journal must hold
                        try write(lastInputSequence, state)
                    } else {
                        sink = nil  // the strategy keeps none
                    }
                }
                if count == allocationWarmup, let counter = allocationCounter { allocationsAtWarmup = counter() }
                if let afterEvent, afterEvent(slot.pointee.event, ledger, venue) {
                    stopped = true
                    break
                }
            }
        } catch {
            // The inputs journaled before the failure stay in the journal.
            try? releaseHeldInputs()
            throw error
        }
        var hotPath: HotPathAllocations?
        if let base = allocationsAtWarmup, let counter = allocationCounter {
            hotPath = HotPathAllocations(events: count - allocationWarmup, allocations: counter() - base)
        }
        if !started { try start(at: clock.now) }
        if stopped {
            try recorder.recordControl(.sessionEnded(SessionEnded(inputEvents: recorder.inputEvents)), at: clock.now)
        } else {
            try settleVenue()
            try finish()
        }
        return RunResult(inputEvents: recorder.inputEvents, orders: recorder.orders, fills: recorder.fills, startingCash: account.cash,
                         finalEquity: ledger.portfolio.equity, fees: ledger.portfolio.fees, duplicatesDropped: duplicatesDropped, hotPath: hotPath, reference: ledger.referenceSummary,
                         latency: profiler.summaries(venues: venue.venues.map(\.name)), stopped: stopped)
    }

    private func releaseHeldInputs() throws(EngineError) {
        do { try recorder.releaseHeldInputs() } catch { throw EngineError(.journal, error.message) }
    }

    /// Starts from a saved state: the instruments it knew are journaled again (a replay's
    /// journal and store need them) and the inputs after the snapshot follow.
    private func resume(from state: [UInt8]) throws(EngineError) {
        do { try restoreState(state) } catch { throw EngineError(.badInput, "snapshot: \(error.message)") }
        let recorder = ledger.recorder
        for d in definitions {
            let e = try recorder.recordInput(d)
            recorder.publishInput(e)
        }
    }

    private func start(at time: Timestamp) throws(EngineError) {
        if time > clock.now { clock.advance(to: time) }
        ledger.now = clock.now
        try callStrategy { (s, c) throws(EngineError) in try s.onStart(&c) }
        try drain()
    }

    /// Runs one input, timed by the profiler. While it runs, `input.event.sequence` is this
    /// run's journal sequence; the source's own sequence is put back afterwards (replay
    /// breakpoints name the recorded run's numbers).
    @inline(__always)
    private func process(_ input: inout InputEvent) throws(EngineError) {
        // A replay's fast-forward to its window is not measured (tick-to-order is the window's).
        if !recorder.muted { profiler.begin() }
        try handle(&input)
        // Not a `defer`: that was a call of its own on every input. A thrown error ends the
        // run, so its event needs no end.
        profiler.end()
    }

    private func handle(_ input: inout InputEvent) throws(EngineError) {
        let recorder = self.recorder
        let venue = self.venue  // one reference for the whole input (not one per call)
        guard input.event.receiveTime >= clock.now else {
            throw EngineError(.badInput, "input event #\(input.event.sequence) (\(input.event.body.kind.name)) at \(input.event.receiveTime) is earlier than the previous event at \(clock.now)")
        }
        // A trade whose id repeats a recent one (a feed that sent it twice) is dropped and
        // counted, before it is journaled. Messages without a unique id are never checked.
        if case .tradeReceived(let t) = input.event.body, t.tradeID != 0,
           dedup?.isNew(Deduplicator.mix(UInt64(t.instrument.raw)) ^ t.tradeID) == false {
            duplicatesDropped += 1
            lastInputSequence = 0
            return
        }
        let sourceSequence = input.event.sequence
        defer { input.event.sequence = sourceSequence }
        if case .instrumentDefined = input.event.body { definitions.append(input.event) }
        let sequence: UInt64
        if let bytes = input.encoded {
            do { sequence = try recorder.recordInput(encoded: bytes, sourceSequence: input.sourceSequence, receiveTime: input.event.receiveTime.nanos) } catch { throw EngineError(.journal, error.message) }
        } else {
            sequence = try recorder.recordInput(input.event).sequence
        }
        // The sequence goes into the slot together with the event time, as one 16-byte
        // store: the copy of the event below loads those 16 bytes at once, and a load is
        // forwarded only from a store that covers it (after an 8-byte store of the sequence
        // alone, that load waited for the store to reach the cache: a quarter of this
        // function's time). `Event` is frozen: its sequence is its first 8 bytes and its
        // event time the next 8 (a test checks the layout).
        let time = UInt64(bitPattern: input.event.eventTime.nanos)
        withUnsafeMutableBytes(of: &input.event) { $0.storeBytes(of: SIMD2<UInt64>(sequence, time), toByteOffset: 0, as: SIMD2<UInt64>.self) }
        lastInputSequence = input.event.sequence
        // A definition goes to the store writer at once, before any output this input may
        // release: the writer is handed events in journal order (it may spill to the journal).
        if case .instrumentDefined = input.event.body { recorder.publishInput(input.event) }
        profiler.mark(0)
        // One copy the calls below borrow: passing `input.event` (inout storage) made each
        // call copy the event first (five copies an input).
        let event = input.event
        // Requests that reach the venue before this event's exchange time, answers and
        // timers due before we receive it, in time order.
        let exchangeTime = venue.exchangeTime(of: event)
        if !venue.idle || timers.mayFire(by: event.receiveTime.nanos) { try fireDue(upTo: event.receiveTime, arrivalsUpTo: exchangeTime) }
        setTime(event.receiveTime)
        if case .instrumentDefined(let d) = event.body {
            venue.define(d.instrument)
            ledger.define(d.instrument)
            return
        }
        venue.onMarket(event, at: exchangeTime, listener: &listener)
        try deliverVenueAnswers()
        ledger.mark(event)
        ledger.lastValues.apply(event)
        if riskActive { try checkKillSwitch() }
        profiler.mark(1)
        callStrategy { s, c in s.onMarket(event, &c) }
        profiler.mark(2)
        try drain()
    }

    /// The pre-trade checks for one order (nil: it may go): the instrument's trading rules
    /// first (the venue would refuse such an order), then the risk limits.
    private func preTradeCheck(_ order: OrderSubmitted) -> RejectReason? {
        guard let instrument = ledger.portfolio.instrument(order.instrument) else { return nil }
        return ledger.preTradeRefusal(order, instrument: instrument, touch: venue.touch(order.instrument), lastTrade: venue.lastTrade(order.instrument),
                                      now: clock.now.nanos, checkRisk: riskActive)
    }

    /// A modification the trading rules or the risk limits refuse (nil: it may go): the
    /// order as it would be after it, checked like a new order.
    private func modifyRefusal(_ id: ClientOrderID, quantity: Quantity, price: Price) -> OrderModifyRejected? {
        guard riskActive || ledger.reference != nil, let order = venue.submission(of: id) else { return nil }
        return ledger.modifyRefusal(order, quantity: quantity, price: price, touch: venue.touch(order.instrument), lastTrade: venue.lastTrade(order.instrument),
                                    now: clock.now.nanos, checkRisk: riskActive)
    }

    /// Trips the kill switch when equity has fallen to the limit: every working order is
    /// cancelled (in-flight requests are dropped) and later orders are refused.
    private func checkKillSwitch() throws(EngineError) {
        guard ledger.risk.checkKill(equity: ledger.portfolio.equity) else { return }
        var listener = ledger
        venue.cancelAll(listener: &listener)
        try deliverVenueAnswers()
    }

    @inline(__always)
    private func callStrategy<E: Error>(_ body: (inout S, inout StrategyContext) throws(E) -> Void) throws(E) {
        try StrategyContext.call(&strategy, now: clock.now, ledger: ledger, commands: &commands, body)
    }

    /// Carries out the strategy's commands until no new fills or commands appear. Inlined
    /// check: most inputs leave no command.
    @inline(__always)
    private func drain() throws(EngineError) {
        if commands.isEmpty && ledger.failure == nil { return }
        try drainCommands()
    }

    private func drainCommands() throws(EngineError) {
        while !commands.isEmpty {
            let venue = self.venue
            // An index loop: `for command in commands` retained and released the buffer
            // (nothing here appends to it: the strategy is called only after the loop).
            var k = 0
            while k < commands.count {
                let command = commands[k]
                k += 1
                switch command {
                case .submit(let order):
                    ledger.record(.orderSubmitted(order))
                    let checked = riskActive || ledger.reference != nil
                    let riskStart = checked ? profiler.riskStarted() : 0
                    let refused = checked ? preTradeCheck(order) : nil
                    profiler.riskEnded(riskStart)
                    if let reason = refused {
                        listener.venueRejected(OrderRejected(orderID: order.orderID, instrument: order.instrument, reason: reason))
                    } else {
                        venue.submit(order, listener: &listener)
                        profiler.orderSent(venue: venue.venueIndex(of: order.instrument))
                    }
                case .cancel(let id):
                    venue.cancel(id, listener: &listener)
                case .modify(let id, let quantity, let price):
                    if let refused = modifyRefusal(id, quantity: quantity, price: price) {
                        ledger.modifyRejected(refused)
                    } else {
                        venue.modify(id, quantity: quantity, price: price, listener: &listener)
                    }
                case .schedule(let time, let id):
                    timers.schedule(at: time.nanos, id: id)
                }
            }
            commands.removeAll(keepingCapacity: true)
            try deliverVenueAnswers()
        }
        if let failure = ledger.failure { throw failure }
    }

    /// Shows fills and rejects to the strategy (which may send more commands). Inlined
    /// check: most inputs bring no answer.
    @inline(__always)
    private func deliverVenueAnswers() throws(EngineError) {
        if !ledger.hasAnswers && ledger.failure == nil { return }
        try deliverAnswers()
    }

    private func deliverAnswers() throws(EngineError) {
        try answers.deliver(from: ledger, each: { answer in
            callStrategy { s, c in answer.show(to: &s, &c) }
        }, afterFills: { () throws(EngineError) in
            if riskActive { try checkKillSwitch() }
        }, end: { () throws(EngineError) in
            if !commands.isEmpty { try drain() }
        })
    }

    private func setTime(_ time: Timestamp) {
        if time > clock.now { clock.advance(to: time) }
        ledger.now = clock.now
        venue.now = clock.now
    }

    /// Fires timers and lets the venue process what is due up to `time` (requests reaching
    /// it only up to `arrivalLimit`, the exchange time of the next market event), earliest
    /// first; on a tie the venue goes first (its answers were caused earlier).
    private func fireDue(upTo time: Timestamp, arrivalsUpTo arrivalLimit: Timestamp) throws(EngineError) {
        let venue = self.venue
        while true {
            let venueDue = venue.nextDue(upTo: time, arrivalsUpTo: arrivalLimit)
            // The wheel looks (and cascades) no further than the venue's next step.
            let timer = timers.nextDeadline(upTo: min(time, venueDue ?? time).nanos).map { Timestamp(nanos: $0) }
            if let d = venueDue, d <= (timer ?? .max) {
                setTime(d)
                venue.advance(to: d, arrivalsUpTo: arrivalLimit, listener: &listener)
                try deliverVenueAnswers()
                try drain()
            } else if let t = timer, let due = timers.popDue(upTo: t.nanos) {
                setTime(t)
                ledger.record(.timerFired(TimerFired(timerID: due.id)))
                callStrategy { s, c in s.onTimer(due.id, &c) }
                try drain()
            } else {
                return
            }
        }
    }

    /// After the last event: requests still in flight reach the venue and answers reach the
    /// strategy, in time order (the book is the last one recorded).
    private func settleVenue() throws(EngineError) {
        var rounds = 0
        while let due = venue.nextDue, rounds < 1_000_000 {
            setTime(due)
            var listener = ledger
            venue.advance(to: max(due, clock.now), listener: &listener)
            try deliverVenueAnswers()
            try drain()
            rounds += 1
        }
    }

    /// Stops the strategy, cancels working orders, closes positions (if configured) and
    /// records the final balance and the session end.
    private func finish() throws(EngineError) {
        callStrategy { s, c in s.onStop(&c) }
        try drain()
        try settleVenue()
        var listener = ledger
        venue.cancelAll(listener: &listener)
        if account.closeAtEnd {
            for (i, p) in ledger.portfolio.positions.enumerated() where p.quantity.raw != 0 {
                let id = InstrumentID(UInt32(i))
                let side: Side = p.quantity.raw > 0 ? .sell : .buy
                guard let price = venue.closeOutPrice(id, side: side) else { continue }
                let order = OrderSubmitted(orderID: ledger.allocateOrderID(), instrument: id, side: side, type: .market, sizing: .fixed,
                                           quantity: p.quantity.magnitude, limitPrice: .zero)
                ledger.record(.orderSubmitted(order))
                venue.closeOut(order, at: price, listener: &listener)
            }
        }
        ledger.pendingFills.removeAll()
        ledger.pendingRejects.removeAll()
        ledger.pendingCancels.removeAll()
        ledger.recordBalance()
        if let failure = ledger.failure { throw failure }
        let recorder = ledger.recorder
        try recorder.recordControl(.sessionEnded(SessionEnded(inputEvents: recorder.inputEvents)), at: clock.now)
    }
}

/// The venue's answers the ledger holds, handed on until none is left. A lone answer (most
/// rounds: one cancel or one fill) is taken straight off the ledger. Several move as a batch
/// into reused buffers (one per nesting level: the strategy's reaction may bring answers of
/// its own), leaving the ledger empty ones, and go out by kind: rejects, refused
/// modifications, fills, then cancels. Both engines use it.
final class AnswerQueue {
    enum Answer {
        case rejected(OrderRejected), modifyRejected(OrderModifyRejected), filled(OrderFilled), canceled(OrderCanceled)

        /// Hands the answer to the strategy's callback for it.
        @inline(__always)
        func show<S: Strategy>(to strategy: inout S, _ context: inout StrategyContext) {
            switch self {
            case .rejected(let r): strategy.onRejected(r, &context)
            case .modifyRejected(let m): strategy.onModifyRejected(m, &context)
            case .filled(let f): strategy.onFill(f, &context)
            case .canceled(let x): strategy.onCanceled(x, &context)
            }
        }
    }

    private var fills = BufferStack<OrderFilled>()
    private var rejects = BufferStack<OrderRejected>()
    private var cancels = BufferStack<OrderCanceled>()
    private var modifyRejects = BufferStack<OrderModifyRejected>()

    /// Hands each answer to `each`; after a round's fills (when it had any) calls
    /// `afterFills`, and at the end of every round `end`.
    @inline(__always)
    func deliver(from ledger: Ledger, each: (Answer) throws(EngineError) -> Void, afterFills: () throws(EngineError) -> Void,
                 end: () throws(EngineError) -> Void) throws(EngineError) {
        if let failure = ledger.failure { throw failure }
        while ledger.hasAnswers {
            if let one = Self.takeLone(ledger) {
                // Moving four buffers for one answer cost about 600 instructions a round.
                try each(one)
                if case .filled = one { try afterFills() }
                try end()
                continue
            }
            var f = fills.take(), r = rejects.take(), c = cancels.take()
            swap(&f, &ledger.pendingFills)
            swap(&r, &ledger.pendingRejects)
            swap(&c, &ledger.pendingCancels)
            // Refused modifications are rare: their buffer moves only when one waits.
            var m: [OrderModifyRejected] = []
            let refusedModifies = !ledger.pendingModifyRejects.isEmpty
            if refusedModifies {
                m = modifyRejects.take()
                swap(&m, &ledger.pendingModifyRejects)
            }
            defer {
                fills.give(&f)
                rejects.give(&r)
                cancels.give(&c)
                if refusedModifies { modifyRejects.give(&m) }
            }
            for x in r { try each(.rejected(x)) }
            for x in m { try each(.modifyRejected(x)) }
            for x in f { try each(.filled(x)) }
            if !f.isEmpty { try afterFills() }
            for x in c { try each(.canceled(x)) }
            try end()
        }
    }

    /// The only answer waiting, taken off the ledger; nil when there are several.
    @inline(__always)
    static func takeLone(_ ledger: Ledger) -> Answer? {
        let f = ledger.pendingFills.count, r = ledger.pendingRejects.count
        let c = ledger.pendingCancels.count, m = ledger.pendingModifyRejects.count
        guard f &+ r &+ c &+ m == 1 else { return nil }
        if c == 1 { return .canceled(ledger.pendingCancels.removeLast()) }
        if f == 1 { return .filled(ledger.pendingFills.removeLast()) }
        if r == 1 { return .rejected(ledger.pendingRejects.removeLast()) }
        return .modifyRejected(ledger.pendingModifyRejects.removeLast())
    }
}

extension StrategyContext {
    /// Calls the strategy with a context at `now`. The context appends to the engine's
    /// command buffer in place: one owner, so appending reuses its capacity (no allocation).
    @inline(__always)
    static func call<S: Strategy, E: Error>(_ strategy: inout S, now: Timestamp, ledger: Ledger, commands: inout [StrategyCommand],
                                            _ body: (inout S, inout StrategyContext) throws(E) -> Void) throws(E) {
        try withUnsafeMutablePointer(to: &commands) { (buffer) throws(E) in
            var context = StrategyContext(now: now, ledger: ledger, commands: buffer)
            try body(&strategy, &context)
        }
    }
}

/// Reusable arrays, one per nesting level: `take` hands out an empty array that keeps the
/// capacity it had last time, `give` takes it back emptied. After the first few events no
/// call allocates.
struct BufferStack<Element> {
    private var buffers: [[Element]] = []
    private var depth = 0

    mutating func take() -> [Element] {
        if depth == buffers.count { buffers.append([]); buffers[depth].reserveCapacity(16) }
        var b: [Element] = []
        swap(&b, &buffers[depth])
        depth += 1
        return b
    }

    mutating func give(_ b: inout [Element]) {
        depth -= 1
        b.removeAll(keepingCapacity: true)
        swap(&b, &buffers[depth])
    }
}
