import RetraceCore

/// One documented parameter: its name, default value (as text) and meaning.
public struct ParameterSpec: Sendable {
    public var name: String
    public var defaultValue: String
    public var help: String
    /// Also settable per venue as `venue.NAME.<name>` (venue settings).
    public var perVenue: Bool
    public init(_ name: String, _ defaultValue: String, _ help: String, perVenue: Bool = false) {
        (self.name, self.defaultValue, self.help, self.perVenue) = (name, defaultValue, help, perVenue)
    }
}

/// Parameter values after defaults are applied, with typed accessors that name the
/// parameter in their errors.
public struct ParameterValues: Sendable {
    /// Every known parameter's value, sorted by name.
    public private(set) var values: [(name: String, value: String)]

    /// Applies `overrides` (`key=value` pairs, in order) on top of the specs' defaults.
    /// - Throws: `.unknownParameter` naming the key and listing the valid ones.
    public init(specs: [ParameterSpec], overrides: [(String, String)]) throws(EngineError) {
        var table = specs.map { (name: $0.name, value: $0.defaultValue) }
        for (key, value) in overrides {
            if key.hasPrefix("venue.") {
                // venue.NAME.KEY: a per-venue setting (or `instruments`, the venue's symbols).
                let parts = key.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
                let perVenue = specs.filter(\.perVenue).map(\.name) + ["instruments"]
                guard parts.count == 3, !parts[1].isEmpty, parts[1].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }),
                      perVenue.contains(String(parts[2])) else {
                    throw EngineError(.unknownParameter, "unknown parameter '\(key)'; per-venue parameters are venue.NAME.KEY with KEY one of: \(perVenue.sorted().joined(separator: ", "))")
                }
                if let i = table.firstIndex(where: { $0.name == key }) { table[i].value = value } else { table.append((key, value)) }
                continue
            }
            guard let i = table.firstIndex(where: { $0.name == key }) else {
                let known = specs.map(\.name).sorted().joined(separator: ", ")
                throw EngineError(.unknownParameter, "unknown parameter '\(key)'; valid parameters: \(known)")
            }
            table[i].value = value
        }
        values = table.sorted { $0.name < $1.name }
    }

    /// The text value of `name` (which must be a declared parameter).
    public func text(_ name: String) -> String {
        guard let v = values.first(where: { $0.name == name }) else { preconditionFailure("parameter \(name) was not declared") }
        return v.value
    }

    /// A positive integer parameter.
    public func positiveInt(_ name: String) throws(EngineError) -> Int {
        guard let v = Int(text(name)), v > 0 else { throw EngineError(.invalidParameter, "parameter \(name)=\(text(name)): expected a positive integer") }
        return v
    }

    public func nonNegativeInt(_ name: String) throws(EngineError) -> Int {
        guard let v = Int(text(name)), v >= 0 else { throw EngineError(.invalidParameter, "parameter \(name)=\(text(name)): expected a non-negative integer") }
        return v
    }

    /// A size in units (decimal text) as lots of `instrument`.
    /// - Throws: `.invalidParameter` when it is not positive or finer than the instrument's lot.
    public static func lots(_ name: String, _ text: String, of instrument: Instrument) throws(EngineError) -> Quantity {
        guard let lots = FixedPoint.parse(text, scale: instrument.quantityScale), lots > 0 else {
            throw EngineError(.invalidParameter, "parameter \(name)=\(text) is finer than \(instrument.symbol)'s lot (quantity scale \(instrument.quantityScale)) or not positive")
        }
        return Quantity(raw: lots)
    }

    /// A boolean parameter (`true`/`false`).
    public func bool(_ name: String) throws(EngineError) -> Bool {
        switch text(name) {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw EngineError(.invalidParameter, "parameter \(name)=\(text(name)): expected true or false")
        }
    }

    /// The value of `name` if it was given (for optional per-venue keys).
    public func optionalText(_ name: String) -> String? { values.first(where: { $0.name == name })?.value }

    /// A fee rate (`0.002` = 0.2 %).
    public func rate(_ name: String) throws(EngineError) -> Rate {
        guard let r = Rate(parsing: text(name)), r.raw >= 0, r.raw < 100_000_000 else {
            throw EngineError(.invalidParameter, "parameter \(name)=\(text(name)): expected a rate between 0 and 1 with at most 8 decimals")
        }
        return r
    }

    /// An amount of money.
    public func money(_ name: String) throws(EngineError) -> Money {
        guard let m = Money(parsing: text(name)) else { throw EngineError(.invalidParameter, "parameter \(name)=\(text(name)): expected a decimal amount") }
        return m
    }

    /// A duration: `250ms`, `60s`, `5m`, `1h`, `1d`, or plain nanoseconds.
    public func durationNanos(_ name: String) throws(EngineError) -> Int64 {
        guard let n = Timestamp.parseDurationNanos(text(name)) else {
            throw EngineError(.invalidParameter, "parameter \(name)=\(text(name)): expected a duration such as 60s, 500ms, 5m")
        }
        return n
    }

    /// The values as a JSON object text, keys sorted.
    public var json: String {
        "{" + values.map { "\"\($0.name)\":\"\(jsonEscape($0.value))\"" }.joined(separator: ",") + "}"
    }
}

/// Escapes text for a JSON string literal.
public func jsonEscape(_ s: String) -> String {
    var out = ""
    for c in s.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if c.value < 0x20 { out += "\\u" + String(repeating: "0", count: 4 - String(c.value, radix: 16).count) + String(c.value, radix: 16) } else { out.unicodeScalars.append(c) }
        }
    }
    return out
}
