import Foundation
import RetraceReports

enum ReportCommand {
    static let help = """
    usage: retrace report RUN [RUN_B] --html FILE [--quiet]

      Writes one self-contained HTML page (inline CSS and SVG; nothing is fetched when it is
      opened): equity and drawdown, position over time, fills marked on the price, latency
      histograms per stage and venue (this run's own, and for a replay the recorded feed and
      order latency), and the summary statistics. With RUN_B the two runs are side by side:
      curves overlaid, the table with both columns and B − A (a live run and its replay, a
      backtest and a what-if).

      The figures come from the run's store (or from its journal when there is no store).
    """

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["html"], flags: ["quiet"])
        if a.has("help") { Output.out(help); return 0 }
        guard (1...2).contains(a.positionals.count) else { throw UsageError("expected one or two run folders") }
        let file = try a.require("html")
        let html = try HTMLReport.render(a.positionals)
        do { try Data(html.utf8).write(to: URL(fileURLWithPath: file), options: .atomic) } catch {
            throw ReportError(.io, "cannot write \(file): \(error.localizedDescription)")
        }
        if !a.has("quiet") { Output.err("wrote \(file) (\(html.utf8.count / 1024) KiB)") }
        return 0
    }
}
