import Foundation

/// Where a JSON file the user wrote (a config profile, a reference-data table) is broken.
/// Foundation reports a byte offset ("around character 17") or nothing at all (its
/// `JSONDecoder` says only "not valid JSON"); an editor wants a line and a column.
enum JSONSyntax {
    /// "not valid JSON at line L, column C (what is wrong)" when `data` does not parse, nil
    /// when it does. The position is the one Foundation's parser stopped at; the end of the
    /// file when it ran out of input.
    static func error(in data: Data) -> String? {
        let failure: NSError
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return nil
        } catch {
            failure = error as NSError
        }
        let detail = failure.userInfo[NSDebugDescriptionErrorKey] as? String ?? failure.localizedDescription
        let offset: Int
        if let range = detail.range(of: #"around character \d+"#, options: .regularExpression),
           let number = Int(detail[range].split(separator: " ").last ?? "") {
            offset = number
        } else {
            offset = data.count
        }
        let (line, column) = position(of: min(max(offset, 0), data.count), in: data)
        var what = detail.replacingOccurrences(of: #"\s*around character \d+"#, with: "", options: .regularExpression)
        while what.hasSuffix(".") { what.removeLast() }
        if let first = what.first { what = first.lowercased() + what.dropFirst() }
        return "not valid JSON at line \(line), column \(column) (\(what))"
    }

    /// "key 'a.b' appears twice (again at line L, column C)" for the first key that repeats
    /// within one object of `data` (valid JSON), nil when none does. Foundation keeps one of
    /// the two values without a word (`JSONDecoder` the first, `JSONSerialization` the
    /// last), so one of two edits to a key is silently lost. The path names the enclosing
    /// objects' keys.
    static func duplicateKey(in data: Data) -> String? {
        let bytes = [UInt8](data)
        // One entry per open object or array: the keys seen in it (membership only, never
        // iterated) and the key it is the value of.
        var open: [(object: Bool, keys: Set<String>, name: String?)] = []
        var expectKey = false
        var lastKey: String?
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                open.append((bytes[i] == UInt8(ascii: "{"), [], open.last?.object == true ? lastKey : nil))
                expectKey = bytes[i] == UInt8(ascii: "{")
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !open.isEmpty { open.removeLast() }
                expectKey = false
            case UInt8(ascii: ","):
                expectKey = open.last?.object == true
            case UInt8(ascii: "\""):
                let start = i
                i += 1
                while i < bytes.count && bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
                guard expectKey, !open.isEmpty else { break }
                expectKey = false
                let key = String(decoding: bytes[(start + 1)..<min(i, bytes.count)], as: UTF8.self)
                lastKey = key
                if !open[open.count - 1].keys.insert(key).inserted {
                    let path = (open.compactMap(\.name) + [key]).joined(separator: ".")
                    let (line, column) = position(of: start, in: data)
                    return "key '\(path)' appears twice (again at line \(line), column \(column))"
                }
            default:
                break
            }
            i += 1
        }
        return nil
    }

    /// The 1-based line and column of byte `offset` (columns count characters, not bytes).
    static func position(of offset: Int, in data: Data) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = data.startIndex
        let end = data.index(data.startIndex, offsetBy: offset)
        var i = data.startIndex
        while i < end {
            if data[i] == UInt8(ascii: "\n") { line += 1; lineStart = data.index(after: i) }
            i = data.index(after: i)
        }
        // UTF-8 continuation bytes (10xxxxxx) do not start a character.
        let column = data[lineStart..<end].reduce(1) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
        return (line, column)
    }
}
