import CNuma
import CRetraceShims

/// Where the core thread runs: `--pin CPU` (config `engine.pin`) pins it to one CPU; when
/// the machine has more than one NUMA node, memory allocated afterwards on the core thread
/// (rings, pools, books) is preferred on that CPU's node through libnuma. Helper threads
/// (store writer, journal sync) are kept off the pinned CPU.
public struct Placement: Sendable {
    public let cpu: Int?
    /// What was done, for the manifest and the summary.
    public let note: String
    private let numaNode: Int32?

    /// Checks `cpu` and sets the NUMA memory preference (call before the core's structures
    /// are allocated). Pinning itself happens in `pin()`, after helper threads are started.
    public init(cpu: Int?) throws(EngineError) {
        self.cpu = cpu
        guard let cpu else {
            (note, numaNode) = ("not pinned", nil)
            return
        }
        let online = Int(retrace_online_cpus())
        guard cpu >= 0, cpu < online else {
            throw EngineError(.invalidParameter, "--pin \(cpu): this machine has \(online) online CPU\(online == 1 ? "" : "s") (0–\(online - 1))")
        }
        if numa_available() >= 0, numa_num_configured_nodes() > 1 {
            let node = numa_node_of_cpu(Int32(cpu))
            numa_set_preferred(node)
            (note, numaNode) = ("cpu \(cpu), memory preferred on NUMA node \(node)", node)
        } else {
            (note, numaNode) = ("cpu \(cpu); one NUMA node, so memory placement is a no-op", nil)
        }
    }

    /// Pins the calling (core) thread.
    public func pin() throws(EngineError) {
        guard let cpu else { return }
        let rc = retrace_pin_current_thread(Int32(cpu))
        guard rc == 0 else { throw EngineError(.invalidParameter, "--pin \(cpu): cannot pin the core thread (errno \(rc))") }
    }

    /// Undoes `pin()` and the NUMA preference (the process goes on after the run).
    public func release() {
        guard cpu != nil else { return }
        _ = retrace_unpin_current_thread()
        if numaNode != nil { numa_set_localalloc() }
    }

    /// Helper threads call this first: they run anywhere but the pinned CPU.
    public static func keepOff(_ cpu: Int?) {
        guard let cpu else { return }
        _ = retrace_pin_current_thread_except(Int32(cpu))
    }
}
