import RetraceCore

extension ColumnMap {
    /// Pass 2: one event per data row, checked for time order.
    func events(_ file: CSVFile, registry: InstrumentRegistry, instruments: [Instrument]) throws(FeedError) -> [Event] {
        var out: [Event] = []
        var previous = Int64.min
        var previousLine = 0
        try file.forEachLine { (line, fields) throws(FeedError) in
            guard line > headerLines else { return }
            let symbol = try self.symbol(fields, file, line)
            let instrument = instruments[registry.existingIndex(of: symbol)!]
            let receive = try receiveTime.map { (c) throws(FeedError) in try time(fields, c, receiveUnit, file, line) }
            let event = try eventTime.map { (c) throws(FeedError) in try time(fields, c, eventUnit, file, line) }
            let order = receive ?? event!
            if order.nanos < previous {
                throw FeedError(.outOfOrder, "\(file.path):\(line): timestamp \(order) is earlier than \(Timestamp(nanos: previous)) on line \(previousLine); rows must be in time order")
            }
            previous = order.nanos
            previousLine = line
            let body = try self.body(fields, instrument, file, line)
            out.append(Event(eventTime: event ?? order, receiveTime: order, body: body))
        }
        return out
    }

    private func body(_ f: [Range<Int>], _ i: Instrument, _ file: CSVFile, _ line: Int) throws(FeedError) -> EventBody {
        func price(_ c: Int) throws(FeedError) -> Price { Price(raw: try number(f, c, i.priceScale, file, line)) }
        func quantity(_ c: Int?) throws(FeedError) -> Quantity {
            guard let c, !f[c].isEmpty else { return .zero }
            let q = try number(f, c, i.quantityScale, file, line)
            guard q >= 0 else { throw FeedError(.malformedRow, "\(file.path):\(line): column '\(names[c])' is negative") }
            return Quantity(raw: q)
        }
        switch format {
        case .tradesCSV:
            var aggressor = AggressorSide.unknown
            if let c = buyerMaker {
                switch file.text(f[c]).lowercased() {
                case "true", "1", "t", "yes": aggressor = .seller
                case "false", "0", "f", "no": aggressor = .buyer
                case let v: throw FeedError(.malformedRow, "\(file.path):\(line): column '\(names[c])' value '\(v)' is not true/false")
                }
            } else if let c = side {
                switch file.text(f[c]).lowercased() {
                case "buy", "b", "1", "bid": aggressor = .buyer
                case "sell", "s", "-1", "a", "ask": aggressor = .seller
                default: aggressor = .unknown
                }
            }
            let id = tradeID.flatMap { UInt64(file.text(f[$0])) } ?? 0
            return .tradeReceived(TradeReceived(instrument: i.id, price: try price(self.price!), quantity: try quantity(self.quantity), aggressor: aggressor, tradeID: id))
        case .quotesCSV:
            return .quoteReceived(QuoteReceived(instrument: i.id, bidPrice: try price(bid!), bidQuantity: try quantity(bidSize), askPrice: try price(ask!), askQuantity: try quantity(askSize)))
        case .barsCSV:
            let b = BarReceived(instrument: i.id, open: try price(open!), high: try price(high!), low: try price(low!), close: try price(close!), volume: try quantity(volume))
            guard b.low <= b.high else { throw FeedError(.malformedRow, "\(file.path):\(line): low \(i.text(b.low)) is above high \(i.text(b.high))") }
            return .barReceived(b)
        }
    }

    /// Decimals of a numeric field (after `FloatRendering`), nil when it is not a number.
    func decimals(_ file: CSVFile, _ range: Range<Int>) -> Int? {
        if let shortest = FloatRendering.shortestForm(file.bytes[range]) { return FixedPoint.fractionalDigits(bytes: shortest) }
        return FixedPoint.fractionalDigits(bytes: file.bytes[range])
    }

    private func number(_ f: [Range<Int>], _ c: Int, _ scale: Int, _ file: CSVFile, _ line: Int) throws(FeedError) -> Int64 {
        let parsed = FloatRendering.shortestForm(file.bytes[f[c]]).map { FixedPoint.parse(bytes: $0, scale: scale) } ?? FixedPoint.parse(bytes: file.bytes[f[c]], scale: scale)
        guard let v = parsed else {
            throw FeedError(.malformedRow, "\(file.path):\(line): column '\(names[c])' value '\(file.text(f[c]))' is not a decimal number with at most \(scale) decimals")
        }
        return v
    }

    private func time(_ f: [Range<Int>], _ c: Int, _ unit: TimeUnit, _ file: CSVFile, _ line: Int) throws(FeedError) -> Timestamp {
        let bytes = file.bytes[f[c]]
        if unit == .iso {
            guard let t = Timestamp.parseISO8601(file.text(f[c])) else {
                throw FeedError(.malformedRow, "\(file.path):\(line): column '\(names[c])' value '\(file.text(f[c]))' is not a date/time (ISO-8601 expected)")
            }
            return t
        }
        guard let v = FixedPoint.parse(bytes: bytes, scale: unit.nanosScale) else {
            throw FeedError(.malformedRow, "\(file.path):\(line): column '\(names[c])' value '\(file.text(f[c]))' is not a timestamp in \(unit.rawValue)")
        }
        return Timestamp(nanos: v)
    }
}
