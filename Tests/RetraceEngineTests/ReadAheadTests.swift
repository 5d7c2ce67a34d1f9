import Foundation
import Testing
@testable import RetraceCore
@testable import RetraceEngine
@testable import RetraceJournal
import RetraceStrategies

/// `JournalInput` with a helper thread reading ahead must hand out exactly what it hands out
/// without one: the same events, encoded bytes and source sequences, the same errors after
/// the same events, and the same run fingerprint.
@Suite("Read-ahead")
struct ReadAheadTests {
    /// Writes a data run at `dir` (its journal in 16 KiB segments) of the peer quotes with
    /// outputs and session markers between them (which the input skips).
    static func dataRun(_ dir: String, quotes: Int) throws {
        let options = JournalOptions(syncMode: .none, segmentBytes: 16 << 10, bufferBytes: 8192, indexInterval: 64)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let w = try JournalWriter(directory: dir + "/journal", runID: [UInt8](repeating: 7, count: 16), options: options)
        var rng = SplitMix64(seed: 11)
        for e in RetraceFeeds_peerEvents(count: quotes) {
            _ = try w.append(e)
            if rng.next(modulo: 9) == 0 {
                _ = try w.append(Event(eventTime: e.eventTime, receiveTime: e.receiveTime, body: .timerFired(TimerFired(timerID: rng.next()))))
            }
            if rng.next(modulo: 400) == 0 {
                _ = try w.append(Event(eventTime: e.eventTime, receiveTime: e.receiveTime, body: .sessionStarted(SessionStarted(mode: .backtest, seed: 1))))
            }
        }
        try w.finish()
    }

    struct Taken: Equatable {
        var event: Event
        var sequence: UInt64
        var bytes: [UInt8]
    }

    /// Up to `limit` inputs, each copied when handed out (its bytes read before the next
    /// call, as the engine reads them), and the error that ended the reading ("" at a clean end).
    static func read(_ run: String, readAhead: Bool, limit: Int = .max) throws -> (taken: [Taken], error: String) {
        var input = try JournalInput(runDirectory: run, readAhead: readAhead)
        #expect(input.readsAhead == readAhead)
        let own = UnsafeMutablePointer<InputEvent>.allocate(capacity: 1)
        own.initialize(to: .empty)
        defer { own.deinitialize(count: 1); own.deallocate() }
        var taken: [Taken] = []
        do {
            while taken.count < limit, let slot = try input.next(slot: own) {
                taken.append(Taken(event: slot.pointee.event, sequence: slot.pointee.sourceSequence, bytes: Array(slot.pointee.encoded!)))
            }
        } catch {
            return (taken, error.message)
        }
        return (taken, "")
    }

    @Test("the same inputs, bytes and sequences across segments, with or without reading ahead")
    func sameStream() throws {
        let dir = temporaryDirectory("read-ahead")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.dataRun(dir, quotes: 6_000)
        let segments = try JournalFormat.segmentIndexes(in: dir + "/journal").count
        #expect(segments > 20)  // the segments the reader moves past stay mapped while their events are in use
        let plain = try Self.read(dir, readAhead: false)
        let ahead = try Self.read(dir, readAhead: true)
        #expect(plain.error == "" && ahead.error == "")
        #expect(plain.taken.count == 6_001)
        #expect(ahead.taken == plain.taken)
        // `next(into:)` (through a window, say) gives the same events too.
        var input = try JournalInput(runDirectory: dir, readAhead: true)
        var copied: [Event] = []
        while let e = try input.next() { copied.append(e.event) }
        #expect(copied == plain.taken.map(\.event))
    }

    @Test("stopping early, at any point of a batch or with the reader asleep on a full ring, ends the helper")
    func earlyStop() throws {
        let dir = temporaryDirectory("read-ahead-stop")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.dataRun(dir, quotes: 9_000)
        let plain = try Self.read(dir, readAhead: false)
        for limit in [0, 1, 255, 256, 257, 1_000, 4_095, 4_096, 4_097, 8_999] {
            let ahead = try Self.read(dir, readAhead: true, limit: limit)
            #expect(ahead.taken == Array(plain.taken.prefix(limit)), "stopped after \(limit)")
        }
        // Opened and dropped without reading: no thread was started.
        _ = try JournalInput(runDirectory: dir, readAhead: true)
    }

    @Test("a damaged record and a torn tail end the input at the same event, with the same message")
    func errorsInOrder() throws {
        let dir = temporaryDirectory("read-ahead-damage")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.dataRun(dir, quotes: 3_000)
        let journal = dir + "/journal"
        // Damage a payload byte in the middle of the third segment.
        let third = journal + "/" + JournalFormat.segmentName(2)
        var bytes = [UInt8](FileManager.default.contents(atPath: third)!)
        bytes[bytes.count / 2] ^= 0x5A
        try Data(bytes).write(to: URL(fileURLWithPath: third))
        let plain = try Self.read(dir, readAhead: false)
        let ahead = try Self.read(dir, readAhead: true)
        #expect(plain.error.contains(third))
        #expect(ahead.error == plain.error)
        #expect(ahead.taken == plain.taken)
        #expect(plain.taken.count > 100 && plain.taken.count < 3_001)

        // A torn tail: the last segment cut inside a record.
        let tornDir = temporaryDirectory("read-ahead-torn")
        defer { try? FileManager.default.removeItem(atPath: tornDir) }
        try Self.dataRun(tornDir, quotes: 3_000)
        let segments = try JournalFormat.segmentIndexes(in: tornDir + "/journal")
        let last = tornDir + "/journal/" + JournalFormat.segmentName(segments.last!)
        let tail = [UInt8](FileManager.default.contents(atPath: last)!)
        var end = tail.count
        while end > 0 && tail[end - 1] == 0 { end -= 1 }
        try Data(tail[0..<(end - 20)]).write(to: URL(fileURLWithPath: last))
        let tornPlain = try Self.read(tornDir, readAhead: false)
        let tornAhead = try Self.read(tornDir, readAhead: true)
        #expect(tornPlain.error.contains("input journal ends in a"))
        #expect(tornAhead.error == tornPlain.error)
        #expect(tornAhead.taken == tornPlain.taken)
    }

    @Test("a backtest reading ahead has the fingerprint of one that does not, by reference and by copy")
    func sameFingerprint() throws {
        let dir = temporaryDirectory("read-ahead-run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.dataRun(dir + "/data", quotes: 20_000)
        var prints: [String] = []
        for inputs in ["reference", "copy"] {
            for readAhead in [false, true] {
                var source = try JournalInput(runDirectory: dir + "/data", readAhead: readAhead)
                var options = JournalOptions(syncMode: .none, segmentBytes: 32 << 10, bufferBytes: 8192)
                options.inputsByReference = inputs == "reference"
                let settings = BacktestDriver.Settings(overrides: [("size", "0.1"), ("fast", "5"), ("slow", "12")], dataset: dir + "/data", inputs: [],
                                                       out: dir + "/run-\(inputs)-\(readAhead)", journal: options)
                let m = try BacktestDriver.run(EmaCross.self, source: &source, settings: settings)
                #expect(m.fills > 100)
                prints.append(m.fingerprint)
            }
        }
        #expect(Set(prints).count == 1, "\(prints)")
    }
}
