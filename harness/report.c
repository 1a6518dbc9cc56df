/* pnbench report DIR: a plain-text report for mail (tables <= 80 columns,
 * gnuplot dumb plots), PNG and SVG pictures from the gnuplot scripts in
 * plots/, and an index.md linking every table and figure with the command
 * that regenerates it. */
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

/* One report's state, from the options to the last file. */
struct report_ctx {
	struct rep R;
	struct an_set s, base;
	int have_base, have_killers, quiet, cmp_rc;
	char cmpmsg[1200];
	char outbuf[PATH_MAX];
	const char *scn[256];
	int nscn;
	const char *kern[64];
	int nkern;
};

/* 0, an exit code after a message, or -1 for --help. */
static int parse_args(int argc, char **argv, struct report_ctx *X)
{
	static const struct option opts[] = {
		{ "against", required_argument, NULL, 'a' },
		{ "out", required_argument, NULL, 'o' },
		{ "only", required_argument, NULL, 'O' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "a:o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'a': X->R.against = optarg; break;
		case 'o': X->R.out = optarg; break;
		case 'O': X->R.only = optarg; break;
		case 'q': X->quiet = 1; break;
		case 'h': report_usage(stdout); return -1;
		default: report_usage(stderr); return PNB_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		pnb_err("report: want one result directory (got %d)", argc - optind);
		report_usage(stderr);
		return PNB_EXIT_USAGE;
	}
	X->R.dir_arg = argv[optind];
	return 0;
}

/* The output directory, how printed commands call pnbench, gnuplot, and
 * the set's scenarios and kernels in order. */
static int setup(struct report_ctx *X)
{
	struct rep *R = &X->R;
	char cwd[PATH_MAX];

	if (!R->out) {
		snprintf(X->outbuf, sizeof X->outbuf, "%s/report", X->s.path);
		R->out = X->outbuf;
	}
	int e = pnb_mkdir_all(R->out, 0755);
	if (e) {
		pnb_err("report: cannot create %s: %s", R->out, strerror(-e));
		return PNB_EXIT_FAIL;
	}
	/* Printed commands: bin/pnbench from the top directory, else absolute. */
	if (getcwd(cwd, sizeof cwd) && !strcmp(cwd, pnb_topdir()))
		snprintf(R->prog, sizeof R->prog, "bin/pnbench");
	else
		snprintf(R->prog, sizeof R->prog, "%s/pnbench", pnb_bindir());
	snprintf(R->plots, sizeof R->plots, "%s/plots", pnb_topdir());
	probe_gnuplot(R);
	if (R->gnuplot) {
		char p[PATH_MAX + 32];
		snprintf(p, sizeof p, "%s/gnuplot.log", R->out);
		unlink(p);
	}
	for (int i = 0; i < X->s.ncells; i++) {
		int dup = 0;
		for (int k = 0; k < X->nscn; k++)
			dup |= !strcmp(X->scn[k], X->s.cells[i].scenario);
		if (!dup && X->nscn < 256)
			X->scn[X->nscn++] = X->s.cells[i].scenario;
	}
	X->nkern = an_set_kernels(&X->s, X->kern, 64);
	return 0;
}

/* Figures first: the text embeds their dumb versions. */
static void figures(struct report_ctx *X)
{
	const struct an_set *s = &X->s;

	for (int i = 0; i < X->nscn; i++)
		series_figure(&X->R, &lead_fig, X->scn[i]);
	for (int i = 0; i < X->nkern; i++)
		series_figure(&X->R, &fp_fig, X->kern[i]);
	for (int i = 0; i < s->ncells; i++) {
		const struct an_run *m = median_run(&s->cells[i]);
		for (int k = 0; k < s->cells[i].nruns; k++)
			timeline(&X->R, s->cells[i].runs[k], s->cells[i].runs[k] == m);
		for (int k = 0; k < s->cells[i].nruns; k++)
			kill_timeline(&X->R, s->cells[i].runs[k], s->cells[i].runs[k] == m);
	}
}

/* --only: the one figure is drawn (or not); the exit code. */
static int only_result(const struct report_ctx *X)
{
	const struct rep *R = &X->R;

	if (!R->only_found) {
		pnb_err("report: no figure '%s' in %s (index.md lists them)", R->only, R->dir_arg);
		return PNB_EXIT_USAGE;
	}
	if (!R->gnuplot) {
		pnb_err("report: %s", R->no_plot_why);
		return PNB_EXIT_FAIL;
	}
	if (R->failures)
		return PNB_EXIT_FAIL;
	if (!X->quiet)
		printf("report: regenerated %s/%s.{png,svg,txt}\n", R->out, R->only);
	return 0;
}

static void load_base(struct report_ctx *X)
{
	const char *against = X->R.against;
	char err[1024];
	struct stat st;

	if (!against)
		return;
	/* A missing baseline is the normal first run (make bench before one
	 * was committed): say so in one line and report anyway. */
	if (stat(against, &st) && errno == ENOENT) {
		snprintf(X->cmpmsg, sizeof X->cmpmsg, "no baseline at %s yet: report without "
			 "comparison", against);
		pnb_err("report: %s", X->cmpmsg);
	} else if (an_set_load(against, &X->base, err, sizeof err)) {
		snprintf(X->cmpmsg, sizeof X->cmpmsg, "comparison with %s impossible: %s", against, err);
		pnb_err("report: %s", X->cmpmsg);
	} else {
		X->have_base = 1;
	}
}

static void cell_table_name(const struct an_cell *c, char *name, size_t len)
{
	snprintf(name, len, "table-%s-%s.txt", c->kernel, c->scenario);
	sanitize(name);
}

/* Tables, each in its own file too; the comparison in compare.txt. */
static void tables(struct report_ctx *X)
{
	struct rep *R = &X->R;
	const struct an_set *s = &X->s;
	char err[1024];
	FILE *t;

	if ((t = open_out(R, "table-runs.txt"))) {
		table_runs(t, s);
		fclose(t);
	}
	for (int i = 0; i < s->ncells; i++) {
		char name[512];
		cell_table_name(&s->cells[i], name, sizeof name);
		if ((t = open_out(R, name))) {
			const struct an_cell *c = &s->cells[i];
			char cj[PATH_MAX * 2];
			table_cell(t, c, i + 2);
			/* Where analyze writes it: the runs' parent, else by name. */
			if (c->dir[0])
				snprintf(cj, sizeof cj, "%s/cell.json", c->dir);
			else
				snprintf(cj, sizeof cj, "%s/%s/%s/cell.json", s->path, c->kernel, c->scenario);
			table_probe_cpu(t, cj, c);
			fclose(t);
		}
	}
	/* Killer outcomes (issue 11): one table over every cell that has them. */
	if ((t = open_out(R, "table-killers.txt"))) {
		X->have_killers = an_report_killers(t, s, s->ncells + 2) > 0;
		fclose(t);
	}
	if (X->have_base && (t = open_out(R, "compare.txt"))) {
		struct cmp_opts o;
		cmp_opts_default(&o);
		X->cmp_rc = pnb_compare(&X->base, s, &o, t, err, sizeof err);
		if (X->cmp_rc < 0) {
			fprintf(t, "comparison refused: %s\n", err);
			pnb_err("report: against %s: comparison refused: %s", R->against, err);
		}
		fclose(t);
	}
}

/* report.txt's head: what was run, on what, by which commands. */
static void text_head(FILE *f, const struct report_ctx *X)
{
	const struct an_set *s = &X->s;
	const struct rep *R = &X->R;
	int complete = 0, minrep = 1 << 30, maxrep = 0, shown = 0;
	char kl[2048] = "", sl[4096] = "", line[PATH_MAX * 3];

	for (int i = 0; i < s->nruns; i++)
		complete += !s->runs[i].incomplete;
	for (int i = 0; i < s->ncells; i++) {
		if (s->cells[i].nruns < minrep)
			minrep = s->cells[i].nruns;
		if (s->cells[i].nruns > maxrep)
			maxrep = s->cells[i].nruns;
	}
	fprintf(f, "pnbench report: %s\n\n", R->dir_arg);
	for (int i = 0; i < X->nkern; i++) {
		const char *rel = "";
		for (int k = 0; k < s->nruns; k++)
			if (!strcmp(s->runs[k].kernel, X->kern[i]) && s->runs[k].release[0]) {
				rel = s->runs[k].release;
				break;
			}
		snprintf(kl + strlen(kl), sizeof kl - strlen(kl), "%s%s (%s)", i ? ", " : "",
			 X->kern[i], rel[0] ? rel : "release unknown");
	}
	wrap(f, "kernels:   ", kl, 11);
	for (int i = 0; i < X->nscn; i++)
		snprintf(sl + strlen(sl), sizeof sl - strlen(sl), "%s%s", i ? ", " : "", X->scn[i]);
	wrap(f, "scenarios: ", sl, 11);
	if (minrep == maxrep)
		fprintf(f, "reps:      %d per kernel and scenario; %d runs, %d complete\n", minrep,
			s->nruns, complete);
	else
		fprintf(f, "reps:      %d to %d per kernel and scenario; %d runs, %d complete\n",
			minrep, maxrep, s->nruns, complete);
	report_conditions(f, s, X->kern, X->nkern);
	fprintf(f, "harness:   runs by pnbench %s, report by pnbench %s\n",
		s->nruns ? s->runs[0].git_rev : "?", pnb_git_rev());
	/* The commands that made the runs, each once. */
	for (int i = 0; i < s->nruns; i++) {
		int dup = 0;
		if (!s->runs[i].command)
			continue;
		for (int k = 0; k < i; k++)
			dup |= s->runs[k].command && !strcmp(s->runs[k].command, s->runs[i].command);
		if (dup)
			continue;
		char cl[8192];
		snprintf(cl, sizeof cl, "bin/pnbench %s", s->runs[i].command);
		wrap(f, shown ? "           " : "runs made: ", cl, 13);
		shown++;
	}
	if (!shown)
		fprintf(f, "runs made: (no meta.json records the command)\n");
	snprintf(line, sizeof line, "%s report %s --out %s%s%s", R->prog, R->dir_arg, R->out,
		 R->against ? " --against " : "", R->against ? R->against : "");
	wrap(f, "report:    ", line, 13);
	fprintf(f, "metrics:   docs/metrics.md; every figure is the median over runs\n"
		   "           with its spread; 'missed' = spoke only after the OOM kill\n"
		   "           or never.\n\n");
}

/* report.txt: the head, every table file, the comparison, the plots. */
static void text(struct report_ctx *X)
{
	const struct rep *R = &X->R;
	char p[PATH_MAX + 300];
	FILE *f = open_out(&X->R, "report.txt");

	if (!f)
		return;
	text_head(f, X);
	snprintf(p, sizeof p, "%s/table-runs.txt", R->out);
	append_file(f, p);
	for (int i = 0; i < X->s.ncells; i++) {
		char name[512];
		cell_table_name(&X->s.cells[i], name, sizeof name);
		snprintf(p, sizeof p, "%s/%s", R->out, name);
		append_file(f, p);
	}
	if (X->have_killers) {
		snprintf(p, sizeof p, "%s/table-killers.txt", R->out);
		append_file(f, p);
	}
	if (R->against) {
		fprintf(f, "\nComparison with %s\n\n", R->against);
		if (X->have_base) {
			snprintf(p, sizeof p, "%s/compare.txt", R->out);
			append_file(f, p);
		} else {
			fprintf(f, "%s\n", X->cmpmsg);
		}
	}
	if (!R->gnuplot) {
		fprintf(f, "\nPictures: %s\n", R->no_plot_why);
	} else {
		char intro[PATH_MAX + 80];
		fprintf(f, "\n");
		snprintf(intro, sizeof intro, "Plots (the PNG/SVG versions and their data "
			 "are listed in %s/index.md)", R->out);
		wrap(f, "", intro, 4);
		/* R->fig is in report order: lead per scenario, fp per kernel,
		 * timelines per cell (the text shows the median run's). */
		for (int i = 0, num = 1; i < R->nfig; i++) {
			const struct figure *fg = &R->fig[i];
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

/* index.md: every table and figure with its files and the command. */
static void index_md(struct report_ctx *X)
{
	const struct rep *R = &X->R;
	const struct an_set *s = &X->s;
	FILE *ix = open_out(&X->R, "index.md");

	if (!ix)
		return;
	fprintf(ix, "# pnbench report: %s\n\n", R->dir_arg);
	fprintf(ix, "Regenerate everything: `%s report %s --out %s%s%s`.  Definitions: "
		    "docs/metrics.md.\n\n", R->prog, R->dir_arg, R->out,
		R->against ? " --against " : "", R->against ? R->against : "");
	fprintf(ix, "## Tables\n\n");
	fprintf(ix, "- [report.txt](report.txt): the whole report as plain text for mail "
		    "(tables and ASCII plots)\n");
	fprintf(ix, "- [table-runs.txt](table-runs.txt): runs, time to the OOM kill, "
		    "sanity check, recorder overhead\n");
	for (int i = 0; i < s->ncells; i++) {
		char name[512];
		cell_table_name(&s->cells[i], name, sizeof name);
		fprintf(ix, "- [%s](%s): %s on %s, per mechanism/level\n", name, name,
			s->cells[i].scenario, s->cells[i].kernel);
	}
	if (X->have_killers)
		fprintf(ix, "- [table-killers.txt](table-killers.txt): killer outcomes per killer, "
			    "workload and kernel\n");
	if (X->have_base)
		fprintf(ix, "- [compare.txt](compare.txt): comparison with %s\n", R->against);
	fprintf(ix, "\n## Figures\n\n");
	if (!R->gnuplot)
		fprintf(ix, "%s.\n", R->no_plot_why);
	for (int i = 0; i < R->nfig; i++) {
		const struct figure *fg = &R->fig[i];
		fprintf(ix, "### %s\n\n", fg->name);
		if (fg->png_ok)
			fprintf(ix, "![%s](%s.png)\n\n", fg->name, fg->name);
		else
			fprintf(ix, "(no picture: %s)\n\n", R->gnuplot ?
				"no value to plot, or gnuplot failed (see gnuplot.log)" : R->no_plot_why);
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

int cmd_report(int argc, char **argv)
{
	struct report_ctx *X = calloc(1, sizeof *X);
	char err[1024];
	int rc;

	if (!X) {
		pnb_err("report: out of memory");
		return PNB_EXIT_FAIL;
	}
	if ((rc = parse_args(argc, argv, X))) {
		free(X);
		return rc < 0 ? 0 : rc;
	}
	if (an_set_load(X->R.dir_arg, &X->s, err, sizeof err)) {
		pnb_err("report: %s", err);
		free(X);
		return PNB_EXIT_USAGE;
	}
	X->R.s = &X->s;
	if ((rc = setup(X)))
		goto out;
	figures(X);
	if (X->R.only) {
		rc = only_result(X);
		goto out;
	}
	load_base(X);
	tables(X);
	text(X);
	index_md(X);
	if (!X->quiet) {
		char p[PATH_MAX + 32];
		const struct rep *R = &X->R;
		snprintf(p, sizeof p, "%s/report.txt", R->out);
		append_file(stdout, p);
		printf("\nreport: %s/report.txt, %s/index.md, %d figure%s%s\n", R->out, R->out, R->nfig,
		       R->nfig == 1 ? "" : "s", R->gnuplot ? "" : " (no pictures: see report.txt)");
		if (X->have_base && X->cmp_rc >= 0)
			printf("report: against %s: %s\n", R->against,
			       X->cmp_rc ? "REGRESSION" : "no regression");
	}
	rc = X->R.failures ? PNB_EXIT_FAIL : 0;
out:
	free(X->R.fig);
	if (X->have_base)
		an_set_free(&X->base);
	an_set_free(&X->s);
	free(X);
	return rc;
}
