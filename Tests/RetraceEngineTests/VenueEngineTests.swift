import Foundation
import Testing
@testable import RetraceCore
@testable import RetraceEngine
@testable import RetraceStore
@testable import RetraceStrategies

/// Sends one buy IOC of 5 at 101 as soon as there is an ask.
struct OneShot: Strategy {
    static let name = "one-shot"
    static let summary = "test"
    static let parameters: [ParameterSpec] = []
    var sent = false
    init(parameters: ParameterValues) throws(EngineError) {}
    mutating func onMarket(_ event: Event, _ context: inout StrategyContext) {
        guard !sent, context.touch(InstrumentID(0)).ask != nil else { return }
        sent = true
        context.submitLimit(InstrumentID(0), .buy, quantity: Quantity(raw: 5), price: Price(raw: 101), type: .ioc)
    }
}

func depthEvents() -> [Event] {
    let i = Instrument(id: InstrumentID(0), symbol: Symbol("DEPTH")!, priceScale: 0, quantityScale: 0)
    func at(_ micros: Int64, _ body: EventBody) -> Event { Event(eventTime: Timestamp(nanos: micros * 1_000), receiveTime: Timestamp(nanos: micros * 1_000), body: body) }
    func level(_ side: Side, _ p: Int64, _ q: Int64) -> EventBody { .l2LevelUpdated(L2LevelUpdated(instrument: i.id, side: side, price: Price(raw: p), quantity: Quantity(raw: q))) }
    return [at(0, .instrumentDefined(InstrumentDefined(instrument: i))), at(0, level(.buy, 100, 10)), at(0, level(.sell, 101, 10)),
            at(500, level(.sell, 101, 2)), at(1_500, level(.sell, 101, 9)), at(10_000, level(.buy, 100, 11))]
}

@Suite("Venue in the engine")
struct VenueEngineTests {
    func run<S: Strategy>(_ type: S.Type, _ events: [Event], _ overrides: [(String, String)], seed: UInt64 = 0) throws -> (RunManifest, RunStore, String) {
        let out = temporaryDirectory("venue")
        var source = ArrayInput(events)
        let m = try BacktestDriver.run(type, source: &source, settings: BacktestDriver.Settings(overrides: overrides + [("close_at_end", "false")], dataset: "t", inputs: [], out: out, seed: seed))
        return (m, try RunStore(path: out + "/store.sqlite"), out)
    }

    @Test("entry latency: the order meets the book as it is when it arrives; ack latency: the fill is booked when we hear of it")
    func latency() throws {
        let (zero, zeroStore, a) = try run(OneShot.self, depthEvents(), [])
        defer { try? FileManager.default.removeItem(atPath: a) }
        #expect(zero.fills == 1)
        #expect(try zeroStore.fills().map { "\($0.fill.quantity.raw)@\($0.time.nanos)" } == ["5@0"])
        let (late, lateStore, b) = try run(OneShot.self, depthEvents(), [("entry_latency", "1ms"), ("ack_latency", "2ms")])
        defer { try? FileManager.default.removeItem(atPath: b) }
        // Arrives at 1 ms, when the ask shows 2 (set at 0.5 ms); heard at 3 ms.
        #expect(try lateStore.fills().map { "\($0.fill.quantity.raw)@\($0.time.nanos)" } == ["2@3000000"])
        #expect(late.fills == 1)
        let orders = try lateStore.orders()
        #expect(orders.map(\.status) == ["canceled"] && orders.map(\.filledQuantity.raw) == [2])
    }

    @Test("queue-maker on depth: same seed ⇒ same fingerprint with random latency; unknown venue keys are refused")
    func determinism() throws {
        var events = depthEvents()
        // A busier tape: the touch moves and trades print.
        let t0 = events.last!.receiveTime.nanos
        var rng = SplitMix64(seed: 5)
        for k in 1...2_000 {
            let t = Timestamp(nanos: t0 + Int64(k) * 100_000)
            let side: Side = rng.next(modulo: 2) == 0 ? .buy : .sell
            let price: Int64 = side == .buy ? 95 + Int64(rng.next(modulo: 6)) : 101 + Int64(rng.next(modulo: 6))
            let body: EventBody = rng.next(modulo: 4) == 0
                ? .tradeReceived(TradeReceived(instrument: InstrumentID(0), price: Price(raw: side == .buy ? 100 : 101), quantity: Quantity(raw: Int64(rng.next(modulo: 5)) + 1), aggressor: side == .buy ? .seller : .buyer, tradeID: UInt64(k)))
                : .l2LevelUpdated(L2LevelUpdated(instrument: InstrumentID(0), side: side, price: Price(raw: price), quantity: Quantity(raw: Int64(rng.next(modulo: 20)))))
            events.append(Event(eventTime: t, receiveTime: t, body: body))
        }
        let settings = [("size", "2"), ("max_position", "6"), ("entry_latency", "lognormal:300us:0.5"), ("ack_latency", "normal:200us:50us"), ("queue_model", "power:2")]
        let (m1, _, a) = try run(QueueMaker.self, events, settings, seed: 9)
        let (m2, _, b) = try run(QueueMaker.self, events, settings, seed: 9)
        defer { for p in [a, b] { try? FileManager.default.removeItem(atPath: p) } }
        #expect(m1.fingerprint == m2.fingerprint && m1.fills > 0, "fills \(m1.fills)")
        #expect(throws: EngineError.self) { _ = try BacktestDriver.prepare(QueueMaker.self, [("venue.X.latency", "1ms")]) }
        #expect(throws: EngineError.self) { _ = try BacktestDriver.prepare(QueueMaker.self, [("queue_model", "psychic")]) }
        let (_, account, _) = try BacktestDriver.prepare(QueueMaker.self, [("venue.B.entry_latency", "1ms"), ("venue.B.instruments", "BTC"), ("taker_fee", "0.0004"), ("venue.B.maker_fee", "-0.0001")])
        #expect(account.venues.map(\.name) == ["SIM", "B"])
        #expect(account.venues[1].entryLatency == .constant(1_000_000) && account.venues[0].entryLatency == .zero)
        #expect(account.venues[1].fees.maker == Rate(raw: -10_000) && account.venues[1].fees.taker == Rate(raw: 40_000))
        #expect(account.assignment.map(\.symbol) == ["BTC"])
    }
}
