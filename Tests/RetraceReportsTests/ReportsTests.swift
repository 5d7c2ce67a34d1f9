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
        #expect(w.text == "a,b\nplain,\"has,comma\"\n\"say \"\"hi\"\"\",\"line\nbreak\"\n")
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

    @Test("a price per unit from value and quantity is exact at the instrument's lots")
    func perUnit() {
        let i = Instrument(id: InstrumentID(0), symbol: Symbol("X")!, priceScale: 2, quantityScale: 3)
        #expect(CSVExporter.perUnit(Money(parsing: "2.5")!, Quantity(raw: 500), i) == "5")        // 2.5 for 0.5 units
        #expect(CSVExporter.perUnit(Money(parsing: "-33.9")!, Quantity(raw: -3_000), i) == "11.3")
        #expect(CSVExporter.perUnit(.zero, .zero, i) == "")
    }
}
