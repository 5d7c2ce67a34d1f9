import RetraceCore

/// Pre-trade risk checks between the strategy and the venue. Every order the strategy
/// sends is checked before it leaves; a refused order is journaled as submitted and then
/// rejected with the check's reason, and the strategy hears `onRejected`. A modification
/// is checked as the order would be after it (all but the order rate: it sends no new
/// order); a refused one is journaled as `OrderModifyRejected` and the order works on.
///
/// Checks (each off when its parameter is 0, the default):
/// - `risk.max_order_size`: units per order;
/// - `risk.max_position`: units the position may reach either way if this order filled
///   completely, counting the same side's orders already working;
/// - `risk.max_notional`: price × quantity of one order (limit price, or the touch for a
///   market order), in account currency;
/// - `risk.price_band_bps`: a limit price at most this far from the reference (the mid,
///   else the last trade);
/// - `risk.max_orders` per `risk.rate_window`: orders sent in any window of engine time;
/// - `risk.kill_loss`: once equity has fallen this far below the starting cash, the kill
///   switch trips: every working order is cancelled and every later order refused.
public struct RiskLimits: Sendable, Equatable {
    public var maxOrderSize: String = "0"
    public var maxPosition: String = "0"
    public var maxNotional = Money.zero
    /// Hundredths of a basis point (0 = off).
    public var priceBand: Int64 = 0
    public var maxOrders = 0
    public var rateWindowNanos: Int64 = 1_000_000_000
    public var killLoss = Money.zero

    public static let parameters: [ParameterSpec] = [
        ParameterSpec("risk.max_order_size", "0", "largest order in units (0: no limit)"),
        ParameterSpec("risk.max_position", "0", "largest position in units either way, counting working orders of the same side (0: no limit)"),
        ParameterSpec("risk.max_notional", "0", "largest order value (price × quantity) in account currency (0: no limit)"),
        ParameterSpec("risk.price_band_bps", "0", "largest distance of a limit price from the mid (or last trade), in basis points (0: no limit)"),
        ParameterSpec("risk.max_orders", "0", "most orders in any risk.rate_window of engine time (0: no limit)"),
        ParameterSpec("risk.rate_window", "1s", "window of the order-rate limit"),
        ParameterSpec("risk.kill_loss", "0", "kill switch: when equity falls this far below the starting cash, cancel everything and refuse new orders (0: off)"),
    ]

    public init() {}

    public init(_ p: ParameterValues) throws(EngineError) {
        for key in ["risk.max_order_size", "risk.max_position"] {
            guard let v = FixedPoint.parse(p.text(key), scale: 12), v >= 0 else {
                throw EngineError(.invalidParameter, "parameter \(key)=\(p.text(key)): expected a non-negative number of units")
            }
        }
        maxOrderSize = p.text("risk.max_order_size")
        maxPosition = p.text("risk.max_position")
        maxNotional = try p.money("risk.max_notional")
        killLoss = try p.money("risk.kill_loss")
        guard let band = FixedPoint.parse(p.text("risk.price_band_bps"), scale: 2), band >= 0 else {
            throw EngineError(.invalidParameter, "parameter risk.price_band_bps=\(p.text("risk.price_band_bps")): expected a non-negative number of basis points (2 decimals at most)")
        }
        priceBand = band
        guard let n = Int(p.text("risk.max_orders")), n >= 0 else {
            throw EngineError(.invalidParameter, "parameter risk.max_orders=\(p.text("risk.max_orders")): expected a non-negative integer")
        }
        maxOrders = n
        rateWindowNanos = try p.durationNanos("risk.rate_window")
        guard rateWindowNanos > 0 else { throw EngineError(.invalidParameter, "parameter risk.rate_window must be positive") }
        guard maxNotional.raw >= 0, killLoss.raw >= 0 else { throw EngineError(.invalidParameter, "risk.max_notional and risk.kill_loss must not be negative") }
    }

    /// Whether any check is on.
    public var isActive: Bool {
        maxOrderSize != "0" || maxPosition != "0" || maxNotional.raw != 0 || priceBand != 0 || maxOrders != 0 || killLoss.raw != 0
    }
}

/// The gate's state: working quantities per instrument and side, the recent order times,
/// and the kill switch.
struct RiskGate {
    let limits: RiskLimits
    let startingCash: Money
    /// Per instrument: (size limit, position limit) in lots, parsed at the instrument's scale.
    var lots: [(size: Int64, position: Int64)?] = []
    /// Per instrument: open quantity of working buy and sell orders.
    var working: [(buy: Int64, sell: Int64)] = []
    /// Per order id: (instrument, side, open quantity) of orders the gate let through.
    var open: [UInt64: (instrument: Int, side: Side, leaves: Int64)] = [:]
    /// Send times of recent orders (a ring of `maxOrders`).
    var recent: [Int64] = []
    var recentNext = 0
    public private(set) var killed = false

    init(limits: RiskLimits, startingCash: Money) {
        self.limits = limits
        self.startingCash = startingCash
        if limits.maxOrders > 0 { recent = [Int64](repeating: .min, count: limits.maxOrders) }
    }

    /// The size and position limits in `instrument`'s lots: 0 = no limit, −1 = the limit
    /// is finer than one lot (nothing is allowed).
    mutating func limitsInLots(_ instrument: Instrument) -> (size: Int64, position: Int64) {
        let i = Int(instrument.id.raw)
        while lots.count <= i { lots.append(nil); working.append((0, 0)) }
        if let l = lots[i] { return l }
        func inLots(_ text: String) -> Int64 {
            guard let wide = FixedPoint.parse(text, scale: 12), wide > 0 else { return 0 }
            let v = wide / FixedPoint.powersOfTen[12 - instrument.quantityScale]
            return v > 0 ? v : -1
        }
        let l = (inLots(limits.maxOrderSize), inLots(limits.maxPosition))
        lots[i] = l
        return l
    }

    /// The reason to refuse `order`, or nil to let it through (and count it).
    mutating func check(_ order: OrderSubmitted, instrument: Instrument, position: Int64, touch: (bid: Int64, ask: Int64),
                        lastTrade: Price?, now: Int64, equity: Money) -> RejectReason? {
        let qty = order.sizing == .fixed ? order.quantity.raw : 0
        if let reason = limitCheck(order, quantity: qty, counted: 0, instrument: instrument, position: position, touch: touch, lastTrade: lastTrade, equity: equity) {
            return reason
        }
        if limits.maxOrders > 0 {
            // The oldest of the last `maxOrders` sends must be outside the window.
            if recent[recentNext] != .min && now - recent[recentNext] < limits.rateWindowNanos { return .riskOrderRate }
            recent[recentNext] = now
            recentNext = (recentNext + 1) % limits.maxOrders
        }
        count(order, quantity: qty, counted: 0, instrument: instrument)
        return nil
    }

    /// The reason to refuse a modification, given the order as it would be after it
    /// (`changed`: its new open quantity and price), or nil to let it through: every check
    /// of a new order but the order rate (a modification sends no new order). A change let
    /// through that adds to the order's open quantity counts toward the position limit at
    /// once; the venue's answer (`orderModified`) then sets the count.
    mutating func checkModify(_ changed: OrderSubmitted, instrument: Instrument, position: Int64, touch: (bid: Int64, ask: Int64),
                              lastTrade: Price?, equity: Money) -> RejectReason? {
        let qty = changed.quantity.raw
        let counted = open[changed.orderID.raw]?.leaves ?? 0
        if let reason = limitCheck(changed, quantity: qty, counted: counted, instrument: instrument, position: position, touch: touch, lastTrade: lastTrade, equity: equity) {
            return reason
        }
        count(changed, quantity: qty, counted: counted, instrument: instrument)
        return nil
    }

    /// The kill switch, size, position and value checks of an order open for `quantity`,
    /// of which `counted` is already among the working quantities (a modified order's).
    private mutating func limitCheck(_ order: OrderSubmitted, quantity qty: Int64, counted: Int64, instrument: Instrument, position: Int64,
                                     touch: (bid: Int64, ask: Int64), lastTrade: Price?, equity: Money) -> RejectReason? {
        _ = checkKill(equity: equity)
        if killed { return .riskKillSwitch }
        let l = limitsInLots(instrument)
        if l.size != 0 && (l.size < 0 || qty > l.size) { return .riskMaxOrderSize }
        if l.position != 0 {
            let w = working[Int(instrument.id.raw)]
            let reach = order.side == .buy ? position + w.buy - counted + qty : -(position - (w.sell - counted + qty))
            if l.position < 0 || reach > l.position { return .riskMaxPosition }
        }
        return valueCheck(order, quantity: qty, instrument: instrument, touch: touch, lastTrade: lastTrade)
    }

    /// Counts an order let through (open for `quantity`, `counted` of it counted already)
    /// toward the position limit's working quantities.
    private mutating func count(_ order: OrderSubmitted, quantity qty: Int64, counted: Int64, instrument: Instrument) {
        let i = Int(instrument.id.raw)
        guard lots[i]?.position ?? 0 != 0, qty > counted else { return }
        if order.side == .buy { working[i].buy += qty - counted } else { working[i].sell += qty - counted }
        open[order.orderID.raw] = (i, order.side, qty)
    }

    /// The checks on an order's value: its notional (the limit price, or the touch for a
    /// market order, × `quantity`) and the distance of its limit price from the mid (else
    /// the last trade).
    private func valueCheck(_ order: OrderSubmitted, quantity: Int64, instrument: Instrument, touch: (bid: Int64, ask: Int64), lastTrade: Price?) -> RejectReason? {
        let price: Int64 = order.type.hasLimit ? order.limitPrice.raw : (order.side == .buy ? touch.ask : touch.bid)
        if limits.maxNotional.raw > 0 && price > 0 {
            let value = Money.notional(price: Price(raw: price), quantity: Quantity(raw: quantity), priceScale: instrument.priceScale, quantityScale: instrument.quantityScale)
            if value > limits.maxNotional { return .riskMaxNotional }
        }
        if limits.priceBand > 0 && order.type.hasLimit {
            let reference: Int64? = touch.bid > 0 && touch.ask > 0 ? (touch.bid + touch.ask) / 2 : lastTrade?.raw
            if let r = reference, r > 0 {
                // |limit − ref| / ref > band (hundredths of a bp = 10⁻⁶): compare in integers.
                let distance = Int128(abs(order.limitPrice.raw - r)) * 1_000_000
                if distance > Int128(r) * Int128(limits.priceBand) { return .riskPriceBand }
            }
        }
        return nil
    }

    /// The venue changed an order the gate counts: it is now `leaves` open.
    mutating func orderModified(_ id: ClientOrderID, leaves: Int64) {
        guard !open.isEmpty, var o = open[id.raw] else { return }
        let change = leaves - o.leaves
        if o.side == .buy { working[o.instrument].buy += change } else { working[o.instrument].sell += change }
        o.leaves = leaves
        open[id.raw] = leaves == 0 ? nil : o
    }

    /// An order the gate let through filled (`quantity`) or ended (`finished`).
    mutating func orderReduced(_ id: ClientOrderID, by quantity: Int64, finished: Bool) {
        guard var o = open[id.raw] else { return }
        let cut = finished ? o.leaves : Swift.min(o.leaves, quantity)
        if o.side == .buy { working[o.instrument].buy -= cut } else { working[o.instrument].sell -= cut }
        o.leaves -= cut
        if o.leaves == 0 || finished { open[id.raw] = nil } else { open[id.raw] = o }
    }

    /// Whether the kill switch should trip now (checked on every equity change).
    mutating func checkKill(equity: Money) -> Bool {
        guard limits.killLoss.raw > 0, !killed, equity.raw <= startingCash.raw - limits.killLoss.raw else { return false }
        killed = true
        return true
    }
}

extension RiskGate {
    func saveState(_ w: inout StateWriter) {
        w.word(UInt64(lots.count))
        for l in lots {
            w.put(l != nil)
            if let l { w.word(l.size); w.word(l.position) }
        }
        w.word(UInt64(working.count))
        for x in working { w.word(x.buy); w.word(x.sell) }
        // By order id, so the bytes never depend on the dictionary's hash order.
        let ids = open.keys.sorted()
        w.word(UInt64(ids.count))
        for id in ids {
            let o = open[id]!
            w.word(id); w.put(o.instrument); w.put(o.side); w.word(o.leaves)
        }
        w.putWords(recent)
        w.put(recentNext)
        w.put(killed)
    }

    mutating func restoreState(_ r: inout StateReader) throws(CoreError) {
        let n = try r.count()
        lots = []
        for _ in 0..<n { lots.append(try r.bool() ? (try r.word(), try r.word()) : nil) }
        let m = try r.count(minimumBytes: 16)
        working = []
        for _ in 0..<m { working.append((try r.word(), try r.word())) }
        let k = try r.count(minimumBytes: 25)
        open = [:]
        for _ in 0..<k { open[try r.word()] = (try r.get(Int.self), try r.get(Side.self), try r.word(Int64.self)) }
        recent = try r.words()
        recentNext = try r.get()
        killed = try r.bool()
        guard recent.count == max(limits.maxOrders, 0), recentNext >= 0, recentNext < max(recent.count, 1) else {
            throw CoreError(.invalidState, "engine state: order-rate ring of \(recent.count) for risk.max_orders=\(limits.maxOrders)")
        }
    }
}
