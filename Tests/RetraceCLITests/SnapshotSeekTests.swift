import Foundation
import RetraceCore
import RetraceJournal
import Testing

/// `retrace replay --from` over real data starts from the recorded run's newest engine
/// snapshot before the window, and records exactly what a replay fast-forwarded from the
/// first input records (`--no-snapshots`), which is what the whole run recorded after the
/// same inputs: LOBSTER order-level data (L3 book, our queue positions) and Binance L2
/// depth with trades (de-duplicated), each with a strategy that trades on it.
@Suite("Replay windows from engine snapshots")
struct SnapshotSeekTests {
    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var strategy: [String]
        var every: Int
        var description: String { name }
    }

    static let cases = [
        Case(name: "lobster", strategy: ["--strategy", "market-maker", "--param", "refresh=2s", "--param", "requote_ticks=3", "--param", "entry_latency=200us",
                                         "--param", "ack_latency=100us", "--until", "2012-06-21T14:00:00Z"], every: 1_000),
        Case(name: "binance", strategy: ["--strategy", "market-maker", "--param", "size=0.01", "--param", "spread_bps=1", "--param", "refresh=500ms",
                                         "--param", "entry_latency=normal:2ms:500us", "--until", "2024-08-08T23:54:45Z"], every: 3_000),
    ]

    /// The imported data of a case (nil with a message when the shared data is absent).
    static func data(_ name: String, _ dir: String) throws -> String? {
        let out = dir + "/data"
        let r: CommandResult
        if name == "lobster" {
            let d = sharedDatasets + "/lobster/GOOG_2012-06-21_34200000_57600000_"
            guard sharedFilePresent(d + "message_1.csv.gz") else { return nil }
            r = try retrace(["import", "lobster", d + "message_1.csv.gz", d + "orderbook_1.csv.gz", "--levels", "1", "--out", out])
        } else {
            let d = sharedDatasets + "/crypto/binance_usdm_btcusdt_20240808"
            guard sharedFilePresent(d + "_depth_updates.csv.gz") else { return nil }
            r = try retrace(["import", "l2-csv", "--snapshot", d + "_depth_snapshot.csv.gz", "--updates", d + "_depth_updates.csv.gz",
                             "--trades", d + "_trades.csv.gz", "--out", out])
        }
        #expect(r.status == 0, "\(name) import: \(r.stderr)")
        return out
    }

    @Test("windows at three depths: from the nearest snapshot ≡ fast-forwarded from the first input ≡ the whole run's stretch", arguments: cases)
    func windows(_ c: Case) throws {
        let dir = scratch("snapshot-seek-\(c.name)")
        defer { removeScratch(dir) }
        guard let data = try Self.data(c.name, dir) else { return }
        let b = try retrace(["backtest", "--data", data] + c.strategy + ["--set", "engine.snapshot_every=\(c.every)", "--out", dir + "/orig", "--json"])
        try #require(b.status == 0, "\(b.stderr)")
        let run = try summary(b)
        #expect((run["orders"] as? Int ?? 0) > 20, "\(c.name): the strategy trades")
        let snapshots = SnapshotStore(journalDirectory: dir + "/orig/journal", runID: try JournalReader(directory: dir + "/orig/journal").runID).list()
        #expect(snapshots.count >= 3, "\(c.name): \(snapshots.count) snapshots")
        let full = try ReplayTests.groups(dir + "/orig")
        let inputs = try Self.inputSequences(dir + "/orig")
        #expect(inputs.count == full.count)
        for (k, fraction) in [0.3, 0.55, 0.85].enumerated() {
            var start = Int(Double(inputs.count) * fraction)
            // A time bound starts at the first input received at that time.
            if k == 1 { while inputs[start - 1].time == inputs[start].time { start -= 1 } }
            let end = min(inputs.count - 1, start + 400)
            // The middle window is given as a time, the others as sequences.
            let from = k == 1 ? inputs[start].time.iso8601 : "\(inputs[start].sequence)"
            let window = ["--from", from, "--until", "\(inputs[end].sequence)"]
            let (rs, seek) = try replay([dir + "/orig", "--out", dir + "/seek-\(k)"] + window)
            try #require(rs.status == 0, "\(rs.stderr)")
            let (rf, forward) = try replay([dir + "/orig", "--out", dir + "/ff-\(k)", "--no-snapshots"] + window)
            try #require(rf.status == 0, "\(rf.stderr)")
            let used = try #require(seek["seek_snapshot"] as? Int, "\(c.name) window \(k) started from a snapshot: \(rs.stdout)")
            #expect(UInt64(used) < inputs[start].sequence && snapshots.contains { $0.sequence == UInt64(used) })
            // The newest snapshot before the window: fewer than one interval fast-forwarded.
            #expect((seek["seek_events"] as? Int ?? .max) <= c.every, "\(c.name) window \(k)")
            #expect(forward["seek_snapshot"] == nil && (forward["seek_events"] as? Int ?? 0) > c.every)
            #expect(seek["fingerprint"] as? String == forward["fingerprint"] as? String, "\(c.name) window \(k): same fingerprint either way")
            // Input for input, the window recorded what the whole run recorded after the same inputs.
            let a = try ReplayTests.groups(dir + "/seek-\(k)").filter { $0.input[1] != EventKind.instrumentDefined.rawValue }
            let f = try ReplayTests.groups(dir + "/ff-\(k)").filter { $0.input[1] != EventKind.instrumentDefined.rawValue }
            let sameAsForward = a.map(\.input) == f.map(\.input) && a.map(\.outputs) == f.map(\.outputs)
            #expect(sameAsForward, "\(c.name) window \(k): snapshot and fast-forward journals")
            #expect(a.count == end - start + 1, "\(c.name) window \(k): \(a.count) inputs")
            let first = start
            var same = true
            for (i, g) in a.dropLast().enumerated() where g.input != full[first + i].input || g.outputs != full[first + i].outputs { same = false }
            #expect(same, "\(c.name) window \(k): the whole run's stretch")
        }
        // A what-if cannot use snapshots taken under the recorded parameters: it says so and
        // fast-forwards.
        let (rw, whatIf) = try replay([dir + "/orig", "--out", dir + "/what-if", "--param", "spread_bps=7", "--from", "\(inputs[inputs.count / 2].sequence)"])
        #expect(rw.status == 0, "\(rw.stderr)")
        #expect(whatIf["seek_snapshot"] == nil)
        #expect((whatIf["seek_note"] as? String ?? "").contains("another strategy, parameters or seed"), "\(rw.stdout)")
    }

    @Test("a damaged snapshot is passed over (and named); the window still starts from an older one and records the same")
    func damaged() throws {
        let (dir, orig) = try #require(ReplayTests.recorded, "recording the run failed")
        // The shared market-maker run over generated quotes: snapshots every 200 inputs.
        let b = try retrace(["backtest", "--data", dir + "/data/quotes.csv", "--strategy", "market-maker", "--param", "refresh=250ms", "--param", "spread_bps=1",
                             "--set", "engine.snapshot_every=200", "--out", dir + "/snap-orig", "--json"])
        try #require(b.status == 0, "\(b.stderr)")
        #expect(try summary(b)["fingerprint"] as? String == (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: orig + "/manifest.json"))) as? [String: Any])?["fingerprint"] as? String,
                "snapshots change nothing the run records")
        let inputs = try Self.inputSequences(dir + "/snap-orig")
        let from = inputs[1_000].sequence
        let reader = try JournalReader(directory: dir + "/snap-orig/journal")
        let list = SnapshotStore(journalDirectory: dir + "/snap-orig/journal", runID: reader.runID).list().filter { $0.sequence < from }
        let newest = try #require(list.last)
        // Flip one state byte of the newest snapshot before the window.
        let handle = try #require(FileHandle(forUpdatingAtPath: newest.path))
        try handle.seek(toOffset: UInt64(newest.bytes - 3))
        let byte = try #require(try handle.read(upToCount: 1)).first!
        try handle.seek(toOffset: UInt64(newest.bytes - 3))
        handle.write(Data([byte ^ 0x40]))
        try handle.close()
        let window = ["--from", "\(from)", "--until", "\(inputs[1_100].sequence)"]
        let (r, s) = try replay([dir + "/snap-orig", "--out", dir + "/snap-damaged"] + window)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s["seek_snapshot"] as? Int == Int(list[list.count - 2].sequence), "the one before the damaged snapshot")
        let note = s["seek_note"] as? String ?? ""
        #expect(note.contains(newest.path) && note.contains("CRC"), "the damaged snapshot is named: \(r.stdout)")
        let (rf, f) = try replay([dir + "/snap-orig", "--out", dir + "/snap-ff", "--no-snapshots"] + window)
        #expect(rf.status == 0)
        #expect(s["fingerprint"] as? String == f["fingerprint"] as? String)
    }

    func replay(_ args: [String]) throws -> (CommandResult, [String: Any]) {
        let r = try retrace(["replay"] + args + ["--json"])
        return (r, r.status == 0 ? ((try? summary(r)) ?? [:]) : [:])
    }

    /// The recorded inputs (not session markers or definitions): journal sequence and receive time.
    static func inputSequences(_ run: String) throws -> [(sequence: UInt64, time: Timestamp)] {
        let reader = try JournalReader(directory: run + "/journal")
        var out: [(sequence: UInt64, time: Timestamp)] = []
        while let (r, e) = try reader.nextEvent() {
            let kind = e.body.kind
            guard !kind.isOutput, kind != .sessionStarted, kind != .sessionEnded else { continue }
            out.append((r.sequence, e.receiveTime))
        }
        return out
    }
}
