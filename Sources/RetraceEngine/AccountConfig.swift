import RetraceCore
import RetraceMarket

/// The account and broker settings of a run, set with `--param` like strategy parameters.
public struct AccountConfig: Sendable {
    /// The account parameters every run accepts, with defaults.
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("cash", "100000", "starting cash in account currency"),
        ParameterSpec("commission", "0", "fee rate on traded value for every fill (0.002 = 0.2 %), unless maker_fee/taker_fee are set"),
        ParameterSpec("maker_fee", "", "fee rate for fills of resting limit orders (default: commission)"),
        ParameterSpec("taker_fee", "", "fee rate for market orders and marketable limits (default: commission)"),
        ParameterSpec("close_at_end", "true", "close open positions when the data ends (at the touch, last trade, or last bar's open)"),
        ParameterSpec("equity_interval", "60s", "for tick feeds: record an equity point at most this often in event time (bars: every bar; fills: always)"),
    ]

    public var cash: Money
    public var fees: FeeSchedule
    public var closeAtEnd: Bool
    public var equityIntervalNanos: Int64

    /// Reads the account settings from parameter values.
    public init(_ p: ParameterValues) throws(EngineError) {
        cash = try p.money("cash")
        let commission = try p.rate("commission")
        let maker = try p.text("maker_fee").isEmpty ? commission : p.rate("maker_fee")
        let taker = try p.text("taker_fee").isEmpty ? commission : p.rate("taker_fee")
        fees = FeeSchedule(maker: maker, taker: taker)
        closeAtEnd = try p.bool("close_at_end")
        equityIntervalNanos = try p.durationNanos("equity_interval")
    }
}
