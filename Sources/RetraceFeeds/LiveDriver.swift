import Foundation
import RetraceCore
import RetraceEngine
import RetraceJournal
import RetraceStore
import Synchronization

/// Signals a live session listens to (set from the signal handler, read by the driver).
public let liveStopSignal = Atomic<Int32>(0)
public let liveKillSignal = Atomic<Int32>(0)

/// The live mode driver: the run folder, the fsync'd journal, the store writer, the
/// gateway's I/O thread and the core loop on the calling thread.
///
/// The core loop takes a batch of inputs from the gateway's ring, journals all of them and
/// makes them durable with one `fdatasync` (group commit), and only then lets the engine
/// process them. The outputs those inputs caused are made durable by a second commit
/// before any request they decided is handed to the gateway: nothing leaves the process
/// that the journal does not hold.
public enum LiveDriver {
    public struct Settings: Sendable {
        public var overrides: [(String, String)]
        public var out: String
        public var venueHost: String
        public var venuePort: UInt16
        public var engine = LiveEngineSettings()
        public var journal = JournalOptions(syncMode: .fsync)
        /// The store writer's batching, retry, breaker and spill settings (`store.*` of the config).
        public var store = StoreWriter.Settings()
        public var metricsHost: String?
        public var metricsPort: UInt16 = 0
        public var metricsAllowRemote = false
        public var killFile: String?
        public var stayAfterEnd = false
        /// Stop gracefully after this many seconds (nil: run until a signal or the end of data).
        public var durationSeconds: Double?
        /// How long a stop waits for the venue to confirm the cancels.
        public var stopGraceSeconds: Double = 3
        public var replace = false
        /// Called with the metrics port once it is bound (tests, the CLI's log line).
        public var onMetricsBound: (@Sendable (UInt16) -> Void)?
        public init(overrides: [(String, String)], out: String, venueHost: String, venuePort: UInt16) {
            (self.overrides, self.out, self.venueHost, self.venuePort) = (overrides, out, venueHost, venuePort)
        }
    }

    /// Starts a new live run of `S`.
    public static func run<S: Strategy>(_ type: S.Type, settings: Settings) throws(EngineError) -> RunManifest {
        let (strategy, account, values) = try BacktestDriver.prepare(type, settings.overrides)
        let path = RunFolder.normalized(settings.out)
        let fm = FileManager.default
        if fm.fileExists(atPath: path) {
            guard settings.replace else { throw EngineError(.runFolder, "\(path) already exists; choose another --out, pass --force to replace it, or --resume it") }
            do { try fm.removeItem(atPath: path) } catch { throw EngineError(.runFolder, "cannot remove \(path): \(error.localizedDescription)") }
        }
        do { try fm.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw EngineError(.runFolder, "cannot create run folder \(path): \(error.localizedDescription)")
        }
        let (runIDBytes, runID) = RunFolder.newRunID(for: path)
        var manifest = RunManifest(runID: runID, mode: "live", status: "running", codeVersion: retraceVersion, startedAt: RunFolder.wallClockNow())
        manifest.strategy = S.name
        manifest.parameters = Dictionary(uniqueKeysWithValues: values.values.map { ($0.name, $0.value) })
        manifest.dataset = "\(settings.venueHost):\(settings.venuePort)"
        manifest.syncMode = settings.journal.syncMode.rawValue
        manifest.live = LiveRecord(venue: manifest.dataset, session: runID, settings: settings.engine)
        try RunFolder.writeManifest(manifest, to: path)
        let journal: JournalWriter
        do { journal = try JournalWriter(directory: RunFolder.journalPath(path), runID: runIDBytes, options: settings.journal) } catch {
            throw EngineError(.journal, error.message)
        }
        let session = try Session(strategy: strategy, account: account, values: values, journal: journal, path: path, manifest: manifest, settings: settings)
        return try session.run(sessionID: runIDBytes, statusQueries: [])
    }

    /// Resumes a live run that did not end cleanly (killed, crashed, power lost).
    public static func resume<S: Strategy>(_ type: S.Type, settings: Settings) throws(EngineError) -> RunManifest {
        let path = RunFolder.normalized(settings.out)
        var manifest = try RunFolder.readManifest(path)
        guard manifest.mode == "live", var live = manifest.live else { throw EngineError(.badInput, "\(path) is a \(manifest.mode) run; --resume takes a live run") }
        guard manifest.status != "completed" else { throw EngineError(.badInput, "\(path) completed cleanly; there is nothing to resume (start a new run with another --out)") }
        let (strategy, account, values) = try BacktestDriver.prepare(type, manifest.parameterList)
        var s = settings
        s.engine = live.settings
        live.resumes += 1
        manifest.live = live
        manifest.status = "running"
        manifest.reason = ""
        // The store is a projection: rebuilt from the journal below.
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: RunFolder.storePath(path) + suffix) }
        let journal: JournalWriter
        let recovery: JournalRecovery
        do { (journal, recovery) = try JournalWriter.reopen(directory: RunFolder.journalPath(path), options: settings.journal) } catch {
            throw EngineError(.journal, error.message)
        }
        if let torn = recovery.tornTail { FileHandle.standardError.write(Data("live: resume: \(torn) — truncated (never acknowledged)\n".utf8)) }
        try RunFolder.writeManifest(manifest, to: path)
        let session = try Session(strategy: strategy, account: account, values: values, journal: journal, path: path, manifest: manifest, settings: s)
        return try session.resume(sessionID: RunFolder.runIDBytes(manifest.runID))
    }

    /// One run of the core loop (a new run or a resumed one).
    final class Session<S: Strategy> {
        let engine: LiveEngine<S>
        let recorder: OutputRecorder
        let journal: JournalWriter
        let writer: StoreWriter
        let store: RunStore
        let values: ParameterValues
        let startingCash: Money
        let path: String
        var manifest: RunManifest
        let settings: Settings
        var commits = LatencyHistogram()
        var commitCount: UInt64 = 0
        let started = ContinuousClock().now  // determinism-ok: wall time of the run, reported only

        init(strategy: S, account: AccountConfig, values: ParameterValues, journal: JournalWriter, path: String, manifest: RunManifest, settings: Settings) throws(EngineError) {
            self.values = values
            startingCash = account.cash
            self.journal = journal
            self.path = path
            self.manifest = manifest
            self.settings = settings
            store = try BacktestDriver.openStore(path)
            writer = StoreWriter(projector: StoreProjector(store: store), settings: settings.store)
            // The writer sees events in journal order (a definition as it is journaled, the
            // outputs as they are, and while resuming each re-derived output after its input),
            // so a full ring may send it to the journal rather than hold the core.
            writer.spill(to: journal)
            recorder = OutputRecorder(journal: journal, writer: writer)
            engine = LiveEngine(strategy: strategy, account: account, recorder: recorder, settings: settings.engine)
        }

        func run(sessionID: [UInt8], statusQueries: [(ClientOrderID, InstrumentID)]) throws(EngineError) -> RunManifest {
            try BacktestDriver.saveCatalog(store, manifest, values)
            writer.start()
            try recorder.recordControl(.sessionStarted(SessionStarted(mode: .live, seed: 0)), at: .zero)
            return try loop(sessionID: sessionID, lastReport: 0, statusQueries: statusQueries)
        }

        func resume(sessionID: [UInt8]) throws(EngineError) -> RunManifest {
            try BacktestDriver.saveCatalog(store, manifest, values)
            writer.start()
            // Read back what the journal holds: inputs to re-apply (with a segment at or
            // before each one's), outputs to check.
            var inputs: [(event: Event, segment: Int)] = []
            var outputs: [(sequence: UInt64, bytes: [UInt8])] = []
            do throws(JournalError) {
                let reader = try JournalReader(directory: RunFolder.journalPath(path))
                while true {
                    let segment = reader.currentSegment  // the next record is in this one or a later one
                    guard let (record, event) = try reader.nextEvent() else { break }
                    let kind = event.body.kind
                    if kind.isOutput { outputs.append((record.sequence, Array(record.payload))) } else if kind != .sessionStarted && kind != .sessionEnded { inputs.append((event, segment)) }
                }
            } catch { throw EngineError(.journal, error.message) }
            let resume = ResumeOutputs(outputs)
            recorder.resume = resume
            // The outputs derived again are records the journal holds, each after its input:
            // a spill reads the journal from the input's segment on.
            for (e, segment) in inputs {
                writer.spillSegmentHint = segment
                recorder.countInput()
                let before = resume.exhausted
                try engine.process(e)
                // Requests decided before the crash may have left: never send them again
                // (unanswered orders are asked about below).
                if !before || !resume.exhausted {
                    engine.outbound.removeAll()
                }
            }
            guard resume.exhausted else {
                throw EngineError(.badInput, "resume: the journal holds \(resume.remaining) outputs that its inputs no longer produce; the code or the parameters changed")
            }
            recorder.resume = nil
            writer.spillSegmentHint = nil
            FileHandle.standardError.write(Data("live: resumed \(path): \(inputs.count) inputs and \(outputs.count) outputs re-applied; \(engine.open.count) orders open\n".utf8))
            try recorder.recordControl(.sessionStarted(SessionStarted(mode: .live, seed: 0)), at: engine.clock.now)
            // The crash cut the connection: say so before anything new happens.
            var lost = Event(eventTime: engine.clock.now, receiveTime: engine.clock.now, body: .sessionControl(SessionControl(.disconnected, a: engine.counters.lastReportSequence)))
            do { lost.sequence = try journal.append(lost) } catch { throw EngineError(.journal, error.message) }
            recorder.countInput()
            try engine.process(lost)
            // Unacknowledged orders decided before the crash: the venue may never have seen
            // them. Ask (orders decided since, still to be sent, are not asked about).
            var toSend = Set<UInt64>()
            for case .new(let o) in engine.outbound.map(\.request) { toSend.insert(o.orderID.raw) }
            let queries = engine.openIDs.compactMap { id -> (ClientOrderID, InstrumentID)? in
                let o = engine.open[id]!
                return o.acknowledged || toSend.contains(id) ? nil : (o.order.orderID, o.order.instrument)
            }
            return try loop(sessionID: sessionID, lastReport: engine.counters.lastReportSequence, statusQueries: queries)
        }

        private func loop(sessionID: [UInt8], lastReport: UInt64, statusQueries: [(ClientOrderID, InstrumentID)]) throws(EngineError) -> RunManifest {
            var options = LiveGateway.Options(host: settings.venueHost, port: settings.venuePort, sessionID: sessionID)
            options.lastReportSequence = lastReport
            options.killFile = settings.killFile
            options.stayAfterEnd = settings.stayAfterEnd
            let gateway = LiveGateway(options: options, statusQueries: statusQueries)
            var metrics: MetricsServer?
            if let host = settings.metricsHost {
                do { metrics = try MetricsServer(host: host, port: settings.metricsPort, allowRemote: settings.metricsAllowRemote) } catch {
                    throw EngineError(.badInput, error.message)
                }
                metrics?.start()
                settings.onMetricsBound?(metrics!.port)
            }
            gateway.start()
            // From here on the driver hands each new definition to the writer as it journals it.
            engine.publishesDefinitions = false
            var defined = Set(engine.ledger.portfolio.instruments.compactMap { $0?.id.raw })
            var batch: [Event] = []
            // Requests decided while resuming (after the journal's last output) go first.
            if !engine.outbound.isEmpty {
                try commit()
                handOver(gateway)
            }
            batch.reserveCapacity(512)
            var idle = 0
            var stopDeadline: Int64?
            var lastPublish: Int64 = 0
            let durationDeadline = settings.durationSeconds.map { WallClock.monotonicNanos() + Int64($0 * 1e9) }
            var failure: EngineError?
            do throws(EngineError) {
                while true {
                    if liveStopSignal.load(ordering: .relaxed) != 0 { gateway.stopRequested.store(true, ordering: .relaxed) }
                    if liveKillSignal.load(ordering: .relaxed) != 0 { gateway.killRequested.store(true, ordering: .relaxed) }
                    let now = WallClock.monotonicNanos()
                    if let d = durationDeadline, now >= d { gateway.stopRequested.store(true, ordering: .relaxed) }
                    if let metrics, now - lastPublish >= 100_000_000 {
                        lastPublish = now
                        metrics.publish(page(gateway))
                    }
                    batch.removeAll(keepingCapacity: true)
                    _ = gateway.inbound.popBatch(max: 512) { batch.append($0) }
                    if batch.isEmpty {
                        if engine.stopping {
                            if stopDeadline == nil { stopDeadline = now + Int64(settings.stopGraceSeconds * 1e9) }
                            if engine.open.isEmpty || now >= stopDeadline! { break }
                        }
                        idle += 1
                        if idle > 64 { gateway.coreBell.sleep(timeoutMillis: 1) { gateway.inbound.count > 0 } }
                        continue
                    }
                    idle = 0
                    // 1. Journal the batch and make it durable: one fdatasync for all of it.
                    for i in batch.indices {
                        do { batch[i].sequence = try journal.append(batch[i]) } catch { throw EngineError(.journal, error.message) }
                        recorder.countInput()
                        // A definition the engine will keep (not one sent again after a reconnect).
                        if case .instrumentDefined(let d) = batch[i].body, defined.insert(d.instrument.id.raw).inserted { recorder.publishInput(batch[i]) }
                    }
                    try commit()
                    // 2. Only now does the core act on it.
                    for e in batch { try engine.process(e) }
                    // 3. The outputs it caused are durable before any request leaves.
                    if journal.nextSequence &- 1 > journal.durableSequence { try commit() }
                    handOver(gateway)
                }
            } catch {
                failure = error
            }
            gateway.finish()
            metrics?.publish(page(gateway))
            metrics?.stop()
            let stats = gateway.snapshot
            var live = manifest.live!
            // Counted from the journaled inputs: whole-run figures, across resumes.
            live.reconnects = Int(engine.counters.reconnects)
            live.gaps = Int(engine.counters.gaps)
            live.breakerTrips = Int(engine.counters.breakerTrips)
            live.localRejects = Int(engine.counters.localRejects)
            live.venueRejects = Int(engine.counters.venueRejects)
            live.statusQueries += stats.statusQueries
            live.killed = live.killed || engine.killed
            if let e = engine.timeSync.estimate {
                live.clockOffsetMillis = e.offsetNanos / 1e6
                live.clockDriftPPM = e.driftPPB / 1000
                live.clockOffsetBoundMillis = e.offsetBoundNanos.map { $0 / 1e6 }
                live.timeSyncSamples = e.samples
            }
            live.commits += commitCount
            if commits.count > 0 {
                live.commitP50Micros = Double(commits.value(atQuantile: 0.5)) / 1000
                live.commitP99Micros = Double(commits.value(atQuantile: 0.99)) / 1000
            }
            if stats.tickToOrder.count > 0 {
                live.tickToOrderP50Micros = Double(stats.tickToOrder.value(atQuantile: 0.5)) / 1000
                live.tickToOrderP99Micros = Double(stats.tickToOrder.value(atQuantile: 0.99)) / 1000
            }
            manifest.live = live
            manifest.reference = engine.ledger.referenceSummary
            if failure == nil {
                do throws(EngineError) {
                    try engine.finish()
                    do { try journal.finish() } catch { throw EngineError(.journal, error.message) }
                } catch { failure = error }
            }
            let report = writer.finish(journalEnd: failure == nil ? journal.nextSequence &- 1 : 0)
            manifest.store = report.store
            manifest.events = recorder.inputEvents
            manifest.orders = recorder.orders
            manifest.fills = recorder.fills
            manifest.pnl = (engine.ledger.portfolio.equity - startingCash).text
            manifest.wallSeconds = (ContinuousClock().now - started).seconds  // determinism-ok: reported only
            manifest.endedAt = RunFolder.wallClockNow()
            if let failure {
                manifest.status = "failed"
                manifest.reason = failure.message
                try? BacktestDriver.saveCatalog(store, manifest, values)
                try RunFolder.writeManifest(manifest, to: path)
                throw failure
            }
            manifest.status = "completed"
            manifest.fingerprint = report.fingerprint
            try BacktestDriver.saveCatalog(store, manifest, values)
            try RunFolder.writeManifest(manifest, to: path)
            return manifest
        }

        /// Gives the gateway the requests the engine decided (their outputs are durable).
        private func handOver(_ gateway: LiveGateway) {
            for item in engine.outbound {
                while !gateway.outbound.push(item) { usleep(20) }
            }
            engine.outbound.removeAll(keepingCapacity: true)
            gateway.ioBell.ring()
        }

        private func commit() throws(EngineError) {
            let t0 = WallClock.monotonicNanos()
            do { try journal.commit() } catch { throw EngineError(.journal, error.message) }
            commits.record(WallClock.monotonicNanos() - t0)
            commitCount += 1
        }

        /// The metrics page.
        private func page(_ gateway: LiveGateway) -> String {
            let g = gateway.snapshot
            let c = engine.counters
            var p = PrometheusPage()
            p.add("retrace_events_total", "counter", "Inputs journaled and processed, by kind.", Double(c.marketEvents), labels: [("kind", "market")])
            p.add("retrace_events_total", "counter", "Inputs journaled and processed, by kind.", Double(c.reports), labels: [("kind", "report")])
            p.add("retrace_events_total", "counter", "Inputs journaled and processed, by kind.", Double(c.heartbeats), labels: [("kind", "heartbeat")])
            p.add("retrace_inputs_total", "counter", "Every input journaled.", Double(recorder.inputEvents))
            p.add("retrace_orders_total", "counter", "Orders submitted by the strategy.", Double(recorder.orders))
            p.add("retrace_fills_total", "counter", "Fills received.", Double(recorder.fills))
            p.add("retrace_rejects_total", "counter", "Orders rejected, by where.", Double(c.venueRejects), labels: [("source", "venue")])
            p.add("retrace_rejects_total", "counter", "Orders rejected, by where.", Double(c.localRejects), labels: [("source", "gateway")])
            p.add("retrace_reconnects_total", "counter", "Reconnections to the venue.", Double(c.reconnects))
            p.add("retrace_sequence_gaps_total", "counter", "Sequence gaps detected on the venue stream.", Double(c.gaps))
            p.add("retrace_breaker_trips_total", "counter", "Times the gateway circuit breaker opened.", Double(c.breakerTrips))
            p.add("retrace_connected", "gauge", "1 while logged on to the venue.", engine.connected ? 1 : 0)
            p.add("retrace_kill_switch", "gauge", "1 once the kill switch tripped.", engine.killed ? 1 : 0)
            p.add("retrace_open_orders", "gauge", "Orders the venue may still act on.", Double(engine.open.count))
            p.add("retrace_journal_commits_total", "counter", "fdatasync group commits.", Double(commitCount))
            for q in [0.5, 0.9, 0.99] {
                p.add("retrace_journal_commit_seconds", "summary", "Journal group commit (write + fdatasync) latency.",
                      commits.count == 0 ? .nan : Double(commits.value(atQuantile: q)) / 1e9, labels: [("quantile", String(q))])
            }
            p.add("retrace_journal_commit_seconds_count", "counter", "Journal commits measured.", Double(commits.count))
            for q in [0.5, 0.9, 0.99] {
                p.add("retrace_tick_to_order_seconds", "summary", "From an input's receive time to the order it caused written to the venue socket.",
                      g.tickToOrder.count == 0 ? .nan : Double(g.tickToOrder.value(atQuantile: q)) / 1e9, labels: [("quantile", String(q))])
            }
            p.add("retrace_tick_to_order_seconds_count", "counter", "Orders measured.", Double(g.tickToOrder.count))
            p.add("retrace_ring_depth", "gauge", "Items waiting in a ring.", Double(gateway.inbound.count), labels: [("ring", "inbound")])
            p.add("retrace_ring_depth", "gauge", "Items waiting in a ring.", Double(gateway.outbound.count), labels: [("ring", "outbound")])
            if let e = engine.timeSync.estimate {
                p.add("retrace_venue_clock_offset_seconds", "gauge", "Venue clock minus local clock, from heartbeats.", e.offsetNanos / 1e9)
                p.add("retrace_venue_clock_drift_ppm", "gauge", "Venue clock drift against the local clock.", e.driftPPB / 1000)
            }
            let portfolio = engine.ledger.portfolio
            p.add("retrace_equity", "gauge", "Account equity at current marks.", Double(portfolio.equity.text) ?? .nan)
            for (i, instrument) in portfolio.instruments.enumerated() {
                guard let instrument else { continue }
                let position = portfolio.position(InstrumentID(UInt32(i)))
                let symbol = instrument.symbol.description
                p.add("retrace_position", "gauge", "Position per instrument (units).", Double(instrument.text(position.quantity)) ?? .nan, labels: [("instrument", symbol)])
                p.add("retrace_realized_pnl", "gauge", "Realized PnL before fees per instrument.", Double(position.realizedPnL.text) ?? .nan, labels: [("instrument", symbol)])
                p.add("retrace_fees", "gauge", "Fees paid per instrument.", Double(position.fees.text) ?? .nan, labels: [("instrument", symbol)])
            }
            return p.text
        }
    }
}

extension LiveDriver {
    /// Replays a live run from its journal alone: the same inputs (market data, the venue's
    /// answers, heartbeats, connection changes) through the same live engine, no network.
    /// Returns the replay's manifest (fingerprint and whether it matches).
    public static func replay<S: Strategy>(_ type: S.Type, original: String, recorded: RunManifest, out: String, speed: ReplaySpeed, replace: Bool,
                                           overrides: [(String, String)]) throws(EngineError) -> RunManifest {
        guard let live = recorded.live else { throw EngineError(.badInput, "\(original) is not a live run") }
        let (strategy, account, values) = try BacktestDriver.prepare(type, overrides)
        let folder = try RunFolder(path: out, replace: replace)
        let (runIDBytes, runID) = RunFolder.newRunID(for: out)
        var manifest = RunManifest(runID: runID, mode: "replay", status: "running", codeVersion: retraceVersion, startedAt: RunFolder.wallClockNow())
        let finalParameters = Dictionary(uniqueKeysWithValues: values.values.map { ($0.name, $0.value) })
        var record = ReplayRecord(of: original, originalFingerprint: recorded.fingerprint, speed: speed.description, venue: "recorded",
                                  whatIf: S.name != recorded.strategy || finalParameters != recorded.parameters)
        manifest.strategy = S.name
        manifest.parameters = finalParameters
        manifest.dataset = original
        manifest.inputs = [original]
        manifest.live = LiveRecord(venue: live.venue, session: live.session, settings: live.settings)
        manifest.replay = record
        try folder.write(manifest)
        let started = ContinuousClock().now  // determinism-ok: wall time of the run, reported only
        let store = try BacktestDriver.openStore(folder.stagingPath)
        try BacktestDriver.saveCatalog(store, manifest, values)
        let journal: JournalWriter
        do { journal = try JournalWriter(directory: RunFolder.journalPath(folder.stagingPath), runID: runIDBytes, options: JournalOptions(syncMode: .none)) } catch {
            throw EngineError(.journal, error.message)
        }
        let writer = StoreWriter(projector: StoreProjector(store: store))
        let recorder = OutputRecorder(journal: journal, writer: writer)
        let engine = LiveEngine(strategy: strategy, account: account, recorder: recorder, settings: live.settings)
        // Definitions go to the store writer as they are journaled (journal order: a full ring may send it to the journal).
        engine.publishesDefinitions = false
        var defined = Set<UInt32>()
        writer.spill(to: journal)
        writer.start()
        var source = try ReplayInput(runDirectory: original, speed: speed)
        do throws(EngineError) {
            try recorder.recordControl(.sessionStarted(SessionStarted(mode: .replay, seed: 0)), at: .zero)
            while let input = try source.next() {
                var e = input.event
                if let bytes = input.encoded {
                    do { e.sequence = try recorder.recordInput(encoded: bytes) } catch { throw EngineError(.journal, error.message) }
                } else {
                    e = try recorder.recordInput(e)
                }
                if case .instrumentDefined(let d) = e.body, defined.insert(d.instrument.id.raw).inserted { recorder.publishInput(e) }
                try engine.process(e)
                engine.outbound.removeAll(keepingCapacity: true)
            }
            try engine.finish()
            do { try journal.finish() } catch { throw EngineError(.journal, error.message) }
        } catch {
            _ = writer.finish()
            manifest.status = "failed"
            manifest.reason = error.message
            try folder.write(manifest)
            try folder.commit()
            throw error
        }
        let report = writer.finish(journalEnd: journal.nextSequence &- 1)
        manifest.store = report.store
        manifest.status = "completed"
        manifest.fingerprint = report.fingerprint
        manifest.events = recorder.inputEvents
        manifest.orders = recorder.orders
        manifest.fills = recorder.fills
        manifest.pnl = (engine.ledger.portfolio.equity - account.cash).text
        manifest.wallSeconds = (ContinuousClock().now - started).seconds  // determinism-ok: reported only
        manifest.endedAt = RunFolder.wallClockNow()
        if case .paced = speed, source.pacing.count > 0 {
            let s = source.pacing.summary
            record.pacingErrorP50Micros = Double(s.p50) / 1000
            record.pacingErrorP99Micros = Double(s.p99) / 1000
            record.pacingErrorMaxMicros = Double(s.max) / 1000
        }
        record.matches = manifest.fingerprint == recorded.fingerprint
        manifest.replay = record
        try BacktestDriver.saveCatalog(store, manifest, values)
        try folder.write(manifest)
        try folder.commit()
        return manifest
    }
}
