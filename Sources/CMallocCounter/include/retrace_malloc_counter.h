#ifndef RETRACE_MALLOC_COUNTER_H
#define RETRACE_MALLOC_COUNTER_H
#include <stdint.h>

/// Heap allocations (malloc, calloc, realloc, the aligned forms) made by the calling thread
/// since it started. Only counts when this library's interposed allocator is in the
/// process; `retrace_malloc_counter_active` says whether it is.
uint64_t retrace_thread_allocations(void);

/// 1 when the interposed allocator is counting, 0 otherwise.
int retrace_malloc_counter_active(void);

#endif
