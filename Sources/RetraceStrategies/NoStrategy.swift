import RetraceCore
import RetraceEngine

/// No decisions: the engine replays the data through the book, the venue, the journal and
/// the store with a strategy that never acts (the replay ceiling, as the peers' pure-replay
/// workloads measure it).
public struct NoStrategy: Strategy {
    public static let name = "none"
    public static let summary = "no strategy: every event goes through the engine, nothing is traded (pure replay)"
    public static let parameters: [ParameterSpec] = []

    public init(parameters: ParameterValues) throws(EngineError) {}
    public mutating func onMarket(_ event: Event, _ context: inout StrategyContext) {}
}

extension NoStrategy {
    public func saveState(_ w: inout StateWriter) -> Bool { true }
    public mutating func restoreState(_ r: inout StateReader) throws(CoreError) {}
}
