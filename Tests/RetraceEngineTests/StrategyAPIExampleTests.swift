import Foundation
import Testing
import RetraceCore
import RetraceEngine
import RetraceFeeds
import RetraceJournal
import RetraceStore

// The README's Strategy API v1 worked example, verbatim: it must compile and trade.
public struct WideSpreadFlip: Strategy {
    public static let name = "wide-spread-flip"
    public static let summary = "buys when the spread is wide, sells after a fixed hold"
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("size", "1", "units per trade"),
        ParameterSpec("min_spread", "3", "spread in ticks that triggers a buy"),
        ParameterSpec("hold", "500ms", "how long to keep the position"),
    ]
    let sizeText: String, minSpread: Int, hold: Int64
    var instrument: InstrumentID?, size = Quantity.zero, holding = false

    public init(parameters p: ParameterValues) throws(EngineError) {
        sizeText = p.text("size")
        minSpread = try p.positiveInt("min_spread")
        hold = try p.durationNanos("hold")
    }

    public mutating func onStart(_ context: inout StrategyContext) throws(EngineError) {
        guard let i = try context.tradedInstrument(symbol: "") else { return }
        (instrument, size) = (i.id, try ParameterValues.lots("size", sizeText, of: i))
    }

    public mutating func onMarket(_ event: Event, _ context: inout StrategyContext) {
        guard let id = instrument, !holding, context.position(id).raw == 0,
              let top = context.lastValue(id), let bid = top.bid, let ask = top.ask,
              ask.price.raw - bid.price.raw >= minSpread else { return }
        _ = context.submitMarket(id, .buy, quantity: size)
        context.schedule(at: context.now.adding(nanos: hold), timerID: 1)
        holding = true
    }

    public mutating func onTimer(_ timerID: UInt64, _ context: inout StrategyContext) {
        guard let id = instrument, holding else { return }
        _ = context.submitMarket(id, .sell, quantity: context.position(id))
        holding = false
    }
    // Snapshots (replay windows start from them): the changing state, in a fixed order.
    public func saveState(_ w: inout StateWriter) -> Bool {
        w.put(instrument); w.put(size); w.put(holding)
        return true
    }

    public mutating func restoreState(_ r: inout StateReader) throws(CoreError) {
        (instrument, size, holding) = (try r.get(), try r.get(), try r.get())
    }
}

@Suite("Strategy API example")
struct StrategyAPIExampleTests {
    @Test("the README's worked example trades round trips: every buy at a spread of 3+ ticks, sold one hold later")
    func example() throws {
        let out = temporaryDirectory("flip")
        defer { try? FileManager.default.removeItem(atPath: out) }
        // Peer quotes: 100 ms apart, spreads of 1–3 ticks; hold 1 s = 10 quotes.
        let events = PeerQuoteWorkload.events(count: 5_000)
        var source = ArrayInput(events)
        var settings = BacktestDriver.Settings(overrides: [("hold", "1s"), ("size", "0.5")], dataset: "peer", inputs: [], out: out)
        settings.snapshotEvery = 2_000
        let m = try BacktestDriver.run(WideSpreadFlip.self, source: &source, settings: settings)
        #expect(m.status == "completed")
        #expect(m.orders > 100 && m.orders % 2 == 0 && m.fills == m.orders)
        let fills = try RunStore(path: out + "/store.sqlite").fills()
        // The last buy may be closed at the end of the data instead, before its hold is up.
        for pair in stride(from: 0, to: fills.count - 2, by: 2) {
            let (buy, sell) = (fills[pair], fills[pair + 1])
            #expect(buy.fill.side == .buy && sell.fill.side == .sell)
            #expect(sell.time.nanos - buy.time.nanos == 1_000_000_000, "sold one hold (1 s) after the buy")
            #expect(buy.fill.quantity.raw == 500 && sell.fill.quantity == buy.fill.quantity)
        }
        // Its snapshots: the run restored from each continues exactly as the whole run did.
        let full = try SnapshotTests.outputsAfterInputs(out)
        let reader = try JournalReader(directory: out + "/journal")
        let snapshots = SnapshotStore(journalDirectory: out + "/journal", runID: reader.runID).list()
        #expect(snapshots.count == 2)
        for info in snapshots {
            let k = try #require(full.sequences.firstIndex(of: info.sequence))
            var rest = ArrayInput(Array(events[(k + 1)...]))
            var resumed = settings
            (resumed.out, resumed.snapshotEvery, resumed.startState) = (out + "-from-\(info.sequence)", 0, try SnapshotStore(journalDirectory: out + "/journal", runID: reader.runID).load(info))
            defer { try? FileManager.default.removeItem(atPath: resumed.out) }
            _ = try BacktestDriver.run(WideSpreadFlip.self, source: &rest, settings: resumed)
            let part = try SnapshotTests.outputsAfterInputs(resumed.out)
            let same = Array(part.outputs.dropFirst()) == Array(full.outputs[(k + 1)...])
            #expect(same, "outputs after snapshot \(info.sequence)")
        }
    }

    @Test("the README's worked example is this file's strategy, line for line (the README cannot drift from what compiles)")
    func readmeMatches() throws {
        let readme = try String(contentsOfFile: "README.md", encoding: .utf8)
        let here = try String(contentsOfFile: #filePath, encoding: .utf8)
        func strategy(_ text: String) -> String? {
            guard let start = text.range(of: "public struct WideSpreadFlip: Strategy {") else { return nil }
            // The struct ends at the first line that is a lone closing brace.
            guard let end = text.range(of: "\n}\n", range: start.upperBound..<text.endIndex) else { return nil }
            return String(text[start.lowerBound..<end.upperBound])
        }
        let documented = try #require(strategy(readme), "README.md has the worked example")
        let compiled = try #require(strategy(here))
        #expect(documented == compiled)
        #expect(readme.contains("```swift\nimport RetraceCore\nimport RetraceEngine\n\n" + documented + "```"), "the README's block is the imports and the struct")
    }
}
