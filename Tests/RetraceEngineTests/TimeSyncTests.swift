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
}
