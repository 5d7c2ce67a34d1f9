/// The versioned binary encoding of events (little-endian, fixed size per kind).
///
/// Layout: an 24-byte header — `version u8, kind u8, flags u16, reserved u32,
/// eventTime i64, receiveTime i64` — then the kind's fields (see `bodySize`). The
/// sequence number is not part of the payload: the journal frame carries it.
public enum EventCodec {
    /// The format version written by this code. Decoders refuse any other.
    public static let version: UInt8 = 1
    /// Bytes before the kind-specific fields.
    public static let headerSize = 24
    /// The largest encoded event.
    public static let maxEncodedSize = headerSize + 80

    /// Size of the kind-specific fields.
    @inlinable
    public static func bodySize(_ kind: EventKind) -> Int {
        switch kind {
        case .instrumentDefined: 24
        case .tradeReceived: 32
        case .quoteReceived: 40
        case .barReceived: 48
        case .l2LevelUpdated: 24
        case .orderBookMessage: 32
        case .venueReport: 16 + 56
        case .venueHeartbeat: 16
        case .sessionControl: 24
        case .orderSubmitted: 32
        case .orderAccepted, .orderRejected, .orderModifyRejected: 16
        case .orderCanceled: 24
        case .orderFilled: 56
        case .orderModified: 32
        case .positionChanged: 64
        case .balanceChanged: 80
        case .timerFired, .sessionEnded: 8
        case .sessionStarted: 16
        }
    }

    /// Total encoded size of an event.
    @inlinable
    public static func encodedSize(_ body: EventBody) -> Int { headerSize + bodySize(body.kind) }

    /// Writes `event` (without its sequence) at `destination`, which must have room for
    /// `encodedSize(event.body)` bytes. Returns the number of bytes written.
    @inlinable @discardableResult
    public static func encode(_ event: Event, to destination: UnsafeMutableRawPointer) -> Int {
        encode(event.body, eventTime: event.eventTime, receiveTime: event.receiveTime, to: destination)
    }

    /// Writes the event `body` stamped with these times, as `encode(_:to:)` writes it, from
    /// the body alone (the output path: no `Event` is built around it).
    @inlinable @discardableResult
    public static func encode(_ body: borrowing EventBody, eventTime: Timestamp, receiveTime: Timestamp, to destination: UnsafeMutableRawPointer) -> Int {
        var w = _UnsafeByteWriter(destination)
        w.u8(version)
        w.u8(body.kind.rawValue)
        w.u16(0)
        w.u32(0)
        w.i64(eventTime.nanos)
        w.i64(receiveTime.nanos)
        encodeBody(body, &w)
        return w.offset
    }

    @inlinable
    static func encodeBody(_ body: EventBody, _ w: inout _UnsafeByteWriter) {
        switch body {
        case .instrumentDefined(let e):
            w.u32(e.instrument.id.raw); w.u8(UInt8(e.instrument.priceScale)); w.u8(UInt8(e.instrument.quantityScale))
            w.u8(e.instrument.symbol.count); w.u8(0); w.u64(e.instrument.symbol.low); w.u64(e.instrument.symbol.high)
        case .tradeReceived(let e):
            w.u32(e.instrument.raw); w.u8(e.aggressor.rawValue); w.zeros(3); w.i64(e.price.raw); w.i64(e.quantity.raw); w.u64(e.tradeID)
        case .quoteReceived(let e):
            w.u32(e.instrument.raw); w.u32(0)
            w.i64(e.bidPrice.raw); w.i64(e.bidQuantity.raw); w.i64(e.askPrice.raw); w.i64(e.askQuantity.raw)
        case .barReceived(let e):
            w.u32(e.instrument.raw); w.u32(0)
            w.i64(e.open.raw); w.i64(e.high.raw); w.i64(e.low.raw); w.i64(e.close.raw); w.i64(e.volume.raw)
        case .l2LevelUpdated(let e):
            w.u32(e.instrument.raw); w.u8(e.side.rawValue); w.zeros(3); w.i64(e.price.raw); w.i64(e.quantity.raw)
        case .orderBookMessage(let e):
            w.u32(e.instrument.raw); w.u8(e.action.rawValue); w.u8(e.side.rawValue); w.zeros(2)
            w.u64(e.orderID); w.i64(e.price.raw); w.i64(e.quantity.raw)
        case .venueReport(let e):
            // The answer's own fields, padded to the largest answer (a fill).
            let inner = e.body.event
            w.u64(e.venueSequence); w.u8(inner.kind.rawValue); w.zeros(7)
            let start = w.offset
            encodeBody(inner, &w)
            w.zeros(56 - (w.offset - start))
        case .venueHeartbeat(let e):
            w.i64(e.venueTime); w.i64(e.pingSent)
        case .sessionControl(let e):
            w.u8(e.action.rawValue); w.zeros(7); w.u64(e.a); w.u64(e.b)
        case .orderSubmitted(let e):
            w.u64(e.orderID.raw); w.u32(e.instrument.raw); w.u8(e.side.rawValue); w.u8(e.type.rawValue)
            w.u8(e.sizing.rawValue); w.u8(0); w.i64(e.quantity.raw); w.i64(e.limitPrice.raw)
        case .orderAccepted(let e):
            w.u64(e.orderID.raw); w.u32(e.instrument.raw); w.u32(0)
        case .orderRejected(let e):
            w.u64(e.orderID.raw); w.u32(e.instrument.raw); w.u16(e.reason.rawValue); w.u16(0)
        case .orderModifyRejected(let e):
            w.u64(e.orderID.raw); w.u32(e.instrument.raw); w.u16(e.reason.rawValue); w.u16(0)
        case .orderCanceled(let e):
            w.u64(e.orderID.raw); w.u32(e.instrument.raw); w.u32(0); w.i64(e.leavesQuantity.raw)
        case .orderFilled(let e):
            w.u64(e.orderID.raw); w.u32(e.instrument.raw); w.u8(e.side.rawValue); w.u8(e.liquidity.rawValue); w.u16(0)
            w.i64(e.price.raw); w.i64(e.quantity.raw); w.i64(e.leavesQuantity.raw); w.i128(e.fee.raw)
        case .orderModified(let e):
            w.u64(e.orderID.raw); w.u32(e.instrument.raw); w.u8(e.keptPriority ? 1 : 0); w.zeros(3); w.i64(e.leavesQuantity.raw); w.i64(e.price.raw)
        case .positionChanged(let e):
            w.u32(e.instrument.raw); w.u32(0); w.i64(e.quantity.raw)
            w.i128(e.costBasis.raw); w.i128(e.realizedPnL.raw); w.i128(e.fees.raw)
        case .balanceChanged(let e):
            w.i128(e.cash.raw); w.i128(e.equity.raw); w.i128(e.realizedPnL.raw); w.i128(e.unrealizedPnL.raw); w.i128(e.fees.raw)
        case .timerFired(let e):
            w.u64(e.timerID)
        case .sessionStarted(let e):
            w.u8(e.mode.rawValue); w.zeros(7); w.u64(e.seed)
        case .sessionEnded(let e):
            w.u64(e.inputEvents)
        }
    }

    /// Encodes into a new byte array (tests, tools; the hot path encodes in place).
    public static func encode(_ event: Event) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: encodedSize(event.body)) { buffer, count in
            count = encode(event, to: UnsafeMutableRawPointer(buffer.baseAddress!))
        }
    }

    /// Decodes one event from `bytes` (exactly one encoded event), giving it `sequence`.
    /// - Throws: `CoreError` naming the sequence when the bytes are short, of another
    ///   version, of an unknown kind, or carry an out-of-range enum value.
    @inlinable
    public static func decode(_ bytes: UnsafeRawBufferPointer, sequence: UInt64) throws(CoreError) -> Event {
        var event = Event.placeholder
        try decode(bytes, sequence: sequence, into: &event)
        return event
    }

    /// Decodes one event into `event` where the caller keeps it (the replay hot path). The
    /// market data kinds are built in place: returning an event, or a body, goes through
    /// temporaries the size of the largest kind, which cost more than the decoding itself.
    /// - Throws: as `decode(_:sequence:)`; `event` is then left in an unspecified state.
    @inlinable
    public static func decode(_ bytes: UnsafeRawBufferPointer, sequence: UInt64, into event: inout Event) throws(CoreError) {
        guard bytes.count >= headerSize, let base = bytes.baseAddress else {
            throw CoreError(.truncatedEvent, "event #\(sequence): \(bytes.count) bytes, shorter than the \(headerSize)-byte header")
        }
        var r = _UnsafeByteReader(base)
        // The market data kinds first, without the general checks' lookups (same checks).
        let k0 = base.load(fromByteOffset: 1, as: UInt8.self)
        let isLevel = k0 == EventKind.l2LevelUpdated.rawValue && bytes.count == headerSize + bodySize(.l2LevelUpdated)
        let isQuote = k0 == EventKind.quoteReceived.rawValue && bytes.count == headerSize + bodySize(.quoteReceived)
        if (isLevel || isQuote) && base.load(as: UInt8.self) == version {
            r.skip(8)
            event.sequence = sequence
            event.eventTime = Timestamp(nanos: r.i64())
            event.receiveTime = Timestamp(nanos: r.i64())
            event.body = isLevel ? .l2LevelUpdated(try level(&r, sequence)) : .quoteReceived(quote(&r))
            return
        }
        let v = r.u8()
        guard v == version else { throw CoreError(.unknownCodecVersion, "event #\(sequence): codec version \(v), this build reads version \(version)") }
        let k = r.u8()
        guard let kind = EventKind(rawValue: k) else { throw CoreError(.unknownEventKind, "event #\(sequence): unknown event kind \(k)") }
        guard bytes.count == headerSize + bodySize(kind) else {
            throw CoreError(.truncatedEvent, "event #\(sequence): \(kind.name) is \(headerSize + bodySize(kind)) bytes, found \(bytes.count)")
        }
        r.skip(6)
        event.sequence = sequence
        event.eventTime = Timestamp(nanos: r.i64())
        event.receiveTime = Timestamp(nanos: r.i64())
        switch kind {
        case .l2LevelUpdated: event.body = .l2LevelUpdated(try level(&r, sequence))
        case .quoteReceived: event.body = .quoteReceived(quote(&r))
        case .tradeReceived: event.body = .tradeReceived(try trade(&r, sequence))
        case .orderBookMessage: event.body = .orderBookMessage(try bookMessage(&r, sequence))
        default: event.body = try decodeBody(kind, &r, sequence)
        }
    }

    @inlinable @inline(__always)
    static func enumValue<E: RawRepresentable>(_ raw: E.RawValue, _ sequence: UInt64, _ field: StaticString) throws(CoreError) -> E
    where E.RawValue: BinaryInteger {
        guard let v = E(rawValue: raw) else { throw invalidField(sequence, field, UInt64(raw)) }
        return v
    }

    /// The error for a field whose value is not one of its enumeration's (kept out of line:
    /// the decoders inline their checks).
    @usableFromInline @inline(never)
    static func invalidField(_ sequence: UInt64, _ field: StaticString, _ raw: UInt64) -> CoreError {
        CoreError(.invalidField, "event #\(sequence): invalid \(field) \(raw)")
    }
}
