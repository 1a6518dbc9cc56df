/* pnbench's own modules in a guest, end to end: pnbench run of
 * tests/data/scenarios/kmod-oom.ini (klmk:report, memnotify:one,
 * simplelmk:3 up to an OOM kill) on the kyua variable "kernel" (default
 * debian:cloud), and the same with PNBENCH_KMOD=0, where the three must
 * say unsupported with the reason and the run must still complete. */
#include "testutil.h"

#include <atf-c.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const probes[] = { "klmk:report", "memnotify:one", "simplelmk:3" };

static void run_scenario(const atf_tc_t *tc, char *rundir, size_t len)
{
	static struct cmd_result r;
	const char *src = atf_tc_get_config_var(tc, "srcdir");
	char bin[PATH_MAX], scn[PATH_MAX], out[PATH_MAX], cwd[PATH_MAX], ks[256], cmd[PATH_MAX + 64];
	FILE *p;

	use_pnbench_cache(atf_tc_has_config_var(tc, "pnbench_cache") ?
			  atf_tc_get_config_var(tc, "pnbench_cache") : NULL);
	if (access("/usr/bin/qemu-system-x86_64", X_OK))
		pnb_skip("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)");
	bin_path(src, "pnbench", bin, sizeof bin);
	snprintf(scn, sizeof scn, "%s/data/scenarios/kmod-oom.ini", src);
	ATF_REQUIRE(getcwd(cwd, sizeof cwd));
	snprintf(out, sizeof out, "%s/out", cwd);
	snprintf(ks, sizeof ks, "%s", atf_tc_has_config_var(tc, "kernel") ?
		 atf_tc_get_config_var(tc, "kernel") : "debian:cloud");
	char *argv[] = { bin, "run", "--kernel", ks, "--scenario", scn, "--reps", "1", "--out", out, NULL };
	run_cmd(argv, 900, &r);
	ATF_REQUIRE_MSG(r.status == 0, "pnbench run exited %d: %s", r.status, r.err);
	snprintf(cmd, sizeof cmd, "ls -d %s/*/*/1", out);
	p = popen(cmd, "r");
	ATF_REQUIRE(p && fgets(rundir, (int)len, p));
	pclose(p);
	rundir[strcspn(rundir, "\n")] = 0;
}

/* Every line of events.jsonl, parsed; the caller frees. */
static json_t *events(const char *rundir)
{
	char path[PATH_MAX + 16], line[1 << 16];
	json_t *a = json_array();
	FILE *f;

	snprintf(path, sizeof path, "%s/events.jsonl", rundir);
	f = fopen(path, "r");
	ATF_REQUIRE_MSG(f, "%s missing", path);
	while (fgets(line, sizeof line, f)) {
		json_t *o = json_loads(line, 0, NULL);
		if (o)
			json_array_append_new(a, o);
	}
	fclose(f);
	return a;
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* The probe line of spec: armed, unsupported, ... ("" when none). */
static const char *status_of(json_t *ev, const char *spec, const char **reason)
{
	size_t i;
	json_t *o;

	json_array_foreach(ev, i, o)
		if (!strcmp(str(o, "type"), "probe") && !strcmp(str(o, "probe"), spec)) {
			*reason = str(o, "reason");
			return str(o, "status");
		}
	return "";
}

ATF_TC(three_probes_report);
ATF_TC_HEAD(three_probes_report, tc)
{
	atf_tc_set_md_var(tc, "descr", "klmk, memnotify and simplelmk load and report in a guest, "
			  "or say unsupported with a reason");
	atf_tc_set_md_var(tc, "timeout", "900");
}
ATF_TC_BODY(three_probes_report, tc)
{
	char rundir[PATH_MAX];
	json_t *ev, *o;
	size_t i;
	long long workload = -1, oom_t = -1;
	int klmk_before_oom = 0, simplelmk = 0, counters = 0, kmodlines = 0;

	run_scenario(tc, rundir, sizeof rundir);
	ev = events(rundir);
	for (size_t k = 0; k < 3; k++) {
		const char *why = "", *st = status_of(ev, probes[k], &why);
		ATF_CHECK_MSG(!strcmp(st, "armed") || (!strcmp(st, "unsupported") && why[0]),
			      "%s: status '%s' reason '%s'", probes[k], st, why);
		if (strcmp(st, "armed"))
			pnb_skip("%s unsupported on this kernel: %s", probes[k], why);
	}
	json_array_foreach(ev, i, o) {
		const char *type = str(o, "type"), *what = str(o, "what");
		if (!strcmp(type, "truth") && !strcmp(what, "workload_start"))
			workload = json_integer_value(json_object_get(o, "pid"));
		if (!strcmp(type, "truth") && !strcmp(what, "mark_victim") && oom_t < 0)
			oom_t = json_integer_value(json_object_get(o, "t_ns"));
		if (!strcmp(type, "kmod") && json_object_get(o, "tainted")) {
			/* TAINT_OOT_MODULE (bit 12): an out-of-tree module is in. */
			ATF_CHECK(json_integer_value(json_object_get(o, "tainted")) & 4096);
			kmodlines++;
		}
		if (!strcmp(type, "kmod") && !strcmp(what, "counters"))
			counters++;
	}
	ATF_CHECK_EQ(kmodlines, 3);
	ATF_CHECK_EQ_MSG(counters, 1, "memnotify gave no counters line at close");
	ATF_REQUIRE_MSG(oom_t >= 0, "no OOM kill (mark_victim) in %s", rundir);
	json_array_foreach(ev, i, o) {
		if (strcmp(str(o, "type"), "notify"))
			continue;
		long long t = json_integer_value(json_object_get(o, "t_ns"));
		long long seen = json_integer_value(json_object_get(o, "observed_t_ns"));
		/* Kernel time first, read later. */
		ATF_CHECK_MSG(seen >= t, "%s: observed %lld before the kernel's %lld", str(o, "probe"),
			      seen, t);
		if (!strcmp(str(o, "mech"), "klmk") && t < oom_t) {
			klmk_before_oom++;
			/* The workload is the only task with oom_score_adj >= 0
			 * and a large RSS: the driver's rule picks it. */
			ATF_CHECK_EQ(json_integer_value(json_object_get(o, "victim_pid")), workload);
		}
		if (!strcmp(str(o, "mech"), "simplelmk"))
			simplelmk++;
	}
	ATF_CHECK_MSG(klmk_before_oom > 0, "klmk never decided before the OOM kill");
	ATF_CHECK_MSG(simplelmk > 0, "simplelmk never saw priority <= 3");
	json_decref(ev);
}

ATF_TC(unsupported_goes_on);
ATF_TC_HEAD(unsupported_goes_on, tc)
{
	atf_tc_set_md_var(tc, "descr", "without the modules the three say why and the run completes");
	atf_tc_set_md_var(tc, "timeout", "900");
}
ATF_TC_BODY(unsupported_goes_on, tc)
{
	char rundir[PATH_MAX];
	json_t *ev;

	setenv("PNBENCH_KMOD", "0", 1);
	run_scenario(tc, rundir, sizeof rundir);
	ev = events(rundir);
	for (size_t k = 0; k < 3; k++) {
		const char *why = "", *st = status_of(ev, probes[k], &why);
		ATF_CHECK_STREQ_MSG(st, "unsupported", "%s", probes[k]);
		ATF_CHECK_MSG(strstr(why, "PNBENCH_KMOD=0"), "%s: reason '%s'", probes[k], why);
	}
	json_decref(ev);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, three_probes_report);
	ATF_TP_ADD_TC(tp, unsupported_goes_on);
	return atf_no_error();
}
