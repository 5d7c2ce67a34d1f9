import RetraceCore

/// Groups fills into round-trip trades: a trade opens when a position leaves zero and
/// closes when it returns to zero; a fill that flips the position closes one trade and
/// opens the next (its fee split pro rata by quantity).
public struct RoundTripTracker: Sendable {
    struct Open: Sendable {
        var size: Int64 = 0          // signed lots opened
        var entryTime = Timestamp.zero
        var entryValue = Money.zero
        var exitValue = Money.zero
        var commission = Money.zero
        var realizedAtOpen = Money.zero
    }

    private var instruments: [Instrument?] = []
    private var open: [Open?] = []
    private var lastQuantity: [Int64] = []
    private var nextTradeID: Int64 = 1

    public init() {}

    /// Registers an instrument.
    public mutating func define(_ instrument: Instrument) {
        let i = Int(instrument.id.raw)
        while instruments.count <= i { instruments.append(nil); open.append(nil); lastQuantity.append(0) }
        instruments[i] = instrument
    }

    /// The instrument's definition.
    public func instrument(_ id: InstrumentID) -> Instrument? { Int(id.raw) < instruments.count ? instruments[Int(id.raw)] : nil }

    /// Feeds one fill with the position it produced; returns a trade when one closed.
    public mutating func onFill(_ fill: OrderFilled, position: PositionChanged, time: Timestamp) -> TradeRow? {
        let i = Int(fill.instrument.raw)
        guard i < instruments.count, let instrument = instruments[i] else { return nil }
        let before = lastQuantity[i]
        let after = position.quantity.raw
        lastQuantity[i] = after
        let sign = fill.side.sign
        let closing = (before != 0 && (before > 0) != (sign > 0)) ? min(fill.quantity.raw, abs(before)) : 0
        let opening = fill.quantity.raw - closing
        func value(_ lots: Int64) -> Money {
            Money.notional(price: fill.price, quantity: Quantity(raw: lots), priceScale: instrument.priceScale, quantityScale: instrument.quantityScale)
        }
        let closeFee = Money(raw: fill.fee.raw * Int128(closing) / Int128(fill.quantity.raw))
        var finished: TradeRow?
        if closing > 0, var t = open[i] {
            t.exitValue += value(closing)
            t.commission += closeFee
            if before + sign * closing == 0 {
                let pnl = position.realizedPnL - t.realizedAtOpen - t.commission
                finished = TradeRow(tradeID: nextTradeID, instrument: fill.instrument, size: Quantity(raw: t.size), entryTime: t.entryTime,
                                    exitTime: time, entryValue: t.entryValue, exitValue: t.exitValue, pnl: pnl, commission: t.commission)
                nextTradeID += 1
                open[i] = nil
            } else {
                open[i] = t
            }
        }
        if opening > 0 {
            var t = open[i] ?? Open(entryTime: time, realizedAtOpen: position.realizedPnL)
            t.size += sign * opening
            t.entryValue += value(opening)
            t.commission += fill.fee - closeFee
            open[i] = t
        }
        return finished
    }
}
