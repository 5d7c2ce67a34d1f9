import Foundation
import Testing
@testable import RetraceCore
@testable import RetraceMarket

/// The obviously correct book the fast one is checked against: sorted dictionaries and arrays.
struct NaiveBook {
    var orders: [UInt64: (side: Side, tick: Int64, size: Int64)] = [:]
    var bidQueues: [Int64: [UInt64]] = [:], askQueues: [Int64: [UInt64]] = [:]
    var bidExtra: [Int64: Int64] = [:], askExtra: [Int64: Int64] = [:]
    var bidTotals: [Int64: Int64] = [:], askTotals: [Int64: Int64] = [:]

    func total(_ side: Side, _ tick: Int64) -> Int64 { (side == .buy ? bidTotals : askTotals)[tick] ?? 0 }
    func queue(_ side: Side, _ tick: Int64) -> [UInt64] { (side == .buy ? bidQueues : askQueues)[tick] ?? [] }
    func top(_ n: Int, _ side: Side) -> [Int64] {
        let totals = side == .buy ? bidTotals : askTotals
        let ticks = totals.keys.filter { totals[$0]! > 0 }
        return Array((side == .buy ? ticks.sorted(by: >) : ticks.sorted()).prefix(n))
    }
    mutating func change(_ side: Side, _ tick: Int64, _ delta: Int64) {
        if side == .buy { bidTotals[tick, default: 0] += delta; if bidTotals[tick] == 0 { bidTotals[tick] = nil } }
        else { askTotals[tick, default: 0] += delta; if askTotals[tick] == 0 { askTotals[tick] = nil } }
    }
    mutating func add(_ id: UInt64, _ side: Side, _ tick: Int64, _ size: Int64) {
        orders[id] = (side, tick, size)
        if side == .buy { bidQueues[tick, default: []].append(id) } else { askQueues[tick, default: []].append(id) }
        change(side, tick, size)
    }
    mutating func extra(_ side: Side, _ tick: Int64, _ delta: Int64) { change(side, tick, delta) }
    mutating func reduce(_ id: UInt64, _ by: Int64) {
        let o = orders[id]!
        if o.size <= by { remove(id) } else { orders[id]!.size -= by; change(o.side, o.tick, -by) }
    }
    mutating func remove(_ id: UInt64) {
        let o = orders.removeValue(forKey: id)!
        change(o.side, o.tick, -o.size)
        if o.side == .buy {
            bidQueues[o.tick]!.removeAll { $0 == id }
            if bidQueues[o.tick]!.isEmpty { bidQueues[o.tick] = nil }
        } else {
            askQueues[o.tick]!.removeAll { $0 == id }
            if askQueues[o.tick]!.isEmpty { askQueues[o.tick] = nil }
        }
    }
}

@Suite("L3 book")
struct L3BookTests {
    @Test("price-time priority: queues are FIFO, reduce keeps the place, cancel and execute remove")
    func priority() throws {
        let book = L3Book()
        try book.add(id: 1, side: .buy, tick: 100, size: 5)
        try book.add(id: 2, side: .buy, tick: 100, size: 7)
        try book.add(id: 3, side: .buy, tick: 101, size: 1)
        try book.add(id: 4, side: .sell, tick: 103, size: 2)
        #expect(book.bestBid! == (101, 1) && book.bestAsk! == (103, 2))
        #expect(book.queue(side: .buy, tick: 100) == [1, 2])
        #expect(book.queueAhead(of: 2) == 5 && book.queueAhead(of: 1) == 0)
        #expect(try book.reduce(id: 1, by: 3) == 2)
        #expect(book.queue(side: .buy, tick: 100) == [1, 2] && book.depth(side: .buy, tick: 100) == 9)
        #expect(book.queueAhead(of: 2) == 2)
        try book.cancel(id: 3)
        #expect(book.bestBid! == (100, 9))
        #expect(try book.execute(id: 1, size: 2) == 0)
        #expect(book.queue(side: .buy, tick: 100) == [2] && book.order(1) == nil)
        #expect(throws: L3Book.BookError.self) { try book.add(id: 2, side: .sell, tick: 120, size: 1) }
        #expect(throws: L3Book.BookError.self) { try book.cancel(id: 99) }
        book.adjustUnattributed(side: .buy, tick: 100, by: 4)
        #expect(book.depth(side: .buy, tick: 100) == 11 && book.queueAhead(of: 2) == 4)
        #expect(book.top(3, side: .buy).map(\.tick) == [100])
        #expect(book.checkInvariants() == nil)
    }

    @Test("far-away prices: the window grows, prices beyond it overflow, best and top stay right")
    func farPrices() throws {
        let book = L3Book()
        try book.add(id: 1, side: .sell, tick: 10_000, size: 1)
        try book.add(id: 2, side: .sell, tick: 10_000 + 3_000, size: 1)          // grows the window
        try book.add(id: 3, side: .sell, tick: 10_000 + 50_000_000, size: 1)     // overflow
        try book.add(id: 4, side: .sell, tick: 10_000 - 40_000_000, size: 2)     // overflow, best
        try book.add(id: 5, side: .buy, tick: -90_000_000, size: 1)
        #expect(book.bestAsk! == (10_000 - 40_000_000, 2))
        #expect(book.top(4, side: .sell).map(\.tick) == [10_000 - 40_000_000, 10_000, 13_000, 50_010_000])
        try book.cancel(id: 4)
        #expect(book.bestAsk! == (10_000, 1))
        #expect(book.bestBid! == (-90_000_000, 1))
        #expect(book.checkInvariants() == nil)
    }

    @Test("differential: the ladder book equals a naive sorted book over seeded random order flow")
    func differential() throws {
        let operations = ProcessInfo.processInfo.environment["RETRACE_SOAK"] == "1" ? 5_000_000 : 1_000_000
        var rng = SplitMix64(seed: 4242)
        let book = L3Book()
        var naive = NaiveBook()
        var live: [UInt64] = []
        var nextID: UInt64 = 1
        var mid: Int64 = 100_000
        for op in 0..<operations {
            let r = rng.next(modulo: 100)
            if op % 1000 == 0 { mid += Int64(rng.next(modulo: 41)) - 20 }  // the market drifts
            if r < 45 || live.isEmpty {
                let side: Side = rng.next(modulo: 2) == 0 ? .buy : .sell
                var tick = side == .buy ? mid - 1 - Int64(rng.next(modulo: 30)) : mid + 1 + Int64(rng.next(modulo: 30))
                if rng.next(modulo: 500) == 0 { tick += (side == .buy ? -1 : 1) * Int64(2_000_000 + rng.next(modulo: 1000)) }
                let size = 1 + Int64(rng.next(modulo: 500))
                try book.add(id: nextID, side: side, tick: tick, size: size)
                naive.add(nextID, side, tick, size)
                live.append(nextID)
                nextID += 1
            } else {
                let k = Int(rng.next(modulo: UInt64(live.count)))
                let id = live[k]
                let size = naive.orders[id]!.size
                if r < 75 {
                    try book.cancel(id: id)
                    naive.remove(id)
                } else {
                    let by = 1 + Int64(rng.next(modulo: UInt64(size)))
                    _ = try book.reduce(id: id, by: by)
                    naive.reduce(id, by)
                }
                if naive.orders[id] == nil { live.swapAt(k, live.count - 1); live.removeLast() }
            }
            if r == 99 {
                let side: Side = rng.next(modulo: 2) == 0 ? .buy : .sell
                let tick = mid + (side == .buy ? -1 : 1) * Int64(1 + rng.next(modulo: 10))
                book.adjustUnattributed(side: side, tick: tick, by: 10)
                naive.extra(side, tick, 10)
            }
            if op % 97 == 0 {
                for side in [Side.buy, .sell] {
                    let expected = naive.top(5, side)
                    let got = book.top(5, side: side)
                    guard got.map(\.tick) == expected, got.map(\.total) == expected.map({ naive.total(side, $0) }) else {
                        Issue.record("op \(op): \(side) top \(got) vs naive \(expected)")
                        return
                    }
                }
            }
            if op % 50_000 == 0, let problem = book.checkInvariants(requireUncrossed: false) {
                Issue.record("op \(op): \(problem)")
                return
            }
        }
        #expect(book.orderCount == naive.orders.count)
        #expect(book.checkInvariants(requireUncrossed: false) == nil)
        for side in [Side.buy, .sell] {
            for tick in naive.top(20, side) { #expect(book.queue(side: side, tick: tick) == naive.queue(side, tick)) }
        }
    }
}
