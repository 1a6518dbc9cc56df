/* lib/memview.h: the three domains from captured and hand-made files, the
 * errors, and a live v1 memcg the test builds and fills itself.
 *
 * Fixtures (tests/data/memview/README says where each came from):
 *   ../proc/host-6.18   /proc of the development host (kernel 6.18.44)
 *   v1/                 a 64M v1 memcg captured with 20 MiB written through
 *                       the page cache, 4 MiB of /dev/shm and 8 MiB of anon
 *                       charged to it; variants of it beside it
 *   v2/                 a hand-made cgroup2 memcg (no cgroup2 memory
 *                       controller on the host to capture from)
 *   sys-* /             system-domain roots with one thing wrong */
#include <atf-c.h>

#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memview.h"
#include "procfs.h"

static char rootbuf[PATH_MAX];

static const char *root(const atf_tc_t *tc, const char *rel)
{
	snprintf(rootbuf, sizeof rootbuf, "%s/data/%s", atf_tc_get_config_var(tc, "srcdir"), rel);
	return rootbuf;
}

struct want {
	uint64_t total, free, avail, anon, cache, lmk_free, lmk_file;
};

static void check_view(const char *what, const struct pnb_memview *v, enum pnb_domain d,
		       const struct want *w)
{
#define F(field, wf) ATF_CHECK_MSG(v->field == w->wf, "%s: " #field " = %llu, want %llu", \
				   what, (unsigned long long)v->field, (unsigned long long)w->wf)
	ATF_CHECK_MSG(v->domain == d, "%s: domain %d, want %d", what, v->domain, d);
	F(total_kb, total);
	F(free_kb, free);
	F(available_kb, avail);
	F(anon_kb, anon);
	F(cache_kb, cache);
	F(lmk_free_kb, lmk_free);
	F(lmk_file_kb, lmk_file);
#undef F
}

static int read_memcg(const atf_tc_t *tc, const char *rel, enum pnb_domain d,
		      const char *dir, struct pnb_memview *v)
{
	struct pnb_memview_src src = { .root = root(tc, rel), .domain = d, .memcg_dir = dir };
	return pnb_memview_read(&src, v);
}

#define V1DIR "/sys/fs/cgroup/memory/"
#define V2DIR "/sys/fs/cgroup/unified/"

ATF_TC_WITHOUT_HEAD(names);
ATF_TC_BODY(names, tc)
{
	ATF_CHECK_STREQ(pnb_domain_name(PNB_DOMAIN_SYSTEM), "system");
	ATF_CHECK_STREQ(pnb_domain_name(PNB_DOMAIN_MEMCG_V1), "memcg_v1");
	ATF_CHECK_STREQ(pnb_domain_name(PNB_DOMAIN_MEMCG_V2), "memcg_v2");
	ATF_CHECK_STREQ(pnb_domain_name((enum pnb_domain)7), "unknown");
}

ATF_TC_WITHOUT_HEAD(system);
ATF_TC_BODY(system, tc)
{
	struct pnb_memview_src src = { .root = root(tc, "proc/host-6.18"),
				       .domain = PNB_DOMAIN_SYSTEM };
	struct pnb_memview v;
	long psz = sysconf(_SC_PAGESIZE);

	if (psz != 4096)
		pnb_skip("expected values assume 4 KiB pages; this host has %ld", psz);
	ATF_REQUIRE_EQ(pnb_memview_read(&src, &v), 0);
	/* From the fixture's meminfo:
	 *   MemTotal 24683620, MemFree 24252276, MemAvailable 24331680,
	 *   AnonPages 16132, Cached 260744 + Buffers 1656 = 262400.
	 * zoneinfo: totalreserve 31026 pages (see procfs_test) = 124104 kB, so
	 *   lmk_free = 24252276 - 124104 = 24128172;
	 *   lmk_file = 262400 - Shmem 8884 - Unevictable 16028 = 237488. */
	check_view("host-6.18", &v, PNB_DOMAIN_SYSTEM, &(struct want){
		24683620, 24252276, 24331680, 16132, 262400, 24128172, 237488 });
	ATF_CHECK_EQ(src.totalreserve_pages, 31026);

	/* Once known, totalreserve is not read again: this root has no
	 * zoneinfo at all. */
	src.root = root(tc, "memview/sys-nozone");
	ATF_CHECK_EQ(pnb_memview_read(&src, &v), 0);
	ATF_CHECK_EQ(v.lmk_free_kb, 24128172);
	src.totalreserve_pages = 1000;	/* 4000 kB */
	ATF_CHECK_EQ(pnb_memview_read(&src, &v), 0);
	ATF_CHECK_EQ(v.lmk_free_kb, 24252276 - 4000);
	/* A reserve above MemFree clamps at 0 as the driver's int went < 0. */
	src.totalreserve_pages = 24252276 / 4 + 1;
	ATF_CHECK_EQ(pnb_memview_read(&src, &v), 0);
	ATF_CHECK_EQ(v.lmk_free_kb, 0);
	src.totalreserve_pages = 0;
	ATF_CHECK_EQ(pnb_memview_read(&src, &v), -ENOENT);
}

ATF_TC_WITHOUT_HEAD(system_errors);
ATF_TC_BODY(system_errors, tc)
{
	struct pnb_memview_src src = { .domain = PNB_DOMAIN_SYSTEM };
	struct pnb_memview v;

	src.root = root(tc, "memview/sys-nomemavail");
	ATF_CHECK_EQ(pnb_memview_read(&src, &v), -EINVAL);
	src.root = root(tc, "memview/sys-badzone");
	ATF_CHECK_EQ(pnb_memview_read(&src, &v), -EINVAL);
	ATF_CHECK_EQ(src.totalreserve_pages, 0);
	ATF_CHECK_EQ(v.total_kb, 0);	/* zeroed on error */
	ATF_CHECK_EQ(v.domain, PNB_DOMAIN_SYSTEM);
	src.root = root(tc, "memview/nonexistent");
	ATF_CHECK_EQ(pnb_memview_read(&src, &v), -ENOENT);
	src.domain = (enum pnb_domain)7;
	ATF_CHECK_EQ(pnb_memview_read(&src, &v), -EINVAL);
}

ATF_TC_WITHOUT_HEAD(v1);
ATF_TC_BODY(v1, tc)
{
	struct pnb_memview v;

	/* limit 67108864 B = 65536 kB; usage 47853568 B = 46732 kB, so
	 * free = 18804.  total_inactive_file 25042944 B = 24456 kB and
	 * total_active_file 159744 B = 156 kB: available = 18804 + 24612 =
	 * 43416.  total_rss 17235968 B = 16832 kB; total_cache 29413376 B =
	 * 28724 kB, of which total_shmem 4194304 B = 4096 kB, unevictable and
	 * swapcached 0: lmk_file = 24628. */
	const struct want w = { 65536, 18804, 43416, 16832, 28724, 18804, 24628 };

	ATF_REQUIRE_EQ(read_memcg(tc, "memview/v1", PNB_DOMAIN_MEMCG_V1,
				  V1DIR "pnbdev-memview", &v), 0);
	check_view("v1", &v, PNB_DOMAIN_MEMCG_V1, &w);
	/* A trailing slash on the directory changes nothing. */
	ATF_REQUIRE_EQ(read_memcg(tc, "memview/v1", PNB_DOMAIN_MEMCG_V1,
				  V1DIR "pnbdev-memview/", &v), 0);
	check_view("v1 slash", &v, PNB_DOMAIN_MEMCG_V1, &w);
}

ATF_TC_WITHOUT_HEAD(v1_unlimited);
ATF_TC_BODY(v1_unlimited, tc)
{
	struct pnb_memview v;
	/* No limit (PAGE_COUNTER_MAX), or 100 GiB on a 24 GiB machine: the
	 * domain is the fixture's MemTotal 24683620; free = 24683620 - 46732
	 * = 24636888; available adds 24612 of file LRU pages = 24661500. */
	const struct want w = { 24683620, 24636888, 24661500, 16832, 28724, 24636888, 24628 };

	ATF_REQUIRE_EQ(read_memcg(tc, "memview/v1", PNB_DOMAIN_MEMCG_V1,
				  V1DIR "unlimited", &v), 0);
	check_view("v1 unlimited", &v, PNB_DOMAIN_MEMCG_V1, &w);
	ATF_REQUIRE_EQ(read_memcg(tc, "memview/v1", PNB_DOMAIN_MEMCG_V1,
				  V1DIR "biglimit", &v), 0);
	check_view("v1 100G", &v, PNB_DOMAIN_MEMCG_V1, &w);
}

ATF_TC_WITHOUT_HEAD(v1_errors);
ATF_TC_BODY(v1_errors, tc)
{
	static const struct { const char *dir; int err; } cases[] = {
		{ V1DIR "bad-limit", -EINVAL },		/* "67108864x" */
		{ V1DIR "empty-limit", -EINVAL },
		{ V1DIR "bad-stat-number", -EINVAL },	/* "4l94304" */
		{ V1DIR "no-total-keys", -EINVAL },	/* only the local keys */
		{ V1DIR "no-stat", -ENOENT },
		{ V1DIR "no-usage", -ENOENT },
		{ V1DIR "nonexistent", -ENOENT },
	};
	struct pnb_memview v;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int r = read_memcg(tc, "memview/v1", PNB_DOMAIN_MEMCG_V1, cases[i].dir, &v);
		ATF_CHECK_MSG(r == cases[i].err, "%s: r=%d, want %d", cases[i].dir, r, cases[i].err);
		ATF_CHECK_MSG(v.total_kb == 0 && v.domain == PNB_DOMAIN_MEMCG_V1,
			      "%s: view not reset on error", cases[i].dir);
	}
	/* A memcg domain needs its directory. */
	ATF_CHECK_EQ(read_memcg(tc, "memview/v1", PNB_DOMAIN_MEMCG_V1, NULL, &v), -EINVAL);
	ATF_CHECK_EQ(read_memcg(tc, "memview/v1", PNB_DOMAIN_MEMCG_V1, "", &v), -EINVAL);
}

ATF_TC_WITHOUT_HEAD(v2);
ATF_TC_BODY(v2, tc)
{
	struct pnb_memview v;

	/* memory.current 167772160 B = 163840 kB.  stat: anon 51200 kB,
	 * file 102400 kB (shmem 8192, unevictable 4096, swapcached 1024:
	 * lmk_file = 89088), inactive_file 59392 + active_file 30720 = 90112.
	 *
	 * memory.max 268435456 = 262144 kB: free = 98304, available 188416. */
	ATF_REQUIRE_EQ(read_memcg(tc, "memview/v2", PNB_DOMAIN_MEMCG_V2, V2DIR "limited", &v), 0);
	check_view("v2 limited", &v, PNB_DOMAIN_MEMCG_V2, &(struct want){
		262144, 98304, 188416, 51200, 102400, 98304, 89088 });
	/* memory.max "max": MemTotal 24683620, free 24519780, available
	 * 24519780 + 90112 = 24609892. */
	ATF_REQUIRE_EQ(read_memcg(tc, "memview/v2", PNB_DOMAIN_MEMCG_V2, V2DIR "pnbtest", &v), 0);
	check_view("v2 max", &v, PNB_DOMAIN_MEMCG_V2, &(struct want){
		24683620, 24519780, 24609892, 51200, 102400, 24519780, 89088 });
	/* memory.max lowered to 131072 kB under a 163840 kB usage (the kernel
	 * allows it while it reclaims): free clamps at 0. */
	ATF_REQUIRE_EQ(read_memcg(tc, "memview/v2", PNB_DOMAIN_MEMCG_V2, V2DIR "over", &v), 0);
	check_view("v2 over", &v, PNB_DOMAIN_MEMCG_V2, &(struct want){
		131072, 0, 90112, 51200, 102400, 0, 89088 });
	/* Kernels before the swapcached key: nothing to subtract. */
	ATF_REQUIRE_EQ(read_memcg(tc, "memview/v2", PNB_DOMAIN_MEMCG_V2, V2DIR "no-swapcached", &v), 0);
	ATF_CHECK_EQ(v.lmk_file_kb, 90112);
}

ATF_TC_WITHOUT_HEAD(v2_errors);
ATF_TC_BODY(v2_errors, tc)
{
	static const struct { const char *dir; int err; } cases[] = {
		{ V2DIR "bad-max", -EINVAL },		/* "maxx" */
		{ V2DIR "neg-max", -EINVAL },		/* "-1" */
		{ V2DIR "bad-current", -EINVAL },	/* two lines */
		{ V2DIR "no-file", -EINVAL },		/* stat without "file" */
		{ V2DIR "no-max", -ENOENT },
		{ V2DIR "nonexistent", -ENOENT },
	};
	struct pnb_memview v;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int r = read_memcg(tc, "memview/v2", PNB_DOMAIN_MEMCG_V2, cases[i].dir, &v);
		ATF_CHECK_MSG(r == cases[i].err, "%s: r=%d, want %d", cases[i].dir, r, cases[i].err);
	}
	/* The memcg files are there but /proc/meminfo is not. */
	ATF_CHECK_EQ(read_memcg(tc, "memview/nomeminfo", PNB_DOMAIN_MEMCG_V2,
				V2DIR "pnbtest", &v), -ENOENT);
	/* v1 files read as v2 (wrong domain for the directory): missing. */
	ATF_CHECK_EQ(read_memcg(tc, "memview/v1", PNB_DOMAIN_MEMCG_V2,
				V1DIR "pnbdev-memview", &v), -ENOENT);
}

ATF_TC_WITHOUT_HEAD(live_system);
ATF_TC_BODY(live_system, tc)
{
	struct pnb_memview_src src = { .root = "", .domain = PNB_DOMAIN_SYSTEM };
	struct pnb_memview v;
	struct pnb_kv mi;
	uint64_t total;

	ATF_REQUIRE_EQ(pnb_read_meminfo("", &mi), 0);
	ATF_REQUIRE_EQ(pnb_kv_get(&mi, "MemTotal", &total), 0);
	ATF_REQUIRE_EQ(pnb_memview_read(&src, &v), 0);
	ATF_CHECK_EQ(v.total_kb, total);
	ATF_CHECK(v.free_kb <= v.total_kb && v.available_kb <= v.total_kb);
	ATF_CHECK(v.lmk_free_kb < v.free_kb);	/* every zone has a high watermark */
	ATF_CHECK(v.lmk_file_kb <= v.cache_kb);
	ATF_CHECK(src.totalreserve_pages > 0);
}

/* A v1 memcg the test makes: 64M limit, 8 MiB written into the page cache
 * by a child inside it. */
#define LIVE_LIMIT_KB 65536
#define LIVE_FILE_KB 8192

/* A fixed name: kyua runs the cleanup in another process. */
#define LIVE_CG "/sys/fs/cgroup/memory/pnbtest-memview"

ATF_TC_WITH_CLEANUP(live_v1);
ATF_TC_HEAD(live_v1, tc)
{
	atf_tc_set_md_var(tc, "descr", "a 64M v1 memcg holding 8 MiB of page cache");
	atf_tc_set_md_var(tc, "require.user", "root");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(live_v1, tc)
{
	const char *cg = LIVE_CG;
	char file[PATH_MAX + 16], cwd[PATH_MAX];
	struct pnb_memview_src src = { .root = "", .domain = PNB_DOMAIN_MEMCG_V1 };
	struct pnb_memview v;
	int ready[2], done[2];
	pid_t pid;
	char c;

	if (access("/sys/fs/cgroup/memory/cgroup.procs", F_OK))
		pnb_skip("no cgroup v1 memory hierarchy at /sys/fs/cgroup/memory");
	(void)rmdir(cg);
	ATF_REQUIRE_MSG(mkdir(cg, 0755) == 0, "mkdir %s: %s", cg, strerror(errno));
	ATF_REQUIRE_EQ(pnb_write_file("", strcat(strcpy(file, cg), "/memory.limit_in_bytes"),
				      "64M", 0), 0);
	src.memcg_dir = cg;
	ATF_REQUIRE_EQ(pnb_memview_read(&src, &v), 0);
	ATF_CHECK_EQ(v.total_kb, LIVE_LIMIT_KB);
	ATF_CHECK_EQ(v.cache_kb, 0);

	ATF_REQUIRE(getcwd(cwd, sizeof cwd));
	snprintf(file, sizeof file, "%s/fill", cwd);
	ATF_REQUIRE_EQ(pipe(ready), 0);
	ATF_REQUIRE_EQ(pipe(done), 0);
	pid = fork();
	ATF_REQUIRE(pid >= 0);
	if (pid == 0) {
		static char block[1024 * 1024];
		char p[300], me[32];
		int fd, ok = 1;

		/* Only the parent's ends stay open, or EOF never comes. */
		close(ready[0]);
		close(done[1]);
		snprintf(p, sizeof p, "%s/cgroup.procs", cg);
		snprintf(me, sizeof me, "%d", (int)getpid());
		if (pnb_write_file("", p, me, 0))
			_exit(2);
		memset(block, 'x', sizeof block);
		fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		for (int i = 0; fd >= 0 && i < LIVE_FILE_KB / 1024; i++)
			ok &= write(fd, block, sizeof block) == (ssize_t)sizeof block;
		if (fd < 0 || !ok || fsync(fd))
			_exit(3);
		close(fd);
		(void)!write(ready[1], "r", 1);
		(void)!read(done[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	ATF_REQUIRE_EQ(read(ready[0], &c, 1), 1);
	ATF_REQUIRE_EQ(pnb_memview_read(&src, &v), 0);
	close(done[1]);
	{
		int st;
		ATF_REQUIRE_EQ(waitpid(pid, &st, 0), pid);
		ATF_CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
	}
	unlink(file);
	ATF_CHECK_EQ(v.total_kb, LIVE_LIMIT_KB);
	ATF_CHECK_MSG(v.cache_kb >= LIVE_FILE_KB, "cache %llu kB < %d kB written",
		      (unsigned long long)v.cache_kb, LIVE_FILE_KB);
	ATF_CHECK(v.free_kb <= LIVE_LIMIT_KB - LIVE_FILE_KB);
	ATF_CHECK_EQ(v.lmk_free_kb, v.free_kb);
	ATF_CHECK(v.available_kb >= v.free_kb + LIVE_FILE_KB);
	ATF_CHECK(v.available_kb <= v.total_kb);
	ATF_CHECK_MSG(rmdir(cg) == 0, "rmdir %s: %s", cg, strerror(errno));
}
ATF_TC_CLEANUP(live_v1, tc)
{
	/* Charged page cache does not keep a v1 memcg alive; the child is gone. */
	(void)rmdir(LIVE_CG);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, names);
	ATF_TP_ADD_TC(tp, system);
	ATF_TP_ADD_TC(tp, system_errors);
	ATF_TP_ADD_TC(tp, v1);
	ATF_TP_ADD_TC(tp, v1_unlimited);
	ATF_TP_ADD_TC(tp, v1_errors);
	ATF_TP_ADD_TC(tp, v2);
	ATF_TP_ADD_TC(tp, v2_errors);
	ATF_TP_ADD_TC(tp, live_system);
	ATF_TP_ADD_TC(tp, live_v1);
	return atf_no_error();
}
