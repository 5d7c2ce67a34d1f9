import RetraceCore
import RetraceEngine
import RetraceJournal
import RetraceStore

/// `retrace import`: reads feed files into a data run (journal of instrument definitions
/// and market events, a store with the instruments, and a manifest). On any error the
/// run folder is not created.
public enum ImportDriver {
    /// Imports `inputs` into the run folder `out`. Returns the manifest.
    /// `progress` hears (events journaled, events in all) while the journal is written.
    public static func run(_ inputs: [ImportInput], options: ImportOptions, out: String, replace: Bool = false,
                           progress: ((UInt64, UInt64) -> Void)? = nil) throws -> RunManifest {
        let feed = try CSVImporter.load(inputs, options: options)
        let total = UInt64(feed.events.count)
        return try writeDataRun(out: out, replace: replace, inputs: inputs.map { "\($0.format.rawValue):\($0.path)" },
                                dataset: inputs.map(\.path).joined(separator: ","), instruments: feed.instruments) { journal in
            var done: UInt64 = 0
            for e in feed.events {
                try journal.append(e)
                done += 1
                progress?(done, total)
            }
            return total
        }
    }

    /// Writes a data run: `record` journals the events (and returns how many); the store gets
    /// the instruments and the run's record; the manifest says what was read. The folder is
    /// staged and appears only when everything is written; on any error nothing is left.
    public static func writeDataRun(out: String, replace: Bool, inputs: [String], dataset: String, instruments: [Instrument],
                                    record: (JournalWriter) throws -> UInt64) throws -> RunManifest {
        let folder = try RunFolder(path: out, replace: replace)
        do {
            let (runIDBytes, runID) = RunFolder.newRunID(for: out)
            var manifest = RunManifest(runID: runID, mode: "import", status: "running", codeVersion: retraceVersion, startedAt: RunFolder.wallClockNow())
            manifest.inputs = inputs
            manifest.dataset = dataset
            manifest.instruments = instruments.map { "\($0.symbol) price_scale=\($0.priceScale) quantity_scale=\($0.quantityScale)" }
            let journal = try JournalWriter(directory: RunFolder.journalPath(folder.stagingPath), runID: runIDBytes, syncMode: .none)
            let events = try record(journal)
            try journal.finish()
            let store = try RunStore(path: RunFolder.storePath(folder.stagingPath))
            for i in instruments { try store.saveInstrument(i) }
            manifest.status = "completed"
            manifest.events = events
            manifest.endedAt = RunFolder.wallClockNow()
            try store.saveRun(RunRecord(runID: runID, mode: "import", strategy: "", parameters: "{}", dataset: dataset, seed: 0,
                                        startedAt: manifest.startedAt, endedAt: manifest.endedAt, status: "completed", events: Int64(events)))
            try folder.write(manifest)
            try folder.commit()
            return manifest
        } catch {
            folder.discard()
            throw error
        }
    }
}
