/// Errors of the reports module (missing runs, unreadable stores, unwritable files).
public struct ReportError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable { case notARun, store, io }
    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) { (self.code, self.message) = (code, message) }
    public var description: String { message }
}
