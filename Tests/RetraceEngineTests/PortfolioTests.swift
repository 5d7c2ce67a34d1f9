import Testing
@testable import RetraceCore
@testable import RetraceEngine

@Suite("Portfolio")
struct PortfolioTests {
    let i = Instrument(id: InstrumentID(0), symbol: Symbol("X")!, priceScale: 2, quantityScale: 0)

    func fill(_ side: Side, _ qty: Int64, _ price: Int64, fee: String = "0") -> OrderFilled {
        OrderFilled(orderID: ClientOrderID(1), instrument: i.id, side: side, price: Price(raw: price), quantity: Quantity(raw: qty), fee: Money(parsing: fee)!, liquidity: .taker, leavesQuantity: .zero)
    }

    @Test("long then flip short: realized PnL, cost basis, cash and fees are exact")
    func flip() {
        var p = Portfolio(cash: Money(parsing: "1000")!)
        p.define(i)
        _ = p.apply(fill(.buy, 10, 1_250, fee: "0.125"))   // buy 10 @ 12.50
        #expect(p.cash.text == "874.875")
        let flipped = p.apply(fill(.sell, 15, 1_300, fee: "0.195"))  // sell 15 @ 13.00: close 10 (+5.00), open short 5
        #expect(flipped.quantity.raw == -5)
        #expect(flipped.realizedPnL.text == "5")
        #expect(flipped.costBasis.text == "-65")
        #expect(flipped.fees.text == "0.32")
        #expect(p.cash.text == "1069.68")
        p.mark(.tradeReceived(TradeReceived(instrument: i.id, price: Price(raw: 1_200), quantity: Quantity(raw: 1), aggressor: .unknown, tradeID: 0)))
        #expect(p.unrealizedPnL.text == "5")              // short 5 from 13.00 to 12.00
        #expect(p.equity.text == "1009.68")               // 1000 + 5 + 5 − 0.32
    }

    @Test("partial closes keep the remaining cost basis and total realized PnL exact")
    func partial() {
        var p = Portfolio(cash: Money(parsing: "0")!)
        p.define(i)
        _ = p.apply(fill(.buy, 3, 1_000))
        _ = p.apply(fill(.buy, 3, 1_001))  // cost 60.03 for 6
        let a = p.apply(fill(.sell, 2, 1_100))
        let b = p.apply(fill(.sell, 4, 1_100))
        #expect(b.quantity.raw == 0)
        #expect(b.costBasis == .zero)
        #expect(b.realizedPnL.text == "5.97")  // 66.00 − 60.03, however it was split
        #expect(a.realizedPnL + (b.realizedPnL - a.realizedPnL) == b.realizedPnL)
    }

    @Test("all-in sizing is the largest whole number with u × price × (1 + fee) < funds")
    func allIn() {
        var p = Portfolio(cash: Money(parsing: "10000")!)
        p.define(i)
        // 10000 / (169.02 × 1.002) = 59.04…  → 59
        #expect(p.allInQuantity(instrument: i, price: Price(raw: 16_902), feeRate: Rate(parsing: "0.002")!).raw == 59)
        // exactly affordable is not allowed (strict): 100 × 100.00 = 10000
        #expect(p.allInQuantity(instrument: i, price: Price(raw: 10_000), feeRate: .zero).raw == 99)
    }
}
