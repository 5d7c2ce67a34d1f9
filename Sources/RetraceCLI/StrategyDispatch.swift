import RetraceEngine
import RetraceStrategies

/// Work that is generic over a strategy type (a backtest, a replay, a peer workload).
protocol StrategyWork {
    associatedtype Result
    func run<S: Strategy>(_ type: S.Type) throws -> Result
}

extension StrategyWork {
    /// Runs with `type` named statically when it is a built-in strategy, so the engine's
    /// loop is compiled for that strategy: direct calls into it and fixed field offsets
    /// instead of the generic engine's witness-table calls and metadata lookups (W3: 5 %
    /// fewer instructions per event; see README "Performance"). Any other type runs the
    /// generic engine, with the same results.
    func callAsFunction(_ type: any Strategy.Type) throws -> Result {
        switch type {
        case let t as NoStrategy.Type: try run(t)
        case let t as EmaCross.Type: try run(t)
        case let t as SmaCross.Type: try run(t)
        case let t as QueueMaker.Type: try run(t)
        case let t as MarketMaker.Type: try run(t)
        case let t as MeanReversion.Type: try run(t)
        case let t as CrossVenueArbitrage.Type: try run(t)
        default: try run(type)
        }
    }
}
