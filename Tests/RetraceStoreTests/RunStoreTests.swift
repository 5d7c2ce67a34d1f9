import Foundation
import Testing
@testable import RetraceCore
@testable import RetraceStore

@Suite("Run store")
struct RunStoreTests {
    @Test("rows written in batches read back exactly, money included")
    func roundTrip() throws {
        let path = NSTemporaryDirectory() + "retrace-store-\(UUID().uuidString).sqlite"
        let store = try RunStore(path: path, batchRows: 3)
        let i = Instrument(id: InstrumentID(2), symbol: Symbol("AAA")!, priceScale: 4, quantityScale: 2)
        try store.saveInstrument(i)
        var fills: [FillRow] = []
        for k in 0..<10 {
            let f = OrderFilled(orderID: ClientOrderID(UInt64(k)), instrument: i.id, side: k % 2 == 0 ? .buy : .sell, price: Price(raw: 12_345 + Int64(k)),
                                quantity: Quantity(raw: 100), fee: Money(raw: Int128(k) * 1_000_000_000_000_000_001), liquidity: .maker, leavesQuantity: .zero)
            fills.append(FillRow(sequence: UInt64(10 + k), time: Timestamp(nanos: Int64(k)), fill: f))
            try store.add(fills.last!)
        }
        try store.add(EquityRow(sequence: 99, time: .zero, balance: BalanceChanged(cash: Money(parsing: "-1.5")!, equity: Money(parsing: "123456789.123456789123456789")!, realizedPnL: .zero, unrealizedPnL: .zero, fees: .zero)))
        try store.flush()
        let reopened = try RunStore(path: path)
        #expect(try reopened.fills() == fills)
        #expect(try reopened.instruments() == [i])
        #expect(try reopened.equity().first?.balance.equity.text == "123456789.123456789123456789")
        #expect(try reopened.database.query("PRAGMA journal_mode").first?.first?.text == "wal")
        #expect(try store.database.query("PRAGMA synchronous").first?.first?.integer == 1, "NORMAL once the store is created")
        // The store of a run whose journal is not synced never syncs either; it stays in WAL mode.
        let unsynced = try RunStore(path: path, durable: false)
        #expect(try unsynced.database.query("PRAGMA synchronous").first?.first?.integer == 0)
        #expect(try unsynced.fills() == fills)
        #expect(try reopened.database.query("PRAGMA user_version").first?.first?.integer == RunStore.schemaVersion)
    }

    @Test("grouped inserts: every row of every table in order across groups and commits, a replaced order keeps its last state, a rollback drops rows short of a group")
    func groupedInserts() throws {
        let path = NSTemporaryDirectory() + "retrace-store-\(UUID().uuidString).sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try RunStore(path: path, batchRows: 50)  // commits fall inside and outside groups
        let id = InstrumentID(1)
        var fills: [FillRow] = [], positions: [PositionRow] = [], equity: [EquityRow] = [], expectedOrders: [UInt64: OrderRow] = [:]
        for k in 0..<203 {  // not a multiple of the group (16) nor of the batch
            let f = OrderFilled(orderID: ClientOrderID(UInt64(k % 40)), instrument: id, side: .buy, price: Price(raw: 100 + Int64(k)), quantity: Quantity(raw: 1),
                                fee: Money(raw: Int128(k)), liquidity: .taker, leavesQuantity: .zero)
            fills.append(FillRow(sequence: UInt64(1000 + k), time: Timestamp(nanos: Int64(k)), fill: f))
            try store.add(fills.last!)
            positions.append(PositionRow(sequence: UInt64(2000 + k), time: Timestamp(nanos: Int64(k)),
                                         position: PositionChanged(instrument: id, quantity: Quantity(raw: Int64(k)), costBasis: Money(raw: Int128(k)), realizedPnL: .zero, fees: .zero)))
            try store.add(positions.last!)
            if k % 3 == 0 {
                equity.append(EquityRow(sequence: UInt64(3000 + k), time: Timestamp(nanos: Int64(k)),
                                        balance: BalanceChanged(cash: Money(raw: Int128(-k)), equity: .zero, realizedPnL: .zero, unrealizedPnL: .zero, fees: .zero)))
                try store.add(equity.last!)
            }
            // Orders 0…39 are written again and again: the last state of each must win.
            var o = OrderRow(orderID: ClientOrderID(UInt64(k % 40)), instrument: id, side: .sell, type: .limit, sizing: .fixed, quantity: Quantity(raw: 5),
                             limitPrice: Price(raw: 7), submitTime: .zero, submitSequence: UInt64(k % 40))
            o.state = OrderStatus.allCases[k % OrderStatus.allCases.count]
            o.rejection = k % 7 == 0 ? RejectReason.allCases[k % RejectReason.allCases.count] : nil
            o.lastUpdateTime = Timestamp(nanos: Int64(k))
            expectedOrders[UInt64(k % 40)] = o
            try store.add(o)
        }
        try store.flush()
        #expect(try store.fills() == fills)
        #expect(try store.positions() == positions)
        #expect(try store.equity() == equity)
        #expect(try store.orders() == expectedOrders.keys.sorted().map { expectedOrders[$0]! })
        // The texts in the table: order 8 was last written rejected (k = 168).
        let eight = try #require(expectedOrders[8])
        #expect(eight.rejection != nil)
        #expect(try store.database.query("SELECT status, reject_reason FROM orders WHERE order_id = 8").first?.map(\.text) == [eight.status, eight.rejectReason])
        // A status the schema does not know is an error naming the order.
        try store.database.execute("UPDATE orders SET status = 'lost' WHERE order_id = 8")
        #expect(throws: StoreError.self) { try store.orders() }
        do { _ = try store.orders() } catch { #expect(error.message.contains("order 8 has status") && error.message.contains("lost")) }
        try store.database.execute("UPDATE orders SET status = '\(eight.status)' WHERE order_id = 8")

        // Rows short of a group are pending in the store until the commit; a rollback drops them with the rest.
        try store.begin()
        for k in 0..<5 {
            try store.add(FillRow(sequence: UInt64(9000 + k), time: .zero, fill: fills[0].fill))
        }
        store.rollback()
        try store.flush()
        #expect(try store.fills().count == fills.count)
    }

    @Test("a catalog row round-trips")
    func catalog() throws {
        let store = try RunStore(path: NSTemporaryDirectory() + "retrace-store-\(UUID().uuidString).sqlite")
        let r = RunRecord(runID: "abc", mode: "backtest", strategy: "sma-cross", parameters: "{\"cash\":\"10\"}", dataset: "d", seed: 3, startedAt: "t",
                          status: "completed", fingerprint: "ff", events: 5, orders: 2, fills: 2, pnl: Money(parsing: "-0.25")!)
        try store.saveRun(r)
        #expect(try store.run() == r)
    }
}
