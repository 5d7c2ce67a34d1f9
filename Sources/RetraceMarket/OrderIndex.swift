/// An open-addressing hash map from venue order id to pool slot: linear probing with a
/// multiplicative (Fibonacci) hash and backward-shift deletion, so lookups touch one or
/// two cache lines and there are no tombstones. Never iterated, so no order leaks out.
struct OrderIndex {
    private var keys: [UInt64]
    private var values: [Int32]
    private var used: [Bool]
    private var mask: Int
    private var shift: UInt64
    private(set) var count = 0

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        keys = [UInt64](repeating: 0, count: size)
        values = [Int32](repeating: -1, count: size)
        used = [Bool](repeating: false, count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    @inline(__always) private func home(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    @inline(__always)
    subscript(key: UInt64) -> Int32? {
        var i = home(key)
        while used[i] {
            if keys[i] == key { return values[i] }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Inserts or replaces.
    mutating func set(_ key: UInt64, _ value: Int32) {
        if (count + 1) * 4 > keys.count * 3 { grow() }
        var i = home(key)
        while used[i] {
            if keys[i] == key { values[i] = value; return }
            i = (i + 1) & mask
        }
        used[i] = true
        keys[i] = key
        values[i] = value
        count += 1
    }

    /// Removes `key` if present.
    mutating func remove(_ key: UInt64) {
        var i = home(key)
        while used[i] {
            if keys[i] == key { break }
            i = (i + 1) & mask
        }
        guard used[i] else { return }
        // Backward-shift: pull later entries of the cluster into the hole when their home
        // position allows it.
        var hole = i
        var j = (i + 1) & mask
        while used[j] {
            let h = home(keys[j])
            let between = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !between {
                keys[hole] = keys[j]
                values[hole] = values[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        used[hole] = false
        count -= 1
    }

    private mutating func grow() {
        let old = (keys, values, used)
        self = OrderIndex(capacity: keys.count)
        for k in old.0.indices where old.2[k] { set(old.0[k], old.1[k]) }
    }
}
