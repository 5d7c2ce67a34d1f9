import RetraceCore
import RetraceEngine
import Testing
@testable import RetraceStrategies

/// The market maker prices its quotes in 64-bit arithmetic when nothing overflows and in
/// 128 bits otherwise; both must give the same quotes.
@Suite("Market maker pricing")
struct MarketMakerPricingTests {
    static func maker(spread: Int, skew: Int, passive: Bool, maxPosition: Int64) throws -> MarketMaker {
        let values = try ParameterValues(specs: MarketMaker.parameters, overrides: [("spread_bps", String(spread)), ("skew_bps", String(skew)), ("passive", String(passive))])
        var m = try MarketMaker(parameters: values)
        m.maxPosition = Quantity(raw: maxPosition)
        return m
    }

    @Test("64-bit prices equal the 128-bit reference over seeded touches, positions and parameters, and extremes fall back to 128 bits")
    func sameAsWide() throws {
        var rng = SplitMix64(seed: 42)
        var fast = 0
        for k in 0..<20_000 {
            let spread = Int(rng.next() % 500), skew = Int(rng.next() % 50)
            let maxPosition = Int64(rng.next() % 1_000_000) + 1
            let m = try Self.maker(spread: spread, skew: skew, passive: k % 2 == 0, maxPosition: maxPosition)
            // Prices from cents to 18-decimal raw values; bids from 1 to near Int64's limit.
            let scale = [1, 1_000, 1_000_000_000, 1_000_000_000_000_000][k % 4] as Int64
            let bid = Int64(rng.next() % 100_000 + 1) &* scale / 10 + 1
            let ask = bid + Int64(rng.next() % 1_000) + 1
            let position = Int64(bitPattern: rng.next()) % (maxPosition + 1)
            let wide = m.prices128(bid: bid, ask: ask, position: position)
            if let narrow = m.prices64(bid: bid, ask: ask, position: position) {
                fast += 1
                #expect(narrow == wide, "bid \(bid) ask \(ask) position \(position) spread \(spread) skew \(skew) max \(maxPosition)")
            }
            #expect(m.prices(bid: bid, ask: ask, position: position) == wide)
        }
        #expect(fast > 10_000, "the 64-bit path was taken \(fast) times")
        // Products past Int64 take the wide path and still agree.
        let m = try Self.maker(spread: 10, skew: 5, passive: false, maxPosition: 5)
        #expect(m.prices64(bid: Int64.max / 4, ask: Int64.max / 4 + 10, position: 0) == nil)
        #expect(m.prices(bid: 1_000_000_000_000_000, ask: 1_000_000_000_000_100, position: -5) == m.prices128(bid: 1_000_000_000_000_000, ask: 1_000_000_000_000_100, position: -5))
    }
}
