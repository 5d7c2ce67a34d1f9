/// When journal bytes are forced to stable storage.
public enum SyncMode: String, Sendable, CaseIterable {
    /// Written to the page cache at each commit; never `fdatasync`'d (backtests).
    case none
    /// Each commit returns only after an `fdatasync` covering everything appended so far.
    case fsync
}
