/* pnbench report DIR: a plain-text report for mail (tables <= 80 columns,
 * gnuplot dumb plots), PNG and SVG pictures from the gnuplot scripts in
 * plots/, and an index.md linking every table and figure with the command
 * that regenerates it. */
#include "analysis.h"
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


struct figure {
	char name[256];
	char caption[512];
	char script[32];
	int png_ok, svg_ok;
	char dumb[PATH_MAX];	/* dumb output file, "" when none */
	int not_in_mail;	/* index.md only: report.txt shows one run a cell */
};

struct rep {
	const struct an_set *s;
	const char *dir_arg, *out, *against, *only;
	char prog[PATH_MAX];	/* how to call pnbench in printed commands */
	char plots[PATH_MAX];
	char png_term[16];
	int gnuplot;		/* usable */
	char no_plot_why[256];
	struct figure *fig;
	int nfig, capfig;
	int failures;
	int only_found;
};

static void sanitize(char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
			*s = '_';
}

/* Run argv with stdout+stderr appended to log; exit status or -errno. */
static int run_logged(char *const argv[], const char *log)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int nul = open("/dev/null", O_RDONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (nul >= 0)
			dup2(nul, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static long file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) ? -1 : (long)st.st_size;
}

/* Which terminals this gnuplot has: pngcairo, else png (libgd); svg. */
static void probe_gnuplot(struct rep *R)
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

static FILE *open_out(struct rep *R, const char *name)
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

static void timeline(struct rep *R, const struct an_run *r, int in_mail)
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
static void kill_timeline(struct rep *R, const struct an_run *r, int in_mail)
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

static void cell_dist(const struct an_cell *c, const struct an_key *k, enum an_metric m,
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

/* A per-mechanism series figure: the cells that share one scenario (or one
 * kernel), one series per cell, one row per mechanism/level. */
struct series_fig {
	const char *script;	/* plots/<script>.gp, also the figure name's prefix */
	int by_kernel;		/* cells share a scenario; series are kernels */
	int needs_oom;		/* only when some run of these cells ended in a kill */
	int note;		/* "missed in k of N runs" column */
	enum an_metric metric;
	const char *what;	/* the TSV's unit */
	const char *title;	/* printf format: the shared scenario or kernel */
	const char *caption;	/* printf format: the shared name, then the command */
};

static const struct series_fig lead_fig = {
	.script = "lead", .by_kernel = 1, .needs_oom = 1, .note = 1,
	.metric = AN_M_LEAD_RANKED, .what = "lead time s",
	.title = "%s: lead time before the OOM kill, per mechanism",
	.caption = "%s: how long before the OOM kill each mechanism/level first spoke, per "
		   "kernel (median over runs, bar from the shortest to the longest; a bar "
		   "reaching 0: some run missed the kill; 'missed': most runs did). "
		   "Regenerate: `%s`",
};

static const struct series_fig fp_fig = {
	.script = "fp", .by_kernel = 0, .needs_oom = 0, .note = 0,
	.metric = AN_M_FP_RATE, .what = "false positives per minute",
	.title = "%s: false positives per minute, per workload",
	.caption = "Kernel %s: notifications per minute at a level whose claim the ground "
		   "truth contradicts (docs/metrics.md 3.4), per mechanism/level and workload "
		   "(median over runs, bar from min to max). Regenerate: `%s`",
};

static void series_figure(struct rep *R, const struct series_fig *F, const char *shared)
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

/* ---- tables -------------------------------------------------------------- */

static void fmt(char *b, size_t n, double v, int prec)
{
	if (isnan(v))
		snprintf(b, n, "-");
	else if (isinf(v))
		snprintf(b, n, "%s", v < 0 ? "missed" : "inf");
	else
		snprintf(b, n, "%.*f", prec, v);
}

/* Text wrapped at 79 columns with an indent for continuation lines. */
static void wrap(FILE *f, const char *first, const char *text, int indent)
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
static void report_conditions(FILE *f, const struct an_set *s, const char *const *kern, int nkern)
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

static void table_runs(FILE *f, const struct an_set *s)
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

static void table_cell(FILE *f, const struct an_cell *c, int num)
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
	/* With swap: every mechanism's first word against the swap-out onset
	 * (probe swapout), the moment a zram machine starts paying. */
	int swapped = 0;
	for (int k = 0; k < c->nruns; k++)
		swapped += c->runs[k]->t_swapout != AN_NONE;
	if (swapped) {
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
	free(keys);
}

/* ---- the command --------------------------------------------------------- */

static void report_usage(FILE *f)
{
	fprintf(f,
		"usage: pnbench report DIR [--against BASE] [--out OUTDIR] [--only FIGURE]\n"
		"\n"
		"Write OUTDIR (default DIR/report): report.txt (plain text for mail:\n"
		"tables <= 80 columns and gnuplot dumb plots), PNG and SVG figures made by\n"
		"plots/*.gp from TSV files next to them, and index.md linking all of it.\n"
		"  --against BASE  add the comparison with BASE (as pnbench compare)\n"
		"  --only FIGURE   regenerate one figure (its name in index.md) and stop\n"
		"  -q, --quiet     do not print report.txt on stdout\n");
}

static void append_file(FILE *to, const char *path)
{
	FILE *f = fopen(path, "re");
	char buf[4096];
	size_t n;

	if (!f)
		return;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, n, to);
	fclose(f);
}

/* The run of a cell to show in mail: the one with the median OOM time. */
static const struct an_run *median_run(const struct an_cell *c)
{
	struct pnb_dist d;
	const struct an_run *best = c->runs[0];
	double bestd = INFINITY;

	cell_dist(c, NULL, AN_M_TIME_TO_OOM, &d);
	for (int i = 0; i < c->nruns; i++) {
		const struct an_run *r = c->runs[i];
		double dd = d.n ? fabs(r->time_to_oom_s - d.median) : (r->incomplete ? 1 : 0);
		if (isnan(dd))
			dd = INFINITY;
		if (dd < bestd) {
			bestd = dd;
			best = r;
		}
	}
	return best;
}

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "against", required_argument, NULL, 'a' },
		{ "out", required_argument, NULL, 'o' },
		{ "only", required_argument, NULL, 'O' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rep R = { 0 };
	struct an_set s, base;
	int have_base = 0, quiet = 0, c, cmp_rc = 0;
	char err[1024], outbuf[PATH_MAX], cwd[PATH_MAX], cmpmsg[1200] = "";
	const char *scn[256];
	int nscn = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "a:o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'a': R.against = optarg; break;
		case 'o': R.out = optarg; break;
		case 'O': R.only = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': report_usage(stdout); return 0;
		default: report_usage(stderr); return PNB_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		pnb_err("report: want one result directory (got %d)", argc - optind);
		report_usage(stderr);
		return PNB_EXIT_USAGE;
	}
	R.dir_arg = argv[optind];
	if (an_set_load(R.dir_arg, &s, err, sizeof err)) {
		pnb_err("report: %s", err);
		return PNB_EXIT_USAGE;
	}
	R.s = &s;
	if (!R.out) {
		snprintf(outbuf, sizeof outbuf, "%s/report", s.path);
		R.out = outbuf;
	}
	int e = pnb_mkdir_all(R.out, 0755);
	if (e) {
		pnb_err("report: cannot create %s: %s", R.out, strerror(-e));
		an_set_free(&s);
		return PNB_EXIT_FAIL;
	}
	/* Printed commands: bin/pnbench from the top directory, else absolute. */
	if (getcwd(cwd, sizeof cwd) && !strcmp(cwd, pnb_topdir()))
		snprintf(R.prog, sizeof R.prog, "bin/pnbench");
	else
		snprintf(R.prog, sizeof R.prog, "%s/pnbench", pnb_bindir());
	snprintf(R.plots, sizeof R.plots, "%s/plots", pnb_topdir());
	probe_gnuplot(&R);
	if (R.gnuplot) {
		char p[PATH_MAX + 32];
		snprintf(p, sizeof p, "%s/gnuplot.log", R.out);
		unlink(p);
	}

	for (int i = 0; i < s.ncells; i++) {
		int dup = 0;
		for (int k = 0; k < nscn; k++)
			dup |= !strcmp(scn[k], s.cells[i].scenario);
		if (!dup && nscn < 256)
			scn[nscn++] = s.cells[i].scenario;
	}
	const char *kern[64];
	int nkern = an_set_kernels(&s, kern, 64);

	/* Figures first: the text embeds their dumb versions. */
	for (int i = 0; i < nscn; i++)
		series_figure(&R, &lead_fig, scn[i]);
	for (int i = 0; i < nkern; i++)
		series_figure(&R, &fp_fig, kern[i]);
	for (int i = 0; i < s.ncells; i++) {
		const struct an_run *m = median_run(&s.cells[i]);
		for (int k = 0; k < s.cells[i].nruns; k++)
			timeline(&R, s.cells[i].runs[k], s.cells[i].runs[k] == m);
		for (int k = 0; k < s.cells[i].nruns; k++)
			kill_timeline(&R, s.cells[i].runs[k], s.cells[i].runs[k] == m);
	}

	if (R.only) {
		int rc = 0;
		if (!R.only_found) {
			pnb_err("report: no figure '%s' in %s (index.md lists them)", R.only, R.dir_arg);
			rc = PNB_EXIT_USAGE;
		} else if (!R.gnuplot) {
			pnb_err("report: %s", R.no_plot_why);
			rc = PNB_EXIT_FAIL;
		} else {
			rc = R.failures ? PNB_EXIT_FAIL : 0;
			if (!rc && !quiet)
				printf("report: regenerated %s/%s.{png,svg,txt}\n", R.out, R.only);
		}
		free(R.fig);
		an_set_free(&s);
		return rc;
	}

	if (R.against) {
		struct stat st;
		/* A missing baseline is the normal first run (make bench before
		 * one was committed): say so in one line and report anyway. */
		if (stat(R.against, &st) && errno == ENOENT) {
			snprintf(cmpmsg, sizeof cmpmsg, "no baseline at %s yet: report without "
				 "comparison", R.against);
			pnb_err("report: %s", cmpmsg);
		} else if (an_set_load(R.against, &base, err, sizeof err)) {
			snprintf(cmpmsg, sizeof cmpmsg, "comparison with %s impossible: %s", R.against, err);
			pnb_err("report: %s", cmpmsg);
		} else {
			have_base = 1;
		}
	}

	/* Tables, each in its own file too. */
	FILE *t1 = open_out(&R, "table-runs.txt");
	if (t1) {
		table_runs(t1, &s);
		fclose(t1);
	}
	for (int i = 0; i < s.ncells; i++) {
		char name[512];
		snprintf(name, sizeof name, "table-%s-%s.txt", s.cells[i].kernel, s.cells[i].scenario);
		sanitize(name);
		FILE *t = open_out(&R, name);
		if (t) {
			table_cell(t, &s.cells[i], i + 2);
			fclose(t);
		}
	}
	/* Killer outcomes (issue 11): one table over every cell that has them. */
	int have_killers = 0;
	{
		FILE *t = open_out(&R, "table-killers.txt");
		if (t) {
			have_killers = an_report_killers(t, &s, s.ncells + 2) > 0;
			fclose(t);
		}
	}
	if (have_base) {
		FILE *t = open_out(&R, "compare.txt");
		struct cmp_opts o;
		cmp_opts_default(&o);
		if (t) {
			cmp_rc = pnb_compare(&base, &s, &o, t, err, sizeof err);
			if (cmp_rc < 0) {
				fprintf(t, "comparison refused: %s\n", err);
				pnb_err("report: against %s: comparison refused: %s", R.against, err);
			}
			fclose(t);
		}
	}

	/* report.txt */
	FILE *f = open_out(&R, "report.txt");
	if (f) {
		char p[PATH_MAX + 300];
		int complete = 0, minrep = 1 << 30, maxrep = 0;
		for (int i = 0; i < s.nruns; i++)
			complete += !s.runs[i].incomplete;
		for (int i = 0; i < s.ncells; i++) {
			if (s.cells[i].nruns < minrep)
				minrep = s.cells[i].nruns;
			if (s.cells[i].nruns > maxrep)
				maxrep = s.cells[i].nruns;
		}
		fprintf(f, "pnbench report: %s\n\n", R.dir_arg);
		{
			char kl[2048] = "";
			for (int i = 0; i < nkern; i++) {
				const char *rel = "";
				for (int k = 0; k < s.nruns; k++)
					if (!strcmp(s.runs[k].kernel, kern[i]) && s.runs[k].release[0]) {
						rel = s.runs[k].release;
						break;
					}
				snprintf(kl + strlen(kl), sizeof kl - strlen(kl), "%s%s (%s)", i ? ", " : "",
					 kern[i], rel[0] ? rel : "release unknown");
			}
			wrap(f, "kernels:   ", kl, 11);
		}
		{
			char sl[4096] = "";
			for (int i = 0; i < nscn; i++)
				snprintf(sl + strlen(sl), sizeof sl - strlen(sl), "%s%s", i ? ", " : "", scn[i]);
			wrap(f, "scenarios: ", sl, 11);
		}
		if (minrep == maxrep)
			fprintf(f, "reps:      %d per kernel and scenario; %d runs, %d complete\n", minrep,
				s.nruns, complete);
		else
			fprintf(f, "reps:      %d to %d per kernel and scenario; %d runs, %d complete\n",
				minrep, maxrep, s.nruns, complete);
		report_conditions(f, &s, kern, nkern);
		fprintf(f, "harness:   runs by pnbench %s, report by pnbench %s\n",
			s.nruns ? s.runs[0].git_rev : "?", pnb_git_rev());
		/* The commands that made the runs, each once. */
		int shown = 0;
		for (int i = 0; i < s.nruns; i++) {
			int dup = 0;
			if (!s.runs[i].command)
				continue;
			for (int k = 0; k < i; k++)
				dup |= s.runs[k].command && !strcmp(s.runs[k].command, s.runs[i].command);
			if (dup)
				continue;
			char line[8192];
			snprintf(line, sizeof line, "bin/pnbench %s", s.runs[i].command);
			wrap(f, shown ? "           " : "runs made: ", line, 13);
			shown++;
		}
		if (!shown)
			fprintf(f, "runs made: (no meta.json records the command)\n");
		{
			char line[PATH_MAX * 3];
			snprintf(line, sizeof line, "%s report %s --out %s%s%s", R.prog, R.dir_arg, R.out,
				 R.against ? " --against " : "", R.against ? R.against : "");
			wrap(f, "report:    ", line, 13);
		}
		fprintf(f, "metrics:   docs/metrics.md; every figure is the median over runs\n"
			   "           with its spread; 'missed' = spoke only after the OOM kill\n"
			   "           or never.\n\n");
		snprintf(p, sizeof p, "%s/table-runs.txt", R.out);
		append_file(f, p);
		for (int i = 0; i < s.ncells; i++) {
			char name[512];
			snprintf(name, sizeof name, "table-%s-%s.txt", s.cells[i].kernel, s.cells[i].scenario);
			sanitize(name);
			snprintf(p, sizeof p, "%s/%s", R.out, name);
			append_file(f, p);
		}
		if (have_killers) {
			snprintf(p, sizeof p, "%s/table-killers.txt", R.out);
			append_file(f, p);
		}
		if (R.against) {
			fprintf(f, "\nComparison with %s\n\n", R.against);
			if (have_base) {
				snprintf(p, sizeof p, "%s/compare.txt", R.out);
				append_file(f, p);
			} else {
				fprintf(f, "%s\n", cmpmsg);
			}
		}
		if (!R.gnuplot) {
			fprintf(f, "\nPictures: %s\n", R.no_plot_why);
		} else {
			char intro[PATH_MAX + 80];
			fprintf(f, "\n");
			snprintf(intro, sizeof intro, "Plots (the PNG/SVG versions and their data "
				 "are listed in %s/index.md)", R.out);
			wrap(f, "", intro, 4);
			/* R.fig is in report order: lead per scenario, fp per kernel,
			 * timelines per cell (the text shows the median run's). */
			for (int i = 0, num = 1; i < R.nfig; i++) {
				const struct figure *fg = &R.fig[i];
				char first[64];
				if (!fg->dumb[0] || fg->not_in_mail)
					continue;
				fprintf(f, "\n");
				snprintf(first, sizeof first, "Figure %d. ", num++);
				wrap(f, first, fg->caption, 4);
				append_file(f, fg->dumb);
			}
		}
		fclose(f);
	}

	/* index.md */
	FILE *ix = open_out(&R, "index.md");
	if (ix) {
		fprintf(ix, "# pnbench report: %s\n\n", R.dir_arg);
		fprintf(ix, "Regenerate everything: `%s report %s --out %s%s%s`.  Definitions: "
			    "docs/metrics.md.\n\n", R.prog, R.dir_arg, R.out,
			R.against ? " --against " : "", R.against ? R.against : "");
		fprintf(ix, "## Tables\n\n");
		fprintf(ix, "- [report.txt](report.txt): the whole report as plain text for mail "
			    "(tables and ASCII plots)\n");
		fprintf(ix, "- [table-runs.txt](table-runs.txt): runs, time to the OOM kill, "
			    "sanity check, recorder overhead\n");
		for (int i = 0; i < s.ncells; i++) {
			char name[512];
			snprintf(name, sizeof name, "table-%s-%s.txt", s.cells[i].kernel, s.cells[i].scenario);
			sanitize(name);
			fprintf(ix, "- [%s](%s): %s on %s, per mechanism/level\n", name, name,
				s.cells[i].scenario, s.cells[i].kernel);
		}
		if (have_killers)
			fprintf(ix, "- [table-killers.txt](table-killers.txt): killer outcomes per killer, "
				    "workload and kernel\n");
		if (have_base)
			fprintf(ix, "- [compare.txt](compare.txt): comparison with %s\n", R.against);
		fprintf(ix, "\n## Figures\n\n");
		if (!R.gnuplot)
			fprintf(ix, "%s.\n", R.no_plot_why);
		for (int i = 0; i < R.nfig; i++) {
			const struct figure *fg = &R.fig[i];
			fprintf(ix, "### %s\n\n", fg->name);
			if (fg->png_ok)
				fprintf(ix, "![%s](%s.png)\n\n", fg->name, fg->name);
			else
				fprintf(ix, "(no picture: %s)\n\n", R.gnuplot ?
					"no value to plot, or gnuplot failed (see gnuplot.log)" : R.no_plot_why);
			fprintf(ix, "%s\n\n", fg->caption);
			fprintf(ix, "Files:");
			if (fg->png_ok)
				fprintf(ix, " [PNG](%s.png)", fg->name);
			if (fg->svg_ok)
				fprintf(ix, " [SVG](%s.svg)", fg->name);
			if (fg->dumb[0])
				fprintf(ix, " [text](%s.txt)", fg->name);
			fprintf(ix, " [data](%s.tsv) (script: plots/%s.gp)\n\n", fg->name, fg->script);
		}
		fclose(ix);
	}

	if (!quiet) {
		char p[PATH_MAX + 32];
		snprintf(p, sizeof p, "%s/report.txt", R.out);
		append_file(stdout, p);
		printf("\nreport: %s/report.txt, %s/index.md, %d figure%s%s\n", R.out, R.out, R.nfig,
		       R.nfig == 1 ? "" : "s", R.gnuplot ? "" : " (no pictures: see report.txt)");
		if (have_base && cmp_rc >= 0)
			printf("report: against %s: %s\n", R.against, cmp_rc ? "REGRESSION" : "no regression");
	}
	free(R.fig);
	if (have_base)
		an_set_free(&base);
	an_set_free(&s);
	return R.failures ? PNB_EXIT_FAIL : 0;
}
