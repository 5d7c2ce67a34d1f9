#if canImport(Glibc)
import Glibc
#endif
import CZstd

/// Compresses sealed segments to `NNNNNNNN.wal.zst` (one zstd frame of the segment's
/// exact bytes). A segment is sealed when its index file exists (the writer writes it
/// when it rotates away from a segment or finishes the journal). Readers open either form.
public enum JournalCompactor {
    public struct Report: Sendable {
        public var segments: [(number: Int, bytesIn: Int, bytesOut: Int)] = []
        /// Segments left alone, with the reason.
        public var skipped: [(number: Int, reason: String)] = []
        public var bytesIn: Int { segments.reduce(0) { $0 + $1.bytesIn } }
        public var bytesOut: Int { segments.reduce(0) { $0 + $1.bytesOut } }
        /// Uncompressed ÷ compressed bytes over the segments compacted now.
        public var ratio: Double { bytesOut == 0 ? 0 : Double(bytesIn) / Double(bytesOut) }
    }

    /// Compacts every sealed, uncompressed segment of the journal in `directory`.
    /// Each is written to a temporary file, synced, verified by decompressing it, renamed
    /// into place, and only then is the `.wal` removed.
    public static func compact(directory: String, level: Int32 = 1) throws(JournalError) -> Report {
        var report = Report()
        for n in try JournalFormat.segmentIndexes(in: directory) {
            let plain = directory + "/" + JournalFormat.segmentName(n)
            let packed = directory + "/" + JournalFormat.compressedSegmentName(n)
            guard access(plain, F_OK) == 0 else { continue }  // already compressed
            if access(packed, F_OK) == 0 {
                // A previous compaction stopped after the rename: the .zst is complete and verified.
                unlink(plain)
                continue
            }
            guard access(directory + "/" + JournalFormat.indexName(n), F_OK) == 0 else {
                report.skipped.append((n, "not sealed (still being written, or the writer stopped before sealing it)"))
                continue
            }
            let file = try _UnsafeMappedFile(path: plain)
            defer { withExtendedLifetime(file) {} }  // the map backs `source` below
            let source = file.bytes
            // Sealed segments end at their last record; preallocated zeros may remain after a
            // crash. The end is found by walking the records: trimming trailing zero words
            // instead would also cut a last record whose payload ends in zeros.
            var end = JournalFormat.headerSize
            while case .record(_, _, let size) = JournalFormat.frame(in: source, at: end) { end += size }
            guard JournalFormat.isZero(source, from: end) else {
                report.skipped.append((n, "bytes after its last intact record at byte \(end) (run `retrace journal verify`)"))
                continue
            }
            let bound = ZSTD_compressBound(end)
            let out = UnsafeMutableRawPointer.allocate(byteCount: bound, alignment: 64)
            defer { out.deallocate() }
            let size = ZSTD_compress(out, bound, source.baseAddress, end, level)
            guard ZSTD_isError(size) == 0 else { throw JournalError(.io, "\(plain): zstd compression failed: \(String(cString: ZSTD_getErrorName(size)))") }
            // Verify the round trip before anything is replaced.
            let check = UnsafeMutableRawPointer.allocate(byteCount: max(end, 1), alignment: 64)
            defer { check.deallocate() }
            let back = ZSTD_decompress(check, end, out, size)
            guard ZSTD_isError(back) == 0, back == end, memcmp(check, source.baseAddress!, end) == 0 else {
                throw JournalError(.io, "\(plain): compressed copy does not decompress to the same bytes; segment left as is")
            }
            try JournalIO.writeFileAtomically(packed, UnsafeRawBufferPointer(start: out, count: size), sync: true)
            unlink(plain)
            try JournalIO.syncDirectory(directory)
            report.segments.append((n, end, size))
        }
        return report
    }
}
