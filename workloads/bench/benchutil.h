/* Pieces shared by the measuring workloads (vmstat-cost, vmstat-staleness):
 * a log-bucketed latency histogram, exact percentiles of small samples,
 * CPU lists and pinning by CPU number, and allocating load threads.
 *
 * Pinning is by CPU number with sched_setaffinity(): these programs are
 * static and run in guests with nothing but busybox, and hwloc cannot be
 * linked statically on Debian (no static libudev).  The host side chooses
 * the numbers from its hwloc topology and passes them in. */
#ifndef PNB_WL_BENCHUTIL_H
#define PNB_WL_BENCHUTIL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <getopt.h>
#include <sys/types.h>

/* ---- latency histogram ------------------------------------------------
 * Values below 2^LH_SUB_BITS are counted exactly; above, each power of two
 * is split into 2^LH_SUB_BITS equal buckets, so a reported percentile is
 * at most 1/32 (3.1%) above the true sample value, never below it. */
#define LH_SUB_BITS 5
#define LH_SUB (1u << LH_SUB_BITS)
#define LH_BUCKETS (LH_SUB + (64 - LH_SUB_BITS) * LH_SUB)

struct lathist {
	uint64_t n, min, max;
	long double sum;		/* for the mean; ns sums overflow u64 in long runs */
	uint64_t count[LH_BUCKETS];
};

void lh_init(struct lathist *h);
void lh_add(struct lathist *h, uint64_t v);
/* Bucket index of v, and the largest value that bucket holds. */
unsigned lh_bucket(uint64_t v);
uint64_t lh_bucket_high(unsigned b);
/* Nearest-rank percentile, q in (0, 100]: the upper bound of the bucket
 * holding the ceil(q/100 * n)-th smallest sample, clamped to [min, max].
 * 0 when the histogram is empty. */
uint64_t lh_pct(const struct lathist *h, double q);
double lh_mean(const struct lathist *h);

/* Nearest-rank percentile of n values that are sorted in place first;
 * exact.  0 when n is 0. */
uint64_t pct_exact(uint64_t *v, size_t n, double q);

/* Read a whole file from offset 0 on a kept-open fd, as cat would: pread
 * until one returns 0.  Bytes read, or -errno (-EFBIG: more than len). */
ssize_t read_whole_fd(int fd, char *buf, size_t len);

/* An allocating workload's throughput: results alloc_MBps (MiB/s of
 * touched anonymous memory, all threads together), alloc_page_ns_mean
 * (wall time per page as one thread sees it: elapsed * threads / pages)
 * and alloc_elapsed_ns. */
void wl_result_alloc(uint64_t bytes, uint64_t elapsed_ns, unsigned threads);

/* ---- CPUs -------------------------------------------------------------- */
#define BU_MAX_CPUS 1024

/* "0-3,8,10-11" into cpus[] (sorted as written, no duplicates allowed);
 * returns the count or -EINVAL/-ERANGE (a CPU >= BU_MAX_CPUS, more than max). */
int cpulist_parse(const char *s, int *cpus, int max);
/* Number of CPUs in a sysfs cpulist file (/sys/devices/system/cpu/online,
 * .../possible) under root; -errno when it cannot be read or parsed. */
int cpulist_count_file(const char *root, const char *path);
/* The CPUs this thread may run on (sched_getaffinity), ascending. */
int cpus_allowed(int *cpus, int max);
/* Pin the calling thread to one CPU.  0 or -errno. */
int pin_self(int cpu);

/* ---- allocating load processes -----------------------------------------
 * Each load process maps chunk bytes of anonymous memory, writes every
 * page, unmaps it, and repeats: page allocation and freeing on its own CPU,
 * which is what moves the per-cpu vm_stat diffs and the per-cpu page lists.
 * Processes, not threads: a thread shares the reader's mm, and every
 * munmap would then send a TLB-shootdown IPI to the reader's CPU, which a
 * monitoring daemon in its own process never gets. */
#define BU_MAX_LOAD 256

struct loadgen_shared {			/* in a MAP_SHARED page */
	_Atomic int stop;
	_Atomic int err;		/* first -errno a process met */
	_Atomic int running;		/* processes that have pinned themselves */
	_Atomic uint64_t bytes;		/* mapped and touched, all processes */
};

struct loadgen {
	int n;				/* started, to reap */
	pid_t pid[BU_MAX_LOAD];
	int cpu[BU_MAX_LOAD];		/* -1: not pinned */
	uint64_t chunk;			/* bytes per cycle */
	uint64_t rate_bps;		/* all processes together; 0: as fast as possible */
	uint64_t t_start_ns, t_stop_ns, bytes;
	struct loadgen_shared *sh;
};

/* Start n processes; process i runs on cpus[i % ncpus] (ncpus 0: unpinned).
 * Returns 0 once every process has pinned itself, or -errno (processes
 * already started are stopped) with why filled. */
int loadgen_start(struct loadgen *g, int n, const int *cpus, int ncpus, uint64_t chunk,
		  uint64_t rate_bps, char *why, size_t whylen);
/* Stop and reap; returns the first error a process met (0 or -errno). */
int loadgen_stop(struct loadgen *g);
/* MiB/s allocated between start and stop (0 when nothing ran). */
double loadgen_MBps(const struct loadgen *g);

/* ---- the reader and its load: options and placement --------------------
 * Both measuring workloads take --cpu, --load, --load-cpus, --load-chunk
 * with the same meaning; BU_LONGOPTS goes into their option tables. */
enum { BU_OPT_CPU = 200, BU_OPT_LOAD, BU_OPT_LOAD_CPUS, BU_OPT_LOAD_CHUNK, BU_OPT_DURATION,
       BU_OPT_ITER };
#define BU_LONGOPTS \
	{ "duration", required_argument, NULL, BU_OPT_DURATION }, \
	{ "iterations", required_argument, NULL, BU_OPT_ITER }, \
	{ "cpu", required_argument, NULL, BU_OPT_CPU }, \
	{ "load", required_argument, NULL, BU_OPT_LOAD }, \
	{ "load-cpus", required_argument, NULL, BU_OPT_LOAD_CPUS }, \
	{ "load-chunk", required_argument, NULL, BU_OPT_LOAD_CHUNK }

struct bench_place {
	int cpu;			/* reader's CPU; -1 until placed: first allowed */
	int load_cpus[BU_MAX_CPUS];
	int nload_cpus;			/* -1 until placed: allowed CPUs but the reader's */
	int load_others;		/* --load others: one process per load CPU */
	uint64_t load;			/* load processes */
	uint64_t chunk;			/* --load-chunk */
	uint64_t duration_ns;		/* --duration; 0: not given */
	uint64_t iterations;		/* --iterations; 0: not given */
};

void bench_place_init(struct bench_place *b, int load_others);
/* One of the BU_OPT_* options: 0, PNB_EXIT_USAGE after the one-line
 * message, or -ENOENT when c is not one of them. */
int bench_place_opt(struct bench_place *b, int c, const char *arg);
/* Fill in the defaults from the allowed CPUs, then pin the calling thread
 * to the reader's CPU.  0, or an exit code after a message. */
int bench_place_apply(struct bench_place *b);
/* Start b->load processes on b->load_cpus at rate in total (0: as fast
 * as possible).  0, or PNB_EXIT_FAIL after a message. */
int bench_load_start(const struct bench_place *b, struct loadgen *g, uint64_t rate);
/* Stop the load (if any) and say why it failed: 0 or PNB_EXIT_FAIL. */
int bench_load_stop(const struct bench_place *b, struct loadgen *g);
/* Results every measuring workload gives: cpus_online, cpus_possible,
 * reader_cpu, load_threads, load_alloc_MBps (with load). */
void bench_place_results(const struct bench_place *b, const struct loadgen *g);

#endif
