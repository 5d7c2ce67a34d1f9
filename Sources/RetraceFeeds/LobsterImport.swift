import Foundation
import RetraceCore
import RetraceEngine
import RetraceJournal

/// `retrace import lobster` and `retrace book`: a LOBSTER window into a data run, and the
/// book rebuilt from that run's journal in LOBSTER's orderbook layout.
///
/// The journal holds, after the instrument definition: the seed book as `L2LevelUpdated`
/// events (level totals), then for every message its `OrderBookMessage`, followed by one
/// `L2LevelUpdated` per level that reconciliation set. Replaying it needs no orderbook file.
public enum LobsterImport {
    public struct Result: Sendable {
        public var manifest: RunManifest
        public var messages: Int
        public var reconciliations: Int
        public var levels: Int
    }

    /// Imports `messages` + `orderbook` into the run folder `out`.
    /// - Parameters:
    ///   - levels: the level count the caller expects (must match the orderbook file's).
    ///   - date: the trading day `YYYY-MM-DD`; by default read from the file name.
    ///   - reconciliationsCSV: where to log every reconciliation change.
    public static func run(messages messagesPath: String, orderbook orderbookPath: String, levels expected: Int?, instrument symbolText: String?,
                           date: String?, reconciliationsCSV: String?, out: String, replace: Bool) throws -> Result {
        let messages = try Lobster.readMessages(messagesPath)
        let (levels, values) = try Lobster.readOrderbook(orderbookPath)
        if let expected, expected != levels {
            throw FeedError(.malformedRow, "\(orderbookPath): the file has \(levels) levels, --levels says \(expected)")
        }
        let width = 4 * levels
        guard values.count / width == messages.count else {
            throw FeedError(.malformedRow, "\(orderbookPath) has \(values.count / width) rows but \(messagesPath) has \(messages.count) messages; they must pair row by row")
        }
        guard !messages.isEmpty else { throw FeedError(.malformedRow, "\(messagesPath): no messages") }
        let name = (messagesPath as NSString).lastPathComponent
        let symbolName = symbolText ?? String(name.prefix { $0 != "_" })
        guard let symbol = Symbol(symbolName) else { throw FeedError(.malformedRow, "instrument '\(symbolName)' is not a valid symbol (1–16 characters); pass --instrument") }
        let midnight = try sessionMidnight(date: date ?? dateInName(name), file: messagesPath)
        let instrument = Instrument(id: InstrumentID(0), symbol: symbol, priceScale: 4, quantityScale: 0)

        let tickSize = LobsterReconstructor.tickSize(messages: messages, orderbook: values, levels: levels)
        let r = LobsterReconstructor(levels: levels, tickSize: tickSize, firstRow: values[0..<width], first: messages[0])
        var log = reconciliationsCSV.map { _ in "message,side,price,change\n" }
        let manifest = try ImportDriver.writeDataRun(out: out, replace: replace,
                                                     inputs: ["lobster:\(messagesPath)", "lobster-orderbook:\(orderbookPath)", "levels:\(levels)"],
                                                     dataset: messagesPath, instruments: [instrument]) { journal in
            var events: UInt64 = 0
            func append(_ time: Int64, _ body: EventBody) throws {
                try journal.append(Event(eventTime: Timestamp(nanos: time), receiveTime: Timestamp(nanos: time), body: body))
                events += 1
            }
            let start = midnight + messages[0].time
            try append(start, .instrumentDefined(InstrumentDefined(instrument: instrument)))
            for side in [Side.sell, .buy] {
                for level in r.book.top(Int.max, side: side) {
                    try append(start, .l2LevelUpdated(L2LevelUpdated(instrument: instrument.id, side: side, price: Price(raw: level.tick * tickSize), quantity: Quantity(raw: level.total))))
                }
            }
            var seed: [Int64] = []
            r.write(into: &seed)
            var previous = seed[...]
            var touched: [(Side, Int64)] = []
            for (i, m) in messages.enumerated() {
                let time = midnight + m.time
                try append(time, .orderBookMessage(OrderBookMessage(instrument: instrument.id, action: BookAction(rawValue: m.type)!, side: m.side,
                                                                    orderID: m.orderID, price: Price(raw: m.price), quantity: Quantity(raw: m.size))))
                r.apply(m)
                let row = values[(i * width)..<((i + 1) * width)]
                touched.removeAll(keepingCapacity: true)
                r.reconcile(message: i + 1, row: row, previous: previous) { change in
                    touched.append((change.side, change.price))
                    log? += "\(change.message),\(change.side == .sell ? "ask" : "bid"),\(change.price),\(change.change)\n"
                }
                for (side, price) in touched {
                    try append(time, .l2LevelUpdated(L2LevelUpdated(instrument: instrument.id, side: side, price: Price(raw: price),
                                                                    quantity: Quantity(raw: r.book.depth(side: side, tick: price / tickSize)))))
                }
                previous = row
            }
            // Inside the staged write, so a failure here leaves no run behind.
            if let reconciliationsCSV, let log, !FileManager.default.createFile(atPath: reconciliationsCSV, contents: Data(log.utf8)) {
                throw FeedError(.io, "\(reconciliationsCSV): cannot write the reconciliation log")
            }
            return events
        }
        return Result(manifest: manifest, messages: messages.count, reconciliations: r.reconciliations, levels: levels)
    }

    /// Writes the book after every order-book message of `run`'s journal, `levels` deep, in
    /// LOBSTER's orderbook layout (no header). Returns the number of rows.
    public static func book(run: String, levels: Int, csv: String) throws -> Int {
        let directory = RunFolder.journalPath(run)
        // Pass 1: the tick size (GCD of every price), so the ladder is dense.
        var tick = LobsterReconstructor.TickSize()
        var sawMessage = false
        let first = try JournalReader(directory: directory)
        while let (_, e) = try first.nextEvent() {
            switch e.body {
            case .orderBookMessage(let m): sawMessage = true; tick.add(m.price.raw)
            case .l2LevelUpdated(let u): tick.add(u.price.raw)
            default: break
            }
        }
        guard sawMessage else { throw FeedError(.unsupported, "\(run): the journal holds no order-book messages (import a LOBSTER window with 'retrace import lobster')") }
        guard let handle = FileHandle(forWritingAtPath: csv) ?? (FileManager.default.createFile(atPath: csv, contents: nil) ? FileHandle(forWritingAtPath: csv) : nil) else {
            throw FeedError(.io, "\(csv): cannot create the file")
        }
        defer { try? handle.close() }
        try handle.truncate(atOffset: 0)
        var text = ""
        text.reserveCapacity(1 << 20)
        var row: [Int64] = []
        var rows = 0
        let reader = try JournalReader(directory: directory)
        try replay(next: { try reader.nextEvent()?.event.body }, levels: levels, tickSize: tick.value) { r in
            r.write(into: &row)
            for (k, v) in row.enumerated() { text += k == 0 ? String(v) : "," + String(v) }
            text += "\n"
            rows += 1
            if text.utf8.count > 1 << 20 { try handle.write(contentsOf: Data(text.utf8)); text.removeAll(keepingCapacity: true) }
        }
        try handle.write(contentsOf: Data(text.utf8))
        return rows
    }

    /// Replays an order-level run's events (`next` returns them in journal order, nil at the
    /// end) through a fresh book, calling `row` once per message after that message and the
    /// level sets that follow it — the state the orderbook file records for it.
    public static func replay(next: () throws -> EventBody?, levels: Int, tickSize: Int64, row: (LobsterReconstructor) throws -> Void) throws {
        let r = LobsterReconstructor(levels: levels, tickSize: tickSize)
        var pending = false
        while let body = try next() {
            switch body {
            case .orderBookMessage(let m):
                if pending { try row(r) }
                r.apply(m)
                pending = true
            case .l2LevelUpdated(let u):
                r.set(side: u.side, price: u.price.raw, total: u.quantity.raw)
            default: break
            }
        }
        if pending { try row(r) }
    }

    /// The trading day in a LOBSTER file name (`TICKER_YYYY-MM-DD_…`).
    static func dateInName(_ name: String) -> String? {
        let parts = name.split(separator: "_")
        return parts.count > 1 && parts[1].count == 10 ? String(parts[1]) : nil
    }

    /// Midnight in New York (where LOBSTER times count from) of `date`, in UTC nanoseconds.
    static func sessionMidnight(date: String?, file: String) throws(FeedError) -> Int64 {
        guard let date else { throw FeedError(.malformedRow, "\(file): no trading day in the file name (TICKER_YYYY-MM-DD_…); pass --date YYYY-MM-DD") }
        let p = date.split(separator: "-").compactMap { Int($0) }
        guard p.count == 3, (1...12).contains(p[1]), (1...31).contains(p[2]) else { throw FeedError(.malformedRow, "date '\(date)' is not YYYY-MM-DD") }
        let days = daysFromCivil(p[0], p[1], p[2])
        // US Eastern: daylight time from the second Sunday of March to the first Sunday of November.
        func nthSunday(_ month: Int, _ n: Int) -> Int {
            let first = daysFromCivil(p[0], month, 1)
            let weekday = (first + 4) % 7  // 1970-01-01 was a Thursday (4); 0 = Sunday
            return first + (7 - weekday) % 7 + 7 * (n - 1)
        }
        let dst = days >= nthSunday(3, 2) && days < nthSunday(11, 1)
        return Int64(days) * 86_400_000_000_000 + Int64(dst ? 4 : 5) * 3_600_000_000_000
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
