#include "parse.h"
#include "clock.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int pnb_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

int pnb_parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;
	const char *d = s;

	if (!s)
		return -EINVAL;
	if (*d == '-' || *d == '+')
		d++;
	if (!isdigit((unsigned char)*d))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* A leading unsigned decimal with optional fraction ("12", "1.5"; not
 * ".5", "1." or exponents). */
struct decimal {
	double v;
	uint64_t ival;		/* the exact value when exact */
	int frac;		/* it had a fraction */
	int exact;		/* whole and within u64 */
	const char *rest;	/* what follows it */
};

static int parse_decimal_prefix(const char *s, struct decimal *d)
{
	char num[128];
	const char *p = s;
	size_t len;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	while (isdigit((unsigned char)*p))
		p++;
	d->frac = *p == '.';
	if (d->frac) {
		if (!isdigit((unsigned char)p[1]))
			return -EINVAL;
		p++;
		while (isdigit((unsigned char)*p))
			p++;
	}
	len = (size_t)(p - s);
	if (len >= sizeof num)
		return -ERANGE;
	memcpy(num, s, len);
	num[len] = 0;
	/* A double holds 53 bits: whole numbers are kept exact beside it, so
	 * callers can scale them in integer arithmetic.  Past u64 only the
	 * double is left, and scaling it reports -ERANGE. */
	d->exact = !d->frac && pnb_parse_u64(num, &d->ival) == 0;
	errno = 0;
	d->v = strtod(num, &end);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || !isfinite(d->v))
		return -ERANGE;
	d->rest = p;
	return 0;
}

/* d * mult as u64: exact for whole numbers, rounded otherwise. */
static int scale_u64(const struct decimal *d, uint64_t mult, uint64_t *out)
{
	uint64_t r;
	double v;

	if (d->exact) {
		if (__builtin_mul_overflow(d->ival, mult, &r))
			return -ERANGE;
		*out = r;
		return 0;
	}
	v = round(d->v * (double)mult);
	/* 2^64: the first double a u64 cannot hold. */
	if (!(v < 18446744073709551616.0))
		return -ERANGE;
	*out = (uint64_t)v;
	return 0;
}

int pnb_parse_double(const char *s, double *out)
{
	struct decimal d;
	int r = parse_decimal_prefix(s, &d);

	if (r)
		return r;
	if (*d.rest)
		return -EINVAL;
	*out = d.v;
	return 0;
}

int pnb_parse_duration_ns(const char *s, uint64_t *out)
{
	static const struct { const char *unit; uint64_t ns; } units[] = {
		{ "ns", 1 }, { "us", NS_PER_US }, { "ms", NS_PER_MS }, { "s", NS_PER_S },
		{ "m", 60 * NS_PER_S }, { "h", 3600 * NS_PER_S },
	};
	struct decimal d;
	int r = parse_decimal_prefix(s, &d);

	if (r)
		return r;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(d.rest, units[i].unit) == 0)
			return scale_u64(&d, units[i].ns, out);
	return -EINVAL;
}

int pnb_parse_size_bytes(const char *s, uint64_t *out)
{
	struct decimal d;
	const char *rest;
	uint64_t mult = 1;
	int r = parse_decimal_prefix(s, &d);

	if (r)
		return r;
	rest = d.rest;
	switch (toupper((unsigned char)*rest)) {
	case 0: break;
	case 'K': mult = 1ULL << 10; rest++; break;
	case 'M': mult = 1ULL << 20; rest++; break;
	case 'G': mult = 1ULL << 30; rest++; break;
	case 'T': mult = 1ULL << 40; rest++; break;
	default: return -EINVAL;
	}
	/* Accept "M", "MB", "MiB" alike: all binary. */
	if (mult > 1 && (strcasecmp(rest, "b") == 0 || strcasecmp(rest, "ib") == 0))
		rest += strlen(rest);
	if (*rest)
		return -EINVAL;
	/* A fraction of a byte is no size. */
	if (mult == 1 && d.frac)
		return -EINVAL;
	return scale_u64(&d, mult, out);
}

int pnb_parse_rate_bps(const char *s, uint64_t *out)
{
	char buf[64];
	uint64_t v;
	size_t n;
	int r;

	if (!s || (n = strlen(s)) >= sizeof buf)
		return -EINVAL;
	memcpy(buf, s, n + 1);
	if (n > 2 && strcmp(buf + n - 2, "/s") == 0)
		buf[n - 2] = 0;
	r = pnb_parse_size_bytes(buf, &v);
	if (r)
		return r;
	if (!v)
		return -ERANGE;
	*out = v;
	return 0;
}

int pnb_parse_bool(const char *s, int *out)
{
	static const char *yes[] = { "1", "yes", "true", "on" };
	static const char *no[] = { "0", "no", "false", "off" };

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) { *out = 1; return 0; }
		if (strcasecmp(s, no[i]) == 0) { *out = 0; return 0; }
	}
	return -EINVAL;
}

const char *pnb_fmt_duration(uint64_t ns, char *buf, size_t len)
{
	if (ns % NS_PER_S == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ns / NS_PER_S));
	else if (ns % NS_PER_MS == 0)
		snprintf(buf, len, "%llums", (unsigned long long)(ns / NS_PER_MS));
	else if (ns % NS_PER_US == 0)
		snprintf(buf, len, "%lluus", (unsigned long long)(ns / NS_PER_US));
	else
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
	return buf;
}
