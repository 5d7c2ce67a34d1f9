import RetraceCore
import RetraceMarket

/// A replay breakpoint (`--break-on`).
public enum BreakCondition: Equatable, Sendable, CustomStringConvertible {
    /// An input or output event of this kind: `kind=OrderRejected`.
    case kind(EventKind)
    /// Any output about this order: `order=17`.
    case order(UInt64)
    /// The price (last trade, else the mid) reaches the level from the other side:
    /// `price>=101.5`, `price<=99`, `price[AAPL]>=190`.
    case priceAtOrAbove(symbol: String?, level: String)
    case priceAtOrBelow(symbol: String?, level: String)
    /// A position's size beyond this many units, long or short: `position>5`.
    case positionBeyond(symbol: String?, limit: String)
    /// Profit and loss (equity − starting cash) below a value: `pnl<-250`.
    case pnlBelow(Money)
    /// The recorded input with this sequence number or later: `seq=1200`.
    case sequence(UInt64)

    public static let forms = "kind=EVENT_KIND, order=ID, price>=X, price<=X, price[SYMBOL]>=X, position>N, position[SYMBOL]>N, pnl<X, seq=N"

    /// Parses one `--break-on` value; the error names what is wrong.
    public init(parsing text: String) throws(EngineError) {
        func fail(_ why: String) -> EngineError {
            EngineError(.badInput, "--break-on \(text): \(why); expected one of: \(Self.forms)")
        }
        func split(_ s: Substring, _ name: String) -> (symbol: String?, rest: Substring)? {
            guard s.hasPrefix(name) else { return nil }
            var rest = s.dropFirst(name.count)
            var symbol: String?
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else { return nil }
                symbol = String(rest[rest.index(after: rest.startIndex)..<close])
                rest = rest[rest.index(after: close)...]
            }
            return (symbol, rest)
        }
        func decimal(_ s: Substring) throws(EngineError) -> String {
            guard let digits = FixedPoint.fractionalDigits(s), FixedPoint.parse(s, scale: digits) != nil else { throw fail("'\(s)' is not a decimal number") }
            return String(s)
        }
        let t = Substring(text)
        if t.hasPrefix("kind=") {
            let name = t.dropFirst(5).lowercased()
            guard let k = EventKind.allCases.first(where: { $0.name.lowercased() == name }) else {
                throw fail("unknown event kind '\(t.dropFirst(5))' (kinds: \(EventKind.allCases.map(\.name).joined(separator: ", ")))")
            }
            self = .kind(k)
        } else if t.hasPrefix("order=") {
            guard let id = UInt64(t.dropFirst(6)) else { throw fail("order id must be a whole number") }
            self = .order(id)
        } else if t.hasPrefix("seq=") {
            guard let s = UInt64(t.dropFirst(4)) else { throw fail("sequence must be a whole number") }
            self = .sequence(s)
        } else if t.hasPrefix("pnl<") {
            guard let m = Money(parsing: t.dropFirst(4)) else { throw fail("'\(t.dropFirst(4))' is not an amount") }
            self = .pnlBelow(m)
        } else if let (symbol, rest) = split(t, "price") {
            if rest.hasPrefix(">=") { self = .priceAtOrAbove(symbol: symbol, level: try decimal(rest.dropFirst(2))) }
            else if rest.hasPrefix("<=") { self = .priceAtOrBelow(symbol: symbol, level: try decimal(rest.dropFirst(2))) }
            else { throw fail("a price condition is price>=X or price<=X") }
        } else if let (symbol, rest) = split(t, "position") {
            guard rest.hasPrefix(">") else { throw fail("a position condition is position>N (long or short)") }
            self = .positionBeyond(symbol: symbol, limit: try decimal(rest.dropFirst()))
        } else {
            throw fail("unknown condition")
        }
    }

    public var description: String {
        switch self {
        case .kind(let k): "kind=\(k.name)"
        case .order(let id): "order=\(id)"
        case .priceAtOrAbove(let s, let l): "price\(s.map { "[\($0)]" } ?? "")>=\(l)"
        case .priceAtOrBelow(let s, let l): "price\(s.map { "[\($0)]" } ?? "")<=\(l)"
        case .positionBeyond(let s, let l): "position\(s.map { "[\($0)]" } ?? "")>\(l)"
        case .pnlBelow(let m): "pnl<\(m.text)"
        case .sequence(let s): "seq=\(s)"
        }
    }
}

/// What the user asked for at a step prompt.
public enum StepAnswer: Sendable {
    case next, continueRun, state, quit
}

/// Watches a replay for breakpoints and drives `--step`: it hears every output (the
/// recorder's tap) and is called after every input (the engine's `afterEvent`). It keeps
/// the last K events, the open orders, and prints the state where it stops. It only reads
/// engine state; it never changes what the engine does.
public final class ReplayMonitor: @unchecked Sendable {
    public let conditions: [BreakCondition]
    public let context: Int
    public let levels: Int
    public let startingCash: Money
    /// Asks what to do next (stepping); nil: never steps.
    public var prompt: ((String) -> StepAnswer)?
    /// Where stepping and state text goes.
    public var print: (String) -> Void
    /// Stepping one input at a time (set by `--step`, cleared by `c`).
    public private(set) var stepping: Bool
    /// The breakpoint that fired and the state printed there (nil: none fired).
    public private(set) var stop: (condition: BreakCondition, sequence: UInt64, state: String)?
    /// While this gate is muted (fast-forward to a window) the monitor only learns.
    public var gate: RecorderGate?

    private var text = EventText()
    private var recent: [String] = []
    private var recentStart = 0
    private var outputs: [Event] = []
    private var kindsSinceInput: UInt64 = 0
    private var open: [UInt64: (order: OrderSubmitted, leaves: Quantity, status: String)] = [:]
    private var wasBeyond: [[Bool]]

    public init(conditions: [BreakCondition], context: Int = 10, levels: Int = 5, startingCash: Money, step: Bool = false,
                print: @escaping (String) -> Void = { _ in }) {
        (self.conditions, self.context, self.levels, self.startingCash, self.stepping, self.print) = (conditions, max(context, 0), max(levels, 1), startingCash, step, print)
        wasBeyond = conditions.map { _ in [] }
    }

    /// The recorder's tap: every output as it is recorded.
    public func output(_ e: Event) {
        outputs.append(e)
        kindsSinceInput |= 1 << UInt64(e.body.kind.rawValue)
        switch e.body {
        case .orderSubmitted(let o): open[o.orderID.raw] = (o, o.quantity, "sent")
        case .orderAccepted(let a): open[a.orderID.raw]?.status = "working"
        case .orderFilled(let f):
            if f.leavesQuantity.raw == 0 { open[f.orderID.raw] = nil } else {
                open[f.orderID.raw]?.leaves = f.leavesQuantity
                open[f.orderID.raw]?.status = "partially filled"
            }
        case .orderModified(let m):
            open[m.orderID.raw]?.leaves = m.leavesQuantity
            open[m.orderID.raw]?.order.limitPrice = m.price
        case .orderCanceled(let c): open[c.orderID.raw] = nil
        case .orderRejected(let r): open[r.orderID.raw] = nil
        default: break
        }
    }

    /// After each input: checks the breakpoints and steps. True stops the replay.
    public func after(_ input: Event, ledger: Ledger, venue: SimulatedVenue) -> Bool {
        text.learn(input)
        if let gate, gate.muted {
            outputs.removeAll(keepingCapacity: true)
            kindsSinceInput = 0
            return false
        }
        remember("in  #\(input.sequence) " + text.text(input))
        for o in outputs { remember("out      " + text.text(o)) }
        kindsSinceInput |= 1 << UInt64(input.body.kind.rawValue)
        defer {
            outputs.removeAll(keepingCapacity: true)
            kindsSinceInput = 0
        }
        var fired: BreakCondition?
        for (i, c) in conditions.enumerated() where check(c, i, input, ledger) { fired = fired ?? c }
        if stepping {
            print("in  #\(input.sequence) " + text.text(input))
            for o in outputs { print("    out " + text.text(o)) }
        }
        if let fired {
            let state = describeState(input, ledger: ledger, venue: venue)
            if prompt == nil {
                stop = (fired, input.sequence, "breakpoint \(fired) at recorded #\(input.sequence)\n" + state)
                return true
            }
            print("breakpoint \(fired) at recorded #\(input.sequence)\n" + state)
            stepping = true
        }
        guard stepping, let prompt else { return false }
        while true {
            switch prompt("[enter] next  c continue  s state  q quit > ") {
            case .next: return false
            case .continueRun: stepping = false; return false
            case .state: print(describeState(input, ledger: ledger, venue: venue))
            case .quit:
                stop = (.sequence(input.sequence), input.sequence, "stopped by the user at recorded #\(input.sequence)\n" + describeState(input, ledger: ledger, venue: venue))
                return true
            }
        }
    }

    private func remember(_ line: String) {
        guard context > 0 else { return }
        if recent.count < context { recent.append(line) } else {
            recent[recentStart] = line
            recentStart = (recentStart + 1) % context
        }
    }

    private func check(_ c: BreakCondition, _ index: Int, _ input: Event, _ ledger: Ledger) -> Bool {
        switch c {
        case .kind(let k): return kindsSinceInput & (1 << UInt64(k.rawValue)) != 0
        case .order(let id): return outputs.contains { orderID(of: $0.body) == id }
        case .sequence(let s): return input.sequence >= s
        case .pnlBelow(let m): return ledger.portfolio.equity - startingCash < m
        case .priceAtOrAbove(let symbol, let level), .priceAtOrBelow(let symbol, let level):
            guard let id = input.body.marketInstrument, let instrument = text.instrument(id), symbol == nil || symbol == instrument.symbol.description,
                  let price = currentPrice(id, ledger), let limit = FixedPoint.parse(level, scale: instrument.priceScale) else { return false }
            let beyond: Bool
            if case .priceAtOrAbove = c { beyond = price >= limit } else { beyond = price <= limit }
            while wasBeyond[index].count <= Int(id.raw) { wasBeyond[index].append(false) }
            defer { wasBeyond[index][Int(id.raw)] = beyond }
            return beyond && !wasBeyond[index][Int(id.raw)]  // fires on crossing, not while it stays beyond
        case .positionBeyond(let symbol, let limit):
            for (i, p) in ledger.portfolio.positions.enumerated() where p.quantity.raw != 0 {
                guard let instrument = text.instrument(InstrumentID(UInt32(i))), symbol == nil || symbol == instrument.symbol.description,
                      let l = FixedPoint.parse(limit, scale: instrument.quantityScale) else { continue }
                if p.quantity.raw.magnitude > l.magnitude { return true }
            }
            return false
        }
    }

    /// The last trade, else the mid of the touch (raw price units).
    private func currentPrice(_ id: InstrumentID, _ ledger: Ledger) -> Int64? {
        guard let v = ledger.lastValue(id) else { return nil }
        if let t = v.lastTrade { return t.price.raw }
        if let b = v.bid, let a = v.ask { return (b.price.raw + a.price.raw) / 2 }
        return nil
    }

    private func orderID(of body: EventBody) -> UInt64? {
        switch body {
        case .orderSubmitted(let o): o.orderID.raw
        case .orderAccepted(let a): a.orderID.raw
        case .orderRejected(let r): r.orderID.raw
        case .orderCanceled(let c): c.orderID.raw
        case .orderFilled(let f): f.orderID.raw
        case .orderModified(let m): m.orderID.raw
        case .orderModifyRejected(let m): m.orderID.raw
        default: nil
        }
    }

    /// Book top-N, positions, account, open orders and the last K events.
    public func describeState(_ input: Event, ledger: Ledger, venue: SimulatedVenue) -> String {
        var s = ""
        var books: [InstrumentID] = []
        if let id = input.body.marketInstrument { books.append(id) } else {
            for i in text.instruments.indices where text.instruments[i] != nil { books.append(InstrumentID(UInt32(i))) }
        }
        for id in books.prefix(3) {
            guard let m = venue.market(id) else { continue }
            let top = m.depth.map { $0.l2.top(levels) } ?? m.book.top(levels)
            s += "book \(text.symbol(id)) (top \(levels)):\n"
            s += "    " + "bid".padding(toLength: 28, withPad: " ", startingAt: 0) + "ask\n"
            for k in 0..<max(top.bids.count, top.asks.count) {
                let b = k < top.bids.count ? "\(text.quantity(id, top.bids[k].quantity)) @ \(text.price(id, top.bids[k].price))" : ""
                let a = k < top.asks.count ? "\(text.price(id, top.asks[k].price)) x \(text.quantity(id, top.asks[k].quantity))" : ""
                s += "    " + b.padding(toLength: 28, withPad: " ", startingAt: 0) + a + "\n"
            }
            if top.bids.isEmpty && top.asks.isEmpty { s += "    (empty)\n" }
        }
        let p = ledger.portfolio
        s += "account: equity \(p.equity.text)  cash \(p.cash.text)  pnl \((p.equity - startingCash).text)  realized \(p.realizedPnL.text)  fees \(p.fees.text)\n"
        let held = p.positions.enumerated().filter { $0.element.quantity.raw != 0 }
        s += "positions:" + (held.isEmpty ? " none\n" : "\n")
        for (i, pos) in held {
            let id = InstrumentID(UInt32(i))
            s += "    \(text.symbol(id)) \(text.quantity(id, pos.quantity)) cost \(pos.costBasis.text) realized \(pos.realizedPnL.text)\n"
        }
        s += "open orders:" + (open.isEmpty ? " none\n" : "\n")
        for key in open.keys.sorted() {
            let o = open[key]!
            let limit = o.order.type.hasLimit ? " @ \(text.price(o.order.instrument, o.order.limitPrice))" : ""
            s += "    order=\(key) \(text.symbol(o.order.instrument)) \(o.order.side == .buy ? "buy" : "sell") \(o.order.type.name) leaves \(text.quantity(o.order.instrument, o.leaves))\(limit) (\(o.status))\n"
        }
        s += "last \(recent.count) events:\n"
        for k in 0..<recent.count { s += "    " + recent[(recentStart + k) % recent.count] + "\n" }
        return s
    }
}
