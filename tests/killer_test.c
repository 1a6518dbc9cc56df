/* The closed loop (issue 11): pnbench-killer beside the apps workload, the
 * outcome analysis, and the lmkd-style check on a guest kernel. */
#include "testutil.h"
#include "analysis.h"

#include <atf-c.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_KERNEL "debian:cloud"

/* events.jsonl lines of a given type (and what), in file order. */
static json_t *lines_of(const char *path, const char *type, const char *what)
{
	json_t *a = json_array();
	char line[1 << 16];
	FILE *f = fopen(path, "r");

	ATF_REQUIRE_MSG(f, "%s missing", path);
	while (fgets(line, sizeof line, f)) {
		json_t *o = json_loads(line, 0, NULL);
		const char *t = json_string_value(json_object_get(o, "type"));
		const char *w = json_string_value(json_object_get(o, "what"));
		if (t && !strcmp(t, type) && (!what || (w && !strcmp(w, what))))
			json_array_append(a, o);
		json_decref(o);
	}
	fclose(f);
	return a;
}

/* The recorder with a killer on the host: a threshold far above what any
 * host has free fires on the first tick; the killer must take the app at
 * the highest adj, by pidfd, and see it exit.  Only the workload's own
 * process group is ever a candidate, so this is safe on a shared host. */
static void run_local(const atf_tc_t *tc, const char *action, const char *out)
{
	char rec[PATH_MAX], wl[PATH_MAX];
	const char *src = atf_tc_get_config_var(tc, "srcdir");
	struct cmd_result r;

	bin_path(src, "pnbench-record", rec, sizeof rec);
	bin_path(src, "pnbench-workload", wl, sizeof wl);
	char *argv[] = { rec, "--no-mlock", "--killer", "memavail:99%:100ms", "--killer-action",
			 (char *)action, "--duration", "30s", "-o", (char *)out, "--", wl, "apps",
			 "--apps", "3", "--app-anon", "4M", "--fg-anon", "4M", "--limit", "6M",
			 "--hold", "1500ms", NULL };
	run_cmd(argv, 60, &r);
	ATF_REQUIRE_EQ_MSG(r.status, 0, "pnbench-record exit %d: %s", r.status, r.err);
}

ATF_TC(local_kill);
ATF_TC_HEAD(local_kill, tc)
{
	atf_tc_set_md_var(tc, "descr", "the killer kills the highest-adj app by pidfd and times its exit");
	atf_tc_set_md_var(tc, "timeout", "90");
}
ATF_TC_BODY(local_kill, tc)
{
	run_local(tc, "kill", "ev.jsonl");
	json_t *kills = lines_of("ev.jsonl", "killer", "kill"), *apps = lines_of("ev.jsonl", "app", NULL);
	json_t *unsup = lines_of("ev.jsonl", "killer", "unsupported");
	if (json_array_size(unsup))
		pnb_skip("memavail unsupported here: %s",
			    json_string_value(json_object_get(json_array_get(unsup, 0), "reason")));
	ATF_REQUIRE_EQ_MSG(json_array_size(apps), 4, "want 3 background apps and the foreground");
	ATF_REQUIRE_MSG(json_array_size(kills) >= 1, "the killer made no kill");
	json_t *k = json_array_get(kills, 0);
	ATF_CHECK_EQ(json_integer_value(json_object_get(k, "adj")), 900);
	ATF_CHECK_MSG(json_is_integer(json_object_get(k, "t_exit_ns")), "no exit time from the pidfd");
	ATF_CHECK(json_integer_value(json_object_get(k, "t_signal_ns")) >=
		  json_integer_value(json_object_get(k, "t_decision_ns")));
	ATF_CHECK(json_integer_value(json_object_get(k, "t_exit_ns")) >=
		  json_integer_value(json_object_get(k, "t_signal_ns")));
	/* The edge-triggered threshold never re-arms: one kill, the foreground lives. */
	for (size_t i = 0; i < json_array_size(kills); i++)
		ATF_CHECK_MSG(json_integer_value(json_object_get(json_array_get(kills, i), "adj")) > 0,
			      "the foreground (adj 0) was killed while apps lived");
	json_t *ex = lines_of("ev.jsonl", "truth", "workload_exit");
	ATF_CHECK_EQ(json_integer_value(json_object_get(json_array_get(ex, 0), "exit_code")), 0);
}

ATF_TC(local_reclaim);
ATF_TC_HEAD(local_reclaim, tc)
{
	atf_tc_set_md_var(tc, "descr", "the reclaim action pages out the highest-adj app instead of killing");
	atf_tc_set_md_var(tc, "timeout", "90");
}
ATF_TC_BODY(local_reclaim, tc)
{
	run_local(tc, "reclaim", "ev.jsonl");
	json_t *rc = lines_of("ev.jsonl", "killer", "reclaim");
	ATF_REQUIRE_EQ(json_array_size(lines_of("ev.jsonl", "killer", "kill")), 0);
	ATF_REQUIRE_MSG(json_array_size(rc) >= 1, "no reclaim action");
	json_t *x = json_array_get(rc, 0);
	const char *mad = json_string_value(json_object_get(x, "madvise"));
	if (mad && strstr(mad, "absent"))
		pnb_skip("process_madvise absent on this kernel: %s", mad);
	ATF_CHECK_EQ(json_integer_value(json_object_get(x, "adj")), 900);
	ATF_CHECK_STREQ(mad ? mad : "", "ok");
	ATF_CHECK_MSG(json_integer_value(json_object_get(x, "advised_bytes")) > 0, "nothing advised");
	ATF_CHECK(json_string_value(json_object_get(x, "reclaimable")) != NULL);
}

/* A hand-written run: the outcome rules of docs/metrics.md 7 on known lines. */
ATF_TC_WITHOUT_HEAD(outcome_rules);
ATF_TC_BODY(outcome_rules, tc)
{
	(void)tc;
	ATF_REQUIRE(system("mkdir -p set/k/apps-x/1") == 0);
	FILE *f = fopen("set/k/apps-x/1/events.jsonl", "w");
	ATF_REQUIRE(f);
	fprintf(f,
"{\"t_ns\":1,\"type\":\"header\",\"schema\":\"pnbench-events/1\",\"domain\":\"system\",\"probes\":[\"sample:100ms\"],"
	"\"workload_argv\":[\"w\",\"apps\",\"--source\",\"fixed-rate\"],\"killer\":\"psi:some:70ms:1s\"}\n"
"{\"t_ns\":10,\"type\":\"truth\",\"what\":\"workload_start\",\"source\":\"recorder\",\"pid\":100}\n"
"{\"t_ns\":20,\"type\":\"sample\",\"view\":{\"total_kB\":200000,\"available_kB\":100000,\"free_kB\":1,\"cache_kB\":1,\"anon_kB\":1}}\n"
"{\"t_ns\":30,\"type\":\"app\",\"pid\":101,\"adj\":900,\"role\":\"background\"}\n"
"{\"t_ns\":31,\"type\":\"app\",\"pid\":102,\"adj\":800,\"role\":\"background\"}\n"
"{\"t_ns\":32,\"type\":\"app\",\"pid\":103,\"adj\":700,\"role\":\"background\"}\n"
"{\"t_ns\":33,\"type\":\"app\",\"pid\":100,\"adj\":0,\"role\":\"foreground\"}\n"
/* Right victim, but MemAvailable 100000 of 200000 > 25%: unnecessary. */
"{\"t_ns\":1000000000,\"type\":\"killer\",\"what\":\"kill\",\"t_decision_ns\":1000000000,\"t_signal_ns\":1001000000,"
	"\"t_exit_ns\":1011000000,\"t_mrelease_ns\":1005000000,\"mrelease\":\"ok\",\"pid\":101,\"adj\":900,"
	"\"avail_before_kB\":100000,\"avail_after_kB\":116000,\"reason\":{\"level\":\"some\"}}\n"
/* 700 killed while 800 lives: wrong victim. */
"{\"t_ns\":2000000000,\"type\":\"killer\",\"what\":\"kill\",\"t_decision_ns\":2000000000,\"t_signal_ns\":2002000000,"
	"\"t_exit_ns\":2022000000,\"mrelease\":\"absent\",\"pid\":103,\"adj\":700,"
	"\"avail_before_kB\":10000,\"avail_after_kB\":26000,\"reason\":{\"level\":\"some\"}}\n"
"{\"t_ns\":3000000000,\"type\":\"truth\",\"what\":\"oom_kill\",\"source\":\"kmsg\",\"pid\":102}\n"
"{\"t_ns\":4000000000,\"type\":\"truth\",\"what\":\"workload_exit\",\"source\":\"pidfd\",\"pid\":100,\"exit_code\":0}\n"
"{\"t_ns\":4100000000,\"type\":\"end\",\"reason\":\"workload_exit\"}\n");
	fclose(f);
	struct an_run r;
	char err[256];
	ATF_REQUIRE_EQ_MSG(an_run_load("set/k/apps-x/1", &r, err, sizeof err), 0, "%s", err);
	ATF_REQUIRE_MSG(r.outcome, "no outcome for an apps run");
	const struct an_outcome *o = r.outcome;
	ATF_CHECK_STREQ(o->killer, "psi:some:70ms:1s");
	ATF_CHECK_STREQ(o->workload, "apps+fixed-rate");
	ATF_CHECK_EQ(o->apps, 4);
	ATF_CHECK_EQ(o->daemon_kills, 2);
	ATF_CHECK_EQ(o->kernel_kills, 1);
	ATF_CHECK_EQ(o->unnecessary, 1);
	ATF_CHECK_EQ(o->wrong_victim, 1);
	ATF_CHECK_EQ(o->fg_alive, 1);
	/* kill-to-free: to process_mrelease's return when it worked, else the exit. */
	ATF_CHECK(fabs(an_kill_value(&o->kills[0], AN_K_KILL_TO_FREE) - 0.004) < 1e-9);
	ATF_CHECK(fabs(an_kill_value(&o->kills[1], AN_K_KILL_TO_FREE) - 0.020) < 1e-9);
	ATF_CHECK(fabs(an_kill_value(&o->kills[0], AN_K_FREED_KB) - 16000) < 1e-9);
	json_t *j = an_run_json(&r);
	ATF_CHECK_EQ(json_integer_value(json_object_get(json_object_get(j, "outcome"), "kernel_oom_kills")), 1);
	json_decref(j);
	an_run_free(&r);
}

/* lmkd's own test, on a guest kernel: with a PSI-driven killer, apps +
 * fixed-rate ends with the daemon making at least one kill, the kernel
 * none, and the foreground alive.  Where a kernel does not give that, the
 * run's own lines say why, and the case is an expected failure naming it. */
ATF_TC(lmkd_check_psi);
ATF_TC_HEAD(lmkd_check_psi, tc)
{
	atf_tc_set_md_var(tc, "descr", "PSI-driven killer on apps + fixed-rate: daemon kills, no kernel OOM kill, "
			  "foreground alive");
	atf_tc_set_md_var(tc, "timeout", "900");
}
ATF_TC_BODY(lmkd_check_psi, tc)
{
	const char *src = atf_tc_get_config_var(tc, "srcdir");
	const char *ks = atf_tc_has_config_var(tc, "kernel") ? atf_tc_get_config_var(tc, "kernel") : DEFAULT_KERNEL;
	char bin[PATH_MAX], scn[PATH_MAX], cwd[PATH_MAX], out[PATH_MAX + 8], cmd[PATH_MAX * 2];
	struct cmd_result r;

	use_pnbench_cache(atf_tc_has_config_var(tc, "pnbench_cache") ?
			  atf_tc_get_config_var(tc, "pnbench_cache") : NULL);
	if (access("/usr/bin/qemu-system-x86_64", X_OK))
		pnb_skip("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)");
	bin_path(src, "pnbench", bin, sizeof bin);
	snprintf(scn, sizeof scn, "%s/../harness/scenarios/apps-fixed-rate-psi.ini", src);
	ATF_REQUIRE(getcwd(cwd, sizeof cwd));
	snprintf(out, sizeof out, "%s/out", cwd);
	char *run[] = { bin, "run", "--kernel", (char *)ks, "--scenario", scn, "--reps", "1", "--out", out, NULL };
	run_cmd(run, 850, &r);
	if (r.status && (strstr(r.err, "apt-get") || strstr(r.err, "apt-cache")))
		pnb_skip("the kernel could not be fetched: %s", r.err);
	ATF_REQUIRE_EQ_MSG(r.status, 0, "pnbench run exit %d: %s", r.status, r.err);

	struct an_set s;
	char err[512];
	ATF_REQUIRE_EQ_MSG(an_set_load(out, &s, err, sizeof err), 0, "%s", err);
	ATF_REQUIRE_EQ(s.nruns, 1);
	const struct an_run *run1 = &s.runs[0];
	const struct an_outcome *o = run1->outcome;
	ATF_REQUIRE_MSG(!run1->incomplete, "the run is incomplete (%s)", run1->dir);
	ATF_REQUIRE_MSG(o, "no killer outcome in %s", run1->dir);
	/* A killer that never ran is a broken harness, not a kernel finding. */
	ATF_REQUIRE_MSG(o->killer_started && !o->killer_failed, "the killer did not run: %s", o->killer_why);
	ATF_REQUIRE_EQ_MSG(o->apps, 7, "want 6 background apps and the foreground, got %d", o->apps);
	if (o->daemon_kills >= 1 && o->kernel_kills == 0 && o->fg_alive == 1) {
		an_set_free(&s);
		return;
	}
	/* Name what the kernel did: how many OOM kills came with no PSI
	 * event in the second before them. */
	int silent = 0;
	for (int i = 0; i < o->nkernel; i++) {
		int heard = 0;
		for (int k = 0; k < o->nkills; k++)
			heard |= o->kills[k].t_signal <= o->kernel_t[i] &&
				 o->kernel_t[i] - o->kills[k].t_signal < 1000000000LL;
		silent += !heard;
	}
	snprintf(cmd, sizeof cmd,
		 "on %s (%s) the PSI trigger some 70ms/1s drove %d kill(s) but the kernel OOM killer "
		 "still made %d, %d of them with no PSI event in the second before: once the apps' "
		 "file pages are reclaimed only anonymous memory is left, there is no swap, reclaim "
		 "fails without accruing 70 ms of memory stall in a window and the OOM killer acts "
		 "first; foreground %s (%s)", ks, run1->release, o->daemon_kills, o->kernel_kills, silent,
		 o->fg_alive == 1 ? "alive" : "not alive", run1->dir);
	int dk = o->daemon_kills, kk = o->kernel_kills, fg = o->fg_alive;
	an_set_free(&s);
	atf_tc_expect_fail("%s", cmd);
	atf_tc_fail("lmkd check: daemon %d kill(s), kernel %d, foreground %s", dk, kk,
		    fg == 1 ? "alive" : "not alive");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, local_kill);
	ATF_TP_ADD_TC(tp, local_reclaim);
	ATF_TP_ADD_TC(tp, outcome_rules);
	ATF_TP_ADD_TC(tp, lmkd_check_psi);
	return atf_no_error();
}
