/// The on-disk layout of journal segments (format version 1).
///
/// Segment file `journal/NNNNNNNN.wal`:
/// - a 64-byte header: magic `RTRCWAL\0` (8), format version u32, header size u32,
///   run id (16 bytes), first sequence u64, reserved zeros, CRC32C of bytes 0..<60 at 60;
/// - records, each 8-byte aligned: payload length u32, CRC32C u32 (over the sequence
///   bytes and the payload), sequence u64, payload, zero padding to the next multiple of 8.
/// All integers are little-endian.
public enum JournalFormat {
    /// Segment magic.
    public static let magic: [UInt8] = Array("RTRCWAL\0".utf8)
    /// Format version written and read by this build.
    public static let version: UInt32 = 1
    /// Bytes in a segment header.
    public static let headerSize = 64
    /// Bytes before a record's payload.
    public static let frameSize = 16
    /// Largest payload accepted (guards against reading a garbage length).
    public static let payloadMax = 1 << 20

    /// Bytes a record with `payloadBytes` takes on disk, padding included.
    @inlinable
    public static func recordSize(payloadBytes: Int) -> Int { (frameSize + payloadBytes + 7) & ~7 }

    /// File name of segment `index`.
    public static func segmentName(_ index: Int) -> String {
        let digits = String(index)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits + ".wal"
    }
}
