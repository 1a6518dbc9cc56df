/* pnbench bisect: argument errors, and git bisect driven for real over small
 * git histories with a shell builder and runner standing in for the kernel
 * build and the guests.  The runner copies the compare fixtures
 * (data/analyze/cmp-base: vmpressure:low fires 4/4 runs before the OOM
 * kill; cmp-worse: it fires 3 s later), and for a revision whose `state`
 * says "silent" deletes every notification from the copy, so compare sees
 * the mechanism stop firing.  git, the step protocol, the result-set cache
 * and compare's verdict are the real ones.
 *
 * real_kernel bisects a linux-source-6.12 history with a planted vmpressure
 * regression (bisect_history.sh): kernel builds and guest runs, an hour or
 * more here, so it runs only with kyua -v test_suites.pnbench.bisect=1. */
#include <atf-c.h>

#include "testutil.h"

#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char pnbench[1024], work[1024];

static void setup(const atf_tc_t *tc)
{
	char data[1200];

	bin_path(atf_tc_get_config_var(tc, "srcdir"), "pnbench", pnbench, sizeof pnbench);
	ATF_REQUIRE(getcwd(work, sizeof work));
	snprintf(data, sizeof data, "%s/data/analyze", atf_tc_get_config_var(tc, "srcdir"));
	ATF_REQUIRE_EQ(setenv("PNB_TEST_DATA", data, 1), 0);
	ATF_REQUIRE_EQ(setenv("PNB_TEST_WORK", work, 1), 0);
	/* Fixed identities and dates: the same commits every run. */
	setenv("GIT_AUTHOR_NAME", "t", 1);
	setenv("GIT_AUTHOR_EMAIL", "t@localhost", 1);
	setenv("GIT_COMMITTER_NAME", "t", 1);
	setenv("GIT_COMMITTER_EMAIL", "t@localhost", 1);
	setenv("GIT_AUTHOR_DATE", "2025-01-01T00:00:00+0000", 1);
	setenv("GIT_COMMITTER_DATE", "2025-01-01T00:00:00+0000", 1);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	struct cmd_result *r = malloc(sizeof *r);
	va_list ap;

	ATF_REQUIRE(r);
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	char *const argv[] = { "/bin/sh", "-ec", cmd, NULL };
	ATF_REQUIRE_EQ(run_cmd(argv, 60, r), 0);
	ATF_REQUIRE_EQ_MSG(r->status, 0, "%s: exit %d: %s", cmd, r->status, r->err);
	free(r);
}

static void git_out(const char *repo, const char *args, char *out, size_t len)
{
	char cmd[2048];
	struct cmd_result *r = malloc(sizeof *r);

	ATF_REQUIRE(r);
	snprintf(cmd, sizeof cmd, "git -C '%s' %s", repo, args);
	char *const argv[] = { "/bin/sh", "-c", cmd, NULL };
	ATF_REQUIRE_EQ(run_cmd(argv, 60, r), 0);
	ATF_REQUIRE_EQ_MSG(r->status, 0, "%s: %s", cmd, r->err);
	snprintf(out, len, "%s", r->out);
	out[strcspn(out, "\n")] = 0;
	free(r);
}

/* A history in work/repo, one commit per state ("fires", "late",
 * "silent"; a "+broken" suffix adds a BROKEN file the builder refuses),
 * tagged c0, c1, ... */
static void make_repo(const char *const *states)
{
	sh("rm -rf repo && git init -q repo && git -C repo symbolic-ref HEAD refs/heads/master");
	for (int i = 0; states[i]; i++) {
		char st[64];
		snprintf(st, sizeof st, "%s", states[i]);
		char *plus = strchr(st, '+');
		if (plus)
			*plus = 0;
		sh("cd repo && echo %s > state && echo commit %d > README && %s && git add -A && "
		   "git commit -q -m 'c%d: %s' && git tag c%d", st, i,
		   plus ? "touch BROKEN" : "rm -f BROKEN", i, states[i], i);
	}
}

#define BUILDER "test ! -e BROKEN && echo $PNBENCH_BISECT_REV >> $PNB_TEST_WORK/builds.log"
#define RUNNER "st=$(cat state); src=cmp-base; [ $st = late ] && src=cmp-worse; " \
	"cp -r $PNB_TEST_DATA/$src/. $PNBENCH_BISECT_SET/; " \
	"if [ $st = silent ]; then sed -i '/\"type\":\"notify\"/d' $PNBENCH_BISECT_SET/*/*/*/events.jsonl; fi; " \
	"echo $PNBENCH_BISECT_REV >> $PNB_TEST_WORK/runs.log"

/* pnbench bisect over work/repo from c0 to bad with extra arguments. */
static void bisect(struct cmd_result *r, const char *bad, const char *out, const char *extra1,
		   const char *extra2)
{
	char *argv[24];
	int n = 0;

	argv[n++] = pnbench;
	argv[n++] = "bisect";
	argv[n++] = "--tree"; argv[n++] = "repo";
	argv[n++] = "--good"; argv[n++] = "c0";
	argv[n++] = "--bad"; argv[n++] = (char *)bad;
	argv[n++] = "--scenario"; argv[n++] = "fixed-rate";
	argv[n++] = "--reps"; argv[n++] = "4";
	argv[n++] = "--builder"; argv[n++] = BUILDER;
	argv[n++] = "--runner"; argv[n++] = RUNNER;
	argv[n++] = "--out"; argv[n++] = (char *)out;
	if (extra1)
		argv[n++] = (char *)extra1;
	if (extra2)
		argv[n++] = (char *)extra2;
	argv[n] = NULL;
	ATF_REQUIRE_EQ(run_cmd(argv, 120, r), 0);
}

/* Lines of path holding what, and also what2 when given. */
static int lines_with2(const char *path, const char *what, const char *what2)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		n += strstr(line, what) && (!what2 || strstr(line, what2));
	fclose(f);
	return n;
}

static int lines_with(const char *path, const char *what)
{
	return lines_with2(path, what, NULL);
}

/* The tree is back on master, clean, not bisecting. */
static void check_restored(void)
{
	char out[256];
	git_out("repo", "symbolic-ref HEAD", out, sizeof out);
	ATF_CHECK_STREQ(out, "refs/heads/master");
	git_out("repo", "status --porcelain --untracked-files=no", out, sizeof out);
	ATF_CHECK_STREQ(out, "");
	ATF_CHECK_MSG(access("repo/.git/BISECT_LOG", F_OK) != 0, "a bisect was left in progress");
}

static void one_line_error(const struct cmd_result *r, const char *want)
{
	ATF_CHECK_MSG(strstr(r->err, want), "stderr lacks '%s': %s", want, r->err);
	ATF_CHECK_MSG(count_lines(r->err) == 1, "not one line: %s", r->err);
}

/* After progress lines, the error is the last line of stderr. */
static void last_line_error(const struct cmd_result *r, const char *want)
{
	char buf[sizeof r->err];
	snprintf(buf, sizeof buf, "%s", r->err);
	size_t n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	const char *last = strrchr(buf, '\n') ? strrchr(buf, '\n') + 1 : buf;
	ATF_CHECK_MSG(!strncmp(last, "pnbench: bisect: ", 17) && strstr(last, want),
		      "last line of stderr lacks '%s': %s", want, last);
}

ATF_TC(usage_errors);
ATF_TC_HEAD(usage_errors, tc)
{
	atf_tc_set_md_var(tc, "descr", "Bad arguments exit 2 with one line, before the tree is touched");
}
ATF_TC_BODY(usage_errors, tc)
{
	static const char *const states[] = { "fires", "silent", NULL };
	struct cmd_result *r = malloc(sizeof *r);
	static const struct { const char *args[12]; const char *want; } cases[] = {
		{ { "--good", "c0", "--bad", "c1", "--scenario", "fixed-rate" }, "missing --tree" },
		{ { "--tree", "repo", "--bad", "c1", "--scenario", "fixed-rate" }, "missing --good" },
		{ { "--tree", "repo", "--good", "c0", "--scenario", "fixed-rate" }, "missing --bad" },
		{ { "--tree", "repo", "--good", "c0", "--bad", "c1" }, "missing --scenario" },
		{ { "--tree", "repo", "--good", "c0", "--bad", "c1", "--scenario", "fixed-rate", "--reps", "3" },
		  "use --reps 4 or more" },
		{ { "--tree", "repo", "--good", "c0", "--bad", "c1", "--scenario", "fixed-rate", "--reps", "0" },
		  "--reps '0'" },
		{ { "--tree", "repo", "--good", "c0", "--bad", "c1", "--scenario", "no-such-scenario" },
		  "scenario 'no-such-scenario'" },
		{ { "--tree", "nowhere", "--good", "c0", "--bad", "c1", "--scenario", "fixed-rate" },
		  "--tree nowhere" },
		{ { "--tree", "repo/sub", "--good", "c0", "--bad", "c1", "--scenario", "fixed-rate" },
		  "not the top of a git work tree" },
		{ { "--tree", "repo", "--good", "nope", "--bad", "c1", "--scenario", "fixed-rate" },
		  "--good nope: no such commit" },
		{ { "--tree", "repo", "--good", "c1", "--bad", "c0", "--scenario", "fixed-rate" },
		  "not an ancestor" },
		{ { "--tree", "repo", "--good", "c1", "--bad", "c1", "--scenario", "fixed-rate" },
		  "the same commit" },
		{ { "--tree", "repo", "--good", "c0", "--bad", "c1", "--scenario", "fixed-rate", "--metric", "" },
		  "--metric: empty" },
		{ { "--tree", "repo", "--good", "c0", "--bad", "c1", "--scenario", "fixed-rate", "extra" },
		  "unexpected argument 'extra'" },
	};

	ATF_REQUIRE(r);
	setup(tc);
	make_repo(states);
	sh("mkdir repo/sub");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *argv[16] = { pnbench, "bisect" };
		int n = 2;
		for (int k = 0; cases[i].args[k]; k++)
			argv[n++] = (char *)cases[i].args[k];
		ATF_REQUIRE_EQ(run_cmd(argv, 30, r), 0);
		ATF_CHECK_EQ_MSG(r->status, 2, "case %zu (%s): exit %d: %s", i, cases[i].want, r->status, r->err);
		one_line_error(r, cases[i].want);
	}
	ATF_CHECK_MSG(access("results", F_OK) != 0 && access("runs.log", F_OK) != 0,
		      "a refused bisect created a work directory or ran something");
	check_restored();
	free(r);
}

ATF_TC(refuses_dirty_tree);
ATF_TC_HEAD(refuses_dirty_tree, tc)
{
	atf_tc_set_md_var(tc, "descr", "A tree with uncommitted changes, or mid-bisect, is refused (exit 1)");
}
ATF_TC_BODY(refuses_dirty_tree, tc)
{
	static const char *const states[] = { "fires", "silent", NULL };
	struct cmd_result *r = malloc(sizeof *r);

	ATF_REQUIRE(r);
	setup(tc);
	make_repo(states);
	sh("echo edit >> repo/README");
	bisect(r, "c1", "out", NULL, NULL);
	ATF_CHECK_EQ(r->status, 1);
	one_line_error(r, "uncommitted changes");
	sh("cd repo && git checkout -q README && git bisect start c1 c0 >/dev/null");
	bisect(r, "c1", "out", NULL, NULL);
	ATF_CHECK_EQ(r->status, 1);
	one_line_error(r, "already in progress");
	ATF_CHECK_MSG(access("runs.log", F_OK) != 0, "the runner ran");
	free(r);
}

ATF_TC(finds_planted);
ATF_TC_HEAD(finds_planted, tc)
{
	atf_tc_set_md_var(tc, "descr", "git bisect run finds the commit that silences vmpressure, skipping a "
			  "commit that does not build; the good set is run once; a rerun reuses every set");
}
ATF_TC_BODY(finds_planted, tc)
{
	static const char *const states[] = { "fires", "fires", "fires+broken", "fires", "silent",
					      "silent", "silent", NULL };
	struct cmd_result *r = malloc(sizeof *r);
	char c4[64], c0[64], want[128];

	ATF_REQUIRE(r);
	setup(tc);
	make_repo(states);
	git_out("repo", "rev-parse c4", c4, sizeof c4);
	git_out("repo", "rev-parse c0", c0, sizeof c0);
	bisect(r, "c6", "out", NULL, NULL);
	ATF_CHECK_EQ_MSG(r->status, 0, "exit %d: %s", r->status, r->err);
	snprintf(want, sizeof want, "first bad commit: %s\n", c4);
	ATF_CHECK_MSG(strstr(r->out, want), "stdout lacks '%s': %s", want, r->out);
	ATF_CHECK_MSG(strstr(r->out, "c4: silent") && strstr(r->out, "log: "), "stdout: %s", r->out);
	/* The log holds the steps, compare's verdicts and git's own log. */
	ATF_CHECK_EQ(lines_with("out/bisect.log", "(good: the baseline)"), 1);
	ATF_CHECK(lines_with("out/bisect.log", "vmpressure:low fired before OOM: 4/4 -> 0/4, p 0.029, REGRESSION") >= 1);
	ATF_CHECK(lines_with("out/bisect.log", "# first bad commit: [") == 1);
	ATF_CHECK(lines_with("out/git-bisect.log", "# first bad commit: [") == 1);
	/* Good ran once, bad once, and no revision twice. */
	ATF_CHECK_EQ(lines_with("runs.log", c0), 1);
	ATF_CHECK_EQ_MSG(system("sort runs.log | uniq -d | grep -q ."), 256, "a revision ran twice");
	check_restored();

	/* Rerun into the same directory: the same answer from cached sets. */
	sh("cp runs.log runs.before");
	bisect(r, "c6", "out", NULL, NULL);
	ATF_CHECK_EQ_MSG(r->status, 0, "rerun: exit %d: %s", r->status, r->err);
	ATF_CHECK_MSG(strstr(r->out, want), "rerun: stdout lacks '%s': %s", want, r->out);
	ATF_CHECK_EQ_MSG(system("cmp -s runs.log runs.before"), 0, "the rerun ran the runner again");
	ATF_CHECK(lines_with("out/bisect.log", "result set cached") >= 2);
	check_restored();
	free(r);
}

ATF_TC(metric_rows);
ATF_TC_HEAD(metric_rows, tc)
{
	atf_tc_set_md_var(tc, "descr", "--metric picks a rule or one row: a later notification is bad by "
			  "lead, not by fired; an unknown row is a usage error naming the rows");
}
ATF_TC_BODY(metric_rows, tc)
{
	static const char *const states[] = { "fires", "fires", "late", "late", NULL };
	struct cmd_result *r = malloc(sizeof *r);
	char c2[64], want[128];

	ATF_REQUIRE(r);
	setup(tc);
	make_repo(states);
	git_out("repo", "rev-parse c2", c2, sizeof c2);
	snprintf(want, sizeof want, "first bad commit: %s\n", c2);

	bisect(r, "c3", "o1", "--metric", "lead");
	ATF_CHECK_EQ_MSG(r->status, 0, "lead: exit %d: %s", r->status, r->err);
	ATF_CHECK_MSG(strstr(r->out, want), "lead: %s", r->out);

	bisect(r, "c3", "o2", "--metric", "vmpressure:low lead time s");
	ATF_CHECK_EQ_MSG(r->status, 0, "row label: exit %d: %s", r->status, r->err);
	ATF_CHECK_MSG(strstr(r->out, want), "row label: %s", r->out);

	bisect(r, "c3", "o3", "--metric", "vmpressure:low lead");
	ATF_CHECK_EQ_MSG(r->status, 0, "group + rule: exit %d: %s", r->status, r->err);

	/* Default: compare's verdict, which judges lead. */
	bisect(r, "c3", "o4", NULL, NULL);
	ATF_CHECK_EQ_MSG(r->status, 0, "default: exit %d: %s", r->status, r->err);
	ATF_CHECK_MSG(strstr(r->out, want), "default: %s", r->out);

	/* It still fires before the kill: fired says the bad end is good. */
	bisect(r, "c3", "o5", "--metric", "vmpressure:low fired before OOM");
	ATF_CHECK_EQ(r->status, 1);
	last_line_error(r, "does not regress against the good one");
	ATF_CHECK(lines_with("o5/bisect.log", "does not regress against the good one") == 1);
	check_restored();

	bisect(r, "c3", "o6", "--metric", "vmpressure:low no such row");
	ATF_CHECK_EQ(r->status, 2);
	last_line_error(r, "--metric 'vmpressure:low no such row': no such row");
	ATF_CHECK(lines_with("o6/bisect.log", "vmpressure:low fired before OOM; ") == 1);
	check_restored();
	free(r);
}

ATF_TC(cannot_bisect);
ATF_TC_HEAD(cannot_bisect, tc)
{
	atf_tc_set_md_var(tc, "descr", "A good revision that does not build, and a range where only commits "
			  "that do not build are left, fail (exit 1) and leave the tree as it was");
}
ATF_TC_BODY(cannot_bisect, tc)
{
	static const char *const broken_good[] = { "fires+broken", "silent", NULL };
	static const char *const skipped[] = { "fires", "silent+broken", "silent", NULL };
	struct cmd_result *r = malloc(sizeof *r);

	ATF_REQUIRE(r);
	setup(tc);
	make_repo(broken_good);
	bisect(r, "c1", "o1", NULL, NULL);
	ATF_CHECK_EQ(r->status, 1);
	last_line_error(r, "does not build");
	ATF_CHECK(lines_with("o1/bisect.log", "does not build") == 1);
	ATF_CHECK(lines_with("o1/bisect.log", "failed (builder exit 1): skip") == 1);
	check_restored();

	sh("rm -f runs.log");
	make_repo(skipped);
	bisect(r, "c2", "o2", NULL, NULL);
	ATF_CHECK_EQ_MSG(r->status, 1, "exit %d: %s", r->status, r->out);
	last_line_error(r, "only commits that do not build are left");
	ATF_CHECK(lines_with("o2/git-bisect.log", "# only skipped commits left to test") == 1);
	check_restored();
	free(r);
}

/* The real thing: tests/bisect_history.sh over linux-source-6.12, kernels
 * built and booted under TCG. */
ATF_TC(real_kernel);
ATF_TC_HEAD(real_kernel, tc)
{
	atf_tc_set_md_var(tc, "descr", "Bisects a linux-source-6.12 history to the commit that silences "
			  "vmpressure (opt-in: kyua -v test_suites.pnbench.bisect=1)");
	atf_tc_set_md_var(tc, "timeout", "14400");
}
ATF_TC_BODY(real_kernel, tc)
{
	struct cmd_result *r = malloc(sizeof *r);
	char src[2048], hist[2048], script[2048], bad[64], want[128], pat[2048];
	glob_t g;

	ATF_REQUIRE(r);
	if (!atf_tc_has_config_var(tc, "bisect") || strcmp(atf_tc_get_config_var(tc, "bisect"), "1"))
		pnb_skip("kernel builds and guest runs take an hour or more: run with "
			 "kyua -v test_suites.pnbench.bisect=1 (make check-bisect)");
	setup(tc);
	use_pnbench_cache(NULL);
	const char *cache = getenv("PNBENCH_CACHE");
	ATF_REQUIRE(cache);
	snprintf(pat, sizeof pat, "%s/src/linux-source-6.12-*/mm/vmpressure.c", cache);
	if (glob(pat, 0, NULL, &g) || !g.gl_pathc)
		atf_tc_fail("no unpacked linux-source-6.12 under %s/src: run pnbench kernels build --tree "
			    "linux-source-6.12 first", cache);
	snprintf(src, sizeof src, "%s", g.gl_pathv[0]);
	globfree(&g);
	*strstr(src, "/mm/vmpressure.c") = 0;
	snprintf(hist, sizeof hist, "%s/bisect/linux-6.12-history", cache);
	snprintf(script, sizeof script, "%s/bisect_history.sh", atf_tc_get_config_var(tc, "srcdir"));
	{
		char *const argv[] = { "/bin/sh", script, src, hist, NULL };
		ATF_REQUIRE_EQ(run_cmd(argv, 1800, r), 0);
		ATF_REQUIRE_EQ_MSG(r->status, 0, "bisect_history.sh: %s", r->err);
	}
	git_out(hist, "rev-parse pnb-bad", bad, sizeof bad);
	{
		char *const argv[] = { pnbench, "bisect", "--tree", hist, "--good", "pnb-good", "--bad",
				       "pnb-bad", "--scenario", "swapless-fill", "--metric",
				       "vmpressure:low:hierarchy fired before OOM", "--reps", "5",
				       "--out", "out", NULL };
		ATF_REQUIRE_EQ(run_cmd(argv, 14000, r), 0);
	}
	snprintf(want, sizeof want, "first bad commit: %s\n", bad);
	ATF_CHECK_EQ_MSG(r->status, 0, "exit %d: %s", r->status, r->err);
	ATF_CHECK_MSG(strstr(r->out, want), "stdout lacks '%s': %s", want, r->out);
	/* The harmless commit was judged, and the planted one regressed to
	 * 0 runs firing before the kill (a run lost to a TCG oops may make
	 * it 0/4). */
	ATF_CHECK(lines_with("out/bisect.log", "vmpressure:low:hierarchy fired before OOM: ") >= 2);
	ATF_CHECK(lines_with2("out/bisect.log", "vmpressure:low:hierarchy fired before OOM: ",
			      "-> 0/") >= 1);
	ATF_CHECK(lines_with2("out/bisect.log", "-> 0/", ", REGRESSION") >= 1);
	ATF_CHECK(lines_with("out/bisect.log", "is good by vmpressure:low:hierarchy fired before OOM") >= 1);
	free(r);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, usage_errors);
	ATF_TP_ADD_TC(tp, refuses_dirty_tree);
	ATF_TP_ADD_TC(tp, finds_planted);
	ATF_TP_ADD_TC(tp, metric_rows);
	ATF_TP_ADD_TC(tp, cannot_bisect);
	ATF_TP_ADD_TC(tp, real_kernel);
	return atf_no_error();
}
