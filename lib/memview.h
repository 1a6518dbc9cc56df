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
};

struct pnb_memview {
	enum pnb_domain domain;
	uint64_t total_kb;	/* MemTotal, or the cgroup limit */
	uint64_t free_kb;	/* MemFree, or limit - usage */
	uint64_t available_kb;	/* MemAvailable, or free + inactive_file + active_file */
	uint64_t anon_kb;	/* AnonPages, or stat anon (v2) / total_rss (v1) */
	uint64_t cache_kb;	/* Cached + Buffers, or stat file / total_cache */
	/* The Android LMK driver's two numbers (v4.9..v4.11 lowmemorykiller.c):
	 * other_free = free - totalreserve (system; memcg: free), and
	 * other_file = file pages - shmem - unevictable - swapcache. */
	uint64_t lmk_free_kb;
	uint64_t lmk_file_kb;
};

/* 0 or -errno; -EINVAL if the files are malformed, -ENOENT if one is missing. */
int pnb_memview_read(struct pnb_memview_src *src, struct pnb_memview *v);
const char *pnb_domain_name(enum pnb_domain d);

#endif
