#include "common.h"
#include "memhog.h"
#include "clock.h"
#include "log.h"
#include "parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Option parsing is single-threaded (getopt's globals): one sink is enough. */
static char *usage_buf;
static size_t usage_len;
static int usage_taken;

void wl_usage_capture(char *buf, size_t len)
{
	usage_buf = buf;
	usage_len = len;
	usage_taken = 0;
	if (buf && len)
		buf[0] = 0;
}

int wl_usage(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!usage_buf)
		pnb_err("%s", msg);
	else if (!usage_taken && usage_len) {
		snprintf(usage_buf, usage_len, "%s", msg);
		usage_taken = 1;
	}
	return PNB_EXIT_USAGE;
}

int wl_opt_error(const char *opt, const char *val, const char *why)
{
	if (val)
		return wl_usage("%s '%s': %s", opt, val, why);
	return wl_usage("%s: %s", opt, why);
}

int wl_getopt(int argc, char **argv, const struct option *opts)
{
	int c;

	opterr = 0;
	c = getopt_long(argc, argv, ":h", opts, NULL);
	if (c == -1 && optind < argc) {
		wl_usage("'%s': unexpected argument (try --help)", argv[optind]);
		return '?';
	}
	if (c != '?' && c != ':')
		return c;
	/* GNU getopt has stepped past a bad long option; a bad short one in a
	 * cluster ("-xy") is only named by optopt. */
	const char *tok = argv[optind - 1];
	if (strncmp(tok, "--", 2) == 0) {
		char name[64];
		const char *eq = strchr(tok, '=');
		size_t n = eq ? (size_t)(eq - tok) : strlen(tok);
		snprintf(name, sizeof name, "%.*s", (int)n, tok);
		if (c == ':')
			wl_opt_error(name, NULL, "missing value");
		else if (optopt)	/* known, but "--flag=value" */
			wl_opt_error(name, eq ? eq + 1 : NULL, "takes no value");
		else
			wl_opt_error(name, eq ? eq + 1 : NULL, "unknown option (try --help)");
	} else {
		char name[3] = { '-', (char)optopt, 0 };
		wl_opt_error(name, NULL, c == ':' ? "missing value" : "unknown option (try --help)");
	}
	return '?';
}

void wl_help(const struct workload *w)
{
	printf("usage: pnbench-workload %s [options]\n%s\n\noptions:\n%s"
	       "  --help            this text\n", w->name, w->summary, w->usage);
}

/* For the option helpers, which report -1 to their caller. */
static int refuse(const char *opt, const char *val, const char *why)
{
	wl_opt_error(opt, val, why);
	return -1;
}

static const char *fmt_size(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "TGMK";
	for (int i = 0; i < 4; i++) {
		uint64_t m = 1ULL << (10 * (4 - i));
		if (v >= m && v % m == 0) {
			snprintf(buf, len, "%llu%c", (unsigned long long)(v / m), units[i]);
			return buf;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

int wl_opt_size(const char *opt, const char *val, uint64_t min, uint64_t max,
		int page_multiple, uint64_t *out)
{
	char why[96], num[32];
	int r = pnb_parse_size_bytes(val, out);

	if (r == -EINVAL)
		return refuse(opt, val, "not a size (e.g. 4096, 64k, 1M, 2G)");
	if (r || *out > max)
		snprintf(why, sizeof why, "too large (at most %s)", fmt_size(max, num, sizeof num));
	else if (*out < min)
		snprintf(why, sizeof why, "too small (at least %s)", fmt_size(min, num, sizeof num));
	else if (page_multiple && *out % wl_page_size())
		snprintf(why, sizeof why, "not a multiple of the page size (%zu)", wl_page_size());
	else
		return 0;
	return refuse(opt, val, why);
}

int wl_opt_rate(const char *opt, const char *val, uint64_t *out)
{
	int r = pnb_parse_rate_bps(val, out);

	if (r == -EINVAL)
		return refuse(opt, val, "not a rate (e.g. 10M/s)");
	if (r)
		return refuse(opt, val, "out of range (must be above 0)");
	return 0;
}

int wl_opt_duration(const char *opt, const char *val, uint64_t *out)
{
	int r = pnb_parse_duration_ns(val, out);

	if (r == -EINVAL)
		return refuse(opt, val, "not a duration (e.g. 500ms, 30s, 2m)");
	if (r)
		return refuse(opt, val, "too long");
	return 0;
}

int wl_opt_count(const char *opt, const char *val, uint64_t min, uint64_t max,
		 uint64_t *out)
{
	char why[64];
	int r = pnb_parse_u64(val, out);

	if (r == -EINVAL)
		return refuse(opt, val, "not a whole number");
	if (r || *out < min || *out > max) {
		snprintf(why, sizeof why, "out of range (%llu..%llu)",
			 (unsigned long long)min, (unsigned long long)max);
		return refuse(opt, val, why);
	}
	return 0;
}

size_t wl_page_size(void)
{
	static size_t pg;
	if (!pg)
		pg = (size_t)sysconf(_SC_PAGESIZE);
	return pg;
}

static void mark_alloc(void *arg, uint64_t done)
{
	(void)arg;
	wl_progress("alloc_bytes", done);
}

int wl_alloc_paced(uint64_t rate_bps, uint64_t chunk, uint64_t limit)
{
	struct pnb_hog h = { .bytes = limit, .rate_bps = rate_bps, .chunk = chunk,
			     .progress = mark_alloc };
	return pnb_hog_run(&h);
}

void wl_hold(uint64_t hold_ns)
{
	wl_phase("hold");
	if (hold_ns == WL_FOREVER)
		for (;;)
			pause();
	pnb_sleep_until_ns(pnb_mono_ns() + hold_ns);
}

/* The data at a 1 MiB block: a function of the offset only, so a file grown
 * in steps equals one written at once; every byte odd, so nothing is zero;
 * otherwise scrambled, so a compressing disk cannot make it cheap. */
#define FILL_BLOCK (1U << 20)
static void fill_block(uint64_t *w, uint64_t start)
{
	for (size_t i = 0; i < FILL_BLOCK / 8; i++) {
		uint64_t v = (start / 8 + i + 1) * 0x9E3779B97F4A7C15ULL;
		w[i] = (v ^ (v >> 29)) | 0x0101010101010101ULL;
	}
}

int wl_file_prepare(const char *path, uint64_t size, const char **what)
{
	struct stat st;
	uint64_t *buf = NULL;
	int fd, r = 0;

	*what = "open";
	if (!size)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	*what = "stat";
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	*what = "not a regular file, refusing to write it";
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size >= size)
		goto out;
	*what = "malloc";
	if (!(buf = malloc(FILL_BLOCK))) {
		r = -ENOMEM;
		goto out;
	}
	wl_phase("create");
	*what = "write";
	uint64_t off = (uint64_t)st.st_size, marked = 0;
	while (off < size) {
		uint64_t start = off - off % FILL_BLOCK;
		size_t skip = off - start;
		size_t n = FILL_BLOCK - skip;
		if (n > size - off)
			n = size - off;
		fill_block(buf, start);
		ssize_t w = pwrite(fd, (char *)buf + skip, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = w < 0 ? -errno : -EIO;
			goto out;
		}
		off += (uint64_t)w;
		if (off - marked >= WL_MARK_EVERY || off == size)
			wl_progress("write_bytes", marked = off);
	}
	/* Cold start for the reader: what was just written must come back
	 * from the disk, not from dirty page cache. */
	*what = "fdatasync";
	if (fdatasync(fd) < 0) {
		r = -errno;
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
out:
	free(buf);
	close(fd);
	return r;
}

int wl_reader_open(struct wl_reader *r, const char *path, size_t block,
		   enum wl_fadvise advice, int direct)
{
	int e;

	*r = (struct wl_reader){ .fd = -1, .block = block, .advice = advice };
	/* Page alignment satisfies O_DIRECT on any logical block size <= 4k. */
	e = posix_memalign(&r->buf, wl_page_size(), block);
	if (e)
		return -e;
	r->fd = open(path, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
	if (r->fd < 0) {
		e = -errno;
		wl_reader_close(r);
		return e;
	}
	if (advice == WL_FADV_SEQUENTIAL)
		posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return 0;
}

int wl_reader_pass(struct wl_reader *r, uint64_t limit)
{
	uint64_t off = 0;

	for (;;) {
		size_t want = r->block;
		if (limit && limit - off < want)
			want = limit - off;
		if (!want)
			break;
		ssize_t n = pread(r->fd, r->buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		if (r->advice == WL_FADV_DONTNEED)
			posix_fadvise(r->fd, (off_t)off, n, POSIX_FADV_DONTNEED);
		off += (uint64_t)n;
		r->total += (uint64_t)n;
		if (r->total - r->marked >= WL_MARK_EVERY)
			wl_progress("read_bytes", r->marked = r->total);
	}
	if (r->total != r->marked)
		wl_progress("read_bytes", r->marked = r->total);
	return 0;
}

void wl_reader_close(struct wl_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	r->fd = -1;
	r->buf = NULL;
}
