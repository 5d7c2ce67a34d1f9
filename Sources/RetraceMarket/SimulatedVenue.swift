import RetraceCore

/// A deterministic simulation of one or more venues that match our orders against
/// recorded market data.
///
/// **Depth data** (L2 level updates or L3 order-book messages): a `DepthMarket` per
/// instrument matches against the recorded book with sizes, queue positions, partial fills,
/// self-trade prevention and the IOC / FOK / post-only rules (see `DepthMarket`).
///
/// **Top of book, trades and bars** (no depth): simpler rules, sizes unlimited:
/// - *Quotes:* market orders fill at once at the touch (ask for a buy, bid for a sell) as
///   taker. A limit order that crosses the touch on arrival fills there as taker;
///   otherwise it rests and fills at its limit, as maker, once the opposite touch moves
///   strictly through it (ask < limit for a buy) or a trade prints through it. IOC and FOK
///   orders that do not cross are cancelled; post-only orders that would cross are rejected.
/// - *Trades only:* market orders fill at the next trade's price; resting limits fill at
///   their limit when a trade prints strictly through them.
/// - *Bars:* orders placed while a bar is processed fill on the next bar: market orders at
///   its open; a buy limit when `low ≤ limit`, at `min(open, limit)` (mirror for sells), as
///   backtesting.py does.
///
/// **Latency** (per venue, `VenueSettings`): an order or cancel reaches the venue an entry
/// latency after it was sent, and is matched against the book as the venue then knows it
/// (market events reach the venue a feed latency before we receive them). Every answer
/// reaches the strategy an ack latency after the venue produced it; answers of one venue
/// arrive in the order it sent them. With zero latencies (the default) everything happens
/// at once, in the order the strategy asked.
public final class SimulatedVenue {
    /// A working order on a venue without depth data.
    public struct WorkingOrder: Equatable, Sendable {
        public var order: OrderSubmitted
        public var leaves: Quantity
    }

    /// Per-instrument market view.
    public struct MarketView {
        public var book = L2Book()
        public var lastTrade: Price?
        public var lastBar: BarReceived?
        public var hasQuotes = false
        /// Set once the instrument has depth data: matching then happens there.
        public internal(set) var depth: DepthMarket? {
            didSet { depthRef = depth.map { Unmanaged.passUnretained($0) } }
        }
        /// `depth` without ownership (`depth` keeps it alive): a depth event's calls borrow
        /// the market through it instead of retaining and releasing it (two atomic
        /// operations an event).
        var depthRef: Unmanaged<DepthMarket>?
        /// The quoted best bid and ask (raw prices; 0 = none), for instruments without depth.
        var quoted: (bid: Int64, ask: Int64) = (0, 0)
        /// Best bid and ask as the venue's book now stands (raw prices; 0 = none): with depth,
        /// read from the depth market when asked (not after every level update, which most
        /// of the time nobody reads); otherwise the latest quote.
        public var touch: (bid: Int64, ask: Int64) {
            depth?.touch ?? quoted
        }

        /// A quote for an instrument without depth: one access to the element (three
        /// writes to `markets[i]` checked the array's uniqueness three times per quote).
        mutating func quote(_ q: QuoteReceived) {
            book.apply(q)
            hasQuotes = true
            quoted = (q.bidPrice.raw, q.askPrice.raw)
        }
    }

    /// Something sent to a venue that has not arrived yet.
    enum Request {
        case submit(OrderSubmitted)
        case cancel(ClientOrderID, InstrumentID)
        case modify(ClientOrderID, InstrumentID, Quantity, Price)
    }

    /// The venues; an instrument trades on `venueIndex[instrument]`.
    public let venues: [VenueSettings]
    /// Which venue each symbol trades on (unlisted symbols: the first venue).
    let assignment: [(symbol: String, venue: Int)]
    public internal(set) var instruments: [Instrument?] = []
    public internal(set) var markets: [MarketView] = []
    var venueIndex: [Int] = []
    /// Working orders on instruments without depth, in submission order.
    public internal(set) var working: [WorkingOrder] = []
    /// Local (engine) time, set by the engine before each call.
    public var now = Timestamp.zero
    /// The venue side's clock: the latest exchange time processed.
    public internal(set) var exchangeNow = Timestamp(nanos: Int64.min)
    var rngs: [SplitMix64]
    var arrivals: [(time: Int64, seq: UInt64, venue: Int, request: Request)] = []
    var outbox: [(time: Int64, seq: UInt64, answer: VenueAnswer)] = []
    var lastDelivery: [Int64]
    /// Per venue, read on every event and answer without touching the settings' payloads.
    let zeroEntry: [Bool], zeroAck: [Bool], zeroFeed: [Bool], recordedFeed: [Bool]
    /// No venue has a feed latency: every market event reaches the venue when it is received.
    @usableFromInline let noFeedLatency: Bool
    var sequence: UInt64 = 0
    /// One depth-market context per venue, reused by every depth event (its answers are
    /// emptied after each); all-in sizing builds its own.
    var depthContexts: [DepthMarket.Context]

    /// One venue with these fees and no latency.
    public convenience init(fees: FeeSchedule) { self.init(venues: [VenueSettings(fees: fees)]) }

    /// Several venues; `assignment` maps symbols to venue names (others go to the first).
    public init(venues: [VenueSettings], assignment: [(symbol: String, venue: String)] = [], seed: UInt64 = 0) {
        precondition(!venues.isEmpty, "a simulation needs at least one venue")
        self.venues = venues
        self.assignment = assignment.map { a in (a.symbol, venues.firstIndex { $0.name == a.venue } ?? 0) }
        rngs = venues.indices.map { SplitMix64(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64($0 + 1)) }
        lastDelivery = venues.map { _ in Int64.min }
        zeroEntry = venues.map(\.entryLatency.isZero)
        zeroAck = venues.map(\.ackLatency.isZero)
        zeroFeed = venues.map { $0.feedLatency?.isZero ?? false }
        recordedFeed = venues.map { $0.feedLatency == nil }
        noFeedLatency = zeroFeed.allSatisfy { $0 }
        depthContexts = venues.map { DepthMarket.Context(settings: $0, allIn: Self.noSizing) }
    }

    /// The first venue's fees (single-venue runs).
    public var fees: FeeSchedule { venues[0].fees }

    /// Makes an instrument tradable.
    public func define(_ instrument: Instrument) {
        let i = Int(instrument.id.raw)
        while instruments.count <= i { instruments.append(nil); markets.append(MarketView()); venueIndex.append(0) }
        instruments[i] = instrument
        venueIndex[i] = assignment.first { $0.symbol == instrument.symbol.description }?.venue ?? 0
    }

    /// The market view of an instrument, if defined.
    public func market(_ id: InstrumentID) -> MarketView? {
        Int(id.raw) < markets.count ? markets[Int(id.raw)] : nil
    }

    /// The settings of the venue an instrument trades on.
    public func venue(of id: InstrumentID) -> VenueSettings { venues[venueIndex(of: id)] }

    /// The index in `venues` of the venue `id` trades on.
    @inline(__always)
    public func venueIndex(of id: InstrumentID) -> Int { Int(id.raw) < venueIndex.count ? venueIndex[Int(id.raw)] : 0 }

    // MARK: - Requests from the strategy

    /// Sends an order. Orders that fail basic checks are rejected at once (a client-side
    /// check); the rest reach the venue after the entry latency.
    public func submit<L: VenueListener>(_ order: OrderSubmitted, listener: inout L) {
        let index = Int(order.instrument.raw)
        guard index < instruments.count, instruments[index] != nil else {
            listener.venueRejected(OrderRejected(orderID: order.orderID, instrument: order.instrument, reason: .unknownInstrument))
            return
        }
        if order.sizing == .fixed && order.quantity.raw <= 0 {
            listener.venueRejected(OrderRejected(orderID: order.orderID, instrument: order.instrument, reason: .invalidQuantity))
            return
        }
        if order.type.hasLimit && order.limitPrice.raw <= 0 {
            listener.venueRejected(OrderRejected(orderID: order.orderID, instrument: order.instrument, reason: .invalidPrice))
            return
        }
        send(.submit(order), venue: venueIndex[index], &listener)
    }

    /// Asks to cancel a working order; unknown or finished ids are ignored when the request
    /// arrives. Returns false when, with zero latency, there was nothing to cancel.
    @discardableResult
    public func cancel<L: VenueListener>(_ id: ClientOrderID, listener: inout L) -> Bool {
        guard let instrument = instrumentOf(id) else { return false }
        send(.cancel(id, instrument), venue: venueIndex[Int(instrument.raw)], &listener)
        return true
    }

    /// Asks to change a working order to `quantity` (its new open size) at `price`.
    public func modify<L: VenueListener>(_ id: ClientOrderID, quantity: Quantity, price: Price, listener: inout L) {
        guard let instrument = instrumentOf(id) else {
            listener.venueRejected(OrderRejected(orderID: id, instrument: InstrumentID(0), reason: .unknownOrder))
            return
        }
        send(.modify(id, instrument, quantity, price), venue: venueIndex[Int(instrument.raw)], &listener)
    }

    func instrumentOf(_ id: ClientOrderID) -> InstrumentID? { submission(of: id)?.instrument }

    /// The order `id` as it was submitted, while the venue knows it (working, resting in a
    /// book, or on its way); nil for an unknown or finished order.
    public func submission(of id: ClientOrderID) -> OrderSubmitted? {
        if let w = working.first(where: { $0.order.orderID == id }) { return w.order }
        for m in markets { if let d = m.depth, let r = d.resting.first(where: { $0.order.orderID == id }) { return r.order } }
        for a in arrivals {
            if case .submit(let o) = a.request, o.orderID == id { return o }
        }
        return nil
    }

    private func send<L: VenueListener>(_ request: Request, venue v: Int, _ listener: inout L) {
        let arrival = zeroEntry[v] ? now.nanos : now.nanos &+ venues[v].entryLatency.sample(&rngs[v])
        if arrival <= max(exchangeNow.nanos, now.nanos) && arrivals.isEmpty {
            handle(request, venue: v, at: max(arrival, exchangeNow.nanos), &listener)
        } else {
            sequence += 1
            let entry = (time: arrival, seq: sequence, venue: v, request: request)
            let k = arrivals.firstIndex { ($0.time, $0.seq) > (arrival, sequence) } ?? arrivals.count
            arrivals.insert(entry, at: k)
        }
    }

    /// A request reaches its venue at exchange time `time`.
    func handle<L: VenueListener>(_ request: Request, venue v: Int, at time: Int64, _ listener: inout L) {
        if time > exchangeNow.nanos { exchangeNow = Timestamp(nanos: time) }
        switch request {
        case .submit(let order):
            let index = Int(order.instrument.raw)
            if let depth = markets[index].depth {
                onDepth(depth, index, venue: v, at: time, sizing: true, &listener) { d, cx in d.submit(order, &cx) }
            } else {
                submitTopOfBook(order, venue: v, at: time, &listener)
            }
        case .cancel(let id, let instrument):
            if let depth = markets[Int(instrument.raw)].depth {
                onDepth(depth, Int(instrument.raw), venue: v, at: time, &listener) { d, cx in _ = d.cancel(id, &cx) }
            } else if let i = working.firstIndex(where: { $0.order.orderID == id }) {
                let w = working.remove(at: i)
                emit(.canceled(OrderCanceled(orderID: id, instrument: w.order.instrument, leavesQuantity: w.leaves)), venue: v, at: time, &listener)
            }
        case .modify(let id, let instrument, let quantity, let price):
            if let depth = markets[Int(instrument.raw)].depth {
                onDepth(depth, Int(instrument.raw), venue: v, at: time, &listener) { d, cx in
                    if !d.modify(id, quantity: quantity.raw, price: price.raw, &cx) {
                        cx.answers.append(.rejected(OrderRejected(orderID: id, instrument: instrument, reason: .unknownOrder)))
                    }
                }
            } else if let i = working.firstIndex(where: { $0.order.orderID == id }) {
                modifyTopOfBook(i, quantity: quantity, price: price, venue: v, at: time, &listener)
            } else {
                emit(.rejected(OrderRejected(orderID: id, instrument: instrument, reason: .unknownOrder)), venue: v, at: time, &listener)
            }
        }
    }

    /// Runs one depth-market call for instrument `index` on venue `v` and sends its answers,
    /// stamped `time`, towards the strategy. `sizing`: the call may size an all-in order
    /// (only new orders do; market data never does, and then no closure is built).
    private func onDepth<L: VenueListener>(_ depth: DepthMarket, _ index: Int, venue v: Int, at time: Int64, sizing: Bool = false, _ listener: inout L,
                                           _ body: (DepthMarket, inout DepthMarket.Context) -> Void) {
        // The venue's reusable context: no settings copy and no answers array per event. A
        // call that may size an all-in order lends it the account's sizing for that call.
        if sizing { depthContexts[v].allIn = allIn(index, &listener) }
        body(depth, &depthContexts[v])
        if sizing { depthContexts[v].allIn = Self.noSizing }
        guard !depthContexts[v].answers.isEmpty else { return }
        var answers: [VenueAnswer] = []
        swap(&answers, &depthContexts[v].answers)
        route(answers, venue: v, at: time, &listener)
        answers.removeAll(keepingCapacity: true)
        swap(&answers, &depthContexts[v].answers)
    }

    /// All-in sizing for instrument `index`: it asks a copy of the listener (the engine's
    /// ledger is a class, so the copy sees the account as it is at that moment).
    private func allIn<L: VenueListener>(_ index: Int, _ listener: inout L) -> (Price, Rate) -> Quantity {
        let snapshot = listener
        let instrument = instruments[index]!
        return { price, rate in snapshot.allInQuantity(instrument: instrument, price: price, feeRate: rate) }
    }

    /// Market data and orders of a fixed size never size anything.
    static func noSizing(_: Price, _: Rate) -> Quantity { .zero }

    // MARK: - Answers

    /// Sends answers produced at exchange time `time` towards the strategy.
    func route<L: VenueListener>(_ answers: [VenueAnswer], venue v: Int, at time: Int64, _ listener: inout L) {
        for a in answers { emit(a, venue: v, at: time, &listener) }
    }

    /// One answer: delivered now when its ack latency has already passed, else queued.
    func emit<L: VenueListener>(_ answer: VenueAnswer, venue v: Int, at time: Int64, _ listener: inout L) {
        var due = zeroAck[v] ? time : time &+ venues[v].ackLatency.sample(&rngs[v])
        due = max(due, lastDelivery[v])
        lastDelivery[v] = due
        if due <= now.nanos && outbox.isEmpty {
            deliver(answer, &listener)
        } else {
            sequence += 1
            let k = outbox.firstIndex { ($0.time, $0.seq) > (due, sequence) } ?? outbox.count
            outbox.insert((due, sequence, answer), at: k)
        }
    }

    func deliver<L: VenueListener>(_ answer: VenueAnswer, _ listener: inout L) {
        switch answer {
        case .accepted(let e): listener.venueAccepted(e)
        case .rejected(let e): listener.venueRejected(e)
        case .canceled(let e): listener.venueCanceled(e)
        case .filled(let e): listener.venueFilled(e)
        case .modified(let e): listener.venueModified(e)
        }
    }

    /// Nothing in flight: no request on its way to a venue, no answer on its way back.
    @inline(__always) public var idle: Bool { arrivals.isEmpty && outbox.isEmpty }

    /// The next time something is due: a request reaching a venue or an answer reaching us.
    public var nextDue: Timestamp? {
        let t = min(arrivals.first?.time ?? .max, outbox.first?.time ?? .max)
        return t == .max ? nil : Timestamp(nanos: t)
    }

    /// The next time something is due at or before `time`, counting requests that reach a
    /// venue only up to `arrivalLimit` (the exchange time of the next market event).
    public func nextDue(upTo time: Timestamp, arrivalsUpTo arrivalLimit: Timestamp) -> Timestamp? {
        let a = arrivals.first.flatMap { $0.time <= min(time.nanos, arrivalLimit.nanos) ? $0.time : nil } ?? .max
        let d = outbox.first.flatMap { $0.time <= time.nanos ? $0.time : nil } ?? .max
        let t = min(a, d)
        return t == .max ? nil : Timestamp(nanos: t)
    }

    /// Cancels every working order at once (session end): in-flight requests are dropped,
    /// queued answers delivered first.
    public func cancelAll<L: VenueListener>(listener: inout L) {
        arrivals.removeAll()
        while !outbox.isEmpty { deliver(outbox.removeFirst().answer, &listener) }
        for w in working { listener.venueCanceled(OrderCanceled(orderID: w.order.orderID, instrument: w.order.instrument, leavesQuantity: w.leaves)) }
        working.removeAll()
        for m in markets {
            guard let d = m.depth else { continue }
            var cx = DepthMarket.Context(settings: venues[0]) { _, _ in .zero }
            for r in d.resting { _ = d.cancel(r.order.orderID, &cx) }
            route(cx.answers, &listener)
        }
    }

    private func route<L: VenueListener>(_ answers: [VenueAnswer], _ listener: inout L) {
        for a in answers { deliver(a, &listener) }
    }

    /// The next time a request reaches a venue.
    public var nextArrival: Timestamp? { arrivals.first.map { Timestamp(nanos: $0.time) } }

    /// Processes what is due at or before `time`: requests arriving (up to `arrivalsUpTo`)
    /// and answers reaching us. Call with `now` set to `time`.
    public func advance<L: VenueListener>(to time: Timestamp, arrivalsUpTo limit: Timestamp? = nil, listener: inout L) {
        let arrivalLimit = min(time.nanos, limit?.nanos ?? .max)
        while true {
            let a = arrivals.first.flatMap { $0.time <= arrivalLimit ? $0.time : nil }
            let d = outbox.first.flatMap { $0.time <= time.nanos ? $0.time : nil }
            if let a, a <= (d ?? .max) {
                let r = arrivals.removeFirst()
                handle(r.request, venue: r.venue, at: max(a, exchangeNow.nanos), &listener)
            } else if d != nil {
                deliver(outbox.removeFirst().answer, &listener)
            } else {
                return
            }
        }
    }

    // MARK: - Market data

    /// The exchange time of a market event at the venue of its instrument: its receive time
    /// less the feed latency (never earlier than what the venue already processed). A
    /// random feed latency is drawn on each call: draw once per event and pass the value to
    /// `onMarket`.
    @inlinable
    public func exchangeTime(of event: Event) -> Timestamp {
        // The common case, decided once, inlined into the engine: no venue lookup or call.
        if noFeedLatency { return Timestamp(nanos: max(event.receiveTime.nanos, exchangeNow.nanos)) }
        return exchangeTimeWithFeedLatency(of: event)
    }

    @usableFromInline
    func exchangeTimeWithFeedLatency(of event: Event) -> Timestamp {
        let v = instrumentID(of: event.body).map { Int($0.raw) < venueIndex.count ? venueIndex[Int($0.raw)] : 0 } ?? 0
        let feed: Int64
        if zeroFeed[v] { feed = 0 } else if recordedFeed[v] { feed = max(0, event.receiveTime.nanos &- event.eventTime.nanos) } else { feed = venues[v].feedLatency!.sample(&rngs[v]) }
        return Timestamp(nanos: max(event.receiveTime.nanos &- feed, exchangeNow.nanos))
    }

    public func instrumentID(of body: EventBody) -> InstrumentID? {
        switch body {
        case .quoteReceived(let q): q.instrument
        case .l2LevelUpdated(let u): u.instrument
        case .tradeReceived(let t): t.instrument
        case .barReceived(let b): b.instrument
        case .orderBookMessage(let m): m.instrument
        default: nil
        }
    }

    /// Matches working orders against a market event that reached the venue at `exchangeTime`
    /// (default: `exchangeTime(of:)`); requests that reached it earlier are handled first.
    /// Then updates the market view.
    public func onMarket<L: VenueListener>(_ event: Event, at exchangeTime: Timestamp? = nil, listener: inout L) {
        let x = (exchangeTime ?? self.exchangeTime(of: event)).nanos
        if let first = arrivals.first, first.time <= x { advance(to: Timestamp(nanos: max(x, now.nanos)), arrivalsUpTo: Timestamp(nanos: x), listener: &listener) }
        if x > exchangeNow.nanos { exchangeNow = Timestamp(nanos: x) }
        guard let id = instrumentID(of: event.body), Int(id.raw) < markets.count else { return }
        let index = Int(id.raw)
        let v = venueIndex[index]
        switch event.body {
        case .l2LevelUpdated(let u):
            let ref = markets[index].depthRef ?? Unmanaged.passUnretained(depthMarket(index, &listener))
            ref._withUnsafeGuaranteedRef { depth in onDepth(depth, index, venue: v, at: x, &listener) { d, cx in d.onLevel(u, &cx) } }
            // Written once: a write to an element checks the array's uniqueness on every event.
            if !markets[index].hasQuotes { markets[index].hasQuotes = true }
        case .orderBookMessage(let m):
            let ref = markets[index].depthRef ?? Unmanaged.passUnretained(depthMarket(index, &listener))
            ref._withUnsafeGuaranteedRef { depth in onDepth(depth, index, venue: v, at: x, &listener) { d, cx in d.onMessage(m, &cx) } }
            if !markets[index].hasQuotes { markets[index].hasQuotes = true }
        case .quoteReceived(let q):
            // With depth, the book is the depth; quotes are only marks.
            guard markets[index].depth == nil else { return }
            markets[index].quote(q)
            if !working.isEmpty { matchTouch(id, venue: v, at: x, &listener) }
        case .tradeReceived(let t):
            if let ref = markets[index].depthRef {
                ref._withUnsafeGuaranteedRef { depth in onDepth(depth, index, venue: v, at: x, &listener) { d, cx in d.onTrade(t, &cx) } }
            } else {
                matchTrade(t, venue: v, at: x, &listener)
            }
            markets[index].lastTrade = t.price
        case .barReceived(let b):
            matchBar(b, venue: v, at: x, &listener)
            markets[index].lastBar = b
        default:
            break
        }
    }

    /// A market event received now (tests, benchmarks): exchange and receive time `now`.
    public func onMarket<L: VenueListener>(_ body: EventBody, listener: inout L) {
        onMarket(Event(eventTime: now, receiveTime: now, body: body), listener: &listener)
    }

    /// The instrument's depth market, created on its first depth event; orders working
    /// under the top-of-book rules move into it (in their order, as new arrivals).
    func depthMarket<L: VenueListener>(_ index: Int, _ listener: inout L) -> DepthMarket {
        if let d = markets[index].depth { return d }
        let d = DepthMarket(instrument: instruments[index]!)
        markets[index].depth = d
        markets[index].book = L2Book()
        let moving = working.filter { Int($0.order.instrument.raw) == index }
        working.removeAll { Int($0.order.instrument.raw) == index }
        for w in moving {
            var o = w.order
            o.quantity = w.leaves
            onDepth(d, index, venue: venueIndex[index], at: exchangeNow.nanos, sizing: true, &listener) { d, cx in d.submit(o, announce: false, &cx) }
        }
        return d
    }

    /// Calls `body(price, size)` over the recorded depth levels of an instrument's side, best
    /// first, until it returns false; nothing for an instrument without depth data.
    public func forEachRecordedLevel(_ id: InstrumentID, _ side: Side, _ body: (Int64, Int64) -> Bool) {
        let i = Int(id.raw)
        guard i < markets.count, let ref = markets[i].depthRef else { return }
        ref._withUnsafeGuaranteedRef { $0.forEachLevel(side, body) }
    }

    /// The last recorded trade price of an instrument, if any.
    public func lastTrade(_ id: InstrumentID) -> Price? {
        let i = Int(id.raw)
        return i < markets.count ? markets[i].lastTrade : nil
    }

    /// The best bid and ask of an instrument as the venue's book now stands (depth with
    /// what we took removed, or the quoted touch). Raw prices; 0 when a side is empty.
    public func touch(_ id: InstrumentID) -> (bid: Int64, ask: Int64) {
        let i = Int(id.raw)
        guard i < markets.count else { return (0, 0) }
        // Stored properties only: calling the view's computed `touch` on an array element
        // copied the whole view (its book included) on every call.
        if let depth = markets[i].depthRef { return depth._withUnsafeGuaranteedRef { $0.touch } }
        return markets[i].quoted
    }

    /// The price a position in `instrument` would be closed at when the data ends:
    /// the touch for quote and depth feeds, the last trade, or the last bar's open
    /// (backtesting.py's rule for trades still open at the end). Nil when nothing was seen.
    public func closeOutPrice(_ id: InstrumentID, side: Side) -> Price? {
        guard let m = market(id) else { return nil }
        if let d = m.depth, let p = d.best(side.opposite) { return Price(raw: p) }
        if m.hasQuotes, let level = side == .buy ? m.book.bestAsk : m.book.bestBid { return level.price }
        if let bar = m.lastBar { return bar.open }
        return m.lastTrade
    }

    /// Fills a close-out order at `price` (session end), as taker, at once.
    public func closeOut<L: VenueListener>(_ order: OrderSubmitted, at price: Price, listener: inout L) {
        guard let instrument = instruments[Int(order.instrument.raw)] else { return }
        listener.venueAccepted(OrderAccepted(orderID: order.orderID, instrument: order.instrument))
        let fee = venue(of: order.instrument).fees.fee(price: price, quantity: order.quantity, liquidity: .taker, instrument: instrument)
        listener.venueFilled(OrderFilled(orderID: order.orderID, instrument: order.instrument, side: order.side, price: price, quantity: order.quantity,
                                         fee: fee, liquidity: .taker, leavesQuantity: .zero))
    }
}
