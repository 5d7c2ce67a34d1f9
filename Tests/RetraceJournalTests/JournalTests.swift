import Foundation
import Testing
@testable import RetraceCore
@testable import RetraceJournal

func temporaryDirectory(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "retrace-test-\(name)-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite("CRC32C")
struct CRC32CTests {
    @Test("known vectors, hardware and table paths")
    func vectors() {
        let cases: [(String, UInt32)] = [("123456789", 0xE306_9283), ("", 0), ("a", 0xC1D0_4330)]
        for (text, crc) in cases {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBytes { b in
                #expect(CRC32C.checksum(b) == crc, "\(text)")
                #expect(CRC32C.tableChecksum(b) == crc, "\(text)")
            }
        }
        // RFC 3720 B.4: 32 bytes of zeros
        [UInt8](repeating: 0, count: 32).withUnsafeBytes { #expect(CRC32C.checksum($0) == 0x8A91_36AA) }
        [UInt8](repeating: 0xFF, count: 32).withUnsafeBytes { #expect(CRC32C.tableChecksum($0) == 0x62A8_AB43) }
    }

    @Test("both paths agree on random buffers of every alignment and length")
    func agree() {
        var rng = SplitMix64(seed: 11)
        let data = (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        data.withUnsafeBytes { b in
            // Every short length at every alignment: each tail of the 8-byte steps (4, 2, 1).
            for start in 0..<8 {
                for length in 0...80 {
                    let slice = UnsafeRawBufferPointer(rebasing: b[start..<(start + length)])
                    #expect(CRC32C.checksum(slice) == CRC32C.tableChecksum(slice), "start \(start), length \(length)")
                }
            }
            for _ in 0..<300 {
                let start = Int(rng.next(modulo: 64)), length = Int(rng.next(modulo: 3000))
                let slice = UnsafeRawBufferPointer(rebasing: b[start..<(start + length)])
                #expect(CRC32C.checksum(slice) == CRC32C.tableChecksum(slice))
                // continuing over two halves equals one pass
                let half = length / 2
                let first = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: slice[0..<half]))
                #expect(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: slice[half...]), continuing: first) == CRC32C.checksum(slice))
            }
        }
    }
}

@Suite("Journal")
struct JournalTests {
    static let runID = [UInt8](repeating: 7, count: 16)

    func write(_ dir: String, count: Int, sync: SyncMode = .none) throws -> [Event] {
        var rng = SplitMix64(seed: 5)
        let writer = try JournalWriter(directory: dir, runID: JournalTests.runID, syncMode: sync, bufferBytes: 4096)
        var events: [Event] = []
        for _ in 0..<count {
            var e = Event(eventTime: Timestamp(nanos: Int64(rng.next(modulo: 1 << 40))), receiveTime: Timestamp(nanos: 5), body: .tradeReceived(TradeReceived(instrument: InstrumentID(1), price: Price(raw: Int64(rng.next(modulo: 100_000))), quantity: Quantity(raw: 3), aggressor: .buyer, tradeID: rng.next())))
            e.sequence = try writer.append(e)
            events.append(e)
            if sync == .fsync { try writer.commit() }
        }
        try writer.finish()
        return events
    }

    func readAll(_ dir: String) throws -> (JournalReader, [Event]) {
        let reader = try JournalReader(directory: dir)
        var out: [Event] = []
        while let (_, e) = try reader.nextEvent() { out.append(e) }
        return (reader, out)
    }

    @Test("records written are read back in order with sequences 1…n, across buffer flushes")
    func roundTrip() throws {
        let dir = temporaryDirectory("journal")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let written = try write(dir, count: 500)
        let (reader, read) = try readAll(dir)
        #expect(read == written)
        #expect(written.map(\.sequence) == Array(1...500))
        #expect(reader.tornTail == nil)
        #expect(reader.runID == JournalTests.runID)
    }

    @Test("padding is zero in records of every size written into reused buffers (stale bytes of earlier records under it)")
    func paddingOverReusedBuffers() throws {
        let dir = temporaryDirectory("journal-padding")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A 4 KiB buffer refilled about 300 times; sizes 8…71 give every amount of padding
        // over bytes an earlier record left in the buffer.
        let writer = try JournalWriter(directory: dir, runID: JournalTests.runID, syncMode: .none, bufferBytes: 4096)
        let sizes = (0..<20_000).map { 8 + ($0 * 37) % 64 }
        for n in sizes {
            var p = SyntheticRecord.payload(bytes: n)
            p[n - 1] = 0xFF  // the byte before any padding is never zero
            _ = try p.withUnsafeBytes { try writer.append(encoded: $0) }
        }
        try writer.finish()
        let reader = try JournalReader(directory: dir)
        var count = 0
        while let r = try reader.next() {
            #expect(r.payload.count == sizes[count])
            count += 1
        }
        #expect(count == sizes.count)
        #expect(reader.tornTail == nil)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/00000000.wal")))
        var at = JournalFormat.headerSize
        for n in sizes {
            let end = at + JournalFormat.recordSize(payloadBytes: n)
            #expect(bytes[(at + JournalFormat.frameSize + n)..<end].allSatisfy { $0 == 0 }, "record at byte \(at)")
            at = end
        }
    }

    @Test("fsync mode syncs on every commit")
    func fsyncMode() throws {
        let dir = temporaryDirectory("journal-fsync")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let writer = try JournalWriter(directory: dir, runID: JournalTests.runID, syncMode: .fsync)
        for i in 0..<5 {
            try writer.append(Event(eventTime: .zero, receiveTime: .zero, body: .timerFired(TimerFired(timerID: UInt64(i)))))
            try writer.commit()
        }
        #expect(writer.syncCount == 5)
        let (_, read) = try readAll(dir)
        #expect(read.count == 5)
    }

    @Test("a journal cut mid-record stops at the torn tail and names its byte offset")
    func tornTail() throws {
        let dir = temporaryDirectory("journal-torn")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try write(dir, count: 10)
        let path = dir + "/00000000.wal"
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        let recordSize = JournalFormat.recordSize(payloadBytes: EventCodec.headerSize + EventCodec.bodySize(.tradeReceived))
        let handle = FileHandle(forWritingAtPath: path)!
        try handle.truncate(atOffset: UInt64(size - recordSize / 2))
        try handle.close()
        let (reader, read) = try readAll(dir)
        #expect(read.count == 9)
        let torn = try #require(reader.tornTail)
        #expect(torn.offset == JournalFormat.headerSize + 9 * recordSize)
        #expect(torn.lastSequence == 9)
        #expect(torn.description.contains("at byte \(torn.offset)"))
    }

    @Test("a flipped byte in the final record is a torn tail; in an earlier record it is corruption")
    func flippedBytes() throws {
        let dir = temporaryDirectory("journal-flip")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try write(dir, count: 10)
        let path = dir + "/00000000.wal"
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let recordSize = JournalFormat.recordSize(payloadBytes: EventCodec.headerSize + EventCodec.bodySize(.tradeReceived))
        var tail = original
        tail[original.count - 10] ^= 0x40
        try tail.write(to: URL(fileURLWithPath: path))
        let (reader, read) = try readAll(dir)
        #expect(read.count == 9)
        #expect(reader.tornTail != nil)

        var middle = original
        let third = JournalFormat.headerSize + 2 * recordSize
        middle[third + 20] ^= 0x01
        try middle.write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: JournalError.self) { _ = try readAll(dir) }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains("at byte \(third)") == true)
    }

    @Test("a file that is not a journal is refused at its header")
    func badHeader() throws {
        let dir = temporaryDirectory("journal-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(repeating: 0x41, count: 100).write(to: URL(fileURLWithPath: dir + "/00000000.wal"))
        let error = #expect(throws: JournalError.self) { _ = try JournalReader(directory: dir) }
        #expect(error?.code == .badHeader)
        #expect(throws: JournalError.self) { _ = try JournalWriter(directory: dir, runID: JournalTests.runID, syncMode: .none) }
    }
}
