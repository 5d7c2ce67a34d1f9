// Thread placement and file writeback. GNU-only glibc calls (pthread_setaffinity_np,
// sched_getcpu, CPU_SET, sync_file_range) are hidden from Swift's Glibc module, so they
// live here behind _GNU_SOURCE.
#define _GNU_SOURCE
#include "retrace_shims.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

int retrace_pin_current_thread(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

int retrace_unpin_current_thread(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (long i = 0; i < n && i < CPU_SETSIZE; i++) CPU_SET((int)i, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

int retrace_current_cpu(void) { return sched_getcpu(); }

int retrace_online_cpus(void) { return (int)sysconf(_SC_NPROCESSORS_ONLN); }

int retrace_pin_current_thread_except(int cpu) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 1) return 0;  // nowhere else to go: leave the thread where it is
    cpu_set_t set;
    CPU_ZERO(&set);
    for (long i = 0; i < n && i < CPU_SETSIZE; i++) if (i != cpu) CPU_SET((int)i, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

#include <signal.h>
#include <sys/prctl.h>

int retrace_die_with_parent(int parent) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return errno;
    // The parent may have exited before the call: then this process was re-parented.
    return getppid() == (pid_t)parent ? 0 : ESRCH;
}

int retrace_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

// MARK: cycle counter (latency profiling)

#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

static uint64_t mono_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

uint64_t retrace_cycles(void) {
#if defined(__x86_64__)
    return __rdtsc();
#else
    return mono_ns();
#endif
}

static double ns_per_cycle = 0;

double retrace_nanos_per_cycle(void) {
    // A race computes it twice, to nearly the same value: harmless.
    double v = ns_per_cycle;
    if (v > 0) return v;
#if defined(__x86_64__)
    // Both clocks over 250 µs of spinning: the clock reads at either end take tens of
    // nanoseconds, so the ratio is good to about 0.02 %, far inside the latency histograms'
    // 1 % buckets. (It was 2 ms, paid by every process: 1.5 % of a 1 M-event replay.)
    uint64_t n0 = mono_ns(), c0 = __rdtsc();
    uint64_t n1, c1;
    do { n1 = mono_ns(); c1 = __rdtsc(); } while (n1 - n0 < 250000);
    v = (c1 > c0) ? (double)(n1 - n0) / (double)(c1 - c0) : 1.0;
#else
    v = 1.0;
#endif
    ns_per_cycle = v;
    return v;
}

int retrace_start_writeback(int fd, int64_t start, int64_t length) {
    return sync_file_range(fd, start, length, SYNC_FILE_RANGE_WRITE) == 0 ? 0 : errno;
}

int retrace_drop_written(int fd, int64_t start, int64_t length) {
    if (sync_file_range(fd, start, length, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) != 0) return errno;
    return posix_fadvise(fd, start, length, POSIX_FADV_DONTNEED);
}

int retrace_populate(void *start, size_t length, int write) {
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) page = 4096;
    uintptr_t first = ((uintptr_t)start + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t end = ((uintptr_t)start + length) & ~((uintptr_t)page - 1);
    if (end <= first) return 0;
    return madvise((void *)first, end - first, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) == 0 ? 0 : errno;
}

int retrace_pinned_cpu(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (pthread_getaffinity_np(pthread_self(), sizeof set, &set) != 0 || CPU_COUNT(&set) != 1) return -1;
    for (int i = 0; i < CPU_SETSIZE; i++) if (CPU_ISSET(i, &set)) return i;
    return -1;
}
