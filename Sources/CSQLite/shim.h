#include <sqlite3.h>

/* sqlite3_config is variadic, which Swift cannot call: one fixed-argument wrapper.
   Turns off the allocator's statistics, whose global mutex every SQLite allocation takes
   (measured at 4 % of the store writer thread). It must run before the library
   initializes (the first open); afterwards it returns SQLITE_MISUSE and changes nothing. */
static inline int retrace_sqlite_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
