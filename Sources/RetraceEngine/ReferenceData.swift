import Foundation
import RetraceCore

/// Instrument trading rules, the reference data a venue publishes (Binance's PRICE_FILTER,
/// LOT_SIZE and MIN_NOTIONAL filters; NautilusTrader's price and size increments): an order
/// whose price is off the tick grid, whose quantity is off the lot grid or outside the
/// quantity bounds, or whose value is under the minimum is refused before it leaves, as the
/// venue would refuse it.
///
/// The rules come from a JSON file (`reference.file`), one entry per symbol and date:
///
///     {"instruments": [
///       {"symbol": "BTCUSDT", "tick_size": "0.1", "lot_size": "0.001",
///        "min_quantity": "0.001", "max_quantity": "1000", "min_notional": "100"},
///       {"symbol": "BTCUSDT", "from": "2025-01-01T00:00:00Z", "tick_size": "1"}
///     ]}
///
/// Every rule is optional; an entry with `from` replaces the symbol's earlier entry from that
/// engine time on. Decimals are exact (text, or JSON numbers written as decimals).
public struct ReferenceTable: Sendable, Equatable {
    /// One entry of the file, decimals at `Money.scale` (18 digits; 0 = no such rule).
    public struct Entry: Sendable, Equatable {
        public var from: Int64
        public var tickSize: Int128
        public var lotSize: Int128
        public var minQuantity: Int128
        public var maxQuantity: Int128
        public var minNotional: Int128
    }

    /// The file as given, and the SHA-256 of its bytes (a replay checks it is unchanged).
    public var path: String
    public var sha256: String
    /// Entries per symbol, in `from` order.
    var entries: [String: [Entry]]
    public var ttlNanos: Int64
    public var capacity: Int

    static let keys = ["symbol", "from", "tick_size", "lot_size", "min_quantity", "max_quantity", "min_notional"]

    /// Reads and checks `path`. Errors name the file, the entry (from 1) and the key.
    public init(path: String, ttlNanos: Int64, capacity: Int) throws(EngineError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError(.invalidParameter, "reference.file \(path): cannot read the file")
        }
        try self.init(json: data, path: path, ttlNanos: ttlNanos, capacity: capacity)
    }

    /// Reads the file's bytes (`path` names it in errors).
    public init(json data: Data, path: String, ttlNanos: Int64, capacity: Int) throws(EngineError) {
        self.path = path
        sha256 = SHA256.hex([UInt8](data))
        self.ttlNanos = ttlNanos
        self.capacity = capacity
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw EngineError(.invalidParameter, "\(path): \(JSONSyntax.error(in: data) ?? "not valid JSON (\(error.localizedDescription))")")
        }
        if let twice = JSONSyntax.duplicateKey(in: data) { throw EngineError(.invalidParameter, "\(path): \(twice)") }
        guard let object = root as? [String: Any] else { throw EngineError(.invalidParameter, "\(path): the top level must be a JSON object") }
        for key in object.keys.sorted() where key != "instruments" && key != "description" {
            throw EngineError(.invalidParameter, "\(path): unknown key '\(key)' (expected 'instruments' and optionally 'description')")
        }
        guard let list = object["instruments"] as? [Any] else { throw EngineError(.invalidParameter, "\(path): key 'instruments' must be a list of entries") }
        var table: [String: [Entry]] = [:]
        for (n, item) in list.enumerated() {
            let place = "\(path): instrument entry \(n + 1)"
            guard let fields = item as? [String: Any] else { throw EngineError(.invalidParameter, "\(place): must be an object") }
            for key in fields.keys.sorted() where !Self.keys.contains(key) {
                throw EngineError(.invalidParameter, "\(place): unknown key '\(key)'; keys: \(Self.keys.joined(separator: ", "))")
            }
            guard let symbol = fields["symbol"] as? String, Symbol(symbol) != nil else {
                throw EngineError(.invalidParameter, "\(place): 'symbol' must be a symbol of 1 to \(Symbol.capacity) bytes")
            }
            var from = Int64.min
            if let f = fields["from"] {
                guard let text = f as? String, let t = Timestamp.parseISO8601(text) else {
                    throw EngineError(.invalidParameter, "\(place) (\(symbol)): 'from' must be an ISO-8601 time such as 2025-01-01T00:00:00Z")
                }
                from = t.nanos
            }
            func decimal(_ key: String) throws(EngineError) -> Int128 {
                guard let raw = fields[key] else { return 0 }
                let text: String
                if let s = raw as? String { text = s } else if let d = raw as? NSNumber, !(raw is Bool) { text = "\(d.doubleValue)" } else { text = "" }
                guard let m = Money(parsing: text), m.raw >= 0 else {
                    throw EngineError(.invalidParameter, "\(place) (\(symbol)): '\(key)' must be a non-negative decimal, got \(raw)")
                }
                return m.raw
            }
            let entry = Entry(from: from, tickSize: try decimal("tick_size"), lotSize: try decimal("lot_size"), minQuantity: try decimal("min_quantity"),
                              maxQuantity: try decimal("max_quantity"), minNotional: try decimal("min_notional"))
            if entry.maxQuantity > 0 && entry.minQuantity > entry.maxQuantity {
                throw EngineError(.invalidParameter, "\(place) (\(symbol)): min_quantity is above max_quantity")
            }
            if table[symbol, default: []].contains(where: { $0.from == from }) {
                throw EngineError(.invalidParameter, "\(place) (\(symbol)): a second entry for the same 'from'")
            }
            table[symbol, default: []].append(entry)
        }
        for k in table.keys { table[k]!.sort { $0.from < $1.from } }
        entries = table
    }

    /// The number of entries.
    public var count: Int { entries.values.reduce(0) { $0 + $1.count } }

    /// The entry of `symbol` in force at `now` (nil: none yet, or no such symbol) and when
    /// the next one takes over (`.max`: never).
    func entry(_ symbol: String, at now: Int64) -> (entry: Entry?, until: Int64) {
        var found: Entry?
        for e in entries[symbol] ?? [] {
            if e.from > now { return (found, e.from) }
            found = e
        }
        return (found, .max)
    }
}

/// An instrument's rules in its own units (raw prices and quantities), as checked.
public struct InstrumentRules: Sendable, Equatable {
    /// Valid prices and quantities are multiples of these (1: any).
    public var priceStep: Int64 = 1
    public var quantityStep: Int64 = 1
    /// Quantity bounds in raw units (max 0: none).
    public var minQuantity: Int64 = 0
    public var maxQuantity: Int64 = 0
    public var minNotional = Money.zero

    /// The rules of `entry` at `instrument`'s scales: a price is on the tick grid when
    /// `price × 10⁻ˢ` is a multiple of the tick, so the step in raw units is
    /// `tick ÷ gcd(tick, 10⁻ˢ)` (both at 18 digits): a tick finer than the price scale allows
    /// every price, a tick of 0.025 at cents allows multiples of 0.05.
    init(_ entry: ReferenceTable.Entry, instrument: Instrument) {
        func step(_ size: Int128, scale: Int) -> Int64 {
            guard size > 0 else { return 1 }
            let unit = Money.power(Money.scale - scale)
            var (a, b) = (size, unit)
            while b != 0 { (a, b) = (b, a % b) }
            return Int64(clamping: size / a)
        }
        func units(_ size: Int128, scale: Int, roundUp: Bool) -> Int64 {
            let unit = Money.power(Money.scale - scale)
            let (q, r) = size.quotientAndRemainder(dividingBy: unit)
            return Int64(clamping: roundUp && r > 0 ? q + 1 : q)
        }
        priceStep = step(entry.tickSize, scale: instrument.priceScale)
        quantityStep = step(entry.lotSize, scale: instrument.quantityScale)
        minQuantity = units(entry.minQuantity, scale: instrument.quantityScale, roundUp: true)
        maxQuantity = units(entry.maxQuantity, scale: instrument.quantityScale, roundUp: false)
        if entry.maxQuantity > 0 && maxQuantity == 0 { maxQuantity = -1 }  // finer than one lot: nothing fits
        minNotional = Money(raw: entry.minNotional)
    }

    init() {}

    /// The reason to refuse `order`, nil when it keeps the rules. `reference` is the price a
    /// market order's value is taken at (the far touch; 0: unknown, no value check).
    func check(_ order: OrderSubmitted, instrument: Instrument, reference: Int64) -> RejectReason? {
        if order.type.hasLimit && order.limitPrice.raw % priceStep != 0 { return .referenceTickSize }
        guard order.sizing == .fixed else { return nil }  // sized at fill time: nothing to check yet
        let q = order.quantity.raw
        if q % quantityStep != 0 { return .referenceLotSize }
        if q < minQuantity { return .referenceMinQuantity }
        if maxQuantity != 0 && q > maxQuantity { return .referenceMaxQuantity }
        if minNotional.raw > 0 {
            let price = order.type.hasLimit ? order.limitPrice.raw : reference
            if price > 0 && Money.notional(price: Price(raw: price), quantity: order.quantity, priceScale: instrument.priceScale,
                                           quantityScale: instrument.quantityScale) < minNotional {
                return .referenceMinNotional
            }
        }
        return nil
    }
}

/// The engine's view of the reference table: an LRU cache with a time to live in engine
/// time (`reference.cache_size`, `reference.ttl`) in front of the table, keyed by
/// instrument. A miss resolves the symbol's entry in force and converts it to the
/// instrument's units; the cached value expires after the time to live, or earlier when
/// the table has a later entry for the symbol (so a cached answer is always the answer the
/// table gives at that time: the cache changes speed, never decisions). Hits, misses and
/// evictions are reported in the run's manifest.
public struct ReferenceData {
    public let table: ReferenceTable
    var cache: LRUCache<InstrumentID, InstrumentRules?>
    public private(set) var refused = 0

    public init(table: ReferenceTable) {
        self.table = table
        cache = LRUCache(capacity: table.capacity, ttlNanos: table.ttlNanos)
    }

    /// The rules of `instrument` at engine time `now` (nil: the table has none).
    public mutating func rules(_ instrument: Instrument, now: Int64) -> InstrumentRules? {
        if let cached = cache.get(instrument.id, now: now) { return cached }
        let (entry, until) = table.entry(instrument.symbol.description, at: now)
        let rules = entry.map { InstrumentRules($0, instrument: instrument) }
        cache.put(instrument.id, rules, now: now, until: until)
        return rules
    }

    /// Checks `order` against its instrument's rules in force at `now`.
    public mutating func check(_ order: OrderSubmitted, instrument: Instrument, touch: (bid: Int64, ask: Int64), now: Int64) -> RejectReason? {
        guard let r = rules(instrument, now: now) else { return nil }
        let reason = r.check(order, instrument: instrument, reference: order.side == .buy ? touch.ask : touch.bid)
        if reason != nil { refused += 1 }
        return reason
    }

    public var summary: ReferenceSummary {
        ReferenceSummary(file: table.path, sha256: table.sha256, entries: table.count, hits: cache.hits, misses: cache.misses,
                         evictions: cache.evictions, refused: refused)
    }
}

/// What the manifest records about a run's reference data.
public struct ReferenceSummary: Codable, Equatable, Sendable {
    public var file: String
    public var sha256: String
    public var entries: Int
    public var hits: Int
    public var misses: Int
    public var evictions: Int
    /// Orders refused for breaking a rule.
    public var refused: Int
}
