import Foundation
import RetraceCore
import RetraceEngine
import RetraceFeeds
import RetraceJournal
import RetraceMarket
import RetraceStrategies

enum VenueCommand {
    static let help = """
    usage: retrace venue --data RUN --listen 127.0.0.1:PORT [--speed N|max] [--log-orders FILE]
                         [--latency-us N] [--jitter-us N] [--clock-offset-ms X] [--drift-ppm Y]
                         [--drop-every SECONDS] [--gap-every N] [--stall-every SECONDS --stall-ms N]
                         [--reject-rate P] [--seed N] [--maker-fee RATE] [--taker-fee RATE]
                         [--heartbeat-ms N] [--json]

    A venue simulator on TCP: streams RUN's market data (a run made by 'retrace import') to
    every logged-on session, paced by the recorded receive times, accepts new / cancel /
    modify orders and answers acks, rejects and fills from the Market module's matching
    (top of book, or depth for L2 / order-level data). The protocol is described in the
    README ("Live trading"). Streaming starts at the first logon. Stop it with SIGINT or
    SIGTERM (it prints what it did; --json as one object).

      --listen        HOST:PORT to listen on (SO_REUSEADDR; port 0 picks a free one and says which)
      --speed         recorded time gaps divided by N (default 1 = as recorded); max: as fast
                      as the clients read
      --log-orders    write every order request received as CSV
                      (venue_time_ns,action,client_order_id,side,price,quantity), flushed per row
    faults:
      --latency-us, --jitter-us   added to every request's arrival (uniform jitter, seeded)
      --clock-offset-ms, --drift-ppm  the venue clock (heartbeats and timestamps) runs this
                      far ahead of the wall clock, drifting by this many parts per million
      --drop-every    close every connection every N seconds (sessions survive)
      --gap-every     skip one sequence number every N market messages per session
      --stall-every, --stall-ms   stop serving for N ms every S seconds (a stalled venue)
      --reject-rate   fraction of new orders rejected (seeded by --seed)
    """

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["data", "listen", "speed", "log-orders", "latency-us", "jitter-us", "clock-offset-ms", "drift-ppm", "drop-every",
                                             "gap-every", "stall-every", "stall-ms", "reject-rate", "seed", "maker-fee", "taker-fee", "heartbeat-ms"],
                              flags: ["json"])
        if a.has("help") { Output.out(help); return 0 }
        guard a.positionals.isEmpty else { throw UsageError("unexpected argument '\(a.positionals[0])'") }
        let data = RunFolder.normalized(try a.require("data"))
        let (host, port) = try TCP.address(try a.require("listen"))
        var o = VenueServer.Options()
        o.host = host
        o.port = port
        switch a.value("speed") ?? "1" {
        case "max": o.speed = nil
        case let s:
            guard let v = Double(s), v > 0, v.isFinite else { throw UsageError("--speed must be max or a positive number, got '\(s)'") }
            o.speed = v
        }
        o.logOrders = a.value("log-orders")
        func number(_ name: String, min: Double = 0, max: Double = .infinity) throws -> Double? {
            guard let text = a.value(name) else { return nil }
            guard let v = Double(text), v.isFinite, v >= min, v <= max else { throw UsageError("--\(name) must be a number in \(min)…\(max), got '\(text)'") }
            return v
        }
        if let v = try number("latency-us") { o.latencyMicros = Int64(v) }
        if let v = try number("jitter-us") { o.jitterMicros = Int64(v) }
        if let v = try number("clock-offset-ms", min: -86_400_000) { o.clockOffsetMillis = v }
        if let v = try number("drift-ppm", min: -10_000, max: 10_000) { o.driftPPM = v }
        if let v = try number("drop-every") { o.dropEverySeconds = v }
        if let v = try number("gap-every") { o.gapEvery = Int(v) }
        if let v = try number("stall-every") { o.stallEverySeconds = v }
        if let v = try number("stall-ms") { o.stallMillis = Int(v) }
        if let v = try number("reject-rate", max: 1) { o.rejectRate = v }
        if let v = try number("heartbeat-ms", min: 1) { o.heartbeatMillis = Int(v) }
        if let s = a.value("seed") {
            guard let v = UInt64(s) else { throw UsageError("--seed must be a non-negative integer") }
            o.seed = v
        }
        for (name, isMaker) in [("maker-fee", true), ("taker-fee", false)] {
            guard let text = a.value(name) else { continue }
            guard let r = Rate(parsing: text) else { throw UsageError("--\(name) must be a decimal rate such as 0.0002, got '\(text)'") }
            if isMaker { o.fees.maker = r } else { o.fees.taker = r }
        }
        let manifest = try RunFolder.readManifest(data)
        guard manifest.status == "completed" else { throw EngineError(.badInput, "--data \(data) has status '\(manifest.status)'; the venue streams a completed run") }
        var source = try JournalInput(runDirectory: data)
        var events: [Event] = []
        while let input = try source.next() { events.append(input.event) }
        guard events.contains(where: { $0.body.marketInstrument != nil }) else { throw EngineError(.badInput, "--data \(data) holds no market data to stream") }
        let server = try VenueServer(events: events, options: o)
        try server.bind()
        Output.err("venue: listening on \(host):\(server.boundPort), \(events.count) events from \(data) at speed \(o.speed.map { String($0) } ?? "max")")
        installSignals()
        server.run { liveStopSignal.load(ordering: .relaxed) != 0 }
        let s = server.summary
        if a.has("json") {
            var j = JSONObject()
            j.add("sessions", s.sessions); j.add("connections", s.connections); j.add("market_events", s.marketEvents); j.add("requests", s.requests)
            j.add("orders", s.orders); j.add("fills", s.fills); j.add("rejects", s.rejects); j.add("duplicate_orders", s.duplicateOrders)
            j.add("drops", s.drops); j.add("gaps", s.gaps)
            Output.out(j.text)
        } else {
            Output.err("venue: stopped: \(s.sessions) sessions, \(s.connections) connections, \(s.marketEvents) market events, \(s.orders) orders, \(s.fills) fills, "
                + "\(s.rejects) rejects, \(s.duplicateOrders) duplicate order ids refused, \(s.drops) drops, \(s.gaps) gaps")
        }
        return 0
    }
}

/// SIGINT / SIGTERM ask for a graceful stop; SIGUSR1 trips a live session's kill switch.
func installSignals() {
    signal(SIGINT) { _ in liveStopSignal.store(1, ordering: .relaxed) }
    signal(SIGTERM) { _ in liveStopSignal.store(1, ordering: .relaxed) }
    signal(SIGUSR1) { _ in liveKillSignal.store(1, ordering: .relaxed) }
    signal(SIGPIPE, SIG_IGN)
    // A parent may have started us with these blocked (a test harness, some supervisors).
    var set = sigset_t()
    sigemptyset(&set)
    for s in [SIGINT, SIGTERM, SIGUSR1] { sigaddset(&set, s) }
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
}

enum LiveCommand {
    static let help = """
    usage: retrace live [--config FILE] --venue HOST:PORT --strategy NAME [--param key=value]...
                        [--set key=value]... [--metrics 127.0.0.1:PORT [--metrics-allow-remote]]
                        [--kill-file PATH] [--duration SECONDS] [--stay] --out RUN [--force] [--json]
           retrace live --resume RUN [--venue HOST:PORT] [--metrics ...] [--json]

    Trades against a venue over TCP (a loopback 'retrace venue' here). Every input — market
    data, the venue's answers, heartbeats, connection changes — is journaled and made durable
    with fdatasync (group commit: one per batch) before the engine acts on it, and every
    order is durable before it is written to the socket. The run replays exactly:
    'retrace replay RUN' gives the same fingerprint from the journal alone.

      --config    a JSON config (Config/live.json: fsync journal and the live.* keys);
                  flags override it
      --venue     the venue's HOST:PORT (config live.venue)
      --strategy  the strategy (config live.strategy); orders need a fixed quantity
      --metrics   serve Prometheus text at http://HOST:PORT/metrics (loopback only unless
                  --metrics-allow-remote)
      --kill-file the kill switch: when this file appears (default RUN/KILL), or on SIGUSR1,
                  every open order is cancelled and no new one is sent
      --duration  stop gracefully after this many seconds
      --stay      keep trading after the venue's end of data (default: stop gracefully)
      --resume    continue RUN after a crash (SIGKILL, power loss): rebuilds the state from the
                  journal, checks every output again, asks the venue about orders it may not
                  have received (never sends one twice), and goes on in the same run
      --json      print the summary as one JSON object

    SIGINT or SIGTERM stops gracefully: the strategy's onStop, cancels for every open order,
    a wait (live.stop_grace_ms) for the venue to confirm, a final fsync, the manifest closed.
    """

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["config", "venue", "strategy", "param", "set", "metrics", "kill-file", "duration", "out", "resume", "sync"],
                              flags: ["metrics-allow-remote", "stay", "force", "json", "quiet"])
        if a.has("help") { Output.out(help); return 0 }
        guard a.positionals.isEmpty else { throw UsageError("unexpected argument '\(a.positionals[0])'") }
        let (config, overrides) = try BacktestCommand.configAndParameters(a, after: [])
        let resuming = a.value("resume")
        if resuming != nil && (a.value("out") != nil || a.value("strategy") != nil || !a.values("param").isEmpty) {
            throw UsageError("--resume continues a run with its recorded strategy and parameters; --out, --strategy and --param do not apply")
        }
        let out = try resuming ?? a.require("out")
        var recorded: RunManifest?
        if let r = resuming {
            recorded = try RunFolder.readManifest(RunFolder.normalized(r))
        }
        guard let venueText = a.value("venue") ?? recorded?.live?.venue ?? config.live.venue else {
            throw UsageError("missing --venue HOST:PORT (or live.venue in --config)")
        }
        let (host, port) = try TCP.address(venueText)
        var settings = LiveDriver.Settings(overrides: overrides, out: out, venueHost: host, venuePort: port)
        settings.engine = config.live.engine
        guard let sync = SyncMode(rawValue: a.value("sync") ?? (a.value("config") == nil ? "fsync" : config.journal.syncMode.rawValue)) else {
            throw UsageError("--sync must be none, async or fsync")
        }
        settings.journal = config.journal
        settings.journal.syncMode = sync
        settings.store = config.store
        if sync != .fsync { Output.err("warning: live journal sync mode is \(sync.rawValue): inputs are not durable before the engine acts") }
        settings.metricsAllowRemote = a.has("metrics-allow-remote") || config.live.metricsAllowRemote
        if let m = a.value("metrics") ?? config.live.metrics {
            let (mh, mp) = try TCP.address(m)
            guard TCP.isLoopback(mh) || settings.metricsAllowRemote else {
                throw UsageError("--metrics \(m) is not a loopback address; the metrics endpoint binds to 127.0.0.1 only, unless --metrics-allow-remote is given")
            }
            settings.metricsHost = mh
            settings.metricsPort = mp
            settings.onMetricsBound = { p in Output.err("live: metrics on http://\(mh):\(p)/metrics") }
        }
        settings.killFile = a.value("kill-file") ?? config.live.killFile ?? (RunFolder.normalized(out) + "/KILL")
        settings.stayAfterEnd = a.has("stay") || config.live.stayAfterEnd
        settings.stopGraceSeconds = config.live.stopGraceSeconds
        settings.replace = a.has("force")
        if let d = a.value("duration") {
            guard let v = Double(d), v > 0, v.isFinite else { throw UsageError("--duration must be a positive number of seconds") }
            settings.durationSeconds = v
        }
        installSignals()
        let manifest: RunManifest
        if let recorded {
            manifest = try LiveDriver.resume(try StrategyCatalog.named(recorded.strategy), settings: settings)
        } else {
            guard let name = a.value("strategy") ?? config.live.strategy else { throw UsageError("missing --strategy NAME (or live.strategy in --config)") }
            manifest = try LiveDriver.run(try StrategyCatalog.named(name), settings: settings)
        }
        Summary.print(manifest, run: RunFolder.normalized(out), json: a.has("json"))
        return 0
    }
}
