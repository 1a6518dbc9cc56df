/* pnbench report: the figures (gnuplot scripts in plots/ fed TSV files), and
 * the helpers both figures and tables use. */
#include "spawn.h"
#include "analysis.h"
#include "report.h"
#include "cli.h"
#include "fsutil.h"
#include "log.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>


void sanitize(char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
			*s = '_';
}

/* Run argv with stdout+stderr appended to log; exit status or -errno. */
static int run_logged(char *const argv[], const char *log)
{
	return pnb_spawn(argv, &(struct pnb_spawn){ .log = log });
}

static long file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) ? -1 : (long)st.st_size;
}

/* Which terminals this gnuplot has: pngcairo, else png (libgd); svg. */
void probe_gnuplot(struct rep *R)
{
	char log[PATH_MAX + 32], *buf = NULL;
	size_t len = 0;
	FILE *f;
	char *const argv[] = { "gnuplot", "-e", "set terminal", NULL };

	snprintf(log, sizeof log, "%s/.gnuplot-terminals", R->out);
	unlink(log);
	int rc = run_logged(argv, log);
	if (rc == 127 || rc < 0) {
		snprintf(R->no_plot_why, sizeof R->no_plot_why,
			 "gnuplot not found (install gnuplot-nox): no pictures");
		unlink(log);
		return;
	}
	if ((f = fopen(log, "re"))) {
		if (getdelim(&buf, &len, 0, f) < 0) {
			free(buf);
			buf = NULL;
		}
		fclose(f);
	}
	unlink(log);
	if (!buf) {
		snprintf(R->no_plot_why, sizeof R->no_plot_why, "gnuplot printed no terminal list");
		return;
	}
	if (strstr(buf, " pngcairo "))
		snprintf(R->png_term, sizeof R->png_term, "pngcairo");
	else if (strstr(buf, " png "))
		snprintf(R->png_term, sizeof R->png_term, "png");
	if (!R->png_term[0] || !strstr(buf, " svg ") || !strstr(buf, " dumb ")) {
		snprintf(R->no_plot_why, sizeof R->no_plot_why,
			 "this gnuplot lacks the png, svg or dumb terminal: no pictures");
		R->png_term[0] = 0;
	} else {
		R->gnuplot = 1;
	}
	free(buf);
}

static struct figure *add_figure(struct rep *R, const char *name, const char *script,
				 const char *caption)
{
	if (R->nfig == R->capfig) {
		int nc = R->capfig ? R->capfig * 2 : 16;
		struct figure *f = realloc(R->fig, (size_t)nc * sizeof *f);
		if (!f)
			return NULL;
		R->fig = f;
		R->capfig = nc;
	}
	struct figure *f = &R->fig[R->nfig++];
	memset(f, 0, sizeof *f);
	snprintf(f->name, sizeof f->name, "%s", name);
	snprintf(f->script, sizeof f->script, "%s", script);
	snprintf(f->caption, sizeof f->caption, "%s", caption);
	return f;
}

/* Draw one figure in png, svg and dumb; args follow TERM and OUT. */
static void draw(struct rep *R, struct figure *f, const char *first_arg, char *const rest[])
{
	static const char *const terms[3] = { NULL, "svg", "dumb" };
	static const char *const ext[3] = { "png", "svg", "txt" };
	char script[PATH_MAX + 64], log[PATH_MAX + 32];

	if (!R->gnuplot)
		return;
	snprintf(script, sizeof script, "%s/%s.gp", R->plots, f->script);
	snprintf(log, sizeof log, "%s/gnuplot.log", R->out);
	for (int t = 0; t < 3; t++) {
		char out[PATH_MAX + 300];
		char *argv[32];
		int n = 0;
		snprintf(out, sizeof out, "%s/%s.%s", R->out, f->name, ext[t]);
		unlink(out);
		argv[n++] = "gnuplot";
		argv[n++] = "-c";
		argv[n++] = script;
		argv[n++] = (char *)first_arg;
		argv[n++] = (char *)(t == 0 ? R->png_term : terms[t]);
		argv[n++] = out;
		for (int i = 0; rest[i] && n < 30; i++)
			argv[n++] = rest[i];
		argv[n] = NULL;
		int rc = run_logged(argv, log);
		if (rc || file_size(out) <= 0) {
			pnb_err("report: gnuplot %s.gp for %s.%s failed (status %d; see %s)",
				f->script, f->name, ext[t], rc, log);
			R->failures++;
			continue;
		}
		if (t == 0)
			f->png_ok = 1;
		else if (t == 1)
			f->svg_ok = 1;
		else
			snprintf(f->dumb, sizeof f->dumb, "%s", out);
	}
}

static int wants(const struct rep *R, const char *name)
{
	return !R->only || !strcmp(R->only, name);
}

FILE *open_out(struct rep *R, const char *name)
{
	char p[PATH_MAX + 300];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", R->out, name);
	if (!(f = fopen(p, "we"))) {
		pnb_err("report: cannot write %s: %s", p, strerror(errno));
		R->failures++;
	}
	return f;
}

static void tsv_num(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fputs("\t-", f);
	else
		fprintf(f, "\t%.6g", v);
}

/* ---- figures ------------------------------------------------------------- */

static void regen_cmd(const struct rep *R, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s report %s --out %s --only %s", R->prog, R->dir_arg, R->out, name);
}

void timeline(struct rep *R, const struct an_run *r, int in_mail)
{
	char name[256], prefix[PATH_MAX + 300], p[PATH_MAX + 320], title[512], caption[512];
	char oom[32], rlabel[80], nrows[16], xmax[32], nsamples[32], cmd[1024];
	FILE *f;

	snprintf(name, sizeof name, "timeline-%s-%s-%d", r->kernel, r->scenario, r->rep);
	sanitize(name);
	if (!wants(R, name))
		return;
	R->only_found = 1;
	snprintf(prefix, sizeof prefix, "%s/%s", R->out, name);

	snprintf(p, sizeof p, "%s.tsv", prefix);
	if (!(f = fopen(p, "we")))
		goto fail;
	fprintf(f, "# t_s\tavailable_MiB\tcache_MiB\tanon_MiB\ttotal_MiB  (%s, domain %s)\n",
		r->dir, r->domain);
	for (size_t i = 0; i < r->nsamples; i++) {
		const struct an_sample *s = &r->samples[i];
		fprintf(f, "%.3f", (double)(s->t - r->t_start) / 1e9);
		tsv_num(f, s->available_kB / 1024);
		tsv_num(f, s->cache_kB / 1024);
		tsv_num(f, s->anon_kB / 1024);
		tsv_num(f, s->total_kB / 1024);
		fputc('\n', f);
	}
	fclose(f);

	/* Reclaim: tracefs entries per second when recorded, else the
	 * machine-wide vmstat pgscan rate. */
	snprintf(p, sizeof p, "%s-reclaim.tsv", prefix);
	if (!(f = fopen(p, "we")))
		goto fail;
	snprintf(rlabel, sizeof rlabel, "none");
	if (r->nrates) {
		snprintf(rlabel, sizeof rlabel, "reclaim entries/s (tracefs)");
		fprintf(f, "# t_s\treclaim_entries_per_s (direct + memcg, tracefs)\n");
		for (size_t i = 0; i < r->nrates; i++)
			fprintf(f, "%.3f\t%.6g\n", (double)(r->rates[i].t - r->t_start) / 1e9,
				r->rates[i].count / r->rates[i].bucket_s);
	} else {
		int any = 0;
		fprintf(f, "# t_s\tpgscan_pages_per_s (vmstat pgscan_kswapd + pgscan_direct)\n");
		for (size_t i = 1; i < r->nsamples; i++) {
			const struct an_sample *a = &r->samples[i - 1], *b = &r->samples[i];
			if (isnan(a->pgscan) || isnan(b->pgscan) || b->t <= a->t)
				continue;
			fprintf(f, "%.3f\t%.6g\n", (double)(b->t - r->t_start) / 1e9,
				(b->pgscan - a->pgscan) / ((double)(b->t - a->t) / 1e9));
			any = 1;
		}
		if (any)
			snprintf(rlabel, sizeof rlabel, "pages scanned/s (vmstat)");
	}
	fclose(f);

	snprintf(p, sizeof p, "%s-rows.tsv", prefix);
	if (!(f = fopen(p, "we")))
		goto fail;
	fprintf(f, "# row\tmechanism/level\n");
	/* A row that says why the panel is empty. */
	if (!r->ngroups)
		fprintf(f, "1\t(no mechanism armed or heard)\n");
	for (int i = 0; i < r->ngroups; i++) {
		struct an_key k = { .claim = r->g[i].claim };
		char label[AN_PROBE_LEN + AN_LEVEL_LEN + 2];
		snprintf(k.probe, sizeof k.probe, "%s", r->g[i].probe);
		snprintf(k.level, sizeof k.level, "%s", r->g[i].level);
		an_key_label(&k, label, sizeof label);
		fprintf(f, "%d\t%s\n", i + 1, label);
	}
	fclose(f);

	snprintf(p, sizeof p, "%s-marks.tsv", prefix);
	if (!(f = fopen(p, "we")))
		goto fail;
	fprintf(f, "# t_s\trow\n");
	for (size_t i = 0; i < r->nmarks; i++)
		fprintf(f, "%.6f\t%d\n", (double)(r->marks[i].t - r->t_start) / 1e9, r->marks[i].group + 1);
	/* gnuplot refuses an empty file: a mark outside the x range. */
	if (!r->nmarks)
		fprintf(f, "-1\t0\n");
	fclose(f);

	if (r->t_oom != AN_NONE)
		snprintf(oom, sizeof oom, "%.6f", (double)(r->t_oom - r->t_start) / 1e9);
	else
		snprintf(oom, sizeof oom, "none");
	snprintf(nrows, sizeof nrows, "%d", r->ngroups > 0 ? r->ngroups : 1);
	snprintf(xmax, sizeof xmax, "%.3f", r->run_s > 0 ? r->run_s : 1);
	snprintf(nsamples, sizeof nsamples, "%zu", r->nsamples);
	snprintf(title, sizeof title, "%s on %s, run %d%s: memory, reclaim and notifications",
		 r->scenario, r->kernel, r->rep, r->incomplete ? " (INCOMPLETE)" : "");
	regen_cmd(R, name, cmd, sizeof cmd);
	snprintf(caption, sizeof caption,
		 "%s on %s, run %d: available memory, page cache and anonymous memory of the "
		 "domain (%s) and the reclaim rate over time; below, one row per "
		 "mechanism/level with a mark per notification; dashed red line: OOM kill. "
		 "%sRegenerate: `%s`", r->scenario, r->kernel, r->rep, r->domain,
		 r->nsamples ? "" : "This run has no samples: the memory panel is empty. ", cmd);
	struct figure *fig = add_figure(R, name, "timeline", caption);
	if (!fig)
		goto fail;
	fig->not_in_mail = !in_mail;
	char *rest[] = { title, oom, rlabel, nrows, xmax, nsamples, NULL };
	draw(R, fig, prefix, rest);
	return;
fail:
	pnb_err("report: writing %s: %s", p, strerror(errno));
	R->failures++;
}

/* A killer run (issue 11): the memory curve with every kill on it. */
void kill_timeline(struct rep *R, const struct an_run *r, int in_mail)
{
	const struct an_outcome *o = r->outcome;
	char name[256], prefix[PATH_MAX + 300], p[PATH_MAX + 320], title[512], caption[700];
	char xmax[32], nsamples[32], cmd[1024];
	FILE *f;
	int n = 0;

	if (!o)
		return;
	snprintf(name, sizeof name, "kills-%s-%s-%d", r->kernel, r->scenario, r->rep);
	sanitize(name);
	if (!wants(R, name))
		return;
	R->only_found = 1;
	snprintf(prefix, sizeof prefix, "%s/%s", R->out, name);
	snprintf(p, sizeof p, "%s.tsv", prefix);
	if (!(f = fopen(p, "we")))
		goto fail;
	fprintf(f, "# t_s\tavailable_MiB\tanon_MiB\tcache_MiB  (%s)\n", r->dir);
	for (size_t i = 0; i < r->nsamples; i++) {
		const struct an_sample *s = &r->samples[i];
		fprintf(f, "%.3f", (double)(s->t - r->t_start) / 1e9);
		tsv_num(f, s->available_kB / 1024);
		tsv_num(f, s->anon_kB / 1024);
		tsv_num(f, s->cache_kB / 1024);
		fputc('\n', f);
	}
	fclose(f);
	snprintf(p, sizeof p, "%s-kills.tsv", prefix);
	if (!(f = fopen(p, "we")))
		goto fail;
	fprintf(f, "# t_s\tavailable_MiB\tadj\tkind (1 killer, 2 kernel OOM)\n");
	for (int i = 0; i < o->nkills; i++) {
		const struct an_kill *k = &o->kills[i];
		fprintf(f, "%.6f\t%.3f\t%d\t1\n", (double)(k->t_signal - r->t_start) / 1e9,
			k->avail_before_kB / 1024, k->adj);
		n++;
	}
	/* Kernel kills at the sample MemAvailable of their time. */
	for (int i = 0; i < o->nkernel && i < AN_OUTCOME_MAX_VICTIMS; i++) {
		double av = NAN;
		for (size_t k = 0; k < r->nsamples && r->samples[k].t <= o->kernel_t[i]; k++)
			av = r->samples[k].available_kB;
		fprintf(f, "%.6f", (double)(o->kernel_t[i] - r->t_start) / 1e9);
		tsv_num(f, av / 1024);
		fprintf(f, "\t%d\t2\n", o->kernel_adj[i]);
		n++;
	}
	/* gnuplot dies on a series with no point at all (labels over
	 * nothing): one point per kind, outside the x range. */
	fprintf(f, "-1\t0\t0\t1\n-1\t0\t0\t2\n");
	(void)n;
	fclose(f);
	snprintf(xmax, sizeof xmax, "%.3f", r->run_s > 0 ? r->run_s : 1);
	snprintf(nsamples, sizeof nsamples, "%zu", r->nsamples);
	snprintf(title, sizeof title, "%s on %s, run %d: killer %s, %d killer kill%s, %d kernel OOM kill%s",
		 r->scenario, r->kernel, r->rep, o->killer, o->daemon_kills, o->daemon_kills == 1 ? "" : "s",
		 o->kernel_kills, o->kernel_kills == 1 ? "" : "s");
	regen_cmd(R, name, cmd, sizeof cmd);
	snprintf(caption, sizeof caption,
		 "%s on %s, run %d: MemAvailable of the domain (%s) with the killer's kills (%s; "
		 "triangles at the MemAvailable it decided on, labelled with the victim's adj) and "
		 "the kernel OOM killer's (crosses). Regenerate: `%s`", r->scenario, r->kernel, r->rep,
		 r->domain, o->killer, cmd);
	struct figure *fig = add_figure(R, name, "kills", caption);
	if (!fig)
		goto fail;
	fig->not_in_mail = !in_mail;
	char *rest[] = { title, xmax, nsamples, NULL };
	draw(R, fig, prefix, rest);
	return;
fail:
	pnb_err("report: writing %s: %s", p, strerror(errno));
	R->failures++;
}

void cell_dist(const struct an_cell *c, const struct an_key *k, enum an_metric m,
		      struct pnb_dist *d)
{
	double v[c->nruns + 1];

	for (int i = 0; i < c->nruns; i++)
		v[i] = an_run_value(c->runs[i], k, m);
	pnb_dist_compute(v, (size_t)c->nruns, d);
}

/* One row per key, one series per cell: median min max of metric m; with
 * note, a fourth column per series, "missed in k of N runs" where the median
 * is a miss (the plot prints it where no point can be). */
static int series_tsv(const char *path, const struct an_cell *const *cells, int n,
		      const struct an_key *keys, int nk, enum an_metric m, const char *what,
		      int note)
{
	FILE *f = fopen(path, "we");
	int any = 0;

	if (!f)
		return -errno;
	fprintf(f, "# row\tmechanism/level");
	for (int i = 0; i < n; i++)
		fprintf(f, "\t%s %s median\tmin\tmax%s", cells[i]->kernel, cells[i]->scenario,
			note ? "\tnote" : "");
	fprintf(f, "   (%s)\n", what);
	for (int a = 0; a < nk; a++) {
		char label[AN_PROBE_LEN + AN_LEVEL_LEN + 2];
		an_key_label(&keys[a], label, sizeof label);
		fprintf(f, "%d\t%s", a + 1, label);
		for (int i = 0; i < n; i++) {
			struct pnb_dist d;
			cell_dist(cells[i], &keys[a], m, &d);
			/* A missed run (-inf) pulls the bar down to 0 s. */
			if (isinf(d.min) && d.min < 0)
				d.min = 0;
			tsv_num(f, d.median);
			tsv_num(f, d.min);
			tsv_num(f, d.max);
			if (note) {
				struct an_key_counts kc;
				an_key_counts(cells[i], &keys[a], &kc);
				if (isinf(d.median) && d.median < 0)
					fprintf(f, "\tmissed in %d of %d runs", kc.missed, kc.oom_runs);
				else
					fputs("\t\"\"", f);
			}
			any |= d.n > 0 && !isinf(d.median);
		}
		fputc('\n', f);
	}
	fclose(f);
	return any;
}

/* After a series TSV: count a write error (-1), else the script's
 * arguments: the cells' kernel (or scenario) names, their count, the rows. */
static int series_written(struct rep *R, const char *tsv, int any, const struct an_cell *const *cells,
			  int n, int by_kernel, char *names, size_t len, char nser[16], char nrows[16],
			  int nk)
{
	if (any < 0) {
		pnb_err("report: writing %s: %s", tsv, strerror(-any));
		R->failures++;
		return -1;
	}
	names[0] = 0;
	for (int i = 0; i < n; i++)
		snprintf(names + strlen(names), len - strlen(names), "%s%s", i ? " " : "",
			 by_kernel ? cells[i]->kernel : cells[i]->scenario);
	snprintf(nser, 16, "%d", n);
	snprintf(nrows, 16, "%d", nk);
	return 0;
}

const struct series_fig lead_fig = {
	.script = "lead", .by_kernel = 1, .needs_oom = 1, .note = 1,
	.metric = AN_M_LEAD_RANKED, .what = "lead time s",
	.title = "%s: lead time before the OOM kill, per mechanism",
	.caption = "%s: how long before the OOM kill each mechanism/level first spoke, per "
		   "kernel (median over runs, bar from the shortest to the longest; a bar "
		   "reaching 0: some run missed the kill; 'missed': most runs did). "
		   "Regenerate: `%s`",
};

const struct series_fig fp_fig = {
	.script = "fp", .by_kernel = 0, .needs_oom = 0, .note = 0,
	.metric = AN_M_FP_RATE, .what = "false positives per minute",
	.title = "%s: false positives per minute, per workload",
	.caption = "Kernel %s: notifications per minute at a level whose claim the ground "
		   "truth contradicts (docs/metrics.md 3.4), per mechanism/level and workload "
		   "(median over runs, bar from min to max). Regenerate: `%s`",
};

void series_figure(struct rep *R, const struct series_fig *F, const char *shared)
{
	const struct an_set *s = R->s;
	const struct an_cell *cells[64];
	char name[256], tsv[PATH_MAX + 300], title[256], caption[1024], cmd[1024];
	char nser[16], names[2048] = "", nrows[16];
	struct an_key *keys = NULL;
	int n = 0, nk, oom = 0;

	for (int i = 0; i < s->ncells && n < 64; i++) {
		const struct an_cell *c = &s->cells[i];
		if (strcmp(F->by_kernel ? c->scenario : c->kernel, shared))
			continue;
		cells[n++] = c;
		for (int k = 0; k < c->nruns; k++)
			oom += c->runs[k]->t_oom != AN_NONE;
	}
	snprintf(name, sizeof name, "%s-%s", F->script, shared);
	sanitize(name);
	if ((F->needs_oom && !oom) || !wants(R, name))
		return;
	R->only_found = 1;
	if ((nk = an_cells_keys(cells, n, &keys)) <= 0) {
		free(keys);
		return;
	}
	snprintf(tsv, sizeof tsv, "%s/%s.tsv", R->out, name);
	int any = series_tsv(tsv, cells, n, keys, nk, F->metric, F->what, F->note);
	free(keys);
	if (series_written(R, tsv, any, cells, n, F->by_kernel, names, sizeof names, nser, nrows,
			   nk))
		return;
	snprintf(title, sizeof title, F->title, shared);
	regen_cmd(R, name, cmd, sizeof cmd);
	snprintf(caption, sizeof caption, F->caption, shared, cmd);
	struct figure *fig = add_figure(R, name, F->script, caption);
	/* Nothing to draw (no lead before any kill, say): the table says why. */
	if (!fig || !any)
		return;
	char *rest[] = { title, nser, names, nrows, NULL };
	draw(R, fig, tsv, rest);
}

