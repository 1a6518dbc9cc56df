#include "benchutil.h"
#include "workload.h"
#include "clock.h"
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

	if (!elapsed_ns || !bytes)
		return;
	wl_result("alloc_MBps", (double)bytes / (1 << 20) / ((double)elapsed_ns / NS_PER_S));
	wl_result("alloc_page_ns_mean", (double)elapsed_ns * threads / pages);
	wl_result("alloc_elapsed_ns", (double)elapsed_ns);
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
