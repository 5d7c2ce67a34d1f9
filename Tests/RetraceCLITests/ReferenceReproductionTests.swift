import Foundation
import Testing
@testable import RetraceCore

/// The issue's profit-reproduction check against backtesting.py's trades on GOOG daily bars.
@Suite("Profit reproduction against backtesting.py", .enabled(if: sharedDataAvailable, "../shared/datasets is absent: reference reproduction skipped"))
struct ReferenceReproductionTests {
    func runGOOG(sizing: String) throws -> (pnl: Decimal, trades: [[String: String]]) {
        let r = scratch("goog-\(sizing)")
        defer { removeScratch(r) }
        var res = try retrace(["import", "bars-csv", sharedDatasets + "/bars/backtestingpy_GOOG_daily.csv", "--instrument", "GOOG", "--out", r + "/goog-data"])
        #expect(res.status == 0, "\(res.stderr)")
        res = try retrace(["backtest", "--data", r + "/goog-data", "--strategy", "sma-cross", "--param", "fast=10", "--param", "slow=20",
                           "--param", "sizing=\(sizing)", "--param", "commission=0.002", "--param", "cash=10000", "--out", r + "/goog", "--json"])
        #expect(res.status == 0, "\(res.stderr)")
        let s = try summary(res)
        res = try retrace(["export", r + "/goog", "--csv", r + "/goog-csv"])
        #expect(res.status == 0, "\(res.stderr)")
        let pnl = Decimal(string: "\(s["pnl"]!)")!
        return (pnl, try csvRows(r + "/goog-csv/trades.csv"))
    }

    func check(sizing: String, referenceFile: String, finalEquity: Decimal) throws {
        let (pnl, trades) = try runGOOG(sizing: sizing)
        let reference = try csvRows(sharedDatasets + "/reference/" + referenceFile)
        #expect(trades.count == reference.count)
        for (mine, theirs) in zip(trades, reference) {
            #expect(mine["size"] == theirs["size"], "trade \(mine["trade_id"] ?? "?")")
            #expect(Decimal(string: mine["entry_price"]!) == Decimal(string: theirs["entry_price"]!), "trade \(mine["trade_id"] ?? "?") entry")
            #expect(Decimal(string: mine["exit_price"]!) == Decimal(string: theirs["exit_price"]!), "trade \(mine["trade_id"] ?? "?") exit")
            #expect(mine["entry_time"]!.hasPrefix(String(theirs["entry_time"]!.prefix(10))))
            #expect(mine["exit_time"]!.hasPrefix(String(theirs["exit_time"]!.prefix(10))))
            let a = Decimal(string: mine["pnl"]!)!, b = Decimal(string: theirs["pnl"]!)!
            #expect(abs(a - b) <= max(abs(b) * Decimal(string: "0.0001")!, Decimal(string: "0.000001")!), "trade \(mine["trade_id"] ?? "?") pnl \(a) vs \(b)")
        }
        let expected = finalEquity - 10_000
        #expect(abs(pnl - expected) <= abs(expected) * Decimal(string: "0.0001")!, "pnl \(pnl) vs \(expected)")
    }

    @Test("all-in sizing: 94 trades, sizes, prices and PnL match; pnl within 0.01 % of 45,574.51294")
    func allIn() throws { try check(sizing: "all", referenceFile: "GOOG_smacross_all_trades.csv", finalEquity: Decimal(string: "55574.51294")!) }

    @Test("fixed 10 units: 94 trades match; pnl within 0.01 % of 10,741.0724")
    func fixed10() throws { try check(sizing: "10", referenceFile: "GOOG_smacross_fixed10_trades.csv", finalEquity: Decimal(string: "20741.0724")!) }

    @Test("the same commands work on the other bar files", arguments: ["backtestingpy_EURUSD_hourly.csv", "backtestingpy_BTCUSD_monthly.csv"])
    func otherBars(file: String) throws {
        let r = scratch("bars")
        defer { removeScratch(r) }
        var res = try retrace(["import", "bars-csv", sharedDatasets + "/bars/" + file, "--out", r + "/data"])
        #expect(res.status == 0, "\(res.stderr)")
        res = try retrace(["backtest", "--data", r + "/data", "--strategy", "sma-cross", "--param", "commission=0.002", "--param", "cash=10000", "--out", r + "/run", "--json"])
        #expect(res.status == 0, "\(res.stderr)")
        let s = try summary(res)
        #expect((s["orders"] as? Int ?? 0) > 0)
        res = try retrace(["export", r + "/run", "--csv", r + "/csv"])
        #expect(res.status == 0)
        #expect(try csvRows(r + "/csv/trades.csv").count > 0)
    }
}
