import CRetraceShims
import RetraceCore

/// Wall-clock checkpoints along tick-to-order on the core thread: receive (journal and
/// de-duplication) → book (venue matching and marks) → strategy → risk → send (the venue
/// taking the commands), each into an HDR-style histogram, plus tick-to-order (from an
/// event's receipt to each order it caused being handed to the venue) per venue.
///
/// Time here is measured, never used: nothing the engine decides depends on it, so the
/// fingerprint is the same with profiling on or off. Every `every`-th event is sampled:
/// its stage checkpoints are taken and each order it causes is timed from its receipt.
/// Other events read no clock (a TSC read costs about 12 ns on this machine's VM, a tenth
/// of an event). `every` = 1 times every order; 0 turns it all off.
public struct LatencyProfiler {
    public static let stages = ["receive", "book", "strategy", "risk", "send"]
    public let every: Int
    public private(set) var stage: [LatencyHistogram]
    /// Tick-to-order over every venue: the venues' histograms merged (each order is
    /// recorded once, in its venue's; merging adds counts, so the figures are the same as
    /// recording twice).
    public var tickToOrder: LatencyHistogram {
        var all = LatencyHistogram()
        for h in byVenue { all.merge(h) }
        return all
    }
    /// Tick-to-order by venue index (the venue's position in the run's venue list).
    public private(set) var byVenue: [LatencyHistogram] = []
    var countdown: Int
    /// A sampled event's receipt, in ticks of the cycle counter (0: none, or not sampled;
    /// orders from timers alone are not tick-to-order). Kept in ticks: scaled to
    /// nanoseconds only when a duration is recorded.
    var eventStart: UInt64 = 0
    var last: UInt64 = 0
    /// Whether this event's stages are being sampled.
    var sampling = false

    public init(every: Int) {
        self.every = every
        countdown = every
        nanosPerTick = every > 0 ? retrace_nanos_per_cycle() : 1
        stage = Array(repeating: LatencyHistogram(), count: Self.stages.count)
    }

    /// Nanoseconds per tick of the cycle counter (measured once per process).
    let nanosPerTick: Double

    /// Now, in ticks of the cycle counter: the TSC read inline (about 12 ns on this VM,
    /// against about 25 for `clock_gettime`). Never 0.
    @inline(__always)
    func now() -> UInt64 {
        retrace_ticks() | 1  // determinism-ok: profiling only, never read by the engine's logic
    }

    /// Nanoseconds between two readings of `now()`, at the rate measured against CLOCK_MONOTONIC.
    @inline(__always)
    func nanos(from start: UInt64, to end: UInt64) -> Int64 {
        Int64(Double(Int64(bitPattern: end &- start)) * nanosPerTick)
    }

    /// An input event was received.
    @inline(__always)
    mutating func begin() {
        guard every > 0 else { return }
        countdown -= 1
        sampling = countdown == 0
        guard sampling else { return }
        countdown = every
        eventStart = now()
        last = eventStart
    }

    /// A sampled event passed a checkpoint: the time since the previous one goes to `index`.
    @inline(__always)
    mutating func mark(_ index: Int) {
        guard sampling else { return }
        let t = now()
        stage[index].record(nanos(from: last, to: t))
        last = t
    }

    /// The risk checks of one order (sampled events only).
    @inline(__always)
    func riskStarted() -> UInt64 { sampling ? now() : 0 }

    @inline(__always)
    mutating func riskEnded(_ started: UInt64) {
        guard sampling, started != 0 else { return }
        stage[3].record(nanos(from: started, to: now()))
    }

    /// An order caused by the current event is handed to the venue at index `venue`.
    mutating func orderSent(venue: Int) {
        guard eventStart != 0 else { return }
        let d = nanos(from: eventStart, to: now())
        while byVenue.count <= venue { byVenue.append(LatencyHistogram()) }
        byVenue[venue].record(d)
    }

    /// The event is done (orders sent later, from timers or answers, are not its).
    @inline(__always)
    mutating func end() {
        if sampling { mark(4) }
        eventStart = 0
        sampling = false
    }

    /// The histograms as saved with the run (stages and venues with no samples left out);
    /// `venues` names the venues by index.
    public func summaries(venues: [String]) -> [LatencySummary] {
        guard every > 0 else { return [] }
        var out: [LatencySummary] = []
        for (i, name) in Self.stages.enumerated() where stage[i].count > 0 { out.append(LatencySummary(name, nil, stage[i])) }
        let all = tickToOrder
        if all.count > 0 { out.append(LatencySummary("tick_to_order", nil, all)) }
        for (i, h) in byVenue.enumerated() where h.count > 0 { out.append(LatencySummary("tick_to_order", venues[i], h)) }
        return out
    }
}

/// One latency histogram's figures, in nanoseconds (saved in the run's manifest).
public struct LatencySummary: Codable, Equatable, Sendable {
    public var stage: String
    public var venue: String?
    public var count: UInt64
    public var p50: Int64, p90: Int64, p99: Int64, p999: Int64, max: Int64
    /// Counts per power of two of nanoseconds (element k: [2^k, 2^(k+1))), for histograms in
    /// reports; absent in older manifests.
    public var log2Counts: [UInt64]?

    enum CodingKeys: String, CodingKey {
        case stage, venue, count, p50, p90, p99, p999, max, log2Counts = "log2_counts"
    }

    public init(_ stage: String, _ venue: String?, _ h: LatencyHistogram) {
        let s = h.summary
        (self.stage, self.venue, count, p50, p90, p99, p999, max) = (stage, venue, s.count, s.p50, s.p90, s.p99, s.p999, s.max)
        log2Counts = h.log2Counts
    }
}
