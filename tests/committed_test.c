/* Committed results are reproducible from committed data.
 *
 * Every result set under results/baselines/ and results/sets/ re-analyses to
 * the very bytes committed (analysis must not dirty the tree, wherever the
 * set lies), and every comparison under results/comparisons/ re-runs from its
 * "# command:" line to the same table and exit status. */
#include "testutil.h"

#include <atf-c.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char top[PATH_MAX], bin[PATH_MAX];

static void setup(const atf_tc_t *tc)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/..", atf_tc_get_config_var(tc, "srcdir"));
	ATF_REQUIRE(realpath(p, top));
	snprintf(bin, sizeof bin, "%s/bin/pnbench", top);
}

/* The committed sets: directories under results/baselines and results/sets
 * that hold a set-summary.json. */
static int committed_sets(char sets[][PATH_MAX], int max)
{
	const char *roots[] = { "results/baselines", "results/sets" };
	int n = 0;

	for (int r = 0; r < 2; r++) {
		char root[PATH_MAX + 32];
		snprintf(root, sizeof root, "%s/%s", top, roots[r]);
		DIR *d = opendir(root);
		struct dirent *e;
		while (d && (e = readdir(d)) && n < max) {
			char p[PATH_MAX * 2];
			struct stat st;
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof p, "%s/%s/set-summary.json", root, e->d_name);
			if (stat(p, &st) == 0)
				snprintf(sets[n++], PATH_MAX, "%s/%s", roots[r], e->d_name);
		}
		if (d)
			closedir(d);
	}
	return n;
}

ATF_TC(analysis_is_byte_stable);
ATF_TC_HEAD(analysis_is_byte_stable, tc)
{
	atf_tc_set_md_var(tc, "descr", "Each committed set, copied elsewhere and analysed again, "
			  "gives byte for byte the summaries committed");
	atf_tc_set_md_var(tc, "timeout", "600");
}
ATF_TC_BODY(analysis_is_byte_stable, tc)
{
	static char sets[32][PATH_MAX];
	static struct cmd_result r;
	char cmd[PATH_MAX * 4];

	setup(tc);
	int n = committed_sets(sets, 32);
	ATF_REQUIRE_MSG(n > 0, "no committed result set under %s/results", top);
	for (int i = 0; i < n; i++) {
		snprintf(cmd, sizeof cmd, "rm -rf copy && mkdir copy && cp -a '%s/%s/.' copy/", top,
			 sets[i]);
		ATF_REQUIRE_EQ_MSG(system(cmd), 0, "%s", cmd);
		/* Derived files go: analyze must make them again. */
		ATF_REQUIRE(system("find copy -name summary.json -o -name cell.json -o "
				   "-name set-summary.json | xargs rm -f") == 0);
		char *argv[] = { bin, "analyze", "-q", "copy", NULL };
		run_cmd(argv, 300, &r);
		ATF_CHECK_EQ_MSG(r.status, 0, "%s: analyze exit %d: %s", sets[i], r.status, r.err);
		char here[PATH_MAX];
		ATF_REQUIRE(getcwd(here, sizeof here));
		snprintf(cmd, sizeof cmd, "cd '%s/%s' && find . -name summary.json -o -name cell.json -o "
			 "-name set-summary.json | sort | while read f; do cmp -s \"$f\" \"$OLDPWD/copy/$f\" "
			 "|| echo \"$f\"; done > '%s/differ.txt'", top, sets[i], here);
		ATF_REQUIRE(system(cmd) == 0);
		FILE *f = fopen("differ.txt", "r");
		char line[PATH_MAX], all[4096] = "";
		int bad = 0;
		while (f && fgets(line, sizeof line, f)) {
			bad++;
			if (strlen(all) + strlen(line) + 2 < sizeof all)
				strcat(all, line);
		}
		if (f)
			fclose(f);
		ATF_CHECK_MSG(!bad, "%s: %d summaries differ from the committed ones after analyze "
			      "(commit the re-analysed set, or make analysis stable):\n%s", sets[i], bad, all);
	}
}

ATF_TC(comparisons_reproduce);
ATF_TC_HEAD(comparisons_reproduce, tc)
{
	atf_tc_set_md_var(tc, "descr", "Each committed comparison re-runs from its '# command:' "
			  "line on committed sets to the same table and exit status");
	atf_tc_set_md_var(tc, "timeout", "600");
}
ATF_TC_BODY(comparisons_reproduce, tc)
{
	char dir[PATH_MAX + 32];
	int seen = 0;

	setup(tc);
	snprintf(dir, sizeof dir, "%s/results/comparisons", top);
	DIR *d = opendir(dir);
	ATF_REQUIRE_MSG(d, "%s: missing", dir);
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".txt"))
			continue;
		char path[PATH_MAX * 2], line[4096], command[4096] = "";
		int want_exit = -1;
		static char body[1 << 18];
		size_t blen = 0;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "r");
		ATF_REQUIRE(f);
		body[0] = 0;
		while (fgets(line, sizeof line, f)) {
			if (line[0] == '#') {
				if (!strncmp(line, "# command: ", 11))
					snprintf(command, sizeof command, "%s", line + 11);
				else if (!strncmp(line, "# exit: ", 8))
					want_exit = atoi(line + 8);
				continue;
			}
			size_t ll = strlen(line);
			if (blen + ll + 1 < sizeof body) {
				memcpy(body + blen, line, ll + 1);
				blen += ll;
			}
		}
		fclose(f);
		seen++;
		command[strcspn(command, "\n")] = 0;
		ATF_CHECK_MSG(!strncmp(command, "bin/pnbench compare ", 20) && want_exit >= 0,
			      "%s: needs '# command: bin/pnbench compare BASE NEW' and '# exit: N' lines",
			      e->d_name);
		if (strncmp(command, "bin/pnbench compare ", 20) || want_exit < 0)
			continue;
		/* Both sides must be committed: a comparison nobody can re-run is
		 * not evidence. */
		char a[PATH_MAX], b[PATH_MAX], pa[PATH_MAX * 2], pb[PATH_MAX * 2];
		struct stat st;
		ATF_REQUIRE(sscanf(command + 20, "%4095s %4095s", a, b) == 2);
		snprintf(pa, sizeof pa, "%s/%s", top, a);
		snprintf(pb, sizeof pb, "%s/%s", top, b);
		ATF_CHECK_MSG(stat(pa, &st) == 0 && stat(pb, &st) == 0,
			      "%s: %s or %s is not committed", e->d_name, a, b);
		char cmd[PATH_MAX * 6];
		char here[PATH_MAX];
		ATF_REQUIRE(getcwd(here, sizeof here));
		snprintf(cmd, sizeof cmd, "cd '%s' && %s > '%s/out.txt'; echo $? > '%s/rc.txt'", top,
			 command, here, here);
		ATF_REQUIRE(system(cmd) == 0);
		static char got[1 << 18];
		f = fopen("out.txt", "r");
		ATF_REQUIRE(f);
		size_t gl = fread(got, 1, sizeof got - 1, f);
		got[gl] = 0;
		fclose(f);
		f = fopen("rc.txt", "r");
		int rc = -1;
		ATF_REQUIRE(f && fscanf(f, "%d", &rc) == 1);
		fclose(f);
		ATF_CHECK_EQ_MSG(rc, want_exit, "%s: exit %d, committed %d", e->d_name, rc, want_exit);
		if (strcmp(got, body)) {
			size_t i = 0;
			while (got[i] && got[i] == body[i])
				i++;
			size_t from = i > 80 ? i - 80 : 0;
			atf_tc_fail_nonfatal("%s: the table differs from the committed one at byte %zu:\n"
					     "committed: ...%.160s\nnow:       ...%.160s", e->d_name, i,
					     body + from, got + from);
		}
	}
	closedir(d);
	ATF_CHECK_MSG(seen > 0, "no comparison under %s", dir);
}

ATF_TC(silenced_mechanism_regresses);
ATF_TC_HEAD(silenced_mechanism_regresses, tc)
{
	atf_tc_set_md_var(tc, "descr", "The committed baseline with every vmpressure notification "
			  "removed compares as a regression (exit 1) naming vmpressure's rows: the "
			  "gate can fire with the repetitions make bench runs");
	atf_tc_set_md_var(tc, "timeout", "600");
}
ATF_TC_BODY(silenced_mechanism_regresses, tc)
{
	static struct cmd_result r;
	char cmd[PATH_MAX * 2];

	setup(tc);
	snprintf(cmd, sizeof cmd, "cp -a '%s/results/baselines/debian-cloud' base && cp -a base new && "
		 "find base new -name summary.json -o -name cell.json -o -name set-summary.json | "
		 "xargs rm -f && for f in new/*/*/*/events.jsonl; do "
		 "grep -v '\"type\":\"notify\",\"probe\":\"vmpressure:' \"$f\" > t && mv t \"$f\"; done",
		 top);
	ATF_REQUIRE_EQ_MSG(system(cmd), 0, "%s", cmd);
	char *a1[] = { bin, "analyze", "-q", "base", NULL }, *a2[] = { bin, "analyze", "-q", "new", NULL };
	ATF_REQUIRE_EQ(run_cmd(a1, 300, &r), 0);
	ATF_REQUIRE_EQ_MSG(r.status, 0, "%s", r.err);
	ATF_REQUIRE_EQ(run_cmd(a2, 300, &r), 0);
	ATF_REQUIRE_EQ_MSG(r.status, 0, "%s", r.err);
	char *c[] = { bin, "compare", "base", "new", NULL };
	ATF_REQUIRE_EQ(run_cmd(c, 300, &r), 0);
	ATF_CHECK_EQ_MSG(r.status, 1, "compare exit %d, want 1 (regression): %s%s", r.status, r.err,
			 r.out);
	const char *v = strstr(r.out, "\nverdict: ");
	ATF_REQUIRE_MSG(v, "no verdict line: %s", r.out);
	ATF_CHECK_MSG(strstr(v, "regression") && strstr(v, "vmpressure:") &&
		      strstr(v, "fired before OOM"), "verdict does not name vmpressure's rows: %s", v);
	/* And the untouched copy is no regression against itself. */
	char *c2[] = { bin, "compare", "base", "base", NULL };
	ATF_REQUIRE_EQ(run_cmd(c2, 300, &r), 0);
	ATF_CHECK_EQ_MSG(r.status, 0, "base against itself: exit %d: %s", r.status, r.out);
}

ATF_TC(same_kernel_no_false_alarm);
ATF_TC_HEAD(same_kernel_no_false_alarm, tc)
{
	atf_tc_set_md_var(tc, "descr", "Two committed sets of one kernel by one harness (lru_gen=off is "
			  "the cloud kernel's default) are no regression; a lead move of 80 ms in every "
			  "run (klmk:report adj0 of fixed-rate, p 0.008) regresses above the 50 ms floor "
			  "and is named as below it with --lead-floor 100");
	atf_tc_set_md_var(tc, "timeout", "600");
}
ATF_TC_BODY(same_kernel_no_false_alarm, tc)
{
	static struct cmd_result r;
	char base[PATH_MAX + 64], new[PATH_MAX + 64], cmd[PATH_MAX * 2];

	setup(tc);
	snprintf(base, sizeof base, "%s/results/baselines/debian-cloud", top);
	snprintf(new, sizeof new, "%s/results/sets/mglru-off", top);
	char *c[] = { bin, "compare", base, new, NULL };
	ATF_REQUIRE_EQ(run_cmd(c, 300, &r), 0);
	ATF_CHECK_EQ_MSG(r.status, 0, "compare exit %d, want 0: %s%s", r.status, r.err, r.out);

	/* The same set with one row's notifications 80 ms later in every run:
	 * as significant as 5 vs 5 runs can be. */
	snprintf(cmd, sizeof cmd, "cp -a '%s' same && cp -a same moved && "
		 "find same moved -name summary.json -o -name cell.json -o -name set-summary.json | "
		 "xargs rm -f && for f in moved/*/fixed-rate/*/events.jsonl; do "
		 "awk '/\"type\":\"notify\",\"probe\":\"klmk:report\".*\"level\":\"adj0\"/ && "
		 "match($0, /^\\{\"t_ns\":[0-9]+/) "
		 "{ $0 = sprintf(\"{\\\"t_ns\\\":%%.0f\", substr($0, 9, RLENGTH - 8) + 80000000) "
		 "substr($0, RLENGTH + 1) } { print }' \"$f\" > t && mv t \"$f\"; done", new);
	ATF_REQUIRE_EQ_MSG(system(cmd), 0, "%s", cmd);
	char *a1[] = { bin, "analyze", "-q", "same", NULL }, *a2[] = { bin, "analyze", "-q", "moved", NULL };
	ATF_REQUIRE_EQ(run_cmd(a1, 300, &r), 0);
	ATF_REQUIRE_EQ_MSG(r.status, 0, "%s", r.err);
	ATF_REQUIRE_EQ(run_cmd(a2, 300, &r), 0);
	ATF_REQUIRE_EQ_MSG(r.status, 0, "%s", r.err);
	char *c1[] = { bin, "compare", "same", "moved", NULL };
	ATF_REQUIRE_EQ(run_cmd(c1, 300, &r), 0);
	ATF_CHECK_EQ_MSG(r.status, 1, "an 80 ms move: exit %d, want 1: %s", r.status, r.out);
	ATF_CHECK_MSG(strstr(r.out, "verdict: 1 regression: fixed-rate: klmk:report adj0 (v1) lead time s"),
		      "%s", r.out);
	/* Below the floor: shown as such, and no regression. */
	char *c2[] = { bin, "compare", "--lead-floor", "100", "same", "moved", NULL };
	ATF_REQUIRE_EQ(run_cmd(c2, 300, &r), 0);
	ATF_CHECK_EQ_MSG(r.status, 0, "--lead-floor 100: exit %d, want 0: %s", r.status, r.out);
	ATF_CHECK_MSG(strstr(r.out, "* < 100 ms step"), "no row marked as below the floor:\n%s", r.out);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, same_kernel_no_false_alarm);
	ATF_TP_ADD_TC(tp, analysis_is_byte_stable);
	ATF_TP_ADD_TC(tp, comparisons_reproduce);
	ATF_TP_ADD_TC(tp, silenced_mechanism_regresses);
	return atf_no_error();
}
