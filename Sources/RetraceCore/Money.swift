/// An amount of account currency, exact to 10^-18.
///
/// Money is never rounded to cents in state. With prices and quantities at the
/// instrument's scales and rates at 10^-8, `price × quantity × rate` is exact whenever
/// `priceScale + quantityScale ≤ 10`; beyond that the last digit is rounded half to even
/// (deterministically) — see `Money.notional` and `Money.fee`.
@frozen
public struct Money: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Fractional digits of every Money value.
    public static let scale = 18
    /// 10^18 as a 128-bit integer.
    public static let one: Int128 = 1_000_000_000_000_000_000
    /// The amount × 10^18.
    public var raw: Int128
    @inlinable public init(raw: Int128) { self.raw = raw }
    /// Nothing.
    public static let zero = Money(raw: 0)

    @inlinable public static func < (a: Money, b: Money) -> Bool { a.raw < b.raw }
    @inlinable public static func + (a: Money, b: Money) -> Money { Money(raw: a.raw + b.raw) }
    @inlinable public static func - (a: Money, b: Money) -> Money { Money(raw: a.raw - b.raw) }
    @inlinable public static prefix func - (a: Money) -> Money { Money(raw: -a.raw) }
    @inlinable public static func += (a: inout Money, b: Money) { a.raw += b.raw }
    @inlinable public static func -= (a: inout Money, b: Money) { a.raw -= b.raw }

    /// Parses decimal text (`10000`, `-12.5`) exactly; nil beyond 18 decimals or on overflow.
    public init?<S: StringProtocol>(parsing text: S) {
        var t = Substring(text)
        var negative = false
        if t.first == "-" { negative = true; t = t.dropFirst() }
        let parts = t.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty || parts.count == 2,
              whole.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        var raw: Int128 = 0
        for c in whole.utf8 { raw = raw * 10 + Int128(c - 48) }
        raw *= Money.one
        if parts.count == 2 {
            let frac = parts[1]
            guard frac.count <= 18, frac.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            var f: Int128 = 0
            for c in frac.utf8 { f = f * 10 + Int128(c - 48) }
            for _ in frac.count..<18 { f *= 10 }
            raw += f
        }
        self.raw = negative ? -raw : raw
    }

    /// `price × quantity` in money, for an instrument with the given scales.
    @inlinable
    public static func notional(price: Price, quantity: Quantity, priceScale: Int, quantityScale: Int) -> Money {
        Money(raw: rescale(Int128(price.raw) * Int128(quantity.raw), from: priceScale + quantityScale))
    }

    /// `price × quantity × rate` in money.
    @inlinable
    public static func fee(price: Price, quantity: Quantity, rate: Rate, priceScale: Int, quantityScale: Int) -> Money {
        let product = Int128(price.raw) * Int128(quantity.magnitude.raw) * Int128(rate.raw)
        return Money(raw: rescale(product, from: priceScale + quantityScale + Rate.scale))
    }

    /// Converts a scaled integer from `scale` digits to Money's 18, rounding half to even.
    @inlinable
    public static func rescale(_ value: Int128, from scale: Int) -> Int128 {
        if scale <= 18 { return value * power(18 - scale) }
        let divisor = power(scale - 18)
        var (q, r) = value.quotientAndRemainder(dividingBy: divisor)
        let twice = r.magnitude * 2
        if twice > divisor.magnitude || (twice == divisor.magnitude && q & 1 != 0) {
            if value < 0 { q -= 1; r += divisor } else { q += 1 }
        }
        return q
    }

    /// 10^e as Int128 (e ≤ 38): from the Int64 table, with one multiplication above 10^18
    /// (it was a loop of e 128-bit multiplications, run for every fee and notional).
    @inlinable
    public static func power(_ e: Int) -> Int128 {
        if e <= 18 { return Int128(FixedPoint.powersOfTen[e]) }
        if e <= 36 { return Int128(FixedPoint.powersOfTen[18]) * Int128(FixedPoint.powersOfTen[e - 18]) }
        var p = power(36)
        for _ in 36..<e { p *= 10 }
        return p
    }

    /// Exact decimal text with trailing zeros removed (`-637.5717`, `10000`).
    public var text: String { FixedPoint.formatWide(raw, scale: Money.scale, trimTrailingZeros: true) }
    public var description: String { text }

    /// The amount as a Double, for reported statistics only (never for state).
    public var approximateDouble: Double {
        let (q, r) = raw.quotientAndRemainder(dividingBy: Money.one)
        return Double(q) + Double(r) / 1e18
    }
}
