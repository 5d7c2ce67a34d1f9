import Foundation
import Testing
import CRetraceShims
@testable import RetraceCore
@testable import RetraceEngine

/// Small capacities × start offsets, including offsets that make the index counters wrap.
let ringShapes: [(capacity: Int, start: Int)] = {
    var shapes: [(capacity: Int, start: Int)] = []
    for c in [1, 2, 4, 8, 16] {
        let starts: [Int] = [0, 1, c - 1, c + 3, Int.max - 2 * c - 1, Int.min + 5]
        for s in starts { shapes.append((c, s)) }
    }
    return shapes
}()

@Suite("Rings")
struct RingTests {
    @Test("SPSC, every small capacity × start offset: full at capacity, FIFO, batches, against a reference queue")
    func spscShapes() {
        for (capacity, start) in ringShapes {
            let ring = SPSCRing<UInt64>(capacity: capacity, startIndex: start)
            #expect(Int(bitPattern: ring.slots) % 64 == 0, "slots start on a cache line")
            var reference: [UInt64] = []
            var rng = SplitMix64(seed: UInt64(capacity) &* 31 &+ UInt64(bitPattern: Int64(start)))
            var next: UInt64 = 0
            for _ in 0..<2_000 {
                switch rng.next(modulo: 3) {
                case 0:
                    let accepted = ring.push(next)
                    #expect(accepted == (reference.count < capacity), "capacity \(capacity) start \(start)")
                    if accepted { reference.append(next); next += 1 }
                case 1:
                    let v = ring.pop()
                    #expect(v == reference.first, "capacity \(capacity) start \(start)")
                    if !reference.isEmpty { reference.removeFirst() }
                default:
                    let max = 1 + Int(rng.next(modulo: UInt64(capacity + 1)))
                    var got: [UInt64] = []
                    let n = ring.popBatch(max: max) { got.append($0) }
                    // It takes at least one when any is there, never more than asked or there,
                    // and always the oldest ones.
                    #expect(n == got.count && n <= max && (n > 0) == !reference.isEmpty, "capacity \(capacity) start \(start)")
                    #expect(got == Array(reference.prefix(n)), "capacity \(capacity) start \(start)")
                    reference.removeFirst(n)
                }
                #expect(ring.count == reference.count)
            }
        }
    }

    @Test("MPSC, every small capacity × start offset: full at capacity, FIFO, against a reference queue")
    func mpscShapes() {
        for (capacity, start) in ringShapes where capacity >= 2 {
            let ring = MPSCRing<UInt64>(capacity: capacity, startIndex: start)
            var reference: [UInt64] = []
            var rng = SplitMix64(seed: UInt64(capacity) &* 17 &+ UInt64(bitPattern: Int64(start)))
            var next: UInt64 = 0
            for _ in 0..<2_000 {
                if rng.next(modulo: 2) == 0 {
                    let accepted = ring.push(next)
                    #expect(accepted == (reference.count < capacity), "capacity \(capacity) start \(start)")
                    if accepted { reference.append(next); next += 1 }
                } else {
                    let max = 1 + Int(rng.next(modulo: UInt64(capacity)))
                    var got: [UInt64] = []
                    _ = ring.popBatch(max: max) { got.append($0) }
                    #expect(got == Array(reference.prefix(max)), "capacity \(capacity) start \(start)")
                    reference.removeFirst(got.count)
                }
            }
        }
    }

    @Test("SPSC under two threads: every element once, in order, through a ring of 8 whose counters wrap")
    func spscStress() async {
        let ring = SPSCRing<UInt64>(capacity: 8, startIndex: Int.max - 100)
        let n: UInt64 = 300_000
        let producer = Thread {
            var i: UInt64 = 0
            while i < n { if ring.push(i) { i += 1 } }
        }
        producer.start()
        var expected: UInt64 = 0
        var wrong = 0
        while expected < n {
            _ = ring.popBatch(max: 5) { v in
                if v != expected { wrong += 1 }
                expected += 1
            }
        }
        #expect(wrong == 0 && ring.pop() == nil)
    }

    /// A 64-byte plain-data message with eight different words (the ring writes such an
    /// element as four 16-byte stores).
    struct Line: Equatable {
        var w0, w1, w2, w3, w4, w5, w6, w7: UInt64
        init(_ i: UInt64) { (w0, w1, w2, w3, w4, w5, w6, w7) = (i, ~i, i &* 3, i << 7, i ^ 0x5555, i &+ 11, i >> 1, 0xA5A5_0000_0000_0000 | i) }
    }

    @Test("SPSC of 64-byte messages: every word of every message arrives, in order, single-threaded over each shape and across two threads")
    func spscLines() {
        #expect(MemoryLayout<Line>.size == 64 && _isPOD(Line.self))
        for (capacity, start) in ringShapes {
            let ring = SPSCRing<Line>(capacity: capacity, startIndex: start)
            var (pushed, popped): (UInt64, UInt64) = (0, 0)
            var wrong = 0
            for round in 0..<200 {
                while ring.push(Line(pushed)) { pushed += 1 }
                _ = ring.popBatch(max: 1 + round % capacity) { if $0 != Line(popped) { wrong += 1 }; popped += 1 }
            }
            while let v = ring.pop() { if v != Line(popped) { wrong += 1 }; popped += 1 }
            #expect(wrong == 0 && popped == pushed && pushed >= 200, "capacity \(capacity) start \(start)")
        }
        let ring = SPSCRing<Line>(capacity: 16, startIndex: Int.max - 40)
        let n: UInt64 = 50_000
        let producer = Thread {
            var i: UInt64 = 0
            while i < n { if ring.push(Line(i)) { i += 1 } }
        }
        producer.start()
        var (expected, wrong): (UInt64, Int) = (0, 0)
        while expected < n {
            _ = ring.popBatch(max: 7) { if $0 != Line(expected) { wrong += 1 }; expected += 1 }
        }
        #expect(wrong == 0 && ring.pop() == nil)
    }

    @Test("SPSC populateAhead maps the slots ahead of the producer, and only those, and leaves what they hold alone")
    func spscPopulateAhead() throws {
        // 16 MiB of slots: the part past the producer plus the lead must not be mapped yet.
        let ring = SPSCRing<UInt64>(capacity: 1 << 21, startIndex: 5)
        let base = Int(bitPattern: UnsafeMutableRawPointer(ring.slots))
        let page = 4096
        /// Whether the page holding byte `offset` of the slots is resident (mincore).
        func resident(_ offset: Int) -> Bool {
            let start = (base + offset) & ~(page - 1)
            var flag: UInt8 = 0
            guard mincore(UnsafeMutableRawPointer(bitPattern: start), page, &flag) == 0 else { return false }
            return flag & 1 == 1
        }
        // The allocator may hand back memory an earlier test touched: drop its pages, so the
        // slots start unmapped (the ring is empty: nothing in them matters yet).
        let first = (base + page - 1) & ~(page - 1)
        let end = (base + (1 << 21) * 8) & ~(page - 1)
        #expect(madvise(UnsafeMutableRawPointer(bitPattern: first), end - first, MADV_DONTNEED) == 0)
        for i in 0..<1000 { #expect(ring.push(UInt64(i))) }
        let written = 1000 * 8
        ring.populateAhead(lead: 1 << 20)
        // Whether this kernel has the populate advice (5.14+), asked of a mapping of our own.
        let probe = mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
        defer { munmap(probe, 2 * page) }
        guard retrace_populate(probe, 2 * page, 1) == 0 else {
            // A kernel before 5.14 has no populate advice: nothing is mapped, nothing breaks.
            #expect(ring.popBatch(max: 2000) { _ in } == 1000)
            return
        }
        let unmapped = stride(from: 8 * page, to: written + (1 << 20) - 2 * page, by: page).filter { !resident($0) }
        #expect(unmapped.isEmpty, "pages at slot bytes \(unmapped.prefix(3))… are not mapped")
        #expect(!resident(8 << 20), "nothing far past the lead is mapped")
        // The producer moves on: the next call maps up to its new index plus the lead.
        for i in 1000..<200_000 { #expect(ring.push(UInt64(i))) }
        ring.populateAhead(lead: 1 << 20)
        #expect(resident(200_000 * 8 + (1 << 19)))
        var expected: UInt64 = 0
        _ = ring.popBatch(max: 300_000) { v in
            if v != expected { Issue.record("slot \(expected) holds \(v)") }
            expected += 1
        }
        #expect(expected == 200_000)
    }

    @Test("MPSC under four producers: no loss, no duplicate, each producer's order kept")
    func mpscStress() {
        let ring = MPSCRing<UInt64>(capacity: 16, startIndex: Int.max - 1_000)
        let producers = 4, perProducer: UInt64 = 100_000
        for p in 0..<producers {
            Thread {
                var i: UInt64 = 0
                while i < perProducer { if ring.push(UInt64(p) << 32 | i) { i += 1 } }
            }.start()
        }
        var next = [UInt64](repeating: 0, count: producers)
        var outOfOrder = 0
        var received: UInt64 = 0
        while received < UInt64(producers) * perProducer {
            received += UInt64(ring.popBatch(max: 7) { v in
                let p = Int(v >> 32), i = v & 0xFFFF_FFFF
                if i != next[p] { outOfOrder += 1 }
                next[p] = i + 1
            })
        }
        #expect(outOfOrder == 0)
        #expect(next == [UInt64](repeating: perProducer, count: producers))
        #expect(ring.pop() == nil)
    }

    @Test("priority lanes: control before order responses before market data")
    func lanes() {
        let lanes = PriorityLanes<Int>(capacity: 8)
        let pushed = [lanes.push(1, lane: .market), lanes.push(2, lane: .market), lanes.push(3, lane: .responses), lanes.push(4, lane: .control)]
        #expect(pushed == [true, true, true, true])
        var order: [Int] = []
        _ = lanes.popBatch(max: 10) { _, v in order.append(v) }
        #expect(order == [4, 3, 1, 2])
        #expect(lanes.pop() == nil)
    }
}

@Suite("Timer wheel")
struct TimerWheelTests {
    @Test("against a heap on seeded schedules: same timers fire at the same times in the same order, with cancels; the nothing-due shortcut changes nothing")
    func againstHeap() {
        var skipped = 0
        for seed in UInt64(1)...40 {
            var rng = SplitMix64(seed: seed)
            let start = Int64(bitPattern: rng.next()) >> Int64(rng.next(modulo: 64))
            var wheel = TimerWheel(now: start)
            var heap = HeapTimerReference()
            var handles: [TimerWheel.Handle] = []
            var now = start
            var fired: [String] = [], expected: [String] = []
            var deadlines: [Int64] = []
            for step in 0..<3_000 {
                switch rng.next(modulo: 10) {
                case 0...4:
                    // Spans from the same nanosecond to years ahead; some exact ties, and
                    // some at the deadline of an earlier timer (scheduled when the wheel's
                    // time was further from it, so it may sit at a higher level).
                    let span: Int64 = [0, 1, 63, 64, 4_096, 1_000_000, 3_600_000_000_000, 1 << 52][Int(rng.next(modulo: 8))]
                    var deadline = span == 0 ? now : now &+ Int64(rng.next(modulo: UInt64(span)))
                    if !deadlines.isEmpty && rng.next(modulo: 4) == 0 { deadline = deadlines[Int(rng.next(modulo: UInt64(deadlines.count)))] }
                    let clamped = deadline < now ? now : deadline  // overflow guard
                    deadlines.append(clamped)
                    handles.append(wheel.schedule(at: clamped, id: UInt64(step)))
                    heap.schedule(at: clamped, id: UInt64(step))
                case 5:
                    guard !handles.isEmpty else { continue }
                    let k = Int(rng.next(modulo: UInt64(handles.count)))
                    let (w, h) = (wheel.cancel(handles[k]), heap.cancel(order: UInt64(k)))
                    #expect(w == h)
                default:
                    let to = now &+ Int64(rng.next(modulo: [10, 1_000, 10_000_000, 1 << 40][Int(rng.next(modulo: 4))]))
                    guard to >= now else { continue }
                    // The shortcut: when the wheel says nothing may fire by `to`, the full
                    // search finds nothing and leaves the wheel exactly as it was.
                    if !wheel.mayFire(by: to) {
                        var slow = wheel
                        slow.noneDueBefore = .min
                        #expect(slow.nextDeadline(upTo: to) == nil && (heap.nextTime().map { $0 > to } ?? true))
                        if skipped % 16 == 0 {  // the whole state, now and then (it is 12 KB)
                            var a = StateWriter(), b = StateWriter()
                            wheel.saveState(&a)
                            slow.saveState(&b)
                            #expect(a.bytes == b.bytes, "seed \(seed), step \(step): the full search changed the wheel")
                        }
                        skipped += 1
                    }
                    // Peek before popping, as the engine does.
                    if let d = wheel.nextDeadline(upTo: to) { #expect(d == heap.nextTime()) }
                    while let f = wheel.popDue(upTo: to) { fired.append("\(f.deadline):\(f.id)") }
                    while let e = heap.popDue(upTo: to) { expected.append("\(e.time):\(e.id)") }
                    now = to
                }
            }
            while let f = wheel.popDue(upTo: .max) { fired.append("\(f.deadline):\(f.id)") }
            while let e = heap.popDue(upTo: .max) { expected.append("\(e.time):\(e.id)") }
            let firstDifference = fired.indices.first { $0 >= expected.count || fired[$0] != expected[$0] } ?? expected.count
            #expect(fired == expected, "seed \(seed): first difference at \(firstDifference)")
            #expect(wheel.count == 0)
        }
        #expect(skipped > 1_000, "the shortcut was taken \(skipped) times")
    }

    @Test("ties fire in scheduling order even when one timer cascaded down from a higher level")
    func tiesAfterCascade() {
        var wheel = TimerWheel(now: 0)
        wheel.schedule(at: 10_000, id: 1)  // far: level 2
        _ = wheel.popDue(upTo: 9_990)     // time moves close to it
        wheel.schedule(at: 10_000, id: 2)  // near: level 0 or 1
        wheel.schedule(at: 10_000, id: 3)
        var ids: [UInt64] = []
        while let f = wheel.popDue(upTo: 20_000) { ids.append(f.id) }
        #expect(ids == [1, 2, 3])
    }

    @Test("a far timer cascades once, when it is due: looking earlier changes nothing, and then it lands in level 0")
    func cascadeWhenDue() {
        let start: Int64 = 1_700_000_000_123_456_789
        var wheel = TimerWheel(now: start)
        wheel.schedule(at: start + 100_000_000, id: 7)  // 100 ms ahead: level 4
        wheel.schedule(at: start + 100_000_000 + 5, id: 8)
        var before = StateWriter()
        wheel.saveState(&before)
        for ms in Int64(1)...99 {
            #expect(wheel.nextDeadline(upTo: start + ms * 1_000_000) == nil)
        }
        var after = StateWriter()
        wheel.saveState(&after)
        let unchanged = before.bytes == after.bytes
        #expect(unchanged, "a look before the deadline moved the wheel")
        #expect(wheel.nextDeadline(upTo: start + 100_000_000) == start + 100_000_000)
        #expect(wheel.now == start + 100_000_000)
        #expect(wheel.popDue(upTo: start + 100_000_000)?.id == 7)
        #expect(wheel.popDue(upTo: start + 100_000_004) == nil)
        #expect(wheel.popDue(upTo: start + 100_000_005)?.id == 8)
        #expect(wheel.count == 0)
    }

    @Test("a cancelled or already fired handle cancels nothing, even after its record is reused")
    func staleHandles() {
        var wheel = TimerWheel(now: 0)
        let a = wheel.schedule(at: 5, id: 1)
        #expect(wheel.popDue(upTo: 5)?.id == 1)
        let b = wheel.schedule(at: 7, id: 2)  // reuses a's record
        let cancels = [wheel.cancel(a), wheel.cancel(b), wheel.cancel(b)]
        #expect(cancels == [false, true, false])
        #expect(wheel.popDue(upTo: 100) == nil && wheel.count == 0)
    }
}
