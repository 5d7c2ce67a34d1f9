#if canImport(Glibc)
import Glibc
#endif
import RetraceCore

/// Appends framed, checksummed events to a new journal (one segment in this version).
///
/// The writer assigns sequence numbers (1, 2, …): it is the run's sequencer. Appends
/// go to an in-memory buffer; `commit()` writes the buffer and, in `fsync` mode, returns
/// only after `fdatasync`. The buffer is written whenever it fills, too.
public final class JournalWriter {
    /// The segment file being written.
    public let path: String
    /// The sync mode chosen at open.
    public let syncMode: SyncMode
    /// The sequence number the next append receives.
    public private(set) var nextSequence: UInt64
    /// Bytes written to the file so far (header included), not counting the buffer.
    public private(set) var fileBytes: Int
    /// Number of `fdatasync` calls made.
    public private(set) var syncCount = 0

    private let fd: Int32
    private let buffer: UnsafeMutableRawPointer
    private let bufferCapacity: Int
    private var buffered = 0

    /// Creates `directory` (if needed) and its first segment.
    /// - Parameters:
    ///   - directory: the run's `journal/` folder.
    ///   - runID: 16 bytes identifying the run, stored in the header.
    ///   - syncMode: see `SyncMode`.
    ///   - bufferBytes: size of the append buffer.
    /// - Throws: `JournalError.alreadyExists` if the segment exists, `.io` on failure.
    public init(directory: String, runID: [UInt8], syncMode: SyncMode, firstSequence: UInt64 = 1, bufferBytes: Int = 1 << 20) throws(JournalError) {
        precondition(runID.count == 16, "run id must be 16 bytes, got \(runID.count)")
        precondition(bufferBytes >= 4096, "journal buffer of \(bufferBytes) bytes is too small")
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw JournalError(.io, "cannot create journal directory \(directory): \(String(cString: strerror(errno)))")
        }
        path = directory + "/" + JournalFormat.segmentName(0)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            let code: JournalError.Code = errno == EEXIST ? .alreadyExists : .io
            throw JournalError(code, "cannot create journal segment \(path): \(String(cString: strerror(errno)))")
        }
        self.fd = fd
        self.syncMode = syncMode
        self.nextSequence = firstSequence
        self.bufferCapacity = bufferBytes
        self.buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferBytes + JournalFormat.payloadMax + 64, alignment: 64)
        self.fileBytes = 0
        writeHeader(runID: runID, firstSequence: firstSequence)
    }

    /// Reopens an existing journal for appending, after recovery: a torn tail (a record cut
    /// short or failing its CRC at the very end) is truncated and reported; corruption
    /// before the tail throws and nothing is changed.
    /// - Returns: the writer, positioned after the last intact record, and the torn tail
    ///   that was cut off (nil when the journal ended cleanly).
    public static func reopen(directory: String, syncMode: SyncMode, bufferBytes: Int = 1 << 20) throws(JournalError) -> (JournalWriter, TornTail?) {
        let reader = try JournalReader(directory: directory)
        while try reader.next() != nil {}
        let validEnd = reader.position
        let torn = reader.tornTail
        let next = reader.lastSequence &+ 1
        let path = reader.path
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw JournalError(.io, "cannot open \(path) for appending: \(String(cString: strerror(errno)))") }
        if torn != nil || reader.fileBytes != validEnd {
            // Zeroed space after the last record, or a torn record: cut it so appends follow the valid prefix.
            guard ftruncate(fd, off_t(validEnd)) == 0, fdatasync(fd) == 0 else {
                let message = String(cString: strerror(errno))
                close(fd)
                throw JournalError(.io, "cannot truncate \(path) to \(validEnd) bytes during recovery: \(message)")
            }
        }
        let writer = JournalWriter(path: path, fd: fd, syncMode: syncMode, nextSequence: next, fileBytes: validEnd, bufferBytes: bufferBytes)
        return (writer, torn)
    }

    private init(path: String, fd: Int32, syncMode: SyncMode, nextSequence: UInt64, fileBytes: Int, bufferBytes: Int) {
        self.path = path
        self.fd = fd
        self.syncMode = syncMode
        self.nextSequence = nextSequence
        self.fileBytes = fileBytes
        self.bufferCapacity = bufferBytes
        self.buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferBytes + JournalFormat.payloadMax + 64, alignment: 64)
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    private func writeHeader(runID: [UInt8], firstSequence: UInt64) {
        // SAFETY: the buffer holds at least 4096 bytes; the header is 64.
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: JournalFormat.headerSize)
        for (i, b) in JournalFormat.magic.enumerated() { buffer.storeBytes(of: b, toByteOffset: i, as: UInt8.self) }
        buffer.storeBytes(of: JournalFormat.version.littleEndian, toByteOffset: 8, as: UInt32.self)
        buffer.storeBytes(of: UInt32(JournalFormat.headerSize).littleEndian, toByteOffset: 12, as: UInt32.self)
        for (i, b) in runID.enumerated() { buffer.storeBytes(of: b, toByteOffset: 16 + i, as: UInt8.self) }
        buffer.storeBytes(of: firstSequence.littleEndian, toByteOffset: 32, as: UInt64.self)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: buffer, count: 60))
        buffer.storeBytes(of: crc.littleEndian, toByteOffset: 60, as: UInt32.self)
        buffered = JournalFormat.headerSize
    }

    /// Appends one event and returns the sequence number it was given.
    @discardableResult
    public func append(_ event: Event) throws(JournalError) -> UInt64 {
        let size = EventCodec.encodedSize(event.body)
        let start = try reserve(payloadBytes: size)
        // SAFETY: `reserve` guaranteed room for the frame and `size` payload bytes.
        EventCodec.encode(event, to: buffer + start + JournalFormat.frameSize)
        return seal(at: start, payloadBytes: size)
    }

    /// Appends an already-encoded event payload and returns its sequence number.
    @discardableResult
    public func append(encoded payload: UnsafeRawBufferPointer) throws(JournalError) -> UInt64 {
        precondition(payload.count <= JournalFormat.payloadMax, "payload of \(payload.count) bytes exceeds the maximum")
        let start = try reserve(payloadBytes: payload.count)
        // SAFETY: as above; source and destination do not overlap.
        (buffer + start + JournalFormat.frameSize).copyMemory(from: payload.baseAddress!, byteCount: payload.count)
        return seal(at: start, payloadBytes: payload.count)
    }

    /// The payload bytes of the record just appended (valid until the next append).
    public func lastPayload(_ bytes: Int) -> UnsafeRawBufferPointer {
        let recordSize = JournalFormat.recordSize(payloadBytes: bytes)
        return UnsafeRawBufferPointer(start: buffer + buffered - recordSize + JournalFormat.frameSize, count: bytes)
    }

    private func reserve(payloadBytes: Int) throws(JournalError) -> Int {
        if buffered + JournalFormat.recordSize(payloadBytes: payloadBytes) > bufferCapacity { try writeBuffer() }
        return buffered
    }

    private func seal(at start: Int, payloadBytes: Int) -> UInt64 {
        let sequence = nextSequence
        nextSequence += 1
        let record = buffer + start
        record.storeBytes(of: UInt32(payloadBytes).littleEndian, toByteOffset: 0, as: UInt32.self)
        record.storeBytes(of: sequence.littleEndian, toByteOffset: 8, as: UInt64.self)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: record + 8, count: 8 + payloadBytes))
        record.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
        let total = JournalFormat.recordSize(payloadBytes: payloadBytes)
        let padding = total - JournalFormat.frameSize - payloadBytes
        if padding > 0 { (record + JournalFormat.frameSize + payloadBytes).initializeMemory(as: UInt8.self, repeating: 0, count: padding) }
        buffered = start + total
        return sequence
    }

    private func writeBuffer() throws(JournalError) {
        var done = 0
        while done < buffered {
            let n = pwrite(fd, buffer + done, buffered - done, off_t(fileBytes + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw JournalError(.io, "write to \(path) at byte \(fileBytes + done) failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
        fileBytes += buffered
        buffered = 0
    }

    /// Writes everything appended so far; in `fsync` mode also `fdatasync`s it.
    /// When this returns, every appended record is in the file (and durable in `fsync` mode).
    public func commit() throws(JournalError) {
        try writeBuffer()
        if syncMode == .fsync { try sync() }
    }

    /// Commits and syncs regardless of mode (end of a run: the file is complete on disk).
    public func finish() throws(JournalError) {
        try writeBuffer()
        try sync()
    }

    private func sync() throws(JournalError) {
        while fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw JournalError(.io, "fdatasync of \(path) failed: \(String(cString: strerror(errno)))")
        }
        syncCount += 1
    }
}
