import Foundation
import RetraceCore
import RetraceFeeds

enum GenerateCommand {
    static let help = """
    usage: retrace generate --out DIR [--seed N] [--quotes N] [--symbol S] [--venue-b-lag DURATION]

      Writes DIR/quotes.csv and DIR/trades.csv: a deterministic random-walk market with
      volatility regimes, a spread that widens with volatility, and trades at the touch.
      The same seed gives the same bytes on every machine.

      --venue-b-lag 20ms   also writes DIR/quotes_b.csv: the same market quoted on a second
                           venue (symbol S-B) that shows each quote after a random delay
                           with that mean, for cross-venue strategies
    """

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["out", "seed", "quotes", "symbol", "venue-b-lag"], flags: ["quiet"])
        if a.has("help") { Output.out(help); return 0 }
        var s = SyntheticFeed.Settings()
        if let v = a.value("seed") { guard let n = UInt64(v) else { throw UsageError("--seed must be an integer") }; s.seed = n }
        if let v = a.value("quotes") { guard let n = Int(v), n > 0 else { throw UsageError("--quotes must be positive") }; s.quotes = n }
        if let v = a.value("symbol") { guard Symbol(v) != nil else { throw UsageError("--symbol must be 1 to 16 bytes") }; s.symbol = v }
        var lag: Int64?
        if let v = a.value("venue-b-lag") {
            guard let n = Timestamp.parseDurationNanos(v), n >= 0 else { throw UsageError("--venue-b-lag must be a duration such as 20ms") }
            guard Symbol(s.symbol + "-B") != nil else { throw UsageError("--symbol must be at most 14 bytes with --venue-b-lag (venue B's symbol is SYMBOL-B)") }
            lag = n
        }
        let out = try a.require("out")
        let feed = SyntheticFeed(s)
        let rows = feed.rows()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try Data(feed.quotesCSV(rows).utf8).write(to: URL(fileURLWithPath: out + "/quotes.csv"))
        try Data(feed.tradesCSV(rows).utf8).write(to: URL(fileURLWithPath: out + "/trades.csv"))
        if let lag {
            try Data(feed.quotesCSV(feed.followerRows(rows, lagNanos: lag), symbol: s.symbol + "-B").utf8).write(to: URL(fileURLWithPath: out + "/quotes_b.csv"))
        }
        if !a.has("quiet") { Output.err("wrote \(out)/quotes.csv\(lag == nil ? "" : ", quotes_b.csv") and \(out)/trades.csv (\(rows.count) rows, seed \(s.seed))") }
        return 0
    }
}
