/* Hostile inputs (issue 10): damaged or malicious result sets, scenario
 * files and command lines.  Each is either refused with one line naming
 * the problem, or kept and flagged: never silently dropped, doubled,
 * followed out of the set or trusted as a path. */
#include <atf-c.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis.h"
#include "fsutil.h"
#include "run.h"
#include "testutil.h"

static struct cmd_result res;

/* native.o is linked for native_limit_check; it names the programs' directory. */
const char *pnb_bindir(void) { return "/nonexistent"; }

static int pnbench(const atf_tc_t *tc, int timeout_s, char *const args[])
{
	char path[PATH_MAX];
	char *argv[16];
	int n = 0;

	argv[n++] = (char *)bin_path(atf_tc_get_config_var(tc, "srcdir"), "pnbench", path, sizeof path);
	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	ATF_REQUIRE_EQ(run_cmd(argv, timeout_s, &res), 0);
	return res.status;
}

/* Exit 2, exactly one line on stderr, containing want. */
static void expect_refusal(const char *want)
{
	ATF_CHECK_EQ_MSG(res.status, 2, "exit %d (stderr: %s)", res.status, res.err);
	ATF_CHECK_EQ_MSG(count_lines(res.err), 1, "stderr is not one line: %s", res.err);
	ATF_CHECK_MSG(strstr(res.err, want), "stderr '%s' lacks '%s'", res.err, want);
}

static void put(const char *path, const char *text)
{
	char dir[PATH_MAX], *slash;
	FILE *f;

	snprintf(dir, sizeof dir, "%s", path);
	if ((slash = strrchr(dir, '/'))) {
		*slash = 0;
		ATF_REQUIRE_EQ(pnb_mkdir_all(dir, 0755), 0);
	}
	ATF_REQUIRE_MSG((f = fopen(path, "w")), "%s: %s", path, strerror(errno));
	fputs(text, f);
	ATF_REQUIRE_EQ(fclose(f), 0);
}

static const char scn_text[] =
	"[scenario]\\nreps = 2\\nexpect = oom\\n[workload]\\nname = fixed-rate\\n"
	"args = --rate 100M/s\\n[probes]\\nprobe = vmpressure:low\\n";

/* meta.json of a run (rep from the directory's name); kernel is written
 * as given (JSON-escaped by the caller). */
static void put_meta(const char *dir, const char *kernel, const char *scenario, int complete)
{
	char p[PATH_MAX + 16], text[2048];

	const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;

	snprintf(p, sizeof p, "%s/meta.json", dir);
	snprintf(text, sizeof text,
		 "{\"schema\":\"pnbench-meta/1\",\"kernel\":{\"name\":\"%s\",\"release\":\"6.1\"},"
		 "\"scenario\":{\"name\":\"%s\",\"text\":\"%s\"},\"rep\":%d,"
		 "\"result\":{\"complete\":%s,\"status\":\"%s\"}}\n",
		 kernel, scenario, scn_text, atoi(base) > 0 ? atoi(base) : 1,
		 complete ? "true" : "false", complete ? "ok" : "broken");
	put(p, text);
}

/* A whole run: header, workload start, samples, a notification, the OOM
 * kill and the end line. */
static void put_events(const char *dir, int samples)
{
	char p[PATH_MAX + 16];

	snprintf(p, sizeof p, "%s/events.jsonl", dir);
	put(p, samples ?
	    "{\"t_ns\":0,\"type\":\"header\",\"schema\":\"pnbench-events/1\",\"domain\":\"system\","
	    "\"probes\":[\"vmpressure:low\"]}\n"
	    "{\"t_ns\":0,\"type\":\"probe\",\"probe\":\"vmpressure:low\",\"mech\":\"vmpressure\",\"status\":\"armed\"}\n"
	    "{\"t_ns\":0,\"type\":\"truth\",\"what\":\"workload_start\",\"source\":\"recorder\",\"pid\":4}\n"
	    "{\"t_ns\":0,\"type\":\"sample\",\"view\":{\"total_kB\":1000,\"free_kB\":900,\"available_kB\":900,\"anon_kB\":0,\"cache_kB\":0}}\n"
	    "{\"t_ns\":2000000000,\"type\":\"sample\",\"view\":{\"total_kB\":1000,\"free_kB\":100,\"available_kB\":100,\"anon_kB\":800,\"cache_kB\":0}}\n"
	    "{\"t_ns\":1000000000,\"type\":\"notify\",\"probe\":\"vmpressure:low\",\"mech\":\"vmpressure\",\"level\":\"low\",\"count\":1}\n"
	    "{\"t_ns\":3000000000,\"type\":\"truth\",\"what\":\"mark_victim\",\"source\":\"tracefs\",\"pid\":4}\n"
	    "{\"t_ns\":3500000000,\"type\":\"end\",\"reason\":\"workload_exit\"}\n"
	    :
	    /* Interrupted before the sampler's first tick. */
	    "{\"t_ns\":0,\"type\":\"header\",\"schema\":\"pnbench-events/1\",\"domain\":\"system\","
	    "\"probes\":[\"vmpressure:low\"]}\n"
	    "{\"t_ns\":0,\"type\":\"truth\",\"what\":\"workload_start\",\"source\":\"recorder\",\"pid\":4}\n");
}

static void put_run(const char *dir, const char *kernel, const char *scenario, int complete)
{
	put_meta(dir, kernel, scenario, complete);
	put_events(dir, 1);
}

static int exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

/* ---- names from result files (issue 10, 8) ------------------------------- */

ATF_TC(name_check);
ATF_TC_HEAD(name_check, tc)
{
	atf_tc_set_md_var(tc, "descr", "a name read from a result file is one path component: no separator, no '..', no '.', not empty");
}
ATF_TC_BODY(name_check, tc)
{
	ATF_CHECK(pnb_name_ok("k1"));
	ATF_CHECK(pnb_name_ok("6.1.0-27-cloud-amd64"));
	ATF_CHECK(pnb_name_ok("debian:cloud"));
	ATF_CHECK(pnb_name_ok("..x"));
	ATF_CHECK(!pnb_name_ok(NULL));
	ATF_CHECK(!pnb_name_ok(""));
	ATF_CHECK(!pnb_name_ok("."));
	ATF_CHECK(!pnb_name_ok(".."));
	ATF_CHECK(!pnb_name_ok("../../x"));
	ATF_CHECK(!pnb_name_ok("a/b"));
	ATF_CHECK(!pnb_name_ok("/etc"));
	ATF_CHECK(!pnb_name_ok("a\\b"));
	ATF_CHECK(!pnb_name_ok("a\nb"));
}

ATF_TC(traversal);
ATF_TC_HEAD(traversal, tc)
{
	atf_tc_set_md_var(tc, "descr", "kernel.name '../../x' in meta.json: analyze writes nothing outside the set and flags the run bad_name");
}
ATF_TC_BODY(traversal, tc)
{
	struct an_set s;
	char err[512];

	/* Two parents for one cell: analyze must build the cell directory
	 * from the names. */
	put_run("deep/set/a/fixed-rate/1", "../../x", "fixed-rate", 1);
	put_run("deep/set/b/fixed-rate/1", "../../x", "fixed-rate", 1);
	ATF_REQUIRE_MSG(!an_set_load("deep/set", &s, err, sizeof err), "%s", err);
	ATF_CHECK_EQ(s.nruns, 2);
	for (int i = 0; i < s.nruns; i++) {
		ATF_CHECK_MSG(!strchr(s.runs[i].kernel, '/'), "kernel '%s'", s.runs[i].kernel);
		ATF_CHECK(s.runs[i].flags & AN_F_BAD_NAME);
	}
	an_set_free(&s);

	pnbench(tc, 60, (char *[]){ "analyze", "-q", "deep/set", NULL });
	ATF_CHECK_EQ_MSG(res.status, 0, "exit %d: %s", res.status, res.err);
	ATF_CHECK(!exists("x"));
	ATF_CHECK(!exists("deep/x"));
	ATF_CHECK(exists("deep/set/a/fixed-rate/1/summary.json"));
}

/* ---- runs never dropped (issue 10, 7) ------------------------------------ */

ATF_TC(no_events_kept);
ATF_TC_HEAD(no_events_kept, tc)
{
	atf_tc_set_md_var(tc, "descr", "runs whose events.jsonl is missing, a dangling link or a directory are counted, incomplete, flagged no_events with a reason");
}
ATF_TC_BODY(no_events_kept, tc)
{
	struct an_set s;
	char err[512];
	int flagged = 0;

	put_run("set/k/fixed-rate/1", "k", "fixed-rate", 1);
	put_meta("set/k/fixed-rate/2", "k", "fixed-rate", 0);		/* missing */
	put_meta("set/k/fixed-rate/3", "k", "fixed-rate", 0);
	ATF_REQUIRE_EQ(symlink("nowhere", "set/k/fixed-rate/3/events.jsonl"), 0);
	put_meta("set/k/fixed-rate/4", "k", "fixed-rate", 0);
	ATF_REQUIRE_EQ(mkdir("set/k/fixed-rate/4/events.jsonl", 0755), 0);

	ATF_REQUIRE_MSG(!an_set_load("set", &s, err, sizeof err), "%s", err);
	ATF_CHECK_EQ(s.nruns, 4);
	for (int i = 0; i < s.nruns; i++) {
		if (!(s.runs[i].flags & AN_F_NO_EVENTS))
			continue;
		flagged++;
		ATF_CHECK(s.runs[i].incomplete);
		ATF_CHECK_MSG(s.runs[i].events_error[0], "%s: no reason", s.runs[i].dir);
	}
	ATF_CHECK_EQ(flagged, 3);
	an_set_free(&s);

	pnbench(tc, 60, (char *[]){ "analyze", "set", NULL });
	ATF_CHECK_EQ_MSG(res.status, 0, "exit %d: %s", res.status, res.err);
	ATF_CHECK_MSG(strstr(res.out, "4 runs (1 complete)"), "%s", res.out);
	ATF_CHECK_MSG(strstr(res.out, "no_events"), "%s", res.out);
}

/* ---- symlinks inside a set (issue 10, 13) -------------------------------- */

ATF_TC(symlinks_not_followed);
ATF_TC_HEAD(symlinks_not_followed, tc)
{
	atf_tc_set_md_var(tc, "descr", "a symlink to a run, a cell or a kernel directory inside a set is not followed: each run counts once");
}
ATF_TC_BODY(symlinks_not_followed, tc)
{
	struct an_set s;
	char err[512];

	put_run("set/k/fixed-rate/1", "k", "fixed-rate", 1);
	ATF_REQUIRE_EQ(symlink("1", "set/k/fixed-rate/2"), 0);
	ATF_REQUIRE_EQ(symlink("fixed-rate", "set/k/again"), 0);
	ATF_REQUIRE_EQ(symlink("k", "set/k2"), 0);
	ATF_REQUIRE_MSG(!an_set_load("set", &s, err, sizeof err), "%s", err);
	ATF_CHECK_EQ(s.nruns, 1);
	an_set_free(&s);
}

/* ---- t_ns (issue 10, 13) ------------------------------------------------- */

ATF_TC(bad_t_ns);
ATF_TC_HEAD(bad_t_ns, tc)
{
	atf_tc_set_md_var(tc, "descr", "t_ns below 0 or at/above 2^62 (integer or real) makes the line a bad line, not a time");
}
ATF_TC_BODY(bad_t_ns, tc)
{
	struct an_run r;
	char err[512];

	put_meta("run", "k", "fixed-rate", 1);
	put("run/events.jsonl",
	    "{\"t_ns\":0,\"type\":\"header\",\"schema\":\"pnbench-events/1\",\"domain\":\"system\"}\n"
	    "{\"t_ns\":1000000000,\"type\":\"truth\",\"what\":\"workload_start\",\"source\":\"recorder\",\"pid\":4}\n"
	    "{\"t_ns\":-5,\"type\":\"notify\",\"probe\":\"vmpressure:low\",\"mech\":\"vmpressure\",\"level\":\"low\"}\n"
	    "{\"t_ns\":9223372036854775807,\"type\":\"notify\",\"probe\":\"vmpressure:low\",\"mech\":\"vmpressure\",\"level\":\"low\"}\n"
	    "{\"t_ns\":4611686018427387904,\"type\":\"sample\",\"view\":{\"total_kB\":1,\"available_kB\":1}}\n"
	    "{\"t_ns\":1e30,\"type\":\"truth\",\"what\":\"workload_start\",\"source\":\"recorder\",\"pid\":5}\n"
	    "{\"t_ns\":-1e30,\"type\":\"end\",\"reason\":\"x\"}\n"
	    "{\"t_ns\":3000000000,\"type\":\"end\",\"reason\":\"workload_exit\"}\n");
	ATF_REQUIRE_MSG(!an_run_load("run", &r, err, sizeof err), "%s", err);
	ATF_CHECK_EQ(r.bad_lines, 5);
	ATF_CHECK(r.flags & AN_F_BAD_LINES);
	ATF_CHECK_EQ(r.ngroups, 0);
	ATF_CHECK_EQ(r.nsamples, 0);
	ATF_CHECK_EQ(r.workload_pid, 4);
	ATF_CHECK_MSG(fabs(r.run_s - 2.0) < 1e-9, "run_s %g", r.run_s);
	an_run_free(&r);
}

/* ---- many groups (issue 10, 13) ------------------------------------------ */

ATF_TC(many_groups);
ATF_TC_HEAD(many_groups, tc)
{
	atf_tc_set_md_var(tc, "descr", "30,000 (probe, level) groups in one run: analyze finishes within 60 s (it took > 120 s when quadratic)");
	atf_tc_set_md_var(tc, "timeout", "200");
}
ATF_TC_BODY(many_groups, tc)
{
	FILE *f;
	struct an_run r;
	char err[512];

	put_meta("set/k/fixed-rate/1", "k", "fixed-rate", 1);
	ATF_REQUIRE((f = fopen("set/k/fixed-rate/1/events.jsonl", "w")));
	fprintf(f, "{\"t_ns\":0,\"type\":\"header\",\"schema\":\"pnbench-events/1\",\"domain\":\"system\"}\n"
		   "{\"t_ns\":0,\"type\":\"truth\",\"what\":\"workload_start\",\"source\":\"recorder\",\"pid\":4}\n"
		   "{\"t_ns\":0,\"type\":\"sample\",\"view\":{\"total_kB\":1000,\"available_kB\":900}}\n");
	for (int i = 0; i < 15000; i++) {
		fprintf(f, "{\"t_ns\":%d,\"type\":\"probe\",\"probe\":\"memevents:p%d\",\"mech\":\"memevents\",\"status\":\"armed\"}\n",
			i, i);
		fprintf(f, "{\"t_ns\":%d,\"type\":\"notify\",\"probe\":\"memevents:p%d\",\"mech\":\"memevents\",\"level\":\"low\"}\n",
			1000 + i, i);
		fprintf(f, "{\"t_ns\":%d,\"type\":\"notify\",\"probe\":\"memevents:p%d\",\"mech\":\"memevents\",\"level\":\"high\"}\n",
			2000 + i, i);
	}
	fprintf(f, "{\"t_ns\":5000000000,\"type\":\"end\",\"reason\":\"workload_exit\"}\n");
	ATF_REQUIRE_EQ(fclose(f), 0);

	ATF_REQUIRE_MSG(!an_run_load("set/k/fixed-rate/1", &r, err, sizeof err), "%s", err);
	ATF_CHECK_EQ(r.ngroups, 30000);
	an_run_free(&r);

	pnbench(tc, 60, (char *[]){ "analyze", "-q", "set", NULL });
	ATF_CHECK_EQ_MSG(res.status, 0, "exit %d (137: killed after 60 s): %s", res.status, res.err);
}

/* ---- compare (issue 10, 6) ----------------------------------------------- */

ATF_TC(compare_no_complete);
ATF_TC_HEAD(compare_no_complete, tc)
{
	atf_tc_set_md_var(tc, "descr", "compare refuses (exit 2, one line) a side with 0 complete runs of a compared scenario");
}
ATF_TC_BODY(compare_no_complete, tc)
{
	put_run("base/kA/fixed-rate/1", "kA", "fixed-rate", 1);
	put_run("base/kA/fixed-rate/2", "kA", "fixed-rate", 1);
	put_run("new/kA/fixed-rate/1", "kA", "fixed-rate", 0);
	put_run("new/kA/fixed-rate/2", "kA", "fixed-rate", 0);
	/* The same data, all complete: compared. */
	pnbench(tc, 60, (char *[]){ "compare", "base", "base", NULL });
	ATF_CHECK_EQ_MSG(res.status, 0, "exit %d: %s", res.status, res.err);
	pnbench(tc, 60, (char *[]){ "compare", "base", "new", NULL });
	expect_refusal("new kA/fixed-rate: 0 of 2 runs complete");
	pnbench(tc, 60, (char *[]){ "compare", "new", "base", NULL });
	expect_refusal("base kA/fixed-rate: 0 of 2 runs complete");
}

ATF_TC(compare_no_meta);
ATF_TC_HEAD(compare_no_meta, tc)
{
	atf_tc_set_md_var(tc, "descr", "compare refuses (exit 2, one line) a run without meta.json: which scenario file it ran cannot be told");
}
ATF_TC_BODY(compare_no_meta, tc)
{
	put_run("base/kA/fixed-rate/1", "kA", "fixed-rate", 1);
	put_run("new/kA/fixed-rate/1", "kA", "fixed-rate", 1);
	/* Same cell by its path, but nothing says which scenario text ran. */
	put_events("new/kA/fixed-rate/2", 1);
	pnbench(tc, 60, (char *[]){ "compare", "base", "new", NULL });
	expect_refusal("no scenario text (no meta.json)");
}

/* ---- report (issue 10, 12) ----------------------------------------------- */

ATF_TC(report_no_samples);
ATF_TC_HEAD(report_no_samples, tc)
{
	atf_tc_set_md_var(tc, "descr", "report of a set with a run that has no samples (interrupted): exit 0, no gnuplot error, the report says what is empty");
}
ATF_TC_BODY(report_no_samples, tc)
{
	char buf[65536];
	FILE *f;
	size_t n;

	put_run("set/k/fixed-rate/1", "k", "fixed-rate", 1);
	put_meta("set/k/fixed-rate/2", "k", "fixed-rate", 0);
	put_events("set/k/fixed-rate/2", 0);
	pnbench(tc, 120, (char *[]){ "report", "-q", "set", NULL });
	ATF_CHECK_EQ_MSG(res.status, 0, "exit %d: %s", res.status, res.err);
	ATF_CHECK_MSG(!strstr(res.err, "gnuplot"), "%s", res.err);
	ATF_REQUIRE((f = fopen("set/report/report.txt", "r")));
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	ATF_CHECK_MSG(strstr(buf, "no samples"), "report.txt does not say a run has no samples");
	ATF_CHECK(exists("set/report/timeline-k-fixed-rate-1.png"));
	ATF_CHECK(exists("set/report/timeline-k-fixed-rate-2.png"));
}

/* ---- native limit (issue 10, 5) ------------------------------------------ */

ATF_TC(native_limit);
ATF_TC_HEAD(native_limit, tc)
{
	atf_tc_set_md_var(tc, "descr", "a native memory limit above half of the host's MemAvailable is refused; at or below it is accepted");
}
ATF_TC_BODY(native_limit, tc)
{
	char why[512] = "";

	put("root/proc/meminfo", "MemTotal:       16000000 kB\nMemFree:         1000000 kB\n"
				 "MemAvailable:    8000000 kB\n");
	ATF_CHECK_EQ(native_limit_check(4000000ULL * 1024, "root", why, sizeof why), 0);
	ATF_CHECK_EQ(native_limit_check(256ULL << 20, "root", why, sizeof why), 0);
	ATF_CHECK(native_limit_check(4000001ULL * 1024, "root", why, sizeof why) < 0);
	ATF_CHECK_MSG(strstr(why, "50%"), "%s", why);
	ATF_CHECK(native_limit_check(1ULL << 40, "root", why, sizeof why) < 0);
	/* No MemAvailable to judge by: refuse rather than guess. */
	put("bare/proc/meminfo", "MemTotal:       16000000 kB\n");
	ATF_CHECK(native_limit_check(256ULL << 20, "bare", why, sizeof why) < 0);
}

ATF_TC(native_limit_cli);
ATF_TC_HEAD(native_limit_cli, tc)
{
	atf_tc_set_md_var(tc, "descr", "pnbench run --kernel native with memory = 1T: exit 2 before any run, one line");
}
ATF_TC_BODY(native_limit_cli, tc)
{
	put("huge.ini", "[scenario]\nreps = 1\nduration = 1s\n[workload]\nname = fixed-rate\n"
			"args = --rate 1M/s\n[probes]\nprobe = vmpressure:low\n[machine]\nmemory = 1T\n");
	pnbench(tc, 60, (char *[]){ "run", "--kernel", "native", "--scenario", "huge.ini", "--out", "out",
				   "--list", NULL });
	expect_refusal("memory 1T");
	ATF_CHECK(strstr(res.err, "MemAvailable"));
}

/* ---- command line (issue 10, 13) ----------------------------------------- */

ATF_TC(scenario_check_no_files);
ATF_TC_HEAD(scenario_check_no_files, tc)
{
	atf_tc_set_md_var(tc, "descr", "pnbench scenario check with no file is a usage error");
}
ATF_TC_BODY(scenario_check_no_files, tc)
{
	pnbench(tc, 60, (char *[]){ "scenario", "check", NULL });
	expect_refusal("scenario check: which scenario");
}

ATF_TC(scenario_check_hostile_files);
ATF_TC_HEAD(scenario_check_hostile_files, tc)
{
	atf_tc_set_md_var(tc, "descr", "scenario check of a directory, /dev/zero and a duplicated probe: exit 2, one line each, promptly");
}
ATF_TC_BODY(scenario_check_hostile_files, tc)
{
	ATF_REQUIRE_EQ(mkdir("dir.ini", 0755), 0);
	pnbench(tc, 60, (char *[]){ "scenario", "check", "./dir.ini", NULL });
	expect_refusal("not a regular file");
	pnbench(tc, 20, (char *[]){ "scenario", "check", "/dev/zero", NULL });
	expect_refusal("not a regular file");
	put("dup.ini", "[workload]\nname = fixed-rate\n[probes]\nprobe = vmpressure:low\n"
		       "probe = psi:some:150ms:1s\nprobe = vmpressure:low\n");
	pnbench(tc, 60, (char *[]){ "scenario", "check", "./dup.ini", NULL });
	expect_refusal("dup.ini:6: probe 'vmpressure:low' given twice");
}

ATF_TC(probes_bad_root);
ATF_TC_HEAD(probes_bad_root, tc)
{
	atf_tc_set_md_var(tc, "descr", "pnbench probes --root /nonexistent: exit 2, one line");
}
ATF_TC_BODY(probes_bad_root, tc)
{
	pnbench(tc, 60, (char *[]){ "probes", "--root", "/nonexistent", NULL });
	expect_refusal("/nonexistent");
	ATF_CHECK_STREQ(res.out, "");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, name_check);
	ATF_TP_ADD_TC(tp, traversal);
	ATF_TP_ADD_TC(tp, no_events_kept);
	ATF_TP_ADD_TC(tp, symlinks_not_followed);
	ATF_TP_ADD_TC(tp, bad_t_ns);
	ATF_TP_ADD_TC(tp, many_groups);
	ATF_TP_ADD_TC(tp, compare_no_complete);
	ATF_TP_ADD_TC(tp, compare_no_meta);
	ATF_TP_ADD_TC(tp, report_no_samples);
	ATF_TP_ADD_TC(tp, native_limit);
	ATF_TP_ADD_TC(tp, native_limit_cli);
	ATF_TP_ADD_TC(tp, scenario_check_no_files);
	ATF_TP_ADD_TC(tp, scenario_check_hostile_files);
	ATF_TP_ADD_TC(tp, probes_bad_root);
	return atf_no_error();
}
