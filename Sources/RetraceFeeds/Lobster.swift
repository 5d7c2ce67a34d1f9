import RetraceCore
import RetraceMarket

/// One row of a LOBSTER message file: `time, type, order_id, size, price, direction`.
public struct LobsterMessage: Equatable, Sendable {
    /// Nanoseconds after midnight (exchange local time).
    public var time: Int64
    /// 1 submit, 2 partial cancel, 3 delete, 4 visible execution, 5 hidden execution, 7 halt.
    public var type: UInt8
    public var orderID: UInt64
    public var size: Int64
    /// Dollars × 10,000.
    public var price: Int64
    /// 1 buy limit order (bid side), −1 sell limit order (ask side).
    public var direction: Int8
    public var side: Side { direction == 1 ? .buy : .sell }
}

/// LOBSTER files (lobsterdata.com): message files and their orderbook files.
public enum Lobster {
    /// Price the orderbook file gives an empty ask level (with size 0).
    public static let emptyAskPrice: Int64 = 9_999_999_999
    /// Price the orderbook file gives an empty bid level (with size 0).
    public static let emptyBidPrice: Int64 = -9_999_999_999

    /// Reads a message file (plain or `.gz`). Errors name the file and line.
    public static func readMessages(_ path: String) throws(FeedError) -> [LobsterMessage] {
        let file = try CSVFile(path: path)
        var out: [LobsterMessage] = []
        out.reserveCapacity(file.bytes.count / 40)
        var lastTime = Int64.min
        try file.forEachLine { (line, fields) throws(FeedError) in
            guard fields.count >= 6 else { throw FeedError(.malformedRow, "\(path):\(line): \(fields.count) fields, a LOBSTER message has 6 (time,type,order_id,size,price,direction)") }
            func int(_ k: Int, _ name: String) throws(FeedError) -> Int64 {
                guard let v = parseInt(file.bytes, fields[k]) else { throw FeedError(.malformedRow, "\(path):\(line): \(name) '\(file.text(fields[k]))' is not an integer") }
                return v
            }
            guard let time = parseSeconds(file.bytes, fields[0]) else { throw FeedError(.malformedRow, "\(path):\(line): time '\(file.text(fields[0]))' is not seconds after midnight") }
            guard time >= lastTime else { throw FeedError(.outOfOrder, "\(path):\(line): time \(file.text(fields[0])) is before the previous message's") }
            lastTime = time
            let type = try int(1, "type"), id = try int(2, "order_id"), size = try int(3, "size"), price = try int(4, "price"), direction = try int(5, "direction")
            guard [1, 2, 3, 4, 5, 7].contains(type) else { throw FeedError(.malformedRow, "\(path):\(line): unknown message type \(type)") }
            guard direction == 1 || direction == -1 else { throw FeedError(.malformedRow, "\(path):\(line): direction \(direction), expected 1 or -1") }
            guard size >= 0, id >= 0 else { throw FeedError(.malformedRow, "\(path):\(line): negative size or order id") }
            out.append(LobsterMessage(time: time, type: UInt8(type), orderID: UInt64(id), size: size, price: price, direction: Int8(direction)))
        }
        return out
    }

    /// Reads an orderbook file: rows of `levels × (ask price, ask size, bid price, bid size)`,
    /// flattened. The level count comes from the first row's width.
    public static func readOrderbook(_ path: String) throws(FeedError) -> (levels: Int, values: [Int64]) {
        let file = try CSVFile(path: path)
        var values: [Int64] = []
        var width = 0
        try file.forEachLine { (line, fields) throws(FeedError) in
            if width == 0 {
                guard fields.count % 4 == 0 else { throw FeedError(.malformedRow, "\(path):\(line): \(fields.count) columns, not a multiple of 4") }
                width = fields.count
                values.reserveCapacity(file.bytes.count / 8)
            }
            guard fields.count == width else { throw FeedError(.malformedRow, "\(path):\(line): \(fields.count) columns, the file has \(width)") }
            for f in fields {
                guard let v = parseInt(file.bytes, f) else { throw FeedError(.malformedRow, "\(path):\(line): '\(file.text(f))' is not an integer") }
                values.append(v)
            }
        }
        return (width / 4, values)
    }

    static func parseInt(_ b: [UInt8], _ r: Range<Int>) -> Int64? {
        var i = r.lowerBound
        var negative = false
        if i < r.upperBound && b[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        guard i < r.upperBound else { return nil }
        var v: Int64 = 0
        while i < r.upperBound {
            let d = Int64(b[i]) - 48
            guard d >= 0 && d <= 9 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(d)
            guard !o1 && !o2 else { return nil }
            v = s
            i += 1
        }
        return negative ? -v : v
    }

    /// Seconds with up to 9 fractional digits → nanoseconds.
    static func parseSeconds(_ b: [UInt8], _ r: Range<Int>) -> Int64? {
        guard let dot = b[r].firstIndex(of: UInt8(ascii: ".")) else { return parseInt(b, r).map { $0 * 1_000_000_000 } }
        guard let whole = parseInt(b, r.lowerBound..<dot), whole >= 0 else { return nil }
        let digits = (dot + 1)..<r.upperBound
        guard digits.count <= 9 else { return nil }
        var fraction: Int64 = 0
        if !digits.isEmpty { guard let f = parseInt(b, digits), f >= 0 else { return nil }; fraction = f }
        for _ in digits.count..<9 { fraction *= 10 }
        return whole * 1_000_000_000 + fraction
    }
}

/// One volume change made by reconciliation.
public struct LobsterReconciliation: Equatable, Sendable {
    /// 1-based line number of the message after which it was made.
    public var message: Int
    public var side: Side
    /// Dollars × 10,000.
    public var price: Int64
    public var change: Int64
}

/// Rebuilds a LOBSTER window's book, message by message, through the L3 book.
///
/// A LOBSTER message file carries only events at the top `levels` prices, and its window
/// starts with a populated book. The rules (which reproduce the orderbook file exactly):
/// seed from orderbook row 1 with message 1's effect undone; apply each message as an exact
/// change of its own size at its price (ids never seen, and the part of a delete beyond the
/// tracked size, act on the level's unattributed volume); hidden executions and halts leave
/// the book alone; then, on each side, reconcile only at prices the previous row did not
/// show there: a price the row shows gets exactly its volume, a price the book would show
/// inside the window but the row does not is removed.
public final class LobsterReconstructor {
    public let levels: Int
    /// Price units per tick (the greatest common divisor of the prices seen).
    public let tickSize: Int64
    public let book = L3Book(expectedOrders: 1 << 12)
    /// Number of reconciliation changes made so far.
    public private(set) var reconciliations = 0

    /// An empty book (a journal replay sets the seed levels itself).
    public init(levels: Int, tickSize: Int64) {
        self.levels = levels
        self.tickSize = tickSize
    }

    /// Seeds the book from `firstRow` (the state after `first`) with `first` undone.
    public convenience init(levels: Int, tickSize: Int64, firstRow: ArraySlice<Int64>, first: LobsterMessage) {
        self.init(levels: levels, tickSize: tickSize)
        for k in 0..<levels {
            let base = firstRow.startIndex + 4 * k
            let (askPrice, askSize, bidPrice, bidSize) = (firstRow[base], firstRow[base + 1], firstRow[base + 2], firstRow[base + 3])
            if askPrice != Lobster.emptyAskPrice && askSize > 0 { book.adjustUnattributed(side: .sell, tick: askPrice / tickSize, by: askSize) }
            if bidPrice != Lobster.emptyBidPrice && bidSize > 0 { book.adjustUnattributed(side: .buy, tick: bidPrice / tickSize, by: bidSize) }
        }
        // Undo message 1: the row already includes its effect.
        let undo: Int64
        switch first.type {
        case 1: undo = -first.size
        case 2, 3, 4: undo = first.size
        default: undo = 0
        }
        book.adjustUnattributed(side: first.side, tick: first.price / tickSize, by: undo)
    }

    /// The greatest common divisor of every price in the messages and orderbook rows.
    public static func tickSize(messages: [LobsterMessage], orderbook: [Int64], levels: Int) -> Int64 {
        var g = TickSize()
        for m in messages { g.add(m.price) }
        var i = 0
        while i < orderbook.count {
            let p = orderbook[i]
            if p != Lobster.emptyAskPrice && p != Lobster.emptyBidPrice { g.add(p) }
            i += 2  // prices sit at even columns
        }
        return g.value
    }

    /// The greatest common divisor of the prices added (1 when there are none).
    public struct TickSize {
        private var g: Int64 = 0
        public init() {}
        public mutating func add(_ price: Int64) {
            var (a, b) = (g, abs(price))
            while b != 0 { (a, b) = (b, a % b) }
            g = a
        }
        public var value: Int64 { max(g, 1) }
    }

    /// Applies one message as an exact change of its size at its price.
    public func apply(_ m: LobsterMessage) {
        book.applyExact(BookAction(rawValue: m.type) ?? .halt, side: m.side, orderID: m.orderID, tick: m.price / tickSize, size: m.size)
    }

    /// Applies a journaled order-book message (prices in the same units as the file's).
    public func apply(_ m: OrderBookMessage) {
        book.applyExact(m.action, side: m.side, orderID: m.orderID, tick: m.price.raw / tickSize, size: m.quantity.raw)
    }

    /// Sets the volume at a price to `total` (a journaled seed or reconciliation).
    public func set(side: Side, price: Int64, total: Int64) {
        book.setLevelTotal(side: side, tick: price / tickSize, total: total)
    }

    /// Reconciles the book with orderbook `row` (the file's state after message `number`),
    /// at prices `previous` (the prior row) did not show on each side.
    public func reconcile(message number: Int, row: ArraySlice<Int64>, previous: ArraySlice<Int64>, log: ((LobsterReconciliation) -> Void)? = nil) {
        for side in [Side.sell, .buy] {
            let priceColumn = side == .sell ? 0 : 2
            // Row order (best first), never hash order: the changes are journaled in this order.
            var shown: [(price: Int64, size: Int64)] = [], before = Set<Int64>()
            for k in 0..<levels {
                let p = row[row.startIndex + 4 * k + priceColumn], s = row[row.startIndex + 4 * k + priceColumn + 1]
                if s > 0 && p != Lobster.emptyAskPrice && p != Lobster.emptyBidPrice { shown.append((p, s)) }
                let q = previous[previous.startIndex + 4 * k + priceColumn], t = previous[previous.startIndex + 4 * k + priceColumn + 1]
                if t > 0 && q != Lobster.emptyAskPrice && q != Lobster.emptyBidPrice { before.insert(q) }
            }
            for (price, size) in shown where !before.contains(price) {
                let change = size - book.depth(side: side, tick: price / tickSize)
                if change != 0 { adjust(number, side, price, change, log) }
            }
            // Remove what the book would show inside the window that the row does not.
            var changed = true
            while changed {
                changed = false
                for (tick, total) in book.top(levels, side: side) {
                    let price = tick * tickSize
                    if !shown.contains(where: { $0.price == price }) && !before.contains(price) {
                        adjust(number, side, price, -total, log)
                        changed = true
                    }
                }
            }
        }
    }

    private func adjust(_ number: Int, _ side: Side, _ price: Int64, _ change: Int64, _ log: ((LobsterReconciliation) -> Void)?) {
        book.adjustUnattributed(side: side, tick: price / tickSize, by: change)
        reconciliations += 1
        log?(LobsterReconciliation(message: number, side: side, price: price, change: change))
    }

    /// Writes the book's top `levels` in LOBSTER's orderbook layout into `row`.
    public func write(into row: inout [Int64]) {
        row.removeAll(keepingCapacity: true)
        let asks = book.top(levels, side: .sell), bids = book.top(levels, side: .buy)
        for k in 0..<levels {
            if k < asks.count { row.append(asks[k].tick * tickSize); row.append(asks[k].total) } else { row.append(Lobster.emptyAskPrice); row.append(0) }
            if k < bids.count { row.append(bids[k].tick * tickSize); row.append(bids[k].total) } else { row.append(Lobster.emptyBidPrice); row.append(0) }
        }
    }
}
