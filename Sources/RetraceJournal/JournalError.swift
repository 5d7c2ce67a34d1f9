/// Errors of the journal: I/O failures, corruption, format mismatches.
public struct JournalError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A stable code per failure kind.
    public enum Code: String, Sendable {
        case io
        case badHeader
        case corrupt
        case sequenceGap
        case alreadyExists
        case notFound
    }
    public var code: Code
    /// What failed, where (file, byte offset, sequence) and what to do.
    public var message: String
    public init(_ code: Code, _ message: String) { (self.code, self.message) = (code, message) }
    public var description: String { message }
}
