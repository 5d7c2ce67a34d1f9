import Foundation
import RetraceJournal

/// A run's engine configuration: journal, store writer, placement, and strategy/account
/// parameters, loaded from a JSON file in `Config/` (`--config FILE`) and overridden key by
/// key (`--set key.path=value`). Every key is listed in `RunConfig.keys`; an unknown key or
/// a value of the wrong type is an error naming the file and the key.
///
/// ```json
/// { "extends": "analytics",
///   "journal": { "sync_mode": "none", "segment_bytes": 67108864 },
///   "store": { "ring_slots": 262144, "max_batch_rows": 262144 },
///   "engine": { "pin": -1 },
///   "params": { "dedup_window": 65536 } }
/// ```
/// `extends` names another file of the same folder (without `.json`), loaded first.
/// `engine.read_ahead`: whether the input journal is read on a helper thread.
public enum ReadAheadChoice: String, Sendable {
    case auto, on, off
    /// `auto` reads ahead when a CPU is free for it besides the core and the store writer.
    public var enabled: Bool {
        switch self {
        case .on: true
        case .off: false
        case .auto: JournalInput.readAheadByDefault
        }
    }
}

public struct RunConfig: Sendable {
    /// The profile's name (the file name without `.json`, or "default").
    public var profile = "default"
    public var journal = JournalOptions(syncMode: .none)
    public var store = StoreWriter.Settings()
    /// CPU to pin the core thread to (nil: not pinned).
    public var pin: Int?
    /// Latency checkpoints on every Nth event (0: off).
    public var profileEvery = 16
    /// Inputs between engine snapshots (0: none); a replay window starts from the nearest.
    public var snapshotEvery = 1_000_000
    /// Whether a helper thread reads a data run's journal ahead of the core (`JournalInput`).
    public var readAhead = ReadAheadChoice.auto
    /// Strategy and account parameters (`params.KEY`), before `--param`.
    public var params: [(String, String)] = []
    /// Live sessions (`retrace live`); command-line flags override these.
    public var live = Live()

    public struct Live: Sendable {
        public var venue: String?
        public var strategy: String?
        public var metrics: String?
        public var metricsAllowRemote = false
        public var killFile: String?
        public var stayAfterEnd = false
        public var stopGraceSeconds: Double = 3
        public var engine = LiveEngineSettings()
        public init() {}
    }

    public init() {}

    /// A config value as read from JSON or `--set` text.
    public enum Value: Sendable {
        case number(Double), text(String), flag(Bool)

        var description: String {
            switch self {
            case .number(let d): d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
            case .text(let s): "\"\(s)\""
            case .flag(let b): String(b)
            }
        }
    }

    /// One settable key: its help text and how it applies a value (nil: wrong type; the
    /// message says what was expected).
    public struct Key: Sendable {
        public let name: String
        public let expects: String
        public let help: String
        let apply: @Sendable (inout RunConfig, Value) -> Bool
    }

    static func int(_ v: Value) -> Int? {
        switch v {
        case .number(let d): d == d.rounded() && abs(d) < 9.0e18 ? Int(d) : nil
        case .text(let s): Int(s)
        case .flag: nil
        }
    }
    static func double(_ v: Value) -> Double? {
        switch v {
        case .number(let d): d
        case .text(let s): Double(s)
        case .flag: nil
        }
    }
    static func text(_ v: Value) -> String? {
        switch v {
        case .text(let s): s
        case .number, .flag: nil
        }
    }
    static func intKey(_ name: String, _ help: String, min: Int = 0, powerOfTwo: Bool = false, _ set: @escaping @Sendable (inout RunConfig, Int) -> Void) -> Key {
        Key(name: name, expects: powerOfTwo ? "a power of two" : "an integer ≥ \(min)", help: help) { c, v in
            guard let n = int(v), n >= min, !powerOfTwo || (n > 0 && n & (n - 1) == 0) else { return false }
            set(&c, n)
            return true
        }
    }
    static func textKey(_ name: String, _ expects: String, _ help: String, _ set: @escaping @Sendable (inout RunConfig, String) -> Void) -> Key {
        Key(name: name, expects: expects, help: help) { c, v in
            guard let s = text(v) else { return false }
            set(&c, s)
            return true
        }
    }
    static func flagKey(_ name: String, _ help: String, _ set: @escaping @Sendable (inout RunConfig, Bool) -> Void) -> Key {
        Key(name: name, expects: "true or false", help: help) { c, v in
            guard case .flag(let b) = v else { return false }
            set(&c, b)
            return true
        }
    }
    static func secondsKey(_ name: String, _ help: String, scale: Double, _ set: @escaping @Sendable (inout RunConfig, Double) -> Void) -> Key {
        Key(name: name, expects: "a number ≥ 0", help: help) { c, v in
            guard let d = double(v), d >= 0, d.isFinite else { return false }
            set(&c, d * scale)
            return true
        }
    }

    /// Every key a config file or `--set` may name (besides `params.*` and `extends`).
    public static let keys: [Key] = [
        Key(name: "journal.sync_mode", expects: "none, async or fsync", help: "journal durability: page cache, background fdatasync, or each input durable before the engine acts") { c, v in
            guard let s = text(v), let m = SyncMode(rawValue: s) else { return false }
            c.journal.syncMode = m
            return true
        },
        Key(name: "journal.io", expects: "auto, uring or posix", help: "journal I/O backend") { c, v in
            guard let s = text(v), let io = IOChoice(rawValue: s) else { return false }
            c.journal.io = io
            return true
        },
        Key(name: "journal.inputs", expects: "reference or copy",
            help: "inputs read from another journal (a data run, a replayed run): kept by reference to it, or copied into the run's journal (self-contained)") { c, v in
            guard let s = text(v), s == "reference" || s == "copy" else { return false }
            c.journal.inputsByReference = s == "reference"
            return true
        },
        intKey("journal.segment_bytes", "journal segment size before rotation", min: 4096) { $0.journal.segmentBytes = $1 },
        intKey("journal.async_ms", "async mode: sync at least this often", min: 1) { $0.journal.asyncIntervalMillis = $1 },
        intKey("journal.async_bytes", "async mode: sync after this many bytes", min: 1) { $0.journal.asyncBytes = $1 },
        intKey("journal.index_interval", "records between sparse index entries", min: 1) { $0.journal.indexInterval = $1 },
        Key(name: "journal.writeback_bytes", expects: "0 or a multiple of 4096",
            help: "stream the journal through the page cache: start writeback every this many bytes, drop the window before it once on disk (0: off)") { c, v in
            guard let n = int(v), n >= 0, n % 4096 == 0 else { return false }
            c.journal.writebackBytes = n
            return true
        },
        intKey("store.ring_slots", "slots (120 bytes each) of the ring from the core to the store writer", powerOfTwo: true) { $0.store.ringSlots = $1 },
        intKey("store.initial_batch_rows", "rows per store transaction at the start", min: 1) { $0.store.initialBatchRows = $1 },
        intKey("store.min_batch_rows", "smallest batch the adaptation may choose", min: 1) { $0.store.minBatchRows = $1 },
        intKey("store.max_batch_rows", "largest batch the adaptation may choose", min: 1) { $0.store.maxBatchRows = $1 },
        intKey("store.max_pending_rows", "rows held for the store before the writer stops taking from the ring or the journal", min: 1) { $0.store.maxPendingRows = $1 },
        flagKey("store.spill", "when the ring is full the core goes on and the store writer reads the rest of the run from the journal (false: the core waits)") { $0.store.spill = $1 },
        secondsKey("store.max_delay_ms", "longest a row waits before its batch is committed", scale: 1e-3) { $0.store.maxDelay = $1 },
        secondsKey("store.commit_budget_ms", "commit latency the batch size adapts to", scale: 1e-3) { $0.store.commitBudget = $1 },
        secondsKey("store.retry_base_ms", "first retry delay after a failed commit (doubles, seeded jitter)", scale: 1e-3) { $0.store.retryBase = $1 },
        secondsKey("store.retry_max_ms", "longest retry delay", scale: 1e-3) { $0.store.retryMax = $1 },
        intKey("store.breaker_threshold", "failed commits in a row that open the circuit breaker", min: 1) { $0.store.breakerThreshold = $1 },
        secondsKey("store.breaker_cooldown_ms", "how long the open breaker waits before a trial batch", scale: 1e-3) { $0.store.breakerCooldown = $1 },
        secondsKey("store.give_up_seconds", "failing this long marks the store stale (the journal stays complete)", scale: 1) { $0.store.giveUpSeconds = $1 },
        intKey("store.fault_every", "tests: every Nth commit attempt fails (0: never)") { $0.store.faultEvery = $1 },
        intKey("store.fault_burst", "tests: failing attempts in a row each time", min: 1) { $0.store.faultBurst = $1 },
        intKey("engine.snapshot_every", "inputs between engine-state snapshots beside the journal (a replay window starts from the nearest); 0: none") { $0.snapshotEvery = $1 },
        intKey("engine.profile_every", "latency checkpoints (receive → book → strategy → risk → send) on every Nth event; 0: off") { $0.profileEvery = $1 },
        textKey("live.venue", "HOST:PORT", "live: the venue to connect to (--venue)") { $0.live.venue = $1 },
        textKey("live.strategy", "a strategy name", "live: the strategy (--strategy)") { $0.live.strategy = $1 },
        textKey("live.metrics", "HOST:PORT", "live: serve Prometheus /metrics there (--metrics; loopback only)") { $0.live.metrics = $1 },
        flagKey("live.metrics_allow_remote", "live: allow a non-loopback metrics address") { $0.live.metricsAllowRemote = $1 },
        textKey("live.kill_file", "a path", "live: the kill switch trips when this file appears (default RUN/KILL)") { $0.live.killFile = $1 },
        flagKey("live.stay_after_end", "live: keep trading after the venue's end of data (default: stop gracefully)") { $0.live.stayAfterEnd = $1 },
        secondsKey("live.stop_grace_ms", "live: how long a stop waits for the venue to confirm cancels", scale: 1e-3) { $0.live.stopGraceSeconds = $1 },
        intKey("live.breaker_rejects", "live: venue rejects within live.breaker_window_ms that open the gateway's circuit breaker (0: never)") { $0.live.engine.breakerRejects = $1 },
        intKey("live.breaker_window_ms", "live: the breaker's counting window", min: 1) { $0.live.engine.breakerWindowMillis = Int64($1) },
        intKey("live.breaker_cooldown_ms", "live: how long an open breaker refuses new orders") { $0.live.engine.breakerCooldownMillis = Int64($1) },
        intKey("live.time_sync_window_ms", "live: heartbeat window of the clock-offset fit (its best sample counts)", min: 1) { $0.live.engine.timeSyncWindowMillis = Int64($1) },
        Key(name: "engine.read_ahead", expects: "auto, on or off",
            help: "read, CRC-check and decode a data run's journal on a helper thread ahead of the core (auto: when the machine has 3 or more CPUs)") { c, v in
            guard let s = text(v), let choice = ReadAheadChoice(rawValue: s) else { return false }
            c.readAhead = choice
            return true
        },
        Key(name: "engine.pin", expects: "a CPU number, or -1 for none", help: "pin the core thread to this CPU (and its NUMA node)") { c, v in
            guard let n = int(v), n >= -1 else { return false }
            c.pin = n < 0 ? nil : n
            return true
        },
    ]

    /// Loads `path` (and what it extends), then applies `sets` ("key.path=value").
    public static func load(_ path: String?, sets: [String] = []) throws(EngineError) -> RunConfig {
        var config = RunConfig()
        if let path {
            var seen: [String] = []
            try config.read(path, seen: &seen)
            config.profile = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        }
        for s in sets {
            guard let eq = s.firstIndex(of: "="), eq != s.startIndex else { throw EngineError(.invalidParameter, "--set expects key.path=value, got '\(s)'") }
            let key = String(s[..<eq]), raw = String(s[s.index(after: eq)...])
            let value: Value = raw == "true" ? .flag(true) : raw == "false" ? .flag(false) : Double(raw).map { .number($0) } ?? .text(raw)
            try config.set(key, value, source: "--set")
        }
        return config
    }

    private mutating func read(_ path: String, seen: inout [String]) throws(EngineError) {
        guard !seen.contains(path) else { throw EngineError(.invalidParameter, "\(path): 'extends' loops back to itself") }
        seen.append(path)
        guard let data = FileManager.default.contents(atPath: path) else { throw EngineError(.invalidParameter, "--config \(path): cannot read the file") }
        let root: JSONValue
        do { root = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw EngineError(.invalidParameter, "\(path): \(JSONSyntax.error(in: data) ?? "not valid JSON (\(error))")")
        }
        if let twice = JSONSyntax.duplicateKey(in: data) { throw EngineError(.invalidParameter, "\(path): \(twice)") }
        guard case .object(let object) = root else { throw EngineError(.invalidParameter, "\(path): the top level must be a JSON object") }
        if let base = object["extends"] {
            guard case .value(.text(let name)) = base else { throw EngineError(.invalidParameter, "\(path): key 'extends' must be a profile name") }
            try read(((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name + ".json"), seen: &seen)
        }
        // Sorted: a file's keys apply in a fixed order (no hash-order dependence).
        for (section, body) in object.sorted(by: { $0.key < $1.key }) where section != "extends" && section != "description" {
            guard case .object(let fields) = body else {
                throw EngineError(.invalidParameter, "\(path): key '\(section)' must be an object of settings")
            }
            for (name, raw) in fields.sorted(by: { $0.key < $1.key }) {
                let key = section + "." + name
                guard let value = raw.value else { throw EngineError(.invalidParameter, "\(path): key '\(key)' must be a number, text or true/false") }
                try set(key, value, source: path)
            }
        }
    }

    /// JSON as read from a config file (booleans are kept apart from numbers).
    indirect enum JSONValue: Decodable {
        case object([String: JSONValue]), value(Value), other

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .value(.flag(b)) }
            else if let n = try? c.decode(Double.self) { self = .value(.number(n)) }
            else if let s = try? c.decode(String.self) { self = .value(.text(s)) }
            else if let o = try? c.decode([String: JSONValue].self) { self = .object(o) }
            else { self = .other }
        }

        var value: Value? { if case .value(let v) = self { v } else { nil } }
    }

    /// Sets one key (`params.NAME` goes to the strategy/account parameters).
    public mutating func set(_ key: String, _ value: Value, source: String) throws(EngineError) {
        if key.hasPrefix("params.") {
            let name = String(key.dropFirst(7))
            let text: String
            switch value {
            case .text(let s): text = s
            case .number: text = value.description
            case .flag(let b): text = String(b)
            }
            params.removeAll { $0.0 == name }
            params.append((name, text))
            return
        }
        guard let k = RunConfig.keys.first(where: { $0.name == key }) else {
            throw EngineError(.unknownParameter, "\(source): unknown config key '\(key)' (keys: \(RunConfig.keys.map(\.name).joined(separator: ", ")), params.NAME)")
        }
        guard k.apply(&self, value) else {
            throw EngineError(.invalidParameter, "\(source): config key '\(key)' must be \(k.expects), got \(value.description)")
        }
    }
}
