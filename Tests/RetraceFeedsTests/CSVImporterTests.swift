import Foundation
import Testing
@testable import RetraceCore
@testable import RetraceFeeds

func writeTemp(_ name: String, _ text: String) -> String {
    let dir = NSTemporaryDirectory() + "retrace-feeds-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let path = dir + "/" + name
    try! Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return path
}

@Suite("CSV importers")
struct CSVImporterTests {
    @Test("bars with an unnamed date column load, scales come from the data")
    func bars() throws {
        let path = writeTemp("x_GOOG_daily.csv", ",Open,High,Low,Close,Volume\n2004-08-19,100,104.06,95.96,100.34,22351900\n2004-08-20,101.01,109.08,100.5,108.31,11428600\n")
        let feed = try CSVImporter.load([ImportInput(format: .barsCSV, path: path)], options: ImportOptions())
        #expect(feed.instruments.map(\.symbol.description) == ["GOOG"])
        #expect(feed.instruments[0].priceScale == 2)
        guard case .barReceived(let b) = feed.events[2].body else { Issue.record("no bar"); return }
        #expect(b.open.raw == 10_101 && b.low.raw == 10_050 && b.volume.raw == 11_428_600)
        #expect(feed.events[2].eventTime.iso8601 == "2004-08-20T00:00:00.000000000Z")
    }

    @Test("Binance-style trades: receive and event time columns, buyer-maker flag")
    func trades() throws {
        let path = writeTemp("t.csv", "local_ts_ns,event_time_ms,trade_time_ms,trade_id,price,qty,is_buyer_maker\n1723161255319712000,1723161256590,1723161256589,5266583935,61800.30,0.002,true\n1723161255400000000,1723161256600,1723161256600,5266583936,61800.4,1.5,false\n")
        let feed = try CSVImporter.load([ImportInput(format: .tradesCSV, path: path)], options: ImportOptions(instrument: "BTCUSDT"))
        let e = feed.events[1]
        #expect(e.receiveTime.nanos == 1_723_161_255_319_712_000)
        #expect(e.eventTime.nanos == 1_723_161_256_589_000_000)
        guard case .tradeReceived(let t) = e.body else { Issue.record("no trade"); return }
        #expect(t.price.raw == 618_003 && t.quantity.raw == 2 && t.aggressor == .seller && t.tradeID == 5_266_583_935)
        #expect(feed.instruments[0].quantityScale == 3)
    }

    @Test("float renderings with 16–17 significant digits read at 15; exact text stays exact")
    func floatRenderings() throws {
        let path = writeTemp("t.csv", "timestamp_ms,price,quantity\n1610064000278,39439.22,0.00031099999999999997\n1610064000279,39439.22,7.000000000000001e-06\n1610064000280,39439.22,0.123456789012\n")
        let feed = try CSVImporter.load([ImportInput(format: .tradesCSV, path: path)], options: ImportOptions(instrument: "BTC"))
        #expect(feed.instruments[0].quantityScale == 12)
        let sizes = feed.events.dropFirst().map { e -> Int64 in if case .tradeReceived(let t) = e.body { t.quantity.raw } else { -1 } }
        #expect(sizes == [311_000_000, 7_000_000, 123_456_789_012])
    }

    @Test("headerless HistData ticks load with --columns")
    func headerless() throws {
        let path = writeTemp("fx.csv", "20200101 170000065,1.121330,1.122180,0\n20200101 170000165,1.121310,1.122000,0\n")
        #expect(throws: FeedError.self) { _ = try CSVImporter.load([ImportInput(format: .quotesCSV, path: path)], options: ImportOptions()) }
        let feed = try CSVImporter.load([ImportInput(format: .quotesCSV, path: path)], options: ImportOptions(instrument: "EURUSD", columns: ["time", "bid", "ask", "volume"]))
        #expect(feed.events.count == 3)
        #expect(feed.events[1].receiveTime.iso8601 == "2020-01-01T17:00:00.065000000Z")
        #expect(feed.instruments[0].priceScale == 5)
    }

    @Test("two files merge by time, then by file order")
    func merge() throws {
        let q = writeTemp("q.csv", "timestamp_ns,bid,ask\n100,1.0,1.2\n300,1.1,1.3\n")
        let t = writeTemp("t.csv", "timestamp_ns,price,quantity\n100,1.1,5\n200,1.2,1\n")
        let feed = try CSVImporter.load([ImportInput(format: .quotesCSV, path: q), ImportInput(format: .tradesCSV, path: t)], options: ImportOptions(instrument: "X"))
        #expect(feed.events.dropFirst().map(\.body.kind) == [.quoteReceived, .tradeReceived, .tradeReceived, .quoteReceived])
        #expect(feed.instruments.count == 1)
    }

    @Test("bad rows name the file and line (header = line 1)", arguments: [
        ("timestamp_ns,price,quantity\n1,10.5,1\n2,ten,1\n", ":3:", "not a decimal"),
        ("timestamp_ns,price,quantity\n5,10.5,1\n4,10.6,1\n", ":3:", "earlier than"),
        ("timestamp_ns,price\n1,10.5\n", ":1:", "needs a 'quantity' column"),
        ("timestamp_ns,price,quantity\n1,10.5\n", ":2:", "fields, expected"),
        ("price,quantity\n10.5,1\n", ":1:", "no time column"),
    ])
    func badInput(text: String, location: String, problem: String) {
        let path = writeTemp("bad.csv", text)
        let error = #expect(throws: FeedError.self) { _ = try CSVImporter.load([ImportInput(format: .tradesCSV, path: path)], options: ImportOptions(instrument: "X")) }
        #expect(error?.message.contains(path + location) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains(problem) == true, "\(error?.message ?? "")")
    }

    @Test("the generator is deterministic and its output re-imports")
    func generator() throws {
        var s = SyntheticFeed.Settings()
        s.quotes = 2_000
        let a = SyntheticFeed(s).rows(), b = SyntheticFeed(s).rows()
        #expect(a == b)
        s.seed = 8
        #expect(SyntheticFeed(s).rows() != a)
        let feed = SyntheticFeed(SyntheticFeed.Settings())
        let rows = Array(feed.rows().prefix(500))
        let q = writeTemp("quotes.csv", feed.quotesCSV(rows)), t = writeTemp("trades.csv", feed.tradesCSV(rows))
        let loaded = try CSVImporter.load([ImportInput(format: .quotesCSV, path: q), ImportInput(format: .tradesCSV, path: t)], options: ImportOptions())
        #expect(loaded.events.count == rows.count + 1)
        for e in loaded.events { if case .quoteReceived(let x) = e.body { #expect(x.bidPrice < x.askPrice) } }
    }

    @Test("the peer workload regenerates the peer script's first ticks")
    func peerWorkload() {
        let e = PeerQuoteWorkload.events(count: 3)
        guard case .quoteReceived(let q) = e[1].body else { Issue.record("no quote"); return }
        // independently: first four SplitMix64(42) outputs mod 5, 3, 4501, 4501
        var rng = SplitMix64(seed: 42)
        let u = (0..<4).map { _ in rng.next() }
        #expect(q.bidPrice.raw == 500_000 + Int64(u[0] % 5) - 2)
        #expect(q.askPrice.raw - q.bidPrice.raw == 1 + Int64(u[1] % 3))
        #expect(q.bidQuantity.raw == 500 + Int64(u[2] % 4501))
    }
}

@Suite("Time units")
struct TimeUnitTests {
    @Test("time columns in s, ms, µs, ns and ISO all give the same instant", arguments: [
        ("time_s", "1704067200.5"), ("time_ms", "1704067200500"), ("time_us", "1704067200500000"), ("time_ns", "1704067200500000000"),
        ("timestamp", "1704067200500"), ("timestamp", "2024-01-01T00:00:00.5Z"), ("datetime", "2024-01-01 00:00:00.500"),
    ])
    func units(column: String, value: String) throws {
        let path = writeTemp("u.csv", "\(column),price,quantity\n\(value),1,1\n")
        let feed = try CSVImporter.load([ImportInput(format: .tradesCSV, path: path)], options: ImportOptions(instrument: "X"))
        #expect(feed.events[1].receiveTime.nanos == 1_704_067_200_500_000_000)
    }
}
