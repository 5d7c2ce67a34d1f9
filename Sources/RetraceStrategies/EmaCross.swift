import RetraceCore
import RetraceEngine

/// EMA crossover on the quote mid price, trading a fixed size on every cross.
///
/// EMA(n) on mid = (bid + ask) / 2 with α = 2 / (n + 1), seeded with the first mid.
/// Signals start once the slow EMA has seen `slow` mids; that first tick only records
/// `state = fast > slow`. Each later change of state sends a market order of `size`:
/// buy when it turns true, sell when it turns false (the NautilusTrader EMA-cross
/// example and the peer benchmark's reference use the same rules).
///
/// The EMAs are IEEE-754 doubles: an indicator, not account state. The operations are
/// the same on every machine, so decisions are reproducible bit for bit.
public struct EmaCross: Strategy {
    public static let name = "ema-cross"
    public static let summary = "EMA(fast) / EMA(slow) cross on the quote mid; fixed-size market order on each cross"
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("fast", "10", "fast EMA period (quotes)"),
        ParameterSpec("slow", "20", "slow EMA period (quotes)"),
        ParameterSpec("size", "1", "order size in units of the instrument (decimal)"),
        ParameterSpec("instrument", "", "symbol to trade (default: the run's first instrument)"),
    ]

    let fastAlpha: Double
    let slowAlpha: Double
    let slow: Int
    let sizeText: String
    let symbol: String
    var instrument: InstrumentID?
    var size = Quantity.zero
    var fastEMA = 0.0
    var slowEMA = 0.0
    var seen = 0
    var state: Bool?
    var midDivisor = 1.0

    public init(parameters p: ParameterValues) throws(EngineError) {
        let fast = try p.positiveInt("fast")
        slow = try p.positiveInt("slow")
        guard fast < slow else { throw EngineError(.invalidParameter, "parameter fast=\(fast) must be smaller than slow=\(slow)") }
        fastAlpha = 2.0 / (Double(fast) + 1.0)
        slowAlpha = 2.0 / (Double(slow) + 1.0)
        sizeText = p.text("size")
        symbol = p.text("instrument")
        guard let digits = FixedPoint.fractionalDigits(sizeText), !sizeText.hasPrefix("-"), digits <= 12 else {
            throw EngineError(.invalidParameter, "parameter size=\(sizeText): expected a positive decimal")
        }
    }

    public mutating func onStart(_ context: inout StrategyContext) throws(EngineError) {
        if let i = try context.tradedInstrument(symbol: symbol) { try bind(i) }
    }

    mutating func bind(_ i: Instrument) throws(EngineError) {
        size = try ParameterValues.lots("size", sizeText, of: i)
        instrument = i.id
        midDivisor = 2.0 * Double(FixedPoint.powersOfTen[i.priceScale])
    }

    public mutating func onMarket(_ event: Event, _ context: inout StrategyContext) {
        guard case .quoteReceived(let q) = event.body else { return }
        guard q.instrument == instrument else { return }
        let mid = Double(q.bidPrice.raw + q.askPrice.raw) / midDivisor
        if seen == 0 { fastEMA = mid; slowEMA = mid }
        fastEMA = fastAlpha * mid + (1.0 - fastAlpha) * fastEMA
        slowEMA = slowAlpha * mid + (1.0 - slowAlpha) * slowEMA
        seen += 1
        guard seen >= slow else { return }
        let now = fastEMA > slowEMA
        guard let previous = state else { state = now; return }
        guard now != previous else { return }
        state = now
        context.submitMarket(q.instrument, now ? .buy : .sell, quantity: size)
    }
}

extension EmaCross {
    public func saveState(_ w: inout StateWriter) -> Bool {
        w.put(instrument); w.put(size); w.put(fastEMA); w.put(slowEMA); w.put(seen); w.put(state); w.put(midDivisor)
        return true
    }
    public mutating func restoreState(_ r: inout StateReader) throws(CoreError) {
        (instrument, size, fastEMA, slowEMA, seen, state, midDivisor) = (try r.get(), try r.get(), try r.get(), try r.get(), try r.get(), try r.get(), try r.get())
    }
}
