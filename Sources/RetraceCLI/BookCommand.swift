import RetraceFeeds

enum BookCommand {
    static let help = """
    usage: retrace book RUN --levels N --csv FILE [--json]

      Replays RUN's journal (a run made by 'retrace import lobster') through the L3 book and
      writes the book after every message to FILE in LOBSTER's orderbook layout: per level
      ask price, ask size, bid price, bid size; empty levels as 9999999999 / -9999999999
      with size 0; no header. With the import's level count the file equals the original
      orderbook file row for row.
    """

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["levels", "csv"], flags: ["json"])
        if a.has("help") { Output.out(help); return 0 }
        guard a.positionals.count == 1 else { throw UsageError("expected one RUN") }
        guard let levels = Int(try a.require("levels")), levels > 0 else { throw UsageError("--levels must be a positive integer") }
        let csv = try a.require("csv")
        let rows = try LobsterImport.book(run: a.positionals[0], levels: levels, csv: csv)
        if a.has("json") {
            var o = JSONObject()
            o.add("run", a.positionals[0])
            o.add("rows", rows)
            o.add("levels", levels)
            o.add("csv", csv)
            Output.out(o.text)
        } else {
            Output.out("wrote \(rows) rows of \(levels) levels to \(csv)")
        }
        return 0
    }
}
