#if canImport(Glibc)
import Glibc
#endif
import CZstd
import RetraceCore

/// One record read from a journal; `payload` is valid while its reader is on that segment.
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

/// The bytes of one segment: a read-only map of `NNNNNNNN.wal`, or the decompressed
/// contents of `NNNNNNNN.wal.zst`.
final class SegmentData {
    let number: Int
    let path: String
    let compressed: Bool
    /// Size of the file on disk.
    let fileBytes: Int
    private let mapped: _UnsafeMappedFile?
    private let heap: UnsafeMutableRawBufferPointer?

    init(directory: String, number: Int) throws(JournalError) {
        self.number = number
        let plain = directory + "/" + JournalFormat.segmentName(number)
        do {
            let m = try _UnsafeMappedFile(path: plain, background: true)
            (path, compressed, fileBytes, mapped, heap) = (plain, false, m.count, m, nil)
            return
        } catch where error.code == .notFound {}
        let packed = directory + "/" + JournalFormat.compressedSegmentName(number)
        let m = try _UnsafeMappedFile(path: packed)
        defer { withExtendedLifetime(m) {} }  // the map backs `source` below
        let source = m.bytes
        let size = source.count == 0 ? 0 : ZSTD_getFrameContentSize(source.baseAddress, source.count)
        guard size != ZSTD_CONTENTSIZE_ERROR && size != ZSTD_CONTENTSIZE_UNKNOWN && size <= UInt64(Int.max / 2) && size > 0 else {
            throw JournalError(.corrupt, "\(packed): not a zstd frame with a known size")
        }
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(size), alignment: 64)
        let n = ZSTD_decompress(out.baseAddress, out.count, source.baseAddress, source.count)
        guard ZSTD_isError(n) == 0, n == out.count else {
            out.deallocate()
            let reason = ZSTD_isError(n) != 0 ? String(cString: ZSTD_getErrorName(n)) : "\(n) of \(out.count) bytes"
            throw JournalError(.corrupt, "\(packed): cannot decompress (\(reason))")
        }
        (path, compressed, fileBytes, mapped, heap) = (packed, true, m.count, nil, out)
    }

    deinit { heap?.deallocate() }

    /// SAFETY: valid while this object lives.
    var bytes: UnsafeRawBufferPointer { heap.map { UnsafeRawBufferPointer($0) } ?? mapped!.bytes }
}

/// The segments a reader (and the journals it resolves references through) moved past,
/// still mapped: records handed to another thread point into them until that thread is
/// done. The reading thread takes them (`take`) and passes them along with the records.
package final class SegmentKeeper {
    var held: [AnyObject] = []
    package init() {}
    /// The segments retired since the last call; they stay mapped while the result lives.
    package func take() -> [AnyObject] {
        if held.isEmpty { return [] }
        defer { held = [] }
        return held
    }
}

/// Reads a journal's records in order across its segments, verifying every CRC, the
/// sequence chain and each segment header (run id, first sequence).
///
/// A damaged record in the last segment with no intact record after it is a torn tail:
/// reading stops there and `tornTail` says where. Any other damage throws `.corrupt`
/// naming the segment, byte offset and sequence. Payloads point into a read-only map of
/// the segment (zero copy) or into its decompressed bytes.
public final class JournalReader {
    /// The journal folder.
    public let directory: String
    /// The segment numbers present, ascending.
    public let segments: [Int]
    /// Run id from the first segment header.
    public let runID: [UInt8]
    /// First sequence number of the first segment.
    public let firstSequence: UInt64
    /// Set when reading stopped at a torn tail.
    public private(set) var tornTail: TornTail?
    /// The last sequence read.
    public private(set) var lastSequence: UInt64
    /// Whether references to another journal's records are resolved (see `InputReference`).
    public let resolving: Bool
    /// The source journals this journal's references point into (declared at its start).
    public private(set) var sources: [InputReference.Source] = []
    /// Records handed out from a source journal so far.
    public private(set) var referencedRecords: UInt64 = 0
    /// Seeks by sequence so far (tests check that resolving references does not seek).
    var seeks = 0

    private var current: SegmentData {
        didSet {
            bytes = current.bytes
            keeper?.held.append(oldValue)
        }
    }
    /// Where segments this reader moves past go instead of being unmapped (nil: unmapped at
    /// once). A read-ahead thread's records may still point into them; see `SegmentKeeper`.
    package var keeper: SegmentKeeper? {
        didSet { for case let r? in sourceReaders { r.keeper = keeper } }
    }
    /// `current.bytes`, held here so the per-record path touches no reference (no retain).
    private var bytes: UnsafeRawBufferPointer
    private var slot = 0
    private var offset = JournalFormat.headerSize
    private var ended = false
    /// The last sequence the frames read so far cover (the chain each frame must continue).
    private var chain: UInt64
    /// Set while `next()` has something other than this journal's next frame to hand out:
    /// a record put back by a seek, or the rest of a reference.
    private var special = false
    private var peeked: JournalRecord?
    private var span: OpenSpan?
    private(set) var sourceReaders: [JournalReader?] = []

    /// A reference being resolved.
    struct OpenSpan {
        let reader: JournalReader
        /// Where the reference frame is in this journal (for messages).
        let path: String
        let offset: Int
        /// This journal's next sequence to hand out, and the last one the reference covers.
        var next: UInt64
        let last: UInt64
        /// The source sequence of `next`.
        var sourceNext: UInt64
    }

    /// Opens the journal in `directory` at its first record.
    /// - Parameter resolving: false reads references as they are stored (recovery and
    ///   tailing need the frames, not the records they point to).
    /// - Throws: `.notFound` when there is no journal, `.badHeader` for a bad header,
    ///   `.corrupt` when a segment number is missing.
    public convenience init(directory: String, resolving: Bool = true) throws(JournalError) {
        try self.init(directory: directory, resolving: resolving, nesting: 0)
    }

    /// How many journals resolve through this one (a replay of a replay of a backtest: 2).
    private let nesting: Int
    /// More than this many journals referencing each other is taken for a loop.
    static let maxNesting = 32
    /// A reference this few records ahead of where its source stands is reached by reading
    /// forward, not by seeking.
    static let readForwardLimit: UInt64 = 4096

    init(directory: String, resolving: Bool, nesting: Int) throws(JournalError) {
        self.directory = directory
        self.resolving = resolving
        self.nesting = nesting
        segments = try JournalFormat.segmentIndexes(in: directory)
        for (i, n) in segments.enumerated() where n != segments[0] + i {
            throw JournalError(.corrupt, "\(directory): segment \(JournalFormat.segmentName(segments[0] + i)) is missing (found \(JournalFormat.segmentName(n)) after it)")
        }
        let first = try SegmentData(directory: directory, number: segments[0])
        current = first
        bytes = first.bytes
        let header = try JournalFormat.parseHeader(current.bytes, path: current.path)
        runID = header.runID
        firstSequence = header.firstSequence
        lastSequence = header.firstSequence &- 1
        chain = lastSequence
        if segments[0] == 0 { sources = Self.declaredSources(bytes) }
    }

    /// The source declarations at the start of a journal's first segment.
    static func declaredSources(_ b: UnsafeRawBufferPointer) -> [InputReference.Source] {
        var found: [InputReference.Source] = []
        var at = JournalFormat.headerSize
        while case .record(_, let length, let size) = JournalFormat.frame(in: b, at: at) {
            let payload = UnsafeRawBufferPointer(rebasing: b[(at + JournalFormat.frameSize)..<(at + JournalFormat.frameSize + length)])
            guard let source = InputReference.parseSource(payload) else { break }
            found.append(source)
            at += size
        }
        return found
    }

    /// The segment being read.
    public var path: String { current.path }
    /// Byte offset of the next record in the current segment.
    public var position: Int { offset }
    /// Size of the current segment (decompressed).
    public var currentSegmentBytes: Int { current.bytes.count }
    /// Number of the current segment.
    public var currentSegment: Int { current.number }
    /// True when reading has reached the last segment.
    public var onLastSegment: Bool { slot == segments.count - 1 }

    /// On-disk size of every segment, in segment order.
    public func segmentFileBytes() -> [(number: Int, path: String, bytes: Int, compressed: Bool)] {
        segments.map { n in
            var st = stat()
            let plain = directory + "/" + JournalFormat.segmentName(n)
            if stat(plain, &st) == 0 { return (n, plain, Int(st.st_size), false) }
            let packed = directory + "/" + JournalFormat.compressedSegmentName(n)
            return (n, packed, stat(packed, &st) == 0 ? Int(st.st_size) : 0, true)
        }
    }

    /// The next record, or nil at the end (clean, or at a torn tail — see `tornTail`).
    /// - Throws: `.corrupt` for a damaged record before the tail, `.sequenceGap` when
    ///   sequence numbers skip or repeat.
    public func next() throws(JournalError) -> JournalRecord? {
        if special { return try nextSpecial() }
        if let record = intact() { return record }
        while !ended {
            // Anything `intact()` did not take (a segment's end, damage, a gap, a reference,
            // an empty payload) goes through `step`, which names it.
            let frame = JournalFormat.frame(in: bytes, at: offset)
            switch try JournalReader.step(frame, bytes, at: offset, after: chain, last: onLastSegment, path: current.path) {
            case .record(let sequence, let length, let size):
                let start = offset + JournalFormat.frameSize
                let payload = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)])
                switch InputReference.kind(payload) {
                case .record:
                    return take(sequence: sequence, payloadBytes: length, size: size)
                case .source:
                    guard InputReference.parseSource(payload) != nil else {
                        throw JournalError(.corrupt, "\(current.path): malformed source declaration at byte \(offset) (sequence \(sequence))")
                    }
                    offset += size  // covers no sequence: the chain goes on after it
                case .reference:
                    guard let reference = InputReference.parseReference(payload) else {
                        throw JournalError(.corrupt, "\(current.path): malformed input reference at byte \(offset) (sequence \(sequence))")
                    }
                    let record = JournalRecord(sequence: sequence, offset: offset, payload: payload)
                    offset += size
                    chain = sequence &+ UInt64(reference.count) &- 1
                    guard resolving else {
                        lastSequence = chain
                        return record
                    }
                    try startSpan(reference, at: record)
                    return try nextSpecial()
                }
            case .end:
                guard !onLastSegment else {
                    ended = true
                    return nil
                }
                try advanceSegment()
            case .torn(let reason):
                return stop(reason)
            }
        }
        return nil
    }

    /// The hot path of `next()`: the record at `offset` when it is an intact record that
    /// continues the chain and is not a reference, checked as `JournalFormat.frame` checks
    /// it (length, CRC over sequence and payload, zero padding) without building a `Frame`.
    /// Anything else (a segment's end, damage, a gap, a reference) returns nil and goes
    /// through the general loop, which names it.
    @inline(__always)
    private func intact() -> JournalRecord? {
        let remaining = bytes.count &- offset
        guard remaining >= JournalFormat.frameSize, let base = bytes.baseAddress else { return nil }
        // SAFETY: `frameSize` bytes remain at `offset`; the payload and padding are read only
        // after `size <= remaining` is checked.
        let p = base + offset
        let length = Int(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
        let sequence = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let size = JournalFormat.recordSize(payloadBytes: length)
        guard sequence == chain &+ 1, length > 0, length <= JournalFormat.payloadMax, size <= remaining,
              p.load(fromByteOffset: JournalFormat.frameSize, as: UInt8.self) != InputReference.tag,
              CRC32C.checksum(UnsafeRawBufferPointer(start: p + 8, count: 8 &+ length))
                == UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        else { return nil }
        let padding = size &- JournalFormat.frameSize &- length
        if padding > 0 {
            // The padding is the last `padding` bytes of the record's last word: its high bytes.
            let last = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: size &- 8, as: UInt64.self))
            guard last >> UInt64((8 &- padding) &* 8) == 0 else { return nil }
        }
        return take(sequence: sequence, payloadBytes: length, size: size)
    }

    /// The intact record at `offset`: moves past it.
    @inline(__always)
    private func take(sequence: UInt64, payloadBytes: Int, size: Int) -> JournalRecord {
        // SAFETY: the callers checked that the record's `size` bytes lie within `bytes`.
        let payload = UnsafeRawBufferPointer(start: bytes.baseAddress.unsafelyUnwrapped + offset + JournalFormat.frameSize, count: payloadBytes)
        let record = JournalRecord(sequence: sequence, offset: offset, payload: payload)
        offset &+= size
        lastSequence = sequence
        chain = sequence
        return record
    }

    /// A record put back by a seek, or the next one of the reference being resolved.
    private func nextSpecial() throws(JournalError) -> JournalRecord? {
        if let record = peeked {
            peeked = nil
            special = span != nil
            lastSequence = record.sequence
            return record
        }
        guard var open = span else {
            special = false
            return try next()
        }
        let found: JournalRecord?
        do { found = try open.reader.next() } catch {
            throw JournalError(error.code, "\(open.path): the inputs referenced at byte \(open.offset) (sequence \(open.next)) cannot be read: \(error.message)")
        }
        guard let source = found, source.sequence == open.sourceNext else {
            throw JournalError(.corrupt, "\(open.path): the reference at byte \(open.offset) needs record \(open.sourceNext) of \(open.reader.directory), "
                + "which ends at sequence \(open.reader.lastSequence)\(open.reader.tornTail.map { " (\($0))" } ?? "")")
        }
        let record = JournalRecord(sequence: open.next, offset: open.offset, payload: source.payload)
        lastSequence = open.next
        referencedRecords &+= 1
        if open.next == open.last {
            span = nil
            special = false
        } else {
            open.next &+= 1
            open.sourceNext &+= 1
            span = open
        }
        return record
    }

    /// Starts resolving a reference: the source journal is opened once (its run id must be
    /// the declared one) and positioned at the first referenced record.
    private func startSpan(_ reference: InputReference.Span, at frame: JournalRecord) throws(JournalError) {
        let i = Int(reference.source)
        guard i < sources.count else {
            throw JournalError(.corrupt, "\(current.path): the reference at byte \(frame.offset) names source \(i), but the journal declares \(sources.count)")
        }
        while sourceReaders.count <= i { sourceReaders.append(nil) }
        let declared = sources[i]
        let reader: JournalReader
        if let open = sourceReaders[i] { reader = open } else {
            guard nesting < Self.maxNesting else {
                throw JournalError(.corrupt, "\(directory): inputs kept by reference through more than \(Self.maxNesting) journals (a loop of references?)")
            }
            do { reader = try JournalReader(directory: declared.path, resolving: true, nesting: nesting + 1) } catch {
                throw JournalError(.notFound, "\(directory): the inputs from sequence \(frame.sequence) on are kept by reference in \(declared.path), which cannot be opened "
                    + "(\(error.message)); the run needs the data it was made from (or record it with --set journal.inputs=copy)")
            }
            guard reader.runID == declared.runID else {
                throw JournalError(.corrupt, "\(directory): inputs are kept by reference in \(declared.path), but the journal there is another run's "
                    + "(run id \(SHA256.hexString(reader.runID)), expected \(SHA256.hexString(declared.runID)))")
            }
            reader.keeper = keeper
            sourceReaders[i] = reader
        }
        do {
            if reader.lastSequence < reference.first && reference.first - reader.lastSequence <= Self.readForwardLimit {
                // A short way ahead (the outputs between two stretches of a replayed run's
                // inputs): read forward. Seeking would restart from an index entry each time.
                while reader.lastSequence &+ 1 < reference.first, try reader.next() != nil {}
            } else if reader.lastSequence &+ 1 != reference.first {
                try reader.seek(toSequence: reference.first)
            }
        } catch {
            throw JournalError(error.code, "\(current.path): the reference at byte \(frame.offset) cannot reach record \(reference.first) of \(declared.path): \(error.message)")
        }
        span = OpenSpan(reader: reader, path: current.path, offset: frame.offset, next: frame.sequence, last: frame.sequence &+ UInt64(reference.count) &- 1,
                        sourceNext: reference.first)
        special = true
    }

    /// What reading finds at `offset` of a segment's bytes.
    enum Step: Equatable {
        case record(sequence: UInt64, payloadBytes: Int, size: Int)
        /// The segment's records end here.
        case end
        /// A torn tail (only in the last segment): damage with no intact record after it.
        case torn(String)
    }

    /// Classifies the bytes at `offset`: an intact record continuing the chain after
    /// `previous`, the clean end of the segment, a torn tail (`last` segment only), or it
    /// throws naming `path`, the byte offset and the sequence.
    static func step(_ b: UnsafeRawBufferPointer, at offset: Int, after previous: UInt64, last: Bool, path: String) throws(JournalError) -> Step {
        try step(JournalFormat.frame(in: b, at: offset), b, at: offset, after: previous, last: last, path: path)
    }

    /// `step` for a frame already classified (the reader's hot path reads each frame once).
    static func step(_ frame: JournalFormat.Frame, _ b: UnsafeRawBufferPointer, at offset: Int, after previous: UInt64, last: Bool,
                     path: String) throws(JournalError) -> Step {
        switch frame {
        case .record(let sequence, let length, let size):
            guard sequence == previous &+ 1 else {
                throw JournalError(.sequenceGap, "\(path): record at byte \(offset) has sequence \(sequence), expected \(previous &+ 1)")
            }
            return .record(sequence: sequence, payloadBytes: length, size: size)
        case .end:
            if JournalFormat.isZero(b, from: offset) { return .end }
            if last && !intactRecordFollows(b, after: offset) { return .torn("zero frame followed by non-zero bytes that hold no record") }
            throw JournalError(.corrupt, "\(path): zeroed record frame at byte \(offset) followed by data (after sequence \(previous)); the journal is corrupt — restore it from a copy")
        case .damaged(let reason, let sequence):
            if last && !intactRecordFollows(b, after: offset) {
                return .torn(reason + (sequence != 0 ? " in the record claiming sequence \(sequence)" : ""))
            }
            throw JournalError(.corrupt, "\(path): \(reason) in record at byte \(offset) (sequence \(sequence == 0 ? "unreadable" : String(sequence)), after sequence \(previous)); the journal is corrupt before its tail — restore it from a copy")
        }
    }

    /// Scans one segment held in memory as the last segment of a journal: its header, every
    /// record (and, for event payloads, their decoding). Returns the records read and the
    /// torn tail's reason, if any. The fuzz target drives this.
    public static func scanSegment(_ b: UnsafeRawBufferPointer, path: String = "segment") throws(JournalError) -> (records: Int, torn: String?) {
        let header = try JournalFormat.parseHeader(b, path: path)
        var offset = JournalFormat.headerSize, previous = header.firstSequence &- 1, records = 0
        while true {
            switch try step(b, at: offset, after: previous, last: true, path: path) {
            case .record(let sequence, let length, let size):
                let payload = UnsafeRawBufferPointer(rebasing: b[(offset + JournalFormat.frameSize)..<(offset + JournalFormat.frameSize + length)])
                switch InputReference.kind(payload) {
                case .reference:
                    guard InputReference.parseReference(payload) != nil else { throw JournalError(.corrupt, "\(path): malformed input reference at byte \(offset)") }
                case .source:
                    guard InputReference.parseSource(payload) != nil else { throw JournalError(.corrupt, "\(path): malformed source declaration at byte \(offset)") }
                case .record where !SyntheticRecord.matches(payload):
                    do { _ = try EventCodec.decode(payload, sequence: sequence) } catch { throw JournalError(.corrupt, "\(path) at byte \(offset): \(error.message)") }
                case .record:
                    break
                }
                (offset, previous, records) = (offset + size, sequence &+ InputReference.span(payload) &- 1, records + 1)
            case .end: return (records, nil)
            case .torn(let reason): return (records, reason)
            }
        }
    }

    private func advanceSegment() throws(JournalError) {
        slot += 1
        let data = try SegmentData(directory: directory, number: segments[slot])
        if onLastSegment && JournalFormat.isZero(data.bytes, from: 0) {
            // A crash between creating the next segment and writing its header.
            current = data
            offset = 0
            _ = stop("segment has no header yet (a crash while rotating)")
            return
        }
        let header = try JournalFormat.parseHeader(data.bytes, path: data.path)
        guard header.runID == runID else { throw JournalError(.corrupt, "\(data.path): segment header names another run") }
        guard header.firstSequence == chain &+ 1 else {
            throw JournalError(.sequenceGap, "\(data.path): segment starts at sequence \(header.firstSequence), expected \(chain &+ 1)")
        }
        current = data
        offset = JournalFormat.headerSize
    }

    private func stop(_ reason: String) -> JournalRecord? {
        tornTail = TornTail(segment: current.path, offset: offset, bytes: current.bytes.count - offset, lastSequence: chain, reason: reason)
        ended = true
        return nil
    }

    /// True when an intact record starts at some 8-aligned offset after `offset`.
    static func intactRecordFollows(_ b: UnsafeRawBufferPointer, after offset: Int) -> Bool {
        var at = offset + 8
        while at + JournalFormat.frameSize <= b.count {
            if b.loadUnaligned(fromByteOffset: at, as: UInt64.self) != 0, case .record = JournalFormat.frame(in: b, at: at) { return true }
            at += 8
        }
        return false
    }

    /// The next record and its decoded event, or nil at the end.
    /// - Throws: as `next()`, and `.corrupt` naming the segment and byte offset when a
    ///   record's CRC is valid but its payload does not decode.
    public func nextEvent() throws(JournalError) -> (record: JournalRecord, event: Event)? {
        var event = Event.placeholder
        guard let record = try nextEvent(into: &event) else { return nil }
        return (record, event)
    }

    /// The next record, decoded into `event` (the hot path: the event is built where the
    /// caller keeps it, not copied through return values); nil at the end.
    @inline(__always)
    public func nextEvent(into event: inout Event) throws(JournalError) -> JournalRecord? {
        // The hot path of `next()` taken here: one call per record instead of two.
        let record: JournalRecord
        if !special, let intact = intact() {
            record = intact
        } else {
            guard let any = try next() else { return nil }
            record = any
        }
        do { try EventCodec.decode(record.payload, sequence: record.sequence, into: &event) } catch {
            throw JournalError(.corrupt, "\(current.path) at byte \(record.offset) (sequence \(record.sequence)): \(error.message)")
        }
        return record
    }

    /// The next input event of a run's journal decoded into `event`, as `nextEvent(into:)`
    /// reads it, its payload and sequence stored straight into the caller's storage; the
    /// run's outputs and session markers (start, end, live connection events) are read,
    /// checked and passed over. False at the end. (A record handed back by value went
    /// through memory, and copying its payload out read 16 bytes just written as two
    /// 8-byte halves: a store-forwarding stall on every input.)
    public func nextInput(into event: inout Event, payload: inout UnsafeRawBufferPointer?, sequence: inout UInt64) throws(JournalError) -> Bool {
        while let record = try nextEvent(into: &event) {
            let kind = event.body.kind
            if kind.isOutput || kind.isLiveSession || kind == .sessionStarted || kind == .sessionEnded { continue }
            payload = record.payload
            sequence = record.sequence
            return true
        }
        return false
    }

    // MARK: Seeking

    /// The sparse index of segment `number`: its index file, or one built by scanning.
    public func segmentIndex(_ number: Int) throws(JournalError) -> SegmentIndex {
        if let stored = try? SegmentIndex.read(directory: directory, segment: number) { return stored }
        let data = number == current.number ? current : try SegmentData(directory: directory, number: number)
        defer { withExtendedLifetime(data) {} }  // it backs the bytes scanned below
        let header = try JournalFormat.parseHeader(data.bytes, path: data.path)
        return SegmentIndex.build(segment: number, bytes: data.bytes, firstSequence: header.firstSequence)
    }

    /// The index of the current segment built from its records (for the writer's recovery).
    func currentSegmentIndex(interval: Int) -> SegmentIndex {
        let first = (try? JournalFormat.parseHeader(current.bytes, path: current.path))?.firstSequence ?? chain &+ 1
        return SegmentIndex.build(segment: current.number, bytes: current.bytes, firstSequence: first, interval: interval)
    }

    /// Positions the reader at the first record of the last segment (recovery and tailing
    /// need only the end of a long journal; sealed segments were verified when written).
    public func seekToLastSegment() throws(JournalError) {
        guard segments.count > 1 else { return }
        let data = try SegmentData(directory: directory, number: segments[segments.count - 1])
        if JournalFormat.isZero(data.bytes, from: 0) {
            // A crash while rotating left it without a header: start from the one before.
            try position(atSlot: segments.count - 2, entry: nil)
        } else {
            try position(atSlot: segments.count - 1, entry: nil)
        }
    }

    /// Positions the reader so that `next()` returns the record with `sequence` (or nil
    /// when the journal ends before it).
    public func seek(toSequence sequence: UInt64) throws(JournalError) {
        seeks += 1
        var chosen = 0
        for (i, n) in segments.enumerated() {
            let first: UInt64
            if let stored = try? SegmentIndex.read(directory: directory, segment: n) { first = stored.firstSequence } else {
                let data = try SegmentData(directory: directory, number: n)
                first = try withExtendedLifetime(data) { () throws(JournalError) in try JournalFormat.parseHeader(data.bytes, path: data.path).firstSequence }
            }
            if first <= sequence { chosen = i } else { break }
        }
        try position(atSlot: chosen, entry: try segmentIndex(segments[chosen]).entry(atOrBefore: sequence))
        try skip { record in record.sequence >= sequence }
    }

    /// Positions the reader so that `next()` returns the first record whose time (an event's
    /// receive time) is at or after `time` nanoseconds, or nil when there is none.
    public func seek(toTime time: Int64) throws(JournalError) {
        for (i, n) in segments.enumerated() {
            let index = try segmentIndex(n)
            if index.records > 0 && index.maxTime < time && i < segments.count - 1 { continue }
            try position(atSlot: i, entry: index.entry(before: time))
            try skip { record in JournalFormat.payloadTime(record.payload) >= time }
            return
        }
    }

    private func position(atSlot target: Int, entry: SegmentIndex.Entry?) throws(JournalError) {
        slot = target
        current = try SegmentData(directory: directory, number: segments[target])
        let header = try JournalFormat.parseHeader(current.bytes, path: current.path)
        tornTail = nil
        ended = false
        offset = JournalFormat.headerSize
        lastSequence = header.firstSequence &- 1
        // Trust an index entry only when the record at its offset carries its sequence.
        if let entry, entry.offset < current.bytes.count,
           case .record(let s, _, _) = JournalFormat.frame(in: current.bytes, at: entry.offset), s == entry.sequence {
            offset = entry.offset
            lastSequence = entry.sequence &- 1
        }
        chain = lastSequence
        (special, peeked, span) = (false, nil, nil)
    }

    /// Reads forward until `found` accepts a record, leaving the reader just before it: the
    /// record is put back for `next()`, not re-read (it may come from a source journal).
    private func skip(until found: (JournalRecord) -> Bool) throws(JournalError) {
        while let record = try next() {
            guard found(record) else { continue }
            peeked = record
            special = true
            lastSequence = record.sequence &- 1
            return
        }
    }
}
