/* Metrics of harness/analyze.c on hand-made runs (tests/data/analyze/),
 * every expected number worked out by hand from the events files as
 * docs/metrics.md defines it (the arithmetic is in the comments). */
#include <atf-c.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "stats.h"

#define CLOSE(a, b) (fabs((a) - (b)) <= 1e-6)
#define CHECK_NUM(got, want) ATF_CHECK_MSG(CLOSE(got, want), "%s = %.9g, want %.9g", #got, (double)(got), (double)(want))

static void load(const atf_tc_t *tc, const char *rel, struct an_run *r)
{
	char dir[PATH_MAX], err[512];

	snprintf(dir, sizeof dir, "%s/data/analyze/%s", atf_tc_get_config_var(tc, "srcdir"), rel);
	if (an_run_load(dir, r, err, sizeof err))
		atf_tc_fail("an_run_load %s: %s", dir, err);
}

static const struct an_group *group(const struct an_run *r, const char *probe, const char *level)
{
	for (int i = 0; i < r->ngroups; i++)
		if (!strcmp(r->g[i].probe, probe) && !strcmp(r->g[i].level, level))
			return &r->g[i];
	atf_tc_fail("no group %s %s", probe, level);
	return NULL;
}

/* basic: workload_start 1.0 s, tracefs kswapd_wake 3.2 s, direct reclaim
 * 5.5 s, mark_victim (tracefs) 9.5 s, end 10.0 s; MemTotal 1048576 kB. */
ATF_TC(lead_headroom_latency);
ATF_TC_HEAD(lead_headroom_latency, tc)
{
	atf_tc_set_md_var(tc, "descr", "basic run: ground truth, lead time, headroom, progress, reaction latency");
}
ATF_TC_BODY(lead_headroom_latency, tc)
{
	struct an_run r;
	const struct an_group *g;

	load(tc, "basic/k1/fixed-rate/1", &r);
	ATF_CHECK_EQ(r.incomplete, 0);
	ATF_CHECK_EQ(r.flags, 0);
	ATF_CHECK_STREQ(r.kernel, "k1");	/* meta.json wins over header labels */
	ATF_CHECK_EQ(r.rep, 1);
	ATF_CHECK_STREQ(r.oom_source, "tracefs");
	ATF_CHECK_EQ(r.oom_kills, 1);
	ATF_CHECK_EQ(r.t_oom, 9500000000LL);
	ATF_CHECK_EQ(r.t_reclaim, 3200000000LL);
	ATF_CHECK_EQ(r.t_direct, 5500000000LL);
	CHECK_NUM(r.run_s, 9.0);		/* 10.0 - 1.0 */
	CHECK_NUM(r.time_to_oom_s, 8.5);	/* 9.5 - 1.0 */
	CHECK_NUM(r.rate_MiB_s, 100.0);
	CHECK_NUM(r.available_at_alloc_kB, 1000000);
	CHECK_NUM(r.expected_alloc_to_oom_s, 9.765625);	/* 1e6 * 1024 / (100 * 2^20) */
	CHECK_NUM(r.oom_time_ratio, 8.5 / 9.765625);
	CHECK_NUM(r.recorder_cpu_per_s, 0.02);	/* 0.2 s CPU / 10 s */

	/* vmpressure low: first at 3.0 s, OOM at 9.5 s. */
	g = group(&r, "vmpressure:low", "low");
	ATF_CHECK_EQ(g->notifications, 4);
	ATF_CHECK_EQ(g->signals, 4);
	ATF_CHECK_EQ(g->lead_status, AN_LEAD_OK);
	CHECK_NUM(g->first_s, 2.0);
	CHECK_NUM(g->lead_s, 6.5);
	CHECK_NUM(g->headroom_kB, 800000);		/* sample at 3.0 s */
	CHECK_NUM(g->headroom_pct, 100.0 * 800000 / 1048576);
	CHECK_NUM(g->progress_alloc_MiB, 20.0);	/* 20971520 B at 2.5 s */
	ATF_CHECK_EQ(g->claim, AN_CLAIM_RECLAIM);
	CHECK_NUM(g->latency_s, -0.2);			/* 3.0 - 3.2: spoke early */

	/* medium: one line at 6.0 s carrying count 2. */
	g = group(&r, "vmpressure:medium", "medium");
	ATF_CHECK_EQ(g->notifications, 1);
	ATF_CHECK_EQ(g->signals, 2);
	CHECK_NUM(g->lead_s, 3.5);
	CHECK_NUM(g->headroom_kB, 500000);
	CHECK_NUM(g->progress_alloc_MiB, 50.0);
	ATF_CHECK_EQ(g->claim, AN_CLAIM_DIRECT);
	CHECK_NUM(g->latency_s, 0.5);			/* 6.0 - 5.5 */

	/* memavail: 8.2 s; first sample under 350000 kB is the 8.0 s one. */
	g = group(&r, "memavail:10%:100ms", "below");
	CHECK_NUM(g->lead_s, 1.3);
	CHECK_NUM(g->headroom_kB, 300000);
	ATF_CHECK_EQ(g->claim, AN_CLAIM_THRESHOLD);
	CHECK_NUM(g->latency_s, 0.2);

	/* LMK adj12 at 2.5 s; free first < minfree 400000 in the 7.0 s sample. */
	g = group(&r, "lmk:poll:100ms", "adj12");
	CHECK_NUM(g->lead_s, 7.0);
	CHECK_NUM(g->headroom_kB, 900000);		/* sample at 2.0 s */
	CHECK_NUM(g->latency_s, -4.5);
	an_run_free(&r);
}

ATF_TC(missed_and_silent);
ATF_TC_HEAD(missed_and_silent, tc)
{
	atf_tc_set_md_var(tc, "descr", "a level heard only after the OOM kill and an armed silent probe are 'missed'; an unsupported probe gets no group");
}
ATF_TC_BODY(missed_and_silent, tc)
{
	struct an_run r;
	const struct an_group *g;
	struct an_key k = { .probe = "psi:some:150ms:1s", .mech = "psi", .level = "some" };

	load(tc, "basic/k1/fixed-rate/1", &r);
	g = group(&r, "vmpressure:critical", "critical");
	ATF_CHECK_EQ(g->lead_status, AN_LEAD_MISSED);
	ATF_CHECK(isnan(g->lead_s));
	CHECK_NUM(g->late_s, 0.1);			/* 9.6 - 9.5 */
	ATF_CHECK_EQ(g->before_oom, 0);
	ATF_CHECK_EQ(g->after_oom, 1);

	g = group(&r, "psi:some:150ms:1s", "some");
	ATF_CHECK_EQ(g->notifications, 0);
	ATF_CHECK_EQ(g->lead_status, AN_LEAD_MISSED);
	/* In the statistics a missed lead ranks below every lead time. */
	ATF_CHECK(isinf(an_run_value(&r, &k, AN_M_LEAD_RANKED)));
	ATF_CHECK_EQ(an_run_value(&r, &k, AN_M_NOTIFICATIONS), 0);

	for (int i = 0; i < r.ngroups; i++)
		ATF_CHECK_MSG(strcmp(r.g[i].probe, "psi:full:150ms:1s"),
			      "unsupported psi:full got a group");
	an_run_free(&r);
}

ATF_TC(false_positives);
ATF_TC_HEAD(false_positives, tc)
{
	atf_tc_set_md_var(tc, "descr", "false positives: before the reclaim onset (expect=oom) and while calm (expect=no-oom); rate per minute");
}
ATF_TC_BODY(false_positives, tc)
{
	struct an_run r;
	const struct an_group *g;

	/* basic (expect = oom): low at 3.0 s is before kswapd woke (3.2 s),
	 * the three after it are not; run 9 s: 1 / 0.15 min. */
	load(tc, "basic/k1/fixed-rate/1", &r);
	g = group(&r, "vmpressure:low", "low");
	ATF_CHECK_EQ(g->false_positives, 1);
	ATF_CHECK_EQ(g->judged, 4);
	CHECK_NUM(g->fp_per_min, 1 / 0.15);
	g = group(&r, "vmpressure:medium", "medium");
	ATF_CHECK_EQ(g->false_positives, 0);
	/* LMK threshold claim at 2.5 s: MemAvailable 900000 >= total/2: calm. */
	ATF_CHECK_EQ(group(&r, "lmk:poll:100ms", "adj12")->false_positives, 1);
	/* memavail at 8.2 s: 300000 < 524288, not calm: a true alarm. */
	ATF_CHECK_EQ(group(&r, "memavail:10%:100ms", "below")->false_positives, 0);
	an_run_free(&r);

	/* storm (stream-read, expect = no-oom, MemAvailable 943718 of 1048576
	 * throughout): PSI and vmpressure medium are false, low is an
	 * activity report and not judged false; run 10 s: 1 / (1/6) min. */
	load(tc, "storm/k1/stream-read/1", &r);
	ATF_CHECK_EQ(r.expect, AN_EXPECT_NO_OOM);
	g = group(&r, "psi:some:150ms:2s", "some");
	ATF_CHECK_EQ(g->false_positives, 1);
	CHECK_NUM(g->fp_per_min, 6.0);
	ATF_CHECK_EQ(group(&r, "vmpressure:medium", "medium")->false_positives, 1);
	ATF_CHECK_EQ(group(&r, "vmpressure:low", "low")->false_positives, 0);
	an_run_free(&r);
}

ATF_TC(storm);
ATF_TC_HEAD(storm, tc)
{
	atf_tc_set_md_var(tc, "descr", "150 vmpressure low lines in 0.745 s: peak 150/s (300 signals), a storm; another task's OOM kill in a memcg run is not ours");
}
ATF_TC_BODY(storm, tc)
{
	struct an_run r;
	const struct an_group *g;

	load(tc, "storm/k1/stream-read/1", &r);
	g = group(&r, "vmpressure:low", "low");
	ATF_CHECK_EQ(g->notifications, 150);
	ATF_CHECK_EQ(g->signals, 300);
	ATF_CHECK_EQ(g->peak_per_s, 150);
	ATF_CHECK_EQ(g->peak_signals_per_s, 300);
	ATF_CHECK_EQ(g->storm, 1);
	ATF_CHECK_EQ(group(&r, "vmpressure:medium", "medium")->storm, 0);
	/* pid 999 was killed, the workload is pid 300, no trace filter. */
	ATF_CHECK_EQ(r.t_oom, AN_NONE);
	ATF_CHECK_EQ(r.oom_kills, 0);
	ATF_CHECK_EQ(g->lead_status, AN_LEAD_NO_OOM);
	ATF_CHECK_EQ(r.flags & AN_F_UNEXPECTED_OOM, 0);
	an_run_free(&r);
}

ATF_TC(incomplete);
ATF_TC_HEAD(incomplete, tc)
{
	atf_tc_set_md_var(tc, "descr", "cut last line, no end, broken meta, a .2.partial dir without meta: analysed as far as they go and flagged, never dropped");
}
ATF_TC_BODY(incomplete, tc)
{
	struct an_run r;
	struct an_set s;
	char dir[PATH_MAX], err[512];
	const struct an_group *g;

	load(tc, "incomplete/k1/fixed-rate/1", &r);
	ATF_CHECK_EQ(r.incomplete, 1);
	ATF_CHECK(r.flags & AN_F_NO_END);
	ATF_CHECK(r.flags & AN_F_CUT_LAST_LINE);
	ATF_CHECK(r.flags & AN_F_META_INCOMPLETE);
	ATF_CHECK(r.flags & AN_F_NO_OOM);		/* expect = oom, none came */
	CHECK_NUM(r.run_s, 2.0);			/* last whole line 3.0 s - 1.0 s */
	ATF_CHECK(isnan(r.recorder_cpu_per_s));	/* no end line */
	g = group(&r, "vmpressure:low", "low");
	ATF_CHECK_EQ(g->notifications, 1);
	ATF_CHECK_EQ(g->signals, 3);
	ATF_CHECK_EQ(g->unjudged, 1);			/* no reclaim ground truth */
	an_run_free(&r);

	/* No meta.json, no labels: kernel, scenario and rep from the path. */
	load(tc, "incomplete/k1/fixed-rate/.2.partial", &r);
	ATF_CHECK(r.flags & AN_F_PARTIAL_DIR);
	ATF_CHECK(r.flags & AN_F_NO_META);
	ATF_CHECK(r.flags & AN_F_BAD_LINES);
	ATF_CHECK_EQ(r.flags & AN_F_CUT_LAST_LINE, 0);	/* the bad line is not the last */
	ATF_CHECK_EQ(r.bad_lines, 1);
	ATF_CHECK_STREQ(r.kernel, "k1");
	ATF_CHECK_STREQ(r.scenario, "fixed-rate");
	ATF_CHECK_EQ(r.rep, 2);
	CHECK_NUM(r.run_s, 3.0);			/* largest t_ns 4.0 - 1.0 */
	g = group(&r, "vmpressure:low", "low");
	CHECK_NUM(g->first_s, 0.75);
	CHECK_NUM(g->headroom_kB, 1000000);
	ATF_CHECK(isnan(g->progress_alloc_MiB));	/* no progress before 1.75 s */
	an_run_free(&r);

	/* Both land in one cell, both counted, none complete. */
	snprintf(dir, sizeof dir, "%s/data/analyze/incomplete", atf_tc_get_config_var(tc, "srcdir"));
	ATF_REQUIRE_MSG(!an_set_load(dir, &s, err, sizeof err), "%s", err);
	ATF_CHECK_EQ(s.nruns, 2);
	ATF_REQUIRE_EQ(s.ncells, 1);
	ATF_CHECK_EQ(s.cells[0].nruns, 2);
	ATF_CHECK_EQ(s.cells[0].runs[0]->rep, 1);
	ATF_CHECK_EQ(s.cells[0].runs[1]->rep, 2);
	an_set_free(&s);
}

ATF_TC(cell_statistics);
ATF_TC_HEAD(cell_statistics, tc)
{
	atf_tc_set_md_var(tc, "descr", "a cell of 4 runs with leads 5.0, 4.9, 4.8, 4.7 s: median 4.85, quartiles 4.775 / 4.925");
}
ATF_TC_BODY(cell_statistics, tc)
{
	struct an_set s;
	struct an_key *keys = NULL;
	struct an_key_counts n;
	struct pnb_dist d;
	double v[4];
	char dir[PATH_MAX], err[512];
	int nk, low = -1;

	snprintf(dir, sizeof dir, "%s/data/analyze/cmp-base", atf_tc_get_config_var(tc, "srcdir"));
	ATF_REQUIRE_MSG(!an_set_load(dir, &s, err, sizeof err), "%s", err);
	ATF_REQUIRE_EQ(s.ncells, 1);
	ATF_REQUIRE_EQ(s.cells[0].nruns, 4);
	nk = an_cell_keys(&s.cells[0], &keys);
	for (int i = 0; i < nk; i++)
		if (!strcmp(keys[i].probe, "vmpressure:low") && !strcmp(keys[i].level, "low"))
			low = i;
	ATF_REQUIRE(low >= 0);
	for (int i = 0; i < 4; i++)
		v[i] = an_run_value(s.cells[0].runs[i], &keys[low], AN_M_LEAD);
	ATF_REQUIRE_EQ(pnb_dist_compute(v, 4, &d), 0);
	CHECK_NUM(d.median, 4.85);
	CHECK_NUM(d.q1, 4.775);
	CHECK_NUM(d.q3, 4.925);
	CHECK_NUM(d.min, 4.7);
	CHECK_NUM(d.max, 5.0);
	an_key_counts(&s.cells[0], &keys[low], &n);
	ATF_CHECK_EQ(n.runs, 4);
	ATF_CHECK_EQ(n.fired_before_oom, 4);
	ATF_CHECK_EQ(n.missed, 0);
	free(keys);
	an_set_free(&s);
}

/* The claims metrics.md 3.3 lists, as the registry now gives them. */
ATF_TC_WITHOUT_HEAD(registry_claims);
ATF_TC_BODY(registry_claims, tc)
{
	static const struct { const char *mech, *level; enum an_claim c; int activity; } t[] = {
		{ "vmpressure", "low", AN_CLAIM_RECLAIM, 1 }, { "vmpressure", "medium", AN_CLAIM_DIRECT, 0 },
		{ "vmpressure", "critical", AN_CLAIM_OOM, 0 }, { "psi", "some", AN_CLAIM_RECLAIM, 0 },
		{ "psi", "full", AN_CLAIM_DIRECT, 0 }, { "memevents", "low", AN_CLAIM_RECLAIM, 1 },
		{ "memevents", "high", AN_CLAIM_DIRECT, 1 }, { "memevents", "max", AN_CLAIM_DIRECT, 1 },
		{ "memevents", "oom", AN_CLAIM_OOM, 0 }, { "memevents", "oom_kill", AN_CLAIM_OOM, 0 },
		{ "memevents", "oom_group_kill", AN_CLAIM_OOM, 0 }, { "memavail", "below", AN_CLAIM_THRESHOLD, 0 },
		{ "lmk", "adj0", AN_CLAIM_THRESHOLD, 0 }, { "klmk", "adj12", AN_CLAIM_THRESHOLD, 0 },
		{ "memnotify", "pressure", AN_CLAIM_RECLAIM, 0 }, { "simplelmk", "kswapd", AN_CLAIM_OOM, 0 },
		{ "simplelmk", "direct", AN_CLAIM_OOM, 0 }, { "psi", "low", AN_CLAIM_NONE, 0 },
		{ "nosuch", "low", AN_CLAIM_NONE, 0 }, { "sample", "", AN_CLAIM_NONE, 0 },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		const struct probe_level *l = probe_level_of(probe_find(t[i].mech), t[i].level);
		ATF_CHECK_EQ_MSG(an_claim_of(t[i].mech, t[i].level), t[i].c, "%s %s", t[i].mech, t[i].level);
		ATF_CHECK_EQ_MSG(l && l->activity_only, t[i].activity, "%s %s", t[i].mech, t[i].level);
	}
	/* Rows: adj12 before adj6 before adj0, named levels in their order. */
	ATF_CHECK(probe_level_rank(probe_find("lmk"), "adj12") < probe_level_rank(probe_find("lmk"), "adj6"));
	ATF_CHECK(probe_level_rank(probe_find("lmk"), "adj6") < probe_level_rank(probe_find("lmk"), "adj0"));
	ATF_CHECK(probe_level_rank(probe_find("vmpressure"), "low") <
		  probe_level_rank(probe_find("vmpressure"), "critical"));
	ATF_CHECK(probe_level_rank(probe_find("memevents"), "oom_group_kill") <
		  probe_level_rank(probe_find("memevents"), "zzz"));
}

/* Every mechanism describes itself enough for the analysis and the man
 * page: a new probe without levels or help fails here. */
ATF_TC_WITHOUT_HEAD(registry_complete);
ATF_TC_BODY(registry_complete, tc)
{
	char lvl[32];

	for (size_t i = 0; probe_registry[i]; i++) {
		const struct probe_ops *o = probe_registry[i];
		ATF_CHECK_MSG(o->synopsis && o->summary && o->help && o->example, "%s", o->name);
		if (o->role != PROBE_NOTIFIER)
			continue;
		ATF_CHECK_MSG(o->levels && o->levels[0].name, "%s: a notifier without levels", o->name);
		for (const struct probe_level *l = o->levels; l && l->name; l++)
			ATF_CHECK_MSG(l->claim != PROBE_CLAIM_NONE, "%s %s claims nothing", o->name, l->name);
	}
	probe_silent_level(probe_find("psi"), "psi:full:1s:10s", lvl, sizeof lvl);
	ATF_CHECK_STREQ(lvl, "full");
	probe_silent_level(probe_find("memnotify"), "memnotify:all", lvl, sizeof lvl);
	ATF_CHECK_STREQ(lvl, "pressure");
	probe_silent_level(probe_find("lmk"), "lmk:poll", lvl, sizeof lvl);
	ATF_CHECK_STREQ(lvl, "*");
	ATF_CHECK(!an_is_notifier("oom") && !an_is_notifier("sample") && an_is_notifier("klmk"));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ATF_REQUIRE_MSG(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

/* The per-probe CPU contract: the end line's probe_cpu_ns over the
 * recorder's run (its end t_ns), per run and over a cell's runs. */
ATF_TC_WITHOUT_HEAD(probe_cpu);
ATF_TC_BODY(probe_cpu, tc)
{
	struct an_set s;
	char err[512];
	const char *hdr = "{\"t_ns\":1,\"type\":\"header\",\"domain\":\"system\","
			  "\"probes\":[\"sample:100ms\",\"psi:some:150ms:1s\"],"
			  "\"labels\":{\"kernel\":\"k\",\"scenario\":\"s\",\"rep\":\"%d\"}}\n"
			  "{\"t_ns\":2,\"type\":\"probe\",\"probe\":\"sample:100ms\",\"mech\":\"sample\",\"status\":\"armed\"}\n"
			  "{\"t_ns\":3,\"type\":\"probe\",\"probe\":\"psi:some:150ms:1s\",\"mech\":\"psi\",\"status\":\"armed\"}\n"
			  "{\"t_ns\":4,\"type\":\"truth\",\"what\":\"workload_start\",\"source\":\"recorder\",\"pid\":9}\n";
	char text[4096];

	ATF_REQUIRE_EQ(system("mkdir -p set/k/s/1 set/k/s/2 set/k/s/3"), 0);
	/* 1: 2 s; sample 200 ms of CPU (0.1), psi 20 ms (0.01). */
	snprintf(text, sizeof text, hdr, 1);
	strcat(text, "{\"t_ns\":2000000000,\"type\":\"end\",\"reason\":\"workload_exit\",\"recorder_cpu_ns\":300000000,"
		     "\"probe_cpu_ns\":{\"sample:100ms\":200000000,\"psi:some:150ms:1s\":20000000}}\n");
	write_file("set/k/s/1/events.jsonl", text);
	/* 2: 4 s; psi 20 ms (0.005); the sampler's key is missing. */
	snprintf(text, sizeof text, hdr, 2);
	strcat(text, "{\"t_ns\":4000000000,\"type\":\"end\",\"reason\":\"workload_exit\","
		     "\"probe_cpu_ns\":{\"psi:some:150ms:1s\":20000000}}\n");
	write_file("set/k/s/2/events.jsonl", text);
	/* 3: an older recorder, no probe_cpu_ns: null. */
	snprintf(text, sizeof text, hdr, 3);
	strcat(text, "{\"t_ns\":4000000000,\"type\":\"end\",\"reason\":\"workload_exit\"}\n");
	write_file("set/k/s/3/events.jsonl", text);

	if (an_set_load("set", &s, err, sizeof err))
		atf_tc_fail("an_set_load: %s", err);
	ATF_REQUIRE_EQ(s.ncells, 1);
	ATF_REQUIRE_EQ(s.nruns, 3);
	for (int i = 0; i < s.nruns; i++) {
		const struct an_run *r = &s.runs[i];
		for (int p = 0; p < r->nprobes; p++) {
			int sample = !strcmp(r->probes[p].probe, "sample:100ms");
			double want = r->rep == 1 ? (sample ? 0.1 : 0.01) : r->rep == 2 && !sample ? 0.005 : NAN;
			if (isnan(want))
				ATF_CHECK_MSG(isnan(r->probes[p].cpu_per_s), "rep %d %s", r->rep, r->probes[p].probe);
			else
				CHECK_NUM(r->probes[p].cpu_per_s, want);
		}
		json_t *j = an_run_json(r), *pr = json_object_get(j, "probes");
		ATF_CHECK_EQ(json_array_size(pr), 2);
		for (size_t k = 0; k < json_array_size(pr); k++)
			ATF_CHECK(json_object_get(json_array_get(pr, k), "cpu_per_s") != NULL);
		json_decref(j);
	}
	json_t *cell = an_cell_json(&s.cells[0]), *pc = json_object_get(cell, "probe_cpu");
	ATF_REQUIRE_EQ(json_array_size(pc), 2);
	for (size_t k = 0; k < 2; k++) {
		json_t *x = json_array_get(pc, k), *st = json_object_get(x, "cpu_per_s");
		const char *probe = json_string_value(json_object_get(x, "probe"));
		ATF_REQUIRE(probe && st);
		if (!strcmp(probe, "psi:some:150ms:1s")) {
			ATF_CHECK_EQ(json_integer_value(json_object_get(st, "n")), 2);
			CHECK_NUM(json_number_value(json_object_get(st, "min")), 0.005);
			CHECK_NUM(json_number_value(json_object_get(st, "max")), 0.01);
			CHECK_NUM(json_number_value(json_object_get(st, "median")), 0.0075);
		} else {
			ATF_CHECK_STREQ(probe, "sample:100ms");
			ATF_CHECK_EQ(json_integer_value(json_object_get(st, "n")), 1);
			CHECK_NUM(json_number_value(json_object_get(st, "median")), 0.1);
		}
	}
	json_decref(cell);
	an_set_free(&s);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, lead_headroom_latency);
	ATF_TP_ADD_TC(tp, missed_and_silent);
	ATF_TP_ADD_TC(tp, false_positives);
	ATF_TP_ADD_TC(tp, storm);
	ATF_TP_ADD_TC(tp, incomplete);
	ATF_TP_ADD_TC(tp, cell_statistics);
	ATF_TP_ADD_TC(tp, registry_claims);
	ATF_TP_ADD_TC(tp, registry_complete);
	ATF_TP_ADD_TC(tp, probe_cpu);
	return atf_no_error();
}
