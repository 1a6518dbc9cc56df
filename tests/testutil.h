/* Shared by the ATF test programs: run a command, capture its output. */
#ifndef PNB_TESTUTIL_H
#define PNB_TESTUTIL_H

#include <stddef.h>

#include <atf-c.h>

struct cmd_result {
	int status;		/* exit code, or 128 + signal */
	char out[65536];
	char err[16384];
};

/* Run argv (NULL-terminated) with stdin from /dev/null; wait at most
 * timeout_s seconds (then SIGKILL, status 137). */
int run_cmd(char *const argv[], int timeout_s, struct cmd_result *res);
/* srcdir/../bin/NAME into buf. */
const char *bin_path(const char *srcdir, const char *name, char *buf, size_t len);
/* Point PNBENCH_CACHE at dir, or (dir NULL, PNBENCH_CACHE unset) at the
 * user's ~/.cache/pnbench from the password database: kyua gives each test
 * a HOME of its own, which would fetch a kernel once per test. */
void use_pnbench_cache(const char *dir);
/* What identifies one kyua run for the cases in it: the /tmp/kyua.XXXXXX
 * directory every case's work directory lies under ("" outside kyua). */
const char *kyua_run_id(char *buf, size_t len);
/* Number of lines in s. */
int count_lines(const char *s);

/* libatf-c reports a case that failed an ATF_CHECK and then called
 * atf_tc_skip as *skipped*, so the failure never shows.  testutil.c
 * interposes atf_tc_fail_check, atf_tc_fail_nonfatal and
 * atf_tc_check_errno to count failed checks; pnb_skip skips only while
 * that count is 0 and otherwise fails the case, naming the skip reason.
 * atf_tc_skip itself is poisoned below so no test can bypass this. */
int pnb_failed_checks(void);
__attribute__((noreturn, format(printf, 1, 2)))
void pnb_skip(const char *fmt, ...);

/* PNBENCH_OFFLINE=1 says this host is offline on purpose (README.md):
 * tests must not fetch a kernel then.  pnb_no_kernel ends a case that
 * found no kernel for spec: a failure (CI without a kernel tests
 * nothing), or a skip when PNBENCH_OFFLINE=1. */
int pnb_offline(void);
__attribute__((noreturn))
void pnb_no_kernel(const char *spec, const char *why);

#ifndef PNB_TESTUTIL_IMPL
#pragma GCC poison atf_tc_skip
#endif

#endif
