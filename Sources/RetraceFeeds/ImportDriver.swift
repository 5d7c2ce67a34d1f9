import RetraceCore
import RetraceEngine
import RetraceJournal
import RetraceStore

/// `retrace import`: reads feed files into a data run (journal of instrument definitions
/// and market events, a store with the instruments, and a manifest). On any error the
/// run folder is not created.
public enum ImportDriver {
    /// Imports `inputs` into the run folder `out`. Returns the manifest.
    public static func run(_ inputs: [ImportInput], options: ImportOptions, out: String, replace: Bool = false) throws -> RunManifest {
        let feed = try CSVImporter.load(inputs, options: options)
        let folder = try RunFolder(path: out, replace: replace)
        do {
            let (runIDBytes, runID) = RunFolder.newRunID(for: out)
            var manifest = RunManifest(runID: runID, mode: "import", status: "running", codeVersion: retraceVersion, startedAt: RunFolder.wallClockNow())
            manifest.inputs = inputs.map { "\($0.format.rawValue):\($0.path)" }
            manifest.dataset = inputs.map(\.path).joined(separator: ",")
            manifest.instruments = feed.instruments.map { "\($0.symbol) price_scale=\($0.priceScale) quantity_scale=\($0.quantityScale)" }
            let journal = try JournalWriter(directory: RunFolder.journalPath(folder.stagingPath), runID: runIDBytes, syncMode: .none)
            for e in feed.events { try journal.append(e) }
            try journal.finish()
            let store = try RunStore(path: RunFolder.storePath(folder.stagingPath))
            for i in feed.instruments { try store.saveInstrument(i) }
            manifest.status = "completed"
            manifest.events = UInt64(feed.events.count)
            manifest.endedAt = RunFolder.wallClockNow()
            try store.saveRun(RunRecord(runID: runID, mode: "import", strategy: "", parameters: "{}", dataset: manifest.dataset, seed: 0,
                                        startedAt: manifest.startedAt, endedAt: manifest.endedAt, status: "completed", events: Int64(feed.events.count)))
            try folder.write(manifest)
            try folder.commit()
            return manifest
        } catch {
            folder.discard()
            throw error
        }
    }
}
