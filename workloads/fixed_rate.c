/* fixed-rate: anonymous memory at a steady rate (10 MB/s by default), every
 * page touched, never freed: a straight line towards the OOM killer, so lead
 * times convert directly into megabytes of headroom. */
#include "common.h"
#include "benchutil.h"
#include "clock.h"
#include "log.h"

#include <string.h>

extern const struct workload workload_fixed_rate;

enum { OPT_RATE = 1, OPT_CHUNK, OPT_LIMIT, OPT_HOLD };

static const struct option opts[] = {
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "chunk", required_argument, NULL, OPT_CHUNK },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "hold", required_argument, NULL, OPT_HOLD },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

struct fr_opts { uint64_t rate, chunk, limit, hold; };

static int parse(int argc, char **argv, struct fr_opts *o)
{
	int c, r = 0;

	*o = (struct fr_opts){ .rate = 10 << 20, .chunk = 1 << 20, .limit = 0, .hold = WL_FOREVER };
	while ((c = wl_getopt(argc, argv, opts)) != -1) {
		switch (c) {
		case OPT_RATE: r = wl_opt_rate("--rate", optarg, &o->rate); break;
		case OPT_CHUNK: r = wl_opt_size("--chunk", optarg, 1, 1ULL << 30, 1, &o->chunk); break;
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
	struct fr_opts o;
	return parse(argc, argv, &o);
}

static int fixed_rate_main(int argc, char **argv)
{
	struct fr_opts o;
	int r = parse(argc, argv, &o);

	if (r == WL_PARSE_HELP) {
		wl_help(&workload_fixed_rate);
		return PNB_EXIT_OK;
	}
	if (r)
		return PNB_EXIT_USAGE;
	uint64_t rate = o.rate, chunk = o.chunk, limit = o.limit, hold = o.hold;

	wl_phase("alloc");
	uint64_t t0 = pnb_mono_ns();
	r = wl_alloc_paced(rate, chunk, limit);
	if (r) {
		pnb_err("mmap: %s", strerror(-r));
		return PNB_EXIT_FAIL;
	}
	/* Throughput for the mechanism-cost benchmark (docs/vmstat-cost.md). */
	wl_result_alloc(limit, pnb_mono_ns() - t0, 1);
	wl_hold(hold);
	return PNB_EXIT_OK;
}

const struct workload workload_fixed_rate = {
	.name = "fixed-rate",
	.summary = "anonymous memory at a fixed rate, every page touched",
	.usage =
	"  --rate RATE       allocation rate (default 10M/s)\n"
	"  --chunk SIZE      bytes per allocation, whole pages (default 1M)\n"
	"  --limit SIZE      stop allocating at SIZE, then hold (default: never)\n"
	"  --hold DURATION   how long to hold at the limit (default: until killed)\n",
	.main = fixed_rate_main,
	.check = check,
};
