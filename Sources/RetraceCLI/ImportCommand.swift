import Foundation
import RetraceCore
import RetraceFeeds

enum ImportCommand {
    static var help: String {
        var s = """
        usage: retrace import FORMAT INPUT... --out RUN [--instrument SYMBOL] [--time-unit ns|us|ms|s|iso]
                              [--columns a,b,c] [--price-scale N] [--quantity-scale N] [--force] [--json]
               retrace import lobster MESSAGES ORDERBOOK --levels N --out RUN [--reconciliations FILE]
                              [--instrument SYMBOL] [--date YYYY-MM-DD] [--force] [--json]

          FORMAT   \(FeedFormat.allCases.map(\.rawValue).joined(separator: " | "))
          INPUT    a CSV file (.gz is decompressed); FORMAT:FILE gives one file another format,
                   so quotes and trades can be merged into one run
          --instrument   symbol for files without a symbol column (default: from the file name)
          --columns      column names for a file without a header row
          --time-unit    unit of the time columns (default: from the column name or the values)

        columns (matched by header name, case-insensitive):

        """
        for f in FeedFormat.allCases { s += "  \(f.rawValue): \(f.columnHelp)\n" }
        return s
    }

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        if args.first == "lobster" { return try lobster(args.dropFirst()) }
        let a = try Arguments(args, valued: ["out", "instrument", "time-unit", "columns", "price-scale", "quantity-scale"], flags: ["json", "force", "quiet"])
        if a.has("help") { Output.out(help); return 0 }
        guard a.positionals.count >= 2 else { throw UsageError("expected FORMAT and at least one INPUT") }
        guard let format = FeedFormat(rawValue: a.positionals[0]) else {
            throw UsageError("unknown format '\(a.positionals[0])'; formats: \(FeedFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var inputs: [ImportInput] = []
        for p in a.positionals.dropFirst() {
            if let colon = p.firstIndex(of: ":"), let f = FeedFormat(rawValue: String(p[..<colon])) {
                inputs.append(ImportInput(format: f, path: String(p[p.index(after: colon)...])))
            } else {
                inputs.append(ImportInput(format: format, path: p))
            }
        }
        var options = ImportOptions()
        options.instrument = a.value("instrument")
        if let u = a.value("time-unit") {
            guard let unit = TimeUnit(rawValue: u) else { throw UsageError("--time-unit must be one of ns, us, ms, s, iso") }
            options.timeUnit = unit
        }
        options.columns = a.value("columns").map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        if let v = a.value("price-scale") { guard let n = Int(v), (0...12).contains(n) else { throw UsageError("--price-scale must be 0...12") }; options.priceScale = n }
        if let v = a.value("quantity-scale") { guard let n = Int(v), (0...12).contains(n) else { throw UsageError("--quantity-scale must be 0...12") }; options.quantityScale = n }
        let out = try a.require("out")
        let m = try ImportDriver.run(inputs, options: options, out: out, replace: a.has("force"))
        if a.has("json") {
            var o = JSONObject()
            o.add("run", out)
            o.add("mode", "import")
            o.add("status", m.status)
            o.add("events", m.events)
            o.add("instruments", raw: "[" + m.instruments.map { "\"\($0)\"" }.joined(separator: ",") + "]")
            Output.out(o.text)
        } else {
            Output.out("imported \(m.events) events into \(out)")
            for i in m.instruments { Output.out("  instrument \(i)") }
        }
        return 0
    }

    /// `retrace import lobster MESSAGES ORDERBOOK --levels N --out RUN`.
    static func lobster(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["out", "levels", "reconciliations", "instrument", "date"], flags: ["json", "force"])
        if a.has("help") { Output.out(help); return 0 }
        guard a.positionals.count == 2 else { throw UsageError("expected MESSAGES and ORDERBOOK files") }
        guard let levels = Int(try a.require("levels")), levels > 0 else { throw UsageError("--levels must be a positive integer") }
        let out = try a.require("out")
        let r = try LobsterImport.run(messages: a.positionals[0], orderbook: a.positionals[1], levels: levels, instrument: a.value("instrument"),
                                      date: a.value("date"), reconciliationsCSV: a.value("reconciliations"), out: out, replace: a.has("force"))
        if a.has("json") {
            var o = JSONObject()
            o.add("run", out)
            o.add("mode", "import")
            o.add("status", r.manifest.status)
            o.add("events", r.manifest.events)
            o.add("messages", r.messages)
            o.add("levels", r.levels)
            o.add("reconciliations", r.reconciliations)
            Output.out(o.text)
        } else {
            Output.out("imported \(r.messages) LOBSTER messages (\(r.levels) levels, \(r.reconciliations) reconciliations) into \(out)")
        }
        return 0
    }
}
