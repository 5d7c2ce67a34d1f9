import Foundation
import RetraceCore
import RetraceEngine
import RetraceReports

enum DiffCommand {
    static let help = """
    usage: retrace diff RUN_A RUN_B [--context K] [--json]

      Compares the two runs' output streams (orders, fills, positions, balances, timers) event
      by event, reading their journals once each (no store needed). Outputs are compared as
      the fingerprint hashes them, so "identical" here means equal fingerprints.

      Exit status: 0 when the output streams are identical, 1 when they differ (the first
      divergent output of each side is printed with the K input events before it, default 10,
      and the summary deltas: PnL, orders, fills, rejects, max position), 2 on a usage error
      or a run that cannot be read.
    """

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["context"], flags: ["json", "quiet"])
        if a.has("help") { Output.out(help); return 0 }
        guard a.positionals.count == 2 else { throw UsageError("expected two run folders, RUN_A and RUN_B") }
        guard let context = Int(a.value("context") ?? "10"), context >= 0, context <= 10_000 else { throw UsageError("--context must be a whole number up to 10000") }
        let (runA, runB) = (a.positionals[0], a.positionals[1])
        let d: RunDiff
        do { d = try RunDiff.compare(runA, runB, context: context) } catch {
            Output.err("retrace diff: error: \(error.message)")
            return 2
        }
        let ma = try? RunFolder.readManifest(runA), mb = try? RunFolder.readManifest(runB)
        if a.has("json") { Output.out(json(d, ma, mb)) } else { Output.out(text(d, runA, runB, ma, mb)) }
        return d.identical ? 0 : 1
    }

    static func delta(_ a: Money?, _ b: Money?) -> String {
        guard let a, let b else { return "n/a" }
        return (b - a).text
    }

    static func text(_ d: RunDiff, _ runA: String, _ runB: String, _ ma: RunManifest?, _ mb: RunManifest?) -> String {
        var s = ""
        if d.identical {
            s += "identical: \(d.commonOutputs) output events, same order, same bytes"
            if let ma, let mb { s += "\n  fingerprint \(ma.fingerprint)" + (ma.fingerprint == mb.fingerprint ? "" : " vs \(mb.fingerprint) (manifests disagree with the journals)") }
        } else {
            s += "outputs diverge after \(d.commonOutputs) identical output events\n"
            s += "  A \(runA): " + (d.a.map { $0.text } ?? "(no more outputs)") + "\n"
            s += "  B \(runB): " + (d.b.map { $0.text } ?? "(no more outputs)") + "\n"
            s += "\nlast \(d.contextA.count) input events before it in A:\n"
            for l in d.contextA { s += "    \(l)\n" }
            if d.contextB != d.contextA {
                s += "last \(d.contextB.count) input events before it in B:\n"
                for l in d.contextB { s += "    \(l)\n" }
            } else if !d.contextB.isEmpty {
                s += "(B read the same input events)\n"
            }
        }
        let (ta, tb) = (d.totalsA, d.totalsB)
        func row(_ name: String, _ x: String, _ y: String, _ dl: String) -> String {
            "  " + name.padding(toLength: max(16, name.count + 2), withPad: " ", startingAt: 0) + x.padding(toLength: 20, withPad: " ", startingAt: 0)
                + y.padding(toLength: 20, withPad: " ", startingAt: 0) + dl + "\n"
        }
        s += "\n" + row("", "A", "B", "B − A")
        s += row("pnl", ta.pnl?.text ?? "n/a", tb.pnl?.text ?? "n/a", delta(ta.pnl, tb.pnl))
        s += row("final equity", ta.finalEquity?.text ?? "n/a", tb.finalEquity?.text ?? "n/a", delta(ta.finalEquity, tb.finalEquity))
        s += row("orders", "\(ta.orders)", "\(tb.orders)", "\(Int64(tb.orders) - Int64(ta.orders))")
        s += row("fills", "\(ta.fills)", "\(tb.fills)", "\(Int64(tb.fills) - Int64(ta.fills))")
        s += row("rejects", "\(ta.rejects)", "\(tb.rejects)", "\(Int64(tb.rejects) - Int64(ta.rejects))")
        s += row("outputs", "\(ta.outputs)", "\(tb.outputs)", "\(Int64(tb.outputs) - Int64(ta.outputs))")
        s += row("inputs", "\(ta.inputs)", "\(tb.inputs)", "\(Int64(tb.inputs) - Int64(ta.inputs))")
        for symbol in Set(ta.maxPosition.keys).union(tb.maxPosition.keys).sorted() {
            s += row("max |pos| \(symbol)", ta.maxPosition[symbol] ?? "0", tb.maxPosition[symbol] ?? "0", "")
        }
        return String(s.dropLast())
    }

    static func json(_ d: RunDiff, _ ma: RunManifest?, _ mb: RunManifest?) -> String {
        var o = JSONObject()
        o.add("identical", raw: d.identical ? "true" : "false")
        o.add("common_outputs", d.commonOutputs)
        func point(_ p: RunDiff.Point?) -> String {
            guard let p else { return "null" }
            var j = JSONObject()
            j.add("sequence", p.sequence)
            j.add("output_index", p.outputIndex)
            j.add("event", p.text)
            return j.text
        }
        o.add("first_divergence_a", raw: point(d.a))
        o.add("first_divergence_b", raw: point(d.b))
        o.add("context_a", raw: "[" + d.contextA.map { "\"\(jsonEscape($0))\"" }.joined(separator: ",") + "]")
        o.add("context_b", raw: "[" + d.contextB.map { "\"\(jsonEscape($0))\"" }.joined(separator: ",") + "]")
        func totals(_ t: RunDiff.Totals) -> String {
            var j = JSONObject()
            j.add("pnl", number: t.pnl?.text ?? "null")
            j.add("final_equity", number: t.finalEquity?.text ?? "null")
            j.add("orders", t.orders)
            j.add("fills", t.fills)
            j.add("rejects", t.rejects)
            j.add("outputs", t.outputs)
            j.add("inputs", t.inputs)
            j.add("max_position", raw: "{" + t.maxPosition.keys.sorted().map { "\"\(jsonEscape($0))\":\(t.maxPosition[$0]!)" }.joined(separator: ",") + "}")
            return j.text
        }
        o.add("a", raw: totals(d.totalsA))
        o.add("b", raw: totals(d.totalsB))
        o.add("pnl_delta", number: d.totalsA.pnl.flatMap { a in d.totalsB.pnl.map { ($0 - a).text } } ?? "null")
        if let ma, let mb {
            o.add("fingerprint_a", ma.fingerprint)
            o.add("fingerprint_b", mb.fingerprint)
        }
        return o.text
    }
}
