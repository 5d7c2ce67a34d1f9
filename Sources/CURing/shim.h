// liburing.h defines _XOPEN_SOURCE/_GNU_SOURCE before its system includes, so its copy of
// glibc types (fd_set, ...) would differ from other modules' copies and Swift would reject
// the module. Including the system headers first fixes the feature macros to the default set.
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <signal.h>
#include <sched.h>
#include <time.h>
#include <fcntl.h>
#include <liburing.h>
