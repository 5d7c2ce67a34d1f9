import Foundation
import Testing
@testable import RetraceCore
@testable import RetraceEngine
@testable import RetraceJournal
@testable import RetraceStore

/// A test strategy that sends a fixed list of limit orders on instrument 0 on the first
/// event with a two-sided touch.
protocol ScriptedProbe: Strategy {
    /// (side, type, quantity, limit price)
    static var script: [(Side, OrderType, Int64, Int64)] { get }
    var sent: Bool { get set }
}

extension ScriptedProbe {
    static var summary: String { "test" }
    static var parameters: [ParameterSpec] { [] }
    mutating func onMarket(_ event: Event, _ context: inout StrategyContext) {
        let t = context.touch(InstrumentID(0))
        guard !sent, t.bid != nil, t.ask != nil else { return }
        sent = true
        for (side, type, q, p) in Self.script {
            context.submitLimit(InstrumentID(0), side, quantity: Quantity(raw: q), price: Price(raw: p), type: type)
        }
    }
}

struct RiskProbe: ScriptedProbe {
    static let name = "risk-probe"
    /// (side, type, quantity, limit price)
    static let script: [(Side, OrderType, Int64, Int64)] = [
        (.buy, .ioc, 11, 101),     // 1: larger than max_order_size 10
        (.buy, .limit, 4, 99),     // 2: rests (working buy 4)
        (.buy, .limit, 4, 98),     // 3: rests (working buy 8)
        (.buy, .limit, 3, 97),     // 4: 8 working + 3 > max_position 10
        (.sell, .limit, 1, 150),   // 5: 50 % from the mid (100), band is 500 bp
        (.buy, .limit, 1, 96),     // 6: third order through (rate 4 per second)
        (.buy, .limit, 1, 95),     // 7: fourth (exactly 500 bp from the mid: inside)
        (.sell, .limit, 1, 102),   // 8: fifth within the second: rate limit
    ]
    var sent = false
    init(parameters: ParameterValues) throws(EngineError) {}
}

@Suite("Risk checks")
struct RiskTests {
    func run(_ overrides: [(String, String)], _ events: [Event] = depthEvents()) throws -> ([OrderRow], String) {
        let out = temporaryDirectory("risk")
        var source = ArrayInput(events)
        _ = try BacktestDriver.run(RiskProbe.self, source: &source, settings: BacktestDriver.Settings(overrides: overrides + [("close_at_end", "false")], dataset: "t", inputs: [], out: out))
        return (try RunStore(path: out + "/store.sqlite").orders(), out)
    }

    @Test("size, position (with working orders), price band and order rate: each refusal is a journaled reject with its reason")
    func limits() throws {
        let (orders, out) = try run([("risk.max_order_size", "10"), ("risk.max_position", "10"), ("risk.price_band_bps", "500"), ("risk.max_orders", "4")])
        defer { try? FileManager.default.removeItem(atPath: out) }
        // Orders that went through rest until the session ends (then cancelled).
        #expect(orders.map(\.status) == ["rejected", "canceled", "canceled", "rejected", "rejected", "canceled", "canceled", "rejected"])
        #expect(orders.map(\.rejectReason) == [RejectReason.riskMaxOrderSize.description, "", "", RejectReason.riskMaxPosition.description,
                                                RejectReason.riskPriceBand.description, "", "", RejectReason.riskOrderRate.description])
        // Without limits every order reaches the venue.
        let (free, out2) = try run([])
        defer { try? FileManager.default.removeItem(atPath: out2) }
        #expect(free.allSatisfy { $0.rejectReason.isEmpty }, "\(free.map(\.rejectReason))")
    }

    @Test("notional limit, and limits finer than a lot refuse everything; bad values are errors naming the key")
    func notionalAndErrors() throws {
        let (orders, out) = try run([("risk.max_notional", "399")])
        defer { try? FileManager.default.removeItem(atPath: out) }
        // 4 × 99 = 396 passes, 11 × 101 and 4 × 98 = 392… only orders worth more than 399 fail.
        #expect(orders.map { $0.rejectReason == RejectReason.riskMaxNotional.description } == [true, false, false, false, false, false, false, false])
        let (tiny, out2) = try run([("risk.max_order_size", "0.5")])
        defer { try? FileManager.default.removeItem(atPath: out2) }
        #expect(tiny.allSatisfy { $0.rejectReason == RejectReason.riskMaxOrderSize.description })
        #expect(throws: EngineError.self) { _ = try BacktestDriver.prepare(RiskProbe.self, [("risk.max_orders", "lots")]) }
        #expect(throws: EngineError.self) { _ = try BacktestDriver.prepare(RiskProbe.self, [("risk.max_notional", "-5")]) }
    }

    @Test("kill switch: once equity falls risk.kill_loss below the start, working orders are cancelled then and new ones refused")
    func killSwitch() throws {
        // Buy 10 at 101 and rest a bid at 90; then the market collapses to 50/51: equity drops by about 500.
        let i = InstrumentID(0)
        var events = depthEvents()
        let t = events.last!.receiveTime.nanos
        for (k, bid) in [Int64(99), 50, 49, 48].enumerated() {
            let at = Timestamp(nanos: t + Int64(k + 1) * 1_000_000)
            events.append(Event(eventTime: at, receiveTime: at, body: .quoteReceived(QuoteReceived(instrument: i, bidPrice: Price(raw: bid), bidQuantity: Quantity(raw: 10),
                                                                                                    askPrice: Price(raw: bid + 1), askQuantity: Quantity(raw: 10)))))
        }
        let collapse = t + 2_000_000
        let out = temporaryDirectory("kill")
        defer { try? FileManager.default.removeItem(atPath: out) }
        var source = ArrayInput(events)
        _ = try BacktestDriver.run(KillProbe.self, source: &source, settings: BacktestDriver.Settings(overrides: [("risk.kill_loss", "300"), ("close_at_end", "false")], dataset: "t", inputs: [], out: out))
        let orders = try RunStore(path: out + "/store.sqlite").orders()
        // 1: the IOC buy, filled. 2: the resting bid, cancelled at the collapse (not at the end).
        #expect(orders[0].status == "filled")
        #expect(orders[1].status == "canceled" && orders[1].lastUpdateTime.nanos == collapse, "\(orders[1])")
        // One probe per quote: before the collapse it goes through; from the collapse on it is refused.
        let probes = orders.dropFirst(2)
        #expect(probes.map { $0.rejectReason == RejectReason.riskKillSwitch.description } == [false, true, true, true], "\(probes.map(\.rejectReason))")
    }

    @Test("modifications are checked as the order would be after them: size, position (an increase counts at once), price band; a refused one leaves the order as it was")
    func modifications() throws {
        let out = temporaryDirectory("risk-modify")
        defer { try? FileManager.default.removeItem(atPath: out) }
        var source = ArrayInput(depthEvents())
        // With an entry latency the venue confirms a change a millisecond after it is sent.
        let overrides = [("risk.max_order_size", "10"), ("risk.max_position", "10"), ("risk.price_band_bps", "500"), ("entry_latency", "1ms"), ("close_at_end", "false")]
        _ = try BacktestDriver.run(RiskModifyProbe.self, source: &source, settings: BacktestDriver.Settings(overrides: overrides, dataset: "t", inputs: [], out: out))
        let reader = try JournalReader(directory: out + "/journal")
        var answers: [String] = []
        while let (_, e) = try reader.nextEvent() {
            switch e.body {
            case .orderSubmitted(let o): answers.append("#\(o.orderID.raw) \(o.quantity.raw)@\(o.limitPrice.raw)")
            case .orderModifyRejected(let r): answers.append("#\(r.orderID.raw) refused \(r.reason)")
            case .orderModified(let o): answers.append("#\(o.orderID.raw) now \(o.leavesQuantity.raw)@\(o.price.raw)")
            case .orderRejected, .orderFilled: answers.append(e.body.kind.name)
            default: break
            }
        }
        #expect(answers == ["#1 4@99", "#2 4@98",
                            "#1 refused \(RejectReason.riskMaxOrderSize)",   // 11 > 10
                            "#1 refused \(RejectReason.riskMaxPosition)",    // 4 + 4 working, #1 to 7: 11 > 10
                            "#2 refused \(RejectReason.riskPriceBand)",      // 150 is 50 % from the mid
                            "#2 refused \(RejectReason.riskMaxPosition)",    // #1 to 6 went (6 + 4 = 10) and counts at once: 6 + 5 > 10
                            "#1 now 6@99",                                    // the venue's confirmation
                            "#1 now 2@99",                                    // a decrease, counted when the venue confirms it
                            "#2 now 8@98"], "\(answers)")                    // 2 + 8 = 10
        let orders = try RunStore(path: out + "/store.sqlite").orders()
        #expect(orders.map { "\($0.quantity.raw)@\($0.limitPrice.raw) \($0.status)" } == ["2@99 canceled", "8@98 canceled"])
    }
}

/// Two resting bids on the first touch, then modifications of them, one batch per event.
struct RiskModifyProbe: Strategy {
    static let name = "risk-modify-probe"
    static let summary = "test"
    static let parameters: [ParameterSpec] = []
    var step = 0
    var orders: [ClientOrderID] = []
    init(parameters: ParameterValues) throws(EngineError) {}
    mutating func onMarket(_ event: Event, _ context: inout StrategyContext) {
        let t = context.touch(InstrumentID(0))
        guard t.bid != nil, t.ask != nil else { return }
        func modify(_ k: Int, _ q: Int64, _ p: Int64) { context.modify(orders[k], quantity: Quantity(raw: q), price: Price(raw: p)) }
        switch step {
        case 0: orders = [context.submitLimit(InstrumentID(0), .buy, quantity: Quantity(raw: 4), price: Price(raw: 99)),
                          context.submitLimit(InstrumentID(0), .buy, quantity: Quantity(raw: 4), price: Price(raw: 98))]
        case 1: modify(0, 11, 99); modify(0, 7, 99); modify(1, 4, 150); modify(0, 6, 99); modify(1, 5, 98)
        case 2: modify(0, 2, 99)
        case 3: modify(1, 8, 98)
        default: break
        }
        step += 1
    }
}

/// Buys 10 at the ask and rests a bid at 90 on the first touch; then one small bid per quote.
struct KillProbe: Strategy {
    static let name = "kill-probe"
    static let summary = "test"
    static let parameters: [ParameterSpec] = []
    var started = false
    init(parameters: ParameterValues) throws(EngineError) {}
    mutating func onMarket(_ event: Event, _ context: inout StrategyContext) {
        let id = InstrumentID(0)
        if !started {
            let touch = context.touch(id)
            guard touch.bid != nil, let ask = touch.ask else { return }
            started = true
            context.submitLimit(id, .buy, quantity: Quantity(raw: 10), price: ask, type: .ioc)
            context.submitLimit(id, .buy, quantity: Quantity(raw: 1), price: Price(raw: 90))
        } else if case .quoteReceived = event.body {
            context.submitLimit(id, .buy, quantity: Quantity(raw: 1), price: Price(raw: 30))
        }
    }
}
