/* The one ground-truth rule (docs/metrics.md 3.1-3.2): which OOM kill,
 * reclaim and swap-out lines of a run are its onsets.  analyze and the
 * progress line (harness/events.c) both use it, so they agree on the
 * kills; conform and the guest watchdog can adopt it through the same
 * three calls: gt_from_event per "truth" line, gt_sort, gt_onsets. */
#ifndef PNB_GROUND_TRUTH_H
#define PNB_GROUND_TRUTH_H

#include "events_read.h"

#include <stddef.h>
#include <stdint.h>

#define GT_NONE INT64_MIN

enum gt_what { GT_W_OTHER, GT_W_WORKLOAD_START, GT_W_WORKLOAD_EXIT, GT_W_OOM_KILL,
	       GT_W_MARK_VICTIM, GT_W_KSWAPD_WAKE, GT_W_DIRECT_BEGIN, GT_W_MEMCG_BEGIN,
	       GT_W_RECLAIM_ONSET, GT_W_RECLAIM_RATE, GT_W_SWAPOUT_ONSET };
enum gt_source { GT_S_OTHER, GT_S_TRACEFS, GT_S_KMSG, GT_S_VMSTAT };

/* One "truth" line the rule looks at. */
struct gt_line {
	int64_t t;
	size_t seq;		/* line order: ties of t keep it */
	enum gt_what what;
	enum gt_source source;
	int64_t pid, tgid, delta;
	char kind[16];
	double count, bucket_ns;
};

/* A "truth" event at t (seq its line number) into x: 1 when it is one the
 * rule uses, else 0. */
int gt_from_event(struct evr_obj o, int64_t t, size_t seq, struct gt_line *x);
/* In time order, then line order: the rule's input. */
void gt_sort(struct gt_line *tr, size_t n);

struct gt_onsets {
	int64_t t_start;	/* first workload_start, GT_NONE when none */
	int workload_pid;	/* its pid, 0 unknown */
	int64_t t_oom, t_reclaim, t_direct, t_swapout;	/* GT_NONE when none */
	char oom_source[16], reclaim_source[16], direct_source[16];
	int oom_kills;
	int oom_from_vmstat;	/* only the vmstat counter said so */
};

/* The onsets of sorted lines.  memcg: the run's domain is a memory cgroup
 * (only the workload's kills count); trace_filtered: the recorder filtered
 * tracefs to the workload already.  0, or -ENOMEM. */
int gt_onsets(const struct gt_line *tr, size_t n, int memcg, int trace_filtered,
	      struct gt_onsets *out);

#endif
