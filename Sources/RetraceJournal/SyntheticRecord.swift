/// The payload `retrace journal append-test` and the journal benchmark write: not an event,
/// but self-checking, so `verify` can tell the record is intact beyond its CRC.
///
/// Layout: `0xFE 'S' 'Y' 'N'` (an event payload starts with its codec version, 1), the
/// payload length u32, then bytes `(i * 31 + 7) & 0xFF` for i = 8, 9, ….
public enum SyntheticRecord {
    /// The smallest synthetic payload.
    public static let minimumBytes = 8

    /// A synthetic payload of `bytes` bytes.
    public static func payload(bytes: Int) -> [UInt8] {
        precondition(bytes >= minimumBytes)
        var out: [UInt8] = [0xFE, 0x53, 0x59, 0x4E]
        withUnsafeBytes(of: UInt32(bytes).littleEndian) { out.append(contentsOf: $0) }
        for i in 8..<bytes { out.append(UInt8(truncatingIfNeeded: i &* 31 &+ 7)) }
        return out
    }

    /// True when `payload` claims to be synthetic.
    public static func matches(_ payload: UnsafeRawBufferPointer) -> Bool {
        payload.count >= minimumBytes && payload[0] == 0xFE && payload[1] == 0x53 && payload[2] == 0x59 && payload[3] == 0x4E
    }

    /// True when a synthetic payload holds its length and pattern.
    public static func isIntact(_ payload: UnsafeRawBufferPointer) -> Bool {
        guard matches(payload), UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: 4, as: UInt32.self)) == UInt32(payload.count) else { return false }
        for i in 8..<payload.count where payload[i] != UInt8(truncatingIfNeeded: i &* 31 &+ 7) { return false }
        return true
    }
}
