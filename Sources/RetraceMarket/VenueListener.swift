import RetraceCore

/// Who hears the venue's answers. The engine's ledger implements it: each fill is applied
/// to the account before the venue handles the next order, so an all-in order sized after
/// a closing fill sees the cash that fill released.
public protocol VenueListener {
    mutating func venueAccepted(_ event: OrderAccepted)
    mutating func venueRejected(_ event: OrderRejected)
    mutating func venueCanceled(_ event: OrderCanceled)
    mutating func venueFilled(_ event: OrderFilled)
    mutating func venueModified(_ event: OrderModified)
    /// Whole units an all-in order may take at `price` with fee `feeRate`: the largest
    /// `u` with `u × price × (1 + feeRate) < available funds`.
    func allInQuantity(instrument: Instrument, price: Price, feeRate: Rate) -> Quantity
}

extension VenueListener {
    public mutating func venueModified(_ event: OrderModified) {}
}

/// Fees charged by a simulated venue: a rate on traded value and a fixed amount per unit,
/// each for maker and taker fills. Negative values are rebates.
public struct FeeSchedule: Equatable, Sendable {
    /// Rate for fills that rested (limit orders filled later).
    public var maker: Rate
    /// Rate for fills that took liquidity (market orders, marketable limits).
    public var taker: Rate
    /// Charged per whole unit filled as maker (negative: a rebate).
    public var makerPerUnit: Money
    /// Charged per whole unit filled as taker.
    public var takerPerUnit: Money
    public init(maker: Rate, taker: Rate, makerPerUnit: Money = .zero, takerPerUnit: Money = .zero) {
        (self.maker, self.taker, self.makerPerUnit, self.takerPerUnit) = (maker, taker, makerPerUnit, takerPerUnit)
    }
    /// The rate for a liquidity flag.
    @inlinable public func rate(_ liquidity: Liquidity) -> Rate { liquidity == .maker ? maker : taker }

    /// The fee of one fill: rate × notional + per-unit amount × units.
    public func fee(price: Price, quantity: Quantity, liquidity: Liquidity, instrument: Instrument) -> Money {
        var fee = Money.fee(price: price, quantity: quantity, rate: rate(liquidity), priceScale: instrument.priceScale, quantityScale: instrument.quantityScale)
        let perUnit = liquidity == .maker ? makerPerUnit : takerPerUnit
        if perUnit.raw != 0 {
            fee = fee + Money(raw: perUnit.raw * Int128(quantity.magnitude.raw) / Int128(instrument.unitLots))
        }
        return fee
    }
}
