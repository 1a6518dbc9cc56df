/* pnbench vmstat-cost (cmd_vmstat_cost.c): the generated cells
 * (vmstat_cost_cells.c), the result set they make and its report
 * (vmstat_cost_report.c, vmstat_cost_tables.c). */
#ifndef PNB_VMSTAT_COST_H
#define PNB_VMSTAT_COST_H

#include <stdint.h>
#include <stdio.h>

#define VC_MAX_VALS 32
#define VC_MAX_CELLS 512
#define VC_MAX_KERNELS 16
#define VC_MAX_REPS 64

enum suite { S_READ, S_STALE, S_MECH };
extern const char *const vc_suite_names[3];

/* What one generated scenario varies. */
struct cellcfg {
	char name[96];
	enum suite suite;
	unsigned cpus, maxcpus;		/* maxcpus 0: same as cpus */
	unsigned load;			/* read: load processes per other CPU */
	char rate[24];			/* staleness: 0, max or a rate */
	char wl[24];			/* mechanism: bb | fr */
	char mech[16];			/* base | psi | vmp | sample | psiboot */
	char param[16];			/* listeners, interval or psi= value */
	int native;			/* written for the native kernel */
	int psi_unpriv;			/* native without CAP_SYS_RESOURCE: 2 s windows */
};

/* The sweep the command line asks for. */
struct opts {
	const char *kernels[VC_MAX_KERNELS];
	int nk;
	int suites[3];
	unsigned cpus[VC_MAX_VALS], maxcpus[VC_MAX_VALS], load[VC_MAX_VALS];
	int ncpus, nmaxcpus, nload;
	char rates[VC_MAX_VALS][24];
	int nrates;
	unsigned listeners[VC_MAX_VALS];
	int nlisteners;
	char sample[VC_MAX_VALS][16];
	int nsample;
	unsigned psiboot[VC_MAX_VALS];
	int npsiboot;
	char mechwl[2][24];
	int nmechwl;
	uint64_t duration_ns, memory;
	const char *mode;
	unsigned reps, jobs;
	int list, report_only, fetch, force;
	char out[1024];
};

/* ---- cells (vmstat_cost_cells.c) ---- */
/* The native reader's CPU and the load's CPUs (first PU of different
 * cores): count of load CPUs, or -1 with why. */
int vc_native_cpus(int *reader, int *load, int max, char *why, size_t len);
int vc_has_cap_sys_resource(void);
/* The cells of one kernel kind (native or guest), in run order: count, or
 * -1 when more than max. */
int vc_make_cells(const struct opts *o, int native, unsigned host_cpus, struct cellcfg *c, int max);
/* The scenario file of cell c in dir, its path into path: 0 or -errno. */
int vc_write_scenario(const struct opts *o, const struct cellcfg *c, const char *dir,
		      int reader, const int *lcpu, int nl, char *path, size_t plen);
/* OUT/cells.tsv: every cell ever generated into this result set. */
int vc_cells_load(const char *out, struct cellcfg *c, int max);
int vc_cells_save(const char *out, const struct cellcfg *add, int nadd);

/* ---- the result set and its report (vmstat_cost_report.c) ---- */
struct series { char key[96]; double v[VC_MAX_REPS]; int n; };
struct cellres { struct series *s; int n, cap, reps, incomplete; };

/* Every kernel directory's repetitions of every cell, by result key. */
struct vc_set {
	char kern[VC_MAX_KERNELS][256];
	int nkern;
	struct cellcfg cells[VC_MAX_CELLS];
	int ncells;
	struct cellres res[VC_MAX_KERNELS][VC_MAX_CELLS];
	/* The -accel values the cells ran under, each once: a read-cost
	 * curve over CPU counts means something else under one-thread TCG. */
	char accels_seen[256];
};

/* Tabulate and plot the result set in out: OUT/report/.  0, or an exit
 * code after a message. */
int vc_report(const char *out);
/* Median over repetitions of kernel k, cell c; NaN when none has key. */
double vc_med(const struct vc_set *v, int k, int c, const char *key);
int vc_distinct(const struct vc_set *v, enum suite s, int which, unsigned *out);
int vc_find_cell(const struct vc_set *v, enum suite s, unsigned cpus, unsigned maxcpus,
		 unsigned load, const char *rate);
int vc_has_data(const struct vc_set *v, int k, enum suite s, const char *key, int maxcpus, int load);
const char *vc_us(double ns, char *buf, size_t len);
const char *vc_num(double v, const char *fmt, char *buf, size_t len);

/* The gnuplot input of one plot script: DIR/<script>.vars names the items
 * (files, counters) that have data, one DIR/<script>-<item>.dat each. */
struct datset {
	const char *dir, *script;
	FILE *vars;
	int n;
};
int vc_datset_open(struct datset *ds, const char *dir, const char *script, const char *listvar);
FILE *vc_datset_file(const struct datset *ds, const char *item);
void vc_datset_item(struct datset *ds, FILE *d, const char *item, int have);
void vc_datset_close(struct datset *ds, int ncols);

/* ---- the tables and their gnuplot data (vmstat_cost_tables.c) ---- */
void vc_report_read(const struct vc_set *v, FILE *t, const char *dir);
void vc_report_stale(const struct vc_set *v, FILE *t, const char *dir);
void vc_report_mech(const struct vc_set *v, FILE *t, const char *dir);

#endif
