// SPDX-License-Identifier: GPL-2.0
/* pnb_simplelmk: the moment simple_lmk (Sultan Alsawaf, 2019; seed 001)
 * would have started killing.  simple_lmk's trigger is one call in
 * kswapd's balance_pgdat(): simple_lmk_decide_reclaim(sc.priority), which
 * wakes its reclaim thread when the priority equals
 * CONFIG_ANDROID_SIMPLE_LMK_AGGRESSION (1..3, default 1; 3 fires earliest,
 * since the priority falls from DEF_PRIORITY = 12 towards 0 while kswapd
 * fails to meet the watermarks), and only if it is not already killing.
 *
 * What a module can see of that loop: every priority step of shrink_node()
 * calls shrink_slab(..., sc->priority) for the root memcg whatever the
 * LRUs hold (a swapless machine full of anonymous memory scans no LRU at
 * all, so the LRU tracepoints stay silent), and shrink_slab() emits the
 * tracepoint mm_shrink_slab_start, with the priority, for every shrinker
 * that has objects.  So this module registers a shrinker of its own that
 * always has one object and never frees anything, and probes that
 * tracepoint (found by name: it is not exported) for its own shrinker
 * only: one observation per shrink_node() pass, in kswapd or direct
 * reclaim (PF_MEMALLOC; drop_caches, which also calls shrink_slab() at
 * priority 0, is not reclaim and is ignored).
 *
 * Parameters (/sys/module/pnb_simplelmk/parameters/):
 *   aggression=N   1..12 (simple_lmk allowed 1..3), default 1
 *   direct=0|1     also record direct reclaim (default 1); simple_lmk
 *                  itself hooked kswapd only, so records say which
 * A record is written when a pass at priority <= aggression follows one
 * above it in the same context (kswapd, or direct reclaim): once per
 * descent, as simple_lmk's needs_reclaim flag allowed one wake-up until
 * its reclaim finished.  Differences (docs/kmod.md):
 *  - "<=" instead of "==": balance_pgdat() can skip a priority (it
 *    stops lowering it while kswapd makes progress), and a step it skips
 *    would be missed with "==";
 *  - memcg limit reclaim passes the root memcg's shrinkers only when it
 *    reclaims the root: a guest has none of it. */
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/shrinker.h>
#include <linux/swap.h>
#include <linux/vmstat.h>

#include "pnb_kmod_kernel.h"

static int aggression = 1;
static bool direct = true;

module_param(aggression, int, 0444);
MODULE_PARM_DESC(aggression, "reclaim priority at or below which the trigger holds (1..12)");
module_param(direct, bool, 0444);
MODULE_PARM_DESC(direct, "also record direct reclaim (simple_lmk hooked kswapd only)");

static struct tracepoint *tp_slab;
static struct shrinker *probe_shrinker;
static struct pnb_ring ring;
/* Armed per context (0 direct, 1 kswapd) by a pass above the threshold. */
static atomic_t armed[2] = { ATOMIC_INIT(1), ATOMIC_INIT(1) };

/* One object, never freed: enough for shrink_slab() to call us, and so to
 * emit mm_shrink_slab_start for us, at every priority step. */
static unsigned long sl_count(struct shrinker *s, struct shrink_control *sc)
{
	return 1;
}

static unsigned long sl_scan(struct shrinker *s, struct shrink_control *sc)
{
	return SHRINK_STOP;
}

/* TP_PROTO(struct shrinker *shr, struct shrink_control *sc,
 *          long nr_objects_to_shrink, unsigned long cache_items,
 *          unsigned long long delta, unsigned long total_scan, int priority)
 * -- the same from 4.x to 6.12. */
static void on_slab_start(void *data, struct shrinker *shr, struct shrink_control *sc,
			  long nr_objects_to_shrink, unsigned long cache_items,
			  unsigned long long delta, unsigned long total_scan, int priority)
{
	struct pnb_simplelmk_event ev;
	int ctx;

	if (shr != READ_ONCE(probe_shrinker) || !(current->flags & PF_MEMALLOC))
		return;
	ctx = current_is_kswapd() ? 1 : 0;
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
	ev.free_pages = global_zone_page_state(NR_FREE_PAGES);
	ev.priority = priority;
	ev.threshold = aggression;
	ev.kswapd = ctx;
	ev.reclaim_pid = current->pid;
	ev.nid = sc->nid;
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
	tp_slab = pnb_tp_find("mm_shrink_slab_start");
	if (!tp_slab) {
		pr_err("pnb_simplelmk: no tracepoint mm_shrink_slab_start in this kernel\n");
		return -ENOENT;
	}
	pnb_ring_init(&ring, sizeof(struct pnb_simplelmk_event));
	e = misc_register(&sl_dev);
	if (e)
		return e;
	e = tracepoint_probe_register(tp_slab, on_slab_start, NULL);
	if (e) {
		misc_deregister(&sl_dev);
		return e;
	}
	probe_shrinker = pnb_shrinker_add("pnb_simplelmk", sl_count, sl_scan, DEFAULT_SEEKS);
	if (IS_ERR(probe_shrinker)) {
		e = PTR_ERR(probe_shrinker);
		probe_shrinker = NULL;
		tracepoint_probe_unregister(tp_slab, on_slab_start, NULL);
		tracepoint_synchronize_unregister();
		misc_deregister(&sl_dev);
		return e;
	}
	pr_info("pnb_simplelmk: aggression %d%s\n", aggression, direct ? ", direct reclaim too" : "");
	return 0;
}

static void __exit sl_exit(void)
{
	pnb_shrinker_del(probe_shrinker);
	tracepoint_probe_unregister(tp_slab, on_slab_start, NULL);
	tracepoint_synchronize_unregister();
	misc_deregister(&sl_dev);
}

module_init(sl_init);
module_exit(sl_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pnbench: simple_lmk's trigger (reclaim priority) as a measured notification");
