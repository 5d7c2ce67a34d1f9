import Testing
@testable import RetraceCore

/// Seeded random events of every kind.
func randomEvent(_ rng: inout SplitMix64) -> Event {
    func i64() -> Int64 { Int64(bitPattern: rng.next()) }
    func money() -> Money { Money(raw: Int128(i64()) * Int128(i64() % 1_000_000)) }
    let id = InstrumentID(UInt32(rng.next(modulo: 100)))
    let oid = ClientOrderID(rng.next())
    let side: Side = rng.next(modulo: 2) == 0 ? .buy : .sell
    let body: EventBody
    switch rng.next(modulo: 21) {
    case 0: body = .instrumentDefined(InstrumentDefined(instrument: Instrument(id: id, symbol: Symbol("SYM\(rng.next(modulo: 1000))")!, priceScale: Int(rng.next(modulo: 13)), quantityScale: Int(rng.next(modulo: 13)))))
    case 1: body = .tradeReceived(TradeReceived(instrument: id, price: Price(raw: i64()), quantity: Quantity(raw: i64()), aggressor: AggressorSide(rawValue: UInt8(rng.next(modulo: 3)))!, tradeID: rng.next()))
    case 2: body = .quoteReceived(QuoteReceived(instrument: id, bidPrice: Price(raw: i64()), bidQuantity: Quantity(raw: i64()), askPrice: Price(raw: i64()), askQuantity: Quantity(raw: i64())))
    case 3: body = .barReceived(BarReceived(instrument: id, open: Price(raw: i64()), high: Price(raw: i64()), low: Price(raw: i64()), close: Price(raw: i64()), volume: Quantity(raw: i64())))
    case 4: body = .l2LevelUpdated(L2LevelUpdated(instrument: id, side: side, price: Price(raw: i64()), quantity: Quantity(raw: i64())))
    case 5: body = .orderSubmitted(OrderSubmitted(orderID: oid, instrument: id, side: side, type: OrderType(rawValue: UInt8(rng.next(modulo: 5) + 1))!, sizing: rng.next(modulo: 2) == 0 ? .fixed : .allEquity, quantity: Quantity(raw: i64()), limitPrice: Price(raw: i64())))
    case 6: body = .orderAccepted(OrderAccepted(orderID: oid, instrument: id))
    case 7: body = .orderRejected(OrderRejected(orderID: oid, instrument: id, reason: .insufficientFunds))
    case 8: body = .orderCanceled(OrderCanceled(orderID: oid, instrument: id, leavesQuantity: Quantity(raw: i64())))
    case 9: body = .orderFilled(OrderFilled(orderID: oid, instrument: id, side: side, price: Price(raw: i64()), quantity: Quantity(raw: i64()), fee: money(), liquidity: .maker, leavesQuantity: Quantity(raw: i64())))
    case 10: body = .positionChanged(PositionChanged(instrument: id, quantity: Quantity(raw: i64()), costBasis: money(), realizedPnL: money(), fees: money()))
    case 11: body = .balanceChanged(BalanceChanged(cash: money(), equity: money(), realizedPnL: money(), unrealizedPnL: money(), fees: money()))
    case 12: body = .timerFired(TimerFired(timerID: rng.next()))
    case 13: body = .sessionStarted(SessionStarted(mode: .backtest, seed: rng.next()))
    case 14: body = .orderBookMessage(OrderBookMessage(instrument: id, action: BookAction.allCases[Int(rng.next(modulo: 6))], side: side, orderID: rng.next(), price: Price(raw: i64()), quantity: Quantity(raw: i64())))
    case 15: body = .orderModified(OrderModified(orderID: oid, instrument: id, keptPriority: rng.next(modulo: 2) == 0, leavesQuantity: Quantity(raw: i64()), price: Price(raw: i64())))
    case 16:
        let answers: [VenueReport.Body] = [.accepted(OrderAccepted(orderID: oid, instrument: id)), .rejected(OrderRejected(orderID: oid, instrument: id, reason: .duplicateOrderID)),
                                           .canceled(OrderCanceled(orderID: oid, instrument: id, leavesQuantity: Quantity(raw: i64()))),
                                           .filled(OrderFilled(orderID: oid, instrument: id, side: side, price: Price(raw: i64()), quantity: Quantity(raw: i64()), fee: money(), liquidity: .taker, leavesQuantity: Quantity(raw: i64()))),
                                           .modified(OrderModified(orderID: oid, instrument: id, keptPriority: true, leavesQuantity: Quantity(raw: i64()), price: Price(raw: i64())))]
        body = .venueReport(VenueReport(venueSequence: rng.next(), body: answers[Int(rng.next(modulo: 5))]))
    case 17: body = .venueHeartbeat(VenueHeartbeat(venueTime: i64(), pingSent: i64()))
    case 18: body = .sessionControl(SessionControl(SessionControl.Action.allCases[Int(rng.next(modulo: 7))], a: rng.next(), b: rng.next()))
    case 19: body = .orderModifyRejected(OrderModifyRejected(orderID: oid, instrument: id, reason: .referenceTickSize))
    default: body = .sessionEnded(SessionEnded(inputEvents: rng.next()))
    }
    return Event(sequence: rng.next(), eventTime: Timestamp(nanos: i64()), receiveTime: Timestamp(nanos: i64()), body: body)
}

@Suite("Event codec")
struct EventCodecTests {
    @Test("every kind round-trips exactly over seeded random events")
    func roundTrip() throws {
        var rng = SplitMix64(seed: 20_261_121)
        var kinds = Set<UInt8>()
        for _ in 0..<20_000 {
            let e = randomEvent(&rng)
            let bytes = EventCodec.encode(e)
            #expect(bytes.count == EventCodec.encodedSize(e.body))
            let back = try bytes.withUnsafeBytes { try EventCodec.decode($0, sequence: e.sequence) }
            #expect(back == e)
            kinds.insert(e.body.kind.rawValue)
        }
        #expect(kinds.count == EventKind.allCases.count)
    }

    @Test("short, unknown-version and unknown-kind bytes are refused with the sequence named")
    func refusesBadBytes() {
        let e = Event(eventTime: .zero, receiveTime: .zero, body: .timerFired(TimerFired(timerID: 9)))
        var bytes = EventCodec.encode(e)
        #expect(throws: CoreError.self) { try bytes.dropLast().withUnsafeBytes { try EventCodec.decode($0, sequence: 7) } }
        bytes[0] = 99
        let error = #expect(throws: CoreError.self) { try bytes.withUnsafeBytes { try EventCodec.decode($0, sequence: 7) } }
        #expect(error?.code == .unknownCodecVersion)
        #expect(error?.message.contains("#7") == true)
        bytes[0] = EventCodec.version
        bytes[1] = 200
        #expect(throws: CoreError.self) { try bytes.withUnsafeBytes { try EventCodec.decode($0, sequence: 7) } }
    }
}

@Suite("RNG and hashing")
struct DeterminismPrimitivesTests {
    @Test("a venue report carrying a kind that is not an order answer is refused, naming the event")
    func badVenueReport() throws {
        let e = Event(sequence: 7, eventTime: .zero, receiveTime: .zero, body: .venueReport(VenueReport(venueSequence: 3, body: .accepted(OrderAccepted(orderID: ClientOrderID(1), instrument: InstrumentID(0))))))
        var bytes = EventCodec.encode(e)
        bytes[EventCodec.headerSize + 8] = EventKind.quoteReceived.rawValue
        #expect(throws: CoreError.self) { try bytes.withUnsafeBytes { try EventCodec.decode($0, sequence: 7) } }
        do { _ = try bytes.withUnsafeBytes { try EventCodec.decode($0, sequence: 7) } } catch { #expect((error as? CoreError)?.message.contains("event #7: invalid venue report kind 11") == true) }
    }

    @Test("SplitMix64 gives the reference sequence")
    func splitMix() {
        var rng = SplitMix64(seed: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test("SHA-256 matches FIPS 180 vectors")
    func sha256() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var s = SHA256()
        for _ in 0..<1000 { s.update(Array(repeating: UInt8(ascii: "a"), count: 1000)) }
        #expect(SHA256.hexString(s.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("SHA-256: the SHA-extension and portable paths agree, and split updates equal one update")
    func sha256Paths() {
        var rng = SplitMix64(seed: 7)
        var data = [UInt8](repeating: 0, count: 64 * 37)
        for i in data.indices { data[i] = UInt8(truncatingIfNeeded: rng.next()) }
        data.withUnsafeBytes { d in #expect(SHA256.state(of: d) == SHA256.portableState(of: d)) }
        // Every split point of a 200-byte message, in two or three pieces.
        let message = Array(data[0..<200])
        let whole = SHA256.hex(message)
        for cut in 0...200 {
            var s = SHA256()
            s.update(Array(message[0..<cut]))
            let mid = min(200, cut + 13)
            s.update(Array(message[cut..<mid]))
            s.update(Array(message[mid...]))
            let hex = SHA256.hexString(s.finalize())
            #expect(hex == whole, "split at \(cut)")
        }
    }

    @Test("the fingerprint depends on every output and its order")
    func fingerprint() {
        let a = Event(eventTime: .zero, receiveTime: .zero, body: .orderAccepted(OrderAccepted(orderID: ClientOrderID(1), instrument: InstrumentID(0))))
        let b = Event(eventTime: .zero, receiveTime: .zero, body: .orderAccepted(OrderAccepted(orderID: ClientOrderID(2), instrument: InstrumentID(0))))
        var f1 = RunFingerprint(), f2 = RunFingerprint(), f3 = RunFingerprint()
        f1.add(a); f1.add(b)
        f2.add(a); f2.add(b)
        f3.add(b); f3.add(a)
        #expect(f1.hex == f2.hex)
        #expect(f1.hex != f3.hex)
        #expect(f1.count == 2)
    }
}
