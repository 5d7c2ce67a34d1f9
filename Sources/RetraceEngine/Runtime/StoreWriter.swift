import Foundation
import RetraceCore
import RetraceJournal
import RetraceStore
import Synchronization

/// One journaled event on its way to the store writer: its sequence and encoded bytes.
/// Fixed size (120 bytes), so the ring holds it inline and a push is a copy.
public struct StoreMessage: BitwiseCopyable {
    public var sequence: UInt64
    public var length: Int
    @usableFromInline var bytes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
        = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    @inlinable
    public init(sequence: UInt64, encoded: UnsafeRawBufferPointer) {
        precondition(encoded.count <= 104, "event of \(encoded.count) bytes does not fit a store message")
        self.sequence = sequence
        length = encoded.count
        // SAFETY: `bytes` is 104 bytes of plain storage and `encoded` at most that.
        withUnsafeMutableBytes(of: &bytes) { $0.baseAddress!.copyMemory(from: encoded.baseAddress!, byteCount: encoded.count) }
    }

    /// The encoded event.
    public func withEncoded<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: bytes) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
    }
}

/// The store writer's account of a run, as saved in the manifest.
public struct StoreSummary: Codable, Equatable, Sendable {
    public var rows: UInt64 = 0
    public var commits: UInt64 = 0
    public var failedCommits: UInt64 = 0
    public var breakerOpens: UInt64 = 0
    public var finalBatchRows: Int
    public var maxCommitSeconds: Double = 0
    /// Lag of the store behind the core: from the core's last event to the last commit.
    public var drainSeconds: Double = 0
    /// Times the core found the ring full and waited.
    public var backpressureWaits: UInt64 = 0
    /// The sequence from which the writer read the run's journal instead of the ring (the
    /// ring was full there and the core went on without waiting); nil: it never did.
    public var spilledFrom: UInt64?
    /// Set when the store was given up on; the journal is complete.
    public var stale: String?

    enum CodingKeys: String, CodingKey {
        case rows, commits, failedCommits = "failed_commits", breakerOpens = "breaker_opens", finalBatchRows = "final_batch_rows"
        case maxCommitSeconds = "max_commit_seconds", drainSeconds = "drain_seconds", backpressureWaits = "backpressure_waits", spilledFrom = "spilled_from", stale
    }
}

/// The store writer: a thread of its own that takes the run's journaled events from an
/// SPSC ring, computes the run fingerprint over the outputs, and projects them into the
/// SQLite store in batches.
///
/// - Spilling: with `spill(to:)`, a core that finds the ring full does not wait. It stops
///   handing events over, and the writer, once the ring is empty, reads the rest of the
///   run from the journal's segment files (`JournalFollower`), where every event already
///   is: the core never waits for SQLite, and the store's lag shows as `drainSeconds`.
///   Without it the core waits while the ring is full (back-pressure).
/// - Batching: a batch is committed when it holds `batchRows` rows, or when the ring is
///   empty and its oldest row waited `maxDelay`. `batchRows` adapts to the observed commit
///   latency: halved when a commit takes longer than `commitBudget`, doubled when it takes
///   less than a quarter of it, within [`minBatchRows`, `maxBatchRows`].
/// - Failures: a failed commit is rolled back and its rows stay pending; it is retried after
///   an exponential backoff with seeded jitter. After `breakerThreshold` failures in a row
///   the circuit breaker opens and nothing is tried for `breakerCooldown`; then one trial
///   batch (half-open). While rows are pending past `maxPendingRows` the writer stops taking
///   from the ring (or the journal), so the ring fills and the core waits (or the journal
///   holds the rest): never loss.
/// - Giving up: when commits have failed for `giveUpSeconds` without a success, the store
///   is declared stale: the writer keeps consuming (and fingerprinting) so the run finishes,
///   and the report says why. The journal holds everything; `retrace journal rebuild-store`
///   rebuilds the store from it.
public final class StoreWriter: @unchecked Sendable {
    public struct Settings: Sendable, Equatable {
        public var ringSlots = 262_144
        public var initialBatchRows = 4_096
        public var minBatchRows = 256
        public var maxBatchRows = 262_144
        public var maxDelay = 0.05
        public var commitBudget = 0.005
        public var maxPendingRows = 1_048_576
        public var retryBase = 0.001
        public var retryMax = 0.25
        public var breakerThreshold = 5
        public var breakerCooldown = 0.5
        public var giveUpSeconds = 30.0
        /// Whether a core that finds the ring full spills to the journal (when the driver
        /// offers it with `spill(to:)`) instead of waiting.
        public var spill = true
        /// Jitter seed (the run's seed): the retry schedule is reproducible.
        public var seed: UInt64 = 0
        /// Fault injection for tests: every `faultEvery`-th commit attempt fails (0: never),
        /// `faultBurst` attempts in a row each time.
        public var faultEvery = 0
        public var faultBurst = 1
        /// The pinned core thread's CPU: the writer runs anywhere else.
        public var avoidCPU: Int?
        public init() {}
    }

    /// What the writer did: the fingerprint, and the store's part as saved in the manifest.
    public struct Report: Sendable {
        public var fingerprint = ""
        public var outputs: UInt64 = 0
        public var messages: UInt64 = 0
        public var store: StoreSummary
    }

    public let settings: Settings
    @usableFromInline let ring: SPSCRing<StoreMessage>
    private let projector: StoreProjector
    private let closed = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    @usableFromInline var backpressureWaits: UInt64 = 0
    /// Core thread: the journal to spill to (nil: wait when the ring is full), and whether
    /// the core has stopped handing events over.
    private var spillJournal: JournalWriter?
    @usableFromInline var spilled = false
    /// Set once by the core when it spills: the first sequence not in the ring, and the
    /// journal segment holding it (the writer reads `spillJournal`'s folder once it sees them).
    private let spillFrom = Atomic<UInt64>(0)
    private let spillSegment = Atomic<Int>(0)
    /// The journal's last sequence, given by `finish` (0: not known).
    private let journalEnd = Atomic<UInt64>(0)
    // Writer-thread state.
    private var fingerprint = RunFingerprint()
    private var report: Report

    public init(projector: StoreProjector, settings: Settings = Settings()) {
        self.projector = projector
        self.settings = settings
        ring = SPSCRing(capacity: settings.ringSlots)
        report = Report(store: StoreSummary(finalBatchRows: settings.initialBatchRows))
    }

    /// Starts the writer thread. The thread object is not kept: it holds its closure, the
    /// closure holds the writer, and a writer holding its thread would never be freed (each
    /// run leaked its 32 MiB ring and its store; `retrace bench --mode sustained` found it).
    public func start() {
        let t = Thread { [self] in
            Placement.keepOff(settings.avoidCPU)
            run()
            done.signal()
        }
        t.name = "retrace-store"
        t.stackSize = 1 << 20
        t.start()
    }

    /// Core thread: from now on a full ring does not stop the core: the writer reads the
    /// rest of the run from `journal`, the journal every published event was appended to
    /// (just before it was published). Events must be published in sequence order, each
    /// one the journal's last record when published (or, while `spillSegmentHint` is set,
    /// a record at or after that segment), and the journal's instrument definitions must
    /// be copies (not inputs kept by reference): the writer keeps the outputs and
    /// definitions it reads there. Nothing changes when `settings.spill` is off.
    public func spill(to journal: JournalWriter) { if settings.spill { spillJournal = journal } }

    /// Core thread: set while the events published are records the journal already held
    /// (a live run's `--resume` deriving its journaled outputs again): a segment at or
    /// before the one holding them, where a spill starts reading (records before the first
    /// unpublished one are stepped over). nil: the journal's current segment.
    public var spillSegmentHint: Int?

    /// Core thread: hands over one journaled event. When the ring is full it spills (see
    /// `spill(to:)`) or waits (back-pressure).
    @inlinable @inline(__always)
    public func publish(sequence: UInt64, encoded: UnsafeRawBufferPointer) {
        if spilled { return }
        let message = StoreMessage(sequence: sequence, encoded: encoded)
        if !ring.push(message) { overflow(message) }
    }

    @usableFromInline func overflow(_ message: StoreMessage) {
        guard let journal = spillJournal else {
            backpressureWaits += 1
            while !ring.push(message) { sched_yield() }
            return
        }
        spilled = true
        spillSegment.store(spillSegmentHint ?? journal.currentSegment, ordering: .relaxed)
        spillFrom.store(message.sequence, ordering: .releasing)
    }

    /// Core thread: no more events. Waits for the writer to commit everything (or give up)
    /// and returns its report. `journalEnd`: the journal's last sequence, once the journal
    /// is finished (a writer that spilled reads up to it; 0: what the files hold now).
    public func finish(journalEnd end: UInt64 = 0) -> Report {
        let clock = ContinuousClock()  // determinism-ok: reported lag only
        let started = clock.now
        journalEnd.store(end, ordering: .relaxed)
        closed.store(true, ordering: .releasing)
        done.wait()
        var r = report
        r.store.drainSeconds = (clock.now - started).seconds
        r.store.backpressureWaits = backpressureWaits
        return r
    }

    // MARK: Writer thread

    private func run() {
        let clock = ContinuousClock()  // determinism-ok: batching and retry timing, never in the run's outputs
        var jitter = SplitMix64(seed: settings.seed ^ 0x5354_4F52_4557_5254)
        var batchRows = settings.initialBatchRows
        var oldestPending: ContinuousClock.Instant?
        var nextAttempt = clock.now
        var failuresInRow = 0
        var failingSince: ContinuousClock.Instant?
        var attempts = 0
        var idleSpins = 0
        var finalized = false
        // After a spill: the reader of the journal, and whether reading it failed.
        var follower: JournalFollower?
        var followFailed = false
        var stuckSince: ContinuousClock.Instant?

        while true {
            // The ring's next pages are mapped here, not by the core's first pushes.
            ring.populateAhead()
            // Take from the ring (or the journal) unless too much is already waiting for the store.
            var took = 0
            var polled = false  // the journal was read (and held `took` records)
            if projector.pending.count < settings.maxPendingRows && !followFailed {
                if let f = follower {
                    polled = true
                    do { took = try f.poll(limit: 4_096) { record in consumeJournaled(record) } } catch {
                        followFailed = true
                        report.store.stale = "the store writer cannot read the journal (\(error)); the journal is complete: rebuild with `retrace journal rebuild-store`"
                    }
                } else {
                    took = ring.popBatch(max: 4_096) { message in message.withEncoded { consume($0, message.sequence) } }
                    let from = took == 0 ? spillFrom.load(ordering: .acquiring) : 0
                    if from != 0 {
                        // The core spilled: what it pushed before is in the ring, the rest in the journal.
                        took = ring.popBatch(max: 4_096) { message in message.withEncoded { consume($0, message.sequence) } }
                        if took == 0 {
                            follower = JournalFollower(directory: spillJournal.unsafelyUnwrapped.directory, segment: spillSegment.load(ordering: .relaxed), lastSequence: nil, from: from, references: .skip)
                            report.store.spilledFrom = from
                        }
                    }
                }
                if took > 0, oldestPending == nil, !projector.pending.isEmpty { oldestPending = clock.now }
            }
            var isClosed = false
            if took == 0 && closed.load(ordering: .acquiring) {
                let end = journalEnd.load(ordering: .relaxed)
                if let f = follower {
                    // Up to the journal's last record; without it, what the files hold now.
                    isClosed = followFailed || (end != 0 && (f.lastSequence ?? 0) >= end) || (end == 0 && polled)
                    if !isClosed && polled {
                        // The journal is finished: its end must come. Never wait for it forever.
                        if stuckSince == nil { stuckSince = clock.now }
                        if (clock.now - stuckSince!).seconds >= 10 {
                            report.store.stale = "the store writer read the journal to #\(f.lastSequence ?? 0) of \(end); the journal is complete: rebuild with `retrace journal rebuild-store`"
                            isClosed = true
                        }
                    }
                } else {
                    isClosed = ring.count == 0 && spillFrom.load(ordering: .acquiring) == 0
                }
            } else if took > 0 {
                stuckSince = nil
            }
            if report.store.stale != nil {
                projector.discardPending()
                oldestPending = nil
                if isClosed { break }
                if took == 0 { idle(&idleSpins) }
                continue
            }
            if isClosed && finalized { break }
            let pendingRows = projector.pending.count
            let due = pendingRows >= batchRows || isClosed
                || (took == 0 && pendingRows > 0 && oldestPending.map { (clock.now - $0).seconds >= settings.maxDelay } ?? false)
            if due && clock.now >= nextAttempt {
                attempts += 1
                let started = clock.now
                do throws(StoreError) {
                    let inject = settings.faultEvery > 0 && (attempts % settings.faultEvery) < settings.faultBurst && attempts >= settings.faultEvery
                    let fault = inject ? StoreError(.sql, "injected fault on commit attempt \(attempts): disk I/O error (SQLITE_IOERR)") : nil
                    let rows = isClosed && !finalized ? try projector.finish(injectedFault: fault) : try projector.write(injectedFault: fault)
                    if isClosed { finalized = true }
                    if rows > 0 {
                        let latency = (clock.now - started).seconds
                        report.store.commits += 1
                        report.store.rows += UInt64(rows)
                        report.store.maxCommitSeconds = max(report.store.maxCommitSeconds, latency)
                        if latency > settings.commitBudget { batchRows = max(settings.minBatchRows, batchRows / 2) }
                        else if latency < settings.commitBudget / 4 && rows >= batchRows { batchRows = min(settings.maxBatchRows, batchRows * 2) }
                    }
                    failuresInRow = 0
                    failingSince = nil
                    oldestPending = nil
                } catch {
                    report.store.failedCommits += 1
                    failuresInRow += 1
                    let now = clock.now
                    if failingSince == nil { failingSince = now }
                    if (now - failingSince!).seconds >= settings.giveUpSeconds {
                        report.store.stale = "the store failed for \(settings.giveUpSeconds) s (last error: \(error.message)); the journal is complete: rebuild with `retrace journal rebuild-store`"
                        continue
                    }
                    // Exponential backoff with seeded jitter in [½, 1] of the step; the breaker
                    // holds off longer after `breakerThreshold` failures in a row.
                    let step = min(settings.retryMax, settings.retryBase * Double(1 << min(failuresInRow - 1, 30)))
                    var wait = step * (0.5 + 0.5 * jitter.nextUnitDouble())
                    if failuresInRow % settings.breakerThreshold == 0 {
                        report.store.breakerOpens += 1
                        wait = settings.breakerCooldown
                    }
                    nextAttempt = now + .nanoseconds(Int64(wait * 1e9))
                }
                continue
            }
            if took == 0 { idle(&idleSpins) } else { idleSpins = 0 }
        }
        report.fingerprint = fingerprint.hex
        report.outputs = fingerprint.count
        report.store.finalBatchRows = batchRows
    }

    /// Fingerprints and projects one event (writer thread).
    private func consume(_ bytes: UnsafeRawBufferPointer, _ sequence: UInt64) {
        report.messages += 1
        // Only events this code encoded arrive here; a decode failure is a bug.
        let event: Event
        do { event = try EventCodec.decode(bytes, sequence: sequence) } catch {
            fatalError("store writer: cannot decode event #\(sequence): \(error)")
        }
        if event.body.kind.isOutput { fingerprint.add(encoded: bytes) }
        projector.project(event)
    }

    /// A record read from the journal after a spill: the events the core would have handed
    /// over (outputs and instrument definitions) are consumed; inputs and session markers
    /// are not.
    private func consumeJournaled(_ record: JournalRecord) {
        let p = record.payload
        guard p.count >= 2, p[0] == EventCodec.version, let kind = EventKind(rawValue: p[1]), kind.isOutput || kind == .instrumentDefined else { return }
        consume(p, record.sequence)
    }

    /// Waits a little when there is nothing to do: spins first, then sleeps up to 1 ms.
    private func idle(_ spins: inout Int) {
        spins += 1
        if spins < 64 { return }
        usleep(UInt32(min(1_000, 10 * (spins - 63))))
    }
}
