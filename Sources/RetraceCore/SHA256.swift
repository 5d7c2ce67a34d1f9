import CRetraceShims

/// SHA-256 (FIPS 180-4), incremental. Used for run fingerprints; no Foundation. Whole
/// blocks are compressed by the C shim (the x86 SHA extensions when the CPU has them,
/// portable C otherwise); a partial block waits in an inline buffer, so hashing allocates
/// nothing.
public struct SHA256: Sendable {
    @usableFromInline var h: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19)
    /// The partial block (64 bytes).
    @usableFromInline var block: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    @usableFromInline var blockCount = 0
    @usableFromInline var totalBytes: UInt64 = 0

    public init() {}

    /// Adds bytes to the hash.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return }
        var n = bytes.count
        totalBytes &+= UInt64(n)
        if blockCount > 0 {
            let take = min(64 - blockCount, n)
            let filled = blockCount
            // SAFETY: the block is 64 bytes; `filled + take` ≤ 64 and `p` holds `n` ≥ `take` bytes.
            withUnsafeMutableBytes(of: &block) { $0.baseAddress!.advanced(by: filled).copyMemory(from: p, byteCount: take) }
            blockCount += take
            p += take
            n -= take
            guard blockCount == 64 else { return }
            withUnsafeBytes(of: block) { b in compress(b.baseAddress!, blocks: 1) }
            blockCount = 0
        }
        if n >= 64 {
            compress(p, blocks: n / 64)
            p += n & ~63
            n &= 63
        }
        if n > 0 {
            // SAFETY: n < 64 bytes remain in `p`; the block is empty.
            withUnsafeMutableBytes(of: &block) { $0.baseAddress!.copyMemory(from: p, byteCount: n) }
            blockCount = n
        }
    }

    /// Adds bytes to the hash.
    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The 32-byte digest. The hasher should not be used afterwards.
    public mutating func finalize() -> [UInt8] {
        let bitLength = totalBytes &* 8
        var pad = [UInt8](repeating: 0, count: (blockCount < 56 ? 56 : 120) - blockCount)
        pad[0] = 0x80
        for i in 0..<8 { pad.append(UInt8(truncatingIfNeeded: bitLength >> (56 - 8 * UInt64(i)))) }
        let total = totalBytes
        pad.withUnsafeBytes { update($0) }
        totalBytes = total
        precondition(blockCount == 0, "SHA-256 padding did not end on a block")
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for word in words {
            for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
        }
        return out
    }

    /// Hex digest of `bytes` in one call.
    public static func hex(_ bytes: [UInt8]) -> String {
        var s = SHA256()
        s.update(bytes)
        return hexString(s.finalize())
    }

    /// Lowercase hex text of bytes.
    public static func hexString(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    private mutating func compress(_ data: UnsafeRawPointer, blocks: Int) {
        // SAFETY: `h` is eight contiguous UInt32s (a homogeneous tuple); `data` holds `blocks` × 64 bytes.
        withUnsafeMutablePointer(to: &h) { $0.withMemoryRebound(to: UInt32.self, capacity: 8) { retrace_sha256_blocks($0, data, blocks) } }
    }

    /// Compresses through the portable C path only (tests compare it with the hardware one).
    public static func portableState(of data: UnsafeRawBufferPointer) -> [UInt32] {
        var state = SHA256().words
        retrace_sha256_blocks_portable(&state, data.baseAddress, data.count / 64)
        return state
    }

    /// The state after compressing whole blocks through the default path.
    public static func state(of data: UnsafeRawBufferPointer) -> [UInt32] {
        var s = SHA256()
        s.compress(data.baseAddress!, blocks: data.count / 64)
        return s.words
    }

    /// The chaining state as an array (a, b, … h).
    var words: [UInt32] { [h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7] }
}
