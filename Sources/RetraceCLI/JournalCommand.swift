import Foundation
import RetraceCore
import RetraceEngine
import RetraceJournal

enum JournalCommand {
    static let help = """
    usage: retrace journal verify RUN
           retrace journal inspect RUN [--json] [--limit N]
           retrace journal rebuild-store RUN --out FILE
           retrace journal append-test RUN --sync none|fsync --records N

      verify   reads every record, checks each CRC, the sequence chain and the encoding;
               reports a torn tail (byte offset) and exits 1 on corruption
               and recomputes the fingerprint over the output events, which must
               match the manifest's
      inspect  counts by event type, time span, size, first and last sequence (--json:
               records, first_sequence, last_sequence, bytes, counts, torn_tail); --limit N
               also lists the first N records; exits 0 when the only damage is a torn tail
      rebuild-store  projects the journal into a new SQLite store at FILE
      append-test    appends N synthetic records (TimerFired) to RUN, creating it as a run
                     folder or recovering it first, and prints each sequence number on
                     stdout the moment its commit is acknowledged (durable in fsync mode)
    """

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["limit", "out", "sync", "records"], flags: ["json"])
        if a.has("help") { Output.out(help); return 0 }
        guard a.positionals.count == 2, ["verify", "inspect", "rebuild-store", "append-test"].contains(a.positionals[0]) else {
            throw UsageError("expected verify|inspect|rebuild-store|append-test RUN")
        }
        if a.positionals[0] == "append-test" { return try appendTest(a.positionals[1], a) }
        if a.positionals[0] == "rebuild-store" {
            let out = try a.require("out")
            let r = try StoreRebuild.rebuild(run: a.positionals[1], into: out)
            Output.out("rebuilt \(out) from \(r.events) journal events (\(r.outputs) outputs), fingerprint \(r.fingerprint)")
            return 0
        }
        let reader = try JournalReader(directory: a.positionals[1] + "/journal")
        let limit = Int(a.value("limit") ?? "") ?? 0
        var counts = [Int](repeating: 0, count: 256)
        var total = 0
        var firstTime = Timestamp.max, lastTime = Timestamp(nanos: Int64.min)
        let inspecting = a.positionals[0] == "inspect"
        var fingerprint = RunFingerprint()
        while let (record, event) = try reader.nextEvent() {
            if event.body.kind.isOutput { fingerprint.add(encoded: record.payload) }
            counts[Int(event.body.kind.rawValue)] += 1
            total += 1
            if event.body.kind != .sessionStarted && event.body.kind != .sessionEnded {
                firstTime = min(firstTime, event.receiveTime)
                lastTime = max(lastTime, event.receiveTime)
            }
            if inspecting && total <= limit {
                Output.out("#\(record.sequence) @\(record.offset) \(event.body.kind.name) event=\(event.eventTime) receive=\(event.receiveTime)")
            }
        }
        let first = total > 0 ? reader.firstSequence : 0
        if inspecting && a.has("json") {
            var o = JSONObject()
            o.add("segments", 1)
            o.add("records", total)
            o.add("first_sequence", first)
            o.add("last_sequence", total > 0 ? reader.lastSequence : 0)
            o.add("bytes", reader.fileBytes)
            o.add("first_time", total > 0 ? firstTime.iso8601 : "")
            o.add("last_time", total > 0 ? lastTime.iso8601 : "")
            o.add("torn_tail", raw: reader.tornTail.map { "{\"offset\":\($0.offset),\"bytes\":\($0.bytes),\"after_sequence\":\($0.lastSequence)}" } ?? "null")
            let kinds = EventKind.allCases.filter { counts[Int($0.rawValue)] > 0 }.map { "\"\($0.name)\":\(counts[Int($0.rawValue)])" }
            o.add("counts", raw: "{" + kinds.joined(separator: ",") + "}")
            Output.out(o.text)
        } else {
            let verdict = inspecting ? "" : ", all CRCs valid"
            Output.out("\(reader.path): \(total) records, sequences \(first)...\(total > 0 ? reader.lastSequence : 0), \(reader.fileBytes) bytes\(verdict)")
            if total > 0 && firstTime <= lastTime { Output.out("  time span \(firstTime) … \(lastTime)") }
            for k in EventKind.allCases where counts[Int(k.rawValue)] > 0 { Output.out("  \(k.name): \(counts[Int(k.rawValue)])") }
        }
        if let torn = reader.tornTail {
            // inspect describes the journal (a torn tail is expected after a crash); verify demands it be whole.
            Output.err(inspecting ? "note: \(torn); the records before it are intact" : "error: \(torn)")
            return inspecting ? 0 : 1
        }
        let manifestPath = RunFolder.manifestPath(a.positionals[1])
        let manifest = FileManager.default.fileExists(atPath: manifestPath) ? try RunFolder.readManifest(a.positionals[1]) : nil
        if a.positionals[0] == "verify", let manifest, !manifest.fingerprint.isEmpty {  // data runs have no fingerprint
            guard fingerprint.hex == manifest.fingerprint else {
                throw EngineError(.journal, "fingerprint mismatch: journal outputs hash to \(fingerprint.hex), manifest says \(manifest.fingerprint)")
            }
            Output.out("  fingerprint \(fingerprint.hex) over \(fingerprint.count) outputs matches the manifest")
        }
        return 0
    }

    /// Appends synthetic records, acknowledging each on stdout after its commit.
    static func appendTest(_ run: String, _ a: Arguments) throws -> Int32 {
        guard let sync = SyncMode(rawValue: a.value("sync") ?? "fsync") else { throw UsageError("--sync must be none or fsync") }
        guard let count = Int(a.value("records") ?? "1000"), count >= 0 else { throw UsageError("--records must be a non-negative integer") }
        let journalPath = RunFolder.journalPath(run)
        let writer: JournalWriter
        if FileManager.default.fileExists(atPath: journalPath + "/" + JournalFormat.segmentName(0)) {
            let (w, torn) = try JournalWriter.reopen(directory: journalPath, syncMode: sync)
            if let torn { Output.err("recovered: \(torn); truncated") }
            writer = w
        } else {
            try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
            let (id, text) = RunFolder.newRunID(for: run)
            var m = RunManifest(runID: text, mode: "append-test", status: "completed", codeVersion: retraceVersion, startedAt: RunFolder.wallClockNow())
            m.syncMode = sync.rawValue
            try RunFolder.writeManifest(m, to: run)
            writer = try JournalWriter(directory: journalPath, runID: id, syncMode: sync)
        }
        let out = FileHandle.standardOutput
        for _ in 0..<count {
            let sequence = try writer.append(Event(eventTime: .zero, receiveTime: .zero, body: .timerFired(TimerFired(timerID: writer.nextSequence))))
            try writer.commit()
            out.write(Data("\(sequence)\n".utf8))
        }
        return 0
    }
}
