import RetraceCore

/// Pending strategy timers ordered by (time, insertion). A binary heap; ties fire in the
/// order they were scheduled (insertion counter, never hash or address).
struct TimerQueue {
    struct Entry { var time: Timestamp; var order: UInt64; var id: UInt64 }
    private var heap: [Entry] = []
    private var counter: UInt64 = 0

    mutating func schedule(at time: Timestamp, id: UInt64) {
        heap.append(Entry(time: time, order: counter, id: id))
        counter += 1
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard before(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    /// When the earliest timer is due.
    var nextTime: Timestamp? { heap.first?.time }

    /// Removes and returns the earliest timer due at or before `time`.
    mutating func popDue(upTo time: Timestamp) -> Entry? {
        guard let top = heap.first, top.time <= time else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && before(heap[l], heap[m]) { m = l }
                if r < heap.count && before(heap[r], heap[m]) { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return top
    }

    private func before(_ a: Entry, _ b: Entry) -> Bool { a.time < b.time || (a.time == b.time && a.order < b.order) }
}
