import Foundation
import Synchronization

/// A minimal HTTP server for the Prometheus text format: `GET /metrics` answers the latest
/// page the core published; anything else is a 404. Its own thread; one request per
/// connection.
public final class MetricsServer: @unchecked Sendable {
    private let listener: Int32
    private let page = Mutex("")
    private let stopping = Atomic<Bool>(false)
    private let exited = Atomic<Bool>(false)
    public let port: UInt16

    /// Binds `host:port`. A host outside 127.0.0.0/8 is refused unless `allowRemote`.
    public init(host: String, port: UInt16, allowRemote: Bool) throws(FeedError) {
        guard TCP.isLoopback(host) || allowRemote else {
            throw FeedError(.unsupported, "--metrics \(host):\(port) is not a loopback address; the metrics endpoint binds only to 127.0.0.1 unless --metrics-allow-remote is given")
        }
        let fd = try TCP.listen(host, port)
        listener = fd
        self.port = TCP.localPort(fd)
    }

    /// Replaces the page served.
    public func publish(_ text: String) { page.withLock { $0 = text } }

    public func start() {
        let thread = Thread { [self] in
            serve()
            exited.store(true, ordering: .releasing)
        }
        thread.name = "retrace-metrics"
        thread.start()
    }

    public func stop() {
        stopping.store(true, ordering: .releasing)
        while !exited.load(ordering: .acquiring) { usleep(1000) }
        close(listener)
    }

    private func serve() {
        while !stopping.load(ordering: .acquiring) {
            var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 50) > 0, let fd = TCP.accept(listener) else { continue }
            answer(fd)
            close(fd)
        }
    }

    private func answer(_ fd: Int32) {
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = WallClock.monotonicNanos() + 1_000_000_000
        while WallClock.monotonicNanos() < deadline, request.count < 16_384 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 100) <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { break }
            request += buffer[0..<n]
            if request.count >= 4, request.suffix(4) == [13, 10, 13, 10] { break }
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        let status: String, body: String, type: String
        if parts.count >= 2, parts[0] == "GET", parts[1] == "/metrics" || parts[1].hasPrefix("/metrics?") {
            (status, body, type) = ("200 OK", page.withLock { $0 }, "text/plain; version=0.0.4; charset=utf-8")
        } else {
            (status, body, type) = ("404 Not Found", "only /metrics is served here\n", "text/plain; charset=utf-8")
        }
        let bytes = Array(body.utf8)
        var out = Array("HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n".utf8) + bytes
        var sent = 0
        let until = WallClock.monotonicNanos() + 1_000_000_000
        while sent < out.count, WallClock.monotonicNanos() < until {
            if !TCP.flush(fd, &out, sent: &sent) { break }
            if out.isEmpty { break }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, 50)
        }
    }
}

/// Builds a page in the Prometheus text exposition format (version 0.0.4).
public struct PrometheusPage {
    public private(set) var text = ""
    private var declared = Set<String>()
    public init() {}

    /// Adds one sample; the `# HELP` and `# TYPE` lines come with a metric's first sample.
    public mutating func add(_ name: String, _ type: String, _ help: String, _ value: Double, labels: [(String, String)] = []) {
        if declared.insert(name).inserted {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        var series = name
        if !labels.isEmpty {
            series += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += "\(series) \(Self.format(value))\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }
}
