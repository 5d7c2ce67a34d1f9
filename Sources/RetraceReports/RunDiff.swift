import RetraceCore
import RetraceJournal

/// Compares two runs' output streams straight from their journals (no store): the first
/// output that differs, the input events before it on each side, and what the whole runs
/// add up to. Outputs are compared by their encoded bytes (what the fingerprint hashes),
/// so two streams are identical exactly when their fingerprints are.
public struct RunDiff: Sendable {
    /// One side's event at the divergence, or nil when that side's outputs ended first.
    public struct Point: Sendable {
        /// The journal sequence of the divergent output.
        public var sequence: UInt64
        /// Its position among the side's outputs (0-based).
        public var outputIndex: UInt64
        public var text: String
    }

    /// What one run adds up to.
    public struct Totals: Sendable, Equatable {
        public var inputs: UInt64 = 0
        public var outputs: UInt64 = 0
        public var orders: UInt64 = 0
        public var fills: UInt64 = 0
        public var rejects: UInt64 = 0
        /// Final equity (the last balance event).
        public var finalEquity: Money?
        /// Realized + unrealized − fees at the last balance event: the run's PnL.
        public var pnl: Money?
        /// The largest absolute position per symbol, at the instrument's precision.
        public var maxPosition: [String: String] = [:]
    }

    public var identical: Bool
    /// Outputs both sides share before the divergence.
    public var commonOutputs: UInt64
    public var a: Point?
    public var b: Point?
    /// The last K input events before the divergence, per side (oldest first).
    public var contextA: [String] = []
    public var contextB: [String] = []
    public var totalsA = Totals()
    public var totalsB = Totals()

    /// Reads `RUN_A/journal` and `RUN_B/journal` once each.
    public static func compare(_ runA: String, _ runB: String, context: Int = 10) throws(ReportError) -> RunDiff {
        var sa = try Side(run: runA, context: context)
        var sb = try Side(run: runB, context: context)
        var common: UInt64 = 0
        var diff = RunDiff(identical: true, commonOutputs: 0)
        while true {
            let oa = try sa.nextOutput()
            let ob = try sb.nextOutput()
            if oa == nil && ob == nil { break }
            if oa != nil, ob != nil, sa.current == sb.current {
                common += 1
                continue
            }
            diff.identical = false
            diff.a = oa.map { Point(sequence: $0, outputIndex: common, text: sa.describe($0)) }
            diff.b = ob.map { Point(sequence: $0, outputIndex: common, text: sb.describe($0)) }
            diff.contextA = sa.recentInputs()
            diff.contextB = sb.recentInputs()
            break
        }
        diff.commonOutputs = common
        try sa.drain()
        try sb.drain()
        diff.totalsA = sa.totals
        diff.totalsB = sb.totals
        return diff
    }

    /// One journal read forward to each output, keeping the last K inputs.
    struct Side {
        let run: String
        let reader: JournalReader
        let context: Int
        var text = EventText()
        var totals = Totals()
        var maxPosition: [Int64] = []
        /// The last K inputs: sequence, length and encoded bytes (a fixed slot each), in a ring.
        var ringSequences: [UInt64] = []
        var ringLengths: [Int] = []
        var ringBytes: [UInt8] = []
        var ringCount = 0
        var ringNext = 0
        var current: [UInt8] = []

        init(run: String, context: Int) throws(ReportError) {
            self.run = run
            self.context = context
            ringSequences = Array(repeating: 0, count: context)
            ringLengths = Array(repeating: 0, count: context)
            ringBytes = Array(repeating: 0, count: context * EventCodec.maxEncodedSize)
            do { reader = try JournalReader(directory: run + "/journal") } catch {
                throw ReportError(.notARun, "\(run): cannot read its journal: \(error.message)")
            }
        }

        /// Sequence of the next output (its bytes are in `current`), or nil at the end.
        mutating func nextOutput() throws(ReportError) -> UInt64? {
            while true {
                let r: JournalRecord?
                do { r = try reader.next() } catch { throw ReportError(.io, "\(run): \(error.message)") }
                guard let record = r else {
                    if let torn = reader.tornTail { throw ReportError(.io, "\(run): journal ends in a \(torn)") }
                    return nil
                }
                let p = record.payload
                guard p.count >= EventCodec.headerSize, let kind = EventKind(rawValue: p[1]) else {
                    throw ReportError(.io, "\(run): record #\(record.sequence) at byte \(record.offset) is not an event")
                }
                if kind.isOutput {
                    current.removeAll(keepingCapacity: true)
                    current.append(contentsOf: p)
                    try count(kind, record)
                    return record.sequence
                }
                if kind == .sessionStarted || kind == .sessionEnded { continue }
                totals.inputs += 1
                if kind == .instrumentDefined { text.learn(try decode(record)) }
                if context > 0 {
                    let n = min(p.count, EventCodec.maxEncodedSize)
                    ringSequences[ringNext] = record.sequence
                    ringLengths[ringNext] = n
                    let base = ringNext * EventCodec.maxEncodedSize
                    ringBytes.withUnsafeMutableBytes { dst in
                        // SAFETY: slot `ringNext` holds maxEncodedSize bytes and n ≤ that.
                        dst.baseAddress!.advanced(by: base).copyMemory(from: p.baseAddress!, byteCount: n)
                    }
                    ringNext = (ringNext + 1) % context
                    ringCount = min(ringCount + 1, context)
                }
            }
        }

        func decode(_ record: JournalRecord) throws(ReportError) -> Event {
            do { return try EventCodec.decode(record.payload, sequence: record.sequence) } catch {
                throw ReportError(.io, "\(run): record #\(record.sequence) at byte \(record.offset): \(error.message)")
            }
        }

        mutating func count(_ kind: EventKind, _ record: JournalRecord) throws(ReportError) {
            totals.outputs += 1
            switch kind {
            case .orderSubmitted: totals.orders += 1
            case .orderFilled: totals.fills += 1
            case .orderRejected: totals.rejects += 1
            case .positionChanged:
                if case .positionChanged(let p) = try decode(record).body {
                    let i = Int(p.instrument.raw)
                    while maxPosition.count <= i { maxPosition.append(0) }
                    maxPosition[i] = max(maxPosition[i], Int64(p.quantity.raw.magnitude))
                }
            case .balanceChanged:
                if case .balanceChanged(let b) = try decode(record).body {
                    totals.finalEquity = b.equity
                    totals.pnl = b.realizedPnL + b.unrealizedPnL - b.fees
                }
            default: break
            }
        }

        /// Reads the rest of the journal for the totals.
        mutating func drain() throws(ReportError) {
            while try nextOutput() != nil {}
            for (i, m) in maxPosition.enumerated() where m != 0 {
                let id = InstrumentID(UInt32(i))
                totals.maxPosition[text.symbol(id)] = text.quantity(id, Quantity(raw: m))
            }
        }

        func describe(_ sequence: UInt64) -> String {
            let event = current.withUnsafeBytes { try? EventCodec.decode($0, sequence: sequence) }
            return "#\(sequence) " + (event.map { text.text($0) } ?? "undecodable")
        }

        func recentInputs() -> [String] {
            (0..<ringCount).map { k in
                let slot = (ringNext - ringCount + k + context) % context
                let seq = ringSequences[slot]
                let base = slot * EventCodec.maxEncodedSize
                let event = ringBytes.withUnsafeBytes { b in
                    try? EventCodec.decode(UnsafeRawBufferPointer(rebasing: b[base..<(base + ringLengths[slot])]), sequence: seq)
                }
                return "#\(seq) " + (event.map { text.text($0) } ?? "undecodable")
            }
        }
    }
}
