import RetraceCore

/// Cash, positions and PnL, all in fixed point.
///
/// Cash moves by the full traded value (buy: −price × quantity; sell: +) and by fees.
/// Equity is cash plus every position marked at its instrument's mark price (mid for
/// quotes, last trade, or the bar's close).
public struct Portfolio: Sendable {
    /// One instrument's position.
    public struct Position: Equatable, Sendable {
        /// Signed lots.
        public var quantity = Quantity.zero
        /// Signed entry value of the open quantity.
        public var costBasis = Money.zero
        /// Realized PnL before fees, cumulative.
        public var realizedPnL = Money.zero
        /// Fees paid, cumulative.
        public var fees = Money.zero
        /// Twice the mark price (so a mid of two prices stays exact); 0 = no mark yet.
        public var markTwice: Int64 = 0
        public init() {}
    }

    public private(set) var cash: Money
    public private(set) var instruments: [Instrument?] = []
    public private(set) var positions: [Position] = []
    public private(set) var fees = Money.zero
    public private(set) var realizedPnL = Money.zero

    public init(cash: Money) { self.cash = cash }

    /// Registers an instrument.
    public mutating func define(_ instrument: Instrument) {
        let i = Int(instrument.id.raw)
        while instruments.count <= i { instruments.append(nil); positions.append(Position()) }
        instruments[i] = instrument
    }

    /// An instrument's definition (nil if the run has no such instrument).
    @inlinable public func instrument(_ id: InstrumentID) -> Instrument? {
        Int(id.raw) < instruments.count ? instruments[Int(id.raw)] : nil
    }

    /// The position in an instrument (flat if unknown).
    @inlinable public func position(_ id: InstrumentID) -> Position {
        Int(id.raw) < positions.count ? positions[Int(id.raw)] : Position()
    }

    /// Updates the mark price from a market event; returns true when it changed.
    @discardableResult
    public mutating func mark(_ body: EventBody) -> Bool {
        let (id, twice): (InstrumentID, Int64)
        switch body {
        case .quoteReceived(let q) where q.bidPrice.raw > 0 && q.askPrice.raw > 0: (id, twice) = (q.instrument, q.bidPrice.raw + q.askPrice.raw)
        case .tradeReceived(let t): (id, twice) = (t.instrument, 2 * t.price.raw)
        case .barReceived(let b): (id, twice) = (b.instrument, 2 * b.close.raw)
        default: return false
        }
        guard Int(id.raw) < positions.count, positions[Int(id.raw)].markTwice != twice else { return false }
        positions[Int(id.raw)].markTwice = twice
        return true
    }

    /// Marks an instrument at an explicit price (L2 books, close-outs).
    public mutating func mark(_ id: InstrumentID, twice: Int64) {
        if Int(id.raw) < positions.count { positions[Int(id.raw)].markTwice = twice }
    }

    /// Unrealized PnL of all positions at their marks.
    public var unrealizedPnL: Money {
        var total = Money.zero
        for (i, p) in positions.enumerated() where p.quantity.raw != 0 {
            total += marketValue(p, instruments[i]!) - p.costBasis
        }
        return total
    }

    /// Cash plus positions at their marks.
    public var equity: Money { cash + positionsValue }

    /// Signed value of a position at its mark (its cost when it has no mark yet).
    func marketValue(_ p: Position, _ instrument: Instrument) -> Money {
        if p.markTwice == 0 { return p.costBasis }
        let twice = Money.notional(price: Price(raw: p.markTwice), quantity: p.quantity, priceScale: instrument.priceScale, quantityScale: instrument.quantityScale)
        return Money(raw: twice.raw / 2)  // exact: Money's scale exceeds price + quantity scale
    }

    /// The balance snapshot recorded on the equity curve.
    public var balance: BalanceChanged {
        let unrealized = unrealizedPnL
        return BalanceChanged(cash: cash, equity: equity, realizedPnL: realizedPnL, unrealizedPnL: unrealized, fees: fees)
    }

    private var positionsValue: Money {
        var total = Money.zero
        for (i, p) in positions.enumerated() where p.quantity.raw != 0 { total += marketValue(p, instruments[i]!) }
        return total
    }

    /// Applies a fill and returns the instrument's new position.
    public mutating func apply(_ fill: OrderFilled) -> PositionChanged {
        let i = Int(fill.instrument.raw)
        guard let instrument = instruments[i] else { preconditionFailure("fill for undefined instrument \(fill.instrument.raw)") }
        precondition(fill.quantity.raw > 0, "fill quantity must be positive, got \(fill.quantity.raw)")
        var p = positions[i]
        let sign = fill.side.sign
        let notional = Money.notional(price: fill.price, quantity: fill.quantity, priceScale: instrument.priceScale, quantityScale: instrument.quantityScale)
        cash -= Money(raw: Int128(sign) * notional.raw)
        cash -= fill.fee
        fees += fill.fee
        p.fees += fill.fee
        var remaining = fill.quantity.raw
        if p.quantity.raw != 0 && (p.quantity.raw > 0) != (sign > 0) {
            let open = p.quantity.magnitude.raw
            let closing = min(remaining, open)
            let costPortion = Money(raw: p.costBasis.raw * Int128(closing) / Int128(open))
            let closeValue = Money.notional(price: fill.price, quantity: Quantity(raw: closing), priceScale: instrument.priceScale, quantityScale: instrument.quantityScale)
            let realized = Money(raw: Int128(-sign) * closeValue.raw) - costPortion
            p.realizedPnL += realized
            realizedPnL += realized
            p.costBasis -= costPortion
            p.quantity.raw += sign * closing
            remaining -= closing
        }
        if remaining > 0 {
            let openValue = Money.notional(price: fill.price, quantity: Quantity(raw: remaining), priceScale: instrument.priceScale, quantityScale: instrument.quantityScale)
            p.costBasis += Money(raw: Int128(sign) * openValue.raw)
            p.quantity.raw += sign * remaining
        }
        if p.quantity.raw == 0 { p.costBasis = .zero }
        positions[i] = p
        return PositionChanged(instrument: fill.instrument, quantity: p.quantity, costBasis: p.costBasis, realizedPnL: p.realizedPnL, fees: p.fees)
    }

    /// Funds free for a new all-in position: equity less the value of open positions.
    public var availableFunds: Money {
        var used = Money.zero
        for (i, p) in positions.enumerated() where p.quantity.raw != 0 {
            let v = marketValue(p, instruments[i]!)
            used += v.raw < 0 ? -v : v
        }
        return equity - used
    }

    /// The largest whole number of units `u` with `u × price × (1 + feeRate) < available funds`.
    public func allInQuantity(instrument: Instrument, price: Price, feeRate: Rate) -> Quantity {
        let available = availableFunds.raw
        guard available > 0, price.raw > 0 else { return .zero }
        let rateOne = Int128(FixedPoint.powersOfTen[Rate.scale])
        let scaledFunds = available * rateOne
        let unitCost = Int128(price.raw) * Money.power(Money.scale - instrument.priceScale) * (rateOne + Int128(feeRate.raw))
        let units = (scaledFunds - 1) / unitCost
        return Quantity(raw: Int64(units) * instrument.unitLots)
    }
}

extension Portfolio.Position: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.put(quantity); w.put(costBasis); w.put(realizedPnL); w.put(fees); w.word(markTwice) }
    public init(state r: inout StateReader) throws(CoreError) {
        self.init()
        (quantity, costBasis, realizedPnL, fees, markTwice) = (try r.get(), try r.get(), try r.get(), try r.get(), try r.word())
    }
}

extension Portfolio: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.put(cash); w.put(instruments); w.put(positions); w.put(fees); w.put(realizedPnL) }
    public init(state r: inout StateReader) throws(CoreError) {
        self.init(cash: try r.get())
        (instruments, positions, fees, realizedPnL) = (try r.array(), try r.array(), try r.get(), try r.get())
        guard instruments.count == positions.count else { throw CoreError(.invalidState, "engine state: \(instruments.count) instruments and \(positions.count) positions") }
    }
}
