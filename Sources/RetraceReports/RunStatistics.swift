import RetraceCore
import RetraceStore

/// Summary figures of a run computed from its store. Money stays exact; ratios are
/// doubles (reported, never fed back into state).
public struct RunStatistics: Sendable {
    public var startingCash: Money
    public var finalEquity: Money
    public var pnl: Money
    public var fees: Money
    public var trades: Int
    public var winningTrades: Int
    public var grossProfit: Money
    public var grossLoss: Money
    /// Largest peak-to-trough fall of the equity curve, as a fraction of the peak.
    public var maxDrawdown: Double

    /// Computes the statistics from trades and the equity curve.
    public init(startingCash: Money, trades: [TradeRow], equity: [EquityRow]) {
        self.startingCash = startingCash
        finalEquity = equity.last?.balance.equity ?? startingCash
        pnl = finalEquity - startingCash
        fees = equity.last?.balance.fees ?? .zero
        self.trades = trades.count
        winningTrades = trades.filter { $0.pnl > .zero }.count
        grossProfit = trades.filter { $0.pnl > .zero }.reduce(Money.zero) { $0 + $1.pnl }
        grossLoss = trades.filter { $0.pnl < .zero }.reduce(Money.zero) { $0 + $1.pnl }
        var peak = startingCash.approximateDouble
        var worst = 0.0
        for row in equity {
            let e = row.balance.equity.approximateDouble
            peak = max(peak, e)
            if peak > 0 { worst = max(worst, (peak - e) / peak) }
        }
        maxDrawdown = worst
    }

    /// Total return as a fraction of starting cash.
    public var totalReturn: Double {
        let start = startingCash.approximateDouble
        return start == 0 ? 0 : pnl.approximateDouble / start
    }
    /// Winning trades ÷ trades.
    public var winRate: Double { trades == 0 ? 0 : Double(winningTrades) / Double(trades) }
    /// Gross profit ÷ |gross loss| (infinite when there are no losses).
    public var profitFactor: Double {
        grossLoss == .zero ? (grossProfit > .zero ? .infinity : 0) : grossProfit.approximateDouble / -grossLoss.approximateDouble
    }
}
