import Foundation
import RetraceCore
import RetraceEngine
import RetraceJournal
import Synchronization

enum JournalCommand {
    static let help = """
    usage: retrace journal verify RUN
           retrace journal inspect RUN [--json] [--limit N]
           retrace journal tail RUN [--from SEQ|start] [--count N] [--json] [--poll-ms N]
           retrace journal compact RUN [--level N]
           retrace journal rebuild-store RUN --out FILE
           retrace journal materialize RUN --out RUN2 [--force]
           retrace journal append-test RUN [--sync none|async|fsync] [--records N] [--record-bytes B]
                                       [--threads T] [--io auto|uring|posix] [--segment-bytes B]
                                       [--preallocate yes|no] [--async-ms N] [--async-bytes B]

      verify   reads every record of every segment (.wal or .wal.zst), checks each CRC, the
               sequence chain, segment headers and the encoding, every snapshot, and
               recomputes the fingerprint over the output events, which must match the
               manifest's. Exit 0 only if all of it holds; otherwise exit 1 naming the first
               bad segment, byte offset and sequence (a torn tail is reported as such).
               Inputs kept by reference (journal.inputs) are read from the journal they
               point to, which must be there, with the run id recorded, and intact
      inspect  segments, counts by event type, time span, sizes, first and last sequence,
               snapshots, inputs kept by reference (--json: records, first_sequence,
               last_sequence, segments, bytes, counts, torn_tail, referenced_records,
               sources, ...); --limit N also lists the first N records; exits 0
               when the only damage is a torn tail, and says so
      tail     follows a journal another process is writing and prints each record as it
               lands (--json: one object per line). Starts after the records already there
               (or at --from SEQ / start); stops after --count N records, or on Ctrl-C
      compact  compresses every sealed segment to NNNNNNNN.wal.zst (zstd, default level 1)
               and reports the ratio; readers open either form
      rebuild-store  projects the journal into a new SQLite store at FILE
      materialize    writes RUN2, a self-contained copy of RUN: inputs kept by reference are
                     copied into its journal (same run id, sequence numbers, snapshots, store
                     and fingerprint), so RUN2 reads back without the data it was made from
      append-test    appends N synthetic records of B bytes each on disk (frame included;
                     default 64) to RUN, creating it as a run folder or recovering it first,
                     and prints each sequence number on stdout the moment its commit is
                     acknowledged (durable in fsync mode); --threads T appends from T threads
                     that share group commits; --async-ms / --async-bytes set how often
                     async mode syncs (default 10 ms or 1MiB, whichever comes first)
    """

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["limit", "out", "sync", "records", "record-bytes", "threads", "io", "segment-bytes", "preallocate",
                                             "from", "count", "poll-ms", "level", "async-ms", "async-bytes"], flags: ["json", "force"])
        if a.has("help") { Output.out(help); return 0 }
        let commands = ["verify", "inspect", "tail", "compact", "rebuild-store", "materialize", "append-test"]
        guard a.positionals.count == 2, commands.contains(a.positionals[0]) else {
            throw UsageError("expected \(commands.joined(separator: "|")) RUN")
        }
        let run = a.positionals[1]
        switch a.positionals[0] {
        case "append-test": return try appendTest(run, a)
        case "tail": return try tail(run, a)
        case "compact": return try compact(run, a)
        case "materialize": return try materialize(run, a)
        case "rebuild-store":
            let out = try a.require("out")
            let r = try StoreRebuild.rebuild(run: run, into: out)
            Output.out("rebuilt \(out) from \(r.events) journal events (\(r.outputs) outputs), fingerprint \(r.fingerprint)")
            return 0
        default: return try scan(run, a, inspecting: a.positionals[0] == "inspect")
        }
    }

    /// `materialize`: RUN's journal read through its references and written with copies
    /// under the same run id and sequence numbers; the manifest, snapshots and store are
    /// copied. Built in a staging folder and moved into place.
    static func materialize(_ run: String, _ a: Arguments) throws -> Int32 {
        let out = try a.require("out")
        var manifest = try RunFolder.readManifest(run)
        let reader = try JournalReader(directory: RunFolder.journalPath(run))
        let folder = try RunFolder(path: out, replace: a.has("force"))
        do {
            let journal = RunFolder.journalPath(folder.stagingPath)
            let writer = try JournalWriter(directory: journal, runID: reader.runID, options: JournalOptions(syncMode: .none), firstSequence: reader.firstSequence)
            var records = 0
            while let record = try reader.next() {
                let sequence = try writer.append(encoded: record.payload)
                guard sequence == record.sequence else {
                    throw EngineError(.journal, "\(reader.path): record \(record.sequence) would be written as \(sequence); the journal's sequence numbers do not follow each other")
                }
                records += 1
            }
            if let torn = reader.tornTail { throw EngineError(.journal, "\(run): journal ends in a \(torn); verify or recover it first") }
            try writer.finish()
            let fm = FileManager.default
            let snapshots = RunFolder.journalPath(run) + "/snapshots"
            if fm.fileExists(atPath: snapshots) { try fm.copyItem(atPath: snapshots, toPath: journal + "/snapshots") }
            // The database and its write-ahead log; SQLite rebuilds the shared-memory index on open.
            for suffix in ["", "-wal"] where fm.fileExists(atPath: RunFolder.storePath(run) + suffix) {
                try fm.copyItem(atPath: RunFolder.storePath(run) + suffix, toPath: RunFolder.storePath(folder.stagingPath) + suffix)
            }
            let source = manifest.inputsReferenced
            manifest.inputsReferenced = nil
            try folder.write(manifest)
            try folder.commit()
            let copied = source.map { " (\(reader.referencedRecords) inputs copied from \($0))" } ?? " (no inputs were kept by reference)"
            Output.out("\(folder.path): \(records) records\(copied), fingerprint \(manifest.fingerprint)")
            return 0
        } catch {
            folder.discard()
            throw error
        }
    }

    /// What a scan of the whole journal found.
    struct Scan {
        var counts = [Int](repeating: 0, count: 256)
        var synthetic = 0
        var records = 0
        var firstTime = Timestamp.max, lastTime = Timestamp(nanos: Int64.min)
        var fingerprint = RunFingerprint()
    }

    static func scan(_ run: String, _ a: Arguments, inspecting: Bool) throws -> Int32 {
        let directory = RunFolder.journalPath(run)
        let reader = try JournalReader(directory: directory)
        let limit = Int(a.value("limit") ?? "") ?? 0
        var s = Scan()
        while let record = try reader.next() {
            s.records += 1
            if SyntheticRecord.matches(record.payload) {
                guard SyntheticRecord.isIntact(record.payload) else {
                    throw EngineError(.journal, "\(reader.path) at byte \(record.offset): synthetic record \(record.sequence) does not hold its pattern")
                }
                s.synthetic += 1
                if inspecting && s.records <= limit { Output.out("#\(record.sequence) @\(record.offset) synthetic \(record.payload.count) bytes") }
                continue
            }
            let event: Event
            do { event = try EventCodec.decode(record.payload, sequence: record.sequence) } catch {
                throw EngineError(.journal, "\(reader.path) at byte \(record.offset): \(error.message)")
            }
            if event.body.kind.isOutput { s.fingerprint.add(encoded: record.payload) }
            s.counts[Int(event.body.kind.rawValue)] += 1
            if event.body.kind != .sessionStarted && event.body.kind != .sessionEnded {
                s.firstTime = min(s.firstTime, event.receiveTime)
                s.lastTime = max(s.lastTime, event.receiveTime)
            }
            if inspecting && s.records <= limit {
                Output.out("#\(record.sequence) @\(record.offset) \(event.body.kind.name) event=\(event.eventTime) receive=\(event.receiveTime)")
            }
        }
        let files = reader.segmentFileBytes()
        let totalBytes = files.reduce(0) { $0 + $1.bytes }
        let snapshots = SnapshotStore(journalDirectory: directory, runID: reader.runID)
        let snapshotList = snapshots.list()
        let first = s.records > 0 ? reader.lastSequence - UInt64(s.records) + 1 : 0
        let last = s.records > 0 ? reader.lastSequence : 0
        if inspecting && a.has("json") {
            var o = JSONObject()
            o.add("records", s.records)
            o.add("first_sequence", first)
            o.add("last_sequence", last)
            o.add("segments", files.count)
            o.add("bytes", totalBytes)
            o.add("compressed_segments", files.filter(\.compressed).count)
            o.add("first_time", s.records > s.synthetic && s.firstTime <= s.lastTime ? s.firstTime.iso8601 : "")
            o.add("last_time", s.records > s.synthetic && s.firstTime <= s.lastTime ? s.lastTime.iso8601 : "")
            o.add("torn_tail", raw: reader.tornTail.map { "{\"segment\":\"\(jsonEscape($0.segment))\",\"offset\":\($0.offset),\"bytes\":\($0.bytes),\"after_sequence\":\($0.lastSequence)}" } ?? "null")
            var kinds = EventKind.allCases.filter { s.counts[Int($0.rawValue)] > 0 }.map { "\"\($0.name)\":\(s.counts[Int($0.rawValue)])" }
            if s.synthetic > 0 { kinds.append("\"synthetic\":\(s.synthetic)") }
            o.add("counts", raw: "{" + kinds.joined(separator: ",") + "}")
            o.add("snapshots", snapshotList.count)
            o.add("referenced_records", reader.referencedRecords)
            o.add("sources", raw: "[" + reader.sources.map { "\"\(jsonEscape($0.path))\"" }.joined(separator: ",") + "]")
            o.add("segment_files", raw: "[" + files.map { "{\"file\":\"\(jsonEscape(($0.path as NSString).lastPathComponent))\",\"bytes\":\($0.bytes)}" }.joined(separator: ",") + "]")
            Output.out(o.text)
        } else {
            let verdict = inspecting ? "" : ", all CRCs valid"
            Output.out("\(directory): \(s.records) records, sequences \(first)...\(last), \(files.count) segment(s), \(totalBytes) bytes\(verdict)")
            if inspecting {
                for f in files { Output.out("  \((f.path as NSString).lastPathComponent)  \(f.bytes) bytes") }
            }
            if s.records > s.synthetic && s.firstTime <= s.lastTime { Output.out("  time span \(s.firstTime) … \(s.lastTime)") }
            for k in EventKind.allCases where s.counts[Int(k.rawValue)] > 0 { Output.out("  \(k.name): \(s.counts[Int(k.rawValue)])") }
            if s.synthetic > 0 { Output.out("  synthetic: \(s.synthetic)") }
            if !reader.sources.isEmpty {
                let verified = inspecting ? "" : ", read there with their CRCs checked"
                Output.out("  inputs kept by reference: \(reader.referencedRecords) records of \(reader.sources.map(\.path).joined(separator: ", "))\(verified)")
            }
            if !snapshotList.isEmpty { Output.out("  snapshots: \(snapshotList.count) (latest at sequence \(snapshotList.last!.sequence))") }
        }
        if let torn = reader.tornTail {
            // inspect describes the journal (a torn tail is expected after a crash); verify demands it be whole.
            Output.err(inspecting ? "note: \(torn); the records before it are intact" : "error: \(torn)")
            return inspecting ? 0 : 1
        }
        if inspecting { return 0 }
        for info in snapshotList {
            _ = try snapshots.load(info)
        }
        if !snapshotList.isEmpty { Output.out("  \(snapshotList.count) snapshot(s) verified") }
        let manifestPath = RunFolder.manifestPath(run)
        let manifest = FileManager.default.fileExists(atPath: manifestPath) ? try RunFolder.readManifest(run) : nil
        if let manifest, !manifest.fingerprint.isEmpty {  // data runs have no fingerprint
            guard s.fingerprint.hex == manifest.fingerprint else {
                throw EngineError(.journal, "fingerprint mismatch: journal outputs hash to \(s.fingerprint.hex), manifest says \(manifest.fingerprint)")
            }
            Output.out("  fingerprint \(s.fingerprint.hex) over \(s.fingerprint.count) outputs matches the manifest")
        }
        return 0
    }

    static func compact(_ run: String, _ a: Arguments) throws -> Int32 {
        guard let level = Int32(a.value("level") ?? "1"), (1...19).contains(level) else { throw UsageError("--level must be 1…19") }
        let report = try JournalCompactor.compact(directory: RunFolder.journalPath(run), level: level)
        for seg in report.segments {
            Output.out("\(JournalFormat.compressedSegmentName(seg.number)): \(seg.bytesIn) → \(seg.bytesOut) bytes (\(String(format: "%.2f", Double(seg.bytesIn) / Double(max(seg.bytesOut, 1))))×)")
        }
        for skip in report.skipped { Output.err("skipped \(JournalFormat.segmentName(skip.number)): \(skip.reason)") }
        if report.segments.isEmpty {
            Output.out("nothing to compact")
        } else {
            Output.out("compacted \(report.segments.count) segment(s): \(report.bytesIn) → \(report.bytesOut) bytes, ratio \(String(format: "%.2f", report.ratio))")
        }
        return 0
    }

    static func tail(_ run: String, _ a: Arguments) throws -> Int32 {
        let directory = RunFolder.journalPath(run)
        let from: UInt64?
        switch a.value("from") {
        case nil: from = nil
        case "start": from = 1
        case let text?:
            guard let n = UInt64(text), n > 0 else { throw UsageError("--from must be a sequence number ≥ 1 or 'start'") }
            from = n
        }
        let count = try a.value("count").map { (text: String) throws(UsageError) -> Int in
            guard let n = Int(text), n > 0 else { throw UsageError("--count must be a positive integer") }
            return n
        }
        guard let pollMillis = Int(a.value("poll-ms") ?? "5"), pollMillis > 0 else { throw UsageError("--poll-ms must be a positive integer") }
        var tailer: JournalTailer?
        var said = false
        while tailer == nil {
            do { tailer = try JournalTailer(directory: directory, from: from) } catch {
                // Not there yet, or its first segment is still being created: wait for it.
                guard error.code == .notFound || error.code == .badHeader else { throw error }
                if !said { Output.err("waiting for \(directory) (\(error.code == .notFound ? "not there yet" : error.message))…"); said = true }
                usleep(UInt32(pollMillis * 1000))
            }
        }
        let json = a.has("json")
        var printed = 0
        var line = [UInt8]()
        while count.map({ printed < $0 }) ?? true {
            let n = try tailer!.poll { record in
                if let count, printed >= count { return }
                line.removeAll(keepingCapacity: true)
                line += Array(describe(record, json: json).utf8)
                line.append(10)
                line.withUnsafeBytes { b in _ = Glibc.write(1, b.baseAddress, b.count) }
                printed += 1
            }
            if n == 0 { usleep(UInt32(pollMillis * 1000)) }
        }
        return 0
    }

    static func describe(_ record: JournalRecord, json: Bool) -> String {
        if SyntheticRecord.matches(record.payload) {
            return json ? "{\"sequence\":\(record.sequence),\"kind\":\"synthetic\",\"bytes\":\(record.payload.count)}"
                : "#\(record.sequence) synthetic \(record.payload.count) bytes"
        }
        guard let event = try? EventCodec.decode(record.payload, sequence: record.sequence) else {
            return json ? "{\"sequence\":\(record.sequence),\"kind\":\"undecodable\",\"bytes\":\(record.payload.count)}"
                : "#\(record.sequence) undecodable \(record.payload.count) bytes"
        }
        if json {
            return "{\"sequence\":\(record.sequence),\"kind\":\"\(event.body.kind.name)\",\"event_time\":\"\(event.eventTime.iso8601)\",\"receive_time\":\"\(event.receiveTime.iso8601)\"}"
        }
        return "#\(record.sequence) \(event.body.kind.name) event=\(event.eventTime) receive=\(event.receiveTime)"
    }

    /// Parses a byte count: digits with an optional K, M, G (or KiB, MiB, GiB) suffix, powers of 1024.
    static func byteCount(_ text: String, _ option: String) throws(UsageError) -> Int {
        let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("", 1)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let n = Int(text.dropLast(suffix.count)), n >= 0 { return n * scale }
        }
        throw UsageError("--\(option) must be a byte count such as 4096, 64K or 64MiB, got '\(text)'")
    }

    /// Appends synthetic records, acknowledging each on stdout after its commit.
    static func appendTest(_ run: String, _ a: Arguments) throws -> Int32 {
        guard let sync = SyncMode(rawValue: a.value("sync") ?? "fsync") else { throw UsageError("--sync must be none, async or fsync") }
        guard let count = Int(a.value("records") ?? "1000"), count >= 0 else { throw UsageError("--records must be a non-negative integer") }
        let recordBytes = try byteCount(a.value("record-bytes") ?? "64", "record-bytes")
        guard recordBytes % 8 == 0, recordBytes >= JournalFormat.frameSize + SyntheticRecord.minimumBytes, recordBytes <= JournalFormat.frameSize + JournalFormat.payloadMax else {
            throw UsageError("--record-bytes must be a multiple of 8 from \(JournalFormat.frameSize + SyntheticRecord.minimumBytes) to \(JournalFormat.frameSize + JournalFormat.payloadMax)")
        }
        guard let threads = Int(a.value("threads") ?? "1"), (1...64).contains(threads) else { throw UsageError("--threads must be 1…64") }
        let options = try journalOptions(a, sync: sync)
        let journalPath = RunFolder.journalPath(run)
        let writer: JournalWriter
        if (try? JournalFormat.segmentIndexes(in: journalPath)) != nil {
            let (w, recovery) = try JournalWriter.reopen(directory: journalPath, options: options)
            if let torn = recovery.tornTail { Output.err("recovered: \(torn); truncated") }
            if let removed = recovery.removedSegment { Output.err("recovered: removed \(removed), a segment created without a header") }
            writer = w
        } else {
            try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
            let (id, text) = RunFolder.newRunID(for: run)
            var m = RunManifest(runID: text, mode: "append-test", status: "completed", codeVersion: retraceVersion, startedAt: RunFolder.wallClockNow())
            m.syncMode = sync.rawValue
            try RunFolder.writeManifest(m, to: run)
            writer = try JournalWriter(directory: journalPath, runID: id, options: options)
        }
        let payload = SyntheticRecord.payload(bytes: recordBytes - JournalFormat.frameSize)
        let durable = sync == .fsync
        let commit: @Sendable (UInt64) throws -> Void = { ticket in
            if durable { try writer.waitDurable(ticket) } else { try writer.commit() }
        }
        try appendConcurrently(writer, payload, records: count, threads: threads, batch: 1, commit: commit) { sequence, _ in
            // One write(2) per line: lines from several threads never interleave.
            let line = Array((String(sequence) + "\n").utf8)
            line.withUnsafeBytes { b in _ = Glibc.write(1, b.baseAddress, b.count) }
        }
        try writer.finish()
        return 0
    }

    /// Appends `records` copies of `payload` from `threads` threads. After every `batch`
    /// appends a thread calls `commit` with its last ticket, then `acknowledged` with that
    /// ticket and the instant its batch began; with no `commit` nothing is awaited.
    static func appendConcurrently(_ w: JournalWriter, _ payload: [UInt8], records: Int, threads: Int, batch: Int,
                                   commit: (@Sendable (UInt64) throws -> Void)?, acknowledged: (@Sendable (UInt64, ContinuousClock.Instant) -> Void)? = nil) throws {
        let failure = Mutex<(any Error)?>(nil)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let share = records / threads + (t < records % threads ? 1 : 0)
            payload.withUnsafeBytes { p in
                do {
                    var done = 0
                    while done < share {
                        let start = ContinuousClock.now
                        let k = min(batch, share - done)
                        var ticket: UInt64 = 0
                        for _ in 0..<k { ticket = try w.append(encoded: p) }
                        done += k
                        if let commit {
                            try commit(ticket)
                            acknowledged?(ticket, start)
                        }
                    }
                } catch {
                    failure.withLock { if $0 == nil { $0 = error } }
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// Journal options from `--io`, `--segment-bytes`, `--preallocate`, `--async-ms` and
    /// `--async-bytes`, each over `base` (the defaults, or a config's journal section).
    static func journalOptions(_ a: Arguments, sync: SyncMode, base: JournalOptions = JournalOptions()) throws(UsageError) -> JournalOptions {
        var j = base
        j.syncMode = sync
        if let v = a.value("io") {
            guard let io = IOChoice(rawValue: v) else { throw UsageError("--io must be auto, uring or posix") }
            j.io = io
        }
        if let v = a.value("segment-bytes") {
            j.segmentBytes = try byteCount(v, "segment-bytes")
            guard j.segmentBytes >= 4096 else { throw UsageError("--segment-bytes must be at least 4096") }
        }
        switch a.value("preallocate") {
        case nil: break
        case "yes": j.preallocateChoice = true
        case "no": j.preallocateChoice = false
        default: throw UsageError("--preallocate must be yes or no")
        }
        if let v = a.value("async-ms") {
            guard let ms = Int(v), ms > 0 else { throw UsageError("--async-ms must be a positive integer") }
            j.asyncIntervalMillis = ms
        }
        if let v = a.value("async-bytes") {
            j.asyncBytes = try byteCount(v, "async-bytes")
            guard j.asyncBytes > 0 else { throw UsageError("--async-bytes must be positive") }
        }
        return j
    }
}
