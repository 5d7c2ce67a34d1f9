// GNU-only thread calls: Swift's Glibc module does not define _GNU_SOURCE.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include "retrace_shims.h"

int retrace_pin_current_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

int retrace_current_cpu(void) { return sched_getcpu(); }
