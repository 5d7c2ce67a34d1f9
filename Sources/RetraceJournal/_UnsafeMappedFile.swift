import CRetraceShims
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory map of a whole file.
///
/// With `background`, the map is made for one thread reading it from the start (a journal
/// segment): another thread maps its pages in at once (`retrace_populate`, off the reading
/// thread, which would otherwise take a fault every 64 KiB: about 4 ms of a 64 MiB
/// segment) and unmaps it when it is released (a few more milliseconds). The reader's
/// first pages may still fault: the two start together.
final class _UnsafeMappedFile: @unchecked Sendable {
    let path: String
    let count: Int
    private let base: UnsafeMutableRawPointer?
    private let background: Bool

    init(path: String, background: Bool = false) throws(JournalError) {
        self.path = path
        self.background = background
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
        if background {
            // The closure keeps the map alive until its pages are in; a hint only (an old
            // kernel says EINVAL, and the reader faults them in as before).
            Self.helper.async { [self] in _ = retrace_populate(base, count, 0) }
        }
    }

    deinit {
        guard let base else { return }
        if background {
            let (address, length) = (Int(bitPattern: base), count)
            Self.helper.async { munmap(UnsafeMutableRawPointer(bitPattern: address), length) }
        } else {
            munmap(base, count)
        }
    }

    /// Where background maps are populated and released, one at a time.
    private static let helper = DispatchQueue(label: "retrace.journal.map", qos: .utility)

    /// SAFETY: the mapping lives as long as this object; callers keep it alive while they
    /// use the returned buffer.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}
