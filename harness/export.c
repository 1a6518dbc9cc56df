/* pnbench export kcidb|junit|lava, and the JUnit export of bench cells. */
#include "analysis.h"
#include "cli.h"
#include "export.h"
#include "junit.h"
#include "log.h"
#include "stats.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "median 1.23 (q1 1.1, q3 1.4, n 5)" style values, one property each. */
static void add_prop(const char ***pv, int *n, const char *name, const char *value)
{
	const char **v = realloc(*pv, (size_t)(*n + 1) * 2 * sizeof *v);
	if (!v)
		return;
	v[2 * *n] = strdup(name);
	v[2 * *n + 1] = strdup(value);
	*pv = v;
	(*n)++;
}

static void free_props(const char **v, int n)
{
	for (int i = 0; i < 2 * n; i++)
		free((char *)v[i]);
	free(v);
}

/* Properties of metric m for row k (NULL: run metric): its median, quartiles
 * and count, in the units of the metric's key (as summary.json). */
static void metric_props(const struct an_cell *c, const struct an_key *k, enum an_metric m,
			 const char ***pv, int *n)
{
	double v[c->nruns + 1];
	struct pnb_dist d;
	char name[96], val[64];

	for (int i = 0; i < c->nruns; i++)
		v[i] = an_run_value(c->runs[i], k, m);
	if (pnb_dist_compute(v, (size_t)c->nruns, &d))
		return;
	const char *key = an_metrics[m].key;
	snprintf(name, sizeof name, "%s.median", key);
	snprintf(val, sizeof val, "%.6g", d.median);
	add_prop(pv, n, name, val);
	snprintf(name, sizeof name, "%s.q1", key);
	snprintf(val, sizeof val, "%.6g", d.q1);
	add_prop(pv, n, name, val);
	snprintf(name, sizeof name, "%s.q3", key);
	snprintf(val, sizeof val, "%.6g", d.q3);
	add_prop(pv, n, name, val);
	snprintf(name, sizeof name, "%s.n", key);
	snprintf(val, sizeof val, "%zu", d.n);
	add_prop(pv, n, name, val);
}

static void junit_usage(FILE *f)
{
	fprintf(f, "usage: pnbench export junit SET\n"
		"  JUnit XML on standard output: a test suite per kernel x scenario cell, a\n"
		"  test case per probe row (mechanism and level) with its figures (median,\n"
		"  q1, q3, n of each metric) as properties, and a case \"run\" with the run\n"
		"  metrics that fails when a repetition is incomplete.  A row whose probe\n"
		"  was unsupported in every run is skipped with the probe's reason.\n");
}

/* Probe p of run r is unsupported in every run of the cell and is its first
 * mention there (so each such probe is counted and reported once). */
static int unsupported_first(const struct an_cell *cl, int r, int p)
{
	const char *probe = cl->runs[r]->probes[p].probe;
	int armed = 0, seen = 0;

	for (int q = 0; q < cl->nruns; q++)
		for (int j = 0; j < cl->runs[q]->nprobes; j++)
			if (!strcmp(cl->runs[q]->probes[j].probe, probe)) {
				armed |= cl->runs[q]->probes[j].armed;
				seen |= q < r || (q == r && j < p);
			}
	return !armed && !seen;
}

/* The case "run": the cell's run metrics, failed when a repetition is
 * incomplete.  Returns how many are. */
static int junit_run_case(FILE *f, const struct an_cell *cl, const char *suite)
{
	char msg[2048] = "", val[64], detail[2100];
	const char **pv = NULL;
	int np = 0, bad = 0;

	for (int r = 0; r < cl->nruns; r++)
		if (cl->runs[r]->incomplete) {
			size_t l = strlen(msg);
			snprintf(msg + l, sizeof msg - l, "%srep %d %s", bad ? "; " : "",
				 cl->runs[r]->rep, cl->runs[r]->meta_status[0] ?
				 cl->runs[r]->meta_status : "incomplete");
			bad++;
		}
	snprintf(val, sizeof val, "%d", cl->nruns);
	add_prop(&pv, &np, "runs", val);
	snprintf(val, sizeof val, "%d", cl->nruns - bad);
	add_prop(&pv, &np, "complete", val);
	for (int m = AN_NGROUP_METRICS; m < AN_NMETRICS; m++)
		metric_props(cl, NULL, m, &pv, &np);
	snprintf(detail, sizeof detail, "%d of %d runs incomplete: %s", bad, cl->nruns, msg);
	junit_case(f, &(struct junit_case){ .classname = suite, .name = "run",
		.result = bad ? JUNIT_FAILURE : JUNIT_PASS, .message = bad ? detail : NULL,
		.nprops = np, .props = (const char *const (*)[2])pv });
	free_props(pv, np);
	return bad;
}

/* One case per probe row: its counts and metrics, skipped with the probe's
 * reason when it was unsupported in every run. */
static void junit_row_case(FILE *f, const struct an_cell *cl, const struct an_key *key,
			   const char *suite)
{
	char label[AN_PROBE_LEN + AN_LEVEL_LEN + 2], why[512] = "unsupported in every run", val[64];
	struct an_key_counts cnt;
	const char **pv = NULL;
	int np = 0;

	an_key_label(key, label, sizeof label);
	an_key_counts(cl, key, &cnt);
	add_prop(&pv, &np, "mechanism", key->mech);
	add_prop(&pv, &np, "level", key->level);
	add_prop(&pv, &np, "claim", an_claim_name(key->claim));
#define COUNT(f) snprintf(val, sizeof val, "%d", cnt.f), add_prop(&pv, &np, #f, val)
	COUNT(runs); COUNT(armed); COUNT(fired); COUNT(fired_before_oom); COUNT(missed);
	COUNT(oom_runs); COUNT(storms);
#undef COUNT
	for (int m = 0; m < AN_NGROUP_METRICS; m++)
		if (m != AN_M_LEAD_RANKED)
			metric_props(cl, key, m, &pv, &np);
	if (!cnt.armed)
		for (int r = 0; r < cl->nruns; r++)
			for (int p = 0; p < cl->runs[r]->nprobes; p++)
				if (!strcmp(cl->runs[r]->probes[p].probe, key->probe) &&
				    cl->runs[r]->probes[p].reason[0])
					snprintf(why, sizeof why, "unsupported: %s",
						 cl->runs[r]->probes[p].reason);
	junit_case(f, &(struct junit_case){ .classname = suite, .name = label,
		.result = cnt.armed ? JUNIT_PASS : JUNIT_SKIPPED,
		.message = cnt.armed ? NULL : why,
		.nprops = np, .props = (const char *const (*)[2])pv });
	free_props(pv, np);
}

/* One test suite per kernel x scenario cell.  -1 when out of memory. */
static int junit_cell(FILE *f, const struct an_cell *cl)
{
	struct an_key *keys = NULL;
	int nk = an_cell_keys(cl, &keys), skipped = 0, unsupported = 0, bad = 0;
	char suite[2 * AN_NAME_LEN + 16];

	if (nk < 0)
		return -1;
	for (int r = 0; r < cl->nruns; r++)
		bad += cl->runs[r]->incomplete;
	for (int k = 0; k < nk; k++) {
		struct an_key_counts cnt;
		an_key_counts(cl, &keys[k], &cnt);
		skipped += !cnt.armed;
	}
	for (int r = 0; r < cl->nruns; r++)
		for (int p = 0; p < cl->runs[r]->nprobes; p++)
			unsupported += unsupported_first(cl, r, p);
	skipped += unsupported;
	snprintf(suite, sizeof suite, "bench.%s.%s", cl->kernel, cl->scenario);
	junit_suite_open(f, suite, nk + 1 + unsupported, bad > 0, skipped, 0);
	junit_run_case(f, cl, suite);
	for (int k = 0; k < nk; k++)
		junit_row_case(f, cl, &keys[k], suite);
	/* A probe unsupported in every run has no row: it gets a case of its
	 * own, skipped with the kernel's reason. */
	for (int r = 0; r < cl->nruns; r++)
		for (int p = 0; p < cl->runs[r]->nprobes; p++) {
			const struct an_probe_status *ps = &cl->runs[r]->probes[p];
			char why[512];

			if (!unsupported_first(cl, r, p))
				continue;
			snprintf(why, sizeof why, "unsupported: %s", ps->reason[0] ? ps->reason : ps->status);
			junit_case(f, &(struct junit_case){ .classname = suite, .name = ps->probe,
				.result = JUNIT_SKIPPED, .message = why });
		}
	junit_suite_close(f);
	free(keys);
	return 0;
}

int export_junit(int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	struct an_set set;
	char err[1024];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			junit_usage(stdout);
			return 0;
		}
		junit_usage(stderr);
		return PNB_EXIT_USAGE;
	}
	if (optind != argc - 1) {
		pnb_err("export junit: need one SET (see 'pnbench export junit --help')");
		return PNB_EXIT_USAGE;
	}
	if (an_set_load(argv[optind], &set, err, sizeof err)) {
		pnb_err("export junit: %s: %s", argv[optind], err);
		return PNB_EXIT_FAIL;
	}
	if (!set.nruns) {
		pnb_err("export junit: %s: no run directory in it", argv[optind]);
		an_set_free(&set);
		return PNB_EXIT_FAIL;
	}
	FILE *f = stdout;
	junit_open(f);
	for (int i = 0; i < set.ncells; i++)
		if (junit_cell(f, &set.cells[i])) {
			pnb_err("export junit: out of memory");
			an_set_free(&set);
			return PNB_EXIT_FAIL;
		}
	junit_close(f);
	an_set_free(&set);
	if (fflush(f)) {
		pnb_err("export junit: cannot write standard output: %s", strerror(errno));
		return PNB_EXIT_FAIL;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pnbench export kcidb|junit|lava [options]\n"
		"  kcidb  a result set as KCIDB v5.3 JSON (KernelCI's results database)\n"
		"  junit  a result set as JUnit XML: a case per (cell, mechanism), figures as properties\n"
		"  lava   one cell as a LAVA job for the qemu device type\n"
		"'pnbench export FORMAT --help' for each; docs/ci.md.\n");
}

int cmd_export(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return PNB_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "kcidb"))
		return export_kcidb(argc - 1, argv + 1);
	if (!strcmp(argv[1], "junit"))
		return export_junit(argc - 1, argv + 1);
	if (!strcmp(argv[1], "lava"))
		return export_lava(argc - 1, argv + 1);
	pnb_err("export: unknown format '%s' (kcidb, junit or lava)", argv[1]);
	return PNB_EXIT_USAGE;
}
