import Foundation
import RetraceEngine

/// Writes to stdout / stderr without buffering surprises.
enum Output {
    static func out(_ s: String) { FileHandle.standardOutput.write(Data((s + "\n").utf8)) }
    static func err(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
}

/// A JSON object built in a fixed key order (the summary contract).
struct JSONObject {
    private var fields: [String] = []
    mutating func add(_ key: String, _ value: String) { fields.append("\"\(key)\":\"\(jsonEscape(value))\"") }
    mutating func add(_ key: String, number: String) { fields.append("\"\(key)\":\(number)") }
    mutating func add(_ key: String, _ value: Int) { add(key, number: String(value)) }
    mutating func add(_ key: String, _ value: UInt64) { add(key, number: String(value)) }
    mutating func add(_ key: String, _ value: Double) { add(key, number: value.isFinite ? String(format: "%.6f", value) : "null") }
    mutating func add(_ key: String, raw: String) { fields.append("\"\(key)\":\(raw)") }
    var text: String { "{" + fields.joined(separator: ",") + "}" }
}
