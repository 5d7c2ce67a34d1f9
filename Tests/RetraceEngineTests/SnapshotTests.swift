import Foundation
import Testing
@testable import RetraceCore
@testable import RetraceEngine
@testable import RetraceJournal
@testable import RetraceStrategies

/// Engine snapshots: a run restored from any of its snapshots continues exactly as the
/// whole run did (same outputs, byte for byte), a save → restore → save round trip gives
/// the same bytes, and damaged state is refused with an error, never a crash.
@Suite("Engine snapshots")
struct SnapshotTests {
    /// Two instruments, seeded: an order-level (L3) book the market maker quotes into, with
    /// adds, reductions, deletes and executions around a drifting mid; and a quoted
    /// instrument with trades whose ids sometimes repeat (the de-duplicator drops those).
    static func events(count: Int, seed: UInt64) -> [Event] {
        var rng = SplitMix64(seed: seed)
        let l3 = Instrument(id: InstrumentID(0), symbol: Symbol("BOOK")!, priceScale: 2, quantityScale: 0)
        let q = Instrument(id: InstrumentID(1), symbol: Symbol("QUOTE")!, priceScale: 2, quantityScale: 0)
        var t = Timestamp(nanos: 1_700_000_000_000_000_000)
        var out = [Event(eventTime: t, receiveTime: t, body: .instrumentDefined(InstrumentDefined(instrument: l3))),
                   Event(eventTime: t, receiveTime: t, body: .instrumentDefined(InstrumentDefined(instrument: q)))]
        var mid: Int64 = 10_000
        var live: [(id: UInt64, side: Side, price: Int64, size: Int64)] = []
        var nextID: UInt64 = 1
        var tradeID: UInt64 = 1
        // A populated book first, so the strategy has a touch.
        for k in 0..<20 {
            let side: Side = k % 2 == 0 ? .buy : .sell
            let price = side == .buy ? mid - 1 - Int64(k / 2) : mid + 1 + Int64(k / 2)
            live.append((nextID, side, price, 5))
            out.append(Event(eventTime: t, receiveTime: t, body: .orderBookMessage(OrderBookMessage(instrument: l3.id, action: .add, side: side, orderID: nextID,
                                                                                                  price: Price(raw: price), quantity: Quantity(raw: 5)))))
            nextID += 1
        }
        while out.count < count {
            t = t.adding(nanos: Int64(rng.next(modulo: 3_000_000)) + 1)
            let r = rng.next(modulo: 100)
            if r < 5 {
                // The mid moves; orders it would cross are deleted first (the book stays uncrossed).
                mid += rng.next(modulo: 2) == 0 ? 1 : -1
                for o in live where (o.side == .buy && o.price >= mid) || (o.side == .sell && o.price <= mid) {
                    out.append(Event(eventTime: t, receiveTime: t, body: .orderBookMessage(OrderBookMessage(instrument: l3.id, action: .delete, side: o.side, orderID: o.id,
                                                                                                          price: Price(raw: o.price), quantity: Quantity(raw: o.size)))))
                }
                live.removeAll { ($0.side == .buy && $0.price >= mid) || ($0.side == .sell && $0.price <= mid) }
            }
            if r < 40 {
                let side: Side = rng.next(modulo: 2) == 0 ? .buy : .sell
                let price = side == .buy ? mid - 1 - Int64(rng.next(modulo: 4)) : mid + 1 + Int64(rng.next(modulo: 4))
                let size = Int64(rng.next(modulo: 9)) + 1
                live.append((nextID, side, price, size))
                out.append(Event(eventTime: t, receiveTime: t, body: .orderBookMessage(OrderBookMessage(instrument: l3.id, action: .add, side: side, orderID: nextID,
                                                                                                      price: Price(raw: price), quantity: Quantity(raw: size)))))
                nextID += 1
            } else if r < 70, !live.isEmpty {
                let k = Int(rng.next(modulo: UInt64(live.count)))
                let o = live[k]
                let action: BookAction = r < 50 ? .delete : (r < 60 ? .execute : .reduce)
                let size = action == .delete ? o.size : min(o.size, Int64(rng.next(modulo: UInt64(o.size))) + 1)
                if action == .delete || size == o.size { live.remove(at: k) } else { live[k].size -= size }
                out.append(Event(eventTime: t, receiveTime: t, body: .orderBookMessage(OrderBookMessage(instrument: l3.id, action: action == .reduce && size == o.size ? .delete : action,
                                                                                                      side: o.side, orderID: o.id, price: Price(raw: o.price), quantity: Quantity(raw: size)))))
            } else if r < 90 {
                let m = 5_000 + mid / 2
                out.append(Event(eventTime: t, receiveTime: t, body: .quoteReceived(QuoteReceived(instrument: q.id, bidPrice: Price(raw: m - 1), bidQuantity: Quantity(raw: 10),
                                                                                                askPrice: Price(raw: m + 1), askQuantity: Quantity(raw: 12)))))
            } else {
                if rng.next(modulo: 4) != 0 { tradeID += 1 }  // a quarter of the trades repeat the previous id
                out.append(Event(eventTime: t, receiveTime: t, body: .tradeReceived(TradeReceived(instrument: q.id, price: Price(raw: 5_000 + mid / 2), quantity: Quantity(raw: 3),
                                                                                                aggressor: .buyer, tradeID: tradeID))))
            }
        }
        return out
    }

    static let overrides = [("instrument", "BOOK"), ("spread_bps", "2"), ("refresh", "20ms"), ("max_position", "20"),
                            ("entry_latency", "1ms"), ("ack_latency", "normal:500us:200us"), ("risk.max_orders", "40"), ("risk.rate_window", "100ms"),
                            ("dedup_window", "64")]

    /// Each input of a journal (encoded) with the outputs recorded after it.
    static func outputsAfterInputs(_ run: String) throws -> (inputs: [[UInt8]], outputs: [[[UInt8]]], sequences: [UInt64]) {
        let reader = try JournalReader(directory: run + "/journal")
        var inputs: [[UInt8]] = [], outputs: [[[UInt8]]] = [], sequences: [UInt64] = []
        while let r = try reader.next() {
            guard let kind = EventKind(rawValue: r.payload[1]), kind != .sessionStarted, kind != .sessionEnded else { continue }
            if kind.isOutput {
                outputs[outputs.count - 1].append(Array(r.payload))
            } else {
                inputs.append(Array(r.payload))
                outputs.append([])
                sequences.append(r.sequence)
            }
        }
        return (inputs, outputs, sequences)
    }

    @Test("a run restored from each of its snapshots records exactly the outputs the whole run recorded after that input")
    func continuesIdentically() throws {
        let dir = temporaryDirectory("snapshots")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let events = Self.events(count: 6_000, seed: 11)
        var source = ArrayInput(events)
        var settings = BacktestDriver.Settings(overrides: Self.overrides, dataset: "generated", inputs: [], out: dir + "/whole", seed: 3)
        settings.snapshotEvery = 700
        let whole = try BacktestDriver.run(MarketMaker.self, source: &source, settings: settings)
        #expect(whole.orders > 100 && whole.fills > 5, "the strategy trades: \(whole.orders) orders, \(whole.fills) fills")
        #expect((whole.duplicatesDropped ?? 0) > 10, "repeated trade ids are dropped")
        let full = try Self.outputsAfterInputs(dir + "/whole")
        let reader = try JournalReader(directory: dir + "/whole/journal")
        let store = SnapshotStore(journalDirectory: dir + "/whole/journal", runID: reader.runID)
        let snapshots = store.list()
        #expect(snapshots.count >= 7, "one snapshot per 700 inputs: \(snapshots.count)")
        for info in snapshots {
            let state = try store.load(info)
            // The position of the snapshot's input among the inputs the whole run journaled
            // (dropped duplicates are not journaled, so map through the journal).
            let k = try #require(full.sequences.firstIndex(of: info.sequence), "snapshot \(info.sequence) names a journaled input")
            // The events after that input, as the source gave them (duplicates included).
            var seen = 0, index = 0
            for (i, e) in events.enumerated() {
                let journaled = try full.inputs[seen].withUnsafeBytes { try EventCodec.decode($0, sequence: 0) }
                if journaled.body == e.body && journaled.receiveTime == e.receiveTime { seen += 1 }
                if seen == k + 1 { index = i + 1; break }
            }
            var rest = ArrayInput(Array(events[index...]))
            var resumed = settings
            resumed.out = dir + "/from-\(info.sequence)"
            resumed.snapshotEvery = 0
            resumed.startState = state
            _ = try BacktestDriver.run(MarketMaker.self, source: &rest, settings: resumed)
            let part = try Self.outputsAfterInputs(resumed.out)
            let definitions = 2  // journaled again at the start of the resumed run
            #expect(part.inputs.count - definitions == full.inputs.count - (k + 1), "inputs after snapshot \(info.sequence)")
            let sameInputs = Array(part.inputs[definitions...]) == Array(full.inputs[(k + 1)...])
            #expect(sameInputs, "same inputs after snapshot \(info.sequence)")
            // After the definitions (nothing is recorded for them), output for output.
            #expect(part.outputs[definitions - 1].isEmpty)
            let sameOutputs = Array(part.outputs[definitions...]) == Array(full.outputs[(k + 1)...])
            #expect(sameOutputs, "outputs after snapshot \(info.sequence)")
            try? FileManager.default.removeItem(atPath: resumed.out)
        }
    }

    @Test("save → restore → save is byte-identical; truncated, damaged or foreign state is refused with a message")
    func roundTripAndDamage() throws {
        let dir = temporaryDirectory("snapshots-rt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var source = ArrayInput(Self.events(count: 3_000, seed: 12))
        var settings = BacktestDriver.Settings(overrides: Self.overrides, dataset: "generated", inputs: [], out: dir + "/run", seed: 3)
        settings.snapshotEvery = 1_000
        _ = try BacktestDriver.run(MarketMaker.self, source: &source, settings: settings)
        let reader = try JournalReader(directory: dir + "/run/journal")
        let store = SnapshotStore(journalDirectory: dir + "/run/journal", runID: reader.runID)
        let (strategy, account, values) = try BacktestDriver.prepare(MarketMaker.self, Self.overrides)
        func engine() throws -> BacktestEngine<MarketMaker> {
            let journal = try JournalWriter(directory: dir + "/scratch-\(UUID().uuidString)", runID: [UInt8](repeating: 1, count: 16), options: JournalOptions(syncMode: .none))
            let e = BacktestEngine(strategy: strategy, account: account, recorder: OutputRecorder(journal: journal, writer: nil))
            e.snapshotTag = EngineSnapshot.tag(strategy: MarketMaker.name, parameters: values, seed: 3)
            return e
        }
        let infos = store.list()
        #expect(infos.count >= 2, "snapshots every 1,000 inputs: \(infos.count)")
        for info in infos {
            let state = try store.load(info)
            let e = try engine()
            try e.restoreState(state)
            let again = e.saveState() ?? []
            #expect(again.count == state.count && again == state, "round trip of snapshot \(info.sequence)")
            let header = try EngineSnapshot.header(of: state)
            #expect(header.strategy == "market-maker" && header.definitions.count == 2)
            // Every truncation is an error naming a byte offset.
            for cut in stride(from: 0, to: state.count, by: max(1, state.count / 61)) {
                do {
                    try engine().restoreState(Array(state[..<cut]))
                    Issue.record("a state cut at byte \(cut) of \(state.count) was accepted")
                } catch let error as CoreError {
                    #expect(error.code == .invalidState && error.message.contains("byte"), "\(error.message)")
                }
            }
            // Trailing bytes, a foreign configuration, another version.
            #expect(throws: CoreError.self) { try engine().restoreState(state + [0]) }
            let other = try engine()
            other.snapshotTag = "market-maker seed=4"
            #expect(throws: CoreError.self) { try other.restoreState(state) }
            var versioned = state
            versioned[0] &+= 1
            #expect(throws: CoreError.self) { try engine().restoreState(versioned) }
        }
    }
}
