import Foundation
import RetraceCore

/// A run folder on disk: `manifest.json`, `journal/`, `store.sqlite`.
///
/// A run is built in a staging folder next to its destination and moved into place when
/// it ends, so a crash never leaves a half-written run that looks complete: the
/// destination either does not exist, or its manifest says `completed` or `failed`.
public struct RunFolder: Sendable {
    /// The destination path.
    public let path: String
    /// Where the run is being written.
    public let stagingPath: String

    /// A run path as the folder is named (no trailing slash).
    public static func normalized(_ path: String) -> String { path.hasSuffix("/") ? String(path.dropLast()) : path }

    /// `path` made absolute and canonical (symbolic links resolved), as another run's
    /// journal records it; `path` itself when it cannot be resolved.
    public static func absolutePath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else {
            return path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Paths inside a run folder.
    public static func journalPath(_ run: String) -> String { run + "/journal" }
    public static func storePath(_ run: String) -> String { run + "/store.sqlite" }
    public static func manifestPath(_ run: String) -> String { run + "/manifest.json" }

    /// Prepares a staging folder for `path`.
    /// - Parameter replace: allow replacing an existing run at `path` when the run ends.
    /// - Throws: `.runFolder` when `path` exists and `replace` is false.
    public init(path: String, replace: Bool) throws(EngineError) {
        let fm = FileManager.default
        let clean = RunFolder.normalized(path)
        if fm.fileExists(atPath: clean) && !replace {
            throw EngineError(.runFolder, "\(clean) already exists; choose another --out or pass --force to replace it")
        }
        self.path = clean
        stagingPath = clean + ".partial-\(ProcessInfo.processInfo.processIdentifier)"
        let parent = (clean as NSString).deletingLastPathComponent
        do {
            if !parent.isEmpty { try fm.createDirectory(atPath: parent, withIntermediateDirectories: true) }
            if fm.fileExists(atPath: stagingPath) { try fm.removeItem(atPath: stagingPath) }
            try fm.createDirectory(atPath: stagingPath, withIntermediateDirectories: false)
        } catch {
            throw EngineError(.runFolder, "cannot create run folder \(stagingPath): \(error.localizedDescription)")
        }
    }

    /// Writes the manifest into the staging folder.
    public func write(_ manifest: RunManifest) throws(EngineError) {
        try RunFolder.writeManifest(manifest, to: stagingPath)
    }

    /// Moves the staged run into place (replacing an older run there).
    public func commit() throws(EngineError) {
        let fm = FileManager.default
        do {
            if fm.fileExists(atPath: path) { try fm.removeItem(atPath: path) }
            try fm.moveItem(atPath: stagingPath, toPath: path)
        } catch {
            throw EngineError(.runFolder, "cannot move \(stagingPath) to \(path): \(error.localizedDescription)")
        }
    }

    /// Deletes the staging folder (a failed import leaves nothing behind).
    public func discard() {
        do { try FileManager.default.removeItem(atPath: stagingPath) } catch {
            FileHandle.standardError.write(Data("warning: could not remove \(stagingPath): \(error.localizedDescription)\n".utf8))
        }
    }

    /// Writes `manifest.json` (sorted keys, pretty-printed).
    public static func writeManifest(_ manifest: RunManifest, to folder: String) throws(EngineError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            let data = try encoder.encode(manifest)
            try (data + Data("\n".utf8)).write(to: URL(fileURLWithPath: manifestPath(folder)), options: .atomic)
        } catch {
            throw EngineError(.runFolder, "cannot write \(manifestPath(folder)): \(error.localizedDescription)")
        }
    }

    /// Reads a run's manifest.
    public static func readManifest(_ run: String) throws(EngineError) -> RunManifest {
        guard let data = FileManager.default.contents(atPath: manifestPath(run)) else {
            throw EngineError(.runFolder, "\(run) is not a run folder (no manifest.json)")
        }
        do { return try JSONDecoder().decode(RunManifest.self, from: data) } catch {
            throw EngineError(.runFolder, "\(manifestPath(run)): unreadable manifest: \(error)")
        }
    }

    /// A fresh 16-byte run id and its hex text.
    public static func newRunID(for path: String) -> ([UInt8], String) {
        let seed = "\(path)|\(Date().timeIntervalSince1970)|\(ProcessInfo.processInfo.processIdentifier)"  // determinism-ok: run identity is metadata, not in the fingerprint
        let hex = String(SHA256.hex(Array(seed.utf8)).prefix(32))
        return (runIDBytes(hex), hex)
    }

    /// The bytes of a run id's hex text (a live session id; invalid pairs read as 0).
    public static func runIDBytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count - 1, by: 2).map { UInt8(String(decoding: digits[$0...$0 + 1], as: UTF8.self), radix: 16) ?? 0 }
    }

    /// Wall-clock time as ISO-8601 (manifest metadata only).
    public static func wallClockNow() -> String {
        Timestamp(nanos: Int64(Date().timeIntervalSince1970 * 1e9)).iso8601  // determinism-ok: wall-clock metadata for the manifest
    }
}
