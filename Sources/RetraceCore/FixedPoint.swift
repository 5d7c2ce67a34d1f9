/// Exact decimal text ⇄ scaled integers, used by every fixed-point type.
///
/// A value with scale `s` is stored as `raw = value × 10^s`. Parsing never rounds: text
/// with more significant fractional digits than the scale is refused.
public enum FixedPoint {
    /// Powers of ten that fit in Int64 (index = exponent, 0...18). Written out as literals,
    /// so the table is static data and reading it needs no lazy-initialization check.
    public static let powersOfTen: [Int64] = [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000, 100_000_000_000,
        1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000, 1_000_000_000_000_000, 10_000_000_000_000_000,
        100_000_000_000_000_000, 1_000_000_000_000_000_000,
    ]

    /// Number of fractional digits in decimal text, ignoring trailing zeros
    /// (`"1.50"` → 1, `"7"` → 0). Returns nil when the text is not a plain decimal.
    public static func fractionalDigits<S: StringProtocol>(_ text: S) -> Int? {
        fractionalDigits(bytes: text.utf8)
    }

    /// `fractionalDigits` over UTF-8 bytes.
    public static func fractionalDigits<C: Collection>(bytes text: C) -> Int? where C.Element == UInt8 {
        if text.contains(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            guard let plain = expandExponent(text) else { return nil }
            return fractionalDigits(bytes: plain)
        }
        var seenDot = false, seenDigit = false
        var digits = 0, pendingZeros = 0
        for (index, c) in text.enumerated() {
            switch c {
            case UInt8(ascii: "-"), UInt8(ascii: "+"):
                if index != 0 { return nil }
            case UInt8(ascii: "."):
                if seenDot { return nil }
                seenDot = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                seenDigit = true
                if seenDot {
                    if c == UInt8(ascii: "0") { pendingZeros += 1 } else { digits += pendingZeros + 1; pendingZeros = 0 }
                }
            default:
                return nil
            }
        }
        return seenDigit ? digits : nil
    }

    /// Parses decimal text into `value × 10^scale`. Returns nil for text that is not a
    /// decimal, that has more significant fractional digits than `scale`, or that overflows.
    public static func parse<S: StringProtocol>(_ text: S, scale: Int) -> Int64? {
        parse(bytes: text.utf8, scale: scale)
    }

    /// `parse` over UTF-8 bytes.
    public static func parse<C: Collection>(bytes text: C, scale: Int) -> Int64? where C.Element == UInt8 {
        precondition(scale >= 0 && scale <= 18, "scale \(scale) outside 0...18")
        if text.contains(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            guard let plain = expandExponent(text) else { return nil }
            return parse(bytes: plain, scale: scale)
        }
        var negative = false
        var value: Int64 = 0
        var fractional = -1  // -1: before the dot
        var sawDigit = false
        for (index, c) in text.enumerated() {
            switch c {
            case UInt8(ascii: "-") where index == 0: negative = true
            case UInt8(ascii: "+") where index == 0: break
            case UInt8(ascii: "."):
                if fractional >= 0 { return nil }
                fractional = 0
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                sawDigit = true
                let d = Int64(c - UInt8(ascii: "0"))
                if fractional >= 0 {
                    if fractional == scale {
                        if d != 0 { return nil }  // a significant digit beyond the scale
                        continue
                    }
                    fractional += 1
                }
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(d)
                if o1 || o2 { return nil }
                value = a
            default:
                return nil
            }
        }
        guard sawDigit else { return nil }
        let missing = scale - max(fractional, 0)
        let (scaled, overflow) = value.multipliedReportingOverflow(by: powersOfTen[missing])
        if overflow { return nil }
        return negative ? -scaled : scaled
    }

    /// Rewrites scientific notation (`2e-06`, `-1.5E3`) as plain decimal text, exactly, by
    /// moving the decimal point. Nil for malformed text or exponents beyond ±40.
    static func expandExponent<C: Collection>(_ text: C) -> [UInt8]? where C.Element == UInt8 {
        guard let e = text.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) else { return Array(text) }
        var mantissa = Array(text[..<e])
        let exponentText = String(decoding: text[text.index(after: e)...], as: UTF8.self)
        guard let exponent = Int(exponentText), abs(exponent) <= 40, !mantissa.isEmpty else { return nil }
        var negative = false
        if mantissa.first == UInt8(ascii: "-") || mantissa.first == UInt8(ascii: "+") {
            negative = mantissa.first == UInt8(ascii: "-")
            mantissa.removeFirst()
        }
        let dot = mantissa.firstIndex(of: UInt8(ascii: "."))
        var digits = mantissa.filter { $0 != UInt8(ascii: ".") }
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }), mantissa.filter({ $0 == UInt8(ascii: ".") }).count <= 1 else { return nil }
        var point = (dot ?? mantissa.count) + exponent  // position of the point within `digits`
        if point < 0 { digits = Array(repeating: UInt8(ascii: "0"), count: -point) + digits; point = 0 }
        if point > digits.count { digits += Array(repeating: UInt8(ascii: "0"), count: point - digits.count) }
        var out: [UInt8] = negative ? [UInt8(ascii: "-")] : []
        out += point == 0 ? [UInt8(ascii: "0")] : Array(digits[..<point])
        if point < digits.count { out.append(UInt8(ascii: ".")); out += digits[point...] }
        return out
    }

    /// Exact decimal text of `raw / 10^scale` with exactly `scale` fractional digits.
    public static func format(_ raw: Int64, scale: Int) -> String {
        formatWide(Int128(raw), scale: scale, trimTrailingZeros: false)
    }

    /// Exact decimal text of a 128-bit scaled integer.
    public static func formatWide(_ raw: Int128, scale: Int, trimTrailingZeros: Bool) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: wideTextCapacity(scale: scale)) { buffer in
            let n = writeWide(raw, scale: scale, trimTrailingZeros: trimTrailingZeros, into: buffer.baseAddress!)
            return String(decoding: UnsafeBufferPointer(start: buffer.baseAddress!, count: n), as: UTF8.self)
        }
    }

    /// Bytes `writeWide` may need at `scale`: 39 digits, a sign, a point and the zeros a
    /// fraction of more digits than the number has brings.
    @inlinable public static func wideTextCapacity(scale: Int) -> Int { 42 + max(0, scale) }

    /// Writes the exact decimal text of a 128-bit scaled integer into `out` (at least
    /// `wideTextCapacity(scale:)` bytes) and returns its length: no allocation (the store
    /// writer formats every money column this way).
    public static func writeWide(_ raw: Int128, scale: Int, trimTrailingZeros: Bool, into out: UnsafeMutablePointer<UInt8>) -> Int {
        // Fast path (every amount of money a run formats): the whole part fits 64 bits and
        // the fraction is below 10^18, so one division splits them and the trailing zeros
        // go before any digit is written.
        if scale >= 0 && scale <= 18 {
            let m = raw.magnitude
            let unit = UInt64(powersOfTen[scale])
            var whole: UInt64, fraction: UInt64
            if m <= UInt128(UInt64.max) {
                (whole, fraction) = UInt64(m).quotientAndRemainder(dividingBy: unit)
            } else {
                // The quotient fits 64 bits exactly when the high word is below the divisor:
                // then it is one 128-by-64-bit division (the runtime's `__udivti3` does a
                // single `div` for it), with no digit loop over 128 bits.
                let high = UInt64(truncatingIfNeeded: m >> 64)
                guard high < unit else { return writeWideDigits(raw, scale: scale, trimTrailingZeros: trimTrailingZeros, into: out) }
                (whole, fraction) = unit.dividingFullWidth((high: high, low: UInt64(truncatingIfNeeded: m)))
            }
            var n = 0
            if raw < 0 { out[0] = UInt8(ascii: "-"); n = 1 }
            n += writeDigits(whole, minimumDigits: 1, into: out + n)
            var places = scale
            if trimTrailingZeros {
                if fraction == 0 { places = 0 }
                while places >= 8 && fraction % 100_000_000 == 0 { fraction /= 100_000_000; places -= 8 }
                while places > 0 && fraction % 10 == 0 { fraction /= 10; places -= 1 }
            }
            if places > 0 {
                out[n] = UInt8(ascii: "."); n += 1
                n += writeDigits(fraction, minimumDigits: places, into: out + n)
            }
            return n
        }
        return writeWideDigits(raw, scale: scale, trimTrailingZeros: trimTrailingZeros, into: out)
    }

    /// Writes `value` in decimal, left-padded with zeros to `minimumDigits`; returns the length.
    /// Two digits per division, from a table of the pairs "00"..."99" (the store formats
    /// several amounts of money per fill; that formatting was 8 % of its thread's samples).
    @inline(__always)
    static func writeDigits(_ value: UInt64, minimumDigits: Int, into out: UnsafeMutablePointer<UInt8>) -> Int {
        let count = max(decimalDigits(value), minimumDigits)
        var v = value
        var i = count
        digitPairs.withUnsafeBufferPointer { pairs in
            while v >= 100 {
                let r = Int(v % 100)
                v /= 100
                i -= 2
                out[i] = pairs[2 &* r]
                out[i &+ 1] = pairs[2 &* r &+ 1]
            }
            if v >= 10 {
                i -= 2
                out[i] = pairs[2 &* Int(v)]
                out[i &+ 1] = pairs[2 &* Int(v) &+ 1]
            } else {
                i -= 1
                out[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v)
            }
        }
        while i > 0 { i -= 1; out[i] = UInt8(ascii: "0") }
        return count
    }

    /// The number of decimal digits of `v` (1 for 0).
    @inline(__always)
    static func decimalDigits(_ v: UInt64) -> Int {
        // log10 from the bit length (1233/4096 ≈ log10 2), corrected by one comparison.
        let bits = 64 &- (v | 1).leadingZeroBitCount
        let t = (bits &* 1233) >> 12
        if t >= 19 { return v >= 10_000_000_000_000_000_000 ? 20 : 19 }
        return v >= UInt64(powersOfTen[t]) ? t &+ 1 : max(t, 1)
    }

    /// "00", "01", … "99" as ASCII bytes.
    static let digitPairs: [UInt8] = (0..<100).flatMap { [UInt8(ascii: "0") + UInt8($0 / 10), UInt8(ascii: "0") + UInt8($0 % 10)] }

    /// The general case: any 128-bit value at any scale, digit by digit.
    static func writeWideDigits(_ raw: Int128, scale: Int, trimTrailingZeros: Bool, into out: UnsafeMutablePointer<UInt8>) -> Int {
        // Digits of the magnitude, least significant first, in chunks of 19 (one 128-bit
        // division per chunk, then 64-bit arithmetic).
        var digits: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)  // 64 bytes
        return withUnsafeMutableBytes(of: &digits) { d -> Int in
            let digit = d.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var count = 0
            var m = raw.magnitude
            let chunk: UInt128 = 10_000_000_000_000_000_000
            while m > UInt128(UInt64.max) {
                let (q, r) = m.quotientAndRemainder(dividingBy: chunk)
                var v = UInt64(r)
                for _ in 0..<19 { digit[count] = UInt8(truncatingIfNeeded: v % 10); v /= 10; count += 1 }
                m = q
            }
            var v = UInt64(m)
            repeat { digit[count] = UInt8(truncatingIfNeeded: v % 10); v /= 10; count += 1 } while v != 0
            // digit[i] is the digit of 10^i; the point sits between 10^scale and 10^(scale-1).
            let scale = max(0, scale)
            var low = 0
            if trimTrailingZeros { while low < scale && (low >= count || digit[low] == 0) { low += 1 } }
            var n = 0
            if raw < 0 { out[n] = UInt8(ascii: "-"); n += 1 }
            let top = max(count, scale + 1)
            for i in stride(from: top - 1, through: scale, by: -1) { out[n] = UInt8(ascii: "0") &+ (i < count ? digit[i] : 0); n += 1 }
            if low < scale {
                out[n] = UInt8(ascii: "."); n += 1
                for i in stride(from: scale - 1, through: low, by: -1) { out[n] = UInt8(ascii: "0") &+ (i < count ? digit[i] : 0); n += 1 }
            }
            return n
        }
    }
}

/// A price as an integer count of `10^-scale` units; the scale belongs to the instrument.
@frozen
public struct Price: Hashable, Comparable, Sendable {
    /// The scaled integer.
    public var raw: Int64
    @inlinable public init(raw: Int64) { self.raw = raw }
    @inlinable public static func < (a: Price, b: Price) -> Bool { a.raw < b.raw }
    /// Zero, also used for "no price" on market orders.
    public static let zero = Price(raw: 0)
}

/// A quantity as an integer count of `10^-scale` lots; signed where it is a position.
@frozen
public struct Quantity: Hashable, Comparable, Sendable {
    /// The scaled integer.
    public var raw: Int64
    @inlinable public init(raw: Int64) { self.raw = raw }
    @inlinable public static func < (a: Quantity, b: Quantity) -> Bool { a.raw < b.raw }
    /// Zero lots.
    public static let zero = Quantity(raw: 0)
    @inlinable public var magnitude: Quantity { Quantity(raw: raw < 0 ? -raw : raw) }
    @inlinable public static prefix func - (q: Quantity) -> Quantity { Quantity(raw: -q.raw) }
    @inlinable public static func + (a: Quantity, b: Quantity) -> Quantity { Quantity(raw: a.raw + b.raw) }
    @inlinable public static func - (a: Quantity, b: Quantity) -> Quantity { Quantity(raw: a.raw - b.raw) }
}

/// A fee or commission rate as an integer count of 10^-8 (so 0.2 % = 200_000).
@frozen
public struct Rate: Hashable, Sendable {
    /// Digits after the point a rate may carry.
    public static let scale = 8
    /// Parts per 10^8.
    public var raw: Int64
    @inlinable public init(raw: Int64) { self.raw = raw }
    /// No fee.
    public static let zero = Rate(raw: 0)
    /// Parses decimal text such as `0.002`; nil when it has more than 8 decimals.
    public init?<S: StringProtocol>(parsing text: S) {
        guard let raw = FixedPoint.parse(text, scale: Rate.scale) else { return nil }
        self.raw = raw
    }
    /// Decimal text of the rate.
    public var text: String { FixedPoint.formatWide(Int128(raw), scale: Rate.scale, trimTrailingZeros: true) }
}
