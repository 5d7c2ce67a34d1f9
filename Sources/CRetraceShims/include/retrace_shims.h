#ifndef RETRACE_SHIMS_H
#define RETRACE_SHIMS_H
#include <stddef.h>
#include <stdint.h>

/// CRC32C (Castagnoli) continuing from `crc` (pass 0 to start), using the SSE4.2
/// instruction when the CPU has it and a slicing table otherwise.
uint32_t retrace_crc32c(uint32_t crc, const void *data, size_t length);
/// CRC32C through the table implementation only (tests compare both paths).
uint32_t retrace_crc32c_table(uint32_t crc, const void *data, size_t length);
/// 1 when the hardware CRC32C path is available and used, 0 otherwise.
int retrace_crc32c_hardware_available(void);

/// SHA-256 compression of `blocks` whole 64-byte blocks into `state` (a, b, … h), using
/// the x86 SHA extensions when the CPU has them and portable C otherwise.
void retrace_sha256_blocks(uint32_t state[8], const void *data, size_t blocks);
/// The same through the portable implementation only (tests compare both paths).
void retrace_sha256_blocks_portable(uint32_t state[8], const void *data, size_t blocks);
/// 1 when the SHA extensions are available and used, 0 otherwise.
int retrace_sha256_hardware_available(void);

/// A cheap monotonic tick count (the TSC on x86: constant-rate and synchronised on this
/// kind of machine; CLOCK_MONOTONIC nanoseconds elsewhere). For latency profiling only.
uint64_t retrace_cycles(void);
/// `retrace_cycles` inlined into the caller (no call: the profiler reads it on every input).
static inline uint64_t retrace_ticks(void) {
#if defined(__x86_64__)
    return __builtin_ia32_rdtsc();
#else
    return retrace_cycles();
#endif
}
/// Nanoseconds per `retrace_cycles` tick, measured once against CLOCK_MONOTONIC (about
/// 250 µs, on first use).
double retrace_nanos_per_cycle(void);

/// Pins the calling thread to `cpu`. Returns 0, or an errno value (EINVAL: no such CPU).
int retrace_pin_current_thread(int cpu);
/// Lets the calling thread run on every online CPU again. Returns 0 or an errno value.
int retrace_unpin_current_thread(void);
/// Lets the calling thread run on every online CPU but `cpu` (helper threads keep off the
/// pinned core thread's CPU). A no-op on a one-CPU machine. Returns 0 or an errno value.
int retrace_pin_current_thread_except(int cpu);
/// The one CPU the calling thread is pinned to, or -1 when it may run on more than one.
int retrace_pinned_cpu(void);
/// The CPU the calling thread runs on now (-1 if unknown).
int retrace_current_cpu(void);
/// CPUs online.
int retrace_online_cpus(void);

/// Makes the kernel kill this process (SIGKILL) when its parent thread exits: a sweep's
/// backtest processes die with a killed sweep. Returns 0, ESRCH when `parent` is no longer
/// the parent (it exited first), or another errno value.
int retrace_die_with_parent(int parent);

/// Starts writeback of bytes [start, start+length) of `fd` (sync_file_range WRITE) without
/// waiting. Returns 0 or an errno value (ignored by callers: a hint only).
int retrace_start_writeback(int fd, int64_t start, int64_t length);
/// Waits until bytes [start, start+length) of `fd` are written back, then drops them from
/// the page cache (POSIX_FADV_DONTNEED: clean pages only). Returns 0 or an errno value.
int retrace_drop_written(int fd, int64_t start, int64_t length);

/// Maps the whole pages inside [start, start+length) in now, as a write (`write` != 0,
/// MADV_POPULATE_WRITE) or a read (MADV_POPULATE_READ) would, without changing what they
/// hold: the first touches that would fault later fault here, on the calling thread.
/// Returns 0 or an errno value (EINVAL: the kernel has no populate advice, before 5.14).
int retrace_populate(void *start, size_t length, int write);

/// A non-blocking eventfd (a doorbell one thread rings and another polls), or -1.
int retrace_eventfd(void);

#endif
