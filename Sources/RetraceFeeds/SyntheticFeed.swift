import Foundation
import RetraceCore

/// Deterministic synthetic market data from a seeded random walk (`retrace generate`).
///
/// Quotes: the mid follows a random walk in ticks whose step size depends on a volatility
/// regime that switches now and then; the spread (1–6 ticks) widens with volatility;
/// sizes are drawn around a level that mean-reverts. Arrivals are exponential with a rate
/// that rises with volatility. Trades arrive between quotes at the touch, buyer- or
/// seller-initiated, with sizes skewed small and occasional blocks.
public struct SyntheticFeed {
    public struct Settings: Sendable {
        public var seed: UInt64 = 7
        public var quotes: Int = 20_000
        public var symbol: String = "DEMO"
        public var start = Timestamp(nanos: 1_704_096_000_000_000_000)  // 2024-01-01T08:00:00Z
        public var startPriceTicks: Int64 = 10_000  // 100.00 at 2 decimals
        public var meanGapNanos: Double = 50_000_000  // 50 ms between quotes on average
        public init() {}
    }

    /// One generated row.
    public enum Row: Equatable {
        case quote(time: Timestamp, bid: Int64, bidSize: Int64, ask: Int64, askSize: Int64)
        case trade(time: Timestamp, price: Int64, size: Int64, buyerMaker: Bool, id: UInt64)
    }

    public let settings: Settings
    public init(_ settings: Settings) { self.settings = settings }

    /// Generates the rows in time order (prices in cents, sizes in whole units).
    public func rows() -> [Row] {
        var rng = SplitMix64(seed: settings.seed)
        var out: [Row] = []
        out.reserveCapacity(settings.quotes * 13 / 10)
        var t = settings.start.nanos
        var mid2 = 2 * settings.startPriceTicks + 1  // twice the mid, so half ticks are exact
        var volatility = 1.0
        var depth = 300.0
        var tradeID: UInt64 = 1
        for _ in 0..<settings.quotes {
            if rng.next(modulo: 500) == 0 { volatility = [0.5, 1.0, 1.0, 2.0, 3.5][Int(rng.next(modulo: 5))] }
            let gap = -settings.meanGapNanos / volatility * log(1.0 - rng.nextUnitDouble())
            t += max(1_000, Int64(gap))
            let step = Int64((rng.nextUnitDouble() - 0.5) * 4.0 * volatility)
            mid2 = max(200, mid2 + 2 * step)
            let spread = min(6, 1 + Int64(rng.next(modulo: UInt64(1 + Int(volatility * 1.5)))))
            let bid = (mid2 - spread) / 2
            let ask = bid + spread
            depth += (300.0 - depth) * 0.05 + (rng.nextUnitDouble() - 0.5) * 60.0
            let bidSize = max(1, Int64(depth * (0.5 + rng.nextUnitDouble())))
            let askSize = max(1, Int64(depth * (0.5 + rng.nextUnitDouble())))
            out.append(.quote(time: Timestamp(nanos: t), bid: bid, bidSize: bidSize, ask: ask, askSize: askSize))
            if rng.nextUnitDouble() < 0.3 * min(volatility, 2.0) {
                t += 1_000 + Int64(rng.next(modulo: 5_000_000))
                let sellerInitiated = rng.next(modulo: 2) == 0
                let block = rng.next(modulo: 40) == 0
                let size = block ? 500 + Int64(rng.next(modulo: 2_000)) : 1 + Int64(-40.0 * log(1.0 - rng.nextUnitDouble()))
                out.append(.trade(time: Timestamp(nanos: t), price: sellerInitiated ? bid : ask, size: size, buyerMaker: sellerInitiated, id: tradeID))
                tradeID += 1
            }
        }
        return out
    }

    /// A second venue of a lead-lag pair: each of venue A's quotes (in `rows`) shows on
    /// venue B after a delay drawn from an exponential distribution with mean `lagNanos`
    /// (B never shows an older quote after a newer one), at the same prices, with B's own
    /// sizes. When A's touch jumps by more than its spread, B's stale quote crosses it for
    /// a moment: the opportunity a cross-venue strategy races for. Uses its own generator
    /// stream, so venue A's rows are the same with or without it.
    public func followerRows(_ rows: [Row], lagNanos: Int64) -> [Row] {
        precondition(lagNanos >= 0, "lag must not be negative")
        var rng = SplitMix64(seed: settings.seed ^ 0x5EED_B0B0_5EED_B0B0)
        var out: [Row] = []
        var last = Int64.min
        for case let .quote(t, bid, _, ask, _) in rows {
            let delay = Int64(-Double(lagNanos) * log(1.0 - rng.nextUnitDouble()))
            last = max(last &+ 1_000, t.nanos + delay)
            let bidSize = 50 + Int64(rng.next(modulo: 500)), askSize = 50 + Int64(rng.next(modulo: 500))
            out.append(.quote(time: Timestamp(nanos: last), bid: bid, bidSize: bidSize, ask: ask, askSize: askSize))
        }
        return out
    }

    /// `quotes.csv` text: `timestamp_ns,symbol,bid_price,bid_size,ask_price,ask_size`.
    public func quotesCSV(_ rows: [Row], symbol: String? = nil) -> String {
        let symbol = symbol ?? settings.symbol
        var s = "timestamp_ns,symbol,bid_price,bid_size,ask_price,ask_size\n"
        for case let .quote(t, bid, bs, ask, asz) in rows {
            s += "\(t.nanos),\(symbol),\(FixedPoint.format(bid, scale: 2)),\(bs),\(FixedPoint.format(ask, scale: 2)),\(asz)\n"
        }
        return s
    }

    /// `trades.csv` text: `timestamp_ns,symbol,trade_id,price,quantity,is_buyer_maker`.
    public func tradesCSV(_ rows: [Row]) -> String {
        var s = "timestamp_ns,symbol,trade_id,price,quantity,is_buyer_maker\n"
        for case let .trade(t, price, size, buyerMaker, id) in rows {
            s += "\(t.nanos),\(settings.symbol),\(id),\(FixedPoint.format(price, scale: 2)),\(size),\(buyerMaker)\n"
        }
        return s
    }
}

/// The peer benchmarks' synthetic quotes (`common.gen_quote_ticks` in ../shared/peers),
/// regenerated exactly: per tick i, four SplitMix64 draws give the bid step (−2…+2
/// ticks of 0.1), the spread (1–3 ticks) and the two sizes (0.500–5.000); one quote every
/// 100 ms from 2024-01-01T00:00:00Z.
public enum PeerQuoteWorkload {
    /// The instrument: price scale 1 (0.1 ticks), quantity scale 3.
    public static let instrument = Instrument(id: InstrumentID(0), symbol: Symbol("BTCUSDT")!, priceScale: 1, quantityScale: 3)

    /// `n` quotes for `seed`, preceded by the instrument definition.
    public static func events(count n: Int, seed: UInt64 = 42) -> [Event] {
        var events: [Event] = []
        events.reserveCapacity(n + 1)
        generate(count: n, seed: seed) { events.append($0) }
        return events
    }

    /// Hands the instrument definition and then `n` quotes for `seed` to `body`, one at a
    /// time (for workloads too large to hold).
    public static func generate<E: Error>(count n: Int, seed: UInt64 = 42, _ body: (Event) throws(E) -> Void) throws(E) {
        var rng = SplitMix64(seed: seed)
        let t0: Int64 = 1_704_067_200_000_000_000
        try body(Event(eventTime: Timestamp(nanos: t0), receiveTime: Timestamp(nanos: t0), body: .instrumentDefined(InstrumentDefined(instrument: instrument))))
        var bid: Int64 = 500_000
        for i in 0..<n {
            let step = Int64(rng.next() % 5) - 2
            bid += step
            let spread = 1 + Int64(rng.next() % 3)
            let bidSize = 500 + Int64(rng.next() % 4501)
            let askSize = 500 + Int64(rng.next() % 4501)
            let t = Timestamp(nanos: t0 + Int64(i) * 100_000_000)
            try body(Event(eventTime: t, receiveTime: t, body: .quoteReceived(QuoteReceived(
                instrument: instrument.id, bidPrice: Price(raw: bid), bidQuantity: Quantity(raw: bidSize), askPrice: Price(raw: bid + spread), askQuantity: Quantity(raw: askSize)))))
        }
    }
}

/// The peer benchmarks' synthetic L2 (market-by-price) feed, event for event:
/// `gen_depth_events(n, seed)` of `../shared/peers/bench_hftbacktest.py`. 20 levels a side,
/// tick 0.1, lot 0.001, one-tick spread, best bid 50000.0; the first 40 events build the
/// book at 2024-01-01T00:00:00Z, then generator step s (exchange time T0 + (s+1) ms) draws
/// four SplitMix64 outputs and makes a level update (60 %), a trade at the touch and the
/// level's new size (25 %), or a one-tick move of the mid (15 %, four depth events). The
/// stream is cut after exactly `n` events; receive time = exchange time + 0.5 ms.
public enum PeerDepthWorkload {
    /// BTCUSDT with price scale 1 (0.1 ticks) and quantity scale 3 (0.001 lots).
    public static let instrument = Instrument(id: InstrumentID(0), symbol: Symbol("BTCUSDT")!, priceScale: 1, quantityScale: 3)
    public static let levels = 20

    /// Hands the instrument definition and then exactly `n` depth and trade events to `body`.
    public static func generate<E: Error>(count n: Int, seed: UInt64 = 42, _ body: (Event) throws(E) -> Void) throws(E) {
        let t0: Int64 = 1_704_067_200_000_000_000
        let latency: Int64 = 500_000
        let id = instrument.id
        try body(Event(eventTime: Timestamp(nanos: t0), receiveTime: Timestamp(nanos: t0), body: .instrumentDefined(InstrumentDefined(instrument: instrument))))
        var emitted = 0
        func depth(_ side: Int64, _ price: Int64, _ quantity: Int64, _ t: Int64) throws(E) {
            guard emitted < n else { return }
            emitted += 1
            try body(Event(eventTime: Timestamp(nanos: t), receiveTime: Timestamp(nanos: t + latency), body: .l2LevelUpdated(L2LevelUpdated(
                instrument: id, side: side == 0 ? .buy : .sell, price: Price(raw: price), quantity: Quantity(raw: quantity)))))
        }
        var qb = (0..<levels).map { 1000 + 500 * Int64($0) }
        var qa = qb
        var b: Int64 = 500_000
        for j in 0..<levels {
            try depth(0, b - Int64(j), qb[j], t0)
            try depth(1, b + 1 + Int64(j), qa[j], t0)
        }
        var rng = SplitMix64(seed: seed)
        var s: Int64 = 0
        while emitted < n {
            let r0 = rng.next(), r1 = rng.next(), r2 = rng.next(), r3 = rng.next()
            let t = t0 + (s + 1) * 1_000_000
            s += 1
            let a = b + 1
            let k = r0 % 100
            let sd: Int64 = Int64(r1 % 2)
            if k < 60 {
                let level = Int(r2 % UInt64(levels))
                let q = 1 + Int64(r3 % 5000)
                if sd == 0 {
                    qb[level] = q
                    try depth(0, b - Int64(level), q, t)
                } else {
                    qa[level] = q
                    try depth(1, a + Int64(level), q, t)
                }
            } else if k < 85 {
                let levelQuantity = sd == 0 ? qb[0] : qa[0]
                let price = sd == 0 ? b : a
                let traded = min(1 + Int64(r2 % 500), levelQuantity)
                var rest = levelQuantity - traded
                if rest < 1 { rest = 1 + Int64(r3 % 5000) }
                if emitted < n {
                    emitted += 1
                    try body(Event(eventTime: Timestamp(nanos: t), receiveTime: Timestamp(nanos: t + latency), body: .tradeReceived(TradeReceived(
                        instrument: id, price: Price(raw: price), quantity: Quantity(raw: traded), aggressor: sd == 0 ? .seller : .buyer, tradeID: 0))))
                }
                try depth(sd, price, rest, t)
                if sd == 0 { qb[0] = rest } else { qa[0] = rest }
            } else {
                let nq1 = 1 + Int64(r2 % 5000), nq2 = 1 + Int64(r3 % 5000)
                let l = Int64(levels)
                let moves: [(Int64, Int64, Int64)]
                if sd == 1 {
                    moves = [(1, a, 0), (0, a, nq1), (0, b - l + 1, 0), (1, a + l, nq2)]
                    for j in stride(from: levels - 1, to: 0, by: -1) { qb[j] = qb[j - 1] }
                    qb[0] = nq1
                    for j in 0..<(levels - 1) { qa[j] = qa[j + 1] }
                    qa[levels - 1] = nq2
                    b += 1
                } else {
                    moves = [(0, b, 0), (1, b, nq1), (1, a + l - 1, 0), (0, b - l, nq2)]
                    for j in stride(from: levels - 1, to: 0, by: -1) { qa[j] = qa[j - 1] }
                    qa[0] = nq1
                    for j in 0..<(levels - 1) { qb[j] = qb[j + 1] }
                    qb[levels - 1] = nq2
                    b -= 1
                }
                for (side, price, quantity) in moves { try depth(side, price, quantity, t) }
            }
        }
    }
}
