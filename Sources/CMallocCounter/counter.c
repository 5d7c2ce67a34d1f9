// An allocation counter: interposes the C allocator in the executable that links it and
// counts, per thread, every allocation before handing it to glibc's own allocator
// (__libc_malloc and friends). Used by `retrace bench engine` to prove the core thread's
// hot path allocates nothing. Frees are not counted; they pass straight through.
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include "retrace_malloc_counter.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *p);

static __thread uint64_t allocations __attribute__((tls_model("initial-exec")));

void *malloc(size_t size) { allocations++; return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { allocations++; return __libc_calloc(n, size); }
void *realloc(void *p, size_t size) { allocations++; return __libc_realloc(p, size); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t alignment, size_t size) { allocations++; return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { allocations++; return __libc_memalign(alignment, size); }

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    allocations++;
    void *p = __libc_memalign(alignment, size);
    if (p == NULL && size != 0) return ENOMEM;
    *out = p;
    return 0;
}

uint64_t retrace_thread_allocations(void) { return allocations; }

int retrace_malloc_counter_active(void) {
    uint64_t before = allocations;
    void *volatile p = malloc(16);
    free(p);
    return allocations != before;
}
