import RetraceCore

/// Typed reads for exports and reports.
extension RunStore {
    private func money(_ v: SQLiteValue, _ column: String) throws(StoreError) -> Money {
        guard let t = v.text, let m = Money(parsing: t) else { throw StoreError(.schema, "\(database.path): column \(column) holds \(v), not money") }
        return m
    }

    private func int(_ v: SQLiteValue) -> Int64 { v.integer ?? 0 }

    private func orderType(_ v: SQLiteValue, order: Int64) throws(StoreError) -> OrderType {
        for t in [OrderType.market, .limit, .ioc, .fok, .postOnly] where t.name == v.text { return t }
        throw StoreError(.schema, "\(database.path): order \(order) has type \(v), not market, limit, ioc, fok or post_only")
    }

    /// The catalog row of the run (the store holds one).
    public func run() throws(StoreError) -> RunRecord? {
        guard let r = try database.query("SELECT * FROM runs LIMIT 1").first else { return nil }
        return RunRecord(runID: r[0].text ?? "", mode: r[1].text ?? "", strategy: r[2].text ?? "", parameters: r[3].text ?? "",
                         dataset: r[4].text ?? "", seed: UInt64(bitPattern: int(r[5])), startedAt: r[6].text ?? "", endedAt: r[7].text ?? "",
                         status: r[8].text ?? "", fingerprint: r[9].text ?? "", events: int(r[10]), orders: int(r[11]), fills: int(r[12]),
                         pnl: try money(r[13], "runs.pnl"), error: r[14].text ?? "")
    }

    /// Instruments by id.
    public func instruments() throws(StoreError) -> [Instrument] {
        try database.query("SELECT instrument_id, symbol, price_scale, quantity_scale FROM instruments ORDER BY instrument_id").map { r in
            Instrument(id: InstrumentID(UInt32(int(r[0]))), symbol: Symbol(r[1].text ?? "?") ?? Symbol("?")!, priceScale: Int(int(r[2])), quantityScale: Int(int(r[3])))
        }
    }

    /// Round-trip trades in order.
    public func trades() throws(StoreError) -> [TradeRow] {
        var out: [TradeRow] = []
        for r in try database.query("SELECT * FROM trades ORDER BY trade_id") {
            out.append(TradeRow(tradeID: int(r[0]), instrument: InstrumentID(UInt32(int(r[1]))), size: Quantity(raw: int(r[2])),
                                entryTime: Timestamp(nanos: int(r[3])), exitTime: Timestamp(nanos: int(r[4])), entryValue: try money(r[5], "entry_value"),
                                exitValue: try money(r[6], "exit_value"), pnl: try money(r[7], "pnl"), commission: try money(r[8], "commission")))
        }
        return out
    }

    /// Fills in journal order.
    public func fills() throws(StoreError) -> [FillRow] {
        var out: [FillRow] = []
        for r in try database.query("SELECT * FROM fills ORDER BY sequence") {
            let fill = OrderFilled(orderID: ClientOrderID(UInt64(int(r[1]))), instrument: InstrumentID(UInt32(int(r[2]))),
                                   side: r[4].text == "buy" ? .buy : .sell, price: Price(raw: int(r[5])), quantity: Quantity(raw: int(r[6])),
                                   fee: try money(r[7], "fee"), liquidity: r[8].text == "maker" ? .maker : .taker, leavesQuantity: Quantity(raw: int(r[9])))
            out.append(FillRow(sequence: UInt64(int(r[0])), time: Timestamp(nanos: int(r[3])), fill: fill))
        }
        return out
    }

    /// Position changes in journal order.
    public func positions() throws(StoreError) -> [PositionRow] {
        var out: [PositionRow] = []
        for r in try database.query("SELECT * FROM positions ORDER BY sequence") {
            let p = PositionChanged(instrument: InstrumentID(UInt32(int(r[1]))), quantity: Quantity(raw: int(r[3])), costBasis: try money(r[4], "cost_basis"),
                                    realizedPnL: try money(r[5], "realized_pnl"), fees: try money(r[6], "fees"))
            out.append(PositionRow(sequence: UInt64(int(r[0])), time: Timestamp(nanos: int(r[2])), position: p))
        }
        return out
    }

    /// The equity curve in journal order.
    public func equity() throws(StoreError) -> [EquityRow] {
        var out: [EquityRow] = []
        for r in try database.query("SELECT * FROM equity ORDER BY sequence") {
            let b = BalanceChanged(cash: try money(r[2], "cash"), equity: try money(r[3], "equity"), realizedPnL: try money(r[4], "realized_pnl"),
                                   unrealizedPnL: try money(r[5], "unrealized_pnl"), fees: try money(r[6], "fees"))
            out.append(EquityRow(sequence: UInt64(int(r[0])), time: Timestamp(nanos: int(r[1])), balance: b))
        }
        return out
    }

    /// Orders by id.
    public func orders() throws(StoreError) -> [OrderRow] {
        var out: [OrderRow] = []
        for r in try database.query("SELECT * FROM orders ORDER BY order_id") {
            var o = OrderRow(orderID: ClientOrderID(UInt64(int(r[0]))), instrument: InstrumentID(UInt32(int(r[1]))), side: r[2].text == "buy" ? .buy : .sell,
                             type: try orderType(r[3], order: int(r[0])), sizing: r[4].text == "fixed" ? .fixed : .allEquity,
                             quantity: Quantity(raw: int(r[5])), limitPrice: Price(raw: int(r[6])), submitTime: Timestamp(nanos: int(r[7])),
                             submitSequence: UInt64(int(r[8])))
            guard let state = OrderStatus(text: r[9].text ?? "") else {
                throw StoreError(.schema, "\(database.path): order \(int(r[0])) has status \(r[9]), not one of \(OrderStatus.allCases.map { $0.text.description }.joined(separator: ", "))")
            }
            o.state = state
            o.filledQuantity = Quantity(raw: int(r[10]))
            o.filledNotional = try money(r[11], "filled_notional")
            o.fees = try money(r[12], "fees")
            let reason = r[13].text ?? ""
            if !reason.isEmpty {
                guard let known = RejectReason.allCases.first(where: { $0.description == reason }) else {
                    throw StoreError(.schema, "\(database.path): order \(int(r[0])) has an unknown reject reason '\(reason)'")
                }
                o.rejection = known
            }
            o.lastUpdateTime = Timestamp(nanos: int(r[14]))
            out.append(o)
        }
        return out
    }
}
