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
#include "cli.h"
#include "fsutil.h"
#include "guest.h"
#include "log.h"
#include "parse.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What a step answers.  0 / 1..127 / 125 are git bisect run's good, bad
 * and skip; above 127 aborts the bisect. */
enum {
	STEP_GOOD = 0,
	STEP_BAD = 1,
	STEP_NOROW = 3,		/* --check only: the selector names no row */
	STEP_SKIP = 125,
	STEP_ABORT = 128,
};

struct bisect_conf {
	char tree[PATH_MAX];
	char scenario[PATH_MAX];
	char metric[256];	/* "" = compare's own verdict */
	char out[PATH_MAX];
	char builder[2048], runner[2048];
	char good[64], bad[64];
	unsigned reps, jobs;
	double alpha, threshold;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *fmt_elapsed(double s, char *buf, size_t len)
{
	unsigned t = (unsigned)(s + 0.5);
	if (t >= 60)
		snprintf(buf, len, "%um%02us", t / 60, t % 60);
	else
		snprintf(buf, len, "%.1fs", s);
	return buf;
}

/* Progress goes to stderr (stdout keeps the answer); in the parent also
 * into the log. */
static FILE *logf_;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "bisect: %s\n", line);
	if (logf_) {
		fprintf(logf_, "bisect: %s\n", line);
		fflush(logf_);
	}
}

/* --- running programs ----------------------------------------------------- */

struct spawn {
	const char *cwd;
	const char *const *env;	/* "NAME=value", NULL-terminated */
	char *out;		/* captures stdout (else /dev/null, or the tee) */
	size_t outlen;
	char *err;		/* captures stderr (else inherited, or the tee) */
	size_t errlen;
	int tee;		/* stdout and stderr copied to stderr and the log */
};

static void keep(char *dst, size_t len, size_t *got, const char *buf, size_t n)
{
	if (!dst || len <= *got + 1)
		return;
	size_t c = n < len - *got - 1 ? n : len - *got - 1;
	memcpy(dst + *got, buf, c);
	*got += c;
	dst[*got] = 0;
}

/* Exit status, 128 + signal, or -errno when it could not start. */
static int spawn(char *const argv[], const struct spawn *o)
{
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, st, open_fds;
	size_t gout = 0, gerr = 0;
	pid_t pid;

	if (o->out && o->outlen)
		o->out[0] = 0;
	if (o->err && o->errlen)
		o->err[0] = 0;
	if (pipe2(po, O_CLOEXEC))
		return -errno;
	if (o->err && pipe2(pe, O_CLOEXEC)) {
		int e = -errno;
		close(po[0]);
		close(po[1]);
		return e;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		int e = -errno;
		close(po[0]);
		close(po[1]);
		if (pe[0] >= 0) {
			close(pe[0]);
			close(pe[1]);
		}
		return e;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(null, 0);
		dup2(po[1], 1);
		if (o->err)
			dup2(pe[1], 2);
		else if (o->tee)
			dup2(po[1], 2);
		for (int i = 0; o->env && o->env[i]; i++)
			putenv((char *)o->env[i]);
		if (o->cwd && chdir(o->cwd)) {
			dprintf(2, "cannot enter %s: %s\n", o->cwd, strerror(errno));
			_exit(127);
		}
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]);
	if (pe[1] >= 0)
		close(pe[1]);
	open_fds = 1 + (pe[0] >= 0);
	/* Both pipes drained in turn: a child filling one while we block on
	 * the other would hang both of us. */
	while (open_fds) {
		fd_set rd;
		char buf[8192];
		FD_ZERO(&rd);
		if (po[0] >= 0)
			FD_SET(po[0], &rd);
		if (pe[0] >= 0)
			FD_SET(pe[0], &rd);
		if (select((po[0] > pe[0] ? po[0] : pe[0]) + 1, &rd, NULL, NULL, NULL) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int k = 0; k < 2; k++) {
			int *fd = k ? &pe[0] : &po[0];
			ssize_t n;
			if (*fd < 0 || !FD_ISSET(*fd, &rd))
				continue;
			n = read(*fd, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(*fd);
				*fd = -1;
				open_fds--;
				continue;
			}
			if (k) {
				keep(o->err, o->errlen, &gerr, buf, (size_t)n);
				continue;
			}
			keep(o->out, o->outlen, &gout, buf, (size_t)n);
			if (o->tee) {
				fwrite(buf, 1, (size_t)n, stderr);
				fflush(stderr);
				if (logf_) {
					fwrite(buf, 1, (size_t)n, logf_);
					fflush(logf_);
				}
			}
		}
	}
	if (po[0] >= 0)
		close(po[0]);
	if (pe[0] >= 0)
		close(pe[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
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

/* git -C tree ARGS... (NULL-terminated): stdout into out, trailing newline
 * cut; on failure out holds git's last line of stderr.  Exit status. */
static int git(const char *tree, char *out, size_t len, ...)
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
	rc = spawn(argv, &(struct spawn){ .out = out, .outlen = len, .err = err, .errlen = sizeof err });
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

/* "1a2b3c4d5e6f mm: subject" of a revision, for progress lines. */
static void describe(const char *tree, const char *rev, char *out, size_t len)
{
	if (git(tree, out, len, "log", "-1", "--format=%h %s", rev, "--", NULL))
		snprintf(out, len, "%.12s", rev);
}

/* --- the configuration a step reads ---------------------------------------- */

static int conf_write(const char *path, const struct bisect_conf *c)
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

static int conf_read(const char *path, struct bisect_conf *c, char *err, size_t errlen)
{
	char line[4096];
	FILE *f = fopen(path, "re");
	int seen = 0;

	memset(c, 0, sizeof *c);
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		char *eq = strchr(line, '='), *v;
		uint64_t u;
		if (!eq)
			continue;
		line[strcspn(line, "\n")] = 0;
		*eq = 0;
		v = eq + 1;
		seen++;
#define S(k) else if (!strcmp(line, #k)) snprintf(c->k, sizeof c->k, "%s", v)
		if (0)
			;
		S(tree); S(scenario); S(metric); S(out); S(builder); S(runner); S(good); S(bad);
#undef S
		else if (!strcmp(line, "reps") && !pnb_parse_u64(v, &u))
			c->reps = (unsigned)u;
		else if (!strcmp(line, "jobs") && !pnb_parse_u64(v, &u))
			c->jobs = (unsigned)u;
		else if (!strcmp(line, "alpha"))
			pnb_parse_double(v, &c->alpha);
		else if (!strcmp(line, "threshold"))
			pnb_parse_double(v, &c->threshold);
		else
			seen--;
	}
	fclose(f);
	if (!c->tree[0] || !c->scenario[0] || !c->out[0] || !c->good[0] || !c->reps || !c->alpha) {
		snprintf(err, errlen, "%s: not a bisect configuration (%d keys)", path, seen);
		return -1;
	}
	return 0;
}

static void set_dir(const struct bisect_conf *c, const char *sha, char *out, size_t len)
{
	snprintf(out, len, "%s/sets/%.12s", c->out, sha);
}

/* --- choosing rows -------------------------------------------------------- */

/* The selector is a --rules name (every row that rule watches), or one
 * row as compare prints it: "GROUP LABEL" for a probe row
 * ("vmpressure:low:hierarchy fired before OOM"), "GROUP RULE"
 * ("vmpressure:low:hierarchy fired"), or a run row's label ("runs with a
 * kernel OOM kill", "time to OOM s"). */
static int selector_is_rule(const char *sel)
{
	unsigned r;
	char e[256];
	return sel[0] && !strchr(sel, ',') && strcmp(sel, "none") && !cmp_parse_rules(sel, &r, e, sizeof e);
}

static int row_matches(const char *sel, const struct cmp_row *r)
{
	const char *rule, *label;
	char full[512];

	if (cmp_row_names(r, &rule, &label))
		return 0;
	if (selector_is_rule(sel))
		return rule && !strcmp(rule, sel);
	if (!r->row)
		return !strcmp(sel, label);
	snprintf(full, sizeof full, "%s %s", r->row, label);
	if (!strcmp(sel, full))
		return 1;
	if (rule) {
		snprintf(full, sizeof full, "%s %s", r->row, rule);
		return !strcmp(sel, full);
	}
	return 0;
}

struct rows {
	const char *sel;
	int matched, regressed;
	unsigned rules;		/* the rules that watch the matched rows */
	char lines[16][200];
	int nlines;
	char all[4096];		/* every row's name, for "no such row" */
};

static void fmt_val(char *b, size_t n, double v, const char *test)
{
	if (test && !strcmp(test, "fisher-exact"))
		snprintf(b, n, "%.0f", v);
	else if (isnan(v))
		snprintf(b, n, "-");
	else if (isinf(v))
		snprintf(b, n, v < 0 ? "missed" : "inf");
	else
		snprintf(b, n, "%.4g", v);
}

static void on_row(void *arg, const struct cmp_row *r)
{
	struct rows *w = arg;
	const char *rule, *label;
	char name[300], b[32], n[32], p[32], e[128];

	if (cmp_row_names(r, &rule, &label))
		return;
	snprintf(name, sizeof name, "%s%s%s", r->row ? r->row : "", r->row ? " " : "", label);
	if (strlen(w->all) + strlen(name) + 3 < sizeof w->all && !strstr(w->all, name))
		snprintf(w->all + strlen(w->all), sizeof w->all - strlen(w->all), "%s%s",
			 w->all[0] ? "; " : "", name);
	if (w->sel[0] && !row_matches(w->sel, r))
		return;
	if (!w->sel[0] && !r->regression)
		return;
	w->matched++;
	w->regressed += r->regression;
	if (rule) {
		unsigned bit;
		if (!cmp_parse_rules(rule, &bit, e, sizeof e))
			w->rules |= bit;
	}
	fmt_val(b, sizeof b, r->base, r->test);
	fmt_val(n, sizeof n, r->new, r->test);
	if (r->test && !strcmp(r->test, "fisher-exact")) {
		snprintf(b + strlen(b), sizeof b - strlen(b), "/%d", r->base_n);
		snprintf(n + strlen(n), sizeof n - strlen(n), "/%d", r->new_n);
	}
	if (isnan(r->p))
		snprintf(p, sizeof p, "-");
	else
		snprintf(p, sizeof p, "%.3f", r->p);
	if (w->nlines < 16)
		snprintf(w->lines[w->nlines++], sizeof w->lines[0], "%s: %s -> %s, p %s%s", name, b, n, p,
			 r->regression ? ", REGRESSION" : r->judged ? "" : " (not judged)");
}

/* --- one step ------------------------------------------------------------- */

/* This program's path, for git bisect run and the runs.  A bisect takes
 * hours: when make replaces bin/pnbench meanwhile, the link reads
 * "PATH (deleted)", and the steps run the new binary at PATH. */
static const char *self_exe(char *buf, size_t len)
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

/* Build the checked-out revision: 0, or STEP_SKIP with the reason said. */
static int step_build(const struct bisect_conf *c, const char *sha)
{
	char e1[32], err[2048], spec[PATH_MAX + 8], envrev[128];
	double t0 = now_s();
	struct kernel_image k;

	if (c->builder[0]) {
		const char *env[] = { envrev, NULL };
		char *const argv[] = { "sh", "-c", (char *)c->builder, NULL };
		snprintf(envrev, sizeof envrev, "PNBENCH_BISECT_REV=%s", sha);
		int rc = spawn(argv, &(struct spawn){ .cwd = c->tree, .env = env, .tee = 1 });
		if (rc) {
			say("build of %.12s failed (builder exit %d): skip", sha, rc);
			return STEP_SKIP;
		}
		say("built by the builder in %s", fmt_elapsed(now_s() - t0, e1, sizeof e1));
		return 0;
	}
	snprintf(spec, sizeof spec, "tree:%s", c->tree);
	if (kernel_resolve(spec, 0, &k, err, sizeof err) == 0) {
		say("kernel cached: %s (%s)", k.name, k.release);
		return 0;
	}
	say("building %.12s (log lines below are the kernel build's)", sha);
	if (kernel_build(c->tree, c->jobs, &k, err, sizeof err)) {
		say("build of %.12s failed: %s: skip", sha, err);
		return STEP_SKIP;
	}
	say("built %s (%s) in %s", k.name, k.release, fmt_elapsed(now_s() - t0, e1, sizeof e1));
	return 0;
}

/* Run the scenario into the revision's set, unless a finished set is there. */
static int step_run(const struct bisect_conf *c, const char *sha, const char *set)
{
	char done[PATH_MAX + 32], e1[32], reps[32], spec[PATH_MAX + 8], exe[PATH_MAX];
	char envrev[128], envset[PATH_MAX + 32], envreps[64], envscn[PATH_MAX + 32];
	double t0 = now_s();
	struct stat st;
	int rc;

	snprintf(done, sizeof done, "%s/.bisect-done", set);
	if (stat(done, &st) == 0) {
		say("result set cached: %s", set);
		return 0;
	}
	if ((rc = pnb_mkdir_all(set, 0755))) {
		say("cannot create %s: %s", set, strerror(-rc));
		return STEP_ABORT;
	}
	snprintf(reps, sizeof reps, "%u", c->reps);
	say("running %s, %u repetitions, into %s", c->scenario, c->reps, set);
	if (c->runner[0]) {
		char *const argv[] = { "sh", "-c", (char *)c->runner, NULL };
		const char *env[] = { envrev, envset, envreps, envscn, NULL };
		snprintf(envrev, sizeof envrev, "PNBENCH_BISECT_REV=%s", sha);
		snprintf(envset, sizeof envset, "PNBENCH_BISECT_SET=%s", set);
		snprintf(envreps, sizeof envreps, "PNBENCH_BISECT_REPS=%u", c->reps);
		snprintf(envscn, sizeof envscn, "PNBENCH_BISECT_SCENARIO=%s", c->scenario);
		rc = spawn(argv, &(struct spawn){ .cwd = c->tree, .env = env, .tee = 1 });
	} else {
		snprintf(spec, sizeof spec, "tree:%s", c->tree);
		char *const argv[] = { (char *)self_exe(exe, sizeof exe), "run", "--kernel", spec,
				       "--scenario", (char *)c->scenario, "--reps", reps, "--out",
				       (char *)set, "--fetch=no", NULL };
		rc = spawn(argv, &(struct spawn){ .tee = 1 });
	}
	/* 1 is "some cell did not complete": compare judges what did (and
	 * refuses a side with none, which makes the step a skip). */
	if (rc != 0 && rc != 1) {
		say("the runner failed (exit %d) on %.12s: stopping", rc, sha);
		return STEP_ABORT;
	}
	say("ran in %s%s", fmt_elapsed(now_s() - t0, e1, sizeof e1),
	    rc ? " (some cells incomplete)" : "");
	if (!rc) {
		FILE *f = fopen(done, "we");
		if (f)
			fclose(f);
	}
	return 0;
}

static void cmp_setup(const struct bisect_conf *c, struct cmp_opts *o)
{
	cmp_opts_default(o);
	o->alpha = c->alpha;
	o->threshold_pct = c->threshold;
	/* A named rule is judged alone.  A named row keeps compare's own
	 * rules, plus the one watching it (step_judge finds which), so the
	 * verdict line the log shows is the one compare would print. */
	if (c->metric[0] && selector_is_rule(c->metric)) {
		char e[256];
		cmp_parse_rules(c->metric, &o->rules, e, sizeof e);
	}
}

/* Compare the good set with set: STEP_GOOD, STEP_BAD, STEP_SKIP (compare
 * refused: nothing to judge by) or, with check, STEP_NOROW. */
static int step_judge(const struct bisect_conf *c, const char *sha, const char *set, int check)
{
	char gset[PATH_MAX], err[1024], cmpf[PATH_MAX + 32], verdict[1024] = "";
	struct an_set g, s;
	struct cmp_opts o;
	struct rows w = { .sel = c->metric };
	FILE *f;
	int rc;

	set_dir(c, c->good, gset, sizeof gset);
	if (an_set_load(gset, &g, err, sizeof err)) {
		say("good set: %s", err);
		return STEP_ABORT;
	}
	if (an_set_load(set, &s, err, sizeof err)) {
		an_set_free(&g);
		say("%.12s: %s: skip", sha, err);
		return STEP_SKIP;
	}
	snprintf(cmpf, sizeof cmpf, "%s/compare-%.12s.txt", c->out, sha);
	if (!(f = fopen(cmpf, "we"))) {
		say("cannot write %s: %s", cmpf, strerror(errno));
		an_set_free(&g);
		an_set_free(&s);
		return STEP_ABORT;
	}
	cmp_setup(c, &o);
	if (c->metric[0] && !selector_is_rule(c->metric)) {
		/* Which rule watches the row: a first pass with every rule on. */
		struct rows probe = { .sel = c->metric };
		struct cmp_opts all = o;
		FILE *null = fopen("/dev/null", "we");
		cmp_parse_rules("lead,headroom,latency,fp,storm,overhead,fired,oom,storm-seen", &all.rules,
				err, sizeof err);
		all.on_row = on_row;
		all.on_row_arg = &probe;
		if (null) {
			pnb_compare(&g, &s, &all, null, err, sizeof err);
			fclose(null);
		}
		o.rules |= probe.rules;
	}
	o.on_row = on_row;
	o.on_row_arg = &w;
	rc = pnb_compare(&g, &s, &o, f, err, sizeof err);
	fclose(f);
	an_set_free(&g);
	an_set_free(&s);
	if (rc < 0) {
		say("compare refused %.12s against the good set: %s: skip", sha, err);
		return STEP_SKIP;
	}
	if ((f = fopen(cmpf, "re"))) {
		char line[1024];
		while (fgets(line, sizeof line, f))
			if (!strncmp(line, "verdict:", 8))
				snprintf(verdict, sizeof verdict, "%s", line);
		fclose(f);
		verdict[strcspn(verdict, "\n")] = 0;
	}
	for (int i = 0; i < w.nlines; i++)
		say("  %s", w.lines[i]);
	if (w.matched > w.nlines)
		say("  ... and %d more rows", w.matched - w.nlines);
	say("compare's %s (table: %s)", verdict[0] ? verdict : "verdict: (none)", cmpf);
	if (c->metric[0] && !w.matched && check) {
		say("no row '%s' in compare's table; rows: %s", c->metric, w.all);
		return STEP_NOROW;
	}
	/* Without --metric, compare's own verdict (its exit status) decides. */
	int bad = c->metric[0] ? w.regressed > 0 : rc == 1;
	say("%.12s is %s%s%s", sha, bad ? "bad" : "good", c->metric[0] ? " by " : "",
	    c->metric[0] ? c->metric : "");
	return bad ? STEP_BAD : STEP_GOOD;
}

/* One revision, the checked-out one.  baseline: the good revision, run to
 * make the set every other is compared with. */
static int do_step(const char *confpath, int baseline, int check)
{
	struct bisect_conf c;
	char err[1024], sha[128], what[300], set[PATH_MAX];
	int rc;

	if (conf_read(confpath, &c, err, sizeof err)) {
		pnb_err("bisect: step: %s", err);
		return STEP_ABORT;
	}
	if (git(c.tree, sha, sizeof sha, "rev-parse", "--verify", "HEAD", NULL)) {
		pnb_err("bisect: step: %s: git rev-parse HEAD: %s", c.tree, sha);
		return STEP_ABORT;
	}
	describe(c.tree, sha, what, sizeof what);
	say("--- %s%s", what, baseline ? " (good: the baseline)" : check ? " (bad: must regress)" : "");
	if ((rc = step_build(&c, sha)))
		return rc;
	set_dir(&c, sha, set, sizeof set);
	if ((rc = step_run(&c, sha, set)))
		return rc;
	if (baseline) {
		/* The baseline must be judgeable against itself: a set with no
		 * complete run would make every step a skip. */
		struct an_set g;
		struct cmp_opts o;
		FILE *null = fopen("/dev/null", "we");
		if (an_set_load(set, &g, err, sizeof err)) {
			say("good revision %.12s: %s", sha, err);
			if (null)
				fclose(null);
			return STEP_ABORT;
		}
		cmp_setup(&c, &o);
		rc = pnb_compare(&g, &g, &o, null ? null : stderr, err, sizeof err);
		an_set_free(&g);
		if (null)
			fclose(null);
		if (rc < 0) {
			say("good revision %.12s cannot be a baseline: %s", sha, err);
			return STEP_ABORT;
		}
		say("baseline ready: %s", set);
		return STEP_GOOD;
	}
	return step_judge(&c, sha, set, check);
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
	char *const argv[] = { (char *)self_exe(exe, sizeof exe), "bisect", "--step", (char *)confpath,
			       (char *)mode, NULL };
	char *const argv0[] = { argv[0], "bisect", "--step", (char *)confpath, NULL };
	return spawn(mode ? argv : argv0, &(struct spawn){ .tee = 1 });
}

static int checkout(const char *tree, const char *rev)
{
	char out[1024];
	if (git(tree, out, sizeof out, "checkout", "-q", "--detach", rev, NULL)) {
		say("git checkout %s in %s failed: %s", rev, tree, out);
		return -1;
	}
	return 0;
}

/* Put the tree back where the user had it. */
static void restore(const char *tree, const char *orig, int bisecting)
{
	char out[1024];
	if (bisecting && git(tree, out, sizeof out, "bisect", "reset", NULL))
		say("git bisect reset in %s failed: %s", tree, out);
	if (git(tree, out, sizeof out, "checkout", "-q", orig, NULL))
		say("cannot check %s out again in %s: %s", orig, tree, out);
}

int cmd_bisect(int argc, char **argv)
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
	struct bisect_conf c = { .reps = 5, .alpha = 0.05, .threshold = 10 };
	const char *tree = NULL, *good = NULL, *bad = NULL, *scn = NULL, *out = NULL, *step = NULL;
	char buf[PATH_MAX * 2], orig[512], logp[PATH_MAX + 16], confp[PATH_MAX + 16];
	char gdesc[300], bdesc[300], e1[32], why[400] = "";
	int opt, baseline = 0, check = 0, rc, bisecting = 0;
	uint64_t u;
	double t0 = now_s();

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'T': tree = optarg; break;
		case 'g': good = optarg; break;
		case 'b': bad = optarg; break;
		case 's': scn = optarg; break;
		case 'o': out = optarg; break;
		case 'S': step = optarg; break;
		case 'L': baseline = 1; break;
		case 'C': check = 1; break;
		case 'm':
			if (!*optarg) {
				pnb_err("bisect: --metric: empty (a compare rule name or row label)");
				return PNB_EXIT_USAGE;
			}
			snprintf(c.metric, sizeof c.metric, "%s", optarg);
			break;
		case 'B': snprintf(c.builder, sizeof c.builder, "%s", optarg); break;
		case 'R': snprintf(c.runner, sizeof c.runner, "%s", optarg); break;
		case 'r':
			if (pnb_parse_u64(optarg, &u) || u < 1 || u > 100) {
				pnb_err("bisect: --reps '%s': want a count from 1 to 100", optarg);
				return PNB_EXIT_USAGE;
			}
			c.reps = (unsigned)u;
			break;
		case 'j':
			if (pnb_parse_u64(optarg, &u) || u < 1 || u > 1024) {
				pnb_err("bisect: --jobs '%s': want a count from 1 to 1024", optarg);
				return PNB_EXIT_USAGE;
			}
			c.jobs = (unsigned)u;
			break;
		case 'a':
			if (pnb_parse_double(optarg, &c.alpha) || c.alpha <= 0 || c.alpha > 1) {
				pnb_err("bisect: --alpha '%s': want a probability in (0, 1], e.g. 0.05", optarg);
				return PNB_EXIT_USAGE;
			}
			break;
		case 't':
			if (pnb_parse_double(optarg, &c.threshold) || c.threshold < 0) {
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
	if (step)
		return do_step(step, baseline, check);
	if (optind < argc) {
		pnb_err("bisect: unexpected argument '%s'", argv[optind]);
		return PNB_EXIT_USAGE;
	}
	if (!tree || !good || !bad || !scn) {
		pnb_err("bisect: missing %s (want --tree DIR --good REV --bad REV --scenario S)",
			!tree ? "--tree" : !good ? "--good" : !bad ? "--bad" : "--scenario");
		return PNB_EXIT_USAGE;
	}
	if (c.metric[0] && !selector_is_rule(c.metric) && strchr(c.metric, ',')) {
		pnb_err("bisect: --metric '%s': one rule or one row, not a list", c.metric);
		return PNB_EXIT_USAGE;
	}
	/* A bisect whose verdict can never be "bad" would blame the bad
	 * revision itself after hours of builds: refuse it now. */
	if (pnb_mwu_min_p(c.reps, c.reps) >= c.alpha) {
		unsigned need = c.reps;
		while (need < 100 && pnb_mwu_min_p(need, need) >= c.alpha)
			need++;
		pnb_err("bisect: --reps %u: with %u runs a side the smallest possible p is %.3f >= "
			"alpha %g, so no row can regress (use --reps %u or more)", c.reps, c.reps,
			pnb_mwu_min_p(c.reps, c.reps), c.alpha, need);
		return PNB_EXIT_USAGE;
	}
	if (pnb_scenario_path(scn, c.scenario, sizeof c.scenario) || access(c.scenario, R_OK)) {
		pnb_err("bisect: scenario '%s': no such scenario (%s)", scn, c.scenario);
		return PNB_EXIT_USAGE;
	}
	if (!realpath(c.scenario, buf)) {
		pnb_err("bisect: scenario %s: %s", c.scenario, strerror(errno));
		return PNB_EXIT_USAGE;
	}
	snprintf(c.scenario, sizeof c.scenario, "%s", buf);

	/* The tree: the top of a clean git work tree, not bisecting already. */
	if (!realpath(tree, c.tree)) {
		pnb_err("bisect: --tree %s: %s", tree, strerror(errno));
		return PNB_EXIT_USAGE;
	}
	if (git(c.tree, buf, sizeof buf, "rev-parse", "--show-toplevel", NULL) || strcmp(buf, c.tree)) {
		pnb_err("bisect: --tree %s: not the top of a git work tree%s%s", tree,
			buf[0] ? ": " : "", buf);
		return PNB_EXIT_USAGE;
	}
	{
		const char *revs[2] = { good, bad };
		char *shas[2] = { c.good, c.bad };
		for (int i = 0; i < 2; i++) {
			char spec[300];
			snprintf(spec, sizeof spec, "%s^{commit}", revs[i]);
			if (git(c.tree, buf, sizeof buf, "rev-parse", "--verify", "-q", spec, NULL) ||
			    strlen(buf) >= sizeof c.good) {
				pnb_err("bisect: --%s %s: no such commit in %s", i ? "bad" : "good", revs[i],
					c.tree);
				return PNB_EXIT_USAGE;
			}
			snprintf(shas[i], sizeof c.good, "%s", buf);
		}
	}
	if (!strcmp(c.good, c.bad)) {
		pnb_err("bisect: --good and --bad are the same commit %.12s", c.good);
		return PNB_EXIT_USAGE;
	}
	if (git(c.tree, buf, sizeof buf, "merge-base", "--is-ancestor", c.good, c.bad, NULL)) {
		pnb_err("bisect: --good %s is not an ancestor of --bad %s in %s", good, bad, c.tree);
		return PNB_EXIT_USAGE;
	}
	if (git(c.tree, buf, sizeof buf, "rev-parse", "--git-path", "BISECT_LOG", NULL) == 0) {
		char p[PATH_MAX * 2];
		snprintf(p, sizeof p, "%s%s%s", buf[0] == '/' ? "" : c.tree, buf[0] == '/' ? "" : "/", buf);
		if (access(p, F_OK) == 0) {
			pnb_err("bisect: %s: a git bisect is already in progress there (git bisect reset)",
				c.tree);
			return PNB_EXIT_FAIL;
		}
	}
	if (git(c.tree, buf, sizeof buf, "status", "--porcelain", "--untracked-files=no", NULL) || buf[0]) {
		pnb_err("bisect: %s: uncommitted changes to tracked files (commit or stash them first)",
			c.tree);
		return PNB_EXIT_FAIL;
	}
	if (git(c.tree, orig, sizeof orig, "symbolic-ref", "-q", "--short", "HEAD", NULL) &&
	    git(c.tree, orig, sizeof orig, "rev-parse", "HEAD", NULL)) {
		pnb_err("bisect: %s: no HEAD: %s", c.tree, orig);
		return PNB_EXIT_FAIL;
	}

	/* The work directory: one per question, so a rerun resumes. */
	if (out) {
		snprintf(buf, sizeof buf, "%s", out);
	} else {
		char stem[256];
		snprintf(stem, sizeof stem, "%s", strrchr(c.scenario, '/') + 1);
		if (strlen(stem) > 4 && !strcmp(stem + strlen(stem) - 4, ".ini"))
			stem[strlen(stem) - 4] = 0;
		snprintf(buf, sizeof buf, "results/bisect/%s-%.12s-%.12s", stem, c.good, c.bad);
	}
	if ((rc = pnb_mkdir_all(buf, 0755)) || !realpath(buf, c.out)) {
		pnb_err("bisect: --out %s: %s", buf, strerror(rc ? -rc : errno));
		return PNB_EXIT_FAIL;
	}
	snprintf(confp, sizeof confp, "%s/bisect.conf", c.out);
	snprintf(logp, sizeof logp, "%s/bisect.log", c.out);
	if ((rc = conf_write(confp, &c))) {
		pnb_err("bisect: cannot write %s: %s", confp, strerror(-rc));
		return PNB_EXIT_FAIL;
	}
	if (!(logf_ = fopen(logp, "ae"))) {
		pnb_err("bisect: cannot write %s: %s", logp, strerror(errno));
		return PNB_EXIT_FAIL;
	}
	{
		time_t t = time(NULL);
		char when[64];
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %z", localtime(&t));
		fprintf(logf_, "# pnbench %s, %s\n# pnbench", pnb_git_rev(), when);
		for (int i = 0; i < argc; i++)
			fprintf(logf_, " %s", argv[i]);
		fprintf(logf_, "\n");
	}
	describe(c.tree, c.good, gdesc, sizeof gdesc);
	describe(c.tree, c.bad, bdesc, sizeof bdesc);
	say("tree %s", c.tree);
	say("good %s", gdesc);
	say("bad  %s", bdesc);
	say("scenario %s, %u repetitions a revision, bad when %s%s%s regresses (alpha %g, threshold %g%%)",
	    c.scenario, c.reps, c.metric[0] ? "'" : "compare's verdict says a row", c.metric,
	    c.metric[0] ? "'" : "", c.alpha, c.threshold);
	if (c.builder[0] || c.runner[0])
		say("builder: %s; runner: %s", c.builder[0] ? c.builder : "pnbench kernels build",
		    c.runner[0] ? c.runner : "pnbench run");

	snprintf(why, sizeof why, "cannot check out its revisions");
	if (checkout(c.tree, c.good))
		goto fail;
	rc = run_step(confp, "--baseline");
	if (rc) {
		snprintf(why, sizeof why, "good revision %.12s %s", c.good,
			 rc == STEP_SKIP ? "does not build" : "gave no baseline");
		say("%s", why);
		goto fail;
	}
	if (checkout(c.tree, c.bad))
		goto fail;
	rc = run_step(confp, "--check");
	if (rc == STEP_NOROW) {
		restore(c.tree, orig, 0);
		pnb_err("bisect: --metric '%s': no such row in compare's table for %s (log %s)", c.metric,
			c.scenario, logp);
		fclose(logf_);
		return PNB_EXIT_USAGE;
	}
	if (rc != STEP_BAD) {
		snprintf(why, sizeof why, "bad revision %.12s %s", c.bad,
			 rc == STEP_GOOD ? "does not regress against the good one: nothing to bisect" :
			 rc == STEP_SKIP ? "cannot be judged (no build, or no complete run)" : "failed");
		say("%s", why);
		goto fail;
	}
	/* From the user's own checkout, so git bisect reset returns there. */
	restore(c.tree, orig, 0);
	if (git(c.tree, buf, sizeof buf, "bisect", "start", c.bad, c.good, "--", NULL)) {
		snprintf(why, sizeof why, "git bisect start failed: %.300s", buf);
		say("%s", why);
		goto fail;
	}
	bisecting = 1;
	/* good the parent of bad: git concludes at once, nothing to run. */
	{
		char glog[65536];
		git(c.tree, glog, sizeof glog, "bisect", "log", NULL);
		if (strstr(glog, "# first bad commit: ["))
			goto concluded;
	}
	{
		char exe[PATH_MAX];
		char *const argv2[] = { "git", "-C", c.tree, "bisect", "run", (char *)self_exe(exe, sizeof exe),
					"bisect", "--step", confp, NULL };
		say("git bisect run (%s)", buf[0] ? last_line(buf) : "started");
		rc = spawn(argv2, &(struct spawn){ .tee = 1 });
	}
concluded:
	{
		/* git writes its conclusion into the bisect log as comments. */
		char glog[65536], first[300] = "", *line, *save;
		char gl[PATH_MAX + 32];
		int skipped_only = 0;
		git(c.tree, glog, sizeof glog, "bisect", "log", NULL);
		snprintf(gl, sizeof gl, "%s/git-bisect.log", c.out);
		FILE *f = fopen(gl, "we");
		if (f) {
			fputs(glog, f);
			fputc('\n', f);
			fclose(f);
		}
		fprintf(logf_, "\n# git bisect log\n%s\n\n", glog);
		for (line = strtok_r(glog, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (!strncmp(line, "# first bad commit: [", 21))
				snprintf(first, sizeof first, "%s", line + 21);
			if (!strncmp(line, "# only skipped commits left", 27))
				skipped_only = 1;
		}
		restore(c.tree, orig, bisecting);
		if (!first[0]) {
			say("git bisect run ended (exit %d) without a first bad commit%s", rc,
			    skipped_only ? ": only skipped commits left" : "");
			fclose(logf_);
			pnb_err("bisect: no first bad commit between %.12s and %.12s%s (log %s)", c.good,
				c.bad, skipped_only ? ": only commits that do not build are left" : "", logp);
			return PNB_EXIT_FAIL;
		}
		char *rb = strchr(first, ']');
		if (rb)
			*rb = 0;
		describe(c.tree, first, gdesc, sizeof gdesc);
		say("first bad commit: %s (%s)", gdesc, fmt_elapsed(now_s() - t0, e1, sizeof e1));
		say("log: %s", logp);
		fclose(logf_);
		printf("first bad commit: %s\n%s\nlog: %s\n", first, gdesc, logp);
		return 0;
	}
fail:
	restore(c.tree, orig, bisecting);
	say("failed after %s; log: %s", fmt_elapsed(now_s() - t0, e1, sizeof e1), logp);
	fclose(logf_);
	pnb_err("bisect: %s..%s in %s: %s (log %s)", good, bad, c.tree, why, logp);
	return PNB_EXIT_FAIL;
}
