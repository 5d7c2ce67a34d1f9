/// The input formats `retrace import` reads.
public enum FeedFormat: String, CaseIterable, Sendable {
    case tradesCSV = "trades-csv"
    case quotesCSV = "quotes-csv"
    case barsCSV = "bars-csv"

    /// Header names recognised for each role (lowercase); the first present wins.
    static let receiveTimeNames = ["ts_recv", "local_ts_ns", "local_ts", "local_timestamp", "receive_time", "recv_time", "receive_time_ns"]
    static let eventTimeNames = ["ts_event", "ts_event_ns", "trade_time_ms", "event_time_ms", "transaction_time_ms", "timestamp", "timestamp_ms",
                                 "timestamp_us", "timestamp_ns", "time", "ts", "datetime", "date", ""]
    static let symbolNames = ["symbol", "instrument", "ticker"]
    static let priceNames = ["price", "px", "last", "trade_price", "last_price"]
    static let quantityNames = ["quantity", "qty", "size", "amount", "volume", "last_qty"]
    static let buyerMakerNames = ["is_buyer_maker", "buyer_maker", "isbuyermaker"]
    static let sideNames = ["side", "aggressor", "aggressor_side", "taker_side"]
    static let tradeIDNames = ["trade_id", "id", "tradeid"]
    static let bidNames = ["bid_price", "bid", "bid_px", "best_bid", "bidprice"]
    static let askNames = ["ask_price", "ask", "ask_px", "best_ask", "offer", "askprice"]
    static let bidSizeNames = ["bid_size", "bid_qty", "bid_quantity", "bid_volume", "bidsize"]
    static let askSizeNames = ["ask_size", "ask_qty", "ask_quantity", "ask_volume", "asksize", "offer_size"]
    static let openNames = ["open", "o"]
    static let highNames = ["high", "h"]
    static let lowNames = ["low", "l"]
    static let closeNames = ["close", "c"]
    static let volumeNames = ["volume", "v", "vol"]

    /// Columns the README documents for this format.
    public var columnHelp: String {
        switch self {
        case .tradesCSV: "time, price, quantity; optional: receive time, symbol, is_buyer_maker or side, trade_id"
        case .quotesCSV: "time, bid, ask; optional: bid_size, ask_size, receive time, symbol"
        case .barsCSV: "time (may be the unnamed first column), open, high, low, close; optional: volume, symbol"
        }
    }
}

/// How timestamps in a column are written.
public enum TimeUnit: String, Sendable, CaseIterable {
    case ns, us, ms, s
    /// ISO-8601 dates and times, or HistData's `YYYYMMDD HHMMSSfff`.
    case iso

    /// Decimal digits a value in this unit carries below the second.
    var nanosScale: Int {
        switch self {
        case .ns: 0
        case .us: 3
        case .ms: 6
        case .s, .iso: 9
        }
    }

    /// The unit a column name implies (`event_time_ms` → ms), if any.
    static func implied(by name: String) -> TimeUnit? {
        if name.hasSuffix("_ns") || name == "ts_recv" || name == "ts_event" { return .ns }
        if name.hasSuffix("_us") { return .us }
        if name.hasSuffix("_ms") { return .ms }
        if name.hasSuffix("_s") || name.hasSuffix("_sec") { return .s }
        return nil
    }

    /// Guesses the unit from a sample value: dates are ISO; integers by magnitude.
    static func sniff<C: Collection>(_ sample: C) -> TimeUnit where C.Element == UInt8 {
        let digits = sample.prefix { $0 >= 48 && $0 <= 57 }.count
        if sample.contains(UInt8(ascii: "-")) && digits == 4 || sample.contains(UInt8(ascii: " ")) || sample.contains(UInt8(ascii: "T")) { return .iso }
        if digits == 8 && sample.count == 8 { return .iso }  // YYYYMMDD
        switch digits {
        case 18...: return .ns
        case 15...17: return .us
        case 12...14: return .ms
        default: return .s
        }
    }
}

/// Options of `retrace import`.
public struct ImportOptions: Sendable {
    /// Instrument symbol for files without a symbol column.
    public var instrument: String?
    /// Unit of every time column (default: from the column name or the values).
    public var timeUnit: TimeUnit?
    /// Column names for files without a header row.
    public var columns: [String]?
    /// Fixed price / quantity scales (default: the most decimals seen).
    public var priceScale: Int?
    public var quantityScale: Int?
    public init(instrument: String? = nil, timeUnit: TimeUnit? = nil, columns: [String]? = nil, priceScale: Int? = nil, quantityScale: Int? = nil) {
        (self.instrument, self.timeUnit, self.columns, self.priceScale, self.quantityScale) = (instrument, timeUnit, columns, priceScale, quantityScale)
    }
}

/// One input file with its format.
public struct ImportInput: Sendable {
    public var format: FeedFormat
    public var path: String
    public init(format: FeedFormat, path: String) { (self.format, self.path) = (format, path) }
}
