/* pnbench compare BASE NEW: side by side per scenario x mechanism x metric,
 * with a Mann-Whitney U test over the repetitions, in the spirit of
 * mmtests' compare tables; the exit status gates CI (docs/metrics.md 6). */
#include "analysis.h"
#include "cli.h"
#include "log.h"
#include "parse.h"
#include "stats.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	unsigned bit;
	enum an_metric metric;
} rules[] = {
	{ "lead", CMP_RULE_LEAD, AN_M_LEAD_RANKED },
	{ "headroom", CMP_RULE_HEADROOM, AN_M_HEADROOM_PCT },
	{ "latency", CMP_RULE_LATENCY, AN_M_LATENCY },
	{ "fp", CMP_RULE_FP, AN_M_FP_RATE },
	{ "storm", CMP_RULE_STORM, AN_M_PEAK },
	{ "overhead", CMP_RULE_OVERHEAD, AN_M_RECORDER_CPU },
	/* k/n rows, judged by print_count_row, not by a metric */
	{ "fired", CMP_RULE_FIRED, AN_NMETRICS },
	{ "oom", CMP_RULE_OOM, AN_NMETRICS },
	{ "storm-seen", CMP_RULE_STORM_SEEN, AN_NMETRICS },
};
#define NRULES (sizeof rules / sizeof rules[0])

/* The per-group rows, in print order. */
static const enum an_metric group_rows[] = {
	AN_M_LEAD_RANKED, AN_M_HEADROOM_PCT, AN_M_LATENCY, AN_M_FP_RATE, AN_M_PEAK,
};
static const enum an_metric run_rows[] = {
	AN_M_TIME_TO_OOM, AN_M_OOM_RATIO, AN_M_RECORDER_CPU,
};

void cmp_opts_default(struct cmp_opts *o)
{
	memset(o, 0, sizeof *o);
	o->threshold_pct = 10;
	o->alpha = 0.05;
	/* What a kernel developer calls a regression without being asked: a
	 * mechanism speaking later, or no longer before the kill, more OOM
	 * kills, more false alarms, a new storm (docs/metrics.md 6). */
	o->rules = CMP_RULE_LEAD | CMP_RULE_FP | CMP_RULE_FIRED | CMP_RULE_OOM | CMP_RULE_STORM_SEEN;
	o->method = PNB_MWU_AUTO;
	/* The run-to-run spread of event-driven lead times on one kernel:
	 * their IQR in the committed baseline is 20-80 ms (docs/metrics.md 6). */
	o->lead_floor_s = 0.05;
}

int cmp_parse_rules(const char *s, unsigned *out, char *err, size_t errlen)
{
	char buf[256], *save = NULL, *tok;
	unsigned r = 0;

	snprintf(buf, sizeof buf, "%s", s);
	if (!strcmp(buf, "none")) {
		*out = 0;
		return 0;
	}
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < NRULES; i++)
			if (!strcmp(tok, rules[i].name))
				break;
		if (i == NRULES) {
			snprintf(err, errlen, "unknown rule '%s' (rules: lead, headroom, latency, fp, "
				 "storm, overhead, fired, oom, storm-seen, or none)", tok);
			return -EINVAL;
		}
		r |= rules[i].bit;
	}
	*out = r;
	return 0;
}

static unsigned rule_of(enum an_metric m)
{
	for (size_t i = 0; i < NRULES; i++)
		if (rules[i].metric == m)
			return rules[i].bit;
	return 0;
}

int cmp_row_names(const struct cmp_row *r, const char **rule, const char **label)
{
	static const struct { const char *metric, *rule, *label; } counts[] = {
		{ "oom_runs", "oom", "runs with a kernel OOM kill" },
		{ "fired_before_oom", "fired", "fired before OOM" },
		{ "storm_runs", "storm-seen", "runs with a storm" },
	};

	*rule = NULL;
	*label = NULL;
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
		if (!strcmp(r->metric, counts[i].metric)) {
			*rule = counts[i].rule;
			*label = counts[i].label;
			return 0;
		}
	/* Two metrics share a key (lead_s: the plain and the ranked lead
	 * time); the one a rule watches is the row compare prints. */
	for (int m = 0; m < AN_NMETRICS; m++)
		if (!strcmp(r->metric, an_metrics[m].key)) {
			unsigned bit = rule_of((enum an_metric)m);
			*label = an_metrics[m].label;
			for (size_t i = 0; i < NRULES && bit; i++)
				if (rules[i].bit == bit)
					*rule = rules[i].name;
			if (*rule)
				return 0;
		}
	return *label ? 0 : -ENOENT;
}

/* The one kernel of a side, or the one asked for. */
static const char *pick_kernel(const struct an_set *s, const char *want, const char *side,
			       char *err, size_t errlen)
{
	const char *names[64];
	int n = an_set_kernels(s, names, 64);

	if (want) {
		for (int i = 0; i < n; i++)
			if (!strcmp(names[i], want))
				return names[i];
		snprintf(err, errlen, "%s %s has no kernel '%s'", side, s->path, want);
		return NULL;
	}
	if (n == 1)
		return names[0];
	{
		char list[512] = "";
		for (int i = 0; i < n; i++)
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
				 i ? ", " : "", names[i]);
		snprintf(err, errlen, "%s %s holds kernels %s: pick one with --%s-kernel", side,
			 s->path, list, side);
	}
	return NULL;
}

static const struct an_cell *find_cell(const struct an_set *s, const char *kernel, const char *scn)
{
	for (int i = 0; i < s->ncells; i++)
		if (!strcmp(s->cells[i].kernel, kernel) && !strcmp(s->cells[i].scenario, scn))
			return &s->cells[i];
	return NULL;
}

/* "line N: 'a' vs 'b'" for the first line where two texts differ. */
static void first_difference(const char *a, const char *b, char *out, size_t len)
{
	int line = 1;

	while (*a || *b) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
		if (la != lb || strncmp(a, b, la)) {
			snprintf(out, len, "line %d: '%.*s' vs '%.*s'", line, (int)(la > 60 ? 60 : la), a,
				 (int)(lb > 60 ? 60 : lb), b);
			return;
		}
		a += la + (a[la] == '\n');
		b += lb + (b[lb] == '\n');
		line++;
	}
	snprintf(out, len, "identical");
}

/* A side that cannot be judged: no complete run, or a run that does not
 * say which scenario file it ran (no meta.json): its name alone may
 * come from a path and stand for another file. */
static int check_judgeable(const struct an_cell *c, const char *side, char *err, size_t errlen)
{
	int complete = 0;

	for (int i = 0; i < c->nruns; i++) {
		const struct an_run *r = c->runs[i];
		complete += !r->incomplete;
		if (!r->scenario_text) {
			snprintf(err, errlen, "%s run %s has no scenario text (%s): which scenario it "
				 "ran cannot be told", side, r->dir,
				 r->flags & AN_F_NO_META ? "no meta.json" : "meta.json lacks scenario.text");
			return -1;
		}
	}
	if (!complete) {
		snprintf(err, errlen, "%s %s/%s: 0 of %d runs complete: nothing to judge by", side,
			 c->kernel, c->scenario, c->nruns);
		return -1;
	}
	return 0;
}

/* Refuse runs that do not measure the same thing (metrics.md 6). */
static int check_comparable(const struct an_cell *const *cells, int ncells, char *err, size_t errlen)
{
	const struct an_run *ref = NULL, *tref = NULL;

	for (int c = 0; c < ncells; c++) {
		if (!cells[c])
			continue;
		for (int i = 0; i < cells[c]->nruns; i++) {
			const struct an_run *r = cells[c]->runs[i];
			if (r->events_schema[0]) {
				if (!ref)
					ref = r;
				else if (strcmp(ref->events_schema, r->events_schema) ||
					 (ref->meta_schema[0] && r->meta_schema[0] &&
					  strcmp(ref->meta_schema, r->meta_schema))) {
					snprintf(err, errlen, "schema versions differ: %s has %s/%s, %s has %s/%s; "
						 "results of different schemas are not comparable",
						 ref->dir, ref->events_schema, ref->meta_schema,
						 r->dir, r->events_schema, r->meta_schema);
					return -1;
				}
			}
			if (r->scenario_text) {
				if (!tref) {
					tref = r;
				} else if (strcmp(tref->scenario_text, r->scenario_text)) {
					char d[200];
					first_difference(tref->scenario_text, r->scenario_text, d, sizeof d);
					snprintf(err, errlen, "scenario %s: the scenario text of %s and %s differs "
						 "(%s); runs of different scenario files are not comparable",
						 r->scenario, tref->dir, r->dir, d);
					return -1;
				}
			}
		}
	}
	return 0;
}

static void fmt_num(char *b, size_t n, double v)
{
	double a = fabs(v);

	if (isnan(v))
		snprintf(b, n, "-");
	else if (isinf(v))
		snprintf(b, n, v < 0 ? "missed" : "inf");
	else if (v == floor(v) && a < 1e6)
		snprintf(b, n, "%.0f", v);
	else if (a >= 10000)
		snprintf(b, n, "%.0f", v);
	else if (a >= 100)
		snprintf(b, n, "%.1f", v);
	else if (a >= 1)
		snprintf(b, n, "%.3f", v);
	else
		snprintf(b, n, "%.4f", v);
}

/* Change of the median in percent; +-inf for "from zero" or "to missed";
 * NAN (printed n/a, never a regression) when a side has no value or both
 * missed: "missed" twice is no measured change, not 0 %. */
static double change_pct(double b, double n)
{
	if (isnan(b) || isnan(n) || (isinf(b) && isinf(n)))
		return NAN;
	if (b == n)
		return 0;
	if (isinf(b) || isinf(n) || b == 0)
		return n > b ? INFINITY : -INFINITY;
	return 100.0 * (n - b) / fabs(b);
}

struct row_result {
	int shown, regression;
};

/* The time step in which a probe can see a change, in seconds (0: none
 * known).  A poller names its interval as its spec's last field
 * (lmk:poll:100ms, memavail:10%:100ms): a lead time moves in steps of it
 * whatever the kernel did.  A PSI trigger's last field is its window, and
 * the kernel checks a trigger every window / 10 (UPDATES_PER_WINDOW in
 * kernel/sched/psi.c), so that is its step. */
static double probe_step_s(const char *spec)
{
	const char *last = strrchr(spec, ':');
	uint64_t ns;

	if (!last || pnb_parse_duration_ns(last + 1, &ns))
		return 0;
	if (!strncmp(spec, "psi:", 4))
		ns /= 10;
	return ns / 1e9;
}

/* The smallest lead-time change judged for key k: the probe's step or the
 * --lead-floor, whichever is larger (docs/metrics.md 6). */
static double lead_min_effect_s(const struct an_key *k, const struct cmp_opts *o)
{
	double step = k ? probe_step_s(k->probe) : 0;
	return step > o->lead_floor_s ? step : o->lead_floor_s;
}

/* The scenario and probe row being printed, for cmp_opts.on_row. */
static const char *cur_scn, *cur_row;

static struct row_result print_row(FILE *out, const char *label, const struct an_cell *bc,
				   const struct an_cell *nc, const struct an_key *k,
				   enum an_metric m, const struct cmp_opts *o)
{
	struct row_result rr = { 0, 0 };
	double bv[bc->nruns + 1], nv[nc->nruns + 1];
	size_t nb = 0, nn = 0;
	struct pnb_dist bd, nd;
	struct pnb_mwu t;
	char bs[16], ns[16], cs[16], ps[16];
	double scale = an_metrics[m].scale;

	for (int i = 0; i < bc->nruns; i++) {
		double v = an_run_value(bc->runs[i], k, m);
		if (!isnan(v))
			bv[nb++] = v * scale;
	}
	for (int i = 0; i < nc->nruns; i++) {
		double v = an_run_value(nc->runs[i], k, m);
		if (!isnan(v))
			nv[nn++] = v * scale;
	}
	if (!nb && !nn)
		return rr;
	/* Nothing happened on either side (e.g. no false positive at all). */
	int allzero = 1;
	for (size_t i = 0; i < nb; i++)
		allzero &= bv[i] == 0;
	for (size_t i = 0; i < nn; i++)
		allzero &= nv[i] == 0;
	if (allzero && an_metrics[m].worse > 0)
		return rr;
	rr.shown = 1;
	pnb_dist_compute(bv, nb, &bd);
	pnb_dist_compute(nv, nn, &nd);
	fmt_num(bs, sizeof bs, bd.median);
	fmt_num(ns, sizeof ns, nd.median);
	double ch = change_pct(bd.median, nd.median);
	/* n/a only where no regression can be: an infinite change (base 0,
	 * fired -> missed) counts, so it reads +inf% / -inf%. */
	if (isnan(ch))
		snprintf(cs, sizeof cs, "n/a");
	else
		snprintf(cs, sizeof cs, "%+.1f%%", ch);
	int have_p = nb && nn && !pnb_mwu(bv, nb, nv, nn, o->method, &t);
	if (have_p)
		snprintf(ps, sizeof ps, "%.3f %c", t.p, t.exact ? 'e' : 'n');
	else
		snprintf(ps, sizeof ps, "-");
	int sig = have_p && t.p < o->alpha, small = 0;
	if (sig && (o->rules & rule_of(m)) && !isnan(ch)) {
		int worse = an_metrics[m].worse;
		rr.regression = (worse < 0 && ch < -o->threshold_pct) ||
				(worse > 0 && ch > o->threshold_pct);
		/* Two finite lead medians closer than what the probe can
		 * resolve are the same lead: fired -> missed stays judged. */
		if (rr.regression && m == AN_M_LEAD_RANKED && isfinite(bd.median) &&
		    isfinite(nd.median) &&
		    fabs(nd.median - bd.median) < lead_min_effect_s(k, o)) {
			rr.regression = 0;
			small = 1;
		}
	}
	char smalls[48] = "";
	if (small)
		snprintf(smalls, sizeof smalls, " < %.0f ms step", 1e3 * lead_min_effect_s(k, o));
	fprintf(out, "  %-27.27s %9s %9s %8s %8s %s%s%s\n", label, bs, ns, cs, ps,
		sig ? "*" : " ", rr.regression ? " REGRESSION" : "", smalls);
	if (o->on_row)
		o->on_row(o->on_row_arg, &(struct cmp_row){
			.scenario = cur_scn, .row = k ? cur_row : NULL, .metric = an_metrics[m].key,
			.test = have_p ? "mann-whitney-u" : NULL, .base = bd.median, .new = nd.median,
			.base_n = (int)nb, .new_n = (int)nn, .change_pct = ch,
			.p = have_p ? t.p : NAN, .u = have_p ? t.u1 : NAN, .exact = have_p && t.exact,
			.judged = !!(o->rules & rule_of(m)), .significant = sig,
			.regression = rr.regression });
	return rr;
}

/* A categorical row: yes-count out of n per side, Fisher's exact test.
 * worse_is_more: a rise is the bad way (OOM kills, storms); else a fall
 * (fired before OOM). */
static struct row_result print_count_row(FILE *out, const char *label, int by, int bn, int ny,
					 int nn, int worse_is_more, unsigned rule,
					 const struct cmp_opts *o)
{
	struct row_result rr = { 1, 0 };
	char x[16], y[16], cs[16] = "n/a", ps[16] = "-";

	snprintf(x, sizeof x, "%d/%d", by, bn);
	snprintf(y, sizeof y, "%d/%d", ny, nn);
	if (!bn || !nn) {
		fprintf(out, "  %-27.27s %9s %9s %8s %8s\n", label, x, y, cs, ps);
		return rr;
	}
	double rb = (double)by / bn, rn = (double)ny / nn;
	double p = pnb_fisher_2x2((unsigned)by, (unsigned)(bn - by), (unsigned)ny, (unsigned)(nn - ny));
	snprintf(cs, sizeof cs, "%+.0fpp", 100.0 * (rn - rb));
	snprintf(ps, sizeof ps, "%.3f F", p);
	int sig = p < o->alpha;
	rr.regression = sig && (o->rules & rule) && (worse_is_more ? rn > rb : rn < rb);
	fprintf(out, "  %-27.27s %9s %9s %8s %8s %s%s\n", label, x, y, cs, ps, sig ? "*" : " ",
		rr.regression ? " REGRESSION" : "");
	if (o->on_row)
		o->on_row(o->on_row_arg, &(struct cmp_row){
			/* The OOM row is a run row, one per hierarchy when a
			 * scenario boots both: its label tells them apart. */
			.scenario = cur_scn,
			.row = rule == CMP_RULE_OOM ? (strstr(label, "(v") ? label : NULL) : cur_row,
			.metric = rule == CMP_RULE_OOM ? "oom_runs" : rule == CMP_RULE_FIRED ?
				  "fired_before_oom" : "storm_runs",
			.test = "fisher-exact", .base = by, .new = ny, .base_n = bn, .new_n = nn,
			.change_pct = 100.0 * (rn - rb), .p = p, .u = NAN, .exact = 1,
			.judged = !!(o->rules & rule), .significant = sig, .regression = rr.regression });
	return rr;
}

/* "scenario: row" for the verdict line, appended while there is room. */
static void note_regression(char *list, size_t len, const char *scn, const char *what)
{
	size_t l = strlen(list);
	if (l + strlen(scn) + strlen(what) + 8 < len)
		snprintf(list + l, len - l, "%s%s: %s", l ? "; " : "", scn, what);
	else if (l + 5 < len && !strstr(list, ", ..."))
		snprintf(list + l, len - l, ", ...");
}

/* One comparison's running verdict. */
struct cmp_verdict {
	int regressions;
	char regressed[2048];	/* "scenario: row; ..." */
};

static void judged(struct cmp_verdict *v, struct row_result rr, const char *scn, const char *what)
{
	if (rr.regression)
		note_regression(v->regressed, sizeof v->regressed, scn, what);
	v->regressions += rr.regression;
}

/* Refuse first, print after: a refused comparison prints no table.  The
 * number of scenarios both sides have (0 after an error in err), and the
 * most runs of a cell on each side. */
static int check_pairs(const struct an_set *base, const struct an_set *new, const char *bk,
		       const char *nk, int *maxb, int *maxn, char *err, size_t errlen)
{
	int compared = 0;

	for (int i = 0; i < base->ncells; i++) {
		const struct an_cell *bc = &base->cells[i], *pair[2];
		if (strcmp(bc->kernel, bk))
			continue;
		pair[0] = bc;
		pair[1] = find_cell(new, nk, bc->scenario);
		if (pair[1] && (check_judgeable(pair[0], "base", err, errlen) ||
				check_judgeable(pair[1], "new", err, errlen) ||
				check_comparable(pair, 2, err, errlen)))
			return 0;
		if (pair[1]) {
			compared++;
			if (bc->nruns > *maxb)
				*maxb = bc->nruns;
			if (pair[1]->nruns > *maxn)
				*maxn = pair[1]->nruns;
		}
	}
	if (!compared)
		snprintf(err, errlen, "base %s (%s) and new %s (%s) have no scenario in common",
			 base->path, bk, new->path, nk);
	return compared;
}

/* Machine knobs (meta.json "knobs": swap, MGLRU, cgroup limits) of the
 * first complete run on kernel k. */
static void set_knobs(const struct an_set *set, const char *k, char *buf, size_t len)
{
	buf[0] = 0;
	for (int i = 0; i < set->nruns; i++)
		if (!strcmp(set->runs[i].kernel, k) && !set->runs[i].incomplete) {
			snprintf(buf, len, "%s", set->runs[i].knobs);
			return;
		}
}

/* The median 1-minute host load at the end of kernel k's runs (meta.json
 * host_load), the host's CPUs, and whether they ran under TCG.  How many
 * runs recorded it. */
static int set_host_load(const struct an_set *set, const char *k, double *median, int *cpus,
			 int *tcg)
{
	double *v = calloc((size_t)set->nruns + 1, sizeof *v);
	int n = 0;

	*median = NAN;
	*cpus = 0;
	*tcg = 0;
	for (int i = 0; v && i < set->nruns; i++) {
		const struct an_run *r = &set->runs[i];
		if (strcmp(r->kernel, k))
			continue;
		*tcg |= !strncmp(r->accel, "tcg", 3);
		if (isnan(r->host_load_1m))
			continue;
		v[n++] = r->host_load_1m;
		if (r->host_cpus > *cpus)
			*cpus = r->host_cpus;
	}
	struct pnb_dist d;
	if (n && !pnb_dist_compute(v, (size_t)n, &d))
		*median = d.median;
	free(v);
	return n;
}

/* Under TCG a guest's timings stretch with the host's load: say what each
 * side ran under, and warn when they differ by half the host's CPUs. */
static void print_host_load(FILE *out, const struct an_set *base, const struct an_set *new,
			    const char *bk, const char *nk)
{
	double lb, ln;
	int cb, cn, tb, tn;
	int nb = set_host_load(base, bk, &lb, &cb, &tb), nn = set_host_load(new, nk, &ln, &cn, &tn);
	char b[64], n[64];

	snprintf(b, sizeof b, nb ? "%.2f (%d runs)" : "unknown", lb, nb);
	snprintf(n, sizeof n, nn ? "%.2f (%d runs)" : "unknown", ln, nn);
	fprintf(out, "  host load (1-min load average at each run's end, median): base %s,\n"
		     "        new %s%s\n", b, n, nb || nn ? "" : " (made before pnbench recorded it)");
	int cpus = cb > cn ? cb : cn;
	if (nb && nn && (tb || tn) && cpus && fabs(lb - ln) >= 0.5 * cpus)
		fprintf(out, "  note: the sides ran under different host loads on %d CPUs: TCG guest\n"
			     "        timings stretch with it; remake the busier side on a quiet host\n",
			cpus);
}

static void print_header(FILE *out, const struct an_set *base, const struct an_set *new,
			 const char *bk, const char *nk, const char *bknobs, const char *nknobs,
			 const struct cmp_opts *o, int maxb, int maxn)
{
	fprintf(out, "pnbench compare\n");
	/* Two sets on one kernel that differ in knobs are a knob's
	 * comparison, and the header says which. */
	if (strcmp(bknobs, nknobs) && !strcmp(bk, nk)) {
		fprintf(out, "  base: %s, machine: %s\n", base->path, bknobs[0] ? bknobs : "defaults");
		fprintf(out, "  new:  %s, machine: %s\n", new->path, nknobs[0] ? nknobs : "defaults");
		fprintf(out, "  kernel: %s on both sides; the machine knob is what differs\n", bk);
	} else {
		fprintf(out, "  base: %s, kernel %s%s%s\n", base->path, bk, bknobs[0] ? ", machine: " : "",
			bknobs);
		fprintf(out, "  new:  %s, kernel %s%s%s\n", new->path, nk, nknobs[0] ? ", machine: " : "",
			nknobs);
	}
	print_host_load(out, base, new, bk, nk);
	fprintf(out, "  test: Mann-Whitney U, two-sided, over repetitions; p marked e: exact\n"
		     "        (<= %d runs a side), n: normal approximation with tie correction\n",
		PNB_MWU_EXACT_MAX);
	fprintf(out, "        k/n rows: Fisher's exact test, two-sided (p marked F)\n");
	fprintf(out, "  mark: * p < %g;  regression: median worse by > %g%%, or a k/n rate worse,\n"
		     "        with p < %g in:", o->alpha, o->threshold_pct, o->alpha);
	if (!o->rules)
		fprintf(out, " (no rules)");
	for (size_t i = 0; i < NRULES; i++)
		if (o->rules & rules[i].bit)
			fprintf(out, " %s", rules[i].name);
	fprintf(out, "\n  lead time: a change of the median smaller than the probe's own step (poll\n"
		     "        interval, PSI window / 10) or %.0f ms is no regression; no multiple-\n"
		     "        comparison correction (docs/metrics.md 6)\n", 1e3 * o->lead_floor_s);
	fprintf(out, "  rows of counts and rates that are 0 in every run of both sides are left out\n");
	if (pnb_mwu_min_p((size_t)maxb, (size_t)maxn) >= o->alpha && o->method != PNB_MWU_NORMAL)
		fprintf(out, "  note: with %d vs %d runs the smallest possible p is %.3f >= %g: no\n"
			     "        difference can be significant; use more --reps or a larger --alpha\n",
			maxb, maxn, pnb_mwu_min_p((size_t)maxb, (size_t)maxn), o->alpha);
}

/* The run rows, once per hierarchy where either side recorded them: each
 * boot's OOM kill is its own ground truth. */
static void compare_run_rows(FILE *out, const struct an_cell *bc, const struct an_cell *nc,
			     const struct cmp_opts *o, struct cmp_verdict *v)
{
	const char *hs[2], *hb[2];
	int nh = an_cell_hiers(nc, hs), nhb = an_cell_hiers(bc, hb);

	if (nhb > nh) {
		nh = nhb;
		hs[0] = hb[0];
		hs[1] = hb[1];
	}
	for (int h = 0; h < (nh ? nh : 1); h++) {
		struct an_key hk;
		char lab[64], sfx[8] = "";
		int bo = 0, no = 0, bn = 0, nn = 0;

		memset(&hk, 0, sizeof hk);
		if (nh) {
			snprintf(hk.hier, sizeof hk.hier, "%s", hs[h]);
			snprintf(sfx, sizeof sfx, " (%s)", hs[h]);
		}
		for (int k = 0; k < bc->nruns; k++)
			if (an_run_matches(bc->runs[k], &hk)) {
				bn++;
				bo += bc->runs[k]->t_oom != AN_NONE;
			}
		for (int k = 0; k < nc->nruns; k++)
			if (an_run_matches(nc->runs[k], &hk)) {
				nn++;
				no += nc->runs[k]->t_oom != AN_NONE;
			}
		snprintf(lab, sizeof lab, "runs with a kernel OOM kill%s", sfx);
		judged(v, print_count_row(out, lab, bo, bn, no, nn, 1, CMP_RULE_OOM, o), bc->scenario, lab);
		for (size_t r = 0; r < sizeof run_rows / sizeof run_rows[0]; r++) {
			snprintf(lab, sizeof lab, "%s%s", an_metrics[run_rows[r]].label, sfx);
			judged(v, print_row(out, lab, bc, nc, nh ? &hk : NULL, run_rows[r], o),
			       bc->scenario, lab);
		}
	}
}

/* One probe row (mechanism and level): its k/n rows and its metrics. */
static void compare_key_rows(FILE *out, const struct an_cell *bc, const struct an_cell *nc,
			     const struct an_key *key, const struct cmp_opts *o,
			     struct cmp_verdict *v)
{
	char label[AN_PROBE_LEN + AN_LEVEL_LEN + 2], what[AN_PROBE_LEN + AN_LEVEL_LEN + 64];
	struct an_key_counts cb, cn;

	an_key_label(key, label, sizeof label);
	an_key_counts(bc, key, &cb);
	an_key_counts(nc, key, &cn);
	if (!cb.armed && !cn.armed) {
		fprintf(out, " %s: unsupported on both\n", label);
		return;
	}
	fprintf(out, " %s\n", label);
	cur_row = label;
	if (cb.oom_runs || cn.oom_runs) {
		snprintf(what, sizeof what, "%s fired before OOM", label);
		judged(v, print_count_row(out, "fired before OOM", cb.fired_before_oom, cb.oom_runs,
					  cn.fired_before_oom, cn.oom_runs, 0, CMP_RULE_FIRED, o),
		       bc->scenario, what);
	} else {
		/* Without an OOM kill, firing is neither good nor bad by
		 * itself: shown, never judged. */
		char x[16], y[16];
		snprintf(x, sizeof x, "%d/%d", cb.fired, cb.runs);
		snprintf(y, sizeof y, "%d/%d", cn.fired, cn.runs);
		fprintf(out, "  %-27s %9s %9s\n", "fired", x, y);
	}
	if (cb.storms || cn.storms) {
		snprintf(what, sizeof what, "%s storm", label);
		judged(v, print_count_row(out, "runs with a storm", cb.storms, cb.runs, cn.storms,
					  cn.runs, 1, CMP_RULE_STORM_SEEN, o), bc->scenario, what);
	}
	for (size_t r = 0; r < sizeof group_rows / sizeof group_rows[0]; r++) {
		snprintf(what, sizeof what, "%s %s", label, an_metrics[group_rows[r]].label);
		judged(v, print_row(out, an_metrics[group_rows[r]].label, bc, nc, key, group_rows[r], o),
		       bc->scenario, what);
	}
	cur_row = NULL;
}

/* One scenario both sides ran.  -1 when out of memory. */
static int compare_cell(FILE *out, const struct an_cell *bc, const struct an_cell *nc,
			const struct cmp_opts *o, struct cmp_verdict *v)
{
	const struct an_cell *both[2] = { bc, nc };
	struct an_key *keys = NULL;
	int bcmp = 0, ncmp = 0, n;

	fprintf(out, "\n%-29s %9s %9s %8s %8s\n", bc->scenario, "base", "new", "change", "p");
	cur_scn = bc->scenario;
	for (int k = 0; k < bc->nruns; k++)
		bcmp += !bc->runs[k]->incomplete;
	for (int k = 0; k < nc->nruns; k++)
		ncmp += !nc->runs[k]->incomplete;
	fprintf(out, "  %-27s %9d %9d\n", "runs", bc->nruns, nc->nruns);
	if (bcmp != bc->nruns || ncmp != nc->nruns)
		fprintf(out, "  %-27s %9d %9d\n", "  of which complete", bcmp, ncmp);
	compare_run_rows(out, bc, nc, o, v);
	/* Rows: the union of both sides' keys. */
	if ((n = an_cells_keys(both, 2, &keys)) < 0)
		return -1;
	for (int a = 0; a < n; a++)
		compare_key_rows(out, bc, nc, &keys[a], o, v);
	free(keys);
	/* Killer outcomes (issue 11), judged whatever --rules says. */
	v->regressions += an_compare_outcomes(out, bc, nc, o->alpha);
	return 0;
}

int pnb_compare(const struct an_set *base, const struct an_set *new,
		const struct cmp_opts *o, FILE *out, char *err, size_t errlen)
{
	const char *bk, *nk;
	int maxb = 0, maxn = 0;
	char bknobs[256], nknobs[256];
	struct cmp_verdict v = { 0 };

	if (!(bk = pick_kernel(base, o->base_kernel, "base", err, errlen)) ||
	    !(nk = pick_kernel(new, o->new_kernel, "new", err, errlen)))
		return -1;
	if (!check_pairs(base, new, bk, nk, &maxb, &maxn, err, errlen))
		return -1;
	set_knobs(base, bk, bknobs, sizeof bknobs);
	set_knobs(new, nk, nknobs, sizeof nknobs);
	print_header(out, base, new, bk, nk, bknobs, nknobs, o, maxb, maxn);
	for (int i = 0; i < base->ncells; i++) {
		const struct an_cell *bc = &base->cells[i], *nc;

		if (strcmp(bc->kernel, bk))
			continue;
		if (!(nc = find_cell(new, nk, bc->scenario))) {
			fprintf(out, "\n%s: only in base (%d runs), not compared\n", bc->scenario, bc->nruns);
			continue;
		}
		if (compare_cell(out, bc, nc, o, &v)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	for (int i = 0; i < new->ncells; i++)
		if (!strcmp(new->cells[i].kernel, nk) && !find_cell(base, bk, new->cells[i].scenario))
			fprintf(out, "\n%s: only in new (%d runs), not compared\n",
				new->cells[i].scenario, new->cells[i].nruns);
	/* One line for CI logs and mail; a kernel that is not the baseline's
	 * is said on it, so a change of Debian's kernel is never mistaken for
	 * the tree's own. */
	char kernels[2 * AN_NAME_LEN + 600] = "";
	if (strcmp(bk, nk))
		snprintf(kernels, sizeof kernels, " (baseline is %s, this run is %s: not the same "
			 "kernel)", bk, nk);
	else if (strcmp(bknobs, nknobs))
		snprintf(kernels, sizeof kernels, " (machine knobs differ: baseline %s, this run %s)",
			 bknobs[0] ? bknobs : "defaults", nknobs[0] ? nknobs : "defaults");
	if (v.regressions)
		fprintf(out, "\nverdict: %d regression%s%s: %s\n", v.regressions,
			v.regressions == 1 ? "" : "s", kernels, v.regressed);
	else
		fprintf(out, "\nverdict: no regression%s\n", kernels);
	return v.regressions ? 1 : 0;
}
