import Foundation
import Testing
@testable import RetraceCore
@testable import RetraceEngine
@testable import RetraceJournal

/// Schedules timers on the first bar and records when each fires.
struct TimerProbe: Strategy {
    static let name = "timer-probe"
    static let summary = "test strategy"
    static let parameters: [ParameterSpec] = []
    nonisolated(unsafe) static var fired: [(UInt64, Int64)] = []
    var armed = false
    init(parameters: ParameterValues) throws(EngineError) {}
    mutating func onMarket(_ event: Event, _ context: inout StrategyContext) {
        guard !armed else { return }
        armed = true
        let day: Int64 = 86_400_000_000_000
        context.schedule(at: context.now.adding(nanos: 2 * day + 5), timerID: 3)
        context.schedule(at: context.now.adding(nanos: day / 2), timerID: 1)
        context.schedule(at: context.now.adding(nanos: 2 * day + 5), timerID: 4)  // same time: after 3
        context.schedule(at: context.now.adding(nanos: 99 * day), timerID: 9)     // after the data: never fires
    }
    mutating func onTimer(_ timerID: UInt64, _ context: inout StrategyContext) {
        TimerProbe.fired.append((timerID, context.now.nanos))
    }
}

@Suite("Strategy timers", .serialized)
struct TimerTests {
    @Test("timers fire in time order at their own time, ties in scheduling order, and are journaled")
    func order() throws {
        TimerProbe.fired = []
        let out = temporaryDirectory("timers")
        defer { try? FileManager.default.removeItem(atPath: out) }
        var source = ArrayInput(handBars())
        let m = try BacktestDriver.run(TimerProbe.self, source: &source, settings: BacktestDriver.Settings(overrides: [], dataset: "hand", inputs: [], out: out))
        let t0: Int64 = 1_704_067_200_000_000_000, day: Int64 = 86_400_000_000_000
        #expect(TimerProbe.fired.map(\.0) == [1, 3, 4])
        #expect(TimerProbe.fired.map(\.1) == [t0 + day / 2, t0 + 2 * day + 5, t0 + 2 * day + 5])
        var timersInJournal = 0
        _ = try StoreRebuild.replay(run: out) { e throws(EngineError) in if case .timerFired = e.body { timersInJournal += 1 } }
        #expect(timersInJournal == 3)
        #expect(m.status == "completed")
    }

    @Test("fsync mode makes every input durable before it is processed")
    func fsync() throws {
        let out = temporaryDirectory("fsync")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let journal = try JournalWriter(directory: out, runID: [UInt8](repeating: 0, count: 16), syncMode: .fsync)
        let recorder = OutputRecorder(journal: journal, writer: nil)
        for e in handBars() { try recorder.recordInput(e) }
        #expect(journal.syncCount == handBars().count)
    }
}
