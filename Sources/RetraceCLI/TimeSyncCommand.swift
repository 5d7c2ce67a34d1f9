import Foundation
import RetraceCore
import RetraceEngine
import RetraceJournal

enum TimeSyncCommand {
    static let help = """
    usage: retrace timesync RUN [--window 10s] [--json]

      Estimates each feed's clock offset (venue − local) and drift from the run's journaled
      market events: every event with both an exchange time and a local receive time is a
      one-way sample. Per window the fastest message is kept (least queueing); a least-
      squares line through the windows gives the offset and its drift. One-way samples bound
      the offset from below by the minimum one-way latency (included in the figure).
    """

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["window"], flags: ["json"])
        if a.has("help") { Output.out(help); return 0 }
        guard a.positionals.count == 1 else { throw UsageError("expected one RUN") }
        let run = a.positionals[0]
        var window: Int64 = 10_000_000_000
        if let w = a.value("window") {
            guard let n = Timestamp.parseDurationNanos(w), n > 0 else { throw UsageError("--window must be a positive duration such as 10s") }
            window = n
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: RunFolder.journalPath(run), isDirectory: &isDirectory), isDirectory.boolValue else {
            throw EngineError(.runFolder, "\(run) is not a run folder (no journal/ in it)")
        }
        let reader = try JournalReader(directory: RunFolder.journalPath(run))
        var symbols: [InstrumentID: String] = [:]
        var order: [InstrumentID] = []
        var syncs: [InstrumentID: TimeSync] = [:]
        while let (_, e) = try reader.nextEvent() {
            if case .instrumentDefined(let d) = e.body { symbols[d.instrument.id] = d.instrument.symbol.description; continue }
            guard let instrument = e.body.marketInstrument else { continue }
            guard e.eventTime != e.receiveTime else { continue }  // no separate exchange time
            if syncs[instrument] == nil { order.append(instrument); syncs[instrument] = TimeSync(windowNanos: window) }
            syncs[instrument]!.add(TimeSync.Sample(venueTime: e.eventTime.nanos, localReceive: e.receiveTime.nanos))
        }
        guard !order.isEmpty else {
            throw EngineError(.badInput, "\(run): no market event carries both an exchange time and a receive time, so there is nothing to estimate")
        }
        var list: [String] = []
        for id in order {
            let e = syncs[id]!.estimate!
            let name = symbols[id] ?? "#\(id.raw)"
            if a.has("json") {
                var o = JSONObject()
                o.add("instrument", name)
                o.add("samples", e.samples)
                o.add("windows", e.windows)
                o.add("offset_ms", e.offsetNanos / 1e6)
                o.add("drift_ppm", e.driftPPB / 1e3)
                if !e.oneWay { o.add("min_round_trip_ms", Double(e.minDelayNanos) / 1e6) }
                if let b = e.offsetBoundNanos { o.add("offset_bound_ms", b / 1e6) }
                o.add("residual_ms", e.residualNanos / 1e6)
                o.add("one_way", raw: e.oneWay ? "true" : "false")
                list.append(o.text)
            } else {
                let behind = e.offsetNanos > 0 ? "local clock behind the venue" : "local clock ahead of the venue"
                Output.out("\(name): offset \(String(format: "%+.3f", e.offsetNanos / 1e6))\(e.offsetBoundNanos.map { " ± " + String(format: "%.3f", $0 / 1e6) } ?? "") ms (\(behind)), drift \(String(format: "%+.2f", e.driftPPB / 1e3)) ppm, "
                    + "\(e.samples) samples in \(e.windows) windows, residual \(String(format: "%.3f", e.residualNanos / 1e6)) ms"
                    + (e.oneWay ? " (one-way: includes the fastest message's travel time)" : ", shortest round trip \(String(format: "%.3f", Double(e.minDelayNanos) / 1e6)) ms"))
            }
        }
        if a.has("json") {
            var o = JSONObject()
            o.add("run", run)
            o.add("window_seconds", Double(window) / 1e9)
            o.add("feeds", raw: "[" + list.joined(separator: ",") + "]")
            Output.out(o.text)
        }
        return 0
    }
}
