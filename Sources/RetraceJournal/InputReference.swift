/// Inputs journaled by reference: a run whose inputs come from another journal (a backtest
/// reading a data run, a replay reading a recorded run) may record, instead of a copy of
/// each input, one frame per stretch of consecutive inputs naming where they are.
///
/// Two payloads, told from events (whose first byte is the codec version, 1) and synthetic
/// records (`0xFE 'SYN'`) by their first four bytes:
///
/// - **source** `0xFD 'SRC'`: source index u16, path length u16, the source journal's run
///   id (16 bytes, from its segment headers), then the source journal folder's absolute
///   path (UTF-8). It covers no sequence number: its frame carries the sequence of the
///   record after it. Sources are declared before the journal's first record.
/// - **reference** `0xFD 'REF'`: source index u16, reserved u16, count u32, reserved u32,
///   the receive time of the first input i64 (at byte 16, where an event keeps it, so the
///   sparse index and `seek(toTime:)` work unchanged), the source sequence of the first
///   input u64, the receive time of the last input i64. Its frame carries the first
///   input's sequence and covers `count` sequence numbers: the inputs are the source's
///   records `first ..< first + count`, in order.
///
/// A reader resolves references (`JournalReader(directory:)`): it opens each source (its
/// run id must match), and hands out the source's records — CRC-checked there — with this
/// journal's sequence numbers, so every consumer reads the same stream as from a journal
/// holding copies. A raw reader (`resolving: false`: recovery, tailing) sees the frames.
public enum InputReference {
    public static let tag: UInt8 = 0xFD
    public static let referenceBytes = 40
    static let sourceHeaderBytes = 24
    /// The most inputs one reference frame covers (keeps a seek into a stretch short).
    public static let maxCount: UInt32 = 1 << 16

    /// A declared source journal.
    public struct Source: Equatable, Sendable {
        public var index: UInt16
        public var runID: [UInt8]
        /// The source journal folder (absolute).
        public var path: String
    }

    /// A reference frame's fields.
    public struct Span: Equatable, Sendable {
        public var source: UInt16
        public var count: UInt32
        public var time: Int64
        public var first: UInt64
        public var lastTime: Int64
    }

    /// What a payload is, by its first bytes.
    public enum Kind { case record, reference, source }

    @inlinable
    public static func kind(_ payload: UnsafeRawBufferPointer) -> Kind {
        guard payload.count >= 4, payload[0] == tag else { return .record }
        if payload[1] == 0x52 && payload[2] == 0x45 && payload[3] == 0x46 { return .reference }  // "REF"
        if payload[1] == 0x53 && payload[2] == 0x52 && payload[3] == 0x43 { return .source }  // "SRC"
        return .record
    }

    /// How many sequence numbers a frame with this payload covers: 1 for a record, its
    /// count for a reference, 0 for a source declaration.
    @inlinable
    public static func span(_ payload: UnsafeRawBufferPointer) -> UInt64 {
        switch kind(payload) {
        case .record: 1
        case .source: 0
        case .reference: payload.count >= referenceBytes ? UInt64(UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: 8, as: UInt32.self))) : 1
        }
    }

    /// Writes a reference payload (`referenceBytes`) at `p`.
    @inline(__always)
    static func writeReference(_ s: Span, to p: UnsafeMutableRawPointer) {
        p.storeBytes(of: UInt32(0x4645_52FD).littleEndian, toByteOffset: 0, as: UInt32.self)  // FD 'R' 'E' 'F'
        p.storeBytes(of: s.source.littleEndian, toByteOffset: 4, as: UInt16.self)
        p.storeBytes(of: UInt16(0), toByteOffset: 6, as: UInt16.self)
        p.storeBytes(of: s.count.littleEndian, toByteOffset: 8, as: UInt32.self)
        p.storeBytes(of: UInt32(0), toByteOffset: 12, as: UInt32.self)
        p.storeBytes(of: s.time.littleEndian, toByteOffset: 16, as: Int64.self)
        p.storeBytes(of: s.first.littleEndian, toByteOffset: 24, as: UInt64.self)
        p.storeBytes(of: s.lastTime.littleEndian, toByteOffset: 32, as: Int64.self)
    }

    /// The latest receive time a payload covers (an event's, or a reference's last input's).
    @inlinable
    public static func maxTime(_ payload: UnsafeRawBufferPointer) -> Int64 {
        guard kind(payload) == .reference, payload.count >= referenceBytes else { return JournalFormat.payloadTime(payload) }
        return Int64(littleEndian: payload.loadUnaligned(fromByteOffset: 32, as: Int64.self))
    }

    /// Parses a reference payload; nil when it is malformed (short, count 0, reserved bytes set).
    public static func parseReference(_ payload: UnsafeRawBufferPointer) -> Span? {
        guard payload.count == referenceBytes, kind(payload) == .reference,
              payload.loadUnaligned(fromByteOffset: 6, as: UInt16.self) == 0, payload.loadUnaligned(fromByteOffset: 12, as: UInt32.self) == 0 else { return nil }
        let count = UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        guard count > 0, count <= maxCount else { return nil }
        return Span(source: UInt16(littleEndian: payload.loadUnaligned(fromByteOffset: 4, as: UInt16.self)), count: count,
                    time: Int64(littleEndian: payload.loadUnaligned(fromByteOffset: 16, as: Int64.self)),
                    first: UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 24, as: UInt64.self)),
                    lastTime: Int64(littleEndian: payload.loadUnaligned(fromByteOffset: 32, as: Int64.self)))
    }

    /// A source declaration's payload.
    static func sourcePayload(_ s: Source) -> [UInt8] {
        let path = Array(s.path.utf8)
        var out: [UInt8] = [tag, 0x53, 0x52, 0x43]
        withUnsafeBytes(of: s.index.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(path.count).littleEndian) { out.append(contentsOf: $0) }
        out += s.runID
        out += path
        return out
    }

    /// Parses a source declaration; nil when it is malformed.
    public static func parseSource(_ payload: UnsafeRawBufferPointer) -> Source? {
        guard payload.count >= sourceHeaderBytes, kind(payload) == .source else { return nil }
        let length = Int(UInt16(littleEndian: payload.loadUnaligned(fromByteOffset: 6, as: UInt16.self)))
        guard length > 0, payload.count == sourceHeaderBytes + length,
              let path = String(validating: payload[sourceHeaderBytes...], as: UTF8.self) else { return nil }
        return Source(index: UInt16(littleEndian: payload.loadUnaligned(fromByteOffset: 4, as: UInt16.self)),
                      runID: Array(payload[8..<24]), path: path)
    }
}
