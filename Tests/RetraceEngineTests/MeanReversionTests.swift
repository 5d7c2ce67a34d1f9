import Foundation
import Testing
@testable import RetraceCore
@testable import RetraceEngine
@testable import RetraceStore
@testable import RetraceStrategies

@Suite("mean-reversion")
struct MeanReversionTests {
    @Test("goes short on a spike above entry_z, flat once back inside exit_z, long on a dip; same input ⇒ same fingerprint")
    func spikeAndDip() throws {
        let i = Instrument(id: InstrumentID(0), symbol: Symbol("MR")!, priceScale: 0, quantityScale: 0)
        var events = [Event(eventTime: .zero, receiveTime: .zero, body: .instrumentDefined(InstrumentDefined(instrument: i)))]
        // Mids alternate 100/101 (a small deviation), then 110 (z ≈ +3 over 5 prices), then back, then 90.
        let mids: [Int64] = [100, 101, 100, 101, 100, 110, 101, 100, 101, 100, 101, 90]
        for (k, m) in mids.enumerated() {
            let t = Timestamp(nanos: Int64(k + 1) * 1_000)
            events.append(Event(eventTime: t, receiveTime: t, body: .quoteReceived(QuoteReceived(instrument: i.id, bidPrice: Price(raw: m), bidQuantity: Quantity(raw: 10),
                                                                                                 askPrice: Price(raw: m), askQuantity: Quantity(raw: 10)))))
        }
        func run() throws -> (RunManifest, [FillRow]) {
            let out = temporaryDirectory("mr")
            defer { try? FileManager.default.removeItem(atPath: out) }
            var source = ArrayInput(events)
            let m = try BacktestDriver.run(MeanReversion.self, source: &source,
                                           settings: BacktestDriver.Settings(overrides: [("window", "5"), ("entry_z", "1.5"), ("exit_z", "0.5"), ("close_at_end", "false")], dataset: "t", inputs: [], out: out))
            return (m, try RunStore(path: out + "/store.sqlite").fills())
        }
        let (m, fills) = try run()
        // Short 1 at the spike (110: z ≈ +2.0); at 101 the window [100,101,100,110,101] gives z = −0.37, inside exit_z: buy back; long 1 at the dip (90).
        #expect(fills.map { "\($0.fill.side == .buy ? "+" : "-")\($0.fill.quantity.magnitude.raw)@\($0.fill.price.raw)" } == ["-1@110", "+1@101", "+1@90"], "\(fills.map(\.fill))")
        #expect(try run().0.fingerprint == m.fingerprint)
        #expect(throws: EngineError.self) { _ = try BacktestDriver.prepare(MeanReversion.self, [("exit_z", "3")]) }
    }
}
