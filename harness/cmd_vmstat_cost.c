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
 * run by the runner (runner.h) as `pnbench run` runs, so results are ordinary result
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
#include "clock.h"
#include "fsutil.h"
#include "log.h"
#include "parse.h"
#include "runner.h"
#include "vmstat_cost.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* A list of numbers min..max: its count, or -1 after a message. */
static int uint_list(const char *opt, const char *s, unsigned *out, unsigned min, unsigned max)
{
	char f[VC_MAX_VALS][24];
	int n = split_list(s, f, VC_MAX_VALS);
	uint64_t v;

	if (n < 0) {
		pnb_err("vmstat-cost: %s '%s': need a comma-separated list (at most %d)", opt, s,
			VC_MAX_VALS);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (pnb_parse_u64(f[i], &v) || v < min || v > max) {
			pnb_err("vmstat-cost: %s '%s': '%s' is not a number %u..%u", opt, s, f[i], min, max);
			return -1;
		}
		out[i] = (unsigned)v;
	}
	return n;
}

enum { O_SUITE = 256, O_CPUS, O_MAXCPUS, O_LOAD, O_RATES, O_MODE, O_DURATION, O_MEMORY,
       O_LISTENERS, O_SAMPLE, O_PSIBOOT, O_MECHWL, O_LIST, O_REPORT, O_FETCH };

static void defaults(struct opts *o)
{
	char f[VC_MAX_VALS][24];

	memset(o, 0, sizeof *o);
	o->suites[S_READ] = o->suites[S_STALE] = 1;
	o->ncpus = uint_list("--cpus", "1,2,4,8,16", o->cpus, 1, 256);
	o->nmaxcpus = uint_list("--maxcpus", "0", o->maxcpus, 0, 256);
	o->nload = uint_list("--load", "0,1", o->load, 0, 16);
	o->nrates = split_list("0,64M/s,max", o->rates, VC_MAX_VALS);
	o->nlisteners = uint_list("--listeners", "0,1,16,256", o->listeners, 0, 256);
	for (int i = 0, k = split_list("10ms,100ms,1000ms", f, VC_MAX_VALS); i < k; i++)
		snprintf(o->sample[o->nsample++], sizeof o->sample[0], "%s", f[i]);
	o->npsiboot = uint_list("--psi-boot", "0,1", o->psiboot, 0, 1);
	o->nmechwl = split_list("busy-beaver,fixed-rate", o->mechwl, 2);
	o->duration_ns = 5 * NS_PER_S;
	o->memory = 512ULL << 20;
	o->mode = "pread";
	o->reps = 3;
	o->jobs = 1;
	o->fetch = 1;
}

#define BAD_GO(...) do { pnb_err(__VA_ARGS__); rc = PNB_EXIT_USAGE; goto out; } while (0)
#define BAD(...) do { pnb_err(__VA_ARGS__); return PNB_EXIT_USAGE; } while (0)

static int parse_suites(struct opts *o, const char *arg)
{
	char f[VC_MAX_VALS][24];
	int n = split_list(arg, f, 3);

	if (n < 0)
		BAD("vmstat-cost: --suite '%s': want read,staleness,mechanism", arg);
	memset(o->suites, 0, sizeof o->suites);
	for (int i = 0; i < n; i++) {
		int s;
		for (s = 0; s < 3 && strcmp(f[i], vc_suite_names[s]); s++)
			;
		if (s == 3)
			BAD("vmstat-cost: --suite: '%s' is not read, staleness or mechanism", f[i]);
		o->suites[s] = 1;
	}
	return 0;
}

/* The options that take lists of words. */
static int parse_words(struct opts *o, int c, const char *arg)
{
	char f[VC_MAX_VALS][24];
	uint64_t v;
	int n;

	switch (c) {
	case O_RATES:
		if ((o->nrates = split_list(arg, o->rates, VC_MAX_VALS)) < 0)
			BAD("vmstat-cost: --rates '%s': need a comma-separated list", arg);
		for (int i = 0; i < o->nrates; i++)
			if (strcmp(o->rates[i], "0") && strcmp(o->rates[i], "max") &&
			    pnb_parse_rate_bps(o->rates[i], &v))
				BAD("vmstat-cost: --rates: '%s' is not 0, max or a rate (64M/s)", o->rates[i]);
		return 0;
	case O_SAMPLE:
		if ((n = split_list(arg, f, VC_MAX_VALS)) < 0)
			BAD("vmstat-cost: --sample '%s': need a list of intervals", arg);
		o->nsample = 0;
		for (int i = 0; i < n; i++) {
			if (pnb_parse_duration_ns(f[i], &v) || !v || strlen(f[i]) >= sizeof o->sample[0])
				BAD("vmstat-cost: --sample: '%s' is not an interval (100ms)", f[i]);
			snprintf(o->sample[o->nsample++], sizeof o->sample[0], "%s", f[i]);
		}
		return 0;
	case O_MECHWL:
		if ((o->nmechwl = split_list(arg, o->mechwl, 2)) < 0)
			BAD("vmstat-cost: --mech-workloads '%s': busy-beaver,fixed-rate", arg);
		for (int i = 0; i < o->nmechwl; i++)
			if (strcmp(o->mechwl[i], "busy-beaver") && strcmp(o->mechwl[i], "fixed-rate"))
				BAD("vmstat-cost: --mech-workloads: '%s' is not busy-beaver or fixed-rate",
				    o->mechwl[i]);
		return 0;
	}
	return parse_suites(o, arg);
}

/* One option into o: 0, an exit code after a message, or -1 for --help. */
static int parse_opt(struct opts *o, int c, const char *arg)
{
	uint64_t v;
	int n = 0;

	switch (c) {
	case 'k':
		if (o->nk >= VC_MAX_KERNELS)
			BAD("vmstat-cost: more than %d kernels", VC_MAX_KERNELS);
		o->kernels[o->nk++] = arg;
		break;
	case O_SUITE: case O_RATES: case O_SAMPLE: case O_MECHWL: return parse_words(o, c, arg);
	case O_CPUS: n = o->ncpus = uint_list("--cpus", arg, o->cpus, 1, 256); break;
	case O_MAXCPUS: n = o->nmaxcpus = uint_list("--maxcpus", arg, o->maxcpus, 0, 256); break;
	case O_LOAD: n = o->nload = uint_list("--load", arg, o->load, 0, 16); break;
	case O_LISTENERS: n = o->nlisteners = uint_list("--listeners", arg, o->listeners, 0, 256); break;
	case O_PSIBOOT: n = o->npsiboot = uint_list("--psi-boot", arg, o->psiboot, 0, 1); break;
	case O_MODE:
		if (strcmp(arg, "pread") && strcmp(arg, "open") && strcmp(arg, "both"))
			BAD("vmstat-cost: --mode '%s': pread, open or both", arg);
		o->mode = arg;
		break;
	case O_DURATION:
		if (pnb_parse_duration_ns(arg, &o->duration_ns) || o->duration_ns < 100 * NS_PER_MS ||
		    o->duration_ns > 3600 * NS_PER_S)
			BAD("vmstat-cost: --duration '%s': need 100ms..1h", arg);
		break;
	case O_MEMORY:
		if (pnb_parse_size_bytes(arg, &o->memory) || o->memory < (128ULL << 20))
			BAD("vmstat-cost: --memory '%s': need a size of at least 128M", arg);
		break;
	case 'r':
		if (pnb_parse_u64(arg, &v) || v < 1 || v > VC_MAX_REPS)
			BAD("vmstat-cost: --reps '%s': need 1..%d", arg, VC_MAX_REPS);
		o->reps = (unsigned)v;
		break;
	case 'j':
		if (pnb_parse_u64(arg, &v) || v < 1 || v > 64)
			BAD("vmstat-cost: --jobs '%s': need 1..64", arg);
		o->jobs = (unsigned)v;
		break;
	case 'o': snprintf(o->out, sizeof o->out, "%s", arg); break;
	case O_LIST: o->list = 1; break;
	case 'f': o->force = 1; break;
	case O_REPORT: o->report_only = 1; break;
	case O_FETCH:
		if (strcmp(arg, "no") && strcmp(arg, "yes"))
			BAD("vmstat-cost: --fetch '%s': yes or no", arg);
		o->fetch = !strcmp(arg, "yes");
		break;
	case 'h': return -1;
	}
	return n < 0 ? PNB_EXIT_USAGE : 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
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
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:r:j:o:fh", lopts, NULL)) != -1) {
		/* getopt's own message is off: one line, who speaks. */
		if (c == ':' || c == '?')
			BAD("vmstat-cost: %s '%s' (see 'pnbench vmstat-cost --help')",
			    c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
		if ((rc = parse_opt(o, c, optarg)))
			return rc;
	}
	if (optind < argc)
		BAD("vmstat-cost: unexpected argument '%s'", argv[optind]);
	return 0;
}

/* Write kernel k's cells as scenarios and run them as one plan. */
static int run_kernel(const struct opts *o, int k, struct cellcfg *cl, int argc, char **argv)
{
	int native = !strcmp(o->kernels[k], "native");
	int reader = 0, lcpu[1024], nl = 0, n, rc;
	char why[1200], sdir[1200], path[1200];
	unsigned host = 0;
	struct run_plan p = { .jobs = o->jobs, .force = o->force, .argc = argc, .argv = argv };
	struct run_totals t;

	if (native && o->suites[S_MECH] && !vc_has_cap_sys_resource())
		printf("vmstat-cost: native: no CAP_SYS_RESOURCE, so PSI triggers use 2 s windows "
		       "(unprivileged triggers, evaluated by the averages worker)\n");
	if (native) {
		if ((nl = vc_native_cpus(&reader, lcpu, 1024, why, sizeof why)) < 0) {
			pnb_err("vmstat-cost: native: %s", why);
			return PNB_EXIT_FAIL;
		}
		host = (unsigned)nl + 1;
		printf("vmstat-cost: native: reader on CPU %d, load on %d other core(s) (hwloc)\n",
		       reader, nl);
	}
	if ((n = vc_make_cells(o, native, host, cl, VC_MAX_CELLS)) < 0)
		BAD("vmstat-cost: more than %d cells: narrow the lists", VC_MAX_CELLS);
	snprintf(sdir, sizeof sdir, "%s/scenarios/%s", o->out, native ? "native" : "guest");
	if ((rc = pnb_mkdir_all(sdir, 0755))) {
		pnb_err("vmstat-cost: cannot create %s: %s", sdir, strerror(-rc));
		return PNB_EXIT_FAIL;
	}
	if ((rc = vc_cells_save(o->out, cl, n))) {
		pnb_err("vmstat-cost: cannot write %s/cells.tsv: %s", o->out, strerror(-rc));
		return PNB_EXIT_FAIL;
	}
	snprintf(p.out, sizeof p.out, "%s", o->out);
	for (int i = 0; i < n; i++) {
		if ((rc = vc_write_scenario(o, &cl[i], sdir, reader, lcpu, nl, path, sizeof path))) {
			pnb_err("vmstat-cost: cannot write %s: %s", path, strerror(-rc));
			rc = PNB_EXIT_FAIL;
			goto out;
		}
		if ((rc = run_plan_add_scenario(&p, path, why, sizeof why)))
			goto fail;
	}
	if ((rc = run_plan_add_kernel(&p, o->kernels[k], o->fetch, o->list, why, sizeof why)) ||
	    (rc = run_plan_expand(&p, o->reps, 0, why, sizeof why)))
		goto fail;
	if (o->list) {
		for (int i = 0; i < p.ncells; i++)
			printf("%s\n", p.cells[i].name);
		goto out;
	}
	fflush(stdout);
	if ((rc = run_plan_execute(&p, run_progress_print, NULL, &t, why, sizeof why))) {
		if (why[0])
			goto fail;
		goto out;
	}
	printf("results: %s (%d runs, %d failed, %d skipped)\n", p.out, t.cells, t.failed, t.skipped);
	rc = t.failed ? PNB_EXIT_FAIL : 0;
	goto out;
fail:
	pnb_err("vmstat-cost: %s", why);
out:
	run_plan_free(&p);
	return rc;
}

int cmd_vmstat_cost(int argc, char **argv)
{
	struct opts *o = malloc(sizeof *o);
	struct cellcfg *cl = calloc(VC_MAX_CELLS, sizeof *cl);
	int rc = 0, failed = 0;

	if (!o || !cl) {
		pnb_err("vmstat-cost: out of memory");
		rc = PNB_EXIT_FAIL;
		goto out;
	}
	defaults(o);
	if ((rc = parse_args(argc, argv, o))) {
		if (rc == -1)
			usage(stdout);
		goto out;
	}
	if (o->report_only) {
		if (!o->out[0])
			BAD_GO("vmstat-cost: --report needs --out DIR (a result set)");
		rc = vc_report(o->out);
		goto out;
	}
	if (!o->nk)
		BAD_GO("vmstat-cost: need --kernel (see 'pnbench vmstat-cost --help')");
	if (!o->out[0]) {
		char ts[32];
		time_t now = time(NULL);
		strftime(ts, sizeof ts, "%Y%m%d-%H%M%S", gmtime(&now));
		snprintf(o->out, sizeof o->out, "%s/results/vmstat-cost/%s", pnb_topdir(), ts);
	}
	for (int k = 0; k < o->nk; k++) {
		rc = run_kernel(o, k, cl, argc, argv);
		/* A usage error or a machine that cannot run stops the sweep; a
		 * failed cell is reported and the rest still runs. */
		if (rc && rc != PNB_EXIT_FAIL)
			goto out;
		failed |= rc != 0;
	}
	rc = 0;
	if (!o->list) {
		int r = vc_report(o->out);
		rc = failed ? PNB_EXIT_FAIL : r;
	} else if (failed) {
		rc = PNB_EXIT_FAIL;
	}
out:
	free(o);
	free(cl);
	return rc < 0 ? 0 : rc;
}
