/// Errors of the engine and its mode drivers: bad parameters, bad input streams, and
/// failures of the journal or store underneath (wrapped with context).
public struct EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case unknownParameter
        case invalidParameter
        case unknownStrategy
        case badInput
        case journal
        case store
        case runFolder
        /// A process, pipe or file the engine's tools depend on failed (sweeps).
        case io
    }
    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) { (self.code, self.message) = (code, message) }
    public var description: String { message }
}
