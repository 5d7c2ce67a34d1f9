import CZstd
import Foundation

/// A CSV file's bytes, split into lines and fields without copying (RFC 4180 quotes
/// are handled; a quoted field keeps its inner text). `.zst` files are decompressed with
/// libzstd (streaming, so frames without a recorded size work too); `.gz` files with the
/// system's `gzip`.
public struct CSVFile {
    public let path: String
    public let bytes: [UInt8]

    /// Reads the whole file.
    public init(path: String) throws(FeedError) {
        self.path = path
        if path.hasSuffix(".gz") {
            bytes = try CSVFile.gunzip(path)
        } else if path.hasSuffix(".zst") {
            bytes = try CSVFile.unzstd(path)
        } else {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw FeedError(.io, "\(path): cannot read the file (missing or unreadable)")
            }
            bytes = [UInt8](data)
        }
    }

    private static func unzstd(_ path: String) throws(FeedError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw FeedError(.io, "\(path): cannot read the file (missing or unreadable)") }
        guard let stream = ZSTD_createDStream() else { throw FeedError(.io, "\(path): cannot allocate a zstd stream") }
        defer { ZSTD_freeDStream(stream) }
        var out: [UInt8] = []
        out.reserveCapacity(data.count * 6)
        let chunk = ZSTD_DStreamOutSize()
        var buffer = [UInt8](repeating: 0, count: chunk)
        var failure: String?
        var last: Int = 0
        data.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
            var input = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
            // One decoder step into `buffer`, appended to `out`; returns the bytes produced.
            func step() -> Int {
                let produced: Int = buffer.withUnsafeMutableBytes { dst in
                    var output = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
                    last = ZSTD_decompressStream(stream, &output, &input)
                    return output.pos
                }
                if ZSTD_isError(last) == 0 { out.append(contentsOf: buffer[0..<produced]) }
                return produced
            }
            while input.pos < input.size {
                let before = input.pos
                let produced = step()
                if ZSTD_isError(last) != 0 { failure = "\(String(cString: ZSTD_getErrorName(last))) at compressed byte \(before)"; return }
                if produced == 0 && input.pos == before { failure = "no progress at compressed byte \(before)"; return }
            }
            // Flush what the decoder still holds.
            while last != 0 {
                let produced = step()
                if ZSTD_isError(last) != 0 { failure = String(cString: ZSTD_getErrorName(last)); return }
                if produced == 0 { break }
            }
        }
        if let failure { throw FeedError(.io, "\(path): cannot decompress zstd data (\(failure))") }
        if last != 0 { throw FeedError(.io, "\(path): the zstd data is truncated (the last frame is incomplete)") }
        return out
    }

    private static func gunzip(_ path: String) throws(FeedError) -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else { throw FeedError(.io, "\(path): no such file") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc", path]
        let pipe = Pipe()
        let errors = Pipe()
        process.standardOutput = pipe
        process.standardError = errors
        do { try process.run() } catch { throw FeedError(.io, "\(path): cannot run gzip to decompress: \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw FeedError(.io, "\(path): gzip failed: \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return [UInt8](data)
    }

    /// Calls `body(lineNumber, fields)` for each non-blank line; line numbers start at 1
    /// and count blank lines too, so they match what an editor shows. Fields are byte
    /// ranges into `bytes` (quotes stripped).
    public func forEachLine(limit: Int = .max, _ body: (Int, [Range<Int>]) throws(FeedError) -> Void) throws(FeedError) {
        var calls = 0
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        var fields: [Range<Int>] = []
        fields.reserveCapacity(64)
        var lineNumber = 0
        var i = 0
        let n = bytes.count
        func field(_ start: Int, _ end: Int, _ quoted: Bool) -> Range<Int> {
            quoted ? (start + 1)..<max(start + 1, end - 1) : start..<end
        }
        while i < n {
            lineNumber += 1
            fields.removeAll(keepingCapacity: true)
            var fieldStart = i
            var quoted = false
            var inQuotes = false
            while true {
                if i == n { fields.append(field(fieldStart, i, quoted)); break }
                let c = bytes[i]
                if inQuotes {
                    if c == quote {
                        if i + 1 < n && bytes[i + 1] == quote { i += 2; continue }
                        inQuotes = false
                    }
                    i += 1
                    continue
                }
                if c == quote && i == fieldStart { inQuotes = true; quoted = true; i += 1; continue }
                if c == comma { fields.append(field(fieldStart, i, quoted)); i += 1; fieldStart = i; quoted = false; continue }
                if c == lf || c == cr {
                    fields.append(field(fieldStart, i, quoted))
                    if c == cr && i + 1 < n && bytes[i + 1] == lf { i += 1 }
                    i += 1
                    break
                }
                i += 1
            }
            if fields.count == 1 && fields[0].isEmpty { continue }
            try body(lineNumber, fields)
            calls += 1
            if calls == limit { return }
        }
    }

    /// The fields of the first `count` non-blank lines.
    public func firstLines(_ count: Int) -> [[Range<Int>]] {
        var lines: [[Range<Int>]] = []
        do { try forEachLine(limit: count) { (_, fields) throws(FeedError) in lines.append(fields) } } catch {
            preconditionFailure("collecting lines cannot fail: \(error)")
        }
        return lines
    }

    /// The text of a field.
    public func text(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }
}
