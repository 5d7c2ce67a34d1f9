import Foundation
import Testing
@testable import RetraceCore
@testable import RetraceEngine

@Suite("Caches")
struct CacheTests {
    @Test("dedup: a repeat within the window is dropped, one outside it passes; against a reference window on seeded ids")
    func dedup() {
        var d = Deduplicator(window: 1_000)
        var rng = SplitMix64(seed: 8)
        var recent: [UInt64] = []  // reference: the last 1,000 accepted ids
        var expectedDrops = 0
        for _ in 0..<50_000 {
            // Mostly fresh ids, some repeats from the recent past, some from long ago.
            let id: UInt64 = rng.next(modulo: 10) == 0 ? rng.next(modulo: 500) : rng.next()
            let duplicate = recent.contains(id)
            if duplicate { expectedDrops += 1 }
            let isNew = d.isNew(id)
            #expect(isNew == !duplicate, "id \(id)")
            if isNew {
                recent.append(id)
                if recent.count > 1_000 { recent.removeFirst() }
            }
        }
        #expect(d.dropped == expectedDrops && expectedDrops > 200, "\(expectedDrops) drops")
        // Most fresh ids are cleared by the Bloom filter alone.
        #expect(Double(d.bloomPositives) < Double(d.checked) * 0.2)
    }

    @Test("dedup: tables made on the first id; a snapshot before it equals an empty table's and restores to the same decisions")
    func dedupLazy() throws {
        let fresh = Deduplicator(window: 500)
        #expect(!fresh.allocated)
        var made = Deduplicator(window: 500)
        made.allocate()
        var a = StateWriter(), b = StateWriter()
        fresh.saveState(&a)
        made.saveState(&b)
        #expect(a.bytes == b.bytes && !fresh.allocated)
        var restored = Deduplicator(window: 500)
        var r = StateReader(a.bytes)
        try restored.restoreState(&r)
        var original = fresh
        var rng = SplitMix64(seed: 4)
        for _ in 0..<3_000 {
            let id = rng.next(modulo: 700)
            #expect(original.isNew(id) == restored.isNew(id))
        }
        #expect(original.allocated && original.dropped == restored.dropped && original.dropped > 1_000)
    }

    @Test("LRU with TTL: recency eviction, expiry in engine time, counters")
    func lru() {
        var c = LRUCache<String, Int>(capacity: 2, ttlNanos: 100)
        c.put("a", 1, now: 0)
        c.put("b", 2, now: 10)
        #expect(c.get("a", now: 20) == 1)          // a is now most recent
        c.put("c", 3, now: 30)                      // evicts b
        #expect(c.get("b", now: 31) == nil)
        #expect(c.keysByRecency == ["c", "a"])
        #expect(c.get("a", now: 100) == nil)        // put at 0, ttl 100: expired at 100
        #expect(c.count == 1 && c.keysByRecency == ["c"])
        c.put("c", 4, now: 120)                     // refresh
        #expect(c.get("c", now: 219) == 4)
        #expect(c.hits == 2 && c.misses == 2 && c.evictions == 1)
    }

    @Test("last-value cache: touch, last trade and top levels from events")
    func lastValue() {
        var c = LastValueCache(depth: 2)
        let i = InstrumentID(1)
        func at(_ n: Int64, _ b: EventBody) -> Event { Event(eventTime: Timestamp(nanos: n), receiveTime: Timestamp(nanos: n), body: b) }
        c.apply(at(1, .l2LevelUpdated(L2LevelUpdated(instrument: i, side: .buy, price: Price(raw: 100), quantity: Quantity(raw: 5)))))
        c.apply(at(2, .l2LevelUpdated(L2LevelUpdated(instrument: i, side: .buy, price: Price(raw: 101), quantity: Quantity(raw: 1)))))
        c.apply(at(3, .l2LevelUpdated(L2LevelUpdated(instrument: i, side: .buy, price: Price(raw: 99), quantity: Quantity(raw: 7)))))  // third: not kept
        c.apply(at(4, .tradeReceived(TradeReceived(instrument: i, price: Price(raw: 101), quantity: Quantity(raw: 1), aggressor: .seller, tradeID: 9))))
        let e = c[i]!
        #expect(e.bids.map(\.price.raw) == [101, 100] && e.bid?.price.raw == 101 && e.bid?.quantity.raw == 1)
        #expect(e.lastTrade?.price.raw == 101 && e.updated.nanos == 4)
        c.apply(at(5, .l2LevelUpdated(L2LevelUpdated(instrument: i, side: .buy, price: Price(raw: 101), quantity: Quantity(raw: 0)))))
        #expect(c[i]!.bid?.price.raw == 100 && c[i]!.bids.count == 1)
        #expect(c[InstrumentID(7)] == nil)
    }

    @Test("last-value cache: top levels equal a sorted reference over seeded updates, both sides, depths 1 to 6")
    func lastValueAgainstReference() {
        var rng = SplitMix64(seed: 17)
        let i = InstrumentID(0)
        for depth in 1...6 {
            var c = LastValueCache(depth: depth)
            // The reference: insert, update or remove, sort best first, keep the top `depth`
            // (a level pushed out is forgotten; removing a top level leaves a gap).
            var reference: [Side: [(Int64, Int64)]] = [.buy: [], .sell: []]
            for n in 0..<4_000 {
                let side: Side = rng.next(modulo: 2) == 0 ? .buy : .sell
                let price = 100 + Int64(rng.next(modulo: 12)), quantity = rng.next(modulo: 3) == 0 ? 0 : 1 + Int64(rng.next(modulo: 9))
                c.apply(Event(eventTime: Timestamp(nanos: Int64(n)), receiveTime: Timestamp(nanos: Int64(n)),
                              body: .l2LevelUpdated(L2LevelUpdated(instrument: i, side: side, price: Price(raw: price), quantity: Quantity(raw: quantity)))))
                var levels = reference[side]!
                if let k = levels.firstIndex(where: { $0.0 == price }) {
                    if quantity == 0 { levels.remove(at: k) } else { levels[k].1 = quantity }
                } else if quantity > 0 {
                    levels.append((price, quantity))
                    levels.sort { side == .buy ? $0.0 > $1.0 : $0.0 < $1.0 }
                    levels = Array(levels.prefix(depth))
                }
                reference[side] = levels
                let e = c[i]!
                let got = (side == .buy ? e.bids : e.asks).map { ($0.price.raw, $0.quantity.raw) }
                #expect(got.elementsEqual(levels, by: ==), "depth \(depth), update \(n)")
                #expect((side == .buy ? e.bid : e.ask)?.price.raw == levels.first?.0)
            }
        }
    }
}

@Suite("Feed de-duplication in a run")
struct DedupRunTests {
    func run(_ overrides: [(String, String)]) throws -> RunManifest {
        let i = Instrument(id: InstrumentID(0), symbol: Symbol("DUP")!, priceScale: 0, quantityScale: 0)
        func at(_ n: Int64, _ b: EventBody) -> Event { Event(eventTime: Timestamp(nanos: n), receiveTime: Timestamp(nanos: n), body: b) }
        func trade(_ n: Int64, _ id: UInt64) -> Event {
            at(n, .tradeReceived(TradeReceived(instrument: i.id, price: Price(raw: 100), quantity: Quantity(raw: 1), aggressor: .buyer, tradeID: id)))
        }
        // Trade 2 arrives twice (a feed retransmission); trades without an id (0) are never checked.
        var source = ArrayInput([at(0, .instrumentDefined(InstrumentDefined(instrument: i))), trade(1, 1), trade(2, 2), trade(3, 2), trade(4, 3), trade(5, 0), trade(6, 0)])
        let out = temporaryDirectory("dedup")
        defer { try? FileManager.default.removeItem(atPath: out) }
        return try BacktestDriver.run(OneShot.self, source: &source, settings: BacktestDriver.Settings(overrides: overrides, dataset: "t", inputs: [], out: out))
    }

    @Test("a repeated trade id is dropped before the journal and counted; dedup_window=0 keeps it")
    func dropsRepeats() throws {
        let on = try run([])
        #expect(on.duplicatesDropped == 1 && on.events == 6)
        let off = try run([("dedup_window", "0")])
        #expect(off.duplicatesDropped == 0 && off.events == 7)
        #expect(throws: EngineError.self) { _ = try BacktestDriver.prepare(OneShot.self, [("dedup_window", "-1")]) }
    }
}
