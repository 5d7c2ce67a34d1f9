import Foundation
import Testing
@testable import RetraceCore
@testable import RetraceEngine
@testable import RetraceFeeds
@testable import RetraceJournal
@testable import RetraceStore
@testable import RetraceStrategies

/// The store writer under failure: a run whose commits fail and are retried (or given up
/// on) gives the same fingerprint, and, when the store recovers, the same tables.
@Suite("Store writer")
struct StoreWriterTests {
    struct Tables: Equatable {
        var fills: [FillRow], positions: [PositionRow], equity: [EquityRow], trades: [TradeRow], orders: [OrderRow]
        init(_ path: String) throws {
            let s = try RunStore(path: path)
            (fills, positions, equity, trades, orders) = (try s.fills(), try s.positions(), try s.equity(), try s.trades(), try s.orders())
        }
    }

    /// ema-cross over 20,000 seeded quotes (about 900 fills, 3,600 store rows).
    func run(_ out: String, _ store: StoreWriter.Settings) throws -> RunManifest {
        var source = ArrayInput(PeerQuoteWorkload.events(count: 20_000))
        var settings = BacktestDriver.Settings(overrides: [("fast", "5"), ("slow", "20"), ("size", "0.1")], dataset: "peer", inputs: [], out: out, seed: 7)
        settings.store = store
        return try BacktestDriver.run(EmaCross.self, source: &source, settings: settings)
    }

    func small() -> StoreWriter.Settings {
        var s = StoreWriter.Settings()
        (s.ringSlots, s.initialBatchRows, s.minBatchRows, s.maxDelay) = (64, 32, 16, 0.001)
        (s.retryBase, s.retryMax, s.breakerCooldown) = (0.0002, 0.002, 0.005)
        return s
    }

    @Test("failing commits are rolled back and retried: same fingerprint, same tables, the core waited instead of losing rows")
    func retries() throws {
        let (a, b) = (temporaryDirectory("sw-clean"), temporaryDirectory("sw-faults"))
        defer { for d in [a, b] { try? FileManager.default.removeItem(atPath: d) } }
        let clean = try run(a, StoreWriter.Settings())
        var faulty = small()
        (faulty.faultEvery, faulty.faultBurst, faulty.spill) = (3, 1, false)
        let m = try run(b, faulty)
        #expect(clean.fills > 500)
        #expect(m.fingerprint == clean.fingerprint)
        let report = try #require(m.store)
        #expect(report.failedCommits > 0)
        #expect(report.commits > report.failedCommits)
        #expect(report.backpressureWaits > 0 && report.spilledFrom == nil)
        #expect(report.stale == nil)
        #expect(try Tables(b + "/store.sqlite") == Tables(a + "/store.sqlite"))
    }

    /// A data run of 20,000 seeded quotes (and a quote out of time order after them when
    /// `broken`); the backtest over it keeps its inputs by reference.
    func dataRun(_ path: String, broken: Bool = false) throws -> String {
        _ = try ImportDriver.writeDataRun(out: path, replace: true, inputs: ["peer"], dataset: "peer", instruments: [PeerQuoteWorkload.instrument]) { journal in
            var count: UInt64 = 0
            var last: Event?
            try PeerQuoteWorkload.generate(count: 20_000) { (e: Event) throws(JournalError) in
                try journal.append(e)
                (count, last) = (count + 1, e)
            }
            if broken, var e = last {
                (e.eventTime, e.receiveTime) = (Timestamp(nanos: e.eventTime.nanos - 5_000_000), Timestamp(nanos: e.receiveTime.nanos - 5_000_000))
                try journal.append(e)
                count += 1
            }
            return count
        }
        return path
    }

    /// ema-cross over a data run, its journal in segments small enough to rotate while the
    /// store writer follows them.
    func run(data: String, _ out: String, _ store: StoreWriter.Settings) throws -> RunManifest {
        var source = try JournalInput(runDirectory: data, readAhead: false)
        var settings = BacktestDriver.Settings(overrides: [("fast", "5"), ("slow", "20"), ("size", "0.1")], dataset: data, inputs: [], out: out, seed: 7,
                                               journal: JournalOptions(syncMode: .none, segmentBytes: 64 << 10))
        settings.store = store
        return try BacktestDriver.run(EmaCross.self, source: &source, settings: settings)
    }

    @Test("a full ring does not stop the core: the writer reads the rest from the journal (across segments, past inputs kept by reference or copied), with failing commits too; same fingerprint, same tables")
    func spills() throws {
        let dirs = ["sw-data", "sw-ring", "sw-spill", "sw-spill-faults"].map(temporaryDirectory)
        defer { for d in dirs { try? FileManager.default.removeItem(atPath: d) } }
        let data = try dataRun(dirs[0] + "/data")
        let ring = try run(data: data, dirs[1], StoreWriter.Settings())
        #expect(ring.fills > 500 && ring.store?.spilledFrom == nil)
        var tiny = small()
        tiny.ringSlots = 4
        let spilled = try run(data: data, dirs[2], tiny)
        var faulty = tiny
        (faulty.faultEvery, faulty.faultBurst) = (3, 1)
        let failing = try run(data: data, dirs[3], faulty)
        for (m, dir) in [(spilled, dirs[2]), (failing, dirs[3])] {
            let report = try #require(m.store)
            #expect(report.spilledFrom != nil && report.backpressureWaits == 0 && report.stale == nil)
            #expect(m.fingerprint == ring.fingerprint)
            #expect(try Tables(dir + "/store.sqlite") == Tables(dirs[1] + "/store.sqlite"))
        }
        #expect((failing.store?.failedCommits ?? 0) > 0)
        #expect(try JournalFormat.segmentIndexes(in: dirs[2] + "/journal").count > 3)
        // Inputs journaled as copies (events held in memory): the writer steps over them too.
        let (c, d) = (temporaryDirectory("sw-copies"), temporaryDirectory("sw-copies-spill"))
        defer { for x in [c, d] { try? FileManager.default.removeItem(atPath: x) } }
        let clean = try run(c, StoreWriter.Settings())
        let copied = try run(d, tiny)
        #expect(copied.store?.spilledFrom != nil && copied.fingerprint == clean.fingerprint)
        #expect(try Tables(d + "/store.sqlite") == Tables(c + "/store.sqlite"))
    }

    @Test("a run that fails after spilling ends promptly: the writer keeps what the journal holds")
    func spillsThenFails() throws {
        let dirs = ["sw-data-bad", "sw-spill-bad"].map(temporaryDirectory)
        defer { for d in dirs { try? FileManager.default.removeItem(atPath: d) } }
        let data = try dataRun(dirs[0] + "/data", broken: true)
        var tiny = small()
        tiny.ringSlots = 4
        let started = ContinuousClock.now
        #expect(throws: EngineError.self) { try run(data: data, dirs[1], tiny) }
        #expect(ContinuousClock.now - started < .seconds(5))
        let manifest = try RunFolder.readManifest(dirs[1])
        #expect(manifest.status == "failed" && manifest.reason.contains("earlier than the previous event"))
    }

    @Test("a burst of failures opens the circuit breaker; the store still catches up")
    func breaker() throws {
        let (a, b) = (temporaryDirectory("sw-clean2"), temporaryDirectory("sw-breaker"))
        defer { for d in [a, b] { try? FileManager.default.removeItem(atPath: d) } }
        let clean = try run(a, StoreWriter.Settings())
        var faulty = small()
        (faulty.faultEvery, faulty.faultBurst, faulty.breakerThreshold) = (8, 5, 5)
        let m = try run(b, faulty)
        let report = try #require(m.store)
        #expect(report.breakerOpens > 0)
        #expect(m.fingerprint == clean.fingerprint)
        #expect(try Tables(b + "/store.sqlite") == Tables(a + "/store.sqlite"))
    }

    @Test("a store that never recovers is given up on: the run completes, says so, and the journal rebuilds the store")
    func givesUp() throws {
        let (a, b) = (temporaryDirectory("sw-clean3"), temporaryDirectory("sw-dead"))
        defer { for d in [a, b] { try? FileManager.default.removeItem(atPath: d) } }
        let clean = try run(a, StoreWriter.Settings())
        var dead = small()
        (dead.faultEvery, dead.faultBurst, dead.giveUpSeconds) = (1, 1, 0.02)
        let m = try run(b, dead)
        #expect(m.status == "completed")
        #expect(m.fingerprint == clean.fingerprint)
        let stale = try #require(m.store?.stale)
        #expect(stale.contains("rebuild-store"))
        #expect(try RunStore(path: b + "/store.sqlite").fills().isEmpty)
        let rebuilt = b + "/rebuilt.sqlite"
        _ = try StoreRebuild.rebuild(run: b, into: rebuilt)
        #expect(try Tables(rebuilt) == Tables(a + "/store.sqlite"))
    }
}

@Suite("Store projector")
struct StoreProjectorTests {
    @Test("orders: a final order is written with the next batch and its slot reused; those still working are written at the finish, by id")
    func workingOrders() throws {
        let path = NSTemporaryDirectory() + "retrace-projector-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let projector = StoreProjector(store: try RunStore(path: path))
        let i = InstrumentID(0)
        var sequence: UInt64 = 0
        func project(_ body: EventBody) {
            sequence += 1
            projector.project(Event(sequence: sequence, eventTime: Timestamp(nanos: Int64(sequence)), receiveTime: Timestamp(nanos: Int64(sequence)), body: body))
        }
        func submit(_ id: UInt64) {
            project(.orderSubmitted(OrderSubmitted(orderID: ClientOrderID(id), instrument: i, side: .buy, type: .limit, sizing: .fixed,
                                                   quantity: Quantity(raw: 1), limitPrice: Price(raw: 100))))
            project(.orderAccepted(OrderAccepted(orderID: ClientOrderID(id), instrument: i)))
        }
        for id in [9, 5, 3] as [UInt64] { submit(id) }
        project(.orderCanceled(OrderCanceled(orderID: ClientOrderID(3), instrument: i, leavesQuantity: Quantity(raw: 1))))
        try projector.write()
        #expect(try projector.store.orders().map { "\($0.orderID.raw) \($0.status)" } == ["3 canceled"])
        submit(11)  // takes order 3's slot
        project(.orderCanceled(OrderCanceled(orderID: ClientOrderID(77), instrument: i, leavesQuantity: .zero)))  // unknown: ignored
        try projector.finish()
        #expect(try projector.store.orders().map { "\($0.orderID.raw) \($0.status)" } == ["3 canceled", "5 accepted", "9 accepted", "11 accepted"])
    }
}
