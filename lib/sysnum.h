/* x86-64 numbers of the process-memory system calls, for libcs whose
 * headers predate them (pidfd_open 5.3, process_madvise 5.10,
 * process_mrelease 5.15).  The killer and the conformance suite both call
 * them through syscall(2). */
#ifndef PNB_SYSNUM_H
#define PNB_SYSNUM_H

#include <sys/syscall.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#ifndef SYS_process_mrelease
#define SYS_process_mrelease 448
#endif

#endif
