import RetraceCore
import RetraceJournal

/// One input event, with its encoded bytes when the source has them (so the engine can
/// journal it without encoding again).
public struct InputEvent {
    public var event: Event
    public var encoded: UnsafeRawBufferPointer?
    public init(event: Event, encoded: UnsafeRawBufferPointer?) { (self.event, self.encoded) = (event, encoded) }
}

/// A stream of input events in journal order.
public protocol InputSource {
    /// The next event, or nil at the end.
    mutating func next() throws(EngineError) -> InputEvent?
    /// Reads the next event into `input`; false at the end. The engine's loop calls this:
    /// a source that decodes in place spares every event a chain of 128-byte copies.
    mutating func next(into input: inout InputEvent) throws(EngineError) -> Bool
}

extension InputSource {
    @inlinable
    public mutating func next(into input: inout InputEvent) throws(EngineError) -> Bool {
        guard let e = try next() else { return false }
        input = e
        return true
    }
}

/// Reads the input events of another run's journal (an imported dataset or a run),
/// skipping that run's session markers and outputs.
public struct JournalInput: InputSource {
    public let reader: JournalReader
    public let source: String

    /// Opens `RUN/journal`.
    public init(runDirectory: String) throws(EngineError) {
        do { reader = try JournalReader(directory: runDirectory + "/journal") } catch { throw EngineError(.journal, error.message) }
        source = runDirectory
    }

    public mutating func next() throws(EngineError) -> InputEvent? {
        var input = InputEvent(event: Event(eventTime: .zero, receiveTime: .zero, body: .sessionEnded(SessionEnded(inputEvents: 0))), encoded: nil)
        return try next(into: &input) ? input : nil
    }

    @inline(__always)
    public mutating func next(into input: inout InputEvent) throws(EngineError) -> Bool {
        while true {
            let next: JournalRecord?
            do { next = try reader.nextEvent(into: &input.event) } catch { throw EngineError(.journal, error.message) }
            guard let record = next else {
                if let torn = reader.tornTail { throw EngineError(.journal, "\(source): input journal ends in a \(torn)") }
                return false
            }
            let kind = input.event.body.kind
            if kind.isOutput || kind.isLiveSession || kind == .sessionStarted || kind == .sessionEnded { continue }
            input.encoded = record.payload
            return true
        }
    }
}

/// Input events held in memory (tests, datasets imported on the fly).
public struct ArrayInput: InputSource {
    private let events: [Event]
    private var index = 0
    public init(_ events: [Event]) { self.events = events }
    public mutating func next() throws(EngineError) -> InputEvent? {
        guard index < events.count else { return nil }
        defer { index += 1 }
        return InputEvent(event: events[index], encoded: nil)
    }
}

/// The inputs of another source inside a window (a backtest's `--from`/`--until`): market
/// events before `from` are skipped (the run starts flat there, with fresh strategy state),
/// the first one past `until` (inclusive) ends the run. Instrument definitions always pass.
public struct WindowInput<Base: InputSource>: InputSource {
    public var base: Base
    public let from: ReplayBound?
    public let until: ReplayBound?
    /// Inputs skipped before `from`.
    public private(set) var skipped: UInt64 = 0

    public init(_ base: Base, from: ReplayBound?, until: ReplayBound?) { (self.base, self.from, self.until) = (base, from, until) }

    public mutating func next() throws(EngineError) -> InputEvent? {
        while let e = try base.next() {
            if e.event.body.kind == .instrumentDefined { return e }
            if let until, until.passed(by: e.event) { return nil }
            if let from, !from.reached(by: e.event) {
                skipped &+= 1
                continue
            }
            return e
        }
        return nil
    }

    public mutating func next(into input: inout InputEvent) throws(EngineError) -> Bool {
        while try base.next(into: &input) {
            if input.event.body.kind == .instrumentDefined { return true }
            if let until, until.passed(by: input.event) { return false }
            if let from, !from.reached(by: input.event) {
                skipped &+= 1
                continue
            }
            return true
        }
        return false
    }
}
