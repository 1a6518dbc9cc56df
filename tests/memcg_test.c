/* lib/memcg: the memory cgroup helpers the native backend, the conformance
 * suite and the tests share, on this host's live hierarchies. */
#include "testutil.h"
#include "cgroupfs.h"
#include "memcg.h"

#include <atf-c.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
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

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, v1_lifecycle);
	ATF_TP_ADD_TC(tp, fresh_replaces);
	ATF_TP_ADD_TC(tp, v2_needs_memory_controller);
	return atf_no_error();
}
