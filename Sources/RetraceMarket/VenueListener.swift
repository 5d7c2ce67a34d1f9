import RetraceCore

/// Who hears the venue's answers. The engine's ledger implements it: each fill is applied
/// to the account before the venue handles the next order, so an all-in order sized after
/// a closing fill sees the cash that fill released.
public protocol VenueListener {
    mutating func venueAccepted(_ event: OrderAccepted)
    mutating func venueRejected(_ event: OrderRejected)
    mutating func venueCanceled(_ event: OrderCanceled)
    mutating func venueFilled(_ event: OrderFilled)
    /// Whole units an all-in order may take at `price` with fee `feeRate`: the largest
    /// `u` with `u × price × (1 + feeRate) < available funds`.
    func allInQuantity(instrument: Instrument, price: Price, feeRate: Rate) -> Quantity
}

/// Fees charged by the simulated venue.
public struct FeeSchedule: Equatable, Sendable {
    /// Rate for fills that rested (limit orders filled later).
    public var maker: Rate
    /// Rate for fills that took liquidity (market orders, marketable limits).
    public var taker: Rate
    public init(maker: Rate, taker: Rate) { (self.maker, self.taker) = (maker, taker) }
    /// The rate for a liquidity flag.
    @inlinable public func rate(_ liquidity: Liquidity) -> Rate { liquidity == .maker ? maker : taker }
}
