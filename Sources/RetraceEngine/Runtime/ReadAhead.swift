import CRetraceShims
import Dispatch
import Foundation
import RetraceJournal
import Synchronization

/// Reads input events on a helper thread, ahead of the core loop. The helper finds each
/// record, checks its CRC and the sequence chain, decodes it and drops what is not an input
/// (as `JournalInput` does on its own); the core thread takes the decoded events in the same
/// order. Nothing about the run changes but which thread did the reading: same events, same
/// sequence numbers, same errors at the same place in the stream, same fingerprint.
///
/// Events travel in batches of `batchEvents` through a ring of `batchCount` batches. The
/// core runs each event in its slot (no copy) and releases a batch when it has moved past all
/// of it. A batch also carries the journal segments the reader
/// moved past while filling it (`SegmentKeeper`): the events' encoded bytes point into them,
/// so they stay mapped until the core has released that batch.
///
/// Waiting: the core spins briefly and then sleeps when no batch is ready (rare: reading is
/// faster than running); the reader sleeps when the ring is full and is woken once half of
/// it is free again, so a wake-up costs the core one system call per half ring, not one per
/// batch.
final class ReadAhead {
    static let batchEvents = 256
    static let batchCount = 16
    /// The reader, asleep on a full ring, is woken when this many batches are free: early,
    /// so that it is back at work long before the core runs out.
    static let wakeWhenFree = 4

    /// One batch's description (its events are `batchEvents` slots of `State.slots`).
    struct Batch {
        var count = 0
        var ended = false
        var failure: EngineError?
        var keep: [AnyObject] = []
    }

    /// What both threads share; the helper holds it, so it outlives the handle's owner
    /// until the helper has finished.
    final class State: @unchecked Sendable {
        let slots: UnsafeMutablePointer<InputEvent>
        let batches: UnsafeMutablePointer<Batch>
        /// Batches published by the reader, and released by the core (both only grow).
        let produced = Atomic<Int>(0)
        let consumed = Atomic<Int>(0)
        let stopping = Atomic<Bool>(false)
        let readerWaiting = Atomic<Bool>(false)
        let coreWaiting = Atomic<Bool>(false)
        let lock = ConditionLock()
        let finished = DispatchSemaphore(value: 0)
        /// Reads the next input into a slot; false at the end (helper thread only).
        let fill: (inout InputEvent) throws(EngineError) -> Bool
        let keeper: SegmentKeeper

        init(keeper: SegmentKeeper, fill: @escaping (inout InputEvent) throws(EngineError) -> Bool) {
            self.keeper = keeper
            self.fill = fill
            let n = ReadAhead.batchEvents * ReadAhead.batchCount
            slots = .allocate(capacity: n)
            slots.initialize(repeating: .empty, count: n)
            batches = .allocate(capacity: ReadAhead.batchCount)
            batches.initialize(repeating: Batch(), count: ReadAhead.batchCount)
        }

        deinit {
            slots.deinitialize(count: ReadAhead.batchEvents * ReadAhead.batchCount)
            slots.deallocate()
            batches.deinitialize(count: ReadAhead.batchCount)
            batches.deallocate()
        }

        /// Helper thread: fills batches until the input ends, fails or the core stops it.
        func run() {
            // Started from the core thread: keep off its CPU when that one is pinned.
            let pinned = retrace_pinned_cpu()
            if pinned >= 0 { Placement.keepOff(Int(pinned)) }
            var n = 0
            while !stopping.load(ordering: .relaxed) {
                if n - consumed.load(ordering: .sequentiallyConsistent) == ReadAhead.batchCount, !waitForRoom(n) { break }
                let i = n % ReadAhead.batchCount
                let base = slots + i * ReadAhead.batchEvents
                batches[i].keep = []  // unmaps what an earlier pass carried
                var count = 0
                var ended = false
                var failure: EngineError?
                while count < ReadAhead.batchEvents {
                    do throws(EngineError) {
                        if try fill(&base[count]) { count += 1 } else { ended = true; break }
                    } catch {
                        failure = error
                        ended = true
                        break
                    }
                }
                batches[i].count = count
                batches[i].ended = ended
                batches[i].failure = failure
                batches[i].keep = keeper.take()
                n += 1
                produced.store(n, ordering: .sequentiallyConsistent)
                if coreWaiting.load(ordering: .sequentiallyConsistent) {
                    lock.lock()
                    lock.broadcast()
                    lock.unlock()
                }
                if ended { break }
            }
            finished.signal()
        }

        /// Helper: sleeps until `wakeWhenFree` batches are free (false: stopping).
        private func waitForRoom(_ n: Int) -> Bool {
            lock.lock()
            readerWaiting.store(true, ordering: .sequentiallyConsistent)
            while n - consumed.load(ordering: .sequentiallyConsistent) > ReadAhead.batchCount - ReadAhead.wakeWhenFree && !stopping.load(ordering: .sequentiallyConsistent) {
                lock.wait()
            }
            readerWaiting.store(false, ordering: .sequentiallyConsistent)
            lock.unlock()
            return !stopping.load(ordering: .relaxed)
        }
    }

    private let state: State
    private var started = false
    /// Batches the core has taken (the one in use is `taken - 1`).
    private var taken = 0
    private var done = false

    /// `fill` reads the next input into a slot (false at the end); it runs on the helper
    /// thread only, from the first `next` on. Segments the reading moves past must go to
    /// `keeper`.
    init(keeper: SegmentKeeper, fill: @escaping (inout InputEvent) throws(EngineError) -> Bool) {
        state = State(keeper: keeper, fill: fill)
    }

    deinit {
        guard started else { return }
        state.stopping.store(true, ordering: .sequentiallyConsistent)
        state.lock.lock()
        state.lock.broadcast()
        state.lock.unlock()
        state.finished.wait()
    }

    /// Core thread: releases the batch taken and waits for the next one. Returns its events
    /// (nil: the input ended; a failure the reader met is thrown here, after the events read
    /// before it). The caller runs them in place, in order, before calling again.
    func nextBatch() throws(EngineError) -> (events: UnsafeMutablePointer<InputEvent>, count: Int)? {
        if done { return nil }
        if !started {
            started = true
            let state = self.state
            let t = Thread { state.run() }
            t.name = "retrace-read"
            t.stackSize = 1 << 20
            t.start()
        }
        while true {
            if taken > 0 {
                let j = (taken - 1) % ReadAhead.batchCount
                if state.batches[j].ended {
                    done = true
                    if let failure = state.batches[j].failure { throw failure }
                    return nil
                }
                release()
            }
            if state.produced.load(ordering: .sequentiallyConsistent) == taken { waitForBatch() }
            let i = taken % ReadAhead.batchCount
            taken += 1
            let count = state.batches[i].count
            if count > 0 { return (state.slots + i * ReadAhead.batchEvents, count) }
            // An empty batch is the last one: the loop reports its end.
        }
    }

    /// Core thread: hands the batch in use back to the reader.
    private func release() {
        state.consumed.store(taken, ordering: .sequentiallyConsistent)
        if state.readerWaiting.load(ordering: .sequentiallyConsistent),
           state.produced.load(ordering: .relaxed) - taken <= ReadAhead.batchCount - ReadAhead.wakeWhenFree {
            state.lock.lock()
            state.lock.broadcast()
            state.lock.unlock()
        }
    }

    /// Core thread: waits until the reader has published batch `taken`.
    private func waitForBatch() {
        for _ in 0..<2_000 where state.produced.load(ordering: .sequentiallyConsistent) == taken {}
        guard state.produced.load(ordering: .sequentiallyConsistent) == taken else { return }
        state.lock.lock()
        state.coreWaiting.store(true, ordering: .sequentiallyConsistent)
        while state.produced.load(ordering: .sequentiallyConsistent) == taken { state.lock.wait() }
        state.coreWaiting.store(false, ordering: .sequentiallyConsistent)
        state.lock.unlock()
    }
}
