/* pnbench report (report.c): what its figure (report_figures.c) and table
 * (report_tables.c) parts share. */
#ifndef PNB_REPORT_H
#define PNB_REPORT_H

#include <limits.h>
#include <stdio.h>

#include "analysis.h"
#include "stats.h"

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

extern const struct series_fig lead_fig, fp_fig;

/* ---- report_figures.c ---- */
/* Turn a name into one safe as a file name. */
void sanitize(char *s);
/* OUT/name for writing, or NULL after a message (counted in failures). */
FILE *open_out(struct rep *R, const char *name);
/* The distribution of metric m over the cell's runs (key k, or the run). */
void cell_dist(const struct an_cell *c, const struct an_key *k, enum an_metric m,
	       struct pnb_dist *d);
/* Whether gnuplot can draw here (R->gnuplot), and with which PNG terminal. */
void probe_gnuplot(struct rep *R);
/* A run's timeline figures; in_mail: the one report.txt shows for its cell. */
void timeline(struct rep *R, const struct an_run *r, int in_mail);
void kill_timeline(struct rep *R, const struct an_run *r, int in_mail);
/* The series figure F of the cells sharing one scenario or kernel. */
void series_figure(struct rep *R, const struct series_fig *F, const char *shared);

/* ---- report_tables.c ---- */
/* v with prec decimals, "-" for NaN, "missed"/"inf" for infinities. */
void fmt(char *b, size_t n, double v, int prec);
/* Text wrapped at 79 columns with an indent for continuation lines. */
void wrap(FILE *f, const char *first, const char *text, int indent);
void report_conditions(FILE *f, const struct an_set *s, const char *const *kern, int nkern);
/* Table 1: every run. */
void table_runs(FILE *f, const struct an_set *s);
/* Table num: one cell, per mechanism/level. */
void table_cell(FILE *f, const struct an_cell *c, int num);
/* The cell's per-probe CPU from its cell.json "probe_cpu" (analyze writes
 * it when the recorder's end events carry probe_cpu_ns): rows printed, 0
 * (and nothing printed) when it has none. */
int table_probe_cpu(FILE *f, const char *cell_json, const struct an_cell *c);

#endif
