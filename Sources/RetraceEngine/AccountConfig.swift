import RetraceCore
import RetraceJournal
import RetraceMarket

/// The account and broker settings of a run, set with `--param` like strategy parameters.
///
/// Venue settings (fees, latencies, queue model, self-trade prevention) apply to the default
/// venue `SIM`, which trades every instrument. More venues are declared by giving any of
/// their settings as `venue.NAME.KEY=value`; `venue.NAME.instruments=SYM1,SYM2` moves
/// instruments onto that venue. A venue's unset keys take the top-level values.
public struct AccountConfig: Sendable {
    /// The account parameters every run accepts, with defaults.
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("cash", "100000", "starting cash in account currency"),
        ParameterSpec("commission", "0", "fee rate on traded value for every fill (0.002 = 0.2 %), unless maker_fee/taker_fee are set", perVenue: true),
        ParameterSpec("maker_fee", "", "fee rate for fills of resting orders (default: commission); negative is a rebate", perVenue: true),
        ParameterSpec("taker_fee", "", "fee rate for fills that take liquidity (default: commission)", perVenue: true),
        ParameterSpec("maker_fee_per_unit", "0", "amount charged per unit filled as maker; negative is a rebate", perVenue: true),
        ParameterSpec("taker_fee_per_unit", "0", "amount charged per unit filled as taker", perVenue: true),
        ParameterSpec("entry_latency", "0", "order/cancel travel time to the venue: 0, 250us, constant:1ms, normal:MEAN:SD, lognormal:MEDIAN:SIGMA, empirical:RUN", perVenue: true),
        ParameterSpec("ack_latency", "0", "venue answer travel time to the strategy (same forms as entry_latency)", perVenue: true),
        ParameterSpec("feed_latency", "0", "market data travel time from the venue: 'recorded' (receive − exchange time of each event) or a latency model", perVenue: true),
        ParameterSpec("queue_model", "conservative", "L2 queue position model: conservative | power:N (N=1..6; proportional = power:1)", perVenue: true),
        ParameterSpec("self_trade", "cancel-resting", "self-trade prevention: cancel-resting | cancel-incoming | cancel-both", perVenue: true),
        ParameterSpec("close_at_end", "true", "close open positions when the data ends (at the touch, last trade, or last bar's open)"),
        ParameterSpec("equity_interval", "60s", "for tick feeds: record an equity point at most this often in event time (bars: every bar; fills: always)"),
        ParameterSpec("dedup_window", "65536", "drop a trade whose id repeats one of the last N trade ids of its instrument, and count it (0: off)"),
        ParameterSpec("reference.file", "", "instrument trading rules (JSON: tick_size, lot_size, min/max_quantity, min_notional per symbol, dated with 'from'); orders that break them are rejected (empty: no rules)"),
        ParameterSpec("reference.ttl", "1h", "how long (engine time) a looked-up instrument's rules are cached before they are looked up again"),
        ParameterSpec("reference.cache_size", "1024", "instruments whose rules are cached (least recently used dropped first)"),
    ] + RiskLimits.parameters

    public var cash: Money
    /// The default venue's fees.
    public var fees: FeeSchedule { venues[0].fees }
    /// The venues: `SIM` first, then those named in `venue.NAME.*` keys (sorted by name).
    public var venues: [VenueSettings]
    /// Symbol → venue name for instruments not on `SIM`.
    public var assignment: [(symbol: String, venue: String)]
    public var closeAtEnd: Bool
    public var equityIntervalNanos: Int64
    /// Pre-trade risk limits (`risk.*`).
    public var risk: RiskLimits
    /// Trade ids remembered for de-duplication (0: off).
    public var dedupWindow: Int
    /// Instrument trading rules (`reference.*`; nil: none).
    public var reference: ReferenceTable?

    /// Reads the account settings from parameter values.
    public init(_ p: ParameterValues) throws(EngineError) {
        cash = try p.money("cash")
        closeAtEnd = try p.bool("close_at_end")
        equityIntervalNanos = try p.durationNanos("equity_interval")
        risk = try RiskLimits(p)
        guard let w = Int(p.text("dedup_window")), w >= 0, w <= 1 << 26 else {
            throw EngineError(.invalidParameter, "parameter dedup_window=\(p.text("dedup_window")): expected a whole number from 0 to 67108864")
        }
        dedupWindow = w
        let ttl = try p.durationNanos("reference.ttl")
        guard ttl > 0 else { throw EngineError(.invalidParameter, "parameter reference.ttl=\(p.text("reference.ttl")): expected a positive duration") }
        let cacheSize = try p.positiveInt("reference.cache_size")
        let file = p.text("reference.file")
        reference = file.isEmpty ? nil : try ReferenceTable(path: file, ttlNanos: ttl, capacity: cacheSize)
        var names: [String] = []
        for v in p.values where v.name.hasPrefix("venue.") {
            let name = String(v.name.split(separator: ".")[1])
            if !names.contains(name) { names.append(name) }
        }
        names.sort()
        if let i = names.firstIndex(of: "SIM") { names.remove(at: i) }
        venues = [try AccountConfig.venue("SIM", p)]
        assignment = []
        for name in names {
            venues.append(try AccountConfig.venue(name, p))
            for s in (p.optionalText("venue.\(name).instruments") ?? "").split(separator: ",") {
                let symbol = s.trimmingCharacters(in: .whitespaces)
                if let other = assignment.first(where: { $0.symbol == symbol }) {
                    throw EngineError(.invalidParameter, "instrument \(symbol) is assigned to venues \(other.venue) and \(name)")
                }
                assignment.append((symbol, name))
            }
        }
    }

    /// One venue's settings: `venue.NAME.KEY` if given, else the top-level `KEY`.
    static func venue(_ name: String, _ p: ParameterValues) throws(EngineError) -> VenueSettings {
        func key(_ k: String) -> String { p.optionalText("venue.\(name).\(k)") != nil ? "venue.\(name).\(k)" : k }
        func text(_ k: String) -> String { p.text(key(k)) }
        func signedRate(_ k: String) throws(EngineError) -> Rate {
            let t = text(k)
            let negative = t.hasPrefix("-")
            guard let r = Rate(parsing: negative ? String(t.dropFirst()) : t), r.raw < 100_000_000 else {
                throw EngineError(.invalidParameter, "parameter \(key(k))=\(t): expected a rate between -1 and 1 with at most 8 decimals")
            }
            return Rate(raw: negative ? -r.raw : r.raw)
        }
        func money(_ k: String) throws(EngineError) -> Money {
            guard let m = Money(parsing: text(k)) else { throw EngineError(.invalidParameter, "parameter \(key(k))=\(text(k)): expected a decimal amount") }
            return m
        }
        func latency(_ k: String) throws(EngineError) -> LatencyModel {
            let t = text(k)
            if t.hasPrefix("empirical:") { return .empirical(try feedLatencies(run: String(t.dropFirst(10)), parameter: key(k))) }
            guard let m = LatencyModel.parse(t) else {
                throw EngineError(.invalidParameter, "parameter \(key(k))=\(t): expected 0, a duration (250us), constant:D, normal:MEAN:SD, lognormal:MEDIAN:SIGMA or empirical:RUN")
            }
            return m
        }
        let commission = try signedRate("commission")
        let maker = text("maker_fee").isEmpty ? commission : try signedRate("maker_fee")
        let taker = text("taker_fee").isEmpty ? commission : try signedRate("taker_fee")
        let fees = FeeSchedule(maker: maker, taker: taker, makerPerUnit: try money("maker_fee_per_unit"), takerPerUnit: try money("taker_fee_per_unit"))
        guard let queue = QueueModel.parse(text("queue_model")) else {
            throw EngineError(.invalidParameter, "parameter \(key("queue_model"))=\(text("queue_model")): expected conservative, proportional or power:N (N = 1…6)")
        }
        guard let stp = SelfTradePrevention(rawValue: text("self_trade")) else {
            throw EngineError(.invalidParameter, "parameter \(key("self_trade"))=\(text("self_trade")): expected one of \(SelfTradePrevention.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let feed: LatencyModel? = text("feed_latency") == "recorded" ? nil : try latency("feed_latency")
        return VenueSettings(name: name, fees: fees, entryLatency: try latency("entry_latency"), ackLatency: try latency("ack_latency"),
                             feedLatency: feed, queueModel: queue, selfTrade: stp)
    }

    /// The feed latencies recorded in a run: receive time − exchange time of every market
    /// event, in journal order. When the recorder's clock ran behind the exchange (some
    /// gaps negative), all samples are shifted so the smallest is 0: the spread is real, the
    /// offset is not knowable from the data.
    public static func feedLatencies(run: String, parameter: String) throws(EngineError) -> [Int64] {
        var samples: [Int64] = []
        do {
            let reader = try JournalReader(directory: RunFolder.journalPath(run))
            while let (_, e) = try reader.nextEvent() {
                switch e.body {
                case .tradeReceived, .quoteReceived, .l2LevelUpdated, .orderBookMessage: samples.append(e.receiveTime.nanos &- e.eventTime.nanos)
                default: break
                }
            }
        } catch {
            throw EngineError(.invalidParameter, "parameter \(parameter)=empirical:\(run): cannot read the run's journal: \(error.message)")
        }
        guard let low = samples.min() else { throw EngineError(.invalidParameter, "parameter \(parameter)=empirical:\(run): the run has no market events to draw latencies from") }
        if low < 0 { samples = samples.map { $0 - low } }
        return samples
    }
}
