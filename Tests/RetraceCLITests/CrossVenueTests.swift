import Foundation
import Testing

/// Two venues end to end, as a user runs them: a lead-lag pair generated, imported into one
/// run, and traded by `cross-venue-arbitrage` with different fees and latencies per venue.
@Suite("Two venues")
struct CrossVenueTests {
    /// Generates and imports the pair; returns the scratch folder and the run.
    func pair() throws -> (String, String) {
        let dir = scratch("two-venues")
        #expect(try retrace(["generate", "--out", dir + "/data", "--quotes", "4000", "--venue-b-lag", "20ms", "--quiet"]).status == 0)
        let run = dir + "/run"
        let r = try retrace(["import", "quotes-csv", dir + "/data/quotes.csv", dir + "/data/quotes_b.csv", "trades-csv:" + dir + "/data/trades.csv", "--out", run, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        return (dir, run)
    }

    /// A `cross-venue-arbitrage` backtest of `run` with `params`, `extra` options after them.
    func arbitrage(_ run: String, _ out: String, _ params: [String], venueB: String, _ extra: [String] = []) throws -> CommandResult {
        var args = ["backtest", "--data", run, "--strategy", "cross-venue-arbitrage", "--out", out, "--json", "--param", "venue.B.instruments=" + venueB, "--param", "close_at_end=false"]
        for p in params { args += ["--param", p] }
        return try retrace(args + extra)
    }

    func backtest(_ run: String, _ out: String, _ params: [String], venueB: String = "DEMO-B") throws -> (fingerprint: String, orders: [[String: String]], fills: [[String: String]]) {
        let r = try arbitrage(run, out, params, venueB: venueB)
        #expect(r.status == 0, "\(r.stderr)")
        let s = try summary(r)
        #expect(try retrace(["export", out, "--csv", out + "/csv", "--quiet"]).status == 0)
        return (s["fingerprint"] as? String ?? "", try csvRows(out + "/csv/orders.csv"), try csvRows(out + "/csv/fills.csv"))
    }

    /// Exact decimal of a CSV number.
    func dec(_ s: String?) -> Decimal { Decimal(string: s ?? "") ?? .nan }

    @Test("each venue charges its own fee and applies its own entry and ack latency; a missed leg is hedged; same settings ⇒ same fingerprint")
    func twoVenues() throws {
        let (dir, run) = try pair()
        defer { removeScratch(dir) }
        let fees = ["taker_fee=0.0004", "venue.B.taker_fee=0.0001"]

        // No latency: every pair fills on both venues at once, each at its venue's rate.
        let fast = try backtest(run, dir + "/fast", fees)
        #expect(!fast.fills.isEmpty)
        #expect(Set(fast.fills.map { $0["instrument"] ?? "" }) == ["DEMO", "DEMO-B"])
        for f in fast.fills {
            let rate: Decimal = f["instrument"] == "DEMO-B" ? Decimal(string: "0.0001")! : Decimal(string: "0.0004")!
            #expect(dec(f["fee"]) == dec(f["price"]) * dec(f["quantity"]) * rate, "fill \(f)")
            #expect(f["liquidity"] == "taker")
        }
        #expect(fast.orders.allSatisfy { $0["status"] == "filled" && $0["type"] == "ioc" }, "with no latency every IOC leg fills")

        // Venue B 10 ms away (entry); venue SIM answers after 2 ms (ack), B at once.
        let slowParams = fees + ["ack_latency=2ms", "venue.B.ack_latency=0", "venue.B.entry_latency=10ms"]
        let slow = try backtest(run, dir + "/slow", slowParams)
        let submitted = Dictionary(uniqueKeysWithValues: slow.orders.map { ($0["order_id"]!, (Int64($0["submit_time_ns"]!)!, $0["instrument"]!, $0["type"]!)) })
        for f in slow.fills {
            let (sent, instrument, _) = submitted[f["order_id"]!]!
            let heard = Int64(f["time_ns"]!)! - sent
            // SIM: reaches the book at once, heard 2 ms later. B: reaches the book 10 ms later, heard then.
            #expect(heard == (instrument == "DEMO-B" ? 10_000_000 : 2_000_000), "fill \(f)")
        }
        let missedOnB = slow.orders.filter { $0["instrument"] == "DEMO-B" && $0["type"] == "ioc" && $0["status"] == "canceled" && dec($0["filled_quantity"]) == 0 }
        #expect(!missedOnB.isEmpty, "with B 10 ms away some B legs arrive after its quote moved")
        #expect(slow.orders.contains { $0["type"] == "market" }, "a missed leg is hedged with a market order")
        #expect(try backtest(run, dir + "/slow2", slowParams).fingerprint == slow.fingerprint)
        #expect(slow.fingerprint != fast.fingerprint)
    }

    /// Real quotes on two venues: the first 30,000 Binance USD-M BTCUSDT best-bid/offer
    /// records of 2024-08-08 as recorded (venue SIM, `BTCUSDT`), and the same records heard
    /// 25 ms later on venue B (`BTCUSDT-B`, a slower feed of the same market). The prices,
    /// sizes and the irregular timing are the recording's; only B's delay is ours.
    func binancePair(_ dir: String) throws -> String? {
        let bbo = sharedDatasets + "/crypto/binance_usdm_btcusdt_20240808_bbo.csv.gz"
        guard sharedFilePresent(bbo) else { return nil }
        let text = String(decoding: try gunzip(bbo), as: UTF8.self)
        // local_ts_ns,update_id,event_time_ms,transaction_time_ms,bid_price,bid_qty,ask_price,ask_qty
        let rows = text.split(separator: "\n").dropFirst().prefix(30_000).map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows.count == 30_000)
        var a = "timestamp_ns,symbol,bid_price,bid_size,ask_price,ask_size\n", b = a
        for r in rows {
            let quote = "\(r[4]),\(r[5]),\(r[6]),\(r[7])\n"
            a += "\(r[0]),BTCUSDT,\(quote)"
            b += "\(Int64(r[0])! + 25_000_000),BTCUSDT-B,\(quote)"
        }
        try a.write(toFile: dir + "/a.csv", atomically: true, encoding: .utf8)
        try b.write(toFile: dir + "/b.csv", atomically: true, encoding: .utf8)
        let run = dir + "/data"
        let r = try retrace(["import", "quotes-csv", dir + "/a.csv", dir + "/b.csv", "--out", run, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        return run
    }

    @Test("cross-venue-arbitrage over real Binance quotes: it trades both venues, and the fingerprint is the same run after run, pinned or not, with a failing store")
    func realData() throws {
        let dir = scratch("two-venues-real")
        defer { removeScratch(dir) }
        guard let run = try binancePair(dir) else { return }
        let params = ["size=0.01", "max_position=0.05", "taker_fee=0.0001", "venue.B.taker_fee=0.0001",
                      "venue.B.entry_latency=5ms", "ack_latency=1ms"]
        let first = try backtest(run, dir + "/a", params, venueB: "BTCUSDT-B")
        #expect(Set(first.fills.map { $0["instrument"] ?? "" }) == ["BTCUSDT", "BTCUSDT-B"], "the lagged venue opens gaps the strategy takes")
        func again(_ out: String, _ extra: [String]) throws -> String {
            let r = try arbitrage(run, out, params, venueB: "BTCUSDT-B", extra)
            #expect(r.status == 0, "\(r.stderr)")
            return try summary(r)["fingerprint"] as? String ?? ""
        }
        #expect(try again(dir + "/b", []) == first.fingerprint)
        #expect(try again(dir + "/c", ["--pin", "0", "--set", "engine.profile_every=0"]) == first.fingerprint)
        #expect(try again(dir + "/d", ["--pin", "1", "--set", "store.fault_every=2", "--set", "store.ring_slots=64", "--set", "store.retry_base_ms=0.1",
                                       "--set", "store.retry_max_ms=1"]) == first.fingerprint)
    }

    @Test("a run with one instrument, or a and b naming the same one, is refused with the reason")
    func refused() throws {
        let (dir, run) = try pair()
        defer { removeScratch(dir) }
        let same = try retrace(["backtest", "--data", run, "--strategy", "cross-venue-arbitrage", "--out", dir + "/x", "--param", "a=DEMO", "--param", "b=DEMO"])
        #expect(same.status != 0 && same.stderr.contains("same instrument DEMO"), "\(same.stderr)")
        let unknown = try retrace(["backtest", "--data", run, "--strategy", "cross-venue-arbitrage", "--out", dir + "/y", "--param", "b=NOPE"])
        #expect(unknown.status != 0 && unknown.stderr.contains("NOPE"), "\(unknown.stderr)")
    }
}
