/* The sampler probe on captured /proc and cgroup files (tests/data/sampler)
 * and on the live system: the numbers in a sample are the numbers in the
 * files, ticks sit on the t0-aligned grid, and failures are reported. */
#include <atf-c.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "clock.h"
#include "jsonl.h"
#include "probe.h"

extern const struct probe_ops probe_sampler;

struct rig {
	struct probe p;
	struct probe_env env;
	struct jsonl out;
	char root[4096];
	int out_fd;
};

static void fixture_root(const atf_tc_t *tc, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/data/sampler/%s", atf_tc_get_config_var(tc, "srcdir"), name);
}

/* Like probe_from_spec, without going through the registry (which lists
 * every probe, so it needs them all linked). */
static int rig_parse(struct rig *r, const char *spec, char *err, size_t errlen)
{
	const char *args = spec + strlen(probe_sampler.name);

	memset(&r->p, 0, sizeof r->p);
	for (int i = 0; i < PROBE_MAX_FDS; i++)
		r->p.fd[i] = -1;
	r->p.ops = &probe_sampler;
	snprintf(r->p.spec, sizeof r->p.spec, "%s", spec);
	r->p.priv = calloc(1, probe_sampler.priv_size);
	ATF_REQUIRE(r->p.priv);
	err[0] = 0;
	return probe_sampler.parse(&r->p, args, err, errlen);
}

static void rig_open(struct rig *r, const char *spec, const char *root, const char *v1,
		     const char *v2, enum pnb_domain dom)
{
	char err[PROBE_ERR_LEN];
	int e;

	memset(&r->env, 0, sizeof r->env);
	snprintf(r->root, sizeof r->root, "%s", root);
	r->env.root = r->root;
	snprintf(r->env.memcg_v1, sizeof r->env.memcg_v1, "%s", v1 ? v1 : "");
	snprintf(r->env.memcg_v2, sizeof r->env.memcg_v2, "%s", v2 ? v2 : "");
	r->env.domain = dom;
	r->env.workload_pidfd = -1;
	r->out_fd = memfd_create("events", MFD_CLOEXEC);
	ATF_REQUIRE(r->out_fd >= 0);
	jsonl_init(&r->out, r->out_fd, pnb_mono_ns());
	e = rig_parse(r, spec, err, sizeof err);
	ATF_REQUIRE_MSG(e == 0, "parse %s: %s", spec, err);
	e = probe_sampler.supported(&r->p, &r->env, err, sizeof err);
	ATF_REQUIRE_MSG(e == 0, "supported: %s", err);
	r->p.env = &r->env;
	e = probe_sampler.open(&r->p, &r->env, &r->out, err, sizeof err);
	ATF_REQUIRE_MSG(e == 0, "open: %s", err);
	ATF_REQUIRE_EQ(r->p.nfd, 1);
}

/* Wait for the tick and let the probe take its sample. */
static int rig_tick(struct rig *r)
{
	struct pollfd pfd = { .fd = r->p.fd[0], .events = POLLIN };

	ATF_REQUIRE_EQ(poll(&pfd, 1, 5000), 1);
	return probe_sampler.handle(&r->p, 0, pnb_mono_ns(), &r->out);
}

static void rig_close(struct rig *r)
{
	probe_sampler.close(&r->p, &r->out);
	free(r->p.priv);
	r->p.priv = NULL;
	close(r->out_fd);
}

/* Every line written so far, parsed; the caller json_decref()s the array. */
static json_t *rig_events(struct rig *r)
{
	off_t len = lseek(r->out_fd, 0, SEEK_END);
	char *buf = malloc((size_t)len + 1), *line, *save = NULL;
	json_t *arr = json_array();

	ATF_REQUIRE(buf && arr);
	ATF_REQUIRE_EQ(pread(r->out_fd, buf, (size_t)len, 0), len);
	buf[len] = 0;
	ATF_REQUIRE_MSG(len == 0 || buf[len - 1] == '\n', "last line not terminated");
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		ATF_REQUIRE_MSG(o && json_is_object(o), "bad JSON line: %s", line);
		json_array_append_new(arr, o);
	}
	free(buf);
	return arr;
}

static json_t *nth_of_type(json_t *arr, const char *type, size_t n)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o) {
		if (!strcmp(json_string_value(json_object_get(o, "type")), type) && n-- == 0)
			return o;
	}
	return NULL;
}

static size_t count_type(json_t *arr, const char *type)
{
	size_t i, n = 0;
	json_t *o;

	json_array_foreach(arr, i, o)
		n += !strcmp(json_string_value(json_object_get(o, "type")), type);
	return n;
}

/* obj.a.b as an integer; fails the test when absent or not an integer. */
static long long geti(json_t *o, const char *a, const char *b)
{
	json_t *x = json_object_get(o, a);
	if (b && x)
		x = json_object_get(x, b);
	ATF_REQUIRE_MSG(x && json_is_integer(x), "%s%s%s: missing or not an integer", a,
			b ? "." : "", b ? b : "");
	return json_integer_value(x);
}

static double getr(json_t *o, const char *a, const char *b)
{
	json_t *x = json_object_get(json_object_get(o, a), b);
	ATF_REQUIRE_MSG(x && json_is_real(x), "%s.%s: missing or not a real", a, b);
	return json_real_value(x);
}

static int has(json_t *o, const char *a, const char *b)
{
	json_t *x = json_object_get(o, a);
	return b ? x && json_object_get(x, b) != NULL : x != NULL;
}

/* ---- spec parsing -------------------------------------------------------- */

ATF_TC_WITHOUT_HEAD(interval_parse);
ATF_TC_BODY(interval_parse, tc)
{
	static const struct { const char *spec; const char *reason; } bad[] = {
		{ "sample:5ms", "10ms minimum" },
		{ "sample:9999us", "10ms minimum" },
		{ "sample:0ms", "10ms minimum" },
		{ "sample:100", "bad interval" },
		{ "sample:abc", "bad interval" },
		{ "sample:-20ms", "bad interval" },
		{ "sample:", "bad interval" },
		{ "sample:100ms:1s", "too many fields" },
	};
	struct rig r;
	char err[PROBE_ERR_LEN];

	(void)tc;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int e = rig_parse(&r, bad[i].spec, err, sizeof err);
		ATF_CHECK_EQ_MSG(e, -EINVAL, "%s was accepted", bad[i].spec);
		ATF_CHECK_MSG(strstr(err, bad[i].reason), "%s: reason '%s' lacks '%s'",
			      bad[i].spec, err, bad[i].reason);
		free(r.p.priv);
	}
	ATF_CHECK_EQ(rig_parse(&r, "sample:10ms", err, sizeof err), 0);
	free(r.p.priv);
	ATF_CHECK_EQ(rig_parse(&r, "sample:1.5s", err, sizeof err), 0);
	free(r.p.priv);
}

/* The timer really runs at the parsed interval, default 100ms. */
ATF_TC_WITHOUT_HEAD(interval_timer);
ATF_TC_BODY(interval_timer, tc)
{
	static const struct { const char *spec; uint64_t ns; } ok[] = {
		{ "sample", 100 * NS_PER_MS },
		{ "sample:250ms", 250 * NS_PER_MS },
		{ "sample:2s", 2 * NS_PER_S },
	};
	char root[4096];

	fixture_root(tc, "host", root, sizeof root);
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct rig r;
		struct itimerspec its;
		rig_open(&r, ok[i].spec, root, NULL, NULL, PNB_DOMAIN_SYSTEM);
		ATF_REQUIRE_EQ(timerfd_gettime(r.p.fd[0], &its), 0);
		ATF_CHECK_EQ_MSG((uint64_t)its.it_interval.tv_sec * NS_PER_S +
				 (uint64_t)its.it_interval.tv_nsec, ok[i].ns, "%s", ok[i].spec);
		rig_close(&r);
	}
}

/* ---- fixtures ----------------------------------------------------------- */

ATF_TC_WITHOUT_HEAD(host_memcg_v1);
ATF_TC_BODY(host_memcg_v1, tc)
{
	char root[4096];
	struct rig r;
	json_t *ev, *s;

	fixture_root(tc, "host", root, sizeof root);
	rig_open(&r, "sample:10ms", root, "/sys/fs/cgroup/memory/pnbtest", NULL,
		 PNB_DOMAIN_MEMCG_V1);
	ATF_REQUIRE_EQ(rig_tick(&r), 0);
	ev = rig_events(&r);
	ATF_REQUIRE_EQ(count_type(ev, "recorder"), 0);
	s = nth_of_type(ev, "sample", 0);
	ATF_REQUIRE(s);
	ATF_CHECK_STREQ(json_string_value(json_object_get(s, "probe")), "sample:10ms");
	ATF_CHECK_STREQ(json_string_value(json_object_get(s, "mech")), "sample");
	/* meminfo, names sanitised, values as in the file */
	ATF_CHECK_EQ(geti(s, "meminfo", "MemTotal_kB"), 24683620);
	ATF_CHECK_EQ(geti(s, "meminfo", "MemFree_kB"), 24159016);
	ATF_CHECK_EQ(geti(s, "meminfo", "MemAvailable_kB"), 24215192);
	ATF_CHECK_EQ(geti(s, "meminfo", "Buffers_kB"), 1480);
	ATF_CHECK_EQ(geti(s, "meminfo", "Active_file_kB"), 101804);
	ATF_CHECK_EQ(geti(s, "meminfo", "KReclaimable_kB"), 62636);
	ATF_CHECK(!has(s, "meminfo", "Committed_AS_kB"));	/* not selected */
	ATF_CHECK_EQ(json_object_size(json_object_get(s, "meminfo")), 20);
	/* vmstat */
	ATF_CHECK_EQ(geti(s, "vmstat", "oom_kill"), 5);
	ATF_CHECK_EQ(geti(s, "vmstat", "workingset_refault_file"), 35126130);
	ATF_CHECK_EQ(geti(s, "vmstat", "nr_free_pages"), 1137030);
	ATF_CHECK_EQ(geti(s, "vmstat", "pgmajfault"), 2070);
	ATF_CHECK_EQ(geti(s, "vmstat", "pgscan_kswapd"), 0);
	ATF_CHECK_EQ(geti(s, "vmstat", "allocstall_normal"), 0);
	ATF_CHECK_EQ(geti(s, "vmstat", "allocstall"), 0);
	ATF_CHECK(!has(s, "vmstat", "workingset_refault"));	/* 5.9+ has only the split */
	ATF_CHECK(!has(s, "vmstat", "nr_free_pages_blocks"));
	/* PSI */
	ATF_CHECK_EQ(getr(s, "psi", "some_avg10"), 19.73);
	ATF_CHECK_EQ(getr(s, "psi", "full_avg300"), 1.79);
	ATF_CHECK_EQ(geti(s, "psi", "some_total_us"), 7323844);
	ATF_CHECK_EQ(geti(s, "psi", "full_total_us"), 6725737);
	/* memcg v1 */
	ATF_CHECK_EQ(geti(s, "memcg", "version"), 1);
	ATF_CHECK_EQ(geti(s, "memcg", "usage_bytes"), 82112512);
	ATF_CHECK_EQ(geti(s, "memcg", "limit_bytes"), 268435456);
	ATF_CHECK_EQ(geti(s, "memcg", "total_cache_bytes"), 41992192);
	ATF_CHECK_EQ(geti(s, "memcg", "total_rss_bytes"), 38498304);
	ATF_CHECK_EQ(geti(s, "memcg", "total_shmem_bytes"), 0);
	ATF_CHECK_EQ(geti(s, "memcg", "total_inactive_file_bytes"), 41947136);
	ATF_CHECK_EQ(geti(s, "memcg", "total_active_file_bytes"), 45056);
	ATF_CHECK_EQ(geti(s, "memcg", "total_pgmajfault"), 0);
	/* the memview of the memcg: limit 256M, free = limit - usage,
	 * available = free + file LRU */
	ATF_CHECK_STREQ(json_string_value(json_object_get(json_object_get(s, "view"), "domain")),
			"memcg_v1");
	ATF_CHECK_EQ(geti(s, "view", "total_kB"), 262144);
	ATF_CHECK_EQ(geti(s, "view", "free_kB"), (268435456 - 82112512) / 1024);
	ATF_CHECK_EQ(geti(s, "view", "available_kB"),
		     (268435456 - 82112512) / 1024 + (41947136 + 45056) / 1024);
	ATF_CHECK_EQ(geti(s, "view", "anon_kB"), 38498304 / 1024);
	ATF_CHECK_EQ(geti(s, "view", "cache_kB"), 41992192 / 1024);
	ATF_CHECK(geti(s, "late_ns", NULL) >= 0);
	ATF_CHECK(geti(s, "read_ns", NULL) > 0);
	json_decref(ev);
	rig_close(&r);
}

ATF_TC_WITHOUT_HEAD(host_system);
ATF_TC_BODY(host_system, tc)
{
	char root[4096];
	struct rig r;
	json_t *ev, *s;

	fixture_root(tc, "host", root, sizeof root);
	rig_open(&r, "sample:10ms", root, NULL, NULL, PNB_DOMAIN_SYSTEM);
	ATF_REQUIRE_EQ(rig_tick(&r), 0);
	ev = rig_events(&r);
	s = nth_of_type(ev, "sample", 0);
	ATF_REQUIRE(s);
	ATF_CHECK_STREQ(json_string_value(json_object_get(json_object_get(s, "view"), "domain")),
			"system");
	ATF_CHECK_EQ(geti(s, "view", "total_kB"), 24683620);
	ATF_CHECK_EQ(geti(s, "view", "available_kB"), 24215192);
	ATF_CHECK_EQ(geti(s, "view", "cache_kB"), 241048 + 1480);
	ATF_CHECK(!has(s, "memcg", NULL));
	json_decref(ev);
	rig_close(&r);
}

ATF_TC_WITHOUT_HEAD(memcg_v2);
ATF_TC_BODY(memcg_v2, tc)
{
	char root[4096];
	struct rig r;
	json_t *ev, *s;

	fixture_root(tc, "v2", root, sizeof root);
	rig_open(&r, "sample:10ms", root, NULL, "/sys/fs/cgroup/unified/pnbtest",
		 PNB_DOMAIN_MEMCG_V2);
	ATF_REQUIRE_EQ(rig_tick(&r), 0);
	ev = rig_events(&r);
	ATF_REQUIRE_EQ(count_type(ev, "recorder"), 0);
	s = nth_of_type(ev, "sample", 0);
	ATF_REQUIRE(s);
	ATF_CHECK_EQ(geti(s, "memcg", "version"), 2);
	ATF_CHECK_EQ(geti(s, "memcg", "current_bytes"), 100663296);
	ATF_CHECK_EQ(geti(s, "memcg", "max_bytes"), 134217728);
	ATF_CHECK_EQ(geti(s, "memcg", "anon_bytes"), 62914560);
	ATF_CHECK_EQ(geti(s, "memcg", "file_bytes"), 33554432);
	json_t *psi = json_object_get(json_object_get(s, "memcg"), "psi");
	ATF_REQUIRE(psi);
	ATF_CHECK_EQ(json_integer_value(json_object_get(psi, "some_total_us")), 123456);
	ATF_CHECK_EQ(json_real_value(json_object_get(psi, "full_avg10")), 1.20);
	ATF_CHECK_EQ(geti(s, "view", "total_kB"), 131072);
	ATF_CHECK_EQ(geti(s, "view", "free_kB"), (134217728 - 100663296) / 1024);
	json_decref(ev);
	rig_close(&r);
}

/* A pre-4.20 shaped /proc: no PSI, one allocstall, workingset_refault. */
ATF_TC_WITHOUT_HEAD(old_kernel);
ATF_TC_BODY(old_kernel, tc)
{
	char root[4096];
	struct rig r;
	json_t *ev, *s;

	fixture_root(tc, "old", root, sizeof root);
	rig_open(&r, "sample:10ms", root, NULL, NULL, PNB_DOMAIN_SYSTEM);
	ATF_REQUIRE_EQ(rig_tick(&r), 0);
	ev = rig_events(&r);
	ATF_CHECK_EQ(count_type(ev, "recorder"), 0);	/* absent is not failed */
	s = nth_of_type(ev, "sample", 0);
	ATF_REQUIRE(s);
	ATF_CHECK(!has(s, "psi", NULL));
	ATF_CHECK(!has(s, "meminfo", "KReclaimable_kB"));
	ATF_CHECK_EQ(geti(s, "meminfo", "MemTotal_kB"), 24683620);
	ATF_CHECK_EQ(geti(s, "vmstat", "allocstall"), 17);
	ATF_CHECK(!has(s, "vmstat", "allocstall_normal"));
	ATF_CHECK_EQ(geti(s, "vmstat", "workingset_refault"), 4242);
	ATF_CHECK(!has(s, "vmstat", "oom_kill"));
	ATF_CHECK(!has(s, "vmstat", "pgscan_kswapd"));
	json_decref(ev);
	rig_close(&r);
}

/* Malformed optional sources: the sample goes on without them, each failure
 * is reported once, not on every tick. */
ATF_TC_WITHOUT_HEAD(bad_sources);
ATF_TC_BODY(bad_sources, tc)
{
	char root[4096];
	struct rig r;
	json_t *ev, *o;
	int vm = 0, psi = 0;
	size_t i;

	fixture_root(tc, "bad-vmstat", root, sizeof root);
	rig_open(&r, "sample:10ms", root, NULL, NULL, PNB_DOMAIN_SYSTEM);
	ATF_REQUIRE_EQ(rig_tick(&r), 0);
	ATF_REQUIRE_EQ(rig_tick(&r), 0);
	ev = rig_events(&r);
	ATF_REQUIRE_EQ(count_type(ev, "sample"), 2);
	json_array_foreach(ev, i, o) {
		const char *src = json_string_value(json_object_get(o, "source"));
		if (strcmp(json_string_value(json_object_get(o, "type")), "recorder"))
			continue;
		ATF_CHECK_STREQ(json_string_value(json_object_get(o, "what")),
				"sample_source_failed");
		ATF_CHECK_STREQ(json_string_value(json_object_get(o, "error")), "malformed");
		vm += src && !strcmp(src, "/proc/vmstat");
		psi += src && !strcmp(src, "/proc/pressure/memory");
	}
	ATF_CHECK_EQ(vm, 1);
	ATF_CHECK_EQ(psi, 1);
	o = nth_of_type(ev, "sample", 1);
	ATF_CHECK(!has(o, "vmstat", NULL));
	ATF_CHECK(!has(o, "psi", NULL));
	ATF_CHECK_EQ(geti(o, "meminfo", "MemTotal_kB"), 24683620);
	json_decref(ev);
	rig_close(&r);

	/* Without a readable meminfo there is no sample: the probe stops. */
	fixture_root(tc, "bad-meminfo", root, sizeof root);
	rig_open(&r, "sample:10ms", root, NULL, NULL, PNB_DOMAIN_SYSTEM);
	ATF_CHECK_EQ(rig_tick(&r), -EINVAL);
	rig_close(&r);
}

/* A memcg that is not there is a misconfigured run: open says why. */
ATF_TC_WITHOUT_HEAD(missing_memcg);
ATF_TC_BODY(missing_memcg, tc)
{
	char root[4096], err[PROBE_ERR_LEN];
	struct rig r;
	int e;

	fixture_root(tc, "host", root, sizeof root);
	memset(&r.env, 0, sizeof r.env);
	r.env.root = root;
	snprintf(r.env.memcg_v1, sizeof r.env.memcg_v1, "/sys/fs/cgroup/memory/nosuch");
	r.env.domain = PNB_DOMAIN_MEMCG_V1;
	r.out_fd = memfd_create("events", MFD_CLOEXEC);
	jsonl_init(&r.out, r.out_fd, pnb_mono_ns());
	ATF_REQUIRE_EQ(rig_parse(&r, "sample", err, sizeof err), 0);
	e = probe_sampler.open(&r.p, &r.env, &r.out, err, sizeof err);
	ATF_CHECK_EQ(e, -ENOENT);
	ATF_CHECK_MSG(strstr(err, "nosuch") && strstr(err, "memory.usage_in_bytes"), "%s", err);
	free(r.p.priv);
	close(r.out_fd);
}

/* Ticks sit on t0 + k * interval; a stalled reader gets a missed_deadline
 * event with the number of ticks it lost. */
ATF_TC_WITHOUT_HEAD(deadlines);
ATF_TC_BODY(deadlines, tc)
{
	char root[4096];
	struct rig r;
	json_t *ev, *o, *s;
	long long t, late, missed;

	fixture_root(tc, "host", root, sizeof root);
	rig_open(&r, "sample:10ms", root, NULL, NULL, PNB_DOMAIN_SYSTEM);
	ATF_REQUIRE_EQ(rig_tick(&r), 0);
	usleep(55 * 1000);
	ATF_REQUIRE_EQ(rig_tick(&r), 0);
	ev = rig_events(&r);
	for (size_t k = 0; (s = nth_of_type(ev, "sample", k)); k++) {
		t = geti(s, "t_ns", NULL);
		late = geti(s, "late_ns", NULL);
		ATF_CHECK(late >= 0 && late <= t);
		ATF_CHECK_EQ_MSG((t - late) % (10 * (long long)NS_PER_MS), 0,
				 "sample %zu: t_ns %lld - late_ns %lld is off the 10ms grid",
				 k, t, late);
	}
	o = nth_of_type(ev, "recorder", 0);
	ATF_REQUIRE_MSG(o, "no missed_deadline after a 55ms stall at 10ms");
	ATF_CHECK_STREQ(json_string_value(json_object_get(o, "what")), "missed_deadline");
	missed = geti(o, "missed", NULL);
	/* 55ms asleep is 5 or 6 ticks; all but the one sampled are missed
	 * (plus one more if the scheduler kept us away a little longer). */
	ATF_CHECK_MSG(missed >= 4 && missed <= 7, "missed %lld", missed);
	ATF_CHECK_EQ(geti(o, "interval_ns", NULL), 10 * (long long)NS_PER_MS);
	json_decref(ev);
	rig_close(&r);
}

/* The live system: every source this host has is in the sample. */
ATF_TC_WITHOUT_HEAD(live);
ATF_TC_BODY(live, tc)
{
	struct rig r;
	json_t *ev, *s;

	(void)tc;
	rig_open(&r, "sample:10ms", "", NULL, NULL, PNB_DOMAIN_SYSTEM);
	for (int i = 0; i < 3; i++)
		ATF_REQUIRE_EQ(rig_tick(&r), 0);
	ev = rig_events(&r);
	ATF_CHECK_EQ(count_type(ev, "recorder"), 0);
	s = nth_of_type(ev, "sample", 2);
	ATF_REQUIRE(s);
	ATF_CHECK(geti(s, "meminfo", "MemTotal_kB") > 0);
	ATF_CHECK(geti(s, "meminfo", "MemAvailable_kB") <= geti(s, "meminfo", "MemTotal_kB"));
	ATF_CHECK(has(s, "vmstat", "pgmajfault"));
	if (access("/proc/pressure/memory", R_OK) == 0)
		ATF_CHECK(has(s, "psi", "some_total_us"));
	ATF_CHECK_EQ(geti(s, "view", "total_kB"), geti(s, "meminfo", "MemTotal_kB"));
	json_decref(ev);
	rig_close(&r);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, interval_parse);
	ATF_TP_ADD_TC(tp, interval_timer);
	ATF_TP_ADD_TC(tp, host_memcg_v1);
	ATF_TP_ADD_TC(tp, host_system);
	ATF_TP_ADD_TC(tp, memcg_v2);
	ATF_TP_ADD_TC(tp, old_kernel);
	ATF_TP_ADD_TC(tp, bad_sources);
	ATF_TP_ADD_TC(tp, missing_memcg);
	ATF_TP_ADD_TC(tp, deadlines);
	ATF_TP_ADD_TC(tp, live);
	return atf_no_error();
}
