import Foundation
import Testing
@testable import RetraceCore
@testable import RetraceEngine
@testable import RetraceStore
import RetraceJournal

/// Sends orders that each break one trading rule, then two that keep them all.
struct RulesProbe: ScriptedProbe {
    static let name = "rules-probe"
    /// Against tick 2, lot 2, quantity 4...8, value ≥ 500.
    static let script: [(Side, OrderType, Int64, Int64)] = [
        (.buy, .limit, 4, 99),     // off the tick grid
        (.buy, .limit, 3, 98),     // off the lot grid
        (.buy, .limit, 2, 98),     // below the minimum quantity
        (.buy, .limit, 10, 98),    // above the maximum quantity
        (.buy, .limit, 4, 98),     // 392 < 500: below the minimum notional
        (.buy, .limit, 6, 98),     // keeps every rule: rests
        (.sell, .ioc, 6, 100),     // keeps every rule: takes the bid
    ]
    var sent = false
    init(parameters: ParameterValues) throws(EngineError) {}
}

/// Rests one order, then modifies it off the tick grid; when that is refused, modifies it
/// within the rules.
struct ModifyProbe: Strategy {
    static let name = "modify-probe"
    static let summary = "test"
    static let parameters: [ParameterSpec] = []
    var order: ClientOrderID?
    var modified = false
    var refusals = 0
    init(parameters: ParameterValues) throws(EngineError) {}
    mutating func onMarket(_ event: Event, _ context: inout StrategyContext) {
        let t = context.touch(InstrumentID(0))
        guard t.bid != nil, t.ask != nil else { return }
        if let order {
            if !modified { context.modify(order, quantity: Quantity(raw: 6), price: Price(raw: 97)) }  // off the tick grid
            modified = true
        } else {
            order = context.submitLimit(InstrumentID(0), .buy, quantity: Quantity(raw: 6), price: Price(raw: 98))
        }
    }
    mutating func onModifyRejected(_ reject: OrderModifyRejected, _ context: inout StrategyContext) {
        refusals += 1
        guard refusals == 1 else { return }
        context.modify(reject.orderID, quantity: Quantity(raw: 4), price: Price(raw: 96))  // 384 < 500: below the minimum notional
        context.modify(reject.orderID, quantity: Quantity(raw: 8), price: Price(raw: 96))  // within every rule
    }
}

@Suite("Reference data (instrument trading rules)")
struct ReferenceDataTests {
    static func table(_ json: String, ttl: Int64 = 1_000, capacity: Int = 16) throws(EngineError) -> ReferenceTable {
        try ReferenceTable(json: Data(json.utf8), path: "rules.json", ttlNanos: ttl, capacity: capacity)
    }

    static func instrument(_ id: UInt32, _ symbol: String, priceScale: Int, quantityScale: Int) -> Instrument {
        Instrument(id: InstrumentID(id), symbol: Symbol(symbol)!, priceScale: priceScale, quantityScale: quantityScale)
    }

    @Test("rules in the instrument's units: a tick finer than the price scale allows any price, 0.025 at cents allows multiples of 0.05; quantity bounds round inward")
    func units() throws {
        let t = try Self.table(#"{"instruments": [{"symbol": "A", "tick_size": "0.025", "lot_size": "0.001", "min_quantity": "0.0015", "max_quantity": 2.5},"#
                               + #"{"symbol": "B", "tick_size": "0.001", "max_quantity": "0.0005", "min_notional": 100}]}"#)
        var data = ReferenceData(table: t)
        let ra = data.rules(Self.instrument(0, "A", priceScale: 2, quantityScale: 3), now: 0)
        let a = try #require(ra)
        #expect(a.priceStep == 5 && a.quantityStep == 1 && a.minQuantity == 2 && a.maxQuantity == 2_500)
        let rb = data.rules(Self.instrument(1, "B", priceScale: 2, quantityScale: 3), now: 0)
        let b = try #require(rb)
        #expect(b.priceStep == 1 && b.maxQuantity == -1 && b.minNotional == Money(parsing: "100"))
        #expect(data.rules(Self.instrument(2, "C", priceScale: 2, quantityScale: 0), now: 0) == nil)
        // At whole units the lot of 0.001 allows any quantity.
        let rw = data.rules(Self.instrument(3, "A", priceScale: 4, quantityScale: 0), now: 0)
        let whole = try #require(rw)
        #expect(whole.quantityStep == 1 && whole.priceStep == 250 && whole.minQuantity == 1 && whole.maxQuantity == 2)
    }

    @Test("dated entries: the entry in force at engine time; a cached answer expires at the next entry even before its time to live")
    func dated() throws {
        let t = try Self.table(#"{"instruments": [{"symbol": "A", "from": "1970-01-01T00:00:00.000001Z", "tick_size": "0.05"},"#
                               + #"{"symbol": "A", "from": "1970-01-01T00:00:00.000002Z", "tick_size": "0.10"}]}"#, ttl: 10_000)
        var data = ReferenceData(table: t)
        let a = Self.instrument(0, "A", priceScale: 2, quantityScale: 0)
        #expect(data.rules(a, now: 500) == nil)            // before the first entry
        #expect(data.rules(a, now: 999) == nil)            // cached "none", until 1,000
        #expect(data.rules(a, now: 1_000)?.priceStep == 5) // expired at the first entry
        #expect(data.rules(a, now: 1_999)?.priceStep == 5)
        #expect(data.rules(a, now: 2_000)?.priceStep == 10)
        #expect(data.rules(a, now: 11_999)?.priceStep == 10)
        #expect(data.rules(a, now: 12_000)?.priceStep == 10) // time to live: looked up again
        #expect(data.cache.hits == 3 && data.cache.misses == 4)
    }

    /// A rules file for the test depth feed's DEPTH: tick 2, lot 2, quantity 4...8, value ≥ 500.
    static func depthRules(_ name: String) throws -> String {
        let file = temporaryDirectory(name) + ".json"
        try #"{"instruments": [{"symbol": "DEPTH", "tick_size": "2", "lot_size": "2", "min_quantity": "4", "max_quantity": "8", "min_notional": "500"}]}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// The rules check written out directly in exact decimals, with no cache.
    static func expected(_ t: ReferenceTable, _ o: OrderSubmitted, _ i: Instrument, now: Int64, ask: Int64, bid: Int64) -> RejectReason? {
        guard let e = t.entry(i.symbol.description, at: now).entry else { return nil }
        let price18 = Int128(o.limitPrice.raw) * Money.power(18 - i.priceScale)
        let qty18 = Int128(o.quantity.raw) * Money.power(18 - i.quantityScale)
        if o.type.hasLimit && e.tickSize > 0 && price18 % e.tickSize != 0 { return .referenceTickSize }
        if e.lotSize > 0 && qty18 % e.lotSize != 0 { return .referenceLotSize }
        if qty18 < e.minQuantity { return .referenceMinQuantity }
        if e.maxQuantity > 0 && qty18 > e.maxQuantity { return .referenceMaxQuantity }
        let px = o.type.hasLimit ? o.limitPrice.raw : (o.side == .buy ? ask : bid)
        if e.minNotional > 0 && px > 0 && Int128(px) * Int128(o.quantity.raw) * Money.power(18 - i.priceScale - i.quantityScale) < e.minNotional {
            return .referenceMinNotional
        }
        return nil
    }

    @Test("seeded orders over 16 instruments with dated rules, through a 4-entry cache: every answer equals the uncached rules; the cache hits, misses and evicts")
    func againstUncached() throws {
        var rng = SplitMix64(seed: 21)
        var entries: [String] = []
        let ticks = ["0.01", "0.05", "0.025", "0.5", "1"], lots = ["1", "0.5", "0.01", "0.001", "5"]
        for s in 0..<16 {
            for k in 0..<3 where k == 0 || rng.next(modulo: 2) == 0 {
                let from = k == 0 ? "" : #""from": "1970-01-01T00:00:0\#(k).000000Z", "#
                entries.append(#"{"symbol": "S\#(s)", \#(from)"tick_size": "\#(ticks[Int(rng.next(modulo: 5))])", "lot_size": "\#(lots[Int(rng.next(modulo: 5))])", "#
                               + #""min_quantity": "\#(rng.next(modulo: 3))", "max_quantity": "\#(rng.next(modulo: 2) == 0 ? "0" : "40")", "min_notional": "\#(rng.next(modulo: 40))"}"#)
            }
        }
        let t = try Self.table(#"{"instruments": ["# + entries.joined(separator: ",") + "]}", ttl: 300_000_000, capacity: 4)
        var data = ReferenceData(table: t)
        let instruments = (0..<16).map { Self.instrument(UInt32($0), "S\($0)", priceScale: 3, quantityScale: Int($0 % 4)) }
        var refused = 0
        for n in 0..<20_000 {
            // Runs of one instrument (the most-recent path), switches among a few (the index), and all 16 (evictions).
            let pick = n % 1_000 < 600 ? (n / 1_000) % 16 : Int(rng.next(modulo: n % 1_000 < 900 ? 3 : 16))
            let i = instruments[pick]
            let now = Int64(n) * 200_000  // 0 to 4 s: crosses the dated entries at 1 s and 2 s
            let type: OrderType = rng.next(modulo: 8) == 0 ? .market : .limit
            // Half on every grid of the table (multiples of 1 in price, 5 units in quantity), half anywhere.
            let unit = Int64(FixedPoint.powersOfTen[i.quantityScale])
            let price = rng.next(modulo: 2) == 0 ? Int64(1 + rng.next(modulo: 20)) * 1_000 : Int64(1 + rng.next(modulo: 20_000))
            let quantity = rng.next(modulo: 2) == 0 ? Int64(1 + rng.next(modulo: 8)) * 5 * unit : Int64(1 + rng.next(modulo: 60 * UInt64(unit)))
            let o = OrderSubmitted(orderID: ClientOrderID(UInt64(n + 1)), instrument: i.id, side: rng.next(modulo: 2) == 0 ? .buy : .sell, type: type, sizing: .fixed,
                                   quantity: Quantity(raw: quantity), limitPrice: type == .market ? .zero : Price(raw: price))
            let got = data.check(o, instrument: i, touch: (bid: 9_990, ask: 10_010), now: now)
            #expect(got == Self.expected(t, o, i, now: now, ask: 10_010, bid: 9_990), "order \(n) \(i.symbol) at \(now)")
            if got != nil { refused += 1 }
        }
        #expect(data.refused == refused && refused > 4_000 && refused < 16_000, "\(refused) refused")
        #expect(data.cache.hits > 10_000 && data.cache.misses > 100 && data.cache.evictions > 50,
                "hits \(data.cache.hits), misses \(data.cache.misses), evictions \(data.cache.evictions)")
    }

    @Test("a backtest refuses the orders that break the rules, with the rule as reason; the rest trade; the manifest reports the cache; same fingerprint twice")
    func inRun() throws {
        let file = try Self.depthRules("rules")
        defer { try? FileManager.default.removeItem(atPath: file) }
        var prints: [String] = []
        for _ in 0..<2 {
            let out = temporaryDirectory("rules-run")
            defer { try? FileManager.default.removeItem(atPath: out) }
            var source = ArrayInput(depthEvents())
            let m = try BacktestDriver.run(RulesProbe.self, source: &source, settings: BacktestDriver.Settings(overrides: [("close_at_end", "false"), ("reference.file", file)],
                                                                                                           dataset: "t", inputs: [], out: out))
            let orders = try RunStore(path: out + "/store.sqlite").orders()
            #expect(orders.map(\.rejectReason) == [RejectReason.referenceTickSize, .referenceLotSize, .referenceMinQuantity, .referenceMaxQuantity,
                                                    .referenceMinNotional].map(\.description) + ["", ""])
            #expect(orders.map(\.status).suffix(2) == ["canceled", "filled"])
            let r = try #require(m.reference)
            #expect(r.refused == 5 && r.misses == 1 && r.hits == 6 && r.entries == 1 && r.file == file && r.sha256.count == 64)
            prints.append(m.fingerprint)
        }
        #expect(prints[0] == prints[1])
    }

    @Test("a modification is checked as the order would be after it: refused ones are journaled as OrderModifyRejected and heard by the strategy, the order works on; the rest reach the venue")
    func modifications() throws {
        let file = try Self.depthRules("rules-modify")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let out = temporaryDirectory("rules-modify-run")
        defer { try? FileManager.default.removeItem(atPath: out) }
        var source = ArrayInput(depthEvents())
        let m = try BacktestDriver.run(ModifyProbe.self, source: &source, settings: BacktestDriver.Settings(overrides: [("close_at_end", "false"), ("reference.file", file)],
                                                                                                          dataset: "t", inputs: [], out: out))
        let reader = try JournalReader(directory: out + "/journal")
        var answers: [String] = []
        while let (_, e) = try reader.nextEvent() {
            switch e.body {
            case .orderSubmitted(let o): answers.append("submitted \(o.quantity.raw)@\(o.limitPrice.raw)")
            case .orderAccepted: answers.append("accepted")
            case .orderModifyRejected(let r): answers.append("modify rejected \(r.reason)")
            case .orderModified(let o): answers.append("modified \(o.leavesQuantity.raw)@\(o.price.raw)")
            case .orderRejected, .orderCanceled, .orderFilled: answers.append(e.body.kind.name)
            default: break
            }
        }
        #expect(answers == ["submitted 6@98", "accepted", "modify rejected \(RejectReason.referenceTickSize)", "modify rejected \(RejectReason.referenceMinNotional)", "modified 8@96",
                           "OrderCanceled"])  // the run's end cancels what still works
        #expect(m.reference?.refused == 2)
        let orders = try RunStore(path: out + "/store.sqlite").orders()
        // It worked on after the refusals, as modified, until the end of the run.
        #expect(orders.count == 1 && orders[0].status == "canceled" && orders[0].rejectReason == "" && orders[0].quantity.raw == 8 && orders[0].limitPrice.raw == 96, "\(orders)")
    }

    @Test("bad files: errors name the file, the entry and the key")
    func errors() {
        func message(_ json: String) -> String {
            do throws(EngineError) { _ = try Self.table(json); return "" } catch { return error.message }
        }
        #expect(message(#"{"instruments": [{"symbol": "A", "tick_sise": "1"}]}"#).contains("rules.json: instrument entry 1: unknown key 'tick_sise'"))
        #expect(message(#"{"instruments": [{"symbol": "A"}, {"symbol": "B", "lot_size": "-1"}]}"#).contains("instrument entry 2 (B): 'lot_size' must be a non-negative decimal"))
        #expect(message(#"{"instruments": [{"symbol": "A", "from": "soon"}]}"#).contains("'from' must be an ISO-8601 time"))
        #expect(message(#"{"instruments": [{"symbol": "A"}, {"symbol": "A"}]}"#).contains("instrument entry 2 (A): a second entry for the same 'from'"))
        #expect(message(#"{"instruments": [{"symbol": "A", "min_quantity": "5", "max_quantity": "4"}]}"#).contains("min_quantity is above max_quantity"))
        #expect(message(#"{"rules": []}"#).contains("rules.json: unknown key 'rules'"))
        #expect(message("{").contains("rules.json: not valid JSON at line 1, column 2"))
        #expect(message("{\"instruments\": [\n  {\"symbol\": \"Ä\", \"tick_size\": 0.5,}\n  {\"symbol\": \"B\"}\n]}").contains("not valid JSON at line 3, column 3"))
        #expect(message(#"{"instruments": [{"tick_size": "1"}]}"#).contains("'symbol' must be a symbol"))
    }
}
