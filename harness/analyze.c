/* pnbench analyze: result directories into metrics (docs/metrics.md).
 * This file holds the tables, the shared helpers and the command; the
 * reading and computing half, shared with compare and report, is in the
 * an_*.c files (an_private.h lists them). */
#include "an_private.h"
#include "cli.h"
#include "fsutil.h"
#include "log.h"
#include "parse.h"
#include "scenario.h"
#include "stats.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const an_flag_names[AN_NFLAGS] = {
	"no_end", "cut_last_line", "meta_incomplete", "no_meta", "no_header",
	"partial_dir", "bad_lines", "no_workload_start", "unexpected_oom", "no_oom",
	"trace_unfiltered", "oom_from_vmstat", "scenario_unparsed", "bad_name", "no_events",
};

const struct an_metric_info an_metrics[AN_NMETRICS] = {
	[AN_M_FIRST] = { "first_s", "first notification s", 0, 1 },
	[AN_M_LEAD] = { "lead_s", "lead time s", -1, 1 },
	[AN_M_LEAD_RANKED] = { "lead_s", "lead time s", -1, 1 },
	[AN_M_LATE] = { "late_s", "late by s", 1, 1 },
	[AN_M_HEADROOM_KB] = { "headroom_kB", "headroom MiB", -1, 1.0 / 1024 },
	[AN_M_HEADROOM_PCT] = { "headroom_pct", "headroom % of total", -1, 1 },
	[AN_M_PROGRESS_ALLOC] = { "progress_alloc_MiB", "allocated by then MiB", 0, 1 },
	[AN_M_PROGRESS_READ] = { "progress_read_MiB", "read by then MiB", 0, 1 },
	[AN_M_LATENCY] = { "latency_s", "reaction latency s", 1, 1 },
	[AN_M_NOTIFICATIONS] = { "notifications", "notifications", 0, 1 },
	[AN_M_SIGNALS] = { "signals", "kernel signals", 0, 1 },
	[AN_M_FP] = { "false_positives", "false positives", 1, 1 },
	[AN_M_FP_RATE] = { "fp_per_min", "false positives /min", 1, 1 },
	[AN_M_PEAK] = { "peak_per_s", "peak rate /s", 1, 1 },
	[AN_M_PEAK_SIGNALS] = { "peak_signals_per_s", "peak signals /s", 1, 1 },
	[AN_M_TIME_TO_OOM] = { "time_to_oom_s", "time to OOM s", 0, 1 },
	[AN_M_ALLOC_TO_OOM] = { "alloc_to_oom_s", "alloc start to OOM s", 0, 1 },
	[AN_M_EXPECTED_OOM] = { "expected_alloc_to_oom_s", "expected (avail/rate) s", 0, 1 },
	[AN_M_OOM_RATIO] = { "oom_time_ratio", "actual/expected", 0, 1 },
	[AN_M_RECORDER_CPU] = { "recorder_cpu_per_s", "recorder CPU %", 1, 100 },
	[AN_M_RUN_S] = { "run_s", "run length s", 0, 1 },
};

const char *an_claim_name(enum an_claim c)
{
	static const char *const n[] = { "none", "reclaim", "direct", "oom", "threshold" };
	return n[c];
}

const char *an_lead_name(enum an_lead l)
{
	static const char *const n[] = { "ok", "missed", "no_oom" };
	return n[l];
}

const char *an_expect_name(enum an_expect e)
{
	static const char *const n[] = { "any", "oom", "no-oom" };
	return n[e];
}

/* The mechanism's own word (its probe_ops levels, probes/): the analysis
 * names no mechanism. */
enum an_claim an_claim_of(const char *mech, const char *level)
{
	const struct probe_level *l = probe_level_of(probe_find(mech), level);
	return l ? (enum an_claim)l->claim : AN_CLAIM_NONE;
}

/* Levels that only report reclaim activity (metrics.md 3.4). */
int an_activity_only(const char *mech, const char *level)
{
	const struct probe_level *l = probe_level_of(probe_find(mech), level);
	return l && l->activity_only;
}

/* Mechanisms that are ground truth or sampling are no notifications; one
 * the registry does not know (an older result's) is taken for one. */
int an_is_notifier(const char *mech)
{
	const struct probe_ops *ops = probe_find(mech);
	return !ops || ops->role == PROBE_NOTIFIER;
}

/* ---- growable arrays ----------------------------------------------------- */

int an_grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 64;
	void *q = realloc(*p, nc * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = nc;
	return 0;
}
/* ---- JSON helpers -------------------------------------------------------- */

int an_jget_i64(json_t *o, const char *k, int64_t *v)
{
	json_t *x = json_object_get(o, k);
	if (json_is_integer(x)) {
		*v = json_integer_value(x);
		return 0;
	}
	/* Out of range (or NAN) the conversion would be undefined. */
	if (json_is_real(x) && json_real_value(x) >= -0x1p63 && json_real_value(x) < 0x1p63) {
		*v = (int64_t)json_real_value(x);
		return 0;
	}
	return -1;
}

/* An event time: see AN_T_MAX. */
int an_ev_time(struct evr_obj o, const char *k, int64_t *v)
{
	int64_t t;

	if (evr_i64(o, k, &t) || t < 0 || t >= AN_T_MAX)
		return -1;
	*v = t;
	return 0;
}

const char *an_jget_str(json_t *o, const char *k)
{
	json_t *x = json_object_get(o, k);
	return json_is_string(x) ? json_string_value(x) : NULL;
}

void an_copy_str(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "%s", s ? s : "");
}

/* NAN is not JSON: it becomes null. */
json_t *an_jreal(double v)
{
	if (isnan(v))
		return json_null();
	if (isinf(v))
		return json_string(v < 0 ? "-inf" : "inf");
	return json_real(v);
}

json_t *an_jtime_s(int64_t t, int64_t origin)
{
	return t == AN_NONE ? json_null() : json_real((double)(t - origin) / NS);
}

/* ---- the command --------------------------------------------------------- */

static void analyze_usage(FILE *f)
{
	fprintf(f,
		"usage: pnbench analyze [--quiet] DIR...\n"
		"\n"
		"Analyse every run directory at or below each DIR (a result set, a kernel\n"
		"or scenario directory, or one run) as docs/metrics.md defines, and write\n"
		"  <run>/summary.json         per run\n"
		"  <kernel>/<scenario>/cell.json  per cell: median, quartiles, min/max\n"
		"  DIR/set-summary.json       the set\n"
		"Incomplete runs are analysed as far as they go and flagged.\n"
		"  -q, --quiet   print nothing but errors\n");
}

static void fmt_s(char *b, size_t n, double v)
{
	if (isnan(v))
		snprintf(b, n, "-");
	else
		snprintf(b, n, "%.2f", v);
}

static int analyze_one(const char *dir, int quiet)
{
	struct an_set s;
	char err[1024], path[PATH_MAX + 64];
	int ret, fails = 0;

	if ((ret = an_set_load(dir, &s, err, sizeof err))) {
		pnb_err("analyze: %s", err);
		return PNB_EXIT_USAGE;
	}
	for (int i = 0; i < s.nruns; i++) {
		snprintf(path, sizeof path, "%s/summary.json", s.runs[i].dir);
		if ((ret = an_write_json(path, an_run_json(&s.runs[i])))) {
			pnb_err("analyze: writing %s: %s", path, strerror(-ret));
			fails++;
		}
	}
	for (int i = 0; i < s.ncells; i++) {
		struct an_cell *c = &s.cells[i];
		char cdir[PATH_MAX];
		if (c->dir[0])
			snprintf(cdir, sizeof cdir, "%s", c->dir);
		else
			snprintf(cdir, sizeof cdir, "%s/%s/%s", s.path, c->kernel, c->scenario);
		if (pnb_mkdir_all(cdir, 0755) < 0)
			pnb_err("analyze: creating %s: %s", cdir, strerror(errno));
		snprintf(path, sizeof path, "%s/cell.json", cdir);
		if ((ret = an_write_json(path, an_cell_json(c)))) {
			pnb_err("analyze: writing %s: %s", path, strerror(-ret));
			fails++;
		}
		if (quiet)
			continue;
		int complete = 0, oom = 0;
		double tto[c->nruns + 1], exp[c->nruns + 1];
		struct pnb_dist dt, de;
		char a[32], b[32];
		for (int k = 0; k < c->nruns; k++) {
			complete += !c->runs[k]->incomplete;
			oom += c->runs[k]->t_oom != AN_NONE;
			tto[k] = c->runs[k]->time_to_oom_s;
			exp[k] = c->runs[k]->expected_alloc_to_oom_s;
		}
		pnb_dist_compute(tto, (size_t)c->nruns, &dt);
		pnb_dist_compute(exp, (size_t)c->nruns, &de);
		fmt_s(a, sizeof a, dt.median);
		fmt_s(b, sizeof b, de.median);
		printf("%s/%s: %d runs (%d complete), OOM in %d, time to OOM %s s (avail/rate %s s)\n",
		       c->kernel, c->scenario, c->nruns, complete, oom, a, b);
		for (int k = 0; k < c->nruns; k++)
			if (c->runs[k]->incomplete) {
				printf("  incomplete: %s (", c->runs[k]->dir);
				for (int f = 0, first = 1; f < AN_NFLAGS; f++)
					if (c->runs[k]->flags & (1u << f) & AN_F_INCOMPLETE_MASK) {
						printf("%s%s", first ? "" : ", ", an_flag_names[f]);
						first = 0;
					}
				printf(")%s%s\n", c->runs[k]->events_error[0] ? ": " : "",
				       c->runs[k]->events_error);
			}
	}
	snprintf(path, sizeof path, "%s/set-summary.json", s.path);
	if (!an_is_run_dir(s.path) && (ret = an_write_json(path, an_set_json(&s)))) {
		pnb_err("analyze: writing %s: %s", path, strerror(-ret));
		fails++;
	}
	if (!quiet)
		printf("analyze: %d runs in %d cells; summaries written under %s\n",
		       s.nruns, s.ncells, s.path);
	an_set_free(&s);
	return fails ? PNB_EXIT_FAIL : 0;
}

int cmd_analyze(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, quiet = 0, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = 1;
			break;
		case 'h':
			analyze_usage(stdout);
			return 0;
		default:
			analyze_usage(stderr);
			return PNB_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		pnb_err("analyze: which result directory? (pnbench analyze DIR)");
		analyze_usage(stderr);
		return PNB_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		int r = analyze_one(argv[i], quiet);
		if (r > rc)
			rc = r;
	}
	return rc;
}
