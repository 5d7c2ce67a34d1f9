import Glibc
import RetraceCore
import RetraceJournal

/// Where a replay's or a backtest's window starts or ends: a journal sequence number of the
/// recorded run (or data), or a receive time.
public enum ReplayBound: Equatable, Sendable, CustomStringConvertible {
    case sequence(UInt64)
    case time(Timestamp)

    /// Parses `--from`/`--until`: a whole number is a sequence, anything else an ISO-8601
    /// UTC time (`2024-01-02T14:30:00.000000123Z`).
    public init?(parsing text: String) {
        if let s = UInt64(text) { self = .sequence(s); return }
        guard let t = Timestamp.parseISO8601(text) else { return nil }
        self = .time(t)
    }

    public var description: String {
        switch self {
        case .sequence(let s): "sequence \(s)"
        case .time(let t): t.iso8601
        }
    }

    /// True when `event` (a recorded input) lies at or after this bound.
    @inline(__always)
    func reached(by event: Event) -> Bool {
        switch self {
        case .sequence(let s): event.sequence >= s
        case .time(let t): event.receiveTime >= t
        }
    }

    /// True when `event` lies beyond this bound (used as an inclusive end).
    @inline(__always)
    func passed(by event: Event) -> Bool {
        switch self {
        case .sequence(let s): event.sequence > s
        case .time(let t): event.receiveTime > t
        }
    }
}

/// How fast a replay releases the recorded inputs.
public enum ReplaySpeed: Equatable, Sendable, CustomStringConvertible {
    /// As fast as the engine goes.
    case max
    /// Recorded receive-time gaps divided by this factor (1: wall clock).
    case paced(Double)

    public init?(parsing text: String) {
        if text == "max" { self = .max; return }
        guard let x = Double(text), x > 0, x.isFinite else { return nil }
        self = .paced(x)
    }

    public var description: String {
        switch self {
        case .max: "max"
        case .paced(let x): x == x.rounded() ? String(Int(x)) : String(x)
        }
    }
}

/// The input source of a replay: the recorded run's journal, read in order.
///
/// - Inputs before `from` are released at full speed with the recorder muted (the engine
///   builds its state from them; nothing is journaled or fingerprinted), inputs after
///   `until` end the replay.
/// - From `from` on, a paced replay holds each input until its release time: the first
///   paced input's wall time plus its recorded receive-time gap divided by the speed. It
///   sleeps until 400 µs before and spins the rest; `pacing` holds how late each release
///   was (nanoseconds).
/// - While reading, it measures what the recording says about the network: feed latency
///   (receive − exchange time of market events) and order latency (a submitted order to
///   the venue's first answer), per venue, from the recorded events themselves.
public struct ReplayInput: InputSource {
    public let reader: JournalReader
    public let source: String
    public let speed: ReplaySpeed
    public let from: ReplayBound?
    public let until: ReplayBound?
    /// Lateness of each paced release, in nanoseconds.
    public private(set) var pacing = LatencyHistogram()
    /// Recorded feed latency per venue index (receive − exchange time).
    public private(set) var recordedFeed: [LatencyHistogram]
    /// Recorded order latency per venue index (submission → first venue answer).
    public private(set) var recordedOrder: [LatencyHistogram]
    /// Inputs released before `from` (fast-forwarded, muted).
    public private(set) var fastForwarded: UInt64 = 0
    /// Wall seconds spent fast-forwarding to `from`.
    public private(set) var seekSeconds: Double = 0
    /// Leaves out a live run's session inputs (venue reports, heartbeats, session control):
    /// the simulated venue answers instead (`--venue simulated`).
    public var marketOnly = false
    /// Mutes the run's recorder until `from` (nil: nothing is muted).
    private let gate: RecorderGate?
    private let venueOf: (String) -> Int
    private var instrumentVenue: [Int] = []
    private var submitted: [UInt64: (time: Int64, venue: Int)] = [:]
    private var inWindow: Bool
    private var startWall: Int64 = 0
    private var firstPaced: Int64 = 0
    private var pacingStarted = false
    private var seekStart: Int64 = 0

    /// Opens `RUN/journal`. `venueOf` maps a symbol to its venue index (`venues` names).
    public init(runDirectory: String, speed: ReplaySpeed, from: ReplayBound? = nil, until: ReplayBound? = nil, gate: RecorderGate? = nil,
                venues: Int = 1, venueOf: @escaping (String) -> Int = { _ in 0 }) throws(EngineError) {
        do { reader = try JournalReader(directory: runDirectory + "/journal") } catch { throw EngineError(.journal, error.message) }
        source = runDirectory
        (self.speed, self.from, self.until, self.gate, self.venueOf) = (speed, from, until, gate, venueOf)
        recordedFeed = Array(repeating: LatencyHistogram(), count: max(venues, 1))
        recordedOrder = recordedFeed
        inWindow = from == nil
        if !inWindow {
            gate?.muted = true
            seekStart = Self.monotonicNanos()
        }
        submitted.reserveCapacity(1024)
    }

    /// Where a window starts: the state of the recorded run's newest engine snapshot
    /// before `from` taken under the same configuration (nil: from the first input), its
    /// input sequence, and a note on what was passed over or why none fits.
    public struct SnapshotSeek: Sendable {
        public var state: [UInt8]?
        public var sequence: UInt64?
        public var note: String?
    }

    /// Positions the reader after the newest usable engine snapshot before `from` (the
    /// engine restores `state` and continues with the next input). Damaged snapshots are
    /// passed over (and named in the note); a snapshot of another configuration (a
    /// what-if) or none at all leaves the reader at the first input.
    public mutating func seekSnapshot(before from: ReplayBound, tag: String) throws(EngineError) -> SnapshotSeek {
        let store = SnapshotStore(journalDirectory: source + "/journal", runID: reader.runID)
        guard !store.list().isEmpty else {
            return SnapshotSeek(note: "\(source) has no engine snapshots (engine.snapshot_every was 0, or the run is shorter than one interval)")
        }
        // A snapshot follows its input: it must lie before the window's first input.
        var last = UInt64.max
        if case .sequence(let s) = from {
            guard s > 0 else { return SnapshotSeek(note: "no snapshot lies before the window") }
            last = s - 1
        }
        var unreadable: [String] = []
        let found = store.latest(atOrBefore: last) { state in
            do {
                let header = try EngineSnapshot.header(of: state)
                if case .time(let t) = from { return header.time < t }
                return true
            } catch {
                unreadable.append("skipped: \(error)")
                return false
            }
        }
        let skipped = (found?.skipped ?? []).map { "skipped \($0)" } + unreadable
        guard let found, let header = try? EngineSnapshot.header(of: found.state) else {
            return SnapshotSeek(note: (skipped + ["no snapshot lies before the window"]).joined(separator: "; "))
        }
        guard header.tag == tag else {
            return SnapshotSeek(note: "the snapshots were taken under another strategy, parameters or seed, so the window starts from the first input")
        }
        for d in header.definitions {
            if case .instrumentDefined(let i) = d.body { mapVenue(i.instrument) }
        }
        do { try reader.seek(toSequence: found.info.sequence &+ 1) } catch { throw EngineError(.journal, error.message) }
        return SnapshotSeek(state: found.state, sequence: found.info.sequence, note: skipped.isEmpty ? nil : skipped.joined(separator: "; "))
    }

    /// Records which venue an instrument trades on (for the recorded latency per venue).
    private mutating func mapVenue(_ instrument: Instrument) {
        let i = Int(instrument.id.raw)
        while instrumentVenue.count <= i { instrumentVenue.append(0) }
        instrumentVenue[i] = min(venueOf(instrument.symbol.description), recordedFeed.count - 1)
    }

    public mutating func next(into input: inout InputEvent) throws(EngineError) -> Bool {
        while true {
            let next: JournalRecord?
            do { next = try reader.nextEvent(into: &input.event) } catch { throw EngineError(.journal, error.message) }
            guard let record = next else {
                if let torn = reader.tornTail { throw EngineError(.journal, "\(source): recorded journal ends in a \(torn)") }
                return false
            }
            let kind = input.event.body.kind
            if kind.isOutput {
                observeOutput(input.event)
                continue
            }
            if kind == .sessionStarted || kind == .sessionEnded || (marketOnly && kind.isLiveSession) { continue }
            if case .instrumentDefined(let d) = input.event.body {
                mapVenue(d.instrument)
            } else {
                if let until, until.passed(by: input.event) { return false }
                if let instrument = input.event.body.marketInstrument, input.event.eventTime.nanos != 0 {
                    let v = Int(instrument.raw) < instrumentVenue.count ? instrumentVenue[Int(instrument.raw)] : 0
                    recordedFeed[v].record(max(0, input.event.receiveTime.nanos - input.event.eventTime.nanos))
                }
                if !inWindow, let from, from.reached(by: input.event) {
                    inWindow = true
                    gate?.muted = false
                    seekSeconds = Double(Self.monotonicNanos() - seekStart) / 1e9
                }
                if inWindow, case .paced(let factor) = speed { pace(input.event.receiveTime.nanos, factor) }
            }
            if !inWindow { fastForwarded &+= 1 }
            input.encoded = record.payload
            input.sourceSequence = record.sequence
            return true
        }
    }

    public var inputJournal: JournalReader? { reader }

    /// Holds the caller until the event's release time.
    private mutating func pace(_ receive: Int64, _ factor: Double) {
        if !pacingStarted {
            pacingStarted = true
            firstPaced = receive
            startWall = Self.monotonicNanos()
            pacing.record(0)
            return
        }
        let due = startWall &+ Int64((Double(receive &- firstPaced) / factor).rounded())
        var now = Self.monotonicNanos()
        let early = due &- now
        if early > Self.spinNanos + 50_000 {
            // Sleep to within `spinNanos` of the release, then spin: a wake-up comes late by
            // the timer slack (50 µs) plus scheduling, often more on a VM; spinning is exact.
            let sleep = early - Self.spinNanos
            var ts = timespec(tv_sec: Int(sleep / 1_000_000_000), tv_nsec: Int(sleep % 1_000_000_000))
            var left = timespec()
            while nanosleep(&ts, &left) != 0 { ts = left }
            now = Self.monotonicNanos()
        }
        while now < due { now = Self.monotonicNanos() }
        pacing.record(now &- due)
    }

    /// Order latency as recorded: from a submission to the venue's first answer.
    private mutating func observeOutput(_ event: Event) {
        switch event.body {
        case .orderSubmitted(let o):
            let v = Int(o.instrument.raw) < instrumentVenue.count ? instrumentVenue[Int(o.instrument.raw)] : 0
            submitted[o.orderID.raw] = (event.eventTime.nanos, v)
        case .orderAccepted(let a): answered(a.orderID, event.eventTime)
        case .orderRejected(let r): answered(r.orderID, event.eventTime)
        case .orderFilled(let f): answered(f.orderID, event.eventTime)
        case .orderCanceled(let c): answered(c.orderID, event.eventTime)
        default: break
        }
    }

    private mutating func answered(_ id: ClientOrderID, _ time: Timestamp) {
        guard let s = submitted.removeValue(forKey: id.raw) else { return }
        recordedOrder[s.venue].record(max(0, time.nanos - s.time))
    }

    /// How long before a release the pacer stops sleeping and spins.
    static let spinNanos: Int64 = 400_000

    /// CLOCK_MONOTONIC in nanoseconds: wall time for pacing and progress, never for logic.
    @inline(__always)
    public static func monotonicNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)  // determinism-ok: pacing only decides when an input is released, never what it does
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
