/* vmstat-staleness: how far a zone/node counter read from /proc/vmstat is
 * from its folded value.  Each CPU keeps a small diff per counter and
 * folds it into the global atomic only when it passes the CPU's threshold
 * ("vm stats threshold" in /proc/zoneinfo), from the vmstat worker every
 * vm.stat_interval, or when root writes /proc/sys/vm/stat_refresh, which
 * folds every CPU's diffs at once.  So, repeatedly: read /proc/vmstat,
 * write stat_refresh, read again; the difference is what the per-cpu diffs
 * hid, plus whatever really changed while the refresh ran.  That second
 * part is estimated by a control pair: two reads spaced by the time the
 * refresh took, without a refresh in between.  Load threads on the other
 * CPUs allocate and free pages at --rate to move the diffs.
 *
 * Results (docs/vmstat-cost.md): drift_pages_{p50,p99,max,mean}:<counter>,
 * drift_pct_{p50,p99,max}:<counter> (% of MemTotal),
 * drift_signed_pages_mean:<counter>, control_pages_{p50,p99,max}:<counter>,
 * refresh_ns_{p50,p99,max}, pcp_pages_{p50,max} (pages on per-cpu lists,
 * which MemFree does not count), zone_bound_pages / node_bound_pages (the
 * error the thresholds allow: sum over online CPUs and zones/nodes),
 * memtotal_pages, sample_count, cpus_online, cpus_possible, load_threads,
 * load_alloc_MBps.  Needs root: without it the workload says so and exits 1. */
#include "benchutil.h"
#include "clock.h"
#include "common.h"
#include "log.h"
#include "parse.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const struct workload workload_vmstat_staleness;

#define REFRESH "/proc/sys/vm/stat_refresh"
#define MAX_COUNTERS 16

enum { OPT_RATE = 1, OPT_INTERVAL, OPT_COUNTERS };

static const struct option opts[] = {
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "counters", required_argument, NULL, OPT_COUNTERS },
	BU_LONGOPTS,
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

/* Zone counters (nr_zone_*, nr_free_pages) and node counters (the rest):
 * both kinds have per-cpu diffs and thresholds. */
static const char *const default_counters[] = {
	"nr_free_pages", "nr_zone_inactive_anon", "nr_zone_active_anon",
	"nr_inactive_anon", "nr_active_anon", "nr_anon_pages",
};

struct counter {
	char name[PNB_KEY_LEN];
	int named;		/* given in --counters: missing is an error */
	int present;
	uint64_t *drift, *control;
	int64_t signed_sum;
};

struct zonestat {
	uint64_t pcp_pages;	/* sum of every pageset's count */
	uint64_t zone_bound;	/* sum of every (zone, cpu) threshold */
	uint64_t node_bound;	/* sum over nodes and cpus of the node's largest zone threshold */
};

/* /proc/zoneinfo's per-cpu pagesets ("count:") and thresholds ("vm stats
 * threshold:").  Only what this workload needs; lib/procfs.c has the rest. */
static int parse_zonestat(char *text, struct zonestat *z)
{
	int node = -1, cur_node = -1, zones = 0;
	uint64_t node_max = 0, v;
	char *save;

	memset(z, 0, sizeof *z);
	/* Per node: the largest threshold of any of its zones, times its CPUs
	 * (the kernel gives each node's per-cpu stats the largest threshold of
	 * the node's zones: refresh_zone_stat_thresholds()). */
	uint64_t node_cpus = 0, zone_cpus = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int n;
		char *s = line + strspn(line, " ");
		if (sscanf(line, "Node %d, zone", &n) == 1) {
			if (n != cur_node) {
				if (cur_node >= 0)
					z->node_bound += node_max * node_cpus;
				cur_node = n;
				node_max = 0;
				node_cpus = 0;
			}
			zones++;
			zone_cpus = 0;
			node = n;
			continue;
		}
		if (node < 0)
			continue;
		if (!strncmp(s, "count:", 6)) {
			if (pnb_parse_u64(s + 6 + strspn(s + 6, " "), &v))
				return -EINVAL;
			z->pcp_pages += v;
		} else if (!strncmp(s, "vm stats threshold:", 19)) {
			if (pnb_parse_u64(s + 19 + strspn(s + 19, " "), &v))
				return -EINVAL;
			z->zone_bound += v;
			if (v > node_max)
				node_max = v;
			if (++zone_cpus > node_cpus)
				node_cpus = zone_cpus;
		}
	}
	if (cur_node >= 0)
		z->node_bound += node_max * node_cpus;
	return zones ? 0 : -EINVAL;
}

static char vbuf[64 * 1024];
static struct pnb_kv kv_a, kv_b, kv_mi;

static int read_vmstat(int fd, struct pnb_kv *kv)
{
	ssize_t n = read_whole_fd(fd, vbuf, sizeof vbuf - 1);
	if (n < 0)
		return (int)n;
	vbuf[n] = 0;
	return pnb_parse_kv(vbuf, kv);
}

static int read_zonestat(int fd, struct zonestat *z)
{
	static char zbuf[1 << 20];
	ssize_t n = read_whole_fd(fd, zbuf, sizeof zbuf - 1);
	if (n < 0)
		return (int)n;
	zbuf[n] = 0;
	return parse_zonestat(zbuf, z);
}

/* Fold every CPU's diffs.  Older kernels answer EINVAL when a total is
 * negative after the fold (the fold has happened): counted, not fatal. */
static int refresh(int fd, uint64_t *einval)
{
	if (pwrite(fd, "1", 1, 0) == 1)
		return 0;
	if (errno == EINVAL) {
		(*einval)++;
		return 0;
	}
	return -errno;
}

static int grow(uint64_t **v, size_t n)
{
	uint64_t *p = realloc(*v, n * sizeof *p);
	if (!p)
		return -ENOMEM;
	*v = p;
	return 0;
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

static int parse_counters(const char *val, struct counter *c, int *n)
{
	char buf[512], *save;

	if (strlen(val) >= sizeof buf)
		return wl_opt_error("--counters", val, "too long");
	strcpy(buf, val);
	*n = 0;
	for (char *f = strtok_r(buf, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		if (*n >= MAX_COUNTERS)
			return wl_opt_error("--counters", val, "more than 16 counters");
		if (strlen(f) >= PNB_KEY_LEN || strspn(f, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(f))
			return wl_opt_error("--counters", f, "not a /proc/vmstat counter name");
		snprintf(c[*n].name, sizeof c[*n].name, "%s", f);
		c[(*n)++].named = 1;
	}
	return *n ? 0 : wl_opt_error("--counters", val, "empty");
}

static void emit3(const char *metric, const char *name, uint64_t *v, size_t n, double scale)
{
	static const struct { const char *st; double q; } st[] = { { "p50", 50 }, { "p99", 99 }, { "max", 100 } };
	char key[128];

	for (size_t i = 0; i < 3; i++) {
		if (name)
			snprintf(key, sizeof key, "%s_%s:%s", metric, st[i].st, name);
		else
			snprintf(key, sizeof key, "%s_%s", metric, st[i].st);
		wl_result(key, (double)pct_exact(v, n, st[i].q) * scale);
	}
}

/* Each present counter's change from kv_a to kv_b into sample n of drift
 * (with its sign summed) or of control.  0 or -ENOENT. */
static int diff_counters(struct counter *ctr, int nctr, size_t n, int control)
{
	for (int i = 0; i < nctr; i++) {
		uint64_t a, b;
		if (!ctr[i].present)
			continue;
		if (pnb_kv_get(&kv_a, ctr[i].name, &a) || pnb_kv_get(&kv_b, ctr[i].name, &b))
			return -ENOENT;
		if (control) {
			ctr[i].control[n] = absdiff(a, b);
		} else {
			ctr[i].drift[n] = absdiff(a, b);
			ctr[i].signed_sum += (int64_t)(b - a);
		}
	}
	return 0;
}

/* Sample n: the measured pair (read, fold, read), then the control pair
 * (read, wait as long as the measured pair took, read).  The time the
 * fold took goes to *refresh_ns.  0 or -errno. */
static int sample_pair(int vfd, int rfd, struct counter *ctr, int nctr, size_t n,
		       uint64_t *einval, uint64_t *refresh_ns)
{
	uint64_t t0 = pnb_mono_ns(), t1, t2, c0;
	int r;

	if ((r = read_vmstat(vfd, &kv_a)))
		return r;
	t1 = pnb_mono_ns();
	if ((r = refresh(rfd, einval))) {
		pnb_err("writing %s: %s", REFRESH, strerror(-r));
		return r;
	}
	t2 = pnb_mono_ns();
	if ((r = read_vmstat(vfd, &kv_b)) || (r = diff_counters(ctr, nctr, n, 0)))
		return r;
	*refresh_ns = t2 - t1;
	c0 = pnb_mono_ns();
	if ((r = read_vmstat(vfd, &kv_a)))
		return r;
	/* Spin rather than sleep: the reader's CPU stays as busy as during
	 * the refresh, its own diffs are not folded by an idle entry, and the
	 * second read starts as late as in the measured pair. */
	while (pnb_mono_ns() < c0 + (t2 - t0))
		;
	if ((r = read_vmstat(vfd, &kv_b)))
		return r;
	return diff_counters(ctr, nctr, n, 1);
}

struct vs_opts {
	struct bench_place b;
	struct counter ctr[MAX_COUNTERS];
	int nctr, no_load;
	uint64_t interval, rate;
};

static int parse(int argc, char **argv, struct vs_opts *o)
{
	int c, r;

	memset(o, 0, sizeof *o);
	bench_place_init(&o->b, 1);
	o->interval = 10 * NS_PER_MS;
	while ((c = wl_getopt(argc, argv, opts)) != -1) {
		r = 0;
		switch (c) {
		case OPT_RATE:
			if (!strcmp(optarg, "max"))
				o->rate = 0, o->no_load = 0;
			else if (!strcmp(optarg, "0"))
				o->no_load = 1;
			else
				r = wl_opt_rate("--rate", optarg, &o->rate);
			break;
		case OPT_INTERVAL: r = wl_opt_duration("--interval", optarg, &o->interval); break;
		case OPT_COUNTERS: r = parse_counters(optarg, o->ctr, &o->nctr); break;
		case 'h': return WL_PARSE_HELP;
		default:
			r = bench_place_opt(&o->b, c, optarg);
			if (r == -ENOENT)
				return PNB_EXIT_USAGE;
			break;
		}
		if (r)
			return PNB_EXIT_USAGE;
	}
	return 0;
}

static int check(int argc, char **argv)
{
	static struct vs_opts o;	/* struct bench_place is 4 KiB of CPU numbers */
	return parse(argc, argv, &o);
}

/* Root first: without it there is nothing to measure.  The fd, or -1
 * after saying why. */
static int open_refresh(void)
{
	int rfd = open(REFRESH, O_WRONLY | O_CLOEXEC);

	if (rfd < 0) {
		int e = errno;
		if (e == EACCES || e == EPERM)
			pnb_err("unsupported: needs root to write vm.stat_refresh (%s: %s)", REFRESH,
				strerror(e));
		else if (e == ENOENT)
			pnb_err("unsupported: %s does not exist (kernel before 4.4?)", REFRESH);
		else
			pnb_err("unsupported: cannot open %s for writing: %s", REFRESH, strerror(e));
	}
	return rfd;
}

/* Which counters this kernel has (kv_a holds a read of /proc/vmstat): a
 * named one that is missing is an error, a default one is skipped. */
static int find_counters(struct counter *ctr, int nctr)
{
	int npresent = 0;

	for (int i = 0; i < nctr; i++) {
		uint64_t v;
		ctr[i].present = pnb_kv_get(&kv_a, ctr[i].name, &v) == 0;
		if (!ctr[i].present) {
			pnb_err("%s%s: not in /proc/vmstat on this kernel", ctr[i].named ? "" : "skipping ",
				ctr[i].name);
			if (ctr[i].named)
				return PNB_EXIT_FAIL;
		}
		npresent += ctr[i].present;
	}
	if (!npresent) {
		pnb_err("none of the counters is in /proc/vmstat");
		return PNB_EXIT_FAIL;
	}
	return 0;
}

/* The samples: per sample the fold's time, the per-cpu pages and each
 * counter's drift and control (in struct counter). */
struct samples {
	size_t cap, n;
	uint64_t *refresh_ns, *pcp;
};

static int samples_grow(struct samples *sm, struct counter *ctr, int nctr, size_t cap)
{
	int bad = grow(&sm->refresh_ns, cap) || grow(&sm->pcp, cap);

	for (int i = 0; i < nctr && !bad; i++)
		bad = grow(&ctr[i].drift, cap) || grow(&ctr[i].control, cap);
	if (bad)
		return -ENOMEM;
	sm->cap = cap;
	return 0;
}

/* Sample every interval until duration or iterations.  0 or -errno. */
static int measure(struct vs_opts *o, struct samples *sm, int vfd, int rfd, int zfd,
		   uint64_t *einval)
{
	uint64_t duration = o->b.duration_ns, iterations = o->b.iterations;
	uint64_t t_start = pnb_mono_ns(), t_end = duration ? t_start + duration : UINT64_MAX;
	uint64_t next = t_start;
	int r;

	while ((!iterations || sm->n < iterations) && pnb_mono_ns() < t_end) {
		uint64_t t_refresh;
		struct zonestat z;

		if (sm->n == sm->cap && (r = samples_grow(sm, o->ctr, o->nctr, sm->cap * 2)))
			return r;
		if ((r = sample_pair(vfd, rfd, o->ctr, o->nctr, sm->n, einval, &t_refresh)))
			return r;
		sm->refresh_ns[sm->n] = t_refresh;
		if ((r = read_zonestat(zfd, &z)))
			return r;
		sm->pcp[sm->n++] = z.pcp_pages;
		next += o->interval;
		uint64_t now = pnb_mono_ns();
		if (next > now)
			pnb_sleep_until_ns(next < t_end ? next : t_end);
		else
			next = now;
	}
	return 0;
}

static void report_counter(const struct counter *c, size_t n, uint64_t memtotal_pages)
{
	char key[128];
	uint64_t sum = 0;

	for (size_t k = 0; k < n; k++)
		sum += c->drift[k];
	snprintf(key, sizeof key, "drift_pages_mean:%s", c->name);
	wl_result(key, (double)sum / (double)n);
	snprintf(key, sizeof key, "drift_signed_pages_mean:%s", c->name);
	wl_result(key, (double)c->signed_sum / (double)n);
	emit3("drift_pages", c->name, c->drift, n, 1);
	emit3("drift_pct", c->name, c->drift, n, 100.0 / (double)memtotal_pages);
	emit3("control_pages", c->name, c->control, n, 1);
	pnb_err("%-22s |drift| p50 %llu p99 %llu max %llu pages (control p50 %llu max %llu)",
		c->name, (unsigned long long)pct_exact(c->drift, n, 50),
		(unsigned long long)pct_exact(c->drift, n, 99),
		(unsigned long long)pct_exact(c->drift, n, 100),
		(unsigned long long)pct_exact(c->control, n, 50),
		(unsigned long long)pct_exact(c->control, n, 100));
}

static int staleness_main(int argc, char **argv)
{
	static struct vs_opts o;
	static struct loadgen g;
	struct samples sm = { 0 };
	uint64_t einval = 0;
	int r = parse(argc, argv, &o);

	if (r == WL_PARSE_HELP) {
		wl_help(&workload_vmstat_staleness);
		return PNB_EXIT_OK;
	}
	if (r)
		return PNB_EXIT_USAGE;
	struct counter *ctr = o.ctr;
	if (!o.b.duration_ns && !o.b.iterations)
		o.b.duration_ns = 5 * NS_PER_S;
	if (!o.nctr)
		for (size_t i = 0; i < sizeof default_counters / sizeof *default_counters; i++)
			snprintf(ctr[o.nctr++].name, sizeof ctr[0].name, "%s", default_counters[i]);
	if (o.no_load) {
		o.b.load_others = 0;
		o.b.load = 0;
	}
	int rfd = open_refresh();
	if (rfd < 0)
		return PNB_EXIT_FAIL;
	if ((r = bench_place_apply(&o.b))) {
		close(rfd);
		return r;
	}
	int vfd = open("/proc/vmstat", O_RDONLY | O_CLOEXEC);
	int zfd = open("/proc/zoneinfo", O_RDONLY | O_CLOEXEC);
	struct zonestat z0;
	uint64_t memtotal_kB;
	if (vfd < 0 || zfd < 0 || read_zonestat(zfd, &z0) ||
	    pnb_read_meminfo("", &kv_mi) || pnb_kv_get(&kv_mi, "MemTotal", &memtotal_kB)) {
		pnb_err("cannot read /proc/vmstat, /proc/zoneinfo and MemTotal from /proc/meminfo");
		return PNB_EXIT_FAIL;
	}
	uint64_t memtotal_pages = memtotal_kB * 1024 / wl_page_size();
	if (read_vmstat(vfd, &kv_a)) {
		pnb_err("cannot parse /proc/vmstat");
		return PNB_EXIT_FAIL;
	}
	if ((r = find_counters(ctr, o.nctr)))
		return r;
	if (samples_grow(&sm, ctr, o.nctr, 1024)) {
		pnb_err("out of memory");
		return PNB_EXIT_FAIL;
	}

	if ((r = bench_load_start(&o.b, &g, o.rate)))
		return r;
	wl_phase("measure");
	int err = measure(&o, &sm, vfd, rfd, zfd, &einval);
	int lerr = bench_load_stop(&o.b, &g);
	size_t n = sm.n;
	if (err) {
		pnb_err("sampling failed after %zu samples: %s", n, strerror(err < 0 ? -err : EINVAL));
		return PNB_EXIT_FAIL;
	}
	if (lerr)
		return lerr;
	if (!n) {
		pnb_err("no sample taken (duration shorter than one sample?)");
		return PNB_EXIT_FAIL;
	}

	bench_place_results(&o.b, &g);
	if (o.b.load && o.rate)
		wl_result("load_target_MBps", (double)o.rate / (1 << 20));
	wl_result("memtotal_pages", (double)memtotal_pages);
	wl_result("zone_bound_pages", (double)z0.zone_bound);
	wl_result("node_bound_pages", (double)z0.node_bound);
	wl_result("sample_count", (double)n);
	wl_result("refresh_einval_count", (double)einval);
	emit3("refresh_ns", NULL, sm.refresh_ns, n, 1);
	emit3("pcp_pages", NULL, sm.pcp, n, 1);
	for (int i = 0; i < o.nctr; i++)
		if (ctr[i].present)
			report_counter(&ctr[i], n, memtotal_pages);
	pnb_err("%zu samples, refresh p50 %llu ns, bound %llu (zone) / %llu (node) pages, "
		"load %.0f MiB/s", n, (unsigned long long)pct_exact(sm.refresh_ns, n, 50),
		(unsigned long long)z0.zone_bound, (unsigned long long)z0.node_bound,
		o.b.load ? loadgen_MBps(&g) : 0.0);
	for (int i = 0; i < o.nctr; i++) {
		free(ctr[i].drift);
		free(ctr[i].control);
	}
	free(sm.refresh_ns);
	free(sm.pcp);
	close(vfd);
	close(zfd);
	close(rfd);
	return PNB_EXIT_OK;
}

const struct workload workload_vmstat_staleness = {
	.name = "vmstat-staleness",
	.class = WL_BENCHMARK,
	.summary = "per-cpu drift of /proc/vmstat counters: read, write vm.stat_refresh, read (root)",
	.usage =
	"  --rate RATE|max|0 total allocation rate of the load threads (default max:\n"
	"                    as fast as they can; 0: no load)\n"
	"  --load N|others   load processes (default: one per other CPU)\n"
	"  --load-cpus LIST  CPUs for the load, round robin (default: allowed CPUs except\n"
	"                    the reader's)\n"
	"  --load-chunk SIZE bytes per mmap/touch/munmap cycle (default 1M)\n"
	"  --cpu N           pin the reader to CPU N (default: the first allowed CPU)\n"
	"  --duration D      how long to sample (default 5s unless --iterations)\n"
	"  --iterations N    stop after N samples (with --duration: first wins)\n"
	"  --interval D      time between samples (default 10ms)\n"
	"  --counters LIST   /proc/vmstat counters (default nr_free_pages,\n"
	"                    nr_zone_inactive_anon,nr_zone_active_anon,nr_inactive_anon,\n"
	"                    nr_active_anon,nr_anon_pages; missing ones skipped)\n",
	.main = staleness_main,
	.check = check,
};
