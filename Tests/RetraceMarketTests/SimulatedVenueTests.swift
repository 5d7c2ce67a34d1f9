import Testing
@testable import RetraceCore
@testable import RetraceMarket

/// Records what the venue says; all-in sizing from a fixed amount of funds.
final class Recorder: VenueListener {
    var events: [String] = []
    var fills: [OrderFilled] = []
    var funds: Int64 = 0  // whole currency units
    func venueAccepted(_ e: OrderAccepted) { events.append("accepted \(e.orderID.raw)") }
    func venueRejected(_ e: OrderRejected) { events.append("rejected \(e.orderID.raw) \(e.reason)") }
    func venueCanceled(_ e: OrderCanceled) { events.append("canceled \(e.orderID.raw)") }
    func venueFilled(_ e: OrderFilled) { events.append("filled \(e.orderID.raw) \(e.quantity.raw)@\(e.price.raw) \(e.liquidity == .maker ? "maker" : "taker")"); fills.append(e) }
    func allInQuantity(instrument: Instrument, price: Price, feeRate: Rate) -> Quantity {
        let p = Portfolio_allIn(funds: funds, price: price.raw, scale: instrument.priceScale, rateRaw: feeRate.raw)
        return Quantity(raw: p)
    }
}

/// u = largest whole number with u × price × (1 + rate) < funds, computed in Int128.
func Portfolio_allIn(funds: Int64, price: Int64, scale: Int, rateRaw: Int64) -> Int64 {
    let lhsUnit = Int128(price) * (100_000_000 + Int128(rateRaw))
    let rhs = Int128(funds) * Int128(FixedPoint.powersOfTen[scale]) * 100_000_000
    return Int64((rhs - 1) / lhsUnit)
}

@Suite("Simulated venue")
struct SimulatedVenueTests {
    let instrument = Instrument(id: InstrumentID(0), symbol: Symbol("TEST")!, priceScale: 2, quantityScale: 0)
    func venue(_ fee: String = "0.001") -> SimulatedVenue {
        let v = SimulatedVenue(fees: FeeSchedule(maker: Rate(parsing: "0")!, taker: Rate(parsing: fee)!))
        v.define(instrument)
        return v
    }
    func quote(_ bid: Int64, _ ask: Int64) -> EventBody {
        .quoteReceived(QuoteReceived(instrument: InstrumentID(0), bidPrice: Price(raw: bid), bidQuantity: Quantity(raw: 10), askPrice: Price(raw: ask), askQuantity: Quantity(raw: 10)))
    }
    func order(_ id: UInt64, _ side: Side, _ type: OrderType, _ qty: Int64, _ limit: Int64 = 0, _ sizing: OrderSizing = .fixed) -> OrderSubmitted {
        OrderSubmitted(orderID: ClientOrderID(id), instrument: InstrumentID(0), side: side, type: type, sizing: sizing, quantity: Quantity(raw: qty), limitPrice: Price(raw: limit))
    }

    @Test("market orders fill at the touch as taker, with the taker fee")
    func marketAtTouch() {
        let v = venue()
        var r = Recorder()
        v.onMarket(quote(10_000, 10_002), listener: &r)
        v.submit(order(1, .buy, .market, 5), listener: &r)
        v.submit(order(2, .sell, .market, 3), listener: &r)
        #expect(r.events == ["accepted 1", "filled 1 5@10002 taker", "accepted 2", "filled 2 3@10000 taker"])
        #expect(r.fills[0].fee.text == "0.5001")  // 5 × 100.02 × 0.001
    }

    @Test("a resting limit fills at its price only when the touch moves strictly through it")
    func limitThrough() {
        let v = venue()
        var r = Recorder()
        v.onMarket(quote(10_000, 10_002), listener: &r)
        v.submit(order(1, .buy, .limit, 2, 9_999), listener: &r)
        v.onMarket(quote(9_998, 9_999), listener: &r)  // ask touches the limit: no fill
        #expect(r.fills.isEmpty)
        v.onMarket(quote(9_996, 9_998), listener: &r)  // ask through the limit
        #expect(r.events.last == "filled 1 2@9999 maker")
        #expect(v.working.isEmpty)
    }

    @Test("a marketable limit fills at once at the touch; cancels remove working orders")
    func marketableAndCancel() {
        let v = venue()
        var r = Recorder()
        v.onMarket(quote(10_000, 10_002), listener: &r)
        v.submit(order(1, .sell, .limit, 1, 9_990), listener: &r)
        #expect(r.events.last == "filled 1 1@10000 taker")
        v.submit(order(2, .sell, .limit, 1, 10_100), listener: &r)
        #expect(v.cancel(ClientOrderID(2), listener: &r))
        #expect(!v.cancel(ClientOrderID(2), listener: &r))
        #expect(r.events.last == "canceled 2")
    }

    @Test("on bars, orders fill on the next bar: market at the open, limits when the range reaches them")
    func bars() {
        let v = venue("0")
        var r = Recorder()
        func bar(_ o: Int64, _ h: Int64, _ l: Int64, _ c: Int64) -> EventBody {
            .barReceived(BarReceived(instrument: InstrumentID(0), open: Price(raw: o), high: Price(raw: h), low: Price(raw: l), close: Price(raw: c), volume: .zero))
        }
        v.onMarket(bar(100, 110, 90, 105), listener: &r)
        v.submit(order(1, .buy, .market, 4), listener: &r)
        v.submit(order(2, .buy, .limit, 1, 95), listener: &r)
        #expect(r.fills.isEmpty)
        v.onMarket(bar(104, 108, 96, 100), listener: &r)
        #expect(r.events.suffix(1) == ["filled 1 4@104 taker"])
        v.onMarket(bar(93, 97, 92, 96), listener: &r)  // gaps through the limit: fills at the open
        #expect(r.events.last == "filled 2 1@93 maker")
        #expect(v.closeOutPrice(InstrumentID(0), side: .sell) == Price(raw: 93))
    }

    @Test("trade-only feeds fill market orders at the next print; all-in orders that cannot buy one unit are rejected")
    func tradesAndAllIn() {
        let v = venue("0")
        var r = Recorder()
        r.funds = 50
        func trade(_ p: Int64) -> EventBody { .tradeReceived(TradeReceived(instrument: InstrumentID(0), price: Price(raw: p), quantity: Quantity(raw: 1), aggressor: .buyer, tradeID: 0)) }
        v.onMarket(trade(1_000), listener: &r)
        v.submit(order(1, .buy, .market, 0, 0, .allEquity), listener: &r)
        v.onMarket(trade(1_200), listener: &r)  // 50 / 12.00 → 4 units (4 × 12 = 48 < 50)
        #expect(r.events.last == "filled 1 4@1200 taker")
        v.submit(order(2, .buy, .market, 0, 0, .allEquity), listener: &r)
        v.onMarket(trade(6_000), listener: &r)  // 50 / 60.00 → 0 units
        #expect(r.events.last == "rejected 2 insufficient funds for one unit")
        v.submit(order(3, .buy, .market, 0), listener: &r)
        #expect(r.events.last == "rejected 3 invalid quantity")
    }

    @Test("quotes without sizes (FX ticks) still give a touch to fill at")
    func sizelessQuotes() {
        let v = venue("0")
        var r = Recorder()
        v.onMarket(.quoteReceived(QuoteReceived(instrument: InstrumentID(0), bidPrice: Price(raw: 112_133), bidQuantity: .zero, askPrice: Price(raw: 112_218), askQuantity: .zero)), listener: &r)
        v.submit(order(1, .buy, .market, 1), listener: &r)
        #expect(r.events.last == "filled 1 1@112218 taker")
    }
}
