/* The command line: bad input anywhere is one line naming what is wrong,
 * exit 2; `pnbench probes` tells the truth about this kernel. */
#include <atf-c.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static struct cmd_result res;

static void run(const atf_tc_t *tc, const char *prog, char *const args[])
{
	const char *src = atf_tc_get_config_var(tc, "srcdir");
	char path[1024];
	char *argv[32];
	int n = 0;

	argv[n++] = (char *)bin_path(src, prog, path, sizeof path);
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	ATF_REQUIRE_EQ(run_cmd(argv, 60, &res), 0);
}

/* Exit 2, exactly one line on stderr, containing want. */
static void expect_usage_error(const char *want)
{
	ATF_CHECK_EQ_MSG(res.status, 2, "exit %d (stderr: %s)", res.status, res.err);
	ATF_CHECK_EQ_MSG(count_lines(res.err), 1, "stderr is not one line: %s", res.err);
	ATF_CHECK_MSG(strstr(res.err, want), "stderr '%s' lacks '%s'", res.err, want);
}

ATF_TC(bad_command);
ATF_TC_HEAD(bad_command, tc) { atf_tc_set_md_var(tc, "descr", "Unknown command: exit 2, one line"); }
ATF_TC_BODY(bad_command, tc)
{
	run(tc, "pnbench", (char *[]){ "frobnicate", NULL });
	expect_usage_error("pnbench: unknown command 'frobnicate'");
}

ATF_TC(bad_kernel);
ATF_TC_HEAD(bad_kernel, tc) { atf_tc_set_md_var(tc, "descr", "Unknown kernel: exit 2, one line"); }
ATF_TC_BODY(bad_kernel, tc)
{
	run(tc, "pnbench", (char *[]){ "run", "--kernel", "bogus:1", "--scenario", "fixed-rate", NULL });
	expect_usage_error("kernel 'bogus:1': unknown kernel kind");
}

ATF_TC(missing_scenario);
ATF_TC_HEAD(missing_scenario, tc) { atf_tc_set_md_var(tc, "descr", "Missing scenario: exit 2, one line"); }
ATF_TC_BODY(missing_scenario, tc)
{
	run(tc, "pnbench", (char *[]){ "run", "--kernel", "native", "--scenario", "nosuch", NULL });
	expect_usage_error("scenario 'nosuch': no such file");
}

ATF_TC(bad_scenario_key);
ATF_TC_HEAD(bad_scenario_key, tc) { atf_tc_set_md_var(tc, "descr", "A bad key names file and line"); }
ATF_TC_BODY(bad_scenario_key, tc)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/data/scenarios/bad-key.ini", atf_tc_get_config_var(tc, "srcdir"));
	run(tc, "pnbench", (char *[]){ "run", "--kernel", "native", "--scenario", path, NULL });
	expect_usage_error("bad-key.ini:3: unknown key 'rat' in [scenario]");
}

ATF_TC(bad_reps);
ATF_TC_HEAD(bad_reps, tc) { atf_tc_set_md_var(tc, "descr", "--reps must be a number"); }
ATF_TC_BODY(bad_reps, tc)
{
	run(tc, "pnbench", (char *[]){ "run", "--kernel", "native", "--scenario", "fixed-rate",
				       "--reps", "3x", NULL });
	expect_usage_error("--reps '3x'");
}

ATF_TC(recorder_bad_probe);
ATF_TC_HEAD(recorder_bad_probe, tc) { atf_tc_set_md_var(tc, "descr", "A bad probe spec stops the recorder before anything runs"); }
ATF_TC_BODY(recorder_bad_probe, tc)
{
	run(tc, "pnbench-record", (char *[]){ "--probe", "psi:sometimes:1s:1s", "--", "/bin/true", NULL });
	expect_usage_error("probe spec 'psi:sometimes:1s:1s'");
	run(tc, "pnbench-record", (char *[]){ "--probe", "vmpressure:urgent", "--", "/bin/true", NULL });
	expect_usage_error("probe spec 'vmpressure:urgent'");
	run(tc, "pnbench-record", (char *[]){ "--duration", "soon", "--", "/bin/true", NULL });
	expect_usage_error("--duration 'soon'");
	run(tc, "pnbench-record", (char *[]){ "--probe", "oom", NULL });
	expect_usage_error("no workload given");
}

ATF_TC(recorder_records);
ATF_TC_HEAD(recorder_records, tc) { atf_tc_set_md_var(tc, "descr", "A short recording has a header first, an end last, and the workload's exit"); }
ATF_TC_BODY(recorder_records, tc)
{
	run(tc, "pnbench-record", (char *[]){ "--no-mlock", "--grace", "0s", "--probe", "sample:10ms",
					      "--", "/bin/sleep", "0.3", NULL });
	ATF_REQUIRE_EQ_MSG(res.status, 0, "exit %d: %s", res.status, res.err);
	/* Compare within the first line only: a pointer comparison with
	 * strstr() would pass on NULL when the header is missing. */
	const char *eol = strchr(res.out, '\n');
	const char *hdr = strstr(res.out, "\"type\":\"header\"");
	ATF_CHECK_MSG(eol && hdr && hdr < eol, "first line is not the header: %.200s", res.out);
	const char *last = res.out + strlen(res.out) - 2;
	while (last > res.out && *last != '\n')
		last--;
	ATF_CHECK_MSG(strstr(last, "\"type\":\"end\""), "last line is not the end record: %s", last);
	ATF_CHECK(strstr(last, "\"workload_exit_code\":0"));
	int samples = 0;
	for (const char *p = res.out; (p = strstr(p, "\"type\":\"sample\"")); p++)
		samples++;
	/* 0.3 s at 10 ms: about 30 ticks; allow for start-up and a slow machine. */
	ATF_CHECK_MSG(samples >= 15 && samples <= 40, "%d samples in 0.3 s at 10 ms", samples);
}

ATF_TC(probes_list);
ATF_TC_HEAD(probes_list, tc) { atf_tc_set_md_var(tc, "descr", "pnbench probes lists every mechanism and agrees with what this kernel has"); }
ATF_TC_BODY(probes_list, tc)
{
	static const char *names[] = { "psi", "vmpressure", "memevents", "memavail", "lmk",
				       "sample", "oom", "reclaim" };
	run(tc, "pnbench", (char *[]){ "probes", NULL });
	ATF_REQUIRE_EQ_MSG(res.status, 0, "%s", res.err);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char want[64];
		snprintf(want, sizeof want, "\n%-11s ", names[i]);
		ATF_CHECK_MSG(strstr(res.out, want) || !strncmp(res.out, want + 1, strlen(want) - 1),
			      "%s missing from the list", names[i]);
	}
	/* What the kernel has, read independently of the probes. */
	if (access("/proc/pressure/memory", R_OK) == 0)
		ATF_CHECK_MSG(strstr(res.out, "psi         supported"), "PSI exists but is not listed as supported");
	else
		ATF_CHECK(strstr(res.out, "psi         unsupported"));
	ATF_CHECK(strstr(res.out, "sample      supported"));
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ATF_REQUIRE(f);
	fputs(text, f);
	ATF_REQUIRE_EQ(fclose(f), 0);
}

ATF_TC(matrix_option);
ATF_TC_HEAD(matrix_option, tc)
{
	atf_tc_set_md_var(tc, "descr", "run --matrix: a file's kernel, reps and scenarios make the "
			  "cells (--reps and --kernel override), every named matrix loads, and a bad "
			  "matrix is one line naming file and line, exit 2");
}
ATF_TC_BODY(matrix_option, tc)
{
	write_text("m1", "# two scenarios on the host kernel\nkernel native\nreps 2\n"
			 "fixed-rate\nbusy-beaver   # trailing comment\n");
	run(tc, "pnbench", (char *[]){ "run", "--matrix", "./m1", "--list", NULL });
	ATF_CHECK_EQ_MSG(res.status, 0, "exit %d: %s", res.status, res.err);
	ATF_CHECK_STREQ(res.out, "native/fixed-rate/1\nnative/fixed-rate/2\n"
				 "native/busy-beaver/1\nnative/busy-beaver/2\n");
	run(tc, "pnbench", (char *[]){ "run", "--matrix", "./m1", "--reps", "1", "--list", NULL });
	ATF_CHECK_STREQ(res.out, "native/fixed-rate/1\nnative/busy-beaver/1\n");
	/* --scenario adds to the matrix. */
	run(tc, "pnbench", (char *[]){ "run", "--matrix", "./m1", "--reps", "1", "--scenario",
				       "stream-read", "--list", NULL });
	ATF_CHECK_MSG(strstr(res.out, "native/stream-read/1\n") && count_lines(res.out) == 3,
		      "%s", res.out);

	/* The named ones parse, and name their scenarios right (the cells
	 * themselves need the kernel fetched, so --kernel native here). */
	static const char *const names[] = { "default", "killers", "android", "full", "workloads" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		run(tc, "pnbench", (char *[]){ "run", "--matrix", (char *)names[i], "--kernel", "native",
					       "--reps", "1", "--list", NULL });
		ATF_CHECK_EQ_MSG(res.status, 0, "matrix %s: exit %d: %s", names[i], res.status, res.err);
	}
	run(tc, "pnbench", (char *[]){ "run", "--matrix", "android", "--kernel", "native", "--reps",
				       "1", "--list", NULL });
	ATF_CHECK_MSG(strstr(res.out, "native/zram-fixed-rate/1\n"), "%s", res.out);

	run(tc, "pnbench", (char *[]){ "run", "--matrix", "nosuch", "--list", NULL });
	expect_usage_error("matrices: ");
	write_text("m2", "reps 2\nrat 3\n");
	run(tc, "pnbench", (char *[]){ "run", "--matrix", "./m2", "--list", NULL });
	expect_usage_error("m2:2: unknown key 'rat'");
	write_text("m3", "kernel native\nfixed-rate\nno-such-scenario\n");
	run(tc, "pnbench", (char *[]){ "run", "--matrix", "./m3", "--list", NULL });
	expect_usage_error("m3:3: no scenario 'no-such-scenario'");
	write_text("m4", "kernel native\nreps 0\nfixed-rate\n");
	run(tc, "pnbench", (char *[]){ "run", "--matrix", "./m4", "--list", NULL });
	expect_usage_error("m4:2: reps '0'");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, bad_command);
	ATF_TP_ADD_TC(tp, bad_kernel);
	ATF_TP_ADD_TC(tp, missing_scenario);
	ATF_TP_ADD_TC(tp, bad_scenario_key);
	ATF_TP_ADD_TC(tp, bad_reps);
	ATF_TP_ADD_TC(tp, recorder_bad_probe);
	ATF_TP_ADD_TC(tp, recorder_records);
	ATF_TP_ADD_TC(tp, probes_list);
	ATF_TP_ADD_TC(tp, matrix_option);
	return atf_no_error();
}
