import Foundation
import RetraceEngine
import RetraceFeeds
import RetraceReports
import RetraceStrategies

enum DemoCommand {
    static let help = """
    usage: retrace demo [--json]

      From the repository root: imports Datasets/demo (quotes + trades), backtests
      ema-cross on it with default parameters and the instrument's trading rules from
      Config/reference.json into Runs/demo (replacing the previous demo run), exports CSV to Runs/demo/csv and prints the summary. Same fingerprint every time.
    """

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: [], flags: ["json", "quiet"])
        if a.has("help") { Output.out(help); return 0 }
        let quotes = "Datasets/demo/quotes.csv", trades = "Datasets/demo/trades.csv"
        guard FileManager.default.fileExists(atPath: quotes) else {
            throw EngineError(.badInput, "\(quotes) not found: run 'retrace demo' from the repository root")
        }
        _ = try ImportDriver.run([ImportInput(format: .quotesCSV, path: quotes), ImportInput(format: .tradesCSV, path: trades)],
                                 options: ImportOptions(), out: "Runs/demo-data", replace: true)
        // The bundled instrument's trading rules, as a venue would publish them (each order
        // is checked through the engine's reference-data cache).
        let rules = "Config/reference.json"
        let overrides = FileManager.default.fileExists(atPath: rules) ? [("reference.file", rules)] : []
        let settings = BacktestDriver.Settings(overrides: overrides, dataset: "Runs/demo-data", inputs: [quotes, trades], out: "Runs/demo", replace: true)
        var source = try JournalInput(runDirectory: "Runs/demo-data")
        let manifest = try BacktestDriver.run(EmaCross.self, source: &source, settings: settings)
        let files = try CSVExporter.export(run: "Runs/demo", to: "Runs/demo/csv")
        Summary.print(manifest, run: "Runs/demo", json: a.has("json"))
        if !a.has("json") {
            Output.out("  csv          \(files.count) files in Runs/demo/csv (\(CSVExporter.files.joined(separator: ", ")))")
        }
        return 0
    }
}
