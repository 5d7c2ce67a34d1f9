#if canImport(Glibc)
import Glibc
#endif

/// Engine-state snapshots beside a journal, so a replay can start at a sequence without
/// reading from zero: the engine provides the state bytes (its own encoding), the store
/// keeps them durable, lists them by sequence and verifies them on load.
///
/// File `snapshots/SSSSSSSSSSSSSSSSSSSS.snap` (20-digit sequence): a 64-byte header — magic
/// `RTRCSNP\0`, version u32, reserved u32, sequence u64, run id (16), state length u64,
/// state CRC32C u32, reserved, header CRC32C at 60 — then the state bytes. Written to a
/// temporary file, synced, and renamed, so a snapshot is either whole or absent.
public struct SnapshotStore: Sendable {
    public let directory: String
    public let runID: [UInt8]

    /// A snapshot on disk.
    public struct Info: Equatable, Sendable {
        public var sequence: UInt64
        public var path: String
        public var bytes: Int
    }

    static let magic: [UInt8] = Array("RTRCSNP\0".utf8)

    /// The snapshot store of the journal in `journalDirectory`.
    public init(journalDirectory: String, runID: [UInt8]) {
        directory = journalDirectory + "/snapshots"
        self.runID = runID
    }

    /// True when a snapshot is due after `sequence` with one taken every `every` records.
    public static func isDue(sequence: UInt64, every: Int) -> Bool { every > 0 && sequence % UInt64(every) == 0 }

    /// Stores the engine state as of `sequence` (every record up to it applied).
    public func write(sequence: UInt64, state: [UInt8], sync: Bool = true) throws(JournalError) {
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw JournalError(.io, "cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        var bytes = [UInt8](repeating: 0, count: 64)
        bytes.withUnsafeMutableBytes { h in
            for (i, b) in SnapshotStore.magic.enumerated() { h[i] = b }
            h.storeBytes(of: UInt32(1).littleEndian, toByteOffset: 8, as: UInt32.self)
            h.storeBytes(of: sequence.littleEndian, toByteOffset: 16, as: UInt64.self)
            for (i, b) in runID.enumerated() { h[24 + i] = b }
            h.storeBytes(of: UInt64(state.count).littleEndian, toByteOffset: 40, as: UInt64.self)
            h.storeBytes(of: state.withUnsafeBytes { CRC32C.checksum($0) }.littleEndian, toByteOffset: 48, as: UInt32.self)
            h.storeBytes(of: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: h[0..<60])).littleEndian, toByteOffset: 60, as: UInt32.self)
        }
        bytes += state
        let path = directory + "/" + JournalFormat.padded(Int(sequence), 20) + ".snap"
        try JournalIO.writeFileAtomically(path, bytes, sync: sync)
    }

    /// The snapshots present, by ascending sequence (unverified; `load` verifies).
    public func list() -> [Info] {
        var out: [Info] = []
        for name in JournalFormat.fileNames(in: directory) ?? [] {
            guard name.hasSuffix(".snap"), let sequence = UInt64(name.dropLast(5)) else { continue }
            var st = stat()
            let path = directory + "/" + name
            out.append(Info(sequence: sequence, path: path, bytes: stat(path, &st) == 0 ? Int(st.st_size) : 0))
        }
        return out.sorted { $0.sequence < $1.sequence }
    }

    /// The verified state stored for `info`.
    /// - Throws: `.corrupt` naming the file and what failed.
    public func load(_ info: Info) throws(JournalError) -> [UInt8] {
        let file = try _UnsafeMappedFile(path: info.path)
        defer { withExtendedLifetime(file) {} }  // the map backs `b` below
        let b = file.bytes
        guard b.count >= 64, Array(b[0..<8]) == SnapshotStore.magic else { throw JournalError(.corrupt, "\(info.path): not a snapshot") }
        guard UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 60, as: UInt32.self)) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<60])) else {
            throw JournalError(.corrupt, "\(info.path): header CRC mismatch at byte 60")
        }
        let sequence = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        let length = Int(UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 40, as: UInt64.self)))
        guard sequence == info.sequence, Array(b[24..<40]) == runID else { throw JournalError(.corrupt, "\(info.path): snapshot of another run or sequence") }
        guard b.count == 64 + length else { throw JournalError(.corrupt, "\(info.path): \(b.count - 64) state bytes, header says \(length)") }
        let state = UnsafeRawBufferPointer(rebasing: b[64...])
        guard UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 48, as: UInt32.self)) == CRC32C.checksum(state) else {
            throw JournalError(.corrupt, "\(info.path): state CRC mismatch (bytes 64..<\(b.count))")
        }
        return Array(state)
    }

    /// The newest snapshot at or before `sequence` that verifies and that `accept` takes
    /// (it can look inside the state, e.g. at the engine time it holds), with the damaged
    /// ones passed over on the way (so a replay can say what it skipped).
    public func latest(atOrBefore sequence: UInt64, where accept: ([UInt8]) -> Bool = { _ in true })
        -> (info: Info, state: [UInt8], skipped: [JournalError])? {
        var skipped: [JournalError] = []
        for info in list().reversed() where info.sequence <= sequence {
            let state: [UInt8]
            do { state = try load(info) } catch { skipped.append(error); continue }
            if accept(state) { return (info, state, skipped) }
        }
        return nil
    }
}
