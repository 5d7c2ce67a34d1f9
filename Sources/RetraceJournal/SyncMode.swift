/// When journal bytes are forced to stable storage.
public enum SyncMode: String, Sendable, CaseIterable {
    /// Written to the page cache at each commit; never `fdatasync`'d until `finish` (backtests).
    case none
    /// Written at each commit; a background thread `fdatasync`s every few milliseconds or
    /// megabytes (`JournalOptions.asyncIntervalMillis`, `asyncBytes`).
    case async
    /// Group commit: a commit returns only after an `fdatasync` covering it.
    case fsync
}
