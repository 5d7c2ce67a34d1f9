#if canImport(Glibc)
import Glibc
#endif

/// The on-disk layout of a journal (format version 1).
///
/// A journal is a folder of segments `NNNNNNNN.wal` (N = segment index from 0), each
/// sealed segment possibly compressed to `NNNNNNNN.wal.zst` (one zstd frame of the exact
/// segment bytes), with a sparse index `NNNNNNNN.idx` per sealed segment and engine-state
/// snapshots under `snapshots/`.
///
/// Segment file:
/// - a 64-byte header: magic `RTRCWAL\0` (8), format version u32, header size u32,
///   run id (16 bytes), first sequence u64, reserved zeros, CRC32C of bytes 0..<60 at 60;
/// - records, each 8-byte aligned: payload length u32, CRC32C u32 (over the sequence
///   bytes and the payload), sequence u64, payload, zero padding to the next multiple of 8;
/// - in a preallocated segment, zeros after the last record (a zero frame ends the segment).
/// All integers are little-endian.
public enum JournalFormat {
    /// Segment magic.
    public static let magic: [UInt8] = Array("RTRCWAL\0".utf8)
    /// Format version written and read by this build.
    public static let version: UInt32 = 1
    /// Bytes in a segment header.
    public static let headerSize = 64
    /// Bytes before a record's payload.
    public static let frameSize = 16
    /// Largest payload accepted (guards against reading a garbage length).
    public static let payloadMax = 1 << 20
    /// Default segment size before rotation.
    public static let defaultSegmentBytes = 64 << 20

    /// Bytes a record with `payloadBytes` takes on disk, padding included.
    @inlinable
    public static func recordSize(payloadBytes: Int) -> Int { (frameSize + payloadBytes + 7) & ~7 }

    /// File name of segment `index`, uncompressed.
    public static func segmentName(_ index: Int) -> String { padded(index, 8) + ".wal" }
    /// File name of segment `index` after compaction.
    public static func compressedSegmentName(_ index: Int) -> String { padded(index, 8) + ".wal.zst" }
    /// File name of segment `index`'s sparse index.
    public static func indexName(_ index: Int) -> String { padded(index, 8) + ".idx" }
    /// The zero-filled file prepared for the next segment.
    public static let preallocatedName = "next-segment.prealloc"

    static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// The time a payload carries for indexing: an encoded event's receive time (bytes
    /// 16..<24 after a version byte of 1), a reference's first input's (the same bytes), or
    /// `Int64.min` for payloads that are neither.
    @inlinable
    public static func payloadTime(_ payload: UnsafeRawBufferPointer) -> Int64 {
        guard payload.count >= 24, payload[0] == 1 || InputReference.kind(payload) == .reference else { return Int64.min }
        return Int64(littleEndian: payload.loadUnaligned(fromByteOffset: 16, as: Int64.self))
    }

    /// Writes a segment header into `destination` (64 bytes).
    static func writeHeader(to destination: UnsafeMutableRawPointer, runID: [UInt8], firstSequence: UInt64) {
        destination.initializeMemory(as: UInt8.self, repeating: 0, count: headerSize)
        for (i, b) in magic.enumerated() { destination.storeBytes(of: b, toByteOffset: i, as: UInt8.self) }
        destination.storeBytes(of: version.littleEndian, toByteOffset: 8, as: UInt32.self)
        destination.storeBytes(of: UInt32(headerSize).littleEndian, toByteOffset: 12, as: UInt32.self)
        for (i, b) in runID.enumerated() { destination.storeBytes(of: b, toByteOffset: 16 + i, as: UInt8.self) }
        destination.storeBytes(of: firstSequence.littleEndian, toByteOffset: 32, as: UInt64.self)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: destination, count: 60))
        destination.storeBytes(of: crc.littleEndian, toByteOffset: 60, as: UInt32.self)
    }

    /// The bytes of a segment header.
    public static func segmentHeader(runID: [UInt8], firstSequence: UInt64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: headerSize)
        out.withUnsafeMutableBytes { writeHeader(to: $0.baseAddress!, runID: runID, firstSequence: firstSequence) }
        return out
    }

    /// A parsed segment header.
    public struct Header: Equatable, Sendable {
        public var runID: [UInt8]
        public var firstSequence: UInt64
    }

    /// Parses and verifies a segment header; `path` names the file in errors.
    static func parseHeader(_ b: UnsafeRawBufferPointer, path: String) throws(JournalError) -> Header {
        guard b.count >= headerSize else {
            throw JournalError(.badHeader, "\(path): \(b.count) bytes, shorter than the \(headerSize)-byte segment header")
        }
        guard Array(b[0..<8]) == magic else { throw JournalError(.badHeader, "\(path): not a Retrace journal segment (bad magic at byte 0)") }
        let v = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        guard v == version else {
            throw JournalError(.badHeader, "\(path): journal format version \(v), this build reads version \(version)")
        }
        let stored = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 60, as: UInt32.self))
        guard stored == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<60])) else {
            throw JournalError(.badHeader, "\(path): segment header CRC mismatch at byte 60")
        }
        return Header(runID: Array(b[16..<32]), firstSequence: UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 32, as: UInt64.self)))
    }

    /// What is at a byte offset of a segment.
    public enum Frame: Equatable {
        /// An intact record: its sequence, payload length and on-disk size.
        case record(sequence: UInt64, payloadBytes: Int, size: Int)
        /// The end of the records: end of file or a zero frame (preallocated space).
        case end
        /// Bytes that are not an intact record; `reason` says why, `sequence` is the
        /// sequence number the frame claims (0 when unreadable).
        case damaged(reason: String, sequence: UInt64)
    }

    /// Classifies the bytes of `b` at `offset` (which must be 8-aligned and ≤ `b.count`).
    @inlinable
    public static func frame(in b: UnsafeRawBufferPointer, at offset: Int) -> Frame {
        let remaining = b.count - offset
        if remaining == 0 { return .end }
        if remaining < frameSize {
            return isZero(b, from: offset, limit: remaining) ? .end : .damaged(reason: "partial record frame (\(remaining) bytes)", sequence: 0)
        }
        // SAFETY: at least `frameSize` bytes remain from `offset`.
        let length = Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        let crc = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
        let sequence = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
        if length == 0 && crc == 0 && sequence == 0 { return .end }
        guard length <= payloadMax else { return .damaged(reason: "record claims \(length) payload bytes, more than the \(payloadMax) maximum", sequence: sequence) }
        let size = recordSize(payloadBytes: length)
        guard size <= remaining else {
            return .damaged(reason: "record claims \(length) payload bytes, only \(remaining - frameSize) present", sequence: sequence)
        }
        let actual = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[(offset + 8)..<(offset + frameSize + length)]))
        guard actual == crc else { return .damaged(reason: "CRC mismatch", sequence: sequence) }
        let padding = size - frameSize - length
        if padding > 0 && !isZero(b, from: offset + frameSize + length, limit: padding) {
            return .damaged(reason: "nonzero padding after the payload", sequence: sequence)
        }
        return .record(sequence: sequence, payloadBytes: length, size: size)
    }

    /// True when `b[from..<from+limit]` (to the end when `limit` is nil) is all zeros.
    @inlinable
    public static func isZero(_ b: UnsafeRawBufferPointer, from start: Int, limit: Int? = nil) -> Bool {
        let end = limit.map { min(b.count, start + $0) } ?? b.count
        var i = start
        // Word-at-a-time over the aligned middle; bytes at the edges.
        while i < end && i & 7 != 0 { if b[i] != 0 { return false }; i += 1 }
        while i + 8 <= end { if b.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }; i += 8 }
        while i < end { if b[i] != 0 { return false }; i += 1 }
        return true
    }

    /// The names in `directory` (unordered), or nil when it cannot be opened (see `errno`).
    static func fileNames(in directory: String) -> [String]? {
        guard let dir = opendir(directory) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            names.append(withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) })
        }
        return names
    }

    /// The segment indexes present in `directory` (`.wal` or `.wal.zst`), ascending.
    /// - Throws: `.notFound` when the folder does not exist or holds no segment.
    public static func segmentIndexes(in directory: String) throws(JournalError) -> [Int] {
        guard let names = fileNames(in: directory) else {
            let code: JournalError.Code = errno == ENOENT ? .notFound : .io
            throw JournalError(code, "cannot open journal directory \(directory): \(String(cString: strerror(errno)))")
        }
        var found = Set<Int>()
        for name in names {
            let stem: Substring
            if name.hasSuffix(".wal.zst") { stem = name.dropLast(8) } else if name.hasSuffix(".wal") { stem = name.dropLast(4) } else { continue }
            if stem.count == 8, stem.allSatisfy(\.isASCIIDigit), let n = Int(stem) { found.insert(n) }
        }
        guard !found.isEmpty else { throw JournalError(.notFound, "\(directory): no journal segments (expected \(segmentName(0)))") }
        return found.sorted()
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
