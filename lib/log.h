/* Messages that say who speaks: "pnbench: ...", "psi: ...". */
#ifndef PNB_LOG_H
#define PNB_LOG_H

#include <stdarg.h>

/* Exit codes used by every program of the project. */
enum { PNB_EXIT_OK = 0, PNB_EXIT_FAIL = 1, PNB_EXIT_USAGE = 2 };

void pnb_set_prog(const char *name);
const char *pnb_prog(void);

/* "prog: message\n" on stderr. */
void pnb_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, then exit(code). */
void pnb_die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

#endif
