/// The run fingerprint: SHA-256 over every output event's encoded bytes, in order
/// (DESIGN.md rule 5). Sequence numbers are not hashed, so a run and its replay match
/// even if they journal inputs differently; everything else about each output is.
public struct RunFingerprint: Sendable {
    @usableFromInline var hasher = SHA256()
    @usableFromInline var scratch = [UInt8](repeating: 0, count: EventCodec.maxEncodedSize)
    /// Output events hashed so far.
    public private(set) var count: UInt64 = 0

    public init() {}

    /// Adds one output event.
    public mutating func add(_ event: Event) {
        precondition(event.body.kind.isOutput, "fingerprint takes output events only, got \(event.body.kind.name)")
        let n = scratch.withUnsafeMutableBytes { EventCodec.encode(event, to: $0.baseAddress!) }
        scratch.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        count += 1
    }

    /// Adds an already-encoded output event.
    public mutating func add(encoded bytes: UnsafeRawBufferPointer) {
        hasher.update(bytes)
        count += 1
    }

    /// The hex digest. Does not disturb further additions.
    public var hex: String {
        var copy = hasher
        return SHA256.hexString(copy.finalize())
    }
}
