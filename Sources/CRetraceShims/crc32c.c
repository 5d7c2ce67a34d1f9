// CRC32C (Castagnoli, reflected polynomial 0x82F63B78).
// Hardware path: the SSE4.2 crc32 instruction, 8 bytes per step.
// Fallback: slicing-by-8 tables, built once on first use.
#include "retrace_shims.h"
#include <string.h>

static uint32_t table[8][256];
static int table_ready = 0;

static void build_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : (c >> 1);
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        for (int s = 1; s < 8; s++) table[s][i] = (table[s - 1][i] >> 8) ^ table[0][table[s - 1][i] & 0xFF];
    }
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t retrace_crc32c_table(uint32_t crc, const void *data, size_t length) {
    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE)) build_table();  // idempotent, same result on a race
    const uint8_t *p = (const uint8_t *)data;
    uint32_t c = ~crc;
    while (length >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= c;
        c = table[7][w & 0xFF] ^ table[6][(w >> 8) & 0xFF] ^ table[5][(w >> 16) & 0xFF] ^
            table[4][(w >> 24) & 0xFF] ^ table[3][(w >> 32) & 0xFF] ^ table[2][(w >> 40) & 0xFF] ^
            table[1][(w >> 48) & 0xFF] ^ table[0][(w >> 56) & 0xFF];
        p += 8;
        length -= 8;
    }
    while (length--) c = (c >> 8) ^ table[0][(c ^ *p++) & 0xFF];
    return ~c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t length) {
    const uint8_t *p = (const uint8_t *)data;
    uint64_t c = ~crc;
    while (length >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        length -= 8;
    }
    // The tail in at most three steps (4, 2, 1 bytes), not up to seven single bytes: a
    // journal record's CRC covers 8 bytes plus its payload, so most end in a tail.
    uint32_t c32 = (uint32_t)c;
    if (length & 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        c32 = __builtin_ia32_crc32si(c32, w);
        p += 4;
    }
    if (length & 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        c32 = __builtin_ia32_crc32hi(c32, w);
        p += 2;
    }
    if (length & 1) c32 = __builtin_ia32_crc32qi(c32, *p);
    return ~c32;
}

// The implementation is chosen once, when the program is loaded (a GNU indirect function):
// each call goes straight to it, with no check of the CPU per call (that dispatch was a
// fifth of the checksum's instructions on the journal's small records).
static int sse42(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
}

int retrace_crc32c_hardware_available(void) { return sse42() ? 1 : 0; }

typedef uint32_t (*crc32c_fn)(uint32_t, const void *, size_t);
static crc32c_fn resolve_crc32c(void) { return sse42() ? crc32c_sse42 : retrace_crc32c_table; }
uint32_t retrace_crc32c(uint32_t crc, const void *data, size_t length) __attribute__((ifunc("resolve_crc32c")));
#else
int retrace_crc32c_hardware_available(void) { return 0; }
uint32_t retrace_crc32c(uint32_t crc, const void *data, size_t length) {
    return retrace_crc32c_table(crc, data, length);
}
#endif
