import Testing
@testable import RetraceCore
@testable import RetraceReports
@testable import RetraceStore

@Suite("Reports")
struct ReportsTests {
    @Test("CSV fields are quoted only when they must be (RFC 4180)")
    func csvEscaping() {
        var w = CSVWriter(header: ["a", "b"])
        w.row(["plain", "has,comma"])
        w.row(["say \"hi\"", "line\nbreak"])
        #expect(w.text == "a,b\r\nplain,\"has,comma\"\r\n\"say \"\"hi\"\"\",\"line\nbreak\"\r\n")
    }

    func equity(_ values: [String]) -> [EquityRow] {
        values.enumerated().map { k, v in
            EquityRow(sequence: UInt64(k), time: Timestamp(nanos: Int64(k)), balance: BalanceChanged(cash: .zero, equity: Money(parsing: v)!, realizedPnL: .zero, unrealizedPnL: .zero, fees: Money(parsing: "1.5")!))
        }
    }

    func trade(_ pnl: String) -> TradeRow {
        TradeRow(tradeID: 1, instrument: InstrumentID(0), size: Quantity(raw: 1), entryTime: .zero, exitTime: .zero, entryValue: .zero, exitValue: .zero, pnl: Money(parsing: pnl)!, commission: .zero)
    }

    @Test("statistics: drawdown from the running peak, win rate, profit factor, exact PnL")
    func statistics() {
        let s = RunStatistics(startingCash: Money(parsing: "100")!, trades: [trade("30"), trade("-10"), trade("-5"), trade("20")],
                              equity: equity(["100", "120", "90", "130", "117"]))
        #expect(s.pnl.text == "17")
        #expect(s.fees.text == "1.5")
        #expect(abs(s.maxDrawdown - 0.25) < 1e-12)      // 120 → 90
        #expect(s.winRate == 0.5)
        #expect(abs(s.profitFactor - 50.0 / 15.0) < 1e-12)
        #expect(abs(s.totalReturn - 0.17) < 1e-12)
    }

    static let second: Int64 = 1_000_000_000

    func money(_ s: String) -> Money { Money(parsing: s)! }

    func equityAt(_ points: [(Int64, String)]) -> [EquityRow] {
        points.enumerated().map { k, p in
            EquityRow(sequence: UInt64(k), time: Timestamp(nanos: p.0), balance: BalanceChanged(cash: .zero, equity: money(p.1), realizedPnL: .zero, unrealizedPnL: .zero, fees: .zero))
        }
    }

    func position(_ t: Int64, _ q: Int64) -> PositionRow {
        PositionRow(sequence: 0, time: Timestamp(nanos: t), position: PositionChanged(instrument: InstrumentID(0), quantity: Quantity(raw: q), costBasis: .zero, realizedPnL: .zero, fees: .zero))
    }

    func fill(_ price: Int64, _ q: Int64) -> FillRow {
        FillRow(sequence: 0, time: .zero, fill: OrderFilled(orderID: ClientOrderID(1), instrument: InstrumentID(0), side: .buy, price: Price(raw: price), quantity: Quantity(raw: q),
                                                             fee: .zero, liquidity: .taker, leavesQuantity: .zero))
    }

    @Test("statistics by hand: minute returns for Sharpe and Sortino, drawdown duration, exposure, turnover, averages")
    func statisticsByHand() {
        let s = Self.second
        // Equity 110 at 30 s, 99 at 90 s, 121 at 150 s from 100: minute closes 100, 110, 99, 121;
        // returns 0.1, −0.1, 0.2̅; mean 0.0740̅, sd (n − 1) 0.16197; × √525,960 minutes a year.
        let st = RunStatistics(startingCash: money("100"), trades: [trade("30"), trade("-10"), trade("-5"), trade("20"), trade("0")],
                               equity: equityAt([(30 * s, "110"), (90 * s, "99"), (150 * s, "121")]),
                               positions: [position(30 * s, 1), position(90 * s, 0), position(120 * s, -2)],
                               fills: [fill(10, 1), fill(11, 1), fill(12, -2)],
                               instruments: [Instrument(id: InstrumentID(0), symbol: Symbol("X")!, priceScale: 0, quantityScale: 0)])
        #expect(st.periodNanos == 60 * s)
        #expect(abs(st.sharpe - 330.2480334658894) < 1e-6, "\(st.sharpe)")
        #expect(abs(st.sortino - 930.4718038596225) < 1e-6, "\(st.sortino)")
        #expect(abs(st.maxDrawdown - 0.1) < 1e-12)                 // 110 → 99
        #expect(st.maxDrawdownNanos == 120 * s)                     // from the peak at 30 s until 121 at 150 s
        #expect(abs(st.exposure - 0.75) < 1e-12)                    // open 30–90 s and 120–150 s of 30–150 s
        #expect(st.tradedValue.text == "45")                        // 10 + 11 + 24
        #expect(abs(st.turnover - 0.45) < 1e-12)
        #expect(st.averageWin.text == "25" && st.averageLoss.text == "-7.5")
        #expect(st.winningTrades == 2 && st.losingTrades == 2 && st.trades == 5)
        #expect(st.annualisedReturn.isInfinite || st.annualisedReturn > 1e100, "a 21 % gain in two minutes annualises beyond any number")
    }

    @Test("statistics by hand: a two-year run uses daily periods and annualises its return")
    func annualised() {
        let day: Int64 = 86_400 * Self.second
        // 100 → 121 over exactly two years of 365.25 days: 10 % a year.
        let st = RunStatistics(startingCash: money("100"), trades: [], equity: equityAt([(0, "100"), (Int64(730.5 * Double(day)), "121")]))
        #expect(st.periodNanos == day)
        #expect(abs(st.annualisedReturn - 0.1) < 1e-12)
        #expect(abs(st.totalReturn - 0.21) < 1e-12)
        #expect(st.exposure == 0 && st.turnover == 0)
        let rows = Dictionary(uniqueKeysWithValues: st.rows)
        #expect(rows["annualised_return_pct"] == "10.000000" && rows["return_period_seconds"] == "86400")
        #expect(rows["profit_factor"] == "0.000000")
    }

    @Test("a price per unit from value and quantity is exact at the instrument's lots")
    func perUnit() {
        let i = Instrument(id: InstrumentID(0), symbol: Symbol("X")!, priceScale: 2, quantityScale: 3)
        #expect(CSVExporter.perUnit(Money(parsing: "2.5")!, Quantity(raw: 500), i) == "5.00")     // 2.5 for 0.5 units, at 2 decimals
        #expect(CSVExporter.perUnit(Money(parsing: "-33.9")!, Quantity(raw: -3_000), i) == "11.30")
        #expect(CSVExporter.perUnit(Money(parsing: "1")!, Quantity(raw: 3_000), i) == "0.333333333333333333")  // exact to 18 places
        #expect(CSVExporter.perUnit(.zero, .zero, i) == "")
    }
}
