/* busy-beaver: anonymous memory as fast as the kernel hands it out,
 * optionally one thread per CPU: the pressure ramp no mechanism can pace,
 * which shows how quickly each one reacts. */
#include "common.h"
#include "memhog.h"
#include "benchutil.h"
#include "clock.h"
#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

extern const struct workload workload_busy_beaver;

enum { OPT_CHUNK = 1, OPT_THREADS, OPT_LIMIT, OPT_HOLD };

static const struct option opts[] = {
	{ "chunk", required_argument, NULL, OPT_CHUNK },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "hold", required_argument, NULL, OPT_HOLD },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

struct beaver {
	uint64_t chunk, limit;		/* limit 0: none */
	_Atomic uint64_t claimed;	/* handed to threads: caps the total */
	_Atomic uint64_t done;		/* allocated and touched */
	pthread_mutex_t mark_lock;	/* marks leave in increasing order */
	uint64_t marked;
	_Atomic int err;
};

static void *beaver_thread(void *arg)
{
	struct beaver *b = arg;

	while (!atomic_load(&b->err)) {
		uint64_t n = b->chunk, at = atomic_fetch_add(&b->claimed, n);
		if (b->limit) {
			if (at >= b->limit)
				return NULL;
			if (b->limit - at < n)
				n = b->limit - at;
		}
		int r = pnb_hog_touch(n, NULL);
		if (r) {
			atomic_store(&b->err, r);
			return NULL;
		}
		uint64_t total = atomic_fetch_add(&b->done, n) + n;
		if (total / WL_MARK_EVERY != (total - n) / WL_MARK_EVERY) {
			pthread_mutex_lock(&b->mark_lock);
			if (total > b->marked)
				wl_progress("alloc_bytes", b->marked = total);
			pthread_mutex_unlock(&b->mark_lock);
		}
	}
	return NULL;
}

static int parse_threads(const char *val, uint64_t *out)
{
	if (strcmp(val, "cpus") == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		*out = n > 0 ? (uint64_t)n : 1;
		return 0;
	}
	return wl_opt_count("--threads", val, 1, 1024, out);
}

struct bb_opts { uint64_t chunk, limit, threads, hold; };

static int parse(int argc, char **argv, struct bb_opts *o)
{
	int c, r = 0;

	*o = (struct bb_opts){ .chunk = 4 << 20, .limit = 0, .threads = 1, .hold = WL_FOREVER };
	while ((c = wl_getopt(argc, argv, opts)) != -1) {
		switch (c) {
		case OPT_CHUNK: r = wl_opt_size("--chunk", optarg, 1, 1ULL << 30, 1, &o->chunk); break;
		case OPT_THREADS: r = parse_threads(optarg, &o->threads); break;
		case OPT_LIMIT: r = wl_opt_size("--limit", optarg, 1, UINT64_MAX, 1, &o->limit); break;
		case OPT_HOLD: r = wl_opt_duration("--hold", optarg, &o->hold); break;
		case 'h': return WL_PARSE_HELP;
		default: return PNB_EXIT_USAGE;
		}
		if (r)
			return PNB_EXIT_USAGE;
	}
	return 0;
}

static int check(int argc, char **argv)
{
	struct bb_opts o;
	return parse(argc, argv, &o);
}

static int busy_beaver_main(int argc, char **argv)
{
	struct beaver b = { .mark_lock = PTHREAD_MUTEX_INITIALIZER };
	struct bb_opts o;
	pthread_t tid[1024];
	uint64_t started = 0;
	int r = parse(argc, argv, &o);

	if (r == WL_PARSE_HELP) {
		wl_help(&workload_busy_beaver);
		return PNB_EXIT_OK;
	}
	if (r)
		return PNB_EXIT_USAGE;
	b.chunk = o.chunk;
	b.limit = o.limit;
	uint64_t threads = o.threads, hold = o.hold;

	wl_phase("alloc");
	uint64_t t0 = pnb_mono_ns();
	for (; started < threads; started++) {
		r = pthread_create(&tid[started], NULL, beaver_thread, &b);
		if (r) {
			pnb_err("pthread_create: %s", strerror(r));
			return PNB_EXIT_FAIL;
		}
	}
	for (uint64_t i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	if (atomic_load(&b.done) != b.marked)
		wl_progress("alloc_bytes", atomic_load(&b.done));
	if ((r = atomic_load(&b.err))) {
		pnb_err("mmap: %s", strerror(-r));
		return PNB_EXIT_FAIL;
	}
	/* Throughput for the mechanism-cost benchmark (docs/vmstat-cost.md). */
	wl_result_alloc(atomic_load(&b.done), pnb_mono_ns() - t0, (unsigned)started);
	wl_hold(hold);
	return PNB_EXIT_OK;
}

const struct workload workload_busy_beaver = {
	.name = "busy-beaver",
	.summary = "anonymous memory as fast as possible, optionally one thread per CPU",
	.usage =
	"  --chunk SIZE      bytes per allocation, whole pages (default 4M)\n"
	"  --threads N|cpus  allocating threads, or one per online CPU (default 1)\n"
	"  --limit SIZE      stop allocating at SIZE, then hold (default: never)\n"
	"  --hold DURATION   how long to hold at the limit (default: until killed)\n",
	.main = busy_beaver_main,
	.check = check,
};
