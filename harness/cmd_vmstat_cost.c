/* pnbench vmstat-cost: the SMP vm_stat sweeps of issue 6.
 *
 *   read        vmstat-cost workload: whole-file read latency of /proc/vmstat,
 *               meminfo, pressure, zoneinfo, memory.stat per CPU count
 *               (QEMU -smp; maxcpus too), idle and with allocating load
 *   staleness   vmstat-staleness workload: per-cpu counter drift against
 *               vm.stat_refresh, per CPU count and allocation rate
 *   mechanism   busy-beaver / fixed-rate throughput with 0/1/16/256 PSI
 *               triggers or vmpressure listeners, the sampler at several
 *               intervals, and psi=0 / psi=1 on the guest command line
 *
 * Each cell is an ordinary scenario file written under OUT/scenarios/ and
 * run through `pnbench run` (cmd_run), so results are ordinary result
 * directories (OUT/<kernel>/<scenario>/<rep>/) that `pnbench analyze` reads
 * too.  OUT/cells.tsv says what each generated scenario varies; the report
 * step (also alone: --report) takes medians over repetitions and writes
 * OUT/report/: report.txt (the tables a mailing-list reply quotes),
 * gnuplot data, and the plots (the scripts in plots/).
 *
 * Native runs pick the reader's CPU and the load's CPUs from the hwloc
 * topology (first PU of different cores); guests read on CPU 0 and load the
 * others (the guest has no hwloc: the workload pins by CPU number). */
#include "cli.h"
#include "fsutil.h"
#include "clock.h"
#include "log.h"
#include "parse.h"
#include "procfs.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_VALS 32
#define MAX_CELLS 512
#define MAX_KERNELS 16
#define MAX_REPS 64
#define RUN_BATCH 60		/* scenarios per cmd_run call (it takes 64) */

enum suite { S_READ, S_STALE, S_MECH };
static const char *const suite_names[] = { "read", "staleness", "mechanism" };

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

struct opts {
	const char *kernels[MAX_KERNELS];
	int nk;
	int suites[3];
	unsigned cpus[MAX_VALS], maxcpus[MAX_VALS], load[MAX_VALS];
	int ncpus, nmaxcpus, nload;
	char rates[MAX_VALS][24];
	int nrates;
	unsigned listeners[MAX_VALS];
	int nlisteners;
	char sample[MAX_VALS][16];
	int nsample;
	unsigned psiboot[MAX_VALS];
	int npsiboot;
	char mechwl[2][24];
	int nmechwl;
	uint64_t duration_ns, memory;
	const char *mode;
	unsigned reps, jobs;
	int list, report_only, fetch, force;
	char out[1024];
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: pnbench vmstat-cost --kernel K [options]\n"
"  -k, --kernel K       native, debian:..., path:..., tree:... (repeat)\n"
"      --suite LIST     read,staleness,mechanism (default read,staleness)\n"
"      --cpus LIST      guest CPU counts (default 1,2,4,8,16; native: the host's)\n"
"      --maxcpus LIST   QEMU maxcpus per cell, 0 = same as cpus (default 0)\n"
"      --load LIST      read: load processes per other CPU (default 0,1)\n"
"      --rates LIST     staleness: allocation rates, 0, max or e.g. 64M/s\n"
"                       (default 0,64M/s,max)\n"
"      --mode M         read: pread, open or both (default pread)\n"
"      --duration D     measuring time per cell (default 5s)\n"
"      --memory SIZE    guest RAM, or the native memcg limit (default 512M)\n"
"      --listeners LIST mechanism: PSI triggers / vmpressure listeners\n"
"                       (default 0,1,16,256)\n"
"      --sample LIST    mechanism: sampler intervals (default 10ms,100ms,1000ms)\n"
"      --psi-boot LIST  mechanism: psi= boot values for guests (default 0,1)\n"
"      --mech-workloads LIST  busy-beaver,fixed-rate (default both)\n"
"  -r, --reps N         repetitions (default 3)\n"
"  -j, --jobs J         cells at a time (default 1)\n"
"  -o, --out DIR        result set (default results/vmstat-cost/<time>)\n"
"  -f, --force          rerun cells that already have a complete result\n"
"      --list           write the scenarios and print the cells, run nothing\n"
"      --report         only tabulate and plot the result set in --out\n"
"      --fetch=no       do not download or build missing kernels\n");
}

/* "a,b,c" into at most max fields of len bytes each. Count or -1. */
static int split_list(const char *s, char (*out)[24], int max)
{
	char buf[512], *save;
	int n = 0;

	if (strlen(s) >= sizeof buf)
		return -1;
	strcpy(buf, s);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (n >= max || strlen(t) >= 24)
			return -1;
		strcpy(out[n++], t);
	}
	return n ? n : -1;
}

static int uint_list(const char *opt, const char *s, unsigned *out, unsigned min, unsigned max)
{
	char f[MAX_VALS][24];
	int n = split_list(s, f, MAX_VALS);
	uint64_t v;

	if (n < 0)
		pnb_die(2, "vmstat-cost: %s '%s': need a comma-separated list (at most %d)", opt, s,
			MAX_VALS);
	for (int i = 0; i < n; i++) {
		if (pnb_parse_u64(f[i], &v) || v < min || v > max)
			pnb_die(2, "vmstat-cost: %s '%s': '%s' is not a number %u..%u", opt, s, f[i],
				min, max);
		out[i] = (unsigned)v;
	}
	return n;
}

/* ---- hwloc: the native reader and load CPUs ----------------------------- */

/* First PU of each core, core order; the reader gets the first core, the
 * load the others (different cores, so the load never shares the reader's
 * core through SMT).  A single-core machine falls back to its other PUs. */
static int native_cpus(int *reader, int *load, int max, char *why, size_t len)
{
	hwloc_topology_t t;
	int n = 0;

	if (hwloc_topology_init(&t) || hwloc_topology_load(t)) {
		snprintf(why, len, "hwloc could not load the topology");
		return -1;
	}
	int ncores = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
	*reader = -1;
	for (int i = 0; i < ncores; i++) {
		hwloc_obj_t core = hwloc_get_obj_by_type(t, HWLOC_OBJ_CORE, (unsigned)i);
		int pu = core ? hwloc_bitmap_first(core->cpuset) : -1;
		if (pu < 0)
			continue;
		if (*reader < 0)
			*reader = pu;
		else if (n < max)
			load[n++] = pu;
	}
	if (n == 0) {
		int npu = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
		for (int i = 0; i < npu && n < max; i++) {
			hwloc_obj_t pu = hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, (unsigned)i);
			if (pu && (int)pu->os_index != *reader)
				load[n++] = (int)pu->os_index;
		}
	}
	hwloc_topology_destroy(t);
	if (*reader < 0) {
		snprintf(why, len, "hwloc found no CPU");
		return -1;
	}
	return n;
}

/* ---- scenarios ---------------------------------------------------------- */

static int has_cap_sys_resource(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, d))
		return 0;
	return !!(d[CAP_TO_INDEX(CAP_SYS_RESOURCE)].effective & CAP_TO_MASK(CAP_SYS_RESOURCE));
}

static void cell_name(struct cellcfg *c)
{
	char m[24] = "";

	if (c->maxcpus > c->cpus)
		snprintf(m, sizeof m, "-m%u", c->maxcpus);
	switch (c->suite) {
	case S_READ:
		snprintf(c->name, sizeof c->name, "vmstat-cost-c%u%s-l%u", c->cpus, m, c->load);
		break;
	case S_STALE: {
		char r[24];
		size_t k = 0;
		for (const char *p = c->rate; *p && k < sizeof r - 1; p++)
			if (*p != '/')
				r[k++] = *p;
		r[k] = 0;
		snprintf(c->name, sizeof c->name, "vmstat-staleness-c%u%s-r%s", c->cpus, m, r);
		break;
	}
	case S_MECH:
		snprintf(c->name, sizeof c->name, "cost-%s-c%u-%s%s", c->wl, c->cpus, c->mech, c->param);
		break;
	}
}

static int write_scenario(const struct opts *o, const struct cellcfg *c, const char *dir,
			  int reader, const int *lcpu, int nl, char *path, size_t plen)
{
	char args[512], dur[32], cl[256] = "";
	const char *wl = "", *desc = "";
	char descbuf[256];
	uint64_t bound = o->duration_ns + 60 * NS_PER_S;
	int k = 0;

	if (c->native) {
		k = snprintf(cl, sizeof cl, "--cpu %d", reader);
		if (nl) {
			k += snprintf(cl + k, sizeof cl - (size_t)k, " --load-cpus ");
			for (int i = 0; i < nl; i++)
				k += snprintf(cl + k, sizeof cl - (size_t)k, "%s%d", i ? "," : "", lcpu[i]);
		}
	}
	unsigned others = c->native ? (unsigned)nl : c->cpus - 1;
	pnb_fmt_duration(o->duration_ns, dur, sizeof dur);
	switch (c->suite) {
	case S_READ:
		wl = "vmstat-cost";
		snprintf(args, sizeof args, "--duration %s --mode %s --load %u %s", dur, o->mode,
			 c->load * others, cl);
		snprintf(descbuf, sizeof descbuf, "vm_stat read cost, %u CPUs%s, %u load per other CPU",
			 c->cpus, c->maxcpus > c->cpus ? " (more possible)" : "", c->load);
		desc = descbuf;
		break;
	case S_STALE:
		wl = "vmstat-staleness";
		/* One CPU: the load shares the reader's CPU; drift still shows. */
		if (!others && strcmp(c->rate, "0"))
			snprintf(args, sizeof args, "--duration %s --rate %s --load 1 --load-cpus 0 %s",
				 dur, c->rate, c->native ? cl : "");
		else
			snprintf(args, sizeof args, "--duration %s --rate %s %s", dur, c->rate, cl);
		snprintf(descbuf, sizeof descbuf, "vm_stat counter staleness, %u CPUs, load at %s",
			 c->cpus, c->rate);
		desc = descbuf;
		break;
	case S_MECH:
		/* Below the memory size: throughput without OOM, same every cell. */
		wl = !strcmp(c->wl, "bb") ? "busy-beaver" : "fixed-rate";
		if (!strcmp(c->wl, "bb"))
			snprintf(args, sizeof args, "--threads 1 --chunk 1M --limit %lluM --hold 0s",
				 (unsigned long long)(o->memory >> 21));
		else
			snprintf(args, sizeof args, "--rate 32M/s --chunk 1M --limit %lluM --hold 0s",
				 (unsigned long long)(o->memory >> 21));
		bound = 300 * NS_PER_S;
		snprintf(descbuf, sizeof descbuf, "mechanism cost: %s with %s %s", wl, c->mech, c->param);
		desc = descbuf;
		break;
	}
	snprintf(path, plen, "%s/%s.ini", dir, c->name);
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "# Generated by pnbench vmstat-cost (%s cell); see docs/vmstat-cost.md.\n",
		suite_names[c->suite]);
	fprintf(f, "[scenario]\ndescription = %s\nreps = %u\nduration = %s\nexpect = no-oom\n\n",
		desc, o->reps, pnb_fmt_duration(bound, dur, sizeof dur));
	fprintf(f, "[workload]\nname = %s\nargs = %s\n\n[probes]\n", wl, args);
	if (c->suite != S_MECH) {
		/* Event-driven only: no timer, nothing else reads /proc meanwhile.
		 * (Unsupported where cgroup2 has no memory controller: reported,
		 * harmless.) */
		fprintf(f, "probe = memevents\n");
	} else {
		/* The same ground truth in every cell; the variable comes on top. */
		fprintf(f, "probe = oom\n");
		/* lmkd's 1 s window (privileged: the rtpoll worker); without
		 * CAP_SYS_RESOURCE 6.5+ kernels take only multiples of 2 s, and
		 * those triggers ride the averages worker instead. */
		if (!strcmp(c->mech, "psi"))
			fprintf(f, "probe = psi:some:150ms:%s:n=%s\n", c->psi_unpriv ? "2s" : "1s",
				c->param);
		else if (!strcmp(c->mech, "vmp"))
			fprintf(f, "probe = vmpressure:low:hierarchy:n=%s\n", c->param);
		else if (!strcmp(c->mech, "sample"))
			fprintf(f, "probe = sample:%s\n", c->param);
	}
	fprintf(f, "\n[machine]\nmemory = %lluM\ncpus = %u\n", (unsigned long long)(o->memory >> 20),
		c->cpus);
	if (c->maxcpus > c->cpus)
		fprintf(f, "maxcpus = %u\n", c->maxcpus);
	/* The SMP sweep is about CPUs reading and folding counters at once:
	 * without KVM only multi-threaded TCG runs the vCPUs in parallel.  The
	 * cell's meta.json says which mode ran. */
	fprintf(f, "swap = none\ntcg = multi\n");
	if (!strcmp(c->mech, "psiboot"))
		fprintf(f, "cmdline = psi=%s\n", c->param);
	return fclose(f) ? -errno : 0;
}

/* The cells of one kernel kind (native or guest), in run order. */
static int make_cells(const struct opts *o, int native, unsigned host_cpus, struct cellcfg *c, int max)
{
	int n = 0;
	unsigned cpus1[1] = { host_cpus }, zero[1] = { 0 };
	const unsigned *cl = native ? cpus1 : o->cpus, *ml = native ? zero : o->maxcpus;
	int ncl = native ? 1 : o->ncpus, nml = native ? 1 : o->nmaxcpus;

#define ADD(...) do { if (n >= max) return -1; c[n] = (struct cellcfg){ .native = native, __VA_ARGS__ }; \
	cell_name(&c[n]); n++; } while (0)
	for (int ci = 0; ci < ncl; ci++)
		for (int mi = 0; mi < nml; mi++) {
			unsigned cpus = cl[ci], maxc = ml[mi] > cpus ? ml[mi] : 0;
			if (o->suites[S_READ])
				for (int li = 0; li < o->nload; li++) {
					if (o->load[li] && cpus == 1) {
						printf("vmstat-cost: no read cell with load on 1 CPU: the load "
						       "would share the reader's CPU\n");
						continue;
					}
					ADD(.suite = S_READ, .cpus = cpus, .maxcpus = maxc, .load = o->load[li]);
				}
			if (o->suites[S_STALE] && !maxc)
				for (int ri = 0; ri < o->nrates; ri++) {
					ADD(.suite = S_STALE, .cpus = cpus);
					snprintf(c[n - 1].rate, sizeof c[n - 1].rate, "%s", o->rates[ri]);
					cell_name(&c[n - 1]);
				}
		}
	if (o->suites[S_MECH]) {
		/* At the default machine size only: the variable is the mechanism. */
		unsigned cpus = native ? host_cpus : 2;
		for (int w = 0; w < o->nmechwl; w++) {
			const char *wl = !strcmp(o->mechwl[w], "busy-beaver") ? "bb" : "fr";
			struct cellcfg b = { .suite = S_MECH, .cpus = cpus, .native = native,
					     .psi_unpriv = native && !has_cap_sys_resource() };
			snprintf(b.wl, sizeof b.wl, "%s", wl);
#define MECH(m, p) do { if (n >= max) return -1; c[n] = b; snprintf(c[n].mech, sizeof c[n].mech, "%s", m); \
	snprintf(c[n].param, sizeof c[n].param, "%s", p); cell_name(&c[n]); n++; } while (0)
			MECH("base", "");
			for (int i = 0; i < o->nlisteners; i++) {
				char p[16];
				if (!o->listeners[i])
					continue;	/* 0 listeners is the base cell */
				snprintf(p, sizeof p, "%u", o->listeners[i]);
				MECH("psi", p);
				MECH("vmp", p);
			}
			for (int i = 0; i < o->nsample; i++)
				MECH("sample", o->sample[i]);
			if (!native)
				for (int i = 0; i < o->npsiboot; i++) {
					char p[16];
					snprintf(p, sizeof p, "%u", o->psiboot[i]);
					MECH("psiboot", p);
				}
#undef MECH
		}
	}
#undef ADD
	return n;
}

/* OUT/cells.tsv: every cell ever generated into this result set, merged. */
static int cells_load(const char *out, struct cellcfg *c, int max)
{
	char path[1200], line[512];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof path, "%s/cells.tsv", out);
	if (!(f = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof line, f) && n < max) {
		char suite[24];
		struct cellcfg x = { 0 };
		if (line[0] == '#')
			continue;
		if (sscanf(line, "%95s %23s %u %u %u %23s %23s %15s %15s", x.name, suite, &x.cpus,
			   &x.maxcpus, &x.load, x.rate, x.wl, x.mech, x.param) != 9)
			continue;
		for (int s = 0; s < 3; s++)
			if (!strcmp(suite, suite_names[s]))
				x.suite = (enum suite)s;
		if (!strcmp(x.rate, "-")) x.rate[0] = 0;
		if (!strcmp(x.wl, "-")) x.wl[0] = 0;
		if (!strcmp(x.mech, "-")) x.mech[0] = 0;
		if (!strcmp(x.param, "-")) x.param[0] = 0;
		c[n++] = x;
	}
	fclose(f);
	return n;
}

static int cells_save(const char *out, const struct cellcfg *add, int nadd)
{
	static struct cellcfg all[MAX_CELLS];
	char path[1200];
	int n = cells_load(out, all, MAX_CELLS);

	for (int i = 0; i < nadd; i++) {
		int k;
		for (k = 0; k < n && strcmp(all[k].name, add[i].name); k++)
			;
		if (k == n && n < MAX_CELLS)
			all[n++] = add[i];
	}
	snprintf(path, sizeof path, "%s/cells.tsv", out);
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "# scenario suite cpus maxcpus load rate workload mechanism param\n");
	for (int i = 0; i < n; i++)
		fprintf(f, "%s %s %u %u %u %s %s %s %s\n", all[i].name, suite_names[all[i].suite],
			all[i].cpus, all[i].maxcpus, all[i].load, all[i].rate[0] ? all[i].rate : "-",
			all[i].wl[0] ? all[i].wl : "-", all[i].mech[0] ? all[i].mech : "-",
			all[i].param[0] ? all[i].param : "-");
	return fclose(f) ? -errno : 0;
}

/* ---- running: through cmd_run, in batches ------------------------------- */

static int run_batch(const struct opts *o, const char *kernel, char (*paths)[1200], int n)
{
	char *argv[16 + 2 * RUN_BATCH];
	char reps[16], jobs[16];
	int a = 0;

	snprintf(reps, sizeof reps, "%u", o->reps);
	snprintf(jobs, sizeof jobs, "%u", o->jobs);
	argv[a++] = "run";
	argv[a++] = "--kernel";
	argv[a++] = (char *)kernel;
	for (int i = 0; i < n; i++) {
		argv[a++] = "--scenario";
		argv[a++] = paths[i];
	}
	argv[a++] = "--reps";
	argv[a++] = reps;
	argv[a++] = "--jobs";
	argv[a++] = jobs;
	argv[a++] = "--out";
	argv[a++] = (char *)o->out;
	if (!o->fetch)
		argv[a++] = "--fetch=no";
	if (o->list)
		argv[a++] = "--list";
	if (o->force)
		argv[a++] = "--force";
	argv[a] = NULL;
	optind = 0;	/* cmd_run parses with getopt_long too: start afresh */
	opterr = 1;
	return cmd_run(a, argv);
}

/* ---- the report --------------------------------------------------------- */

struct series { char key[96]; double v[MAX_REPS]; int n; };
struct cellres { struct series *s; int n, cap, reps, incomplete; };

static char kern[MAX_KERNELS][256];
static int nkern;
static struct cellcfg cells[MAX_CELLS];
static int ncells;
static struct cellres res[MAX_KERNELS][MAX_CELLS];

static void add_value(struct cellres *r, const char *key, double v)
{
	int i;
	for (i = 0; i < r->n && strcmp(r->s[i].key, key); i++)
		;
	if (i == r->n) {
		if (r->n == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 64;
			r->s = realloc(r->s, (size_t)r->cap * sizeof *r->s);
			if (!r->s)
				pnb_die(1, "vmstat-cost: out of memory");
		}
		memset(&r->s[i], 0, sizeof r->s[i]);
		snprintf(r->s[i].key, sizeof r->s[i].key, "%s", key);
		r->n++;
	}
	if (r->s[i].n < MAX_REPS)
		r->s[i].v[r->s[i].n++] = v;
}

/* Median over repetitions, NaN when no repetition has the key. */
static double med(int k, int c, const char *key)
{
	struct cellres *r = &res[k][c];
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->s[i].key, key)) {
			double v[MAX_REPS];
			memcpy(v, r->s[i].v, sizeof(double) * (size_t)r->s[i].n);
			gsl_sort(v, 1, (size_t)r->s[i].n);
			return gsl_stats_median_from_sorted_data(v, 1, (size_t)r->s[i].n);
		}
	return NAN;
}

/* The -accel values the cells ran under, each once: a read-cost curve over
 * CPU counts means something else under single-threaded TCG. */
static char accels_seen[256];

static int rep_complete(const char *dir)
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
		if (a && !strstr(accels_seen, a) && l + strlen(a) + 3 < sizeof accels_seen)
			snprintf(accels_seen + l, sizeof accels_seen - l, "%s%s", l ? ", " : "", a);
		json_decref(m);
	}
	return ok;
}

/* One repetition's events: every result line, and the recorder's CPU time
 * per second of run from the end line. */
static void load_rep(struct cellres *r, const char *dir)
{
	char path[1400];
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/events.jsonl", dir);
	if (!(f = fopen(path, "re")))
		return;
	while (getline(&line, &cap, f) > 0) {
		json_t *o = json_loads(line, 0, NULL);
		const char *type;
		if (!o)
			continue;
		type = json_string_value(json_object_get(o, "type"));
		if (type && !strcmp(type, "result")) {
			const char *key = json_string_value(json_object_get(o, "key"));
			json_t *v = json_object_get(o, "value");
			if (key && json_is_number(v))
				add_value(r, key, json_number_value(v));
		} else if (type && !strcmp(type, "end")) {
			json_t *cpu = json_object_get(o, "recorder_cpu_ns"), *t = json_object_get(o, "t_ns");
			if (json_is_integer(cpu) && json_is_integer(t) && json_integer_value(t) > 0)
				add_value(r, "recorder_cpu_ms_per_s",
					  1e3 * (double)json_integer_value(cpu) / (double)json_integer_value(t));
		}
		json_decref(o);
	}
	free(line);
	fclose(f);
}

static void load_results(const char *out)
{
	DIR *d = opendir(out);
	struct dirent *e;

	nkern = 0;
	ncells = cells_load(out, cells, MAX_CELLS);
	if (!d)
		return;
	while ((e = readdir(d)) && nkern < MAX_KERNELS) {
		char kdir[1400];
		struct stat st;
		int any = 0;
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "scenarios") || !strcmp(e->d_name, "report"))
			continue;
		snprintf(kdir, sizeof kdir, "%s/%s", out, e->d_name);
		if (stat(kdir, &st) || !S_ISDIR(st.st_mode))
			continue;
		for (int c = 0; c < ncells; c++) {
			char cdir[1600];
			DIR *rd;
			struct dirent *re;
			snprintf(cdir, sizeof cdir, "%s/%s", kdir, cells[c].name);
			if (!(rd = opendir(cdir)))
				continue;
			while ((re = readdir(rd))) {
				char rdir[1900];
				uint64_t rep;
				if (pnb_parse_u64(re->d_name, &rep))
					continue;
				snprintf(rdir, sizeof rdir, "%s/%s", cdir, re->d_name);
				if (!rep_complete(rdir)) {
					res[nkern][c].incomplete++;
					continue;
				}
				res[nkern][c].reps++;
				load_rep(&res[nkern][c], rdir);
				any = 1;
			}
			closedir(rd);
		}
		if (any)
			snprintf(kern[nkern++], sizeof kern[0], "%s", e->d_name);
		else
			for (int c = 0; c < ncells; c++)
				res[nkern][c] = (struct cellres){ 0 };
	}
	closedir(d);
}

static const char *const read_files[] = { "vmstat", "meminfo", "pressure", "zoneinfo",
					  "memcg-v1", "memcg-v2" };
static const char *const stale_counters[] = { "nr_free_pages", "nr_zone_inactive_anon",
	"nr_zone_active_anon", "nr_inactive_anon", "nr_active_anon", "nr_anon_pages" };

/* Sorted distinct values of a cell field over the cells of one suite. */
static int distinct(enum suite s, int which, unsigned *out)
{
	int n = 0;
	for (int c = 0; c < ncells; c++) {
		if (cells[c].suite != s)
			continue;
		unsigned v = which == 0 ? cells[c].cpus : which == 1 ? cells[c].maxcpus : cells[c].load;
		int k;
		for (k = 0; k < n && out[k] != v; k++)
			;
		if (k == n && n < MAX_VALS) {
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

static int find_cell(enum suite s, unsigned cpus, unsigned maxcpus, unsigned load, const char *rate)
{
	for (int c = 0; c < ncells; c++)
		if (cells[c].suite == s && cells[c].cpus == cpus && cells[c].maxcpus == maxcpus &&
		    (s != S_READ || cells[c].load == load) && (s != S_STALE || !strcmp(cells[c].rate, rate)))
			return c;
	return -1;
}

/* Has kernel k a value of key in any cell of suite s (and, for the read
 * suite, of that maxcpus and load)?  Series without one stay out of the
 * gnuplot data: an all-missing column is a legend entry with no line. */
static int has_data(int k, enum suite s, const char *key, int maxcpus, int load)
{
	for (int c = 0; c < ncells; c++)
		if (cells[c].suite == s && (maxcpus < 0 || (cells[c].maxcpus == (unsigned)maxcpus &&
							    cells[c].load == (unsigned)load)) &&
		    !isnan(med(k, c, key)))
			return 1;
	return 0;
}

/* "12.3" (us) or "-" into buf, for the tables. */
static const char *us(double ns, char *buf, size_t len)
{
	if (isnan(ns))
		snprintf(buf, len, "-");
	else if (ns >= 1e7)
		snprintf(buf, len, "%.0f", ns / 1e3);
	else
		snprintf(buf, len, "%.1f", ns / 1e3);
	return buf;
}

static const char *num(double v, const char *fmt, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, fmt, v);
	return buf;
}

/* The gnuplot input of one plot script: DIR/<script>.vars names the items
 * (files, counters) that have data, one DIR/<script>-<item>.dat each. */
struct datset {
	const char *dir, *script;
	FILE *vars;
	int n;
};

static int datset_open(struct datset *ds, const char *dir, const char *script, const char *listvar)
{
	char path[1300];

	*ds = (struct datset){ .dir = dir, .script = script };
	snprintf(path, sizeof path, "%s/%s.vars", dir, script);
	if (!(ds->vars = fopen(path, "we")))
		return -errno;
	fprintf(ds->vars, "%s = \"", listvar);
	return 0;
}

static FILE *datset_file(const struct datset *ds, const char *item)
{
	char path[1300];

	snprintf(path, sizeof path, "%s/%s-%s.dat", ds->dir, ds->script, item);
	return fopen(path, "we");
}

/* An item's file is done: listed when it has data, removed when not. */
static void datset_item(struct datset *ds, FILE *d, const char *item, int have)
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

static void datset_close(struct datset *ds, int ncols)
{
	fprintf(ds->vars, "\"\nncols = %d\n", ncols);
	fclose(ds->vars);
}

static void report_read(FILE *t, const char *dir)
{
	unsigned cpus[MAX_VALS], maxc[MAX_VALS], load[MAX_VALS];
	int nc = distinct(S_READ, 0, cpus), nm = distinct(S_READ, 1, maxc), nl = distinct(S_READ, 2, load);
	static const char *const modes[] = { "read", "openread" };
	char a[32], b[32], cell[64];

	if (!nc)
		return;
	for (int k = 0; k < nkern; k++)
		for (int md = 0; md < 2; md++) {
			int any = 0;
			for (int c = 0; c < ncells && !any; c++) {
				char key[64];
				snprintf(key, sizeof key, "%s_ns_p50:vmstat", modes[md]);
				any = cells[c].suite == S_READ && !isnan(med(k, c, key));
			}
			if (!any)
				continue;
			fprintf(t, "\nvm_stat read cost on %s: %s, p50/p99 in us, median of repetitions\n",
				kern[k], md ? "open+read+close" : "whole-file pread at 0 on an open fd");
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
							int c = find_cell(S_READ, cpus[i], maxc[m], load[l], NULL);
							char k50[64], k99[64];
							snprintf(k50, sizeof k50, "%s_ns_p50:%s", modes[md], read_files[f]);
							snprintf(k99, sizeof k99, "%s_ns_p99:%s", modes[md], read_files[f]);
							double p50 = c >= 0 ? med(k, c, k50) : NAN, p99 = c >= 0 ? med(k, c, k99) : NAN;
							have |= !isnan(p50);
							snprintf(cell, sizeof cell, "%s/%s", us(p50, a, sizeof a), us(p99, b, sizeof b));
							o += snprintf(line + o, sizeof line - (size_t)o, " %12s", cell);
						}
						if (have)
							fprintf(t, "%s\n", line);
					}
		}

	/* gnuplot data: one file per /proc file; one row per CPU count, one
	 * column pair (p50, p99) per kernel x load x maxcpus. */
	struct datset ds;
	if (datset_open(&ds, dir, "vmstat-cost", "files"))
		return;
	int nseries = 0;
	for (size_t f = 0; f < sizeof read_files / sizeof *read_files; f++) {
		FILE *d;
		int have = 0;
		if (!(d = datset_file(&ds, read_files[f])))
			continue;
		fprintf(d, "cpus");
		for (int k = 0; k < nkern; k++)
			for (int m = 0; m < nm; m++)
				for (int l = 0; l < nl; l++) {
					char mx[16] = "";
					if (!has_data(k, S_READ, "iterations_count", (int)maxc[m], (int)load[l]))
						continue;
					nseries += f == 0;
					if (maxc[m])
						snprintf(mx, sizeof mx, " m%u", maxc[m]);
					fprintf(d, " \"%s %s%s p50\" \"%s %s%s p99\"", kern[k],
						load[l] ? "load" : "idle", mx, kern[k], load[l] ? "load" : "idle", mx);
				}
		fprintf(d, "\n");
		for (int i = 0; i < nc; i++) {
			fprintf(d, "%u", cpus[i]);
			for (int k = 0; k < nkern; k++)
				for (int m = 0; m < nm; m++)
					for (int l = 0; l < nl; l++) {
						int c = find_cell(S_READ, cpus[i], maxc[m], load[l], NULL);
						char k50[64], k99[64];
						if (!has_data(k, S_READ, "iterations_count", (int)maxc[m], (int)load[l]))
							continue;
						snprintf(k50, sizeof k50, "read_ns_p50:%s", read_files[f]);
						snprintf(k99, sizeof k99, "read_ns_p99:%s", read_files[f]);
						double p50 = c >= 0 ? med(k, c, k50) : NAN, p99 = c >= 0 ? med(k, c, k99) : NAN;
						have |= !isnan(p50);
						fprintf(d, " %s %s", num(p50, "%.0f", a, sizeof a), num(p99, "%.0f", b, sizeof b));
					}
			fprintf(d, "\n");
		}
		datset_item(&ds, d, read_files[f], have);
	}
	datset_close(&ds, 1 + 2 * nseries);
}

static void report_stale(FILE *t, const char *dir)
{
	unsigned cpus[MAX_VALS];
	int nc = distinct(S_STALE, 0, cpus);
	char rates[MAX_VALS][24], a[32], b[32], cell[64];
	int nr = 0;

	if (!nc)
		return;
	for (int c = 0; c < ncells; c++) {
		int k;
		if (cells[c].suite != S_STALE)
			continue;
		for (k = 0; k < nr && strcmp(rates[k], cells[c].rate); k++)
			;
		if (k == nr && nr < MAX_VALS)
			snprintf(rates[nr++], sizeof rates[0], "%s", cells[c].rate);
	}
	for (int k = 0; k < nkern; k++) {
		int any = 0;
		for (int c = 0; c < ncells && !any; c++)
			any = cells[c].suite == S_STALE && !isnan(med(k, c, "sample_count"));
		if (!any)
			continue;
		fprintf(t, "\nvm_stat counter staleness on %s: |read - read after vm.stat_refresh|,\n"
			"pages p50/max (control: same spacing, no refresh), median of repetitions\n", kern[k]);
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
						int c = find_cell(S_STALE, cpus[i], 0, 0, rates[r]);
						char k50[96], kmax[96];
						snprintf(k50, sizeof k50, "%s_pages_p50:%s", ctl ? "control" : "drift", stale_counters[s]);
						snprintf(kmax, sizeof kmax, "%s_pages_max:%s", ctl ? "control" : "drift", stale_counters[s]);
						double p50 = c >= 0 ? med(k, c, k50) : NAN, mx = c >= 0 ? med(k, c, kmax) : NAN;
						have |= !isnan(p50);
						snprintf(cell, sizeof cell, "%s/%s", num(p50, "%.0f", a, sizeof a), num(mx, "%.0f", b, sizeof b));
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
				int c = find_cell(S_STALE, cpus[i], 0, 0, rates[0]);
				double v = c >= 0 ? med(k, c, extra[x][0]) : NAN;
				fprintf(t, " %11s", x == 2 ? us(v, a, sizeof a) : num(v, "%.0f", a, sizeof a));
			}
			fprintf(t, "\n");
		}
		fprintf(t, "%-30s", "nr_free_pages max, % MemTotal");
		for (int i = 0; i < nc; i++) {
			double worst = NAN;
			for (int r = 0; r < nr; r++) {
				int c = find_cell(S_STALE, cpus[i], 0, 0, rates[r]);
				double v = c >= 0 ? med(k, c, "drift_pct_max:nr_free_pages") : NAN;
				if (!isnan(v) && (isnan(worst) || v > worst))
					worst = v;
			}
			fprintf(t, " %11s", num(worst, "%.4f", a, sizeof a));
		}
		fprintf(t, "\n");
	}

	/* gnuplot: one file per counter, rows CPU count, columns kernel x rate
	 * (drift p50, drift max), plus the threshold bound per kernel. */
	struct datset ds;
	if (datset_open(&ds, dir, "staleness", "counters"))
		return;
	int nk = 0;
	for (size_t s = 0; s < sizeof stale_counters / sizeof *stale_counters; s++) {
		FILE *d;
		int have = 0;
		if (!(d = datset_file(&ds, stale_counters[s])))
			continue;
		fprintf(d, "cpus");
		for (int k = 0; k < nkern; k++) {
			if (!has_data(k, S_STALE, "sample_count", -1, 0))
				continue;
			nk += s == 0;
			for (int r = 0; r < nr; r++)
				fprintf(d, " \"%s load %s p50\" \"%s load %s max\"", kern[k], rates[r], kern[k],
					rates[r]);
			fprintf(d, " \"%s bound\"", kern[k]);
		}
		fprintf(d, "\n");
		for (int i = 0; i < nc; i++) {
			fprintf(d, "%u", cpus[i]);
			for (int k = 0; k < nkern; k++) {
				char k50[96], kmax[96];
				if (!has_data(k, S_STALE, "sample_count", -1, 0))
					continue;
				snprintf(k50, sizeof k50, "drift_pages_p50:%s", stale_counters[s]);
				snprintf(kmax, sizeof kmax, "drift_pages_max:%s", stale_counters[s]);
				for (int r = 0; r < nr; r++) {
					int c = find_cell(S_STALE, cpus[i], 0, 0, rates[r]);
					double p50 = c >= 0 ? med(k, c, k50) : NAN, mx = c >= 0 ? med(k, c, kmax) : NAN;
					have |= !isnan(p50);
					fprintf(d, " %s %s", num(p50, "%.0f", a, sizeof a), num(mx, "%.0f", b, sizeof b));
				}
				int c = find_cell(S_STALE, cpus[i], 0, 0, rates[0]);
				fprintf(d, " %s", num(c >= 0 ? med(k, c, strncmp(stale_counters[s], "nr_zone_", 8) &&
						   strcmp(stale_counters[s], "nr_free_pages") ? "node_bound_pages" :
						   "zone_bound_pages") : NAN, "%.0f", a, sizeof a));
			}
			fprintf(d, "\n");
		}
		datset_item(&ds, d, stale_counters[s], have);
	}
	datset_close(&ds, 1 + nk * (2 * nr + 1));
}

static void report_mech(FILE *t, const char *dir)
{
	static const char *const wls[][2] = { { "bb", "busy-beaver" }, { "fr", "fixed-rate" } };
	char a[32], b[32], path[1300];
	int any = 0;

	for (int c = 0; c < ncells; c++)
		any |= cells[c].suite == S_MECH;
	if (!any)
		return;
	for (int k = 0; k < nkern; k++) {
		int have = 0;
		for (int c = 0; c < ncells && !have; c++)
			have = cells[c].suite == S_MECH && !isnan(med(k, c, "recorder_cpu_ms_per_s"));
		if (!have)
			continue;
		fprintf(t, "\nmechanism cost on %s: allocation throughput MiB/s, wall us per page\n"
			"(one thread), workload CPU us per page, recorder CPU ms per s of run;\n"
			"median of repetitions\n", kern[k]);
		fprintf(t, "%-18s %-12s %9s %9s %9s %9s\n", "armed", "workload", "MiB/s", "us/page",
			"cpu us/pg", "rec ms/s");
		for (int c = 0; c < ncells; c++) {
			char label[48];
			if (cells[c].suite != S_MECH || isnan(med(k, c, "recorder_cpu_ms_per_s")))
				continue;
			if (!strcmp(cells[c].mech, "base"))
				snprintf(label, sizeof label, "oom probe only");
			else if (!strcmp(cells[c].mech, "psi"))
				snprintf(label, sizeof label, "%s PSI triggers", cells[c].param);
			else if (!strcmp(cells[c].mech, "vmp"))
				snprintf(label, sizeof label, "%s vmpressure", cells[c].param);
			else if (!strcmp(cells[c].mech, "sample"))
				snprintf(label, sizeof label, "sampler %s", cells[c].param);
			else
				snprintf(label, sizeof label, "boot psi=%s", cells[c].param);
			double pg = med(k, c, "alloc_page_ns_mean");
			char cpu[32];
			fprintf(t, "%-18s %-12s %9s %9s %9s %9s\n", label,
				!strcmp(cells[c].wl, "bb") ? "busy-beaver" : "fixed-rate",
				num(med(k, c, "alloc_MBps"), "%.1f", a, sizeof a),
				num(pg / 1e3, "%.2f", b, sizeof b),
				num(med(k, c, "alloc_cpu_page_ns") / 1e3, "%.2f", cpu, sizeof cpu),
				num(med(k, c, "recorder_cpu_ms_per_s"), "%.2f", path, sizeof path));
		}
	}

	/* gnuplot: rows listeners (0 = base cell), columns kernel x workload x
	 * mechanism (MiB/s). */
	unsigned ls[MAX_VALS];
	int nls = 0;
	ls[nls++] = 0;
	for (int c = 0; c < ncells; c++) {
		uint64_t v;
		int k;
		if (cells[c].suite != S_MECH || strcmp(cells[c].mech, "psi") || pnb_parse_u64(cells[c].param, &v))
			continue;
		for (k = 0; k < nls && ls[k] != v; k++)
			;
		if (k == nls && nls < MAX_VALS) {
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
	for (int k = 0; k < nkern; k++)
		for (int w = 0; w < 2 && has_data(k, S_MECH, "alloc_MBps", -1, 0); w++) {
			fprintf(d, " \"%s %s PSI\" \"%s %s vmpressure\"", kern[k], wls[w][1], kern[k], wls[w][1]);
			cols += 2;
		}
	fprintf(d, "\n");
	int panel[2] = { 0, 0 };
	for (int i = 0; i < nls; i++) {
		fprintf(d, "%u", ls[i]);
		for (int k = 0; k < nkern; k++)
			for (int w = 0; w < 2 && has_data(k, S_MECH, "alloc_MBps", -1, 0); w++)
				for (int m = 0; m < 2; m++) {
					double v = NAN;
					for (int c = 0; c < ncells; c++) {
						char p[16];
						snprintf(p, sizeof p, "%u", ls[i]);
						if (cells[c].suite != S_MECH || strcmp(cells[c].wl, wls[w][0]))
							continue;
						if ((ls[i] == 0 && !strcmp(cells[c].mech, "base")) ||
						    (ls[i] && !strcmp(cells[c].mech, m ? "vmp" : "psi") && !strcmp(cells[c].param, p)))
							v = med(k, c, "alloc_MBps");
					}
					panel[w] |= !isnan(v);
					fprintf(d, " %s", num(v, "%.2f", a, sizeof a));
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

/* gnuplot, if installed: PNG and SVG next to the data, and the
 * dumb-terminal rendering appended to the text report.  Returns 1 when the
 * PNG was written (the caller lists it). */
static int plot(const char *dir, const char *script, FILE *t)
{
	static const char *const terms[] = { "png", "svg", "dumb" };
	char gp[1400], vars[1400], cmd[4096];
	int made = 0;

	snprintf(gp, sizeof gp, "%s/plots/%s.gp", pnb_topdir(), script);
	snprintf(vars, sizeof vars, "%s/%s.vars", dir, script);
	if (access(gp, R_OK) || access(vars, R_OK))
		return 0;
	if (system("command -v gnuplot >/dev/null 2>&1")) {
		fprintf(t, "\n(gnuplot not installed: no plot for %s)\n", script);
		return 0;
	}
	for (size_t i = 0; i < sizeof terms / sizeof *terms; i++) {
		snprintf(cmd, sizeof cmd, "gnuplot -e \"dir='%s'; term='%s'\" '%s' 2>>'%s/gnuplot.log'",
			 dir, terms[i], gp, dir);
		if (strcmp(terms[i], "dumb")) {
			if (system(cmd))
				pnb_err("vmstat-cost: gnuplot %s failed on %s (see %s/gnuplot.log)",
					terms[i], script, dir);
			snprintf(vars, sizeof vars, "%s/%s.%s", dir, script, terms[i]);
			made |= !access(vars, R_OK) && !strcmp(terms[i], "png");
			continue;
		}
		FILE *p = popen(cmd, "re");
		if (p) {
			char buf[4096];
			size_t n;
			fflush(t);
			while ((n = fread(buf, 1, sizeof buf, p)) > 0)
				fwrite(buf, 1, n, t);
			pclose(p);
		}
	}
	return made;
}

static int report(const char *out)
{
	char dir[1200], path[1300];
	FILE *t;

	load_results(out);
	if (!ncells) {
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
	fprintf(t, "pnbench vmstat-cost: %s\n", out);
	fprintf(t, "accelerator: %s (meta.json guest.accel of each cell)\n",
		accels_seen[0] ? accels_seen : "unknown (no meta.json read yet)");
	fprintf(t, "Under TCG every timing is emulated: compare shapes across CPU counts, not\n"
		   "absolute numbers (docs/vmstat-cost.md); only thread=multi runs vCPUs in\n"
		   "parallel, which the SMP sweep needs.\n");
	for (int k = 0; k < nkern; k++) {
		int reps = 0, inc = 0;
		for (int c = 0; c < ncells; c++) {
			reps += res[k][c].reps;
			inc += res[k][c].incomplete;
		}
		fprintf(t, "kernel %s: %d complete runs%s", kern[k], reps, inc ? "" : "\n");
		if (inc)
			fprintf(t, ", %d incomplete (left out)\n", inc);
	}
	report_read(t, dir);
	report_stale(t, dir);
	report_mech(t, dir);
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

/* ---- the command -------------------------------------------------------- */

int cmd_vmstat_cost(int argc, char **argv)
{
	enum { O_SUITE = 256, O_CPUS, O_MAXCPUS, O_LOAD, O_RATES, O_MODE, O_DURATION, O_MEMORY,
	       O_LISTENERS, O_SAMPLE, O_PSIBOOT, O_MECHWL, O_LIST, O_REPORT, O_FETCH };
	static const struct option lopts[] = {
		{ "kernel", required_argument, 0, 'k' }, { "suite", required_argument, 0, O_SUITE },
		{ "cpus", required_argument, 0, O_CPUS }, { "maxcpus", required_argument, 0, O_MAXCPUS },
		{ "load", required_argument, 0, O_LOAD }, { "rates", required_argument, 0, O_RATES },
		{ "mode", required_argument, 0, O_MODE }, { "duration", required_argument, 0, O_DURATION },
		{ "memory", required_argument, 0, O_MEMORY },
		{ "listeners", required_argument, 0, O_LISTENERS },
		{ "sample", required_argument, 0, O_SAMPLE }, { "psi-boot", required_argument, 0, O_PSIBOOT },
		{ "mech-workloads", required_argument, 0, O_MECHWL },
		{ "reps", required_argument, 0, 'r' }, { "jobs", required_argument, 0, 'j' },
		{ "out", required_argument, 0, 'o' }, { "list", no_argument, 0, O_LIST },
		{ "report", no_argument, 0, O_REPORT }, { "fetch", required_argument, 0, O_FETCH },
		{ "force", no_argument, 0, 'f' },
		{ "help", no_argument, 0, 'h' }, { 0 }
	};
	static struct opts o;
	static struct cellcfg cl[MAX_CELLS];
	static char paths[RUN_BATCH][1200];
	char f[MAX_VALS][24];
	uint64_t v;
	int c, n;

	memset(&o, 0, sizeof o);
	o.suites[S_READ] = o.suites[S_STALE] = 1;
	o.ncpus = uint_list("--cpus", "1,2,4,8,16", o.cpus, 1, 256);
	o.nmaxcpus = uint_list("--maxcpus", "0", o.maxcpus, 0, 256);
	o.nload = uint_list("--load", "0,1", o.load, 0, 16);
	o.nrates = split_list("0,64M/s,max", o.rates, MAX_VALS);
	o.nlisteners = uint_list("--listeners", "0,1,16,256", o.listeners, 0, 256);
	o.nsample = 0;
	for (int i = 0, k = split_list("10ms,100ms,1000ms", f, MAX_VALS); i < k; i++)
		snprintf(o.sample[o.nsample++], sizeof o.sample[0], "%s", f[i]);
	o.npsiboot = uint_list("--psi-boot", "0,1", o.psiboot, 0, 1);
	o.nmechwl = split_list("busy-beaver,fixed-rate", o.mechwl, 2);
	o.duration_ns = 5 * NS_PER_S;
	o.memory = 512ULL << 20;
	o.mode = "pread";
	o.reps = 3;
	o.jobs = 1;
	o.fetch = 1;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:r:j:o:fh", lopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (o.nk >= MAX_KERNELS)
				pnb_die(2, "vmstat-cost: more than %d kernels", MAX_KERNELS);
			o.kernels[o.nk++] = optarg;
			break;
		case O_SUITE:
			if ((n = split_list(optarg, f, 3)) < 0)
				pnb_die(2, "vmstat-cost: --suite '%s': want read,staleness,mechanism", optarg);
			memset(o.suites, 0, sizeof o.suites);
			for (int i = 0; i < n; i++) {
				int s;
				for (s = 0; s < 3 && strcmp(f[i], suite_names[s]); s++)
					;
				if (s == 3)
					pnb_die(2, "vmstat-cost: --suite: '%s' is not read, staleness or mechanism", f[i]);
				o.suites[s] = 1;
			}
			break;
		case O_CPUS: o.ncpus = uint_list("--cpus", optarg, o.cpus, 1, 256); break;
		case O_MAXCPUS: o.nmaxcpus = uint_list("--maxcpus", optarg, o.maxcpus, 0, 256); break;
		case O_LOAD: o.nload = uint_list("--load", optarg, o.load, 0, 16); break;
		case O_RATES:
			if ((o.nrates = split_list(optarg, o.rates, MAX_VALS)) < 0)
				pnb_die(2, "vmstat-cost: --rates '%s': need a comma-separated list", optarg);
			for (int i = 0; i < o.nrates; i++)
				if (strcmp(o.rates[i], "0") && strcmp(o.rates[i], "max") &&
				    pnb_parse_rate_bps(o.rates[i], &v))
					pnb_die(2, "vmstat-cost: --rates: '%s' is not 0, max or a rate (64M/s)",
						o.rates[i]);
			break;
		case O_MODE:
			if (strcmp(optarg, "pread") && strcmp(optarg, "open") && strcmp(optarg, "both"))
				pnb_die(2, "vmstat-cost: --mode '%s': pread, open or both", optarg);
			o.mode = optarg;
			break;
		case O_DURATION:
			if (pnb_parse_duration_ns(optarg, &o.duration_ns) || o.duration_ns < 100 * NS_PER_MS ||
			    o.duration_ns > 3600 * NS_PER_S)
				pnb_die(2, "vmstat-cost: --duration '%s': need 100ms..1h", optarg);
			break;
		case O_MEMORY:
			if (pnb_parse_size_bytes(optarg, &o.memory) || o.memory < (128ULL << 20))
				pnb_die(2, "vmstat-cost: --memory '%s': need a size of at least 128M", optarg);
			break;
		case O_LISTENERS: o.nlisteners = uint_list("--listeners", optarg, o.listeners, 0, 256); break;
		case O_SAMPLE:
			if ((n = split_list(optarg, f, MAX_VALS)) < 0)
				pnb_die(2, "vmstat-cost: --sample '%s': need a list of intervals", optarg);
			o.nsample = 0;
			for (int i = 0; i < n; i++) {
				if (pnb_parse_duration_ns(f[i], &v) || !v || strlen(f[i]) >= sizeof o.sample[0])
					pnb_die(2, "vmstat-cost: --sample: '%s' is not an interval (100ms)", f[i]);
				snprintf(o.sample[o.nsample++], sizeof o.sample[0], "%s", f[i]);
			}
			break;
		case O_PSIBOOT: o.npsiboot = uint_list("--psi-boot", optarg, o.psiboot, 0, 1); break;
		case O_MECHWL:
			if ((o.nmechwl = split_list(optarg, o.mechwl, 2)) < 0)
				pnb_die(2, "vmstat-cost: --mech-workloads '%s': busy-beaver,fixed-rate", optarg);
			for (int i = 0; i < o.nmechwl; i++)
				if (strcmp(o.mechwl[i], "busy-beaver") && strcmp(o.mechwl[i], "fixed-rate"))
					pnb_die(2, "vmstat-cost: --mech-workloads: '%s' is not busy-beaver or "
						"fixed-rate", o.mechwl[i]);
			break;
		case 'r':
			if (pnb_parse_u64(optarg, &v) || v < 1 || v > MAX_REPS)
				pnb_die(2, "vmstat-cost: --reps '%s': need 1..%d", optarg, MAX_REPS);
			o.reps = (unsigned)v;
			break;
		case 'j':
			if (pnb_parse_u64(optarg, &v) || v < 1 || v > 64)
				pnb_die(2, "vmstat-cost: --jobs '%s': need 1..64", optarg);
			o.jobs = (unsigned)v;
			break;
		case 'o': snprintf(o.out, sizeof o.out, "%s", optarg); break;
		case O_LIST: o.list = 1; break;
		case 'f': o.force = 1; break;
		case O_REPORT: o.report_only = 1; break;
		case O_FETCH:
			if (!strcmp(optarg, "no")) o.fetch = 0;
			else if (!strcmp(optarg, "yes")) o.fetch = 1;
			else pnb_die(2, "vmstat-cost: --fetch '%s': yes or no", optarg);
			break;
		case 'h': usage(stdout); return 0;
		default:
			/* getopt's own message is off: one line, who speaks. */
			pnb_die(2, "vmstat-cost: %s '%s' (see 'pnbench vmstat-cost --help')",
				c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
		}
	}
	if (optind < argc)
		pnb_die(2, "vmstat-cost: unexpected argument '%s'", argv[optind]);
	if (o.report_only) {
		if (!o.out[0])
			pnb_die(2, "vmstat-cost: --report needs --out DIR (a result set)");
		return report(o.out);
	}
	if (!o.nk)
		pnb_die(2, "vmstat-cost: need --kernel (see 'pnbench vmstat-cost --help')");
	if (!o.out[0]) {
		char ts[32];
		time_t now = time(NULL);
		strftime(ts, sizeof ts, "%Y%m%d-%H%M%S", gmtime(&now));
		snprintf(o.out, sizeof o.out, "%s/results/vmstat-cost/%s", pnb_topdir(), ts);
	}

	int failed = 0;
	for (int k = 0; k < o.nk; k++) {
		int native = !strcmp(o.kernels[k], "native");
		int reader = 0, lcpu[1024], nl = 0;
		char why[256], sdir[1200];
		unsigned host = 0;

		if (native && o.suites[S_MECH] && !has_cap_sys_resource())
			printf("vmstat-cost: native: no CAP_SYS_RESOURCE, so PSI triggers use 2 s windows "
			       "(unprivileged triggers, evaluated by the averages worker)\n");
		if (native) {
			nl = native_cpus(&reader, lcpu, 1024, why, sizeof why);
			if (nl < 0)
				pnb_die(1, "vmstat-cost: native: %s", why);
			host = (unsigned)nl + 1;
			printf("vmstat-cost: native: reader on CPU %d, load on %d other core(s) (hwloc)\n",
			       reader, nl);
		}
		n = make_cells(&o, native, host, cl, MAX_CELLS);
		if (n < 0)
			pnb_die(2, "vmstat-cost: more than %d cells: narrow the lists", MAX_CELLS);
		snprintf(sdir, sizeof sdir, "%s/scenarios/%s", o.out, native ? "native" : "guest");
		if (pnb_mkdir_all(sdir, 0755))
			pnb_die(1, "vmstat-cost: cannot create %s: %s", sdir, strerror(errno));
		if (cells_save(o.out, cl, n))
			pnb_die(1, "vmstat-cost: cannot write %s/cells.tsv: %s", o.out, strerror(errno));
		for (int i = 0; i < n; i += RUN_BATCH) {
			int m = n - i < RUN_BATCH ? n - i : RUN_BATCH;
			for (int j = 0; j < m; j++)
				if (write_scenario(&o, &cl[i + j], sdir, reader, lcpu, nl, paths[j], sizeof paths[j]))
					pnb_die(1, "vmstat-cost: cannot write %s: %s", paths[j], strerror(errno));
			fflush(stdout);
			if (run_batch(&o, o.kernels[k], paths, m))
				failed = 1;
		}
	}
	if (o.list)
		return 0;
	int r = report(o.out);
	return failed ? PNB_EXIT_FAIL : r;
}
