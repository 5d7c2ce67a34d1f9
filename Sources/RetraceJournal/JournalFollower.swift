#if canImport(Glibc)
import Glibc
#endif

/// Follows the segment files of a journal while it is written (by this process or another):
/// each `poll` delivers the complete records that have landed since the last one, in
/// sequence order, without touching the writer's state.
///
/// It reads with `pread` (the files grow) into a window of its own, and treats a record cut short, failing its CRC or not there yet (the end of the file, the
/// zeros of a preallocated segment) as "not written yet". It moves to the next segment
/// once that one has a valid header naming the sequence after the last one seen; a
/// compacted (compressed) segment is complete, so only the next one can grow.
public final class JournalFollower {
    /// What to do with a frame of inputs kept by reference (`InputReference`).
    public enum References: Sendable {
        /// Throw: the follower cannot hand out the inputs it names.
        case reject
        /// Step over the sequences it covers without delivering them.
        case skip
    }

    public let directory: String
    /// The last sequence delivered or stepped over (nil until the first header is read,
    /// when the follower starts without knowing it).
    public private(set) var lastSequence: UInt64?
    /// The segment being read.
    public private(set) var segment: Int
    private let from: UInt64
    private let references: References
    private var fd: Int32 = -1
    private var headerRead: Bool
    /// The window: the bytes read, the file offset of their first byte, and
    /// the next frame's place in them.
    private var window = UnsafeRawBufferPointer(start: nil, count: 0)
    private var base: Int
    private var at = 0
    private let buffer: UnsafeMutableRawBufferPointer
    /// Bytes read at a time while records are coming: small enough that what the kernel
    /// copies is still in the cache when the frames are checked (the copy was 9 % of a
    /// store writer's samples reading a market maker's journal in 4 MiB reads, 6.5 % in
    /// these; mapping the segments instead moved the same cost into the CRC check).
    private static let wideRead = 256 << 10
    /// Bytes read when nothing new was found last time and the next frame's first bytes
    /// show something (a preallocated segment reads as zeros to its end: an idle poll
    /// reads 16 of them, not a window).
    private static let idleRead = 64 << 10

    /// Follows from `offset` in `segment` (0: from the segment's header). `lastSequence`:
    /// the sequence just before that point (nil: take it from the segment's header, which
    /// `offset` must then be 0 for). Records before `from` are stepped over.
    public init(directory: String, segment: Int, offset: Int = 0, lastSequence: UInt64?, from: UInt64 = 0, references: References = .reject) {
        precondition(lastSequence != nil || offset == 0, "a follower starting inside a segment must know the sequence before it")
        self.directory = directory
        self.segment = segment
        self.lastSequence = lastSequence
        self.from = from
        self.references = references
        headerRead = offset >= JournalFormat.headerSize
        base = headerRead ? offset : JournalFormat.headerSize
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 64)
    }

    deinit {
        closeSegment()
        buffer.deallocate()
    }

    private func openSegment() -> Bool {
        if fd >= 0 { return true }
        fd = open(directory + "/" + JournalFormat.segmentName(segment), O_RDONLY | O_CLOEXEC)
        return fd >= 0
    }

    private func closeSegment() {
        window = UnsafeRawBufferPointer(start: nil, count: 0)
        if fd >= 0 { close(fd) }
        fd = -1
    }

    /// The header of segment `n` when it is there and valid.
    private func header(of n: Int, fd given: Int32? = nil) -> JournalFormat.Header? {
        let f = given ?? open(directory + "/" + JournalFormat.segmentName(n), O_RDONLY | O_CLOEXEC)
        guard f >= 0 else { return nil }
        defer { if given == nil { close(f) } }
        var bytes = [UInt8](repeating: 0, count: JournalFormat.headerSize)
        let h = bytes.withUnsafeMutableBytes { pread(f, $0.baseAddress, JournalFormat.headerSize, 0) }
        guard h == JournalFormat.headerSize else { return nil }
        return bytes.withUnsafeBytes { try? JournalFormat.parseHeader($0, path: "") }
    }

    /// True when the next segment exists with a header naming the sequence after the last
    /// one seen: the current segment is then complete.
    private func nextSegmentReady() -> Bool {
        guard let last = lastSequence, let h = header(of: segment + 1) else { return false }
        return h.firstSequence == last &+ 1
    }

    private func moveToNextSegment() {
        closeSegment()
        segment += 1
        headerRead = false
        (base, at) = (JournalFormat.headerSize, 0)
    }

    /// Delivers up to `limit` complete records now available; returns how many it delivered.
    @discardableResult
    public func poll(limit: Int = .max, _ deliver: (JournalRecord) throws -> Void) throws -> Int {
        var delivered = 0
        var fresh = false  // the window was just read and nothing in it was taken yet
        while delivered < limit {
            if !openSegment() {
                guard access(directory + "/" + JournalFormat.compressedSegmentName(segment), F_OK) == 0, nextSegmentReady() else { return delivered }
                moveToNextSegment()
                continue
            }
            if !headerRead {
                guard let h = header(of: segment, fd: fd), lastSequence.map({ h.firstSequence == $0 &+ 1 }) ?? true else { return delivered }
                if lastSequence == nil { lastSequence = h.firstSequence &- 1 }
                headerRead = true
            }
            let bytes = window
            let started = at
            scan: while delivered < limit {
                switch JournalFormat.frame(in: bytes, at: at) {
                case .record(let sequence, let length, let size) where sequence == lastSequence.unsafelyUnwrapped &+ 1:
                    let payload = UnsafeRawBufferPointer(rebasing: bytes[(at + JournalFormat.frameSize)..<(at + JournalFormat.frameSize + length)])
                    switch InputReference.kind(payload) {
                    case .record:
                        if sequence >= from {
                            try deliver(JournalRecord(sequence: sequence, offset: base + at, payload: payload))
                            delivered += 1
                        }
                    case .reference where references == .reject:
                        throw JournalError(.corrupt, "\(JournalFormat.segmentName(segment)) at byte \(base + at): inputs kept by reference cannot be tailed; read the finished journal instead")
                    case .reference, .source:
                        break
                    }
                    lastSequence = sequence &+ InputReference.span(payload) &- 1
                    at += size
                default:
                    break scan  // not written yet (or being written): look again at the next poll
                }
            }
            if at > started { fresh = false }
            if delivered >= limit { return delivered }
            if fresh {
                // Nothing more here now: has the writer moved on to the next segment?
                guard nextSegmentReady() else { return delivered }
                moveToNextSegment()
                fresh = false
                continue
            }
            try refill(wide: at > started)
            fresh = true
        }
        return delivered
    }

    /// Reads the file from the window's next frame on: a wide read while records are
    /// coming; otherwise first the next frame's 16 bytes (none, or the zeros of a
    /// preallocated segment: still nothing new, for the price of a tiny read), then a small
    /// read; the whole buffer when the frame there needs it.
    private func refill(wide: Bool) throws(JournalError) {
        let offset = base + at
        var want = wide ? Self.wideRead : JournalFormat.frameSize
        while true {
            let n = pread(fd, buffer.baseAddress, want, off_t(offset))
            guard n >= 0 else {
                throw JournalError(.io, "cannot read \(directory)/\(JournalFormat.segmentName(segment)) at byte \(offset): \(String(cString: strerror(errno)))")
            }
            (base, at) = (offset, 0)
            window = UnsafeRawBufferPointer(start: buffer.baseAddress, count: n)
            guard n == want, want < buffer.count else { return }
            if want == JournalFormat.frameSize {
                guard !JournalFormat.isZero(window, from: 0) else { return }
                want = Self.idleRead  // something is there: read on
                continue
            }
            // A record longer than the read: read as much as it says.
            let length = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
            guard length <= JournalFormat.payloadMax, JournalFormat.recordSize(payloadBytes: length) > n else { return }
            want = buffer.count
        }
    }
}
