import RetraceCore
import RetraceEngine

/// Mean reversion on a rolling z-score: over the last `window` prices (quote mid, trade
/// price, bar close, or the depth touch's mid), z = (price − mean) / standard deviation.
/// Above `entry_z` it goes short `size`, below −`entry_z` long `size`; once |z| falls under
/// `exit_z` it goes flat. It sends market orders for the difference to its target, one at
/// a time (the next waits until the last has finished).
///
/// The decision is exact integer arithmetic: with n prices, sum S and sum of squares Q,
/// z > k ⟺ d = n·p − S > 0 and d² > k²·(n·Q − S²); no floating point is involved.
public struct MeanReversion: Strategy {
    public static let name = "mean-reversion"
    public static let summary = "rolling z-score of the price: short above entry_z, long below −entry_z, flat inside exit_z"
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("window", "50", "prices in the rolling mean and deviation (2–10000)"),
        ParameterSpec("entry_z", "2", "z-score that opens a position (decimal, 2 places)"),
        ParameterSpec("exit_z", "0.5", "z-score inside which the position is closed (decimal, 2 places; below entry_z)"),
        ParameterSpec("size", "1", "position size in units (decimal)"),
        ParameterSpec("instrument", "", "symbol to trade (default: the run's first instrument)"),
    ]

    let window: Int
    /// Hundredths.
    let entry: Int128
    let exit: Int128
    let sizeText: String
    let symbol: String
    var instrument: InstrumentID?
    var size = Quantity.zero
    var prices: [Int64] = []
    var next = 0
    var sum: Int128 = 0
    var sumSquares: Int128 = 0
    var pending: ClientOrderID?

    public init(parameters p: ParameterValues) throws(EngineError) {
        window = try p.positiveInt("window")
        guard window >= 2 && window <= 10_000 else { throw EngineError(.invalidParameter, "parameter window=\(window): expected 2 to 10000") }
        func hundredths(_ key: String) throws(EngineError) -> Int128 {
            guard let v = FixedPoint.parse(p.text(key), scale: 2), v >= 0, v <= 10_000 else {
                throw EngineError(.invalidParameter, "parameter \(key)=\(p.text(key)): expected a number from 0 to 100 with at most 2 decimals")
            }
            return Int128(v)
        }
        entry = try hundredths("entry_z")
        exit = try hundredths("exit_z")
        guard exit < entry else { throw EngineError(.invalidParameter, "parameter exit_z must be below entry_z") }
        sizeText = p.text("size")
        symbol = p.text("instrument")
        prices.reserveCapacity(window)
    }

    public mutating func onStart(_ context: inout StrategyContext) throws(EngineError) {
        guard let i = try context.tradedInstrument(symbol: symbol) else { return }
        size = try ParameterValues.lots("size", sizeText, of: i)
        instrument = i.id
    }

    /// Twice the price (so a mid of two ticks stays an integer).
    func price(_ event: Event, _ context: borrowing StrategyContext) -> Int64? {
        switch event.body {
        case .quoteReceived(let q) where q.instrument == instrument && q.bidPrice.raw > 0 && q.askPrice.raw > 0: return q.bidPrice.raw + q.askPrice.raw
        case .tradeReceived(let t) where t.instrument == instrument: return 2 * t.price.raw
        case .barReceived(let b) where b.instrument == instrument: return 2 * b.close.raw
        case .l2LevelUpdated(let u) where u.instrument == instrument:
            let t = context.touch(u.instrument)
            guard let bid = t.bid, let ask = t.ask else { return nil }
            return bid.raw + ask.raw
        default: return nil
        }
    }

    public mutating func onMarket(_ event: Event, _ context: inout StrategyContext) {
        guard let id = instrument, let p = price(event, context) else { return }
        if prices.count < window {
            prices.append(p)
        } else {
            let old = Int128(prices[next])
            sum -= old
            sumSquares -= old * old
            prices[next] = p
            next = (next + 1) % window
        }
        sum += Int128(p)
        sumSquares += Int128(p) * Int128(p)
        guard prices.count == window, pending == nil else { return }
        let n = Int128(window)
        let d = n * Int128(p) - sum
        let spread = n * sumSquares - sum * sum  // n² · variance
        guard spread > 0 else { return }
        // |z| > k  ⟺  d² · 100² > k² · spread (k in hundredths). Extreme prices could
        // overflow 128 bits; those compare in IEEE doubles (still the same on every machine).
        func beyond(_ k: Int128) -> Bool {
            let (l1, o1) = d.multipliedReportingOverflow(by: d)
            let (l2, o2) = l1.multipliedReportingOverflow(by: 10_000)
            let (r, o3) = (k * k).multipliedReportingOverflow(by: spread)
            if !(o1 || o2 || o3) { return l2 > r }
            return Double(d) * Double(d) * 10_000 > Double(k * k) * Double(spread)
        }
        let position = context.position(id).raw
        var target = position
        if beyond(entry) {
            target = d > 0 ? -size.raw : size.raw
        } else if !beyond(exit) {
            target = 0
        }
        guard target != position else { return }
        pending = context.submitMarket(id, target > position ? .buy : .sell, quantity: Quantity(raw: abs(target - position)))
    }

    mutating func finished(_ id: ClientOrderID) { if pending == id { pending = nil } }
    public mutating func onFill(_ fill: OrderFilled, _ context: inout StrategyContext) { if fill.leavesQuantity.raw == 0 { finished(fill.orderID) } }
    public mutating func onCanceled(_ cancel: OrderCanceled, _ context: inout StrategyContext) { finished(cancel.orderID) }
    public mutating func onRejected(_ reject: OrderRejected, _ context: inout StrategyContext) { finished(reject.orderID) }
}

extension MeanReversion {
    public func saveState(_ w: inout StateWriter) -> Bool {
        w.put(instrument); w.put(size); w.putWords(prices); w.put(next); w.put(sum); w.put(sumSquares); w.put(pending)
        return true
    }
    public mutating func restoreState(_ r: inout StateReader) throws(CoreError) {
        (instrument, size, prices, next) = (try r.get(), try r.get(), try r.words(), try r.get())
        (sum, sumSquares, pending) = (try r.get(), try r.get(), try r.get())
        guard prices.count <= window, next >= 0, next <= max(window - 1, 0) else { throw CoreError(.invalidState, "engine state: mean-reversion window of \(prices.count) prices, expected at most \(window)") }
    }
}
