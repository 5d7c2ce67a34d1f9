/// `manifest.json` of a run folder: what ran, on what, with which settings, and how it
/// ended. Written when the run starts (`running`) and rewritten when it ends
/// (`completed` or `failed` with the reason).
public struct RunManifest: Codable, Equatable, Sendable {
    public var formatVersion = 1
    public var runID: String
    /// `import`, `backtest`, `replay` or `live`.
    public var mode: String
    /// `running`, `completed`, `failed`, or `stopped` (a replay stopped at a breakpoint).
    public var status: String
    /// Why the run failed (empty otherwise).
    public var reason: String = ""
    public var strategy: String = ""
    public var parameters: [String: String] = [:]
    /// `parameters` as `--param` overrides, sorted by name (replaying a run uses them).
    public var parameterList: [(String, String)] { parameters.keys.sorted().map { ($0, parameters[$0]!) } }
    /// The data run or files the run read.
    public var dataset: String = ""
    public var inputs: [String] = []
    /// The journal the run's inputs are kept in by reference (absent: the run's journal
    /// holds copies of its inputs). The run reads back only while that journal exists.
    public var inputsReferenced: String?
    public var seed: UInt64 = 0
    public var syncMode: String = "none"
    public var codeVersion: String
    public var startedAt: String
    public var endedAt: String = ""
    public var fingerprint: String = ""
    public var events: UInt64 = 0
    public var orders: UInt64 = 0
    public var fills: UInt64 = 0
    /// Exact decimal text.
    public var pnl: String = "0"
    public var wallSeconds: Double = 0
    /// Repeated trades the feed de-duplicator dropped (backtests; absent in older runs).
    public var duplicatesDropped: UInt64?
    /// Instruments by symbol, for imports.
    public var instruments: [String] = []
    /// How the store writer kept up (runs of the engine; absent in imports and older runs).
    public var store: StoreSummary?
    /// Latency per stage and per venue, in nanoseconds (absent when profiling was off).
    public var latency: [LatencySummary]?
    /// Where the core thread ran (`--pin`), absent in older runs.
    public var placement: String?
    /// The core thread's heap allocations in the steady state (only when counted: benchmarks).
    public var hotPath: HotPathAllocations?
    /// The instrument trading rules a run checked orders against (`reference.file`): the
    /// file's SHA-256, its cache's hits, misses and evictions, and the orders refused.
    public var reference: ReferenceSummary?
    /// For backtests over a part of the data: the window as given (`--from`/`--until`).
    public var window: WindowRecord?
    /// For replays: the run replayed, its fingerprint, speed, window and pacing.
    public var replay: ReplayRecord?
    /// For live runs: the venue, the session, the engine settings a replay needs, and how
    /// the session went (resumes, reconnects, time sync, commit and tick-to-order latency).
    public var live: LiveRecord?

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", runID = "run_id", mode, status, reason, strategy, parameters, dataset, inputs, seed
        case syncMode = "sync_mode", codeVersion = "code_version", startedAt = "started_at", endedAt = "ended_at", fingerprint
        case events, orders, fills, pnl, wallSeconds = "wall_seconds", instruments, duplicatesDropped = "duplicates_dropped", store
        case hotPath = "hot_path", placement, latency, replay, window, live, inputsReferenced = "inputs_referenced", reference
    }

    public init(runID: String, mode: String, status: String, codeVersion: String, startedAt: String) {
        (self.runID, self.mode, self.status, self.codeVersion, self.startedAt) = (runID, mode, status, codeVersion, startedAt)
    }
}

/// The part of the data a backtest ran over: `--from` and `--until` as given (a sequence
/// number of the data's journal or an ISO-8601 time; `until` is inclusive).
public struct WindowRecord: Codable, Equatable, Sendable {
    public var from: String?
    public var until: String?
    public init(from: String?, until: String?) { (self.from, self.until) = (from, until) }
}

/// What a replay run records about where it came from and how it went.
public struct ReplayRecord: Codable, Equatable, Sendable {
    /// The run replayed (its folder as given).
    public var of: String
    /// That run's fingerprint as its manifest recorded it.
    public var originalFingerprint: String
    /// `max`, or the pacing factor (`1` is wall clock).
    public var speed: String
    /// `recorded` or `simulated`.
    public var venue: String
    /// The window (`--from`/`--until`) as given, absent for a whole replay.
    public var from: String?
    public var until: String?
    /// True when the strategy, its parameters or the config were changed (a what-if):
    /// the fingerprint is then expected to differ.
    public var whatIf: Bool
    /// Whether the fingerprint equals the original's (nil for a window or a stopped replay,
    /// whose outputs are a part of the original's by construction).
    public var matches: Bool?
    /// Lateness of paced releases, microseconds (paced speeds only).
    public var pacingErrorP50Micros: Double?
    public var pacingErrorP99Micros: Double?
    public var pacingErrorMaxMicros: Double?
    /// Inputs fast-forwarded to reach `from`, and how long that took.
    public var seekEvents: UInt64?
    public var seekSeconds: Double?
    /// The original run's engine snapshot the window started from (its input sequence), or
    /// why none was used (`seek_note`): the replay then fast-forwarded from the first input.
    public var seekSnapshot: UInt64?
    public var seekNote: String?
    /// Feed and order latency as recorded in the original journal, per venue: what the
    /// network did (the replay's own `latency` is what this code does now).
    public var recordedLatency: [LatencySummary]

    enum CodingKeys: String, CodingKey {
        case of, originalFingerprint = "original_fingerprint", speed, venue, from, until, whatIf = "what_if", matches
        case pacingErrorP50Micros = "pacing_error_p50_micros", pacingErrorP99Micros = "pacing_error_p99_micros", pacingErrorMaxMicros = "pacing_error_max_micros"
        case seekEvents = "seek_events", seekSeconds = "seek_seconds", seekSnapshot = "seek_snapshot", seekNote = "seek_note", recordedLatency = "recorded_latency"
    }

    public init(of: String, originalFingerprint: String, speed: String, venue: String, whatIf: Bool) {
        (self.of, self.originalFingerprint, self.speed, self.venue, self.whatIf) = (of, originalFingerprint, speed, venue, whatIf)
        recordedLatency = []
    }
}

/// What a live run records about its session.
public struct LiveRecord: Codable, Equatable, Sendable {
    /// `HOST:PORT` of the venue.
    public var venue: String
    /// The venue session id (hex): a resume logs on to the same session.
    public var session: String
    public var settings: LiveEngineSettings
    /// How many times the run was resumed after a crash.
    public var resumes = 0
    public var reconnects = 0
    public var gaps = 0
    /// Orders asked about after a reconnect or a resume (never sent twice).
    public var statusQueries = 0
    /// Times the gateway's circuit breaker opened.
    public var breakerTrips = 0
    /// Orders refused locally (kill switch, breaker, disconnected) and by the venue.
    public var localRejects = 0
    public var venueRejects = 0
    public var killed = false
    /// Venue clock − local clock from the heartbeats (milliseconds) and its drift (ppm).
    public var clockOffsetMillis: Double?
    public var clockDriftPPM: Double?
    /// The most the offset estimate can be wrong by, from the heartbeats' round trips (ms).
    public var clockOffsetBoundMillis: Double?
    public var timeSyncSamples = 0
    /// `fdatasync` group commits: how many and their latency, microseconds.
    public var commits: UInt64 = 0
    public var commitP50Micros: Double?
    public var commitP99Micros: Double?
    /// From an input's receive time to its order written to the socket, microseconds.
    public var tickToOrderP50Micros: Double?
    public var tickToOrderP99Micros: Double?

    enum CodingKeys: String, CodingKey {
        case venue, session, settings, resumes, reconnects, gaps, statusQueries = "status_queries", killed, breakerTrips = "breaker_trips"
        case localRejects = "local_rejects", venueRejects = "venue_rejects"
        case clockOffsetMillis = "clock_offset_millis", clockDriftPPM = "clock_drift_ppm", clockOffsetBoundMillis = "clock_offset_bound_millis", timeSyncSamples = "time_sync_samples"
        case commits, commitP50Micros = "commit_p50_micros", commitP99Micros = "commit_p99_micros"
        case tickToOrderP50Micros = "tick_to_order_p50_micros", tickToOrderP99Micros = "tick_to_order_p99_micros"
    }

    public init(venue: String, session: String, settings: LiveEngineSettings) { (self.venue, self.session, self.settings) = (venue, session, settings) }
}

/// Allocations the core thread made over the input events after the warm-up.
public struct HotPathAllocations: Codable, Equatable, Sendable {
    public var events: UInt64
    public var allocations: UInt64
    public var perEvent: Double { events == 0 ? 0 : Double(allocations) / Double(events) }
    public init(events: UInt64, allocations: UInt64) { (self.events, self.allocations) = (events, allocations) }
}

/// The version of this build, recorded in every manifest.
public let retraceVersion = "0.1.0"
