/* pnbench bisect: which commit of a kernel tree changed what a mechanism
 * does.  git bisect run drives the search; each step builds the checked-out
 * revision (kernels.c caches a kernel per revision, and keeps one O= object
 * tree per git tree, so every build after the first is incremental), runs
 * the scenario N times and asks compare whether the chosen row regressed
 * against the good revision's result set, made once at the same N.
 *
 * The parent checks all it can before it touches the tree, then runs the
 * good revision (the baseline) and the bad one (a bad revision that does
 * not regress leaves nothing to find) as steps of its own, and hands over
 * to git bisect run, whose every step is this program again (--step).  All
 * step output passes through the parent, which copies it into the log.
 *
 * --builder and --runner replace the kernel build and the guest runs by
 * shell commands, so tests can drive git bisect through every verdict on
 * a tiny repository in seconds; compare and the bisect logic stay real. */
#include "analysis.h"
#include "bisect.h"
#include "cli.h"
#include "fsutil.h"
#include "guest.h"
#include "hostrun.h"
#include "log.h"
#include "parse.h"
#include "spawn.h"
#include "stats.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Progress goes to stderr (stdout keeps the answer); in the parent also
 * into the log. */
FILE *bisect_log;

void bisect_say(const char *fmt, ...)
{
	char line[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "bisect: %s\n", line);
	if (bisect_log) {
		fprintf(bisect_log, "bisect: %s\n", line);
		fflush(bisect_log);
	}
}

/* --- running programs ----------------------------------------------------- */

static void tee_out(void *arg, const char *buf, size_t n)
{
	(void)arg;
	fwrite(buf, 1, n, stderr);
	fflush(stderr);
	if (bisect_log) {
		fwrite(buf, 1, n, bisect_log);
		fflush(bisect_log);
	}
}

int bisect_run_teed(char *const argv[], const char *cwd, const char *const *env)
{
	return pnb_spawn(argv, &(struct pnb_spawn){ .cwd = cwd, .env = env, .tee = tee_out });
}

/* The last non-empty line of s, for one-line errors. */
static const char *last_line(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = 0;
	char *nl = strrchr(s, '\n');
	return nl ? nl + 1 : s;
}

int bisect_git(const char *tree, char *out, size_t len, ...)
{
	char *argv[24], err[4096];
	int n = 0, rc;
	va_list ap;

	argv[n++] = "git";
	argv[n++] = "-C";
	argv[n++] = (char *)tree;
	va_start(ap, len);
	for (char *a; n < 23 && (a = va_arg(ap, char *));)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	rc = pnb_spawn(argv, &(struct pnb_spawn){ .out = out, .outlen = len, .err = err, .errlen = sizeof err });
	if (rc < 0) {
		snprintf(out, len, "cannot run git: %s", strerror(-rc));
		return 127;
	}
	if (rc) {
		snprintf(out, len, "%s", err[0] ? last_line(err) : "(no message)");
		return rc;
	}
	size_t l = strlen(out);
	while (l && out[l - 1] == '\n')
		out[--l] = 0;
	return 0;
}

void bisect_describe(const char *tree, const char *rev, char *out, size_t len)
{
	if (bisect_git(tree, out, len, "log", "-1", "--format=%h %s", rev, "--", NULL))
		snprintf(out, len, "%.12s", rev);
}

/* --- the configuration a step reads ---------------------------------------- */

int bisect_conf_write(const char *path, const struct bisect_conf *c)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fprintf(f, "tree=%s\nscenario=%s\nmetric=%s\nout=%s\nbuilder=%s\nrunner=%s\n"
		"good=%s\nbad=%s\nreps=%u\njobs=%u\nalpha=%.17g\nthreshold=%.17g\n",
		c->tree, c->scenario, c->metric, c->out, c->builder, c->runner, c->good, c->bad,
		c->reps, c->jobs, c->alpha, c->threshold);
	return fclose(f) ? -errno : 0;
}

/* This program's path, for git bisect run and the runs.  A bisect takes
 * hours: when make replaces bin/pnbench meanwhile, the link reads
 * "PATH (deleted)", and the steps run the new binary at PATH. */
const char *bisect_self_exe(char *buf, size_t len)
{
	static const char gone[] = " (deleted)";
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	if (n <= 0)
		return "pnbench";
	buf[n] = 0;
	if ((size_t)n > sizeof gone - 1 && !strcmp(buf + n - (sizeof gone - 1), gone))
		buf[n - (sizeof gone - 1)] = 0;
	return buf;
}

/* --- the driver ----------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pnbench bisect --tree DIR --good REV --bad REV --scenario S [options]\n"
		"\n"
		"Find the first commit of a kernel git tree at which compare judges a\n"
		"regression against the good revision: git bisect run, each step built\n"
		"(cached per revision, incremental in one object tree), run REPS times\n"
		"and compared with the good revision's set, run once at the same REPS.\n"
		"A revision that does not build is skipped (125).  The tree must be\n"
		"clean; it is returned to its branch at the end.\n"
		"  --metric ROW       what decides bad: a --rules name of compare (lead,\n"
		"                     fired, fp, ...: any row it watches), or one row as\n"
		"                     compare prints it, e.g. 'vmpressure:low:hierarchy\n"
		"                     fired before OOM' (or '... fired'), 'runs with a\n"
		"                     kernel OOM kill'; default: compare's verdict\n"
		"  --reps N           repetitions per revision (default 5: with fewer,\n"
		"                     no k/n row can reach p < 0.05)\n"
		"  --alpha P, --threshold PCT   as for compare (0.05, 10)\n"
		"  --jobs N           kernel build jobs (default: every CPU)\n"
		"  --out DIR          work and log directory (default\n"
		"                     results/bisect/SCENARIO-GOOD-BAD); rerunning with the\n"
		"                     same DIR reuses every finished result set\n"
		"  --builder CMD, --runner CMD   replace the kernel build and the guest\n"
		"                     runs by shell commands run in the tree (to test\n"
		"                     bisect itself): PNBENCH_BISECT_REV is the commit,\n"
		"                     the runner writes a result set to PNBENCH_BISECT_SET\n"
		"                     (PNBENCH_BISECT_REPS, PNBENCH_BISECT_SCENARIO)\n"
		"Exit status: 0 first bad commit found (printed on stdout), 1 failed\n"
		"(good does not build or run, bad does not regress, only skipped commits\n"
		"left), 2 usage.\n");
}

/* A step run by the parent itself, its output teed into the log. */
static int run_step(const char *confpath, const char *mode)
{
	char exe[PATH_MAX];
	char *const argv[] = { (char *)bisect_self_exe(exe, sizeof exe), "bisect", "--step", (char *)confpath,
			       (char *)mode, NULL };
	char *const argv0[] = { argv[0], "bisect", "--step", (char *)confpath, NULL };
	return bisect_run_teed(mode ? argv : argv0, NULL, NULL);
}

static int checkout(const char *tree, const char *rev)
{
	char out[1024];
	if (bisect_git(tree, out, sizeof out, "checkout", "-q", "--detach", rev, NULL)) {
		bisect_say("git checkout %s in %s failed: %s", rev, tree, out);
		return -1;
	}
	return 0;
}

/* Put the tree back where the user had it. */
static void restore(const char *tree, const char *orig, int bisecting)
{
	char out[1024];
	if (bisecting && bisect_git(tree, out, sizeof out, "bisect", "reset", NULL))
		bisect_say("git bisect reset in %s failed: %s", tree, out);
	if (bisect_git(tree, out, sizeof out, "checkout", "-q", orig, NULL))
		bisect_say("cannot check %s out again in %s: %s", orig, tree, out);
}

struct bisect_args {
	const char *tree, *good, *bad, *scn, *out, *step;
	int baseline, check;
};

/* -1 to go on, else the exit status (--help, a bad option). */
static int parse_args(int argc, char **argv, struct bisect_conf *c, struct bisect_args *a)
{
	static const struct option opts[] = {
		{ "tree", required_argument, NULL, 'T' },
		{ "good", required_argument, NULL, 'g' },
		{ "bad", required_argument, NULL, 'b' },
		{ "scenario", required_argument, NULL, 's' },
		{ "metric", required_argument, NULL, 'm' },
		{ "reps", required_argument, NULL, 'r' },
		{ "alpha", required_argument, NULL, 'a' },
		{ "threshold", required_argument, NULL, 't' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "out", required_argument, NULL, 'o' },
		{ "builder", required_argument, NULL, 'B' },
		{ "runner", required_argument, NULL, 'R' },
		{ "step", required_argument, NULL, 'S' },
		{ "baseline", no_argument, NULL, 'L' },
		{ "check", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t u;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'T': a->tree = optarg; break;
		case 'g': a->good = optarg; break;
		case 'b': a->bad = optarg; break;
		case 's': a->scn = optarg; break;
		case 'o': a->out = optarg; break;
		case 'S': a->step = optarg; break;
		case 'L': a->baseline = 1; break;
		case 'C': a->check = 1; break;
		case 'm':
			if (!*optarg) {
				pnb_err("bisect: --metric: empty (a compare rule name or row label)");
				return PNB_EXIT_USAGE;
			}
			snprintf(c->metric, sizeof c->metric, "%s", optarg);
			break;
		case 'B': snprintf(c->builder, sizeof c->builder, "%s", optarg); break;
		case 'R': snprintf(c->runner, sizeof c->runner, "%s", optarg); break;
		case 'r':
			if (pnb_parse_u64(optarg, &u) || u < 1 || u > 100) {
				pnb_err("bisect: --reps '%s': want a count from 1 to 100", optarg);
				return PNB_EXIT_USAGE;
			}
			c->reps = (unsigned)u;
			break;
		case 'j':
			if (pnb_parse_u64(optarg, &u) || u < 1 || u > 1024) {
				pnb_err("bisect: --jobs '%s': want a count from 1 to 1024", optarg);
				return PNB_EXIT_USAGE;
			}
			c->jobs = (unsigned)u;
			break;
		case 'a':
			if (pnb_parse_double(optarg, &c->alpha) || c->alpha <= 0 || c->alpha > 1) {
				pnb_err("bisect: --alpha '%s': want a probability in (0, 1], e.g. 0.05", optarg);
				return PNB_EXIT_USAGE;
			}
			break;
		case 't':
			if (pnb_parse_double(optarg, &c->threshold) || c->threshold < 0) {
				pnb_err("bisect: --threshold '%s': want a percentage >= 0, e.g. 10", optarg);
				return PNB_EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return PNB_EXIT_USAGE;
		}
	}
	if (a->step)
		return -1;
	if (optind < argc) {
		pnb_err("bisect: unexpected argument '%s'", argv[optind]);
		return PNB_EXIT_USAGE;
	}
	if (!a->tree || !a->good || !a->bad || !a->scn) {
		pnb_err("bisect: missing %s (want --tree DIR --good REV --bad REV --scenario S)",
			!a->tree ? "--tree" : !a->good ? "--good" : !a->bad ? "--bad" : "--scenario");
		return PNB_EXIT_USAGE;
	}
	if (c->metric[0] && !bisect_selector_is_rule(c->metric) && strchr(c->metric, ',')) {
		pnb_err("bisect: --metric '%s': one rule or one row, not a list", c->metric);
		return PNB_EXIT_USAGE;
	}
	return -1;
}

/* Everything checkable before the tree is touched: 0, or the exit status. */
static int check_question(struct bisect_conf *c, const struct bisect_args *a, char *orig, size_t olen)
{
	char buf[PATH_MAX * 2];

	/* A bisect whose verdict can never be "bad" would blame the bad
	 * revision itself after hours of builds: refuse it now. */
	if (pnb_mwu_min_p(c->reps, c->reps) >= c->alpha) {
		unsigned need = c->reps;
		while (need < 100 && pnb_mwu_min_p(need, need) >= c->alpha)
			need++;
		pnb_err("bisect: --reps %u: with %u runs a side the smallest possible p is %.3f >= "
			"alpha %g, so no row can regress (use --reps %u or more)", c->reps, c->reps,
			pnb_mwu_min_p(c->reps, c->reps), c->alpha, need);
		return PNB_EXIT_USAGE;
	}
	if (pnb_scenario_path(a->scn, c->scenario, sizeof c->scenario) || access(c->scenario, R_OK)) {
		pnb_err("bisect: scenario '%s': no such scenario (%s)", a->scn, c->scenario);
		return PNB_EXIT_USAGE;
	}
	if (!realpath(c->scenario, buf)) {
		pnb_err("bisect: scenario %s: %s", c->scenario, strerror(errno));
		return PNB_EXIT_USAGE;
	}
	snprintf(c->scenario, sizeof c->scenario, "%s", buf);

	/* The tree: the top of a clean git work tree, not bisecting already. */
	if (!realpath(a->tree, c->tree)) {
		pnb_err("bisect: --tree %s: %s", a->tree, strerror(errno));
		return PNB_EXIT_USAGE;
	}
	if (bisect_git(c->tree, buf, sizeof buf, "rev-parse", "--show-toplevel", NULL) || strcmp(buf, c->tree)) {
		pnb_err("bisect: --tree %s: not the top of a git work tree%s%s", a->tree,
			buf[0] ? ": " : "", buf);
		return PNB_EXIT_USAGE;
	}
	{
		const char *revs[2] = { a->good, a->bad };
		char *shas[2] = { c->good, c->bad };
		for (int i = 0; i < 2; i++) {
			char spec[300];
			snprintf(spec, sizeof spec, "%s^{commit}", revs[i]);
			if (bisect_git(c->tree, buf, sizeof buf, "rev-parse", "--verify", "-q", spec, NULL) ||
			    strlen(buf) >= sizeof c->good) {
				pnb_err("bisect: --%s %s: no such commit in %s", i ? "bad" : "good", revs[i],
					c->tree);
				return PNB_EXIT_USAGE;
			}
			snprintf(shas[i], sizeof c->good, "%s", buf);
		}
	}
	if (!strcmp(c->good, c->bad)) {
		pnb_err("bisect: --good and --bad are the same commit %.12s", c->good);
		return PNB_EXIT_USAGE;
	}
	if (bisect_git(c->tree, buf, sizeof buf, "merge-base", "--is-ancestor", c->good, c->bad, NULL)) {
		pnb_err("bisect: --good %s is not an ancestor of --bad %s in %s", a->good, a->bad, c->tree);
		return PNB_EXIT_USAGE;
	}
	if (bisect_git(c->tree, buf, sizeof buf, "rev-parse", "--git-path", "BISECT_LOG", NULL) == 0) {
		char p[PATH_MAX * 2];
		snprintf(p, sizeof p, "%s%s%s", buf[0] == '/' ? "" : c->tree, buf[0] == '/' ? "" : "/", buf);
		if (access(p, F_OK) == 0) {
			pnb_err("bisect: %s: a git bisect is already in progress there (git bisect reset)",
				c->tree);
			return PNB_EXIT_FAIL;
		}
	}
	if (bisect_git(c->tree, buf, sizeof buf, "status", "--porcelain", "--untracked-files=no", NULL) || buf[0]) {
		pnb_err("bisect: %s: uncommitted changes to tracked files (commit or stash them first)",
			c->tree);
		return PNB_EXIT_FAIL;
	}
	if (bisect_git(c->tree, orig, olen, "symbolic-ref", "-q", "--short", "HEAD", NULL) &&
	    bisect_git(c->tree, orig, olen, "rev-parse", "HEAD", NULL)) {
		pnb_err("bisect: %s: no HEAD: %s", c->tree, orig);
		return PNB_EXIT_FAIL;
	}

	return 0;
}

/* The work directory, its configuration and the log: 0, or the exit status. */
static int open_workdir(struct bisect_conf *c, const char *out, char *confp, size_t clen, char *logp,
			size_t llen, int argc, char **argv)
{
	char buf[PATH_MAX * 2];
	int rc;

	/* The work directory: one per question, so a rerun resumes. */
	if (out) {
		snprintf(buf, sizeof buf, "%s", out);
	} else {
		char stem[256];
		snprintf(stem, sizeof stem, "%s", strrchr(c->scenario, '/') + 1);
		if (strlen(stem) > 4 && !strcmp(stem + strlen(stem) - 4, ".ini"))
			stem[strlen(stem) - 4] = 0;
		snprintf(buf, sizeof buf, "results/bisect/%s-%.12s-%.12s", stem, c->good, c->bad);
	}
	if ((rc = pnb_mkdir_all(buf, 0755)) || !realpath(buf, c->out)) {
		pnb_err("bisect: --out %s: %s", buf, strerror(rc ? -rc : errno));
		return PNB_EXIT_FAIL;
	}
	snprintf(confp, clen, "%s/bisect.conf", c->out);
	snprintf(logp, llen, "%s/bisect.log", c->out);
	if ((rc = bisect_conf_write(confp, c))) {
		pnb_err("bisect: cannot write %s: %s", confp, strerror(-rc));
		return PNB_EXIT_FAIL;
	}
	if (!(bisect_log = fopen(logp, "ae"))) {
		pnb_err("bisect: cannot write %s: %s", logp, strerror(errno));
		return PNB_EXIT_FAIL;
	}
	{
		time_t t = time(NULL);
		char when[64];
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %z", localtime(&t));
		fprintf(bisect_log, "# pnbench %s, %s\n# pnbench", pnb_git_rev(), when);
		for (int i = 0; i < argc; i++)
			fprintf(bisect_log, " %s", argv[i]);
		fprintf(bisect_log, "\n");
	}
	return 0;
}

/* After git bisect run (exit rc): its conclusion, the tree put back. */
static int conclude(const struct bisect_conf *c, const char *orig, int bisecting, int rc,
		    const char *logp, double t0)
{
	/* git writes its conclusion into the bisect log as comments. */
	char glog[65536], first[300] = "", *line, *save, desc[300], e1[32];
	char gl[PATH_MAX + 32];
	int skipped_only = 0;
	bisect_git(c->tree, glog, sizeof glog, "bisect", "log", NULL);
	snprintf(gl, sizeof gl, "%s/git-bisect.log", c->out);
	FILE *f = fopen(gl, "we");
	if (f) {
		fputs(glog, f);
		fputc('\n', f);
		fclose(f);
	}
	fprintf(bisect_log, "\n# git bisect log\n%s\n\n", glog);
	for (line = strtok_r(glog, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# first bad commit: [", 21))
			snprintf(first, sizeof first, "%s", line + 21);
		if (!strncmp(line, "# only skipped commits left", 27))
			skipped_only = 1;
	}
	restore(c->tree, orig, bisecting);
	if (!first[0]) {
		bisect_say("git bisect run ended (exit %d) without a first bad commit%s", rc,
		    skipped_only ? ": only skipped commits left" : "");
		fclose(bisect_log);
		pnb_err("bisect: no first bad commit between %.12s and %.12s%s (log %s)", c->good,
			c->bad, skipped_only ? ": only commits that do not build are left" : "", logp);
		return PNB_EXIT_FAIL;
	}
	char *rb = strchr(first, ']');
	if (rb)
		*rb = 0;
	bisect_describe(c->tree, first, desc, sizeof desc);
	bisect_say("first bad commit: %s (%s)", desc, kernel_fmt_elapsed(kernel_now_s() - t0, e1, sizeof e1));
	bisect_say("log: %s", logp);
	fclose(bisect_log);
	printf("first bad commit: %s\n%s\nlog: %s\n", first, desc, logp);
	return 0;
}

int cmd_bisect(int argc, char **argv)
{
	struct bisect_conf c = { .reps = 5, .alpha = 0.05, .threshold = 10 };
	struct bisect_args a = { 0 };
	char buf[PATH_MAX * 2] = "", orig[512], logp[PATH_MAX + 16], confp[PATH_MAX + 16];
	char gdesc[300], bdesc[300], e1[32], why[400] = "";
	int rc, bisecting = 0;
	double t0 = kernel_now_s();

	if ((rc = parse_args(argc, argv, &c, &a)) >= 0)
		return rc;
	if (a.step)
		return bisect_step(a.step, a.baseline, a.check);
	if ((rc = check_question(&c, &a, orig, sizeof orig)) ||
	    (rc = open_workdir(&c, a.out, confp, sizeof confp, logp, sizeof logp, argc, argv)))
		return rc;
	bisect_describe(c.tree, c.good, gdesc, sizeof gdesc);
	bisect_describe(c.tree, c.bad, bdesc, sizeof bdesc);
	bisect_say("tree %s", c.tree);
	bisect_say("good %s", gdesc);
	bisect_say("bad  %s", bdesc);
	bisect_say("scenario %s, %u repetitions a revision, bad when %s%s%s regresses (alpha %g, threshold %g%%)",
	    c.scenario, c.reps, c.metric[0] ? "'" : "compare's verdict says a row", c.metric,
	    c.metric[0] ? "'" : "", c.alpha, c.threshold);
	if (c.builder[0] || c.runner[0])
		bisect_say("builder: %s; runner: %s", c.builder[0] ? c.builder : "pnbench kernels build",
		    c.runner[0] ? c.runner : "pnbench run");


	snprintf(why, sizeof why, "cannot check out its revisions");
	if (checkout(c.tree, c.good))
		goto fail;
	rc = run_step(confp, "--baseline");
	if (rc) {
		snprintf(why, sizeof why, "good revision %.12s %s", c.good,
			 rc == STEP_SKIP ? "does not build" : "gave no baseline");
		bisect_say("%s", why);
		goto fail;
	}
	if (checkout(c.tree, c.bad))
		goto fail;
	rc = run_step(confp, "--check");
	if (rc == STEP_NOROW) {
		restore(c.tree, orig, 0);
		pnb_err("bisect: --metric '%s': no such row in compare's table for %s (log %s)", c.metric,
			c.scenario, logp);
		fclose(bisect_log);
		return PNB_EXIT_USAGE;
	}
	if (rc != STEP_BAD) {
		snprintf(why, sizeof why, "bad revision %.12s %s", c.bad,
			 rc == STEP_GOOD ? "does not regress against the good one: nothing to bisect" :
			 rc == STEP_SKIP ? "cannot be judged (no build, or no complete run)" : "failed");
		bisect_say("%s", why);
		goto fail;
	}
	/* From the user's own checkout, so git bisect reset returns there. */
	restore(c.tree, orig, 0);
	if (bisect_git(c.tree, buf, sizeof buf, "bisect", "start", c.bad, c.good, "--", NULL)) {
		snprintf(why, sizeof why, "git bisect start failed: %.300s", buf);
		bisect_say("%s", why);
		goto fail;
	}
	bisecting = 1;
	/* good the parent of bad: git concludes at once, nothing to run. */
	{
		char glog[65536];
		bisect_git(c.tree, glog, sizeof glog, "bisect", "log", NULL);
		if (strstr(glog, "# first bad commit: ["))
			return conclude(&c, orig, bisecting, 0, logp, t0);
	}
	{
		char exe[PATH_MAX];
		char *const argv2[] = { "git", "-C", c.tree, "bisect", "run", (char *)bisect_self_exe(exe, sizeof exe),
					"bisect", "--step", confp, NULL };
		bisect_say("git bisect run (%s)", buf[0] ? last_line(buf) : "started");
		rc = bisect_run_teed(argv2, NULL, NULL);
	}
	return conclude(&c, orig, bisecting, rc, logp, t0);
fail:
	restore(c.tree, orig, bisecting);
	bisect_say("failed after %s; log: %s", kernel_fmt_elapsed(kernel_now_s() - t0, e1, sizeof e1), logp);
	fclose(bisect_log);
	pnb_err("bisect: %s..%s in %s: %s (log %s)", a.good, a.bad, c.tree, why, logp);
	return PNB_EXIT_FAIL;
}


