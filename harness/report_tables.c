/* pnbench report: the tables of report.txt, each also a file of its own. */
#include "analysis.h"
#include "report.h"
#include "cli.h"
#include "fsutil.h"
#include "log.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>


/* ---- tables -------------------------------------------------------------- */

void fmt(char *b, size_t n, double v, int prec)
{
	if (isnan(v))
		snprintf(b, n, "-");
	else if (isinf(v))
		snprintf(b, n, "%s", v < 0 ? "missed" : "inf");
	else
		snprintf(b, n, "%.*f", prec, v);
}

/* Text wrapped at 79 columns with an indent for continuation lines. */
void wrap(FILE *f, const char *first, const char *text, int indent)
{
	int col = fprintf(f, "%s", first);
	const char *p = text;

	while (*p) {
		size_t w = strcspn(p, " ");
		if (col + (int)w + 1 > 79 && col > indent) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent && p != text) {
			fputc(' ', f);
			col++;
		}
		col += fprintf(f, "%.*s", (int)w, p);
		p += w;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

/* What the guests ran on, per kernel, for every report: a figure travels
 * with its conditions, and TCG inflates every timing. */
void report_conditions(FILE *f, const struct an_set *s, const char *const *kern, int nkern)
{
	int tcg = 0;
	const char *cpu = "";

	for (int i = 0; i < nkern; i++) {
		char accels[256] = "", shape[128] = "", line[1024], cost[160] = "";
		int retries = 0, n = 0, restored = 0, cold = 0, ns = 0, np = 0;
		double st[s->nruns + 1], po[s->nruns + 1];
		for (int k = 0; k < s->nruns; k++) {
			const struct an_run *r = &s->runs[k];
			if (strcmp(r->kernel, kern[i]))
				continue;
			n++;
			retries += r->boot_retries;
			restored += !strcmp(r->start, "snapshot");
			cold += !strcmp(r->start, "cold");
			if (!isnan(r->start_s))
				st[ns++] = r->start_s;
			if (!isnan(r->poweroff_s))
				po[np++] = r->poweroff_s;
			if (r->host_cpu[0])
				cpu = r->host_cpu;
			const char *a = r->accel[0] ? r->accel : "accelerator unknown";
			if (!strncmp(a, "tcg", 3))
				tcg = 1;
			if (!strstr(accels, a) && strlen(accels) + strlen(a) + 3 < sizeof accels)
				snprintf(accels + strlen(accels), sizeof accels - strlen(accels), "%s%s",
					 accels[0] ? " + " : "", a);
			if (!shape[0] && r->guest_cpus)
				snprintf(shape, sizeof shape, ", %d vCPUs, %lld MiB", r->guest_cpus,
					 (long long)(r->guest_memory >> 20));
		}
		if (!n)
			continue;
		/* The fixed cost of a cell: what repetitions pay besides the run. */
		if (ns) {
			struct pnb_dist d, e;
			pnb_dist_compute(st, (size_t)ns, &d);
			snprintf(cost, sizeof cost, "; cell start to workload %.2f s median [%.2f..%.2f]",
				 d.median, d.min, d.max);
			if (np) {
				pnb_dist_compute(po, (size_t)np, &e);
				snprintf(cost + strlen(cost), sizeof cost - strlen(cost),
					 ", end to poweroff %.2f s", e.median);
			}
		}
		snprintf(line, sizeof line, "%s: %s%s; %d restored from a snapshot, %d booted cold%s; "
			 "%d boot%s retried after a panic before the workload", kern[i], accels, shape,
			 restored, cold, cost, retries, retries == 1 ? "" : "s");
		wrap(f, i ? "           " : "guests:    ", line, 13);
	}
	if (cpu[0])
		fprintf(f, "host:      %s\n", cpu);
	if (tcg)
		wrap(f, "timing:    ", "guests ran under TCG (emulated CPUs): every time is inflated "
		     "against KVM or hardware; compare kernels run alike, not absolute numbers.", 13);
}

void table_runs(FILE *f, const struct an_set *s)
{
	fprintf(f, "Table 1. Runs and the OOM kill (medians over runs)\n\n");
	fprintf(f, "%-15s %-12s %5s %4s %9s %12s %6s %6s\n", "scenario", "kernel", "runs", "OOM",
		"to OOM s", "avail/rate s", "ratio", "CPU %");
	fprintf(f, "%-15s %-12s %5s %4s %9s %12s %6s %6s\n", "", "", "ok", "", "", "(expected)",
		"", "(rec.)");
	for (int i = 0; i < s->ncells; i++) {
		const struct an_cell *c = &s->cells[i];
		const char *hs[2];
		int nh = an_cell_hiers(c, hs);
		/* A row per hierarchy where the cell recorded them: each boot's
		 * OOM kill is its own. */
		for (int h = 0; h < (nh ? nh : 1); h++) {
			struct an_key hk;
			memset(&hk, 0, sizeof hk);
			if (nh)
				snprintf(hk.hier, sizeof hk.hier, "%s", hs[h]);
			struct pnb_dist tto, ex, ra, cpu;
			char a[16], b[16], cc[16], d[16], runs[16], oom[16], name[32];
			int complete = 0, ooms = 0, total = 0;
			for (int k = 0; k < c->nruns; k++) {
				if (!an_run_matches(c->runs[k], &hk))
					continue;
				total++;
				complete += !c->runs[k]->incomplete;
				ooms += c->runs[k]->t_oom != AN_NONE;
			}
			cell_dist(c, &hk, AN_M_TIME_TO_OOM, &tto);
			cell_dist(c, &hk, AN_M_EXPECTED_OOM, &ex);
			cell_dist(c, &hk, AN_M_OOM_RATIO, &ra);
			cell_dist(c, &hk, AN_M_RECORDER_CPU, &cpu);
			fmt(a, sizeof a, tto.median, 2);
			fmt(b, sizeof b, ooms ? ex.median : NAN, 2);
			fmt(cc, sizeof cc, ra.median, 3);
			fmt(d, sizeof d, cpu.median * 100, 2);
			snprintf(runs, sizeof runs, "%d/%d", complete, total);
			snprintf(oom, sizeof oom, "%d/%d", ooms, total);
			if (nh)
				snprintf(name, sizeof name, "%.12s %s", c->scenario, hs[h]);
			else
				snprintf(name, sizeof name, "%s", c->scenario);
			fprintf(f, "%-15.15s %-12.12s %5s %4s %9s %12s %6s %6s\n", name, c->kernel,
				runs, oom, a, b, cc, d);
		}
	}
	fprintf(f, "\nruns ok: complete/total (incomplete runs are analysed as far as they go).\n"
		   "avail/rate: MemAvailable of the domain when allocation started divided by\n"
		   "the workload's --rate; ratio = actual/expected time, ~1 when sane.\n"
		   "CPU %%: recorder CPU time per second of run.\n");
	for (int i = 0; i < s->nruns; i++) {
		const struct an_run *r = &s->runs[i];
		char fl[512] = "";
		for (int k = 0; k < AN_NFLAGS; k++)
			if (r->flags & (1u << k) & ~(unsigned)AN_F_TRACE_UNFILTERED)
				snprintf(fl + strlen(fl), sizeof fl - strlen(fl), "%s%s",
					 fl[0] ? ", " : "", an_flag_names[k]);
		/* What a run lacks, so an empty plot or table reads as such. */
		if (!r->nsamples)
			snprintf(fl + strlen(fl), sizeof fl - strlen(fl), "%sno samples", fl[0] ? ", " : "");
		if (!r->ngroups)
			snprintf(fl + strlen(fl), sizeof fl - strlen(fl), "%sno notifications",
				 fl[0] ? ", " : "");
		if (r->events_error[0])
			snprintf(fl + strlen(fl), sizeof fl - strlen(fl), " (%s)", r->events_error);
		if (fl[0]) {
			char first[PATH_MAX + 64];
			snprintf(first, sizeof first, "%s %s: ", r->incomplete ? "INCOMPLETE" : "note",
				 r->dir);
			wrap(f, first, fl, 4);
		}
	}
}

/* One row of a cell table: its label, counts and the distributions of
 * metrics m[0..nm); 0 when the probe was never armed (no row). */
static int key_row(const struct an_cell *c, const struct an_key *k, char *label, size_t len,
		   struct an_key_counts *n, const enum an_metric *m, struct pnb_dist *d, int nm)
{
	an_key_label(k, label, len);
	an_key_counts(c, k, n);
	if (!n->armed)
		return 0;
	for (int i = 0; i < nm; i++)
		cell_dist(c, k, m[i], &d[i]);
	return 1;
}

/* The first table of a cell: who fired before the OOM kill, and when. */
static void cell_lead_rows(FILE *f, const struct an_cell *c, struct an_key *keys, int nk, int ooms)
{
	fprintf(f, "%-29s %5s %7s %-15s %6s %8s\n", "mechanism / level", "fired", "lead s",
		"[min..max]", "avail", "MiB done");
	fprintf(f, "%-29s %5s %7s %-15s %6s %8s\n", "", ooms ? "<OOM" : "", "median", "",
		"%", "median");
	for (int a = 0; a < nk; a++) {
		char label[AN_PROBE_LEN + AN_LEVEL_LEN + 2], fired[16], lead[16], range[32];
		char av[16], mib[16];
		struct an_key_counts n;
		struct pnb_dist d[5];
		static const enum an_metric m[5] = { AN_M_LEAD_RANKED, AN_M_LEAD, AN_M_HEADROOM_PCT,
						     AN_M_PROGRESS_ALLOC, AN_M_PROGRESS_READ };
		if (!key_row(c, &keys[a], label, sizeof label, &n, m, d, 5))
			continue;
		const struct pnb_dist dr = d[0], dl = d[1], dh = d[2], dpa = d[3], dpr = d[4];
		if (ooms)
			snprintf(fired, sizeof fired, "%d/%d", n.fired_before_oom, n.oom_runs);
		else
			snprintf(fired, sizeof fired, "%d/%d", n.fired, n.runs);
		range[0] = 0;
		if (!ooms) {
			snprintf(lead, sizeof lead, "-");
		} else if (isinf(dr.median)) {
			snprintf(lead, sizeof lead, "missed");
			/* "silent" and "late" only when every run agrees; a level
			 * that spoke in some runs says in how many (metrics.md 5). */
			if (!n.fired) {
				snprintf(range, sizeof range, "silent");
			} else if (n.fired < n.runs) {
				snprintf(range, sizeof range, "%d/%d runs", n.fired, n.runs);
			} else {
				struct pnb_dist late;
				cell_dist(c, &keys[a], AN_M_LATE, &late);
				snprintf(range, sizeof range, "late %+.3f s", late.median);
			}
		} else {
			fmt(lead, sizeof lead, dr.median, 3);
			if (dl.n)
				snprintf(range, sizeof range, "[%.3f..%.3f]", dl.min, dl.max);
		}
		fmt(av, sizeof av, dh.median, 1);
		fmt(mib, sizeof mib, dpa.n ? dpa.median : dpr.median, 1);
		fprintf(f, "%-29.29s %5s %7s %-15s %6s %8s\n", label, fired, lead, range, av, mib);
	}
}

/* Each level against its claim: latency, notifications, false positives. */
static void cell_claim_rows(FILE *f, const struct an_cell *c, struct an_key *keys, int nk)
{
	fprintf(f, "\n%-29s %-9s %9s %6s %4s %7s %6s\n", "mechanism / level", "claim", "latency s",
		"notif.", "FP", "FP/min", "peak/s");
	int storms = 0;
	for (int a = 0; a < nk; a++) {
		char label[AN_PROBE_LEN + AN_LEVEL_LEN + 2], lat[16], no[16], fp[16], fpm[16], pk[16];
		struct an_key_counts n;
		struct pnb_dist d[5];
		static const enum an_metric m[5] = { AN_M_LATENCY, AN_M_NOTIFICATIONS, AN_M_FP,
						     AN_M_FP_RATE, AN_M_PEAK };
		if (!key_row(c, &keys[a], label, sizeof label, &n, m, d, 5))
			continue;
		const struct pnb_dist d1 = d[0], d2 = d[1], d3 = d[2], d4 = d[3], d5 = d[4];
		fmt(lat, sizeof lat, d1.median, 3);
		fmt(no, sizeof no, d2.median, 0);
		fmt(fp, sizeof fp, d3.median, 0);
		fmt(fpm, sizeof fpm, d4.median, 2);
		fmt(pk, sizeof pk, d5.median, 0);
		fprintf(f, "%-29.29s %-9s %9s %6s %4s %7s %6s%s\n", label, an_claim_name(keys[a].claim),
			lat, no, fp, fpm, pk, d5.median >= 100 ? "!" : "");
		storms += d5.median >= 100;
	}
	if (storms)
		fprintf(f, "peak/s!: an event storm (>= 100 notifications in one second).\n");
}

/* With swap: every mechanism's first word against the swap-out onset
 * (probe swapout), the moment a zram machine starts paying. */
static void cell_swapout_rows(FILE *f, const struct an_cell *c, struct an_key *keys, int nk)
{
	int swapped = 0;
	for (int k = 0; k < c->nruns; k++)
		swapped += c->runs[k]->t_swapout != AN_NONE;
	if (!swapped)
		return;
	fprintf(f, "\n%-29s %12s %-17s %s\n", "mechanism / level", "after swap-", "[min..max]",
		"runs");
	fprintf(f, "%-29s %12s %-17s %s\n", "", "out onset s", "", "");
	for (int a = 0; a < nk; a++) {
		char label[AN_PROBE_LEN + AN_LEVEL_LEN + 2], med[16], range[40], cnt[16];
		double v[c->nruns + 1];
		int nv = 0, nrun = 0;
		struct pnb_dist d;
		an_key_label(&keys[a], label, sizeof label);
		for (int k = 0; k < c->nruns; k++) {
			const struct an_run *r = c->runs[k];
			if (!an_run_matches(r, &keys[a]) || r->t_swapout == AN_NONE)
				continue;
			nrun++;
			for (int g = 0; g < r->ngroups; g++)
				if (!strcmp(r->g[g].probe, keys[a].probe) &&
				    !strcmp(r->g[g].level, keys[a].level) && !isnan(r->g[g].swapout_rel_s))
					v[nv++] = r->g[g].swapout_rel_s;
		}
		if (!nrun)
			continue;
		pnb_dist_compute(v, (size_t)nv, &d);
		fmt(med, sizeof med, nv ? d.median : NAN, 3);
		if (nv)
			snprintf(range, sizeof range, "[%+.3f..%+.3f]", d.min, d.max);
		else
			snprintf(range, sizeof range, "silent");
		snprintf(cnt, sizeof cnt, "%d/%d", nv, nrun);
		fprintf(f, "%-29.29s %12s %-17s %s\n", label, med, range, cnt);
	}
	fprintf(f, "after swap-out onset: first notification minus the first pswpout\n"
		   "increase (probe swapout, 10 ms polls); negative: it spoke before any swap-out.\n");
}

/* Unsupported probes, with the reason of the first run that says. */
static void cell_unsupported(FILE *f, const struct an_cell *c)
{
	for (int a = 0; a < c->nruns; a++) {
		const struct an_run *r = c->runs[a];
		for (int p = 0; p < r->nprobes; p++) {
			const struct an_probe_status *ps = &r->probes[p];
			int earlier = 0;
			if (ps->armed || strcmp(ps->status, "unsupported"))
				continue;
			for (int b = 0; b < a; b++)
				for (int q = 0; q < c->runs[b]->nprobes; q++)
					earlier |= !strcmp(c->runs[b]->probes[q].probe, ps->probe) &&
						   !strcmp(c->runs[b]->hierarchy, r->hierarchy) &&
						   !c->runs[b]->probes[q].armed;
			if (earlier)
				continue;
			char first[AN_PROBE_LEN + 32];
			snprintf(first, sizeof first, "unsupported %s%s%s%s: ", ps->probe,
				 r->hier_recorded ? " (" : "", r->hier_recorded ? r->hierarchy : "",
				 r->hier_recorded ? ")" : "");
			wrap(f, first, ps->reason[0] ? ps->reason : "(no reason given)", 4);
		}
	}
}

void table_cell(FILE *f, const struct an_cell *c, int num)
{
	struct an_key *keys = NULL;
	int nk = an_cell_keys(c, &keys), ooms = 0;

	for (int k = 0; k < c->nruns; k++)
		ooms += c->runs[k]->t_oom != AN_NONE;
	{
		char first[32], title[2 * AN_NAME_LEN + 80];
		snprintf(first, sizeof first, "\nTable %d.a  ", num);
		snprintf(title, sizeof title, "%s on %s: first notification (%d run%s, OOM kill in %d)",
			 c->scenario, c->kernel, c->nruns, c->nruns == 1 ? "" : "s", ooms);
		wrap(f, first, title, 4);
		fputc('\n', f);
	}
	cell_lead_rows(f, c, keys, nk, ooms);
	cell_claim_rows(f, c, keys, nk);
	cell_swapout_rows(f, c, keys, nk);
	cell_unsupported(f, c);
	free(keys);
}


/* One stat of a cell.json stats object ({"n", "min", "q1", "median", "q3",
 * "max"}), NaN when absent or null. */
static double stat_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

int table_probe_cpu(FILE *f, const char *cell_json, const struct an_cell *c)
{
	json_t *cj = json_load_file(cell_json, 0, NULL);
	json_t *arr = json_object_get(cj, "probe_cpu"), *e;
	size_t i;
	int rows = 0;

	if (!json_is_array(arr) || !json_array_size(arr)) {
		json_decref(cj);
		return 0;
	}
	fprintf(f, "\n");
	char title[2 * AN_NAME_LEN + 80];
	snprintf(title, sizeof title, "%s on %s: probe CPU (%% of one CPU, median over runs)",
		 c->scenario, c->kernel);
	wrap(f, "", title, 4);
	fprintf(f, "\n%-36s %8s %-19s %4s\n", "probe", "median", "[min..max]", "runs");
	json_array_foreach(arr, i, e) {
		const char *probe = json_string_value(json_object_get(e, "probe"));
		json_t *st = json_object_get(e, "cpu_per_s");
		double med = stat_of(st, "median") * 100, lo = stat_of(st, "min") * 100;
		double hi = stat_of(st, "max") * 100, n = stat_of(st, "n");
		char m[16], range[40] = "";
		if (!probe)
			continue;
		fmt(m, sizeof m, med, 3);
		if (!isnan(lo) && !isnan(hi))
			snprintf(range, sizeof range, "[%.3f..%.3f]", lo, hi);
		fprintf(f, "%-36.36s %8s %-19s %4.0f\n", probe, m, range, isnan(n) ? 0 : n);
		rows++;
	}
	wrap(f, "", "CPU time inside each probe's own calls (open, start, handle, close) per "
	     "second of run.  What a mechanism costs to use, such as the LMK rule's walk of "
	     "the task list at every poll, belongs to that mechanism, not to the harness "
	     "(Table 1's CPU % is the whole recorder's, these included).", 0);
	json_decref(cj);
	return rows;
}
