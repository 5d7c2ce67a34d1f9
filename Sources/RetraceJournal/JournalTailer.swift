#if canImport(Glibc)
import Glibc
#endif

/// Follows a journal another process is writing: each `poll` delivers the records that
/// have landed since the last one, in sequence order, without touching the writer's files.
///
/// The tailer reads with `pread` (the files grow), treats an incomplete or not-yet-valid
/// record at the end as "not yet written", and moves to the next segment once that
/// segment has a valid header and the current one holds no more records.
public final class JournalTailer {
    public let directory: String
    /// The last sequence delivered or skipped.
    public private(set) var lastSequence: UInt64
    private var segment: Int
    private var offset: Int
    private var fd: Int32 = -1
    private var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 64)
    private let from: UInt64
    /// Reads the records already there (any segment form) before following begins.
    private var catchUp: JournalReader?

    /// Starts at sequence `from` (records before it are skipped), or after the records
    /// already in the journal when `from` is nil.
    /// - Throws: `.notFound` while the journal does not exist yet; reading errors of the
    ///   existing records.
    public init(directory: String, from: UInt64?) throws(JournalError) {
        self.directory = directory
        // Catch up with a verifying reader (it handles compressed segments), then follow.
        let reader = try JournalReader(directory: directory)
        if let from { try reader.seek(toSequence: from) } else {
            try reader.seekToLastSegment()
            while try reader.next() != nil {}
        }
        (segment, offset, lastSequence) = (0, 0, 0)
        self.from = from ?? reader.lastSequence &+ 1
        catchUp = reader
    }

    deinit {
        if fd >= 0 { close(fd) }
        buffer.deallocate()
    }

    private func openSegment() -> Bool {
        if fd >= 0 { return true }
        fd = open(directory + "/" + JournalFormat.segmentName(segment), O_RDONLY | O_CLOEXEC)
        return fd >= 0
    }

    /// True when the next segment exists with a header naming the sequence after the last
    /// one seen: the current segment is then complete.
    private func nextSegmentReady() -> Bool {
        let nextFD = open(directory + "/" + JournalFormat.segmentName(segment + 1), O_RDONLY | O_CLOEXEC)
        guard nextFD >= 0 else { return false }
        defer { close(nextFD) }
        let h = pread(nextFD, buffer.baseAddress, JournalFormat.headerSize, 0)
        guard h == JournalFormat.headerSize, let header = try? JournalFormat.parseHeader(UnsafeRawBufferPointer(rebasing: buffer[0..<h]), path: "") else { return false }
        return header.firstSequence == lastSequence &+ 1
    }

    /// Delivers every complete record now available; returns how many were delivered.
    @discardableResult
    public func poll(_ deliver: (JournalRecord) throws -> Void) throws -> Int {
        var delivered = 0
        if let reader = catchUp {
            while let record = try reader.next() {
                try deliver(record)
                delivered += 1
            }
            segment = reader.currentSegment
            offset = reader.position < JournalFormat.headerSize ? 0 : reader.position  // 0: wait for a header
            lastSequence = reader.lastSequence
            catchUp = nil
        }
        while true {
            if !openSegment() {
                // A compacted (sealed) segment is complete: only the next one can grow.
                guard access(directory + "/" + JournalFormat.compressedSegmentName(segment), F_OK) == 0, nextSegmentReady() else { return delivered }
                segment += 1
                offset = 0
                continue
            }
            if offset == 0 {
                // Waiting for this segment's header.
                let n = pread(fd, buffer.baseAddress, JournalFormat.headerSize, 0)
                guard n == JournalFormat.headerSize, let header = try? JournalFormat.parseHeader(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), path: ""),
                      header.firstSequence == lastSequence &+ 1 else { return delivered }
                offset = JournalFormat.headerSize
            }
            let n = pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
            guard n >= 0 else { throw JournalError(.io, "cannot read \(JournalFormat.segmentName(segment)) at byte \(offset): \(String(cString: strerror(errno)))") }
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            var at = 0
            var progressed = false
            scan: while true {
                switch JournalFormat.frame(in: bytes, at: at) {
                case .record(let sequence, let length, let size) where sequence == lastSequence &+ 1:
                    let payload = UnsafeRawBufferPointer(rebasing: bytes[(at + JournalFormat.frameSize)..<(at + JournalFormat.frameSize + length)])
                    guard InputReference.kind(payload) == .record else {
                        // Only backtests and replays keep inputs by reference, and they are read whole, not tailed.
                        throw JournalError(.corrupt, "\(JournalFormat.segmentName(segment)) at byte \(offset + at): inputs kept by reference cannot be tailed; read the finished journal instead")
                    }
                    lastSequence = sequence
                    if sequence >= from {
                        try deliver(JournalRecord(sequence: sequence, offset: offset + at, payload: payload))
                        delivered += 1
                    }
                    at += size
                    progressed = true
                default:
                    break scan  // not written yet (or being written): look again at the next poll
                }
            }
            offset += at
            if progressed && n == buffer.count { continue }  // more may follow in the file
            // Nothing more here now: has the writer moved on to the next segment?
            guard nextSegmentReady() else { return delivered }
            close(fd)
            fd = -1
            segment += 1
            offset = 0
        }
    }
}
