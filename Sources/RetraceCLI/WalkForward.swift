import Foundation
import RetraceCore
import RetraceEngine
import RetraceJournal
import RetraceReports
import RetraceStore

/// `--walk-forward TRAIN/TEST`: rolling windows over the data. Each window trains on TRAIN
/// (every grid combination is run, the best by the metric is chosen) and tests the choice
/// on the TEST that follows; windows advance by TEST, so the test windows tile the data
/// after the first TRAIN without overlapping.
struct WalkForwardSpec: Equatable {
    enum Span: Equatable {
        /// Event time in nanoseconds (`30d`, `12h`, `90m`, `1w`).
        case nanos(Int64)
        /// Market events of the data (a whole number).
        case events(Int)
    }
    let train: Span
    let test: Span

    init(parsing text: String) throws(UsageError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, let train = Self.span(parts[0]), let test = Self.span(parts[1]) else {
            throw UsageError("--walk-forward expects TRAIN/TEST: two durations (30d/7d, 6h/1h, 10m/5m; units ns us ms s m h d w) or two event counts (50000/10000), got '\(text)'")
        }
        switch (train, test) {
        case (.nanos, .nanos), (.events, .events): break
        default: throw UsageError("--walk-forward: TRAIN and TEST must both be durations or both event counts, got '\(text)'")
        }
        (self.train, self.test) = (train, test)
    }

    static func span(_ s: String) -> Span? {
        if let n = Int(s) { return n > 0 ? .events(n) : nil }
        if s.hasSuffix("w"), let n = Int64(s.dropLast()), n > 0 { return .nanos(n * 7 * 86_400_000_000_000) }
        guard let n = Timestamp.parseDurationNanos(s), n > 0 else { return nil }
        return .nanos(n)
    }

    /// The market events of a data run: receive times and journal sequence numbers, in order.
    struct DataSpan {
        var times: [Int64] = []
        var sequences: [UInt64] = []

        /// Reads `RUN/journal` (inputs only: instrument definitions, session markers and
        /// outputs are not market events).
        init(run: String) throws {
            var times: [Int64] = [], sequences: [UInt64] = []
            do {
                try forEachEvent(run) { e in
                    guard e.body.marketInstrument != nil, !e.body.kind.isOutput else { return }
                    times.append(e.receiveTime.nanos)
                    sequences.append(e.sequence)
                }
            } catch { throw EngineError(.journal, error.message) }
            (self.times, self.sequences) = (times, sequences)
        }

        init(times: [Int64], sequences: [UInt64]) { (self.times, self.sequences) = (times, sequences) }
    }

    /// One window: bounds as `retrace backtest --from/--until` take them (inclusive).
    struct Window: Equatable {
        let number: Int
        let trainFrom: String
        let trainUntil: String
        let testFrom: String
        let testUntil: String
    }

    /// The windows over `data`: window k (from 0) trains on [start + k·TEST, start + k·TEST +
    /// TRAIN) and tests on the TEST after it; the last test window may be cut short by the
    /// end of the data. Time bounds are ISO-8601 with nanoseconds; event bounds are the
    /// journal sequence numbers of the first and last event of each part.
    func windows(over data: DataSpan) throws(UsageError) -> [Window] {
        guard let first = data.times.first, let last = data.times.last else { throw UsageError("--walk-forward: the data has no market events") }
        var out: [Window] = []
        switch (train, test) {
        case (.nanos(let tr), .nanos(let te)):
            var start = first
            while start + tr <= last {
                let testFrom = start + tr
                out.append(Window(number: out.count + 1, trainFrom: Timestamp(nanos: start).iso8601, trainUntil: Timestamp(nanos: testFrom - 1).iso8601,
                                  testFrom: Timestamp(nanos: testFrom).iso8601, testUntil: Timestamp(nanos: testFrom + te - 1).iso8601))
                start += te
            }
        case (.events(let tr), .events(let te)):
            let n = data.sequences.count
            var start = 0
            while start + tr < n {
                let testFrom = start + tr
                let s = data.sequences
                out.append(Window(number: out.count + 1, trainFrom: String(s[start]), trainUntil: String(s[testFrom - 1]), testFrom: String(s[testFrom]),
                                  testUntil: String(s[min(testFrom + te, n) - 1])))
                start += te
            }
        default: break
        }
        guard !out.isEmpty else { throw UsageError("--walk-forward: the data is too short for one training window and a test window after it") }
        return out
    }
}

/// The test windows' runs joined into one out-of-sample run: each window's equity curve is
/// shifted by the profit of the windows before it (every test run starts with the same
/// cash), so the stitched curve is what one account would have made trading them in turn.
struct StitchedRun {
    var data: RunData
    /// The window each row of `data.equity` came from.
    var windows: [Int] = []

    init(_ runs: [(window: Int, data: RunData)]) {
        let cash = runs.first?.data.startingCash ?? .zero
        data = RunData(startingCash: cash, instruments: [], trades: [], fills: [], positions: [], equity: [])
        var offset = Money.zero
        var fees = Money.zero
        for (window, run) in runs {
            let shift = offset + cash - run.startingCash
            for var row in run.equity {
                row.balance.cash += shift
                row.balance.equity += shift
                row.balance.realizedPnL += offset
                row.balance.fees += fees
                data.equity.append(row)
                windows.append(window)
            }
            data.trades += run.trades
            data.fills += run.fills
            data.positions += run.positions
            for i in run.instruments where !data.instruments.contains(where: { $0.id == i.id }) { data.instruments.append(i) }
            let end = run.equity.last?.balance
            offset += (end?.equity ?? run.startingCash) - run.startingCash
            fees += end?.fees ?? .zero
        }
    }
}
