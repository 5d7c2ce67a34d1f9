#if canImport(Glibc)
import Glibc
#endif
import RetraceCore

/// One record read from a journal; `payload` is valid while its reader is alive.
public struct JournalRecord {
    public var sequence: UInt64
    /// Byte offset of the record's frame within its segment.
    public var offset: Int
    public var payload: UnsafeRawBufferPointer
}

/// Where a journal's last record was cut short (a crash mid-write).
public struct TornTail: Equatable, Sendable, CustomStringConvertible {
    public var segment: String
    /// Byte offset where the torn record starts.
    public var offset: Int
    /// Bytes from `offset` to the end of the file.
    public var bytes: Int
    /// The last intact sequence number (0 if none).
    public var lastSequence: UInt64
    public var reason: String
    public var description: String {
        "torn tail in \(segment) at byte \(offset): \(bytes) bytes after sequence \(lastSequence) ignored (\(reason))"
    }
}

/// Reads a journal's records in order, verifying every CRC and the sequence chain.
///
/// A damaged final record is a torn tail: reading stops there and `tornTail` says where.
/// A damaged record followed by intact data is corruption and throws.
public final class JournalReader {
    /// The segment being read.
    public let path: String
    /// Run id from the segment header.
    public let runID: [UInt8]
    /// First sequence number from the header.
    public let firstSequence: UInt64
    /// Set when reading stopped at a torn tail.
    public private(set) var tornTail: TornTail?
    /// The last sequence read.
    public private(set) var lastSequence: UInt64 = 0

    private let file: _UnsafeMappedFile
    private var offset = JournalFormat.headerSize

    /// Opens the journal in `directory` (its first segment).
    /// - Throws: `.notFound` when there is no journal, `.badHeader` for a bad header.
    public init(directory: String) throws(JournalError) {
        path = directory + "/" + JournalFormat.segmentName(0)
        file = try _UnsafeMappedFile(path: path)
        let b = file.bytes
        guard b.count >= JournalFormat.headerSize else {
            throw JournalError(.badHeader, "\(path): \(b.count) bytes, shorter than the \(JournalFormat.headerSize)-byte segment header")
        }
        guard Array(b[0..<8]) == JournalFormat.magic else { throw JournalError(.badHeader, "\(path): not a Retrace journal segment (bad magic at byte 0)") }
        let version = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        guard version == JournalFormat.version else {
            throw JournalError(.badHeader, "\(path): journal format version \(version), this build reads version \(JournalFormat.version)")
        }
        let stored = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 60, as: UInt32.self))
        guard stored == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<60])) else {
            throw JournalError(.badHeader, "\(path): segment header CRC mismatch at byte 60")
        }
        runID = Array(b[16..<32])
        firstSequence = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 32, as: UInt64.self))
        lastSequence = firstSequence &- 1
    }

    /// Size of the segment file in bytes.
    public var fileBytes: Int { file.count }
    /// Byte offset of the next record.
    public var position: Int { offset }

    /// The next record, or nil at the end (clean, or at a torn tail — see `tornTail`).
    /// - Throws: `.corrupt` for a damaged record before the tail, `.sequenceGap` when
    ///   sequence numbers skip or repeat.
    @inlinable
    public func next() throws(JournalError) -> JournalRecord? {
        try nextRecord()
    }

    @usableFromInline
    func nextRecord() throws(JournalError) -> JournalRecord? {
        let b = file.bytes
        let remaining = b.count - offset
        if remaining == 0 || tornTail != nil { return nil }
        if remaining < JournalFormat.frameSize { return stop("partial record frame", remaining) }
        // SAFETY: at least `frameSize` bytes remain from `offset`.
        let length = Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        let crc = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
        let sequence = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
        if length == 0 && crc == 0 && sequence == 0 && isZero(b, from: offset) { return nil }  // zeroed space after the last record
        let size = JournalFormat.recordSize(payloadBytes: length)
        guard length <= JournalFormat.payloadMax, size <= remaining else {
            if length > JournalFormat.payloadMax && size <= remaining {
                throw JournalError(.corrupt, "\(path): record at byte \(offset) claims \(length) payload bytes (after sequence \(lastSequence))")
            }
            return stop("record claims \(length) payload bytes, only \(remaining - JournalFormat.frameSize) present", remaining)
        }
        let actual = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[(offset + 8)..<(offset + JournalFormat.frameSize + length)]))
        guard actual == crc else {
            if offset + size == b.count || isZero(b, from: offset + size) { return stop("CRC mismatch in the final record", remaining) }
            throw JournalError(.corrupt, "\(path): CRC mismatch in record at byte \(offset) (sequence \(sequence), after sequence \(lastSequence)); the journal is corrupt before its tail — restore it from a copy")
        }
        guard sequence == lastSequence &+ 1 else {
            throw JournalError(.sequenceGap, "\(path): record at byte \(offset) has sequence \(sequence), expected \(lastSequence &+ 1)")
        }
        let record = JournalRecord(sequence: sequence, offset: offset, payload: UnsafeRawBufferPointer(rebasing: b[(offset + JournalFormat.frameSize)..<(offset + JournalFormat.frameSize + length)]))
        offset += size
        lastSequence = sequence
        return record
    }

    private func stop(_ reason: String, _ remaining: Int) -> JournalRecord? {
        tornTail = TornTail(segment: path, offset: offset, bytes: remaining, lastSequence: lastSequence, reason: reason)
        return nil
    }

    private func isZero(_ b: UnsafeRawBufferPointer, from start: Int) -> Bool {
        var i = start
        while i < b.count { if b[i] != 0 { return false }; i += 1 }
        return true
    }

    /// The next record and its decoded event, or nil at the end.
    /// - Throws: as `next()`, and `.corrupt` naming the segment and byte offset when a
    ///   record's CRC is valid but its payload does not decode.
    public func nextEvent() throws(JournalError) -> (record: JournalRecord, event: Event)? {
        guard let record = try next() else { return nil }
        do { return (record, try EventCodec.decode(record.payload, sequence: record.sequence)) } catch {
            throw JournalError(.corrupt, "\(path) at byte \(record.offset): \(error.message)")
        }
    }
}
