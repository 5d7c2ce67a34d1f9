import CSQLite
import RetraceCore

/// A value read from or bound to SQLite.
public enum SQLiteValue: Equatable, Sendable {
    case integer(Int64)
    case real(Double)
    case text(String)
    case null

    /// The integer, or nil.
    public var integer: Int64? { if case .integer(let v) = self { v } else { nil } }
    /// The text, or nil.
    public var text: String? { if case .text(let v) = self { v } else { nil } }
}

/// A thin, owning wrapper over one SQLite connection.
public final class SQLiteDatabase {
    /// The database file.
    public let path: String
    let handle: OpaquePointer

    /// Opens (creating if needed) the database at `path`.
    public init(path: String) throws(StoreError) {
        self.path = path
        _ = SQLiteDatabase.configured
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close(db) }
            throw StoreError(.open, "cannot open store \(path): \(message)")
        }
        handle = db
    }

    deinit { sqlite3_close(handle) }

    /// Process-wide settings, applied once before the library initializes: allocation
    /// statistics off (nothing reads them, and they put a global mutex on every allocation).
    private static let configured: Bool = retrace_sqlite_disable_memstatus() == SQLITE_OK

    /// The SQLite library version text.
    public static var libraryVersion: String { String(cString: sqlite3_libversion()) }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws(StoreError) {
        var error: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &error) != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(error)
            throw StoreError(.sql, "\(path): \(message) in: \(sql.prefix(120))")
        }
    }

    /// Compiles a statement.
    public func prepare(_ sql: String) throws(StoreError) -> SQLiteStatement {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw StoreError(.sql, "\(path): \(String(cString: sqlite3_errmsg(handle))) in: \(sql.prefix(120))")
        }
        return SQLiteStatement(statement, database: self, sql: sql)
    }

    /// Runs a query and returns all rows.
    public func query(_ sql: String, _ arguments: [SQLiteValue] = []) throws(StoreError) -> [[SQLiteValue]] {
        let statement = try prepare(sql)
        for (i, a) in arguments.enumerated() { statement.bind(i + 1, a) }
        var rows: [[SQLiteValue]] = []
        while try statement.step() { rows.append(statement.row()) }
        return rows
    }

    var lastError: String { String(cString: sqlite3_errmsg(handle)) }
}

/// A compiled statement, reset after each execution.
public final class SQLiteStatement {
    private let statement: OpaquePointer
    private let database: SQLiteDatabase
    private let sql: String
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    /// Set when every execution binds every parameter (the store's prepared inserts): the
    /// bindings are then not cleared after a step (each is replaced before the next).
    public var rebindsEveryParameter = false

    /// One buffer per parameter for short texts (amounts of money, statuses): the text is
    /// written into its parameter's buffer and bound without a copy (`SQLITE_STATIC`), so
    /// binding allocates nothing. A buffer lives as long as the statement, and is rewritten
    /// only when its parameter is bound again, which replaces SQLite's reference to it.
    private let slots: UnsafeMutablePointer<UInt8>
    private let slotCount: Int
    static let slotBytes = 64

    init(_ statement: OpaquePointer, database: SQLiteDatabase, sql: String) {
        (self.statement, self.database, self.sql) = (statement, database, sql)
        slotCount = Int(sqlite3_bind_parameter_count(statement))
        slots = .allocate(capacity: max(1, slotCount) * Self.slotBytes)
    }

    deinit {
        sqlite3_finalize(statement)
        slots.deallocate()
    }

    /// Parameter `index`'s buffer when it has one and `bytes` fit it.
    @inline(__always)
    private func slot(_ index: Int, fitting bytes: Int) -> UnsafeMutablePointer<UInt8>? {
        index >= 1 && index <= slotCount && bytes <= Self.slotBytes ? slots + (index - 1) * Self.slotBytes : nil
    }

    @inline(__always)
    private func bindStatic(_ index: Int, _ text: UnsafeMutablePointer<UInt8>, _ count: Int) {
        // SAFETY: `text` is this parameter's slot, valid until the statement is finalized.
        _ = sqlite3_bind_text(statement, Int32(index), UnsafeRawPointer(text).assumingMemoryBound(to: CChar.self), Int32(count), nil)
    }

    /// Binds parameter `index` (1-based).
    public func bind(_ index: Int, _ value: SQLiteValue) {
        let i = Int32(index)
        switch value {
        case .integer(let v): sqlite3_bind_int64(statement, i, v)
        case .real(let v): sqlite3_bind_double(statement, i, v)
        case .text(let v): sqlite3_bind_text(statement, i, v, -1, SQLiteStatement.transient)
        case .null: sqlite3_bind_null(statement, i)
        }
    }

    /// Binds an integer parameter (1-based).
    public func bind(_ index: Int, _ value: Int64) { sqlite3_bind_int64(statement, Int32(index), value) }
    /// Binds a text parameter (1-based). SQLite copies the bytes (no C string is made).
    public func bind(_ index: Int, _ value: String) {
        var v = value
        v.withUTF8 { b in
            if let slot = slot(index, fitting: b.count), let base = b.baseAddress {
                slot.update(from: base, count: b.count)
                bindStatic(index, slot, b.count)
                return
            }
            // SAFETY: SQLite copies the `count` bytes (transient) before this returns; an empty text binds a static "".
            let start = b.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(("" as StaticString).utf8Start)
            _ = sqlite3_bind_text(statement, Int32(index), start.assumingMemoryBound(to: CChar.self), Int32(b.count), SQLiteStatement.transient)
        }
    }

    /// Binds a constant text parameter (1-based) without copying it.
    public func bind(_ index: Int, _ value: StaticString) {
        value.withUTF8Buffer { b in
            _ = sqlite3_bind_text(statement, Int32(index), UnsafeRawPointer(b.baseAddress!).assumingMemoryBound(to: CChar.self), Int32(b.count), nil)
        }
    }

    /// Binds an amount of money as its exact decimal text (1-based), formatted in the
    /// parameter's buffer (every money text fits one: `slotBytes` ≥ its capacity). An index
    /// the statement does not have binds nothing, as SQLite would refuse it.
    public func bind(_ index: Int, _ value: Money) {
        guard let slot = slot(index, fitting: FixedPoint.wideTextCapacity(scale: Money.scale)) else { return }
        bindStatic(index, slot, FixedPoint.writeWide(value.raw, scale: Money.scale, trimTrailingZeros: true, into: slot))
    }

    /// Advances; true when a row is available. Resets the statement when done.
    public func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(statement)
        if rc == SQLITE_ROW { return true }
        sqlite3_reset(statement)
        if !rebindsEveryParameter { sqlite3_clear_bindings(statement) }
        if rc == SQLITE_DONE { return false }
        throw StoreError(.sql, "\(database.path): \(database.lastError) in: \(sql.prefix(120))")
    }

    /// Executes a statement that returns no rows.
    public func run() throws(StoreError) { _ = try step() }

    /// The current row's columns.
    public func row() -> [SQLiteValue] {
        (0..<sqlite3_column_count(statement)).map { i in
            switch sqlite3_column_type(statement, i) {
            case SQLITE_INTEGER: .integer(sqlite3_column_int64(statement, i))
            case SQLITE_FLOAT: .real(sqlite3_column_double(statement, i))
            case SQLITE_NULL: .null
            default: .text(String(cString: sqlite3_column_text(statement, i)))
            }
        }
    }
}
