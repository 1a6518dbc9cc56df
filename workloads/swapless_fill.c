/* swapless-fill: the /dev/mem_notify swapless test (Daniel Spang, linux-mm,
 * January 2008): fill the page cache from a real file ("cat /bigfile >
 * /dev/null"), then allocate anonymous memory at 10 MB/s until the OOM
 * killer.  Reclaiming clean cache is not a shortage yet: a mechanism that
 * fires after ~100 MB while most of RAM is still cache fires too early. */
#include "common.h"
#include "log.h"

#include <string.h>

extern const struct workload workload_swapless_fill;

enum { OPT_FILE = 1, OPT_SIZE, OPT_FILL, OPT_RATE, OPT_CHUNK, OPT_LIMIT, OPT_HOLD };

static const struct option opts[] = {
	{ "file", required_argument, NULL, OPT_FILE },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "fill", required_argument, NULL, OPT_FILL },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "chunk", required_argument, NULL, OPT_CHUNK },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "hold", required_argument, NULL, OPT_HOLD },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

struct sf_opts {
	const char *file;
	uint64_t size, fill, rate, chunk, limit, hold;
};

static int parse(int argc, char **argv, struct sf_opts *o)
{
	int c, r = 0;

	*o = (struct sf_opts){ .rate = 10 << 20, .chunk = 1 << 20, .hold = WL_FOREVER };
	while ((c = wl_getopt(argc, argv, opts)) != -1) {
		switch (c) {
		case OPT_FILE: o->file = optarg; break;
		case OPT_SIZE: r = wl_opt_size("--size", optarg, 1, UINT64_MAX, 0, &o->size); break;
		case OPT_FILL: r = wl_opt_size("--fill", optarg, 1, UINT64_MAX, 0, &o->fill); break;
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
	if (!o->file)
		return wl_opt_error("--file", NULL, "required");
	return 0;
}

static int check(int argc, char **argv)
{
	struct sf_opts o;
	return parse(argc, argv, &o);
}

static int swapless_fill_main(int argc, char **argv)
{
	const char *what;
	struct wl_reader rd;
	struct sf_opts o;
	int r = parse(argc, argv, &o);

	if (r == WL_PARSE_HELP) {
		wl_help(&workload_swapless_fill);
		return PNB_EXIT_OK;
	}
	if (r)
		return PNB_EXIT_USAGE;
	const char *file = o.file;
	uint64_t size = o.size, fill = o.fill, rate = o.rate, chunk = o.chunk, limit = o.limit;
	uint64_t hold = o.hold;

	r = wl_file_prepare(file, size, &what);
	if (r) {
		pnb_err("%s: %s: %s", file, what, strerror(-r));
		return PNB_EXIT_FAIL;
	}
	r = wl_reader_open(&rd, file, 1 << 20, WL_FADV_NONE, 0);
	if (r) {
		pnb_err("%s: open: %s", file, strerror(-r));
		return PNB_EXIT_FAIL;
	}
	wl_phase("fill");
	r = wl_reader_pass(&rd, fill);
	wl_reader_close(&rd);
	if (r) {
		pnb_err("%s: read: %s", file, strerror(-r));
		return PNB_EXIT_FAIL;
	}

	wl_phase("alloc");
	r = wl_alloc_paced(rate, chunk, limit);
	if (r) {
		pnb_err("mmap: %s", strerror(-r));
		return PNB_EXIT_FAIL;
	}
	wl_hold(hold);
	return PNB_EXIT_OK;
}

const struct workload workload_swapless_fill = {
	.name = "swapless-fill",
	.summary = "fill the page cache from a file, then anonymous memory at a fixed rate",
	.usage =
	"  --file PATH       file read into the page cache (required)\n"
	"  --size SIZE       first create/extend it to SIZE bytes of fixed data\n"
	"  --fill SIZE       read only its first SIZE bytes (default: all)\n"
	"  --rate RATE       allocation rate (default 10M/s)\n"
	"  --chunk SIZE      bytes per allocation, whole pages (default 1M)\n"
	"  --limit SIZE      stop allocating at SIZE, then hold (default: never)\n"
	"  --hold DURATION   how long to hold at the limit (default: until killed)\n",
	.main = swapless_fill_main,
	.check = check,
};
