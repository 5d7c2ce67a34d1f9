import RetraceCore
import RetraceMarket

/// The engine's state between two input events, as saved beside a run's journal every
/// `engine.snapshot_every` inputs (`SnapshotStore` keeps the files), so a replay window deep
/// into a long run starts from the nearest snapshot instead of the first input.
///
/// Layout (`StateWriter` encoding): version, configuration tag, strategy name, the
/// instrument definitions seen so far (with their times), engine time, the strategy's own
/// block, the ledger (portfolio, marks, last values, risk state, order ids), the simulated
/// venue (books, our working and resting orders, requests and answers in flight, latency
/// generators), the timer wheel, the feed de-duplicator and its count.
public enum EngineSnapshot {
    /// Bumped whenever any saved layout changes: a snapshot of another version is not used.
    public static let version: UInt32 = 2

    /// What a snapshot says about itself before the state proper.
    public struct Header: Sendable {
        public var version: UInt32
        /// The configuration it was taken under (strategy, every parameter value, seed).
        public var tag: String
        public var strategy: String
        /// Engine time: the receive time of the last input applied.
        public var time: Timestamp
        /// The instrument definitions the engine had seen, as recorded.
        public var definitions: [Event]
    }

    /// Identifies the configuration whose state a snapshot holds: a replay uses a snapshot
    /// only when its strategy, parameter values (account ones included) and seed are the same.
    public static func tag(strategy: String, parameters: ParameterValues, seed: UInt64) -> String {
        "\(strategy) seed=\(seed) " + parameters.values.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
    }

    static func writeHeader(_ w: inout StateWriter, tag: String, strategy: String, time: Timestamp, definitions: [Event]) {
        w.word(version)
        w.put(tag)
        w.put(strategy)
        w.put(time)
        w.word(UInt64(definitions.count))
        for d in definitions {
            w.put(d.eventTime)
            w.put(d.receiveTime)
            w.put(event: d.body)
        }
    }

    static func readHeader(_ r: inout StateReader) throws(CoreError) -> Header {
        let v: UInt32 = try r.word()
        guard v == version else { throw CoreError(.invalidState, "engine state version \(v); this build reads version \(version)") }
        let tag = try r.string(), strategy = try r.string()
        let time: Timestamp = try r.get()
        let n = try r.count(minimumBytes: 18)
        var definitions: [Event] = []
        for _ in 0..<n {
            let eventTime: Timestamp = try r.get(), receiveTime: Timestamp = try r.get()
            let body = try r.event()
            guard body.kind == .instrumentDefined else { throw CoreError(.invalidState, "engine state: a \(body.kind.name) among the instrument definitions") }
            definitions.append(Event(eventTime: eventTime, receiveTime: receiveTime, body: body))
        }
        return Header(version: v, tag: tag, strategy: strategy, time: time, definitions: definitions)
    }

    /// Reads a snapshot's header (to decide whether a replay can start from it).
    public static func header(of state: [UInt8]) throws(CoreError) -> Header {
        var r = StateReader(state)
        return try readHeader(&r)
    }
}

extension BacktestEngine {
    /// The engine's state now (between two inputs), or nil when the strategy keeps no
    /// snapshots.
    func saveState() -> [UInt8]? {
        var strategyState = StateWriter(capacity: 256)
        guard strategy.saveState(&strategyState) else { return nil }
        var w = StateWriter(capacity: 1 << 16)
        EngineSnapshot.writeHeader(&w, tag: snapshotTag, strategy: S.name, time: clock.now, definitions: definitions)
        w.put(block: strategyState.bytes)
        ledger.saveState(&w)
        venue.saveState(&w)
        timers.saveState(&w)
        w.put(dedup != nil)
        dedup?.saveState(&w)
        w.word(duplicatesDropped)
        return w.bytes
    }

    /// Replaces the state of an engine built for the same configuration with a saved one.
    func restoreState(_ state: [UInt8]) throws(CoreError) {
        var r = StateReader(state)
        let header = try EngineSnapshot.readHeader(&r)
        // The tag names the strategy, every parameter value and the seed.
        guard header.tag == snapshotTag else {
            throw CoreError(.invalidState, "engine state was saved under another configuration (\(header.strategy)); this run is \(S.name) with other parameters or seed")
        }
        definitions = header.definitions
        clock = SimulatedClock(start: header.time)
        var strategyReader = StateReader(try r.block())
        try strategy.restoreState(&strategyReader)
        try strategyReader.finish()
        try ledger.restoreState(&r)
        try venue.restoreState(&r)
        try timers.restoreState(&r)
        let hasDedup = try r.bool()
        guard hasDedup == (dedup != nil) else { throw CoreError(.invalidState, "engine state: feed de-duplication \(hasDedup ? "on" : "off") when saved, \(hasDedup ? "off" : "on") now") }
        try dedup?.restoreState(&r)
        duplicatesDropped = try r.word()
        try r.finish()
    }
}
