import Foundation
import RetraceCore
import RetraceJournal
import RetraceStore

/// What statistics and reports are computed from: a run's trades, fills, positions and
/// equity curve. It comes from the store or straight from the journal (the same projection
/// code), and both give identical figures.
public struct RunData: Sendable {
    public var startingCash: Money
    public var instruments: [Instrument]
    public var trades: [TradeRow]
    public var fills: [FillRow]
    public var positions: [PositionRow]
    public var equity: [EquityRow]

    public init(startingCash: Money, instruments: [Instrument], trades: [TradeRow], fills: [FillRow], positions: [PositionRow], equity: [EquityRow]) {
        (self.startingCash, self.instruments, self.trades, self.fills, self.positions, self.equity) = (startingCash, instruments, trades, fills, positions, equity)
    }

    public func instrument(_ id: InstrumentID) -> Instrument {
        instruments.first { $0.id == id } ?? Instrument(id: id, symbol: Symbol("?")!, priceScale: 0, quantityScale: 0)
    }

    /// Reads `RUN/store.sqlite`.
    public static func fromStore(_ run: String) throws(ReportError) -> RunData {
        let path = run + "/store.sqlite"
        guard FileManager.default.fileExists(atPath: path) else { throw ReportError(.notARun, "\(run) has no store.sqlite (rebuild it: retrace journal rebuild-store \(run) --out \(path))") }
        let store: RunStore
        do { store = try RunStore(path: path) } catch { throw ReportError(.store, error.message) }
        return try load(store, path: path).data
    }

    /// The run's catalog record and its data from an open store (`path` names it in errors).
    static func load(_ store: RunStore, path: String) throws(ReportError) -> (record: RunRecord, data: RunData) {
        do {
            guard let record = try store.run() else { throw ReportError(.store, "\(path): the run catalog is empty") }
            let equity = try store.equity()
            let cash = CSVExporter.parseStartingCash(record.parameters) ?? equity.first?.balance.equity ?? .zero
            return (record, RunData(startingCash: cash, instruments: try store.instruments(), trades: try store.trades(), fills: try store.fills(),
                                    positions: try store.positions(), equity: equity))
        } catch let e as ReportError { throw e } catch let e as StoreError { throw ReportError(.store, e.message) } catch {
            throw ReportError(.store, "\(path): \(error)")
        }
    }

    /// Reads `RUN/journal` (and the starting cash from `RUN/manifest.json`), projecting the
    /// outputs as the store projector does.
    public static func fromJournal(_ run: String) throws(ReportError) -> RunData {
        var data = RunData(startingCash: Manifest.startingCash(run) ?? .zero, instruments: [], trades: [], fills: [], positions: [], equity: [])
        var tracker = RoundTripTracker()
        var pendingFill: (OrderFilled, Timestamp)?
        try forEachEvent(run) { e in
            switch e.body {
            case .instrumentDefined(let d):
                if !data.instruments.contains(where: { $0.id == d.instrument.id }) { data.instruments.append(d.instrument) }
                tracker.define(d.instrument)
            case .orderFilled(let f):
                data.fills.append(FillRow(sequence: e.sequence, time: e.eventTime, fill: f))
                pendingFill = (f, e.eventTime)
            case .positionChanged(let p):
                data.positions.append(PositionRow(sequence: e.sequence, time: e.eventTime, position: p))
                if let (fill, time) = pendingFill, fill.instrument == p.instrument {
                    if let t = tracker.onFill(fill, position: p, time: time) { data.trades.append(t) }
                    pendingFill = nil
                }
            case .balanceChanged(let b):
                data.equity.append(EquityRow(sequence: e.sequence, time: e.eventTime, balance: b))
            default: break
            }
        }
        if data.startingCash == .zero, let first = data.equity.first { data.startingCash = first.balance.equity }
        data.instruments.sort { $0.id.raw < $1.id.raw }
        return data
    }
}

/// Summary figures of a run. Money stays exact; ratios are doubles (reported, never fed
/// back into state). Definitions (also in the README):
///
/// - total return: pnl ÷ starting cash; annualised: (1 + total)^(1/years) − 1 over the
///   equity curve's span (years of 365.25 days).
/// - Sharpe: mean ÷ standard deviation (n − 1) of period returns of the equity curve,
///   × √(periods per year); Sortino: mean ÷ downside deviation √(mean(min(r, 0)²)), same
///   scaling. Periods are days when the run spans 30 days or more, minutes otherwise; the
///   curve is sampled at each period's last point (carried forward). Risk-free rate 0.
/// - max drawdown: the largest fall from a running peak, as a fraction of the peak; its
///   duration: from that peak until equity is back at it (or the run's end).
/// - win rate: winning trades ÷ trades; profit factor: gross profit ÷ |gross loss|;
///   average win / loss: gross profit ÷ winners, gross loss ÷ losers.
/// - exposure: fraction of the equity curve's span with a non-zero position.
/// - turnover: traded value (Σ |price × quantity| of fills) ÷ starting cash.
public struct RunStatistics: Sendable, Equatable {
    public var startingCash: Money
    public var finalEquity: Money
    public var pnl: Money
    public var fees: Money
    public var trades: Int
    public var winningTrades: Int
    public var losingTrades: Int
    public var grossProfit: Money
    public var grossLoss: Money
    /// Largest peak-to-trough fall of the equity curve, as a fraction of the peak.
    public var maxDrawdown: Double
    /// Nanoseconds from the max drawdown's peak until equity regained it (or the end).
    public var maxDrawdownNanos: Int64
    /// The equity curve's span in nanoseconds.
    public var spanNanos: Int64
    public var sharpe: Double
    public var sortino: Double
    /// Length of the return periods of Sharpe and Sortino, nanoseconds.
    public var periodNanos: Int64
    public var exposure: Double
    public var tradedValue: Money

    public init(_ d: RunData) {
        self.init(startingCash: d.startingCash, trades: d.trades, equity: d.equity, positions: d.positions, fills: d.fills, instruments: d.instruments)
    }

    /// Computes the statistics from trades and the equity curve (positions and fills for
    /// exposure and turnover).
    public init(startingCash: Money, trades: [TradeRow], equity: [EquityRow], positions: [PositionRow] = [], fills: [FillRow] = [], instruments: [Instrument] = []) {
        self.startingCash = startingCash
        finalEquity = equity.last?.balance.equity ?? startingCash
        pnl = finalEquity - startingCash
        fees = equity.last?.balance.fees ?? .zero
        self.trades = trades.count
        winningTrades = trades.filter { $0.pnl > .zero }.count
        losingTrades = trades.filter { $0.pnl < .zero }.count
        grossProfit = trades.filter { $0.pnl > .zero }.reduce(Money.zero) { $0 + $1.pnl }
        grossLoss = trades.filter { $0.pnl < .zero }.reduce(Money.zero) { $0 + $1.pnl }

        // Drawdown and its duration.
        var peak = startingCash.approximateDouble
        var peakTime = equity.first?.time.nanos ?? 0
        var worst = 0.0, worstPeakTime: Int64 = 0, inWorst = false
        var duration: Int64 = 0
        for row in equity {
            let e = row.balance.equity.approximateDouble
            if e >= peak {
                if inWorst { duration = row.time.nanos - worstPeakTime; inWorst = false }
                peak = e
                peakTime = row.time.nanos
            } else if peak > 0, (peak - e) / peak > worst {
                worst = (peak - e) / peak
                worstPeakTime = peakTime
                inWorst = true
            }
        }
        if inWorst, let last = equity.last { duration = last.time.nanos - worstPeakTime }
        maxDrawdown = worst
        maxDrawdownNanos = worst > 0 ? duration : 0

        let start = equity.first?.time.nanos ?? 0, end = equity.last?.time.nanos ?? 0
        spanNanos = end - start
        // Period returns: days for runs of 30 days or more, minutes otherwise.
        let day: Int64 = 86_400_000_000_000
        periodNanos = spanNanos >= 30 * day ? day : 60_000_000_000
        var closes: [Double] = [startingCash.approximateDouble]
        if !equity.isEmpty {
            var k = 0
            var value = startingCash.approximateDouble
            var boundary = start - ((start % periodNanos) + periodNanos) % periodNanos + periodNanos
            while boundary <= end + periodNanos - 1 {
                while k < equity.count && equity[k].time.nanos < boundary { value = equity[k].balance.equity.approximateDouble; k += 1 }
                closes.append(value)
                boundary += periodNanos
            }
        }
        var returns: [Double] = []
        for i in 1..<closes.count where closes[i - 1] != 0 { returns.append(closes[i] / closes[i - 1] - 1) }
        let perYear = 365.25 * Double(day) / Double(periodNanos)
        if returns.count >= 2 {
            let mean = returns.reduce(0, +) / Double(returns.count)
            let variance = returns.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(returns.count - 1)
            sharpe = variance > 0 ? mean / variance.squareRoot() * perYear.squareRoot() : 0
            let downside = (returns.reduce(0) { $0 + min($1, 0) * min($1, 0) } / Double(returns.count)).squareRoot()
            sortino = downside > 0 ? mean / downside * perYear.squareRoot() : 0
        } else {
            sharpe = 0
            sortino = 0
        }

        // Exposure: time with any position open, over the span.
        var open: [UInt32: Bool] = [:]
        var openCount = 0, since: Int64 = start, exposed: Int64 = 0
        for p in positions {
            let id = p.position.instrument.raw
            let nowOpen = p.position.quantity.raw != 0
            let was = open[id] ?? false
            if was == nowOpen { continue }
            if nowOpen { if openCount == 0 { since = p.time.nanos }; openCount += 1 } else {
                openCount -= 1
                if openCount == 0 { exposed += p.time.nanos - since }
            }
            open[id] = nowOpen
        }
        if openCount > 0 { exposed += max(0, end - since) }
        exposure = spanNanos > 0 ? min(1, Double(exposed) / Double(spanNanos)) : 0

        var traded = Money.zero
        for f in fills {
            let i = instruments.first { $0.id == f.fill.instrument }
            let v = Money.notional(price: f.fill.price, quantity: f.fill.quantity.magnitude, priceScale: i?.priceScale ?? 0, quantityScale: i?.quantityScale ?? 0)
            traded += v.raw < 0 ? Money(raw: -v.raw) : v
        }
        tradedValue = traded
    }

    /// Total return as a fraction of starting cash.
    public var totalReturn: Double {
        let start = startingCash.approximateDouble
        return start == 0 ? 0 : pnl.approximateDouble / start
    }
    /// (1 + total return)^(1 / years) − 1 over the equity curve's span (0 for an empty span).
    public var annualisedReturn: Double {
        guard spanNanos > 0, 1 + totalReturn > 0 else { return 0 }
        let years = Double(spanNanos) / (365.25 * 86_400e9)
        return pow(1 + totalReturn, 1 / years) - 1
    }
    /// Winning trades ÷ trades.
    public var winRate: Double { trades == 0 ? 0 : Double(winningTrades) / Double(trades) }
    /// Gross profit ÷ |gross loss| (infinite when there are no losses).
    public var profitFactor: Double {
        grossLoss == .zero ? (grossProfit > .zero ? .infinity : 0) : grossProfit.approximateDouble / -grossLoss.approximateDouble
    }
    /// Gross profit ÷ winning trades (exact when it terminates within 18 decimals).
    public var averageWin: Money { winningTrades == 0 ? .zero : Money(raw: grossProfit.raw / Int128(winningTrades)) }
    /// Gross loss ÷ losing trades (negative).
    public var averageLoss: Money { losingTrades == 0 ? .zero : Money(raw: grossLoss.raw / Int128(losingTrades)) }
    /// Traded value ÷ starting cash.
    public var turnover: Double { startingCash == .zero ? 0 : tradedValue.approximateDouble / startingCash.approximateDouble }

    /// The figures as (metric, value) text, in report order (summary.csv, the HTML table).
    public var rows: [(String, String)] {
        func f(_ x: Double) -> String { x.isFinite ? String(format: "%.6f", x) : (x > 0 ? "inf" : "-inf") }
        return [
            ("trades", String(trades)), ("starting_cash", startingCash.text), ("final_equity", finalEquity.text), ("pnl", pnl.text), ("fees", fees.text),
            ("total_return_pct", f(totalReturn * 100)), ("annualised_return_pct", f(annualisedReturn * 100)),
            ("sharpe", f(sharpe)), ("sortino", f(sortino)), ("return_period_seconds", String(periodNanos / 1_000_000_000)),
            ("max_drawdown_pct", f(maxDrawdown * 100)), ("max_drawdown_duration_seconds", f(Double(maxDrawdownNanos) / 1e9)),
            ("win_rate_pct", f(winRate * 100)), ("profit_factor", f(profitFactor)), ("average_win", averageWin.text), ("average_loss", averageLoss.text),
            ("exposure_pct", f(exposure * 100)), ("traded_value", tradedValue.text), ("turnover", f(turnover)),
        ]
    }
}

/// Calls `body` with every event of `RUN/journal`, in order; errors name the run.
public func forEachEvent(_ run: String, _ body: (Event) -> Void) throws(ReportError) {
    let reader: JournalReader
    do { reader = try JournalReader(directory: run + "/journal") } catch { throw ReportError(.notARun, "\(run): cannot read its journal: \(error.message)") }
    while true {
        let next: (record: JournalRecord, event: Event)?
        do { next = try reader.nextEvent() } catch { throw ReportError(.io, "\(run): \(error.message)") }
        guard let (_, e) = next else { return }
        body(e)
    }
}

/// Reads the few manifest fields reports need (the manifest type lives in the engine).
enum Manifest {
    static func object(_ run: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: run + "/manifest.json") else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    static func startingCash(_ run: String) -> Money? {
        guard let p = object(run)?["parameters"] as? [String: Any], let cash = p["cash"] as? String else { return nil }
        return Money(parsing: cash)
    }
}
