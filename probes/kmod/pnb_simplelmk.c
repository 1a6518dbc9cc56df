// SPDX-License-Identifier: GPL-2.0
/* pnb_simplelmk: the moment simple_lmk (Sultan Alsawaf, 2019; seed 001)
 * would have started killing.  simple_lmk's trigger is one call in
 * kswapd's balance_pgdat(): simple_lmk_decide_reclaim(sc.priority), which
 * wakes its reclaim thread when the priority equals
 * CONFIG_ANDROID_SIMPLE_LMK_AGGRESSION (1..3, default 1; 3 fires earliest,
 * since the priority falls from DEF_PRIORITY = 12 towards 0 while kswapd
 * fails to meet the watermarks), and only if it is not already killing.
 *
 * This module watches the tracepoint mm_vmscan_lru_shrink_inactive, which
 * shrink_inactive_list() (and MGLRU's evict_folios()) emit with the
 * reclaim priority of the pass, found by name since it is not exported.
 * Parameters (/sys/module/pnb_simplelmk/parameters/):
 *   aggression=N   1..12 (simple_lmk allowed 1..3), default 1
 *   direct=0|1     also record direct reclaim (default 1); simple_lmk
 *                  itself hooked kswapd only, so records say which
 * A record is written when a pass at priority <= aggression follows one
 * above it in the same context (kswapd, or direct reclaim): once per
 * descent, as simple_lmk's needs_reclaim flag allowed one wake-up until
 * its reclaim finished.  Differences (docs/kmod.md):
 *  - the tracepoint fires per LRU list shrunk, not per balance_pgdat()
 *    priority step: a step that shrinks no inactive list is not seen, so
 *    the record can come one step late, never early;
 *  - "<=" instead of "==": a step seen late still counts;
 *  - memcg limit reclaim also emits the tracepoint; it is recorded as
 *    direct reclaim (a guest has none). */
#include <linux/module.h>
#include <linux/swap.h>
#include <linux/vmstat.h>

#include "pnb_kmod_kernel.h"

static int aggression = 1;
static bool direct = true;

module_param(aggression, int, 0444);
MODULE_PARM_DESC(aggression, "reclaim priority at or below which the trigger holds (1..12)");
module_param(direct, bool, 0444);
MODULE_PARM_DESC(direct, "also record direct reclaim (simple_lmk hooked kswapd only)");

static struct tracepoint *tp_inactive;
static struct pnb_ring ring;
/* Armed per context (0 direct, 1 kswapd) by a pass above the threshold. */
static atomic_t armed[2] = { ATOMIC_INIT(1), ATOMIC_INIT(1) };

/* TP_PROTO(int nid, unsigned long nr_scanned, unsigned long nr_reclaimed,
 *          struct reclaim_stat *stat, int priority, int file)
 * -- the same from 4.16 to 6.12. */
static void on_shrink_inactive(void *data, int nid, unsigned long nr_scanned,
			       unsigned long nr_reclaimed, struct reclaim_stat *stat,
			       int priority, int file)
{
	struct pnb_simplelmk_event ev;
	int ctx = current_is_kswapd() ? 1 : 0;

	if (!ctx && !direct)
		return;
	if (priority > aggression) {
		atomic_set(&armed[ctx], 1);
		return;
	}
	if (!atomic_cmpxchg(&armed[ctx], 1, 0))
		return;
	memset(&ev, 0, sizeof ev);
	ev.t_ns = ktime_get_ns();
	ev.nr_scanned = nr_scanned;
	ev.nr_reclaimed = nr_reclaimed;
	ev.free_pages = global_zone_page_state(NR_FREE_PAGES);
	ev.priority = priority;
	ev.threshold = aggression;
	ev.kswapd = ctx;
	ev.reclaim_pid = current->pid;
	ev.nid = nid;
	ev.file = file;
	pnb_ring_push(&ring, &ev);
}

static int sl_open(struct inode *ino, struct file *f)
{
	return pnb_ring_open_reader(&ring, f);
}

static ssize_t sl_read(struct file *f, char __user *buf, size_t len, loff_t *off)
{
	return pnb_ring_read(&ring, f->private_data, f, buf, len);
}

static __poll_t sl_poll(struct file *f, poll_table *wait)
{
	return pnb_ring_poll(&ring, f->private_data, f, wait);
}

static const struct file_operations sl_fops = {
	.owner = THIS_MODULE,
	.open = sl_open,
	.read = sl_read,
	.poll = sl_poll,
	.release = pnb_ring_release_reader,
	.llseek = noop_llseek,
};

static struct miscdevice sl_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "pnb_simplelmk",
	.fops = &sl_fops,
	.mode = 0444,
};

static int __init sl_init(void)
{
	int e;

	BUILD_BUG_ON(sizeof(struct pnb_simplelmk_event) > PNB_REC_MAX);
	if (aggression < 1 || aggression > 12) {
		pr_err("pnb_simplelmk: aggression=%d: want 1..12\n", aggression);
		return -EINVAL;
	}
	tp_inactive = pnb_tp_find("mm_vmscan_lru_shrink_inactive");
	if (!tp_inactive) {
		pr_err("pnb_simplelmk: no tracepoint mm_vmscan_lru_shrink_inactive in this kernel\n");
		return -ENOENT;
	}
	pnb_ring_init(&ring, sizeof(struct pnb_simplelmk_event));
	e = misc_register(&sl_dev);
	if (e)
		return e;
	e = tracepoint_probe_register(tp_inactive, on_shrink_inactive, NULL);
	if (e) {
		misc_deregister(&sl_dev);
		return e;
	}
	pr_info("pnb_simplelmk: aggression %d%s\n", aggression, direct ? ", direct reclaim too" : "");
	return 0;
}

static void __exit sl_exit(void)
{
	tracepoint_probe_unregister(tp_inactive, on_shrink_inactive, NULL);
	tracepoint_synchronize_unregister();
	misc_deregister(&sl_dev);
}

module_init(sl_init);
module_exit(sl_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pnbench: simple_lmk's trigger (reclaim priority) as a measured notification");
