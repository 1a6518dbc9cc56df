#include "benchutil.h"
#include "workload.h"
#include "clock.h"
#include "common.h"
#include "log.h"
#include "parse.h"
#include "procfs.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- latency histogram ------------------------------------------------- */

void lh_init(struct lathist *h)
{
	memset(h, 0, sizeof *h);
	h->min = UINT64_MAX;
}

unsigned lh_bucket(uint64_t v)
{
	if (v < LH_SUB)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v);	/* >= LH_SUB_BITS */
	unsigned sub = (unsigned)(v >> (e - LH_SUB_BITS)) - LH_SUB;
	return LH_SUB + (e - LH_SUB_BITS) * LH_SUB + sub;
}

uint64_t lh_bucket_high(unsigned b)
{
	if (b < LH_SUB)
		return b;
	unsigned k = b - LH_SUB, shift = k / LH_SUB;
	uint64_t low = (uint64_t)(LH_SUB + k % LH_SUB) << shift;
	return low + ((1ULL << shift) - 1);
}

void lh_add(struct lathist *h, uint64_t v)
{
	h->count[lh_bucket(v)]++;
	h->n++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

static uint64_t rank_of(uint64_t n, double q)
{
	/* Nearest rank; the epsilon keeps 99% of 100 at rank 99, not 100,
	 * when q/100*n is not exact in binary. */
	double r = ceil(q / 100.0 * (double)n - 1e-9);
	if (r < 1)
		return 1;
	return r > (double)n ? n : (uint64_t)r;
}

uint64_t lh_pct(const struct lathist *h, double q)
{
	uint64_t want, cum = 0;

	if (!h->n)
		return 0;
	want = rank_of(h->n, q);
	for (unsigned b = 0; b < LH_BUCKETS; b++) {
		cum += h->count[b];
		if (cum >= want) {
			uint64_t v = lh_bucket_high(b);
			return v > h->max ? h->max : v < h->min ? h->min : v;
		}
	}
	return h->max;
}

double lh_mean(const struct lathist *h)
{
	return h->n ? (double)(h->sum / h->n) : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

uint64_t pct_exact(uint64_t *v, size_t n, double q)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof *v, cmp_u64);
	return v[rank_of(n, q) - 1];
}

ssize_t read_whole_fd(int fd, char *buf, size_t len)
{
	size_t off = 0;

	for (;;) {
		if (off == len)
			return -EFBIG;
		ssize_t n = pread(fd, buf + off, len - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return (ssize_t)off;
		off += (size_t)n;
	}
}

void wl_result_alloc(uint64_t bytes, uint64_t elapsed_ns, unsigned threads)
{
	double pages = (double)bytes / (double)sysconf(_SC_PAGESIZE);
	struct rusage ru;

	if (!elapsed_ns || !bytes)
		return;
	wl_result("alloc_MBps", (double)bytes / (1 << 20) / ((double)elapsed_ns / NS_PER_S));
	wl_result("alloc_page_ns_mean", (double)elapsed_ns * threads / pages);
	wl_result("alloc_elapsed_ns", (double)elapsed_ns);
	/* A paced workload's wall time per page is its pacing; the CPU it
	 * burnt per page (user + kernel: faults, charging, PSI accounting) is
	 * what a mechanism adds to. */
	if (!getrusage(RUSAGE_SELF, &ru)) {
		double cpu_ns = ((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec) * 1e9 +
				((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) * 1e3;
		wl_result("alloc_cpu_page_ns", cpu_ns / pages);
	}
}

/* ---- CPUs ------------------------------------------------------------- */

static int cpu_num(const char *s, size_t len, int *out)
{
	char buf[16];
	uint64_t v;
	int r;

	if (!len || len >= sizeof buf)
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = 0;
	if ((r = pnb_parse_u64(buf, &v)))
		return r;
	if (v >= BU_MAX_CPUS)
		return -ERANGE;
	*out = (int)v;
	return 0;
}

int cpulist_parse(const char *s, int *cpus, int max)
{
	unsigned char seen[BU_MAX_CPUS] = { 0 };
	int n = 0, r;

	while (*s) {
		size_t len = strcspn(s, ",");
		const char *dash = memchr(s, '-', len);
		int a, b;
		if ((r = cpu_num(s, dash ? (size_t)(dash - s) : len, &a)))
			return r;
		b = a;
		if (dash && (r = cpu_num(dash + 1, len - (size_t)(dash - s) - 1, &b)))
			return r;
		if (b < a)
			return -EINVAL;
		for (int c = a; c <= b; c++) {
			if (seen[c])
				return -EINVAL;
			if (n >= max)
				return -ERANGE;
			seen[c] = 1;
			cpus[n++] = c;
		}
		s += len;
		if (*s == ',' && !*++s)
			return -EINVAL;	/* trailing comma */
	}
	return n ? n : -EINVAL;
}

int cpulist_count_file(const char *root, const char *path)
{
	static int cpus[BU_MAX_CPUS];
	char buf[4096];
	ssize_t n = pnb_read_file(root, path, buf, sizeof buf);

	if (n < 0)
		return (int)n;
	buf[strcspn(buf, "\n")] = 0;
	return cpulist_parse(buf, cpus, BU_MAX_CPUS);
}

int cpus_allowed(int *cpus, int max)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof set, &set))
		return -errno;
	for (int c = 0; c < CPU_SETSIZE && c < BU_MAX_CPUS; c++)
		if (CPU_ISSET(c, &set) && n < max)
			cpus[n++] = c;
	return n;
}

int pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return -EINVAL;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof set, &set) ? -errno : 0;
}

/* ---- load processes ---------------------------------------------------- */

static void __attribute__((noreturn)) load_child(struct loadgen *g, int cpu, uint64_t rate)
{
	struct loadgen_shared *sh = g->sh;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t mine = 0, t0;
	int r, zero = 0;

	/* Never outlive the reader, whatever kills it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	if (cpu >= 0 && (r = pin_self(cpu))) {
		atomic_compare_exchange_strong(&sh->err, &zero, r);
		atomic_fetch_add(&sh->running, 1);
		_exit(1);
	}
	atomic_fetch_add(&sh->running, 1);
	t0 = pnb_mono_ns();
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		char *p = mmap(NULL, g->chunk, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			atomic_compare_exchange_strong(&sh->err, &zero, -errno);
			_exit(1);
		}
		/* 4 KiB pages whatever the THP default: a huge page would
		 * move the counters 512 pages at a time, not page by page. */
		madvise(p, g->chunk, MADV_NOHUGEPAGE);
		for (size_t off = 0; off < g->chunk; off += pg)
			p[off] = (char)0x5a;
		munmap(p, g->chunk);
		mine += g->chunk;
		atomic_fetch_add_explicit(&sh->bytes, g->chunk, memory_order_relaxed);
		if (rate) {
			/* Deadline from t0: pacing never drifts. */
			uint64_t due = t0 + (uint64_t)((unsigned __int128)mine * NS_PER_S / rate);
			uint64_t now = pnb_mono_ns();
			/* Sleep in slices so a stop request is seen within 50 ms. */
			while (now < due && !atomic_load(&sh->stop)) {
				uint64_t until = due - now > 50 * NS_PER_MS ? now + 50 * NS_PER_MS : due;
				pnb_sleep_until_ns(until);
				now = pnb_mono_ns();
			}
		}
	}
	_exit(0);
}

int loadgen_start(struct loadgen *g, int n, const int *cpus, int ncpus, uint64_t chunk,
		  uint64_t rate_bps, char *why, size_t whylen)
{
	uint64_t rate = 0;
	int r;

	memset(g, 0, sizeof *g);
	if (n < 0 || n > BU_MAX_LOAD || !chunk) {
		snprintf(why, whylen, "load: %d processes of %llu bytes: out of range", n,
			 (unsigned long long)chunk);
		return -EINVAL;
	}
	g->sh = mmap(NULL, sizeof *g->sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g->sh == MAP_FAILED) {
		r = -errno;
		g->sh = NULL;
		snprintf(why, whylen, "load: mmap: %s", strerror(-r));
		return r;
	}
	g->chunk = chunk;
	g->rate_bps = rate_bps;
	if (rate_bps && n)
		rate = rate_bps / (uint64_t)n ? rate_bps / (uint64_t)n : 1;
	g->t_start_ns = pnb_mono_ns();
	for (int i = 0; i < n; i++) {
		g->cpu[i] = ncpus ? cpus[i % ncpus] : -1;
		pid_t pid = fork();
		if (pid < 0) {
			r = -errno;
			snprintf(why, whylen, "load: fork: %s", strerror(-r));
			loadgen_stop(g);
			return r;
		}
		if (pid == 0)
			load_child(g, g->cpu[i], rate);
		g->pid[i] = pid;
		g->n = i + 1;
	}
	while (atomic_load(&g->sh->running) < n)
		usleep(1000);
	if ((r = atomic_load(&g->sh->err))) {
		snprintf(why, whylen, "load: a process could not start: %s", strerror(-r));
		loadgen_stop(g);
		return r;
	}
	g->t_start_ns = pnb_mono_ns();
	atomic_store(&g->sh->bytes, 0);
	return 0;
}

int loadgen_stop(struct loadgen *g)
{
	int err = 0;

	if (!g->sh)
		return 0;
	atomic_store(&g->sh->stop, 1);
	for (int i = 0; i < g->n; i++)
		waitpid(g->pid[i], NULL, 0);
	g->t_stop_ns = pnb_mono_ns();
	g->bytes = atomic_load(&g->sh->bytes);
	err = atomic_load(&g->sh->err);
	g->n = 0;
	munmap(g->sh, sizeof *g->sh);
	g->sh = NULL;
	return err;
}

double loadgen_MBps(const struct loadgen *g)
{
	if (g->t_stop_ns <= g->t_start_ns)
		return 0;
	return (double)g->bytes / (1 << 20) / ((double)(g->t_stop_ns - g->t_start_ns) / NS_PER_S);
}

/* ---- the reader and its load -------------------------------------------- */

void bench_place_init(struct bench_place *b, int load_others)
{
	memset(b, 0, sizeof *b);
	b->cpu = -1;
	b->nload_cpus = -1;
	b->load_others = load_others;
	b->chunk = 1 << 20;
}

int bench_place_opt(struct bench_place *b, int c, const char *arg)
{
	uint64_t v;

	switch (c) {
	case BU_OPT_CPU:
		if (wl_opt_count("--cpu", arg, 0, BU_MAX_CPUS - 1, &v))
			return PNB_EXIT_USAGE;
		b->cpu = (int)v;
		return 0;
	case BU_OPT_LOAD:
		b->load_others = !strcmp(arg, "others");
		if (!b->load_others && wl_opt_count("--load", arg, 0, BU_MAX_LOAD, &b->load))
			return PNB_EXIT_USAGE;
		return 0;
	case BU_OPT_LOAD_CPUS:
		b->nload_cpus = cpulist_parse(arg, b->load_cpus, BU_MAX_CPUS);
		if (b->nload_cpus < 0)
			return wl_opt_error("--load-cpus", arg, "not a CPU list (e.g. 1-3,5)");
		return 0;
	case BU_OPT_LOAD_CHUNK:
		return wl_opt_size("--load-chunk", arg, 1, 1ULL << 30, 1, &b->chunk) ? PNB_EXIT_USAGE : 0;
	case BU_OPT_DURATION:
		if (wl_opt_duration("--duration", arg, &b->duration_ns))
			return PNB_EXIT_USAGE;
		return b->duration_ns ? 0 : wl_opt_error("--duration", arg, "must be above 0");
	case BU_OPT_ITER:
		return wl_opt_count("--iterations", arg, 1, 1000000000, &b->iterations) ? PNB_EXIT_USAGE : 0;
	}
	return -ENOENT;
}

int bench_place_apply(struct bench_place *b)
{
	static int allowed[BU_MAX_CPUS];
	int nallowed = cpus_allowed(allowed, BU_MAX_CPUS), r;

	if (nallowed <= 0) {
		pnb_err("sched_getaffinity: %s", strerror(nallowed ? -nallowed : ENOENT));
		return PNB_EXIT_FAIL;
	}
	if (b->cpu < 0)
		b->cpu = allowed[0];
	if (b->nload_cpus < 0) {
		b->nload_cpus = 0;
		for (int i = 0; i < nallowed; i++)
			if (allowed[i] != b->cpu)
				b->load_cpus[b->nload_cpus++] = allowed[i];
	}
	if (b->load_others)
		b->load = (uint64_t)b->nload_cpus;
	if (b->load && !b->nload_cpus) {
		pnb_err("--load %llu: no CPU other than the reader's (%d) to put it on; name one "
			"with --load-cpus to share the reader's", (unsigned long long)b->load, b->cpu);
		return PNB_EXIT_USAGE;
	}
	if ((r = pin_self(b->cpu))) {
		pnb_err("cannot pin the reader to CPU %d: %s", b->cpu, strerror(-r));
		return PNB_EXIT_FAIL;
	}
	return 0;
}

int bench_load_start(const struct bench_place *b, struct loadgen *g, uint64_t rate)
{
	char why[512];

	if (!b->load || !loadgen_start(g, (int)b->load, b->load_cpus, b->nload_cpus, b->chunk, rate,
				       why, sizeof why))
		return 0;
	pnb_err("%s", why);
	return PNB_EXIT_FAIL;
}

int bench_load_stop(const struct bench_place *b, struct loadgen *g)
{
	int r = b->load ? loadgen_stop(g) : 0;

	if (!r)
		return 0;
	pnb_err("a load process failed: %s (memory limit too small for %llu processes x "
		"--load-chunk?)", strerror(-r), (unsigned long long)b->load);
	return PNB_EXIT_FAIL;
}

void bench_place_results(const struct bench_place *b, const struct loadgen *g)
{
	static const char *const files[2] = { "/sys/devices/system/cpu/online",
					      "/sys/devices/system/cpu/possible" };
	static const char *const keys[2] = { "cpus_online", "cpus_possible" };

	for (int i = 0; i < 2; i++) {
		int n = cpulist_count_file("", files[i]);
		if (n > 0)
			wl_result(keys[i], n);
		else
			pnb_err("%s not reported: %s: %s", keys[i], files[i], strerror(-n));
	}
	wl_result("reader_cpu", b->cpu);
	wl_result("load_threads", (double)b->load);
	if (b->load)
		wl_result("load_alloc_MBps", loadgen_MBps(g));
}
