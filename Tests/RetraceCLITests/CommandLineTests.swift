import Foundation
import Testing
@testable import RetraceCore

@Suite("Command line")
struct CommandLineTests {
    @Test("a malformed row fails the import with file:line, and no run folder is created")
    func malformedImport() throws {
        let dir = scratch("bad")
        defer { removeScratch(dir) }
        let csv = dir + "/bad.csv"
        try Data("timestamp_ns,price,quantity\n1,10.5,1\n2,10.6,1\n3,oops,1\n".utf8).write(to: URL(fileURLWithPath: csv))
        let r = try retrace(["import", "trades-csv", csv, "--out", dir + "/run"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(csv):4:"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/run"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("run") }
        #expect(leftovers.isEmpty)
    }

    @Test("a non-monotone timestamp fails a backtest over a CSV with the line named")
    func outOfOrderBacktest() throws {
        let dir = scratch("order")
        defer { removeScratch(dir) }
        let csv = dir + "/q.csv"
        try Data("timestamp_ns,bid,ask\n10,1.0,1.1\n30,1.0,1.1\n20,1.0,1.1\n".utf8).write(to: URL(fileURLWithPath: csv))
        let r = try retrace(["backtest", "--data", csv, "--strategy", "ema-cross", "--out", dir + "/run"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(csv):4:") && r.stderr.contains("earlier"), "\(r.stderr)")
    }

    @Test("unknown strategy parameters and strategies, and a CPU that is not one, are refused by name", arguments: [
        (["--strategy", "ema-cross", "--param", "fats=3"], "unknown parameter 'fats'"),
        (["--strategy", "nope"], "unknown strategy 'nope'"),
        (["--strategy", "ema-cross", "--param", "slow=abc"], "slow=abc"),
        (["--strategy", "ema-cross", "--pin", "one"], "--pin must be a CPU number, or -1 for none, got 'one'"),
        (["--strategy", "ema-cross", "--pin", "100000"], "--pin 100000: this machine has"),
    ])
    func badParameters(extra: [String], message: String) throws {
        let dir = scratch("param")
        defer { removeScratch(dir) }
        let r = try retrace(["backtest", "--data", packageRoot + "/Datasets/demo/quotes.csv", "--out", dir + "/run"] + extra)
        #expect(r.status != 0)
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/run"))
    }

    @Test("timesync: a folder that is not a run, and a run whose events carry no exchange time, are errors (exit 1) without the usage text")
    func timesyncErrors() throws {
        let dir = scratch("timesync")
        defer { removeScratch(dir) }
        let missing = try retrace(["timesync", dir + "/nothing"])
        #expect(missing.status == 1 && missing.stderr.contains("\(dir)/nothing is not a run folder"), "\(missing.stderr)")
        #expect(try retrace(["backtest", "--data", packageRoot + "/Datasets/demo/quotes.csv", "--strategy", "ema-cross", "--out", dir + "/run", "--quiet"]).status == 0)
        let none = try retrace(["timesync", dir + "/run"])
        #expect(none.status == 1 && none.stderr.contains("nothing to estimate") && !none.stderr.contains("usage:"), "\(none.stderr)")
    }

    @Test("the same backtest in two processes gives the same fingerprint; the journal verifies")
    func crossProcessDeterminism() throws {
        let dir = scratch("det")
        defer { removeScratch(dir) }
        var fingerprints: [String] = []
        for k in 0..<2 {
            let r = try retrace(["backtest", "--data", packageRoot + "/Datasets/demo/quotes.csv", "--strategy", "ema-cross", "--param", "fast=5",
                                 "--param", "slow=12", "--param", "taker_fee=0.0004", "--out", dir + "/run\(k)", "--json"])
            #expect(r.status == 0, "\(r.stderr)")
            let s = try summary(r)
            for key in ["events", "orders", "fills", "pnl", "fingerprint", "wall_seconds", "events_per_second"] { #expect(s[key] != nil, "missing \(key)") }
            fingerprints.append(s["fingerprint"] as? String ?? "")
        }
        #expect(fingerprints[0] == fingerprints[1], "reproduce: retrace backtest --data Datasets/demo/quotes.csv --strategy ema-cross --param fast=5 --param slow=12 twice")
        #expect(fingerprints[0].count == 64)
        let v = try retrace(["journal", "verify", dir + "/run0"])
        #expect(v.status == 0, "\(v.stderr)")
        #expect(v.stdout.contains("matches the manifest"))
    }

    @Test("journal verify reports corruption with its byte offset and exits non-zero")
    func corruptJournal() throws {
        let dir = scratch("corrupt")
        defer { removeScratch(dir) }
        let r = try retrace(["backtest", "--data", packageRoot + "/Datasets/demo/quotes.csv", "--strategy", "ema-cross", "--out", dir + "/run"])
        #expect(r.status == 0, "\(r.stderr)")
        let path = dir + "/run/journal/00000000.wal"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[64 + 80 * 10 + 30] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        let v = try retrace(["journal", "verify", dir + "/run"])
        #expect(v.status == 1)
        #expect(v.stderr.contains("CRC mismatch") && v.stderr.contains("at byte"), "\(v.stderr)")
    }

    @Test("demo runs again and again with the same fingerprint and writes the CSV exports")
    func demo() throws {
        let a = try retrace(["demo", "--json"])
        #expect(a.status == 0, "\(a.stderr)")
        let b = try retrace(["demo", "--json"])
        #expect(try summary(a)["fingerprint"] as? String == summary(b)["fingerprint"] as? String)
        for f in ["trades.csv", "orders.csv", "fills.csv", "positions.csv", "equity.csv", "summary.csv"] {
            #expect(FileManager.default.fileExists(atPath: packageRoot + "/Runs/demo/csv/" + f))
        }
        let trades = try csvRows(packageRoot + "/Runs/demo/csv/trades.csv")
        #expect(!trades.isEmpty)
        #expect(trades[0].keys.contains("entry_time_ns") && trades[0]["entry_time"]!.hasSuffix("Z"))
    }

    @Test("every command answers --help")
    func help() throws {
        for c in ["demo", "generate", "import", "backtest", "export", "journal", "bench"] {
            let r = try retrace([c, "--help"])
            #expect(r.status == 0, "\(c)")
            #expect(r.stdout.contains("usage: retrace \(c)"), "\(c)")
        }
        #expect(try retrace(["frobnicate"]).status == 2)
    }
}
