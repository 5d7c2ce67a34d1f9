import Testing
@testable import RetraceCore
@testable import RetraceMarket

/// Drives one DepthMarket directly and renders its answers as short strings.
struct Harness {
    let instrument = Instrument(id: InstrumentID(0), symbol: Symbol("TEST")!, priceScale: 0, quantityScale: 0)
    let market: DepthMarket
    var settings: VenueSettings
    var log: [String] = []
    var nextID: UInt64 = 1

    init(queue: QueueModel = .conservative, stp: SelfTradePrevention = .cancelResting, fees: FeeSchedule = FeeSchedule(maker: .zero, taker: .zero)) {
        market = DepthMarket(instrument: instrument)
        settings = VenueSettings(fees: fees, queueModel: queue, selfTrade: stp)
    }

    mutating func run(_ body: (DepthMarket, inout DepthMarket.Context) -> Void) -> [String] {
        var cx = DepthMarket.Context(settings: settings) { _, _ in Quantity(raw: 7) }
        body(market, &cx)
        let lines = cx.answers.map(Harness.render)
        log += lines
        return lines
    }

    static func render(_ a: VenueAnswer) -> String {
        switch a {
        case .accepted(let e): "accepted \(e.orderID.raw)"
        case .rejected(let e): "rejected \(e.orderID.raw) \(e.reason)"
        case .canceled(let e): "canceled \(e.orderID.raw) leaves \(e.leavesQuantity.raw)"
        case .filled(let e): "filled \(e.orderID.raw) \(e.quantity.raw)@\(e.price.raw) \(e.liquidity == .maker ? "maker" : "taker") leaves \(e.leavesQuantity.raw)"
        case .modified(let e): "modified \(e.orderID.raw) \(e.leavesQuantity.raw)@\(e.price.raw) \(e.keptPriority ? "kept" : "lost") priority"
        }
    }

    mutating func level(_ side: Side, _ price: Int64, _ size: Int64) -> [String] {
        run { m, cx in m.onLevel(L2LevelUpdated(instrument: InstrumentID(0), side: side, price: Price(raw: price), quantity: Quantity(raw: size)), &cx) }
    }
    mutating func trade(_ price: Int64, _ size: Int64, _ aggressor: AggressorSide) -> [String] {
        run { m, cx in m.onTrade(TradeReceived(instrument: InstrumentID(0), price: Price(raw: price), quantity: Quantity(raw: size), aggressor: aggressor, tradeID: 0), &cx) }
    }
    mutating func message(_ action: BookAction, _ side: Side, id: UInt64, _ price: Int64, _ size: Int64) -> [String] {
        run { m, cx in m.onMessage(OrderBookMessage(instrument: InstrumentID(0), action: action, side: side, orderID: id, price: Price(raw: price), quantity: Quantity(raw: size)), &cx) }
    }
    mutating func order(_ side: Side, _ type: OrderType, _ quantity: Int64, _ price: Int64 = 0, sizing: OrderSizing = .fixed) -> [String] {
        let o = OrderSubmitted(orderID: ClientOrderID(nextID), instrument: InstrumentID(0), side: side, type: type, sizing: sizing, quantity: Quantity(raw: quantity), limitPrice: Price(raw: price))
        nextID += 1
        return run { m, cx in m.submit(o, &cx) }
    }
    var ahead: [Int64] { market.resting.map(\.ahead) }
}

@Suite("Depth matching")
struct DepthMarketTests {
    /// asks 101×5, 102×10, 103×10; bids 100×10, 99×10.
    func book(_ h: inout Harness) {
        for (side, price, size) in [(Side.sell, 101, 5), (.sell, 102, 10), (.sell, 103, 10), (.buy, 100, 10), (.buy, 99, 10)] as [(Side, Int64, Int64)] {
            _ = h.level(side, price, size)
        }
    }

    @Test("a marketable limit walks the levels within its limit, then rests; liquidity we took is not taken twice")
    func walkAndRest() {
        var h = Harness()
        book(&h)
        #expect(h.order(.buy, .limit, 12, 102) == ["accepted 1", "filled 1 5@101 taker leaves 7", "filled 1 7@102 taker leaves 0"])
        #expect(h.order(.buy, .limit, 5, 102) == ["accepted 2", "filled 2 3@102 taker leaves 2"])
        #expect(h.market.resting.map(\.leaves) == [2] && h.ahead == [0])
        // The recorded ask at 102 is stale (we took it all): no phantom fill until the data moves.
        #expect(h.level(.buy, 99, 11).isEmpty)
        // The data now shows the 102 ask gone and a new ask at 102 arriving later.
        #expect(h.level(.sell, 102, 0).isEmpty)
        #expect(h.level(.sell, 102, 4) == ["filled 2 2@102 maker leaves 0"])
    }

    @Test("market orders sweep the book and cancel what it cannot fill; IOC cancels its rest; FOK is all or nothing")
    func immediateTypes() {
        var h = Harness()
        book(&h)
        #expect(h.order(.sell, .market, 25) == ["accepted 1", "filled 1 10@100 taker leaves 15", "filled 1 10@99 taker leaves 5", "canceled 1 leaves 5"])
        var i = Harness()
        book(&i)
        #expect(i.order(.buy, .ioc, 8, 101) == ["accepted 1", "filled 1 5@101 taker leaves 3", "canceled 1 leaves 3"])
        #expect(i.order(.buy, .fok, 21, 103) == ["accepted 2", "canceled 2 leaves 21"])  // 20 left within 103
        #expect(i.order(.buy, .fok, 20, 103) == ["accepted 3", "filled 3 10@102 taker leaves 10", "filled 3 10@103 taker leaves 0"])
        #expect(i.market.resting.isEmpty)
    }

    @Test("post-only is rejected when it would take, and rests when it would not")
    func postOnly() {
        var h = Harness()
        book(&h)
        #expect(h.order(.buy, .postOnly, 1, 101) == ["rejected 1 post-only order would take liquidity"])
        #expect(h.order(.buy, .postOnly, 1, 100) == ["accepted 2"])
        #expect(h.ahead == [10])
    }

    @Test("L2 conservative queue: only trades advance us; shrinking clamps; trades at our price fill the excess; trade-through fills all")
    func conservativeQueue() {
        var h = Harness()
        book(&h)
        _ = h.order(.buy, .limit, 3, 100)
        #expect(h.ahead == [10])
        _ = h.level(.buy, 100, 14)             // 4 joined behind us
        #expect(h.ahead == [10])
        _ = h.level(.buy, 100, 6)              // 8 cancelled: ahead can be at most the level
        #expect(h.ahead == [6])
        #expect(h.trade(100, 4, .seller).isEmpty)
        #expect(h.ahead == [2])
        _ = h.level(.buy, 100, 2)              // the trade's own decrease
        #expect(h.ahead == [2])
        #expect(h.trade(100, 3, .seller) == ["filled 1 1@100 maker leaves 2"])
        #expect(h.trade(100, 1, .buyer).isEmpty)  // buyer-initiated prints do not hit bids
        #expect(h.trade(99, 1, .seller) == ["filled 1 2@100 maker leaves 0"])
    }

    @Test("L2 power queue models split unexplained decreases by f(ahead) / (f(ahead) + f(behind))")
    func powerQueue() {
        var h = Harness(queue: .power(1))
        _ = h.level(.buy, 100, 10)
        _ = h.order(.buy, .limit, 1, 100)
        _ = h.level(.buy, 100, 20)              // 10 behind us
        _ = h.level(.buy, 100, 10)              // 10 cancelled: 10 × 10/(10+10) = 5 from ahead
        #expect(h.ahead == [5])
        var p = Harness(queue: .power(2))
        _ = p.level(.buy, 100, 20)
        _ = p.order(.buy, .limit, 1, 100)
        _ = p.level(.buy, 100, 30)              // ahead 20, behind 10
        _ = p.level(.buy, 100, 24)              // 6 × 400/(400+100) = 4.8 → 4 from ahead
        #expect(p.ahead == [16])
        // Trades at our price are not counted again when the level then shrinks by them.
        _ = p.trade(100, 6, .seller)
        #expect(p.ahead == [10])
        _ = p.level(.buy, 100, 18)
        #expect(p.ahead == [10])
        var c = Harness(queue: .conservative)
        _ = c.level(.buy, 100, 10)
        _ = c.order(.buy, .limit, 1, 100)
        _ = c.level(.buy, 100, 20)
        _ = c.level(.buy, 100, 10)
        #expect(c.ahead == [10])
    }

    @Test("L3 exact queue: earlier orders' cancels and executions move us up, later ones queue behind, an execution behind us fills us")
    func exactQueue() {
        var h = Harness()
        _ = h.message(.add, .buy, id: 1, 100, 5)
        _ = h.message(.add, .buy, id: 2, 100, 3)
        _ = h.message(.add, .sell, id: 9, 102, 10)
        _ = h.order(.buy, .limit, 3, 100)
        #expect(h.ahead == [8])
        _ = h.message(.add, .buy, id: 3, 100, 4)     // behind us
        #expect(h.ahead == [8])
        _ = h.message(.delete, .buy, id: 2, 100, 3)  // ahead of us
        #expect(h.ahead == [5])
        _ = h.message(.reduce, .buy, id: 3, 100, 1)  // behind us: no change
        #expect(h.ahead == [5])
        #expect(h.message(.execute, .buy, id: 1, 100, 5).isEmpty)
        #expect(h.ahead == [0])
        // Order 3 (behind us) executes: the aggressor would have met us first.
        #expect(h.message(.execute, .buy, id: 3, 100, 2) == ["filled 1 2@100 maker leaves 1"])
        // An execution at a worse price on our side means the market went through us.
        _ = h.message(.add, .buy, id: 4, 99, 5)
        #expect(h.message(.execute, .buy, id: 4, 99, 1) == ["filled 1 1@100 maker leaves 0"])  // traded through our price
        #expect(h.market.resting.isEmpty)
        #expect(h.market.l3?.checkInvariants() == nil)
        // Volume with no known order (a seeded level, id 77 never seen) was there before us.
        var u = Harness()
        _ = u.level(.sell, 105, 6)       // level total with no orders behind it (unattributed)
        _ = u.message(.add, .sell, id: 1, 105, 2)
        _ = u.order(.sell, .limit, 4, 105)
        #expect(u.ahead == [8])
        _ = u.message(.delete, .sell, id: 77, 105, 3)
        #expect(u.ahead == [5])
        #expect(u.message(.execute, .sell, id: 78, 105, 7) == ["filled 1 2@105 maker leaves 2"])
    }

    @Test("modify: a smaller size at the same price keeps priority; a new price or a larger size loses it")
    func modify() {
        var h = Harness()
        book(&h)
        _ = h.order(.buy, .limit, 5, 100)
        _ = h.level(.buy, 100, 14)
        _ = h.level(.buy, 100, 6)
        #expect(h.ahead == [6])
        #expect(h.run { m, cx in _ = m.modify(ClientOrderID(1), quantity: 3, price: 100, &cx) } == ["modified 1 3@100 kept priority"])
        #expect(h.ahead == [6])
        #expect(h.run { m, cx in _ = m.modify(ClientOrderID(1), quantity: 4, price: 100, &cx) } == ["modified 1 4@100 lost priority"])
        #expect(h.ahead == [6])  // back of the queue: the whole level (6) is ahead again
        _ = h.level(.buy, 100, 2)
        #expect(h.ahead == [2])
        #expect(h.run { m, cx in _ = m.modify(ClientOrderID(1), quantity: 4, price: 99, &cx) } == ["modified 1 4@99 lost priority"])
        #expect(h.ahead == [10] && h.market.resting[0].price == 99)
        // A price change that crosses takes liquidity.
        #expect(h.run { m, cx in _ = m.modify(ClientOrderID(1), quantity: 4, price: 101, &cx) } == ["modified 1 4@101 lost priority", "filled 1 4@101 taker leaves 0"])
        var found = true
        let none = h.run { m, cx in found = m.modify(ClientOrderID(1), quantity: 1, price: 100, &cx) }
        #expect(!found && none.isEmpty)
    }

    @Test("self-trade prevention: cancel the resting order, the incoming one, or both")
    func selfTrade() {
        for (mode, expected) in [
            (SelfTradePrevention.cancelResting, ["accepted 2", "canceled 1 leaves 2", "filled 2 5@101 taker leaves 0"]),
            (.cancelIncoming, ["accepted 2", "canceled 2 leaves 5"]),
            (.cancelBoth, ["accepted 2", "canceled 1 leaves 2", "canceled 2 leaves 5"]),
        ] {
            var h = Harness(stp: mode)
            book(&h)
            _ = h.order(.sell, .limit, 2, 101)  // rests behind the 5 at 101
            #expect(h.order(.buy, .limit, 5, 101) == expected, "\(mode)")
        }
    }

    @Test("fees: maker rebates and per-unit charges")
    func fees() {
        var h = Harness(fees: FeeSchedule(maker: Rate(raw: -10_000), taker: Rate(raw: 50_000), makerPerUnit: Money(parsing: "0.01")!, takerPerUnit: .zero))
        book(&h)
        var fees: [String] = []
        var cx = DepthMarket.Context(settings: h.settings) { _, _ in .zero }
        h.market.submit(OrderSubmitted(orderID: ClientOrderID(1), instrument: InstrumentID(0), side: .buy, type: .limit, sizing: .fixed, quantity: Quantity(raw: 2), limitPrice: Price(raw: 101)), &cx)
        h.market.submit(OrderSubmitted(orderID: ClientOrderID(2), instrument: InstrumentID(0), side: .buy, type: .limit, sizing: .fixed, quantity: Quantity(raw: 3), limitPrice: Price(raw: 100)), &cx)
        h.market.onTrade(TradeReceived(instrument: InstrumentID(0), price: Price(raw: 99), quantity: Quantity(raw: 1), aggressor: .seller, tradeID: 0), &cx)
        for case .filled(let f) in cx.answers { fees.append(f.fee.text) }
        // Taker 2 × 101 × 0.0005 = 0.101; maker 3 × 100 × −0.0001 + 3 × 0.01 = 0.
        #expect(fees == ["0.101", "0"])
    }

    @Test("all-in market orders are sized at the best available price")
    func allIn() {
        var h = Harness()
        book(&h)
        #expect(h.order(.buy, .market, 0, sizing: .allEquity) == ["accepted 1", "filled 1 5@101 taker leaves 2", "filled 1 2@102 taker leaves 0"])
    }
}

@Suite("Venue latency")
struct VenueLatencyTests {
    let instrument = Instrument(id: InstrumentID(0), symbol: Symbol("TEST")!, priceScale: 0, quantityScale: 0)

    func level(_ v: SimulatedVenue, _ r: inout Recorder, at t: Int64, _ side: Side, _ price: Int64, _ size: Int64) {
        let e = Event(eventTime: Timestamp(nanos: t), receiveTime: Timestamp(nanos: t), body: .l2LevelUpdated(L2LevelUpdated(instrument: InstrumentID(0), side: side, price: Price(raw: price), quantity: Quantity(raw: size))))
        let x = v.exchangeTime(of: e)
        v.advance(to: Timestamp(nanos: t), arrivalsUpTo: x, listener: &r)
        v.now = Timestamp(nanos: t)
        v.onMarket(e, at: x, listener: &r)
    }

    @Test("an order reaches the book after its entry latency and the strategy hears after the ack latency")
    func entryAndAck() {
        let v = SimulatedVenue(venues: [VenueSettings(fees: FeeSchedule(maker: .zero, taker: .zero), entryLatency: .constant(1_000), ackLatency: .constant(2_000))])
        v.define(instrument)
        var r = Recorder()
        level(v, &r, at: 0, .sell, 101, 5)
        v.now = Timestamp(nanos: 100)
        v.submit(OrderSubmitted(orderID: ClientOrderID(1), instrument: InstrumentID(0), side: .buy, type: .ioc, sizing: .fixed, quantity: Quantity(raw: 5), limitPrice: Price(raw: 101)), listener: &r)
        #expect(v.nextArrival == Timestamp(nanos: 1_100))
        level(v, &r, at: 500, .sell, 101, 2)      // before the order arrives: it sees 2
        level(v, &r, at: 1_500, .sell, 101, 9)    // after: too late
        #expect(r.events.isEmpty)                   // answers are still travelling
        #expect(v.nextDue == Timestamp(nanos: 3_100))
        v.now = Timestamp(nanos: 3_100)
        v.advance(to: Timestamp(nanos: 3_100), listener: &r)
        #expect(r.events == ["accepted 1", "filled 1 2@101 taker", "canceled 1"])
    }

    @Test("latency draws are seeded: the same seed gives the same draws; normal and lognormal centre where they should")
    func draws() {
        var a = SplitMix64(seed: 42), b = SplitMix64(seed: 42)
        let normal = LatencyModel.normal(mean: 1_000_000, deviation: 100_000)
        let xs = (0..<20_000).map { _ in normal.sample(&a) }
        #expect(xs == (0..<20_000).map { _ in normal.sample(&b) })
        let mean = Double(xs.reduce(0, +)) / Double(xs.count)
        #expect(abs(mean - 1_000_000) < 5_000)
        let log = LatencyModel.lognormal(median: 500_000, sigma: 0.5)
        let ys = (0..<20_001).map { _ in log.sample(&a) }.sorted()
        #expect(abs(Double(ys[10_000]) - 500_000) < 15_000)
        #expect(LatencyModel.parse("normal:1ms:100us") == normal && LatencyModel.parse("250us") == .constant(250_000) && LatencyModel.parse("fast") == nil)
        #expect(abs(LatencyModel.exp(1) - 2.718281828459045) < 1e-12 && abs(LatencyModel.exp(-3.5) - 0.0301973834223185) < 1e-12)
        let e = LatencyModel.empirical([5, 7, 9])
        #expect(Set((0..<100).map { _ in e.sample(&a) }) == [5, 7, 9])
    }
}
