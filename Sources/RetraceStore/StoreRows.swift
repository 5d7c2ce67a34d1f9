import RetraceCore

/// One run in the catalog.
public struct RunRecord: Equatable, Sendable {
    public var runID: String
    public var mode: String
    public var strategy: String
    /// Strategy, account and broker parameters as JSON text.
    public var parameters: String
    public var dataset: String
    public var seed: UInt64
    public var startedAt: String
    public var endedAt: String
    /// `running`, `completed` or `failed`.
    public var status: String
    public var fingerprint: String
    public var events: Int64
    public var orders: Int64
    public var fills: Int64
    public var pnl: Money
    public var error: String
    public init(runID: String, mode: String, strategy: String, parameters: String, dataset: String, seed: UInt64, startedAt: String,
                endedAt: String = "", status: String = "running", fingerprint: String = "", events: Int64 = 0, orders: Int64 = 0,
                fills: Int64 = 0, pnl: Money = .zero, error: String = "") {
        (self.runID, self.mode, self.strategy, self.parameters, self.dataset, self.seed, self.startedAt) = (runID, mode, strategy, parameters, dataset, seed, startedAt)
        (self.endedAt, self.status, self.fingerprint, self.events, self.orders, self.fills, self.pnl, self.error) = (endedAt, status, fingerprint, events, orders, fills, pnl, error)
    }
}

/// Where an order stands, as the `orders` table's `status` text says it.
public enum OrderStatus: UInt8, Sendable, CaseIterable {
    case submitted, accepted, partiallyFilled, filled, canceled, rejected

    /// The status text (`partially_filled`, …), a constant.
    public var text: StaticString {
        switch self {
        case .submitted: "submitted"
        case .accepted: "accepted"
        case .partiallyFilled: "partially_filled"
        case .filled: "filled"
        case .canceled: "canceled"
        case .rejected: "rejected"
        }
    }

    public init?(text: String) {
        guard let s = Self.allCases.first(where: { $0.text.description == text }) else { return nil }
        self = s
    }

    /// Filled, canceled or rejected: nothing more happens to the order.
    public var isFinal: Bool { self == .filled || self == .canceled || self == .rejected }
}

/// An order's final state. Plain values only (no strings), so the store writer copies a row
/// without reference counting; `status` and `rejectReason` are the texts the table holds.
public struct OrderRow: Equatable, Sendable {
    public var orderID: ClientOrderID
    public var instrument: InstrumentID
    public var side: Side
    public var type: OrderType
    public var sizing: OrderSizing
    public var quantity: Quantity
    public var limitPrice: Price
    public var submitTime: Timestamp
    public var submitSequence: UInt64
    public var state: OrderStatus
    public var filledQuantity: Quantity
    /// Sum of price × quantity over the order's fills.
    public var filledNotional: Money
    public var fees: Money
    /// Why the order was rejected (nil unless it was).
    public var rejection: RejectReason?
    public var lastUpdateTime: Timestamp
    public init(orderID: ClientOrderID, instrument: InstrumentID, side: Side, type: OrderType, sizing: OrderSizing, quantity: Quantity,
                limitPrice: Price, submitTime: Timestamp, submitSequence: UInt64) {
        (self.orderID, self.instrument, self.side, self.type, self.sizing, self.quantity, self.limitPrice) = (orderID, instrument, side, type, sizing, quantity, limitPrice)
        (self.submitTime, self.submitSequence, self.state, self.filledQuantity, self.filledNotional) = (submitTime, submitSequence, .submitted, .zero, .zero)
        (self.fees, self.rejection, self.lastUpdateTime) = (.zero, nil, submitTime)
    }

    /// `submitted`, `accepted`, `partially_filled`, `filled`, `canceled`, `rejected`.
    public var status: String { state.text.description }
    /// The rejection's reason as text ("" when not rejected).
    public var rejectReason: String { rejection?.description ?? "" }
}

/// One execution.
public struct FillRow: Equatable, Sendable {
    public var sequence: UInt64
    public var time: Timestamp
    public var fill: OrderFilled
    public init(sequence: UInt64, time: Timestamp, fill: OrderFilled) { (self.sequence, self.time, self.fill) = (sequence, time, fill) }
}

/// A position after a change.
public struct PositionRow: Equatable, Sendable {
    public var sequence: UInt64
    public var time: Timestamp
    public var position: PositionChanged
    public init(sequence: UInt64, time: Timestamp, position: PositionChanged) { (self.sequence, self.time, self.position) = (sequence, time, position) }
}

/// One point of the equity curve.
public struct EquityRow: Equatable, Sendable {
    public var sequence: UInt64
    public var time: Timestamp
    public var balance: BalanceChanged
    public init(sequence: UInt64, time: Timestamp, balance: BalanceChanged) { (self.sequence, self.time, self.balance) = (sequence, time, balance) }
}

/// A round-trip trade: from flat (or a flip) back to flat (or the next flip).
public struct TradeRow: Equatable, Sendable {
    public var tradeID: Int64
    public var instrument: InstrumentID
    /// Signed size: negative for a short.
    public var size: Quantity
    public var entryTime: Timestamp
    public var exitTime: Timestamp
    /// Σ price × quantity of the opening fills.
    public var entryValue: Money
    /// Σ price × quantity of the closing fills.
    public var exitValue: Money
    /// Net PnL after both commissions.
    public var pnl: Money
    /// Entry plus exit commissions.
    public var commission: Money
    public init(tradeID: Int64, instrument: InstrumentID, size: Quantity, entryTime: Timestamp, exitTime: Timestamp, entryValue: Money, exitValue: Money, pnl: Money, commission: Money) {
        (self.tradeID, self.instrument, self.size, self.entryTime, self.exitTime) = (tradeID, instrument, size, entryTime, exitTime)
        (self.entryValue, self.exitValue, self.pnl, self.commission) = (entryValue, exitValue, pnl, commission)
    }
}
