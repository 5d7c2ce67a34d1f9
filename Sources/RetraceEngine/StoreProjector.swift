import RetraceCore
import RetraceMarket
import RetraceStore

/// Turns journal events into store rows: instruments, orders, fills, positions, equity
/// and round-trip trades. The same code runs during a run and when rebuilding a store
/// from a journal, so both give identical tables.
/// One row the projector has produced and not yet written.
public enum StoreRow: Sendable {
    case instrument(Instrument)
    case fill(FillRow)
    case position(PositionRow)
    case equity(EquityRow)
    case trade(TradeRow)
    case order(OrderRow)
}

public final class StoreProjector {
    public let store: RunStore
    /// Working orders: an open-addressing index by order id (a fixed multiplicative hash,
    /// no per-process seed) into rows whose freed slots are reused. Nothing iterates the
    /// index, so no hash order leaks out.
    private var orderIndex = OrderIndex(capacity: 1_024)
    private var orderRows: [OrderRow] = []
    private var freeSlots: [Int32] = []
    private var trades = RoundTripTracker()
    private var pendingFill: (OrderFilled, Timestamp)?
    /// Rows projected and not yet committed. A failed `write` leaves them here, so the
    /// next attempt writes the same rows (the in-memory state is never rolled back).
    public private(set) var pending: [StoreRow] = []
    private var ordersQueued = false

    public init(store: RunStore) { self.store = store }

    /// Projects one event: updates the in-memory state and queues its rows.
    public func project(_ e: Event) {
        switch e.body {
        case .instrumentDefined(let d):
            pending.append(.instrument(d.instrument))
            trades.define(d.instrument)
        case .orderSubmitted(let o):
            open(OrderRow(orderID: o.orderID, instrument: o.instrument, side: o.side, type: o.type, sizing: o.sizing,
                          quantity: o.quantity, limitPrice: o.limitPrice, submitTime: e.eventTime, submitSequence: e.sequence))
        case .orderAccepted(let a):
            update(a.orderID, e.eventTime) { $0.state = .accepted }
        case .orderRejected(let r):
            update(r.orderID, e.eventTime) { $0.state = .rejected; $0.rejection = r.reason }
        case .orderCanceled(let c):
            update(c.orderID, e.eventTime) { $0.state = .canceled }
        case .orderModified(let m):
            update(m.orderID, e.eventTime) { o in
                o.quantity = o.filledQuantity + m.leavesQuantity
                o.limitPrice = m.price
            }
        case .orderFilled(let f):
            pending.append(.fill(FillRow(sequence: e.sequence, time: e.eventTime, fill: f)))
            let instrument = trades.instrument(f.instrument)
            update(f.orderID, e.eventTime) { o in
                o.filledQuantity = o.filledQuantity + f.quantity
                o.filledNotional += Money.notional(price: f.price, quantity: f.quantity, priceScale: instrument?.priceScale ?? 0, quantityScale: instrument?.quantityScale ?? 0)
                o.fees += f.fee
                o.state = f.leavesQuantity.raw == 0 ? .filled : .partiallyFilled
            }
            pendingFill = (f, e.eventTime)
        case .positionChanged(let p):
            pending.append(.position(PositionRow(sequence: e.sequence, time: e.eventTime, position: p)))
            if let (fill, time) = pendingFill, fill.instrument == p.instrument {
                if let trade = trades.onFill(fill, position: p, time: time) { pending.append(.trade(trade)) }
                pendingFill = nil
            }
        case .balanceChanged(let b):
            pending.append(.equity(EquityRow(sequence: e.sequence, time: e.eventTime, balance: b)))
        default:
            break
        }
    }

    /// Applies a change to a working order. An order that reaches its final state
    /// (filled, canceled, rejected) is written with the next batch and forgotten, so the
    /// map holds only working orders however many a run sends.
    private func update(_ id: ClientOrderID, _ time: Timestamp, _ change: (inout OrderRow) -> Void) {
        guard let slot = orderIndex[id.raw] else { return }
        let k = Int(slot)
        change(&orderRows[k])
        orderRows[k].lastUpdateTime = time
        if orderRows[k].state.isFinal {
            pending.append(.order(orderRows[k]))
            orderIndex.remove(id.raw)
            freeSlots.append(slot)
        }
    }

    /// Starts tracking a submitted order (a repeated id replaces the row, as a map would).
    private func open(_ row: OrderRow) {
        if let slot = orderIndex[row.orderID.raw] {
            orderRows[Int(slot)] = row
            return
        }
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            orderRows[Int(free)] = row
        } else {
            slot = Int32(orderRows.count)
            orderRows.append(row)
        }
        _ = orderIndex.insert(row.orderID.raw, slot)
    }

    /// Writes the pending rows in one transaction. On failure the transaction is rolled
    /// back and the rows stay pending. `injectedFault` fails the commit (tests).
    @discardableResult
    public func write(injectedFault: StoreError? = nil) throws(StoreError) -> Int {
        guard !pending.isEmpty else { return 0 }
        let count = pending.count
        do throws(StoreError) {
            try store.begin()
            for row in pending {
                switch row {
                case .instrument(let i): try store.saveInstrument(i)
                case .fill(let r): try store.add(r)
                case .position(let r): try store.add(r)
                case .equity(let r): try store.add(r)
                case .trade(let r): try store.add(r)
                case .order(let r): try store.add(r)
                }
            }
            if let injectedFault { throw injectedFault }
            try store.flush()
        } catch {
            store.rollback()
            throw error
        }
        pending.removeAll(keepingCapacity: true)
        return count
    }

    /// Drops the pending rows (the store has been given up on; the journal keeps them).
    public func discardPending() { pending.removeAll(keepingCapacity: true) }

    /// Writes the pending rows and the orders still working (sorted by id, so no hash order
    /// leaks) in one transaction.
    @discardableResult
    public func finish(injectedFault: StoreError? = nil) throws(StoreError) -> Int {
        if !ordersQueued {
            // A slot is working while the index still points at it (freed slots are not).
            let working = orderRows.indices.filter { orderIndex[orderRows[$0].orderID.raw] == Int32($0) }
                .sorted { orderRows[$0].orderID.raw < orderRows[$1].orderID.raw }
            for k in working { pending.append(.order(orderRows[k])) }
            ordersQueued = true
        }
        return try write(injectedFault: injectedFault)
    }
}
