import Foundation
import RetraceCore
import RetraceEngine
import RetraceFeeds

enum ImportCommand {
    static var help: String {
        var s = """
        usage: retrace import FORMAT INPUT... --out RUN [--instrument SYMBOL] [--time-unit ns|us|ms|s|iso]
                              [--columns a,b,c] [--price-scale N] [--quantity-scale N] [--force] [--json]
               retrace import lobster MESSAGES ORDERBOOK --levels N --out RUN [--reconciliations FILE]
                              [--instrument SYMBOL] [--date YYYY-MM-DD] [--force] [--json]
               retrace import l2-csv --snapshot FILE --updates FILE [--trades FILE] [--bbo FILE] --out RUN
                              [--instrument SYMBOL] [--allow-gaps] [--force] [--json]

          FORMAT   \(FeedFormat.allCases.map(\.rawValue).joined(separator: " | "))
          INPUT    a CSV file (.gz is decompressed); FORMAT:FILE gives one file another format,
                   so quotes and trades can be merged into one run
          --instrument   symbol for files without a symbol column (default: from the file name)
          --columns      column names for a file without a header row
          --time-unit    unit of the time columns (default: from the column name or the values)

        l2-csv reads Binance futures depth recordings (snapshot + depthUpdate rows, bookTicker,
        trades; plain, .gz or .zst): updates before the snapshot are buffered, update ids are
        chained (a gap stops the import and names the line, unless --allow-gaps), crossed
        books are reported, and every BBO record whose update id ends an applied depth event is
        checked against the rebuilt book (bbo_compared, bbo_match_rate).

        columns (matched by header name, case-insensitive):

        """
        for f in FeedFormat.allCases { s += "  \(f.rawValue): \(f.columnHelp)\n" }
        return s
    }

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        if args.first == "lobster" { return try lobster(args.dropFirst()) }
        if args.first == "l2-csv" { return try l2(args.dropFirst()) }
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
        var bar: Progress?
        let quiet = a.has("quiet")
        let m = try ImportDriver.run(inputs, options: options, out: out, replace: a.has("force")) { done, total in
            if bar == nil && done == 1 { bar = Progress("import", total: total, quiet: quiet) }
            bar?.update(done)
        }
        bar?.finish()
        if a.has("json") {
            var o = importSummary(out, m)
            o.add("instruments", raw: "[" + m.instruments.map { "\"\($0)\"" }.joined(separator: ",") + "]")
            Output.out(o.text)
        } else {
            Output.out("imported \(m.events) events into \(out)")
            for i in m.instruments { Output.out("  instrument \(i)") }
        }
        return 0
    }

    /// The fields every import's JSON summary starts with.
    static func importSummary(_ out: String, _ m: RunManifest) -> JSONObject {
        var o = JSONObject()
        o.add("run", out)
        o.add("mode", "import")
        o.add("status", m.status)
        o.add("events", m.events)
        return o
    }

    /// `retrace import l2-csv --snapshot FILE --updates FILE [--trades FILE] [--bbo FILE] --out RUN`.
    static func l2(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["out", "snapshot", "updates", "trades", "bbo", "instrument"], flags: ["json", "force", "allow-gaps"])
        if a.has("help") { Output.out(help); return 0 }
        guard a.positionals.isEmpty else { throw UsageError("unexpected argument '\(a.positionals[0])' (l2-csv takes --snapshot and --updates)") }
        var o = L2DepthImport.Options(snapshot: try a.require("snapshot"), updates: try a.require("updates"))
        o.trades = a.value("trades")
        o.bbo = a.value("bbo")
        o.instrument = a.value("instrument")
        o.allowGaps = a.has("allow-gaps")
        let out = try a.require("out")
        let s = try L2DepthImport.run(o, out: out, replace: a.has("force"))
        if a.has("json") {
            var j = importSummary(out, s.manifest)
            j.add("instrument", s.instrument.symbol.description)
            j.add("tick_size", s.instrument.text(Price(raw: s.tickSize)))
            j.add("snapshot_levels", s.snapshotLevels)
            j.add("depth_events", s.depthEvents)
            j.add("applied_events", s.appliedEvents)
            j.add("dropped_events", s.droppedEvents)
            j.add("level_updates", s.levelUpdates)
            j.add("gaps", s.gaps)
            j.add("crossed_events", s.crossedEvents)
            j.add("trades", s.trades)
            j.add("quotes", s.quotes)
            j.add("bbo_compared", s.bboCompared)
            j.add("bbo_matched", s.bboMatched)
            j.add("bbo_match_rate", s.bboMatchRate)
            Output.out(j.text)
        } else {
            Output.out("imported \(s.instrument.symbol): \(s.snapshotLevels) snapshot levels, \(s.appliedEvents) of \(s.depthEvents) depth events applied (\(s.droppedEvents) before the snapshot dropped), \(s.levelUpdates) level updates, \(s.trades) trades, \(s.quotes) quotes into \(out)")
            Output.out("  BBO check: \(s.bboMatched) of \(s.bboCompared) records with an applied update id match the rebuilt book")
        }
        if let g = s.firstGap { Output.err("warning: \(s.gaps) gap(s) in the depth stream; first: \(g)") }
        if let c = s.firstCrossed { Output.err("warning: the book was crossed or locked after \(s.crossedEvents) depth event(s); first: \(c)") }
        if let m = s.firstMismatch { Output.err("warning: \(s.bboCompared - s.bboMatched) BBO record(s) differ from the rebuilt book; first: \(m)") }
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
            var o = importSummary(out, r.manifest)
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
