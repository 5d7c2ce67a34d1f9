import Foundation
import RetraceCore
import RetraceEngine
import RetraceFeeds
import RetraceJournal
import RetraceStore
import RetraceStrategies

enum BenchCommand {
    static let groups = ["codec", "journal", "engine"]
    static let help = """
    usage: retrace bench [GROUP...] [--json] [--iterations N]

      groups: \(groups.joined(separator: " ")) (default: all). Build with -c release for real figures.
      Each figure is the median of N iterations (default 5; 3 for engine).
    """

    struct Figure { let name: String; let value: Double; let unit: String }

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["iterations"], flags: ["json"])
        if a.has("help") { Output.out(help); return 0 }
        for g in a.positionals where !groups.contains(g) { throw UsageError("unknown group '\(g)'; groups: \(groups.joined(separator: ", "))") }
        let selected = a.positionals.isEmpty ? groups : a.positionals
        let iterations = Int(a.value("iterations") ?? "") ?? 5
        guard iterations > 0 else { throw UsageError("--iterations must be positive") }
        let scratch = NSTemporaryDirectory() + "retrace-bench-\(ProcessInfo.processInfo.processIdentifier)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer {
            do { try FileManager.default.removeItem(atPath: scratch) } catch { Output.err("warning: could not remove \(scratch): \(error.localizedDescription)") }
        }
        var figures: [Figure] = []
        for g in selected {
            if !a.has("json") { Output.err("bench \(g)…") }
            switch g {
            case "codec": figures += try codec(iterations)
            case "journal": figures += try journal(iterations, scratch)
            default: figures += try engine(max(1, min(iterations, 3)), scratch)
            }
        }
        if a.has("json") {
            let list = figures.map { "{\"name\":\"\($0.name)\",\"value\":\(String(format: "%.3f", $0.value)),\"unit\":\"\($0.unit)\"}" }
            Output.out("{\"machine\":\(MachineInfo.json()),\"figures\":[\(list.joined(separator: ","))]}")
        } else {
            for f in figures { Output.out("\(f.name.padding(toLength: 52, withPad: " ", startingAt: 0)) \(String(format: "%14.1f", f.value)) \(f.unit)") }
        }
        return 0
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// Times `body` and returns items per second.
    static func rate(_ items: Int, _ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try body()
        let d = clock.now - start
        let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return Double(items) / seconds
    }

    static func codec(_ iterations: Int) throws -> [Figure] {
        let events = Array(PeerQuoteWorkload.events(count: 1_000_000).dropFirst())
        let size = EventCodec.encodedSize(events[0].body)
        var buffer = [UInt8](repeating: 0, count: size * events.count)
        var encode: [Double] = [], decode: [Double] = []
        var checksum: Int64 = 0
        for _ in 0..<iterations {
            encode.append(rate(events.count) {
                buffer.withUnsafeMutableBytes { b in
                    var offset = 0
                    for e in events { offset += EventCodec.encode(e, to: b.baseAddress! + offset) }
                }
            })
            decode.append(try rate(events.count) {
                try buffer.withUnsafeBytes { b in
                    var offset = 0
                    while offset < b.count {
                        let slice = UnsafeRawBufferPointer(rebasing: b[offset..<(offset + size)])
                        if case .quoteReceived(let q) = try EventCodec.decode(slice, sequence: 0).body { checksum &+= q.bidPrice.raw }
                        offset += size
                    }
                }
            })
        }
        precondition(checksum != 0, "decode benchmark read nothing")
        return [Figure(name: "codec.encode.events_per_second", value: median(encode), unit: "events/s"),
                Figure(name: "codec.decode.events_per_second", value: median(decode), unit: "events/s")]
    }

    static func journal(_ iterations: Int, _ scratch: String) throws -> [Figure] {
        // A 48-byte payload + 16-byte frame = one 64-byte record.
        let payload = [UInt8](repeating: 0xAB, count: 48)
        var none: [Double] = [], fsync: [Double] = [], read: [Double] = []
        var commitLatencies: [Double] = [], floorLatencies: [Double] = []
        for k in 0..<iterations {
            let dir = scratch + "/journal-none-\(k)"
            let w = try JournalWriter(directory: dir, runID: [UInt8](repeating: 1, count: 16), syncMode: .none)
            let n = 2_000_000
            none.append(try rate(n) {
                try payload.withUnsafeBytes { p in for _ in 0..<n { try w.append(encoded: p) } }
                try w.commit()
            })
            let bytes = w.fileBytes
            read.append(try rate(bytes) {
                let r = try JournalReader(directory: dir)
                var sum: UInt64 = 0
                while let record = try r.next() { sum &+= record.sequence }
                precondition(sum > 0, "read benchmark read nothing")
            })
            try FileManager.default.removeItem(atPath: dir)
            let fdir = scratch + "/journal-fsync-\(k)"
            let fw = try JournalWriter(directory: fdir, runID: [UInt8](repeating: 1, count: 16), syncMode: .fsync)
            let m = 1_000
            let clock = ContinuousClock()
            fsync.append(try rate(m) {
                try payload.withUnsafeBytes { p in
                    for _ in 0..<m {
                        let start = clock.now
                        try fw.append(encoded: p)
                        try fw.commit()
                        commitLatencies.append(micros(clock.now - start))
                    }
                }
            })
            try FileManager.default.removeItem(atPath: fdir)
            floorLatencies += try fdatasyncFloor(scratch + "/floor-\(k)", count: m)
        }
        let commitP99 = percentile(commitLatencies, 0.99), floorP99 = percentile(floorLatencies, 0.99)
        return [Figure(name: "journal.append.none.64B.records_per_second", value: median(none), unit: "records/s"),
                Figure(name: "journal.append.fsync.64B.records_per_second", value: median(fsync), unit: "records/s"),
                Figure(name: "journal.commit.fsync.p50_micros", value: percentile(commitLatencies, 0.5), unit: "µs"),
                Figure(name: "journal.commit.fsync.p99_micros", value: commitP99, unit: "µs"),
                Figure(name: "journal.commit.fsync.p999_micros", value: percentile(commitLatencies, 0.999), unit: "µs"),
                Figure(name: "journal.floor.fdatasync.p50_micros", value: percentile(floorLatencies, 0.5), unit: "µs"),
                Figure(name: "journal.floor.fdatasync.p99_micros", value: floorP99, unit: "µs"),
                Figure(name: "journal.commit.fsync.p99_ratio_to_floor", value: commitP99 / floorP99, unit: "ratio"),
                Figure(name: "journal.read.sequential.bytes_per_second", value: median(read), unit: "bytes/s")]
    }

    static func micros(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12
    }

    static func percentile(_ xs: [Double], _ q: Double) -> Double {
        let s = xs.sorted()
        return s.isEmpty ? 0 : s[min(s.count - 1, Int(Double(s.count) * q))]
    }

    /// The floor: 4 KiB `pwrite` appends, each followed by `fdatasync`, on a growing file in
    /// the same file system as the journal. Returns each pair's latency in µs.
    static func fdatasyncFloor(_ path: String, count: Int) throws -> [Double] {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw JournalError(.io, "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd); unlink(path) }
        let block = [UInt8](repeating: 0x5A, count: 4096)
        let clock = ContinuousClock()
        var out: [Double] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            let start = clock.now
            let written = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, off_t(i * 4096)) }
            guard written == 4096, fdatasync(fd) == 0 else { throw JournalError(.io, "floor benchmark write failed: \(String(cString: strerror(errno)))") }
            out.append(micros(clock.now - start))
        }
        return out
    }

    static func engine(_ iterations: Int, _ scratch: String) throws -> [Figure] {
        let events = PeerQuoteWorkload.events(count: 1_000_000)
        var rates: [Double] = []
        var fills: UInt64 = 0
        for k in 0..<iterations {
            let out = scratch + "/engine-\(k)"
            var source = ArrayInput(events)
            let settings = BacktestDriver.Settings(overrides: [("size", "0.1"), ("close_at_end", "false")], dataset: "peer-quotes", inputs: [], out: out, replace: true)
            rates.append(try rate(events.count) { fills = try BacktestDriver.run(EmaCross.self, source: &source, settings: settings).fills })
            try FileManager.default.removeItem(atPath: out)
        }
        // The fill count is the cross-check against the peer engines on the same workload.
        return [Figure(name: "engine.backtest.ema_cross.events_per_second", value: median(rates), unit: "events/s"),
                Figure(name: "engine.backtest.ema_cross.fills", value: Double(fills), unit: "fills")]
    }
}
