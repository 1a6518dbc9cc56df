/* lib/lmk.c (the lowmemorykiller rule) and probes/lmk.c (the probe that
 * evaluates it): hand-computed decisions, list parsing, victim choice, the
 * probe's numbers from captured /proc and memcg files, its edge rule, and
 * live runs in a v1 memcg. */
#include "clock.h"
#include "jsonl.h"
#include "lmk.h"
#include "probe.h"

#include "memcg_util.h"

#include <atf-c.h>

#include "testutil.h"
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* ---- the rule ---------------------------------------------------------- */

ATF_TC(default_rule);
ATF_TC_HEAD(default_rule, tc)
{
	atf_tc_set_md_var(tc, "descr", "the driver's default minfree/adj arrays");
}
ATF_TC_BODY(default_rule, tc)
{
	static const uint64_t mf[] = { 1536, 2048, 4096, 16384 };
	static const int adj[] = { 0, 1, 6, 12 };
	struct pnb_lmk_rule r;

	(void)tc;
	pnb_lmk_rule_default(&r);
	ATF_REQUIRE_EQ(r.n, 4);
	for (int i = 0; i < 4; i++) {
		ATF_CHECK_EQ(r.minfree_pages[i], mf[i]);
		ATF_CHECK_EQ(r.adj[i], adj[i]);
	}
	ATF_CHECK_EQ(PNB_LMK_NO_LEVEL, 1001);
}

ATF_TC(evaluate_cases);
ATF_TC_HEAD(evaluate_cases, tc)
{
	atf_tc_set_md_var(tc, "descr", "hand-computed decisions with the default rule "
			  "(minfree 1536,2048,4096,16384 pages; adj 0,1,6,12)");
}
ATF_TC_BODY(evaluate_cases, tc)
{
	static const struct {
		uint64_t free, file;
		int adj, idx;
		const char *why;
	} c[] = {
		/* Nothing under pressure. */
		{ 100000, 100000, PNB_LMK_NO_LEVEL, -1, "both far above 16384" },
		/* Both must be under the same threshold. */
		{ 100, 50000, PNB_LMK_NO_LEVEL, -1, "free under all, file above all" },
		{ 50000, 100, PNB_LMK_NO_LEVEL, -1, "file under all, free above all" },
		/* Under the 4th only. */
		{ 10000, 8000, 12, 3, "4096 <= both < 16384" },
		/* Under all: the first (smallest) threshold matches. */
		{ 100, 100, 0, 0, "both < 1536" },
		{ 0, 0, 0, 0, "both zero" },
		/* Mixed: each number under a different set; the first threshold
		 * both are under decides. */
		{ 1000, 5000, 12, 3, "free < 1536, 4096 <= file < 16384" },
		{ 3000, 1700, 6, 2, "2048 <= free < 4096, 1536 <= file < 2048" },
		/* Boundaries: strict '<'. */
		{ 16384, 100, PNB_LMK_NO_LEVEL, -1, "free == 16384 is not under" },
		{ 100, 16384, PNB_LMK_NO_LEVEL, -1, "file == 16384 is not under" },
		{ 16383, 16383, 12, 3, "both 16383" },
		{ 4096, 0, 12, 3, "free == 4096: not under 4096, under 16384" },
		{ 4095, 4095, 6, 2, "both 4095" },
		{ 2048, 2047, 6, 2, "free == 2048" },
		{ 1536, 1535, 1, 1, "free == 1536" },
		{ 1535, 1535, 0, 0, "both 1535" },
	};
	struct pnb_lmk_rule r;

	(void)tc;
	pnb_lmk_rule_default(&r);
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		int idx = 99;
		int adj = pnb_lmk_evaluate(&r, c[i].free, c[i].file, &idx);
		ATF_CHECK_MSG(adj == c[i].adj && idx == c[i].idx,
			      "free %llu file %llu (%s): adj %d idx %d, want %d %d",
			      (unsigned long long)c[i].free, (unsigned long long)c[i].file,
			      c[i].why, adj, idx, c[i].adj, c[i].idx);
	}
	/* level_idx is optional. */
	ATF_CHECK_EQ(pnb_lmk_evaluate(&r, 10, 10, NULL), 0);
}

ATF_TC(parse_lists);
ATF_TC_HEAD(parse_lists, tc)
{
	atf_tc_set_md_var(tc, "descr", "minfree/adj lists: strict parsing and driver limits");
}
ATF_TC_BODY(parse_lists, tc)
{
	static const char *bad_minfree[] = {
		"", ",", "1536,", ",1536", "1536,,2048", "abc", "12a", "-5", "+5", " 5",
		"5 ", "0", "0,5", "2048,1536", "1536,1536", "1,2,3,4,5,6,7",
		"2147483648", "99999999999999999999", "0x10", "1.5",
	};
	static const char *bad_adj[] = {
		"", "x", "0,", "0,,1", "-1001", "1001", "0,0", "6,1", "0,1,2,3,4,5,6",
		"1.0", "--1", "0x1",
	};
	uint64_t mf[PNB_LMK_MAX];
	int adj[PNB_LMK_MAX];
	char err[256];
	int n;

	(void)tc;
	n = pnb_lmk_parse_minfree("1536,2048,4096,16384", mf, err, sizeof err);
	ATF_REQUIRE_EQ(n, 4);
	ATF_CHECK(mf[0] == 1536 && mf[1] == 2048 && mf[2] == 4096 && mf[3] == 16384);
	/* Android's typical six levels (pages). */
	n = pnb_lmk_parse_minfree("18432,23040,27648,32256,55296,80640", mf, err, sizeof err);
	ATF_REQUIRE_EQ(n, 6);
	ATF_CHECK_EQ(mf[5], 80640);
	ATF_CHECK_EQ(pnb_lmk_parse_minfree("7", mf, err, sizeof err), 1);
	ATF_CHECK_EQ(pnb_lmk_parse_minfree("2147483647", mf, err, sizeof err), 1);
	for (size_t i = 0; i < sizeof bad_minfree / sizeof bad_minfree[0]; i++) {
		err[0] = 0;
		n = pnb_lmk_parse_minfree(bad_minfree[i], mf, err, sizeof err);
		ATF_CHECK_MSG(n == -EINVAL, "minfree '%s' accepted (%d)", bad_minfree[i], n);
		ATF_CHECK_MSG(err[0], "minfree '%s': no reason", bad_minfree[i]);
	}

	n = pnb_lmk_parse_adj("0,100,200,300,900,906", adj, err, sizeof err);
	ATF_REQUIRE_EQ(n, 6);
	ATF_CHECK(adj[0] == 0 && adj[3] == 300 && adj[5] == 906);
	n = pnb_lmk_parse_adj("-1000,0,1000", adj, err, sizeof err);
	ATF_REQUIRE_EQ(n, 3);
	ATF_CHECK(adj[0] == -1000 && adj[2] == 1000);
	for (size_t i = 0; i < sizeof bad_adj / sizeof bad_adj[0]; i++) {
		err[0] = 0;
		n = pnb_lmk_parse_adj(bad_adj[i], adj, err, sizeof err);
		ATF_CHECK_MSG(n == -EINVAL, "adj '%s' accepted (%d)", bad_adj[i], n);
		ATF_CHECK_MSG(err[0], "adj '%s': no reason", bad_adj[i]);
	}
}

ATF_TC(rule_set_counts);
ATF_TC_HEAD(rule_set_counts, tc)
{
	atf_tc_set_md_var(tc, "descr", "a rule from text: defaults, custom lists, mismatched counts");
}
ATF_TC_BODY(rule_set_counts, tc)
{
	struct pnb_lmk_rule r, d;
	char err[256];
	int idx;

	(void)tc;
	pnb_lmk_rule_default(&d);
	ATF_REQUIRE_EQ(pnb_lmk_rule_set(&r, NULL, NULL, err, sizeof err), 0);
	ATF_CHECK_EQ(memcmp(&r, &d, sizeof r), 0);
	/* Four entries each side may mix a custom list with the other default. */
	ATF_REQUIRE_EQ(pnb_lmk_rule_set(&r, "100,200,300,400", NULL, err, sizeof err), 0);
	ATF_CHECK(r.n == 4 && r.minfree_pages[3] == 400 && r.adj[3] == 12);
	ATF_REQUIRE_EQ(pnb_lmk_rule_set(&r, NULL, "0,100,200,900", err, sizeof err), 0);
	ATF_CHECK(r.n == 4 && r.minfree_pages[3] == 16384 && r.adj[3] == 900);
	ATF_REQUIRE_EQ(pnb_lmk_rule_set(&r, "1000,2000", "0,900", err, sizeof err), 0);
	ATF_CHECK_EQ(r.n, 2);
	/* Only the given levels count: 2000 <= x < 16384 is no level now. */
	ATF_CHECK_EQ(pnb_lmk_evaluate(&r, 5000, 5000, &idx), PNB_LMK_NO_LEVEL);
	ATF_CHECK_EQ(pnb_lmk_evaluate(&r, 1500, 1999, &idx), 900);
	ATF_CHECK_EQ(idx, 1);

	ATF_CHECK_EQ(pnb_lmk_rule_set(&r, "1,2,3", "0,1,2,3", err, sizeof err), -EINVAL);
	ATF_CHECK_MSG(strstr(err, "minfree has 3 entries but adj has 4"), "err: %s", err);
	ATF_CHECK_EQ(pnb_lmk_rule_set(&r, "1,2,3,4,5,6", NULL, err, sizeof err), -EINVAL);
	ATF_CHECK_MSG(strstr(err, "adj is the driver's default"), "err: %s", err);
	ATF_CHECK_EQ(pnb_lmk_rule_set(&r, NULL, "0,1", err, sizeof err), -EINVAL);
	ATF_CHECK_EQ(pnb_lmk_rule_set(&r, "x", "0", err, sizeof err), -EINVAL);
	/* A failed set leaves the rule alone. */
	ATF_CHECK_EQ(r.n, 2);
}

ATF_TC(oom_adj_rescale);
ATF_TC_HEAD(oom_adj_rescale, tc)
{
	atf_tc_set_md_var(tc, "descr", "Android's oom_adj -> oom_score_adj autodetect rescaling");
}
ATF_TC_BODY(oom_adj_rescale, tc)
{
	(void)tc;
	/* oom_adj * 1000 / 17, truncated; 15 (OOM_ADJUST_MAX) is 1000. */
	ATF_CHECK_EQ(pnb_lmk_oom_adj_to_score_adj(0), 0);
	ATF_CHECK_EQ(pnb_lmk_oom_adj_to_score_adj(1), 58);
	ATF_CHECK_EQ(pnb_lmk_oom_adj_to_score_adj(6), 352);
	ATF_CHECK_EQ(pnb_lmk_oom_adj_to_score_adj(12), 705);
	ATF_CHECK_EQ(pnb_lmk_oom_adj_to_score_adj(15), 1000);
	ATF_CHECK_EQ(pnb_lmk_oom_adj_to_score_adj(-17), -1000);
}

ATF_TC(victim_selection);
ATF_TC_HEAD(victim_selection, tc)
{
	atf_tc_set_md_var(tc, "descr", "victim: skips, highest oom_score_adj, ties to strictly "
			  "larger RSS, first of equals");
}
ATF_TC_BODY(victim_selection, tc)
{
	const struct pnb_lmk_task t[] = {
		/* 0 */ { .pid = 2, .kthread = 1, .has_mm = 0, .oom_score_adj = 1000, .rss_pages = 0 },
		/* 1 */ { .pid = 10, .has_mm = 0, .oom_score_adj = 1000, .rss_pages = 500 },
		/* 2 */ { .pid = 11, .has_mm = 1, .oom_score_adj = 1000, .rss_pages = 0 },
		/* 3 */ { .pid = 12, .kthread = 1, .has_mm = 1, .oom_score_adj = 1000, .rss_pages = 900 },
		/* 4 */ { .pid = 20, .has_mm = 1, .oom_score_adj = 900, .rss_pages = 100 },
		/* 5 */ { .pid = 21, .has_mm = 1, .oom_score_adj = 900, .rss_pages = 300 },
		/* 6 */ { .pid = 22, .has_mm = 1, .oom_score_adj = 900, .rss_pages = 300 },
		/* 7 */ { .pid = 23, .has_mm = 1, .oom_score_adj = 200, .rss_pages = 90000 },
		/* 8 */ { .pid = 24, .has_mm = 1, .oom_score_adj = 0, .rss_pages = 99999 },
		/* 9 */ { .pid = 25, .has_mm = 1, .oom_score_adj = -1000, .rss_pages = 1 },
	};
	const int n = (int)(sizeof t / sizeof t[0]);

	(void)tc;
	/* 0..3 are never chosen (kernel thread, no mm, RSS 0, kernel thread
	 * with an mm); among 900s, 5 beats 4 (larger RSS) and 6 does not beat
	 * 5 (equal RSS: strictly larger needed); a lower adj never wins on
	 * size. */
	ATF_CHECK_EQ(pnb_lmk_select_victim(t, n, 0), 5);
	ATF_CHECK_EQ(pnb_lmk_select_victim(t, n, 900), 5);
	ATF_CHECK_EQ(pnb_lmk_select_victim(t, n, 901), -1);
	ATF_CHECK_EQ(pnb_lmk_select_victim(t, n, PNB_LMK_NO_LEVEL), -1);
	/* Only the tail: 200 beats 0 and -1000 despite less RSS. */
	ATF_CHECK_EQ(pnb_lmk_select_victim(t + 7, 3, -1000), 0);
	ATF_CHECK_EQ(pnb_lmk_select_victim(t + 8, 2, -1000), 0);
	ATF_CHECK_EQ(pnb_lmk_select_victim(t + 8, 2, 1), -1);
	ATF_CHECK_EQ(pnb_lmk_select_victim(t + 9, 1, -1000), 0);
	ATF_CHECK_EQ(pnb_lmk_select_victim(t, 4, -1000), -1);
	ATF_CHECK_EQ(pnb_lmk_select_victim(t, 0, 0), -1);
}

/* ---- the probe --------------------------------------------------------- */

static void env_init(struct probe_env *env, const char *root, enum pnb_domain d)
{
	memset(env, 0, sizeof *env);
	env->root = root;
	env->domain = d;
	env->workload_pidfd = -1;
}

static const char *datadir(const atf_tc_t *tc, const char *sub, char *buf, size_t len)
{
	snprintf(buf, len, "%s/data/lmk/%s", atf_tc_get_config_var(tc, "srcdir"), sub);
	return buf;
}

/* The JSON lines written to fd so far, as an array (new reference). */
static json_t *read_lines(int fd)
{
	json_t *a = json_array();
	FILE *f = fdopen(dup(fd), "r");
	char line[2048];

	ATF_REQUIRE(f);
	rewind(f);
	while (fgets(line, sizeof line, f)) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		ATF_REQUIRE_MSG(o, "bad JSON line: %s", line);
		json_array_append_new(a, o);
	}
	fclose(f);
	return a;
}

static int tmpfd(void)
{
	char t[] = "/tmp/pnb-lmk-XXXXXX";
	int fd = mkstemp(t);
	ATF_REQUIRE(fd >= 0);
	unlink(t);
	return fd;
}

static long long jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	ATF_REQUIRE_MSG(json_is_integer(v), "key %s missing or not an integer", k);
	return json_integer_value(v);
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	ATF_REQUIRE_MSG(json_is_string(v), "key %s missing or not a string", k);
	return json_string_value(v);
}

/* One poll-mode evaluation: let the 1ms timer expire, then handle(). */
static void tick(struct probe *p, struct jsonl *out)
{
	usleep(3000);
	ATF_REQUIRE_EQ(p->ops->handle(p, 0, pnb_mono_ns(), out), 0);
}

ATF_TC(parse_specs);
ATF_TC_HEAD(parse_specs, tc)
{
	atf_tc_set_md_var(tc, "descr", "lmk probe specs: accepted and rejected");
}
ATF_TC_BODY(parse_specs, tc)
{
	static const char *ok[] = {
		"lmk:poll", "lmk:poll:100ms", "lmk:poll:1s:minfree=1,2:adj=0,900",
		"lmk:poll:adj=0,1,2,3", "lmk:poll:minfree=10,20,30,40",
		"lmk:poll:adj=0,900:minfree=5,6", "lmk:vmpressure",
		"lmk:vmpressure:minfree=1536,2048,4096,16384:adj=0,100,200,900",
	};
	static const char *bad[] = {
		"lmk", "lmk:", "lmk:timer", "lmk:poll:0ms", "lmk:poll:100", "lmk:poll:2h",
		"lmk:poll:minfree=1,2,3", "lmk:poll:minfree=", "lmk:poll:adj=",
		"lmk:poll:minfree=1,2:adj=0,1:minfree=1,2", "lmk:poll:minfree=2,1:adj=0,1",
		"lmk:poll:minfree=1,2:100ms:adj=0,1", "lmk:vmpressure:100ms",
		"lmk:poll:minfree=1,2,3,4,5,6,7:adj=0,1,2,3,4,5,6", "lmk:poll:foo=1",
		"lmk:poll::minfree=1,2,3,4",
	};
	(void)tc;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct probe p;
		char err[256] = "";
		int r = probe_from_spec(&p, ok[i], err, sizeof err);
		ATF_CHECK_MSG(r == 0, "%s: %s", ok[i], err);
		if (!r)
			probe_free(&p);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct probe p;
		char err[256] = "";
		int r = probe_from_spec(&p, bad[i], err, sizeof err);
		ATF_CHECK_MSG(r == -EINVAL, "%s: accepted", bad[i]);
		ATF_CHECK_MSG(strstr(err, bad[i]), "%s: reason '%s'", bad[i], err);
	}
}

/* tests/data/lmk/host: /proc/meminfo and /proc/zoneinfo of this machine
 * (6.18, 24 GiB, idle).  By hand:
 *   totalreserve (per zone min(max protection + high, managed)):
 *     DMA    min(4938 + 75,    3840)   =  3840
 *     DMA32  min(1920 + 15444, 772808) = 17364
 *     Normal min(0 + 9822,     491520) =  9822
 *     Movable, Device: managed 0        =     0
 *     total 31026 pages = 124104 kB
 *   other_free = MemFree 24230604 - 124104 = 24106500 kB = 6026625 pages
 *   other_file = Cached 296708 + Buffers 2976 - Shmem 8884 - Unevictable
 *                15136 = 275664 kB = 68916 pages
 * The default rule sees nothing.  With minfree 68916,6026625,6026626,7000000
 * (adj 0,100,200,300): 68916 fails (free is not under it), 6026625 fails on
 * equality (free == 6026625, strict <), 6026626 matches: adj 200, idx 2,
 * minfree_kB 24106504. */
ATF_TC(probe_host_fixture);
ATF_TC_HEAD(probe_host_fixture, tc)
{
	atf_tc_set_md_var(tc, "descr", "the probe's numbers from captured /proc files "
			  "(system domain), against hand computation");
}
ATF_TC_BODY(probe_host_fixture, tc)
{
	struct probe p, pd;
	struct probe_env env;
	struct jsonl out;
	char root[1024], err[256], why[PROBE_ERR_LEN];
	int fd = tmpfd();
	json_t *a, *o;

	if (sysconf(_SC_PAGESIZE) != 4096)
		pnb_skip("the hand computation assumes 4 KiB pages");
	env_init(&env, datadir(tc, "host", root, sizeof root), PNB_DOMAIN_SYSTEM);
	jsonl_init(&out, fd, 0);
	ATF_REQUIRE_EQ(probe_from_spec(&p, "lmk:poll:1ms:minfree=68916,6026625,6026626,7000000:"
				       "adj=0,100,200,300", err, sizeof err), 0);
	ATF_REQUIRE_EQ(probe_from_spec(&pd, "lmk:poll:1ms", err, sizeof err), 0);
	ATF_REQUIRE_MSG(p.ops->supported(&p, &env, why, sizeof why) == 0, "%s", why);
	ATF_REQUIRE_MSG(p.ops->open(&p, &env, &out, why, sizeof why) == 0, "%s", why);
	ATF_REQUIRE_MSG(pd.ops->open(&pd, &env, &out, why, sizeof why) == 0, "%s", why);
	tick(&pd, &out);
	tick(&p, &out);
	tick(&p, &out);		/* same level again: no second event */
	p.ops->close(&p, &out);
	pd.ops->close(&pd, &out);
	probe_free(&p);
	probe_free(&pd);

	a = read_lines(fd);
	ATF_REQUIRE_EQ(json_array_size(a), 1);
	o = json_array_get(a, 0);
	ATF_CHECK_STREQ(jstr(o, "type"), "notify");
	ATF_CHECK_STREQ(jstr(o, "mech"), "lmk");
	ATF_CHECK_STREQ(jstr(o, "level"), "adj200");
	ATF_CHECK_EQ(jint(o, "min_score_adj"), 200);
	ATF_CHECK_EQ(jint(o, "level_idx"), 2);
	ATF_CHECK_EQ(jint(o, "minfree_kB"), 24106504);
	ATF_CHECK_EQ(jint(o, "other_free_kB"), 24106500);
	ATF_CHECK_EQ(jint(o, "other_file_kB"), 275664);
	ATF_CHECK_STREQ(jstr(o, "domain"), "system");
	ATF_CHECK(json_object_get(o, "count") == NULL);
	json_decref(a);
	close(fd);
}

/* tests/data/lmk/memcg: a real 128M v1 memcg holding a 40M shared anonymous
 * mapping (shmem) and 32M of a file read once.  By hand:
 *   limit 134217728 B = 131072 kB (below MemTotal 24683620 kB)
 *   usage  83308544 B =  81356 kB -> other_free = 131072 - 81356 = 49716 kB
 *                                    = 12429 pages
 *   total_cache 75698176 B = 73924 kB, total_shmem 41943040 B = 40960 kB,
 *   total_unevictable 0, total_swapcached 0
 *                       -> other_file = 73924 - 40960 = 32964 kB = 8241 pages
 * Default rule: 1536, 2048, 4096 fail on free (12429); 16384 takes both:
 * adj 12, idx 3, minfree_kB 65536. */
ATF_TC(probe_memcg_fixture);
ATF_TC_HEAD(probe_memcg_fixture, tc)
{
	atf_tc_set_md_var(tc, "descr", "the probe's numbers from captured v1 memcg files, "
			  "against hand computation");
}
ATF_TC_BODY(probe_memcg_fixture, tc)
{
	struct probe p;
	struct probe_env env;
	struct jsonl out;
	char root[1024], err[256], why[PROBE_ERR_LEN];
	int fd = tmpfd();
	json_t *a, *o;

	if (sysconf(_SC_PAGESIZE) != 4096)
		pnb_skip("the hand computation assumes 4 KiB pages");
	env_init(&env, datadir(tc, "memcg", root, sizeof root), PNB_DOMAIN_MEMCG_V1);
	snprintf(env.memcg_v1, sizeof env.memcg_v1, "/sys/fs/cgroup/memory/pnbfix");
	jsonl_init(&out, fd, 0);
	ATF_REQUIRE_EQ(probe_from_spec(&p, "lmk:poll:1ms", err, sizeof err), 0);
	ATF_REQUIRE_MSG(p.ops->open(&p, &env, &out, why, sizeof why) == 0, "%s", why);
	tick(&p, &out);
	p.ops->close(&p, &out);
	probe_free(&p);

	a = read_lines(fd);
	ATF_REQUIRE_EQ(json_array_size(a), 1);
	o = json_array_get(a, 0);
	ATF_CHECK_STREQ(jstr(o, "level"), "adj12");
	ATF_CHECK_EQ(jint(o, "min_score_adj"), 12);
	ATF_CHECK_EQ(jint(o, "level_idx"), 3);
	ATF_CHECK_EQ(jint(o, "minfree_kB"), 65536);
	ATF_CHECK_EQ(jint(o, "other_free_kB"), 49716);
	ATF_CHECK_EQ(jint(o, "other_file_kB"), 32964);
	ATF_CHECK_STREQ(jstr(o, "domain"), "memcg_v1");
	json_decref(a);
	close(fd);
}

ATF_TC(probe_malformed_fixture);
ATF_TC_HEAD(probe_malformed_fixture, tc)
{
	atf_tc_set_md_var(tc, "descr", "a meminfo without Unevictable is reported, not guessed");
}
ATF_TC_BODY(probe_malformed_fixture, tc)
{
	struct probe p;
	struct probe_env env;
	char root[1024], err[256], why[PROBE_ERR_LEN] = "";

	env_init(&env, datadir(tc, "malformed", root, sizeof root), PNB_DOMAIN_SYSTEM);
	ATF_REQUIRE_EQ(probe_from_spec(&p, "lmk:poll", err, sizeof err), 0);
	ATF_CHECK_EQ(p.ops->supported(&p, &env, why, sizeof why), -EINVAL);
	ATF_CHECK_MSG(strstr(why, "system memory view") && strstr(why, "expected format"),
		      "why: %s", why);
	why[0] = 0;
	ATF_CHECK_EQ(p.ops->open(&p, &env, NULL, why, sizeof why), -EINVAL);
	ATF_CHECK_MSG(why[0], "open gave no reason");
	env_init(&env, datadir(tc, "nosuch", root, sizeof root), PNB_DOMAIN_SYSTEM);
	ATF_CHECK_EQ(p.ops->supported(&p, &env, why, sizeof why), -ENOENT);
	probe_free(&p);
}

/* The edge rule, on a scratch root whose meminfo changes between ticks:
 * the host fixture's zoneinfo (totalreserve 124104 kB) and its meminfo with
 * MemFree and Cached rewritten.  With Buffers 2976, Shmem 8884 and
 * Unevictable 15136 kept, other_file = Cached + 2976 - 8884 - 15136 =
 * Cached - 21044, so MemFree = 124104 + F and Cached = 21044 + C give
 * other_free = F kB and other_file = C kB. */
static void write_meminfo(const char *hostmi, const char *root, uint64_t free_kb,
			  uint64_t file_kb)
{
	char path[1100], text[8192], out[8192];
	FILE *f;
	size_t n, o = 0;
	char *line, *save = NULL;

	f = fopen(hostmi, "r");
	ATF_REQUIRE(f);
	n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "MemFree:", 8) == 0)
			o += (size_t)snprintf(out + o, sizeof out - o, "MemFree:        %llu kB\n",
					      (unsigned long long)(124104 + free_kb));
		else if (strncmp(line, "Cached:", 7) == 0)
			o += (size_t)snprintf(out + o, sizeof out - o, "Cached:         %llu kB\n",
					      (unsigned long long)(21044 + file_kb));
		else
			o += (size_t)snprintf(out + o, sizeof out - o, "%s\n", line);
	}
	snprintf(path, sizeof path, "%s/proc/meminfo", root);
	f = fopen(path, "w");
	ATF_REQUIRE(f);
	ATF_REQUIRE_EQ(fwrite(out, 1, o, f), o);
	ATF_REQUIRE_EQ(fclose(f), 0);
}

ATF_TC(probe_edge_rule);
ATF_TC_HEAD(probe_edge_rule, tc)
{
	atf_tc_set_md_var(tc, "descr", "events on entering a level and on each step to a more "
			  "severe one, none on staying or easing off");
}
ATF_TC_BODY(probe_edge_rule, tc)
{
	/* Default rule in kB: 6144, 8192, 16384, 65536. */
	static const struct { uint64_t free_kb, file_kb; const char *emit; } step[] = {
		{ 100000, 100000, NULL },	/* no level */
		{ 60000, 60000, "adj12" },	/* enter the 4th */
		{ 10000, 10000, "adj6" },	/* more severe */
		{ 20000, 10000, NULL },		/* eases to the 4th */
		{ 60000, 60000, NULL },		/* still the 4th */
		{ 4000, 100, "adj0" },		/* most severe */
		{ 4000, 100, NULL },		/* stays */
		{ 100000, 60000, NULL },	/* clears (free high) */
		{ 60000, 60000, "adj12" },	/* enters again */
	};
	char root[] = "/tmp/pnb-lmk-edge-XXXXXX", d[1100], hostmi[1100], src[1100], dst[1100];
	struct probe p;
	struct probe_env env;
	struct jsonl out;
	char err[256], why[PROBE_ERR_LEN];
	int fd = tmpfd(), k = 0;
	json_t *a;

	if (sysconf(_SC_PAGESIZE) != 4096)
		pnb_skip("the hand computation assumes 4 KiB pages");
	ATF_REQUIRE(mkdtemp(root));
	snprintf(d, sizeof d, "%s/proc", root);
	ATF_REQUIRE_EQ(mkdir(d, 0755), 0);
	datadir(tc, "host/proc", src, sizeof src);
	snprintf(hostmi, sizeof hostmi, "%s/meminfo", src);
	snprintf(src + strlen(src), sizeof src - strlen(src), "/zoneinfo");
	snprintf(dst, sizeof dst, "%s/zoneinfo", d);
	{
		char cmd[2400];
		snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, dst);
		ATF_REQUIRE_EQ(system(cmd), 0);
	}
	write_meminfo(hostmi, root, step[0].free_kb, step[0].file_kb);

	env_init(&env, root, PNB_DOMAIN_SYSTEM);
	jsonl_init(&out, fd, 0);
	ATF_REQUIRE_EQ(probe_from_spec(&p, "lmk:poll:1ms", err, sizeof err), 0);
	ATF_REQUIRE_MSG(p.ops->open(&p, &env, &out, why, sizeof why) == 0, "%s", why);
	for (size_t i = 0; i < sizeof step / sizeof step[0]; i++) {
		write_meminfo(hostmi, root, step[i].free_kb, step[i].file_kb);
		tick(&p, &out);
	}
	p.ops->close(&p, &out);
	probe_free(&p);

	a = read_lines(fd);
	for (size_t i = 0; i < sizeof step / sizeof step[0]; i++) {
		json_t *o;
		if (!step[i].emit)
			continue;
		o = json_array_get(a, (size_t)k++);
		ATF_REQUIRE_MSG(o, "step %zu: no event (want %s)", i, step[i].emit);
		ATF_CHECK_STREQ(jstr(o, "level"), step[i].emit);
		ATF_CHECK_EQ(jint(o, "other_free_kB"), (long long)step[i].free_kb);
		ATF_CHECK_EQ(jint(o, "other_file_kB"), (long long)step[i].file_kb);
	}
	ATF_CHECK_EQ(json_array_size(a), (size_t)k);
	json_decref(a);
	close(fd);
	{
		char cmd[200];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
		ATF_CHECK_EQ(system(cmd), 0);
	}
}

/* ---- live -------------------------------------------------------------- */

/* Handle p's fd until the child ends (plus 300 ms); returns the JSON lines. */
static json_t *run_probe(struct tmemcg *m, struct probe *p, int outfd, uint64_t t0)
{
	struct jsonl out;
	uint64_t deadline = t0 + 60 * NS_PER_S, until;
	int ep = epoll_create1(EPOLL_CLOEXEC), pidfd, dead = 0;
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 0 };

	jsonl_init(&out, outfd, t0);
	ATF_REQUIRE(ep >= 0);
	ATF_REQUIRE_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, p->fd[0], &ev), 0);
	pidfd = tmemcg_pidfd(m->child);
	ATF_REQUIRE(pidfd >= 0);
	ev.data.u32 = 1;
	ATF_REQUIRE_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, pidfd, &ev), 0);
	ATF_REQUIRE_EQ(tmemcg_release(m), 0);
	until = deadline;
	for (;;) {
		struct epoll_event evs[4];
		uint64_t now = pnb_mono_ns();
		if (now >= until)
			break;
		int n = epoll_wait(ep, evs, 4, (int)((until - now) / NS_PER_MS) + 1);
		now = pnb_mono_ns();
		for (int k = 0; k < n; k++) {
			if (evs[k].data.u32 == 1) {
				dead = 1;
				until = now + 300 * NS_PER_MS;
				epoll_ctl(ep, EPOLL_CTL_DEL, pidfd, NULL);
				fprintf(stderr, "child ended at %.1f ms\n", (now - t0) / 1e6);
				continue;
			}
			ATF_CHECK_EQ(p->ops->handle(p, 0, now, &out), 0);
		}
	}
	ATF_CHECK_MSG(dead, "the child did not end within 60 s");
	close(pidfd);
	close(ep);
	return read_lines(outfd);
}

static void print_events(const char *tag, json_t *a)
{
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *o = json_array_get(a, i);
		fprintf(stderr, "%s: %.1f ms %s free %lld kB file %lld kB\n", tag,
			jint(o, "t_ns") / 1e6, jstr(o, "level"), jint(o, "other_free_kB"),
			jint(o, "other_file_kB"));
	}
}

/* A 64M memcg, anonymous memory at 1 MiB per 5 ms until the OOM kill,
 * polled every 5 ms with minfree 2048,4096,8192 pages (8, 16, 32 MiB) and
 * adj 0,100,200: the probe must report adj200, adj100, adj0 in that order,
 * each once, with other_free under the threshold it names. */
ATF_TC(live_poll_memcg);
ATF_TC_HEAD(live_poll_memcg, tc)
{
	atf_tc_set_md_var(tc, "descr", "live: lmk:poll walks down the levels as a 64M memcg fills");
	atf_tc_set_md_var(tc, "require.user", "root");
	atf_tc_set_md_var(tc, "timeout", "120");
}
ATF_TC_BODY(live_poll_memcg, tc)
{
	static const char *want[] = { "adj200", "adj100", "adj0" };
	struct tanon load = { .chunk = 1 << 20, .pause_ns = 5 * NS_PER_MS, .limit = 0 };
	const char *skip = tmemcg_unavailable();
	struct tmemcg m;
	struct probe p;
	struct probe_env env;
	char err[256], why[PROBE_ERR_LEN];
	int fd;
	json_t *a;

	(void)tc;
	if (skip)
		pnb_skip("%s", skip);
	ATF_REQUIRE_EQ(tmemcg_create(&m, "lmkpoll", 64ULL << 20), 0);
	ATF_REQUIRE_EQ(tmemcg_spawn(&m, tanon_run, &load), 0);
	env_init(&env, "", PNB_DOMAIN_MEMCG_V1);
	snprintf(env.memcg_v1, sizeof env.memcg_v1, "%s", m.dir);
	ATF_REQUIRE_EQ(probe_from_spec(&p, "lmk:poll:5ms:minfree=2048,4096,8192:adj=0,100,200",
				       err, sizeof err), 0);
	ATF_REQUIRE_MSG(p.ops->open(&p, &env, NULL, why, sizeof why) == 0, "%s", why);
	fd = tmpfd();
	a = run_probe(&m, &p, fd, pnb_mono_ns());
	p.ops->close(&p, NULL);
	probe_free(&p);
	tmemcg_destroy(&m);
	print_events("live_poll", a);
	ATF_REQUIRE_EQ(json_array_size(a), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *o = json_array_get(a, i);
		ATF_CHECK_STREQ(jstr(o, "level"), want[i]);
		ATF_CHECK(jint(o, "other_free_kB") < jint(o, "minfree_kB"));
		ATF_CHECK(jint(o, "other_file_kB") < jint(o, "minfree_kB"));
		ATF_CHECK_STREQ(jstr(o, "domain"), "memcg_v1");
	}
	json_decref(a);
	close(fd);
}

/* 40M of anonymous memory held in a 64M memcg, then a 96M file streamed
 * through the remaining 24M: reclaim of clean cache raises vmpressure low,
 * and each evaluation finds the memcg at its limit (other_free ~ 0) with
 * at most 24M of file: under minfree 8192 pages (32M) -> adj0 first. */
struct hold_then_stream {
	struct tstream s;
	size_t anon;
};

static void hold_then_stream_run(void *arg)
{
	struct hold_then_stream *h = arg;

	if (pnb_hog_touch(h->anon, NULL))
		_exit(4);
	tstream_run(&h->s);
}

ATF_TC(live_vmpressure_memcg);
ATF_TC_HEAD(live_vmpressure_memcg, tc)
{
	atf_tc_set_md_var(tc, "descr", "live: lmk:vmpressure evaluates on vmpressure low events");
	atf_tc_set_md_var(tc, "require.user", "root");
	atf_tc_set_md_var(tc, "timeout", "120");
}
ATF_TC_BODY(live_vmpressure_memcg, tc)
{
	char path[] = "/var/tmp/pnb-lmk-stream-XXXXXX";
	struct hold_then_stream load = { .s = { .path = path, .passes = 2 }, .anon = 40 << 20 };
	const char *skip = tmemcg_unavailable();
	struct tmemcg m;
	struct probe p;
	struct probe_env env;
	char err[256], why[PROBE_ERR_LEN];
	int fd, status = 0;
	json_t *a, *o;

	(void)tc;
	if (skip)
		pnb_skip("%s", skip);
	fd = mkstemp(path);
	ATF_REQUIRE(fd >= 0);
	close(fd);
	ATF_REQUIRE_EQ(tfile_create(path, 96ULL << 20), 0);
	ATF_REQUIRE_EQ(tmemcg_create(&m, "lmkvmp", 64ULL << 20), 0);
	ATF_REQUIRE_EQ(tmemcg_spawn(&m, hold_then_stream_run, &load), 0);
	env_init(&env, "", PNB_DOMAIN_MEMCG_V1);
	snprintf(env.memcg_v1, sizeof env.memcg_v1, "%s", m.dir);
	ATF_REQUIRE_EQ(probe_from_spec(&p, "lmk:vmpressure:minfree=8192,12288,16384:"
				       "adj=0,100,200", err, sizeof err), 0);
	ATF_REQUIRE_MSG(p.ops->supported(&p, &env, why, sizeof why) == 0, "%s", why);
	ATF_REQUIRE_MSG(p.ops->open(&p, &env, NULL, why, sizeof why) == 0, "%s", why);
	fd = tmpfd();
	a = run_probe(&m, &p, fd, pnb_mono_ns());
	ATF_CHECK_EQ(waitpid(m.child, &status, 0), m.child);
	m.child = -1;
	p.ops->close(&p, NULL);
	probe_free(&p);
	tmemcg_destroy(&m);
	unlink(path);
	print_events("live_vmpressure", a);
	ATF_CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the reader did not finish cleanly (status 0x%x)", status);
	ATF_REQUIRE_MSG(json_array_size(a) >= 1, "no lmk event on vmpressure");
	o = json_array_get(a, 0);
	ATF_CHECK_STREQ(jstr(o, "level"), "adj0");
	ATF_CHECK(jint(o, "count") >= 1);
	ATF_CHECK(jint(o, "other_free_kB") < 32768);
	ATF_CHECK(jint(o, "other_file_kB") < 32768);
	/* adj0 is the most severe level: nothing can follow it without an
	 * easing in between, and easing needs free memory this run never has. */
	ATF_CHECK_EQ(json_array_size(a), 1);
	json_decref(a);
	close(fd);
}

/* Moved from the conformance suite (it was lmk_rule_driver_table, which
 * ran only lib/lmk.c and told nothing about the guest's kernel). */
ATF_TC(driver_table);
ATF_TC_HEAD(driver_table, tc)
{
	atf_tc_set_md_var(tc, "descr", "lowmemorykiller.c (v4.11) lowmem_scan: the rule agrees with a "
			  "transcription of the driver's loop around every default threshold, and with 10 "
			  "hand-worked cases");
}

/* lowmem_scan's loop as the driver has it (v4.11), on the driver's int
 * arrays: "if (other_free < minfree && other_file < minfree) {
 * min_score_adj = lowmem_adj[i]; break; }", starting from
 * OOM_SCORE_ADJ_MAX + 1. */
static int driver_scan(const int *minfree, const short *adj, int n, int other_free, int other_file)
{
	int min_score_adj = 1000 + 1;
	for (int i = 0; i < n; i++) {
		int m = minfree[i];
		if (other_free < m && other_file < m) {
			min_score_adj = adj[i];
			break;
		}
	}
	return min_score_adj;
}

ATF_TC_BODY(driver_table, tc)
{
	static const int minfree[] = { 3 * 512, 2 * 1024, 4 * 1024, 16 * 1024 };
	static const short adj[] = { 0, 1, 6, 12 };
	/* Worked by hand: strict "<" on both numbers, first (smallest)
	 * matching threshold wins. */
	static const struct { uint64_t free, file; int adj; } table[] = {
		{ 100000, 100000, PNB_LMK_NO_LEVEL },	/* both above every threshold */
		{ 16383, 16383, 12 },
		{ 16384, 100, PNB_LMK_NO_LEVEL },	/* free not below 16384: no level */
		{ 100, 16384, PNB_LMK_NO_LEVEL },	/* file not below 16384 */
		{ 4095, 5000, 12 },			/* file >= 4096: only the last */
		{ 4095, 4095, 6 },
		{ 2047, 1000, 1 },
		{ 1535, 1535, 0 },
		{ 0, 0, 0 },
		{ 1535, 3000, 6 },			/* free matches 0, file only 6 */
	};
	struct pnb_lmk_rule r;
	int vals[3 * 4 + 2], nv = 0, compared = 0;

	(void)tc;
	pnb_lmk_rule_default(&r);
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		int got = pnb_lmk_evaluate(&r, table[i].free, table[i].file, NULL);
		ATF_CHECK_MSG(got == table[i].adj, "free %llu file %llu: %d, driver %d",
			      (unsigned long long)table[i].free, (unsigned long long)table[i].file, got,
			      table[i].adj);
		ATF_CHECK_EQ(driver_scan(minfree, adj, 4, (int)table[i].free, (int)table[i].file),
			     table[i].adj);
	}
	/* Every pair of values one below, at and one above each threshold,
	 * plus 0 and far above. */
	vals[nv++] = 0;
	vals[nv++] = 1 << 20;
	for (int i = 0; i < 4; i++)
		for (int d = -1; d <= 1; d++)
			vals[nv++] = minfree[i] + d;
	for (int a = 0; a < nv; a++)
		for (int b = 0; b < nv; b++) {
			int want = driver_scan(minfree, adj, 4, vals[a], vals[b]);
			int got = pnb_lmk_evaluate(&r, (uint64_t)vals[a], (uint64_t)vals[b], NULL);
			ATF_CHECK_MSG(got == want, "free %d file %d: rule %d, driver loop %d", vals[a], vals[b],
				      got, want);
			compared++;
		}
	ATF_CHECK_EQ(compared, 14 * 14);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, default_rule);
	ATF_TP_ADD_TC(tp, evaluate_cases);
	ATF_TP_ADD_TC(tp, parse_lists);
	ATF_TP_ADD_TC(tp, rule_set_counts);
	ATF_TP_ADD_TC(tp, oom_adj_rescale);
	ATF_TP_ADD_TC(tp, victim_selection);
	ATF_TP_ADD_TC(tp, parse_specs);
	ATF_TP_ADD_TC(tp, probe_host_fixture);
	ATF_TP_ADD_TC(tp, probe_memcg_fixture);
	ATF_TP_ADD_TC(tp, probe_malformed_fixture);
	ATF_TP_ADD_TC(tp, probe_edge_rule);
	ATF_TP_ADD_TC(tp, live_poll_memcg);
	ATF_TP_ADD_TC(tp, live_vmpressure_memcg);
	ATF_TP_ADD_TC(tp, driver_table);
	return atf_no_error();
}
