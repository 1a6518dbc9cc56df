/* pnb_skip (testutil): a skip after a failed check must end as a failure.
 * The "inner_" cases do the checking and skipping; the outer cases run
 * this very program on one of them (as kyua would) and read the result
 * file ATF wrote, which is the only place the final verdict shows.  The
 * inner cases need the config variable pnb_selftest, so under kyua on
 * their own they are skipped by require.config before their bodies run. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INNER(name, what)                                                        \
	ATF_TC(name);                                                            \
	ATF_TC_HEAD(name, tc)                                                    \
	{                                                                        \
		atf_tc_set_md_var(tc, "descr", what " (run by the outer cases)"); \
		atf_tc_set_md_var(tc, "require.config", "pnb_selftest");         \
	}                                                                        \
	ATF_TC_BODY(name, tc)

INNER(inner_check_then_skip, "a failed ATF_CHECK, then pnb_skip")
{
	(void)tc;
	ATF_CHECK_EQ_MSG(1, 2, "deliberate");
	pnb_skip("the reason %s", "given");
}

INNER(inner_nonfatal_then_skip, "atf_tc_fail_nonfatal, then pnb_skip")
{
	(void)tc;
	atf_tc_fail_nonfatal("deliberate");
	pnb_skip("after nonfatal");
}

INNER(inner_errno_then_skip, "a failed ATF_CHECK_ERRNO (wrong errno), then pnb_skip")
{
	(void)tc;
	ATF_CHECK_ERRNO(EEXIST, open("/nonexistent/pnbench", O_RDONLY) == -1);
	pnb_skip("after errno");
}

INNER(inner_passed_then_skip, "checks that pass, then pnb_skip")
{
	(void)tc;
	ATF_CHECK(1 + 1 == 2);
	ATF_CHECK_ERRNO(ENOENT, open("/nonexistent/pnbench", O_RDONLY) == -1);
	ATF_CHECK_STREQ("a", "a");
	pnb_skip("nothing failed");
}

/* Run inner case `name` of this program; its result file into res. */
static void run_inner(const atf_tc_t *tc, const char *name, char *res, size_t len,
		      struct cmd_result *r)
{
	const char *src = atf_tc_get_config_var(tc, "srcdir");
	char prog[4096], sflag[4200];
	FILE *f;
	size_t n;

	snprintf(prog, sizeof prog, "%s/testutil_test", src);
	snprintf(sflag, sizeof sflag, "-s%s", src);
	unlink("result");
	ATF_REQUIRE_EQ(run_cmd((char *[]){ prog, "-rresult", sflag, "-vpnb_selftest=yes",
					   (char *)name, NULL }, 30, r), 0);
	ATF_REQUIRE_MSG((f = fopen("result", "r")), "%s wrote no result file: %s", name, r->err);
	n = fread(res, 1, len - 1, f);
	res[n] = 0;
	fclose(f);
}

ATF_TC(skip_after_failed_check_fails);
ATF_TC_HEAD(skip_after_failed_check_fails, tc)
{
	atf_tc_set_md_var(tc, "descr", "a failed ATF_CHECK, atf_tc_fail_nonfatal or ATF_CHECK_ERRNO "
			  "followed by pnb_skip ends failed, with the skip reason and ATF's own "
			  "check message");
}
ATF_TC_BODY(skip_after_failed_check_fails, tc)
{
	static const char *const inner[] = { "inner_check_then_skip", "inner_nonfatal_then_skip",
					      "inner_errno_then_skip" };
	struct cmd_result *r = malloc(sizeof *r);
	char res[4096];

	ATF_REQUIRE(r);
	for (size_t i = 0; i < sizeof inner / sizeof inner[0]; i++) {
		run_inner(tc, inner[i], res, sizeof res, r);
		ATF_CHECK_MSG(strncmp(res, "failed: ", 8) == 0, "%s: result '%s'", inner[i], res);
		ATF_CHECK_MSG(strstr(res, "1 check(s) failed"), "%s: result '%s'", inner[i], res);
		ATF_CHECK_MSG(r->status == 1, "%s: exit %d", inner[i], r->status);
	}
	run_inner(tc, "inner_check_then_skip", res, sizeof res, r);
	ATF_CHECK_MSG(strstr(res, "skip reason: the reason given"), "result '%s'", res);
	/* The check itself still went through libatf-c's reporting. */
	ATF_CHECK_MSG(strstr(r->err, "deliberate"), "stderr: %s", r->err);
	free(r);
}

ATF_TC(skip_after_passed_checks_skips);
ATF_TC_HEAD(skip_after_passed_checks_skips, tc)
{
	atf_tc_set_md_var(tc, "descr", "checks that all passed do not turn pnb_skip into a failure");
}
ATF_TC_BODY(skip_after_passed_checks_skips, tc)
{
	struct cmd_result *r = malloc(sizeof *r);
	char res[4096];

	ATF_REQUIRE(r);
	run_inner(tc, "inner_passed_then_skip", res, sizeof res, r);
	ATF_CHECK_MSG(strcmp(res, "skipped: nothing failed\n") == 0, "result '%s'", res);
	ATF_CHECK_EQ(pnb_failed_checks(), 0);
	free(r);
}

/* The poison in testutil.h only reaches files that include it: this
 * catches a raw skip anywhere else among the test sources. */
ATF_TC(no_raw_skip);
ATF_TC_HEAD(no_raw_skip, tc)
{
	atf_tc_set_md_var(tc, "descr", "no test source but testutil.c calls atf_tc_skip directly");
}
ATF_TC_BODY(no_raw_skip, tc)
{
	const char *src = atf_tc_get_config_var(tc, "srcdir");
	char pat[4096], line[4096];
	int files = 0;
	glob_t g;

	snprintf(pat, sizeof pat, "%s/*.[ch]", src);
	ATF_REQUIRE_MSG(glob(pat, 0, NULL, &g) == 0, "no sources match %s", pat);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *base = strrchr(g.gl_pathv[i], '/') + 1;
		FILE *f;
		int n = 0;

		if (!strcmp(base, "testutil.c") || !strcmp(base, "testutil.h"))
			continue;
		ATF_REQUIRE((f = fopen(g.gl_pathv[i], "r")));
		files++;
		while (fgets(line, sizeof line, f)) {
			n++;
			/* Split so that this file does not match itself. */
			ATF_CHECK_MSG(!strstr(line, "atf_tc_" "skip("), "%s:%d calls atf_tc_skip: use "
				      "pnb_skip (testutil.h)", base, n);
		}
		fclose(f);
	}
	globfree(&g);
	ATF_CHECK_MSG(files >= 20, "only %d test sources under %s", files, src);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, skip_after_failed_check_fails);
	ATF_TP_ADD_TC(tp, skip_after_passed_checks_skips);
	ATF_TP_ADD_TC(tp, no_raw_skip);
	ATF_TP_ADD_TC(tp, inner_check_then_skip);
	ATF_TP_ADD_TC(tp, inner_nonfatal_then_skip);
	ATF_TP_ADD_TC(tp, inner_errno_then_skip);
	ATF_TP_ADD_TC(tp, inner_passed_then_skip);
	return atf_no_error();
}
