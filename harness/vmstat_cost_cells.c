/* pnbench vmstat-cost: the cells a sweep generates, each an ordinary
 * scenario file, and OUT/cells.tsv that says what each one varies. */
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

const char *const vc_suite_names[3] = { "read", "staleness", "mechanism" };

/* ---- hwloc: the native reader and load CPUs ----------------------------- */

/* First PU of each core, core order; the reader gets the first core, the
 * load the others (different cores, so the load never shares the reader's
 * core through SMT).  A single-core machine falls back to its other PUs. */
int vc_native_cpus(int *reader, int *load, int max, char *why, size_t len)
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

int vc_has_cap_sys_resource(void)
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

int vc_write_scenario(const struct opts *o, const struct cellcfg *c, const char *dir,
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
		vc_suite_names[c->suite]);
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
int vc_make_cells(const struct opts *o, int native, unsigned host_cpus, struct cellcfg *c, int max)
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
					     .psi_unpriv = native && !vc_has_cap_sys_resource() };
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
int vc_cells_load(const char *out, struct cellcfg *c, int max)
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
			if (!strcmp(suite, vc_suite_names[s]))
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

int vc_cells_save(const char *out, const struct cellcfg *add, int nadd)
{
	struct cellcfg *all = calloc(VC_MAX_CELLS, sizeof *all);
	char path[1200];
	int e = 0, n;

	if (!all)
		return -ENOMEM;
	n = vc_cells_load(out, all, VC_MAX_CELLS);

	for (int i = 0; i < nadd; i++) {
		int k;
		for (k = 0; k < n && strcmp(all[k].name, add[i].name); k++)
			;
		if (k == n && n < VC_MAX_CELLS)
			all[n++] = add[i];
	}
	snprintf(path, sizeof path, "%s/cells.tsv", out);
	FILE *f = fopen(path, "we");
	if (!f) {
		e = -errno;
		free(all);
		return e;
	}
	fprintf(f, "# scenario suite cpus maxcpus load rate workload mechanism param\n");
	for (int i = 0; i < n; i++)
		fprintf(f, "%s %s %u %u %u %s %s %s %s\n", all[i].name, vc_suite_names[all[i].suite],
			all[i].cpus, all[i].maxcpus, all[i].load, all[i].rate[0] ? all[i].rate : "-",
			all[i].wl[0] ? all[i].wl : "-", all[i].mech[0] ? all[i].mech : "-",
			all[i].param[0] ? all[i].param : "-");
	free(all);
	return fclose(f) ? -errno : 0;
}

