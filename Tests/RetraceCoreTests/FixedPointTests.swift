import Testing
@testable import RetraceCore

@Suite("Fixed point")
struct FixedPointTests {
    @Test("decimal text parses exactly at a scale", arguments: [
        ("169.02", 2, Int64(16902)), ("182", 2, 18200), ("-0.5", 3, -500), ("0.000", 0, 0), ("1.50", 1, 15), ("+7", 0, 7),
        ("2e-06", 6, 2), ("8E-06", 8, 800), ("-1.5e3", 0, -1500), ("1.25e1", 1, 125), ("0.5e-1", 2, 5),
    ])
    func parses(text: String, scale: Int, raw: Int64) {
        #expect(FixedPoint.parse(text, scale: scale) == raw)
    }

    @Test("text that would need rounding or is not a number is refused", arguments: ["1.234", "abc", "", "1.2.3", "--1", "1e-3", "1e", "e5", "1e5x"])
    func refuses(text: String) {
        #expect(FixedPoint.parse(text, scale: 2) == nil)
    }

    @Test("fractional digits ignore trailing zeros")
    func digits() {
        #expect(FixedPoint.fractionalDigits("1.50") == 1)
        #expect(FixedPoint.fractionalDigits("100") == 0)
        #expect(FixedPoint.fractionalDigits("0.00012") == 5)
        #expect(FixedPoint.fractionalDigits("x") == nil)
        #expect(FixedPoint.fractionalDigits("2e-06") == 6)
        #expect(FixedPoint.fractionalDigits("1.5e-05") == 6)
        #expect(FixedPoint.fractionalDigits("3e2") == 0)
    }

    @Test("formatting keeps the instrument's precision")
    func formats() {
        #expect(FixedPoint.format(18200, scale: 2) == "182.00")
        #expect(FixedPoint.format(-5, scale: 3) == "-0.005")
        #expect(FixedPoint.format(0, scale: 0) == "0")
    }

    @Test("price × quantity × rate is exact in money")
    func exactFee() {
        // 59 × 169.02 × 0.002 = 19.94436
        let fee = Money.fee(price: Price(raw: 16902), quantity: Quantity(raw: 59), rate: Rate(parsing: "0.002")!, priceScale: 2, quantityScale: 0)
        #expect(fee.text == "19.94436")
        // 0.123 BTC × 61800.3 × 0.00018 = 7601.4369 × 0.00018 = 1.368258642
        let btc = Money.fee(price: Price(raw: 618003), quantity: Quantity(raw: 123), rate: Rate(parsing: "0.00018")!, priceScale: 1, quantityScale: 3)
        #expect(btc.text == "1.368258642")
    }

    @Test("beyond 18 digits money rounds half to even, symmetrically")
    func rounding() {
        #expect(Money.rescale(25, from: 19) == 2)
        #expect(Money.rescale(35, from: 19) == 4)
        #expect(Money.rescale(-25, from: 19) == -2)
        #expect(Money.rescale(-36, from: 19) == -4)
    }

    @Test("powers of ten for money equal repeated multiplication, 10^0 to 10^38")
    func powers() {
        var p: Int128 = 1
        for e in 0...38 {
            #expect(Money.power(e) == p, "10^\(e)")
            if e < 38 { p *= 10 }
        }
    }

    @Test("money parses and prints exactly")
    func moneyText() {
        #expect(Money(parsing: "10000")?.text == "10000")
        #expect(Money(parsing: "-637.5717")?.text == "-637.5717")
        #expect(Money(parsing: "0.000000000000000001")?.raw == 1)
        #expect(Money(parsing: "1.0000000000000000001") == nil)
        #expect(Money(parsing: "12a") == nil)
    }

    /// The straightforward formatter (digits of `String(magnitude)`), kept here as the
    /// reference the allocation-free one must equal.
    static func referenceWide(_ raw: Int128, scale: Int, trim: Bool) -> String {
        var digits = Array(String(raw.magnitude).utf8)
        if digits.count <= scale { digits = Array(repeating: UInt8(ascii: "0"), count: scale - digits.count + 1) + digits }
        let integerPart = digits[..<(digits.count - scale)]
        var fractionPart = digits[(digits.count - scale)...]
        if trim { while fractionPart.last == UInt8(ascii: "0") { fractionPart = fractionPart.dropLast() } }
        var out = raw < 0 ? "-" : ""
        out += String(decoding: integerPart, as: UTF8.self)
        if !fractionPart.isEmpty { out += "." + String(decoding: fractionPart, as: UTF8.self) }
        return out
    }

    @Test("decimal digits: the count and the padded text at every power of ten, one either side, and UInt64.max")
    func decimalDigits() {
        var values: [UInt64] = [0, UInt64.max, UInt64.max - 1]
        var p: UInt64 = 1
        for _ in 0...19 {
            values += [p - 1, p, p + 1]
            if p <= UInt64.max / 10 { p *= 10 }
        }
        for v in values {
            #expect(FixedPoint.decimalDigits(v) == String(v).count, "\(v)")
            for minimum in [1, 3, 20, 22] {
                var out = [UInt8](repeating: 0, count: 24)
                let n = out.withUnsafeMutableBufferPointer { FixedPoint.writeDigits(v, minimumDigits: minimum, into: $0.baseAddress!) }
                let text = String(v)
                #expect(String(decoding: out[..<n], as: UTF8.self) == String(repeating: "0", count: max(0, minimum - text.count)) + text, "\(v) \(minimum)")
            }
        }
    }

    @Test("wide decimal text equals the reference formatter at every scale, sign and width")
    func wideText() {
        var rng = SplitMix64(seed: 11)
        var values: [Int128] = [0, 1, -1, 9, 10, -10, 100, Int128.max, Int128.min + 1, Int128(UInt64.max), -Int128(UInt64.max), Int128(UInt64.max) + 1,
                                10_000_000_000_000_000_000, 10_000_000_000_000_000_000 - 1, 1_000_000_000_000_000_000, 123_000_000_000_000_000_000,
                                42_034_624_854_000_000_000_000, -42_034_624_854_000_000_000_000, 5_000_000_000_000, -700_000_000_000_000,
                                Int128(UInt64.max) * 1_000_000_000_000_000_000 + 999_999_999_999_999_999, (Int128(UInt64.max) + 1) * 1_000_000_000_000_000_000,
                                -(Int128(UInt64.max) + 1) * 1_000_000_000_000_000_000]
        // Amounts of money as runs make them: whole units and cents, fees with trailing zeros.
        for _ in 0..<200 { values.append(Int128(Int64(bitPattern: rng.next()) >> 20) * 10_000_000_000_000 * Int128(rng.next(modulo: 3) == 0 ? 100_000 : 1)) }
        for _ in 0..<400 {
            let hi = Int128(Int64(bitPattern: rng.next())) >> Int128(rng.next(modulo: 64))
            let lo = Int128(rng.next() >> rng.next(modulo: 64))
            values.append(hi << 64 | lo)
            values.append(Int128(Int64(bitPattern: rng.next())) >> Int128(rng.next(modulo: 63)))
        }
        var mismatches = 0
        for v in values {
            for scale in [0, 1, 2, 8, 18, 19, 20, 40] {
                for trim in [false, true] where FixedPoint.formatWide(v, scale: scale, trimTrailingZeros: trim) != Self.referenceWide(v, scale: scale, trim: trim) {
                    mismatches += 1
                }
            }
        }
        #expect(mismatches == 0)
        #expect(Money(raw: 1_500_000_000_000_000_000).text == "1.5")
        #expect(Money(raw: -20_000_000_000_000_000).text == "-0.02")
    }
}
