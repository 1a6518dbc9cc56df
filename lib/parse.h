/* Strict number parsing: the whole string, range-checked, units explicit.
 * All functions return 0 or -EINVAL (not a number / bad unit) or -ERANGE. */
#ifndef PNB_PARSE_H
#define PNB_PARSE_H

#include <stdint.h>
#include <stddef.h>

int pnb_parse_u64(const char *s, uint64_t *out);
int pnb_parse_i64(const char *s, int64_t *out);
/* A decimal with optional fraction, e.g. "0.5", "12". */
int pnb_parse_double(const char *s, double *out);
/* "150ms", "1s", "500us", "2m", "1.5s": a unit is required. */
int pnb_parse_duration_ns(const char *s, uint64_t *out);
/* "256M", "4k", "1G", "4096" (bytes), binary multiples (K=1024). */
int pnb_parse_size_bytes(const char *s, uint64_t *out);
/* "10M/s" or "10M" (per second implied): bytes per second, > 0. */
int pnb_parse_rate_bps(const char *s, uint64_t *out);
/* "yes/no/true/false/on/off/1/0". */
int pnb_parse_bool(const char *s, int *out);

/* Format a duration for humans, e.g. "150ms", into buf. */
const char *pnb_fmt_duration(uint64_t ns, char *buf, size_t len);

#endif
