import Foundation

/// Builds RFC 4180 CSV text: comma-separated, CRLF line ends, fields quoted only when they
/// contain a comma, quote or line break (a quote inside is doubled).
public struct CSVWriter {
    public private(set) var text = ""

    public init(header: [String]) { row(header) }

    /// Appends one row.
    public mutating func row(_ fields: [String]) {
        text += fields.map(CSVWriter.escape).joined(separator: ",")
        text += "\r\n"
    }

    static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
