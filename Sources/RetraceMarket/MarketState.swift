import RetraceCore

// Snapshot state of the simulated market: books, our working and resting orders, requests
// and answers in flight, and the latency generators (see `StateWriter`). The venue settings
// are configuration, rebuilt from the run's configuration, and not saved.

extension PriceLadder {
    func saveState(_ w: inout StateWriter) {
        w.put(isBid)
        w.word(base)
        quantities.withSlots { w.put(sparse: $0, empty: 0) }
        w.put(sparse: words, empty: 0)
        w.word(UInt64(overflow.count))
        for o in overflow { w.word(o.tick); w.word(o.quantity) }
        w.word(windowBest)
        w.put(count)
    }

    init(state r: inout StateReader) throws(CoreError) {
        self.init(isBid: try r.bool())
        base = try r.word()
        quantities = LadderSlots(try r.sparse(empty: 0))
        words = try r.sparse(empty: 0)
        let n = try r.count(minimumBytes: 16)
        overflow.reserveCapacity(n)
        for _ in 0..<n { overflow.append((try r.word(), try r.word())) }
        windowBest = try r.word()
        count = try r.get()
        guard words.count * 64 == quantities.count else { throw CoreError(.invalidState, "engine state: price ladder with \(quantities.count) slots and \(words.count) bitmap words") }
    }
}

extension L2Book.Level: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.put(price); w.put(quantity) }
    public init(state r: inout StateReader) throws(CoreError) { self.init(price: try r.get(), quantity: try r.get()) }
}

extension L2Book: StateCodable {
    public func saveState(_ w: inout StateWriter) {
        w.word(tickSize)
        bidLadder.saveState(&w)
        askLadder.saveState(&w)
        w.put(quoted != nil)
        if let quoted { w.put(quoted.bid); w.put(quoted.ask) }
    }

    public init(state r: inout StateReader) throws(CoreError) {
        let tick: Int64 = try r.word()
        guard tick > 0 else { throw CoreError(.invalidState, "engine state: L2 tick size \(tick) at byte \(r.offset)") }
        self.init(tickSize: tick)
        bidLadder = try PriceLadder(state: &r)
        askLadder = try PriceLadder(state: &r)
        quoted = try r.bool() ? (try r.optional(Level.self), try r.optional(Level.self)) : nil
    }
}

extension L3Book.Level: StateCodable {
    public func saveState(_ w: inout StateWriter) {
        w.word(attributed); w.word(unattributed); w.word(orders); w.word(head); w.word(tail)
    }
    public init(state r: inout StateReader) throws(CoreError) {
        self.init()
        (attributed, unattributed, orders, head, tail) = (try r.word(), try r.word(), try r.word(), try r.word(), try r.word())
    }
}

extension L3Book.Ladder {
    func saveState(_ w: inout StateWriter) {
        w.put(isBid)
        w.word(base)
        w.put(sparse: levels, empty: L3Book.Level())
        w.word(UInt64(overflow.count))
        for o in overflow { w.word(o.tick); w.put(o.level) }
        w.put(best)
    }

    init(state r: inout StateReader) throws(CoreError) {
        self.init(isBid: try r.bool())
        base = try r.word()
        levels = try r.sparse(empty: L3Book.Level())
        let n = try r.count(minimumBytes: 8)
        for _ in 0..<n { overflow.append((try r.word(), try r.get(L3Book.Level.self))) }
        best = try r.optional()
    }
}

extension L3Book.Slot: StateCodable {
    func saveState(_ w: inout StateWriter) {
        w.word(id); w.word(size); w.word(tick); w.word(arrival); w.word(prev); w.word(next); w.put(isBid)
    }
    init(state r: inout StateReader) throws(CoreError) {
        self.init(id: try r.word(), size: try r.word(), tick: try r.word(), arrival: try r.word(), prev: try r.word(), next: try r.word(), isBid: try r.bool())
    }
}

extension OrderIndex.Entry: StateCodable {
    func saveState(_ w: inout StateWriter) { w.word(key); w.word(value) }
    init(state r: inout StateReader) throws(CoreError) { self.init(key: try r.word(), value: try r.word()) }
}

extension OrderIndex: StateCodable {
    /// The table as laid out (occupied buckets at their places), so lookups and deletions
    /// behave exactly as before the save.
    public func saveState(_ w: inout StateWriter) {
        w.put(sparse: table, empty: Entry(key: 0, value: -1))
        w.put(count)
    }

    public init(state r: inout StateReader) throws(CoreError) {
        let restored = try r.sparse(empty: Entry(key: 0, value: -1))
        let n = restored.count
        guard n >= 16, n & (n - 1) == 0 else { throw CoreError(.invalidState, "engine state: order index of \(n) buckets at byte \(r.offset)") }
        self.init(capacity: n / 2)
        guard table.count == n else { throw CoreError(.invalidState, "engine state: order index of \(n) buckets at byte \(r.offset)") }
        table = restored
        count = try r.get()
        guard count == table.reduce(0, { $0 + ($1.value >= 0 ? 1 : 0) }) else { throw CoreError(.invalidState, "engine state: order index count \(count) does not match its table") }
    }
}

extension L3Book {
    func saveState(_ w: inout StateWriter) {
        bids.saveState(&w)
        asks.saveState(&w)
        w.put(pool)
        w.putWords(free)
        w.word(arrivalCounter)
        w.put(index)
    }

    static func restored(_ r: inout StateReader) throws(CoreError) -> L3Book {
        let book = L3Book(expectedOrders: 16)
        book.bids = try Ladder(state: &r)
        book.asks = try Ladder(state: &r)
        book.pool = try r.array()
        book.free = try r.words()
        book.arrivalCounter = try r.word()
        book.index = try r.get()
        return book
    }
}

extension DepthMarket.Resting: StateCodable {
    public func saveState(_ w: inout StateWriter) {
        w.put(order); w.word(price); w.word(leaves); w.word(ahead); w.word(arrival); w.word(traded)
    }
    public init(state r: inout StateReader) throws(CoreError) {
        self.init(order: try r.get(), price: try r.word(), leaves: try r.word(), ahead: try r.word(), arrival: try r.word(), traded: try r.word())
    }
}

extension DepthMarket {
    func saveState(_ w: inout StateWriter) {
        w.put(instrument)
        w.put(l2)
        w.put(l3 != nil)
        l3?.saveState(&w)
        w.put(resting)
        w.word(UInt64(consumed.count))
        for c in consumed { w.put(c.side); w.word(c.price); w.word(c.quantity) }
    }

    static func restored(_ r: inout StateReader) throws(CoreError) -> DepthMarket {
        let instrument = try r.get(Instrument.self)
        let l2 = try r.get(L2Book.self)
        let market = DepthMarket(instrument: instrument, tickSize: l2.tickSize)
        market.l2 = l2
        market.l3 = try r.bool() ? try L3Book.restored(&r) : nil
        market.resting = try r.array()
        let n = try r.count(minimumBytes: 17)
        for _ in 0..<n { market.consumed.append(Taken(side: try r.get(), price: try r.word(), quantity: try r.word())) }
        return market
    }
}

extension SimulatedVenue.WorkingOrder: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.put(order); w.put(leaves) }
    public init(state r: inout StateReader) throws(CoreError) { self.init(order: try r.get(), leaves: try r.get()) }
}

extension SimulatedVenue.MarketView {
    func saveState(_ w: inout StateWriter) {
        w.put(book)
        w.put(lastTrade)
        w.put(lastBar)
        w.put(hasQuotes)
        w.put(depth != nil)
        depth?.saveState(&w)
        w.word(touch.bid)
        w.word(touch.ask)
    }

    init(state r: inout StateReader) throws(CoreError) {
        self.init()
        book = try r.get()
        lastTrade = try r.optional()
        lastBar = try r.optional()
        hasQuotes = try r.bool()
        depth = try r.bool() ? try DepthMarket.restored(&r) : nil
        depthRef = depth.map { Unmanaged.passUnretained($0) }  // an initializer does not run `depth`'s didSet
        quoted = (try r.word(), try r.word())  // with depth, the touch is read from it
    }
}

extension SimulatedVenue.Request {
    func saveState(_ w: inout StateWriter) {
        switch self {
        case .submit(let o): w.word(UInt8(0)); w.put(o)
        case .cancel(let id, let i): w.word(UInt8(1)); w.put(id); w.put(i)
        case .modify(let id, let i, let q, let p): w.word(UInt8(2)); w.put(id); w.put(i); w.put(q); w.put(p)
        }
    }

    init(state r: inout StateReader) throws(CoreError) {
        switch try r.word(UInt8.self) {
        case 0: self = .submit(try r.get())
        case 1: self = .cancel(try r.get(), try r.get())
        case 2: self = .modify(try r.get(), try r.get(), try r.get(), try r.get())
        case let k: throw CoreError(.invalidState, "engine state: venue request kind \(k) at byte \(r.offset)")
        }
    }
}

extension VenueAnswer: StateCodable {
    public func saveState(_ w: inout StateWriter) {
        switch self {
        case .accepted(let e): w.put(e)
        case .rejected(let e): w.put(e)
        case .canceled(let e): w.put(e)
        case .filled(let e): w.put(e)
        case .modified(let e): w.put(e)
        }
    }

    public init(state r: inout StateReader) throws(CoreError) {
        switch try r.event() {
        case .orderAccepted(let e): self = .accepted(e)
        case .orderRejected(let e): self = .rejected(e)
        case .orderCanceled(let e): self = .canceled(e)
        case .orderFilled(let e): self = .filled(e)
        case .orderModified(let e): self = .modified(e)
        case let other: throw CoreError(.invalidState, "engine state: a \(other.kind.name) is not a venue answer (byte \(r.offset))")
        }
    }
}

extension SimulatedVenue {
    /// Saves what changes as the run goes (the venue settings and the symbol assignment are
    /// configuration and come from the run's configuration on restore).
    public func saveState(_ w: inout StateWriter) {
        w.word(UInt64(venues.count))
        w.put(instruments)
        w.word(UInt64(markets.count))
        for m in markets { m.saveState(&w) }
        w.put(venueIndex)
        w.put(working)
        w.put(now)
        w.put(exchangeNow)
        w.put(rngs)
        w.word(UInt64(arrivals.count))
        for a in arrivals { w.word(a.time); w.word(a.seq); w.put(a.venue); a.request.saveState(&w) }
        w.word(UInt64(outbox.count))
        for o in outbox { w.word(o.time); w.word(o.seq); w.put(o.answer) }
        w.putWords(lastDelivery)
        w.word(sequence)
    }

    /// Replaces this venue's state with a saved one (the venue was built with the same
    /// settings as the one that saved it).
    public func restoreState(_ r: inout StateReader) throws(CoreError) {
        let count: UInt64 = try r.word()
        guard count == UInt64(venues.count) else { throw CoreError(.invalidState, "engine state: saved with \(count) venues, this run has \(venues.count)") }
        instruments = try r.array()
        let m = try r.count(minimumBytes: 8)
        markets = []
        for _ in 0..<m { markets.append(try MarketView(state: &r)) }
        venueIndex = try r.array()
        guard instruments.count == markets.count, venueIndex.count == markets.count, venueIndex.allSatisfy({ $0 >= 0 && $0 < venues.count }) else {
            throw CoreError(.invalidState, "engine state: venue tables disagree (\(instruments.count) instruments, \(markets.count) markets)")
        }
        working = try r.array()
        now = try r.get()
        exchangeNow = try r.get()
        rngs = try r.array()
        let a = try r.count(minimumBytes: 17)
        arrivals = []
        for _ in 0..<a { arrivals.append((try r.word(), try r.word(), try r.get(Int.self), try Request(state: &r))) }
        let o = try r.count(minimumBytes: 16)
        outbox = []
        for _ in 0..<o { outbox.append((try r.word(), try r.word(), try r.get(VenueAnswer.self))) }
        lastDelivery = try r.words()
        sequence = try r.word()
        guard rngs.count == venues.count, lastDelivery.count == venues.count else { throw CoreError(.invalidState, "engine state: per-venue tables do not match \(venues.count) venues") }
    }
}
