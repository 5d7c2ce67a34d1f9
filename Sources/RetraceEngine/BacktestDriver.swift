import Foundation
import RetraceCore
import RetraceJournal
import RetraceMarket
import RetraceStore

/// The backtest mode driver: builds a run folder, runs the engine over an input source,
/// and leaves a completed run (or a failed one that says why).
public enum BacktestDriver {
    /// Settings of one backtest.
    public struct Settings: Sendable {
        public var overrides: [(String, String)]
        public var dataset: String
        public var inputs: [String]
        public var out: String
        public var syncMode: SyncMode { journal.syncMode }
        /// How the run's journal is written (sync mode, segment size, I/O backend).
        public var journal: JournalOptions
        public var replace: Bool
        public var seed: UInt64
        /// The store writer's batching, retry and breaker settings.
        public var store = StoreWriter.Settings()
        /// CPU the core thread is pinned to (nil: not pinned).
        public var pin: Int?
        /// Latency checkpoints on every Nth event (0: off).
        public var profileEvery = 16
        /// Inputs between engine snapshots written beside the journal (0: none).
        public var snapshotEvery = 0
        /// Whether the caller's `JournalInput` should read ahead (`engine.read_ahead`; the
        /// driver takes the source as given).
        public var readAhead = JournalInput.readAheadByDefault
        /// A replay that seeks: the engine starts from this saved state (from the original
        /// run's snapshot at or before the window) instead of the first input.
        public var startState: [UInt8]?
        /// Counts the calling thread's heap allocations (benchmarks): the engine reports how
        /// many its core thread made per event after the first `warmup` events.
        public var allocationCounter: (@Sendable () -> UInt64)?
        /// `backtest`, or `replay` (the driver then records `replay` in the manifest).
        public var mode = RunMode.backtest
        /// What a replay records about its origin (nil for backtests).
        public var replay: ReplayRecord?
        /// A backtest's window (`--from`/`--until` as given; the source applies it).
        public var window: WindowRecord?
        /// Mutes the recorder until a replay's window starts (nil: never muted).
        public var gate: RecorderGate?
        /// Called after each input (replay breakpoints); true stops the run there.
        public var afterEvent: (@Sendable (Event, Ledger, SimulatedVenue) -> Bool)?
        /// Sees every recorded output (replay breakpoints).
        public var outputTap: (@Sendable (Event) -> Void)?
        public init(overrides: [(String, String)], dataset: String, inputs: [String], out: String, syncMode: SyncMode = .none, replace: Bool = false, seed: UInt64 = 0,
                    journal: JournalOptions? = nil) {
            (self.overrides, self.dataset, self.inputs, self.out, self.replace, self.seed) = (overrides, dataset, inputs, out, replace, seed)
            self.journal = journal ?? JournalOptions(syncMode: syncMode)
        }
    }

    /// Checks parameters and builds the strategy and account before anything is created.
    public static func prepare<S: Strategy>(_ type: S.Type, _ overrides: [(String, String)]) throws(EngineError) -> (S, AccountConfig, ParameterValues) {
        let values = try ParameterValues(specs: S.parameters + AccountConfig.parameters, overrides: overrides)
        return (try S(parameters: values), try AccountConfig(values), values)
    }

    /// Runs a backtest of strategy `S` over `source`. Returns the completed manifest.
    public static func run<S: Strategy, Source: InputSource>(_ type: S.Type, source: inout Source, settings: Settings) throws(EngineError) -> RunManifest {
        let (strategy, account, values) = try prepare(type, settings.overrides)
        let placement = try Placement(cpu: settings.pin)
        let folder = try RunFolder(path: settings.out, replace: settings.replace)
        let (runIDBytes, runID) = RunFolder.newRunID(for: settings.out)
        var manifest = RunManifest(runID: runID, mode: settings.mode == .replay ? "replay" : "backtest", status: "running", codeVersion: retraceVersion,
                                   startedAt: RunFolder.wallClockNow())
        manifest.replay = settings.replay
        manifest.strategy = S.name
        manifest.parameters = Dictionary(uniqueKeysWithValues: values.values.map { ($0.name, $0.value) })
        manifest.dataset = settings.dataset
        manifest.inputs = settings.inputs
        manifest.seed = settings.seed
        manifest.window = settings.window
        manifest.syncMode = settings.syncMode.rawValue
        try folder.write(manifest)
        let clock = ContinuousClock()  // determinism-ok: wall time of the run, reported only
        let started = clock.now
        var store: RunStore?
        do throws(EngineError) {
            // The store is as durable as the journal it projects: synced only when the journal is.
            let s = try openStore(folder.stagingPath, durable: settings.syncMode != .none)
            store = s
            try saveCatalog(s, manifest, values)
            let journal: JournalWriter
            var journalOptions = settings.journal
            journalOptions.singleOwner = true  // only the core loop (this thread) appends
            do { journal = try JournalWriter(directory: RunFolder.journalPath(folder.stagingPath), runID: runIDBytes, options: journalOptions) } catch {
                throw EngineError(.journal, error.message)
            }
            var writerSettings = settings.store
            writerSettings.seed = settings.seed
            writerSettings.avoidCPU = settings.pin
            let writer = StoreWriter(projector: StoreProjector(store: s), settings: writerSettings)
            writer.spill(to: journal)
            let recorder = OutputRecorder(journal: journal, writer: writer)
            if journalOptions.inputsByReference, let input = source.inputJournal {
                let path = RunFolder.absolutePath(input.directory)
                do { recorder.referenceSource = try journal.declareSource(path: path, runID: input.runID) } catch { throw EngineError(.journal, error.message) }
                manifest.inputsReferenced = path
                // Consecutive inputs go to the journal in runs (not with a replay's stepping,
                // which stops between any two inputs, nor in fsync mode).
                recorder.holdsReferences = journalOptions.syncMode != .fsync && settings.afterEvent == nil
            }
            recorder.tap = settings.outputTap
            settings.gate?.attach(recorder)
            let engine = BacktestEngine(strategy: strategy, account: account, recorder: recorder, seed: settings.seed)
            engine.mode = settings.mode
            engine.afterEvent = settings.afterEvent
            engine.allocationCounter = settings.allocationCounter
            engine.profiler = LatencyProfiler(every: settings.profileEvery)
            engine.startState = settings.startState
            engine.snapshotTag = EngineSnapshot.tag(strategy: S.name, parameters: values, seed: settings.seed)
            if settings.snapshotEvery > 0 {
                let snapshots = SnapshotStore(journalDirectory: RunFolder.journalPath(folder.stagingPath), runID: runIDBytes)
                let sync = settings.syncMode != .none
                engine.snapshotEvery = settings.snapshotEvery
                engine.snapshotSink = { sequence, state throws(EngineError) in
                    do throws(JournalError) { try snapshots.write(sequence: sequence, state: state, sync: sync) } catch { throw EngineError(.journal, error.message) }
                }
            }
            writer.start()
            let result: RunResult
            do throws(EngineError) {
                try placement.pin()
                defer { placement.release() }
                result = try engine.run(&source)
                do throws(JournalError) { try journal.finish() } catch { throw EngineError(.journal, error.message) }
            } catch {
                _ = writer.finish()  // the writer thread ends before the failure is recorded
                throw error
            }
            let report = writer.finish(journalEnd: journal.nextSequence &- 1)
            if let stale = report.store.stale { FileHandle.standardError.write(Data("warning: \(stale)\n".utf8)) }
            manifest.store = report.store
            manifest.placement = placement.note
            let elapsed = clock.now - started
            manifest.status = result.stopped ? "stopped" : "completed"
            manifest.fingerprint = report.fingerprint
            manifest.events = result.inputEvents
            manifest.orders = result.orders
            manifest.fills = result.fills
            manifest.duplicatesDropped = result.duplicatesDropped
            manifest.hotPath = result.hotPath
            manifest.reference = result.reference
            manifest.latency = result.latency.isEmpty ? nil : result.latency
            manifest.pnl = result.pnl.text
            manifest.wallSeconds = elapsed.seconds
            manifest.endedAt = RunFolder.wallClockNow()
            try saveCatalog(s, manifest, values)
            try folder.write(manifest)
            try folder.commit()
            return manifest
        } catch {
            manifest.status = "failed"
            manifest.reason = error.message
            manifest.endedAt = RunFolder.wallClockNow()
            if let store {
                do { try saveCatalog(store, manifest, values) } catch {
                    FileHandle.standardError.write(Data("warning: could not record the failure in the store: \(error.message)\n".utf8))
                }
            }
            try folder.write(manifest)
            try folder.commit()
            throw error
        }
    }

    public static func openStore(_ folder: String, durable: Bool = true) throws(EngineError) -> RunStore {
        do { return try RunStore(path: RunFolder.storePath(folder), durable: durable) } catch { throw EngineError(.store, error.message) }
    }

    public static func saveCatalog(_ store: RunStore, _ m: RunManifest, _ values: ParameterValues) throws(EngineError) {
        let record = RunRecord(runID: m.runID, mode: m.mode, strategy: m.strategy, parameters: values.json, dataset: m.dataset, seed: m.seed,
                               startedAt: m.startedAt, endedAt: m.endedAt, status: m.status, fingerprint: m.fingerprint, events: Int64(m.events),
                               orders: Int64(m.orders), fills: Int64(m.fills), pnl: Money(parsing: m.pnl) ?? .zero, error: m.reason)
        do { try store.saveRun(record) } catch { throw EngineError(.store, error.message) }
    }
}

/// Mutes a run's recorder while a replay fast-forwards to its window. The input source
/// holds the gate and opens it at the window's first input; the driver attaches the
/// recorder once it exists.
public final class RecorderGate: @unchecked Sendable {
    private var recorder: OutputRecorder?
    /// Whether recording is muted (true until the window starts).
    public var muted: Bool { didSet { recorder?.muted = muted } }
    public init(muted: Bool) { self.muted = muted }
    func attach(_ recorder: OutputRecorder) {
        self.recorder = recorder
        recorder.muted = muted
    }
}
