import Foundation
import RetraceCore
import RetraceEngine
import RetraceFeeds
import RetraceJournal
import RetraceStrategies

enum ReplayCommand {
    static let help = """
    usage: retrace replay RUN --out RUN2 [--speed max|1|N] [--from SEQ|TIME] [--until SEQ|TIME]
                          [--break-on COND]... [--step] [--context K] [--levels N]
                          [--strategy NAME] [--param key=value]... [--config FILE] [--set key=value]...
                          [--venue recorded|simulated] [--seed N] [--pin CPU] [--sync MODE] [--no-snapshots] [--force] [--json]

    Re-feeds RUN's recorded inputs through the same engine, with the strategy, parameters
    and seed RUN recorded, and proves the outcome: it prints RUN's fingerprint and its own,
    which must be equal (exit 1 when a faithful whole replay differs; see 'retrace diff').

      --speed     max (default): as fast as possible; 1: each input released at its recorded
                  receive-time gap (wall clock); N: gaps divided by N (100 = 100× faster).
                  Paced replays report the pacing error (release lateness) p50/p99/max.
      --from, --until  a window: a recorded sequence number (whole number) or an ISO-8601 UTC
                  time (2024-01-02T14:30:00Z). The engine starts from RUN's newest snapshot
                  before --from (written every engine.snapshot_every inputs) when it was taken
                  under the same strategy, parameters and seed, else from the first input; the
                  inputs up to --from run at full speed with nothing recorded, then recording
                  and pacing start (--no-snapshots: always from the first input). --until is
                  inclusive and ends the replay there (working orders are cancelled and
                  positions closed as at the end of any run).
      --break-on  stop when a condition holds after an input and print the state (book top-N,
                  account, positions, open orders, the last K events). Repeatable. Forms:
                  kind=EVENT_KIND  (e.g. kind=OrderRejected: that event is recorded or read)
                  order=ID         (any output about that order)
                  price>=X, price<=X, price[SYMBOL]>=X  (last trade, else mid, crosses X)
                  position>N, position[SYMBOL]>N       (long or short beyond N units)
                  pnl<X            (equity − starting cash below X)
                  seq=N            (the recorded input N)
      --step      in a terminal: print each input with its outputs and wait: Enter for the next,
                  c to run on to the next breakpoint, s for the state, q to stop
      --context   events shown at a stop (default 10);  --levels  book levels (default 5)
      --strategy, --param, --config, --set
                  what-if: change the strategy or its parameters against exactly the recorded
                  inputs (account parameters such as latency and risk limits are parameters
                  too). The replay then records what_if=true and its fingerprint may differ.
      --venue     recorded (default): venue answers as the run had them; simulated: ask the
                  simulated venue what it would do. A backtest's answers came from the
                  deterministic simulated venue, so for a backtest both give the same answers.
      --seed      replace the recorded seed (a what-if)
      --json      print the summary as one JSON object (adds fingerprint, original_fingerprint,
                  matches, pacing_error_p50_micros, pacing_error_p99_micros)
      --quiet     no progress bar (it shows only when stderr is a terminal)
    """

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["out", "speed", "from", "until", "break-on", "context", "levels", "strategy", "param", "config", "set",
                                             "venue", "seed", "pin", "sync", "io", "segment-bytes", "async-ms", "async-bytes"],
                              flags: ["json", "force", "quiet", "step", "no-snapshots"])
        if a.has("help") { Output.out(help); return 0 }
        guard a.positionals.count == 1 else { throw UsageError(a.positionals.isEmpty ? "missing the run to replay" : "unexpected argument '\(a.positionals[1])'") }
        let original = RunFolder.normalized(a.positionals[0])
        let out = try a.require("out")
        guard let speed = ReplaySpeed(parsing: a.value("speed") ?? "max") else { throw UsageError("--speed must be max or a positive number (1 = wall clock), got '\(a.value("speed")!)'") }
        let from = try BacktestCommand.bound(a, "from"), until = try BacktestCommand.bound(a, "until")
        let venueMode = a.value("venue") ?? "recorded"
        guard venueMode == "recorded" || venueMode == "simulated" else { throw UsageError("--venue must be recorded or simulated") }
        guard let context = Int(a.value("context") ?? "10"), context >= 0 else { throw UsageError("--context must be a whole number") }
        guard let levels = Int(a.value("levels") ?? "5"), levels >= 1 else { throw UsageError("--levels must be a positive whole number") }
        let conditions = try a.values("break-on").map { (t: String) throws(EngineError) in try BreakCondition(parsing: t) }
        if a.has("step") && isatty(0) == 0 { throw UsageError("--step needs a terminal on standard input") }

        let recorded = try RunFolder.readManifest(original)
        let live = recorded.mode == "live" || recorded.live != nil
        if live && venueMode == "recorded" {
            return try replayLive(a, original: original, recorded: recorded, out: out, speed: speed)
        }
        guard recorded.mode == "backtest" || recorded.mode == "replay" || live else {
            throw EngineError(.badInput, "\(original) is a\(recorded.mode == "import" ? "n" : "") \(recorded.mode) run: replay takes a run that traded (backtest, replay); "
                + (recorded.mode == "import" ? "run 'retrace backtest --data \(original)' first" : "this mode cannot be replayed yet"))
        }
        guard recorded.status == "completed" || recorded.status == "stopped" else {
            throw EngineError(.badInput, "\(original) has status '\(recorded.status)'\(recorded.reason.isEmpty ? "" : " (\(recorded.reason))"); only a completed run can be replayed")
        }
        if recorded.replay?.from != nil || recorded.replay?.until != nil || recorded.status == "stopped" {
            Output.err("warning: \(original) is a partial replay (a window or a stopped run); its journal holds only part of the inputs, so its fingerprint is not expected to be reproduced")
        }

        // The recorded strategy and every recorded parameter value; a changed strategy keeps
        // only the account parameters.
        let strategyName = a.value("strategy") ?? recorded.strategy
        let strategy = try StrategyCatalog.named(strategyName)
        let recordedStrategyParameters = Set(((try? StrategyCatalog.named(recorded.strategy))?.parameters ?? []).map(\.name))
        let recordedValues = recorded.parameterList.filter { strategyName == recorded.strategy || !recordedStrategyParameters.contains($0.0) }
        let (config, overrides) = try BacktestCommand.configAndParameters(a, after: recordedValues)
        var settings = try BacktestCommand.settings(a, config: config, overrides: overrides, dataset: recorded.dataset, inputs: [original], out: out,
                                                    defaultSeed: recorded.seed)
        settings.mode = .replay
        let manifest = try Replay(original: original, recorded: recorded, settings: settings, speed: speed, from: from, until: until, venue: venueMode,
                                  conditions: conditions, step: a.has("step"), context: context, levels: levels, quiet: a.has("quiet") || a.has("step"),
                                  snapshots: !a.has("no-snapshots"), simulatedLive: live)(strategy)
        return finish(manifest, original: original, out: out, json: a.has("json"))
    }

    /// Prints the summary; exit 1 when a faithful replay's fingerprint differs.
    static func finish(_ manifest: RunManifest, original: String, out: String, json: Bool) -> Int32 {
        Summary.print(manifest, run: out, json: json)
        if let r = manifest.replay, r.matches == false, !r.whatIf {
            Output.err("retrace replay: error: the replay diverged from \(original): fingerprint \(manifest.fingerprint), recorded \(r.originalFingerprint); 'retrace diff \(original) \(out)' shows where")
            return 1
        }
        return 0
    }

    /// A live run (or a replay of one): its journaled inputs, venue answers included,
    /// through the live engine.
    static func replayLive(_ a: Arguments, original: String, recorded: RunManifest, out: String, speed: ReplaySpeed) throws -> Int32 {
        for option in ["from", "until", "break-on", "seed"] where a.value(option) != nil {
            throw UsageError("--\(option) is not available for a live run's replay yet (whole replays at any --speed are)")
        }
        if a.has("step") { throw UsageError("--step is not available for a live run's replay yet") }
        guard recorded.status == "completed" else {
            throw EngineError(.badInput, "\(original) has status '\(recorded.status)'; resume it first ('retrace live --resume \(original)'), then replay it")
        }
        let strategyName = a.value("strategy") ?? recorded.strategy
        let strategy = try StrategyCatalog.named(strategyName)
        var overrides = strategyName == recorded.strategy ? recorded.parameterList : []
        for p in a.values("param") { overrides.append(try Arguments.keyValue(p, option: "param")) }
        let manifest = try LiveDriver.replay(strategy, original: original, recorded: recorded, out: out, speed: speed, replace: a.has("force"), overrides: overrides)
        return finish(manifest, original: original, out: out, json: a.has("json"))
    }

    /// `replay` for a strategy named at run time.
    struct Replay: StrategyWork {
        let original: String, recorded: RunManifest, settings: BacktestDriver.Settings, speed: ReplaySpeed
        let from: ReplayBound?, until: ReplayBound?, venue: String, conditions: [BreakCondition], step: Bool, context: Int
        let levels: Int, quiet: Bool, snapshots: Bool, simulatedLive: Bool
        func run<S: Strategy>(_ type: S.Type) throws -> RunManifest {
            try replay(type, original: original, recorded: recorded, settings: settings, speed: speed, from: from, until: until, venue: venue, conditions: conditions,
                       step: step, context: context, levels: levels, quiet: quiet, snapshots: snapshots, simulatedLive: simulatedLive)
        }
    }

    static func replay<S: Strategy>(_ type: S.Type, original: String, recorded: RunManifest, settings base: BacktestDriver.Settings, speed: ReplaySpeed,
                                    from: ReplayBound?, until: ReplayBound?, venue: String, conditions: [BreakCondition], step: Bool, context: Int,
                                    levels: Int, quiet: Bool, snapshots: Bool, simulatedLive: Bool = false) throws -> RunManifest {
        let (_, account, values) = try BacktestDriver.prepare(type, base.overrides)
        var settings = base
        var finalParameters = Dictionary(uniqueKeysWithValues: values.values.map { ($0.name, $0.value) })
        // A parameter newer than the recorded run, left at its default, changes nothing.
        let defaults = Dictionary(uniqueKeysWithValues: try BacktestDriver.prepare(type, []).2.values.map { ($0.name, $0.value) })
        for (name, value) in finalParameters where recorded.parameters[name] == nil && defaults[name] == value { finalParameters[name] = nil }
        // The trading rules a run used must be the ones it is replayed with.
        if let was = recorded.reference, finalParameters["reference.file"] == recorded.parameters["reference.file"], account.reference?.sha256 != was.sha256 {
            throw EngineError(.invalidParameter, "reference.file \(was.file) changed since \(original) ran (SHA-256 \(was.sha256) then, \(account.reference?.sha256 ?? "no file") now): a replay needs the same rules")
        }
        // A live run's market data against the simulated venue instead of the answers the
        // real one gave is a what-if by nature.
        let whatIf = simulatedLive || S.name != recorded.strategy || finalParameters != recorded.parameters || settings.seed != recorded.seed
        var record = ReplayRecord(of: original, originalFingerprint: recorded.fingerprint, speed: speed.description, venue: venue, whatIf: whatIf)
        record.from = from?.description
        record.until = until?.description
        settings.replay = record

        let gate = from.map { _ in RecorderGate(muted: true) }
        settings.gate = gate
        var watching: ReplayMonitor?
        if !conditions.isEmpty || step {
            let monitor = ReplayMonitor(conditions: conditions, context: context, levels: levels, startingCash: account.cash, step: step,
                                        print: { Output.err($0) })
            monitor.gate = gate
            if step {
                monitor.prompt = { text in
                    FileHandle.standardError.write(Data(text.utf8))
                    guard let line = readLine() else { return .quit }
                    switch line.trimmingCharacters(in: .whitespaces).lowercased() {
                    case "c", "continue": return .continueRun
                    case "s", "state": return .state
                    case "q", "quit": return .quit
                    default: return .next
                    }
                }
            }
            settings.afterEvent = { e, ledger, venue in monitor.after(e, ledger: ledger, venue: venue) }
            settings.outputTap = { monitor.output($0) }
            watching = monitor
        }
        let names = account.venues.map(\.name)
        let assignment = account.assignment
        var source = try ReplayInput(runDirectory: original, speed: speed, from: from, until: until, gate: gate, venues: names.count, venueOf: { symbol in
            guard let v = assignment.first(where: { $0.symbol == symbol })?.venue else { return 0 }
            return names.firstIndex(of: v) ?? 0
        })
        source.marketOnly = simulatedLive
        if let from {
            // Start from the newest engine snapshot before the window when one fits.
            if snapshots {
                let seek = try source.seekSnapshot(before: from, tag: EngineSnapshot.tag(strategy: S.name, parameters: values, seed: settings.seed))
                (settings.startState, record.seekSnapshot, record.seekNote) = (seek.state, seek.sequence, seek.note)
            } else {
                record.seekNote = "--no-snapshots: fast-forwarded from the first input"
            }
            settings.replay = record
        }
        var manifest = try BacktestCommand.runShowingProgress(type, "replay", &source, total: recorded.events, settings: settings, quiet: quiet || !conditions.isEmpty)
        if case .paced = speed, source.pacing.count > 0 {
            let s = source.pacing.summary
            record.pacingErrorP50Micros = Double(s.p50) / 1000
            record.pacingErrorP99Micros = Double(s.p99) / 1000
            record.pacingErrorMaxMicros = Double(s.max) / 1000
        }
        if from != nil {
            record.seekEvents = source.fastForwarded
            record.seekSeconds = source.seekSeconds
        }
        for (i, name) in names.enumerated() {
            if source.recordedFeed[i].count > 0 { record.recordedLatency.append(LatencySummary("feed", name, source.recordedFeed[i])) }
            if source.recordedOrder[i].count > 0 { record.recordedLatency.append(LatencySummary("order", name, source.recordedOrder[i])) }
        }
        let whole = from == nil && until == nil && manifest.status == "completed"
        record.matches = whole ? manifest.fingerprint == recorded.fingerprint : nil
        manifest.replay = record
        try RunFolder.writeManifest(manifest, to: RunFolder.normalized(settings.out))
        if let stop = watching?.stop { Output.err(stop.state) }
        return manifest
    }
}
