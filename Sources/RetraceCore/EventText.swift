/// One-line, human-readable text of events (diffs, replay breakpoints), with prices and
/// quantities at their instrument's precision once the instrument is known.
public struct EventText: Sendable {
    /// Instruments by id, as the events defined them.
    public private(set) var instruments: [Instrument?] = []

    public init() {}

    /// Learns an instrument from its definition (call for every event; others are ignored).
    public mutating func learn(_ event: Event) {
        guard case .instrumentDefined(let d) = event.body else { return }
        let i = Int(d.instrument.id.raw)
        while instruments.count <= i { instruments.append(nil) }
        instruments[i] = d.instrument
    }

    public func instrument(_ id: InstrumentID) -> Instrument? { Int(id.raw) < instruments.count ? instruments[Int(id.raw)] : nil }

    public func symbol(_ id: InstrumentID) -> String { instrument(id)?.symbol.description ?? "#\(id.raw)" }

    public func price(_ id: InstrumentID, _ p: Price) -> String { instrument(id)?.text(p) ?? "raw:\(p.raw)" }

    public func quantity(_ id: InstrumentID, _ q: Quantity) -> String { instrument(id)?.text(q) ?? "raw:\(q.raw)" }

    private static func side(_ s: Side) -> String { s == .buy ? "buy" : "sell" }

    /// `KIND time fields…` (the caller adds the sequence).
    public func text(_ e: Event) -> String {
        "\(e.body.kind.name) \(e.receiveTime.iso8601) " + fields(e.body)
    }

    /// The event's fields as `key=value` pairs.
    public func fields(_ body: EventBody) -> String {
        switch body {
        case .instrumentDefined(let d):
            return "\(d.instrument.symbol) id=\(d.instrument.id.raw) price_scale=\(d.instrument.priceScale) quantity_scale=\(d.instrument.quantityScale)"
        case .tradeReceived(let t):
            return "\(symbol(t.instrument)) \(quantity(t.instrument, t.quantity))@\(price(t.instrument, t.price)) trade_id=\(t.tradeID)"
        case .quoteReceived(let q):
            return "\(symbol(q.instrument)) bid \(quantity(q.instrument, q.bidQuantity))@\(price(q.instrument, q.bidPrice)) ask \(quantity(q.instrument, q.askQuantity))@\(price(q.instrument, q.askPrice))"
        case .barReceived(let b):
            return "\(symbol(b.instrument)) o=\(price(b.instrument, b.open)) h=\(price(b.instrument, b.high)) l=\(price(b.instrument, b.low)) c=\(price(b.instrument, b.close)) v=\(quantity(b.instrument, b.volume))"
        case .l2LevelUpdated(let u):
            return "\(symbol(u.instrument)) \(u.side == .buy ? "bid" : "ask") \(price(u.instrument, u.price)) qty=\(quantity(u.instrument, u.quantity))"
        case .orderBookMessage(let m):
            return "\(symbol(m.instrument)) action=\(m.action) \(Self.side(m.side)) order=\(m.orderID) \(quantity(m.instrument, m.quantity))@\(price(m.instrument, m.price))"
        case .venueReport(let v):
            return "venue_seq=\(v.venueSequence) \(v.body.event.kind.name) " + fields(v.body.event)
        case .venueHeartbeat(let h):
            return "venue_time=\(h.venueTime) ping_sent=\(h.pingSent)"
        case .sessionControl(let c):
            return "\(c.action) a=\(c.a) b=\(c.b)"
        case .orderSubmitted(let o):
            let limit = o.type.hasLimit ? "@\(price(o.instrument, o.limitPrice))" : ""
            return "order=\(o.orderID.raw) \(symbol(o.instrument)) \(Self.side(o.side)) \(o.type.name) \(o.sizing == .allEquity ? "all-equity" : quantity(o.instrument, o.quantity))\(limit)"
        case .orderAccepted(let a):
            return "order=\(a.orderID.raw) \(symbol(a.instrument))"
        case .orderRejected(let r):
            return "order=\(r.orderID.raw) \(symbol(r.instrument)) reason=\(r.reason)"
        case .orderModifyRejected(let r):
            return "order=\(r.orderID.raw) \(symbol(r.instrument)) reason=\(r.reason)"
        case .orderCanceled(let c):
            return "order=\(c.orderID.raw) \(symbol(c.instrument)) leaves=\(quantity(c.instrument, c.leavesQuantity))"
        case .orderFilled(let f):
            return "order=\(f.orderID.raw) \(symbol(f.instrument)) \(Self.side(f.side)) \(quantity(f.instrument, f.quantity))@\(price(f.instrument, f.price)) fee=\(f.fee.text) \(f.liquidity == .maker ? "maker" : "taker") leaves=\(quantity(f.instrument, f.leavesQuantity))"
        case .orderModified(let m):
            return "order=\(m.orderID.raw) \(symbol(m.instrument)) leaves=\(quantity(m.instrument, m.leavesQuantity))@\(price(m.instrument, m.price)) kept_priority=\(m.keptPriority)"
        case .positionChanged(let p):
            return "\(symbol(p.instrument)) quantity=\(quantity(p.instrument, p.quantity)) cost=\(p.costBasis.text) realized=\(p.realizedPnL.text) fees=\(p.fees.text)"
        case .balanceChanged(let b):
            return "cash=\(b.cash.text) equity=\(b.equity.text) realized=\(b.realizedPnL.text) unrealized=\(b.unrealizedPnL.text) fees=\(b.fees.text)"
        case .timerFired(let t):
            return "timer=\(t.timerID)"
        case .sessionStarted(let s):
            return "mode=\(s.mode) seed=\(s.seed)"
        case .sessionEnded(let s):
            return "inputs=\(s.inputEvents)"
        }
    }
}
