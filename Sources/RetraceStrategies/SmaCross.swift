import RetraceCore
import RetraceEngine

/// Simple-moving-average crossover on bar closes, always in the market after the first
/// cross (backtesting.py's `SmaCross` example).
///
/// SMA(n) = mean of the last n closes, computed exactly in integers. An up-cross is
/// `fast < slow` on the previous bar and `fast > slow` on this one (strict on both sides);
/// a down-cross the mirror. On an up-cross: close any position, then buy; on a down-cross:
/// close, then sell short. Orders are market orders, so they fill at the next bar's open.
/// `sizing=all` buys the largest whole number of units the account affords at the fill
/// price including commission; a number trades that many units.
public struct SmaCross: Strategy {
    public static let name = "sma-cross"
    public static let summary = "SMA(fast) / SMA(slow) cross on bar closes; close and reverse on each cross"
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("fast", "10", "fast SMA period (bars)"),
        ParameterSpec("slow", "20", "slow SMA period (bars)"),
        ParameterSpec("sizing", "all", "'all' (all-in, whole units, sized at the fill price) or a fixed size in units"),
        ParameterSpec("instrument", "", "symbol to trade (default: the run's first instrument)"),
    ]

    let fast: Int
    let slow: Int
    let sizingText: String
    let symbol: String
    var instrument: InstrumentID?
    var fixedSize: Quantity?
    var closes: [Int64]
    var count = 0
    var previousSign: Int?

    public init(parameters p: ParameterValues) throws(EngineError) {
        fast = try p.positiveInt("fast")
        slow = try p.positiveInt("slow")
        guard fast < slow else { throw EngineError(.invalidParameter, "parameter fast=\(fast) must be smaller than slow=\(slow)") }
        sizingText = p.text("sizing")
        symbol = p.text("instrument")
        if sizingText != "all" {
            guard let digits = FixedPoint.fractionalDigits(sizingText), !sizingText.hasPrefix("-"), digits <= 12 else {
                throw EngineError(.invalidParameter, "parameter sizing=\(sizingText): expected 'all' or a positive number of units")
            }
        }
        closes = [Int64](repeating: 0, count: slow)
    }

    public mutating func onStart(_ context: inout StrategyContext) throws(EngineError) {
        if let i = try context.tradedInstrument(symbol: symbol) { try bind(i) }
    }

    mutating func bind(_ i: Instrument) throws(EngineError) {
        instrument = i.id
        guard sizingText != "all" else { return }
        fixedSize = try ParameterValues.lots("sizing", sizingText, of: i)
    }

    /// Sum of the last `n` closes (n ≤ count).
    func sum(_ n: Int) -> Int64 {
        var total: Int64 = 0
        for k in 0..<n { total += closes[(count - 1 - k) % slow] }
        return total
    }

    public mutating func onMarket(_ event: Event, _ context: inout StrategyContext) {
        guard case .barReceived(let bar) = event.body else { return }
        guard bar.instrument == instrument else { return }
        closes[count % slow] = bar.close.raw
        count += 1
        guard count >= slow else { return }
        // fast mean vs slow mean, exactly: fastSum × slow vs slowSum × fast
        let difference = Int128(sum(fast)) * Int128(slow) - Int128(sum(slow)) * Int128(fast)
        let sign = difference > 0 ? 1 : (difference < 0 ? -1 : 0)
        defer { previousSign = sign }
        guard let previous = previousSign, previous != 0, sign == -previous else { return }
        let side: Side = sign > 0 ? .buy : .sell
        let position = context.position(bar.instrument)
        if position.raw != 0 {
            context.submitMarket(bar.instrument, position.raw > 0 ? .sell : .buy, quantity: position.magnitude)
        }
        if let size = fixedSize {
            context.submitMarket(bar.instrument, side, quantity: size)
        } else {
            context.submitMarket(bar.instrument, side, quantity: .zero, sizing: .allEquity)
        }
    }
}

extension SmaCross {
    public func saveState(_ w: inout StateWriter) -> Bool {
        w.put(instrument); w.put(fixedSize); w.putWords(closes); w.put(count); w.put(previousSign)
        return true
    }
    public mutating func restoreState(_ r: inout StateReader) throws(CoreError) {
        let restored: (InstrumentID?, Quantity?, [Int64], Int, Int?) = (try r.get(), try r.get(), try r.words(), try r.get(), try r.get())
        guard restored.2.count == closes.count else { throw CoreError(.invalidState, "engine state: SMA window of \(restored.2.count) closes, expected \(closes.count)") }
        (instrument, fixedSize, closes, count, previousSign) = restored
    }
}
