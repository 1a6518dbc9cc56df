/* One step of pnbench bisect (bisect.h): build the checked-out revision
 * (kernels.c caches a kernel per revision and keeps one O= object tree per
 * git tree, so every build after the first is incremental), run the
 * scenario N times into the revision's set, and ask compare whether the
 * chosen row regressed against the good revision's set. */
#include "analysis.h"
#include "bisect.h"
#include "fsutil.h"
#include "guest.h"
#include "hostrun.h"
#include "log.h"
#include "parse.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int bisect_conf_read(const char *path, struct bisect_conf *c, char *err, size_t errlen)
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

void bisect_set_dir(const struct bisect_conf *c, const char *sha, char *out, size_t len)
{
	snprintf(out, len, "%s/sets/%.12s", c->out, sha);
}

/* --- choosing rows -------------------------------------------------------- */

/* The selector is a --rules name (every row that rule watches), or one
 * row as compare prints it: "GROUP LABEL" for a probe row
 * ("vmpressure:low:hierarchy fired before OOM"), "GROUP RULE"
 * ("vmpressure:low:hierarchy fired"), or a run row's label ("runs with a
 * kernel OOM kill", "time to OOM s"). */
int bisect_selector_is_rule(const char *sel)
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
	if (bisect_selector_is_rule(sel))
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

/* Build the checked-out revision: 0, or STEP_SKIP with the reason said. */
static int step_build(const struct bisect_conf *c, const char *sha)
{
	char e1[32], err[2048], spec[PATH_MAX + 8], envrev[128];
	double t0 = kernel_now_s();
	struct kernel_image k;

	if (c->builder[0]) {
		const char *env[] = { envrev, NULL };
		char *const argv[] = { "sh", "-c", (char *)c->builder, NULL };
		snprintf(envrev, sizeof envrev, "PNBENCH_BISECT_REV=%s", sha);
		int rc = bisect_run_teed(argv, c->tree, env);
		if (rc) {
			bisect_say("build of %.12s failed (builder exit %d): skip", sha, rc);
			return STEP_SKIP;
		}
		bisect_say("built by the builder in %s", kernel_fmt_elapsed(kernel_now_s() - t0, e1, sizeof e1));
		return 0;
	}
	snprintf(spec, sizeof spec, "tree:%s", c->tree);
	if (kernel_resolve(spec, 0, &k, err, sizeof err) == 0) {
		bisect_say("kernel cached: %s (%s)", k.name, k.release);
		return 0;
	}
	bisect_say("building %.12s (log lines below are the kernel build's)", sha);
	if (kernel_build(c->tree, c->jobs, &k, err, sizeof err)) {
		bisect_say("build of %.12s failed: %s: skip", sha, err);
		return STEP_SKIP;
	}
	bisect_say("built %s (%s) in %s", k.name, k.release, kernel_fmt_elapsed(kernel_now_s() - t0, e1, sizeof e1));
	return 0;
}

/* Run the scenario into the revision's set, unless a finished set is there. */
static int step_run(const struct bisect_conf *c, const char *sha, const char *set)
{
	char done[PATH_MAX + 32], e1[32], reps[32], spec[PATH_MAX + 8], exe[PATH_MAX];
	char envrev[128], envset[PATH_MAX + 32], envreps[64], envscn[PATH_MAX + 32];
	double t0 = kernel_now_s();
	struct stat st;
	int rc;

	snprintf(done, sizeof done, "%s/.bisect-done", set);
	if (stat(done, &st) == 0) {
		bisect_say("result set cached: %s", set);
		return 0;
	}
	if ((rc = pnb_mkdir_all(set, 0755))) {
		bisect_say("cannot create %s: %s", set, strerror(-rc));
		return STEP_ABORT;
	}
	snprintf(reps, sizeof reps, "%u", c->reps);
	bisect_say("running %s, %u repetitions, into %s", c->scenario, c->reps, set);
	if (c->runner[0]) {
		char *const argv[] = { "sh", "-c", (char *)c->runner, NULL };
		const char *env[] = { envrev, envset, envreps, envscn, NULL };
		snprintf(envrev, sizeof envrev, "PNBENCH_BISECT_REV=%s", sha);
		snprintf(envset, sizeof envset, "PNBENCH_BISECT_SET=%s", set);
		snprintf(envreps, sizeof envreps, "PNBENCH_BISECT_REPS=%u", c->reps);
		snprintf(envscn, sizeof envscn, "PNBENCH_BISECT_SCENARIO=%s", c->scenario);
		rc = bisect_run_teed(argv, c->tree, env);
	} else {
		snprintf(spec, sizeof spec, "tree:%s", c->tree);
		char *const argv[] = { (char *)bisect_self_exe(exe, sizeof exe), "run", "--kernel", spec,
				       "--scenario", (char *)c->scenario, "--reps", reps, "--out",
				       (char *)set, "--fetch=no", NULL };
		rc = bisect_run_teed(argv, NULL, NULL);
	}
	/* 1 is "some cell did not complete": compare judges what did (and
	 * refuses a side with none, which makes the step a skip). */
	if (rc != 0 && rc != 1) {
		bisect_say("the runner failed (exit %d) on %.12s: stopping", rc, sha);
		return STEP_ABORT;
	}
	bisect_say("ran in %s%s", kernel_fmt_elapsed(kernel_now_s() - t0, e1, sizeof e1),
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
	if (c->metric[0] && bisect_selector_is_rule(c->metric)) {
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

	bisect_set_dir(c, c->good, gset, sizeof gset);
	if (an_set_load(gset, &g, err, sizeof err)) {
		bisect_say("good set: %s", err);
		return STEP_ABORT;
	}
	if (an_set_load(set, &s, err, sizeof err)) {
		an_set_free(&g);
		bisect_say("%.12s: %s: skip", sha, err);
		return STEP_SKIP;
	}
	snprintf(cmpf, sizeof cmpf, "%s/compare-%.12s.txt", c->out, sha);
	if (!(f = fopen(cmpf, "we"))) {
		bisect_say("cannot write %s: %s", cmpf, strerror(errno));
		an_set_free(&g);
		an_set_free(&s);
		return STEP_ABORT;
	}
	cmp_setup(c, &o);
	if (c->metric[0] && !bisect_selector_is_rule(c->metric)) {
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
		bisect_say("compare refused %.12s against the good set: %s: skip", sha, err);
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
		bisect_say("  %s", w.lines[i]);
	if (w.matched > w.nlines)
		bisect_say("  ... and %d more rows", w.matched - w.nlines);
	bisect_say("compare's %s (table: %s)", verdict[0] ? verdict : "verdict: (none)", cmpf);
	if (c->metric[0] && !w.matched && check) {
		bisect_say("no row '%s' in compare's table; rows: %s", c->metric, w.all);
		return STEP_NOROW;
	}
	/* Without --metric, compare's own verdict (its exit status) decides. */
	int bad = c->metric[0] ? w.regressed > 0 : rc == 1;
	bisect_say("%.12s is %s%s%s", sha, bad ? "bad" : "good", c->metric[0] ? " by " : "",
	    c->metric[0] ? c->metric : "");
	return bad ? STEP_BAD : STEP_GOOD;
}

int bisect_step(const char *confpath, int baseline, int check)
{
	struct bisect_conf c;
	char err[1024], sha[128], what[300], set[PATH_MAX];
	int rc;

	if (bisect_conf_read(confpath, &c, err, sizeof err)) {
		pnb_err("bisect: step: %s", err);
		return STEP_ABORT;
	}
	if (bisect_git(c.tree, sha, sizeof sha, "rev-parse", "--verify", "HEAD", NULL)) {
		pnb_err("bisect: step: %s: git rev-parse HEAD: %s", c.tree, sha);
		return STEP_ABORT;
	}
	bisect_describe(c.tree, sha, what, sizeof what);
	bisect_say("--- %s%s", what, baseline ? " (good: the baseline)" : check ? " (bad: must regress)" : "");
	if ((rc = step_build(&c, sha)))
		return rc;
	bisect_set_dir(&c, sha, set, sizeof set);
	if ((rc = step_run(&c, sha, set)))
		return rc;
	if (baseline) {
		/* The baseline must be judgeable against itself: a set with no
		 * complete run would make every step a skip. */
		struct an_set g;
		struct cmp_opts o;
		FILE *null = fopen("/dev/null", "we");
		if (an_set_load(set, &g, err, sizeof err)) {
			bisect_say("good revision %.12s: %s", sha, err);
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
			bisect_say("good revision %.12s cannot be a baseline: %s", sha, err);
			return STEP_ABORT;
		}
		bisect_say("baseline ready: %s", set);
		return STEP_GOOD;
	}
	return step_judge(&c, sha, set, check);
}

