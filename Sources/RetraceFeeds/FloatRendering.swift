import Foundation

/// Some exports write prices and sizes as binary floating point rendered with 16–17
/// significant digits (`0.00031099999999999997` for 0.000311, `7.000000000000001e-06`).
/// No decimal instrument has that many significant digits, so such text is read as an
/// IEEE-754 double and rewritten with 15 significant digits — every decimal of up to 15
/// digits survives a round trip through a double, so this recovers the value the exporter
/// started from. Text with 15 significant digits or fewer is always taken exactly.
enum FloatRendering {
    /// Significant digits beyond which text is treated as a float rendering.
    static let significantDigitsMax = 15

    /// The 15-significant-digit text of a float rendering, or nil when `text` is exact.
    static func shortestForm<C: Collection>(_ text: C) -> [UInt8]? where C.Element == UInt8 {
        guard text.count > significantDigitsMax else { return nil }
        var significant = 0
        var leading = true
        for c in text {
            if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { break }
            guard c >= 48 && c <= 57 else { continue }
            if leading && c == 48 { continue }
            leading = false
            significant += 1
        }
        guard significant > significantDigitsMax, let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite else { return nil }
        return Array(String(format: "%.15g", value).utf8)
    }
}
