import Foundation
import CRetraceShims
import RetraceCore
import Synchronization

/// The venue protocol: length-prefixed binary frames over TCP, little-endian.
///
/// ```
/// frame  = length u32 (bytes after this field) · type u8 · flags u8 · reserved u16 · seq u64 · payload
/// ```
/// The venue numbers every message of a session's stream (`event`, `report`, `snapshotEnd`,
/// `endOfData`) 1, 2, …; heartbeats and snapshot contents carry 0. A client that sees a
/// number jump has lost messages: it asks for a `resync`, and the venue answers with the
/// missed reports again (flag `replayed`), a snapshot of the market (flag `snapshot`) and
/// `snapshotEnd` carrying the stream's current number. A `logon` does the same after a
/// reconnect or a resume.
///
/// | type | dir | payload |
/// | --- | --- | --- |
/// | 1 hello | venue→ | venue time i64 · session existed u8 |
/// | 2 event | venue→ | an encoded event (`EventCodec`): instrument definition or market data, stamped with venue time |
/// | 3 report | venue→ | an encoded order event: accepted, rejected, canceled, filled, modified |
/// | 4 heartbeat | venue→ | venue time i64 · the ping's send time i64 (0: unsolicited) |
/// | 5 snapshotEnd | venue→ | — (seq: the stream's current number) |
/// | 6 endOfData | venue→ | — |
/// | 7 error | venue→ | UTF-8 text; the venue closes the connection |
/// | 101 logon | →venue | session id (16 bytes) · last report seq journaled u64 |
/// | 102 newOrder | →venue | an encoded `OrderSubmitted` event |
/// | 103 cancel | →venue | order id u64 · instrument u32 |
/// | 104 modify | →venue | order id u64 · instrument u32 · quantity i64 · price i64 |
/// | 105 ping | →venue | local send time i64 |
/// | 106 resync | →venue | last contiguous seq u64 |
/// | 107 status | →venue | order id u64 · instrument u32 (the venue rejects an id it never saw, and burns it) |
public enum Wire {
    public enum Kind: UInt8, Sendable {
        case hello = 1, event = 2, report = 3, heartbeat = 4, snapshotEnd = 5, endOfData = 6, error = 7
        case logon = 101, newOrder = 102, cancel = 103, modify = 104, ping = 105, resync = 106, status = 107
    }
    public static let flagReplayed: UInt8 = 1
    public static let flagSnapshot: UInt8 = 2
    /// Bytes of the frame header including the length field.
    public static let headerSize = 16
    /// Frames larger than this are refused (a corrupt or hostile stream).
    public static let maxFrame = 1 << 16

    /// Appends one frame to `out`.
    public static func append(_ kind: Kind, flags: UInt8 = 0, seq: UInt64 = 0, payload: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let length = UInt32(12 + payload.count)
        withUnsafeBytes(of: length.littleEndian) { out.append(contentsOf: $0) }
        out.append(kind.rawValue)
        out.append(flags)
        out.append(0); out.append(0)
        withUnsafeBytes(of: seq.littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: payload)
    }

    public static func append(_ kind: Kind, flags: UInt8 = 0, seq: UInt64 = 0, payload: [UInt8] = [], to out: inout [UInt8]) {
        payload.withUnsafeBytes { append(kind, flags: flags, seq: seq, payload: $0, to: &out) }
    }

    /// Appends a frame whose payload is an encoded event.
    public static func append(_ kind: Kind, flags: UInt8 = 0, seq: UInt64 = 0, event: Event, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(byteCount: EventCodec.maxEncodedSize, alignment: 8) { buffer in
            let n = EventCodec.encode(event, to: buffer.baseAddress!)
            append(kind, flags: flags, seq: seq, payload: UnsafeRawBufferPointer(rebasing: buffer[0..<n]), to: &out)
        }
    }

    /// One parsed frame (the payload points into the read buffer: use it before the next read).
    public struct Frame {
        public var kind: Kind
        public var flags: UInt8
        public var seq: UInt64
        public var payload: UnsafeRawBufferPointer
    }

    /// Calls `body` for every whole frame at the front of `buffer[start..<end]`; returns the
    /// offset after the last whole frame.
    /// - Throws: `FeedError` naming the byte offset (counted over the connection) when a
    ///   frame is too large or of an unknown type.
    public static func parse(_ buffer: UnsafeRawBufferPointer, streamOffset: Int, _ body: (Frame) throws -> Void) throws -> Int {
        var at = 0
        while buffer.count - at >= headerSize {
            let length = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            guard length >= 12, length <= maxFrame else {
                throw FeedError(.malformed, "venue stream: frame at byte \(streamOffset + at) has length \(length) (12…\(maxFrame) expected)")
            }
            guard buffer.count - at >= 4 + length else { break }
            let raw = buffer[at + 4]
            guard let kind = Kind(rawValue: raw) else {
                throw FeedError(.malformed, "venue stream: frame at byte \(streamOffset + at) has unknown type \(raw)")
            }
            let seq = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self))
            try body(Frame(kind: kind, flags: buffer[at + 5], seq: seq, payload: UnsafeRawBufferPointer(rebasing: buffer[(at + 16)..<(at + 4 + length)])))
            at += 4 + length
        }
        return at
    }

    // Small payload helpers.
    public static func i64(_ p: UnsafeRawBufferPointer, _ offset: Int) -> Int64 {
        p.count >= offset + 8 ? Int64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: Int64.self)) : 0
    }
    public static func u64(_ p: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 { UInt64(bitPattern: i64(p, offset)) }
    public static func u32(_ p: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        p.count >= offset + 4 ? UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) : 0
    }
    public static func bytes(_ values: Int64...) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 8)
        for v in values { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        return out
    }
    /// Order id and instrument (cancel, status).
    public static func idPayload(_ id: ClientOrderID, _ instrument: InstrumentID) -> [UInt8] {
        var out = bytes(Int64(bitPattern: id.raw))
        withUnsafeBytes(of: instrument.raw.littleEndian) { out.append(contentsOf: $0) }
        return out
    }
}

/// Plain POSIX TCP sockets for the venue and the live gateway: non-blocking, `TCP_NODELAY`,
/// listeners with `SO_REUSEADDR`.
public enum TCP {
    /// Parses `HOST:PORT` (IPv4 dotted quad or `localhost`).
    public static func address(_ text: String) throws(FeedError) -> (host: String, port: UInt16) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0 else {
            throw FeedError(.malformed, "'\(text)' is not HOST:PORT (for example 127.0.0.1:9100)")
        }
        var host = String(text[..<colon])
        if host == "localhost" { host = "127.0.0.1" }
        var probe = in_addr()
        guard inet_pton(AF_INET, host, &probe) == 1 else { throw FeedError(.malformed, "'\(host)' in '\(text)' is not an IPv4 address") }
        return (host, port)
    }

    /// True for 127.0.0.0/8.
    public static func isLoopback(_ host: String) -> Bool { host.hasPrefix("127.") }

    static func socketAddress(_ host: String, _ port: UInt16) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &a.sin_addr)
        return a
    }

    /// A non-blocking listening socket with `SO_REUSEADDR`.
    public static func listen(_ host: String, _ port: UInt16) throws(FeedError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FeedError(.io, "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var a = socketAddress(host, port)
        let bound = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else {
            let e = String(cString: strerror(errno))
            close(fd)
            throw FeedError(.io, "cannot listen on \(host):\(port): \(e)")
        }
        guard Glibc.listen(fd, 16) == 0 else {
            let e = String(cString: strerror(errno))
            close(fd)
            throw FeedError(.io, "cannot listen on \(host):\(port): \(e)")
        }
        setNonBlocking(fd)
        return fd
    }

    /// The port a bound socket listens on.
    public static func localPort(_ fd: Int32) -> UInt16 {
        var a = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return UInt16(bigEndian: a.sin_port)
    }

    /// Accepts one pending connection (nil when none is waiting).
    public static func accept(_ listener: Int32) -> Int32? {
        let fd = Glibc.accept(listener, nil, nil)
        guard fd >= 0 else { return nil }
        setNonBlocking(fd)
        noDelay(fd)
        return fd
    }

    /// Connects within `timeoutMillis`; the socket is non-blocking afterwards.
    public static func connect(_ host: String, _ port: UInt16, timeoutMillis: Int32 = 1000) throws(FeedError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FeedError(.io, "socket: \(String(cString: strerror(errno)))") }
        setNonBlocking(fd)
        var a = socketAddress(host, port)
        let r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if r != 0 && errno != EINPROGRESS {
            let e = String(cString: strerror(errno))
            close(fd)
            throw FeedError(.io, "cannot connect to \(host):\(port): \(e)")
        }
        if r != 0 {
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let n = poll(&p, 1, timeoutMillis)
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if n <= 0 || err != 0 {
                close(fd)
                throw FeedError(.io, "cannot connect to \(host):\(port): \(n <= 0 ? "timed out" : String(cString: strerror(err)))")
            }
        }
        noDelay(fd)
        return fd
    }

    static func setNonBlocking(_ fd: Int32) { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    static func noDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Reads what is available into `buffer` after `used` bytes (growing it). Returns the
    /// bytes read, 0 when nothing is waiting, nil when the peer closed or the read failed.
    public static func read(_ fd: Int32, into buffer: inout [UInt8], used: inout Int) -> Int? {
        if buffer.count - used < 65_536 { buffer.append(contentsOf: repeatElement(0, count: max(65_536, buffer.count))) }
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + used, $0.count - used) }
        if n > 0 { used += n; return n }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return 0 }
        return nil
    }

    /// Writes as much of `pending[sent...]` as the socket takes. Returns false when the peer
    /// is gone.
    public static func flush(_ fd: Int32, _ pending: inout [UInt8], sent: inout Int) -> Bool {
        while sent < pending.count {
            let n = pending.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { break }
            return false
        }
        if sent == pending.count {
            pending.removeAll(keepingCapacity: true)
            sent = 0
        } else if sent > 1 << 20 {
            pending.removeFirst(sent)
            sent = 0
        }
        return true
    }
}

/// Wall-clock readings for live I/O (never used by the engine's logic: they become the
/// receive times of journaled inputs).
public enum WallClock {
    /// CLOCK_REALTIME in nanoseconds.
    public static func realtimeNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)  // determinism-ok: stamps an input before it is journaled
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
    /// CLOCK_MONOTONIC in nanoseconds.
    public static func monotonicNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)  // determinism-ok: pacing and timeouts only
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

/// Wakes a thread that sleeps in `poll` when another hands it work through a ring: the
/// sleeper announces itself, re-checks its ring, and polls the eventfd; a producer rings
/// only when someone sleeps (no system call while both threads are busy).
public final class Doorbell: @unchecked Sendable {
    public let fd: Int32 = retrace_eventfd()
    private let sleeping = Atomic<Bool>(false)
    public init() {}
    deinit { if fd >= 0 { close(fd) } }

    /// After pushing work.
    @inline(__always)
    public func ring() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard fd >= 0, sleeping.load(ordering: .sequentiallyConsistent) else { return }
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
    }

    /// Sleeps up to `timeoutMillis` unless `ready()` (checked after announcing the sleep)
    /// says there is work already. `extra` is another descriptor to wake on (a socket).
    public func sleep(timeoutMillis: Int32, extra: Int32 = -1, ready: () -> Bool) {
        sleeping.store(true, ordering: .sequentiallyConsistent)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if !ready() {
            var p = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: extra, events: Int16(POLLIN), revents: 0)]
            _ = poll(&p, extra >= 0 ? 2 : 1, timeoutMillis)
        }
        sleeping.store(false, ordering: .relaxed)
        var drain: UInt64 = 0
        if fd >= 0 { _ = read(fd, &drain, 8) }
    }
}
