#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory map of a whole file.
final class _UnsafeMappedFile {
    let path: String
    let count: Int
    private let base: UnsafeMutableRawPointer?

    init(path: String) throws(JournalError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code: JournalError.Code = errno == ENOENT ? .notFound : .io
            throw JournalError(code, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw JournalError(.io, "cannot stat \(path): \(String(cString: strerror(errno)))") }
        count = Int(st.st_size)
        if count == 0 {
            base = nil
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw JournalError(.io, "cannot map \(path): \(String(cString: strerror(errno)))") }
        _ = madvise(p, count, MADV_SEQUENTIAL)
        base = p
    }

    deinit {
        if let base { munmap(base, count) }
    }

    /// SAFETY: the mapping lives as long as this object; callers keep it alive while they
    /// use the returned buffer.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}
