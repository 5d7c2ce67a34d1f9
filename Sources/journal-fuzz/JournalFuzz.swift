// The fuzz target for the journal's record decoder and segment scanner.
//
// Built for libFuzzer by `make fuzz` (`-sanitize=fuzzer,address`, `-D FUZZING`, which drops
// the `@main` below so libFuzzer's own `main` drives `LLVMFuzzerTestOneInput`). In a plain
// build the same entry point replays files given as arguments, or seeded random inputs.
#if canImport(Glibc)
import Glibc
#endif
import RetraceCore
import RetraceJournal

/// One input. An odd first byte means "the rest is the body after a valid segment header",
/// so the fuzzer spends its time past the header CRC; an even one means "a whole segment".
@_cdecl("LLVMFuzzerTestOneInput")
public func journalFuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    guard let first = input.first else { return 0 }
    if first & 1 == 0 {
        _ = try? JournalReader.scanSegment(input)
    } else {
        let header = JournalFuzz.header
        var segment = [UInt8](repeating: 0, count: header.count + size - 1)
        segment.withUnsafeMutableBytes { b in
            for i in 0..<header.count { b[i] = header[i] }
            for i in 1..<size { b[header.count + i - 1] = input[i] }
        }
        segment.withUnsafeBytes { b in _ = try? JournalReader.scanSegment(b) }
    }
    // The frame classifier must accept any offset.
    var offset = 0
    while offset + 8 <= size {
        _ = JournalFormat.frame(in: input, at: offset)
        offset += 8
    }
    return 0
}

enum JournalFuzz {
    /// A valid segment header (run id 0x11…, first sequence 1).
    static let header: [UInt8] = JournalFormat.segmentHeader(runID: [UInt8](repeating: 0x11, count: 16), firstSequence: 1)
}

#if !FUZZING
@main
struct JournalFuzzReplay {
    static func main() {
        let files = CommandLine.arguments.dropFirst()
        if !files.isEmpty {
            for path in files {
                guard let f = fopen(path, "rb") else { print("cannot open \(path)"); exit(1) }
                var bytes: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = fread(&chunk, 1, chunk.count, f)
                    if n <= 0 { break }
                    bytes += chunk[0..<n]
                }
                fclose(f)
                bytes.withUnsafeBufferPointer { _ = journalFuzzOneInput($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count) }
                print("\(path): ok")
            }
            return
        }
        var rng = SplitMix64(seed: 1)
        for _ in 0..<20_000 {
            let bytes = (0..<Int(1 + rng.next(modulo: 600))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            bytes.withUnsafeBufferPointer { _ = journalFuzzOneInput($0.baseAddress!, $0.count) }
        }
        print("20000 seeded random inputs: no crash")
    }
}
#endif
