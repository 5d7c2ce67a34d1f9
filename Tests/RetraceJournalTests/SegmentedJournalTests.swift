import Foundation
import Synchronization
import Testing
import CRetraceShims
@testable import RetraceCore
@testable import RetraceJournal

/// Events with increasing receive times (10 µs apart) for seek-by-time checks.
func timedEvents(_ count: Int, seed: UInt64 = 3) -> [Event] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { i in
        Event(eventTime: Timestamp(nanos: Int64(i) * 10_000), receiveTime: Timestamp(nanos: 1_000_000 + Int64(i) * 10_000),
              body: .tradeReceived(TradeReceived(instrument: InstrumentID(1), price: Price(raw: Int64(rng.next(modulo: 100_000))),
                                                 quantity: Quantity(raw: 3), aggressor: .buyer, tradeID: rng.next())))
    }
}

func readSequences(_ dir: String) throws -> (JournalReader, [UInt64]) {
    let reader = try JournalReader(directory: dir)
    var out: [UInt64] = []
    while let r = try reader.next() { out.append(r.sequence) }
    return (reader, out)
}

@Suite("Segmented journal")
struct SegmentedJournalTests {
    static let runID = [UInt8](repeating: 9, count: 16)

    @Test("segments rotate by size, each sealed with an index; reads cross them; seek by sequence and time lands exactly")
    func rotationAndSeek() throws {
        let dir = temporaryDirectory("seg")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let events = timedEvents(3000)
        let w = try JournalWriter(directory: dir, runID: Self.runID, options: JournalOptions(syncMode: .none, segmentBytes: 16 << 10, bufferBytes: 8192, indexInterval: 64))
        for e in events { try w.append(e) }
        try w.finish()
        let segments = try JournalFormat.segmentIndexes(in: dir)
        #expect(segments.count > 8)
        for n in segments {
            let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/" + JournalFormat.segmentName(n))
            #expect((attributes[.size] as! Int) <= 16 << 10, "segment \(n) exceeds its size")
            let index = try #require(try SegmentIndex.read(directory: dir, segment: n), "segment \(n) has no index")
            #expect(index.entries.first?.offset == JournalFormat.headerSize)
        }
        let reader = try JournalReader(directory: dir)
        var read: [Event] = []
        while let (_, e) = try reader.nextEvent() { read.append(e) }
        #expect(read.count == 3000)
        #expect(read.map(\.sequence) == Array(1...3000))
        #expect(zip(read, events).allSatisfy { $0.body == $1.body && $0.receiveTime == $1.receiveTime })

        for target: UInt64 in [1, 2, 64, 65, 999, 1500, 2999, 3000] {
            let r = try JournalReader(directory: dir)
            try r.seek(toSequence: target)
            #expect(try r.next()?.sequence == target)
            #expect(try r.next()?.sequence == (target < 3000 ? target + 1 : nil))
        }
        let past = try JournalReader(directory: dir)
        try past.seek(toSequence: 3001)
        #expect(try past.next() == nil)
        // Time k*10µs + 1ms is record k+1's receive time; just after it is the next record.
        for k: Int64 in [0, 7, 640, 2999] {
            let r = try JournalReader(directory: dir)
            try r.seek(toTime: 1_000_000 + k * 10_000)
            #expect(try r.next()?.sequence == UInt64(k + 1))
            let s = try JournalReader(directory: dir)
            try s.seek(toTime: 1_000_000 + k * 10_000 + 1)
            #expect(try s.next()?.sequence == (k < 2999 ? UInt64(k + 2) : nil))
        }
        // A damaged index is derived data: seeking still lands exactly (rebuilt by scanning).
        try Data(repeating: 0x33, count: 50).write(to: URL(fileURLWithPath: dir + "/" + JournalFormat.indexName(segments[3])))
        let r = try JournalReader(directory: dir)
        try r.seek(toTime: 1_000_000 + 1234 * 10_000)
        #expect(try r.next()?.sequence == 1235)
    }

    @Test("fsync group commit: four threads, every ticket durable, fewer fdatasyncs than records; both I/O backends")
    func groupCommit() throws {
        for io in [IOChoice.posix, .auto] {
            let dir = temporaryDirectory("group")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let w = try JournalWriter(directory: dir, runID: Self.runID, options: JournalOptions(syncMode: .fsync, segmentBytes: 64 << 10, io: io))
            let payload = SyntheticRecord.payload(bytes: 48)
            let tickets = Mutex<[UInt64]>([])
            DispatchQueue.concurrentPerform(iterations: 4) { _ in
                payload.withUnsafeBytes { p in
                    for _ in 0..<250 {
                        do {
                            let t = try w.append(encoded: p)
                            try w.waitDurable(t)
                            #expect(w.durableSequence >= t)
                            tickets.withLock { $0.append(t) }
                        } catch { Issue.record("\(error)") }
                    }
                }
            }
            #expect(tickets.withLock { $0.sorted() } == Array(1...1000))
            #expect(w.syncCount <= 1000)
            // Four tickets pending at once, four waiters: the first one's fdatasync covers all.
            let before = w.syncCount
            let pending = try payload.withUnsafeBytes { p in try (0..<4).map { _ in try w.append(encoded: p) } }
            DispatchQueue.concurrentPerform(iterations: 4) { i in
                do { try w.waitDurable(pending[i]) } catch { Issue.record("\(error)") }
            }
            #expect(w.syncCount == before + 1, "\(io): four waiters should share one fdatasync")
            try w.finish()
            let (_, sequences) = try readSequences(dir)
            #expect(sequences == Array(1...1004))
        }
    }

    @Test("async mode syncs in the background within its interval")
    func asyncMode() throws {
        let dir = temporaryDirectory("async")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let w = try JournalWriter(directory: dir, runID: Self.runID, options: JournalOptions(syncMode: .async, asyncIntervalMillis: 5))
        let payload = SyntheticRecord.payload(bytes: 48)
        try payload.withUnsafeBytes { p in for _ in 0..<100 { try w.append(encoded: p) } }
        var waited = 0
        while w.durableSequence < 100 && waited < 2000 { usleep(1000); waited += 1 }
        #expect(w.durableSequence == 100, "the background sync did not cover the appends within 2 s")
        #expect(w.syncCount >= 1)
        try w.finish()
    }

    @Test("io_uring and POSIX backends write identical segments")
    func backendsAgree() throws {
        var files: [Data] = []
        for io in [IOChoice.posix, .auto] {
            let dir = temporaryDirectory("backend")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let w = try JournalWriter(directory: dir, runID: Self.runID, options: JournalOptions(syncMode: .fsync, preallocate: false, io: io))
            for e in timedEvents(300) {
                try w.append(e)
                try w.commit()
            }
            try w.finish()
            files.append(try Data(contentsOf: URL(fileURLWithPath: dir + "/00000000.wal")))
            if io == .auto && w.ioBackend == .posix { print("note: io_uring unavailable here; compared POSIX with itself") }
        }
        #expect(files[0] == files[1])
    }

    @Test("a preallocated segment ends at its zeros; reopening continues the chain there")
    func preallocated() throws {
        let dir = temporaryDirectory("prealloc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let options = JournalOptions(syncMode: .fsync, segmentBytes: 1 << 20, preallocate: true)
        do {
            let w = try JournalWriter(directory: dir, runID: Self.runID, options: options)
            for e in timedEvents(10) { try w.waitDurable(try w.append(e)) }
            // No finish: as after a crash, the file keeps its preallocated zeros.
        }
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/00000000.wal")[.size] as! Int
        #expect(size == 1 << 20)
        let (reader, sequences) = try readSequences(dir)
        #expect(sequences == Array(1...10))
        #expect(reader.tornTail == nil, "zeros after the last record are not a torn tail")
        let (w, recovery) = try JournalWriter.reopen(directory: dir, options: options)
        #expect(recovery.tornTail == nil && recovery.lastSequence == 10)
        for e in timedEvents(5) { try w.append(e) }
        try w.finish()
        #expect(try readSequences(dir).1 == Array(1...15))
    }

    @Test("streamed writeback (one-page windows, dropped from the cache behind the writer) loses nothing across rotation, preallocation, reopen and a lock-free single owner")
    func streamedWriteback() throws {
        for (mode, preallocate, singleOwner) in [(SyncMode.none, false, false), (.none, false, true), (.async, true, false), (.fsync, true, false)] {
            let dir = temporaryDirectory("writeback")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var options = JournalOptions(syncMode: mode, segmentBytes: 96 << 10, preallocate: preallocate, bufferBytes: 8192, writebackBytes: 4096)
            options.singleOwner = singleOwner
            let events = timedEvents(6000)
            do {
                let w = try JournalWriter(directory: dir, runID: Self.runID, options: options)
                for e in events[..<4000] { try w.append(e) }
                try w.commit()
                // No finish: reopened at an offset inside a window, as after a crash.
            }
            let (w, recovery) = try JournalWriter.reopen(directory: dir, options: options)
            #expect(recovery.lastSequence == 4000, "\(mode)")
            for e in events[4000...] { try w.append(e) }
            try w.finish()
            #expect(try JournalFormat.segmentIndexes(in: dir).count > 3, "\(mode): the run spans several segments")
            let reader = try JournalReader(directory: dir)
            var read: [Event] = []
            while let (_, e) = try reader.nextEvent() { read.append(e) }
            #expect(read.map(\.sequence) == Array(1...6000), "\(mode)")
            #expect(zip(read, events).allSatisfy { $0.body == $1.body && $0.receiveTime == $1.receiveTime }, "\(mode)")
        }
    }

    /// A finished one-segment journal of `events` trades in a new temporary folder.
    static func smallJournal(_ name: String, events: Int) throws -> String {
        let dir = temporaryDirectory(name)
        let w = try JournalWriter(directory: dir, runID: runID, options: JournalOptions(syncMode: .none))
        for e in timedEvents(events) { try w.append(e) }
        try w.finish()
        return dir
    }

    @Test("an intact record cut out of the middle is a sequence gap naming the byte offset and both sequences")
    func missingRecordIsAGap() throws {
        let dir = try Self.smallJournal("gap", events: 10)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/" + JournalFormat.segmentName(0)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let size = JournalFormat.recordSize(payloadBytes: EventCodec.headerSize + EventCodec.bodySize(.tradeReceived))
        let fifth = JournalFormat.headerSize + 4 * size
        bytes.removeSubrange(fifth..<(fifth + size))
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let reader = try JournalReader(directory: dir)
        var read: [UInt64] = []
        do {
            while let r = try reader.next() { read.append(r.sequence) }
            Issue.record("a journal missing record 5 read to the end")
        } catch {
            #expect(error.code == .sequenceGap)
            #expect(error.message.contains("record at byte \(fifth) has sequence 6, expected 5"), "\(error.message)")
        }
        #expect(read == [1, 2, 3, 4])
    }

    @Test("torn writes at every byte of the last record: the valid prefix reads, recovery truncates and appends continue")
    func tornAtEveryByte() throws {
        let dir = temporaryDirectory("torn-every")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let w = try JournalWriter(directory: dir, runID: Self.runID, options: JournalOptions(syncMode: .none, segmentBytes: 4096))
        for e in timedEvents(60) { try w.append(e) }  // two segments
        try w.finish()
        let last = dir + "/" + JournalFormat.segmentName(try JournalFormat.segmentIndexes(in: dir).last!)
        let original = try Data(contentsOf: URL(fileURLWithPath: last))
        let recordBytes = JournalFormat.recordSize(payloadBytes: EventCodec.headerSize + EventCodec.bodySize(.tradeReceived))
        let copy = temporaryDirectory("torn-copy")
        defer { try? FileManager.default.removeItem(atPath: copy) }
        for cut in (original.count - recordBytes + 1)..<original.count {
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: dir, toPath: copy)
            try original.prefix(cut).write(to: URL(fileURLWithPath: copy + "/" + (last as NSString).lastPathComponent))
            let (reader, sequences) = try readSequences(copy)
            #expect(sequences == Array(1...59), "cut at \(cut)")
            #expect(reader.tornTail?.offset == original.count - recordBytes, "cut at \(cut)")
            let (writer, recovery) = try JournalWriter.reopen(directory: copy, options: JournalOptions(syncMode: .none))
            #expect(recovery.tornTail?.lastSequence == 59)
            try writer.append(timedEvents(1)[0])
            try writer.finish()
            #expect(try readSequences(copy).1 == Array(1...60))
        }
    }

    @Test("a flipped bit in any byte of any record is detected and located; the records before it read")
    func bitFlipsEverywhere() throws {
        let dir = temporaryDirectory("flip-every")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let w = try JournalWriter(directory: dir, runID: Self.runID, options: JournalOptions(syncMode: .none))
        // Records of different sizes, so every amount of padding (0 to 7 bytes) is covered too.
        let payloads: [[UInt8]] = [48, 13, 29, 15, 14, 12, 11, 10, 9, 8].map { SyntheticRecord.payload(bytes: $0) }
        for p in payloads { _ = try p.withUnsafeBytes { try w.append(encoded: $0) } }
        try w.finish()
        let path = dir + "/00000000.wal"
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var starts = [JournalFormat.headerSize]
        for p in payloads { starts.append(starts.last! + JournalFormat.recordSize(payloadBytes: p.count)) }
        #expect(starts.last == original.count)
        for position in 0..<original.count {
            var bytes = original
            bytes[position] ^= UInt8(1 << (position % 8))
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            if position < JournalFormat.headerSize {
                if position >= 40 && position < 60 { continue }  // reserved header bytes: covered by the header CRC below
                #expect(throws: JournalError.self, "header byte \(position)") { _ = try readSequences(dir) }
                continue
            }
            let record = starts.lastIndex { $0 <= position }!
            let reader = try JournalReader(directory: dir)
            var read: [UInt64] = []
            do {
                while let r = try reader.next() { read.append(r.sequence) }
                // Only the final record may be torn; anywhere else must throw.
                #expect(record == payloads.count - 1, "flip at \(position) in record \(record + 1) went undetected")
                #expect(reader.tornTail?.offset == starts[record], "flip at \(position)")
            } catch {
                #expect(error.code == .corrupt, "flip at \(position): \(error)")
                #expect(error.message.contains("at byte \(starts[record])") && error.message.contains("after sequence \(record)"), "flip at \(position): \(error.message)")
            }
            #expect(read == Array(0..<UInt64(record)).map { $0 + 1 }, "flip at \(position): the valid prefix must read")
        }
        // The reserved header bytes are under the header CRC as well.
        var bytes = original
        bytes[44] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: JournalError.self) { _ = try readSequences(dir) }
    }

    @Test("compaction: sealed segments become .wal.zst, read back identically, seek still works, the open segment is skipped")
    func compaction() throws {
        let dir = temporaryDirectory("compact")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let w = try JournalWriter(directory: dir, runID: Self.runID, options: JournalOptions(syncMode: .none, segmentBytes: 32 << 10))
        for e in timedEvents(2000) { try w.append(e) }
        try w.commit()  // not finished: the last segment stays open
        let before = try readSequences(dir).1
        let report = try JournalCompactor.compact(directory: dir)
        let segments = try JournalFormat.segmentIndexes(in: dir)
        #expect(report.segments.count == segments.count - 1)
        #expect(report.skipped.map(\.number) == [segments.last!])
        #expect(report.ratio > 1.5, "ratio \(report.ratio)")
        #expect(FileManager.default.fileExists(atPath: dir + "/" + JournalFormat.compressedSegmentName(0)))
        #expect(!FileManager.default.fileExists(atPath: dir + "/" + JournalFormat.segmentName(0)))
        #expect(try readSequences(dir).1 == before)
        let r = try JournalReader(directory: dir)
        try r.seek(toSequence: 777)
        #expect(try r.nextEvent()?.event.body == timedEvents(2000)[776].body)
        // Appending continues; finishing seals the rest, and a second pass compacts it.
        for e in timedEvents(10) { try w.append(e) }
        try w.finish()
        #expect(try JournalCompactor.compact(directory: dir).skipped.isEmpty)
        #expect(try readSequences(dir).1 == Array(1...2010))
    }

    @Test("compaction keeps a segment's last record whole when its payload ends in zero bytes; preallocated zeros after it are left out")
    func compactionKeepsTrailingZeros() throws {
        for preallocate in [false, true] {
            let dir = temporaryDirectory("compact-zeros")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let w = try JournalWriter(directory: dir, runID: Self.runID,
                                      options: JournalOptions(syncMode: preallocate ? .async : .none, segmentBytes: 4096, preallocate: preallocate))
            // A timer id of 0 ends every payload in eight zero bytes (the old compaction cut them off).
            for k in 0..<400 {
                try w.append(Event(eventTime: Timestamp(nanos: Int64(k)), receiveTime: Timestamp(nanos: Int64(k)), body: .timerFired(TimerFired(timerID: 0))))
            }
            try w.finish()
            var before: [(UInt64, [UInt8])] = []
            let r0 = try JournalReader(directory: dir)
            while let r = try r0.next() { before.append((r.sequence, Array(r.payload))) }
            let report = try JournalCompactor.compact(directory: dir)
            #expect(report.segments.count >= 4 && report.skipped.isEmpty, "preallocate \(preallocate): \(report.skipped)")
            var after: [(UInt64, [UInt8])] = []
            let r1 = try JournalReader(directory: dir)
            while let r = try r1.next() { after.append((r.sequence, Array(r.payload))) }
            #expect(after.count == 400 && zip(before, after).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }, "preallocate \(preallocate)")
        }
    }

    @Test("snapshots: stored durably, listed by sequence, verified on load; a damaged one is skipped")
    func snapshots() throws {
        let dir = temporaryDirectory("snap")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = SnapshotStore(journalDirectory: dir, runID: Self.runID)
        #expect(SnapshotStore.isDue(sequence: 2000, every: 1000) && !SnapshotStore.isDue(sequence: 1999, every: 1000))
        try store.write(sequence: 1000, state: Array("state at 1000".utf8))
        try store.write(sequence: 2000, state: Array("state at 2000".utf8))
        #expect(store.list().map(\.sequence) == [1000, 2000])
        #expect(store.latest(atOrBefore: 1999)?.state == Array("state at 1000".utf8))
        let newest = try #require(store.latest(atOrBefore: 5000))
        #expect(newest.info.sequence == 2000 && newest.skipped.isEmpty)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: newest.info.path))
        bytes[bytes.count - 1] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: newest.info.path))
        let error = #expect(throws: JournalError.self) { _ = try store.load(newest.info) }
        #expect(error?.message.contains("CRC mismatch") == true)
        let fallback = try #require(store.latest(atOrBefore: 5000))
        #expect(fallback.info.sequence == 1000 && fallback.skipped.count == 1)
    }

    @Test("a tailer follows a writer across segments and sees each record once, in order")
    func tailer() throws {
        let dir = temporaryDirectory("tail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let w = try JournalWriter(directory: dir, runID: Self.runID, options: JournalOptions(syncMode: .none, segmentBytes: 8 << 10))
        for e in timedEvents(10) { try w.append(e) }
        try w.commit()
        let t = try JournalTailer(directory: dir, from: 5)
        var seen: [UInt64] = []
        try t.poll { seen.append($0.sequence) }
        #expect(seen == Array(5...10))
        for (i, e) in timedEvents(1000).enumerated() {
            try w.append(e)
            if i % 37 == 0 { try w.commit(); try t.poll { seen.append($0.sequence) } }
        }
        try w.finish()
        try t.poll { seen.append($0.sequence) }
        #expect(seen == Array(5...1010))
        #expect(try JournalFormat.segmentIndexes(in: dir).count > 3)
    }

    @Test("random bytes in a segment never crash or hang the reader (seeded fuzz)")
    func fuzzReader() throws {
        let dir = try Self.smallJournal("fuzz", events: 40)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/00000000.wal"
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var rng = SplitMix64(seed: 77)
        for _ in 0..<400 {
            var bytes = original
            switch rng.next(modulo: 3) {
            case 0:  // scattered random bytes
                for _ in 0..<(1 + Int(rng.next(modulo: 8))) { bytes[Int(rng.next(modulo: UInt64(bytes.count)))] = UInt8(truncatingIfNeeded: rng.next()) }
            case 1:  // a random run of garbage
                let start = JournalFormat.headerSize + Int(rng.next(modulo: UInt64(bytes.count - JournalFormat.headerSize)))
                for i in start..<min(bytes.count, start + Int(rng.next(modulo: 200))) { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
            default:  // a truncated or extended file
                bytes = Array(bytes.prefix(Int(rng.next(modulo: UInt64(bytes.count))))) + (0..<Int(rng.next(modulo: 100))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            if let reader = try? JournalReader(directory: dir) {
                var n = 0
                while let _ = try? reader.next() { n += 1; if n > 100 { Issue.record("reader returned more records than were written"); break } }
                _ = try? reader.seek(toSequence: UInt64(rng.next(modulo: 50)))
                _ = try? reader.seek(toTime: Int64(rng.next(modulo: 2_000_000)))
            }
            bytes.withUnsafeBytes { b in _ = try? JournalReader.scanSegment(b) }
        }
    }
}

@Suite("Segment maps")
struct SegmentMapTests {
    /// Kilobytes of `range` mapped in (the Rss of its entry in /proc/self/smaps).
    static func residentKiB(_ start: UnsafeRawPointer) -> Int? {
        // Read to the end: a /proc file's size is 0.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/smaps"), let smaps = String(data: handle.readDataToEndOfFile(), encoding: .utf8) else { return nil }
        let address = String(UInt(bitPattern: start), radix: 16)
        var inside = false
        for line in smaps.split(separator: "\n") {
            if let dash = line.firstIndex(of: "-"), line[..<dash].allSatisfy(\.isHexDigit) {
                inside = line[..<dash].drop(while: { $0 == "0" }) == address[...]
            } else if inside, line.hasPrefix("Rss:") {
                return Int(line.split(separator: " ")[1])
            }
        }
        return nil
    }

    @Test("a segment's map is populated off the reading thread; a plain map is not; both read the same bytes")
    func backgroundPopulate() throws {
        let dir = NSTemporaryDirectory() + "retrace-map-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/file"
        let size = 8 << 20
        var bytes = [UInt8](repeating: 0, count: size)
        for i in stride(from: 0, to: size, by: 4096) { bytes[i] = UInt8(truncatingIfNeeded: i >> 12) }
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let plain = try _UnsafeMappedFile(path: path)
        let background = try _UnsafeMappedFile(path: path, background: true)
        let before = try #require(Self.residentKiB(plain.bytes.baseAddress!), "the map is in /proc/self/smaps")
        #expect(before < 1024, "nothing read yet, \(before) KiB mapped")
        // The helper maps it in shortly; a kernel without populate advice never does.
        var mapped = 0
        for _ in 0..<200 {
            mapped = Self.residentKiB(background.bytes.baseAddress!) ?? 0
            if mapped >= size >> 10 { break }
            usleep(10_000)
        }
        // Whether this kernel has the populate advice (5.14+), asked of a mapping of our own.
        let probe = mmap(nil, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
        defer { munmap(probe, 8192) }
        if retrace_populate(probe, 8192, 1) == 0 {
            #expect(mapped >= size >> 10, "only \(mapped) KiB of \(size >> 10) mapped in")
        } else {
            #expect(mapped < 1024, "no populate advice, yet \(mapped) KiB mapped")
        }
        #expect(Self.residentKiB(plain.bytes.baseAddress!)! < 1024, "the plain map stays untouched")
        #expect(plain.bytes.elementsEqual(background.bytes))
    }
}
