import RetraceCore

/// Estimates a venue clock's offset from the local clock, and its drift, from timestamp
/// samples; converts venue timestamps to local time.
///
/// A sample is (local send, venue time, local receive). With a send time (a request and its
/// answer) it is two-way: the venue stamped somewhere inside the round trip, and the
/// estimate is NTP's, `venue − (send + receive) / 2`, best when the round trip is shortest.
/// Without one (a feed message) it is one-way: `venue − receive` is the offset minus the
/// message's travel time, so the largest value in a window — the fastest message — bounds
/// the offset from below by the minimum one-way latency.
///
/// Per window of local time (`windowNanos`) only the best sample is kept (minimum round
/// trip, or minimum one-way delay): queueing delays only ever add, so the best sample is
/// the one least disturbed. A least-squares line through the windows' best samples gives
/// the offset at any local time and the drift (the slope). Uses only IEEE basic operations
/// in a fixed order: the same samples give the same estimate bit for bit, so a replay that
/// feeds the journaled samples converts timestamps exactly as the original run did.
public struct TimeSync: Sendable {
    /// One observation.
    public struct Sample: Equatable, Sendable {
        public var localSend: Int64?
        public var venueTime: Int64
        public var localReceive: Int64
        public init(localSend: Int64? = nil, venueTime: Int64, localReceive: Int64) {
            (self.localSend, self.venueTime, self.localReceive) = (localSend, venueTime, localReceive)
        }
        /// Offset seen by this sample (venue − local), nanoseconds.
        var offset: Int64 {
            if let s = localSend { return venueTime - (s + (localReceive - s) / 2) }
            return venueTime - localReceive
        }
        /// How disturbed the sample may be: the round trip, or the one-way delay.
        var delay: Int64 {
            if let s = localSend { return localReceive - s }
            return localReceive - venueTime
        }
    }

    /// The fit: `offset(t) = offsetNanos + driftPPB · (t − referenceTime) / 10⁹`.
    public struct Estimate: Equatable, Sendable {
        /// Venue − local at `referenceTime`, nanoseconds. One-way samples: a lower bound,
        /// short of the true offset by the minimum one-way latency.
        public var offsetNanos: Double
        /// Drift in parts per billion (nanoseconds of offset change per second).
        public var driftPPB: Double
        public var referenceTime: Int64
        /// Windows that contributed a best sample.
        public var windows: Int
        public var samples: Int
        /// Root-mean-square residual of the windows' offsets around the line, nanoseconds.
        public var residualNanos: Double
        /// The smallest delay seen (round trip or one-way), nanoseconds.
        public var minDelayNanos: Int64
        public var oneWay: Bool
        /// Two-way samples only: the most `offsetNanos` can be off the true offset, if the
        /// venue's clock is linear in local time. Each window's best sample is off by at
        /// most half its round trip (the venue stamped somewhere inside it); the fit at
        /// `referenceTime` is a weighted sum of those samples, so its error is at most
        /// Σ |weight| × round trip / 2. Not counted: the clocks' drift over a round trip (the
        /// fit places a sample at its receive time, up to a round trip after the venue
        /// stamped it), a few parts per million of it.
        /// Nil for one-way samples, whose error has no upper bound.
        public var offsetBoundNanos: Double?

        /// Offset at local time `t`.
        public func offset(at t: Int64) -> Double { offsetNanos + driftPPB * Double(t - referenceTime) / 1e9 }
    }

    public let windowNanos: Int64
    /// The best sample of each window so far, in window order.
    public private(set) var best: [Sample] = []
    var currentWindow = Int64.min
    public private(set) var samples = 0
    /// The fit over the windows closed so far (what conversions use: it changes only when
    /// a window closes, not on every sample).
    public private(set) var current: Estimate?

    public init(windowNanos: Int64 = 10_000_000_000) {
        precondition(windowNanos > 0, "time sync window must be positive")
        self.windowNanos = windowNanos
    }

    /// Adds a sample (in local receive order; an earlier window than the current one is
    /// folded into the current window).
    public mutating func add(_ s: Sample) {
        samples += 1
        let w = Swift.max(currentWindow, s.localReceive >= 0 ? s.localReceive / windowNanos : (s.localReceive - windowNanos + 1) / windowNanos)
        if w != currentWindow || best.isEmpty {
            if !best.isEmpty { current = estimate }
            currentWindow = w
            best.append(s)
        } else if better(s, than: best[best.count - 1]) {
            best[best.count - 1] = s
        }
    }

    /// Whether `s` should replace `kept` as its window's best sample. A two-way sample beats
    /// a one-way one whatever their delays: a one-way delay contains the offset being
    /// measured, so the two cannot be compared (a venue ahead of us makes every one-way
    /// delay negative).
    func better(_ s: Sample, than kept: Sample) -> Bool {
        switch (s.localSend != nil, kept.localSend != nil) {
        case (true, false): true
        case (false, true): false
        default: s.delay < kept.delay
        }
    }

    /// The estimate over every window including the open one, or nil before the first sample.
    /// When any window has a two-way sample, only those windows are fitted.
    public var estimate: Estimate? {
        let twoWay = self.best.contains { $0.localSend != nil }
        let best = twoWay ? self.best.filter { $0.localSend != nil } : self.best
        guard let first = best.first else { return nil }
        let t0 = first.localReceive
        let n = Double(best.count)
        var sx = 0.0, sy = 0.0
        for s in best { sx += Double(s.localReceive - t0) / 1e9; sy += Double(s.offset - first.offset) }
        let mx = sx / n, my = sy / n
        var sxx = 0.0, sxy = 0.0
        for s in best {
            let dx = Double(s.localReceive - t0) / 1e9 - mx
            sxx += dx * dx
            sxy += dx * (Double(s.offset - first.offset) - my)
        }
        let slope = sxx > 0 ? sxy / sxx : 0  // ns of offset per second = ppb
        let intercept = my - slope * mx
        var ss = 0.0
        for s in best {
            let r = Double(s.offset - first.offset) - (intercept + slope * Double(s.localReceive - t0) / 1e9)
            ss += r * r
        }
        // The fitted offset at t0 (x = 0) is Σ wᵢ yᵢ with wᵢ = 1/n + (0 − mx)(xᵢ − mx)/sxx.
        var bound: Double?
        if twoWay {
            var b = 0.0
            for s in best {
                let w = 1 / n + (sxx > 0 ? -mx * (Double(s.localReceive - t0) / 1e9 - mx) / sxx : 0)
                b += Swift.abs(w) * Double(s.delay) / 2
            }
            bound = b + 1  // the integer midpoint's rounding
        }
        return Estimate(offsetNanos: Double(first.offset) + intercept, driftPPB: slope, referenceTime: t0, windows: best.count, samples: samples,
                        residualNanos: (ss / n).squareRoot(), minDelayNanos: best.map(\.delay).min() ?? 0, oneWay: !twoWay,
                        offsetBoundNanos: bound)
    }

    /// A venue timestamp in local time, by the closed windows' fit (the open window's while
    /// none has closed; unchanged before the first sample).
    public func toLocal(venueTime v: Int64) -> Int64 {
        guard let e = current ?? estimate else { return v }
        // offset(t) = venue − local at local t; solve local = v − offset(local) with one step
        // from local ≈ v − offset(v) (drift is parts per million at most).
        let guess = v - Int64(e.offset(at: v).rounded())
        return v - Int64(e.offset(at: guess).rounded())
    }
}
