/* pnbench compare and pnbench report on the hand-made result sets of
 * tests/data/analyze: compare's exit status (0 no regression, 1 regression,
 * 2 usage or data error, refusal of different scenario texts or schemas),
 * and the report's text (<= 80 columns, header, regenerate commands), its
 * index and the PNG, SVG and dumb outputs of every plots/ figure. */
#include <atf-c.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static struct cmd_result res;

/* bin/pnbench with up to 8 arguments; its exit status. */
static int pnbench(const atf_tc_t *tc, const char *a0, const char *a1, const char *a2,
		   const char *a3, const char *a4, const char *a5)
{
	char path[PATH_MAX];
	char *argv[8] = { (char *)bin_path(atf_tc_get_config_var(tc, "srcdir"), "pnbench", path,
					   sizeof path),
			  (char *)a0, (char *)a1, (char *)a2, (char *)a3, (char *)a4, (char *)a5, NULL };

	ATF_REQUIRE_EQ(run_cmd(argv, 120, &res), 0);
	return res.status;
}

static const char *fixture(const atf_tc_t *tc, const char *name)
{
	static char buf[4][PATH_MAX];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/data/analyze/%s", atf_tc_get_config_var(tc, "srcdir"), name);
	return buf[k];
}

ATF_TC(compare_exit_status);
ATF_TC_HEAD(compare_exit_status, tc)
{
	atf_tc_set_md_var(tc, "descr", "compare: 0 for a 1% change, 1 for lead 4.85 s -> 1.85 s (p = 0.029 with 4 v 4 runs), 2 for usage and missing data");
}
ATF_TC_BODY(compare_exit_status, tc)
{
	ATF_CHECK_EQ(pnbench(tc, "compare", fixture(tc, "cmp-base"), fixture(tc, "cmp-same"),
			     NULL, NULL, NULL), 0);
	ATF_CHECK(strstr(res.out, "Mann-Whitney U"));
	ATF_CHECK(strstr(res.out, "verdict: no regression"));

	ATF_CHECK_EQ(pnbench(tc, "compare", fixture(tc, "cmp-base"), fixture(tc, "cmp-worse"),
			     NULL, NULL, NULL), 1);
	ATF_CHECK(strstr(res.out, "-61.9%"));	/* (1.85 - 4.85) / 4.85 */
	ATF_CHECK(strstr(res.out, "0.029 e *"));	/* 2 / C(8,4) */
	ATF_CHECK(strstr(res.out, "REGRESSION"));

	/* The same data with a gate nobody can reach is not a regression. */
	ATF_CHECK_EQ(pnbench(tc, "compare", "--threshold", "90", fixture(tc, "cmp-base"),
			     fixture(tc, "cmp-worse"), NULL), 0);
	/* Regression rules that do not watch lead time: none either. */
	ATF_CHECK_EQ(pnbench(tc, "compare", "--rules", "fp", fixture(tc, "cmp-base"),
			     fixture(tc, "cmp-worse"), NULL), 0);

	ATF_CHECK_EQ(pnbench(tc, "compare", fixture(tc, "cmp-base"), NULL, NULL, NULL, NULL), 2);
	ATF_CHECK_EQ(pnbench(tc, "compare", "--rules", "nosuch", fixture(tc, "cmp-base"),
			     fixture(tc, "cmp-same"), NULL), 2);
	ATF_CHECK_EQ(pnbench(tc, "compare", fixture(tc, "cmp-base"), fixture(tc, "no-such-set"),
			     NULL, NULL, NULL), 2);
	ATF_CHECK(strstr(res.err, "pnbench"));
}

ATF_TC(compare_refuses);
ATF_TC_HEAD(compare_refuses, tc)
{
	atf_tc_set_md_var(tc, "descr", "compare refuses (exit 2, with the reason) runs of different scenario texts or event schema versions");
}
ATF_TC_BODY(compare_refuses, tc)
{
	ATF_CHECK_EQ(pnbench(tc, "compare", fixture(tc, "cmp-base"), fixture(tc, "cmp-text"),
			     NULL, NULL, NULL), 2);
	ATF_CHECK_MSG(strstr(res.err, "refused") && strstr(res.err, "scenario text"), "%s", res.err);
	ATF_CHECK(strstr(res.err, "--rate 50M/s"));	/* says which line differs */

	ATF_CHECK_EQ(pnbench(tc, "compare", fixture(tc, "cmp-base"), fixture(tc, "cmp-schema"),
			     NULL, NULL, NULL), 2);
	ATF_CHECK_MSG(strstr(res.err, "refused") && strstr(res.err, "pnbench-events/2"), "%s", res.err);
}

static int have_gnuplot(void)
{
	char *argv[] = { "/bin/sh", "-c", "command -v gnuplot", NULL };
	return run_cmd(argv, 10, &res) == 0 && res.status == 0;
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) ? -1 : (long)st.st_size;
}

static int starts_with(const char *path, const char *magic, size_t n)
{
	char buf[16] = "";
	FILE *f = fopen(path, "rb");
	size_t got = f ? fread(buf, 1, n, f) : 0;

	if (f)
		fclose(f);
	return got == n && !memcmp(buf, magic, n);
}

/* Copy a fixture set into the test's work directory: report writes there. */
static void copy_set(const atf_tc_t *tc, const char *name)
{
	char *argv[] = { "/bin/cp", "-a", (char *)fixture(tc, name), ".", NULL };
	ATF_REQUIRE_EQ(run_cmd(argv, 30, &res), 0);
	ATF_REQUIRE_EQ_MSG(res.status, 0, "cp: %s", res.err);
}

ATF_TC(report_outputs);
ATF_TC_HEAD(report_outputs, tc)
{
	atf_tc_set_md_var(tc, "descr", "report: text <= 80 columns with header and reproduce commands; every figure in index.md has a non-empty PNG, SVG and dumb output");
}
ATF_TC_BODY(report_outputs, tc)
{
	char line[4096], path[PATH_MAX + 300];
	int figures = 0, wide = 0, regenerate = 0, header = 0;
	FILE *f;

	if (!have_gnuplot())
		pnb_skip("gnuplot is not installed (Debian package gnuplot-nox)");
	copy_set(tc, "basic");
	copy_set(tc, "cmp-base");
	ATF_REQUIRE_EQ_MSG(pnbench(tc, "report", "-q", "basic", "--against", "cmp-base", NULL), 0,
			   "%s", res.err);

	f = fopen("basic/report/report.txt", "r");
	ATF_REQUIRE(f);
	while (fgets(line, sizeof line, f)) {
		size_t n = strcspn(line, "\n");
		if (n > 80) {
			wide++;
			fprintf(stderr, "wider than 80: %s", line);
		}
		regenerate += !!strstr(line, "Regenerate:");
		header += !strncmp(line, "kernels:   k1", 13) || !strncmp(line, "scenarios: fixed-rate", 21) ||
			  !strncmp(line, "reps:      1", 12) || !strncmp(line, "report:    ", 11);
	}
	fclose(f);
	ATF_CHECK_EQ(wide, 0);
	ATF_CHECK_EQ_MSG(header, 4, "header lines kernels/scenarios/reps/report: %d of 4", header);
	ATF_CHECK_MSG(regenerate >= 3, "%d figures say how to regenerate them", regenerate);

	/* Every figure of the index, in all three forms. */
	f = fopen("basic/report/index.md", "r");
	ATF_REQUIRE(f);
	while (fgets(line, sizeof line, f)) {
		char name[256];
		if (sscanf(line, "### %255s", name) != 1)
			continue;
		figures++;
		snprintf(path, sizeof path, "basic/report/%s.png", name);
		ATF_CHECK_MSG(file_size(path) > 1000 && starts_with(path, "\x89PNG", 4), "%s", path);
		snprintf(path, sizeof path, "basic/report/%s.svg", name);
		ATF_CHECK_MSG(file_size(path) > 1000 && starts_with(path, "<?xml", 5), "%s", path);
		snprintf(path, sizeof path, "basic/report/%s.txt", name);
		ATF_CHECK_MSG(file_size(path) > 500, "%s", path);
	}
	fclose(f);
	/* lead (1 scenario), fp (1 kernel), timeline (1 run). */
	ATF_CHECK_EQ(figures, 3);
	ATF_CHECK(file_size("basic/report/compare.txt") > 0);
	ATF_CHECK(file_size("basic/report/table-runs.txt") > 0);
}

ATF_TC(report_only_regenerates);
ATF_TC_HEAD(report_only_regenerates, tc)
{
	atf_tc_set_md_var(tc, "descr", "report --only NAME redraws one deleted figure from the result dir; an unknown name is a usage error; a missing baseline is one line, not a failure");
}
ATF_TC_BODY(report_only_regenerates, tc)
{
	const char *png = "basic/report/timeline-k1-fixed-rate-1.png";

	if (!have_gnuplot())
		pnb_skip("gnuplot is not installed (Debian package gnuplot-nox)");
	copy_set(tc, "basic");
	ATF_REQUIRE_EQ_MSG(pnbench(tc, "report", "-q", "basic", NULL, NULL, NULL), 0, "%s", res.err);
	ATF_REQUIRE(file_size(png) > 1000);
	ATF_REQUIRE_EQ(unlink(png), 0);
	ATF_CHECK_EQ(pnbench(tc, "report", "basic", "--only", "timeline-k1-fixed-rate-1", NULL, NULL), 0);
	ATF_CHECK(file_size(png) > 1000);
	ATF_CHECK_EQ(pnbench(tc, "report", "basic", "--only", "no-such-figure", NULL, NULL), 2);
	/* make bench before a baseline exists: one line, report anyway. */
	ATF_CHECK_EQ(pnbench(tc, "report", "-q", "basic", "--against", "no-such-baseline", NULL), 0);
	ATF_CHECK_MSG(strstr(res.err, "no baseline at no-such-baseline yet") && count_lines(res.err) == 1,
		      "%s", res.err);
}

/* The line of `row` in group `group` ("\n vmpressure:low\n" in compare's
 * output) or, with group NULL, the first line that starts with row. */
static int find_row(const char *text, const char *group, const char *row, char *line, size_t len)
{
	const char *p = text;
	char head[128];

	if (group) {
		snprintf(head, sizeof head, "\n %s\n", group);
		if (!(p = strstr(text, head)))
			return 0;
		p += strlen(head);
		/* Rows of a group are indented by two; the next group by one. */
		for (; *p == ' ' && p[1] == ' '; p += strcspn(p, "\n") + 1)
			if (!strncmp(p + 2, row, strlen(row)))
				break;
		if (!(*p == ' ' && p[1] == ' '))
			return 0;
	} else {
		for (; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n'))
			if (!strncmp(p, row, strlen(row)))
				break;
		if (!*p)
			return 0;
	}
	snprintf(line, len, "%.*s", (int)strcspn(p, "\n"), p);
	return 1;
}

ATF_TC(compare_missed_both);
ATF_TC_HEAD(compare_missed_both, tc)
{
	atf_tc_set_md_var(tc, "descr", "compare: a lead time missed on both sides, or a metric with no value on one side, reads n/a (not +0.0%%) and is no regression even with --alpha 1 --threshold 0 and every rule");
}
ATF_TC_BODY(compare_missed_both, tc)
{
	static const char *const groups[] = { "vmpressure:low", "vmpressure:medium" };
	char line[256];

	/* cmp-missed-base: vmpressure:medium before the kill in 1 of 4 runs,
	 * after it in 1; cmp-missed-new: silent.  vmpressure:low: silent. */
	ATF_REQUIRE_EQ_MSG(pnbench(tc, "compare", fixture(tc, "cmp-missed-base"),
				   fixture(tc, "cmp-missed-new"), NULL, NULL, NULL), 0, "%s%s", res.out, res.err);
	for (int g = 0; g < 2; g++) {
		ATF_REQUIRE_MSG(find_row(res.out, groups[g], "lead time s", line, sizeof line),
				"%s: no lead time row in\n%s", groups[g], res.out);
		ATF_CHECK_MSG(strstr(line, "missed    missed      n/a"), "%s: %s", groups[g], line);
		ATF_CHECK_MSG(!strstr(line, "%"), "%s: %s", groups[g], line);
	}
	/* Headroom: a value in base, none in new. */
	ATF_REQUIRE(find_row(res.out, "vmpressure:medium", "headroom", line, sizeof line));
	ATF_CHECK_MSG(strstr(line, " - ") && strstr(line, "n/a"), "%s", line);

	/* The laxest gate: any worse median with p < 1 would regress. */
	char path[PATH_MAX];
	char *argv[] = { (char *)bin_path(atf_tc_get_config_var(tc, "srcdir"), "pnbench", path, sizeof path),
			 "compare", "--alpha", "1", "--threshold", "0", "--rules",
			 "lead,headroom,latency,fp,storm,overhead", (char *)fixture(tc, "cmp-missed-base"),
			 (char *)fixture(tc, "cmp-missed-new"), NULL };
	ATF_REQUIRE_EQ(run_cmd(argv, 120, &res), 0);
	ATF_CHECK_EQ_MSG(res.status, 0, "%s", res.out);
	ATF_CHECK_MSG(!strstr(res.out, "REGRESSION") && strstr(res.out, "verdict: no regression"), "%s",
		      res.out);
}

ATF_TC(cell_table_partial_fire);
ATF_TC_HEAD(cell_table_partial_fire, tc)
{
	atf_tc_set_md_var(tc, "descr", "report cell table: a missed level that spoke in 2 of 4 runs (once before, once after the kill) reads '2/4 runs', not 'silent' or 'late'; one that never spoke reads 'silent'");
}
ATF_TC_BODY(cell_table_partial_fire, tc)
{
	char line[256], *text = NULL;
	size_t len = 0;
	FILE *f;

	copy_set(tc, "cmp-missed-base");
	ATF_REQUIRE_EQ_MSG(pnbench(tc, "report", "-q", "cmp-missed-base", NULL, NULL, NULL), 0, "%s",
			   res.err);
	ATF_REQUIRE((f = fopen("cmp-missed-base/report/table-kA-fixed-rate.txt", "r")));
	ATF_REQUIRE(getdelim(&text, &len, 0, f) > 0);
	fclose(f);
	ATF_REQUIRE_MSG(find_row(text, NULL, "vmpressure:medium ", line, sizeof line), "%s", text);
	ATF_CHECK_MSG(strstr(line, " 1/4  missed 2/4 runs "), "%s", line);
	ATF_CHECK_MSG(!strstr(line, "silent") && !strstr(line, "late"), "%s", line);
	ATF_REQUIRE_MSG(find_row(text, NULL, "vmpressure:low ", line, sizeof line), "%s", text);
	ATF_CHECK_MSG(strstr(line, " 0/4  missed silent "), "%s", line);
	free(text);
}

/* The whole of a small file, or "" (a static buffer). */
static const char *slurp_file(const char *path)
{
	static char buf[1 << 16];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = 0;
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ATF_REQUIRE(f);
	fputs(text, f);
	ATF_REQUIRE_EQ(fclose(f), 0);
}

ATF_TC(probe_cpu_table);
ATF_TC_HEAD(probe_cpu_table, tc)
{
	atf_tc_set_md_var(tc, "descr", "report: a cell.json with probe_cpu gives the per-probe CPU table (percent of one CPU, median and range over runs) in the cell's table and report.txt; an empty probe_cpu, none");
}
ATF_TC_BODY(probe_cpu_table, tc)
{
	const char *table = "basic/report/table-k1-fixed-rate.txt";
	char line[4096];
	int wide = 0;

	copy_set(tc, "basic");
	/* As analyze writes it (the shared contract): cpu_per_s is a fraction
	 * of one CPU in the stats object format of run_metrics. */
	write_file("basic/k1/fixed-rate/cell.json",
		   "{\"probe_cpu\": ["
		   "{\"probe\": \"sample:100ms\", \"cpu_per_s\": {\"n\": 3, \"min\": 0.0031, "
		   "\"q1\": 0.0035, \"median\": 0.0042, \"q3\": 0.0044, \"max\": 0.0050}},"
		   "{\"probe\": \"lmk:minfree=18432,23040:adj=0,100:poll=100ms\", \"cpu_per_s\": "
		   "{\"n\": 3, \"min\": 0.0120, \"q1\": 0.0125, \"median\": 0.0131, \"q3\": 0.0140, "
		   "\"max\": 0.0152}}]}\n");
	ATF_REQUIRE_EQ_MSG(pnbench(tc, "report", "-q", "basic", NULL, NULL, NULL), 0, "%s", res.err);
	const char *t = slurp_file(table);
	ATF_CHECK_MSG(strstr(t, "fixed-rate on k1: probe CPU (% of one CPU, median over runs)"),
		      "no probe CPU title in:\n%s", t);
	ATF_CHECK_MSG(strstr(t, "sample:100ms                            0.420 [0.310..0.500]         3"),
		      "sampler row wrong in:\n%s", t);
	ATF_CHECK_MSG(strstr(t, "lmk:minfree=18432,23040:adj=0,100:po    1.310 [1.200..1.520]"),
		      "lmk row wrong in:\n%s", t);
	ATF_CHECK_MSG(strstr(t, "belongs to that mechanism, not to the harness"),
		      "the attribution sentence is missing:\n%s", t);
	t = slurp_file("basic/report/report.txt");
	ATF_CHECK_MSG(strstr(t, "probe CPU (% of one CPU"), "report.txt lacks the table");
	FILE *f = fopen("basic/report/report.txt", "r");
	ATF_REQUIRE(f);
	while (fgets(line, sizeof line, f))
		wide += strcspn(line, "\n") > 80;
	fclose(f);
	ATF_CHECK_EQ(wide, 0);

	/* Older results: analyze writes an empty array, the report no table. */
	write_file("basic/k1/fixed-rate/cell.json", "{\"probe_cpu\": []}\n");
	ATF_REQUIRE_EQ_MSG(pnbench(tc, "report", "-q", "basic", NULL, NULL, NULL), 0, "%s", res.err);
	ATF_CHECK_MSG(!strstr(slurp_file(table), "probe CPU"), "a table from an empty probe_cpu");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, compare_exit_status);
	ATF_TP_ADD_TC(tp, compare_refuses);
	ATF_TP_ADD_TC(tp, compare_missed_both);
	ATF_TP_ADD_TC(tp, cell_table_partial_fire);
	ATF_TP_ADD_TC(tp, report_outputs);
	ATF_TP_ADD_TC(tp, report_only_regenerates);
	ATF_TP_ADD_TC(tp, probe_cpu_table);
	return atf_no_error();
}
