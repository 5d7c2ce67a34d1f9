import CNuma
import CSQLite
import CURing
import CZstd
import Foundation
import RetraceJournal

/// What `retrace bench` reports about the machine and the C libraries it runs on.
enum MachineInfo {
    static func json() -> String {
        var o = JSONObject()
        o.add("cpu", cpuModel())
        o.add("cores", ProcessInfo.processInfo.activeProcessorCount)
        o.add("memory_bytes", UInt64(ProcessInfo.processInfo.physicalMemory))
        o.add("kernel", kernel())
        o.add("swift", swiftVersion)
        o.add("sqlite", String(cString: sqlite3_libversion()))
        o.add("zstd", String(cString: ZSTD_versionString()))
        o.add("io_uring", ioUringAvailable() ? "available" : "refused")
        o.add("numa_nodes", numa_available() < 0 ? 0 : Int(numa_max_node()) + 1)
        o.add("crc32c", CRC32C.usesHardware ? "sse4.2" : "table")
        return o.text
    }

    static var swiftVersion: String {
        #if compiler(>=6.4)
        "6.4+"
        #elseif compiler(>=6.3)
        "6.3"
        #elseif compiler(>=6.2)
        "6.2"
        #else
        "older than 6.2"
        #endif
    }

    static func cpuModel() -> String {
        guard let data = FileManager.default.contents(atPath: "/proc/cpuinfo") else { return "unknown" }
        let text = String(decoding: data, as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "unknown" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }

    static func kernel() -> String {
        var u = utsname()
        uname(&u)
        let release = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return "Linux " + release
    }

    /// Whether this process may create an io_uring (containers often refuse it).
    static func ioUringAvailable() -> Bool {
        var ring = io_uring()
        guard io_uring_queue_init(4, &ring, 0) == 0 else { return false }
        io_uring_queue_exit(&ring)
        return true
    }
}
