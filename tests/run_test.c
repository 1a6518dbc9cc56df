/* pnbench run refuses what would lose or mix results: a set already in use,
 * a --rep no scenario has, an --out too long to hold its cells, a rerun
 * from an edited scenario; and a SIGTERM leaves no cell worker or QEMU
 * behind. */
#include "guest.h"
#include "log.h"
#include "run.h"
#include "runner.h"
#include "testutil.h"

#include <atf-c.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KERNEL "debian:cloud"

/* harness/main.c owns this in the pnbench binary; native.c links against it
 * though only native_check() is called here. */
const char *pnb_bindir(void) { return "/nonexistent"; }
/* The runner's scenario lookup links against it; the plan cases below
 * name scenarios by path. */
const char *pnb_topdir(void) { return "/nonexistent"; }

static char bin[PATH_MAX], scn[PATH_MAX];

static void setup(const atf_tc_t *tc)
{
	const char *src = atf_tc_get_config_var(tc, "srcdir");
	bin_path(src, "pnbench", bin, sizeof bin);
	snprintf(scn, sizeof scn, "%s/../harness/scenarios/busy-beaver.ini", src);
	use_pnbench_cache(atf_tc_has_config_var(tc, "pnbench_cache") ?
			  atf_tc_get_config_var(tc, "pnbench_cache") : NULL);
}

/* The directory name the kernel's cells live under (fetched when missing:
 * these cases must not depend on another program having run first). */
static void kernel_name(char *name, size_t len)
{
	struct kernel_image k;
	char err[1024];

	if (kernel_resolve(KERNEL, !pnb_offline(), &k, err, sizeof err))
		pnb_no_kernel(KERNEL, err);
	snprintf(name, len, "%s", k.name);
}

static struct cmd_result res;

static int pnbench_run(const char *out, const char *extra1, const char *extra2)
{
	char *argv[] = { bin, "run", "--kernel", KERNEL, "--scenario", scn, "--reps", "1",
			 "--out", (char *)out, (char *)extra1, (char *)extra2, NULL };
	run_cmd(argv, 600, &res);
	return res.status;
}

ATF_TC(rep_beyond_reps);
ATF_TC_HEAD(rep_beyond_reps, tc)
{
	atf_tc_set_md_var(tc, "descr", "--rep above the repetitions runs nothing: a usage error, "
			  "not exit 0");
}
ATF_TC_BODY(rep_beyond_reps, tc)
{
	setup(tc);
	char *argv[] = { bin, "run", "--kernel", KERNEL, "--scenario", scn, "--reps", "3", "--rep",
			 "5", "--out", "out", NULL };
	run_cmd(argv, 600, &res);
	ATF_CHECK_EQ_MSG(res.status, 2, "exit %d: %s", res.status, res.err);
	ATF_CHECK_MSG(strstr(res.err, "--rep 5") && strstr(res.err, "3 repetitions"), "%s", res.err);
	ATF_CHECK_MSG(access("out", F_OK) != 0, "a set was created for nothing");
}

ATF_TC(out_too_long);
ATF_TC_HEAD(out_too_long, tc)
{
	atf_tc_set_md_var(tc, "descr", "An --out its cell paths cannot fit is refused, never cut");
}
ATF_TC_BODY(out_too_long, tc)
{
	char out[1100];

	setup(tc);
	memset(out, 'a', sizeof out - 1);
	out[sizeof out - 1] = 0;
	ATF_CHECK_EQ_MSG(pnbench_run(out, NULL, NULL), 2, "exit %d: %s", res.status, res.err);
	ATF_CHECK_MSG(strstr(res.err, "--out") && strstr(res.err, "longer"), "%s", res.err);
}

ATF_TC(set_in_use);
ATF_TC_HEAD(set_in_use, tc)
{
	atf_tc_set_md_var(tc, "descr", "A second run on a locked set refuses, naming the holder");
}
ATF_TC_BODY(set_in_use, tc)
{
	char name[256];

	setup(tc);
	kernel_name(name, sizeof name);
	ATF_REQUIRE(mkdir("out", 0755) == 0);
	int fd = open("out/.lock", O_RDWR | O_CREAT, 0644);
	ATF_REQUIRE(fd >= 0);
	ATF_REQUIRE(flock(fd, LOCK_EX | LOCK_NB) == 0);
	ATF_REQUIRE(write(fd, "4242\n", 5) == 5);
	ATF_CHECK_EQ_MSG(pnbench_run("out", NULL, NULL), 1, "exit %d: %s", res.status, res.err);
	ATF_CHECK_MSG(strstr(res.err, "in use by pnbench pid 4242"), "%s", res.err);
	struct stat st;
	char cell[PATH_MAX];
	snprintf(cell, sizeof cell, "out/%s", name);
	ATF_CHECK_MSG(stat(cell, &st) != 0, "the second run wrote into the locked set");
	close(fd);
}

ATF_TC(edited_scenario);
ATF_TC_HEAD(edited_scenario, tc)
{
	atf_tc_set_md_var(tc, "descr", "A set made from another text of a scenario is not topped "
			  "up with the new one");
}
ATF_TC_BODY(edited_scenario, tc)
{
	char name[256], dir[PATH_MAX], p[PATH_MAX + 16];
	FILE *f;

	setup(tc);
	kernel_name(name, sizeof name);
	snprintf(dir, sizeof dir, "out/%s/busy-beaver/1", name);
	snprintf(p, sizeof p, "mkdir -p %s", dir);
	ATF_REQUIRE(system(p) == 0);
	snprintf(p, sizeof p, "%s/meta.json", dir);
	ATF_REQUIRE((f = fopen(p, "w")));
	fprintf(f, "{\"scenario\": {\"name\": \"busy-beaver\", \"text\": \"[scenario]\\nreps = 9\\n\"},"
		   " \"harness\": {\"git_rev\": \"abc1234\"}, \"result\": {\"complete\": true}}\n");
	fclose(f);
	ATF_CHECK_EQ_MSG(pnbench_run("out", NULL, NULL), 2, "exit %d: %s", res.status, res.err);
	ATF_CHECK_MSG(strstr(res.err, "another text of scenario busy-beaver") &&
		      strstr(res.err, "abc1234"), "%s", res.err);
}

/* Whether any process's command line holds s (ours excluded). */
static int process_with(const char *s)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int found = 0;

	while (d && (e = readdir(d)) && !found) {
		char p[300], buf[8192];
		if (atoi(e->d_name) <= 0 || atoi(e->d_name) == getpid())
			continue;
		snprintf(p, sizeof p, "/proc/%s/cmdline", e->d_name);
		int fd = open(p, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		for (ssize_t i = 0; i < n; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[n > 0 ? n : 0] = 0;
		found = strstr(buf, s) != NULL;
	}
	if (d)
		closedir(d);
	return found;
}

ATF_TC(sigterm_takes_all);
ATF_TC_HEAD(sigterm_takes_all, tc)
{
	atf_tc_set_md_var(tc, "descr", "SIGTERM to pnbench run ends its cell worker and QEMU too, "
			  "and no cell is renamed after it");
	atf_tc_set_md_var(tc, "timeout", "600");
}
ATF_TC_BODY(sigterm_takes_all, tc)
{
	char cwd[PATH_MAX], out[PATH_MAX + 32], name[256], cell[PATH_MAX * 2];

	setup(tc);
	if (access("/usr/bin/qemu-system-x86_64", X_OK))
		pnb_skip("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)");
	kernel_name(name, sizeof name);
	ATF_REQUIRE(getcwd(cwd, sizeof cwd));
	/* A unique path: the processes are found by it. */
	snprintf(out, sizeof out, "%s/out-sigterm-%d", cwd, (int)getpid());
	pid_t pid = fork();
	ATF_REQUIRE(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execl(bin, bin, "run", "--kernel", KERNEL, "--scenario", scn, "--reps", "1", "--out",
		      out, (char *)NULL);
		_exit(127);
	}
	/* Wait for QEMU to be running the cell. */
	snprintf(cell, sizeof cell, "%s/%s/busy-beaver/.1.partial/qemu.cmd", out, name);
	time_t until = time(NULL) + 300;
	while (access(cell, F_OK) && time(NULL) < until)
		usleep(100000);
	ATF_REQUIRE_MSG(access(cell, F_OK) == 0, "the cell never started QEMU");
	usleep(500000);
	ATF_REQUIRE(kill(pid, SIGTERM) == 0);
	int st;
	ATF_REQUIRE(waitpid(pid, &st, 0) == pid);
	/* Dying with their parent takes the kernel a moment. */
	for (int i = 0; i < 50 && process_with(out); i++)
		usleep(100000);
	ATF_CHECK_MSG(!process_with(out), "a process of the run outlived pnbench");
	sleep(2);
	snprintf(cell, sizeof cell, "%s/%s/busy-beaver/1", out, name);
	ATF_CHECK_MSG(access(cell, F_OK) != 0, "the cell was renamed after pnbench ended");
}

/* Pids in a cgroup, or 0 when it is gone. */
static int cgroup_pids(const char *dir, pid_t *pids, int max)
{
	char p[PATH_MAX + 32];
	int n = 0;
	snprintf(p, sizeof p, "%s/cgroup.procs", dir);
	FILE *f = fopen(p, "r");
	long v;
	while (f && n < max && fscanf(f, "%ld", &v) == 1)
		pids[n++] = (pid_t)v;
	if (f)
		fclose(f);
	return n;
}

ATF_TC(native_sigkill_leaves_nothing);
ATF_TC_HEAD(native_sigkill_leaves_nothing, tc)
{
	atf_tc_set_md_var(tc, "descr", "A native run killed with SIGKILL takes its recorder and "
			  "workload with it; the next native run removes the memcg it left");
	atf_tc_set_md_var(tc, "require.user", "root");
	atf_tc_set_md_var(tc, "timeout", "300");
}
ATF_TC_BODY(native_sigkill_leaves_nothing, tc)
{
	char cwd[PATH_MAX], out[PATH_MAX + 32], events[PATH_MAX * 2], memcg[PATH_MAX], why[512];
	pid_t pids[64];

	setup(tc);
	if (native_check(why, sizeof why))
		pnb_skip("no native runs on this host: %s", why);
	ATF_REQUIRE(getcwd(cwd, sizeof cwd));
	snprintf(out, sizeof out, "%s/out-native", cwd);
	pid_t pid = fork();
	ATF_REQUIRE(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execl(bin, bin, "run", "--kernel", "native", "--scenario", "fixed-rate", "--reps", "1",
		      "--out", out, (char *)NULL);
		_exit(127);
	}
	/* The cell worker is pnbench's only child; its pid names the memcg. */
	snprintf(events, sizeof events, "%s/native/fixed-rate/.1.partial/events.jsonl", out);
	time_t until = time(NULL) + 60;
	int started = 0;
	while (!started && time(NULL) < until) {
		char buf[1 << 16] = "";
		FILE *f = fopen(events, "r");
		if (f) {
			size_t n = fread(buf, 1, sizeof buf - 1, f);
			buf[n] = 0;
			fclose(f);
		}
		started = strstr(buf, "workload_start") != NULL;
		usleep(100000);
	}
	ATF_REQUIRE_MSG(started, "the native workload never started");
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof cmd, "ls -d /sys/fs/cgroup/memory/pnbench/fixed-rate-*-1 "
		 "/sys/fs/cgroup/unified/pnbench/fixed-rate-*-1 2>/dev/null | head -1");
	FILE *p = popen(cmd, "r");
	ATF_REQUIRE(p && fgets(memcg, sizeof memcg, p));
	pclose(p);
	memcg[strcspn(memcg, "\n")] = 0;
	int n = cgroup_pids(memcg, pids, 64);
	ATF_REQUIRE_MSG(n > 0, "nothing runs in %s", memcg);

	ATF_REQUIRE(kill(pid, SIGKILL) == 0);
	waitpid(pid, NULL, 0);
	int alive = 1;
	for (int i = 0; i < 50 && alive; i++) {
		alive = 0;
		for (int k = 0; k < n; k++)
			alive |= kill(pids[k], 0) == 0;
		usleep(100000);
	}
	ATF_CHECK_MSG(!alive, "a process of %s outlived pnbench's SIGKILL", memcg);

	/* The next native run removes what the killed one could not. */
	FILE *f = fopen("short.ini", "w");
	ATF_REQUIRE(f);
	fprintf(f, "[scenario]\nduration = 1s\n[workload]\nname = fixed-rate\n"
		   "[probes]\nprobe = sample:100ms\n[machine]\nmemory = 64M\n");
	fclose(f);
	char *argv[] = { bin, "run", "--kernel", "native", "--scenario", "short.ini", "--reps", "1",
			 "--out", "out2", NULL };
	run_cmd(argv, 120, &res);
	ATF_CHECK_MSG(access(memcg, F_OK) != 0, "%s is still there after the next run (exit %d: %s)",
		      memcg, res.status, res.err);
}

ATF_TC(bad_accel_quotes_qemu);
ATF_TC_HEAD(bad_accel_quotes_qemu, tc)
{
	atf_tc_set_md_var(tc, "descr", "A PNBENCH_ACCEL QEMU refuses fails the cell with QEMU's own "
			  "words on the line, not a bare no_init");
	atf_tc_set_md_var(tc, "timeout", "300");
}
ATF_TC_BODY(bad_accel_quotes_qemu, tc)
{
	setup(tc);
	if (access("/usr/bin/qemu-system-x86_64", X_OK))
		pnb_skip("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)");
	setenv("PNBENCH_ACCEL", "banana", 1);
	ATF_CHECK_EQ_MSG(pnbench_run("out", NULL, NULL), 1, "exit %d: %s", res.status, res.err);
	unsetenv("PNBENCH_ACCEL");
	const char *l = strstr(res.out, ": no_init in ");
	ATF_REQUIRE_MSG(l, "no no_init line: %s", res.out);
	const char *nl = strchr(l, '\n'), *q = strstr(l, "qemu: ");
	ATF_CHECK_MSG(q && (!nl || q < nl) && strstr(l, "banana"), "QEMU's words not on the line: %s",
		      res.out);
}

ATF_TC(newest_kernel_no_panics);
ATF_TC_HEAD(newest_kernel_no_panics, tc)
{
	atf_tc_set_md_var(tc, "descr", "Six busy-beaver cells on a cached 6.12 tree build, in the "
			  "default mode, end without a panic (multi-threaded TCG oopsed a third of "
			  "them in int3)");
	atf_tc_set_md_var(tc, "timeout", "900");
}
ATF_TC_BODY(newest_kernel_no_panics, tc)
{
	struct kernel_image *ks = NULL;
	char spec[PNB_PATH + 16] = "", out[PATH_MAX + 32], cwd[PATH_MAX];
	static struct cmd_result r;

	setup(tc);
	if (access("/usr/bin/qemu-system-x86_64", X_OK))
		pnb_skip("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)");
	int n = kernel_cached(&ks);
	for (int i = 0; i < n && !spec[0]; i++)
		if (!strcmp(ks[i].kind, "tree") && !strncmp(ks[i].release, "6.12", 4))
			snprintf(spec, sizeof spec, "path:%s", ks[i].bzimage);
	free(ks);
	/* Building one takes 7-16 minutes: only where it was built already. */
	if (!spec[0])
		pnb_skip("no 6.12 tree build cached (pnbench kernels build --tree linux-source-6.12)");
	unsetenv("PNBENCH_ACCEL");
	ATF_REQUIRE(getcwd(cwd, sizeof cwd));
	snprintf(out, sizeof out, "%s/out612", cwd);
	char *argv[] = { bin, "run", "--kernel", spec, "--scenario", scn, "--reps", "6", "--out", out,
			 NULL };
	run_cmd(argv, 850, &r);
	/* Six repetitions; busy-beaver runs each on v1 and on cgroup2. */
	char cmd[2 * PATH_MAX + 160];
	snprintf(cmd, sizeof cmd, "ls %s/*/busy-beaver/*/meta.json | wc -l; grep -l "
		 "'\"status\": \"ok\"' %s/*/busy-beaver/*/meta.json | wc -l", out, out);
	FILE *p = popen(cmd, "r");
	int cells = -1, ok = -1;
	ATF_REQUIRE(p && fscanf(p, "%d %d", &cells, &ok) == 2);
	pclose(p);
	ATF_CHECK_MSG(cells >= 6 && ok == cells, "%d of %d cells ok on %s (exit %d): %s", ok, cells,
		      spec, r.status, r.out);
	ATF_CHECK_MSG(!strstr(r.out, ": panic"), "a cell panicked: %s", r.out);
}

ATF_TC(plan_cells);
ATF_TC_HEAD(plan_cells, tc)
{
	atf_tc_set_md_var(tc, "descr", "run_plan_expand and run_plan_select: cells in matrix order "
			  "with their names and directories, --reps, shards, an unknown --cell");
}
ATF_TC_BODY(plan_cells, tc)
{
	const char *src = atf_tc_get_config_var(tc, "srcdir");
	struct run_plan p = { .jobs = 1 };
	char path[PATH_MAX], err[1200];

	snprintf(p.out, sizeof p.out, "out");
	snprintf(path, sizeof path, "%s/../harness/scenarios/fixed-rate.ini", src);
	ATF_REQUIRE_EQ_MSG(run_plan_add_scenario(&p, path, err, sizeof err), 0, "%s", err);
	snprintf(path, sizeof path, "%s/../harness/scenarios/busy-beaver.ini", src);
	ATF_REQUIRE_EQ_MSG(run_plan_add_scenario(&p, path, err, sizeof err), 0, "%s", err);
	/* Listing: native is not checked against the host. */
	ATF_REQUIRE_EQ_MSG(run_plan_add_kernel(&p, "native", 0, 1, err, sizeof err), 0, "%s", err);
	ATF_REQUIRE_EQ_MSG(run_plan_expand(&p, 2, 0, err, sizeof err), 0, "%s", err);
	/* busy-beaver boots both hierarchies in guests; natively one. */
	ATF_REQUIRE_EQ(p.ncells, 4);
	static const char *const want[] = { "native/fixed-rate/1", "native/fixed-rate/2",
					    "native/busy-beaver/1", "native/busy-beaver/2" };
	for (int i = 0; i < 4; i++)
		ATF_CHECK_STREQ(p.cells[i].name, want[i]);
	ATF_CHECK_STREQ(p.cells[3].final, "out/native/busy-beaver/2");
	ATF_CHECK_EQ(run_plan_expand(&p, 2, 3, err, sizeof err), PNB_EXIT_USAGE);
	ATF_CHECK_MSG(strstr(err, "--rep 3: scenario fixed-rate has 2 repetitions"), "%s", err);
	ATF_REQUIRE_EQ(run_plan_expand(&p, 2, 0, err, sizeof err), 0);
	const char *nope[] = { "native/fixed-rate/9" };
	ATF_CHECK_EQ(run_plan_select(&p, nope, 1, 0, 0, err, sizeof err), PNB_EXIT_USAGE);
	ATF_CHECK_MSG(strstr(err, "no such cell in this matrix of 4"), "%s", err);
	ATF_REQUIRE_EQ(run_plan_select(&p, NULL, 0, 2, 2, err, sizeof err), 0);
	ATF_REQUIRE_EQ(p.ncells, 2);
	ATF_CHECK_STREQ(p.cells[0].name, "native/fixed-rate/2");
	ATF_CHECK_STREQ(p.cells[1].name, "native/busy-beaver/2");
	ATF_CHECK(p.named);
	run_plan_free(&p);
}

/* Job cells of plan_execute: the third fails; each leaves "ran". */
static int test_job(const struct run_plan *p, const struct run_cell *c, void *arg)
{
	char path[1300];
	FILE *f;

	(void)p;
	(void)arg;
	mkdir(c->final, 0755);
	snprintf(path, sizeof path, "%s/ran", c->final);
	if ((f = fopen(path, "w")))
		fclose(f);
	return strstr(c->name, "three") ? 3 : 0;
}

static int test_complete(const char *dir)
{
	char path[1300];
	snprintf(path, sizeof path, "%s/done", dir);
	return access(path, F_OK) == 0;
}

struct seen { int started, done, skipped, ticks, failed_done; };

static void test_progress(const struct run_plan *p, const struct run_event *ev, void *arg)
{
	struct seen *s = arg;
	(void)p;
	s->started += ev->kind == RUN_EV_STARTED;
	s->skipped += ev->kind == RUN_EV_SKIPPED;
	s->ticks += ev->kind == RUN_EV_TICK;
	if (ev->kind == RUN_EV_DONE) {
		s->done++;
		s->failed_done += WEXITSTATUS(ev->cell->wstatus) == 3;
	}
}

ATF_TC(plan_execute);
ATF_TC_HEAD(plan_execute, tc)
{
	atf_tc_set_md_var(tc, "descr", "run_plan_execute: every cell's worker runs once, two at a "
			  "time, a complete one is skipped, a failing one counts, the callback hears "
			  "each; a second plan on a set in use is refused");
}
ATF_TC_BODY(plan_execute, tc)
{
	struct run_plan p = { .jobs = 2, .job = test_job, .complete = test_complete };
	struct run_totals t;
	struct seen seen = { 0 };
	char err[1200];

	snprintf(p.out, sizeof p.out, "set");
	ATF_REQUIRE_EQ(run_plan_add_kernel(&p, "native", 0, 1, err, sizeof err), 0);
	ATF_REQUIRE_EQ(run_plan_add_job(&p, 0, "one", "set/one", err, sizeof err), 0);
	ATF_REQUIRE_EQ(run_plan_add_job(&p, 0, "two", "set/two", err, sizeof err), 0);
	ATF_REQUIRE_EQ(run_plan_add_job(&p, 0, "three", "set/three", err, sizeof err), 0);
	ATF_REQUIRE_EQ(mkdir("set", 0755), 0);
	ATF_REQUIRE_EQ(mkdir("set/two", 0755), 0);
	FILE *f = fopen("set/two/done", "w");
	ATF_REQUIRE(f);
	fclose(f);
	ATF_REQUIRE_EQ_MSG(run_plan_execute(&p, test_progress, &seen, &t, err, sizeof err), 0, "%s",
			   err);
	ATF_CHECK_EQ(t.cells, 3);
	ATF_CHECK_EQ(t.failed, 1);
	ATF_CHECK_EQ(t.skipped, 1);
	ATF_CHECK_EQ(seen.started, 2);
	ATF_CHECK_EQ(seen.done, 2);
	ATF_CHECK_EQ(seen.skipped, 1);
	ATF_CHECK_EQ(seen.failed_done, 1);
	ATF_CHECK(access("set/one/ran", F_OK) == 0);
	ATF_CHECK(access("set/three/ran", F_OK) == 0);
	ATF_CHECK(access("set/two/ran", F_OK) != 0);

	/* This process holds the set's lock until it exits: a child trying
	 * the same set is refused with the holder named. */
	pid_t pid = fork();
	ATF_REQUIRE(pid >= 0);
	if (pid == 0) {
		struct run_totals t2;
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		_exit(run_plan_execute(&p, NULL, NULL, &t2, err, sizeof err));
	}
	int st;
	ATF_REQUIRE_EQ(waitpid(pid, &st, 0), pid);
	ATF_CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == PNB_EXIT_FAIL, "status %d", st);
	run_plan_free(&p);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, rep_beyond_reps);
	ATF_TP_ADD_TC(tp, out_too_long);
	ATF_TP_ADD_TC(tp, set_in_use);
	ATF_TP_ADD_TC(tp, edited_scenario);
	ATF_TP_ADD_TC(tp, sigterm_takes_all);
	ATF_TP_ADD_TC(tp, native_sigkill_leaves_nothing);
	ATF_TP_ADD_TC(tp, bad_accel_quotes_qemu);
	ATF_TP_ADD_TC(tp, plan_cells);
	ATF_TP_ADD_TC(tp, plan_execute);
	ATF_TP_ADD_TC(tp, newest_kernel_no_panics);
	return atf_no_error();
}
