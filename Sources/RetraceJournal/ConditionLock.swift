#if canImport(Glibc)
import Glibc
#endif

/// A mutex with one condition variable (monotonic clock), for the journal's group commit.
/// Swift's `Mutex` has no condition variable; this wraps the pthread pair.
package final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    /// False for a writer with a single owning thread and no background thread: `lock` and
    /// `unlock` then do nothing (waiting and broadcasting are never reached: with one
    /// thread nobody can find the writer mid-flush).
    private let locking: Bool

    package init(locking: Bool = true) {
        self.locking = locking
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    @inline(__always) package func lock() { if locking { pthread_mutex_lock(mutex) } }
    @inline(__always) package func unlock() { if locking { pthread_mutex_unlock(mutex) } }
    /// Waits for a broadcast; the lock must be held.
    package func wait() {
        precondition(locking, "a single-owner journal writer was used by two threads")
        pthread_cond_wait(condition, mutex)
    }
    /// Waits for a broadcast or `nanoseconds`; the lock must be held.
    package func wait(nanoseconds: Int) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let total = Int(now.tv_nsec) + nanoseconds
        var deadline = timespec(tv_sec: now.tv_sec + total / 1_000_000_000, tv_nsec: total % 1_000_000_000)
        pthread_cond_timedwait(condition, mutex, &deadline)
    }
    package func broadcast() { pthread_cond_broadcast(condition) }
}
