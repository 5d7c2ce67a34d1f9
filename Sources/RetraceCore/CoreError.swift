/// Errors of the core module: malformed encoded events and bad values from outside.
public struct CoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, as a stable code.
    public enum Code: String, Sendable {
        case truncatedEvent
        case unknownCodecVersion
        case unknownEventKind
        case invalidField
        case invalidState
    }
    public var code: Code
    /// What failed and where.
    public var message: String
    public init(_ code: Code, _ message: String) { (self.code, self.message) = (code, message) }
    public var description: String { message }
}
