import RetraceCore

/// The timer wheel's reference in tests (the engine's timer queue before the wheel): timers
/// ordered by (time, insertion) in a binary heap; ties fire in the
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

    /// The earliest entry.
    var peek: Entry? { heap.first }

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

/// The heap with cancellation (lazy: cancelled entries are skipped when they surface).
struct HeapTimerReference {
    var queue = TimerQueue()
    var pending = Set<UInt64>()
    var scheduled: UInt64 = 0

    mutating func schedule(at time: Int64, id: UInt64) {
        queue.schedule(at: Timestamp(nanos: time), id: id)
        pending.insert(scheduled)
        scheduled += 1
    }

    /// Cancels the `order`-th timer scheduled (0-based). - Returns: whether it was pending.
    mutating func cancel(order: UInt64) -> Bool { pending.remove(order) != nil }

    private mutating func dropCancelled() {
        while let top = queue.peek, !pending.contains(top.order) { _ = queue.popDue(upTo: top.time) }
    }

    mutating func nextTime() -> Int64? {
        dropCancelled()
        return queue.nextTime?.nanos
    }

    mutating func popDue(upTo time: Int64) -> (time: Int64, id: UInt64)? {
        dropCancelled()
        guard let e = queue.popDue(upTo: Timestamp(nanos: time)) else { return nil }
        pending.remove(e.order)
        return (e.time.nanos, e.id)
    }
}
