/// ISO-8601 formatting and parsing without Foundation (used at the edges and in exports).
extension Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, always nine fractional digits.
    public var iso8601: String {
        let (days, nanosOfDay) = nanos.floorDivided(by: 86_400_000_000_000)
        let (y, m, d) = Timestamp.civil(fromDays: days)
        let secondsOfDay = nanosOfDay / 1_000_000_000
        let fraction = nanosOfDay % 1_000_000_000
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secondsOfDay / 3600, 2)):"
            + "\(pad(secondsOfDay / 60 % 60, 2)):\(pad(secondsOfDay % 60, 2)).\(pad(fraction, 9))Z"
    }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DD[T ]HH:MM[:SS[.fffffffff]][Z|±HH:MM]`
    /// and the compact `YYYYMMDD HHMMSSfff` (HistData) form. Without a zone the time is UTC.
    /// Returns nil when the text is not one of these forms.
    public static func parseISO8601<S: StringProtocol>(_ text: S) -> Timestamp? {
        var scanner = DigitScanner(Array(text.utf8))
        return scanner.parseTimestamp()
    }

    /// Days since the epoch for a proleptic Gregorian date (Howard Hinnant's algorithm).
    public static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day count since the epoch.
    public static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let s = String(value)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

extension Int64 {
    /// Floor division with a non-negative remainder.
    @inlinable public func floorDivided(by d: Int64) -> (quotient: Int64, remainder: Int64) {
        var q = self / d
        var r = self % d
        if r < 0 { q -= 1; r += d }
        return (q, r)
    }
}

/// A tiny cursor over ASCII bytes for the date formats above.
private struct DigitScanner {
    let bytes: [UInt8]
    var i = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func digits(_ n: Int) -> Int64? {
        guard i + n <= bytes.count else { return nil }
        var v: Int64 = 0
        for k in 0..<n {
            let c = bytes[i + k]
            guard c >= 48, c <= 57 else { return nil }
            v = v * 10 + Int64(c - 48)
        }
        i += n
        return v
    }

    mutating func accept(_ c: UInt8) -> Bool {
        if i < bytes.count, bytes[i] == c { i += 1; return true }
        return false
    }

    var atEnd: Bool { i == bytes.count }

    mutating func parseTimestamp() -> Timestamp? {
        guard let year = digits(4) else { return nil }
        let compact = !accept(UInt8(ascii: "-"))
        guard let month = digits(2) else { return nil }
        if !compact { guard accept(UInt8(ascii: "-")) else { return nil } }
        guard let day = digits(2), (1...12).contains(month), (1...31).contains(day) else { return nil }
        var nanos = Timestamp.days(year: year, month: month, day: day) * 86_400_000_000_000
        if atEnd { return Timestamp(nanos: nanos) }
        guard accept(UInt8(ascii: "T")) || accept(UInt8(ascii: " ")) else { return nil }
        if compact { return parseCompactTime(base: nanos) }
        guard let hour = digits(2), accept(UInt8(ascii: ":")), let minute = digits(2) else { return nil }
        var second: Int64 = 0
        if accept(UInt8(ascii: ":")) { guard let s = digits(2) else { return nil }; second = s }
        guard hour < 24, minute < 60, second < 61 else { return nil }
        nanos += (hour * 3600 + minute * 60 + second) * 1_000_000_000
        if accept(UInt8(ascii: ".")) || accept(UInt8(ascii: ",")) {
            guard let f = fraction() else { return nil }
            nanos += f
        }
        if atEnd || accept(UInt8(ascii: "Z")) { return atEnd ? Timestamp(nanos: nanos) : nil }
        let sign: Int64
        if accept(UInt8(ascii: "+")) { sign = 1 } else if accept(UInt8(ascii: "-")) { sign = -1 } else { return nil }
        guard let oh = digits(2) else { return nil }
        _ = accept(UInt8(ascii: ":"))
        guard let om = digits(2), atEnd else { return nil }
        return Timestamp(nanos: nanos - sign * (oh * 3600 + om * 60) * 1_000_000_000)
    }

    /// `HHMMSSfff` after a compact date (HistData ASCII ticks).
    mutating func parseCompactTime(base: Int64) -> Timestamp? {
        guard let hour = digits(2), let minute = digits(2), let second = digits(2) else { return nil }
        var nanos = base + (hour * 3600 + minute * 60 + second) * 1_000_000_000
        if !atEnd {
            _ = accept(UInt8(ascii: "."))
            guard let f = fraction() else { return nil }
            nanos += f
        }
        return atEnd ? Timestamp(nanos: nanos) : nil
    }

    /// Up to nine fractional digits as nanoseconds; more than nine is refused.
    mutating func fraction() -> Int64? {
        var value: Int64 = 0
        var count = 0
        while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
            guard count < 9 else { return nil }
            value = value * 10 + Int64(bytes[i] - 48)
            count += 1
            i += 1
        }
        guard count > 0 else { return nil }
        for _ in count..<9 { value *= 10 }
        return value
    }
}
