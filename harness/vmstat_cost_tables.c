/* pnbench vmstat-cost: the three suites' tables and gnuplot data. */
#include "cli.h"
#include "clock.h"
#include "fsutil.h"
#include "log.h"
#include "parse.h"
#include "vmstat_cost.h"

#include <dirent.h>
#include <errno.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <hwloc.h>
#include <jansson.h>
#include <linux/capability.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *const read_files[] = { "vmstat", "meminfo", "pressure", "zoneinfo",
					  "memcg-v1", "memcg-v2" };
static const char *const stale_counters[] = { "nr_free_pages", "nr_zone_inactive_anon",
	"nr_zone_active_anon", "nr_inactive_anon", "nr_active_anon", "nr_anon_pages" };

void vc_report_read(const struct vc_set *set, FILE *t, const char *dir)
{
	unsigned cpus[VC_MAX_VALS], maxc[VC_MAX_VALS], load[VC_MAX_VALS];
	int nc = vc_distinct(set, S_READ, 0, cpus), nm = vc_distinct(set, S_READ, 1, maxc), nl = vc_distinct(set, S_READ, 2, load);
	static const char *const modes[] = { "read", "openread" };
	char a[32], b[32], cell[64];

	if (!nc)
		return;
	for (int k = 0; k < set->nkern; k++)
		for (int md = 0; md < 2; md++) {
			int any = 0;
			for (int c = 0; c < set->ncells && !any; c++) {
				char key[64];
				snprintf(key, sizeof key, "%s_ns_p50:vmstat", modes[md]);
				any = set->cells[c].suite == S_READ && !isnan(vc_med(set, k, c, key));
			}
			if (!any)
				continue;
			fprintf(t, "\nvm_stat read cost on %s: %s, p50/p99 in us, median of repetitions\n",
				set->kern[k], md ? "open+read+close" : "whole-file pread at 0 on an open fd");
			fprintf(t, "%-20s", "file, load");
			for (int i = 0; i < nc; i++) {
				snprintf(cell, sizeof cell, "cpus=%u", cpus[i]);
				fprintf(t, " %12s", cell);
			}
			fprintf(t, "\n");
			for (size_t f = 0; f < sizeof read_files / sizeof *read_files; f++)
				for (int m = 0; m < nm; m++)
					for (int l = 0; l < nl; l++) {
						char row[64], line[512];
						int o = 0, have = 0;
						snprintf(row, sizeof row, "%s %s%s", read_files[f],
							 load[l] ? "load" : "idle", "");
						if (maxc[m])
							snprintf(row + strlen(row), sizeof row - strlen(row), " m%u", maxc[m]);
						o = snprintf(line, sizeof line, "%-20s", row);
						for (int i = 0; i < nc; i++) {
							int c = vc_find_cell(set, S_READ, cpus[i], maxc[m], load[l], NULL);
							char k50[64], k99[64];
							snprintf(k50, sizeof k50, "%s_ns_p50:%s", modes[md], read_files[f]);
							snprintf(k99, sizeof k99, "%s_ns_p99:%s", modes[md], read_files[f]);
							double p50 = c >= 0 ? vc_med(set, k, c, k50) : NAN, p99 = c >= 0 ? vc_med(set, k, c, k99) : NAN;
							have |= !isnan(p50);
							snprintf(cell, sizeof cell, "%s/%s", vc_us(p50, a, sizeof a), vc_us(p99, b, sizeof b));
							o += snprintf(line + o, sizeof line - (size_t)o, " %12s", cell);
						}
						if (have)
							fprintf(t, "%s\n", line);
					}
		}

	/* gnuplot data: one file per /proc file; one row per CPU count, one
	 * column pair (p50, p99) per kernel x load x maxcpus. */
	struct datset ds;
	if (vc_datset_open(&ds, dir, "vmstat-cost", "files"))
		return;
	int nseries = 0;
	for (size_t f = 0; f < sizeof read_files / sizeof *read_files; f++) {
		FILE *d;
		int have = 0;
		if (!(d = vc_datset_file(&ds, read_files[f])))
			continue;
		fprintf(d, "cpus");
		for (int k = 0; k < set->nkern; k++)
			for (int m = 0; m < nm; m++)
				for (int l = 0; l < nl; l++) {
					char mx[16] = "";
					if (!vc_has_data(set, k, S_READ, "iterations_count", (int)maxc[m], (int)load[l]))
						continue;
					nseries += f == 0;
					if (maxc[m])
						snprintf(mx, sizeof mx, " m%u", maxc[m]);
					fprintf(d, " \"%s %s%s p50\" \"%s %s%s p99\"", set->kern[k],
						load[l] ? "load" : "idle", mx, set->kern[k], load[l] ? "load" : "idle", mx);
				}
		fprintf(d, "\n");
		for (int i = 0; i < nc; i++) {
			fprintf(d, "%u", cpus[i]);
			for (int k = 0; k < set->nkern; k++)
				for (int m = 0; m < nm; m++)
					for (int l = 0; l < nl; l++) {
						int c = vc_find_cell(set, S_READ, cpus[i], maxc[m], load[l], NULL);
						char k50[64], k99[64];
						if (!vc_has_data(set, k, S_READ, "iterations_count", (int)maxc[m], (int)load[l]))
							continue;
						snprintf(k50, sizeof k50, "read_ns_p50:%s", read_files[f]);
						snprintf(k99, sizeof k99, "read_ns_p99:%s", read_files[f]);
						double p50 = c >= 0 ? vc_med(set, k, c, k50) : NAN, p99 = c >= 0 ? vc_med(set, k, c, k99) : NAN;
						have |= !isnan(p50);
						fprintf(d, " %s %s", vc_num(p50, "%.0f", a, sizeof a), vc_num(p99, "%.0f", b, sizeof b));
					}
			fprintf(d, "\n");
		}
		vc_datset_item(&ds, d, read_files[f], have);
	}
	vc_datset_close(&ds, 1 + 2 * nseries);
}

/* gnuplot: one file per counter, rows CPU count, columns kernel x rate
 * (drift p50, drift max), plus the threshold bound per kernel. */
static void stale_data(const struct vc_set *set, const char *dir, const unsigned *cpus, int nc,
		       char (*rates)[24], int nr)
{
	char a[32], b[32];

	struct datset ds;
	if (vc_datset_open(&ds, dir, "staleness", "counters"))
		return;
	int nk = 0;
	for (size_t s = 0; s < sizeof stale_counters / sizeof *stale_counters; s++) {
		FILE *d;
		int have = 0;
		if (!(d = vc_datset_file(&ds, stale_counters[s])))
			continue;
		fprintf(d, "cpus");
		for (int k = 0; k < set->nkern; k++) {
			if (!vc_has_data(set, k, S_STALE, "sample_count", -1, 0))
				continue;
			nk += s == 0;
			for (int r = 0; r < nr; r++)
				fprintf(d, " \"%s load %s p50\" \"%s load %s max\"", set->kern[k], rates[r], set->kern[k],
					rates[r]);
			fprintf(d, " \"%s bound\"", set->kern[k]);
		}
		fprintf(d, "\n");
		for (int i = 0; i < nc; i++) {
			fprintf(d, "%u", cpus[i]);
			for (int k = 0; k < set->nkern; k++) {
				char k50[96], kmax[96];
				if (!vc_has_data(set, k, S_STALE, "sample_count", -1, 0))
					continue;
				snprintf(k50, sizeof k50, "drift_pages_p50:%s", stale_counters[s]);
				snprintf(kmax, sizeof kmax, "drift_pages_max:%s", stale_counters[s]);
				for (int r = 0; r < nr; r++) {
					int c = vc_find_cell(set, S_STALE, cpus[i], 0, 0, rates[r]);
					double p50 = c >= 0 ? vc_med(set, k, c, k50) : NAN, mx = c >= 0 ? vc_med(set, k, c, kmax) : NAN;
					have |= !isnan(p50);
					fprintf(d, " %s %s", vc_num(p50, "%.0f", a, sizeof a), vc_num(mx, "%.0f", b, sizeof b));
				}
				int c = vc_find_cell(set, S_STALE, cpus[i], 0, 0, rates[0]);
				fprintf(d, " %s", vc_num(c >= 0 ? vc_med(set, k, c, strncmp(stale_counters[s], "nr_zone_", 8) &&
						   strcmp(stale_counters[s], "nr_free_pages") ? "node_bound_pages" :
						   "zone_bound_pages") : NAN, "%.0f", a, sizeof a));
			}
			fprintf(d, "\n");
		}
		vc_datset_item(&ds, d, stale_counters[s], have);
	}
	vc_datset_close(&ds, 1 + nk * (2 * nr + 1));
}

void vc_report_stale(const struct vc_set *set, FILE *t, const char *dir)
{
	unsigned cpus[VC_MAX_VALS];
	int nc = vc_distinct(set, S_STALE, 0, cpus);
	char rates[VC_MAX_VALS][24], a[32], b[32], cell[64];
	int nr = 0;

	if (!nc)
		return;
	for (int c = 0; c < set->ncells; c++) {
		int k;
		if (set->cells[c].suite != S_STALE)
			continue;
		for (k = 0; k < nr && strcmp(rates[k], set->cells[c].rate); k++)
			;
		if (k == nr && nr < VC_MAX_VALS)
			snprintf(rates[nr++], sizeof rates[0], "%s", set->cells[c].rate);
	}
	for (int k = 0; k < set->nkern; k++) {
		int any = 0;
		for (int c = 0; c < set->ncells && !any; c++)
			any = set->cells[c].suite == S_STALE && !isnan(vc_med(set, k, c, "sample_count"));
		if (!any)
			continue;
		fprintf(t, "\nvm_stat counter staleness on %s: |read - read after vm.stat_refresh|,\n"
			"pages p50/max (control: same spacing, no refresh), median of repetitions\n", set->kern[k]);
		fprintf(t, "%-30s", "counter, load rate");
		for (int i = 0; i < nc; i++) {
			snprintf(cell, sizeof cell, "cpus=%u", cpus[i]);
			fprintf(t, " %11s", cell);
		}
		fprintf(t, "\n");
		for (size_t s = 0; s < sizeof stale_counters / sizeof *stale_counters; s++)
			for (int r = 0; r < nr; r++)
				for (int ctl = 0; ctl < 2; ctl++) {
					char row[64], line[512];
					int o, have = 0;
					snprintf(row, sizeof row, "%s %s%s", stale_counters[s], rates[r],
						 ctl ? " ctl" : "");
					o = snprintf(line, sizeof line, "%-30s", row);
					for (int i = 0; i < nc; i++) {
						int c = vc_find_cell(set, S_STALE, cpus[i], 0, 0, rates[r]);
						char k50[96], kmax[96];
						snprintf(k50, sizeof k50, "%s_pages_p50:%s", ctl ? "control" : "drift", stale_counters[s]);
						snprintf(kmax, sizeof kmax, "%s_pages_max:%s", ctl ? "control" : "drift", stale_counters[s]);
						double p50 = c >= 0 ? vc_med(set, k, c, k50) : NAN, mx = c >= 0 ? vc_med(set, k, c, kmax) : NAN;
						have |= !isnan(p50);
						snprintf(cell, sizeof cell, "%s/%s", vc_num(p50, "%.0f", a, sizeof a), vc_num(mx, "%.0f", b, sizeof b));
						o += snprintf(line + o, sizeof line - (size_t)o, " %11s", cell);
					}
					if (have)
						fprintf(t, "%s\n", line);
				}
		/* What the thresholds allow, and what a refresh costs. */
		const char *extra[][2] = { { "zone_bound_pages", "threshold bound (zone), pages" },
					   { "memtotal_pages", "MemTotal, pages" },
					   { "refresh_ns_p50", "stat_refresh p50, us" } };
		for (size_t x = 0; x < 3; x++) {
			fprintf(t, "%-30s", extra[x][1]);
			for (int i = 0; i < nc; i++) {
				int c = vc_find_cell(set, S_STALE, cpus[i], 0, 0, rates[0]);
				double v = c >= 0 ? vc_med(set, k, c, extra[x][0]) : NAN;
				fprintf(t, " %11s", x == 2 ? vc_us(v, a, sizeof a) : vc_num(v, "%.0f", a, sizeof a));
			}
			fprintf(t, "\n");
		}
		fprintf(t, "%-30s", "nr_free_pages max, % MemTotal");
		for (int i = 0; i < nc; i++) {
			double worst = NAN;
			for (int r = 0; r < nr; r++) {
				int c = vc_find_cell(set, S_STALE, cpus[i], 0, 0, rates[r]);
				double v = c >= 0 ? vc_med(set, k, c, "drift_pct_max:nr_free_pages") : NAN;
				if (!isnan(v) && (isnan(worst) || v > worst))
					worst = v;
			}
			fprintf(t, " %11s", vc_num(worst, "%.4f", a, sizeof a));
		}
		fprintf(t, "\n");
	}

	stale_data(set, dir, cpus, nc, rates, nr);
}

void vc_report_mech(const struct vc_set *set, FILE *t, const char *dir)
{
	static const char *const wls[][2] = { { "bb", "busy-beaver" }, { "fr", "fixed-rate" } };
	char a[32], b[32], path[1300];
	int any = 0;

	for (int c = 0; c < set->ncells; c++)
		any |= set->cells[c].suite == S_MECH;
	if (!any)
		return;
	for (int k = 0; k < set->nkern; k++) {
		int have = 0;
		for (int c = 0; c < set->ncells && !have; c++)
			have = set->cells[c].suite == S_MECH && !isnan(vc_med(set, k, c, "recorder_cpu_ms_per_s"));
		if (!have)
			continue;
		fprintf(t, "\nmechanism cost on %s: allocation throughput MiB/s, wall us per page\n"
			"(one thread), workload CPU us per page, recorder CPU ms per s of run;\n"
			"median of repetitions\n", set->kern[k]);
		fprintf(t, "%-18s %-12s %9s %9s %9s %9s\n", "armed", "workload", "MiB/s", "us/page",
			"cpu us/pg", "rec ms/s");
		for (int c = 0; c < set->ncells; c++) {
			char label[48];
			if (set->cells[c].suite != S_MECH || isnan(vc_med(set, k, c, "recorder_cpu_ms_per_s")))
				continue;
			if (!strcmp(set->cells[c].mech, "base"))
				snprintf(label, sizeof label, "oom probe only");
			else if (!strcmp(set->cells[c].mech, "psi"))
				snprintf(label, sizeof label, "%s PSI triggers", set->cells[c].param);
			else if (!strcmp(set->cells[c].mech, "vmp"))
				snprintf(label, sizeof label, "%s vmpressure", set->cells[c].param);
			else if (!strcmp(set->cells[c].mech, "sample"))
				snprintf(label, sizeof label, "sampler %s", set->cells[c].param);
			else
				snprintf(label, sizeof label, "boot psi=%s", set->cells[c].param);
			double pg = vc_med(set, k, c, "alloc_page_ns_mean");
			char cpu[32];
			fprintf(t, "%-18s %-12s %9s %9s %9s %9s\n", label,
				!strcmp(set->cells[c].wl, "bb") ? "busy-beaver" : "fixed-rate",
				vc_num(vc_med(set, k, c, "alloc_MBps"), "%.1f", a, sizeof a),
				vc_num(pg / 1e3, "%.2f", b, sizeof b),
				vc_num(vc_med(set, k, c, "alloc_cpu_page_ns") / 1e3, "%.2f", cpu, sizeof cpu),
				vc_num(vc_med(set, k, c, "recorder_cpu_ms_per_s"), "%.2f", path, sizeof path));
		}
	}

	/* gnuplot: rows listeners (0 = base cell), columns kernel x workload x
	 * mechanism (MiB/s). */
	unsigned ls[VC_MAX_VALS];
	int nls = 0;
	ls[nls++] = 0;
	for (int c = 0; c < set->ncells; c++) {
		uint64_t v;
		int k;
		if (set->cells[c].suite != S_MECH || strcmp(set->cells[c].mech, "psi") || pnb_parse_u64(set->cells[c].param, &v))
			continue;
		for (k = 0; k < nls && ls[k] != v; k++)
			;
		if (k == nls && nls < VC_MAX_VALS) {
			int j = nls++;
			while (j > 0 && ls[j - 1] > v) {
				ls[j] = ls[j - 1];
				j--;
			}
			ls[j] = (unsigned)v;
		}
	}
	snprintf(path, sizeof path, "%s/mechanism-cost.dat", dir);
	FILE *d = fopen(path, "we");
	if (!d)
		return;
	fprintf(d, "listeners");
	int cols = 1;
	for (int k = 0; k < set->nkern; k++)
		for (int w = 0; w < 2 && vc_has_data(set, k, S_MECH, "alloc_MBps", -1, 0); w++) {
			fprintf(d, " \"%s %s PSI\" \"%s %s vmpressure\"", set->kern[k], wls[w][1], set->kern[k], wls[w][1]);
			cols += 2;
		}
	fprintf(d, "\n");
	int panel[2] = { 0, 0 };
	for (int i = 0; i < nls; i++) {
		fprintf(d, "%u", ls[i]);
		for (int k = 0; k < set->nkern; k++)
			for (int w = 0; w < 2 && vc_has_data(set, k, S_MECH, "alloc_MBps", -1, 0); w++)
				for (int m = 0; m < 2; m++) {
					double v = NAN;
					for (int c = 0; c < set->ncells; c++) {
						char p[16];
						snprintf(p, sizeof p, "%u", ls[i]);
						if (set->cells[c].suite != S_MECH || strcmp(set->cells[c].wl, wls[w][0]))
							continue;
						if ((ls[i] == 0 && !strcmp(set->cells[c].mech, "base")) ||
						    (ls[i] && !strcmp(set->cells[c].mech, m ? "vmp" : "psi") && !strcmp(set->cells[c].param, p)))
							v = vc_med(set, k, c, "alloc_MBps");
					}
					panel[w] |= !isnan(v);
					fprintf(d, " %s", vc_num(v, "%.2f", a, sizeof a));
				}
		fprintf(d, "\n");
	}
	fclose(d);
	snprintf(path, sizeof path, "%s/mechanism-cost.vars", dir);
	if ((d = fopen(path, "we"))) {
		/* Only the workloads that have numbers get a panel. */
		fprintf(d, "ncols = %d\npanels = \"%s%s%s\"\n", cols, panel[0] ? "0" : "",
			panel[0] && panel[1] ? " " : "", panel[1] ? "1" : "");
		fclose(d);
	}
}

