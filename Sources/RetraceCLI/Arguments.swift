/// A command's arguments: positionals, options with values (repeatable), and flags.
struct Arguments {
    var positionals: [String] = []
    var options: [(String, String)] = []
    var flags: Set<String> = []

    /// Parses `args` given the option names that take a value and the flag names.
    init(_ args: ArraySlice<String>, valued: Set<String>, flags allowed: Set<String>) throws(UsageError) {
        var i = args.startIndex
        while i < args.endIndex {
            let a = args[i]
            if a.hasPrefix("--") && a.count > 2 {
                var name = String(a.dropFirst(2))
                var inline: String?
                if let eq = name.firstIndex(of: "=") { inline = String(name[name.index(after: eq)...]); name = String(name[..<eq]) }
                if valued.contains(name) {
                    if let inline { options.append((name, inline)) } else {
                        guard i + 1 < args.endIndex else { throw UsageError("option --\(name) needs a value") }
                        options.append((name, args[i + 1]))
                        i += 1
                    }
                } else if allowed.contains(name) || name == "help" {
                    flags.insert(name)
                } else {
                    throw UsageError("unknown option --\(name)")
                }
            } else {
                positionals.append(a)
            }
            i += 1
        }
    }

    /// The last value of an option.
    func value(_ name: String) -> String? { options.last { $0.0 == name }?.1 }
    /// Every value of a repeatable option.
    func values(_ name: String) -> [String] { options.filter { $0.0 == name }.map(\.1) }
    /// A required option.
    func require(_ name: String) throws(UsageError) -> String {
        guard let v = value(name) else { throw UsageError("missing --\(name)") }
        return v
    }
    func has(_ flag: String) -> Bool { flags.contains(flag) }

    /// Splits an option's `key=value` (`--param`, `--grid`); `expects` names the form in the error.
    static func keyValue(_ text: String, option: String, expects: String = "key=value") throws(UsageError) -> (key: String, value: String) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else { throw UsageError("--\(option) expects \(expects), got '\(text)'") }
        return (String(text[..<eq]), String(text[text.index(after: eq)...]))
    }
}

/// A command-line mistake: printed with the command's usage, exit status 2.
struct UsageError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
