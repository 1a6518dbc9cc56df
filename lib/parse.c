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

/* Leading unsigned decimal with optional fraction; *rest points after it. */
static int parse_decimal_prefix(const char *s, double *out, const char **rest)
{
	char *end;
	double v;

	if (!s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (end == s)
		return -EINVAL;
	/* strtod accepts hex, inf, nan, exponents: we do not. */
	for (const char *p = s; p < end; p++)
		if (!isdigit((unsigned char)*p) && *p != '.')
			return -EINVAL;
	if (errno == ERANGE || !isfinite(v))
		return -ERANGE;
	*out = v;
	*rest = end;
	return 0;
}

int pnb_parse_double(const char *s, double *out)
{
	const char *rest;
	int r = parse_decimal_prefix(s, out, &rest);
	if (r)
		return r;
	return *rest ? -EINVAL : 0;
}

int pnb_parse_duration_ns(const char *s, uint64_t *out)
{
	static const struct { const char *unit; double ns; } units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 },
		{ "m", 60e9 }, { "h", 3600e9 },
	};
	const char *rest;
	double v;
	int r = parse_decimal_prefix(s, &v, &rest);

	if (r)
		return r;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(rest, units[i].unit) == 0) {
			double ns = v * units[i].ns;
			if (ns >= 1.8e19)
				return -ERANGE;
			*out = (uint64_t)llround(ns);
			return 0;
		}
	}
	return -EINVAL;
}

int pnb_parse_size_bytes(const char *s, uint64_t *out)
{
	const char *rest;
	double v, mult = 1;
	int r = parse_decimal_prefix(s, &v, &rest);

	if (r)
		return r;
	switch (toupper((unsigned char)*rest)) {
	case 0: break;
	case 'K': mult = 1024.0; rest++; break;
	case 'M': mult = 1024.0 * 1024; rest++; break;
	case 'G': mult = 1024.0 * 1024 * 1024; rest++; break;
	case 'T': mult = 1024.0 * 1024 * 1024 * 1024; rest++; break;
	default: return -EINVAL;
	}
	/* Accept "M", "MB", "MiB" alike: all binary. */
	if (mult > 1 && (strcasecmp(rest, "b") == 0 || strcasecmp(rest, "ib") == 0))
		rest += strlen(rest);
	if (*rest)
		return -EINVAL;
	if (v * mult >= 1.8e19)
		return -ERANGE;
	*out = (uint64_t)llround(v * mult);
	return 0;
}

int pnb_parse_rate_bps(const char *s, uint64_t *out)
{
	char buf[64];
	size_t n;
	int r;

	if (!s || (n = strlen(s)) >= sizeof buf)
		return -EINVAL;
	memcpy(buf, s, n + 1);
	if (n > 2 && strcmp(buf + n - 2, "/s") == 0)
		buf[n - 2] = 0;
	r = pnb_parse_size_bytes(buf, out);
	if (r)
		return r;
	return *out ? 0 : -ERANGE;
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
