/* What pnbench's own kernel modules hand to user space: one fixed-size
 * record per read(2) unit, the same bytes on both sides (this header is
 * included by the modules and by probes/klmk.c, memnotify.c, simplelmk.c).
 *
 * Every record starts with seq (1, 2, ... per module load: a gap means
 * records were overwritten before they were read) and t_ns, the kernel's
 * CLOCK_MONOTONIC (ktime_get_ns()) at the moment the mechanism decided.
 * The reader stamps its own CLOCK_MONOTONIC when read() returns, so
 * delivery latency is read time minus t_ns on one clock.
 *
 * Devices (misc, dynamic minor, created by devtmpfs):
 *   /dev/pnb_klmk        pnb_klmk.ko       every reader gets every record
 *   /dev/mem_notify      pnb_memnotify.ko  one record per delivered wake-up
 *   /dev/pnb_simplelmk   pnb_simplelmk.ko  every reader gets every record
 * read() returns whole records only (EINVAL for a buffer smaller than one),
 * blocks unless O_NONBLOCK (then EAGAIN); poll() says POLLIN while a
 * record is waiting for this open file. */
#ifndef PNB_KMOD_H
#define PNB_KMOD_H

#include <linux/types.h>

#define PNB_KMOD_ABI 1

/* Module names as finit_module and /sys/module know them. */
#define PNB_KLMK_NAME "pnb_klmk"
#define PNB_MEMNOTIFY_NAME "pnb_memnotify"
#define PNB_SIMPLELMK_NAME "pnb_simplelmk"

#define PNB_KLMK_DEV "/dev/pnb_klmk"
#define PNB_MEMNOTIFY_DEV "/dev/mem_notify"
#define PNB_SIMPLELMK_DEV "/dev/pnb_simplelmk"

/* pnb_klmk: one lowmem_scan() decision (see pnb_klmk.c for when one is
 * recorded). */
struct pnb_klmk_event {
	__u64 seq;
	__u64 t_ns;
	__s64 other_free;	/* pages: NR_FREE_PAGES - reserve (may be < 0) */
	__s64 other_file;	/* pages: file - shmem - unevictable - swapcache */
	__u64 reserve_pages;	/* our stand-in for totalreserve_pages */
	__u64 scan_calls;	/* scan_objects calls since the previous record */
	__u64 victim_rss;	/* pages (get_mm_rss) */
	__s32 min_score_adj;	/* the level's adj */
	__s32 level_idx;	/* index into minfree/adj */
	__s32 minfree;		/* pages: the threshold crossed */
	__s32 victim_pid;	/* 0: nobody eligible */
	__s32 victim_adj;
	__u32 killed;		/* 1: SIGKILL sent (kill mode) */
	__u32 kswapd;		/* 1: called from kswapd, 0: direct reclaim or drop_caches */
	__u32 reclaim_pid;	/* the task whose reclaim called us */
	char victim_comm[16];
};

/* pnb_memnotify: one wake-up of one open file. */
struct pnb_memnotify_event {
	__u64 seq;		/* the notification's number (shared by every file it reached) */
	__u64 t_ns;		/* when the kernel decided to notify */
	__u64 nr_deactivated;	/* anon pages the triggering shrink_active_list() deactivated */
	__u64 missed;		/* notifications this file was not given since its last read */
	__u32 listeners;	/* files open on the device at that moment */
	__u32 delivered;	/* files this notification was delivered to */
	__u32 rank;		/* this file's place in that delivery, 0 = first */
	__s32 priority;		/* reclaim priority of the triggering scan */
	__u32 kswapd;		/* 1: the trigger ran in kswapd */
	__u32 injected;		/* 1: written to the device (tests), not from reclaim */
};

/* pnb_simplelmk: reclaim priority reached the threshold. */
struct pnb_simplelmk_event {
	__u64 seq;
	__u64 t_ns;
	__u64 free_pages;	/* NR_FREE_PAGES at that moment */
	__s32 priority;		/* sc->priority of the shrink_slab() pass */
	__s32 threshold;	/* the aggression it was compared with */
	__u32 kswapd;		/* 1: kswapd (simple_lmk's trigger), 0: direct reclaim */
	__u32 reclaim_pid;
	__s32 nid;
	__u32 pad;
};

#endif
