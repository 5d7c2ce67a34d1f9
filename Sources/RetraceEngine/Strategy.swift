import RetraceCore
import RetraceMarket

/// A trading strategy: reacts to market events, fills and timers by sending commands
/// through its context. Strategies are value types the engine owns; they must be
/// deterministic (no clock, no randomness, no hash-order iteration — DESIGN.md).
public protocol Strategy {
    /// The name used on the command line (`--strategy NAME`).
    static var name: String { get }
    /// One-line description for `--help`.
    static var summary: String { get }
    /// Every parameter with its default (run with none and the defaults apply).
    static var parameters: [ParameterSpec] { get }
    /// Builds the strategy from its parameter values.
    init(parameters: ParameterValues) throws(EngineError)

    /// Called once, after the run's instruments are defined and before the first market
    /// event. Throw to refuse parameters that do not fit the data (e.g. a size finer than
    /// the instrument's lot).
    mutating func onStart(_ context: inout StrategyContext) throws(EngineError)
    /// A market event (trade, quote, bar, L2 update), after the venue matched on it.
    mutating func onMarket(_ event: Event, _ context: inout StrategyContext)
    /// One of our orders filled.
    mutating func onFill(_ fill: OrderFilled, _ context: inout StrategyContext)
    /// One of our orders was rejected.
    mutating func onRejected(_ reject: OrderRejected, _ context: inout StrategyContext)
    /// A modification of one of our orders was refused (the trading rules); the order works
    /// on as it was.
    mutating func onModifyRejected(_ reject: OrderModifyRejected, _ context: inout StrategyContext)
    /// One of our orders was cancelled (by us, or by the venue: IOC / FOK / market
    /// remainders, self-trade prevention).
    mutating func onCanceled(_ cancel: OrderCanceled, _ context: inout StrategyContext)
    /// A timer set with `context.schedule` came due.
    mutating func onTimer(_ timerID: UInt64, _ context: inout StrategyContext)
    /// Called once after the last event, before positions are closed out.
    mutating func onStop(_ context: inout StrategyContext)

    /// Saves the strategy's changing state into an engine snapshot (its parameters are
    /// rebuilt from the run's configuration). Returns false when the strategy keeps no
    /// snapshots (the default): its runs then write none, and a replay window fast-forwards.
    func saveState(_ w: inout StateWriter) -> Bool
    /// Reads back what `saveState` wrote, into a strategy built from the same parameters.
    mutating func restoreState(_ r: inout StateReader) throws(CoreError)
}

extension Strategy {
    public mutating func onStart(_ context: inout StrategyContext) throws(EngineError) {}
    public mutating func onFill(_ fill: OrderFilled, _ context: inout StrategyContext) {}
    public mutating func onRejected(_ reject: OrderRejected, _ context: inout StrategyContext) {}
    public mutating func onModifyRejected(_ reject: OrderModifyRejected, _ context: inout StrategyContext) {}
    public mutating func onCanceled(_ cancel: OrderCanceled, _ context: inout StrategyContext) {}
    public mutating func onTimer(_ timerID: UInt64, _ context: inout StrategyContext) {}
    public mutating func onStop(_ context: inout StrategyContext) {}
    public func saveState(_ w: inout StateWriter) -> Bool { false }
    public mutating func restoreState(_ r: inout StateReader) throws(CoreError) {
        throw CoreError(.invalidState, "strategy \(Self.name) keeps no snapshots")
    }
}

/// What a strategy asked for during one callback; the engine carries it out afterwards.
public enum StrategyCommand: Sendable {
    case submit(OrderSubmitted)
    case cancel(ClientOrderID)
    case modify(ClientOrderID, Quantity, Price)
    case schedule(Timestamp, UInt64)
}

/// The strategy's view of the engine during a callback: time, account, instruments,
/// and the commands it sends. It is valid for that callback only, so it cannot be copied
/// (`~Copyable`): a helper takes it `borrowing` to read, or `inout` to send commands.
public struct StrategyContext: ~Copyable {
    /// Engine time (the simulated clock in backtests).
    public let now: Timestamp
    /// The engine's ledger, which outlives every callback. Held unmanaged and borrowed by
    /// the per-event reads (`position`, `touch`): loading an `unowned(unsafe)` reference
    /// retained and released it on every call, two atomic operations each.
    @usableFromInline let ledgerRef: Unmanaged<Ledger>
    @usableFromInline var ledger: Ledger { ledgerRef.takeUnretainedValue() }
    /// The engine's command buffer, appended to in place for the length of one callback
    /// (moving the array into a context and back cost a release per callback).
    @usableFromInline let commandBuffer: UnsafeMutablePointer<[StrategyCommand]>
    @usableFromInline var commands: [StrategyCommand] {
        get { commandBuffer.pointee }
        nonmutating _modify { yield &commandBuffer.pointee }
    }

    init(now: Timestamp, ledger: Ledger, commands: UnsafeMutablePointer<[StrategyCommand]>) {
        self.now = now
        self.ledgerRef = Unmanaged.passUnretained(ledger)
        self.commandBuffer = commands
    }

    /// The position in an instrument.
    @inlinable public func position(_ id: InstrumentID) -> Quantity {
        ledgerRef._withUnsafeGuaranteedRef { $0.portfolio.position(id).quantity }
    }
    /// Cash in the account.
    public var cash: Money { ledger.portfolio.cash }
    /// Account equity at current marks.
    public var equity: Money { ledger.portfolio.equity }
    /// Every instrument of the run, by id.
    public var instruments: [Instrument] { ledger.portfolio.instruments.compactMap { $0 } }
    /// The instrument a strategy's `instrument` parameter names: the one with that symbol,
    /// or the run's first instrument when the symbol is empty (nil when the run has none).
    /// - Throws: `.invalidParameter` listing the run's symbols when none matches.
    public func tradedInstrument(symbol: String) throws(EngineError) -> Instrument? {
        if symbol.isEmpty { return instruments.first }
        guard let i = instruments.first(where: { $0.symbol.description == symbol }) else {
            throw EngineError(.invalidParameter, "parameter instrument=\(symbol): no such instrument in the data (have: \(instruments.map(\.symbol.description).joined(separator: ", ")))")
        }
        return i
    }

    /// An instrument's definition (nil if the run has no such instrument).
    public func instrument(_ id: InstrumentID) -> Instrument? { ledger.portfolio.instrument(id) }

    /// The best bid and ask of an instrument as the venue's book stands after the latest
    /// event (depth feeds: liquidity we took is excluded). Nil for a side with no price.
    public func touch(_ id: InstrumentID) -> (bid: Price?, ask: Price?) {
        guard let venue = ledgerRef._withUnsafeGuaranteedRef({ $0.venueRef }) else { return (nil, nil) }
        let t = venue._withUnsafeGuaranteedRef { $0.touch(id) }
        return (t.bid > 0 ? Price(raw: t.bid) : nil, t.ask > 0 ? Price(raw: t.ask) : nil)
    }

    /// The last values received for `id`: best bid and ask with their sizes, the last
    /// trade (or bar close), the top five levels of a depth feed (L2 or L3; the recorded
    /// book's, copied when read), and when it last changed. Nil before the instrument's
    /// first market event.
    public func lastValue(_ id: InstrumentID) -> LastValueCache.Entry? { ledger.lastValue(id) }

    /// The venue an instrument trades on: its name, fees and latency models (nil outside
    /// a simulation).
    public func venue(of id: InstrumentID) -> VenueSettings? { ledger.venue?.venue(of: id) }

    /// Sends a market order of `quantity` lots, or an all-in order when `sizing` is `.allEquity`.
    @discardableResult
    public mutating func submitMarket(_ instrument: InstrumentID, _ side: Side, quantity: Quantity, sizing: OrderSizing = .fixed) -> ClientOrderID {
        submit(instrument, side, .market, quantity, .zero, sizing)
    }

    /// Sends a limit-priced order: `.limit` (good till cancelled, the default), `.ioc`,
    /// `.fok` or `.postOnly`.
    @discardableResult
    public mutating func submitLimit(_ instrument: InstrumentID, _ side: Side, quantity: Quantity, price: Price, type: OrderType = .limit) -> ClientOrderID {
        precondition(type.hasLimit, "submitLimit needs a limit-priced order type")
        return submit(instrument, side, type, quantity, price, .fixed)
    }

    /// Changes a working order to `quantity` open at `price`: a smaller size at the same
    /// price keeps its queue position; a new price or a larger size loses it.
    public mutating func modify(_ id: ClientOrderID, quantity: Quantity, price: Price) { commands.append(.modify(id, quantity, price)) }

    private mutating func submit(_ instrument: InstrumentID, _ side: Side, _ type: OrderType, _ quantity: Quantity, _ price: Price, _ sizing: OrderSizing) -> ClientOrderID {
        // Borrowed, like the reads above (`ledger` retained and released it per order).
        let id = ledgerRef._withUnsafeGuaranteedRef { $0.allocateOrderID() }
        commands.append(.submit(OrderSubmitted(orderID: id, instrument: instrument, side: side, type: type, sizing: sizing, quantity: quantity, limitPrice: price)))
        return id
    }

    /// Cancels a working order (ignored if it already finished).
    public mutating func cancel(_ id: ClientOrderID) { commands.append(.cancel(id)) }

    /// Asks for `onTimer(timerID)` at `time` (not before now). Timers due at the same
    /// time fire in the order they were scheduled.
    public mutating func schedule(at time: Timestamp, timerID: UInt64) {
        precondition(time >= now, "timer \(timerID) scheduled in the past (\(time.nanos) < \(now.nanos))")
        commands.append(.schedule(time, timerID))
    }
}
