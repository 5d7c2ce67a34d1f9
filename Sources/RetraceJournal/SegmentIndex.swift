#if canImport(Glibc)
import Glibc
#endif

/// The sparse index of one segment: every `interval`-th record's sequence, byte offset and
/// the running maximum of record times up to it, plus the segment's totals.
///
/// File `NNNNNNNN.idx`, written when a segment is sealed (its presence marks the segment
/// sealed): a 64-byte header — magic `RTRCIDX\0`, version u32, interval u32, segment u32,
/// reserved u32, first sequence u64, last sequence u64, records u64, max time i64, entry
/// count u64 — then 24-byte entries (sequence u64, running max time i64, offset u64), then
/// the CRC32C of everything before it (u32) and 4 zero bytes. An index is derived data: a
/// missing or damaged one is rebuilt by scanning its segment.
public struct SegmentIndex: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var sequence: UInt64
        /// The largest record time (see `JournalFormat.payloadTime`) up to and including this record.
        public var maxTime: Int64
        /// Byte offset of the record in its segment.
        public var offset: Int
    }

    public var segment: Int
    public var firstSequence: UInt64
    public var lastSequence: UInt64
    public var records: Int
    public var maxTime: Int64
    public var interval: Int
    public var entries: [Entry]
    /// Records to add before the next one gets an entry (a countdown: `records % interval`
    /// on every append was a 64-bit division, about 40 cycles, on each journaled event).
    private var untilEntry: Int

    static let magic: [UInt8] = Array("RTRCIDX\0".utf8)

    public init(segment: Int, firstSequence: UInt64, lastSequence: UInt64, records: Int, maxTime: Int64, interval: Int, entries: [Entry]) {
        (self.segment, self.firstSequence, self.lastSequence, self.records) = (segment, firstSequence, lastSequence, records)
        (self.maxTime, self.interval, self.entries) = (maxTime, interval, entries)
        let past = records % interval
        untilEntry = past == 0 ? 0 : interval - past
    }

    /// The index of a segment with no records yet.
    public init(segment: Int, firstSequence: UInt64, interval: Int) {
        self.init(segment: segment, firstSequence: firstSequence, lastSequence: firstSequence &- 1, records: 0, maxTime: Int64.min, interval: interval, entries: [])
    }
    /// Default records between entries.
    public static let defaultInterval = 1024

    /// The entry to start from to reach `sequence`: the last one at or before it.
    public func entry(atOrBefore sequence: UInt64) -> Entry? {
        var lo = 0, hi = entries.count  // first entry with sequence > target
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].sequence <= sequence { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? nil : entries[lo - 1]
    }

    /// The entry to start from to find the first record with time ≥ `time`: the last entry
    /// whose running maximum is still below it (every record up to it is earlier).
    public func entry(before time: Int64) -> Entry? {
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].maxTime < time { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? nil : entries[lo - 1]
    }

    /// The index's file bytes.
    func encoded() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(64 + entries.count * 24 + 8)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        out.append(contentsOf: SegmentIndex.magic)
        put(UInt32(1)); put(UInt32(interval)); put(UInt32(segment)); put(UInt32(0))
        put(firstSequence); put(lastSequence); put(UInt64(records)); put(maxTime); put(UInt64(entries.count))
        for e in entries { put(e.sequence); put(e.maxTime); put(UInt64(e.offset)) }
        let crc = out.withUnsafeBytes { CRC32C.checksum($0) }
        put(crc); put(UInt32(0))
        return out
    }

    /// Writes the index next to its segment (a temporary file renamed into place).
    public func write(directory: String) throws(JournalError) {
        let path = directory + "/" + JournalFormat.indexName(segment)
        let bytes = encoded()
        try JournalIO.writeFileAtomically(path, bytes, sync: false)
    }

    /// Reads and verifies an index file; nil when it is missing.
    /// - Throws: `.corrupt` naming the file when it is damaged.
    public static func read(directory: String, segment: Int) throws(JournalError) -> SegmentIndex? {
        let path = directory + "/" + JournalFormat.indexName(segment)
        let file: _UnsafeMappedFile
        do { file = try _UnsafeMappedFile(path: path) } catch { if error.code == .notFound { return nil }; throw error }
        defer { withExtendedLifetime(file) {} }  // the map backs `b` below
        let b = file.bytes
        guard b.count >= 72, Array(b[0..<8]) == magic else { throw JournalError(.corrupt, "\(path): not a segment index") }
        func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: b.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: b.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
        let count = Int(truncatingIfNeeded: u64(56))
        guard count >= 0, count < b.count, b.count == 64 + count * 24 + 8 else { throw JournalError(.corrupt, "\(path): \(b.count) bytes do not match its \(count) entries") }
        let end = 64 + count * 24
        guard u32(end) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<end])) else { throw JournalError(.corrupt, "\(path): CRC mismatch at byte \(end)") }
        guard Int(u32(16)) == segment else { throw JournalError(.corrupt, "\(path): indexes segment \(u32(16)), expected \(segment)") }
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        for i in 0..<count {
            let at = 64 + i * 24
            entries.append(Entry(sequence: u64(at), maxTime: Int64(bitPattern: u64(at + 8)), offset: Int(u64(at + 16))))
        }
        return SegmentIndex(segment: segment, firstSequence: u64(24), lastSequence: u64(32), records: Int(u64(40)),
                            maxTime: Int64(bitPattern: u64(48)), interval: Int(u32(12)), entries: entries)
    }

    /// Builds the index of a segment's bytes by scanning its intact records (stopping at
    /// the first frame that is not one).
    public static func build(segment: Int, bytes b: UnsafeRawBufferPointer, firstSequence: UInt64, interval: Int = defaultInterval) -> SegmentIndex {
        var index = SegmentIndex(segment: segment, firstSequence: firstSequence, interval: interval)
        var offset = JournalFormat.headerSize
        while case .record(let sequence, let length, let size) = JournalFormat.frame(in: b, at: offset) {
            let payload = UnsafeRawBufferPointer(rebasing: b[(offset + JournalFormat.frameSize)..<(offset + JournalFormat.frameSize + length)])
            index.add(sequence: sequence, time: JournalFormat.payloadTime(payload), offset: offset)
            // A reference covers several sequences and times.
            index.extend(through: sequence &+ InputReference.span(payload) &- 1, time: InputReference.maxTime(payload))
            offset += size
        }
        return index
    }

    /// Widens the last record's coverage (a reference to more inputs).
    @inline(__always)
    public mutating func extend(through sequence: UInt64, time: Int64) {
        if sequence > lastSequence { lastSequence = sequence }
        if time > maxTime { maxTime = time }
    }

    /// Accounts for one more record (the writer calls this as it appends). Inlined into the
    /// writer's append (a call of its own cost more than its body); the entry every
    /// `interval` records is the outlined part.
    @inline(__always)
    public mutating func add(sequence: UInt64, time: Int64, offset: Int) {
        if time > maxTime { maxTime = time }
        if untilEntry == 0 { addEntry(sequence: sequence, offset: offset) }
        untilEntry &-= 1
        records += 1
        lastSequence = sequence
    }

    @inline(never)
    private mutating func addEntry(sequence: UInt64, offset: Int) {
        entries.append(Entry(sequence: sequence, maxTime: maxTime, offset: offset))
        untilEntry = interval
    }
}
