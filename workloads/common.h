/* Helpers shared by the workloads: option errors, anonymous memory that is
 * really used, a drift-free rate pacer, the data file and its reader.
 * Functions return 0 or -errno unless they say otherwise; option helpers
 * print the one-line usage error themselves and return -1. */
#ifndef PNB_WL_COMMON_H
#define PNB_WL_COMMON_H

#include "workload.h"

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#define WL_FOREVER UINT64_MAX		/* --hold default */
#define WL_MARK_EVERY (16ULL << 20)	/* progress marks at most this often */

/* A usage error: "<workload>: message" on stderr, or, while the host checks
 * a scenario's args (workload_check_args), into its buffer instead, so both
 * sides say the same words.  Returns PNB_EXIT_USAGE. */
int wl_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Send usage errors to buf (the first one wins) instead of stderr; NULL
 * sends them back to stderr. */
void wl_usage_capture(char *buf, size_t len);

/* "<workload>: --opt 'value': why" through wl_usage; returns PNB_EXIT_USAGE. */
int wl_opt_error(const char *opt, const char *val, const char *why);

/* What a workload's option parser returns for --help: main prints the help,
 * the host's check refuses it (help text on the events stream is no run). */
#define WL_PARSE_HELP (-1)

/* getopt_long without getopt's own messages: returns the option's val, -1 at
 * the end of the options, or '?' after printing the one-line error (unknown
 * option, missing value, stray argument). */
int wl_getopt(int argc, char **argv, const struct option *opts);

/* --help: usage on stdout. */
void wl_help(const struct workload *w);

/* Option values, range-checked; min/max inclusive. A size given with
 * page_multiple must be a whole number of pages. */
int wl_opt_size(const char *opt, const char *val, uint64_t min, uint64_t max,
		int page_multiple, uint64_t *out);
int wl_opt_rate(const char *opt, const char *val, uint64_t *out);
int wl_opt_duration(const char *opt, const char *val, uint64_t *out);
int wl_opt_count(const char *opt, const char *val, uint64_t min, uint64_t max,
		 uint64_t *out);

size_t wl_page_size(void);

/* Allocate --chunk bytes at a time at rate_bps until limit bytes (0: no
 * limit) with lib/memhog's pnb_hog_run, marking "alloc_bytes" after each
 * chunk.  Returns 0 when the limit is reached, -errno when allocation
 * fails.  A single block: pnb_hog_touch. */
int wl_alloc_paced(uint64_t rate_bps, uint64_t chunk, uint64_t limit);

/* Phase "hold", then sleep hold_ns (WL_FOREVER: until killed). */
void wl_hold(uint64_t hold_ns);

/* The data file: when size > 0 and the file is missing or shorter, extend it
 * to size bytes of deterministic non-zero data (phase "create"), then drop it
 * from the page cache so reading starts cold.  "what" names the failing step
 * for the caller's message. */
int wl_file_prepare(const char *path, uint64_t size, const char **what);

enum wl_fadvise { WL_FADV_NONE, WL_FADV_SEQUENTIAL, WL_FADV_DONTNEED };

struct wl_reader {
	int fd;
	void *buf;
	size_t block;
	enum wl_fadvise advice;
	uint64_t total;		/* bytes read over all passes: "read_bytes" */
	uint64_t marked;	/* total at the last mark */
};

/* Open path for reading (O_DIRECT when direct) with a page-aligned buffer. */
int wl_reader_open(struct wl_reader *r, const char *path, size_t block,
		   enum wl_fadvise advice, int direct);
/* Read from offset 0 to EOF, or only the first limit bytes when limit > 0,
 * marking "read_bytes" at most every WL_MARK_EVERY and at the end. */
int wl_reader_pass(struct wl_reader *r, uint64_t limit);
void wl_reader_close(struct wl_reader *r);

#endif
