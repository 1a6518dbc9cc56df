/* pnbench vmstat-cost and its two workloads: bad options are one line and
 * exit 2; a short native read-cost run gives per-file percentiles in order
 * and of a believable size; a staleness run gives drift in pages; one cell
 * through the command is an ordinary result directory; the report turns a
 * captured result set (tests/data/vmstat-cost/set) into the tables and
 * plots.  The whole program stays well under a minute. */
#include <atf-c.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define MAX_RES 256

static struct cmd_result res;

struct kv { char key[96]; double v; };
static struct kv kvs[MAX_RES];
static int nkv;

static void run(const atf_tc_t *tc, const char *prog, char *const args[], int timeout_s)
{
	const char *src = atf_tc_get_config_var(tc, "srcdir");
	char path[1024];
	char *argv[40];
	int n = 0;

	argv[n++] = (char *)bin_path(src, prog, path, sizeof path);
	for (int i = 0; args[i] && n < 39; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	ATF_REQUIRE_EQ(run_cmd(argv, timeout_s, &res), 0);
}

static void expect_usage_error(const char *want)
{
	ATF_CHECK_EQ_MSG(res.status, 2, "exit %d (stderr: %s)", res.status, res.err);
	ATF_CHECK_EQ_MSG(count_lines(res.err), 1, "stderr is not one line: %s", res.err);
	ATF_CHECK_MSG(strstr(res.err, want), "stderr '%s' lacks '%s'", res.err, want);
}

/* A workload run outside the recorder writes its "result KEY VALUE" marks
 * to PNBENCH_PROGRESS_FD: point that at a file and read it back. */
static void run_workload(const atf_tc_t *tc, char *const args[], int timeout_s)
{
	FILE *f = fopen("marks.txt", "w+");
	char line[256], fdnum[16];

	ATF_REQUIRE(f);
	snprintf(fdnum, sizeof fdnum, "%d", fileno(f));
	setenv("PNBENCH_PROGRESS_FD", fdnum, 1);
	run(tc, "pnbench-workload", args, timeout_s);
	unsetenv("PNBENCH_PROGRESS_FD");
	rewind(f);
	nkv = 0;
	while (fgets(line, sizeof line, f) && nkv < MAX_RES)
		if (sscanf(line, "result %95s %lf", kvs[nkv].key, &kvs[nkv].v) == 2)
			nkv++;
	fclose(f);
}

static double get(const char *key)
{
	for (int i = 0; i < nkv; i++)
		if (!strcmp(kvs[i].key, key))
			return kvs[i].v;
	return NAN;
}

static double getf(const char *fmt, const char *arg)
{
	char key[96];
	snprintf(key, sizeof key, fmt, arg);
	return get(key);
}

static void require_root(void)
{
	if (geteuid() != 0)
		pnb_skip("needs root (memory cgroup, vm.stat_refresh)");
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[1 << 20];
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* ---- option errors ---------------------------------------------------- */

ATF_TC(options);
ATF_TC_HEAD(options, tc) { atf_tc_set_md_var(tc, "descr", "Bad options: one line, exit 2"); }
ATF_TC_BODY(options, tc)
{
	static const struct { const char *a[6]; const char *want; } cases[] = {
		{ { "vmstat-cost", NULL }, "vmstat-cost: need --kernel" },
		{ { "vmstat-cost", "--kernel", "native", "--suite", "reed", NULL }, "'reed' is not read" },
		{ { "vmstat-cost", "--kernel", "native", "--cpus", "2,x", NULL }, "'x' is not a number 1..256" },
		{ { "vmstat-cost", "--kernel", "native", "--cpus", "0", NULL }, "'0' is not a number 1..256" },
		{ { "vmstat-cost", "--kernel", "native", "--duration", "5", NULL }, "--duration '5'" },
		{ { "vmstat-cost", "--kernel", "native", "--rates", "fast", NULL }, "'fast' is not 0, max" },
		{ { "vmstat-cost", "--kernel", "native", "--reps", "0", NULL }, "--reps '0'" },
		{ { "vmstat-cost", "--kernel", "native", "--listeners", "300", NULL }, "'300' is not a number" },
		{ { "vmstat-cost", "--kernel", "native", "--bogus", NULL }, "unknown option '--bogus'" },
		{ { "vmstat-cost", "--kernel", NULL }, "missing value for '--kernel'" },
		{ { "vmstat-cost", "--report", NULL }, "--report needs --out" },
		{ { "vmstat-cost", "--kernel", "native", "stray", NULL }, "unexpected argument 'stray'" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		run(tc, "pnbench", (char *const *)cases[i].a, 20);
		expect_usage_error(cases[i].want);
	}
	static const struct { const char *a[6]; const char *want; } wl[] = {
		{ { "vmstat-cost", "--files", "vmstat,nosuch", NULL }, "--files 'nosuch'" },
		{ { "vmstat-cost", "--mode", "mmap", NULL }, "--mode 'mmap'" },
		{ { "vmstat-cost", "--cpu", "-1", NULL }, "--cpu '-1'" },
		{ { "vmstat-cost", "--load-cpus", "3-1", NULL }, "--load-cpus '3-1'" },
		{ { "vmstat-staleness", "--counters", "Bad-Name", NULL }, "--counters 'Bad-Name'" },
		{ { "vmstat-staleness", "--rate", "fast", NULL }, "--rate 'fast'" },
		{ { "vmstat-staleness", "--duration", "0s", NULL }, "must be above 0" },
	};
	for (size_t i = 0; i < sizeof wl / sizeof *wl; i++) {
		run(tc, "pnbench-workload", (char *const *)wl[i].a, 20);
		expect_usage_error(wl[i].want);
	}
}

/* ---- read cost, natively ----------------------------------------------- */

ATF_TC(read_native);
ATF_TC_HEAD(read_native, tc) { atf_tc_set_md_var(tc, "descr", "Per-file p50 <= p90 <= p99 <= max, sane ns"); }
ATF_TC_BODY(read_native, tc)
{
	static const char *const files[][2] = { { "vmstat", "/proc/vmstat" },
						{ "meminfo", "/proc/meminfo" },
						{ "pressure", "/proc/pressure/memory" },
						{ "zoneinfo", "/proc/zoneinfo" } };
	char list[128] = "";
	int n = 0;

	for (size_t i = 0; i < 4; i++) {
		/* psi=0 leaves the file in place but reads fail: try one. */
		FILE *f = fopen(files[i][1], "r");
		if (f && fgetc(f) != EOF) {
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", n++ ? "," : "",
				 files[i][0]);
		}
		if (f)
			fclose(f);
	}
	if (!strstr(list, "vmstat"))
		pnb_skip("/proc/vmstat cannot be read here");
	run_workload(tc, (char *[]){ "vmstat-cost", "--duration", "400ms", "--files", list,
				     "--load", "others", NULL }, 30);
	ATF_REQUIRE_EQ_MSG(res.status, 0, "exit %d: %s", res.status, res.err);
	ATF_CHECK(get("cpus_online") >= 1);
	ATF_CHECK(get("cpus_possible") >= get("cpus_online"));
	for (size_t i = 0; i < 4; i++) {
		const char *f = files[i][0];
		if (!strstr(list, f))
			continue;
		double mn = getf("read_ns_min:%s", f), p50 = getf("read_ns_p50:%s", f),
		       p90 = getf("read_ns_p90:%s", f), p99 = getf("read_ns_p99:%s", f),
		       mx = getf("read_ns_max:%s", f), cnt = getf("read_count:%s", f),
		       size = getf("size_bytes:%s", f);
		ATF_CHECK_MSG(!isnan(p50) && !isnan(mx), "%s: no percentiles in %d results", f, nkv);
		ATF_CHECK_MSG(mn <= p50 && p50 <= p90 && p90 <= p99 && p99 <= mx,
			      "%s: min %.0f p50 %.0f p90 %.0f p99 %.0f max %.0f out of order", f, mn, p50,
			      p90, p99, mx);
		/* A syscall that formats a file costs more than 100 ns and, on an
		 * idle-ish machine, far less than 10 ms at the median. */
		ATF_CHECK_MSG(p50 >= 100 && p50 <= 10e6, "%s: p50 %.0f ns is not believable", f, p50);
		ATF_CHECK_MSG(cnt >= 20, "%s: only %.0f reads in 400 ms", f, cnt);
		ATF_CHECK_MSG(size > 0, "%s: read %.0f bytes", f, size);
	}
}

/* ---- staleness, natively ----------------------------------------------- */

ATF_TC(staleness_native);
ATF_TC_HEAD(staleness_native, tc) { atf_tc_set_md_var(tc, "descr", "Drift in pages and % of MemTotal"); }
ATF_TC_BODY(staleness_native, tc)
{
	require_root();
	if (access("/proc/sys/vm/stat_refresh", W_OK))
		pnb_skip("/proc/sys/vm/stat_refresh is not writable: %s", strerror(errno));
	run_workload(tc, (char *[]){ "vmstat-staleness", "--duration", "500ms", "--rate", "64M/s",
				     "--counters", "nr_free_pages,nr_anon_pages", NULL }, 30);
	ATF_REQUIRE_EQ_MSG(res.status, 0, "exit %d: %s", res.status, res.err);
	double samples = get("sample_count"), memtotal = get("memtotal_pages");
	ATF_CHECK_MSG(samples >= 10, "%.0f samples in 500 ms at 10 ms spacing", samples);
	ATF_CHECK(memtotal > 1000);
	ATF_CHECK(get("zone_bound_pages") > 0);
	ATF_CHECK(get("refresh_ns_p50") > 0);
	ATF_CHECK(get("load_threads") >= 1);
	ATF_CHECK_MSG(get("load_alloc_MBps") > 1, "load ran at %.1f MiB/s", get("load_alloc_MBps"));
	for (int i = 0; i < 2; i++) {
		const char *c = i ? "nr_anon_pages" : "nr_free_pages";
		double p50 = getf("drift_pages_p50:%s", c), p99 = getf("drift_pages_p99:%s", c),
		       mx = getf("drift_pages_max:%s", c), pct = getf("drift_pct_max:%s", c);
		ATF_CHECK_MSG(!isnan(p50) && p50 <= p99 && p99 <= mx, "%s: p50 %.0f p99 %.0f max %.0f", c,
			      p50, p99, mx);
		ATF_CHECK_MSG(fabs(pct - mx * 100 / memtotal) < 1e-6 * (1 + pct),
			      "%s: %.6f%% is not %.0f pages of %.0f", c, pct, mx, memtotal);
		/* What moves in 0.1 ms at 64 MiB/s plus the per-cpu bound is far
		 * below a tenth of memory. */
		ATF_CHECK_MSG(pct < 10, "%s: drift %.3f%% of MemTotal", c, pct);
	}
	ATF_CHECK_MSG(isnan(get("drift_pages_p50:nr_zone_active_anon")),
		      "a counter not asked for was reported");
}

/* ---- one cell through the command: an ordinary result directory -------- */

ATF_TC(cell_native);
ATF_TC_HEAD(cell_native, tc)
{
	atf_tc_set_md_var(tc, "descr", "A native read cell is a result dir with meta.json + events");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(cell_native, tc)
{
	char cwd[1024], out[1200], path[1400];
	json_t *m;

	require_root();
	if (access("/sys/fs/cgroup/memory/cgroup.procs", F_OK) && access("/sys/fs/cgroup/cgroup.subtree_control", F_OK))
		pnb_skip("no memory cgroup to confine the native run in");
	ATF_REQUIRE(getcwd(cwd, sizeof cwd));
	snprintf(out, sizeof out, "%s/set", cwd);
	run(tc, "pnbench", (char *[]){ "vmstat-cost", "--kernel", "native", "--suite", "read",
				       "--load", "0", "--duration", "300ms", "--reps", "1",
				       "--memory", "256M", "--out", out, NULL }, 50);
	ATF_REQUIRE_EQ_MSG(res.status, 0, "exit %d: %s%s", res.status, res.err, res.out);
	/* The CPU count in the name is the host's; find the directory. */
	char *rep = NULL;
	FILE *p;
	char cmd[1500], line[1400];
	snprintf(cmd, sizeof cmd, "ls -d %s/native/vmstat-cost-c*-l0/1 2>/dev/null", out);
	ATF_REQUIRE((p = popen(cmd, "r")));
	if (fgets(line, sizeof line, p)) {
		line[strcspn(line, "\n")] = 0;
		rep = line;
	}
	pclose(p);
	ATF_REQUIRE_MSG(rep, "no result directory under %s/native", out);
	snprintf(path, sizeof path, "%s/meta.json", rep);
	ATF_REQUIRE_MSG((m = json_load_file(path, 0, NULL)), "%s does not parse", path);
	ATF_CHECK(json_is_true(json_object_get(json_object_get(m, "result"), "complete")));
	ATF_CHECK_MSG(json_integer_value(json_object_get(json_object_get(m, "topology"), "pus")) >= 1,
		      "meta.json has no hwloc topology");
	json_decref(m);
	snprintf(path, sizeof path, "%s/events.jsonl", rep);
	char *ev = slurp(path);
	ATF_REQUIRE(ev);
	ATF_CHECK_MSG(strstr(ev, "\"key\":\"read_ns_p99:vmstat\""), "no vmstat p99 result event");
	ATF_CHECK_MSG(strstr(ev, "\"type\":\"end\""), "no end line");
	snprintf(path, sizeof path, "%s/report/report.txt", out);
	char *rpt = slurp(path);
	ATF_REQUIRE_MSG(rpt, "no %s", path);
	ATF_CHECK_MSG(strstr(rpt, "vm_stat read cost on native"), "report lacks the read table");
	ATF_CHECK_MSG(strstr(rpt, "\nvmstat idle"), "report lacks the vmstat row");
}

/* ---- the report on a captured result set -------------------------------- */

ATF_TC(report_fixture);
ATF_TC_HEAD(report_fixture, tc) { atf_tc_set_md_var(tc, "descr", "Tables, gnuplot data and plots from a fixture"); }
ATF_TC_BODY(report_fixture, tc)
{
	const char *src = atf_tc_get_config_var(tc, "srcdir");
	char cmd[2400], cwd[1024], out[1200], path[1400];
	struct stat st;

	ATF_REQUIRE(getcwd(cwd, sizeof cwd));
	snprintf(out, sizeof out, "%s/set", cwd);
	snprintf(cmd, sizeof cmd, "cp -r '%s/data/vmstat-cost/set' '%s'", src, out);
	ATF_REQUIRE_EQ(system(cmd), 0);
	run(tc, "pnbench", (char *[]){ "vmstat-cost", "--report", "--out", out, NULL }, 40);
	ATF_REQUIRE_EQ_MSG(res.status, 0, "exit %d: %s", res.status, res.err);

	snprintf(path, sizeof path, "%s/report/report.txt", out);
	char *t = slurp(path);
	ATF_REQUIRE_MSG(t, "no %s", path);
	t = strdup(t);	/* slurp's buffer is reused below */
	/* The captured medians, in us; the incomplete repetition (p50 999 s)
	 * is left out. */
	ATF_CHECK_MSG(strstr(t, "kernel debian-6.1.0-56-cloud-amd64: 8 complete runs, 1 incomplete"),
		      "run counts wrong:\n%s", t);
	ATF_CHECK_MSG(strstr(t, "file, load                 cpus=1       cpus=2       cpus=4"),
		      "read table header wrong");
	ATF_CHECK_MSG(strstr(t, "vmstat idle             42.0/98.3   45.1/143.4   45.1/139.3"),
		      "vmstat row wrong");
	ATF_CHECK_MSG(!strstr(t, "999999"), "the incomplete repetition leaked into the table");
	ATF_CHECK_MSG(strstr(t, "threshold bound (zone), pages            8          32          96"),
		      "staleness bound row wrong");
	ATF_CHECK_MSG(strstr(t, "oom probe only     busy-beaver      296.2"), "mechanism base row wrong");
	ATF_CHECK_MSG(strstr(t, "16 vmpressure      busy-beaver      174.1"), "mechanism vmp16 row wrong");

	/* gnuplot input: rows per CPU count, p50 then p99 in ns. */
	snprintf(path, sizeof path, "%s/report/vmstat-cost-vmstat.dat", out);
	char *d = slurp(path);
	ATF_REQUIRE_MSG(d, "no %s", path);
	ATF_CHECK_MSG(strstr(d, "\n1 41983 98303 - -\n"), "vmstat.dat 1-CPU row wrong:\n%s", d);
	ATF_CHECK_MSG(strstr(d, "\n4 45055 139263 "), "vmstat.dat 4-CPU row wrong:\n%s", d);
	snprintf(path, sizeof path, "%s/report/mechanism-cost.dat", out);
	ATF_REQUIRE_MSG((d = slurp(path)), "no %s", path);
	ATF_CHECK_MSG(strstr(d, "\n0 296.20 296.20 "), "mechanism.dat base row wrong:\n%s", d);

	if (system("command -v gnuplot >/dev/null 2>&1")) {
		ATF_CHECK(strstr(t, "gnuplot not installed"));
		return;
	}
	static const char *const plots[] = { "vmstat-cost", "staleness", "mechanism-cost" };
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < 2; k++) {
			snprintf(path, sizeof path, "%s/report/%s.%s", out, plots[i], k ? "svg" : "png");
			ATF_CHECK_MSG(!stat(path, &st) && st.st_size > 1000, "%s missing or empty", path);
		}
	ATF_CHECK_MSG(strstr(res.out, "/report/vmstat-cost.png (and .svg)"), "plot path not printed");
	ATF_CHECK_MSG(strstr(t, "throughput vs listeners: busy-beaver"), "no text plot in the report");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, options);
	ATF_TP_ADD_TC(tp, read_native);
	ATF_TP_ADD_TC(tp, staleness_native);
	ATF_TP_ADD_TC(tp, cell_native);
	ATF_TP_ADD_TC(tp, report_fixture);
	return atf_no_error();
}
