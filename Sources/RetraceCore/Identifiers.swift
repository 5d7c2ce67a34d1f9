/// Index of an instrument within a run, assigned at import in order of first appearance.
@frozen
public struct InstrumentID: Hashable, Comparable, Sendable {
    public var raw: UInt32
    @inlinable public init(_ raw: UInt32) { self.raw = raw }
    @inlinable public static func < (a: InstrumentID, b: InstrumentID) -> Bool { a.raw < b.raw }
}

/// A client order id: unique and monotonically assigned within a run.
@frozen
public struct ClientOrderID: Hashable, Comparable, Sendable {
    public var raw: UInt64
    @inlinable public init(_ raw: UInt64) { self.raw = raw }
    @inlinable public static func < (a: ClientOrderID, b: ClientOrderID) -> Bool { a.raw < b.raw }
}

/// Buy or sell.
public enum Side: UInt8, Sendable {
    case buy = 1
    case sell = 2

    /// +1 for buy, −1 for sell.
    @inlinable public var sign: Int64 { self == .buy ? 1 : -1 }
    /// The other side.
    @inlinable public var opposite: Side { self == .buy ? .sell : .buy }
}

/// Who initiated a trade print, when the feed says.
public enum AggressorSide: UInt8, Sendable {
    case unknown = 0
    case buyer = 1
    case seller = 2
}

/// Order types of the simulated venue.
public enum OrderType: UInt8, Sendable {
    /// Takes liquidity at any price; what the book cannot fill is cancelled.
    case market = 1
    /// Good till cancelled: takes what crosses, rests the remainder.
    case limit = 2
    /// Immediate or cancel: takes what crosses at or better than the limit, cancels the rest.
    case ioc = 3
    /// Fill or kill: fills completely at or better than the limit at once, or is cancelled whole.
    case fok = 4
    /// Rests only: rejected if it would take liquidity on arrival.
    case postOnly = 5

    /// Carries a limit price (everything but market).
    @inlinable public var hasLimit: Bool { self != .market }
    /// A stable name for listings and exports.
    public var name: String {
        switch self {
        case .market: "market"
        case .limit: "limit"
        case .ioc: "ioc"
        case .fok: "fok"
        case .postOnly: "post_only"
        }
    }
}

/// How the quantity of an order is decided.
public enum OrderSizing: UInt8, Sendable {
    /// The order's quantity field.
    case fixed = 0
    /// As many whole units as the account's equity buys at the fill price, fees included
    /// (`u × price × (1 + fee) < equity`), decided at fill time.
    case allEquity = 1
}

/// Whether a fill added liquidity (maker) or took it (taker).
public enum Liquidity: UInt8, Sendable {
    case maker = 1
    case taker = 2
}

/// Why an order was rejected.
public enum RejectReason: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    case invalidQuantity = 1
    case insufficientFunds = 2
    case unknownInstrument = 3
    case noMarket = 4
    case invalidPrice = 5
    case postOnlyWouldCross = 6
    case unknownOrder = 7
    /// Pre-trade risk checks (`risk.*` parameters).
    case riskMaxOrderSize = 8
    case riskMaxPosition = 9
    case riskMaxNotional = 10
    case riskPriceBand = 11
    case riskOrderRate = 12
    case riskKillSwitch = 13
    /// Live sessions.
    case venueRandomReject = 14
    case duplicateOrderID = 15
    case venueUnavailable = 16
    case liveSizing = 17
    case killSwitch = 18
    /// Instrument trading rules (`reference.file`).
    case referenceTickSize = 19
    case referenceLotSize = 20
    case referenceMinQuantity = 21
    case referenceMaxQuantity = 22
    case referenceMinNotional = 23

    public var description: String {
        switch self {
        case .invalidQuantity: "invalid quantity"
        case .insufficientFunds: "insufficient funds for one unit"
        case .unknownInstrument: "unknown instrument"
        case .noMarket: "no market data for the instrument yet"
        case .invalidPrice: "invalid limit price"
        case .postOnlyWouldCross: "post-only order would take liquidity"
        case .unknownOrder: "no such working order"
        case .riskMaxOrderSize: "risk: order larger than risk.max_order_size"
        case .riskMaxPosition: "risk: position would exceed risk.max_position"
        case .riskMaxNotional: "risk: order value above risk.max_notional"
        case .riskPriceBand: "risk: limit price outside risk.price_band_bps"
        case .riskOrderRate: "risk: more than risk.max_orders in risk.rate_window"
        case .riskKillSwitch: "risk: kill switch tripped (risk.kill_loss)"
        case .venueRandomReject: "venue: rejected (--reject-rate)"
        case .duplicateOrderID: "venue: client order id already used"
        case .venueUnavailable: "gateway: venue unavailable (disconnected or circuit breaker open)"
        case .liveSizing: "live: orders need a fixed quantity"
        case .killSwitch: "live: kill switch tripped"
        case .referenceTickSize: "rules: limit price not a multiple of the tick size"
        case .referenceLotSize: "rules: quantity not a multiple of the lot size"
        case .referenceMinQuantity: "rules: quantity below the minimum"
        case .referenceMaxQuantity: "rules: quantity above the maximum"
        case .referenceMinNotional: "rules: order value below the minimum notional"
        }
    }
}

/// A short instrument symbol stored inline (no heap), at most 16 UTF-8 bytes.
@frozen
public struct Symbol: Hashable, Sendable, CustomStringConvertible {
    /// Longest symbol in bytes.
    public static let capacity = 16
    public var low: UInt64
    public var high: UInt64
    public var count: UInt8

    /// Creates a symbol; nil when the text is empty or longer than 16 bytes.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= Symbol.capacity else { return nil }
        var lo: UInt64 = 0, hi: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { lo |= UInt64(b) << (8 * UInt64(i)) } else { hi |= UInt64(b) << (8 * UInt64(i - 8)) }
        }
        (low, high, count) = (lo, hi, UInt8(bytes.count))
    }

    /// Rebuilds a symbol from its stored words.
    public init(low: UInt64, high: UInt64, count: UInt8) { (self.low, self.high, self.count) = (low, high, count) }

    public var description: String {
        var bytes: [UInt8] = []
        for i in 0..<Int(count) { bytes.append(UInt8(truncatingIfNeeded: (i < 8 ? low >> (8 * UInt64(i)) : high >> (8 * UInt64(i - 8))))) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// An instrument's definition: its symbol and the scales of its prices and quantities.
@frozen
public struct Instrument: Hashable, Sendable {
    public var id: InstrumentID
    public var symbol: Symbol
    /// Fractional digits of prices (2 → cents).
    public var priceScale: Int
    /// Fractional digits of quantities (0 → whole units).
    public var quantityScale: Int

    public init(id: InstrumentID, symbol: Symbol, priceScale: Int, quantityScale: Int) {
        precondition((0...12).contains(priceScale), "price scale \(priceScale) outside 0...12")
        precondition((0...12).contains(quantityScale), "quantity scale \(quantityScale) outside 0...12")
        self.id = id
        self.symbol = symbol
        self.priceScale = priceScale
        self.quantityScale = quantityScale
    }

    /// Decimal text of a price at this instrument's precision.
    public func text(_ price: Price) -> String { FixedPoint.format(price.raw, scale: priceScale) }
    /// Decimal text of a quantity at this instrument's precision.
    public func text(_ quantity: Quantity) -> String { FixedPoint.format(quantity.raw, scale: quantityScale) }
    /// One whole unit in quantity lots.
    public var unitLots: Int64 { FixedPoint.powersOfTen[quantityScale] }
}
