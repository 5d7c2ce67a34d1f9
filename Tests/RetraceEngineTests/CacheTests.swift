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

    /// A reference book for the cache to copy from: price → size per side.
    final class ReferenceBook {
        var bids: [Int64: Int64] = [:], asks: [Int64: Int64] = [:]
        func set(_ side: Side, _ price: Int64, _ size: Int64) {
            if side == .buy { bids[price] = size == 0 ? nil : size } else { asks[price] = size == 0 ? nil : size }
        }
        func levels(_ side: Side) -> [(Int64, Int64)] {
            side == .buy ? bids.sorted { $0.key > $1.key }.map { ($0.key, $0.value) } : asks.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
        func visit(_ id: InstrumentID, _ side: Side, _ body: (Int64, Int64) -> Bool) { for (p, q) in levels(side) { guard body(p, q) else { return } } }
    }

    @Test("last-value cache: quotes and trades as they come; a depth event marks the book part stale and a read copies it")
    func lastValue() {
        var c = LastValueCache(depth: 2)
        let i = InstrumentID(1), q = InstrumentID(2)
        let book = ReferenceBook()
        func at(_ n: Int64, _ b: EventBody) -> Event { Event(eventTime: Timestamp(nanos: n), receiveTime: Timestamp(nanos: n), body: b) }
        func level(_ n: Int64, _ side: Side, _ p: Int64, _ size: Int64) {
            book.set(side, p, size)
            c.apply(at(n, .l2LevelUpdated(L2LevelUpdated(instrument: i, side: side, price: Price(raw: p), quantity: Quantity(raw: size)))))
        }
        level(1, .buy, 100, 5)
        level(2, .buy, 101, 1)
        level(3, .buy, 99, 7)
        c.apply(at(4, .tradeReceived(TradeReceived(instrument: i, price: Price(raw: 101), quantity: Quantity(raw: 1), aggressor: .seller, tradeID: 9))))
        // A quote on a depth-fed instrument is a mark only, as at the venue.
        c.apply(at(4, .quoteReceived(QuoteReceived(instrument: i, bidPrice: Price(raw: 50), bidQuantity: Quantity(raw: 1), askPrice: Price(raw: 60), askQuantity: Quantity(raw: 1)))))
        #expect(c[i]!.levelsStale && c[i]!.bids.isEmpty)
        let e = c.entry(i, book: book.visit)!
        #expect(e.bids.map(\.price.raw) == [101, 100] && e.bid?.price.raw == 101 && e.bid?.quantity.raw == 1 && e.ask == nil)
        #expect(e.lastTrade?.price.raw == 101 && e.updated.nanos == 4 && !e.levelsStale)
        // The top level goes: the next one down moves up (no gap).
        level(5, .buy, 101, 0)
        let after = c.entry(i, book: book.visit)!
        #expect(after.bids.map(\.price.raw) == [100, 99] && after.bid?.price.raw == 100)
        // Quotes of an instrument without depth are the bid and ask.
        c.apply(at(6, .quoteReceived(QuoteReceived(instrument: q, bidPrice: Price(raw: 50), bidQuantity: Quantity(raw: 3), askPrice: Price(raw: 51), askQuantity: Quantity(raw: 4)))))
        let quoted = c.entry(q) { _, _, _ in Issue.record("a quote-fed entry reads no book") }!
        #expect(quoted.bid == LastValueCache.L2Level(price: Price(raw: 50), quantity: Quantity(raw: 3)) && quoted.ask?.quantity.raw == 4 && quoted.bids.isEmpty)
        #expect(c.entry(InstrumentID(7), book: book.visit) == nil)
        // Depth 0 keeps no levels, but still the best of each side.
        var top = LastValueCache(depth: 0)
        top.apply(at(7, .l2LevelUpdated(L2LevelUpdated(instrument: i, side: .buy, price: Price(raw: 100), quantity: Quantity(raw: 5)))))
        let best = top.entry(i, book: book.visit)!
        #expect(best.bids.isEmpty && best.bid?.price.raw == 100)
    }

    @Test("last-value cache in a run: what the strategy reads equals the reference book's top five after every event, with no gaps",
          .serialized, arguments: [false, true])  // one case at a time: the probe writes a shared list
    func lastValueInRun(orderLevel: Bool) throws {
        // Seeded depth around 12 prices a side, as L2 level updates or as L3 adds and
        // deletes; levels often empty, so top levels disappear and deeper ones move up.
        let i = Instrument(id: InstrumentID(0), symbol: Symbol("DEPTH")!, priceScale: 0, quantityScale: 0)
        var rng = SplitMix64(seed: orderLevel ? 29 : 23)
        var events = [Event(eventTime: Timestamp(nanos: 0), receiveTime: Timestamp(nanos: 0), body: .instrumentDefined(InstrumentDefined(instrument: i)))]
        let book = ReferenceBook()
        var resting: [(id: UInt64, side: Side, price: Int64, size: Int64)] = []
        var expected: [String] = []
        func text(_ side: Side) -> String { book.levels(side).prefix(5).map { "\($0.0)x\($0.1)" }.joined(separator: " ") }
        for n in 1...3_000 {
            let side: Side = rng.next(modulo: 2) == 0 ? .buy : .sell
            let price = side == .buy ? 1_000 - Int64(rng.next(modulo: 12)) : 1_001 + Int64(rng.next(modulo: 12))
            let body: EventBody
            if orderLevel {
                if resting.isEmpty || rng.next(modulo: 5) < 3 {
                    let size = 1 + Int64(rng.next(modulo: 9))
                    resting.append((UInt64(n), side, price, size))
                    book.set(side, price, (side == .buy ? book.bids[price] : book.asks[price] ?? 0).map { $0 + size } ?? size)
                    body = .orderBookMessage(OrderBookMessage(instrument: i.id, action: .add, side: side, orderID: UInt64(n), price: Price(raw: price), quantity: Quantity(raw: size)))
                } else {
                    let o = resting.remove(at: Int(rng.next(modulo: UInt64(resting.count))))
                    let left = (o.side == .buy ? book.bids[o.price] : book.asks[o.price])! - o.size
                    book.set(o.side, o.price, left)
                    body = .orderBookMessage(OrderBookMessage(instrument: i.id, action: .delete, side: o.side, orderID: o.id, price: Price(raw: o.price), quantity: Quantity(raw: o.size)))
                }
            } else {
                let size = rng.next(modulo: 3) == 0 ? 0 : 1 + Int64(rng.next(modulo: 9))
                book.set(side, price, size)
                body = .l2LevelUpdated(L2LevelUpdated(instrument: i.id, side: side, price: Price(raw: price), quantity: Quantity(raw: size)))
            }
            events.append(Event(eventTime: Timestamp(nanos: Int64(n)), receiveTime: Timestamp(nanos: Int64(n)), body: body))
            expected.append(text(.buy) + " | " + text(.sell))
        }
        LastValueProbe.seen = []
        let out = temporaryDirectory("lvc")
        defer { try? FileManager.default.removeItem(atPath: out) }
        var source = ArrayInput(events)
        _ = try BacktestDriver.run(LastValueProbe.self, source: &source, settings: BacktestDriver.Settings(overrides: [("close_at_end", "false")], dataset: "t", inputs: [], out: out))
        #expect(LastValueProbe.seen.count == expected.count)
        for (k, (got, want)) in zip(LastValueProbe.seen, expected).enumerated() where got != want {
            Issue.record("event \(k + 1): read \(got), the book holds \(want)")
            break
        }
    }
}

/// Reads the last-value cache's top levels on every market event.
struct LastValueProbe: Strategy {
    static let name = "last-value-probe"
    static let summary = "test strategy"
    static let parameters: [ParameterSpec] = []
    nonisolated(unsafe) static var seen: [String] = []
    init(parameters: ParameterValues) throws(EngineError) {}
    mutating func onMarket(_ event: Event, _ context: inout StrategyContext) {
        guard let id = event.body.marketInstrument, let v = context.lastValue(id) else { return }
        func text(_ levels: [LastValueCache.L2Level], _ best: LastValueCache.L2Level?) -> String {
            if levels.first != best { return "best \(String(describing: best)) is not the first level" }
            return levels.map { "\($0.price.raw)x\($0.quantity.raw)" }.joined(separator: " ")
        }
        LastValueProbe.seen.append(text(v.bids, v.bid) + " | " + text(v.asks, v.ask))
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
