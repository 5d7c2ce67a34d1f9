import CRetraceShims

/// CRC32C (Castagnoli), with the CPU's crc32 instruction where present.
public enum CRC32C {
    /// The checksum of `bytes`, continuing from `crc` (0 to start).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        retrace_crc32c(crc, bytes.baseAddress, bytes.count)
    }

    /// The same checksum through the portable table path (for tests and comparison).
    public static func tableChecksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        retrace_crc32c_table(crc, bytes.baseAddress, bytes.count)
    }

    /// True when the hardware instruction is used.
    public static var usesHardware: Bool { retrace_crc32c_hardware_available() != 0 }
}
