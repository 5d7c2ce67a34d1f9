// Thread placement. GNU-only glibc calls (pthread_setaffinity_np, sched_getcpu, CPU_SET)
// are hidden from Swift's Glibc module, so they live here behind _GNU_SOURCE.
#define _GNU_SOURCE
#include "retrace_shims.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <sys/eventfd.h>

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
