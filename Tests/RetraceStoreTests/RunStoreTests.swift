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
        #expect(try reopened.database.query("PRAGMA user_version").first?.first?.integer == RunStore.schemaVersion)
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
