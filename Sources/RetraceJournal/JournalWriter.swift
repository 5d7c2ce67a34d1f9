#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CRetraceShims
import RetraceCore

/// How a journal writer stores and syncs.
public struct JournalOptions: Sendable {
    /// When appended bytes are forced to stable storage.
    public var syncMode: SyncMode
    /// A segment is sealed and a new one started before it would exceed this size.
    public var segmentBytes: Int
    /// Pre-zero each segment to its full size (cheaper `fdatasync` on ext4); the next
    /// segment is prepared by a background thread. Nil: on for `async` and `fsync`, off for
    /// `none` — decided by the sync mode in force, so changing `syncMode` later follows.
    public var preallocateChoice: Bool?
    public var preallocate: Bool { preallocateChoice ?? (syncMode != .none) }
    /// io_uring or POSIX I/O. POSIX is the default: on the measured machine a linked
    /// io_uring write → fdatasync commits 15–20 µs slower at p50 than `pwrite` + `fdatasync`
    /// (the kernel hands the sync to a worker thread), and group commit leaves nothing to overlap.
    public var io: IOChoice
    /// `async` mode: background `fdatasync` at least this often…
    public var asyncIntervalMillis: Int
    /// …or as soon as this many bytes were appended since the last one.
    public var asyncBytes: Int
    /// Size of each of the two append buffers.
    public var bufferBytes: Int
    /// Records between sparse index entries.
    public var indexInterval: Int
    /// Streams the journal through the page cache (0: off). Every time this many bytes
    /// have been written, their writeback is started, and the window before them is
    /// waited for and dropped from the cache. A long run then neither grows the page cache
    /// (on this VM the first touch of fresh memory made `pwrite` copy at ~0.4 GB/s instead
    /// of ~2.5 GB/s) nor evicts other files, and dirty pages never pile up into a stall at
    /// the kernel's threshold. The same idea as RocksDB's `bytes_per_sync`.
    public var writebackBytes: Int
    /// The caller promises that one thread at a time appends, commits and finishes (a
    /// backtest's or replay's core loop). With `none` sync (no background thread, no
    /// preallocator) the writer then takes no lock: an uncontended mutex pair on every
    /// append measured 4 % of a backtest's core thread. Ignored in `async` mode and when
    /// segments are preallocated, whose background threads share the writer's state.
    public var singleOwner = false
    /// A run whose inputs come from another journal (a backtest over a data run, a replay)
    /// keeps them by reference to it (`InputReference`) instead of copying each one: about
    /// a fifth of a replay's core-thread time. False copies them (a self-contained journal).
    public var inputsByReference = true

    /// - Parameter preallocate: defaults to on for `async` and `fsync`, off for `none`.
    public init(syncMode: SyncMode = .none, segmentBytes: Int = JournalFormat.defaultSegmentBytes, preallocate: Bool? = nil,
                io: IOChoice = .posix, asyncIntervalMillis: Int = 10, asyncBytes: Int = 1 << 20, bufferBytes: Int = 1 << 20,
                indexInterval: Int = SegmentIndex.defaultInterval, writebackBytes: Int = 8 << 20) {
        precondition(segmentBytes >= 4096, "segments must hold at least 4096 bytes")
        precondition(bufferBytes >= 4096, "journal buffer of \(bufferBytes) bytes is too small")
        precondition(indexInterval > 0 && asyncIntervalMillis > 0 && asyncBytes > 0)
        precondition(writebackBytes >= 0 && writebackBytes % 4096 == 0, "writeback window must be a multiple of 4096 bytes")
        self.syncMode = syncMode
        self.segmentBytes = segmentBytes
        self.preallocateChoice = preallocate
        self.io = io
        self.asyncIntervalMillis = asyncIntervalMillis
        self.asyncBytes = asyncBytes
        self.bufferBytes = bufferBytes
        self.indexInterval = indexInterval
        self.writebackBytes = writebackBytes
    }
}

/// What reopening a journal found and repaired.
public struct JournalRecovery: Sendable {
    /// The torn tail that was truncated, if any.
    public var tornTail: TornTail?
    /// A last segment holding no header (a crash while rotating), removed.
    public var removedSegment: String?
    /// The last intact sequence (0 for an empty journal).
    public var lastSequence: UInt64
}

/// Appends framed, checksummed records to a journal of size-rotated segments.
///
/// The writer is the sequencer: it assigns sequence numbers 1, 2, … in append order. It is
/// safe to use from several threads. Appends copy into the active one of two buffers under
/// a lock and return the record's sequence number, which is its commit ticket. Whoever
/// needs durability calls `waitDurable(_:)` (or `commit()`): the first waiter becomes the
/// leader, swaps the buffers, writes and `fdatasync`s while others keep appending to the
/// other buffer, then wakes every waiter its sync covered — concurrent appenders share one
/// `fdatasync` (group commit). In `async` mode a background thread syncs every
/// `asyncIntervalMillis` or `asyncBytes`. After any I/O failure the writer refuses further
/// appends and commits with that error: what was acknowledged before stays valid.
public final class JournalWriter: @unchecked Sendable {
    /// The journal folder.
    public let directory: String
    public let options: JournalOptions
    public let runID: [UInt8]
    /// The sync mode chosen at open.
    public var syncMode: SyncMode { options.syncMode }
    /// The I/O backend in use.
    public var ioBackend: IOBackendKind { io.kind }

    /// One of the two append buffers, with the segment starts that fall inside it.
    final class Buffer {
        struct SegmentStart {
            /// Byte offset in the buffer where the new segment's header begins.
            var offset: Int
            var segment: Int
            /// The index of the segment that ends here.
            var sealed: SegmentIndex
        }
        let base: UnsafeMutableRawPointer
        var used = 0
        var starts: [SegmentStart] = []
        init(bytes: Int) { base = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096) }
        deinit { base.deallocate() }
    }

    private let lock: ConditionLock
    private let io: JournalIO
    private let capacity: Int
    private let allocation: Int

    // Guarded by `lock`.
    private var active: Buffer
    private var spare: Buffer
    private var next: UInt64
    private var written: UInt64
    private var durable: UInt64
    private var flushing = false
    private var failure: JournalError?
    private var closed = false
    private var segment: Int
    private var segmentFill: Int
    private var index: SegmentIndex
    private var bytesSinceSync = 0
    private var nextRequested = false
    private var syncs = 0
    /// Buffer swaps so far: a reference frame can grow only while its buffer is active.
    private var epoch = 0
    /// The reference frame appended last, while it may still grow (see `appendReference`).
    private var openReference: OpenReference?
    /// While that frame can take the next input: where it ends in the active buffer, and the
    /// source and source sequence that extend it (`growEnd` −1: it cannot). Three compares
    /// decide an input's fast path.
    private var growEnd = -1
    private var growSource: UInt16 = 0
    private var growNext: UInt64 = 0
    /// Sources declared (`declareSource`), by index.
    private var sources = 0

    struct OpenReference {
        /// Where the frame ends in the active buffer (it must be the last frame there).
        var end: Int
        var epoch: Int
        var segment: Int
        var span: InputReference.Span
    }

    // Owned by the thread holding `flushing`.
    private var fd: Int32
    private var fileSegment: Int { didSet { filePath = Self.segmentPath(directory, fileSegment) } }
    /// The path of `fileSegment` (built once per segment, not per write).
    private var filePath = ""
    private var fileOffset: Int
    /// Offset in the current segment up to which writeback was started (a multiple of
    /// `options.writebackBytes`).
    private var writebackStart = 0
    private var filePreallocated: Bool
    private let preallocator: Preallocator?

    /// Creates `directory` (if needed) and the journal's first segment.
    /// - Parameters:
    ///   - runID: 16 bytes identifying the run, stored in every segment header.
    /// - Throws: `.alreadyExists` if the journal has a segment already, `.io` on failure.
    public convenience init(directory: String, runID: [UInt8], syncMode: SyncMode, firstSequence: UInt64 = 1, bufferBytes: Int = 1 << 20) throws(JournalError) {
        try self.init(directory: directory, runID: runID, options: JournalOptions(syncMode: syncMode, bufferBytes: bufferBytes), firstSequence: firstSequence)
    }

    public convenience init(directory: String, runID: [UInt8], options: JournalOptions, firstSequence: UInt64 = 1) throws(JournalError) {
        precondition(runID.count == 16, "run id must be 16 bytes, got \(runID.count)")
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw JournalError(.io, "cannot create journal directory \(directory): \(String(cString: strerror(errno)))")
        }
        if let existing = try? JournalFormat.segmentIndexes(in: directory) {
            throw JournalError(.alreadyExists, "\(directory) already holds a journal (segment \(JournalFormat.segmentName(existing[0]))); reopen it instead")
        }
        let path = directory + "/" + JournalFormat.segmentName(0)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            let code: JournalError.Code = errno == EEXIST ? .alreadyExists : .io
            throw JournalError(code, "cannot create journal segment \(path): \(String(cString: strerror(errno)))")
        }
        var preallocated = false
        if options.preallocate {
            do {
                try JournalIO.zeroFill(fd, bytes: options.segmentBytes, path: path)
                preallocated = true
            } catch {
                // Out of space for the zeros: write a growing segment; appends report the limit when they reach it.
                _ = ftruncate(fd, 0)
                JournalIO.warn("warning: \(error.message); writing a growing segment instead")
            }
        }
        do {
            try self.init(directory: directory, runID: runID, options: options, fd: fd, segment: 0, fileOffset: 0, preallocated: preallocated,
                          next: firstSequence, index: SegmentIndex(segment: 0, firstSequence: firstSequence, interval: options.indexInterval))
        } catch {
            close(fd)
            throw error
        }
        bufferSegmentHeader()
        if options.syncMode != .none { try JournalIO.syncDirectory(directory) }
    }

    private init(directory: String, runID: [UInt8], options: JournalOptions, fd: Int32, segment: Int, fileOffset: Int, preallocated: Bool,
                 next: UInt64, index: SegmentIndex) throws(JournalError) {
        self.directory = directory
        self.options = options
        self.runID = runID
        self.lock = ConditionLock(locking: !(options.singleOwner && options.syncMode != .async && !options.preallocate))
        self.capacity = options.bufferBytes
        self.allocation = options.bufferBytes + JournalFormat.recordSize(payloadBytes: JournalFormat.payloadMax) + JournalFormat.headerSize
        let a = Buffer(bytes: allocation), b = Buffer(bytes: allocation)
        (active, spare) = (a, b)
        self.io = try JournalIO(options.io, buffers: [(a.base, allocation), (b.base, allocation)])
        self.fd = fd
        self.segment = segment
        self.fileSegment = segment
        filePath = Self.segmentPath(directory, segment)
        self.fileOffset = fileOffset
        if options.writebackBytes > 0 { writebackStart = fileOffset / options.writebackBytes * options.writebackBytes }
        self.segmentFill = fileOffset
        self.filePreallocated = preallocated
        self.next = next
        self.written = next &- 1
        self.durable = next &- 1
        self.index = index
        self.index.entries.reserveCapacity(options.segmentBytes / (options.indexInterval * 32) + 1)
        self.preallocator = options.preallocate ? Preallocator(directory: directory, bytes: options.segmentBytes) : nil
        if options.syncMode == .async { startSyncThread() }
    }

    /// Reopens an existing journal for appending, after recovery: a torn tail (a record cut
    /// short or failing its CRC at the very end) is truncated and reported, a last segment
    /// left without a header by a crash during rotation is removed; corruption before the
    /// tail throws and nothing is changed.
    public static func reopen(directory: String, options: JournalOptions) throws(JournalError) -> (JournalWriter, JournalRecovery) {
        _ = unlink(directory + "/" + JournalFormat.preallocatedName)
        var removed: String?
        var segments = try JournalFormat.segmentIndexes(in: directory)
        if segments.count > 1, let last = segments.last {
            let path = directory + "/" + JournalFormat.segmentName(last)
            if let file = try? _UnsafeMappedFile(path: path), withExtendedLifetime(file, { JournalFormat.isZero(file.bytes, from: 0) }) {
                guard unlink(path) == 0 else { throw JournalError(.io, "cannot remove headerless segment \(path): \(String(cString: strerror(errno)))") }
                removed = path
                segments.removeLast()
            }
        }
        let reader = try JournalReader(directory: directory, resolving: false)
        try reader.seekToLastSegment()
        while try reader.next() != nil {}
        let last = reader.lastSequence
        let recovery = JournalRecovery(tornTail: reader.tornTail, removedSegment: removed, lastSequence: last)
        let lastSegment = segments.last!
        let path = directory + "/" + JournalFormat.segmentName(lastSegment)
        _ = unlink(directory + "/" + JournalFormat.indexName(lastSegment))
        if !FileManager.default.fileExists(atPath: path) {
            // The last segment was compacted: continue in a new one.
            let fd = open(directory + "/" + JournalFormat.segmentName(lastSegment + 1), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw JournalError(.io, "cannot create segment after \(path).zst: \(String(cString: strerror(errno)))") }
            let w = try JournalWriter(directory: directory, runID: reader.runID, options: options, fd: fd, segment: lastSegment + 1, fileOffset: 0,
                                      preallocated: false, next: last &+ 1,
                                      index: SegmentIndex(segment: lastSegment + 1, firstSequence: last &+ 1, interval: options.indexInterval))
            w.bufferSegmentHeader()
            return (w, recovery)
        }
        let validEnd = reader.position
        let fileBytes = reader.currentSegmentBytes
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw JournalError(.io, "cannot open \(path) for appending: \(String(cString: strerror(errno)))") }
        if recovery.tornTail != nil {
            guard ftruncate(fd, off_t(validEnd)) == 0, fdatasync(fd) == 0 else {
                let message = String(cString: strerror(errno))
                close(fd)
                throw JournalError(.io, "cannot truncate \(path) to \(validEnd) bytes during recovery: \(message)")
            }
        }
        let index = reader.currentSegmentIndex(interval: options.indexInterval)
        do {
            let w = try JournalWriter(directory: directory, runID: reader.runID, options: options, fd: fd, segment: lastSegment, fileOffset: validEnd,
                                      preallocated: recovery.tornTail == nil && fileBytes > validEnd, next: last &+ 1, index: index)
            return (w, recovery)
        } catch {
            close(fd)
            throw error
        }
    }

    deinit {
        lock.lock()
        closed = true
        lock.broadcast()
        lock.unlock()
        if fd >= 0 { close(fd) }
        preallocator?.discard()
    }

    // MARK: Appending

    /// The sequence number the next append receives.
    public var nextSequence: UInt64 {
        lock.lock(); defer { lock.unlock() }
        return next
    }

    /// The segment appends go to now (the one holding the last record appended).
    public var currentSegment: Int {
        lock.lock(); defer { lock.unlock() }
        return segment
    }

    /// The last sequence known durable (covered by an `fdatasync`).
    public var durableSequence: UInt64 {
        lock.lock(); defer { lock.unlock() }
        return durable
    }

    /// Number of `fdatasync` calls that covered appended records.
    public var syncCount: Int {
        lock.lock(); defer { lock.unlock() }
        return syncs
    }

    /// Appends one event and returns its sequence number (its commit ticket).
    @discardableResult
    public func append(_ event: Event) throws(JournalError) -> UInt64 {
        try append(body: event.body, eventTime: event.eventTime, receiveTime: event.receiveTime).sequence
    }

    /// Appends an event given by its body and times, encoded straight into the journal's
    /// buffer. Returns its sequence and its encoded bytes there, which stay as they are
    /// until this writer's next append (a flush writes a buffer out and never changes it;
    /// only appends fill it), so the caller can hand them on (the engine's outputs go to
    /// the store writer this way, with no scratch copy).
    public func append(body: borrowing EventBody, eventTime: Timestamp, receiveTime: Timestamp) throws(JournalError) -> (sequence: UInt64, bytes: UnsafeRawBufferPointer) {
        let size = EventCodec.encodedSize(body)
        lock.lock(); defer { lock.unlock() }
        let at = try reserveLocked(payloadBytes: size)
        // SAFETY: `reserveLocked` guaranteed room for the frame and `size` payload bytes.
        let payload = active.base + at + JournalFormat.frameSize
        EventCodec.encode(body, eventTime: eventTime, receiveTime: receiveTime, to: payload)
        let sequence = sealLocked(at: at, payloadBytes: size, time: receiveTime.nanos)
        return (sequence, UnsafeRawBufferPointer(start: payload, count: size))
    }

    /// Appends an already-encoded payload and returns its sequence number (its commit ticket).
    /// `time`: the payload's receive time when the caller has it (else read from the bytes).
    @discardableResult
    public func append(encoded payload: UnsafeRawBufferPointer, time: Int64? = nil) throws(JournalError) -> UInt64 {
        precondition(payload.count <= JournalFormat.payloadMax, "payload of \(payload.count) bytes exceeds the maximum")
        lock.lock(); defer { lock.unlock() }
        let at = try reserveLocked(payloadBytes: payload.count)
        if payload.count > 0 {
            // SAFETY: as above; source and destination do not overlap.
            (active.base + at + JournalFormat.frameSize).copyMemory(from: payload.baseAddress!, byteCount: payload.count)
        }
        return sealLocked(at: at, payloadBytes: payload.count, time: time ?? JournalFormat.payloadTime(payload))
    }

    /// Declares the journal that `appendReference(source:…)` points into, before the first
    /// record; returns its source index. `path` must be absolute.
    public func declareSource(path: String, runID: [UInt8]) throws(JournalError) -> UInt16 {
        precondition(runID.count == 16 && path.hasPrefix("/"), "a source needs its 16-byte run id and an absolute path")
        lock.lock(); defer { lock.unlock() }
        guard segment == 0 && segmentFill == active.used && active.used == JournalFormat.headerSize && epoch == 0 && next == index.firstSequence else {
            throw JournalError(.io, "\(directory): sources are declared before the first record")
        }
        let payload = InputReference.sourcePayload(InputReference.Source(index: UInt16(sources), runID: runID, path: path))
        guard payload.count <= JournalFormat.payloadMax else { throw JournalError(.io, "source path of \(path.utf8.count) bytes is too long") }
        let at = try reserveLocked(payloadBytes: payload.count)
        payload.withUnsafeBytes { (active.base + at + JournalFormat.frameSize).copyMemory(from: $0.baseAddress!, byteCount: payload.count) }
        // The declaration covers no sequence: its frame carries the next record's.
        let sequence = next
        sealLocked(at: at, payloadBytes: payload.count, time: Int64.min)
        next = sequence
        index.lastSequence = sequence &- 1
        sources += 1
        return UInt16(sources - 1)
    }

    /// Appends an input that is record `sourceSequence` of declared source `source`, by
    /// reference, and returns its sequence number. Consecutive inputs of one source (source
    /// sequences following each other) share one frame, grown in place while it is the last
    /// frame of the active buffer: the cost of an input is a counter, not a copy of the
    /// event. The frame's count and CRC are written once, when it closes.
    @discardableResult
    public func appendReference(source: UInt16, sourceSequence: UInt64, time: Int64) throws(JournalError) -> UInt64 {
        lock.lock(); defer { lock.unlock() }
        // `growEnd` is reset whenever anything else is appended, the buffers swap, the
        // journal fails or closes, and when the frame is full.
        if sourceSequence == growNext && active.used == growEnd && source == growSource {
            let sequence = next
            growLocked(by: 1, lastTime: time, latest: time)
            return sequence
        }
        return try openReferenceLocked(source: source, sourceSequence: sourceSequence, time: time)
    }

    /// Journals `times.count` inputs by reference: source sequences `firstSourceSequence`,
    /// `firstSourceSequence + 1`, … received at `times` (one per input). Returns the
    /// first one's sequence; the others follow it. The frames are the ones that as many
    /// `appendReference` calls would write, at one call's cost: a caller that knows its
    /// inputs follow each other (a backtest reading a data run) hands them over in runs.
    @discardableResult
    public func appendReferences(source: UInt16, firstSourceSequence: UInt64, times: UnsafeBufferPointer<Int64>) throws(JournalError) -> UInt64 {
        lock.lock(); defer { lock.unlock() }
        let first = next
        var i = 0
        while i < times.count {
            let sourceSequence = firstSourceSequence &+ UInt64(i)
            guard sourceSequence == growNext && active.used == growEnd && source == growSource else {
                _ = try openReferenceLocked(source: source, sourceSequence: sourceSequence, time: times[i])
                i += 1
                continue
            }
            // As many as the open frame takes, in one step.
            let n = min(Int(InputReference.maxCount - openReference!.span.count), times.count - i)
            var latest = times[i]
            for k in (i + 1)..<(i + n) where times[k] > latest { latest = times[k] }
            growLocked(by: n, lastTime: times[i + n - 1], latest: latest)
            i += n
        }
        return first
    }

    /// Grows the open reference frame by `n` inputs (it has room), the last received at
    /// `lastTime`, the latest at `latest`. The frame's count and CRC are written when it
    /// is closed (`closeReferenceLocked`).
    @inline(__always)
    private func growLocked(by n: Int, lastTime: Int64, latest: Int64) {
        openReference!.span.count += UInt32(n)
        openReference!.span.lastTime = lastTime
        if openReference!.span.count == InputReference.maxCount { growEnd = -1 }
        growNext &+= UInt64(n)
        next += UInt64(n)
        index.extend(through: next - 1, time: latest)
    }

    /// Opens a reference frame for one input (closing the one open before).
    private func openReferenceLocked(source: UInt16, sourceSequence: UInt64, time: Int64) throws(JournalError) -> UInt64 {
        precondition(Int(source) < sources, "source \(source) was not declared")
        closeReferenceLocked()
        let at = try reserveLocked(payloadBytes: InputReference.referenceBytes)
        let span = InputReference.Span(source: source, count: 1, time: time, first: sourceSequence, lastTime: time)
        InputReference.writeReference(span, to: active.base + at + JournalFormat.frameSize)
        let sequence = sealLocked(at: at, payloadBytes: InputReference.referenceBytes, time: time)
        openReference = OpenReference(end: active.used, epoch: epoch, segment: segment, span: span)
        (growEnd, growSource, growNext) = (active.used, source, sourceSequence &+ 1)
        return sequence
    }

    /// Writes the open reference frame's final count, last time and CRC into the buffer.
    /// Called before the frame can be written out (a buffer swap) and before another
    /// reference frame is opened; the frame then takes no more inputs.
    private func closeReferenceLocked() {
        growEnd = -1
        guard let open = openReference else { return }
        openReference = nil
        guard open.epoch == epoch, open.span.count > 1 else { return }  // one input: sealed as written
        let record = active.base + open.end - JournalFormat.recordSize(payloadBytes: InputReference.referenceBytes)
        InputReference.writeReference(open.span, to: record + JournalFormat.frameSize)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: record + 8, count: 8 + InputReference.referenceBytes))
        record.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
    }

    private func reserveLocked(payloadBytes: Int) throws(JournalError) -> Int {
        let size = JournalFormat.recordSize(payloadBytes: payloadBytes)
        while true {
            if let failure { throw failure }
            if closed { throw JournalError(.io, "\(directory): the journal is finished; no more appends") }
            let rotate = segmentFill + size > options.segmentBytes && segmentFill > JournalFormat.headerSize
            let need = size + (rotate ? JournalFormat.headerSize : 0)
            if active.used + need <= capacity || active.used == 0 {
                if rotate { startSegmentLocked() }
                // The record's last 8 bytes zeroed before its frame and payload are written
                // over them: that zeroes its padding (0–7 bytes after the payload) with one
                // store, not a `memset` call per record. (The buffer's allocation has room
                // for a record of any size past `capacity`.)
                (active.base + active.used + size - 8).storeBytes(of: 0 as UInt64, as: UInt64.self)
                return active.used
            }
            if flushing { lock.wait() } else { try flushLocked(sync: false) }
        }
    }

    private func startSegmentLocked() {
        active.starts.append(Buffer.SegmentStart(offset: active.used, segment: segment + 1, sealed: index))
        segment += 1
        nextRequested = false
        index = SegmentIndex(segment: segment, firstSequence: next, interval: options.indexInterval)
        // Room for a full segment of small records: adding entries never reallocates.
        index.entries.reserveCapacity(options.segmentBytes / (options.indexInterval * 32) + 1)
        bufferSegmentHeader()
    }

    /// Puts the header of the segment new records go to (first sequence `next`) into the
    /// active buffer.
    private func bufferSegmentHeader() {
        JournalFormat.writeHeader(to: active.base + active.used, runID: runID, firstSequence: next)
        active.used += JournalFormat.headerSize
        segmentFill = JournalFormat.headerSize
    }

    @inline(__always) @discardableResult
    private func sealLocked(at start: Int, payloadBytes: Int, time: Int64) -> UInt64 {
        let sequence = next
        next += 1
        let record = active.base + start
        record.storeBytes(of: UInt32(payloadBytes).littleEndian, toByteOffset: 0, as: UInt32.self)
        record.storeBytes(of: sequence.littleEndian, toByteOffset: 8, as: UInt64.self)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: record + 8, count: 8 + payloadBytes))
        record.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
        let total = JournalFormat.recordSize(payloadBytes: payloadBytes)  // its padding was zeroed by `reserveLocked`
        index.add(sequence: sequence, time: time, offset: segmentFill)
        segmentFill += total
        active.used = start + total
        if !nextRequested && segmentFill >= options.segmentBytes / 2, let preallocator {
            // Half way through a segment: have the next one zero-filled in the background.
            nextRequested = true
            preallocator.prepare()
        }
        if options.syncMode == .async {
            bytesSinceSync += total
            if bytesSinceSync >= options.asyncBytes && bytesSinceSync - total < options.asyncBytes { lock.broadcast() }
        }
        return sequence
    }

    // MARK: Committing

    /// Returns once record `ticket` (and everything before it) is durable, leading a group
    /// commit when no other thread is syncing.
    public func waitDurable(_ ticket: UInt64) throws(JournalError) {
        lock.lock(); defer { lock.unlock() }
        while durable < ticket {
            if let failure { throw failure }
            if flushing { lock.wait() } else { try flushLocked(sync: true) }
        }
    }

    /// Makes everything appended so far visible in the file (`none`, `async`) or durable
    /// (`fsync`). In `async` mode the background thread syncs it within the interval.
    public func commit() throws(JournalError) {
        lock.lock(); defer { lock.unlock() }
        let target = next &- 1
        let sync = options.syncMode == .fsync
        while sync ? durable < target : written < target {
            if let failure { throw failure }
            if flushing { lock.wait() } else { try flushLocked(sync: sync) }
        }
    }

    /// Writes and syncs everything regardless of mode, seals the last segment (writes its
    /// index), and closes the writer: the journal is complete on disk.
    public func finish() throws(JournalError) {
        lock.lock()
        defer { lock.unlock() }
        if closed { return }
        while durable < next &- 1 || flushing {
            if let failure { throw failure }
            if flushing { lock.wait() } else { try flushLocked(sync: true) }
        }
        if let failure { throw failure }
        closed = true
        growEnd = -1
        lock.broadcast()
        if filePreallocated { _ = ftruncate(fd, off_t(fileOffset)) }
        try index.write(directory: directory)
        close(fd)
        fd = -1
        preallocator?.discard()
    }

    /// Becomes the leader: swaps the buffers, writes the full one (rotating segments where
    /// it says so) and optionally syncs, with the lock released during the I/O.
    private func flushLocked(sync: Bool) throws(JournalError) {
        if active.used == 0 && (!sync || durable == written) { return }
        flushing = true
        closeReferenceLocked()
        let buffer = active
        active = spare
        spare = buffer
        epoch &+= 1
        let last = next &- 1
        let bytes = buffer.used
        lock.unlock()
        var error: JournalError?
        do { try writeOut(buffer, sync: sync) } catch let e { error = e }
        lock.lock()
        flushing = false
        buffer.used = 0
        buffer.starts.removeAll(keepingCapacity: true)
        if let error {
            failure = error
            lock.broadcast()
            throw error
        }
        written = last
        if sync {
            durable = last
            syncs += 1
            bytesSinceSync = max(0, bytesSinceSync - bytes)
        }
        lock.broadcast()
    }

    /// Writes `buffer` to the segment files (no lock held; this thread owns the file state).
    private func writeOut(_ buffer: Buffer, sync: Bool) throws(JournalError) {
        var start = 0
        for s in buffer.starts {
            if s.offset > start {
                try io.write(fd, buffer.base + start, s.offset - start, at: fileOffset, path: filePath)
                fileOffset += s.offset - start
                paceWriteback()
            }
            try rotate(to: s)
            start = s.offset
        }
        let rest = buffer.used - start
        let path = filePath
        if sync {
            if rest > 0 { try io.writeAndSync(fd, buffer.base + start, rest, at: fileOffset, path: path) } else { try io.sync(fd, path: path) }
        } else if rest > 0 {
            try io.write(fd, buffer.base + start, rest, at: fileOffset, path: path)
        }
        fileOffset += rest
        paceWriteback()
    }

    /// Starts writeback of each whole window written since the last call and drops the
    /// window before it once it is on disk (see `JournalOptions.writebackBytes`). Hints
    /// only: a file system that refuses them changes nothing.
    private func paceWriteback() {
        let window = options.writebackBytes
        guard window > 0 else { return }
        while fileOffset - writebackStart >= window {
            _ = retrace_start_writeback(fd, Int64(writebackStart), Int64(window))
            if writebackStart >= window { _ = retrace_drop_written(fd, Int64(writebackStart - window), Int64(window)) }
            writebackStart += window
        }
    }

    private static func segmentPath(_ directory: String, _ n: Int) -> String { directory + "/" + JournalFormat.segmentName(n) }

    /// Seals the current segment file and opens the next one.
    private func rotate(to start: Buffer.SegmentStart) throws(JournalError) {
        let oldPath = filePath
        // The sealed segment is durable before any record lands in the next one.
        if options.syncMode != .none { try io.sync(fd, path: oldPath) }
        if filePreallocated { _ = ftruncate(fd, off_t(fileOffset)) }  // drop unused zeros; harmless if lost
        close(fd)
        fd = -1
        try start.sealed.write(directory: directory)
        let path = Self.segmentPath(directory, start.segment)
        if let preallocator, preallocator.take(as: path) {
            fd = open(path, O_WRONLY | O_CLOEXEC)
            filePreallocated = true
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            filePreallocated = false
        }
        guard fd >= 0 else { throw JournalError(.io, "cannot create journal segment \(path): \(String(cString: strerror(errno)))") }
        if options.syncMode != .none { try JournalIO.syncDirectory(directory) }
        fileSegment = start.segment
        fileOffset = 0
        writebackStart = 0
    }

    // MARK: Async mode

    private func startSyncThread() {
        let interval = options.asyncIntervalMillis * 1_000_000
        let thread = Thread { [weak self] in
            while let writer = self, writer.asyncTick(intervalNanos: interval) {}
        }
        thread.name = "retrace-journal-sync"
        thread.start()
    }

    /// One round of the `async` background sync; false when the writer is done.
    private func asyncTick(intervalNanos: Int) -> Bool {
        lock.lock(); defer { lock.unlock() }
        if closed || failure != nil { return false }
        if bytesSinceSync < options.asyncBytes { lock.wait(nanoseconds: intervalNanos) }
        if closed || failure != nil { return false }
        if flushing || (active.used == 0 && durable == written) { return true }
        do { try flushLocked(sync: true) } catch { return false }
        return true
    }
}

/// Prepares the next segment file, zero-filled and synced, on a background thread.
final class Preallocator: @unchecked Sendable {
    private let path: String
    private let bytes: Int
    private let lock = ConditionLock()
    private var state = State.idle
    enum State { case idle, preparing, ready, failed, discarded }

    init(directory: String, bytes: Int) {
        path = directory + "/" + JournalFormat.preallocatedName
        self.bytes = bytes
    }

    /// Starts preparing a file unless one is ready or being prepared.
    func prepare() {
        lock.lock()
        guard state == .idle || state == .failed else { lock.unlock(); return }
        state = .preparing
        lock.unlock()
        let thread = Thread { [self] in
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            var ok = fd >= 0
            if ok { do { try JournalIO.zeroFill(fd, bytes: bytes, path: path) } catch { ok = false } }
            if fd >= 0 { close(fd) }
            lock.lock()
            if state == .discarded { unlink(path) } else { state = ok ? .ready : .failed }
            if !ok { unlink(path) }
            lock.broadcast()
            lock.unlock()
        }
        thread.name = "retrace-journal-prealloc"
        thread.start()
    }

    /// Renames the prepared file to `target` if one is ready.
    func take(as target: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard state == .ready else { return false }
        state = .idle
        return rename(path, target) == 0
    }

    /// Stops using preallocation and removes a prepared file (waiting for one in progress).
    func discard() {
        lock.lock(); defer { lock.unlock() }
        while state == .preparing { lock.wait() }
        if state == .ready { unlink(path) }
        state = .discarded
    }
}
