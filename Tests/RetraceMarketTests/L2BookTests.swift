import Testing
@testable import RetraceCore
@testable import RetraceMarket

@Suite("L2 book")
struct L2BookTests {
    @Test("matches a naive dictionary book over seeded random updates")
    func againstReference() {
        for seed in [1, 2, 3] as [UInt64] {
            var rng = SplitMix64(seed: seed)
            var book = L2Book()
            var bids: [Int64: Int64] = [:], asks: [Int64: Int64] = [:]
            for _ in 0..<5_000 {
                let side: Side = rng.next(modulo: 2) == 0 ? .buy : .sell
                let price = side == .buy ? 900 + Int64(rng.next(modulo: 100)) : 1_001 + Int64(rng.next(modulo: 100))
                let quantity = rng.next(modulo: 4) == 0 ? 0 : Int64(rng.next(modulo: 500)) + 1
                book.apply(L2LevelUpdated(instrument: InstrumentID(0), side: side, price: Price(raw: price), quantity: Quantity(raw: quantity)))
                if side == .buy { bids[price] = quantity == 0 ? nil : quantity } else { asks[price] = quantity == 0 ? nil : quantity }
                if rng.next(modulo: 64) == 0 { #expect(book.checkInvariants() == nil) }
                #expect(book.bestBid?.price.raw == bids.keys.max(), "seed \(seed)")
                #expect(book.bestAsk?.price.raw == asks.keys.min(), "seed \(seed)")
                let probe = 900 + Int64(rng.next(modulo: 200))
                let side2: Side = probe <= 1000 ? .buy : .sell
                #expect(book.depth(side: side2, price: Price(raw: probe)).raw == ((side2 == .buy ? bids : asks)[probe] ?? 0))
            }
            #expect(book.bids.map(\.price.raw) == bids.keys.sorted(by: >))
            #expect(book.asks.map(\.price.raw) == asks.keys.sorted())
        }
    }

    @Test("far prices: overflow, re-basing and the window following the market")
    func farPrices() {
        var rng = SplitMix64(seed: 7)
        var book = L2Book(tickSize: 10)
        var levels: [Side: [Int64: Int64]] = [.buy: [:], .sell: [:]]
        var mid: Int64 = 1_000_000
        for step in 0..<20_001 {
            if step % 2_000 == 0 { mid += Int64(rng.next(modulo: 5_000_000)) - 2_500_000 }
            let side: Side = rng.next(modulo: 2) == 0 ? .buy : .sell
            let far = rng.next(modulo: 50) == 0
            let offset = far ? Int64(rng.next(modulo: 40_000_000)) : Int64(rng.next(modulo: 300))
            let tick = side == .buy ? mid - 1 - offset : mid + 1 + offset
            let quantity = rng.next(modulo: 3) == 0 ? 0 : Int64(rng.next(modulo: 900)) + 1
            book.set(side: side, price: Price(raw: tick * 10), quantity: Quantity(raw: quantity))
            levels[side]![tick] = quantity == 0 ? nil : quantity
            if step % 97 == 0 {
                if step % 1_940 == 0 { #expect(book.checkInvariants() == nil) }
                #expect(book.bestBid?.price.raw == levels[.buy]!.keys.max().map { $0 * 10 })
                #expect(book.bestAsk?.price.raw == levels[.sell]!.keys.min().map { $0 * 10 })
                #expect(book.levelCount(.buy) == levels[.buy]!.count && book.levelCount(.sell) == levels[.sell]!.count)
            }
        }
        #expect(book.bids.map { $0.price.raw / 10 } == levels[.buy]!.keys.sorted(by: >))
        #expect(book.asks.map { $0.price.raw / 10 } == levels[.sell]!.keys.sorted())
        #expect(book.top(3).bids.map(\.quantity.raw) == levels[.buy]!.sorted { $0.key > $1.key }.prefix(3).map(\.value))
    }

    @Test("a copied book is a value: changing one leaves the other (the ladder's zeroed slots are copied on write)")
    func copyOnWrite() {
        var book = L2Book()
        for k in 0..<50 as Range<Int64> {
            book.set(side: .buy, price: Price(raw: 1_000 - k), quantity: Quantity(raw: 10 + k))
            book.set(side: .sell, price: Price(raw: 1_001 + k * 3_000), quantity: Quantity(raw: 20 + k))  // grows the ask window
        }
        let before = (book.bids, book.asks)
        var copy = book
        copy.set(side: .buy, price: Price(raw: 1_000), quantity: .zero)
        copy.set(side: .buy, price: Price(raw: 995), quantity: Quantity(raw: 7))
        copy.set(side: .sell, price: Price(raw: 1_001), quantity: Quantity(raw: 99))
        #expect(book.bids == before.0 && book.asks == before.1, "the original changed with its copy")
        #expect(copy.bestBid?.price.raw == 999 && copy.depth(side: .buy, price: Price(raw: 995)).raw == 7 && copy.bestAsk?.quantity.raw == 99)
        book.set(side: .sell, price: Price(raw: 1_001), quantity: .zero)
        #expect(copy.bestAsk?.quantity.raw == 99 && book.bestAsk?.price.raw == 4_001)
        #expect(book.checkInvariants() == nil && copy.checkInvariants() == nil)
    }

    @Test("a quote replaces the top of book")
    func quote() {
        var book = L2Book()
        book.apply(QuoteReceived(instrument: InstrumentID(0), bidPrice: Price(raw: 99), bidQuantity: Quantity(raw: 5), askPrice: Price(raw: 101), askQuantity: Quantity(raw: 7)))
        book.apply(QuoteReceived(instrument: InstrumentID(0), bidPrice: Price(raw: 100), bidQuantity: Quantity(raw: 1), askPrice: Price(raw: 102), askQuantity: Quantity(raw: 2)))
        #expect(book.bids == [L2Book.Level(price: Price(raw: 100), quantity: Quantity(raw: 1))])
        #expect(book.asks == [L2Book.Level(price: Price(raw: 102), quantity: Quantity(raw: 2))])
        #expect(book.top(5).asks.count == 1)
    }
}
