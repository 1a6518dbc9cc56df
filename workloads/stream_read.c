/* stream-read: read a file larger than RAM sequentially, several passes.
 * Page cache churns while MemAvailable stays high: any medium/critical or
 * PSI notification here is a false positive.  --fadvise dontneed drops every
 * block after reading it, the no-pressure control. */
#include "common.h"
#include "log.h"

#include <string.h>

extern const struct workload workload_stream_read;

enum { OPT_FILE = 1, OPT_SIZE, OPT_PASSES, OPT_BLOCK, OPT_FADVISE, OPT_DIRECT };

static const struct option opts[] = {
	{ "file", required_argument, NULL, OPT_FILE },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "passes", required_argument, NULL, OPT_PASSES },
	{ "block", required_argument, NULL, OPT_BLOCK },
	{ "fadvise", required_argument, NULL, OPT_FADVISE },
	{ "direct", no_argument, NULL, OPT_DIRECT },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

static int parse_advice(const char *val, enum wl_fadvise *out)
{
	static const char *names[] = { "none", "sequential", "dontneed" };
	for (int i = 0; i < 3; i++) {
		if (strcmp(val, names[i]) == 0) {
			*out = (enum wl_fadvise)i;
			return 0;
		}
	}
	wl_opt_error("--fadvise", val, "not one of none, sequential, dontneed");
	return -1;
}

struct sr_opts {
	const char *file;
	uint64_t size, passes, block;
	enum wl_fadvise advice;
	int direct;
};

static int parse(int argc, char **argv, struct sr_opts *o)
{
	const char *block_arg = "1M";
	int c, r = 0;

	*o = (struct sr_opts){ .passes = 2, .block = 1 << 20, .advice = WL_FADV_NONE };
	while ((c = wl_getopt(argc, argv, opts)) != -1) {
		switch (c) {
		case OPT_FILE: o->file = optarg; break;
		case OPT_SIZE: r = wl_opt_size("--size", optarg, 1, UINT64_MAX, 0, &o->size); break;
		case OPT_PASSES: r = wl_opt_count("--passes", optarg, 1, 1000000, &o->passes); break;
		case OPT_BLOCK: block_arg = optarg; r = wl_opt_size("--block", optarg, 1, 1 << 30, 0, &o->block); break;
		case OPT_FADVISE: r = parse_advice(optarg, &o->advice); break;
		case OPT_DIRECT: o->direct = 1; break;
		case 'h': return WL_PARSE_HELP;
		default: return PNB_EXIT_USAGE;
		}
		if (r)
			return PNB_EXIT_USAGE;
	}
	if (!o->file)
		return wl_opt_error("--file", NULL, "required");
	if (o->direct && o->block % wl_page_size())
		return wl_opt_error("--block", block_arg, "not a multiple of the page size, needed by --direct");
	return 0;
}

static int check(int argc, char **argv)
{
	struct sr_opts o;
	return parse(argc, argv, &o);
}

static int stream_read_main(int argc, char **argv)
{
	const char *what;
	struct wl_reader rd;
	struct sr_opts o;
	int r = parse(argc, argv, &o);

	if (r == WL_PARSE_HELP) {
		wl_help(&workload_stream_read);
		return PNB_EXIT_OK;
	}
	if (r)
		return PNB_EXIT_USAGE;
	const char *file = o.file;
	uint64_t size = o.size, passes = o.passes, block = o.block;

	r = wl_file_prepare(file, size, &what);
	if (r) {
		pnb_err("%s: %s: %s", file, what, strerror(-r));
		return PNB_EXIT_FAIL;
	}
	r = wl_reader_open(&rd, file, block, o.advice, o.direct);
	if (r) {
		pnb_err("%s: open: %s", file, strerror(-r));
		return PNB_EXIT_FAIL;
	}
	wl_phase("read");
	for (uint64_t p = 1; p <= passes && !r; p++) {
		wl_progress("pass", p);
		r = wl_reader_pass(&rd, 0);
	}
	wl_reader_close(&rd);
	if (r) {
		pnb_err("%s: read: %s", file, strerror(-r));
		return PNB_EXIT_FAIL;
	}
	return PNB_EXIT_OK;
}

const struct workload workload_stream_read = {
	.name = "stream-read",
	.summary = "sequential read of a file larger than RAM, several passes",
	.usage =
	"  --file PATH       file to read (required)\n"
	"  --size SIZE       first create/extend it to SIZE bytes of fixed data\n"
	"  --passes N        passes over the file (default 2)\n"
	"  --block SIZE      read size (default 1M)\n"
	"  --fadvise ADVICE  none|sequential|dontneed (default none; dontneed\n"
	"                    drops each block after reading: no-pressure control)\n"
	"  --direct          O_DIRECT, bypassing the page cache\n",
	.main = stream_read_main,
	.check = check,
};
