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
    private var fillsGroup = Grouped<FillRow>(table: "fills", columns: 10)
    private var positionsGroup = Grouped<PositionRow>(table: "positions", columns: 7)
    private var equityGroup = Grouped<EquityRow>(table: "equity", columns: 7)
    private var tradesGroup = Grouped<TradeRow>(table: "trades", columns: 9)
    private var ordersGroup = Grouped<OrderRow>(table: "orders", columns: 15, replace: true)

    /// Rows of one table inserted `groupRows` at a time by one multi-row INSERT: a
    /// statement's fixed cost (cursor, program start, reset) is paid once per group
    /// instead of once per row. Rows short of a group wait here and are inserted one by
    /// one before the transaction commits, so a commit holds every row added before it.
    struct Grouped<Row> {
        static var groupRows: Int { 16 }
        let columns: Int
        var waiting: [Row] = []
        var group: SQLiteStatement?
        var single: SQLiteStatement?
        /// The statements' text, made once (it was rebuilt for every group inserted).
        let groupSQL: String, singleSQL: String
        init(table: String, columns: Int, replace: Bool = false) {
            let verb = replace ? "INSERT OR REPLACE" : "INSERT"
            self.columns = columns
            let one = "(" + Array(repeating: "?", count: columns).joined(separator: ",") + ")"
            func sql(rows: Int) -> String { "\(verb) INTO \(table) VALUES " + Array(repeating: one, count: rows).joined(separator: ",") }
            (groupSQL, singleSQL) = (sql(rows: Self.groupRows), sql(rows: 1))
            waiting.reserveCapacity(Self.groupRows)
        }
    }

    /// Opens (creating and migrating) the store at `path`. `durable: false` (the store of a
    /// run whose journal is itself not synced) never syncs: commits stay atomic and a
    /// killed process loses nothing, but a power loss may leave a store to rebuild from the
    /// journal, which such a loss may have cut short as well.
    public init(path: String, batchRows: Int = 10_000, durable: Bool = true) throws(StoreError) {
        precondition(batchRows > 0, "batchRows must be positive")
        self.batchRows = batchRows
        database = try SQLiteDatabase(path: path)
        // A new store is created without syncs (a crash then leaves a store that is rebuilt
        // from the journal, as any store can be); from then on WAL commits with NORMAL
        // synchronous, which syncs at checkpoints (OFF when not durable: the checkpoints'
        // fsyncs were 7 % of a market maker's run, on the thread the core waits for).
        try database.execute("PRAGMA synchronous=OFF; PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;")
        try migrate()
        if durable { try database.execute("PRAGMA synchronous=NORMAL;") }
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

    /// Adds `row` to its table's group; a full group is inserted at once.
    /// (The caller opens the transaction before and counts the row after: a count that
    /// commits touches every group, so it must not run while this one is borrowed.)
    private func insert<Row>(_ row: Row, _ g: inout Grouped<Row>, _ bind: (Row, SQLiteStatement, Int) -> Void) throws(StoreError) {
        g.waiting.append(row)
        guard g.waiting.count == Grouped<Row>.groupRows else { return }
        let s = try statement(&g.group, g.groupSQL)
        for (k, r) in g.waiting.enumerated() { bind(r, s, k * g.columns) }
        g.waiting.removeAll(keepingCapacity: true)
        try s.run()
    }

    /// Inserts the rows short of a group, one by one (before a commit).
    private func insertWaiting<Row>(_ g: inout Grouped<Row>, _ bind: (Row, SQLiteStatement, Int) -> Void) throws(StoreError) {
        guard !g.waiting.isEmpty else { return }
        let s = try statement(&g.single, g.singleSQL)
        for r in g.waiting {
            bind(r, s, 0)
            try s.run()
        }
        g.waiting.removeAll(keepingCapacity: true)
    }

    private func insertAllWaiting() throws(StoreError) {
        try insertWaiting(&fillsGroup, Self.bind)
        try insertWaiting(&positionsGroup, Self.bind)
        try insertWaiting(&equityGroup, Self.bind)
        try insertWaiting(&tradesGroup, Self.bind)
        try insertWaiting(&ordersGroup, Self.bind)
    }

    private func discardWaiting() {
        fillsGroup.waiting.removeAll(keepingCapacity: true)
        positionsGroup.waiting.removeAll(keepingCapacity: true)
        equityGroup.waiting.removeAll(keepingCapacity: true)
        tradesGroup.waiting.removeAll(keepingCapacity: true)
        ordersGroup.waiting.removeAll(keepingCapacity: true)
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
        try insertAllWaiting()
        try database.execute("COMMIT")
        inTransaction = false
        explicitTransaction = false
        pendingRows = 0
    }

    /// Abandons the open batch, if any: none of its rows stay in the store.
    public func rollback() {
        discardWaiting()
        guard inTransaction else { return }
        // A failed COMMIT may already have ended the transaction; ROLLBACK then reports
        // "no transaction is active", which is the state we want.
        try? database.execute("ROLLBACK")
        inTransaction = false
        explicitTransaction = false
        pendingRows = 0
    }

    /// Appends a fill row.
    public func add(_ r: FillRow) throws(StoreError) { try beginRow(); try insert(r, &fillsGroup, Self.bind); try endRow() }
    /// Appends a position row.
    public func add(_ r: PositionRow) throws(StoreError) { try beginRow(); try insert(r, &positionsGroup, Self.bind); try endRow() }
    /// Appends an equity-curve point.
    public func add(_ r: EquityRow) throws(StoreError) { try beginRow(); try insert(r, &equityGroup, Self.bind); try endRow() }
    /// Appends a round-trip trade.
    public func add(_ t: TradeRow) throws(StoreError) { try beginRow(); try insert(t, &tradesGroup, Self.bind); try endRow() }
    /// Inserts or replaces an order's state.
    public func add(_ o: OrderRow) throws(StoreError) { try beginRow(); try insert(o, &ordersGroup, Self.bind); try endRow() }

    // Each binds one row's columns as parameters `at + 1 …` (its place in a group).

    static func bind(_ r: FillRow, _ s: SQLiteStatement, _ at: Int) {
        let f = r.fill
        s.bind(at + 1, Int64(r.sequence)); s.bind(at + 2, Int64(f.orderID.raw)); s.bind(at + 3, Int64(f.instrument.raw)); s.bind(at + 4, r.time.nanos)
        s.bind(at + 5, f.side == .buy ? "buy" as StaticString : "sell"); s.bind(at + 6, f.price.raw); s.bind(at + 7, f.quantity.raw); s.bind(at + 8, f.fee)
        s.bind(at + 9, f.liquidity == .maker ? "maker" as StaticString : "taker"); s.bind(at + 10, f.leavesQuantity.raw)
    }

    static func bind(_ r: PositionRow, _ s: SQLiteStatement, _ at: Int) {
        let p = r.position
        s.bind(at + 1, Int64(r.sequence)); s.bind(at + 2, Int64(p.instrument.raw)); s.bind(at + 3, r.time.nanos); s.bind(at + 4, p.quantity.raw)
        s.bind(at + 5, p.costBasis); s.bind(at + 6, p.realizedPnL); s.bind(at + 7, p.fees)
    }

    static func bind(_ r: EquityRow, _ s: SQLiteStatement, _ at: Int) {
        let b = r.balance
        s.bind(at + 1, Int64(r.sequence)); s.bind(at + 2, r.time.nanos); s.bind(at + 3, b.cash); s.bind(at + 4, b.equity)
        s.bind(at + 5, b.realizedPnL); s.bind(at + 6, b.unrealizedPnL); s.bind(at + 7, b.fees)
    }

    static func bind(_ t: TradeRow, _ s: SQLiteStatement, _ at: Int) {
        s.bind(at + 1, t.tradeID); s.bind(at + 2, Int64(t.instrument.raw)); s.bind(at + 3, t.size.raw); s.bind(at + 4, t.entryTime.nanos)
        s.bind(at + 5, t.exitTime.nanos); s.bind(at + 6, t.entryValue); s.bind(at + 7, t.exitValue); s.bind(at + 8, t.pnl)
        s.bind(at + 9, t.commission)
    }

    static func bind(_ o: OrderRow, _ s: SQLiteStatement, _ at: Int) {
        s.bind(at + 1, Int64(o.orderID.raw)); s.bind(at + 2, Int64(o.instrument.raw)); s.bind(at + 3, o.side == .buy ? "buy" as StaticString : "sell")
        s.bind(at + 4, o.type.name); s.bind(at + 5, o.sizing == .fixed ? "fixed" as StaticString : "all")
        s.bind(at + 6, o.quantity.raw); s.bind(at + 7, o.limitPrice.raw); s.bind(at + 8, o.submitTime.nanos); s.bind(at + 9, Int64(o.submitSequence))
        s.bind(at + 10, o.state.text); s.bind(at + 11, o.filledQuantity.raw); s.bind(at + 12, o.filledNotional); s.bind(at + 13, o.fees)
        if let r = o.rejection { s.bind(at + 14, r.description) } else { s.bind(at + 14, "" as StaticString) }
        s.bind(at + 15, o.lastUpdateTime.nanos)
    }

    /// Deletes every projection row (before a rebuild from the journal). The catalog stays.
    public func clearProjections() throws(StoreError) {
        try flush()
        try database.execute("DELETE FROM orders; DELETE FROM fills; DELETE FROM positions; DELETE FROM equity; DELETE FROM trades; DELETE FROM instruments;")
    }
}
