import CRetraceShims
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
    /// The next event, either read into `slot` or in a slot of the source's own (valid until
    /// the next call), where the engine runs it in place; nil at the end. The default reads
    /// into `slot`; a source holding decoded events (read-ahead) hands out its own.
    mutating func next(slot: UnsafeMutablePointer<InputEvent>) throws(EngineError) -> UnsafeMutablePointer<InputEvent>?
    /// The journal the inputs' `sourceSequence` numbers point into (nil: none, the inputs
    /// are journaled as copies).
    var inputJournal: JournalReader? { get }
}

extension InputSource {
    public var inputJournal: JournalReader? { nil }

    @inlinable @inline(__always)
    public mutating func next(slot: UnsafeMutablePointer<InputEvent>) throws(EngineError) -> UnsafeMutablePointer<InputEvent>? {
        try next(into: &slot.pointee) ? slot : nil
    }

    /// `next(into:)` for a source that implements `next(slot:)`: a slot of the source's
    /// own is copied into `input`.
    @inlinable
    public mutating func nextCopied(into input: inout InputEvent) throws(EngineError) -> Bool {
        try withUnsafeMutablePointer(to: &input) { (slot) throws(EngineError) -> Bool in
            guard let p = try next(slot: slot) else { return false }
            if p != slot { slot.pointee = p.pointee }
            return true
        }
    }

    /// The next event, or nil at the end.
    @inlinable
    public mutating func next() throws(EngineError) -> InputEvent? {
        var input = InputEvent.empty
        return try next(into: &input) ? input : nil
    }
}

/// Reads the input events of another run's journal (an imported dataset or a run),
/// skipping that run's session markers and outputs.
///
/// With `readAhead` (config `engine.read_ahead`; by default on a machine with three or more
/// CPUs: one each for the core, the store writer and the reading), a helper thread
/// reads, CRC-checks and decodes the records ahead of the core loop (`ReadAhead`); the
/// events, their order and any error are the same as without it. Once reading has begun,
/// `reader` belongs to that thread: read only its fixed properties (directory, run id).
public struct JournalInput: InputSource {
    public let reader: JournalReader
    public let source: String
    private let ahead: ReadAhead?
    /// The batch of events read ahead being run, its next slot and its size (0, 0 without
    /// read-ahead or before the first batch).
    private var batch: UnsafeMutablePointer<InputEvent>?
    private var cursor = 0
    private var limit = 0

    /// Opens `RUN/journal`.
    public init(runDirectory: String, readAhead: Bool = JournalInput.readAheadByDefault) throws(EngineError) {
        let reader: JournalReader
        do { reader = try JournalReader(directory: runDirectory + "/journal") } catch { throw EngineError(.journal, error.message) }
        self.reader = reader
        source = runDirectory
        if readAhead {
            let keeper = SegmentKeeper()
            reader.keeper = keeper
            ahead = ReadAhead(keeper: keeper) { (input: inout InputEvent) throws(EngineError) -> Bool in
                try JournalInput.read(reader, runDirectory, into: &input)
            }
        } else {
            ahead = nil
        }
    }

    /// Read-ahead pays when a CPU is free to do the reading: on two CPUs the store writer
    /// already shares the second one, and there reading ahead helped a replay of depth
    /// updates with no orders (W3, about +11 %) but not lighter events (W1) or runs whose
    /// store writer is busy (W4); see README "Performance".
    public static var readAheadByDefault: Bool { retrace_online_cpus() >= 3 }

    /// Whether a helper thread reads ahead.
    public var readsAhead: Bool { ahead != nil }

    @inline(__always)
    public mutating func next(into input: inout InputEvent) throws(EngineError) -> Bool {
        if ahead != nil { return try nextCopied(into: &input) }
        return try Self.read(reader, source, into: &input)
    }

    /// With read-ahead, the next slot of the batch being run (valid until the next call).
    @inline(__always)
    public mutating func next(slot: UnsafeMutablePointer<InputEvent>) throws(EngineError) -> UnsafeMutablePointer<InputEvent>? {
        if cursor == limit {
            guard let ahead else { return try Self.read(reader, source, into: &slot.pointee) ? slot : nil }
            guard let next = try ahead.nextBatch() else { return nil }
            (batch, cursor, limit) = (next.events, 0, next.count)
        }
        defer { cursor &+= 1 }
        return batch.unsafelyUnwrapped + cursor
    }

    /// The next input of `reader` (the journal of run `source`) into `input`.
    @inline(__always)
    static func read(_ reader: JournalReader, _ source: String, into input: inout InputEvent) throws(EngineError) -> Bool {
        let found: Bool
        do { found = try reader.nextInput(into: &input.event, payload: &input.encoded, sequence: &input.sourceSequence) } catch { throw EngineError(.journal, error.message) }
        guard found else {
            if let torn = reader.tornTail { throw EngineError(.journal, "\(source): input journal ends in a \(torn)") }
            return false
        }
        return true
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
        try nextCopied(into: &input)
    }

    public mutating func next(slot: UnsafeMutablePointer<InputEvent>) throws(EngineError) -> UnsafeMutablePointer<InputEvent>? {
        while let p = try base.next(slot: slot) {
            if p.pointee.event.body.kind == .instrumentDefined { return p }
            if let until, until.passed(by: p.pointee.event) { return nil }
            if let from, !from.reached(by: p.pointee.event) {
                skipped &+= 1
                continue
            }
            return p
        }
        return nil
    }
}
