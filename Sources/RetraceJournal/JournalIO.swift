#if canImport(Glibc)
import Glibc
#endif
import CURing
import Synchronization

/// Which I/O backend a journal writer asks for.
public enum IOChoice: String, Sendable, CaseIterable {
    /// io_uring when the kernel allows it, POSIX otherwise (said once on stderr).
    case auto
    /// io_uring or an error.
    case uring
    /// `pwrite` + `fdatasync`.
    case posix
}

/// The backend a writer actually uses.
public enum IOBackendKind: String, Sendable {
    case uring
    case posix
}

/// Writes and syncs journal bytes through io_uring (a linked write → fdatasync pair,
/// registered buffers when the kernel accepts them) or POSIX `pwrite` / `fdatasync`.
/// Used by one thread at a time (the writer's flushing leader).
final class JournalIO {
    let kind: IOBackendKind
    private let ring: UnsafeMutablePointer<io_uring>?
    /// Registered buffers (base address, byte count), by registration index.
    private var registered: [(UnsafeMutableRawPointer, Int)] = []

    private static let fallbackSaid = Atomic<Bool>(false)

    /// Opens the backend; `buffers` are registered with io_uring when it is used.
    init(_ choice: IOChoice, buffers: [(UnsafeMutableRawPointer, Int)]) throws(JournalError) {
        guard choice != .posix else {
            (kind, ring) = (.posix, nil)
            return
        }
        let r = UnsafeMutablePointer<io_uring>.allocate(capacity: 1)
        // RETRACE_IO_URING_REFUSE=1 makes the probe fail as a container's seccomp policy
        // would (EPERM), so the fallback can be exercised on machines that allow io_uring.
        let refused = getenv("RETRACE_IO_URING_REFUSE").map { String(cString: $0) == "1" } ?? false
        let rc = refused ? -EPERM : io_uring_queue_init(8, r, 0)
        if rc < 0 {
            r.deallocate()
            let reason = String(cString: strerror(-rc))
            if choice == .uring { throw JournalError(.io, "io_uring is not available here (\(reason)); use --io posix or --io auto") }
            if !JournalIO.fallbackSaid.exchange(true, ordering: .relaxed) {
                JournalIO.warn("note: io_uring refused (\(reason)); the journal uses POSIX pwrite/fdatasync")
            }
            (kind, ring) = (.posix, nil)
            return
        }
        (kind, ring) = (.uring, r)
        var iovecs = buffers.map { iovec(iov_base: $0.0, iov_len: $0.1) }
        if io_uring_register_buffers(r, &iovecs, UInt32(iovecs.count)) == 0 { registered = buffers }
    }

    deinit {
        if let ring {
            io_uring_queue_exit(ring)
            ring.deallocate()
        }
    }

    /// Writes all `count` bytes at `offset`.
    func write(_ fd: Int32, _ bytes: UnsafeMutableRawPointer, _ count: Int, at offset: Int, path: String) throws(JournalError) {
        try posixWrite(fd, bytes, count, at: offset, path: path)
    }

    /// Writes all `count` bytes at `offset`, then `fdatasync`s the file. With io_uring the
    /// two are one linked submission.
    func writeAndSync(_ fd: Int32, _ bytes: UnsafeMutableRawPointer, _ count: Int, at offset: Int, path: String) throws(JournalError) {
        guard let ring, count > 0, count <= Int(UInt32.max) else {
            try posixWrite(fd, bytes, count, at: offset, path: path)
            try JournalIO.posixSync(fd, path: path)
            return
        }
        let write = io_uring_get_sqe(ring)!, sync: UnsafeMutablePointer<io_uring_sqe>
        if let index = registered.firstIndex(where: { bytes >= $0.0 && bytes + count <= $0.0 + $0.1 }) {
            io_uring_prep_write_fixed(write, fd, bytes, UInt32(count), UInt64(offset), Int32(index))
        } else {
            io_uring_prep_write(write, fd, bytes, UInt32(count), UInt64(offset))
        }
        write.pointee.flags |= UInt8(1 << IOSQE_IO_LINK_BIT)
        write.pointee.user_data = 1
        sync = io_uring_get_sqe(ring)!
        io_uring_prep_fsync(sync, fd, UInt32(IORING_FSYNC_DATASYNC))
        sync.pointee.user_data = 2
        // One system call submits both and waits for both completions.
        var submitted = io_uring_submit_and_wait(ring, 2)
        while submitted == -EINTR { submitted = io_uring_submit_and_wait(ring, 2) }
        guard submitted >= 0 else { throw JournalError(.io, "io_uring submit for \(path) failed: \(String(cString: strerror(-submitted)))") }
        var written = 0, syncResult: Int32 = 0
        for _ in 0..<2 {
            var cqe: UnsafeMutablePointer<io_uring_cqe>?
            var rc = io_uring_wait_cqe(ring, &cqe)
            while rc == -EINTR { rc = io_uring_wait_cqe(ring, &cqe) }
            guard rc == 0, let cqe else { throw JournalError(.io, "io_uring wait for \(path) failed: \(String(cString: strerror(-rc)))") }
            if cqe.pointee.user_data == 1 { written = Int(cqe.pointee.res) } else { syncResult = cqe.pointee.res }
            io_uring_cqe_seen(ring, cqe)
        }
        if written < 0 {
            throw JournalError(.io, "write to \(path) at byte \(offset) failed: \(String(cString: strerror(-Int32(written))))")
        }
        if written < count || syncResult == -ECANCELED {
            // A short write breaks the link: finish with POSIX calls, which report the cause.
            try posixWrite(fd, bytes + written, count - written, at: offset + written, path: path)
            try JournalIO.posixSync(fd, path: path)
            return
        }
        if syncResult < 0 { throw JournalError(.io, "fdatasync of \(path) failed: \(String(cString: strerror(-syncResult)))") }
    }

    /// Writes one line to stderr.
    static func warn(_ line: String) {
        var text = line + "\n"
        text.withUTF8 { b in _ = Glibc.write(2, b.baseAddress, b.count) }
    }

    /// `fdatasync`s the file.
    func sync(_ fd: Int32, path: String) throws(JournalError) { try JournalIO.posixSync(fd, path: path) }

    private func posixWrite(_ fd: Int32, _ bytes: UnsafeMutableRawPointer, _ count: Int, at offset: Int, path: String) throws(JournalError) {
        var done = 0
        while done < count {
            let n = pwrite(fd, bytes + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw JournalError(.io, "write to \(path) at byte \(offset + done) failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { throw JournalError(.io, "write to \(path) at byte \(offset + done) wrote nothing") }
            done += n
        }
    }

    static func posixSync(_ fd: Int32, path: String) throws(JournalError) {
        while fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw JournalError(.io, "fdatasync of \(path) failed: \(String(cString: strerror(errno)))")
        }
    }

    /// `fsync`s a directory so names created or renamed in it are durable.
    static func syncDirectory(_ path: String) throws(JournalError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw JournalError(.io, "cannot open directory \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw JournalError(.io, "fsync of directory \(path) failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Writes a whole file through a temporary name renamed into place, so it is either
    /// complete or absent; with `sync`, the file and the name are durable on return.
    static func writeFileAtomically(_ path: String, _ bytes: UnsafeRawBufferPointer, sync: Bool) throws(JournalError) {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw JournalError(.io, "cannot create \(tmp): \(String(cString: strerror(errno)))") }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(done))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || (sync && done + n == bytes.count && fdatasync(fd) != 0) {
                let message = n == 0 ? "no progress" : String(cString: strerror(errno))
                close(fd)
                unlink(tmp)
                throw JournalError(.io, "cannot write \(tmp) at byte \(done): \(message)")
            }
            done += n
        }
        close(fd)
        guard rename(tmp, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(tmp)
            throw JournalError(.io, "cannot rename \(tmp) to \(path): \(message)")
        }
        if sync {
            let slash = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
            try syncDirectory(slash)
        }
    }

    static func writeFileAtomically(_ path: String, _ bytes: [UInt8], sync: Bool) throws(JournalError) {
        let result = bytes.withUnsafeBytes { b in Result { () throws(JournalError) in try writeFileAtomically(path, b, sync: sync) } }
        try result.get()
    }

    /// Writes `bytes` zeros to the start of `fd` (preallocation) and `fdatasync`s them.
    static func zeroFill(_ fd: Int32, bytes: Int, path: String) throws(JournalError) {
        let chunk = 1 << 20
        let zeros = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { zeros.deallocate() }
        zeros.initializeMemory(as: UInt8.self, repeating: 0, count: chunk)
        var done = 0
        while done < bytes {
            let n = pwrite(fd, zeros, min(chunk, bytes - done), off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw JournalError(.io, "cannot preallocate \(path) (\(bytes) bytes) at byte \(done): \(String(cString: strerror(errno)))")
            }
            done += n
        }
        try posixSync(fd, path: path)
    }
}
