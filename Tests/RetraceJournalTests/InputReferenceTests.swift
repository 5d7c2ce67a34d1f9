import Foundation
import Testing
@testable import RetraceCore
@testable import RetraceJournal

@Suite("Inputs kept by reference")
struct InputReferenceTests {
    static let sourceID = [UInt8](repeating: 3, count: 16)
    static let runID = [UInt8](repeating: 4, count: 16)

    /// A source journal of `count` timed events; returns its folder.
    static func source(_ dir: String, count: Int, id: [UInt8] = sourceID) throws {
        let w = try JournalWriter(directory: dir, runID: id, options: JournalOptions(syncMode: .none, segmentBytes: 16 << 10, bufferBytes: 8192, indexInterval: 64))
        for e in timedEvents(count) { try w.append(e) }
        try w.finish()
    }

    /// Writes the same run twice from the source: by reference and by copy. Seeded choices
    /// leave gaps in the source (inputs a window or a de-duplicator dropped), add outputs
    /// between inputs, and commit now and then (each closes the open reference).
    static func twin(source: String, ref: String, copy: String, seed: UInt64) throws {
        let small = JournalOptions(syncMode: .none, segmentBytes: 4096, bufferBytes: 4096, indexInterval: 16)
        let r = try JournalWriter(directory: ref, runID: runID, options: small)
        let c = try JournalWriter(directory: copy, runID: runID, options: small)
        #expect(try r.declareSource(path: source, runID: sourceID) == 0)
        var rng = SplitMix64(seed: seed)
        let reader = try JournalReader(directory: source)
        while let record = try reader.next() {
            if rng.next(modulo: 10) == 0 { continue }
            let time = JournalFormat.payloadTime(record.payload)
            #expect(try r.appendReference(source: 0, sourceSequence: record.sequence, time: time) == (try c.append(encoded: record.payload)))
            if rng.next(modulo: 7) == 0 {
                let output = Event(eventTime: Timestamp(nanos: time), receiveTime: Timestamp(nanos: time), body: .timerFired(TimerFired(timerID: rng.next())))
                #expect(try r.append(output) == (try c.append(output)))
            }
            if rng.next(modulo: 50) == 0 { try r.commit() }
        }
        try r.finish()
        try c.finish()
    }

    static func records(_ reader: JournalReader, limit: Int = .max) throws -> [(UInt64, [UInt8])] {
        var out: [(UInt64, [UInt8])] = []
        while out.count < limit, let record = try reader.next() { out.append((record.sequence, Array(record.payload))) }
        return out
    }

    /// A fresh folder with a source of `count` events and a run over it written twice
    /// (`ref`, `copy`); returns the folder and the copy's records.
    static func twins(_ name: String, count: Int, seed: UInt64) throws -> (dir: String, copied: [(UInt64, [UInt8])]) {
        let dir = temporaryDirectory(name)
        try source(dir + "/source", count: count)
        try twin(source: dir + "/source", ref: dir + "/ref", copy: dir + "/copy", seed: seed)
        return (dir, try records(try JournalReader(directory: dir + "/copy")))
    }

    /// The error reading the whole journal in `dir` gives ("" when it reads back).
    static func readError(_ dir: String) -> String {
        do {
            _ = try records(try JournalReader(directory: dir))
            return ""
        } catch let error as JournalError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test("read back exactly as copies across buffer swaps, rotations, source gaps and outputs; seeks land exactly; recovery and reopen work on the frames")
    func sameAsCopies() throws {
        let (dir, copied) = try Self.twins("ref", count: 5000, seed: 21)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let resolved = try JournalReader(directory: dir + "/ref")
        let viaReference = try Self.records(resolved)
        #expect(copied.count > 5000)
        #expect(viaReference.count == copied.count)
        #expect(zip(viaReference, copied).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 })
        #expect(resolved.sources == [InputReference.Source(index: 0, runID: Self.sourceID, path: dir + "/source")])
        #expect(resolved.referencedRecords > 4000)
        #expect(resolved.lastSequence == copied.last!.0)

        // The frames: far fewer than the records, the same chain of sequences, smaller files.
        let raw = try JournalReader(directory: dir + "/ref", resolving: false)
        let frames = try Self.records(raw)
        #expect(frames.count < copied.count / 2)
        #expect(raw.lastSequence == copied.last!.0)
        #expect(try JournalFormat.segmentIndexes(in: dir + "/ref").count > 2)
        func bytes(_ d: String) throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: d).filter { $0.hasSuffix(".wal") }
                .reduce(0) { $0 + (try FileManager.default.attributesOfItem(atPath: d + "/" + $1)[.size] as! Int) }
        }
        #expect(try bytes(dir + "/ref") * 2 < (try bytes(dir + "/copy")))

        // Seeks into the middle of references land on the same record as in the copy.
        var rng = SplitMix64(seed: 8)
        for _ in 0..<40 {
            let target = 1 + rng.next(modulo: copied.last!.0 + 1)
            let a = try JournalReader(directory: dir + "/ref"), b = try JournalReader(directory: dir + "/copy")
            try a.seek(toSequence: target)
            try b.seek(toSequence: target)
            let x = try Self.records(a, limit: 3), y = try Self.records(b, limit: 3)
            #expect(x.map(\.0) == y.map(\.0) && zip(x, y).allSatisfy { $0.1 == $1.1 }, "seek to \(target)")
            let time = 1_000_000 + Int64(rng.next(modulo: 5001)) * 10_000 + Int64(rng.next(modulo: 2))
            try a.seek(toTime: time)
            try b.seek(toTime: time)
            #expect(try a.next()?.sequence == (try b.next()?.sequence), "seek to time \(time)")
        }
        // A damaged index is rebuilt by scanning the frames: seeking still lands exactly.
        try Data(repeating: 0x33, count: 40).write(to: URL(fileURLWithPath: dir + "/ref/" + JournalFormat.indexName(1)))
        let rescanned = try JournalReader(directory: dir + "/ref")
        try rescanned.seek(toSequence: copied[copied.count / 2].0)
        #expect(try rescanned.next()?.sequence == copied[copied.count / 2].0)

        // Recovery reads frames, not the source: a reopened writer continues the chain.
        let (w, recovery) = try JournalWriter.reopen(directory: dir + "/ref", options: JournalOptions(syncMode: .none))
        #expect(recovery.lastSequence == copied.last!.0 && recovery.tornTail == nil)
        let more = Event(eventTime: Timestamp(nanos: 1), receiveTime: Timestamp(nanos: 1), body: .timerFired(TimerFired(timerID: 1)))
        #expect(try w.append(more) == copied.last!.0 + 1)
        try w.finish()
        #expect(try Self.records(try JournalReader(directory: dir + "/ref")).count == copied.count + 1)
    }

    @Test("inputs handed over in runs (appendReferences) write the same bytes as one call each, across the frame limit")
    func runsMatchSingleCalls() throws {
        let dir = temporaryDirectory("ref-runs")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.source(dir + "/source", count: Int(InputReference.maxCount) + 3_000)
        let options = JournalOptions(syncMode: .none, segmentBytes: 4096, bufferBytes: 4096, indexInterval: 16)
        let single = try JournalWriter(directory: dir + "/single", runID: Self.runID, options: options)
        let runs = try JournalWriter(directory: dir + "/runs", runID: Self.runID, options: options)
        for w in [single, runs] { _ = try w.declareSource(path: dir + "/source", runID: Self.sourceID) }
        var rng = SplitMix64(seed: 11)
        var held: (first: UInt64, sequence: UInt64, times: [Int64]) = (0, 0, [])
        func release() throws {
            guard !held.times.isEmpty else { return }
            let first = try held.times.withUnsafeBufferPointer { times throws(JournalError) in
                try runs.appendReferences(source: 0, firstSourceSequence: held.first, times: times)
            }
            #expect(first == held.sequence)
            held.times.removeAll()
        }
        let reader = try JournalReader(directory: dir + "/source")
        // Long unbroken stretches in the middle, so that one crosses the 65,536-input limit.
        var sequence: UInt64 = 0
        while let record = try reader.next() {
            sequence = record.sequence
            let quiet = sequence > 1_000 && sequence < UInt64(InputReference.maxCount) + 2_000
            if !quiet && rng.next(modulo: 12) == 0 { continue }  // a gap: the next input starts a new run
            let time = JournalFormat.payloadTime(record.payload)
            if let last = held.times.indices.last, held.first + UInt64(last) + 1 != sequence { try release() }
            if held.times.isEmpty { (held.first, held.sequence) = (sequence, single.nextSequence) }
            held.times.append(time)
            try single.appendReference(source: 0, sourceSequence: sequence, time: time)
            if quiet { continue }
            if rng.next(modulo: 9) == 0 {
                try release()
                let output = Event(eventTime: Timestamp(nanos: time), receiveTime: Timestamp(nanos: time), body: .timerFired(TimerFired(timerID: rng.next())))
                #expect(try single.append(output) == (try runs.append(output)))
            }
            if rng.next(modulo: 40) == 0 {
                try release()
                try single.commit()
                try runs.commit()
            }
        }
        try release()
        #expect(single.nextSequence == runs.nextSequence)
        try single.finish()
        try runs.finish()
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/single").sorted()
        #expect(files == (try FileManager.default.contentsOfDirectory(atPath: dir + "/runs").sorted()) && files.count > 2)
        for f in files {
            #expect(FileManager.default.contents(atPath: dir + "/single/" + f) == FileManager.default.contents(atPath: dir + "/runs/" + f), "\(f) differs")
        }
        let back = try Self.records(try JournalReader(directory: dir + "/runs"))
        #expect(back.count == Int(single.nextSequence - 1))
    }

    @Test("a long stretch splits at the frame limit; declaring after a record is refused")
    func longStretch() throws {
        let dir = temporaryDirectory("ref-long")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let n = Int(InputReference.maxCount) + 500
        try Self.source(dir + "/source", count: n)
        let w = try JournalWriter(directory: dir + "/ref", runID: Self.runID, options: JournalOptions(syncMode: .none, bufferBytes: 1 << 20))
        _ = try w.declareSource(path: dir + "/source", runID: Self.sourceID)
        for s in 1...UInt64(n) { try w.appendReference(source: 0, sourceSequence: s, time: 0) }
        #expect(throws: JournalError.self) { try w.declareSource(path: dir + "/other", runID: Self.sourceID) }
        try w.finish()
        #expect(try Self.records(try JournalReader(directory: dir + "/ref", resolving: false)).count == 2)
        let back = try Self.records(try JournalReader(directory: dir + "/ref"))
        #expect(back.count == n && back.last?.0 == UInt64(n))
    }

    @Test("a missing or replaced source is an error naming both journals; tailing a finished journal resolves its references")
    func missingSource() throws {
        let (dir, copies) = try Self.twins("ref-missing", count: 300, seed: 5)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tail = try JournalTailer(directory: dir + "/ref", from: 1)
        var tailed: [(UInt64, [UInt8])] = []
        try tail.poll { tailed.append(($0.sequence, Array($0.payload))) }
        #expect(tailed.count == copies.count && zip(tailed, copies).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 })

        try FileManager.default.moveItem(atPath: dir + "/source", toPath: dir + "/moved")
        let missing = Self.readError(dir + "/ref")
        #expect(missing.contains(dir + "/ref") && missing.contains(dir + "/source") && missing.contains("by reference"), "\(missing)")
        try Self.source(dir + "/source", count: 300, id: [UInt8](repeating: 5, count: 16))
        let replaced = Self.readError(dir + "/ref")
        #expect(replaced.contains("another run's"), "\(replaced)")
        // The frames alone still read (recovery, `journal verify`'s chain check).
        #expect(try Self.records(try JournalReader(directory: dir + "/ref", resolving: false)).count > 0)
    }

    @Test("a follower started in the segment being written, without its sequence, hands out each record from there once, in order, stepping over references, across rotations")
    func follower() throws {
        let dir = temporaryDirectory("ref-follow")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.source(dir + "/source", count: 3_000)
        let w = try JournalWriter(directory: dir + "/ref", runID: Self.runID, options: JournalOptions(syncMode: .none, segmentBytes: 4096, bufferBytes: 4096, indexInterval: 16))
        _ = try w.declareSource(path: dir + "/source", runID: Self.sourceID)
        var rng = SplitMix64(seed: 11)
        var written: [UInt64] = []  // the records (not references) appended once following began
        var seen: [UInt64] = []
        var follower: JournalFollower?
        var startSegment = 0
        let reader = try JournalReader(directory: dir + "/source")
        while let record = try reader.next() {
            let time = JournalFormat.payloadTime(record.payload)
            try w.appendReference(source: 0, sourceSequence: record.sequence, time: time)
            if rng.next(modulo: 5) == 0 {
                let sequence = try w.append(Event(eventTime: Timestamp(nanos: time), receiveTime: Timestamp(nanos: time), body: .timerFired(TimerFired(timerID: rng.next()))))
                if follower == nil && record.sequence > 700 {
                    startSegment = w.currentSegment
                    follower = JournalFollower(directory: dir + "/ref", segment: startSegment, lastSequence: nil, from: sequence, references: .skip)
                }
                if follower != nil { written.append(sequence) }
            }
            if rng.next(modulo: 40) == 0 {
                try w.commit()
                _ = try follower?.poll(limit: 7) { seen.append($0.sequence) }
            }
        }
        try w.finish()
        let f = try #require(follower)
        while try f.poll(limit: 7, { seen.append($0.sequence) }) > 0 {}
        #expect(startSegment > 0 && f.segment > startSegment + 3 && written.count > 300)
        #expect(seen == written)
        #expect(f.lastSequence == w.nextSequence - 1)
    }

    @Test("references that loop back to their own journal are an error, not a stack overflow")
    func referenceLoop() throws {
        let dir = temporaryDirectory("ref-loop")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let w = try JournalWriter(directory: dir + "/j", runID: Self.runID, options: JournalOptions(syncMode: .none))
        _ = try w.declareSource(path: dir + "/j", runID: Self.runID)
        try w.appendReference(source: 0, sourceSequence: 1, time: 0)
        try w.finish()
        let loop = Self.readError(dir + "/j")
        #expect(loop.contains("loop of references"), "\(loop.prefix(300))")
    }

    @Test("a replay of a run read through both: its inputs resolve through the run to the source without seeking")
    func chained() throws {
        let (dir, copied) = try Self.twins("ref-chain", count: 3000, seed: 9)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The replay journals the run's inputs by reference to the run (not its outputs),
        // with outputs of its own in between, as `retrace replay` does.
        let run = try JournalReader(directory: dir + "/ref")
        let w = try JournalWriter(directory: dir + "/replay", runID: Self.sourceID, options: JournalOptions(syncMode: .none, bufferBytes: 4096))
        _ = try w.declareSource(path: dir + "/ref", runID: Self.runID)
        var expected: [(UInt64, [UInt8])] = []
        while let record = try run.next() {
            let payload = Array(record.payload)
            guard record.payload[1] != EventKind.timerFired.rawValue else { continue }  // the run's outputs
            expected.append((try w.appendReference(source: 0, sourceSequence: record.sequence, time: JournalFormat.payloadTime(record.payload)), payload))
            if expected.count % 5 == 0 {
                let output = Event(eventTime: .zero, receiveTime: .zero, body: .timerFired(TimerFired(timerID: 7)))
                let bytes = [UInt8](unsafeUninitializedCapacity: EventCodec.maxEncodedSize) { b, n in n = EventCodec.encode(output, to: b.baseAddress!) }
                expected.append((try w.append(output), bytes))
            }
        }
        try w.finish()
        let replay = try JournalReader(directory: dir + "/replay")
        let back = try Self.records(replay)
        #expect(back.count == expected.count && zip(back, expected).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 })
        #expect(copied.count > expected.count / 2)
        let nested = replay.sourceReaders.first ?? nil
        #expect(nested != nil && nested?.seeks == 0, "the run was sought \(nested?.seeks ?? -1) times")
        #expect(nested?.sourceReaders.first??.seeks == 0)
    }
}
