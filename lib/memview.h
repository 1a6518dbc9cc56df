/* The memory domain a workload lives in, seen the same way whether it is
 * the whole machine (guest runs: /proc/meminfo, /proc/zoneinfo) or a memory
 * cgroup with a limit (native runs: v1 memory.limit_in_bytes/usage/stat or
 * v2 memory.max/current/stat).  The MemAvailable threshold probe, the LMK
 * rule and the sampler all read it through here, so they agree. */
#ifndef PNB_MEMVIEW_H
#define PNB_MEMVIEW_H

#include <stdint.h>

enum pnb_domain {
	PNB_DOMAIN_SYSTEM = 0,
	PNB_DOMAIN_MEMCG_V1 = 1,
	PNB_DOMAIN_MEMCG_V2 = 2,
};

struct pnb_memview_src {
	const char *root;		/* "" live, or a directory of captured files */
	enum pnb_domain domain;
	const char *memcg_dir;		/* absolute cgroup dir for the memcg domains */
	uint64_t totalreserve_pages;	/* system: 0 = read /proc/zoneinfo once, then cached here */
	uint64_t memtotal_kb;		/* memcgs: 0 = read MemTotal once, then cached here */
	/* 1: keep the files open and pread them from 0 on every read (a
	 * poller's path walks were a third of its CPU); live root only.
	 * pnb_memview_src_close() closes them.  fd[] holds fd + 1. */
	int keep_open;
	int fd[4];
};

/* Close the files keep_open kept (the probe's close()). */
void pnb_memview_src_close(struct pnb_memview_src *src);

/* All fields in kB.  System domain (meminfo names):
 *   total = MemTotal, free = MemFree, available = MemAvailable,
 *   anon = AnonPages, cache = Cached + Buffers.
 * Memcg domains (v1 memory.stat total_* keys, which are hierarchical; v2
 * memory.stat keys, hierarchical by definition; all in bytes there):
 *   total = the limit (v1 memory.limit_in_bytes, v2 memory.max), but
 *           MemTotal when the limit is "max" (v2), PAGE_COUNTER_MAX
 *           (v1 9223372036854771712) or anything above MemTotal: such a
 *           limit bounds nothing, the machine does;
 *   free = total - usage (v1 usage_in_bytes, v2 memory.current; both
 *          include kernel memory charged to the group), clamped at 0;
 *   available = free + inactive_file + active_file, capped at total;
 *   anon = total_rss (v1) / anon (v2);
 *   cache = total_cache (v1) / file (v2), shmem included. */
struct pnb_memview {
	enum pnb_domain domain;
	uint64_t total_kb;
	uint64_t free_kb;
	uint64_t available_kb;
	uint64_t anon_kb;
	uint64_t cache_kb;
	/* The Android LMK driver's two numbers (v4.9..v4.11 lowmemorykiller.c):
	 * other_free = NR_FREE_PAGES - totalreserve_pages and other_file =
	 * NR_FILE_PAGES - NR_SHMEM - NR_UNEVICTABLE - swapcache, clamped at 0
	 * where the driver's int would go negative.
	 * System: lmk_free = MemFree - totalreserve (from /proc/zoneinfo);
	 *   lmk_file = Cached + Buffers - Shmem - Unevictable (meminfo's Cached
	 *   already excludes SwapCached and Buffers from NR_FILE_PAGES).
	 * Memcg: lmk_free = free (a memcg has no watermark reserve: charges
	 *   fail only at the limit); lmk_file = cache - shmem - unevictable -
	 *   swapcached (v1 total_swapcached / v2 swapcached, 0 when the kernel
	 *   lacks the key).  The memcg's unevictable mixes anon and file pages
	 *   and the file part is not reported separately: all of it is
	 *   subtracted, as the driver did with the global NR_UNEVICTABLE. */
	uint64_t lmk_free_kb;
	uint64_t lmk_file_kb;
};

/* 0 or -errno; -EINVAL if the files are malformed (a needed key absent
 * counts), -ENOENT if one is missing.  Memcg domains read /proc/meminfo too
 * (for MemTotal).  On error *v is zeroed but for v->domain. */
int pnb_memview_read(struct pnb_memview_src *src, struct pnb_memview *v);
/* "system", "memcg_v1", "memcg_v2": the "domain" value in sample events. */
const char *pnb_domain_name(enum pnb_domain d);

#endif
