import CRetraceShims
import Foundation
import RetraceCore
import RetraceEngine

/// Benchmarks of the engine's runtime parts: rings and the timer wheel.
extension BenchCommand {
    /// A 64-byte message (a cache line), as the rings carry between threads.
    struct Message64 {
        var a: UInt64, b: UInt64, c: UInt64, d: UInt64, e: UInt64, f: UInt64, g: UInt64, h: UInt64
    }

    /// Starts `body` on a new thread pinned to `cpu` (when the machine has it).
    static func thread(cpu: Int, _ body: @escaping @Sendable () -> Void) -> Thread {
        let t = Thread {
            if cpu < retrace_online_cpus() { _ = retrace_pin_current_thread(Int32(cpu)) }
            body()
        }
        t.start()
        return t
    }

    /// Runs `body` on the calling thread pinned to `cpu`, then lets it run anywhere again.
    static func pinned<T>(cpu: Int, _ body: () throws -> T) rethrows -> T {
        guard cpu < retrace_online_cpus() else { return try body() }
        _ = retrace_pin_current_thread(Int32(cpu))
        defer { _ = retrace_unpin_current_thread() }
        return try body()
    }

    static func runtime(_ iterations: Int) -> [Figure] {
        var figures: [Figure] = []
        figures.append(Figure(name: "engine.ring.spsc.messages_per_second", value: median((0..<iterations).map { _ in spsc(messages: 10_000_000) }), unit: "messages/s"))
        figures.append(Figure(name: "engine.ring.mpsc.messages_per_second", value: median((0..<iterations).map { _ in mpsc(producers: 2, messages: 4_000_000) }), unit: "messages/s"))
        figures.append(Figure(name: "engine.timerwheel.ops_per_second", value: median((0..<iterations).map { _ in timerWheel(timers: 2_000_000) }), unit: "ops/s"))
        figures.append(Figure(name: "engine.cache.reference.checks_per_second", value: median((0..<iterations).map { _ in referenceChecks(4_000_000, instruments: 1) }), unit: "checks/s"))
        figures.append(Figure(name: "engine.cache.reference.checks_per_second.64_instruments", value: median((0..<iterations).map { _ in referenceChecks(4_000_000, instruments: 64) }), unit: "checks/s"))
        return figures
    }

    /// Orders checked against instrument trading rules through the LRU + TTL cache, as the
    /// core does on each submission: orders rotate over `instruments` instruments (one: the
    /// most-recent fast path; 64: a hash lookup each), engine time advances 1 µs per order
    /// and rules live 10 ms, so each instrument's rules are looked up again every 10,000 orders.
    static func referenceChecks(_ n: Int, instruments: Int) -> Double {
        var json = #"{"instruments": ["#
        json += (0..<instruments).map { #"{"symbol": "I\#($0)", "tick_size": "0.01", "lot_size": "1", "min_quantity": "1", "min_notional": "1000"}"# }.joined(separator: ",")
        json += "]}"
        guard let table = try? ReferenceTable(json: Data(json.utf8), path: "bench", ttlNanos: 10_000_000, capacity: 1024) else { return 0 }
        var data = ReferenceData(table: table)
        let defs = (0..<instruments).map { Instrument(id: InstrumentID(UInt32($0)), symbol: Symbol("I\($0)")!, priceScale: 2, quantityScale: 0) }
        var orders: [OrderSubmitted] = []
        var rng = SplitMix64(seed: 5)
        for k in 0..<4096 {
            orders.append(OrderSubmitted(orderID: ClientOrderID(UInt64(k + 1)), instrument: defs[k % instruments].id, side: k & 1 == 0 ? .buy : .sell,
                                         type: .limit, sizing: .fixed, quantity: Quantity(raw: Int64(1 + rng.next() % 50)),
                                         limitPrice: Price(raw: Int64(10_000 + rng.next() % 100))))
        }
        var refused = 0
        let clock = ContinuousClock()
        let start = clock.now
        for k in 0..<n {
            let o = orders[k & 4095]
            if data.check(o, instrument: defs[Int(o.instrument.raw)], touch: (9_999, 10_001), now: Int64(k) * 1_000) != nil { refused += 1 }
        }
        let seconds = secondsSince(start, clock)
        precondition(refused == data.refused, "reference benchmark lost count of its refusals")
        return Double(n) / seconds
    }

    /// One producer on CPU 0, the consumer on CPU 1, 64-byte messages through 4,096 slots.
    static func spsc(messages n: Int) -> Double {
        let ring = SPSCRing<Message64>(capacity: 4_096)
        let clock = ContinuousClock()
        let start = clock.now
        let producer = thread(cpu: 0) {
            var i = 0
            while i < n {
                let v = UInt64(i)
                if ring.push(Message64(a: v, b: v, c: v, d: v, e: v, f: v, g: v, h: v)) { i += 1 }
            }
        }
        var received = 0
        var sum: UInt64 = 0
        pinned(cpu: 1) {
            while received < n { received += ring.popBatch(max: 256) { sum &+= $0.a ^ $0.h } }
        }
        let seconds = secondsSince(start, clock)
        _ = producer
        precondition(sum == 0 && received == n, "SPSC benchmark lost messages")
        return Double(n) / seconds
    }

    /// `producers` threads push 64-byte messages into one MPSC ring, the consumer drains it.
    /// On a 2-core machine the threads share the cores, so this measures contention too.
    static func mpsc(producers: Int, messages n: Int) -> Double {
        let ring = MPSCRing<Message64>(capacity: 4_096)
        let per = n / producers
        let clock = ContinuousClock()
        let start = clock.now
        for p in 0..<producers {
            _ = thread(cpu: p % 2) {
                var i = 0
                while i < per {
                    let v = UInt64(i)
                    if ring.push(Message64(a: v, b: v, c: v, d: v, e: v, f: v, g: v, h: v)) { i += 1 }
                }
            }
        }
        var received = 0
        while received < per * producers { received += ring.popBatch(max: 256) { _ in } }
        return Double(received) / secondsSince(start, clock)
    }

    /// Strategy-timer traffic: each op is a schedule, a cancel or a fire. Timers land from
    /// 1 µs to 10 s ahead (log-spread), one in four is cancelled, time advances in 50 µs steps.
    static func timerWheel(timers n: Int) -> Double {
        var rng = SplitMix64(seed: 11)
        var wheel = TimerWheel(now: 0, expectedTimers: 1 << 16)
        var handles: [TimerWheel.Handle] = []
        handles.reserveCapacity(n)
        // Draw the deadlines first so the timing covers the wheel only.
        var offsets: [Int64] = []
        offsets.reserveCapacity(n)
        for _ in 0..<n { offsets.append(Int64(1_000.0 * pow(10_000_000.0, rng.nextUnitDouble()))) }
        var ops = 0
        var now: Int64 = 0
        let clock = ContinuousClock()
        let start = clock.now
        for k in 0..<n {
            handles.append(wheel.schedule(at: now + offsets[k], id: UInt64(k)))
            ops += 1
            if k % 4 == 3 { if wheel.cancel(handles[k - 2]) { ops += 1 } }
            if k % 8 == 7 {
                now += 50_000
                while wheel.popDue(upTo: now) != nil { ops += 1 }
            }
        }
        while wheel.popDue(upTo: .max) != nil { ops += 1 }
        let seconds = secondsSince(start, clock)
        precondition(wheel.count == 0, "timer wheel benchmark left timers behind")
        return Double(ops) / seconds
    }

    static func secondsSince(_ start: ContinuousClock.Instant, _ clock: ContinuousClock) -> Double {
        (clock.now - start).seconds
    }
}
