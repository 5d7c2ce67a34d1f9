/// Little-endian field access over raw memory for the codec.
///
/// SAFETY: callers check the total length once (`EventCodec` compares it with the kind's
/// fixed size) before any access, so every offset below is in bounds.
@usableFromInline
struct _UnsafeByteWriter {
    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline var offset: Int = 0
    @inlinable init(_ base: UnsafeMutableRawPointer) { self.base = base }

    @inlinable mutating func u8(_ v: UInt8) { base.storeBytes(of: v, toByteOffset: offset, as: UInt8.self); offset += 1 }
    @inlinable mutating func u16(_ v: UInt16) { base.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt16.self); offset += 2 }
    @inlinable mutating func u32(_ v: UInt32) { base.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt32.self); offset += 4 }
    @inlinable mutating func u64(_ v: UInt64) { base.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt64.self); offset += 8 }
    @inlinable mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    @inlinable mutating func i128(_ v: Int128) {
        u64(UInt64(truncatingIfNeeded: v))
        u64(UInt64(truncatingIfNeeded: v >> 64))
    }
    @inlinable mutating func zeros(_ n: Int) { for _ in 0..<n { u8(0) } }
}

@usableFromInline
struct _UnsafeByteReader {
    @usableFromInline let base: UnsafeRawPointer
    @usableFromInline var offset: Int
    @inlinable init(_ base: UnsafeRawPointer, offset: Int = 0) { (self.base, self.offset) = (base, offset) }

    @inlinable mutating func u8() -> UInt8 { defer { offset += 1 }; return base.load(fromByteOffset: offset, as: UInt8.self) }
    @inlinable mutating func u16() -> UInt16 { defer { offset += 2 }; return UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)) }
    @inlinable mutating func u32() -> UInt32 { defer { offset += 4 }; return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    @inlinable mutating func u64() -> UInt64 { defer { offset += 8 }; return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    @inlinable mutating func i64() -> Int64 { Int64(bitPattern: u64()) }
    @inlinable mutating func i128() -> Int128 {
        let lo = u64()
        let hi = u64()
        return Int128(Int64(bitPattern: hi)) << 64 | Int128(lo)
    }
    @inlinable mutating func skip(_ n: Int) { offset += n }
}
