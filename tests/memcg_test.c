/* lib/memcg and lib/memhog: the memory cgroup helpers and the memory hog
 * the native backend, the workloads, the conformance suite and the tests
 * share, on this host's live hierarchies. */
#include "testutil.h"
#include "cgroupfs.h"
#include "clock.h"
#include "memcg.h"
#include "memhog.h"
#include "procfs.h"

#include <atf-c.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[600];

static void v1_dir(void)
{
	char mnt[256];

	if (geteuid() != 0)
		pnb_skip("needs root to create a memory cgroup");
	if (pnb_cgroup_v1_memory_mount("", mnt, sizeof mnt))
		pnb_skip("no cgroup v1 memory hierarchy mounted");
	snprintf(dir, sizeof dir, "%s/pnbtest-memcg-%d", mnt, (int)getpid());
}

ATF_TC_WITH_CLEANUP(v1_lifecycle);
ATF_TC_HEAD(v1_lifecycle, tc)
{
	atf_tc_set_md_var(tc, "descr", "v1: create, limit (read back as set), no swap, join a "
			  "child, remove kills the member and retries until the memcg is gone");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(v1_lifecycle, tc)
{
	uint64_t lim;
	int st, e;

	v1_dir();
	ATF_REQUIRE_EQ_MSG(e = pnb_memcg_create(dir, 1), 0, "%s: %s", dir, strerror(-e));
	ATF_CHECK_EQ(pnb_memcg_version(dir), 1);
	ATF_REQUIRE_EQ(pnb_memcg_set_limit(dir, 48 << 20), 0);
	ATF_REQUIRE_EQ(pnb_memcg_get_limit(dir, &lim), 0);
	ATF_CHECK_EQ_MSG(lim, 48 << 20, "limit reads %llu", (unsigned long long)lim);
	e = pnb_memcg_no_swap(dir, 48 << 20);
	ATF_CHECK_MSG(e == 0 || e == -ENOENT, "no_swap: %s", strerror(-e));
	pid_t pid = fork();
	ATF_REQUIRE(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	ATF_REQUIRE_EQ(pnb_memcg_join(dir, pid), 0);
	/* A member keeps the memcg: without killing, rmdir stays EBUSY. */
	ATF_CHECK_EQ(pnb_memcg_remove(dir, 0, 2, 1), -EBUSY);
	ATF_CHECK_EQ(access(dir, F_OK), 0);
	ATF_CHECK_EQ_MSG(e = pnb_memcg_remove(dir, 1, 100, 20), 0, "%s", strerror(-e));
	ATF_CHECK(access(dir, F_OK) != 0);
	ATF_REQUIRE_EQ(waitpid(pid, &st, 0), pid);
	ATF_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	/* Gone already is removed. */
	ATF_CHECK_EQ(pnb_memcg_remove(dir, 1, 1, 1), 0);
}
ATF_TC_CLEANUP(v1_lifecycle, tc)
{
	v1_dir();
	pnb_memcg_remove(dir, 1, 100, 20);
}

ATF_TC(fresh_replaces);
ATF_TC_HEAD(fresh_replaces, tc)
{
	atf_tc_set_md_var(tc, "descr", "fresh creation removes an existing memcg (its limit "
			  "goes), plain creation keeps it");
}
ATF_TC_BODY(fresh_replaces, tc)
{
	uint64_t lim;

	v1_dir();
	ATF_REQUIRE_EQ(pnb_memcg_create(dir, 1), 0);
	ATF_REQUIRE_EQ(pnb_memcg_set_limit(dir, 32 << 20), 0);
	ATF_REQUIRE_EQ(pnb_memcg_create(dir, 0), 0);
	ATF_REQUIRE_EQ(pnb_memcg_get_limit(dir, &lim), 0);
	ATF_CHECK_EQ(lim, 32 << 20);
	ATF_REQUIRE_EQ(pnb_memcg_create(dir, 1), 0);
	ATF_REQUIRE_EQ(pnb_memcg_get_limit(dir, &lim), 0);
	ATF_CHECK_MSG(lim > 32 << 20, "a fresh memcg kept the old limit %llu",
		      (unsigned long long)lim);
	ATF_CHECK_EQ(pnb_memcg_remove(dir, 1, 100, 20), 0);
}

ATF_TC(v2_needs_memory_controller);
ATF_TC_HEAD(v2_needs_memory_controller, tc)
{
	atf_tc_set_md_var(tc, "descr", "cgroup2: a memcg is made only where the memory "
			  "controller can be had (-ENODEV and nothing left behind otherwise, or "
			  "memory.max works); a plain cgroup needs no controller");
}
ATF_TC_BODY(v2_needs_memory_controller, tc)
{
	char mnt[256], d[600];
	uint64_t lim;
	int e;

	if (geteuid() != 0)
		pnb_skip("needs root to create a cgroup");
	if (pnb_cgroup2_mount("", mnt, sizeof mnt))
		pnb_skip("no cgroup2 mounted");
	snprintf(d, sizeof d, "%s/pnbtest-memcg2-%d", mnt, (int)getpid());
	e = pnb_memcg_create(d, 1);
	if (pnb_cgroup2_has_controller("", mnt, "memory") == 0) {
		ATF_REQUIRE_EQ_MSG(e, 0, "%s: %s", d, strerror(-e));
		ATF_CHECK_EQ(pnb_memcg_set_limit(d, 40 << 20), 0);
		ATF_CHECK_EQ(pnb_memcg_get_limit(d, &lim), 0);
		ATF_CHECK_EQ(lim, 40 << 20);
		ATF_CHECK_EQ(pnb_memcg_remove(d, 1, 100, 20), 0);
	} else {
		ATF_CHECK_MSG(e < 0, "memcg made where %s has no memory controller", mnt);
		ATF_CHECK_MSG(access(d, F_OK) != 0, "%s left behind", d);
	}
	ATF_REQUIRE_EQ(pnb_cgroup_mkdir(d, 1), 0);
	ATF_CHECK_EQ(pnb_memcg_version(d), 2);
	ATF_CHECK_EQ(pnb_memcg_remove(d, 1, 100, 20), 0);
}

/* RssAnon of this process, kB. */
static uint64_t rss_anon_kB(void)
{
	char buf[4096], *at;
	unsigned long long kB = 0;

	ATF_REQUIRE(pnb_read_file("", "/proc/self/status", buf, sizeof buf) > 0);
	ATF_REQUIRE_MSG((at = strstr(buf, "\nRssAnon:")) && sscanf(at, "\nRssAnon: %llu", &kB) == 1,
			"no RssAnon in /proc/self/status");
	return kB;
}

static void count_chunk(void *arg, uint64_t done)
{
	uint64_t *last = arg;
	ATF_CHECK_MSG(done > *last, "progress went from %llu to %llu", (unsigned long long)*last,
		      (unsigned long long)done);
	*last = done;
}

ATF_TC(hog_paced);
ATF_TC_HEAD(hog_paced, tc)
{
	atf_tc_set_md_var(tc, "descr", "pnb_hog_run: 8 MiB in 1 MiB chunks at 32 MiB/s take "
			  "about 250 ms, each chunk reported, every page resident");
}
ATF_TC_BODY(hog_paced, tc)
{
	uint64_t last = 0, rss0 = rss_anon_kB(), rss1;
	struct pnb_hog h = { .bytes = 8 << 20, .rate_bps = 32 << 20, .chunk = 1 << 20,
			     .progress = count_chunk, .arg = &last };

	uint64_t t0 = pnb_mono_ns();
	ATF_REQUIRE_EQ(pnb_hog_run(&h), 0);
	double s = (pnb_mono_ns() - t0) / 1e9;
	ATF_CHECK_EQ(last, 8 << 20);
	/* The last chunk is due at 8/32 s; a loaded host only adds. */
	ATF_CHECK_MSG(s >= 0.249 && s < 2, "8 MiB at 32 MiB/s took %.3f s", s);
	rss1 = rss_anon_kB();
	ATF_CHECK_MSG(rss1 - rss0 >= 8 * 1024, "RssAnon grew %llu kB, want >= 8192",
		      (unsigned long long)(rss1 - rss0));
}

ATF_TC_WITH_CLEANUP(hog_spawn_in_memcg);
ATF_TC_HEAD(hog_spawn_in_memcg, tc)
{
	atf_tc_set_md_var(tc, "descr", "pnb_hog_spawn: a child in a v1 memcg charges it the bytes "
			  "it touched and holds them until killed; with no byte count it is "
			  "stopped by the limit (OOM kill)");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(hog_spawn_in_memcg, tc)
{
	uint64_t usage = 0;
	char f[700], buf[64];
	int st;

	v1_dir();
	ATF_REQUIRE_EQ(pnb_memcg_create(dir, 1), 0);
	ATF_REQUIRE_EQ(pnb_memcg_set_limit(dir, 64 << 20), 0);
	pid_t pid = pnb_hog_spawn(&(struct pnb_hog){ .bytes = 16 << 20 }, dir);
	ATF_REQUIRE(pid > 0);
	snprintf(f, sizeof f, "%s/memory.usage_in_bytes", dir);
	for (int i = 0; i < 500 && usage < 16 << 20; i++) {
		ATF_REQUIRE(pnb_read_file("", f, buf, sizeof buf) > 0);
		usage = strtoull(buf, NULL, 10);
		usleep(10000);
	}
	ATF_CHECK_MSG(usage >= 16 << 20, "memcg charged %llu bytes, want >= 16 MiB",
		      (unsigned long long)usage);
	ATF_CHECK_EQ(waitpid(pid, &st, WNOHANG), 0);	/* holding */
	ATF_CHECK_EQ(pnb_memcg_remove(dir, 1, 100, 20), 0);
	ATF_REQUIRE_EQ(waitpid(pid, &st, 0), pid);
	ATF_CHECK(WIFSIGNALED(st));

	ATF_REQUIRE_EQ(pnb_memcg_create(dir, 1), 0);
	ATF_REQUIRE_EQ(pnb_memcg_set_limit(dir, 16 << 20), 0);
	pnb_memcg_no_swap(dir, 16 << 20);
	pid = pnb_hog_spawn(&(struct pnb_hog){ .chunk = 1 << 20 }, dir);
	ATF_REQUIRE(pid > 0);
	ATF_REQUIRE_EQ(waitpid(pid, &st, 0), pid);
	ATF_CHECK_MSG((WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) ||
		      (WIFEXITED(st) && WEXITSTATUS(st) == 4),
		      "unbounded hog under a 16 MiB limit: status %#x", st);
	ATF_CHECK_EQ(pnb_memcg_remove(dir, 1, 100, 20), 0);
}
ATF_TC_CLEANUP(hog_spawn_in_memcg, tc)
{
	v1_dir();
	pnb_memcg_remove(dir, 1, 100, 20);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, hog_paced);
	ATF_TP_ADD_TC(tp, hog_spawn_in_memcg);
	ATF_TP_ADD_TC(tp, v1_lifecycle);
	ATF_TP_ADD_TC(tp, fresh_replaces);
	ATF_TP_ADD_TC(tp, v2_needs_memory_controller);
	return atf_no_error();
}
