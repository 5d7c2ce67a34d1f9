import Foundation
import RetraceCore

/// `retrace report RUN [RUN_B] --html FILE`: one self-contained HTML page (inline CSS and
/// SVG; no script, font or image is fetched) with the equity curve and drawdown, position
/// over time, fills marked on the price, latency histograms per stage and venue, and a
/// summary table. With two runs, the curves are overlaid and the table has both columns and
/// their difference.
public enum HTMLReport {
    static let colors = ["#1f6feb", "#e8710a"]

    /// One run's material for the page.
    struct Run {
        var path: String
        var manifest: [String: Any]
        var data: RunData
        var statistics: RunStatistics
        var prices: [(x: Int64, y: Double)]
        var latency: [LatencyFigures]
        var name: String { (path as NSString).lastPathComponent }
    }

    /// Renders the page for one or two runs.
    public static func render(_ runs: [String]) throws(ReportError) -> String {
        precondition(!runs.isEmpty && runs.count <= 2)
        var loaded: [Run] = []
        for path in runs {
            guard let manifest = Manifest.object(path) else { throw ReportError(.notARun, "\(path) is not a run folder (no readable manifest.json)") }
            let data = FileManager.default.fileExists(atPath: path + "/store.sqlite") ? try RunData.fromStore(path) : try RunData.fromJournal(path)
            loaded.append(Run(path: path, manifest: manifest, data: data, statistics: RunStatistics(data), prices: try prices(path, data),
                              latency: LatencyFigures.read(path)))
        }
        return page(loaded)
    }

    /// The traded instrument's price: quote mid, trade price or bar close, from the journal's
    /// inputs (the first instrument that has fills, else the first instrument).
    static func prices(_ run: String, _ data: RunData) throws(ReportError) -> [(x: Int64, y: Double)] {
        let target = data.fills.first?.fill.instrument ?? data.instruments.first?.id
        guard let target else { return [] }
        let scale = pow(10, Double(data.instrument(target).priceScale))
        var out: [(x: Int64, y: Double)] = []
        try forEachEvent(run) { e in
            switch e.body {
            case .quoteReceived(let q) where q.instrument == target && q.bidPrice.raw > 0 && q.askPrice.raw > 0:
                out.append((e.receiveTime.nanos, Double(q.bidPrice.raw + q.askPrice.raw) / 2 / scale))
            case .tradeReceived(let t) where t.instrument == target:
                out.append((e.receiveTime.nanos, Double(t.price.raw) / scale))
            case .barReceived(let b) where b.instrument == target:
                out.append((e.receiveTime.nanos, Double(b.close.raw) / scale))
            default: break
            }
        }
        return SVGChart.decimate(out, buckets: 1200)
    }

    static func page(_ runs: [Run]) -> String {
        let chart = SVGChart()
        let title = runs.count == 1 ? "Retrace report: \(runs[0].name)" : "Retrace report: \(runs[0].name) vs \(runs[1].name)"
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(SVGChart.escape(title))</title>
        <style>
        body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1f24; margin: 24px auto; max-width: 960px; padding: 0 12px; background: #fff; }
        h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
        .sub { color: #57606a; margin: 0 0 16px; } code { font: 12px ui-monospace, monospace; background: #f6f8fa; padding: 1px 4px; border-radius: 4px; }
        figure { margin: 8px 0 18px; } svg { max-width: 100%; height: auto; background: #fff; }
        svg .title { font: 600 13px system-ui, sans-serif; fill: #1b1f24; } svg .axis { font: 11px system-ui, sans-serif; fill: #57606a; }
        svg .grid { stroke: #eaeef2; stroke-width: 1; } svg .frame { stroke: #8c959f; stroke-width: 1; } svg .zero { stroke: #8c959f; stroke-dasharray: 3 3; }
        table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; } th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eaeef2; }
        td.n { text-align: right; font-family: ui-monospace, monospace; font-size: 12px; } th { background: #f6f8fa; }
        .empty { color: #8c959f; } .legend span { display: inline-block; width: 12px; height: 4px; margin: 0 6px 3px 12px; }
        </style></head><body>
        <h1>\(SVGChart.escape(title))</h1>

        """
        h += "<p class=\"sub\">"
        for (k, r) in runs.enumerated() {
            let m = r.manifest
            h += (k > 0 ? "<br>" : "") + "<span class=\"legend\"><span style=\"background:\(colors[k])\"></span></span><b>\(SVGChart.escape(r.name))</b>: "
                + "\(SVGChart.escape(m["mode"] as? String ?? "")) of <code>\(SVGChart.escape(m["strategy"] as? String ?? ""))</code> on \(SVGChart.escape(m["dataset"] as? String ?? "")), "
                + "fingerprint <code>\(SVGChart.escape(String((m["fingerprint"] as? String ?? "").prefix(16))))…</code>"
        }
        h += "</p>\n"

        h += "<h2>Equity and drawdown</h2>\n"
        let equity = runs.enumerated().map { k, r in
            SVGChart.Series(name: runs.count == 1 ? "equity" : r.name, color: colors[k], points: r.data.equity.map { ($0.time.nanos, $0.balance.equity.approximateDouble) })
        }
        h += chart.timeSeries(title: "Equity", series: equity) + "\n"
        let drawdown = runs.enumerated().map { k, r in
            SVGChart.Series(name: runs.count == 1 ? "drawdown" : r.name, color: runs.count == 1 ? "#cf222e" : colors[k], points: drawdownPoints(r), area: runs.count == 1)
        }
        h += chart.timeSeries(title: "Drawdown from the running peak", series: drawdown, yZero: true, yUnit: "%") + "\n"

        h += "<h2>Position</h2>\n"
        let positions = runs.enumerated().map { k, r in
            SVGChart.Series(name: runs.count == 1 ? "position" : r.name, color: colors[k], points: positionPoints(r), step: true)
        }
        h += chart.timeSeries(title: "Position over time (units of \(runs[0].data.fills.first.map { runs[0].data.instrument($0.fill.instrument).symbol.description } ?? "the instrument"))",
                              series: positions, yZero: true) + "\n"

        h += "<h2>Trades on price</h2>\n"
        for (k, r) in runs.enumerated() {
            let scale = { (id: InstrumentID) in pow(10, Double(r.data.instrument(id).priceScale)) }
            let markers = r.data.fills.map { f in
                SVGChart.Marker(x: f.time.nanos, y: Double(f.fill.price.raw) / scale(f.fill.instrument), up: f.fill.side == .buy, color: f.fill.side == .buy ? "#1a7f37" : "#cf222e")
            }
            h += chart.timeSeries(title: "Price and fills (▲ buy, ▼ sell)\(runs.count > 1 ? " — \(r.name)" : "")",
                                  series: [SVGChart.Series(name: "price", color: k == 0 ? "#57606a" : colors[k], points: r.prices)], markers: markers) + "\n"
        }

        h += "<h2>Latency</h2>\n"
        var anyLatency = false
        for (k, r) in runs.enumerated() {
            for l in r.latency where !l.log2Counts.isEmpty && l.count > 0 {
                anyLatency = true
                let label = "\(l.source == "recorded" ? "recorded " : "")\(l.stage)\(l.venue.isEmpty ? "" : " @ \(l.venue)")\(runs.count > 1 ? " — \(r.name)" : "")"
                h += chart.log2Histogram(title: label, counts: l.log2Counts, color: colors[k],
                                         note: "n=\(l.count)  p50 \(SVGChart.nanosLabel(l.p50))  p99 \(SVGChart.nanosLabel(l.p99))  max \(SVGChart.nanosLabel(l.max))") + "\n"
            }
        }
        if !anyLatency { h += "<p class=\"empty\">No latency histograms in the manifest (profiling off, or a run made before histograms were recorded).</p>\n" }

        h += "<h2>Summary</h2>\n<table><tr><th>metric</th>"
        for r in runs { h += "<th>\(SVGChart.escape(r.name))</th>" }
        if runs.count == 2 { h += "<th>B − A</th>" }
        h += "</tr>\n"
        let head: [(String, (Run) -> String)] = [
            ("status", { $0.manifest["status"] as? String ?? "" }), ("events", { "\($0.manifest["events"] ?? "")" }),
            ("orders", { "\($0.manifest["orders"] ?? "")" }), ("fills", { "\($0.manifest["fills"] ?? "")" }),
            ("fingerprint", { String(($0.manifest["fingerprint"] as? String ?? "").prefix(16)) + "…" }),
        ]
        for (name, value) in head {
            h += "<tr><td>\(name)</td>" + runs.map { "<td class=\"n\">\(SVGChart.escape(value($0)))</td>" }.joined()
            if runs.count == 2 { h += "<td class=\"n\">\(delta(value(runs[0]), value(runs[1])))</td>" }
            h += "</tr>\n"
        }
        let rows = runs.map { $0.statistics.rows }
        for (i, (name, value)) in rows[0].enumerated() {
            h += "<tr><td>\(name)</td><td class=\"n\">\(SVGChart.escape(value))</td>"
            if runs.count == 2 { h += "<td class=\"n\">\(SVGChart.escape(rows[1][i].1))</td><td class=\"n\">\(delta(value, rows[1][i].1))</td>" }
            h += "</tr>\n"
        }
        h += "</table>\n<p class=\"sub\">Definitions of every figure: the README's <i>Reports</i> section. Made by retrace from the run folders; no network access needed to view.</p>\n</body></html>\n"
        return h
    }

    static func delta(_ a: String, _ b: String) -> String {
        if let x = Money(parsing: a), let y = Money(parsing: b) { return SVGChart.escape((y - x).text) }
        if let x = Double(a), let y = Double(b), x.isFinite, y.isFinite { return String(format: "%.6g", y - x) }
        return a == b ? "=" : "≠"
    }

    static func drawdownPoints(_ r: Run) -> [(x: Int64, y: Double)] {
        var peak = r.data.startingCash.approximateDouble
        return r.data.equity.map { row in
            let e = row.balance.equity.approximateDouble
            peak = max(peak, e)
            return (row.time.nanos, peak > 0 ? -(peak - e) / peak * 100 : 0)
        }
    }

    static func positionPoints(_ r: Run) -> [(x: Int64, y: Double)] {
        guard let id = r.data.fills.first?.fill.instrument else { return [] }
        let scale = pow(10, Double(r.data.instrument(id).quantityScale))
        var out: [(x: Int64, y: Double)] = []
        if let start = r.data.equity.first?.time.nanos { out.append((start, 0)) }
        for p in r.data.positions where p.position.instrument == id { out.append((p.time.nanos, Double(p.position.quantity.raw) / scale)) }
        return out
    }
}
