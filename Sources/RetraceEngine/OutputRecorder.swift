import RetraceCore
import RetraceJournal

/// Where every event of a run goes: the journal (inputs and outputs, one sequence), then
/// the store writer thread (fingerprint over the outputs, store projection).
public final class OutputRecorder {
    public let journal: JournalWriter
    /// The store writer (nil: journal only, as in some tests).
    public let writer: StoreWriter?
    /// Counters for the summary.
    public private(set) var inputEvents: UInt64 = 0
    public private(set) var orders: UInt64 = 0
    public private(set) var fills: UInt64 = 0
    /// While set (a replay fast-forwarding to its window), inputs other than instrument
    /// definitions and every output are neither journaled nor handed to the writer: the
    /// engine builds its state and the run records only the window.
    public var muted = false
    /// Sees every output as the engine records it (replay breakpoints); nil on ordinary runs.
    public var tap: ((Event) -> Void)?
    /// While a live run resumes: the outputs its journal already holds. Outputs derived
    /// again from the journaled inputs are checked against them and not journaled twice.
    public var resume: ResumeOutputs?
    /// The declared source (`JournalWriter.declareSource`) inputs with a source sequence are
    /// journaled by reference to (nil: inputs are copied).
    public var referenceSource: UInt16?

    /// Inputs journaled by reference are held and handed to the journal in runs of
    /// consecutive source sequences (`JournalWriter.appendReferences`): one call per run
    /// instead of one per input. Their sequences are known when they are recorded; the
    /// journal holds them before anything the recorder journals after them. For a
    /// backtest or replay reading a data run; never in `fsync` mode (an input is durable
    /// before the engine acts on it).
    public var holdsReferences = false {
        didSet { precondition(!holdsReferences || journal.syncMode != .fsync, "inputs are not held in fsync mode") }
    }
    /// The held run: its first source sequence, its length, its first journal sequence
    /// and each input's receive time.
    @usableFromInline static let maxHeld = 256
    @usableFromInline var heldFirst: UInt64 = 0
    @usableFromInline var heldCount = 0
    @usableFromInline var heldSequence: UInt64 = 0
    @usableFromInline let heldTimes = UnsafeMutablePointer<Int64>.allocate(capacity: OutputRecorder.maxHeld)

    private let scratch = UnsafeMutableRawPointer.allocate(byteCount: EventCodec.maxEncodedSize, alignment: 8)

    public init(journal: JournalWriter, writer: StoreWriter?) {
        self.journal = journal
        self.writer = writer
    }

    deinit {
        scratch.deallocate()
        heldTimes.deallocate()
    }

    /// Journals an input event given as encoded bytes; returns its sequence. In `fsync`
    /// mode the event is durable when this returns (the core acts on it only afterwards).
    /// `sourceSequence` (not 0): the payload is that record of the source declared as
    /// `referenceSource`, and is journaled by reference when one is set. `receiveTime`: the
    /// payload's receive time when the caller has it decoded (else it is read from the bytes).
    /// Instrument definitions are always copied: a store writer that spilled reads them
    /// back from this journal (`StoreWriter.spill(to:)`).
    @inlinable @inline(__always) @discardableResult
    public func recordInput(encoded payload: UnsafeRawBufferPointer, sourceSequence: UInt64 = 0, receiveTime: Int64? = nil) throws(JournalError) -> UInt64 {
        let definition = payload[1] == EventKind.instrumentDefined.rawValue
        if muted && !definition { return 0 }
        inputEventCount()
        if let referenceSource, sourceSequence != 0, !definition {
            let time = receiveTime ?? JournalFormat.payloadTime(payload)
            if holdsReferences { return try holdReference(sourceSequence, time: time) }
            let sequence = try journal.appendReference(source: referenceSource, sourceSequence: sourceSequence, time: time)
            if journal.syncMode == .fsync { try journal.commit() }
            return sequence
        }
        try releaseHeldInputs()
        let sequence = try journal.append(encoded: payload)
        if journal.syncMode == .fsync { try journal.commit() }
        return sequence
    }

    /// Holds an input journaled by reference (`holdsReferences`): returns the sequence it
    /// will have. It joins the held run when its source sequence follows the run's last;
    /// otherwise the run goes to the journal first and a new one starts with it.
    @inlinable @inline(__always)
    func holdReference(_ sourceSequence: UInt64, time: Int64) throws(JournalError) -> UInt64 {
        if heldCount > 0 {
            if heldCount < Self.maxHeld && sourceSequence == heldFirst &+ UInt64(heldCount) {
                heldTimes[heldCount] = time
                heldCount &+= 1
                return heldSequence &+ UInt64(heldCount &- 1)
            }
            try appendHeld()
        }
        heldFirst = sourceSequence
        heldTimes[0] = time
        heldCount = 1
        heldSequence = journal.nextSequence
        return heldSequence
    }

    /// Hands the inputs held by reference to the journal. Everything else the recorder
    /// journals calls this first (so the journal's order is the engine's), and the engine
    /// calls it before a snapshot names an input and when a run fails.
    @inlinable
    public func releaseHeldInputs() throws(JournalError) {
        if heldCount > 0 { try appendHeld() }
    }

    @usableFromInline
    func appendHeld() throws(JournalError) {
        let count = heldCount
        heldCount = 0
        let first = try journal.appendReferences(source: referenceSource!, firstSourceSequence: heldFirst, times: UnsafeBufferPointer(start: heldTimes, count: count))
        precondition(first == heldSequence, "held inputs were to be #\(heldSequence)…, but the journal numbered them from #\(first): something appended to it past the recorder")
    }

    /// Journals an input event; returns it with its sequence. (Inputs are not projected
    /// here: the engine publishes the ones the store keeps, instrument definitions.)
    @discardableResult
    public func recordInput(_ event: Event) throws(EngineError) -> Event {
        if muted && event.body.kind != .instrumentDefined { return event }
        inputEventCount()
        var e = event
        do {
            try releaseHeldInputs()
            e.sequence = try journal.append(event)
            if journal.syncMode == .fsync { try journal.commit() }
        } catch { throw EngineError(.journal, error.message) }
        return e
    }

    @usableFromInline func inputEventCount() { inputEvents += 1 }

    /// Counts an input the caller journaled itself (live mode appends a batch of inputs and
    /// commits them with one `fdatasync`; a resume re-reads them).
    public func countInput() { inputEvents += 1 }

    /// Journals an output event stamped at `time` and hands it to the store writer; returns
    /// its journal sequence (0 while muted). The body is encoded as it is, never copied
    /// into an `Event` (only for a tap).
    @discardableResult
    public func record(_ body: borrowing EventBody, at time: Timestamp) throws(EngineError) -> UInt64 {
        if muted { return 0 }
        let sequence: UInt64, bytes: UnsafeRawBufferPointer
        if let resume {
            // SAFETY: the scratch buffer holds `maxEncodedSize` bytes; only the core thread uses it.
            bytes = UnsafeRawBufferPointer(start: scratch, count: EventCodec.encode(body, eventTime: time, receiveTime: time, to: scratch))
            if let matched = try resume.match(bytes, body) {
                sequence = matched
            } else {
                do {
                    try releaseHeldInputs()
                    sequence = try journal.append(encoded: bytes, time: time.nanos)
                } catch { throw EngineError(.journal, error.message) }
            }
        } else {
            // Encoded straight into the journal's buffer; the store writer is handed those
            // bytes (valid until the journal's next append, below this call's end).
            do {
                try releaseHeldInputs()
                (sequence, bytes) = try journal.append(body: body, eventTime: time, receiveTime: time)
            } catch { throw EngineError(.journal, error.message) }
        }
        switch body.kind {
        case .orderSubmitted: orders += 1
        case .orderFilled: fills += 1
        default: break
        }
        writer?.publish(sequence: sequence, encoded: bytes)
        if let tap {
            var e = Event(eventTime: time, receiveTime: time, body: copy body)
            e.sequence = sequence
            tap(e)
        }
        return sequence
    }

    /// Hands a journaled input event the store keeps (an instrument definition) to the writer.
    public func publishInput(_ event: Event) {
        guard let writer else { return }
        let bytes = UnsafeRawBufferPointer(start: scratch, count: EventCodec.encode(event, to: scratch))
        writer.publish(sequence: event.sequence, encoded: bytes)
    }
}

extension OutputRecorder {
    /// Journals a session marker (neither input data nor an output).
    public func recordControl(_ body: EventBody, at time: Timestamp) throws(EngineError) {
        do {
            try releaseHeldInputs()
            try journal.append(Event(eventTime: time, receiveTime: time, body: body))
        } catch { throw EngineError(.journal, error.message) }
    }
}

/// The outputs a live run's journal holds, in order, for `retrace live --resume`: the
/// engine derives them again from the journaled inputs and each must match its recorded
/// bytes (anything else means the code or the configuration changed since the run began).
public final class ResumeOutputs {
    private var outputs: [(sequence: UInt64, bytes: [UInt8])]
    private var index = 0
    public init(_ outputs: [(sequence: UInt64, bytes: [UInt8])]) { self.outputs = outputs }
    /// True once every recorded output was derived again.
    public var exhausted: Bool { index == outputs.count }
    public var remaining: Int { outputs.count - index }
    /// The next recorded output's sequence when `bytes` equals it; nil when none is left.
    func match(_ bytes: UnsafeRawBufferPointer, _ body: borrowing EventBody) throws(EngineError) -> UInt64? {
        guard index < outputs.count else { return nil }
        let o = outputs[index]
        guard o.bytes.elementsEqual(bytes) else {
            throw EngineError(.badInput, "resume: output #\(o.sequence) in the journal differs from the \(body.kind.name) derived again from the journaled inputs; "
                + "the strategy, its parameters or the code changed since the run started")
        }
        index += 1
        return o.sequence
    }
}
