import RetraceCore

/// A run's SQLite store: the run catalog and the projections (orders, fills, positions,
/// equity curve, trades), written in batched transactions in WAL mode.
///
/// The store is a projection: everything in it can be rebuilt from the run's journal.
public final class RunStore {
    /// Schema version recorded in `PRAGMA user_version`.
    public static let schemaVersion: Int64 = 1
    /// Rows written per transaction.
    public let batchRows: Int
    /// The underlying connection.
    public let database: SQLiteDatabase

    private var pendingRows = 0
    private var inTransaction = false
    private var explicitTransaction = false
    private var insertFill: SQLiteStatement?
    private var insertPosition: SQLiteStatement?
    private var insertEquity: SQLiteStatement?
    private var insertTrade: SQLiteStatement?
    private var insertOrder: SQLiteStatement?

    /// Opens (creating and migrating) the store at `path`.
    public init(path: String, batchRows: Int = 10_000) throws(StoreError) {
        precondition(batchRows > 0, "batchRows must be positive")
        self.batchRows = batchRows
        database = try SQLiteDatabase(path: path)
        try database.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
        try migrate()
    }

    private func migrate() throws(StoreError) {
        let version = try database.query("PRAGMA user_version").first?.first?.integer ?? 0
        if version == RunStore.schemaVersion { return }
        guard version == 0 else {
            throw StoreError(.schema, "\(database.path): schema version \(version) is newer than this build's \(RunStore.schemaVersion)")
        }
        try database.execute(RunStore.schemaV1 + "PRAGMA user_version = \(RunStore.schemaVersion);")
    }

    static let schemaV1 = """
    CREATE TABLE runs (run_id TEXT PRIMARY KEY, mode TEXT NOT NULL, strategy TEXT NOT NULL, parameters TEXT NOT NULL,
      dataset TEXT NOT NULL, seed INTEGER NOT NULL, started_at TEXT NOT NULL, ended_at TEXT NOT NULL, status TEXT NOT NULL,
      fingerprint TEXT NOT NULL, events INTEGER NOT NULL, orders INTEGER NOT NULL, fills INTEGER NOT NULL, pnl TEXT NOT NULL,
      error TEXT NOT NULL);
    CREATE TABLE instruments (instrument_id INTEGER PRIMARY KEY, symbol TEXT NOT NULL, price_scale INTEGER NOT NULL,
      quantity_scale INTEGER NOT NULL);
    CREATE TABLE orders (order_id INTEGER PRIMARY KEY, instrument_id INTEGER NOT NULL, side TEXT NOT NULL, type TEXT NOT NULL,
      sizing TEXT NOT NULL, quantity_raw INTEGER NOT NULL, limit_price_raw INTEGER NOT NULL, submit_time_ns INTEGER NOT NULL,
      submit_sequence INTEGER NOT NULL, status TEXT NOT NULL, filled_quantity_raw INTEGER NOT NULL, filled_notional TEXT NOT NULL,
      fees TEXT NOT NULL, reject_reason TEXT NOT NULL, last_update_ns INTEGER NOT NULL);
    CREATE TABLE fills (sequence INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, instrument_id INTEGER NOT NULL,
      time_ns INTEGER NOT NULL, side TEXT NOT NULL, price_raw INTEGER NOT NULL, quantity_raw INTEGER NOT NULL, fee TEXT NOT NULL,
      liquidity TEXT NOT NULL, leaves_quantity_raw INTEGER NOT NULL);
    CREATE TABLE positions (sequence INTEGER PRIMARY KEY, instrument_id INTEGER NOT NULL, time_ns INTEGER NOT NULL,
      quantity_raw INTEGER NOT NULL, cost_basis TEXT NOT NULL, realized_pnl TEXT NOT NULL, fees TEXT NOT NULL);
    CREATE TABLE equity (sequence INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, cash TEXT NOT NULL, equity TEXT NOT NULL,
      realized_pnl TEXT NOT NULL, unrealized_pnl TEXT NOT NULL, fees TEXT NOT NULL);
    CREATE TABLE trades (trade_id INTEGER PRIMARY KEY, instrument_id INTEGER NOT NULL, size_raw INTEGER NOT NULL,
      entry_time_ns INTEGER NOT NULL, exit_time_ns INTEGER NOT NULL, entry_value TEXT NOT NULL, exit_value TEXT NOT NULL,
      pnl TEXT NOT NULL, commission TEXT NOT NULL);

    """

    // MARK: Catalog

    /// Inserts or replaces the run's catalog row (written immediately).
    public func saveRun(_ r: RunRecord) throws(StoreError) {
        try flush()
        let s = try database.prepare("INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
        let values: [SQLiteValue] = [
            .text(r.runID), .text(r.mode), .text(r.strategy), .text(r.parameters), .text(r.dataset), .integer(Int64(bitPattern: r.seed)),
            .text(r.startedAt), .text(r.endedAt), .text(r.status), .text(r.fingerprint), .integer(r.events), .integer(r.orders),
            .integer(r.fills), .text(r.pnl.text), .text(r.error),
        ]
        for (i, v) in values.enumerated() { s.bind(i + 1, v) }
        try s.run()
    }

    /// Records an instrument definition.
    public func saveInstrument(_ i: Instrument) throws(StoreError) {
        let s = try database.prepare("INSERT OR REPLACE INTO instruments VALUES (?,?,?,?)")
        s.bind(1, Int64(i.id.raw)); s.bind(2, i.symbol.description); s.bind(3, Int64(i.priceScale)); s.bind(4, Int64(i.quantityScale))
        try s.run()
    }

    // MARK: Batched projections

    private func statement(_ slot: inout SQLiteStatement?, _ sql: String) throws(StoreError) -> SQLiteStatement {
        if let s = slot { return s }
        let s = try database.prepare(sql)
        s.rebindsEveryParameter = true  // each add binds every column
        slot = s
        return s
    }

    private func beginRow() throws(StoreError) {
        if !inTransaction { try database.execute("BEGIN"); inTransaction = true }
    }

    private func endRow() throws(StoreError) {
        pendingRows += 1
        if pendingRows >= batchRows && !explicitTransaction { try flush() }
    }

    /// Opens a transaction that only `flush` (commit) or `rollback` ends: rows added in it
    /// are never committed in part.
    public func begin() throws(StoreError) {
        try beginRow()
        explicitTransaction = true
    }

    /// Commits the open batch, if any.
    public func flush() throws(StoreError) {
        guard inTransaction else { return }
        try database.execute("COMMIT")
        inTransaction = false
        explicitTransaction = false
        pendingRows = 0
    }

    /// Abandons the open batch, if any: none of its rows stay in the store.
    public func rollback() {
        guard inTransaction else { return }
        // A failed COMMIT may already have ended the transaction; ROLLBACK then reports
        // "no transaction is active", which is the state we want.
        try? database.execute("ROLLBACK")
        inTransaction = false
        explicitTransaction = false
        pendingRows = 0
    }

    /// Appends a fill row.
    public func add(_ r: FillRow) throws(StoreError) {
        try beginRow()
        let s = try statement(&insertFill, "INSERT INTO fills VALUES (?,?,?,?,?,?,?,?,?,?)")
        let f = r.fill
        s.bind(1, Int64(r.sequence)); s.bind(2, Int64(f.orderID.raw)); s.bind(3, Int64(f.instrument.raw)); s.bind(4, r.time.nanos)
        s.bind(5, f.side == .buy ? "buy" as StaticString : "sell"); s.bind(6, f.price.raw); s.bind(7, f.quantity.raw); s.bind(8, f.fee)
        s.bind(9, f.liquidity == .maker ? "maker" as StaticString : "taker"); s.bind(10, f.leavesQuantity.raw)
        try s.run()
        try endRow()
    }

    /// Appends a position row.
    public func add(_ r: PositionRow) throws(StoreError) {
        try beginRow()
        let s = try statement(&insertPosition, "INSERT INTO positions VALUES (?,?,?,?,?,?,?)")
        let p = r.position
        s.bind(1, Int64(r.sequence)); s.bind(2, Int64(p.instrument.raw)); s.bind(3, r.time.nanos); s.bind(4, p.quantity.raw)
        s.bind(5, p.costBasis); s.bind(6, p.realizedPnL); s.bind(7, p.fees)
        try s.run()
        try endRow()
    }

    /// Appends an equity-curve point.
    public func add(_ r: EquityRow) throws(StoreError) {
        try beginRow()
        let s = try statement(&insertEquity, "INSERT INTO equity VALUES (?,?,?,?,?,?,?)")
        let b = r.balance
        s.bind(1, Int64(r.sequence)); s.bind(2, r.time.nanos); s.bind(3, b.cash); s.bind(4, b.equity)
        s.bind(5, b.realizedPnL); s.bind(6, b.unrealizedPnL); s.bind(7, b.fees)
        try s.run()
        try endRow()
    }

    /// Appends a round-trip trade.
    public func add(_ t: TradeRow) throws(StoreError) {
        try beginRow()
        let s = try statement(&insertTrade, "INSERT INTO trades VALUES (?,?,?,?,?,?,?,?,?)")
        s.bind(1, t.tradeID); s.bind(2, Int64(t.instrument.raw)); s.bind(3, t.size.raw); s.bind(4, t.entryTime.nanos)
        s.bind(5, t.exitTime.nanos); s.bind(6, t.entryValue); s.bind(7, t.exitValue); s.bind(8, t.pnl)
        s.bind(9, t.commission)
        try s.run()
        try endRow()
    }

    /// Inserts or replaces an order's state.
    public func add(_ o: OrderRow) throws(StoreError) {
        try beginRow()
        let s = try statement(&insertOrder, "INSERT OR REPLACE INTO orders VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
        s.bind(1, Int64(o.orderID.raw)); s.bind(2, Int64(o.instrument.raw)); s.bind(3, o.side == .buy ? "buy" as StaticString : "sell")
        s.bind(4, o.type.name); s.bind(5, o.sizing == .fixed ? "fixed" as StaticString : "all")
        s.bind(6, o.quantity.raw); s.bind(7, o.limitPrice.raw); s.bind(8, o.submitTime.nanos); s.bind(9, Int64(o.submitSequence))
        s.bind(10, o.status); s.bind(11, o.filledQuantity.raw); s.bind(12, o.filledNotional); s.bind(13, o.fees)
        s.bind(14, o.rejectReason); s.bind(15, o.lastUpdateTime.nanos)
        try s.run()
        try endRow()
    }

    /// Deletes every projection row (before a rebuild from the journal). The catalog stays.
    public func clearProjections() throws(StoreError) {
        try flush()
        try database.execute("DELETE FROM orders; DELETE FROM fills; DELETE FROM positions; DELETE FROM equity; DELETE FROM trades; DELETE FROM instruments;")
    }
}
