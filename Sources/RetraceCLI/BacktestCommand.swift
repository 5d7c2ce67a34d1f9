import Foundation
import RetraceCore
import RetraceEngine
import RetraceFeeds
import RetraceJournal
import RetraceReports
import RetraceStrategies

enum BacktestCommand {
    static var help: String {
        var s = """
        usage: retrace backtest --data RUN|FILE --strategy NAME [--param key=value]... --out RUN
                                [--config FILE] [--set key.path=value]... [--pin CPU]
                                [--sync none|async|fsync] [--io auto|uring|posix] [--segment-bytes B]
                                [--seed N] [--from SEQ|TIME] [--until SEQ|TIME] [--force] [--json] [--stats]

          --data      a data run made by 'retrace import', or a CSV file (format read from its header)
          --strategy  a built-in strategy (below)
          --param     strategy or account parameter; unknown keys are errors
          --config    a JSON config (profiles in Config/: hft, analytics, memory-constrained,
                      backtest, live); its keys are listed below
          --set       override one config key, e.g. --set store.ring_slots=4096
          --pin       pin the core thread to this CPU (same as --set engine.pin=CPU)
          --sync      journal sync mode: none (default, page cache), async (background fdatasync
                      every 10 ms or 1 MiB) or fsync (each input durable before the engine acts)
          --io        journal I/O backend: posix (default), uring, or auto (io_uring when the
                      kernel allows it, else POSIX)
          --segment-bytes  journal segment size before rotation (default 64MiB)
          --async-ms, --async-bytes  how often async mode syncs (default 10 ms or 1MiB)
          --from, --until  run over a part of the data only: a sequence number of the data's
                      journal (whole number) or an ISO-8601 UTC time; --until is inclusive. The
                      run starts flat at --from with fresh strategy state (walk-forward windows).
          --force     replace an existing run at --out
          --json      print the summary as one JSON object on stdout
          --stats     add the run's statistics (as 'retrace export' computes them) to the summary
          --quiet     no progress bar (it shows only when stderr is a terminal)

        strategies:
        """
        for t in StrategyCatalog.all {
            s += "\n  \(t.name): \(t.summary)\n"
            for p in t.parameters { s += "      \(p.name)=\(p.defaultValue.isEmpty ? "\"\"" : p.defaultValue)  \(p.help)\n" }
        }
        s += "\naccount parameters (every strategy):\n"
        for p in AccountConfig.parameters { s += "      \(p.name)=\(p.defaultValue.isEmpty ? "\"\"" : p.defaultValue)  \(p.help)\n" }
        s += "\nconfig keys (--config FILE, --set key=value; params.NAME sets a parameter):\n"
        for k in RunConfig.keys { s += "      \(k.name)  (\(k.expects)) \(k.help)\n" }
        return s
    }

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["data", "strategy", "param", "out", "sync", "seed", "io", "segment-bytes", "async-ms", "async-bytes",
                                             "config", "set", "pin", "from", "until"], flags: ["json", "force", "quiet", "stats"])
        if a.has("help") { Output.out(help); return 0 }
        guard a.positionals.isEmpty else { throw UsageError("unexpected argument '\(a.positionals[0])'") }
        let data = try a.require("data")
        let name = try a.require("strategy")
        let out = try a.require("out")
        let (config, overrides) = try configAndParameters(a, after: [])
        var settings = try settings(a, config: config, overrides: overrides, dataset: data, inputs: [data], out: out, defaultSeed: 0)
        let from = try bound(a, "from"), until = try bound(a, "until")
        if from != nil || until != nil { settings.window = WindowRecord(from: a.value("from"), until: a.value("until")) }
        let manifest = try Backtest(settings: settings, from: from, until: until, quiet: a.has("quiet"))(try StrategyCatalog.named(name))
        let statistics = a.has("stats") ? RunStatistics(try RunData.fromJournal(out)) : nil
        Summary.print(manifest, run: out, json: a.has("json"), statistics: statistics)
        return 0
    }

    /// `--from`/`--until`: a sequence number or an ISO-8601 UTC time.
    static func bound(_ a: Arguments, _ name: String) throws(UsageError) -> ReplayBound? {
        guard let text = a.value(name) else { return nil }
        guard let b = ReplayBound(parsing: text) else { throw UsageError("--\(name) must be a sequence number or an ISO-8601 UTC time, got '\(text)'") }
        return b
    }

    /// The config (`--config`, `--set`, `--pin`) and the parameter overrides: `base` first,
    /// then the config's `params.*`, then `--param` (the last one wins).
    static func configAndParameters(_ a: Arguments, after base: [(String, String)]) throws -> (RunConfig, [(String, String)]) {
        var sets = a.values("set")
        if let pin = a.value("pin") {
            guard let cpu = Int(pin), cpu >= -1 else { throw UsageError("--pin must be a CPU number, or -1 for none, got '\(pin)'") }
            sets.append("engine.pin=\(cpu)")
        }
        let config = try RunConfig.load(a.value("config"), sets: sets)
        var overrides = base + config.params
        for p in a.values("param") { overrides.append(try Arguments.keyValue(p, option: "param")) }
        return (config, overrides)
    }

    /// Engine settings from the config and the journal, seed and `--force` flags.
    static func settings(_ a: Arguments, config: RunConfig, overrides: [(String, String)], dataset: String, inputs: [String], out: String,
                         defaultSeed: UInt64) throws -> BacktestDriver.Settings {
        guard let sync = SyncMode(rawValue: a.value("sync") ?? config.journal.syncMode.rawValue) else { throw UsageError("--sync must be none, async or fsync") }
        guard let seed = UInt64(a.value("seed") ?? String(defaultSeed)) else { throw UsageError("--seed must be a non-negative integer") }
        var settings = BacktestDriver.Settings(overrides: overrides, dataset: dataset, inputs: inputs, out: out, replace: a.has("force"), seed: seed,
                                               journal: try JournalCommand.journalOptions(a, sync: sync, base: config.journal))
        settings.store = config.store
        settings.pin = config.pin
        settings.profileEvery = config.profileEvery
        settings.snapshotEvery = config.snapshotEvery
        settings.readAhead = config.readAhead.enabled
        return settings
    }

    /// `backtest` for a strategy named at run time.
    struct Backtest: StrategyWork {
        let settings: BacktestDriver.Settings
        let from: ReplayBound?, until: ReplayBound?
        let quiet: Bool
        func run<S: Strategy>(_ type: S.Type) throws -> RunManifest { try backtest(type, settings: settings, from: from, until: until, quiet: quiet) }
    }

    /// Runs strategy `S` over the data named in `settings` (a run folder or a CSV file).
    /// `from`/`until` restrict it to a window of the data.
    static func backtest<S: Strategy>(_ type: S.Type, settings: BacktestDriver.Settings, from: ReplayBound? = nil, until: ReplayBound? = nil,
                                      quiet: Bool = true) throws -> RunManifest {
        _ = try BacktestDriver.prepare(type, settings.overrides)  // parameter errors before any file is read
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: settings.dataset, isDirectory: &isDirectory) else {
            throw EngineError(.badInput, "--data \(settings.dataset): no such run folder or file")
        }
        if isDirectory.boolValue {
            let data = try RunFolder.readManifest(settings.dataset)
            let source = try JournalInput(runDirectory: settings.dataset, readAhead: settings.readAhead)
            return try run(type, source, from: from, until: until, total: data.events, settings: settings, quiet: quiet)
        }
        let format = try sniffFormat(settings.dataset)
        let feed = try CSVImporter.load([ImportInput(format: format, path: settings.dataset)], options: ImportOptions())
        return try run(type, ArrayInput(feed.events), from: from, until: until, total: UInt64(feed.events.count), settings: settings, quiet: quiet)
    }

    /// Runs over `source`, inside the window when one is given.
    private static func run<S: Strategy, Source: InputSource>(_ type: S.Type, _ source: Source, from: ReplayBound?, until: ReplayBound?, total: UInt64,
                                                            settings: BacktestDriver.Settings, quiet: Bool) throws -> RunManifest {
        if from == nil && until == nil {
            var s = source
            return try runShowingProgress(type, "backtest", &s, total: total, settings: settings, quiet: quiet)
        }
        var windowed = WindowInput(source, from: from, until: until)
        return try runShowingProgress(type, "backtest", &windowed, total: total, settings: settings, quiet: quiet)
    }

    /// Runs the engine over `source`, through a progress bar when one shows (a terminal, no
    /// --quiet); without one the source is used as is, so the hot path is unchanged.
    static func runShowingProgress<S: Strategy, Source: InputSource>(_ type: S.Type, _ label: String, _ source: inout Source, total: UInt64,
                                                                    settings: BacktestDriver.Settings, quiet: Bool) throws -> RunManifest {
        guard let progress = Progress(label, total: total, quiet: quiet) else { return try BacktestDriver.run(type, source: &source, settings: settings) }
        var shown = ProgressInput(source, progress)
        defer { source = shown.base }
        return try BacktestDriver.run(type, source: &shown, settings: settings)
    }

    /// Guesses a CSV file's format from its header.
    static func sniffFormat(_ path: String) throws -> FeedFormat {
        let file = try CSVFile(path: path)
        guard let header = file.firstLines(1).first else { throw FeedError(.malformedRow, "\(path): the file is empty") }
        let names = Set(header.map { file.text($0).lowercased() })
        if names.isSuperset(of: ["open", "high", "low", "close"]) { return .barsCSV }
        if !names.isDisjoint(with: ["bid", "bid_price", "best_bid"]) { return .quotesCSV }
        if !names.isDisjoint(with: ["price", "px", "last"]) { return .tradesCSV }
        throw FeedError(.missingColumn, "\(path):1: cannot tell the format from the header (\(names.sorted().joined(separator: ","))); import it with 'retrace import FORMAT' first")
    }
}

/// Prints a run's summary, human-readable or as the JSON contract of DESIGN.md.
enum Summary {
    static func print(_ m: RunManifest, run: String, json: Bool, statistics: RunStatistics? = nil) {
        let rate = m.wallSeconds > 0 ? Double(m.events) / m.wallSeconds : 0
        if json {
            var o = JSONObject()
            o.add("run", run)
            o.add("mode", m.mode)
            o.add("status", m.status)
            o.add("strategy", m.strategy)
            o.add("events", m.events)
            o.add("orders", m.orders)
            o.add("fills", m.fills)
            o.add("pnl", number: m.pnl)
            o.add("fingerprint", m.fingerprint)
            o.add("wall_seconds", m.wallSeconds)
            o.add("events_per_second", rate)
            if let d = m.duplicatesDropped { o.add("duplicates_dropped", d) }
            if let r = m.reference { o.add("reference_refused", r.refused) }
            if let st = m.store {
                o.add("store_drain_seconds", st.drainSeconds)
                o.add("store_failed_commits", st.failedCommits)
                if let from = st.spilledFrom { o.add("store_spilled_from", from) }
                if let stale = st.stale { o.add("store_stale", stale) }
            }
            if let p = m.placement { o.add("placement", p) }
            if let r = m.replay {
                o.add("original_fingerprint", r.originalFingerprint)
                o.add("matches", raw: r.matches.map { $0 ? "true" : "false" } ?? "null")
                o.add("what_if", raw: r.whatIf ? "true" : "false")
                o.add("speed", r.speed)
                if let p50 = r.pacingErrorP50Micros, let p99 = r.pacingErrorP99Micros {
                    o.add("pacing_error_p50_micros", p50)
                    o.add("pacing_error_p99_micros", p99)
                }
                if let s = r.seekSeconds { o.add("seek_seconds", s) }
                if let s = r.seekSnapshot { o.add("seek_snapshot", s) }
                if let n = r.seekNote { o.add("seek_note", n) }
                if let n = r.seekEvents { o.add("seek_events", n) }
            }
            if let l = m.live {
                o.add("venue", l.venue)
                o.add("resumes", l.resumes)
                o.add("reconnects", l.reconnects)
                o.add("gaps", l.gaps)
                o.add("status_queries", l.statusQueries)
                o.add("breaker_trips", l.breakerTrips)
                o.add("local_rejects", l.localRejects)
                o.add("venue_rejects", l.venueRejects)
                o.add("killed", raw: l.killed ? "true" : "false")
                if let v = l.clockOffsetMillis { o.add("clock_offset_millis", v) }
                if let v = l.clockDriftPPM { o.add("clock_drift_ppm", v) }
                if let v = l.clockOffsetBoundMillis { o.add("clock_offset_bound_millis", v) }
                o.add("journal_commits", l.commits)
                if let v = l.commitP50Micros { o.add("commit_p50_micros", v) }
                if let v = l.commitP99Micros { o.add("commit_p99_micros", v) }
                if let v = l.tickToOrderP50Micros { o.add("tick_to_order_p50_micros", v) }
                if let v = l.tickToOrderP99Micros { o.add("tick_to_order_p99_micros", v) }
            }
            if let t = m.latency?.first(where: { $0.stage == "tick_to_order" && $0.venue == nil }) {
                o.add("tick_to_order_p50_nanos", Int(t.p50))
                o.add("tick_to_order_p99_nanos", Int(t.p99))
            }
            if let statistics {
                var st = JSONObject()
                for (name, value) in statistics.rows { st.add(name, value) }
                o.add("statistics", raw: st.text)
            }
            Output.out(o.text)
            return
        }
        Output.out("""
        \(m.mode) \(m.strategy) → \(run)  [\(m.status)]
          events       \(m.events)
          orders       \(m.orders)
          fills        \(m.fills)
          pnl          \(m.pnl)
          fingerprint  \(m.fingerprint)
          wall         \(String(format: "%.3f", m.wallSeconds)) s  (\(String(format: "%.0f", rate)) events/s)
        """ + ((m.duplicatesDropped ?? 0) > 0 ? "\n  duplicates   \(m.duplicatesDropped!) repeated trades dropped" : "")
            + (m.reference.map { "\n  rules        \($0.refused) orders refused (\($0.file): \($0.hits) cache hits, \($0.misses) misses, \($0.evictions) evictions)" } ?? "")
            + (m.store.map { "\n  store        \($0.rows) rows in \($0.commits) commits, \(String(format: "%.3f", $0.drainSeconds)) s behind the core"
                + ($0.failedCommits > 0 ? ", \($0.failedCommits) failed commits retried" : "")
                + ($0.spilledFrom.map { "; read from the journal from #\($0) on (the core did not wait)" } ?? "") + ($0.stale.map { "; STALE: \($0)" } ?? "") } ?? "")
            + (m.placement.map { $0 == "not pinned" ? "" : "\n  placement    \($0)" } ?? "")
            + (m.latency?.first(where: { $0.stage == "tick_to_order" && $0.venue == nil }).map {
                "\n  tick→order   p50 \($0.p50) ns, p99 \($0.p99) ns, max \($0.max) ns over \($0.count) orders (per stage: manifest.json)" } ?? "")
            + (m.replay.map(replayLines) ?? "") + (m.live.map(liveLines) ?? ""))
    }

    /// The live part of the human summary.
    static func liveLines(_ l: LiveRecord) -> String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.1f", $0) } ?? "-" }
        var s = "\n  venue        \(l.venue), \(l.reconnects) reconnects, \(l.gaps) gaps, \(l.resumes) resumes, \(l.statusQueries) status queries"
            + "\n  rejects      \(l.venueRejects) by the venue, \(l.localRejects) by the gateway; circuit breaker opened \(l.breakerTrips) times"
            + (l.killed ? ", KILL SWITCH tripped" : "")
        s += "\n  journal      \(l.commits) fsync group commits, p50 \(f(l.commitP50Micros)) µs, p99 \(f(l.commitP99Micros)) µs"
        s += "\n  tick→order   p50 \(f(l.tickToOrderP50Micros)) µs, p99 \(f(l.tickToOrderP99Micros)) µs (receive → order on the socket)"
        if let o = l.clockOffsetMillis {
            s += "\n  venue clock  offset \(String(format: "%.3f", o))\(l.clockOffsetBoundMillis.map { " ± " + String(format: "%.3f", $0) } ?? "") ms, drift \(String(format: "%.2f", l.clockDriftPPM ?? 0)) ppm over \(l.timeSyncSamples) heartbeats"
        }
        return s
    }

    /// The replay part of the human summary: the proof, pacing, and recorded latency.
    static func replayLines(_ r: ReplayRecord) -> String {
        var s = "\n  replay of    \(r.of) at speed \(r.speed)\(r.whatIf ? " (what-if: strategy, parameters or seed changed)" : "")"
        if let from = r.from {
            let start = r.seekSnapshot.map { "from the snapshot after input \($0), then " } ?? ""
            s += "\n  window from  \(from) (\(start)\(r.seekEvents ?? 0) inputs fast-forwarded in \(String(format: "%.3f", r.seekSeconds ?? 0)) s)"
            if let note = r.seekNote { s += "\n  no snapshot  \(note)" }
        }
        if let until = r.until { s += "\n  window until \(until)" }
        s += "\n  recorded     \(r.originalFingerprint)"
        switch r.matches {
        case true?: s += "\n  proof        fingerprints match"
        case false?: s += r.whatIf ? "\n  what-if      fingerprint differs from the recording (expected for a what-if)" : "\n  proof        FINGERPRINTS DIFFER"
        case nil: s += "\n  proof        partial replay: compare the window with 'retrace diff'"
        }
        if let p50 = r.pacingErrorP50Micros, let p99 = r.pacingErrorP99Micros {
            s += "\n  pacing error p50 \(String(format: "%.1f", p50)) µs, p99 \(String(format: "%.1f", p99)) µs, max \(String(format: "%.1f", r.pacingErrorMaxMicros ?? 0)) µs"
        }
        for l in r.recordedLatency {
            s += "\n  recorded \(l.stage.padding(toLength: 5, withPad: " ", startingAt: 0)) \(l.venue ?? "")  p50 \(l.p50) ns, p99 \(l.p99) ns over \(l.count)"
        }
        return s
    }
}
