import Foundation
import RetraceCore
import RetraceFeeds

enum GenerateCommand {
    static let help = """
    usage: retrace generate --out DIR [--seed N] [--quotes N] [--symbol S]

      Writes DIR/quotes.csv and DIR/trades.csv: a deterministic random-walk market with
      volatility regimes, a spread that widens with volatility, and trades at the touch.
      The same seed gives the same bytes on every machine.
    """

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["out", "seed", "quotes", "symbol"], flags: ["quiet"])
        if a.has("help") { Output.out(help); return 0 }
        var s = SyntheticFeed.Settings()
        if let v = a.value("seed") { guard let n = UInt64(v) else { throw UsageError("--seed must be an integer") }; s.seed = n }
        if let v = a.value("quotes") { guard let n = Int(v), n > 0 else { throw UsageError("--quotes must be positive") }; s.quotes = n }
        if let v = a.value("symbol") { guard Symbol(v) != nil else { throw UsageError("--symbol must be 1 to 16 bytes") }; s.symbol = v }
        let out = try a.require("out")
        let feed = SyntheticFeed(s)
        let rows = feed.rows()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try Data(feed.quotesCSV(rows).utf8).write(to: URL(fileURLWithPath: out + "/quotes.csv"))
        try Data(feed.tradesCSV(rows).utf8).write(to: URL(fileURLWithPath: out + "/trades.csv"))
        if !a.has("quiet") { Output.err("wrote \(out)/quotes.csv and \(out)/trades.csv (\(rows.count) rows, seed \(s.seed))") }
        return 0
    }
}
