import RetraceCore
import RetraceStore

/// Turns journal events into store rows: instruments, orders, fills, positions, equity
/// and round-trip trades. The same code runs during a run and when rebuilding a store
/// from a journal, so both give identical tables.
public final class StoreProjector {
    public let store: RunStore
    private var orders: [UInt64: OrderRow] = [:]
    private var trades = RoundTripTracker()
    private var pendingFill: (OrderFilled, Timestamp)?

    public init(store: RunStore) { self.store = store }

    /// Projects one event.
    public func project(_ e: Event) throws(EngineError) {
        do { try apply(e) } catch { throw EngineError(.store, error.message) }
    }

    private func apply(_ e: Event) throws(StoreError) {
        switch e.body {
        case .instrumentDefined(let d):
            try store.saveInstrument(d.instrument)
            trades.define(d.instrument)
        case .orderSubmitted(let o):
            orders[o.orderID.raw] = OrderRow(orderID: o.orderID, instrument: o.instrument, side: o.side, type: o.type, sizing: o.sizing,
                                             quantity: o.quantity, limitPrice: o.limitPrice, submitTime: e.eventTime, submitSequence: e.sequence)
        case .orderAccepted(let a):
            update(a.orderID, e.eventTime) { $0.status = "accepted" }
        case .orderRejected(let r):
            update(r.orderID, e.eventTime) { $0.status = "rejected"; $0.rejectReason = r.reason.description }
        case .orderCanceled(let c):
            update(c.orderID, e.eventTime) { $0.status = "canceled" }
        case .orderModified(let m):
            update(m.orderID, e.eventTime) { o in
                o.quantity = o.filledQuantity + m.leavesQuantity
                o.limitPrice = m.price
            }
        case .orderFilled(let f):
            try store.add(FillRow(sequence: e.sequence, time: e.eventTime, fill: f))
            let instrument = trades.instrument(f.instrument)
            update(f.orderID, e.eventTime) { o in
                o.filledQuantity = o.filledQuantity + f.quantity
                o.filledNotional += Money.notional(price: f.price, quantity: f.quantity, priceScale: instrument?.priceScale ?? 0, quantityScale: instrument?.quantityScale ?? 0)
                o.fees += f.fee
                o.status = f.leavesQuantity.raw == 0 ? "filled" : "partially_filled"
            }
            pendingFill = (f, e.eventTime)
        case .positionChanged(let p):
            try store.add(PositionRow(sequence: e.sequence, time: e.eventTime, position: p))
            if let (fill, time) = pendingFill, fill.instrument == p.instrument {
                if let trade = trades.onFill(fill, position: p, time: time) { try store.add(trade) }
                pendingFill = nil
            }
        case .balanceChanged(let b):
            try store.add(EquityRow(sequence: e.sequence, time: e.eventTime, balance: b))
        default:
            break
        }
    }

    private func update(_ id: ClientOrderID, _ time: Timestamp, _ change: (inout OrderRow) -> Void) {
        guard var o = orders[id.raw] else { return }
        change(&o)
        o.lastUpdateTime = time
        orders[id.raw] = o
    }

    /// Writes the orders (sorted by id, so no hash order leaks) and commits.
    public func finish() throws(EngineError) {
        do {
            for key in orders.keys.sorted() { try store.add(orders[key]!) }
            try store.flush()
        } catch { throw EngineError(.store, error.message) }
    }
}
