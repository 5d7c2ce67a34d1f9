import Foundation
import RetraceCore
import RetraceJournal
import RetraceStore

/// Rebuilds a run's store projections from its journal, and recomputes its fingerprint.
public enum StoreRebuild {
    /// What reading the journal back gave.
    public struct Result: Sendable {
        public var events: UInt64
        public var outputs: UInt64
        public var fingerprint: String
    }

    /// Projects every event of `run`'s journal into a new store at `storePath` (which
    /// must not exist), copying the run catalog from the run's own store.
    public static func rebuild(run: String, into storePath: String) throws(EngineError) -> Result {
        guard !FileManager.default.fileExists(atPath: storePath) else { throw EngineError(.store, "\(storePath) already exists") }
        let store: RunStore
        do {
            store = try RunStore(path: storePath)
            if let catalog = try RunStore(path: RunFolder.storePath(run)).run() { try store.saveRun(catalog) }
        } catch { throw EngineError(.store, error.message) }
        let projector = StoreProjector(store: store)
        let result = try replay(run: run) { e throws(EngineError) in
            projector.project(e)
            if projector.pending.count >= 10_000 {
                do throws(StoreError) { try projector.write() } catch { throw EngineError(.store, error.message) }
            }
        }
        do { try projector.finish() } catch { throw EngineError(.store, error.message) }
        return result
    }

    /// Reads `run`'s journal in order, recomputing the fingerprint over its outputs, and
    /// hands every event to `body`.
    public static func replay(run: String, _ body: (Event) throws(EngineError) -> Void = { _ in }) throws(EngineError) -> Result {
        let reader: JournalReader
        do { reader = try JournalReader(directory: RunFolder.journalPath(run)) } catch { throw EngineError(.journal, error.message) }
        var fingerprint = RunFingerprint()
        var events: UInt64 = 0
        while true {
            let next: (record: JournalRecord, event: Event)?
            do { next = try reader.nextEvent() } catch { throw EngineError(.journal, error.message) }
            guard let (record, event) = next else { break }
            events += 1
            if event.body.kind.isOutput { fingerprint.add(encoded: record.payload) }
            try body(event)
        }
        if let torn = reader.tornTail { throw EngineError(.journal, "\(run): \(torn)") }
        return Result(events: events, outputs: fingerprint.count, fingerprint: fingerprint.hex)
    }
}
