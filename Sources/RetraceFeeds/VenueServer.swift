import Foundation
import RetraceCore
import RetraceMarket

/// `retrace venue`: a venue simulator that is a real network peer. It streams a recorded
/// feed over TCP at `speed` (paced by the recorded receive times), matches the orders it
/// receives with the Market module's venue (top-of-book or depth matching, zero venueID
/// latency: the fault options add it), and answers with acks, rejects and fills. One
/// thread, `poll(2)`, non-blocking sockets.
public final class VenueServer {
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port: UInt16 = 0
        /// Pacing: recorded time gaps divided by this; nil: as fast as clients read.
        public var speed: Double? = 1
        public var logOrders: String?
        /// Added to every order request's arrival (matching happens then).
        public var latencyMicros: Int64 = 0
        public var jitterMicros: Int64 = 0
        /// The venue clock: wall clock + offset, drifting by `driftPPM`.
        public var clockOffsetMillis: Double = 0
        public var driftPPM: Double = 0
        /// Closes every connection every N seconds (0: never).
        public var dropEverySeconds: Double = 0
        /// Skips one sequence number every N market messages per session (0: never).
        public var gapEvery: Int = 0
        /// Stops serving every N seconds for `stallMillis` (0: never).
        public var stallEverySeconds: Double = 0
        public var stallMillis: Int = 0
        /// Fraction of new orders rejected.
        public var rejectRate: Double = 0
        public var seed: UInt64 = 1
        public var heartbeatMillis: Int = 100
        public var fees = FeeSchedule(maker: .zero, taker: .zero)
        public init() {}
    }

    /// What the venue did (printed when it stops).
    public struct Summary: Sendable {
        public var sessions = 0
        public var connections = 0
        public var marketEvents = 0
        public var requests = 0
        public var orders = 0
        public var fills = 0
        public var rejects = 0
        public var duplicateOrders = 0
        public var drops = 0
        public var gaps = 0
    }

    final class Session {
        let id: [UInt8]
        var nextSeq: UInt64 = 1
        /// Every report sent, by sequence (for resends after a gap or a reconnect).
        var reports: [(seq: UInt64, frame: [UInt8])] = []
        /// Client order id → the venue's internal id.
        var orders: [UInt64: UInt64] = [:]
        var burned = Set<UInt64>()
        var marketSent = 0
        var fills = 0
        var connection: Connection?
        init(id: [UInt8]) { self.id = id }
    }

    final class Connection {
        let fd: Int32
        var input = [UInt8](repeating: 0, count: 65_536)
        var used = 0
        var readTotal = 0
        var output: [UInt8] = []
        var sent = 0
        var session: Session?
        var closed = false
        init(fd: Int32) { self.fd = fd }
        var backlog: Int { output.count - sent }
    }

    struct Pending {
        var due: Int64
        var session: Session
        var kind: Wire.Kind
        var order: OrderSubmitted
    }

    public let options: Options
    public private(set) var summary = Summary()
    public private(set) var boundPort: UInt16 = 0
    private let events: [Event]
    private var next = 0
    private var listener: Int32 = -1
    private var connections: [Connection] = []
    private var sessions: [Session] = []
    private let venue: SimulatedVenue
    private var owners: [UInt64: (session: Session, clientID: UInt64)] = [:]
    private var nextInternalID: UInt64 = 1
    private var pending: [Pending] = []
    private var rng: SplitMix64
    private var startWall: Int64 = 0
    private var streamStart: Int64 = 0
    private var firstRecorded: Int64 = 0
    private var startedStreaming = false
    private var lastHeartbeat: Int64 = 0
    private var lastDrop: Int64 = 0
    private var lastStall: Int64 = 0
    private var sentEnd = false
    private var log: FileHandle?
    /// Latest quote and L2 levels per instrument (the snapshot after a gap or logon).
    private var lastQuote: [UInt32: Event] = [:]
    private var levels: [UInt32: [Side: [Int64: Int64]]] = [:]
    private var instruments: [Event] = []
    private var answers = Answers()

    /// Loads `events` (instrument definitions and market data in recorded order).
    public init(events: [Event], options: Options) throws(FeedError) {
        self.events = events
        self.options = options
        rng = SplitMix64(seed: options.seed)
        venue = SimulatedVenue(venues: [VenueSettings(fees: options.fees)])
        if let path = options.logOrders {
            guard FileManager.default.createFile(atPath: path, contents: Data("venue_time_ns,action,client_order_id,side,price,quantity\n".utf8)),
                  let h = FileHandle(forWritingAtPath: path) else { throw FeedError(.io, "cannot create --log-orders file \(path)") }
            h.seekToEndOfFile()
            log = h
        }
    }

    /// Binds the listening socket (port 0: any free port; see `boundPort`).
    public func bind() throws(FeedError) {
        listener = try TCP.listen(options.host, options.port)
        boundPort = TCP.localPort(listener)
        startWall = WallClock.realtimeNanos()
        lastDrop = WallClock.monotonicNanos()
        lastStall = lastDrop
    }

    /// The venue clock now.
    public func venueNow() -> Int64 {
        let wall = WallClock.realtimeNanos()
        let drift = Double(wall - startWall) * options.driftPPM / 1e6
        return wall + Int64(options.clockOffsetMillis * 1e6) + Int64(drift)
    }

    /// Serves until `stop()` returns true (checked every few milliseconds).
    public func run(stop: () -> Bool) {
        var polls: [pollfd] = []
        while !stop() {
            let now = WallClock.monotonicNanos()
            faults(now)
            polls.removeAll(keepingCapacity: true)
            polls.append(pollfd(fd: listener, events: Int16(POLLIN), revents: 0))
            for c in connections { polls.append(pollfd(fd: c.fd, events: Int16(POLLIN) | (c.backlog > 0 ? Int16(POLLOUT) : 0), revents: 0)) }
            let wait = waitMillis(now)
            _ = poll(&polls, nfds_t(polls.count), wait)
            if polls[0].revents & Int16(POLLIN) != 0 {
                while let fd = TCP.accept(listener) {
                    connections.append(Connection(fd: fd))
                    summary.connections += 1
                }
            }
            for c in connections where !c.closed { readFrom(c) }
            dispatchPending()
            stream()
            heartbeat()
            for c in connections where !c.closed && c.backlog > 0 {
                if !TCP.flush(c.fd, &c.output, sent: &c.sent) { drop(c) }
            }
            connections.removeAll { $0.closed }
        }
        for c in connections { _ = TCP.flush(c.fd, &c.output, sent: &c.sent); close(c.fd) }
        close(listener)
        try? log?.synchronize()
    }

    private func waitMillis(_ now: Int64) -> Int32 {
        if !pending.isEmpty { return 0 }
        if startedStreaming, next < events.count {
            guard let speed = options.speed else { return connections.contains { $0.backlog < 1 << 20 } ? 0 : 1 }
            let due = streamStart + Int64(Double(events[next].receiveTime.nanos - firstRecorded) / speed)
            return Int32(max(0, min(5, (due - now) / 1_000_000)))
        }
        return 5
    }

    // MARK: - Faults

    private func faults(_ now: Int64) {
        if options.dropEverySeconds > 0, now - lastDrop >= Int64(options.dropEverySeconds * 1e9) {
            lastDrop = now
            for c in connections where !c.closed && c.session != nil { drop(c); summary.drops += 1 }
        }
        if options.stallEverySeconds > 0, options.stallMillis > 0, now - lastStall >= Int64(options.stallEverySeconds * 1e9) {
            usleep(UInt32(options.stallMillis) * 1000)
            lastStall = WallClock.monotonicNanos()
        }
    }

    private func drop(_ c: Connection) {
        guard !c.closed else { return }
        c.closed = true
        close(c.fd)
        if let s = c.session, s.connection === c { s.connection = nil }
    }

    // MARK: - Requests

    private func readFrom(_ c: Connection) {
        guard let n = TCP.read(c.fd, into: &c.input, used: &c.used) else { drop(c); return }
        guard n > 0 || c.used > 0 else { return }
        do {
            let consumed = try c.input.withUnsafeBytes { buffer in
                try Wire.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<c.used]), streamOffset: c.readTotal) { frame in try handle(frame, from: c) }
            }
            if consumed > 0 {
                c.input.withUnsafeMutableBytes { b in
                    if c.used > consumed { memmove(b.baseAddress!, b.baseAddress! + consumed, c.used - consumed) }
                }
                c.used -= consumed
                c.readTotal += consumed
            }
        } catch {
            var out: [UInt8] = []
            Wire.append(.error, payload: Array("\(error)".utf8), to: &out)
            c.output += out
            _ = TCP.flush(c.fd, &c.output, sent: &c.sent)
            FileHandle.standardError.write(Data("venue: \(error)\n".utf8))
            drop(c)
        }
    }

    private func handle(_ frame: Wire.Frame, from c: Connection) throws {
        let p = frame.payload
        if frame.kind == .logon {
            guard p.count >= 24 else { throw FeedError(.malformed, "logon of \(p.count) bytes (24 expected)") }
            let id = Array(p[0..<16])
            let last = Wire.u64(p, 16)
            let existing = sessions.first { $0.id == id }
            let session = existing ?? Session(id: id)
            if existing == nil { sessions.append(session); summary.sessions += 1 }
            if let old = session.connection, old !== c { drop(old) }
            session.connection = c
            c.session = session
            Wire.append(.hello, payload: Wire.bytes(venueNow(), existing == nil ? 0 : 1), to: &c.output)
            resync(session, after: last)
            if !startedStreaming {
                startedStreaming = true
                streamStart = WallClock.monotonicNanos()
                firstRecorded = events.first { $0.body.marketInstrument != nil }?.receiveTime.nanos ?? 0
            }
            return
        }
        guard let session = c.session else { throw FeedError(.malformed, "\(frame.kind) before logon") }
        switch frame.kind {
        case .ping:
            Wire.append(.heartbeat, payload: Wire.bytes(venueNow(), Wire.i64(p, 0)), to: &c.output)
        case .resync:
            resync(session, after: Wire.u64(p, 0))
        case .newOrder:
            let e = try EventCodec.decode(p, sequence: 0)
            guard case .orderSubmitted(let o) = e.body else { throw FeedError(.malformed, "newOrder carries \(e.body.kind.name)") }
            request(.newOrder, o, session)
        case .cancel:
            let o = OrderSubmitted(orderID: ClientOrderID(Wire.u64(p, 0)), instrument: InstrumentID(Wire.u32(p, 8)), side: .buy, type: .limit, sizing: .fixed,
                                   quantity: .zero, limitPrice: .zero)
            request(.cancel, o, session)
        case .modify:
            let o = OrderSubmitted(orderID: ClientOrderID(Wire.u64(p, 0)), instrument: InstrumentID(Wire.u32(p, 8)), side: .buy, type: .limit, sizing: .fixed,
                                   quantity: Quantity(raw: Wire.i64(p, 12)), limitPrice: Price(raw: Wire.i64(p, 20)))
            request(.modify, o, session)
        case .status:
            let id = Wire.u64(p, 0)
            let inFlight = pending.contains { $0.session === session && $0.kind == .newOrder && $0.order.orderID.raw == id }
            if session.orders[id] == nil && !session.burned.contains(id) && !inFlight {
                session.burned.insert(id)
                report(.rejected(OrderRejected(orderID: ClientOrderID(id), instrument: InstrumentID(Wire.u32(p, 8)), reason: .unknownOrder)), to: session)
            }
        default:
            throw FeedError(.malformed, "unexpected \(frame.kind) from a client")
        }
    }

    private func request(_ kind: Wire.Kind, _ order: OrderSubmitted, _ session: Session) {
        summary.requests += 1
        let action = kind == .newOrder ? "new" : kind == .cancel ? "cancel" : "modify"
        if let log {
            let side = kind == .newOrder ? (order.side == .buy ? "buy" : "sell") : ""
            let price = kind == .cancel ? "" : String(order.limitPrice.raw)
            let qty = kind == .cancel ? "" : String(order.quantity.raw)
            log.write(Data("\(venueNow()),\(action),\(order.orderID.raw),\(side),\(price),\(qty)\n".utf8))
        }
        var delay = options.latencyMicros * 1000
        if options.jitterMicros > 0 { delay += Int64(rng.next() % UInt64(options.jitterMicros * 1000 + 1)) }
        pending.append(Pending(due: WallClock.monotonicNanos() + delay, session: session, kind: kind, order: order))
    }

    private func dispatchPending() {
        guard !pending.isEmpty else { return }
        let now = WallClock.monotonicNanos()
        while let first = pending.first, first.due <= now {
            pending.removeFirst()
            execute(first)
        }
    }

    private func execute(_ r: Pending) {
        let s = r.session
        let clientID = r.order.orderID.raw
        func reject(_ reason: RejectReason) {
            report(.rejected(OrderRejected(orderID: r.order.orderID, instrument: r.order.instrument, reason: reason)), to: s)
        }
        venue.now = venueTime()
        if r.kind == .newOrder {
            if s.orders[clientID] != nil || s.burned.contains(clientID) {
                summary.duplicateOrders += 1
                return reject(.duplicateOrderID)
            }
            let venueID = nextInternalID
            nextInternalID += 1
            s.orders[clientID] = venueID
            owners[venueID] = (s, clientID)
            summary.orders += 1
            if options.rejectRate > 0, Double(rng.next() >> 11) / Double(1 << 53) < options.rejectRate { return reject(.venueRandomReject) }
            var o = r.order
            o.orderID = ClientOrderID(venueID)
            venue.submit(o, listener: &answers)
        } else {
            guard let venueID = s.orders[clientID].map(ClientOrderID.init) else { return reject(.unknownOrder) }
            if r.kind == .cancel {
                venue.cancel(venueID, listener: &answers)
            } else {
                venue.modify(venueID, quantity: r.order.quantity, price: r.order.limitPrice, listener: &answers)
            }
        }
        venue.advance(to: venue.now, listener: &answers)
        routeAnswers()
    }

    /// The dataset time the venue's matching stands at (the last event released).
    private func venueTime() -> Timestamp {
        next > 0 ? max(events[next - 1].receiveTime, venue.now) : venue.now
    }

    private func routeAnswers() {
        guard !answers.list.isEmpty else { return }
        let list = answers.list
        answers.list.removeAll(keepingCapacity: true)
        for a in list {
            guard let (session, clientID) = owners[a.orderID.raw] else { continue }
            let body = a.with(orderID: ClientOrderID(clientID))
            switch body {
            case .filled: summary.fills += 1; session.fills += 1
            case .rejected: summary.rejects += 1
            default: break
            }
            report(body, to: session)
        }
    }

    private func report(_ body: VenueReport.Body, to s: Session) {
        let seq = s.nextSeq
        s.nextSeq += 1
        var frame: [UInt8] = []
        let now = venueNow()
        Wire.append(.report, seq: seq, event: Event(eventTime: Timestamp(nanos: now), receiveTime: Timestamp(nanos: now), body: body.event), to: &frame)
        s.reports.append((seq, frame))
        s.connection?.output += frame
    }

    // MARK: - Streaming

    private func stream() {
        guard startedStreaming else { return }
        let now = WallClock.monotonicNanos()
        var released = 0
        while next < events.count, released < 4096 {
            let e = events[next]
            if let speed = options.speed {
                let due = streamStart + Int64(Double(e.receiveTime.nanos - firstRecorded) / speed)
                if due > now { break }
            } else if connections.contains(where: { $0.session != nil && $0.backlog > 4 << 20 }) {
                break  // as fast as the slowest client reads
            }
            next += 1
            released += 1
            release(e)
        }
        if next == events.count && !sentEnd && pending.isEmpty {
            sentEnd = true
            for s in sessions { sequenced(.endOfData, s) }
        }
    }

    private func release(_ e: Event) {
        if case .instrumentDefined(let d) = e.body {
            venue.define(d.instrument)
            instruments.append(e)
        } else {
            summary.marketEvents += 1
            venue.now = e.receiveTime
            venue.onMarket(e, at: e.receiveTime, listener: &answers)
            remember(e)
        }
        routeAnswers()
        let now = venueNow()
        var stamped = e
        stamped.eventTime = Timestamp(nanos: now)
        stamped.receiveTime = Timestamp(nanos: now)
        for s in sessions {
            let seq = s.nextSeq
            s.nextSeq += 1
            s.marketSent += 1
            if options.gapEvery > 0, e.body.marketInstrument != nil, s.marketSent % options.gapEvery == 0 {
                summary.gaps += 1
                continue  // a lost message: the client sees the number jump
            }
            if let c = s.connection { Wire.append(.event, seq: seq, event: stamped, to: &c.output) }
        }
    }

    private func remember(_ e: Event) {
        switch e.body {
        case .quoteReceived(let q): lastQuote[q.instrument.raw] = e
        case .l2LevelUpdated(let u):
            var book = levels[u.instrument.raw] ?? [:]
            var side = book[u.side] ?? [:]
            side[u.price.raw] = u.quantity.raw == 0 ? nil : u.quantity.raw
            book[u.side] = side
            levels[u.instrument.raw] = book
        default: break
        }
    }

    private func sequenced(_ kind: Wire.Kind, _ s: Session) {
        let seq = s.nextSeq
        s.nextSeq += 1
        if let c = s.connection { Wire.append(kind, seq: seq, to: &c.output) }
    }

    /// Reports after `last` again, then the market snapshot, then `snapshotEnd`.
    private func resync(_ s: Session, after last: UInt64) {
        guard let c = s.connection else { return }
        let start = s.reports.firstIndex { $0.seq > last } ?? s.reports.count
        for r in s.reports[start...] {
            var frame = r.frame
            frame[5] = Wire.flagReplayed
            c.output += frame
        }
        let now = Timestamp(nanos: venueNow())
        for var e in instruments {
            e.eventTime = now; e.receiveTime = now
            Wire.append(.event, flags: Wire.flagSnapshot, event: e, to: &c.output)
        }
        for key in lastQuote.keys.sorted() {
            var e = lastQuote[key]!
            e.eventTime = now; e.receiveTime = now
            Wire.append(.event, flags: Wire.flagSnapshot, event: e, to: &c.output)
        }
        for key in levels.keys.sorted() {
            for side in [Side.buy, .sell] {
                for (price, qty) in (levels[key]?[side] ?? [:]).sorted(by: { $0.key < $1.key }) {
                    let e = Event(eventTime: now, receiveTime: now, body: .l2LevelUpdated(L2LevelUpdated(instrument: InstrumentID(key), side: side,
                                                                                                            price: Price(raw: price), quantity: Quantity(raw: qty))))
                    Wire.append(.event, flags: Wire.flagSnapshot, event: e, to: &c.output)
                }
            }
        }
        Wire.append(.snapshotEnd, seq: s.nextSeq - 1, to: &c.output)
        if sentEnd { sequenced(.endOfData, s) }
    }

    private func heartbeat() {
        let now = WallClock.monotonicNanos()
        guard now - lastHeartbeat >= Int64(options.heartbeatMillis) * 1_000_000 else { return }
        lastHeartbeat = now
        let payload = Wire.bytes(venueNow(), 0)
        for c in connections where c.session != nil && !c.closed { Wire.append(.heartbeat, payload: payload, to: &c.output) }
    }
}

/// Collects the matching engine's answers (reports go out after each request or event).
struct Answers: VenueListener {
    var list: [VenueReport.Body] = []
    mutating func venueAccepted(_ event: OrderAccepted) { list.append(.accepted(event)) }
    mutating func venueRejected(_ event: OrderRejected) { list.append(.rejected(event)) }
    mutating func venueCanceled(_ event: OrderCanceled) { list.append(.canceled(event)) }
    mutating func venueFilled(_ event: OrderFilled) { list.append(.filled(event)) }
    mutating func venueModified(_ event: OrderModified) { list.append(.modified(event)) }
    func allInQuantity(instrument: Instrument, price: Price, feeRate: Rate) -> Quantity { .zero }
}
