/* pnbench vmstat-cost: reading a result set (medians over repetitions
 * per kernel and cell), the gnuplot inputs and the report. */
#include "events_read.h"
#include "spawn.h"
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

/* ---- the report --------------------------------------------------------- */

/* 0, or -1 when out of memory. */
static int add_value(struct cellres *r, const char *key, double v)
{
	int i;
	for (i = 0; i < r->n && strcmp(r->s[i].key, key); i++)
		;
	if (i == r->n) {
		if (r->n == r->cap) {
			int cap = r->cap ? r->cap * 2 : 64;
			struct series *s = realloc(r->s, (size_t)cap * sizeof *r->s);
			if (!s)
				return -1;
			r->s = s;
			r->cap = cap;
		}
		memset(&r->s[i], 0, sizeof r->s[i]);
		snprintf(r->s[i].key, sizeof r->s[i].key, "%s", key);
		r->n++;
	}
	if (r->s[i].n < VC_MAX_REPS)
		r->s[i].v[r->s[i].n++] = v;
	return 0;
}

/* Median over repetitions, NaN when no repetition has the key. */
double vc_med(const struct vc_set *v, int k, int c, const char *key)
{
	const struct cellres *r = &v->res[k][c];
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->s[i].key, key)) {
			double x[VC_MAX_REPS];
			memcpy(x, r->s[i].v, sizeof(double) * (size_t)r->s[i].n);
			gsl_sort(x, 1, (size_t)r->s[i].n);
			return gsl_stats_median_from_sorted_data(x, 1, (size_t)r->s[i].n);
		}
	return NAN;
}

/* Whether the repetition in dir is complete; its accelerator joins
 * accels_seen (a list of each once). */
static int rep_complete(const char *dir, char *accels_seen, size_t len)
{
	char path[1400];
	json_t *m;
	int ok = 0;

	snprintf(path, sizeof path, "%s/meta.json", dir);
	if ((m = json_load_file(path, 0, NULL))) {
		ok = json_is_true(json_object_get(json_object_get(m, "result"), "complete"));
		const char *a = json_string_value(json_object_get(json_object_get(m, "guest"), "accel"));
		if (!a && !json_object_get(m, "guest"))
			a = "native";
		size_t l = strlen(accels_seen);
		if (a && !strstr(accels_seen, a) && l + strlen(a) + 3 < len)
			snprintf(accels_seen + l, len - l, "%s%s", l ? ", " : "", a);
		json_decref(m);
	}
	return ok;
}

/* One repetition's events: every result line, and the recorder's CPU time
 * per second of run from the end line. */
static int load_rep(struct cellres *r, const char *dir)
{
	char path[1400], type[16];
	struct evr_reader rd;
	struct evr_line l = { 0 };
	FILE *f;
	int oom = 0;

	snprintf(path, sizeof path, "%s/events.jsonl", dir);
	if (!(f = fopen(path, "re")))
		return 0;
	evr_init(&rd, f);
	while (!oom && evr_next(&rd, &l) == 1) {
		int64_t cpu, t;

		/* Only result and end lines matter: the rest is not parsed. */
		if (!evr_peek_type(&l, type, sizeof type) && strcmp(type, "result") && strcmp(type, "end"))
			continue;
		if (evr_parse(&l))
			continue;
		struct evr_obj o = evr_root(&l);
		const char *ty = evr_str(o, "type");
		if (ty && !strcmp(ty, "result")) {
			const char *key = evr_str(o, "key");
			double v = evr_num(o, "value");
			if (key && !isnan(v))
				oom = add_value(r, key, v);
		} else if (ty && !strcmp(ty, "end")) {
			if (!evr_int(o, "recorder_cpu_ns", &cpu) && !evr_int(o, "t_ns", &t) && t > 0)
				oom = add_value(r, "recorder_cpu_ms_per_s", 1e3 * (double)cpu / (double)t);
		}
	}
	evr_line_free(&l);
	evr_free(&rd);
	fclose(f);
	return oom ? -1 : 0;
}

/* Every kernel directory of out with a complete repetition of a cell of
 * OUT/cells.tsv: 0, or -1 when out of memory. */
static int load_results(struct vc_set *v, const char *out)
{
	DIR *d = opendir(out);
	struct dirent *e;
	int oom = 0;

	v->nkern = 0;
	v->ncells = vc_cells_load(out, v->cells, VC_MAX_CELLS);
	if (!d)
		return 0;
	while (!oom && (e = readdir(d)) && v->nkern < VC_MAX_KERNELS) {
		char kdir[1400];
		struct stat st;
		int any = 0, k = v->nkern;
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "scenarios") || !strcmp(e->d_name, "report"))
			continue;
		snprintf(kdir, sizeof kdir, "%s/%s", out, e->d_name);
		if (stat(kdir, &st) || !S_ISDIR(st.st_mode))
			continue;
		for (int c = 0; c < v->ncells && !oom; c++) {
			char cdir[1600];
			DIR *rd;
			struct dirent *re;
			snprintf(cdir, sizeof cdir, "%s/%s", kdir, v->cells[c].name);
			if (!(rd = opendir(cdir)))
				continue;
			while (!oom && (re = readdir(rd))) {
				char rdir[1900];
				uint64_t rep;
				if (pnb_parse_u64(re->d_name, &rep))
					continue;
				snprintf(rdir, sizeof rdir, "%s/%s", cdir, re->d_name);
				if (!rep_complete(rdir, v->accels_seen, sizeof v->accels_seen)) {
					v->res[k][c].incomplete++;
					continue;
				}
				v->res[k][c].reps++;
				oom = load_rep(&v->res[k][c], rdir);
				any = 1;
			}
			closedir(rd);
		}
		if (any)
			snprintf(v->kern[v->nkern++], sizeof v->kern[0], "%s", e->d_name);
		else
			for (int c = 0; c < v->ncells; c++)
				v->res[k][c] = (struct cellres){ 0 };
	}
	closedir(d);
	return oom ? -1 : 0;
}

static void free_results(struct vc_set *v)
{
	for (int k = 0; k < VC_MAX_KERNELS; k++)
		for (int c = 0; c < VC_MAX_CELLS; c++)
			free(v->res[k][c].s);
	free(v);
}

/* Sorted distinct values of a cell field over the cells of one suite. */
int vc_distinct(const struct vc_set *set, enum suite s, int which, unsigned *out)
{
	int n = 0;
	for (int c = 0; c < set->ncells; c++) {
		const struct cellcfg *cc = &set->cells[c];
		if (cc->suite != s)
			continue;
		unsigned v = which == 0 ? cc->cpus : which == 1 ? cc->maxcpus : cc->load;
		int k;
		for (k = 0; k < n && out[k] != v; k++)
			;
		if (k == n && n < VC_MAX_VALS) {
			int j = n++;
			while (j > 0 && out[j - 1] > v) {
				out[j] = out[j - 1];
				j--;
			}
			out[j] = v;
		}
	}
	return n;
}

int vc_find_cell(const struct vc_set *v, enum suite s, unsigned cpus, unsigned maxcpus,
		 unsigned load, const char *rate)
{
	for (int c = 0; c < v->ncells; c++) {
		const struct cellcfg *cc = &v->cells[c];
		if (cc->suite == s && cc->cpus == cpus && cc->maxcpus == maxcpus &&
		    (s != S_READ || cc->load == load) && (s != S_STALE || !strcmp(cc->rate, rate)))
			return c;
	}
	return -1;
}

/* Has kernel k a value of key in any cell of suite s (and, for the read
 * suite, of that maxcpus and load)?  Series without one stay out of the
 * gnuplot data: an all-missing column is a legend entry with no line. */
int vc_has_data(const struct vc_set *v, int k, enum suite s, const char *key, int maxcpus, int load)
{
	for (int c = 0; c < v->ncells; c++)
		if (v->cells[c].suite == s && (maxcpus < 0 || (v->cells[c].maxcpus == (unsigned)maxcpus &&
							       v->cells[c].load == (unsigned)load)) &&
		    !isnan(vc_med(v, k, c, key)))
			return 1;
	return 0;
}

/* "12.3" (us) or "-" into buf, for the tables. */
const char *vc_us(double ns, char *buf, size_t len)
{
	if (isnan(ns))
		snprintf(buf, len, "-");
	else if (ns >= 1e7)
		snprintf(buf, len, "%.0f", ns / 1e3);
	else
		snprintf(buf, len, "%.1f", ns / 1e3);
	return buf;
}

const char *vc_num(double v, const char *fmt, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, fmt, v);
	return buf;
}

int vc_datset_open(struct datset *ds, const char *dir, const char *script, const char *listvar)
{
	char path[1300];

	*ds = (struct datset){ .dir = dir, .script = script };
	snprintf(path, sizeof path, "%s/%s.vars", dir, script);
	if (!(ds->vars = fopen(path, "we")))
		return -errno;
	fprintf(ds->vars, "%s = \"", listvar);
	return 0;
}

FILE *vc_datset_file(const struct datset *ds, const char *item)
{
	char path[1300];

	snprintf(path, sizeof path, "%s/%s-%s.dat", ds->dir, ds->script, item);
	return fopen(path, "we");
}

/* An item's file is done: listed when it has data, removed when not. */
void vc_datset_item(struct datset *ds, FILE *d, const char *item, int have)
{
	char path[1300];

	fclose(d);
	if (have) {
		fprintf(ds->vars, "%s%s", ds->n++ ? " " : "", item);
		return;
	}
	snprintf(path, sizeof path, "%s/%s-%s.dat", ds->dir, ds->script, item);
	unlink(path);
}

void vc_datset_close(struct datset *ds, int ncols)
{
	fprintf(ds->vars, "\"\nncols = %d\n", ncols);
	fclose(ds->vars);
}

/* gnuplot, if installed: PNG and SVG next to the data, and the
 * dumb-terminal rendering appended to the text report.  Returns 1 when the
 * PNG was written (the caller lists it). */
static int plot(const char *dir, const char *script, FILE *t)
{
	static const char *const terms[] = { "png", "svg", "dumb" };
	char gp[1400], vars[1400], log[1400], expr[1600];
	int made = 0;

	snprintf(gp, sizeof gp, "%s/plots/%s.gp", pnb_topdir(), script);
	snprintf(vars, sizeof vars, "%s/%s.vars", dir, script);
	if (access(gp, R_OK) || access(vars, R_OK))
		return 0;
	snprintf(log, sizeof log, "%s/gnuplot.log", dir);
	for (size_t i = 0; i < sizeof terms / sizeof *terms; i++) {
		static char dumb[1 << 16];
		char *const argv[] = { "gnuplot", "-e", expr, gp, NULL };
		int dumb_term = !strcmp(terms[i], "dumb");

		snprintf(expr, sizeof expr, "dir='%s'; term='%s'", dir, terms[i]);
		dumb[0] = 0;
		int rc = pnb_spawn(argv, &(struct pnb_spawn){ .log = log, .out = dumb_term ? dumb : NULL,
							       .outlen = sizeof dumb });
		if (rc == 127 || rc == -ENOENT) {
			fprintf(t, "\n(gnuplot not installed: no plot for %s)\n", script);
			return 0;
		}
		if (dumb_term) {
			fflush(t);
			fputs(dumb, t);
			continue;
		}
		if (rc)
			pnb_err("vmstat-cost: gnuplot %s failed on %s (see %s)", terms[i], script, log);
		snprintf(vars, sizeof vars, "%s/%s.%s", dir, script, terms[i]);
		made |= !access(vars, R_OK) && !strcmp(terms[i], "png");
	}
	return made;
}

/* The text report's head: the set, the accelerator, runs per kernel. */
static void report_head(const struct vc_set *v, FILE *t, const char *out)
{
	fprintf(t, "pnbench vmstat-cost: %s\n", out);
	fprintf(t, "accelerator: %s (meta.json guest.accel of each cell)\n",
		v->accels_seen[0] ? v->accels_seen : "unknown (no meta.json read yet)");
	fprintf(t, "Under TCG every timing is emulated: compare shapes across CPU counts, not\n"
		   "absolute numbers (docs/vmstat-cost.md); only thread=multi runs vCPUs in\n"
		   "parallel, which the SMP sweep needs.\n");
	for (int k = 0; k < v->nkern; k++) {
		int reps = 0, inc = 0;
		for (int c = 0; c < v->ncells; c++) {
			reps += v->res[k][c].reps;
			inc += v->res[k][c].incomplete;
		}
		fprintf(t, "kernel %s: %d complete runs%s", v->kern[k], reps, inc ? "" : "\n");
		if (inc)
			fprintf(t, ", %d incomplete (left out)\n", inc);
	}
}

static int report_set(const struct vc_set *v, const char *out)
{
	char dir[1200], path[1300];
	FILE *t;

	if (!v->ncells) {
		pnb_err("vmstat-cost: %s/cells.tsv is missing or empty: not a vmstat-cost result set", out);
		return PNB_EXIT_FAIL;
	}
	snprintf(dir, sizeof dir, "%s/report", out);
	if (pnb_mkdir_all(dir, 0755)) {
		pnb_err("vmstat-cost: cannot create %s: %s", dir, strerror(errno));
		return PNB_EXIT_FAIL;
	}
	snprintf(path, sizeof path, "%s/gnuplot.log", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/report.txt", dir);
	if (!(t = fopen(path, "we"))) {
		pnb_err("vmstat-cost: cannot write %s: %s", path, strerror(errno));
		return PNB_EXIT_FAIL;
	}
	report_head(v, t, out);
	vc_report_read(v, t, dir);
	vc_report_stale(v, t, dir);
	vc_report_mech(v, t, dir);
	static const char *const scripts[] = { "vmstat-cost", "staleness", "mechanism-cost" };
	int made[3];
	for (int i = 0; i < 3; i++)
		made[i] = plot(dir, scripts[i], t);
	fclose(t);

	/* The tables on standard output too: what the user asked for. */
	if ((t = fopen(path, "re"))) {
		char line[1024];
		while (fgets(line, sizeof line, t))
			fputs(line, stdout);
		fclose(t);
	}
	for (int i = 0; i < 3; i++)
		if (made[i])
			printf("plot: %s/%s.png (and .svg)\n", dir, scripts[i]);
	printf("report: %s (gnuplot data in %s)\n", path, dir);
	return 0;
}


int vc_report(const char *out)
{
	struct vc_set *v = calloc(1, sizeof *v);
	int rc;

	if (!v || load_results(v, out)) {
		pnb_err("vmstat-cost: out of memory reading %s", out);
		if (v)
			free_results(v);
		return PNB_EXIT_FAIL;
	}
	rc = report_set(v, out);
	free_results(v);
	return rc;
}
