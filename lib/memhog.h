/* The one memory hog: private anonymous memory allocated and touched, all at
 * once or chunk by chunk at a rate, in this process or in a child inside a
 * memory cgroup.  The workloads (fixed-rate, swapless-fill, busy-beaver,
 * apps), the conformance suite and the tests all fill memory with it, so a
 * page allocated by any of them costs the kernel the same faults. */
#ifndef PNB_MEMHOG_H
#define PNB_MEMHOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* mmap len bytes of private anonymous memory, without transparent huge
 * pages, and write a non-zero byte to every page.  The mapping is never
 * unmapped: the caller keeps it (*out, may be NULL).  0 or -errno. */
int pnb_hog_touch(size_t len, char **out);

struct pnb_hog {
	uint64_t bytes;		/* the most to allocate; 0: until mmap fails */
	uint64_t rate_bps;	/* 0: as fast as possible */
	uint64_t chunk;		/* bytes per step, whole pages; 0: 1 MiB */
	/* Called after each chunk with the bytes allocated so far; may be NULL. */
	void (*progress)(void *arg, uint64_t done);
	void *arg;
};

/* Allocate and touch h->bytes chunk by chunk at h->rate_bps, each chunk due
 * at start + done / rate (deadlines from the start: sleep and fault time
 * never drift, a stall is caught up on).  0 when h->bytes are allocated,
 * -errno when an allocation failed. */
int pnb_hog_run(const struct pnb_hog *h);

/* pnb_hog_run in a forked child that first joins memcg_dir (NULL: stays in
 * the caller's cgroup) and, when it is done, holds its memory until killed.
 * The child exits 3 when it cannot join, 4 when an allocation failed.
 * Returns its pid, or -errno. */
pid_t pnb_hog_spawn(const struct pnb_hog *h, const char *memcg_dir);

#endif
