import Foundation
import RetraceCore
import RetraceEngine
import Synchronization

/// The live mode's I/O thread: the feed client and the order gateway on one non-blocking
/// socket to the venue. Everything the venue says becomes an `Event` stamped with the local
/// receive time and goes to the core through `inbound` (a lock-free ring); requests the
/// core made durable come back through `outbound` and are written to the socket.
///
/// The gateway keeps the session whole across trouble: sequence gaps trigger a `resync`,
/// a lost connection a reconnect (with back-off) and a `logon` that asks for every report
/// after the last one received; new orders written but never answered are asked about
/// with `status` after a reconnect, never sent again. Each of these is also handed to the
/// core as a `SessionControl` input, so the journal says when it happened.
public final class LiveGateway: @unchecked Sendable {
    public struct Options: Sendable {
        public var host: String
        public var port: UInt16
        /// The session id (the run id): the venue keeps one session per id.
        public var sessionID: [UInt8]
        /// The last venue report sequence journaled (a resumed session's logon asks for what follows).
        public var lastReportSequence: UInt64 = 0
        public var pingMillis = 100
        /// The kill switch file: when it appears, the gateway hands the core a kill switch.
        public var killFile: String?
        /// Keep trading after the venue's end of data (default: a graceful stop).
        public var stayAfterEnd = false
        /// Stop connecting after this many consecutive failures (0: never give up).
        public var maxConnectFailures = 50
        public init(host: String, port: UInt16, sessionID: [UInt8]) { (self.host, self.port, self.sessionID) = (host, port, sessionID) }
    }


    /// What only the I/O thread sees (reconnects and gaps are counted by the engine, from
    /// the journaled session inputs).
    public struct Stats: Sendable {
        public var statusQueries = 0
        public var tickToOrder = LatencyHistogram()
    }

    public let options: Options
    public let inbound = SPSCRing<Event>(capacity: 1 << 16)
    public let outbound = SPSCRing<OutboundItem>(capacity: 1 << 14)
    /// Rung when inputs are waiting (the core sleeps on it when idle).
    public let coreBell = Doorbell()
    /// Rung by the core after it pushed requests (the I/O thread sleeps on it and the socket).
    public let ioBell = Doorbell()
    public let stopRequested = Atomic<Bool>(false)
    public let killRequested = Atomic<Bool>(false)
    private let finishing = Atomic<Bool>(false)
    private let exited = Atomic<Bool>(false)
    private let stats = Mutex(Stats())

    // I/O thread state.
    private var fd: Int32 = -1
    private var input = [UInt8](repeating: 0, count: 1 << 17)
    private var used = 0
    private var readTotal = 0
    private var output: [UInt8] = []
    private var sent = 0
    private var loggedOn = false
    private var expected: UInt64 = 1
    private var resyncing = false
    private var seenDuringResync = Set<UInt64>()
    private var lastReport: UInt64
    private var unanswered: [UInt64: InstrumentID] = [:]
    private var waiting: [OutboundItem] = []
    private var lastStamp: Int64 = 0
    private var nextConnect: Int64 = 0
    private var backoffMillis: Int64 = 20
    private var failures = 0
    private var lastPing: Int64 = 0
    private var lastKillCheck: Int64 = 0
    private var sentShutdown = false
    private var sentKill = false

    public init(options: Options, statusQueries: [(ClientOrderID, InstrumentID)] = []) {
        self.options = options
        lastReport = options.lastReportSequence
        for (id, instrument) in statusQueries { unanswered[id.raw] = instrument }
    }

    public var snapshot: Stats { stats.withLock { $0 } }

    /// Starts the I/O thread.
    public func start() {
        let thread = Thread { [self] in
            run()
            exited.store(true, ordering: .releasing)
        }
        thread.name = "retrace-gateway"
        thread.start()
    }

    /// Stops the I/O thread after it wrote what the core handed it; returns once it ended.
    public func finish() {
        finishing.store(true, ordering: .releasing)
        while !exited.load(ordering: .acquiring) { usleep(1000) }
    }

    // MARK: - The loop

    private func run() {
        while true {
            let now = WallClock.monotonicNanos()
            let ending = finishing.load(ordering: .acquiring)
            if fd < 0 && !ending && now >= nextConnect { connect() }
            takeOutbound()
            if fd >= 0 {
                if !TCP.flush(fd, &output, sent: &sent) { lost("write failed") }
            }
            if ending && (fd < 0 || output.isEmpty) { break }
            if fd >= 0 {
                if output.isEmpty {
                    // Wake on venue data or on a request from the core, whichever comes first.
                    ioBell.sleep(timeoutMillis: 1, extra: fd) { outbound.count > 0 }
                } else {
                    var p = pollfd(fd: fd, events: Int16(POLLIN | POLLOUT), revents: 0)
                    _ = poll(&p, 1, 1)
                }
                readAvailable()
                if fd >= 0, loggedOn, now - lastPing >= Int64(options.pingMillis) * 1_000_000 {
                    lastPing = now
                    Wire.append(.ping, payload: Wire.bytes(stamp()), to: &output)
                }
            } else {
                usleep(1000)
            }
            if now - lastKillCheck >= 50_000_000 {
                lastKillCheck = now
                if !sentKill, killRequested.load(ordering: .relaxed) || (options.killFile.map { FileManager.default.fileExists(atPath: $0) } ?? false) {
                    sentKill = true
                    deliver(.sessionControl(SessionControl(.killSwitch)))
                }
            }
            if !sentShutdown && stopRequested.load(ordering: .relaxed) {
                sentShutdown = true
                deliver(.sessionControl(SessionControl(.shutdown)))
            }
        }
        if fd >= 0 { close(fd); fd = -1 }
    }

    /// A non-decreasing wall-clock stamp (CLOCK_REALTIME can step back; receive times may not).
    private func stamp() -> Int64 {
        let t = WallClock.realtimeNanos()
        lastStamp = max(lastStamp, t)
        return lastStamp
    }

    /// Hands one input to the core (waiting while the ring is full: back-pressure on the socket).
    private func deliver(_ body: EventBody, eventTime: Int64 = 0) {
        let now = stamp()
        let e = Event(eventTime: Timestamp(nanos: eventTime == 0 ? now : eventTime), receiveTime: Timestamp(nanos: now), body: body)
        while !inbound.push(e) { coreBell.ring(); usleep(20) }
        coreBell.ring()
    }

    private func connect() {
        do {
            fd = try TCP.connect(options.host, options.port)
        } catch {
            failures += 1
            if failures == 1 || failures % 20 == 0 { FileHandle.standardError.write(Data("live: \(error.message); retrying\n".utf8)) }
            if options.maxConnectFailures > 0 && failures >= options.maxConnectFailures && !sentShutdown {
                FileHandle.standardError.write(Data("live: giving up after \(failures) failed connection attempts\n".utf8))
                sentShutdown = true
                deliver(.sessionControl(SessionControl(.shutdown)))
            }
            nextConnect = WallClock.monotonicNanos() + backoffMillis * 1_000_000
            backoffMillis = min(backoffMillis * 2, 500)
            return
        }
        failures = 0
        backoffMillis = 20
        used = 0
        readTotal = 0
        output.removeAll(keepingCapacity: true)
        sent = 0
        var payload = options.sessionID
        payload += Wire.bytes(Int64(bitPattern: lastReport))
        Wire.append(.logon, payload: payload, to: &output)
        loggedOn = false
        resyncing = true
        seenDuringResync.removeAll()
    }

    private func lost(_ why: String) {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
        loggedOn = false
        FileHandle.standardError.write(Data("live: connection lost (\(why)); reconnecting\n".utf8))
        deliver(.sessionControl(SessionControl(.disconnected, a: expected &- 1)))
        nextConnect = WallClock.monotonicNanos() + backoffMillis * 1_000_000
    }

    private func takeOutbound() {
        _ = outbound.popBatch(max: 256) { item in waiting.append(item) }
        guard fd >= 0, loggedOn, !waiting.isEmpty else { return }
        for item in waiting { write(item) }
        waiting.removeAll(keepingCapacity: true)
    }

    private func write(_ item: OutboundItem) {
        switch item.request {
        case .new(let o):
            Wire.append(.newOrder, event: Event(eventTime: .zero, receiveTime: .zero, body: .orderSubmitted(o)), to: &output)
            unanswered[o.orderID.raw] = o.instrument
            let latency = stamp() - item.cause
            stats.withLock { $0.tickToOrder.record(max(0, latency)) }
            return
        case .cancel(let id, let instrument):
            Wire.append(.cancel, payload: Wire.idPayload(id, instrument), to: &output)
        case .modify(let id, let instrument, let q, let p):
            var payload = Wire.idPayload(id, instrument)
            payload += Wire.bytes(q.raw, p.raw)
            Wire.append(.modify, payload: payload, to: &output)
        case .status(let id, let instrument):
            Wire.append(.status, payload: Wire.idPayload(id, instrument), to: &output)
        }
    }

    private func readAvailable() {
        guard fd >= 0 else { return }
        guard let n = TCP.read(fd, into: &input, used: &used) else { lost("the venue closed the connection"); return }
        guard n > 0 else { return }
        do {
            let consumed = try input.withUnsafeBytes { buffer in
                try Wire.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<used]), streamOffset: readTotal) { frame in try handle(frame) }
            }
            if consumed > 0 {
                input.withUnsafeMutableBytes { b in if used > consumed { memmove(b.baseAddress!, b.baseAddress! + consumed, used - consumed) } }
                used -= consumed
                readTotal += consumed
            }
        } catch {
            lost("\(error)")
        }
    }

    private func handle(_ f: Wire.Frame) throws {
        switch f.kind {
        case .hello:
            loggedOn = true
            deliver(.sessionControl(SessionControl(.connected, a: lastReport)))
        case .heartbeat:
            deliver(.venueHeartbeat(VenueHeartbeat(venueTime: Wire.i64(f.payload, 0), pingSent: Wire.i64(f.payload, 8))), eventTime: Wire.i64(f.payload, 0))
        case .event:
            let e = try EventCodec.decode(f.payload, sequence: f.seq)
            if f.flags & Wire.flagSnapshot == 0, !accept(f.seq) { return }
            deliver(e.body, eventTime: e.eventTime.nanos)
        case .report:
            if f.flags & Wire.flagReplayed != 0 {
                if f.seq <= lastReport || seenDuringResync.contains(f.seq) { return }
            } else if !accept(f.seq) {
                return
            }
            let e = try EventCodec.decode(f.payload, sequence: f.seq)
            guard let body = VenueReport.Body(e.body) else { throw FeedError(.malformed, "report #\(f.seq) carries \(e.body.kind.name)") }
            if f.seq > lastReport { lastReport = f.seq }
            unanswered[body.orderID.raw] = nil
            deliver(.venueReport(VenueReport(venueSequence: f.seq, body: body)), eventTime: e.eventTime.nanos)
        case .snapshotEnd:
            expected = f.seq + 1
            resyncing = false
            seenDuringResync.removeAll()
            deliver(.sessionControl(SessionControl(.resynced, a: f.seq)))
            // Orders written before the connection broke, with no answer yet: ask, never resend.
            for id in unanswered.keys.sorted() {
                Wire.append(.status, payload: Wire.idPayload(ClientOrderID(id), unanswered[id]!), to: &output)
                stats.withLock { $0.statusQueries += 1 }
            }
        case .endOfData:
            guard accept(f.seq) else { return }
            deliver(.sessionControl(SessionControl(.endOfData)))
            if !options.stayAfterEnd && !sentShutdown {
                sentShutdown = true
                deliver(.sessionControl(SessionControl(.shutdown)))
            }
        case .error:
            let text = String(decoding: f.payload, as: UTF8.self)
            FileHandle.standardError.write(Data("live: the venue refused: \(text)\n".utf8))
        default:
            throw FeedError(.malformed, "unexpected \(f.kind) from the venue")
        }
    }

    /// Sequence check of a numbered message: true to use it.
    private func accept(_ seq: UInt64) -> Bool {
        if resyncing {
            if seq < expected || seenDuringResync.contains(seq) { return false }
            seenDuringResync.insert(seq)
            return true
        }
        if seq == expected { expected += 1; return true }
        if seq < expected { return false }
        // Messages were lost: ask for the reports again and a snapshot, keep this one.
        deliver(.sessionControl(SessionControl(.gap, a: expected, b: seq)))
        Wire.append(.resync, payload: Wire.bytes(Int64(bitPattern: expected &- 1)), to: &output)
        resyncing = true
        seenDuringResync = [seq]
        return true
    }
}
