/* vmstat-cost: what it costs to read the counters every mechanism is built
 * on.  /proc/vmstat sums the per-cpu event counters over every online CPU on
 * each read, /proc/zoneinfo prints every CPU's pageset, /proc/pressure loops
 * over possible CPUs, memory.stat flushes per-cpu cgroup statistics: all of
 * them get dearer as CPUs are added.  A reader pinned to one CPU reads each
 * file whole, again and again, and the latency of every whole-file read goes
 * into a histogram per file; optional load threads on the other CPUs
 * allocate and free pages meanwhile, so the per-cpu diffs are moving.
 *
 * Results ("result KEY VALUE", KEY = <metric>_<unit>[_<stat>]:<file>, see
 * docs/vmstat-cost.md): read_ns_{min,p50,p90,p99,max,mean}:<file> for pread
 * at offset 0 on a kept-open fd, openread_ns_*:<file> for open+read+close,
 * read_count / openread_count, size_bytes, and cpus_online, cpus_possible,
 * reader_cpu, load_threads, load_alloc_MBps.  Nothing is written on
 * standard output: in a guest the recorder's standard output, which the
 * workload inherits, is the events stream. */
#include "benchutil.h"
#include "cgroupfs.h"
#include "clock.h"
#include "common.h"
#include "log.h"
#include "parse.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern const struct workload workload_vmstat_cost;

enum { OPT_MODE = 1, OPT_FILES, OPT_LOAD_RATE, OPT_MEMCG_V1,
       OPT_MEMCG_V2 };

static const struct option opts[] = {
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "files", required_argument, NULL, OPT_FILES },
	BU_LONGOPTS,
	{ "load-rate", required_argument, NULL, OPT_LOAD_RATE },
	{ "memcg-v1", required_argument, NULL, OPT_MEMCG_V1 },
	{ "memcg-v2", required_argument, NULL, OPT_MEMCG_V2 },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

enum { F_VMSTAT, F_MEMINFO, F_PRESSURE, F_ZONEINFO, F_MEMCG_V1, F_MEMCG_V2, NFILES };
static const char *const file_names[NFILES] = {
	"vmstat", "meminfo", "pressure", "zoneinfo", "memcg-v1", "memcg-v2",
};

struct target {
	int wanted;		/* 1 by default, 2 when named in --files */
	int fd;			/* kept open for pread mode */
	char path[PATH_MAX];
	size_t size;		/* bytes of the last whole read */
	struct lathist pread_h, open_h;
};

/* 1 MiB: larger than zoneinfo of a 256-CPU guest. */
static char rbuf[1 << 20];

static ssize_t read_whole(int fd)
{
	return read_whole_fd(fd, rbuf, sizeof rbuf);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* The v1 memory cgroup or the cgroup2 cgroup this process is in, from
 * /proc/self/cgroup, as a directory path.  0 or -errno with why. */
static int own_memcg(int v2, char *dir, size_t len, char *why, size_t wlen)
{
	char buf[8192], mnt[512];
	const char *rel = NULL;
	int r;

	if (pnb_read_file("", "/proc/self/cgroup", buf, sizeof buf) < 0) {
		snprintf(why, wlen, "cannot read /proc/self/cgroup");
		return -ENOENT;
	}
	for (char *save, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		if (v2 && c1 == line + 1 && line[0] == '0' && c2 == c1 + 1) {
			rel = c2 + 1;
			break;
		}
		if (!v2) {
			for (char *s2, *t = strtok_r(c1 + 1, ",", &s2); t; t = strtok_r(NULL, ",", &s2))
				if (!strcmp(t, "memory"))
					rel = c2 + 1;
			if (rel)
				break;
		}
	}
	if (!rel) {
		snprintf(why, wlen, "this process is in no %s", v2 ? "cgroup2 cgroup" :
			 "cgroup v1 memory cgroup");
		return -ENOENT;
	}
	r = v2 ? pnb_cgroup2_mount("", mnt, sizeof mnt) : pnb_cgroup_v1_memory_mount("", mnt, sizeof mnt);
	if (r) {
		snprintf(why, wlen, "no %s mounted", v2 ? "cgroup2 hierarchy" : "cgroup v1 memory hierarchy");
		return r;
	}
	snprintf(dir, len, "%s%s", mnt, strcmp(rel, "/") ? rel : "");
	return 0;
}

static int parse_files(const char *val, int *wanted)
{
	char buf[256], *save;

	if (strlen(val) >= sizeof buf)
		return wl_opt_error("--files", val, "too long");
	strcpy(buf, val);
	for (int i = 0; i < NFILES; i++)
		wanted[i] = 0;
	for (char *f = strtok_r(buf, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		int i;
		for (i = 0; i < NFILES && strcmp(f, file_names[i]); i++)
			;
		if (i == NFILES)
			return wl_opt_error("--files", f, "not one of vmstat, meminfo, pressure, "
					    "zoneinfo, memcg-v1, memcg-v2");
		wanted[i] = 2;
	}
	return 0;
}

/* One whole read of t, timed into its histogram: pread at 0 on the kept
 * fd, or (reopen) open+read+close.  *now is the time it ended.  0, or 1
 * after a message. */
static int timed_read(struct target *t, int reopen, uint64_t *now)
{
	uint64_t t0 = now_ns();
	int fd = reopen ? open(t->path, O_RDONLY | O_CLOEXEC) : t->fd;
	ssize_t n = fd < 0 ? -errno : read_whole(fd);

	if (reopen && fd >= 0)
		close(fd);
	*now = now_ns();
	if (n < 0) {
		pnb_err("%s %s: %s", reopen ? "open+read" : "reading", t->path, strerror((int)-n));
		return 1;
	}
	lh_add(reopen ? &t->open_h : &t->pread_h, *now - t0);
	t->size = (size_t)n;
	return 0;
}

/* Emit one file's statistics under prefix ("read", "openread"). */
static void emit_hist(const char *prefix, const char *file, const struct lathist *h)
{
	static const struct { const char *stat; double q; } st[] = {
		{ "p50", 50 }, { "p90", 90 }, { "p99", 99 },
	};
	char key[96];

	snprintf(key, sizeof key, "%s_ns_min:%s", prefix, file);
	wl_result(key, (double)h->min);
	for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
		snprintf(key, sizeof key, "%s_ns_%s:%s", prefix, st[i].stat, file);
		wl_result(key, (double)lh_pct(h, st[i].q));
	}
	snprintf(key, sizeof key, "%s_ns_max:%s", prefix, file);
	wl_result(key, (double)h->max);
	snprintf(key, sizeof key, "%s_ns_mean:%s", prefix, file);
	wl_result(key, lh_mean(h));
	snprintf(key, sizeof key, "%s_count:%s", prefix, file);
	wl_result(key, (double)h->n);
}

struct vc_opts {
	struct bench_place b;
	uint64_t rate;
	int mode_pread, mode_open;
	int wanted[NFILES];
	const char *memcg[2];	/* "": this process's own */
};

static int parse(int argc, char **argv, struct vc_opts *o)
{
	int c, r;

	bench_place_init(&o->b, 0);
	o->rate = 0;
	o->mode_pread = 1;
	o->mode_open = 0;
	for (int i = 0; i < NFILES; i++)
		o->wanted[i] = 1;
	o->memcg[0] = o->memcg[1] = "";
	while ((c = wl_getopt(argc, argv, opts)) != -1) {
		r = 0;
		switch (c) {
		case OPT_MODE:
			if (!strcmp(optarg, "pread")) o->mode_pread = 1, o->mode_open = 0;
			else if (!strcmp(optarg, "open")) o->mode_pread = 0, o->mode_open = 1;
			else if (!strcmp(optarg, "both")) o->mode_pread = 1, o->mode_open = 1;
			else r = wl_opt_error("--mode", optarg, "not one of pread, open, both");
			break;
		case OPT_FILES: r = parse_files(optarg, o->wanted); break;
		case OPT_LOAD_RATE: r = wl_opt_rate("--load-rate", optarg, &o->rate); break;
		case OPT_MEMCG_V1:
		case OPT_MEMCG_V2:
			if (optarg[0] != '/' || strlen(optarg) >= PATH_MAX - 32)
				r = wl_opt_error(c == OPT_MEMCG_V1 ? "--memcg-v1" : "--memcg-v2", optarg,
						 "need an absolute cgroup directory");
			else
				o->memcg[c == OPT_MEMCG_V2] = optarg;
			break;
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
	static struct vc_opts o;	/* struct bench_place is 4 KiB of CPU numbers */
	return parse(argc, argv, &o);
}

/* Open every wanted file and read it once (its size).  A file named by
 * --files that cannot be read fails the run; a default one is skipped. */
static int open_targets(struct target *t, const struct vc_opts *o)
{
	char why[512];

	/* The files: the memcg ones from the options or our own cgroups. */
	snprintf(t[F_VMSTAT].path, PATH_MAX, "/proc/vmstat");
	snprintf(t[F_MEMINFO].path, PATH_MAX, "/proc/meminfo");
	snprintf(t[F_PRESSURE].path, PATH_MAX, "/proc/pressure/memory");
	snprintf(t[F_ZONEINFO].path, PATH_MAX, "/proc/zoneinfo");
	for (int k = 0; k < 2; k++) {
		struct target *m = &t[F_MEMCG_V1 + k];
		char dir[PATH_MAX - 16];
		if (!m->wanted)
			continue;
		if (o->memcg[k][0])
			snprintf(dir, sizeof dir, "%s", o->memcg[k]);
		else if (own_memcg(k, dir, sizeof dir, why, sizeof why)) {
			if (m->wanted == 2) {
				pnb_err("%s: %s", file_names[F_MEMCG_V1 + k], why);
				return PNB_EXIT_FAIL;
			}
			pnb_err("skipping %s: %s", file_names[F_MEMCG_V1 + k], why);
			m->wanted = 0;
			continue;
		}
		snprintf(m->path, PATH_MAX, "%s/memory.stat", dir);
	}
	int nfiles = 0;
	for (int i = 0; i < NFILES; i++) {
		ssize_t n;
		if (!t[i].wanted)
			continue;
		lh_init(&t[i].pread_h);
		lh_init(&t[i].open_h);
		t[i].fd = open(t[i].path, O_RDONLY | O_CLOEXEC);
		n = t[i].fd < 0 ? -errno : read_whole(t[i].fd);
		if (n < 0) {
			const char *hint = n == -EOPNOTSUPP ? " (PSI disabled: psi=0?)" :
					   n == -ENOENT ? " (not on this kernel or cgroup)" : "";
			if (t[i].wanted == 2) {
				pnb_err("%s: %s: %s%s", file_names[i], t[i].path, strerror((int)-n), hint);
				return PNB_EXIT_FAIL;
			}
			pnb_err("skipping %s: %s: %s%s", file_names[i], t[i].path, strerror((int)-n), hint);
			if (t[i].fd >= 0)
				close(t[i].fd);
			t[i].fd = -1;
			t[i].wanted = 0;
			continue;
		}
		t[i].size = (size_t)n;
		nfiles++;
	}
	if (!nfiles) {
		pnb_err("none of the files can be read");
		return PNB_EXIT_FAIL;
	}
	return 0;
}

static int vmstat_cost_main(int argc, char **argv)
{
	static struct target t[NFILES];
	static struct loadgen g;
	static struct vc_opts o;
	int r = parse(argc, argv, &o);

	if (r == WL_PARSE_HELP) {
		wl_help(&workload_vmstat_cost);
		return PNB_EXIT_OK;
	}
	if (r)
		return PNB_EXIT_USAGE;
	uint64_t rate = o.rate;
	int mode_pread = o.mode_pread, mode_open = o.mode_open;
	for (int i = 0; i < NFILES; i++)
		t[i] = (struct target){ .wanted = o.wanted[i], .fd = -1 };
	if (!o.b.duration_ns && !o.b.iterations)
		o.b.duration_ns = 2 * NS_PER_S;
	uint64_t duration = o.b.duration_ns, iterations = o.b.iterations;

	/* The reader's CPU, then the load's: by default every other CPU we may use. */
	if ((r = bench_place_apply(&o.b)))
		return r;

	if ((r = open_targets(t, &o)))
		return r;

	if ((r = bench_load_start(&o.b, &g, rate)))
		return r;
	wl_phase("read");

	/* Files interleaved: slow drifts (frequency, other tenants) hit every
	 * file alike instead of whichever file was measured at the time. */
	uint64_t t_start = now_ns(), t_end = duration ? t_start + duration : UINT64_MAX;
	uint64_t it = 0, now = t_start;
	int err = 0;
	while ((!iterations || it < iterations) && now < t_end && !err) {
		for (int i = 0; i < NFILES && !err; i++) {
			if (!t[i].wanted)
				continue;
			if (mode_pread && (err = timed_read(&t[i], 0, &now)))
				break;
			if (mode_open && (err = timed_read(&t[i], 1, &now)))
				break;
		}
		it++;
	}
	uint64_t elapsed = now_ns() - t_start;
	int lerr = bench_load_stop(&o.b, &g);
	for (int i = 0; i < NFILES; i++)
		if (t[i].fd >= 0)
			close(t[i].fd);
	if (err || lerr)
		return PNB_EXIT_FAIL;

	bench_place_results(&o.b, &g);
	wl_result("elapsed_ns", (double)elapsed);
	wl_result("iterations_count", (double)it);
	for (int i = 0; i < NFILES; i++) {
		char key[64];
		if (!t[i].wanted)
			continue;
		if (mode_pread)
			emit_hist("read", file_names[i], &t[i].pread_h);
		if (mode_open)
			emit_hist("openread", file_names[i], &t[i].open_h);
		snprintf(key, sizeof key, "size_bytes:%s", file_names[i]);
		wl_result(key, (double)t[i].size);
		const struct lathist *h = mode_pread ? &t[i].pread_h : &t[i].open_h;
		pnb_err("%-9s %6zu bytes  %s p50 %llu ns  p99 %llu ns  max %llu ns  (%llu reads)",
			file_names[i], t[i].size, mode_pread ? "pread" : "open+read",
			(unsigned long long)lh_pct(h, 50), (unsigned long long)lh_pct(h, 99),
			(unsigned long long)h->max, (unsigned long long)h->n);
	}
	return PNB_EXIT_OK;
}

const struct workload workload_vmstat_cost = {
	.name = "vmstat-cost",
	.class = WL_BENCHMARK,
	.summary = "latency of whole reads of /proc/vmstat, meminfo, pressure, zoneinfo, memory.stat",
	.usage =
	"  --duration D      how long to read (default 2s unless --iterations)\n"
	"  --iterations N    stop after N rounds over the files (with --duration: first wins)\n"
	"  --mode M          pread (at 0 on a kept-open fd), open (open+read+close), both\n"
	"                    (default pread)\n"
	"  --files LIST      vmstat,meminfo,pressure,zoneinfo,memcg-v1,memcg-v2 (default:\n"
	"                    all that can be read; a named file that cannot is an error)\n"
	"  --cpu N           pin the reader to CPU N (default: the first allowed CPU)\n"
	"  --load N|others   allocating processes (mmap/touch/munmap), or one per other CPU\n"
	"                    (default 0)\n"
	"  --load-cpus LIST  CPUs for the load, round robin (default: allowed CPUs except\n"
	"                    the reader's)\n"
	"  --load-chunk SIZE bytes per mmap/touch/munmap cycle (default 1M)\n"
	"  --load-rate RATE  pace the load to RATE in total (default: as fast as possible)\n"
	"  --memcg-v1 DIR    read DIR/memory.stat (default: this process's v1 memory cgroup)\n"
	"  --memcg-v2 DIR    read DIR/memory.stat (default: this process's cgroup2 cgroup)\n",
	.main = vmstat_cost_main,
	.check = check,
};
