import Foundation
import RetraceCore
import RetraceEngine
import RetraceJournal
import RetraceMarket

/// `retrace import l2-csv`: a depth snapshot plus incremental level updates (Binance
/// futures `depthUpdate` layout), optionally with trades and best bid/offer records, into a
/// data run.
///
/// The streams are merged by local receive time. Depth events that arrive before the
/// snapshot are buffered, then the exchange's rule applies: drop events with
/// `u < lastUpdateId`; the first applied event must have `U ≤ lastUpdateId ≤ u`; after it
/// every event's `pu` equals the previous event's `u`. A break in that chain is a gap: the
/// import stops there naming the line (or, with `allowGaps`, counts it and goes on). A
/// book left crossed or locked by an event is reported, not repaired.
///
/// The journal holds the instrument, the snapshot levels, then for each applied depth event
/// one `L2LevelUpdated` per level it carries, with trades (`TradeReceived`) and BBO records
/// (`QuoteReceived`) interleaved in receive order. Receive time is the recorder's local
/// clock; event time is the exchange's.
public enum L2DepthImport {
    public struct Options: Sendable {
        public var snapshot: String
        public var updates: String
        public var trades: String?
        public var bbo: String?
        public var instrument: String?
        public var allowGaps = false
        public init(snapshot: String, updates: String) { (self.snapshot, self.updates) = (snapshot, updates) }
    }

    /// What the import found.
    public struct Summary: Sendable {
        public var manifest: RunManifest
        public var instrument: Instrument
        /// The price grid (GCD of every price, in raw units).
        public var tickSize: Int64
        public var snapshotLevels = 0
        public var depthEvents = 0
        public var appliedEvents = 0
        /// Events older than the snapshot (`u < lastUpdateId`), dropped by the rule.
        public var droppedEvents = 0
        public var levelUpdates = 0
        /// Breaks in the `pu` chain (only non-zero with `allowGaps`).
        public var gaps = 0
        public var firstGap: String?
        /// Depth events after which the book was crossed or locked.
        public var crossedEvents = 0
        public var firstCrossed: String?
        public var trades = 0
        public var quotes = 0
        /// BBO records whose update id is the final id of an applied depth event.
        public var bboCompared = 0
        public var bboMatched = 0
        public var firstMismatch: String?
        public var bboMatchRate: Double { bboCompared == 0 ? 0 : Double(bboMatched) / Double(bboCompared) }
    }

    struct DepthEvent {
        var line: Int
        var local: Int64
        var exchange: Int64
        var first: Int64
        var final: Int64
        var previous: Int64
        var levels: [(side: Side, price: Int64, quantity: Int64)] = []
    }

    struct Quote {
        var line: Int
        var local: Int64
        var exchange: Int64
        var updateID: Int64
        var bid: Int64, bidQuantity: Int64, ask: Int64, askQuantity: Int64
    }

    struct Trade {
        var line: Int
        var local: Int64
        var exchange: Int64
        var id: Int64
        var price: Int64, quantity: Int64
        var aggressor: AggressorSide
    }

    /// Imports into the run folder `out`.
    public static func run(_ o: Options, out: String, replace: Bool) throws -> Summary {
        let snapshotFile = try CSVFile(path: o.snapshot)
        let updatesFile = try CSVFile(path: o.updates)
        let tradesFile = try o.trades.map { path throws(FeedError) in try CSVFile(path: path) }
        let bboFile = try o.bbo.map { path throws(FeedError) in try CSVFile(path: path) }

        let snap = try Table(snapshotFile, ["local_ts_ns", "last_update_id", "event_time_ms", "side", "price", "qty"])
        let upd = try Table(updatesFile, ["local_ts_ns", "event_time_ms", "first_update_id", "final_update_id", "prev_final_update_id", "side", "price", "qty"])
        let trd = try tradesFile.map { f throws(FeedError) in try Table(f, ["local_ts_ns", "event_time_ms", "trade_id", "price", "qty", "is_buyer_maker"]) }
        let bbo = try bboFile.map { f throws(FeedError) in try Table(f, ["local_ts_ns", "update_id", "event_time_ms", "bid_price", "bid_qty", "ask_price", "ask_qty"]) }

        // Pass 1: decimals of prices and quantities over every file.
        var scales = (price: 0, quantity: 0)
        try snap.decimals(price: ["price"], quantity: ["qty"], into: &scales)
        try upd.decimals(price: ["price"], quantity: ["qty"], into: &scales)
        try trd?.decimals(price: ["price"], quantity: ["qty"], into: &scales)
        try bbo?.decimals(price: ["bid_price", "ask_price"], quantity: ["bid_qty", "ask_qty"], into: &scales)
        guard scales.price <= 12, scales.quantity <= 12 else { throw FeedError(.unsupported, "\(o.updates): more than 12 decimals in prices or quantities") }
        let symbolText = o.instrument ?? symbolFromFileName(o.snapshot)
        guard let symbol = Symbol(symbolText) else { throw FeedError(.malformedRow, "instrument '\(symbolText)' is not a valid symbol (1–16 characters); pass --instrument") }
        let instrument = Instrument(id: InstrumentID(0), symbol: symbol, priceScale: scales.price, quantityScale: scales.quantity)

        // Pass 2: rows into records.
        var snapshotLevels: [(side: Side, price: Int64, quantity: Int64)] = []
        var snapshotID: Int64 = 0, snapshotLocal: Int64 = 0, snapshotExchange: Int64 = 0
        try snap.rows { (line, r) throws(FeedError) in
            let id = try r.int("last_update_id")
            if snapshotLevels.isEmpty {
                (snapshotID, snapshotLocal, snapshotExchange) = (id, try r.int("local_ts_ns"), try r.int("event_time_ms") * 1_000_000)
            } else if id != snapshotID {
                throw FeedError(.malformedRow, "\(o.snapshot):\(line): last_update_id \(id) differs from the first row's \(snapshotID); a snapshot file holds one snapshot")
            }
            snapshotLevels.append((try r.side("side"), try r.decimal("price", scales.price), try r.decimal("qty", scales.quantity)))
        }
        guard !snapshotLevels.isEmpty else { throw FeedError(.malformedRow, "\(o.snapshot): the snapshot has no levels") }

        var events: [DepthEvent] = []
        try upd.rows { (line, r) throws(FeedError) in
            let final = try r.int("final_update_id")
            let local = try r.int("local_ts_ns")
            if events.last?.final != final || events.last?.local != local {
                if let last = events.last, local < last.local {
                    throw FeedError(.outOfOrder, "\(o.updates):\(line): local_ts_ns \(local) is earlier than the previous event's \(last.local) (line \(last.line)); rows must be in receive order")
                }
                events.append(DepthEvent(line: line, local: local, exchange: try r.int("event_time_ms") * 1_000_000, first: try r.int("first_update_id"),
                                         final: final, previous: try r.int("prev_final_update_id")))
            }
            events[events.count - 1].levels.append((try r.side("side"), try r.decimal("price", scales.price), try r.decimal("qty", scales.quantity)))
        }
        var trades: [Trade] = []
        try trd?.rows { (line, r) throws(FeedError) in
            let t = Trade(line: line, local: try r.int("local_ts_ns"), exchange: try r.int("event_time_ms") * 1_000_000, id: try r.int("trade_id"),
                          price: try r.decimal("price", scales.price), quantity: try r.decimal("qty", scales.quantity),
                          aggressor: try r.bool("is_buyer_maker") ? .seller : .buyer)
            if let last = trades.last, t.local < last.local {
                throw FeedError(.outOfOrder, "\(o.trades!):\(line): local_ts_ns \(t.local) is earlier than line \(last.line)'s \(last.local)")
            }
            trades.append(t)
        }
        var quotes: [Quote] = []
        try bbo?.rows { (line, r) throws(FeedError) in
            let q = Quote(line: line, local: try r.int("local_ts_ns"), exchange: try r.int("event_time_ms") * 1_000_000, updateID: try r.int("update_id"),
                          bid: try r.decimal("bid_price", scales.price), bidQuantity: try r.decimal("bid_qty", scales.quantity),
                          ask: try r.decimal("ask_price", scales.price), askQuantity: try r.decimal("ask_qty", scales.quantity))
            if let last = quotes.last, q.local < last.local {
                throw FeedError(.outOfOrder, "\(o.bbo!):\(line): local_ts_ns \(q.local) is earlier than line \(last.line)'s \(last.local)")
            }
            quotes.append(q)
        }

        // The price grid, so the book's ladder is dense.
        var grid = LobsterReconstructor.TickSize()
        for l in snapshotLevels { grid.add(l.price) }
        for e in events { for l in e.levels { grid.add(l.price) } }
        let tick = grid.value

        var summary = Summary(manifest: RunManifest(runID: "", mode: "import", status: "", codeVersion: "", startedAt: ""), instrument: instrument, tickSize: tick)
        summary.snapshotLevels = snapshotLevels.count
        summary.depthEvents = events.count
        summary.trades = trades.count
        summary.quotes = quotes.count
        var inputs = ["l2-snapshot:\(o.snapshot)", "l2-updates:\(o.updates)"]
        if let t = o.trades { inputs.append("trades:\(t)") }
        if let b = o.bbo { inputs.append("bbo:\(b)") }

        summary.manifest = try ImportDriver.writeDataRun(out: out, replace: replace, inputs: inputs, dataset: o.updates, instruments: [instrument]) { journal in
            var written: UInt64 = 0
            func append(_ local: Int64, _ exchange: Int64, _ body: EventBody) throws {
                try journal.append(Event(eventTime: Timestamp(nanos: exchange), receiveTime: Timestamp(nanos: local), body: body))
                written += 1
            }
            var book = L2Book(tickSize: tick)
            // Book after each applied event, by final update id, for the BBO check.
            var topByID: [Int64: (bid: L2Book.Level?, ask: L2Book.Level?)] = [:]
            var synced = false
            var lastFinal: Int64 = 0
            var pending: [Int] = []  // depth events received before the snapshot

            func applyDepth(_ k: Int, at local: Int64) throws {
                let e = events[k]
                if !synced {
                    if e.final < snapshotID { summary.droppedEvents += 1; return }
                    guard e.first <= snapshotID && snapshotID <= e.final else {
                        throw FeedError(.outOfOrder, "\(o.updates):\(e.line): the first depth event after the snapshot (last_update_id \(snapshotID)) has ids \(e.first)…\(e.final); it must cover the snapshot (U ≤ \(snapshotID) ≤ u): updates are missing between the snapshot and this event")
                    }
                    synced = true
                } else if e.previous != lastFinal {
                    let message = "\(o.updates):\(e.line): gap in the depth stream: prev_final_update_id \(e.previous), but the previous applied event ended at \(lastFinal)"
                    guard o.allowGaps else { throw FeedError(.outOfOrder, message + " (the book is unknown from here; pass --allow-gaps to import anyway)") }
                    summary.gaps += 1
                    if summary.firstGap == nil { summary.firstGap = message }
                }
                lastFinal = e.final
                summary.appliedEvents += 1
                for l in e.levels {
                    book.set(side: l.side, price: Price(raw: l.price), quantity: Quantity(raw: l.quantity))
                    try append(local, e.exchange, .l2LevelUpdated(L2LevelUpdated(instrument: instrument.id, side: l.side, price: Price(raw: l.price), quantity: Quantity(raw: l.quantity))))
                    summary.levelUpdates += 1
                }
                if book.isCrossed {
                    summary.crossedEvents += 1
                    if summary.firstCrossed == nil {
                        summary.firstCrossed = "\(o.updates):\(e.line): after update id \(e.final) the book is crossed or locked: best bid \(instrument.text(book.bestBid!.price)) ≥ best ask \(instrument.text(book.bestAsk!.price))"
                    }
                }
                topByID[e.final] = (book.bestBid, book.bestAsk)
            }

            try append(min(snapshotLocal, events.first?.local ?? snapshotLocal, trades.first?.local ?? .max, quotes.first?.local ?? .max), snapshotExchange,
                       .instrumentDefined(InstrumentDefined(instrument: instrument)))
            // Merge by receive time; ties keep depth, snapshot, quotes, trades in that order.
            var (d, t, q) = (0, 0, 0)
            var snapshotDone = false
            while true {
                // The stream (0 depth, 1 snapshot, 2 quotes, 3 trades) with the earliest next row.
                var stream = -1
                var time = Int64.max
                func consider(_ k: Int, _ at: Int64?) { if let at, at < time { (stream, time) = (k, at) } }
                consider(0, d < events.count ? events[d].local : nil)
                consider(1, snapshotDone ? nil : snapshotLocal)
                consider(2, q < quotes.count ? quotes[q].local : nil)
                consider(3, t < trades.count ? trades[t].local : nil)
                if stream < 0 { break }
                switch stream {
                case 0:
                    if snapshotDone { try applyDepth(d, at: time) } else { pending.append(d) }
                    d += 1
                case 1:
                    snapshotDone = true
                    for l in snapshotLevels {
                        book.set(side: l.side, price: Price(raw: l.price), quantity: Quantity(raw: l.quantity))
                        try append(time, snapshotExchange, .l2LevelUpdated(L2LevelUpdated(instrument: instrument.id, side: l.side, price: Price(raw: l.price), quantity: Quantity(raw: l.quantity))))
                    }
                    for k in pending { try applyDepth(k, at: time) }
                    pending.removeAll()
                case 2:
                    let x = quotes[q]
                    try append(time, x.exchange, .quoteReceived(QuoteReceived(instrument: instrument.id, bidPrice: Price(raw: x.bid), bidQuantity: Quantity(raw: x.bidQuantity),
                                                                              askPrice: Price(raw: x.ask), askQuantity: Quantity(raw: x.askQuantity))))
                    q += 1
                default:
                    let x = trades[t]
                    try append(time, x.exchange, .tradeReceived(TradeReceived(instrument: instrument.id, price: Price(raw: x.price), quantity: Quantity(raw: x.quantity),
                                                                              aggressor: x.aggressor, tradeID: UInt64(x.id))))
                    t += 1
                }
            }
            if !synced {
                throw FeedError(.outOfOrder, "\(o.updates): no depth event continues the snapshot (last_update_id \(snapshotID)); the book cannot be built")
            }
            // Ground truth: BBO records that name an applied event's final id.
            for x in quotes {
                guard let top = topByID[x.updateID] else { continue }
                summary.bboCompared += 1
                let ok = top.bid?.price.raw == x.bid && top.bid?.quantity.raw == x.bidQuantity && top.ask?.price.raw == x.ask && top.ask?.quantity.raw == x.askQuantity
                if ok { summary.bboMatched += 1 } else if summary.firstMismatch == nil {
                    func show(_ l: L2Book.Level?) -> String { l.map { "\(instrument.text($0.price)) × \(instrument.text($0.quantity))" } ?? "none" }
                    summary.firstMismatch = "\(o.bbo!):\(x.line): update id \(x.updateID): record says bid \(instrument.text(Price(raw: x.bid))) × \(instrument.text(Quantity(raw: x.bidQuantity))), ask \(instrument.text(Price(raw: x.ask))) × \(instrument.text(Quantity(raw: x.askQuantity))); the rebuilt book has bid \(show(top.bid)), ask \(show(top.ask))"
                }
            }
            return written
        }
        return summary
    }
}

extension L2DepthImport {
    /// The symbol in a recorder's file name: the token before the date
    /// (`binance_usdm_btcusdt_20240808_depth_snapshot.csv.gz` → BTCUSDT), else the usual
    /// all-caps token rule.
    static func symbolFromFileName(_ path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let tokens = (name.split(separator: ".").first.map(String.init) ?? name).split(whereSeparator: { $0 == "_" || $0 == "-" })
        if let date = tokens.firstIndex(where: { $0.count == 8 && $0.allSatisfy(\.isNumber) }), date > 0 {
            return tokens[date - 1].uppercased()
        }
        return ColumnMap.symbolFromFileName(path)
    }
}

/// A CSV file whose columns are found by header name (case-insensitive), with typed field
/// readers whose errors name the file, line and column.
struct Table {
    let file: CSVFile
    let columns: [String: Int]
    let width: Int

    init(_ file: CSVFile, _ required: [String]) throws(FeedError) {
        self.file = file
        guard let header = file.firstLines(1).first else { throw FeedError(.malformedRow, "\(file.path): the file is empty") }
        var map: [String: Int] = [:]
        for (i, r) in header.enumerated() { map[file.text(r).trimmingCharacters(in: .whitespaces).lowercased()] = i }
        let missing = required.filter { map[$0] == nil }
        guard missing.isEmpty else {
            throw FeedError(.missingColumn, "\(file.path): missing column(s) \(missing.joined(separator: ", ")) (header: \(header.map { file.text($0) }.joined(separator: ",")); expected \(required.joined(separator: ",")))")
        }
        columns = map
        width = header.count
    }

    struct Row {
        let table: Table
        let fields: [Range<Int>]
        let line: Int

        func field(_ name: String) -> Range<Int> { fields[table.columns[name]!] }

        func fail(_ name: String, _ what: String) -> FeedError {
            FeedError(.malformedRow, "\(table.file.path):\(line): column '\(name)' value '\(table.file.text(field(name)))' is not \(what)")
        }

        func int(_ name: String) throws(FeedError) -> Int64 {
            guard let v = Lobster.parseInt(table.file.bytes, field(name)), v >= 0 else { throw fail(name, "a non-negative integer") }
            return v
        }

        func decimal(_ name: String, _ scale: Int) throws(FeedError) -> Int64 {
            guard let v = FixedPoint.parse(bytes: table.file.bytes[field(name)], scale: scale), v >= 0 else { throw fail(name, "a non-negative decimal number") }
            return v
        }

        func side(_ name: String) throws(FeedError) -> Side {
            switch table.file.text(field(name)).lowercased() {
            case "b", "bid", "buy": return .buy
            case "a", "ask", "s", "sell": return .sell
            default: throw fail(name, "a side (b/a)")
            }
        }

        func bool(_ name: String) throws(FeedError) -> Bool {
            switch table.file.text(field(name)).lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: throw fail(name, "true or false")
            }
        }
    }

    /// Calls `body(line, row)` for every data row (after the header).
    func rows(_ body: (Int, Row) throws(FeedError) -> Void) throws(FeedError) {
        try file.forEachLine { (line, fields) throws(FeedError) in
            guard line > 1 else { return }
            guard fields.count >= width else {
                throw FeedError(.malformedRow, "\(file.path):\(line): \(fields.count) fields, the header has \(width)")
            }
            try body(line, Row(table: self, fields: fields, line: line))
        }
    }

    /// Widens `scales` to the most decimals seen in the named price and quantity columns.
    func decimals(price: [String], quantity: [String], into scales: inout (price: Int, quantity: Int)) throws(FeedError) {
        var s = scales
        try rows { (_, r) throws(FeedError) in
            for n in price {
                guard let d = FixedPoint.fractionalDigits(bytes: file.bytes[r.field(n)]) else { throw r.fail(n, "a decimal number") }
                s.price = max(s.price, d)
            }
            for n in quantity {
                guard let d = FixedPoint.fractionalDigits(bytes: file.bytes[r.field(n)]) else { throw r.fail(n, "a decimal number") }
                s.quantity = max(s.quantity, d)
            }
        }
        scales = s
    }
}
