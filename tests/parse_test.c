/* lib/parse.h: every accepted form gives the exact value, every sloppy one
 * is refused with the right errno and leaves the output untouched. */
#include <atf-c.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "parse.h"

#define POISON 0x5a5a5a5a5a5a5a5aULL

static void u64_ok(int (*fn)(const char *, uint64_t *), const char *s, uint64_t want)
{
	uint64_t v = POISON;
	int r = fn(s, &v);
	ATF_CHECK_MSG(r == 0, "\"%s\": r=%d, want 0", s, r);
	ATF_CHECK_MSG(v == want, "\"%s\": got %llu, want %llu", s,
		      (unsigned long long)v, (unsigned long long)want);
}

static void u64_bad(int (*fn)(const char *, uint64_t *), const char *s, int err)
{
	uint64_t v = POISON;
	int r = fn(s, &v);
	if (!s)
		s = "(null)";
	ATF_CHECK_MSG(r == err, "\"%s\": r=%d, want %d", s, r, err);
	ATF_CHECK_MSG(v == POISON, "\"%s\": output written on error", s);
}

ATF_TC_WITHOUT_HEAD(u64);
ATF_TC_BODY(u64, tc)
{
	u64_ok(pnb_parse_u64, "0", 0);
	u64_ok(pnb_parse_u64, "42", 42);
	u64_ok(pnb_parse_u64, "007", 7);
	u64_ok(pnb_parse_u64, "18446744073709551615", UINT64_MAX);
	u64_bad(pnb_parse_u64, "18446744073709551616", -ERANGE);
	u64_bad(pnb_parse_u64, "99999999999999999999999", -ERANGE);
	u64_bad(pnb_parse_u64, "12x", -EINVAL);
	u64_bad(pnb_parse_u64, "", -EINVAL);
	u64_bad(pnb_parse_u64, "-1", -EINVAL);
	u64_bad(pnb_parse_u64, "+1", -EINVAL);
	u64_bad(pnb_parse_u64, " 1", -EINVAL);
	u64_bad(pnb_parse_u64, "1 ", -EINVAL);
	u64_bad(pnb_parse_u64, "1\n", -EINVAL);
	u64_bad(pnb_parse_u64, "0x10", -EINVAL);
	u64_bad(pnb_parse_u64, "1.0", -EINVAL);
	u64_bad(pnb_parse_u64, NULL, -EINVAL);
}

static void i64_ok(const char *s, int64_t want)
{
	int64_t v = (int64_t)POISON;
	int r = pnb_parse_i64(s, &v);
	ATF_CHECK_MSG(r == 0 && v == want, "\"%s\": r=%d v=%lld, want %lld", s, r,
		      (long long)v, (long long)want);
}

static void i64_bad(const char *s, int err)
{
	int64_t v = (int64_t)POISON;
	int r = pnb_parse_i64(s, &v);
	ATF_CHECK_MSG(r == err && v == (int64_t)POISON, "\"%s\": r=%d, want %d",
		      s ? s : "(null)", r, err);
}

ATF_TC_WITHOUT_HEAD(i64);
ATF_TC_BODY(i64, tc)
{
	i64_ok("0", 0);
	i64_ok("-1", -1);
	i64_ok("+5", 5);
	i64_ok("-1000", -1000);
	i64_ok("9223372036854775807", INT64_MAX);
	i64_ok("-9223372036854775808", INT64_MIN);
	i64_bad("9223372036854775808", -ERANGE);
	i64_bad("-9223372036854775809", -ERANGE);
	i64_bad("-", -EINVAL);
	i64_bad("", -EINVAL);
	i64_bad(" -1", -EINVAL);
	i64_bad("--1", -EINVAL);
	i64_bad("1.0", -EINVAL);
	i64_bad("12x", -EINVAL);
	i64_bad(NULL, -EINVAL);
}

ATF_TC_WITHOUT_HEAD(double_num);
ATF_TC_BODY(double_num, tc)
{
	static const char *bad[] = { "", ".5", "1.", "1e3", "nan", "inf", "0x10",
				     "-1", " 1", "1.5x", "1..5", "1.5.3" };
	double v;

	ATF_CHECK(pnb_parse_double("0.5", &v) == 0 && v == 0.5);
	ATF_CHECK(pnb_parse_double("12", &v) == 0 && v == 12.0);
	ATF_CHECK(pnb_parse_double("0.00", &v) == 0 && v == 0.0);
	ATF_CHECK(pnb_parse_double("99.99", &v) == 0 && v == 99.99);
	/* Past u64 is still a fine double. */
	ATF_CHECK(pnb_parse_double("18446744073709551616", &v) == 0 &&
		  v == 18446744073709551616.0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = -7;
		int r = pnb_parse_double(bad[i], &v);
		ATF_CHECK_MSG(r == -EINVAL && v == -7, "\"%s\": r=%d", bad[i], r);
	}
}

ATF_TC_WITHOUT_HEAD(duration);
ATF_TC_BODY(duration, tc)
{
	u64_ok(pnb_parse_duration_ns, "150ms", 150000000ULL);
	u64_ok(pnb_parse_duration_ns, "1s", 1000000000ULL);
	u64_ok(pnb_parse_duration_ns, "1.5s", 1500000000ULL);
	u64_ok(pnb_parse_duration_ns, "500us", 500000ULL);
	u64_ok(pnb_parse_duration_ns, "7ns", 7);
	u64_ok(pnb_parse_duration_ns, "0ms", 0);
	u64_ok(pnb_parse_duration_ns, "2m", 120000000000ULL);
	u64_ok(pnb_parse_duration_ns, "1h", 3600000000000ULL);
	u64_ok(pnb_parse_duration_ns, "0.001s", 1000000ULL);
	u64_ok(pnb_parse_duration_ns, "2.5us", 2500);
	/* Whole numbers are scaled exactly, past 2^53 and past 2^63. */
	u64_ok(pnb_parse_duration_ns, "18446744073709551615ns", UINT64_MAX);
	u64_ok(pnb_parse_duration_ns, "10000000000s", 10000000000000000000ULL);
	u64_ok(pnb_parse_duration_ns, "18446744073s", 18446744073000000000ULL);
	u64_bad(pnb_parse_duration_ns, "18446744074s", -ERANGE);
	u64_bad(pnb_parse_duration_ns, "18446744073709551616ns", -ERANGE);
	u64_bad(pnb_parse_duration_ns, "18446744073.8s", -ERANGE);
	u64_bad(pnb_parse_duration_ns, "10", -EINVAL);
	u64_bad(pnb_parse_duration_ns, "1ms5", -EINVAL);
	u64_bad(pnb_parse_duration_ns, "ms", -EINVAL);
	u64_bad(pnb_parse_duration_ns, "", -EINVAL);
	u64_bad(pnb_parse_duration_ns, "-1s", -EINVAL);
	u64_bad(pnb_parse_duration_ns, "1 s", -EINVAL);
	u64_bad(pnb_parse_duration_ns, " 1s", -EINVAL);
	u64_bad(pnb_parse_duration_ns, "1S", -EINVAL);
	u64_bad(pnb_parse_duration_ns, "1sec", -EINVAL);
	u64_bad(pnb_parse_duration_ns, "1e3ms", -EINVAL);
	u64_bad(pnb_parse_duration_ns, ".5s", -EINVAL);
	u64_bad(pnb_parse_duration_ns, "1.s", -EINVAL);
	u64_bad(pnb_parse_duration_ns, "1s ", -EINVAL);
}

ATF_TC_WITHOUT_HEAD(size);
ATF_TC_BODY(size, tc)
{
	u64_ok(pnb_parse_size_bytes, "256M", 268435456ULL);
	u64_ok(pnb_parse_size_bytes, "4k", 4096);
	u64_ok(pnb_parse_size_bytes, "4K", 4096);
	u64_ok(pnb_parse_size_bytes, "1G", 1073741824ULL);
	u64_ok(pnb_parse_size_bytes, "1.5M", 1572864ULL);
	u64_ok(pnb_parse_size_bytes, "4096", 4096);
	u64_ok(pnb_parse_size_bytes, "0", 0);
	/* The header promises binary multiples whatever the suffix spelling. */
	u64_ok(pnb_parse_size_bytes, "10MB", 10485760ULL);
	u64_ok(pnb_parse_size_bytes, "10MiB", 10485760ULL);
	u64_ok(pnb_parse_size_bytes, "10mib", 10485760ULL);
	u64_ok(pnb_parse_size_bytes, "16T", 17592186044416ULL);
	u64_ok(pnb_parse_size_bytes, "16777215T", 18446742974197923840ULL);
	/* 2^53 + 1: a double would round it to 2^53. */
	u64_ok(pnb_parse_size_bytes, "9007199254740993", 9007199254740993ULL);
	u64_bad(pnb_parse_size_bytes, "16777216T", -ERANGE);
	u64_bad(pnb_parse_size_bytes, "18446744073709551616", -ERANGE);
	u64_bad(pnb_parse_size_bytes, "12Q", -EINVAL);
	u64_bad(pnb_parse_size_bytes, "1.5", -EINVAL);
	u64_bad(pnb_parse_size_bytes, "M", -EINVAL);
	u64_bad(pnb_parse_size_bytes, "", -EINVAL);
	u64_bad(pnb_parse_size_bytes, "10B", -EINVAL);
	u64_bad(pnb_parse_size_bytes, "10MBs", -EINVAL);
	u64_bad(pnb_parse_size_bytes, "10 M", -EINVAL);
	u64_bad(pnb_parse_size_bytes, "-1M", -EINVAL);
	u64_bad(pnb_parse_size_bytes, "1e6", -EINVAL);
}

ATF_TC_WITHOUT_HEAD(rate);
ATF_TC_BODY(rate, tc)
{
	u64_ok(pnb_parse_rate_bps, "10M/s", 10485760ULL);
	u64_ok(pnb_parse_rate_bps, "10M", 10485760ULL);
	u64_ok(pnb_parse_rate_bps, "512k/s", 524288ULL);
	u64_ok(pnb_parse_rate_bps, "1", 1);
	u64_bad(pnb_parse_rate_bps, "0/s", -ERANGE);
	u64_bad(pnb_parse_rate_bps, "0", -ERANGE);
	u64_bad(pnb_parse_rate_bps, "/s", -EINVAL);
	u64_bad(pnb_parse_rate_bps, "10M/s/s", -EINVAL);
	u64_bad(pnb_parse_rate_bps, "10M/h", -EINVAL);
	u64_bad(pnb_parse_rate_bps, "fast", -EINVAL);
	u64_bad(pnb_parse_rate_bps, NULL, -EINVAL);
}

ATF_TC_WITHOUT_HEAD(boolean);
ATF_TC_BODY(boolean, tc)
{
	static const char *yes[] = { "1", "yes", "true", "on", "YES", "True" };
	static const char *no[] = { "0", "no", "false", "off", "OFF" };
	static const char *bad[] = { "", "2", "y", "n", "yes ", "enable", "01" };
	int v;

	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		v = -1;
		ATF_CHECK_MSG(pnb_parse_bool(yes[i], &v) == 0 && v == 1, "\"%s\"", yes[i]);
	}
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
		v = -1;
		ATF_CHECK_MSG(pnb_parse_bool(no[i], &v) == 0 && v == 0, "\"%s\"", no[i]);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = -1;
		ATF_CHECK_MSG(pnb_parse_bool(bad[i], &v) == -EINVAL && v == -1, "\"%s\"", bad[i]);
	}
	ATF_CHECK_EQ(pnb_parse_bool(NULL, &v), -EINVAL);
}

ATF_TC_WITHOUT_HEAD(fmt_duration);
ATF_TC_BODY(fmt_duration, tc)
{
	char b[32];

	ATF_CHECK_STREQ(pnb_fmt_duration(150000000ULL, b, sizeof b), "150ms");
	ATF_CHECK_STREQ(pnb_fmt_duration(2000000000ULL, b, sizeof b), "2s");
	ATF_CHECK_STREQ(pnb_fmt_duration(1500000000ULL, b, sizeof b), "1500ms");
	ATF_CHECK_STREQ(pnb_fmt_duration(1500000ULL, b, sizeof b), "1500us");
	ATF_CHECK_STREQ(pnb_fmt_duration(7, b, sizeof b), "7ns");
	/* What it prints, the duration parser reads back. */
	for (uint64_t ns = 1; ns < UINT64_MAX / 7; ns *= 7) {
		uint64_t back = 0;
		pnb_fmt_duration(ns, b, sizeof b);
		ATF_CHECK_MSG(pnb_parse_duration_ns(b, &back) == 0 && back == ns,
			      "%llu -> \"%s\" -> %llu", (unsigned long long)ns, b,
			      (unsigned long long)back);
	}
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, u64);
	ATF_TP_ADD_TC(tp, i64);
	ATF_TP_ADD_TC(tp, double_num);
	ATF_TP_ADD_TC(tp, duration);
	ATF_TP_ADD_TC(tp, size);
	ATF_TP_ADD_TC(tp, rate);
	ATF_TP_ADD_TC(tp, boolean);
	ATF_TP_ADD_TC(tp, fmt_duration);
	return atf_no_error();
}
