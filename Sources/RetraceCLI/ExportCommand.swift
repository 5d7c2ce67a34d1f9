import RetraceReports

enum ExportCommand {
    static let help = """
    usage: retrace export RUN --csv DIR

      Writes \(CSVExporter.files.joined(separator: ", ")) into DIR
      (RFC 4180, CRLF line ends; columns in the README). --quiet: no progress bar and no
      closing line.
    """

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["csv"], flags: ["quiet"])
        if a.has("help") { Output.out(help); return 0 }
        guard a.positionals.count == 1 else { throw UsageError("expected one RUN folder") }
        let dir = try a.require("csv")
        let progress = Progress("export", total: UInt64(CSVExporter.files.count), unit: "files", quiet: a.has("quiet"))
        let files = try CSVExporter.export(run: a.positionals[0], to: dir) { done in progress?.update(UInt64(done)) }
        progress?.finish()
        if !a.has("quiet") { Output.err("wrote \(files.count) files to \(dir)") }
        return 0
    }
}
