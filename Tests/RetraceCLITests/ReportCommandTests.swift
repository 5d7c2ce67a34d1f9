import Foundation
import RetraceReports
import Testing

/// `retrace export` and `retrace report` as a user runs them.
@Suite("Exports and reports")
struct ReportCommandTests {
    static let fixtures = packageRoot + "/Tests/Fixtures/tiny-export"

    /// The tiny hand-checked run (Tests/Fixtures/tiny-export/README.md) and its export.
    static func tinyRun() throws -> String {
        let dir = scratch("tiny")
        try FileManager.default.copyItem(atPath: fixtures + "/bars.csv", toPath: dir + "/bars.csv")
        let r = try retrace(["backtest", "--data", "bars.csv", "--strategy", "sma-cross", "--param", "fast=1", "--param", "slow=2", "--param", "sizing=1",
                             "--param", "commission=0.01", "--param", "cash=1000", "--set", "engine.profile_every=0", "--out", "run"], in: dir)
        guard r.status == 0 else { throw CLITestError(r.stderr) }
        let e = try retrace(["export", "run", "--csv", "csv", "--quiet"], in: dir)
        guard e.status == 0 else { throw CLITestError(e.stderr) }
        return dir
    }

    @Test("the export of a hand-checked tiny run matches the expected files byte for byte")
    func tinyExport() throws {
        let dir = try Self.tinyRun()
        defer { removeScratch(dir) }
        for file in CSVExporter.files {
            var got = try Data(contentsOf: URL(fileURLWithPath: dir + "/csv/" + file))
            if file == "summary.csv" {
                let kept = String(decoding: got, as: UTF8.self).components(separatedBy: "\r\n")
                    .filter { !$0.hasPrefix("run_id,") && !$0.hasPrefix("started_at,") && !$0.hasPrefix("ended_at,") }
                got = Data(kept.joined(separator: "\r\n").utf8)
            }
            let want = try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/" + file))
            #expect(got == want, "\(file):\n\(String(decoding: got, as: UTF8.self))")
        }
    }

    @Test("every exported file survives a round trip through Python's csv module unchanged (RFC 4180)")
    func pythonRoundTrip() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            print("skipped: python3 is not installed")
            return
        }
        let dir = try Self.tinyRun()
        defer { removeScratch(dir) }
        let script = """
        import csv, io, sys
        for path in sys.argv[1:]:
            raw = open(path, newline="").read()
            rows = list(csv.reader(io.StringIO(raw, newline="")))
            out = io.StringIO(newline="")
            csv.writer(out, lineterminator="\\r\\n").writerows(rows)
            assert out.getvalue() == raw, path
            assert all(len(r) == len(rows[0]) for r in rows), path + ": ragged rows"
        print("ok", len(sys.argv) - 1)
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", script] + CSVExporter.files.map { dir + "/csv/" + $0 }
        let out = Pipe(), err = Pipe()
        (p.standardOutput, p.standardError) = (out, err)
        try p.run()
        let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0 && o.hasPrefix("ok 7"), "\(o)\(e)")
    }

    @Test("statistics from the store equal statistics from the journal")
    func storeEqualsJournal() throws {
        let dir = scratch("stats")
        defer { removeScratch(dir) }
        let r = try retrace(["backtest", "--data", packageRoot + "/Datasets/demo/quotes.csv", "--strategy", "market-maker", "--out", dir + "/mm"])
        try #require(r.status == 0, "\(r.stderr)")
        let store = try RunData.fromStore(dir + "/mm"), journal = try RunData.fromJournal(dir + "/mm")
        #expect(store.trades == journal.trades && store.fills == journal.fills && store.positions == journal.positions && store.equity == journal.equity)
        #expect(store.startingCash == journal.startingCash && store.instruments == journal.instruments)
        let a = RunStatistics(store), b = RunStatistics(journal)
        #expect(a == b)
        #expect(a.trades > 0 && a.tradedValue > .zero)
    }

    @Test("the HTML report is one self-contained page with its charts; two runs go side by side")
    func htmlReport() throws {
        let dir = try Self.tinyRun()
        defer { removeScratch(dir) }
        let one = try retrace(["report", "run", "--html", "one.html"], in: dir)
        #expect(one.status == 0, "\(one.stderr)")
        let html = try String(contentsOfFile: dir + "/one.html", encoding: .utf8)
        for part in ["<svg", "Equity", "Drawdown from the running peak", "Position over time", "Price and fills", "<table>", "sharpe", "max_drawdown_pct", "<polygon"] {
            #expect(html.contains(part), "\(part)")
        }
        for external in ["http://", "https://", "src=", "url(", "@import", "<script", "<link"] { #expect(!html.contains(external), "no \(external)") }
        // Side by side with a what-if replay (commission 0.02).
        #expect(try retrace(["replay", "run", "--out", "whatif", "--param", "commission=0.02"], in: dir).status == 0)
        let two = try retrace(["report", "run", "whatif", "--html", "two.html"], in: dir)
        #expect(two.status == 0, "\(two.stderr)")
        let pair = try String(contentsOfFile: dir + "/two.html", encoding: .utf8)
        #expect(pair.contains("run vs whatif") && pair.contains("B − A"))
        let bad = try retrace(["report", "nowhere", "--html", "x.html"], in: dir)
        #expect(bad.status == 1 && bad.stderr.contains("nowhere is not a run folder"), "\(bad.stderr)")
    }

    @Test("headless Chromium renders the report to a screenshot that is not blank")
    func screenshot() throws {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            print("skipped: Chromium is not installed (apt-get install chromium to run this check)")
            return
        }
        let dir = scratch("shot")
        defer { removeScratch(dir) }
        let r = try retrace(["backtest", "--data", packageRoot + "/Datasets/demo/quotes.csv", "--strategy", "market-maker", "--out", dir + "/mm"])
        try #require(r.status == 0)
        #expect(try retrace(["report", dir + "/mm", "--html", dir + "/report.html"]).status == 0)
        try Data("<!DOCTYPE html><html><body></body></html>".utf8).write(to: URL(fileURLWithPath: dir + "/blank.html"))
        func shot(_ page: String, _ png: String) throws -> Int {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: chromium)
            p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1000,1600", "--screenshot=" + png, "file://" + page]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return (try? FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0
        }
        let blank = try shot(dir + "/blank.html", dir + "/blank.png")
        let report = try shot(dir + "/report.html", dir + "/report.png")
        #expect(blank > 0 && report > 0, "chromium wrote both screenshots")
        // A white page compresses to almost nothing; charts, text and tables do not.
        #expect(report > blank * 10, "report \(report) bytes vs blank \(blank) bytes")
    }

    @Test("a progress bar with rate and ETA on a terminal; none with --quiet or when stderr is piped")
    func progressBar() throws {
        let dir = scratch("progress")
        defer { removeScratch(dir) }
        let binary = packageRoot + "/.build/debug/retrace"
        let command = "\(binary) backtest --data \(packageRoot)/Datasets/demo/quotes.csv --strategy market-maker --out \(dir)/run --force"
        let piped = try retrace(["backtest", "--data", packageRoot + "/Datasets/demo/quotes.csv", "--strategy", "market-maker", "--out", dir + "/run", "--force"])
        #expect(piped.status == 0 && !piped.stderr.contains("ETA") && !piped.stderr.contains("\r"), "no bar when piped: \(piped.stderr)")
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            print("skipped: the terminal half needs util-linux 'script' to provide a pseudo-terminal")
            return
        }
        func underTerminal(_ c: String) throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
            p.arguments = ["-qec", c, "/dev/null"]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try p.run()
            let o = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return String(decoding: o, as: UTF8.self)
        }
        let shown = try underTerminal(command)
        #expect(shown.contains("backtest █") && shown.contains("events/s") && shown.contains("ETA") && shown.contains("100.0%"), "\(shown)")
        let quiet = try underTerminal(command + " --quiet")
        #expect(!quiet.contains("ETA") && quiet.contains("[completed]"), "\(quiet)")
    }
}
