/* The MemAvailable threshold probe: spec parsing, crossing detection with
 * hysteresis against root-prefixed copies of captured files (system and v1
 * memcg domains), and one live tick. */
#include <atf-c.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "jsonl.h"
#include "probe.h"
#include "probetest.h"
#include "procfs.h"

#define MEMTOTAL_KB 24683620ULL	/* tests/data/memavail/system/proc/meminfo */

static void fixture_text(const atf_tc_t *tc, const char *rel, char *text, size_t len)
{
	char src[4096];
	ssize_t n;

	snprintf(src, sizeof src, "%s/data/memavail/%s", atf_tc_get_config_var(tc, "srcdir"),
		 rel);
	n = pnb_read_file("", src, text, len);
	ATF_REQUIRE_MSG(n > 0, "fixture %s: %s", src, strerror((int)-n));
}

/* data/memavail/<domain_dir>/<rel> to root/<rel>. */
static void copy_fixture(const atf_tc_t *tc, const char *domain_dir, const char *rel)
{
	char text[65536], from[4200], to[4200];

	snprintf(from, sizeof from, "%s/%s", domain_dir, rel);
	fixture_text(tc, from, text, sizeof text);
	snprintf(to, sizeof to, "root/%s", rel);
	put_file(to, text);
}

/* root/proc/meminfo = the captured one with MemAvailable replaced. */
static void set_memavailable(const atf_tc_t *tc, const char *domain_dir, uint64_t kb)
{
	char text[65536], out[66000], rel[256], *line, *save;
	size_t off = 0;

	snprintf(rel, sizeof rel, "%s/proc/meminfo", domain_dir);
	fixture_text(tc, rel, text, sizeof text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "MemAvailable:", 13) == 0)
			off += (size_t)snprintf(out + off, sizeof out - off,
						"MemAvailable:   %llu kB\n", (unsigned long long)kb);
		else
			off += (size_t)snprintf(out + off, sizeof out - off, "%s\n", line);
	}
	put_file("root/proc/meminfo", out);
}

static void root_here(char *root, size_t len)
{
	ATF_REQUIRE(getcwd(root, len - 8));
	strcat(root, "/root");
}

/* Wait for the probe's timer, then let it evaluate. */
static void tick(struct probe *p, struct jsonl *out)
{
	struct pollfd pfd = { .fd = p->fd[0], .events = POLLIN };

	ATF_REQUIRE_MSG(poll(&pfd, 1, 2000) == 1, "the probe's timer did not fire");
	ATF_REQUIRE_EQ(p->ops->handle(p, 0, pnb_mono_ns(), out), 0);
}

static json_t *last_event(const char *path)
{
	char buf[65536], *line, *last = NULL, *save;
	ssize_t n = pnb_read_file("", path, buf, sizeof buf);

	ATF_REQUIRE_MSG(n >= 0, "read %s: %s", path, strerror((int)-n));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		last = line;
	ATF_REQUIRE_MSG(last, "no event in %s", path);
	return json_loads(last, 0, NULL);
}

static long long jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	ATF_REQUIRE_MSG(json_is_integer(v), "event has no integer '%s'", k);
	return json_integer_value(v);
}

/* Arm spec against ./root; events go to ./events.jsonl. */
static void arm(struct probe *p, struct probe_env *env, struct jsonl *out, const char *spec)
{
	char why[PROBE_ERR_LEN] = "";
	int efd = open("events.jsonl", O_RDWR | O_CREAT | O_TRUNC, 0644);

	ATF_REQUIRE(efd >= 0);
	jsonl_init(out, efd, 0);
	ATF_REQUIRE(probe_from_spec(p, spec, why, sizeof why) == 0);
	ATF_REQUIRE_MSG(p->ops->supported(p, env, why, sizeof why) == 0, "%s", why);
	ATF_REQUIRE_MSG(p->ops->open(p, env, out, why, sizeof why) == 0, "%s", why);
	ATF_CHECK_EQ(p->nfd, 1);
}

static void disarm(struct probe *p, struct jsonl *out)
{
	p->ops->close(p, out);
	ATF_CHECK_EQ(p->fd[0], -1);
	probe_free(p);
	close(out->fd);
}

ATF_TC_WITHOUT_HEAD(parse_valid);
ATF_TC_BODY(parse_valid, tc)
{
	expect_parse_ok("memavail:64M");
	expect_parse_ok("memavail:10%");
	expect_parse_ok("memavail:0.5%");
	expect_parse_ok("memavail:64M:50ms");
	expect_parse_ok("memavail:1G:1ms");
	expect_parse_ok("memavail:4096:1s");
	expect_parse_ok("memavail:99.9%:2s");
}

ATF_TC_WITHOUT_HEAD(parse_invalid);
ATF_TC_BODY(parse_invalid, tc)
{
	expect_parse_bad("memavail", "missing threshold");
	expect_parse_bad("memavail::100ms", "missing threshold");
	expect_parse_bad("memavail:abc", "bad threshold 'abc'");
	expect_parse_bad("memavail:64X", "bad threshold '64X'");
	expect_parse_bad("memavail:150%", "threshold '150%' out of range");
	expect_parse_bad("memavail:100%", "threshold '100%' out of range");
	expect_parse_bad("memavail:0%", "threshold '0%' out of range");
	expect_parse_bad("memavail:ten%", "bad threshold 'ten%'");
	expect_parse_bad("memavail:0", "threshold '0' is below 1k");
	expect_parse_bad("memavail:64M:0ms", "interval '0ms' is below the 1ms minimum");
	expect_parse_bad("memavail:64M:999us", "interval '999us' is below the 1ms minimum");
	expect_parse_bad("memavail:64M:100", "bad interval '100'");
	expect_parse_bad("memavail:64M:", "bad interval ''");
	expect_parse_bad("memavail:64M:100ms:x", "too many fields");
}

ATF_TC_WITHOUT_HEAD(crossing_with_hysteresis);
ATF_TC_BODY(crossing_with_hysteresis, tc)
{
	/* 1G threshold; re-arm above 1G + 5% of MemTotal. */
	const uint64_t thr = 1048576, rearm = thr + MEMTOTAL_KB * 5 / 100;
	static const struct { uint64_t avail_kb; int events_after; } steps[] = {
		{ 24274132, 0 },	/* as captured: far above */
		{ 1048576, 0 },		/* at the threshold is not below it */
		{ 1048575, 1 },		/* crossing down: one event */
		{ 500000, 1 },		/* still below: edge-triggered, silent */
		{ 2000000, 1 },		/* above, but inside the band: not re-armed */
		{ 900000, 1 },		/* so dipping again says nothing */
		{ 2282757, 1 },		/* exactly threshold + band: still not re-armed */
		{ 800000, 1 },
		{ 2282758, 1 },		/* above the band: re-armed */
		{ 1000000, 2 },		/* the next crossing is reported */
	};
	struct probe_env env = { .domain = PNB_DOMAIN_SYSTEM, .workload_pidfd = -1 };
	char root[4096];
	struct jsonl out;
	struct probe p;
	json_t *o;

	ATF_REQUIRE_EQ(rearm, 2282757);
	root_here(root, sizeof root);
	env.root = root;
	copy_fixture(tc, "system", "proc/zoneinfo");
	set_memavailable(tc, "system", steps[0].avail_kb);
	arm(&p, &env, &out, "memavail:1G:1ms");
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		set_memavailable(tc, "system", steps[i].avail_kb);
		tick(&p, &out);
		ATF_CHECK_MSG((int)out.lines == steps[i].events_after,
			      "step %zu (MemAvailable %llu kB): %llu events, want %d", i,
			      (unsigned long long)steps[i].avail_kb,
			      (unsigned long long)out.lines, steps[i].events_after);
	}
	o = last_event("events.jsonl");
	ATF_REQUIRE(o);
	ATF_CHECK_STREQ(json_string_value(json_object_get(o, "type")), "notify");
	ATF_CHECK_STREQ(json_string_value(json_object_get(o, "mech")), "memavail");
	ATF_CHECK_STREQ(json_string_value(json_object_get(o, "level")), "below");
	ATF_CHECK_STREQ(json_string_value(json_object_get(o, "domain")), "system");
	ATF_CHECK_EQ(jint(o, "memavail_kB"), 1000000);
	ATF_CHECK_EQ(jint(o, "threshold_kB"), (long long)thr);
	ATF_CHECK_EQ(jint(o, "rearm_kB"), (long long)rearm);
	ATF_CHECK_EQ(jint(o, "total_kB"), (long long)MEMTOTAL_KB);
	ATF_CHECK_EQ(jint(o, "count"), 2);
	json_decref(o);
	disarm(&p, &out);
}

ATF_TC_WITHOUT_HEAD(percent_of_total);
ATF_TC_BODY(percent_of_total, tc)
{
	struct probe_env env = { .domain = PNB_DOMAIN_SYSTEM, .workload_pidfd = -1 };
	const uint64_t thr = MEMTOTAL_KB / 10;	/* 2468362 */
	char root[4096];
	struct jsonl out;
	struct probe p;
	json_t *o;

	root_here(root, sizeof root);
	env.root = root;
	copy_fixture(tc, "system", "proc/zoneinfo");
	set_memavailable(tc, "system", thr);
	arm(&p, &env, &out, "memavail:10%:1ms");
	tick(&p, &out);
	ATF_CHECK_EQ(out.lines, 0);
	set_memavailable(tc, "system", thr - 1);
	tick(&p, &out);
	ATF_REQUIRE_EQ(out.lines, 1);
	o = last_event("events.jsonl");
	ATF_CHECK_EQ(jint(o, "threshold_kB"), (long long)thr);
	ATF_CHECK_EQ(jint(o, "memavail_kB"), (long long)(thr - 1));
	json_decref(o);
	disarm(&p, &out);
}

ATF_TC_WITHOUT_HEAD(memcg_v1_domain);
ATF_TC_BODY(memcg_v1_domain, tc)
{
	/* Captured: limit 64M, usage 48420 kB, inactive_file 24576 kB, so
	 * available = 65536 - 48420 + 24576 = 41692 kB; 50% is 32768 kB. */
	struct probe_env env = { .domain = PNB_DOMAIN_MEMCG_V1, .workload_pidfd = -1,
				 .memcg_v1 = "/sys/fs/cgroup/memory/pnbdev-memavail" };
	const char *usage = "root/sys/fs/cgroup/memory/pnbdev-memavail/memory.usage_in_bytes";
	char root[4096];
	struct jsonl out;
	struct probe p;
	json_t *o;

	root_here(root, sizeof root);
	env.root = root;
	copy_fixture(tc, "memcg-v1", "proc/meminfo");
	copy_fixture(tc, "memcg-v1", "sys/fs/cgroup/memory/pnbdev-memavail/memory.limit_in_bytes");
	copy_fixture(tc, "memcg-v1", "sys/fs/cgroup/memory/pnbdev-memavail/memory.usage_in_bytes");
	copy_fixture(tc, "memcg-v1", "sys/fs/cgroup/memory/pnbdev-memavail/memory.stat");
	arm(&p, &env, &out, "memavail:50%:1ms");
	tick(&p, &out);
	ATF_CHECK_EQ(out.lines, 0);
	/* usage 60000 kB: available 65536 - 60000 + 24576 = 30112 kB. */
	put_file(usage, "61440000\n");
	tick(&p, &out);
	ATF_REQUIRE_EQ(out.lines, 1);
	o = last_event("events.jsonl");
	ATF_CHECK_STREQ(json_string_value(json_object_get(o, "domain")), "memcg_v1");
	ATF_CHECK_EQ(jint(o, "memavail_kB"), 30112);
	ATF_CHECK_EQ(jint(o, "threshold_kB"), 32768);
	ATF_CHECK_EQ(jint(o, "total_kB"), 65536);
	json_decref(o);
	/* The memcg vanishes: the probe asks to be dropped. */
	ATF_REQUIRE(unlink(usage) == 0);
	{
		struct pollfd pfd = { .fd = p.fd[0], .events = POLLIN };
		ATF_REQUIRE(poll(&pfd, 1, 2000) == 1);
		ATF_CHECK_EQ(p.ops->handle(&p, 0, pnb_mono_ns(), &out), -ENOENT);
	}
	disarm(&p, &out);
}

ATF_TC_WITHOUT_HEAD(unsupported_reasons);
ATF_TC_BODY(unsupported_reasons, tc)
{
	struct probe_env env = { .root = "", .domain = PNB_DOMAIN_MEMCG_V1, .workload_pidfd = -1 };
	char root[4096], why[PROBE_ERR_LEN] = "";
	struct probe p;

	ATF_REQUIRE(probe_from_spec(&p, "memavail:64M", why, sizeof why) == 0);
	ATF_CHECK(p.ops->supported(&p, &env, why, sizeof why) != 0);
	ATF_CHECK_MSG(strstr(why, "memcg_v1") && strstr(why, "no such cgroup"), "reason '%s'",
		      why);
	/* A root without the files. */
	root_here(root, sizeof root);
	ATF_REQUIRE(mkdir("root", 0755) == 0 || errno == EEXIST);
	env.root = root;
	env.domain = PNB_DOMAIN_SYSTEM;
	ATF_CHECK_EQ(p.ops->supported(&p, &env, why, sizeof why), -ENOENT);
	ATF_CHECK_MSG(strstr(why, "system memory view") && strstr(why, strerror(ENOENT)),
		      "reason '%s'", why);
	probe_free(&p);
}

ATF_TC_WITHOUT_HEAD(live_tick);
ATF_TC_BODY(live_tick, tc)
{
	/* MemAvailable is never above 99.99% of MemTotal (the kernel's own
	 * memory alone is more), and always above 1k: one tick each way. */
	struct probe_env env = { .root = "", .domain = PNB_DOMAIN_SYSTEM, .workload_pidfd = -1 };
	char why[PROBE_ERR_LEN] = "";
	struct jsonl out;
	struct probe p;
	uint64_t t0 = pnb_mono_ns();

	ATF_REQUIRE(probe_from_spec(&p, "memavail:1k:5ms", why, sizeof why) == 0);
	ATF_REQUIRE_MSG(p.ops->supported(&p, &env, why, sizeof why) == 0, "%s", why);
	jsonl_init(&out, -1, 0);
	ATF_REQUIRE_MSG(p.ops->open(&p, &env, &out, why, sizeof why) == 0, "%s", why);
	tick(&p, &out);
	ATF_CHECK_EQ(out.lines, 0);
	p.ops->close(&p, &out);
	probe_free(&p);

	arm(&p, &env, &out, "memavail:99.99%:5ms");
	tick(&p, &out);
	ATF_CHECK_EQ(out.lines, 1);
	/* The timer is periodic at the asked interval: 5ms, not instantly. */
	ATF_CHECK(pnb_mono_ns() - t0 >= 2 * 5 * NS_PER_MS);
	disarm(&p, &out);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, parse_valid);
	ATF_TP_ADD_TC(tp, parse_invalid);
	ATF_TP_ADD_TC(tp, crossing_with_hysteresis);
	ATF_TP_ADD_TC(tp, percent_of_total);
	ATF_TP_ADD_TC(tp, memcg_v1_domain);
	ATF_TP_ADD_TC(tp, unsupported_reasons);
	ATF_TP_ADD_TC(tp, live_tick);
	return atf_no_error();
}
