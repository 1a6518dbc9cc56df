/* The kernel-CI engines (docs/ci.md): cells by name, pnbench merge (its
 * refusals, idempotence, 1000 cells in under 5 s), the GNU parallel recipe
 * against one pnbench run, KCIDB v5.3 (validated with python3-jsonschema),
 * LAVA jobs (validated with lava-common) and the recorder's signal lines,
 * JUnit for bench cells. */
#include "lava.h"
#include "testutil.h"

#include <atf-c.h>
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KCIDB_SCHEMA "/work/shared/schemas/kcidb-v5.3.json"
/* Debian's python3 has python3-jsonschema and lava-common; a python3
 * earlier in PATH (pyenv, venv) may have neither. */
#define PY "/usr/bin/python3"

static struct cmd_result res;
static char bin[PATH_MAX], top[PATH_MAX];

static void setup(const atf_tc_t *tc)
{
	const char *src = atf_tc_get_config_var(tc, "srcdir");
	bin_path(src, "pnbench", bin, sizeof bin);
	snprintf(top, sizeof top, "%s/..", src);
	use_pnbench_cache(atf_tc_has_config_var(tc, "pnbench_cache") ?
			  atf_tc_get_config_var(tc, "pnbench_cache") : NULL);
}

/* sh -c script with $PNB (bin/pnbench) and $TOP (the source tree) set. */
static int sh(int timeout, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh(int timeout, const char *fmt, ...)
{
	static char script[16384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(script, sizeof script, fmt, ap);
	va_end(ap);
	setenv("PNB", bin, 1);
	setenv("TOP", top, 1);
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	ATF_REQUIRE_EQ(run_cmd(argv, timeout, &res), 0);
	return res.status;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ATF_REQUIRE_MSG(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

/* A cell directory as pnbench run writes one: meta.json naming its cell,
 * an events.jsonl ending in the end record (or cut when !ended). */
static void cell(const char *dir, const char *k, const char *s, int rep, const char *rev, int ended)
{
	char p[PATH_MAX + 32], txt[2048];
	snprintf(p, sizeof p, "mkdir -p '%s'", dir);
	ATF_REQUIRE_EQ(system(p), 0);
	snprintf(p, sizeof p, "%s/meta.json", dir);
	snprintf(txt, sizeof txt,
		 "{\"schema\":\"pnbench-meta/1\",\"kernel\":{\"name\":\"%s\",\"kind\":\"debian\"},"
		 "\"scenario\":{\"name\":\"%s\",\"text\":\"[scenario]\\n\"},\"rep\":%d,\"cell\":\"%s/%s/%d\","
		 "\"harness\":{\"git_rev\":\"%s\"},\"result\":{\"complete\":true,\"status\":\"ok\","
		 "\"reason\":\"\",\"wall_s\":1.5,\"started_realtime_s\":1795431372}}\n",
		 k, s, rep, k, s, rep, rev);
	put(p, txt);
	snprintf(p, sizeof p, "%s/events.jsonl", dir);
	snprintf(txt, sizeof txt, "{\"t_ns\":0,\"type\":\"header\",\"schema\":\"pnbench-events/1\"}\n"
		 "{\"t_ns\":%d,\"type\":\"truth\",\"what\":\"workload_start\"}\n%s", rep * 1000,
		 ended ? "{\"t_ns\":2000000000,\"type\":\"end\",\"reason\":\"workload_exit\"}\n" : "");
	put(p, txt);
	snprintf(p, sizeof p, "%s/console.log", dir);
	put(p, "console\n");
}

/* ---- cells by name -------------------------------------------------------- */

ATF_TC(list_cell_shard);
ATF_TC_HEAD(list_cell_shard, tc)
{
	atf_tc_set_md_var(tc, "descr", "run --list: one stable name a line (KERNEL/SCENARIO/REP, the "
			  "set path), --json the same cells; --shard I/N partitions the list; an "
			  "unknown --cell is exit 2 naming it");
}
ATF_TC_BODY(list_cell_shard, tc)
{
	setup(tc);
	const char *m = "$PNB run -k native -s $TOP/tests/data/scenarios/guest-boot.ini -s "
			"$TOP/harness/scenarios/busy-beaver.ini --reps 3 --out set";
	ATF_REQUIRE_EQ_MSG(sh(60, "%s --list > a && %s --list > b && cmp a b && cat a", m, m), 0, "%s", res.err);
	ATF_CHECK_EQ(count_lines(res.out), 6);
	ATF_CHECK_MSG(!strncmp(res.out, "native/guest-boot/1\nnative/guest-boot/2\nnative/guest-boot/3\n"
			       "native/busy-beaver/1\n", 80), "%s", res.out);
	/* Shards: every cell exactly once, round robin in list order. */
	ATF_CHECK_EQ_MSG(sh(60, "for i in 1 2 3 4; do %s --list --shard $i/4; done | sort > s && sort a | cmp - s", m),
			 0, "%s%s", res.out, res.err);
	ATF_CHECK_EQ(sh(60, "%s --list --shard 2/4", m), 0);
	ATF_CHECK_STREQ(res.out, "native/guest-boot/2\nnative/busy-beaver/3\n");
	ATF_CHECK_EQ(sh(60, "%s --list --json", m), 0);
	ATF_CHECK(strstr(res.out, "\"name\": \"native/busy-beaver/2\"") ||
		  strstr(res.out, "\"name\":\"native/busy-beaver/2\""));
	ATF_CHECK(strstr(res.out, "--cell native/busy-beaver/2"));
	ATF_CHECK_EQ(sh(60, "%s --list --cell native/busy-beaver/2 --cell native/guest-boot/1", m), 0);
	ATF_CHECK_STREQ(res.out, "native/guest-boot/1\nnative/busy-beaver/2\n");
	ATF_CHECK_EQ(sh(60, "%s --cell native/busy-beaver/4", m), 2);
	ATF_CHECK_MSG(strstr(res.err, "--cell native/busy-beaver/4: no such cell") &&
		      count_lines(res.err) == 1, "%s", res.err);
	ATF_CHECK_EQ(sh(60, "%s --shard 5/4 --list", m), 2);
	ATF_CHECK_EQ(sh(60, "%s --json", m), 2);
}

/* ---- merge ---------------------------------------------------------------- */

ATF_TC(merge_refusals);
ATF_TC_HEAD(merge_refusals, tc)
{
	atf_tc_set_md_var(tc, "descr", "merge refuses in one line, writing no cell: mixed harness "
			  "revisions (unless --force), one cell twice with different files, a "
			  ".N.partial directory, a complete run cut short, events without meta.json");
}
ATF_TC_BODY(merge_refusals, tc)
{
	setup(tc);
	cell("a/k1/s1/1", "k1", "s1", 1, "r1", 1);
	cell("b/x/y/z", "k1", "s1", 2, "r2", 1);	/* its place comes from meta.json */
	ATF_CHECK_EQ(sh(60, "$PNB merge out a b"), 1);
	ATF_CHECK_MSG(strstr(res.err, "mixed harness revisions: r1") && count_lines(res.err) == 1,
		      "%s", res.err);
	ATF_CHECK_MSG(access("out/k1", F_OK), "a refused merge wrote cells");
	ATF_CHECK_EQ_MSG(sh(60, "$PNB merge --force out a b"), 0, "%s", res.err);
	ATF_CHECK(!access("out/k1/s1/2/events.jsonl", F_OK));

	/* The same cell again, one byte different. */
	cell("c/k1/s1/1", "k1", "s1", 1, "r1", 1);
	put("c/k1/s1/1/console.log", "console!\n");
	ATF_CHECK_EQ(sh(60, "$PNB merge --force out c"), 1);
	ATF_CHECK_MSG(strstr(res.err, "cell k1/s1/1 is in") && strstr(res.err, "console.log differs") &&
		      count_lines(res.err) == 1, "%s", res.err);
	/* A summary.json of analyze's is not content. */
	cell("d/k1/s1/1", "k1", "s1", 1, "r1", 1);
	put("d/k1/s1/1/summary.json", "{}\n");
	ATF_CHECK_EQ_MSG(sh(60, "$PNB merge --force out d"), 0, "%s", res.err);

	cell("e/k2/s1/.1.partial", "k2", "s1", 1, "r1", 0);
	ATF_CHECK_EQ(sh(60, "$PNB merge out2 e"), 1);
	ATF_CHECK_MSG(strstr(res.err, ".1.partial: a partial cell"), "%s", res.err);
	cell("f/k2/s1/1", "k2", "s1", 1, "r1", 0);	/* complete, but no end line */
	ATF_CHECK_EQ(sh(60, "$PNB merge out2 f"), 1);
	ATF_CHECK_MSG(strstr(res.err, "does not end with the end record"), "%s", res.err);
	cell("g/k2/s1/1", "k2", "s1", 1, "r1", 1);
	unlink("g/k2/s1/1/meta.json");
	ATF_CHECK_EQ(sh(60, "$PNB merge out2 g"), 1);
	ATF_CHECK_MSG(strstr(res.err, "events.jsonl without meta.json"), "%s", res.err);
	ATF_CHECK_MSG(access("out2/k2", F_OK), "a refused merge wrote cells");
	ATF_CHECK_EQ(sh(60, "$PNB merge out2"), 2);
	ATF_CHECK_EQ(sh(60, "$PNB merge out2 nonexistent"), 2);
}

ATF_TC(merge_idempotent_1000);
ATF_TC_HEAD(merge_idempotent_1000, tc)
{
	atf_tc_set_md_var(tc, "descr", "merge of 1000 synthetic cells from 4 machines takes under 5 s, "
			  "places every cell by its name, and merging again (or OUT into itself) "
			  "changes no byte");
}
ATF_TC_BODY(merge_idempotent_1000, tc)
{
	setup(tc);
	char dir[256];
	/* 2 kernels x 10 scenarios x 50 reps, spread over 4 machines. */
	for (int i = 0; i < 1000; i++) {
		int k = i / 500, s = (i / 50) % 10, rep = i % 50 + 1;
		char kn[16], sn[16];
		snprintf(kn, sizeof kn, "k%d", k);
		snprintf(sn, sizeof sn, "s%d", s);
		snprintf(dir, sizeof dir, "m%d/%s/%s/%d", i % 4, kn, sn, rep);
		cell(dir, kn, sn, rep, "r1", 1);
	}
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	ATF_REQUIRE_EQ_MSG(sh(60, "$PNB merge out m0 m1 m2 m3"), 0, "%s", res.err);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("merge of 1000 cells: %.3f s\n", s);
	ATF_CHECK_MSG(s < 5, "merge of 1000 cells took %.2f s", s);
	ATF_CHECK_MSG(strstr(res.out, "1000 cells (1000 added, 0 already there)"), "%s", res.out);
	ATF_CHECK_EQ(sh(60, "find out -name meta.json | wc -l"), 0);
	ATF_CHECK_EQ(atoi(res.out), 1000);
	ATF_CHECK_EQ(sh(60, "cmp m2/k1/s9/49/events.jsonl out/k1/s9/49/events.jsonl"), 0);
	ATF_REQUIRE_EQ(sh(60, "cd out && find . -type f ! -name .lock | sort | xargs sha256sum > ../before"), 0);
	ATF_CHECK_EQ_MSG(sh(60, "$PNB merge out m0 m1 m2 m3 out"), 0, "%s", res.err);
	ATF_CHECK_MSG(strstr(res.out, "1000 cells (0 added, 1000 already there)"), "%s", res.out);
	ATF_CHECK_EQ(sh(60, "cd out && find . -type f ! -name .lock | sort | xargs sha256sum | cmp - ../before"), 0);
}

/* ---- GNU parallel against one run ---------------------------------------- */

ATF_TC(parallel_equals_run);
ATF_TC_HEAD(parallel_equals_run, tc)
{
	atf_tc_set_md_var(tc, "descr", "run --list | parallel -j 2 --joblog run --cell {} (each job slot "
			  "its own --out, as machines) + merge + report gives the report of one "
			  "pnbench run of the same cells: every cell complete, the same text but for "
			  "figures and provenance; one run's cells split over machines and merged "
			  "give its report figure for figure");
	atf_tc_set_md_var(tc, "timeout", "1200");
}
ATF_TC_BODY(parallel_equals_run, tc)
{
	setup(tc);
	if (sh(10, "command -v parallel"))
		atf_tc_fail("GNU parallel is not installed (harness/install-deps.sh installs it)");
	/* busy-beaver on one hierarchy (the default file runs each repetition
	 * on v1 and on cgroup2): two cells, one per job slot. */
	ATF_REQUIRE_EQ(sh(10, "sed -e '/^hierarchy/d' -e '/^memory_max/d' -e '/^memory_high/d' "
			  "$TOP/harness/scenarios/busy-beaver.ini > $PWD/busy-beaver.ini"), 0);
	const char *m = "$PNB run -k debian:cloud -s $PWD/busy-beaver.ini --reps 2";
	if (sh(600, "%s --list", m))
		pnb_no_kernel("debian:cloud", res.err);
	ATF_REQUIRE_EQ_MSG(sh(900, "%s --list | parallel -j 2 --joblog joblog %s --cell {} --out W/{%%}",
			      m, m), 0, "%s%s", res.out, res.err);
	/* Both cells ran, each once, through parallel. */
	ATF_CHECK_EQ(sh(10, "awk 'NR > 1 && $7 == 0' joblog | wc -l"), 0);
	ATF_CHECK_EQ_MSG(atoi(res.out), 2, "joblog: %s", res.out);
	ATF_REQUIRE_EQ_MSG(sh(60, "$PNB merge merged W/*"), 0, "%s", res.err);
	ATF_REQUIRE_EQ_MSG(sh(300, "%s --out one_run", m), 0, "%s%s", res.out, res.err);
	ATF_REQUIRE_EQ_MSG(sh(300, "$PNB report merged && $PNB report one_run"), 0, "%s", res.err);
	/* Every cell arrived, complete, under its name. */
	ATF_CHECK_EQ(sh(60, "grep -l '\"complete\": true' merged/*/busy-beaver/[12]/meta.json | wc -l"), 0);
	ATF_CHECK_EQ_MSG(atoi(res.out), 2, "%s", res.out);
	/* Two executions of a guest never give the same timings (nor always
	 * the same levels firing), so the two reports agree on what they
	 * cover: kernel, scenario, repetitions, completeness. */
	ATF_CHECK_EQ_MSG(sh(60, "for s in merged one_run; do grep -E '^(kernels|scenarios|reps): ' "
			    "$s/report/report.txt > $s.head; done; cat merged.head; cmp merged.head one_run.head"),
			 0, "%s", res.out);
	ATF_CHECK_MSG(strstr(res.out, "reps:      2 per kernel and scenario; 2 runs, 2 complete"), "%s", res.out);
	/* Figure for figure, on the same data: merge's set reports what the
	 * plain union of the job sets reports, and one run's own cells split
	 * over two machines and merged report what that run reports (set
	 * paths aside: names of equal length, since the report wraps lines). */
	ATF_REQUIRE_EQ(sh(60, "mkdir unionx && cp -a W/1/. W/2/. unionx/ && rm -f unionx/.lock && "
			  "$PNB report unionx"), 0);
	ATF_CHECK_EQ_MSG(sh(60, "sed 's#unionx#SET#g' unionx/report/report.txt > u.txt; "
			    "sed 's#merged#SET#g' merged/report/report.txt > m.txt; diff u.txt m.txt"),
			 0, "%s", res.out);
	ATF_REQUIRE_EQ(sh(60, "for d in one_run/*/busy-beaver/[0-9]*; do r=${d##*/}; mkdir -p X$r/x; "
			  "cp -a $d X$r/x/; done && $PNB merge split_m X1 X2 && $PNB report split_m"), 0);
	ATF_CHECK_EQ_MSG(sh(60, "sed -e 's#split_m#SET#g' -e 's#one_run#SET#g' split_m/report/report.txt > s2.txt; "
			    "sed -e 's#one_run#SET#g' one_run/report/report.txt > s1.txt; diff s1.txt s2.txt"),
			 0, "%s", res.out);
	ATF_CHECK_EQ(sh(60, "grep -c 'lead s' s1.txt"), 0);
}

/* ---- KCIDB ---------------------------------------------------------------- */

/* Validate FILE against the v5.3 schema (Draft 7, format checker on), and
 * that no null is anywhere (misc objects are free-form to the schema). */
static int kcidb_validate(const char *file)
{
	return sh(120, PY " -c '\n"
		  "import json, sys\n"
		  "from jsonschema import Draft7Validator\n"
		  "s = json.load(open(\"" KCIDB_SCHEMA "\"))\n"
		  "d = json.load(open(\"%s\"))\n"
		  "v = Draft7Validator(s, format_checker=Draft7Validator.FORMAT_CHECKER)\n"
		  "errs = list(v.iter_errors(d))\n"
		  "for e in errs[:5]: print(list(e.path), e.message)\n"
		  "def nulls(x, p):\n"
		  "    if x is None: print(\"null at\", p); return 1\n"
		  "    if isinstance(x, dict): return sum(nulls(v, p + [k]) for k, v in x.items())\n"
		  "    if isinstance(x, list): return sum(nulls(v, p + [i]) for i, v in enumerate(x))\n"
		  "    return 0\n"
		  "sys.exit(1 if errs or nulls(d, []) else 0)\n'", file);
}

static void need_schema(void)
{
	if (access(KCIDB_SCHEMA, R_OK))
		pnb_skip("%s is absent: the KCIDB v5.3 schema is what this case validates against",
			 KCIDB_SCHEMA);
	if (sh(30, PY " -c 'import jsonschema'"))
		atf_tc_fail("python3-jsonschema is missing for " PY " (harness/install-deps.sh)");
}

ATF_TC(kcidb_baseline);
ATF_TC_HEAD(kcidb_baseline, tc)
{
	atf_tc_set_md_var(tc, "descr", "export kcidb of the committed baseline, with its conformance "
			  "results and a compare against itself, validates against KCIDB v5.3 with no "
			  "null anywhere: DONE tests with numbers per (cell, row, metric), PASS/SKIP "
			  "conformance cases, PASS compare verdicts with the statistic in misc");
}
ATF_TC_BODY(kcidb_baseline, tc)
{
	setup(tc);
	need_schema();
	ATF_REQUIRE_EQ_MSG(sh(120, "$PNB export kcidb --origin pnbench_ci --artifact-url-base "
			      "https://example.org/sets/base --conform $TOP/results/conformance "
			      "--against $TOP/results/baselines/debian-cloud "
			      "$TOP/results/baselines/debian-cloud > k.json"), 0, "%s", res.err);
	ATF_CHECK_EQ_MSG(kcidb_validate("k.json"), 0, "%s%s", res.out, res.err);
	ATF_REQUIRE_EQ(sh(60, PY " -c '\n"
			  "import json, collections\n"
			  "d = json.load(open(\"k.json\"))\n"
			  "t = d[\"tests\"]\n"
			  "c = collections.Counter(x[\"status\"] for x in t)\n"
			  "print(len(d[\"checkouts\"]), len(d[\"builds\"]), c[\"DONE\"] > 400, c[\"PASS\"] > 20,\n"
			  "      all(\"number\" in x for x in t if x[\"status\"] == \"DONE\"),\n"
			  "      len(set(x[\"id\"] for x in t)) == len(t))\n"
			  "lead = [x for x in t if x[\"path\"] == \"pnbench.busy-beaver.vmpressure_critical_hierarchy_v1.lead_s\"]\n"
			  "cell = json.load(open(\"'\"$TOP\"'/results/baselines/debian-cloud/debian-6.1.0-57-cloud-amd64/busy-beaver/cell.json\"))\n"
			  "g = [x for x in cell[\"groups\"] if x[\"probe\"] == \"vmpressure:critical:hierarchy\" and x[\"counts\"][\"armed\"]][0]\n"
			  "print(lead[0][\"number\"][\"unit\"], lead[0][\"misc\"][\"n\"] == g[\"metrics\"][\"lead_s\"][\"n\"])\n"
			  "cmp = [x for x in t if x[\"path\"].startswith(\"pnbench.compare.\")]\n"
			  "print(len(cmp) > 10, all(\"p\" in x[\"misc\"] and x[\"status\"] == \"PASS\" for x in cmp))\n"
			  "cf = [x for x in t if x[\"path\"].startswith(\"pnbench.conform.\")]\n"
			  "print(sorted(set(x[\"status\"] for x in cf)))\n'"), 0);
	/* Three kernels: the baseline's, and the conformance suite's (its cloud
	 * kernel is the baseline's: rt and the 6.12 tree add two); busy-beaver's
	 * v1 critical lead has as many values as the analysis says (cell.json). */
	ATF_CHECK_MSG(!strncmp(res.out, "3 3 True True True True\ns True\nTrue True\n", 40), "%s", res.out);
	ATF_CHECK_MSG(strstr(res.out, "'PASS'"), "%s", res.out);

	/* The headroom of busy-beaver's vmpressure critical row in bytes is
	 * the analysis' kB median x 1024. */
	ATF_REQUIRE_EQ(sh(60, PY " -c '\n"
			  "import json\n"
			  "d = json.load(open(\"k.json\"))\n"
			  "c = json.load(open(\"%s/results/baselines/debian-cloud/debian-6.1.0-57-cloud-amd64/busy-beaver/cell.json\"))\n"
			  "g = [x for x in c[\"groups\"] if x[\"probe\"] == \"vmpressure:critical:hierarchy\"][0]\n"
			  "t = [x for x in d[\"tests\"] if x[\"path\"] == \"pnbench.busy-beaver.vmpressure_critical_hierarchy_v1.headroom_kB\"][0]\n"
			  "print(abs(t[\"number\"][\"value\"] - g[\"metrics\"][\"headroom_kB\"][\"median\"] * 1024) < 1, t[\"number\"][\"unit\"], t[\"number\"][\"prefix\"])\n'",
			  top), 0);
	ATF_CHECK_STREQ(res.out, "True B binary\n");
}

ATF_TC(kcidb_statuses);
ATF_TC_HEAD(kcidb_statuses, tc)
{
	atf_tc_set_md_var(tc, "descr", "export kcidb: a guest that never reached /init is MISS, a panic "
			  "FAIL, a hang ERROR; still valid v5.3; bad --origin is exit 2");
}
ATF_TC_BODY(kcidb_statuses, tc)
{
	setup(tc);
	need_schema();
	ATF_REQUIRE_EQ(sh(60, "mkdir set && cp -a $TOP/results/baselines/debian-cloud/debian-6.1.0-57-cloud-amd64 set/ && "
			  "cd set/debian-6.1.0-57-cloud-amd64/busy-beaver && "
			  PY " -c '\n"
			  "import json\n"
			  "for rep, st in ((1, \"no_init\"), (2, \"panic\"), (3, \"hang\")):\n"
			  "    m = json.load(open(\"%%d/meta.json\" %% rep))\n"
			  "    m[\"result\"].update(complete=False, status=st, reason=\"made so by the test\")\n"
			  "    json.dump(m, open(\"%%d/meta.json\" %% rep, \"w\"))\n'"), 0);
	ATF_REQUIRE_EQ_MSG(sh(120, "$PNB export kcidb --origin pnbench_ci set > k.json"), 0, "%s", res.err);
	ATF_CHECK_EQ_MSG(kcidb_validate("k.json"), 0, "%s%s", res.out, res.err);
	ATF_REQUIRE_EQ(sh(60, PY " -c '\n"
			  "import json\n"
			  "d = json.load(open(\"k.json\"))\n"
			  "for r in (1, 2, 3):\n"
			  "    t = [x for x in d[\"tests\"] if x[\"id\"] == \"pnbench_ci:debian-6.1.0-57-cloud-amd64/busy-beaver/%%d\" %% r][0]\n"
			  "    print(t[\"status\"], t[\"misc\"][\"result\"])\n'"), 0);
	ATF_CHECK_STREQ(res.out, "MISS no_init\nFAIL panic\nERROR hang\n");
	ATF_CHECK_EQ(sh(60, "$PNB export kcidb --origin Bad-Origin set"), 2);
	ATF_CHECK_MSG(strstr(res.err, "[a-z0-9_]+") && count_lines(res.err) == 1, "%s", res.err);
}

/* ---- LAVA ----------------------------------------------------------------- */

ATF_TC(lava_job);
ATF_TC_HEAD(lava_job, tc)
{
	atf_tc_set_md_var(tc, "descr", "export lava writes a qemu job that lava-common validates "
			  "strictly (tmpfs deploy, boot: qemu, one inline definition running the cell's "
			  "recorder with --lava); the validator rejects the job with a wrong boot "
			  "method; a scenario with a data disk needs --data-disk-url");
}
ATF_TC_BODY(lava_job, tc)
{
	setup(tc);
	if (sh(30, PY " -c 'import lava_common.schemas, yaml'"))
		atf_tc_fail("lava-common is missing for " PY " (harness/install-deps.sh)");
	ATF_REQUIRE_EQ_MSG(sh(60, "$PNB export lava --cell debian-6.1.0-57-cloud-amd64/busy-beaver/2 "
			      "--kernel-url https://example.org/vmlinuz --ramdisk-url "
			      "https://example.org/initramfs.cpio > job.yaml"), 0, "%s", res.err);
	const char *check = PY " -c '\n"
			    "import yaml, sys\n"
			    "from lava_common.schemas import validate\n"
			    "j = yaml.safe_load(open(\"%s\"))\n"
			    "%s\n"
			    "validate(j, strict=True)\n"
			    "d = j[\"actions\"][2][\"test\"][\"definitions\"]\n"
			    "print(len(d), d[0][\"from\"], j[\"actions\"][0][\"deploy\"][\"to\"], j[\"actions\"][1][\"boot\"][\"method\"])\n"
			    "print(d[0][\"repository\"][\"run\"][\"steps\"][0])\n'";
	ATF_CHECK_EQ_MSG(sh(60, check, "job.yaml", ""), 0, "%s%s", res.out, res.err);
	ATF_CHECK_MSG(!strncmp(res.out, "1 inline tmpfs qemu\n/bin/pnbench-record --lava --out /tmp/events.jsonl", 70),
		      "%s", res.out);
	ATF_CHECK_MSG(strstr(res.out, "--label rep=2") && strstr(res.out, "-- /bin/pnbench-workload busy-beaver"),
		      "%s", res.out);
	ATF_CHECK_EQ(sh(60, "grep -c 'pnbench.shell=1' job.yaml"), 0);
	ATF_CHECK_MSG(sh(60, check, "job.yaml", "j[\"actions\"][1][\"boot\"][\"method\"] = \"qemu-nfs-nonsense\"") != 0,
		      "lava-common accepted a broken job: %s", res.out);
	ATF_CHECK_EQ(sh(60, "$PNB export lava --cell k/stream-read/1 --kernel-url https://e.org/k "
			"--ramdisk-url https://e.org/r"), 2);
	ATF_CHECK_MSG(strstr(res.err, "--data-disk-url"), "%s", res.err);
	ATF_CHECK_EQ_MSG(sh(60, "$PNB export lava --cell k/stream-read/1 --kernel-url https://e.org/k "
			    "--ramdisk-url https://e.org/r --data-disk-url https://e.org/d > j2.yaml"), 0, "%s", res.err);
	ATF_CHECK_EQ_MSG(sh(60, check, "j2.yaml", ""), 0, "%s%s", res.out, res.err);
	ATF_CHECK_EQ(sh(60, "$PNB export lava --cell nonsense --kernel-url https://e.org/k --ramdisk-url https://e.org/r"), 2);
}

ATF_TC(lava_signals_baseline);
ATF_TC_HEAD(lava_signals_baseline, tc)
{
	atf_tc_set_md_var(tc, "descr", "the recorder's LAVA signal lines for a committed busy-beaver run: "
			  "names LAVA accepts, oom_kill at the analysis' time to OOM (+-50 ms), a lead "
			  "line per probe row of an OOM run");
}
ATF_TC_BODY(lava_signals_baseline, tc)
{
	setup(tc);
	char ev[PATH_MAX];
	snprintf(ev, sizeof ev, "%s/results/baselines/debian-cloud/debian-6.1.0-57-cloud-amd64/busy-beaver/1/events.jsonl",
		 top);
	FILE *f = fopen("sig.txt", "w");
	ATF_REQUIRE(f);
	int n = lava_signals(ev, f);
	fclose(f);
	ATF_CHECK_MSG(n > 10, "%d lines", n);
	ATF_CHECK_EQ_MSG(sh(30, "grep -cvE '^<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=[-_a-zA-Z0-9.]+ "
			    "RESULT=(pass|fail)( MEASUREMENT=[-0-9.]+ UNITS=[a-z]+)?>$' sig.txt"), 1,
			 "lines LAVA would not parse: %s", res.out);
	ATF_REQUIRE_EQ(sh(30, PY " -c '\n"
			  "import json, re\n"
			  "s = json.load(open(\"%s/results/baselines/debian-cloud/debian-6.1.0-57-cloud-amd64/busy-beaver/1/summary.json\"))\n"
			  "t = open(\"sig.txt\").read()\n"
			  "m = float(re.search(r\"TEST_CASE_ID=oom_kill RESULT=pass MEASUREMENT=([0-9.]+) UNITS=s\", t).group(1))\n"
			  "print(abs(m - s[\"time_to_oom_s\"]) < 0.05, \"vmpressure_critical_hierarchy.critical.lead\" in t)\n'",
			  top), 0);
	ATF_CHECK_STREQ(res.out, "True True\n");
	ATF_CHECK(lava_signals("/nonexistent/events.jsonl", stdout) < 0);
}

/* ---- JUnit ---------------------------------------------------------------- */

ATF_TC(junit_bench);
ATF_TC_HEAD(junit_bench, tc)
{
	atf_tc_set_md_var(tc, "descr", "export junit of the baseline: a suite per cell, a case per "
			  "(cell, mechanism row) with its figures as properties, unsupported rows "
			  "skipped with the probe's reason; well-formed XML");
}
ATF_TC_BODY(junit_bench, tc)
{
	setup(tc);
	ATF_REQUIRE_EQ_MSG(sh(60, "$PNB export junit $TOP/results/baselines/debian-cloud > j.xml"), 0,
			   "%s", res.err);
	ATF_REQUIRE_EQ(sh(60, PY " -c '\n"
			  "import xml.etree.ElementTree as E\n"
			  "r = E.parse(\"j.xml\").getroot()\n"
			  "s = r.findall(\"testsuite\")\n"
			  "bb = [x for x in s if x.get(\"name\") == \"bench.debian-6.1.0-57-cloud-amd64.busy-beaver\"][0]\n"
			  "c = [x for x in bb.findall(\"testcase\") if x.get(\"name\") == \"vmpressure:critical:hierarchy (v1)\"][0]\n"
			  "p = {x.get(\"name\"): x.get(\"value\") for x in c.find(\"properties\")}\n"
			  "sr = [x for x in s if x.get(\"name\") == \"bench.debian-6.1.0-57-cloud-amd64.stream-read\"][0]\n"
			  "me = [x for x in sr.findall(\"testcase\") if x.get(\"name\") == \"memevents\"][0]\n"
			  "import json\n"
			  "cell = json.load(open(\"'\"$TOP\"'/results/baselines/debian-cloud/debian-6.1.0-57-cloud-amd64/busy-beaver/cell.json\"))\n"
			  "g = [x for x in cell[\"groups\"] if x[\"probe\"] == \"vmpressure:critical:hierarchy\" and x[\"counts\"][\"armed\"]][0]\n"
			  "print(len(s), p[\"runs\"], p[\"lead_s.n\"] == str(g[\"metrics\"][\"lead_s\"][\"n\"]), \"headroom_kB.median\" in p,\n"
			  "      me.find(\"skipped\") is not None, int(bb.get(\"tests\")) == len(bb.findall(\"testcase\")))\n'"),
		       0);
	/* The baseline: six scenarios; busy-beaver's v1 critical level ran 5
	 * times, and its lead count is the analysis' (cell.json); stream-read
	 * (v1 only) has no cgroup2 memory controller, so memevents is a
	 * skipped case there. */
	ATF_CHECK_STREQ(res.out, "6 5 True True True True\n");
	ATF_CHECK_EQ(sh(60, "$PNB export junit"), 2);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, list_cell_shard);
	ATF_TP_ADD_TC(tp, merge_refusals);
	ATF_TP_ADD_TC(tp, merge_idempotent_1000);
	ATF_TP_ADD_TC(tp, parallel_equals_run);
	ATF_TP_ADD_TC(tp, kcidb_baseline);
	ATF_TP_ADD_TC(tp, kcidb_statuses);
	ATF_TP_ADD_TC(tp, lava_job);
	ATF_TP_ADD_TC(tp, lava_signals_baseline);
	ATF_TP_ADD_TC(tp, junit_bench);
	return atf_no_error();
}
