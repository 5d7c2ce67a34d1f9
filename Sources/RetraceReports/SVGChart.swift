import Foundation
import RetraceCore

/// Inline SVG charts for the HTML report: time series (lines, steps, areas, markers) and
/// bar charts, with axes and labels. No scripts, no external resources.
struct SVGChart {
    struct Series {
        var name: String
        var color: String
        var points: [(x: Int64, y: Double)]
        var step = false
        var area = false
    }

    struct Marker {
        var x: Int64
        var y: Double
        var up: Bool
        var color: String
    }

    var width = 900.0
    var height = 260.0
    let left = 78.0, right = 16.0, top = 26.0, bottom = 34.0

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func number(_ v: Double) -> String {
        let a = abs(v)
        if a == 0 { return "0" }
        if a >= 1e9 { return String(format: "%.3gG", v / 1e9) }
        if a >= 1e6 { return String(format: "%.3gM", v / 1e6) }
        if a >= 1e4 { return String(format: "%.4gk", v / 1e3) }
        return String(format: a >= 100 ? "%.6g" : "%.4g", v)
    }

    /// An axis label at the precision the tick step needs (100000.25 when ticks are 0.05 apart).
    static func axisLabel(_ v: Double, step: Double) -> String {
        guard step > 0, step.isFinite else { return number(v) }
        if abs(v) >= 1e6 && step >= 1e4 { return number(v) }
        let decimals = max(0, min(9, Int((-log10(step)).rounded(.up))))
        return String(format: "%.\(decimals)f", v)
    }

    static func timeLabel(_ nanos: Int64, span: Int64) -> String {
        let iso = Timestamp(nanos: nanos).iso8601  // 2024-01-01T08:00:00.000000000Z
        let date = String(iso.prefix(10)), time = String(iso.dropFirst(11).prefix(8))
        if span > 2 * 86_400_000_000_000 { return date }
        if span < 10_000_000_000 { return String(iso.dropFirst(17).prefix(9)) + "s" }
        return time
    }

    /// Keeps at most ~2 points per horizontal pixel (the min and max of each bucket, in time
    /// order), so a 10 M-point series draws the same shape in a small file.
    static func decimate(_ points: [(x: Int64, y: Double)], buckets: Int) -> [(x: Int64, y: Double)] {
        guard points.count > buckets * 2, let first = points.first, let last = points.last, last.x > first.x else { return points }
        var out: [(x: Int64, y: Double)] = []
        out.reserveCapacity(buckets * 2 + 2)
        let span = Double(last.x - first.x)
        var k = 0
        for b in 0..<buckets {
            let end = b == buckets - 1 ? Int64.max : first.x + Int64(span * Double(b + 1) / Double(buckets))
            var lo: (x: Int64, y: Double)?, hi: (x: Int64, y: Double)?
            while k < points.count && points[k].x <= end {
                let p = points[k]
                if lo == nil || p.y < lo!.y { lo = p }
                if hi == nil || p.y > hi!.y { hi = p }
                k += 1
            }
            if let lo, let hi {
                if lo.x <= hi.x { out.append(lo); if hi.x != lo.x || hi.y != lo.y { out.append(hi) } } else { out.append(hi); out.append(lo) }
            }
        }
        return out
    }

    /// A time-series chart. `yZero` keeps 0 inside the y range (drawdown, position).
    func timeSeries(title: String, series: [Series], markers: [Marker] = [], yZero: Bool = false, yUnit: String = "") -> String {
        let all = series.flatMap(\.points)
        guard let minX = (all.map(\.x) + markers.map(\.x)).min(), let maxX = (all.map(\.x) + markers.map(\.x)).max() else {
            return "<figure><figcaption>\(Self.escape(title))</figcaption><p class=\"empty\">no data</p></figure>"
        }
        var ys = all.map(\.y) + markers.map(\.y)
        if yZero { ys.append(0) }
        var minY = ys.min()!, maxY = ys.max()!
        if minY == maxY { minY -= max(1, abs(minY) * 0.01); maxY += max(1, abs(maxY) * 0.01) }
        let pad = (maxY - minY) * 0.05
        minY -= pad; maxY += pad
        let spanX = max(1, maxX - minX)
        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ x: Int64) -> Double { left + Double(x - minX) / Double(spanX) * plotW }
        func py(_ y: Double) -> Double { top + (maxY - y) / (maxY - minY) * plotH }
        var s = "<figure><svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(Self.escape(title))\">"
        s += "<text x=\"\(left)\" y=\"16\" class=\"title\">\(Self.escape(title))</text>"
        // Grid and axes.
        for k in 0...4 {
            let y = minY + (maxY - minY) * Double(k) / 4
            s += "<line x1=\"\(left)\" y1=\"\(f(py(y)))\" x2=\"\(width - right)\" y2=\"\(f(py(y)))\" class=\"grid\"/>"
            s += "<text x=\"\(left - 6)\" y=\"\(f(py(y) + 4))\" class=\"axis\" text-anchor=\"end\">\(Self.escape(Self.axisLabel(y, step: (maxY - minY) / 4) + yUnit))</text>"
        }
        for k in 0...4 {
            let x = minX + Int64(Double(spanX) * Double(k) / 4)
            s += "<text x=\"\(f(px(x)))\" y=\"\(f(height - 12))\" class=\"axis\" text-anchor=\"\(k == 0 ? "start" : k == 4 ? "end" : "middle")\">\(Self.escape(Self.timeLabel(x, span: spanX)))</text>"
        }
        s += "<line x1=\"\(left)\" y1=\"\(top + plotH)\" x2=\"\(width - right)\" y2=\"\(top + plotH)\" class=\"frame\"/>"
        if yZero && minY < 0 && maxY > 0 { s += "<line x1=\"\(left)\" y1=\"\(f(py(0)))\" x2=\"\(width - right)\" y2=\"\(f(py(0)))\" class=\"zero\"/>" }
        for series in series where !series.points.isEmpty {
            let pts = Self.decimate(series.points, buckets: Int(plotW))
            var d = ""
            for (k, p) in pts.enumerated() {
                if k == 0 { d += "M\(f(px(p.x))),\(f(py(p.y)))" } else {
                    if series.step { d += "H\(f(px(p.x)))" }
                    d += "\(series.step ? "V" : "L")\(series.step ? f(py(p.y)) : f(px(p.x)) + "," + f(py(p.y)))"
                }
            }
            if series.step, let last = pts.last, last.x < maxX { d += "H\(f(px(maxX)))" }
            if series.area, let first = pts.first {
                let base = f(py(max(minY, min(maxY, 0))))
                s += "<path d=\"\(d)V\(base)H\(f(px(first.x)))Z\" fill=\"\(series.color)\" fill-opacity=\"0.25\" stroke=\"none\"/>"
            }
            s += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"1.3\"><title>\(Self.escape(series.name))</title></path>"
        }
        for m in markers.prefix(5000) {
            let x = px(m.x), y = py(m.y)
            let tri = m.up ? "\(f(x - 4)),\(f(y + 5)) \(f(x + 4)),\(f(y + 5)) \(f(x)),\(f(y - 3))" : "\(f(x - 4)),\(f(y - 5)) \(f(x + 4)),\(f(y - 5)) \(f(x)),\(f(y + 3))"
            s += "<polygon points=\"\(tri)\" fill=\"\(m.color)\"/>"
        }
        // Legend.
        var lx = width - right
        for series in series.reversed() {
            lx -= Double(series.name.count) * 6.5 + 26
            s += "<rect x=\"\(f(lx))\" y=\"8\" width=\"12\" height=\"4\" fill=\"\(series.color)\"/><text x=\"\(f(lx + 16))\" y=\"14\" class=\"axis\">\(Self.escape(series.name))</text>"
        }
        return s + "</svg></figure>"
    }

    /// A bar chart of counts per power-of-two bucket of nanoseconds.
    func log2Histogram(title: String, counts: [Int64], color: String, note: String) -> String {
        guard let first = counts.firstIndex(where: { $0 > 0 }), let last = counts.lastIndex(where: { $0 > 0 }) else {
            return "<figure><figcaption>\(Self.escape(title))</figcaption><p class=\"empty\">no samples</p></figure>"
        }
        let bars = Array(counts[first...last])
        let maxC = Double(bars.max()!)
        let plotW = width - left - right, plotH = height - top - bottom
        let w = plotW / Double(bars.count)
        var s = "<figure><svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(Self.escape(title))\">"
        s += "<text x=\"\(left)\" y=\"16\" class=\"title\">\(Self.escape(title))</text>"
        s += "<text x=\"\(width - right)\" y=\"16\" class=\"axis\" text-anchor=\"end\">\(Self.escape(note))</text>"
        for k in 0...4 {
            let c = maxC * Double(k) / 4
            let y = top + plotH - plotH * Double(k) / 4
            s += "<line x1=\"\(left)\" y1=\"\(f(y))\" x2=\"\(width - right)\" y2=\"\(f(y))\" class=\"grid\"/>"
            s += "<text x=\"\(left - 6)\" y=\"\(f(y + 4))\" class=\"axis\" text-anchor=\"end\">\(Self.number(c))</text>"
        }
        for (i, c) in bars.enumerated() {
            let h = maxC > 0 ? plotH * Double(c) / maxC : 0
            let x = left + Double(i) * w
            s += "<rect x=\"\(f(x + 1))\" y=\"\(f(top + plotH - h))\" width=\"\(f(max(1, w - 2)))\" height=\"\(f(h))\" fill=\"\(color)\"><title>\(c) samples in \(Self.nanosLabel(Int64(1) << Int64(first + i))) – \(Self.nanosLabel(Int64(1) << Int64(first + i + 1)))</title></rect>"
            if bars.count <= 24 || i % 2 == 0 {
                s += "<text x=\"\(f(x + w / 2))\" y=\"\(f(height - 12))\" class=\"axis\" text-anchor=\"middle\">\(Self.nanosLabel(Int64(1) << Int64(first + i)))</text>"
            }
        }
        return s + "</svg></figure>"
    }

    static func nanosLabel(_ n: Int64) -> String {
        if n >= 1_000_000_000 { return number(Double(n) / 1e9) + "s" }
        if n >= 1_000_000 { return number(Double(n) / 1e6) + "ms" }
        if n >= 1_000 { return number(Double(n) / 1e3) + "µs" }
        return "\(n)ns"
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }
}
