/* lib/procfs.h against files captured on the development host (kernel
 * 6.18.44, 2 CPUs, 24 GiB, tests/data/proc/host-6.18/) and hand-made broken
 * ones (tests/data/proc/malformed/, tests/data/proc/handmade/).  Expected
 * values are read off the fixture files by eye, not recomputed by code. */
#include <atf-c.h>

#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procfs.h"

static char host_root[PATH_MAX];

static const char *data(const atf_tc_t *tc, const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/data/proc/%s", atf_tc_get_config_var(tc, "srcdir"), rel);
	return buf;
}

static const char *host(const atf_tc_t *tc)
{
	return data(tc, "host-6.18", host_root, sizeof host_root);
}

/* Whole fixture file as text, from the malformed/ or handmade/ set. */
static char *slurp(const atf_tc_t *tc, const char *rel)
{
	static char text[1 << 20];
	char dir[PATH_MAX];
	ssize_t n = pnb_read_file(data(tc, "", dir, sizeof dir), rel, text, sizeof text);

	ATF_REQUIRE_MSG(n >= 0, "%s: %s", rel, strerror((int)-n));
	return text;
}

static void expect_kv(const struct pnb_kv *kv, const char *key, uint64_t want)
{
	uint64_t v = 0;
	int r = pnb_kv_get(kv, key, &v);

	ATF_CHECK_MSG(r == 0, "%s: missing (%d)", key, r);
	ATF_CHECK_MSG(v == want, "%s: got %llu, want %llu", key,
		      (unsigned long long)v, (unsigned long long)want);
}

static struct pnb_kv kv;

ATF_TC_WITHOUT_HEAD(meminfo_host);
ATF_TC_BODY(meminfo_host, tc)
{
	ATF_REQUIRE_EQ(pnb_read_meminfo(host(tc), &kv), 0);
	/* `grep -c . proc/meminfo` = 53. */
	ATF_CHECK_EQ(kv.n, 53);
	ATF_CHECK_STREQ(kv.e[0].key, "MemTotal");
	ATF_CHECK_STREQ(kv.e[kv.n - 1].key, "DirectMap2M");
	expect_kv(&kv, "MemTotal", 24683620);
	expect_kv(&kv, "MemFree", 24252276);
	expect_kv(&kv, "MemAvailable", 24331680);
	expect_kv(&kv, "Buffers", 1656);
	expect_kv(&kv, "Cached", 260744);
	expect_kv(&kv, "Active(anon)", 1544);
	expect_kv(&kv, "Unevictable", 16028);
	expect_kv(&kv, "Shmem", 8884);
	expect_kv(&kv, "AnonPages", 16132);
	expect_kv(&kv, "VmallocTotal", 34359738367ULL);
	expect_kv(&kv, "DirectMap2M", 25139200);
	/* Lines without a unit are counts, kept as they are. */
	expect_kv(&kv, "HugePages_Total", 0);
	expect_kv(&kv, "Hugepagesize", 2048);
	ATF_CHECK_EQ(pnb_kv_get(&kv, "MemTotal ", &(uint64_t){0}), -ENOENT);
	ATF_CHECK_EQ(pnb_kv_get(&kv, "memtotal", &(uint64_t){0}), -ENOENT);
	ATF_CHECK_EQ(pnb_kv_or(&kv, "NoSuchKey", 77), 77);
	ATF_CHECK_EQ(pnb_kv_or(&kv, "Buffers", 77), 1656);
}

ATF_TC_WITHOUT_HEAD(vmstat_host);
ATF_TC_BODY(vmstat_host, tc)
{
	ATF_REQUIRE_EQ(pnb_read_kv(host(tc), "/proc/vmstat", &kv), 0);
	ATF_CHECK_EQ(kv.n, 192);
	ATF_CHECK_STREQ(kv.e[0].key, "nr_free_pages");
	ATF_CHECK_STREQ(kv.e[kv.n - 1].key, "nr_unstable");
	expect_kv(&kv, "nr_free_pages", 1160345);
	expect_kv(&kv, "nr_file_pages", 65600);
	expect_kv(&kv, "pgfault", 3550006);
	expect_kv(&kv, "pgpgin", 1708985);
	expect_kv(&kv, "workingset_refault_file", 136203);
	expect_kv(&kv, "oom_kill", 0);
	ATF_CHECK_EQ(pnb_kv_get(&kv, "nr_free", &(uint64_t){0}), -ENOENT);
}

ATF_TC_WITHOUT_HEAD(memcg_stat_host);
ATF_TC_BODY(memcg_stat_host, tc)
{
	/* A v1 memcg limited to 32M after 300M was streamed through it. */
	const char *d = "/sys/fs/cgroup/memory/pnbdev-memview/";
	char p[256];

	snprintf(p, sizeof p, "%smemory.stat", d);
	ATF_REQUIRE_EQ(pnb_read_kv(host(tc), p, &kv), 0);
	ATF_CHECK_EQ(kv.n, 42);
	expect_kv(&kv, "cache", 15785984);
	expect_kv(&kv, "total_cache", 15785984);
	expect_kv(&kv, "total_inactive_file", 15667200);
	expect_kv(&kv, "total_active_file", 118784);
	expect_kv(&kv, "pgpgin", 26851);
	expect_kv(&kv, "hierarchical_memory_limit", 33554432);
	expect_kv(&kv, "hierarchical_memsw_limit", 9223372036854771712ULL);
	expect_kv(&kv, "total_unevictable", 0);
	/* Single-number files are not "key value": the kv parser refuses. */
	snprintf(p, sizeof p, "%smemory.limit_in_bytes", d);
	ATF_CHECK_EQ(pnb_read_kv(host(tc), p, &kv), -EINVAL);
}

ATF_TC_WITHOUT_HEAD(psi_host);
ATF_TC_BODY(psi_host, tc)
{
	struct pnb_psi psi;

	ATF_REQUIRE_EQ(pnb_read_psi(host(tc), "/proc/pressure/memory", &psi), 0);
	ATF_CHECK(psi.some.present && psi.full.present);
	ATF_CHECK_EQ(psi.some.avg10, 0.74);
	ATF_CHECK_EQ(psi.some.avg60, 0.15);
	ATF_CHECK_EQ(psi.some.avg300, 0.03);
	ATF_CHECK_EQ(psi.some.total_us, 101140);
	ATF_CHECK_EQ(psi.full.avg10, 0.59);
	ATF_CHECK_EQ(psi.full.avg60, 0.12);
	ATF_CHECK_EQ(psi.full.avg300, 0.02);
	ATF_CHECK_EQ(psi.full.total_us, 98600);
	/* Pre-5.x /proc/pressure/cpu has no "full" line: still valid. */
	ATF_CHECK_EQ(pnb_parse_psi("some avg10=1.00 avg60=2.00 avg300=3.00 total=4\n", &psi), 0);
	ATF_CHECK(psi.some.present && !psi.full.present);
	ATF_CHECK_EQ(psi.some.total_us, 4);
	ATF_CHECK_EQ(psi.some.avg300, 3.0);
}

ATF_TC_WITHOUT_HEAD(zoneinfo_host);
ATF_TC_BODY(zoneinfo_host, tc)
{
	struct pnb_zoneinfo zi;

	ATF_REQUIRE_EQ(pnb_read_zoneinfo(host(tc), &zi), 0);
	ATF_CHECK_EQ(zi.nzones, 5);
	/* pages free: 3840 + 772808 + 383697 + 0 + 0, the same as vmstat's
	 * nr_free_pages captured at the same moment. */
	ATF_CHECK_EQ(zi.free_pages, 1160345);
	/* Per zone min(max(protection) + high - boost, managed), boost 0:
	 *   DMA     min(4938 + 75,    3840)   = 3840
	 *   DMA32   min(1920 + 15444, 772808) = 17364
	 *   Normal  min(0 + 9822,     491520) = 9822
	 *   Movable min(0 + 32,       0)      = 0
	 *   Device  min(0 + 0,        0)      = 0
	 * sum 31026 pages. */
	ATF_CHECK_EQ(zi.totalreserve_pages, 31026);
}

ATF_TC_WITHOUT_HEAD(zoneinfo_boost);
ATF_TC_BODY(zoneinfo_boost, tc)
{
	struct pnb_zoneinfo zi;

	ATF_REQUIRE_EQ(pnb_parse_zoneinfo(slurp(tc, "handmade/zoneinfo-boost"), &zi), 0);
	ATF_CHECK_EQ(zi.nzones, 4);
	ATF_CHECK_EQ(zi.free_pages, 3840 + 383697 + 100000);
	/* Node 0 DMA     min(4938 + 75, 3840)            = 3840
	 * Node 0 Normal  min(0 + 10822 - 1000, 491520)   = 9822 (boost out)
	 * Node 1 Normal  min(0 + 5000, 260000)           = 5000
	 * Node 1 Movable min(0 + 32, 0)                  = 0
	 * sum 18662; the pagesets' "high:" lines must not count. */
	ATF_CHECK_EQ(zi.totalreserve_pages, 18662);
}

struct bad { const char *file; int which; };
enum { MEMINFO, KV, PSI, ZONEINFO };

ATF_TC_WITHOUT_HEAD(malformed);
ATF_TC_BODY(malformed, tc)
{
	static const struct bad bad[] = {
		{ "meminfo-truncated", MEMINFO },	/* ends "Cach" */
		{ "meminfo-nonnumber", MEMINFO },	/* "12x4 kB" */
		{ "meminfo-unit", MEMINFO },		/* "MB" */
		{ "meminfo-cutunit", MEMINFO },		/* ends " k" */
		{ "meminfo-novalue", MEMINFO },		/* "MemFree:" */
		{ "meminfo-negative", MEMINFO },
		{ "vmstat-truncated", KV },		/* ends "nr_zone_inac" */
		{ "vmstat-nonnumber", KV },		/* letter O for 0 */
		{ "vmstat-twospaces", KV },
		{ "vmstat-negative", KV },
		{ "vmstat-overflow", KV },		/* 2^64 */
		{ "vmstat-longkey", KV },		/* 51 chars > PNB_KEY_LEN */
		{ "psi-nototal", PSI },
		{ "psi-sometwice", PSI },
		{ "psi-nosome", PSI },
		{ "psi-unknownkey", PSI },
		{ "psi-nonnumber", PSI },
		{ "psi-badkind", PSI },			/* "half" */
		{ "zoneinfo-nozones", ZONEINFO },
		{ "zoneinfo-empty", ZONEINFO },
		{ "zoneinfo-truncated", ZONEINFO },	/* zone cut before "high" */
		{ "zoneinfo-nonnumber", ZONEINFO },
		{ "zoneinfo-badprot", ZONEINFO },	/* a negative reserve */
		{ "zoneinfo-openprot", ZONEINFO },	/* no closing ')' */
	};
	struct pnb_psi psi;
	struct pnb_zoneinfo zi;
	char rel[128];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *text;
		int r = 0;

		snprintf(rel, sizeof rel, "malformed/%s", bad[i].file);
		text = slurp(tc, rel);
		switch (bad[i].which) {
		case MEMINFO: r = pnb_parse_meminfo(text, &kv); break;
		case KV: r = pnb_parse_kv(text, &kv); break;
		case PSI: r = pnb_parse_psi(text, &psi); break;
		case ZONEINFO: r = pnb_parse_zoneinfo(text, &zi); break;
		}
		ATF_CHECK_MSG(r == -EINVAL, "%s: r=%d, want -EINVAL", bad[i].file, r);
	}
}

ATF_TC_WITHOUT_HEAD(kv_full);
ATF_TC_BODY(kv_full, tc)
{
	static char text[PNB_KV_MAX * 16 + 64];
	size_t off = 0;

	for (int i = 0; i < PNB_KV_MAX; i++)
		off += (size_t)snprintf(text + off, sizeof text - off, "k%d %d\n", i, i);
	ATF_REQUIRE_EQ(pnb_parse_kv(text, &kv), 0);
	ATF_CHECK_EQ(kv.n, PNB_KV_MAX);
	expect_kv(&kv, "k319", 319);
	snprintf(text + off, sizeof text - off, "one_more 1\n");
	ATF_CHECK_EQ(pnb_parse_kv(text, &kv), -E2BIG);
	/* No trailing newline, blank lines: both fine. */
	ATF_REQUIRE_EQ(pnb_parse_kv("a 1\n\nb 2", &kv), 0);
	ATF_CHECK_EQ(kv.n, 2);
	expect_kv(&kv, "b", 2);
}

ATF_TC_WITHOUT_HEAD(read_file);
ATF_TC_BODY(read_file, tc)
{
	char buf[256], big[4096];
	struct stat st;
	ssize_t n;

	ATF_REQUIRE_EQ(stat(data(tc, "host-6.18/proc/pressure/memory", big, sizeof big), &st), 0);
	ATF_REQUIRE((size_t)st.st_size < sizeof buf);
	/* Exactly fits with its NUL; one byte less does not. */
	n = pnb_read_file(host(tc), "/proc/pressure/memory", buf, (size_t)st.st_size + 1);
	ATF_CHECK_EQ(n, st.st_size);
	ATF_CHECK_EQ(strlen(buf), (size_t)st.st_size);
	ATF_CHECK_EQ(strncmp(buf, "some avg10=0.74 ", 16), 0);
	n = pnb_read_file(host(tc), "/proc/pressure/memory", buf, (size_t)st.st_size);
	ATF_CHECK_EQ(n, -EFBIG);
	ATF_CHECK_EQ(pnb_read_file(host(tc), "/proc/nonexistent", buf, sizeof buf), -ENOENT);
	ATF_CHECK_EQ(pnb_read_meminfo("/nonexistent-root", &kv), -ENOENT);
	/* Empty file: 0 bytes, empty string. */
	n = pnb_read_file(data(tc, "malformed", big, sizeof big), "zoneinfo-empty", buf, sizeof buf);
	ATF_CHECK_EQ(n, 0);
	ATF_CHECK_EQ(buf[0], 0);
}

ATF_TC_WITHOUT_HEAD(path);
ATF_TC_BODY(path, tc)
{
	char out[64];

	ATF_CHECK_EQ(pnb_path(out, sizeof out, "", "/proc/meminfo"), 0);
	ATF_CHECK_STREQ(out, "/proc/meminfo");
	ATF_CHECK_EQ(pnb_path(out, sizeof out, "/", "/proc/meminfo"), 0);
	ATF_CHECK_STREQ(out, "/proc/meminfo");
	ATF_CHECK_EQ(pnb_path(out, sizeof out, "/tmp/x", "/proc/meminfo"), 0);
	ATF_CHECK_STREQ(out, "/tmp/x/proc/meminfo");
	ATF_CHECK_EQ(pnb_path(out, sizeof out, "/tmp/x", "proc/meminfo"), 0);
	ATF_CHECK_STREQ(out, "/tmp/x/proc/meminfo");
	ATF_CHECK_EQ(pnb_path(out, 8, "/tmp/x", "/proc/meminfo"), -ENAMETOOLONG);
}

/* The live files parse too: the format of the running kernel is what the
 * recorder will meet. */
ATF_TC_WITHOUT_HEAD(live);
ATF_TC_BODY(live, tc)
{
	struct pnb_zoneinfo zi;
	uint64_t total;

	ATF_REQUIRE_EQ(pnb_read_meminfo("", &kv), 0);
	ATF_CHECK_EQ(pnb_kv_get(&kv, "MemTotal", &total), 0);
	ATF_CHECK(total > 0);
	ATF_CHECK_EQ(pnb_read_kv("", "/proc/vmstat", &kv), 0);
	ATF_CHECK_EQ(pnb_read_zoneinfo("", &zi), 0);
	ATF_CHECK(zi.nzones > 0 && zi.totalreserve_pages > 0);
}

/* Apart from live so that a kernel without PSI is known before any check. */
ATF_TC_WITHOUT_HEAD(live_psi);
ATF_TC_BODY(live_psi, tc)
{
	struct pnb_psi psi;

	if (access("/proc/pressure/memory", R_OK))
		pnb_skip("no /proc/pressure/memory (CONFIG_PSI off or psi=0)");
	ATF_CHECK_EQ(pnb_read_psi("", "/proc/pressure/memory", &psi), 0);
	ATF_CHECK(psi.full.total_us <= psi.some.total_us);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, meminfo_host);
	ATF_TP_ADD_TC(tp, vmstat_host);
	ATF_TP_ADD_TC(tp, memcg_stat_host);
	ATF_TP_ADD_TC(tp, psi_host);
	ATF_TP_ADD_TC(tp, zoneinfo_host);
	ATF_TP_ADD_TC(tp, zoneinfo_boost);
	ATF_TP_ADD_TC(tp, malformed);
	ATF_TP_ADD_TC(tp, kv_full);
	ATF_TP_ADD_TC(tp, read_file);
	ATF_TP_ADD_TC(tp, path);
	ATF_TP_ADD_TC(tp, live);
	ATF_TP_ADD_TC(tp, live_psi);
	return atf_no_error();
}
