/// Engine-state snapshots: a compact binary encoding of the engine's mutable state, so a
/// replay can start from the middle of a run instead of re-applying every input before it.
///
/// Each stateful type writes its fields in a fixed order with `StateWriter` and reads them
/// back in the same order with `StateReader`; integers are little-endian, arrays carry their
/// count, optionals a presence byte, events their journal encoding. Nothing is written in
/// hash order, so the same state always gives the same bytes (a save → restore → save
/// round trip is byte-identical, which the tests check).
public struct StateWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    @inline(__always)
    public mutating func word<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func put(_ value: Bool) { bytes.append(value ? 1 : 0) }
    public mutating func put(_ value: Double) { word(value.bitPattern) }
    public mutating func put(_ value: String) {
        let utf8 = Array(value.utf8)
        word(UInt32(utf8.count))
        bytes += utf8
    }

    /// A value of a type that saves itself.
    @inline(__always)
    public mutating func put<T: StateCodable>(_ value: T) { value.saveState(&self) }

    /// An array: its count, then each element.
    public mutating func put<T: StateCodable>(_ values: [T]) {
        word(UInt64(values.count))
        for v in values { v.saveState(&self) }
    }

    /// An array of integers as one block (count, then the little-endian words).
    public mutating func putWords<T: FixedWidthInteger>(_ values: [T]) {
        word(UInt64(values.count))
        values.withUnsafeBytes { raw in
            // Little-endian hosts store integers in their encoded order already.
            if 1.littleEndian == 1 { bytes.append(contentsOf: raw) } else { for v in values { word(v) } }
        }
    }

    /// An array where most elements usually equal `empty` (book ladders, hash tables, bit
    /// filters): its count, then either every element (when most differ from `empty`) or
    /// the index and value of each one that differs.
    public mutating func put<C: RandomAccessCollection>(sparse values: C, empty: C.Element) where C.Element: StateCodable & Equatable {
        word(UInt64(values.count))
        let used = values.reduce(0) { $0 + ($1 == empty ? 0 : 1) }
        if used * 2 > values.count {
            put(false)
            for v in values { v.saveState(&self) }
        } else {
            put(true)
            word(UInt64(used))
            for (i, v) in values.enumerated() where v != empty {
                word(UInt64(i))
                v.saveState(&self)
            }
        }
    }

    /// A block of bytes (another writer's output): its length, then the bytes.
    public mutating func put(block: [UInt8]) {
        word(UInt64(block.count))
        bytes += block
    }

    /// An event body in the journal's encoding (orders, fills, instruments, bars).
    public mutating func put(event body: EventBody) {
        let encoded = EventCodec.encode(Event(eventTime: .zero, receiveTime: .zero, body: body))
        word(UInt16(encoded.count))
        bytes += encoded
    }
}

/// Reads what a `StateWriter` wrote, in the same order. Every read checks the bounds, so
/// damaged or foreign bytes give an error naming the byte offset, never a crash.
public struct StateReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var isAtEnd: Bool { offset == bytes.count }

    func failure(_ what: String) -> CoreError { CoreError(.invalidState, "engine state: \(what) at byte \(offset) of \(bytes.count)") }

    @inline(__always)
    mutating func take(_ n: Int) throws(CoreError) -> Int {
        guard n >= 0, bytes.count - offset >= n else { throw failure("\(n) bytes wanted, the state ends") }
        defer { offset += n }
        return offset
    }

    public mutating func word<T: FixedWidthInteger>(_: T.Type = T.self) throws(CoreError) -> T {
        let at = try take(MemoryLayout<T>.size)
        return T(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: T.self) })
    }

    public mutating func bool() throws(CoreError) -> Bool {
        let b: UInt8 = try word()
        guard b <= 1 else { throw failure("flag \(b) is neither 0 nor 1") }
        return b == 1
    }

    public mutating func double() throws(CoreError) -> Double { Double(bitPattern: try word(UInt64.self)) }

    public mutating func string() throws(CoreError) -> String {
        let n = Int(try word(UInt32.self))
        let at = try take(n)
        return String(decoding: bytes[at..<at + n], as: UTF8.self)
    }

    /// A count of elements each taking at least `minimumBytes`, checked against what is left.
    public mutating func count(minimumBytes: Int = 1) throws(CoreError) -> Int {
        let n = try word(UInt64.self)
        guard n <= UInt64(bytes.count - offset) / UInt64(max(1, minimumBytes)) else { throw failure("count \(n) exceeds the bytes left") }
        return Int(n)
    }

    @inline(__always)
    public mutating func get<T: StateCodable>(_: T.Type = T.self) throws(CoreError) -> T { try T(state: &self) }

    public mutating func optional<T: StateCodable>(_: T.Type = T.self) throws(CoreError) -> T? {
        try bool() ? try T(state: &self) : nil
    }

    public mutating func array<T: StateCodable>(_: T.Type = T.self) throws(CoreError) -> [T] {
        let n = try count()
        var out: [T] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try T(state: &self)) }
        return out
    }

    public mutating func words<T: FixedWidthInteger>(_: T.Type = T.self) throws(CoreError) -> [T] {
        let n = try count(minimumBytes: MemoryLayout<T>.size)
        var out: [T] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try word(T.self)) }
        return out
    }

    public mutating func sparse<T: StateCodable & Equatable>(empty: T) throws(CoreError) -> [T] {
        let n = try word(UInt64.self)
        guard n <= 1 << 32 else { throw failure("array of \(n) elements") }
        if try !bool() {
            guard n <= UInt64(bytes.count - offset) else { throw failure("count \(n) exceeds the bytes left") }
            var out: [T] = []
            out.reserveCapacity(Int(n))
            for _ in 0..<n { out.append(try T(state: &self)) }
            return out
        }
        var out = [T](repeating: empty, count: Int(n))
        let used = try count(minimumBytes: 9)
        var previous = -1
        for _ in 0..<used {
            let i = Int(try word(UInt64.self))
            guard i > previous, i < out.count else { throw failure("sparse index \(i) out of order or beyond \(out.count)") }
            out[i] = try T(state: &self)
            previous = i
        }
        return out
    }

    public mutating func block() throws(CoreError) -> [UInt8] {
        let n = try count()
        let at = try take(n)
        return Array(bytes[at..<at + n])
    }

    public mutating func event() throws(CoreError) -> EventBody {
        let n = Int(try word(UInt16.self))
        let at = try take(n)
        let decoded = bytes.withUnsafeBytes { raw in
            Result { () throws(CoreError) in try EventCodec.decode(UnsafeRawBufferPointer(rebasing: raw[at..<at + n]), sequence: 0).body }
        }
        return try decoded.get()
    }

    /// Fails unless every byte was read.
    public func finish() throws(CoreError) {
        guard isAtEnd else { throw failure("\(bytes.count - offset) bytes left over") }
    }
}

/// A value that saves its state to a snapshot and is rebuilt from one.
public protocol StateCodable {
    func saveState(_ w: inout StateWriter)
    init(state r: inout StateReader) throws(CoreError)
}

/// An optional: a presence byte, then the value.
extension Optional: StateCodable where Wrapped: StateCodable {
    public func saveState(_ w: inout StateWriter) {
        w.put(self != nil)
        if let self { self.saveState(&w) }
    }
    public init(state r: inout StateReader) throws(CoreError) { self = try r.optional(Wrapped.self) }
}

/// Fixed-width integers save as their little-endian bytes.
extension StateCodable where Self: FixedWidthInteger {
    public func saveState(_ w: inout StateWriter) { w.word(self) }
    public init(state r: inout StateReader) throws(CoreError) { self = try r.word() }
}

extension Int64: StateCodable {}
extension UInt64: StateCodable {}
extension Int32: StateCodable {}
extension Int128: StateCodable {}

/// `Int` saves as 64 bits whatever the platform's word size.
extension Int: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.word(Int64(self)) }
    public init(state r: inout StateReader) throws(CoreError) { self = Int(try r.word(Int64.self)) }
}

extension Bool: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.put(self) }
    public init(state r: inout StateReader) throws(CoreError) { self = try r.bool() }
}

extension Double: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.put(self) }
    public init(state r: inout StateReader) throws(CoreError) { self = try r.double() }
}

extension String: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.put(self) }
    public init(state r: inout StateReader) throws(CoreError) { self = try r.string() }
}

extension Price: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.word(raw) }
    public init(state r: inout StateReader) throws(CoreError) { self.init(raw: try r.word()) }
}

extension Quantity: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.word(raw) }
    public init(state r: inout StateReader) throws(CoreError) { self.init(raw: try r.word()) }
}

extension Money: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.word(raw) }
    public init(state r: inout StateReader) throws(CoreError) { self.init(raw: try r.word()) }
}

extension Timestamp: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.word(nanos) }
    public init(state r: inout StateReader) throws(CoreError) { self.init(nanos: try r.word()) }
}

extension InstrumentID: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.word(raw) }
    public init(state r: inout StateReader) throws(CoreError) { self.init(try r.word(UInt32.self)) }
}

extension ClientOrderID: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.word(raw) }
    public init(state r: inout StateReader) throws(CoreError) { self.init(try r.word(UInt64.self)) }
}

extension Side: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.put(self == .buy) }
    public init(state r: inout StateReader) throws(CoreError) { self = try r.bool() ? .buy : .sell }
}

extension SplitMix64: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.word(state) }
    public init(state r: inout StateReader) throws(CoreError) { self.init(seed: try r.word()) }
}

extension Instrument: StateCodable {
    public func saveState(_ w: inout StateWriter) { w.put(event: .instrumentDefined(InstrumentDefined(instrument: self))) }
    public init(state r: inout StateReader) throws(CoreError) {
        guard case .instrumentDefined(let d) = try r.event() else { throw r.failure("expected an instrument definition") }
        self = d.instrument
    }
}

/// The event payloads the engine keeps between events (working orders, answers in flight,
/// fills waiting for the strategy) save in their journal encoding.
public protocol EventPayloadState: StateCodable {
    var eventBody: EventBody { get }
    static func from(_ body: EventBody) -> Self?
}

extension EventPayloadState {
    public func saveState(_ w: inout StateWriter) { w.put(event: eventBody) }
    public init(state r: inout StateReader) throws(CoreError) {
        let body = try r.event()
        guard let v = Self.from(body) else { throw r.failure("expected \(Self.self), found \(body.kind.name)") }
        self = v
    }
}

extension OrderSubmitted: EventPayloadState {
    public var eventBody: EventBody { .orderSubmitted(self) }
    public static func from(_ body: EventBody) -> Self? { if case .orderSubmitted(let v) = body { v } else { nil } }
}

extension OrderAccepted: EventPayloadState {
    public var eventBody: EventBody { .orderAccepted(self) }
    public static func from(_ body: EventBody) -> Self? { if case .orderAccepted(let v) = body { v } else { nil } }
}

extension OrderRejected: EventPayloadState {
    public var eventBody: EventBody { .orderRejected(self) }
    public static func from(_ body: EventBody) -> Self? { if case .orderRejected(let v) = body { v } else { nil } }
}

extension OrderModifyRejected: EventPayloadState {
    public var eventBody: EventBody { .orderModifyRejected(self) }
    public static func from(_ body: EventBody) -> Self? { if case .orderModifyRejected(let v) = body { v } else { nil } }
}

extension OrderCanceled: EventPayloadState {
    public var eventBody: EventBody { .orderCanceled(self) }
    public static func from(_ body: EventBody) -> Self? { if case .orderCanceled(let v) = body { v } else { nil } }
}

extension OrderFilled: EventPayloadState {
    public var eventBody: EventBody { .orderFilled(self) }
    public static func from(_ body: EventBody) -> Self? { if case .orderFilled(let v) = body { v } else { nil } }
}

extension OrderModified: EventPayloadState {
    public var eventBody: EventBody { .orderModified(self) }
    public static func from(_ body: EventBody) -> Self? { if case .orderModified(let v) = body { v } else { nil } }
}

extension BarReceived: EventPayloadState {
    public var eventBody: EventBody { .barReceived(self) }
    public static func from(_ body: EventBody) -> Self? { if case .barReceived(let v) = body { v } else { nil } }
}
