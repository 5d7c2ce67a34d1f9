import Foundation
import Testing
@testable import RetraceJournal

/// The journal commands as a user runs them.
@Suite("journal commands")
struct JournalCommandTests {
    @Test("append-test in every sync mode, from several threads, rotating segments; inspect and verify agree")
    func appendModes() throws {
        let dir = scratch("jcmd")
        defer { removeScratch(dir) }
        for (mode, threads) in [("none", "1"), ("async", "4"), ("fsync", "4")] {
            let run = dir + "/" + mode
            let r = try retrace(["journal", "append-test", run, "--sync", mode, "--records", "2000", "--threads", threads,
                                 "--record-bytes", "256", "--segment-bytes", "64K"])
            #expect(r.status == 0, "\(r.stderr)")
            let acks = r.stdout.split(separator: "\n").compactMap { UInt64($0) }
            #expect(acks.sorted() == Array(1...2000), "\(mode): every sequence acknowledged once")
            let inspect = try retrace(["journal", "inspect", run, "--json"])
            let json = try summary(inspect)
            #expect(json["records"] as? Int == 2000 && json["first_sequence"] as? Int == 1 && json["last_sequence"] as? Int == 2000)
            #expect((json["segments"] as? Int ?? 0) >= 8, "\(mode): 2000 × 256 B in 64 KiB segments")
            #expect(try retrace(["journal", "verify", run]).status == 0)
        }
        let bad = try retrace(["journal", "append-test", dir + "/x", "--record-bytes", "60"])
        #expect(bad.status == 2 && bad.stderr.contains("multiple of 8"))
    }

    @Test("io_uring refused: auto falls back to POSIX and says so once; uring alone is a clear error")
    func uringFallback() throws {
        let dir = scratch("jio")
        defer { removeScratch(dir) }
        let refuse = ["RETRACE_IO_URING_REFUSE": "1"]
        let auto = try retrace(["journal", "append-test", dir + "/a", "--io", "auto", "--records", "50", "--segment-bytes", "8K"], environment: refuse)
        #expect(auto.status == 0, "\(auto.stderr)")
        #expect(auto.stderr.components(separatedBy: "io_uring refused").count == 2, "said exactly once: \(auto.stderr)")
        let uring = try retrace(["journal", "append-test", dir + "/b", "--io", "uring", "--records", "5"], environment: refuse)
        #expect(uring.status == 1 && uring.stderr.contains("io_uring is not available"), "\(uring.stderr)")
        let real = try retrace(["journal", "append-test", dir + "/c", "--io", "auto", "--records", "50"])
        #expect(real.status == 0 && real.stdout.split(separator: "\n").count == 50, "\(real.stderr)")
    }

    @Test("a file-size limit mid-run: a clear error, non-zero exit, every acknowledged record intact")
    func fileTooLarge() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit") else {
            print("skipped: prlimit (util-linux) is not installed")
            return
        }
        let dir = scratch("jfull")
        defer { removeScratch(dir) }
        let run = dir + "/run"
        let r = try retrace(["journal", "append-test", run, "--sync", "fsync", "--records", "5000", "--preallocate", "no"], launcher: ["/usr/bin/prlimit", "--fsize=100000"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("00000000.wal") && r.stderr.contains("File too large"), "\(r.stderr)")
        let acknowledged = r.stdout.split(separator: "\n").compactMap { UInt64($0) }.max() ?? 0
        #expect(acknowledged > 1000)
        let inspect = try summary(try retrace(["journal", "inspect", run, "--json"]))
        #expect((inspect["last_sequence"] as? Int).map(UInt64.init) ?? 0 >= acknowledged)
        // Recovery continues the chain once space is available again.
        let resumed = try retrace(["journal", "append-test", run, "--records", "3"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try retrace(["journal", "verify", run]).status == 0)
    }

    @Test("tail follows another process's appends across segments; compact then verify")
    func tailAndCompact() throws {
        let dir = scratch("jtail")
        defer { removeScratch(dir) }
        let run = dir + "/run"
        let tail = Process()
        tail.executableURL = URL(fileURLWithPath: packageRoot + "/.build/debug/retrace")
        tail.arguments = ["journal", "tail", run, "--from", "start", "--count", "1500", "--json"]
        let out = Pipe()
        tail.standardOutput = out
        tail.standardError = FileHandle.nullDevice
        try tail.run()
        let writer = try retrace(["journal", "append-test", run, "--sync", "fsync", "--records", "1500", "--threads", "2", "--segment-bytes", "16K"])
        #expect(writer.status == 0)
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        tail.waitUntilExit()
        let lines = text.split(separator: "\n")
        #expect(lines.count == 1500)
        #expect(lines.first == "{\"sequence\":1,\"kind\":\"synthetic\",\"bytes\":48}")
        #expect(lines.last?.hasPrefix("{\"sequence\":1500,") == true)

        let compact = try retrace(["journal", "compact", run])
        #expect(compact.status == 0 && compact.stdout.contains("ratio"), "\(compact.stdout)\(compact.stderr)")
        let inspect = try summary(try retrace(["journal", "inspect", run, "--json"]))
        #expect(inspect["compressed_segments"] as? Int == inspect["segments"] as? Int)
        #expect(inspect["records"] as? Int == 1500)
        #expect(try retrace(["journal", "verify", run]).status == 0)
        let rest = try retrace(["journal", "tail", run, "--from", "1499", "--count", "2"])
        #expect(rest.stdout == "#1499 synthetic 48 bytes\n#1500 synthetic 48 bytes\n")
    }

    @Test("a backtest journals through the chosen sync mode and segment size; its journal verifies")
    func backtestJournal() throws {
        let dir = scratch("jbt")
        defer { removeScratch(dir) }
        let r = try retrace(["backtest", "--data", "Datasets/demo/quotes.csv", "--strategy", "ema-cross", "--out", dir + "/bt",
                             "--sync", "async", "--segment-bytes", "256K", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try JournalFormat.segmentIndexes(in: dir + "/bt/journal").count > 1)
        let v = try retrace(["journal", "verify", dir + "/bt"])
        #expect(v.status == 0 && v.stdout.contains("matches the manifest"), "\(v.stdout)\(v.stderr)")
    }

    @Test("a backtest keeps its inputs by reference to its data run: the outputs of a copy, a smaller journal; verify, diff and replay read through; without the data run they fail naming it; materialize makes a run that stands alone")
    func inputsByReference() throws {
        let dir = scratch("jref")
        defer { removeScratch(dir) }
        #expect(try retrace(["generate", "--out", dir + "/csv", "--seed", "4", "--quotes", "6000"]).status == 0)
        let imported = try retrace(["import", "quotes-csv", dir + "/csv/quotes.csv", "trades-csv:" + dir + "/csv/trades.csv", "--out", dir + "/data"])
        #expect(imported.status == 0, "\(imported.stderr)")
        let ref = try retrace(["backtest", "--data", dir + "/data", "--strategy", "ema-cross", "--out", dir + "/ref", "--json"])
        let copy = try retrace(["backtest", "--data", dir + "/data", "--strategy", "ema-cross", "--out", dir + "/copy", "--json", "--set", "journal.inputs=copy"])
        #expect(ref.status == 0 && copy.status == 0, "\(ref.stderr)\(copy.stderr)")
        let (fa, fb) = (try summary(ref)["fingerprint"] as? String, try summary(copy)["fingerprint"] as? String)
        #expect(fa != nil && fa == fb)
        func manifest(_ run: String) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/manifest.json"))) as? [String: Any])
        }
        let data = URL(fileURLWithPath: dir + "/data/journal").resolvingSymlinksInPath().path
        let (ma, mb) = (try manifest(dir + "/ref"), try manifest(dir + "/copy"))
        #expect(ma["inputs_referenced"] as? String == data)
        #expect(mb["inputs_referenced"] == nil)
        let a = try summary(try retrace(["journal", "inspect", dir + "/ref", "--json"]))
        let b = try summary(try retrace(["journal", "inspect", dir + "/copy", "--json"]))
        #expect(a["records"] as? Int == b["records"] as? Int && a["last_sequence"] as? Int == b["last_sequence"] as? Int)
        #expect((a["bytes"] as? Int ?? .max) * 3 < (b["bytes"] as? Int ?? 0), "\(a["bytes"] ?? "") against \(b["bytes"] ?? "") bytes")
        #expect((a["referenced_records"] as? Int ?? 0) > 6000 && b["referenced_records"] as? Int == 0)
        let verify = try retrace(["journal", "verify", dir + "/ref"])
        #expect(verify.status == 0 && verify.stdout.contains("inputs kept by reference") && verify.stdout.contains("matches the manifest"), "\(verify.stdout)\(verify.stderr)")
        let diff = try retrace(["diff", dir + "/ref", dir + "/copy"])
        #expect(diff.status == 0 && diff.stdout.hasPrefix("identical: "), "\(diff.stdout)\(diff.stderr)")
        let replay = try retrace(["replay", dir + "/ref", "--out", dir + "/replayed", "--json"])
        let replayed = try summary(replay)
        #expect(replay.status == 0 && replayed["matches"] as? Bool == true, "\(replay.stderr)")

        let materialized = try retrace(["journal", "materialize", dir + "/ref", "--out", dir + "/self"])
        #expect(materialized.status == 0 && materialized.stdout.contains("inputs copied from " + data), "\(materialized.stdout)\(materialized.stderr)")
        #expect(try retrace(["journal", "materialize", dir + "/ref", "--out", dir + "/self"]).status != 0, "an existing folder needs --force")

        try FileManager.default.moveItem(atPath: dir + "/data", toPath: dir + "/elsewhere")
        for args in [["journal", "verify", dir + "/ref"], ["replay", dir + "/ref", "--out", dir + "/again"], ["replay", dir + "/replayed", "--out", dir + "/again2"]] {
            let r = try retrace(args)
            #expect(r.status != 0 && r.stderr.contains(data) && r.stderr.contains("by reference"), "\(args[0]): \(r.stderr)")
        }
        // The copy and the materialized run stand alone, with the recorded fingerprint.
        #expect(try retrace(["replay", dir + "/copy", "--out", dir + "/again3"]).status == 0)
        let alone = try retrace(["journal", "verify", dir + "/self"])
        #expect(alone.status == 0 && alone.stdout.contains("matches the manifest") && !alone.stdout.contains("by reference"), "\(alone.stdout)\(alone.stderr)")
        let (ms, mc) = (try manifest(dir + "/self"), try manifest(dir + "/copy"))
        #expect(ms["inputs_referenced"] == nil && ms["fingerprint"] as? String == mc["fingerprint"] as? String)
        #expect(try retrace(["replay", dir + "/self", "--out", dir + "/again4"]).status == 0)
    }
}
