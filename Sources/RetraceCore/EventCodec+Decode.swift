extension EventCodec {
    @inlinable
    static func decodeBody(_ kind: EventKind, _ r: inout _UnsafeByteReader, _ seq: UInt64) throws(CoreError) -> EventBody {
        switch kind {
        case .instrumentDefined:
            let id = InstrumentID(r.u32()); let ps = Int(r.u8()); let qs = Int(r.u8()); let count = r.u8(); r.skip(1)
            let low = r.u64(), high = r.u64()
            guard ps <= 12, qs <= 12, count >= 1, count <= 16 else { throw CoreError(.invalidField, "event #\(seq): invalid instrument definition") }
            return .instrumentDefined(InstrumentDefined(instrument: Instrument(id: id, symbol: Symbol(low: low, high: high, count: count), priceScale: ps, quantityScale: qs)))
        case .tradeReceived: return .tradeReceived(try trade(&r, seq))
        case .quoteReceived: return .quoteReceived(quote(&r))
        case .barReceived:
            let id = InstrumentID(r.u32()); r.skip(4)
            return .barReceived(BarReceived(instrument: id, open: Price(raw: r.i64()), high: Price(raw: r.i64()), low: Price(raw: r.i64()), close: Price(raw: r.i64()), volume: Quantity(raw: r.i64())))
        case .l2LevelUpdated: return .l2LevelUpdated(try level(&r, seq))
        case .orderBookMessage: return .orderBookMessage(try bookMessage(&r, seq))
        case .venueReport:
            let venueSequence = r.u64(); let k = r.u8(); r.skip(7)
            guard (21...25).contains(k), let innerKind = EventKind(rawValue: k) else { throw CoreError(.invalidField, "event #\(seq): invalid venue report kind \(k)") }
            let size = bodySize(innerKind)
            let inner = try decodeBody(innerKind, &r, seq)
            r.skip(56 - size)
            return .venueReport(VenueReport(venueSequence: venueSequence, body: VenueReport.Body(inner)!))
        case .venueHeartbeat:
            return .venueHeartbeat(VenueHeartbeat(venueTime: r.i64(), pingSent: r.i64()))
        case .sessionControl:
            let action: SessionControl.Action = try enumValue(r.u8(), seq, "session action"); r.skip(7)
            return .sessionControl(SessionControl(action, a: r.u64(), b: r.u64()))
        case .orderSubmitted:
            let oid = ClientOrderID(r.u64()); let id = InstrumentID(r.u32())
            let side: Side = try enumValue(r.u8(), seq, "side"); let type: OrderType = try enumValue(r.u8(), seq, "order type")
            let sizing: OrderSizing = try enumValue(r.u8(), seq, "sizing"); r.skip(1)
            return .orderSubmitted(OrderSubmitted(orderID: oid, instrument: id, side: side, type: type, sizing: sizing, quantity: Quantity(raw: r.i64()), limitPrice: Price(raw: r.i64())))
        case .orderAccepted:
            let oid = ClientOrderID(r.u64()); let id = InstrumentID(r.u32()); r.skip(4)
            return .orderAccepted(OrderAccepted(orderID: oid, instrument: id))
        case .orderRejected:
            let oid = ClientOrderID(r.u64()); let id = InstrumentID(r.u32()); let reason: RejectReason = try enumValue(r.u16(), seq, "reject reason"); r.skip(2)
            return .orderRejected(OrderRejected(orderID: oid, instrument: id, reason: reason))
        case .orderModifyRejected:
            let oid = ClientOrderID(r.u64()); let id = InstrumentID(r.u32()); let reason: RejectReason = try enumValue(r.u16(), seq, "reject reason"); r.skip(2)
            return .orderModifyRejected(OrderModifyRejected(orderID: oid, instrument: id, reason: reason))
        case .orderCanceled:
            let oid = ClientOrderID(r.u64()); let id = InstrumentID(r.u32()); r.skip(4)
            return .orderCanceled(OrderCanceled(orderID: oid, instrument: id, leavesQuantity: Quantity(raw: r.i64())))
        case .orderFilled:
            let oid = ClientOrderID(r.u64()); let id = InstrumentID(r.u32())
            let side: Side = try enumValue(r.u8(), seq, "side"); let liq: Liquidity = try enumValue(r.u8(), seq, "liquidity"); r.skip(2)
            let price = Price(raw: r.i64()), qty = Quantity(raw: r.i64()), leaves = Quantity(raw: r.i64())
            return .orderFilled(OrderFilled(orderID: oid, instrument: id, side: side, price: price, quantity: qty, fee: Money(raw: r.i128()), liquidity: liq, leavesQuantity: leaves))
        case .orderModified:
            let oid = ClientOrderID(r.u64()); let id = InstrumentID(r.u32()); let kept = r.u8(); r.skip(3)
            guard kept <= 1 else { throw CoreError(.invalidField, "event #\(seq): invalid kept-priority flag \(kept)") }
            return .orderModified(OrderModified(orderID: oid, instrument: id, keptPriority: kept == 1, leavesQuantity: Quantity(raw: r.i64()), price: Price(raw: r.i64())))
        case .positionChanged:
            let id = InstrumentID(r.u32()); r.skip(4); let qty = Quantity(raw: r.i64())
            return .positionChanged(PositionChanged(instrument: id, quantity: qty, costBasis: Money(raw: r.i128()), realizedPnL: Money(raw: r.i128()), fees: Money(raw: r.i128())))
        case .balanceChanged:
            return .balanceChanged(BalanceChanged(cash: Money(raw: r.i128()), equity: Money(raw: r.i128()), realizedPnL: Money(raw: r.i128()), unrealizedPnL: Money(raw: r.i128()), fees: Money(raw: r.i128())))
        case .timerFired:
            return .timerFired(TimerFired(timerID: r.u64()))
        case .sessionStarted:
            let mode: RunMode = try enumValue(r.u8(), seq, "run mode"); r.skip(7)
            return .sessionStarted(SessionStarted(mode: mode, seed: r.u64()))
        case .sessionEnded:
            return .sessionEnded(SessionEnded(inputEvents: r.u64()))
        }
    }

    // The market data bodies, shared by `decodeBody` and the in-place hot path.
    @inlinable @inline(__always)
    static func trade(_ r: inout _UnsafeByteReader, _ seq: UInt64) throws(CoreError) -> TradeReceived {
        let id = InstrumentID(r.u32()); let a: AggressorSide = try enumValue(r.u8(), seq, "aggressor"); r.skip(3)
        return TradeReceived(instrument: id, price: Price(raw: r.i64()), quantity: Quantity(raw: r.i64()), aggressor: a, tradeID: r.u64())
    }

    @inlinable @inline(__always)
    static func quote(_ r: inout _UnsafeByteReader) -> QuoteReceived {
        let id = InstrumentID(r.u32()); r.skip(4)
        return QuoteReceived(instrument: id, bidPrice: Price(raw: r.i64()), bidQuantity: Quantity(raw: r.i64()), askPrice: Price(raw: r.i64()), askQuantity: Quantity(raw: r.i64()))
    }

    @inlinable @inline(__always)
    static func level(_ r: inout _UnsafeByteReader, _ seq: UInt64) throws(CoreError) -> L2LevelUpdated {
        let id = InstrumentID(r.u32()); let side: Side = try enumValue(r.u8(), seq, "side"); r.skip(3)
        return L2LevelUpdated(instrument: id, side: side, price: Price(raw: r.i64()), quantity: Quantity(raw: r.i64()))
    }

    @inlinable @inline(__always)
    static func bookMessage(_ r: inout _UnsafeByteReader, _ seq: UInt64) throws(CoreError) -> OrderBookMessage {
        let id = InstrumentID(r.u32()); let action: BookAction = try enumValue(r.u8(), seq, "book action")
        let side: Side = try enumValue(r.u8(), seq, "side"); r.skip(2)
        return OrderBookMessage(instrument: id, action: action, side: side, orderID: r.u64(), price: Price(raw: r.i64()), quantity: Quantity(raw: r.i64()))
    }
}
