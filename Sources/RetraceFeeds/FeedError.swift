/// Errors of the importers: always name the file and, for data problems, the line
/// (the header is line 1) and the column.
public struct FeedError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case io
        case missingColumn
        case malformedRow
        case outOfOrder
        case unsupported
        /// A bad address, a corrupt venue frame.
        case malformed
    }
    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) { (self.code, self.message) = (code, message) }
    public var description: String { message }
}
