/// An open-addressing hash map from a 64-bit id to a non-negative 32-bit value (a pool
/// slot): linear probing with a multiplicative (Fibonacci) hash and backward-shift
/// deletion, so a lookup usually touches one cache line (key and value sit together) and
/// there are no tombstones. It cannot be iterated, so no hash order leaks out. The books
/// index orders with it; the engine's feed deduplicator keeps its exact window in one.
public struct OrderIndex: Sendable {
    /// A bucket: `value` −1 marks it empty.
    struct Entry: Equatable, Sendable {
        var key: UInt64
        var value: Int32
    }

    var table: [Entry]
    var mask: Int
    var shift: UInt64
    public internal(set) var count = 0

    /// Room for `capacity` keys before the table grows (doubling).
    public init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        table = [Entry](repeating: Entry(key: 0, value: -1), count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    @inline(__always) private func home(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    @inline(__always)
    public subscript(key: UInt64) -> Int32? {
        var i = home(key)
        while true {
            let e = table[i]
            if e.value < 0 { return nil }
            if e.key == key { return e.value }
            i = (i + 1) & mask
        }
    }

    /// Inserts `key` → `value` unless `key` is present. - Returns: whether it inserted.
    @inline(__always)
    public mutating func insert(_ key: UInt64, _ value: Int32) -> Bool {
        precondition(value >= 0, "pool slots are non-negative")
        if (count + 1) * 4 > table.count * 3 { grow() }
        var i = home(key)
        while table[i].value >= 0 {
            if table[i].key == key { return false }
            i = (i + 1) & mask
        }
        table[i] = Entry(key: key, value: value)
        count += 1
        return true
    }

    /// Removes `key` if present.
    public mutating func remove(_ key: UInt64) {
        var i = home(key)
        while table[i].value >= 0 {
            if table[i].key == key { break }
            i = (i + 1) & mask
        }
        guard table[i].value >= 0 else { return }
        // Backward-shift: pull later entries of the cluster into the hole when their home
        // position allows it.
        var hole = i
        var j = (i + 1) & mask
        while table[j].value >= 0 {
            let h = home(table[j].key)
            let between = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !between {
                table[hole] = table[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        table[hole].value = -1
        count -= 1
    }

    private mutating func grow() {
        let old = table
        self = OrderIndex(capacity: table.count)
        for e in old where e.value >= 0 { _ = insert(e.key, e.value) }
    }
}
