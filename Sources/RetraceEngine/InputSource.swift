import RetraceCore
import RetraceJournal

/// One input event, with its encoded bytes when the source has them (so the engine can
/// journal it without encoding again).
public struct InputEvent {
    public var event: Event
    public var encoded: UnsafeRawBufferPointer?
    /// The event's sequence in the source's `inputJournal` (0: none), when `encoded` is that
    /// record's payload: the run may then journal the input by reference.
    public var sourceSequence: UInt64 = 0
    public init(event: Event, encoded: UnsafeRawBufferPointer?) { (self.event, self.encoded) = (event, encoded) }
    /// An empty slot for `InputSource.next(into:)`.
    @inlinable public static var empty: InputEvent { InputEvent(event: .placeholder, encoded: nil) }
}

/// A stream of input events in journal order.
public protocol InputSource {
    /// Reads the next event into `input`; false at the end. The engine's loop keeps one
    /// slot and sources decode into it: no event is copied through return values.
    mutating func next(into input: inout InputEvent) throws(EngineError) -> Bool
    /// The journal the inputs' `sourceSequence` numbers point into (nil: none, the inputs
    /// are journaled as copies).
    var inputJournal: JournalReader? { get }
}

extension InputSource {
    public var inputJournal: JournalReader? { nil }

    /// The next event, or nil at the end.
    @inlinable
    public mutating func next() throws(EngineError) -> InputEvent? {
        var input = InputEvent.empty
        return try next(into: &input) ? input : nil
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
            input.sourceSequence = record.sequence
            return true
        }
    }

    public var inputJournal: JournalReader? { reader }
}

/// Input events held in memory (tests, datasets imported on the fly).
public struct ArrayInput: InputSource {
    private let events: [Event]
    private var index = 0
    public init(_ events: [Event]) { self.events = events }
    public mutating func next(into input: inout InputEvent) throws(EngineError) -> Bool {
        guard index < events.count else { return false }
        input = InputEvent(event: events[index], encoded: nil)
        index += 1
        return true
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

    public var inputJournal: JournalReader? { base.inputJournal }

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
