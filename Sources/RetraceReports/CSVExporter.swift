import Foundation
import RetraceCore
import RetraceStore

/// `retrace export RUN --csv DIR`: the run's store as CSV files.
///
/// Every file has a header row; times appear twice, as ISO-8601 UTC with nanoseconds and
/// as integer nanoseconds (`*_ns`); prices and quantities are exact decimal text at the
/// instrument's precision; money is exact decimal text.
public enum CSVExporter {
    /// Files written, in order.
    public static let files = ["trades.csv", "orders.csv", "fills.csv", "positions.csv", "equity.csv", "latency.csv", "summary.csv"]

    /// Writes the CSV files for `run` into `directory` (created if needed).
    public static func export(run: String, to directory: String, progress: ((Int) -> Void)? = nil) throws(ReportError) -> [String] {
        let storePath = run + "/store.sqlite"
        guard FileManager.default.fileExists(atPath: storePath) else { throw ReportError(.notARun, "\(run) is not a run folder (no store.sqlite)") }
        do {
            let store = try RunStore(path: storePath)
            let (record, data) = try RunData.load(store, path: storePath)
            let instrument = data.instrument
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let contents = [
                tradesCSV(data.trades, instrument),
                ordersCSV(try store.orders(), instrument),
                fillsCSV(data.fills, instrument),
                positionsCSV(data.positions, instrument),
                equityCSV(data.equity),
                latencyCSV(LatencyFigures.read(run)),
                summaryCSV(record, RunStatistics(data)),
            ]
            var written: [String] = []
            for (name, text) in zip(files, contents) {
                let path = directory + "/" + name
                try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
                written.append(path)
                progress?(written.count)
            }
            return written
        } catch let e as ReportError {
            throw e
        } catch let e as StoreError {
            throw ReportError(.store, e.message)
        } catch {
            throw ReportError(.io, "cannot write CSV files to \(directory): \(error.localizedDescription)")
        }
    }

    /// The `cash` parameter from the catalog's parameter JSON (written by the engine as
    /// a flat object of strings).
    static func parseStartingCash(_ json: String) -> Money? {
        guard let start = json.range(of: "\"cash\":\"") else { return nil }
        let rest = json[start.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return Money(parsing: rest[..<end])
    }

    /// Money per unit (a price) from a value and a quantity, exact when it terminates
    /// within 18 decimals, with at least the instrument's price decimals (12.0 at scale 1).
    static func perUnit(_ value: Money, _ quantity: Quantity, _ i: Instrument) -> String {
        guard quantity.raw != 0 else { return "" }
        let scaled = value.raw * Money.power(i.quantityScale) / Int128(quantity.magnitude.raw)
        let text = Money(raw: scaled < 0 ? -scaled : scaled).text
        guard i.priceScale > 0 else { return text }
        let decimals = text.firstIndex(of: ".").map { text.distance(from: $0, to: text.endIndex) - 1 } ?? -1
        if decimals >= i.priceScale { return text }
        return text + (decimals < 0 ? "." : "") + String(repeating: "0", count: i.priceScale - max(decimals, 0))
    }

    static func tradesCSV(_ trades: [TradeRow], _ instrument: (InstrumentID) -> Instrument) -> String {
        var w = CSVWriter(header: ["trade_id", "instrument", "side", "size", "entry_time", "entry_time_ns", "exit_time", "exit_time_ns",
                                   "entry_price", "exit_price", "pnl", "commission", "return_pct"])
        for t in trades {
            let i = instrument(t.instrument)
            let invested = t.entryValue.approximateDouble
            let returnPct = invested == 0 ? 0 : t.pnl.approximateDouble / abs(invested) * 100
            w.row([String(t.tradeID), i.symbol.description, t.size.raw > 0 ? "long" : "short", i.text(t.size), t.entryTime.iso8601, String(t.entryTime.nanos),
                   t.exitTime.iso8601, String(t.exitTime.nanos), perUnit(t.entryValue, t.size, i), perUnit(t.exitValue, t.size, i),
                   t.pnl.text, t.commission.text, String(format: "%.6f", returnPct)])
        }
        return w.text
    }

    static func ordersCSV(_ orders: [OrderRow], _ instrument: (InstrumentID) -> Instrument) -> String {
        var w = CSVWriter(header: ["order_id", "instrument", "side", "type", "sizing", "quantity", "limit_price", "status", "filled_quantity",
                                   "avg_fill_price", "fees", "submit_time", "submit_time_ns", "last_update_time", "last_update_time_ns", "reject_reason"])
        for o in orders {
            let i = instrument(o.instrument)
            w.row([String(o.orderID.raw), i.symbol.description, o.side == .buy ? "buy" : "sell", o.type.name,
                   o.sizing == .fixed ? "fixed" : "all", o.sizing == .fixed ? i.text(o.quantity) : "", o.type.hasLimit ? i.text(o.limitPrice) : "",
                   o.status, i.text(o.filledQuantity), perUnit(o.filledNotional, o.filledQuantity, i), o.fees.text, o.submitTime.iso8601,
                   String(o.submitTime.nanos), o.lastUpdateTime.iso8601, String(o.lastUpdateTime.nanos), o.rejectReason])
        }
        return w.text
    }

    static func fillsCSV(_ fills: [FillRow], _ instrument: (InstrumentID) -> Instrument) -> String {
        var w = CSVWriter(header: ["sequence", "time", "time_ns", "order_id", "instrument", "side", "price", "quantity", "fee", "liquidity"])
        for r in fills {
            let f = r.fill, i = instrument(f.instrument)
            w.row([String(r.sequence), r.time.iso8601, String(r.time.nanos), String(f.orderID.raw), i.symbol.description, f.side == .buy ? "buy" : "sell",
                   i.text(f.price), i.text(f.quantity), f.fee.text, f.liquidity == .maker ? "maker" : "taker"])
        }
        return w.text
    }

    static func positionsCSV(_ rows: [PositionRow], _ instrument: (InstrumentID) -> Instrument) -> String {
        var w = CSVWriter(header: ["sequence", "time", "time_ns", "instrument", "quantity", "avg_price", "cost_basis", "realized_pnl", "fees"])
        for r in rows {
            let p = r.position, i = instrument(p.instrument)
            w.row([String(r.sequence), r.time.iso8601, String(r.time.nanos), i.symbol.description, i.text(p.quantity),
                   perUnit(p.costBasis, p.quantity, i), p.costBasis.text, p.realizedPnL.text, p.fees.text])
        }
        return w.text
    }

    static func equityCSV(_ rows: [EquityRow]) -> String {
        var w = CSVWriter(header: ["sequence", "time", "time_ns", "cash", "equity", "realized_pnl", "unrealized_pnl", "fees"])
        for r in rows {
            let b = r.balance
            w.row([String(r.sequence), r.time.iso8601, String(r.time.nanos), b.cash.text, b.equity.text, b.realizedPnL.text, b.unrealizedPnL.text, b.fees.text])
        }
        return w.text
    }

    static func latencyCSV(_ figures: [LatencyFigures]) -> String {
        var w = CSVWriter(header: ["source", "stage", "venue", "count", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns"])
        for l in figures {
            w.row([l.source, l.stage, l.venue, String(l.count), String(l.p50), String(l.p90), String(l.p99), String(l.p999), String(l.max)])
        }
        return w.text
    }

    static func summaryCSV(_ r: RunRecord, _ s: RunStatistics) -> String {
        var w = CSVWriter(header: ["metric", "value"])
        let rows: [(String, String)] = [
            ("run_id", r.runID), ("mode", r.mode), ("strategy", r.strategy), ("parameters", r.parameters), ("dataset", r.dataset),
            ("status", r.status), ("fingerprint", r.fingerprint), ("events", String(r.events)), ("orders", String(r.orders)),
            ("fills", String(r.fills)),
        ] + s.rows + [("started_at", r.startedAt), ("ended_at", r.endedAt)]
        for (k, v) in rows { w.row([k, v]) }
        return w.text
    }
}

/// One latency summary from a run's manifest: `measured` (this run's own processing, per
/// stage and venue) or `recorded` (a replay's reading of the original journal: feed and
/// order latency per venue).
public struct LatencyFigures: Sendable, Equatable {
    public var source: String
    public var stage: String
    public var venue: String
    public var count: Int64
    public var p50: Int64, p90: Int64, p99: Int64, p999: Int64, max: Int64
    /// Counts per power-of-two bucket of nanoseconds (bucket k holds [2^k, 2^(k+1))), when the
    /// manifest has them.
    public var log2Counts: [Int64]

    /// Every latency summary of `RUN/manifest.json`, measured first.
    public static func read(_ run: String) -> [LatencyFigures] {
        guard let m = Manifest.object(run) else { return [] }
        var out: [LatencyFigures] = []
        func add(_ list: Any?, _ source: String) {
            for case let o as [String: Any] in (list as? [Any]) ?? [] {
                func n(_ k: String) -> Int64 { (o[k] as? NSNumber)?.int64Value ?? 0 }
                out.append(LatencyFigures(source: source, stage: o["stage"] as? String ?? "", venue: o["venue"] as? String ?? "", count: n("count"),
                                          p50: n("p50"), p90: n("p90"), p99: n("p99"), p999: n("p999"), max: n("max"),
                                          log2Counts: ((o["log2_counts"] as? [Any]) ?? []).map { ($0 as? NSNumber)?.int64Value ?? 0 }))
            }
        }
        add(m["latency"], "measured")
        add((m["replay"] as? [String: Any])?["recorded_latency"], "recorded")
        return out
    }
}
