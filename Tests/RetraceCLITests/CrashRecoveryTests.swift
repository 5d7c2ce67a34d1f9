import Foundation
import Testing
@testable import RetraceCore
@testable import RetraceJournal

/// Kills a child appending in fsync mode at random moments; every sequence it acknowledged
/// must be in the journal after recovery, intact, with nothing after the last valid record.
@Suite("Crash recovery (SIGKILL)")
struct CrashRecoveryTests {
    static var iterations: Int { ProcessInfo.processInfo.environment["RETRACE_SOAK"] == "1" ? 1_000 : 100 }

    @Test("acknowledged fsync commits survive SIGKILL at random moments")
    func sigkill() throws {
        let dir = scratch("crash")
        defer { removeScratch(dir) }
        let run = dir + "/run"
        let seed: UInt64 = 20_261_121
        var rng = SplitMix64(seed: seed)
        var acknowledged: UInt64 = 0
        for iteration in 0..<CrashRecoveryTests.iterations {
            let target = 1 + Int(rng.next(modulo: 40))
            let extraMicros = UInt32(rng.next(modulo: 400))
            let p = Process()
            p.executableURL = URL(fileURLWithPath: packageRoot + "/.build/debug/retrace")
            // Small segments so kills also land during rotation; every other child appends
            // from three threads sharing group commits.
            p.arguments = ["journal", "append-test", run, "--sync", "fsync", "--records", "1000000", "--segment-bytes", "16K",
                           "--threads", iteration % 2 == 0 ? "1" : "3", "--record-bytes", iteration % 3 == 0 ? "200" : "64"]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            var pending = ""
            var seen = 0
            while seen < target {
                let data = out.fileHandleForReading.availableData
                if data.isEmpty { break }
                pending += String(decoding: data, as: UTF8.self)
                while let newline = pending.firstIndex(of: "\n") {
                    if let s = UInt64(pending[..<newline]) { acknowledged = max(acknowledged, s); seen += 1 }
                    pending = String(pending[pending.index(after: newline)...])
                }
            }
            usleep(extraMicros)  // land the kill anywhere: between commits, mid-write, mid-fdatasync
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            // Acknowledgements that raced the kill still count: read what is left on the pipe.
            pending += String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            for line in pending.split(separator: "\n") { if let s = UInt64(line) { acknowledged = max(acknowledged, s) } }

            let reader = try JournalReader(directory: run + "/journal")
            var count: UInt64 = 0
            while let record = try reader.next() {
                count += 1
                guard SyntheticRecord.isIntact(record.payload) else {
                    Issue.record("iteration \(iteration): record \(record.sequence) has the wrong payload (seed \(seed))")
                    return
                }
            }
            #expect(reader.lastSequence >= acknowledged, "iteration \(iteration): acknowledged \(acknowledged) but the journal ends at \(reader.lastSequence) (seed \(seed))")
            #expect(count == reader.lastSequence, "iteration \(iteration): sequence chain has \(count) records up to \(reader.lastSequence)")
        }
        // Every iteration waited for at least one acknowledgement, so the test cannot pass vacuously.
        #expect(acknowledged >= UInt64(CrashRecoveryTests.iterations), "only \(acknowledged) acknowledgements over \(CrashRecoveryTests.iterations) kills")
        #expect(try JournalFormat.segmentIndexes(in: run + "/journal").count > 3, "the kills should have spanned several segments")
        print("crash test: \(CrashRecoveryTests.iterations) kills, \(acknowledged) acknowledged fsync commits, all present")
        // After the last kill, recovery cuts any torn tail and appending continues the chain.
        let r = try retrace(["journal", "append-test", run, "--sync", "fsync", "--records", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        let v = try retrace(["journal", "verify", run])
        #expect(v.status == 0, "\(v.stdout)\(v.stderr)")
    }

    @Test("recovery truncates a torn tail, reports it, and refuses a journal corrupt before its tail")
    func recovery() throws {
        let dir = scratch("recover")
        defer { removeScratch(dir) }
        let run = dir + "/run"
        #expect(try retrace(["journal", "append-test", run, "--records", "10"]).status == 0)
        let path = run + "/journal/00000000.wal"
        let handle = FileHandle(forWritingAtPath: path)!
        let size = try handle.seekToEnd()
        try handle.truncate(atOffset: size - 20)
        try handle.close()
        let inspect = try retrace(["journal", "inspect", run, "--json"])
        #expect(inspect.status == 0, "inspect exits 0 when the only damage is a torn tail")
        let json = try summary(inspect)
        #expect(json["records"] as? Int == 9 && json["first_sequence"] as? Int == 1 && json["last_sequence"] as? Int == 9)
        #expect((json["torn_tail"] as? [String: Any])?["after_sequence"] as? Int == 9)
        let verify = try retrace(["journal", "verify", run])
        #expect(verify.status == 1)
        #expect(verify.stderr.contains("torn tail") && verify.stderr.contains("at byte"), "\(verify.stderr)")
        let r = try retrace(["journal", "append-test", run, "--records", "1"])
        #expect(r.status == 0)
        #expect(r.stderr.contains("torn tail") && r.stderr.contains("after sequence 9"), "\(r.stderr)")
        #expect(r.stdout == "10\n")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[64 + 48 * 2 + 20] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: path))
        let refused = try retrace(["journal", "append-test", run, "--records", "1"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("corrupt") || refused.stderr.contains("CRC mismatch"), "\(refused.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes, "a refused journal must not be changed")
    }
}
