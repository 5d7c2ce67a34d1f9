import RetraceEngine

/// The built-in strategies, in the order `--help` lists them.
public enum StrategyCatalog {
    /// Every built-in strategy type.
    public static var all: [any Strategy.Type] { [EmaCross.self, SmaCross.self, QueueMaker.self, CrossVenueArbitrage.self, MeanReversion.self, MarketMaker.self, NoStrategy.self] }

    /// The strategy type named `name`.
    /// - Throws: `.unknownStrategy` listing the names.
    public static func named(_ name: String) throws(EngineError) -> any Strategy.Type {
        guard let t = all.first(where: { $0.name == name }) else {
            throw EngineError(.unknownStrategy, "unknown strategy '\(name)'; built-in strategies: \(all.map { $0.name }.joined(separator: ", "))")
        }
        return t
    }
}
