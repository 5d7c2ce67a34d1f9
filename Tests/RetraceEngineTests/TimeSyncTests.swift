import Foundation
import Testing
@testable import RetraceCore
@testable import RetraceEngine

@Suite("Time sync")
struct TimeSyncTests {
    /// A venue clock `offset` ns ahead of ours at t = 0, drifting `ppm`, seen through a link
    /// whose delay is `base` plus seeded queueing noise (never negative).
    func samples(offset: Int64, ppm: Double, base: Int64, twoWay: Bool, count: Int, seed: UInt64) -> [TimeSync.Sample] {
        var rng = SplitMix64(seed: seed)
        var out: [TimeSync.Sample] = []
        var t: Int64 = 1_000_000_000
        for _ in 0..<count {
            t += 1_000_000 + Int64(rng.next(modulo: 5_000_000))
            let noise = Int64(-200_000.0 * log(1.0 - rng.nextUnitDouble()))  // exponential, mean 200 µs
            let venueOffset = offset + Int64(ppm * 1e3 * Double(t) / 1e9)
            if twoWay {
                // Request out and answer back, each leg `base` plus half the noise.
                let send = t, stamp = t + base + noise / 2
                out.append(TimeSync.Sample(localSend: send, venueTime: stamp + venueOffset, localReceive: stamp + base + noise - noise / 2))
            } else {
                out.append(TimeSync.Sample(venueTime: t + venueOffset, localReceive: t + base + noise))
            }
        }
        return out
    }

    @Test("two-way samples: offset and drift recovered through queueing noise, by minimum round trip")
    func twoWay() throws {
        var sync = TimeSync(windowNanos: 1_000_000_000)
        for s in samples(offset: 1_270_000_000, ppm: 12, base: 300_000, twoWay: true, count: 20_000, seed: 3) { sync.add(s) }
        let e = try #require(sync.estimate)
        #expect(!e.oneWay && e.windows > 50)
        // True offset at the reference time, within 20 µs; drift within 0.5 ppm.
        let truth = 1_270_000_000 + 12e3 * Double(e.referenceTime) / 1e9
        #expect(abs(e.offsetNanos - truth) < 20_000, "offset \(e.offsetNanos) vs \(truth)")
        #expect(abs(e.driftPPB - 12_000) < 500, "drift \(e.driftPPB) ppb")
        // A venue timestamp converts back to the local time it was stamped at (± noise floor).
        let t: Int64 = 60_000_000_000
        let venue = t + 1_270_000_000 + Int64(12e3 * Double(t) / 1e9)
        #expect(abs(sync.toLocal(venueTime: venue) - t) < 50_000)
    }

    @Test("one-way samples: the offset is bounded by the fastest message (true offset minus the base latency)")
    func oneWay() throws {
        var sync = TimeSync()
        for s in samples(offset: -500_000_000, ppm: 0, base: 2_000_000, twoWay: false, count: 20_000, seed: 4) { sync.add(s) }
        let e = try #require(sync.estimate)
        #expect(e.oneWay)
        #expect(abs(e.offsetNanos - (-500_000_000 - 2_000_000)) < 30_000, "offset \(e.offsetNanos)")
    }

    @Test("same samples in the same order ⇒ the same estimate, bit for bit")
    func deterministic() {
        let s = samples(offset: 7_000, ppm: -3, base: 50_000, twoWay: true, count: 5_000, seed: 9)
        var a = TimeSync(), b = TimeSync()
        for x in s { a.add(x) }
        for x in s { b.add(x) }
        #expect(a.estimate == b.estimate && a.estimate != nil)
        #expect(a.estimate!.offsetNanos.bitPattern == b.estimate!.offsetNanos.bitPattern)
    }

    @Test("two-way samples: the reported bound holds however the round trip splits between the legs, and one-way has none")
    func offsetBound() throws {
        for seed in UInt64(1)...40 {
            var rng = SplitMix64(seed: seed)
            var sync = TimeSync(windowNanos: 1_000_000_000)
            let offset: Int64 = 250_000_000, ppm = 5.0
            // Few windows, round trips up to 5 ms, and a split that is all on one leg for
            // some seeds (the worst case) and random for others.
            let lopsided = seed % 3
            let fixedRTT = 50_000 + Int64(rng.next(modulo: 5_000_000))
            var t: Int64 = 2_000_000_000
            for _ in 0..<(20 + Int(rng.next(modulo: 200))) {
                t += 10_000_000 + Int64(rng.next(modulo: 40_000_000))
                // Lopsided: one round trip throughout, so every window's best sample is off by
                // the same half round trip. Otherwise each round trip is drawn.
                let rtt = lopsided == 2 ? 50_000 + Int64(rng.next(modulo: 5_000_000)) : fixedRTT
                let out = lopsided == 0 ? 0 : lopsided == 1 ? rtt : Int64(rng.next(modulo: UInt64(rtt) + 1))
                let stamp = t + out
                sync.add(TimeSync.Sample(localSend: t, venueTime: stamp + offset + Int64(ppm * 1e3 * Double(stamp) / 1e9), localReceive: t + rtt))
            }
            let e = try #require(sync.estimate)
            let bound = try #require(e.offsetBoundNanos)
            let truth = Double(offset) + ppm * 1e3 * Double(e.referenceTime) / 1e9
            let error = abs(e.offsetNanos - truth)
            // Outside the bound: the drift over a round trip (5 ppm of at most 5.05 ms), and
            // the simulated venue clock's rounding to whole nanoseconds.
            #expect(error <= bound + 27, "seed \(seed): off by \(error) ns, bound \(bound) ns over \(e.windows) windows")
            #expect(bound <= 5_050_000 * 2, "seed \(seed): bound \(bound) ns")
            // All on one leg with one round trip: the estimate is off by exactly half of it,
            // and the bound must not be far above that (it is not vacuous).
            if lopsided != 2 { #expect(error >= bound / 2, "seed \(seed): off by \(error) ns, bound \(bound) ns") }
        }
        var oneWay = TimeSync()
        for s in samples(offset: 0, ppm: 0, base: 1_000, twoWay: false, count: 100, seed: 5) { oneWay.add(s) }
        #expect(try #require(oneWay.estimate).offsetBoundNanos == nil)
    }

    @Test("mixed one-way and two-way samples (a venue's own heartbeats and its ping answers): the two-way ones decide, on either side of our clock")
    func mixed() throws {
        for offset: Int64 in [250_000_000, -250_000_000] {
            var sync = TimeSync(windowNanos: 1_000_000_000)
            let twoWay = samples(offset: offset, ppm: 0, base: 100_000, twoWay: true, count: 3_000, seed: 11)
            let oneWay = samples(offset: offset, ppm: 0, base: 2_000_000, twoWay: false, count: 3_000, seed: 12)
            var (i, j) = (0, 0)
            while i < twoWay.count || j < oneWay.count {  // in receive order
                if j == oneWay.count || (i < twoWay.count && twoWay[i].localReceive <= oneWay[j].localReceive) { sync.add(twoWay[i]); i += 1 } else { sync.add(oneWay[j]); j += 1 }
            }
            let e = try #require(sync.estimate)
            #expect(!e.oneWay && e.offsetBoundNanos != nil)
            // One-way samples would pull the estimate 2 ms short of the truth.
            #expect(abs(e.offsetNanos - Double(offset)) < 20_000, "offset \(e.offsetNanos) vs \(offset)")
            #expect(abs(e.offsetNanos - Double(offset)) <= e.offsetBoundNanos! + 1)
        }
    }
}
