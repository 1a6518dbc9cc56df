// SPDX-License-Identifier: GPL-2.0
/* pnb_klmk: Android's staging lowmemorykiller (drivers/staging/android/
 * lowmemorykiller.c, last in mainline in 4.11, removed in 4.12) rebuilt as
 * an out-of-tree module, so that pnbench can measure *when* it would have
 * acted, from inside reclaim, on today's kernels.
 *
 * Parameters (as the driver's, under /sys/module/pnb_klmk/parameters/):
 *   minfree=P,..  pages, ascending, up to 6 (default: lib/lmk_table.h)
 *   adj=A,..      oom_score_adj, ascending, as many as minfree
 *   mode=report|kill   report: record the decision only; kill: also SIGKILL
 * minfree and adj are writable at run time, as the driver's were.
 *
 * What is the driver's (4.9..4.11 lowmem_count/lowmem_scan):
 *  - a shrinker: count_objects returns the four LRU sizes (so that reclaim
 *    calls scan), scan_objects does the work;
 *  - other_free = NR_FREE_PAGES - totalreserve_pages,
 *    other_file = NR_FILE_PAGES - NR_SHMEM - NR_UNEVICTABLE - swap cache;
 *  - the first i with other_free < minfree[i] && other_file < minfree[i]
 *    gives min_score_adj = adj[i]; no match, nothing to do;
 *  - the victim: no kernel threads, a task with an mm (any thread's),
 *    oom_score_adj >= min_score_adj, RSS > 0; highest oom_score_adj, ties
 *    to the strictly larger RSS (for_each_process order among equals);
 *  - kill: SIGKILL, then no new kill while that victim still has its mm and
 *    less than HZ has passed (lowmem_deathpending_timeout).
 * What a module cannot do the same way (docs/kmod.md lists it too):
 *  - totalreserve_pages is not exported: reserve_pages() recomputes it as
 *    calculate_totalreserve_pages() does (per zone: the largest
 *    lowmem_reserve[] plus the high watermark, capped at managed pages),
 *    from the zones reached through NODE_DATA(), with the high watermark
 *    without watermark_boost (the kernel computes it when watermarks are
 *    set, when the boost is normally 0);
 *  - total_swapcache_pages() is not exported: the node counter
 *    NR_SWAPCACHE (5.13+) stands in;
 *  - find_lock_task_mm() is not exported: the same walk over the threads
 *    with task_lock() is done here;
 *  - the driver flagged its victims (task_set_lmk_waiting, once TIF_MEMDIE)
 *    and skipped any flagged task still holding its mm; we remember the
 *    last victim's tgid and apply the same HZ rule to it;
 *  - PID 1 is never chosen: Android's init runs at oom_score_adj -1000,
 *    ours (pnbench-init) at 0, and killing it panics the guest;
 *  - report mode (ours): nothing is killed, so the driver's rate limit
 *    (the dying victim) never engages; a record is written when the
 *    decision (level, victim) changes, or HZ after the previous record,
 *    and scan_calls says how many scan calls it stands for. */
#include <linux/module.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/nodemask.h>
#include <linux/oom.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/shrinker.h>
#include <linux/swap.h>
#include <linux/vmstat.h>

#include "pnb_kmod_kernel.h"
#include "lmk_table.h"

static int lowmem_minfree[PNB_LMK_TABLE_MAX] = PNB_LMK_DEFAULT_MINFREE;
static int lowmem_minfree_size = PNB_LMK_DEFAULT_N;
static short lowmem_adj[PNB_LMK_TABLE_MAX] = PNB_LMK_DEFAULT_ADJ;
static int lowmem_adj_size = PNB_LMK_DEFAULT_N;
static char *mode = "report";

module_param_array_named(minfree, lowmem_minfree, int, &lowmem_minfree_size, 0644);
MODULE_PARM_DESC(minfree, "pages, ascending: the thresholds (default 1536,2048,4096,16384)");
module_param_array_named(adj, lowmem_adj, short, &lowmem_adj_size, 0644);
MODULE_PARM_DESC(adj, "oom_score_adj per threshold, ascending (default 0,1,6,12)");
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "report (record decisions) or kill (also SIGKILL the victim)");

static bool kill_mode;
static struct shrinker *klmk_shrinker;
static struct pnb_ring ring;

/* Scan state: one decision at a time, as the driver's scan_mutex did. */
static DEFINE_SPINLOCK(scan_lock);
static unsigned long deathpending_timeout;	/* jiffies */
static pid_t deathpending_tgid;
static u64 scan_calls;
static struct {
	int level_idx;
	pid_t pid;
	unsigned long when;
	bool any;
} last;

static unsigned long reserve_pages(void)
{
	unsigned long total = 0;
	int nid;

	for_each_online_node(nid) {
		pg_data_t *pgdat = NODE_DATA(nid);
		int i, j;

		for (i = 0; i < MAX_NR_ZONES; i++) {
			struct zone *zone = pgdat->node_zones + i;
			unsigned long managed = zone_managed_pages(zone);
			long max = 0;

			for (j = i; j < MAX_NR_ZONES; j++)
				if (zone->lowmem_reserve[j] > max)
					max = zone->lowmem_reserve[j];
			max += zone->_watermark[WMARK_HIGH];
			if (max > (long)managed)
				max = managed;
			total += max;
		}
	}
	return total;
}

static unsigned long klmk_count(struct shrinker *s, struct shrink_control *sc)
{
	return global_node_page_state(NR_ACTIVE_ANON) + global_node_page_state(NR_ACTIVE_FILE) +
	       global_node_page_state(NR_INACTIVE_ANON) + global_node_page_state(NR_INACTIVE_FILE);
}

/* find_lock_task_mm(): the first thread of p that still has an mm,
 * returned locked. */
static struct task_struct *lock_task_mm(struct task_struct *p)
{
	struct task_struct *t;

	for_each_thread(p, t) {
		task_lock(t);
		if (likely(t->mm))
			return t;
		task_unlock(t);
	}
	return NULL;
}

static unsigned long klmk_scan(struct shrinker *s, struct shrink_control *sc)
{
	struct pnb_klmk_event ev;
	struct task_struct *tsk, *selected = NULL;
	unsigned long selected_rss = 0, reserve, freed = 0;
	short selected_adj = 0, min_score_adj = OOM_SCORE_ADJ_MAX + 1;
	long other_free, other_file;
	int i, n, level = -1;
	bool record;

	if (!spin_trylock(&scan_lock))
		return 0;	/* the driver's mutex_trylock: another scan is deciding */
	scan_calls++;
	reserve = reserve_pages();
	other_free = (long)global_zone_page_state(NR_FREE_PAGES) - (long)reserve;
	other_file = (long)global_node_page_state(NR_FILE_PAGES) -
		     (long)global_node_page_state(NR_SHMEM) -
		     (long)global_node_page_state(NR_UNEVICTABLE) -
		     (long)global_node_page_state(NR_SWAPCACHE);

	n = min3(lowmem_adj_size, lowmem_minfree_size, PNB_LMK_TABLE_MAX);
	for (i = 0; i < n; i++) {
		if (other_free < lowmem_minfree[i] && other_file < lowmem_minfree[i]) {
			min_score_adj = lowmem_adj[i];
			level = i;
			break;
		}
	}
	if (level < 0) {
		spin_unlock(&scan_lock);
		return 0;
	}

	rcu_read_lock();
	for_each_process(tsk) {
		struct task_struct *p;
		short oom_score_adj;
		unsigned long rss;

		if (tsk->flags & PF_KTHREAD)
			continue;
		if (is_global_init(tsk))
			continue;
		p = lock_task_mm(tsk);
		if (!p)
			continue;
		if (kill_mode && deathpending_tgid == task_tgid_nr(p) &&
		    time_before_eq(jiffies, deathpending_timeout)) {
			/* The previous victim is still dying: wait for it. */
			task_unlock(p);
			rcu_read_unlock();
			spin_unlock(&scan_lock);
			return 0;
		}
		oom_score_adj = p->signal->oom_score_adj;
		if (oom_score_adj < min_score_adj) {
			task_unlock(p);
			continue;
		}
		rss = get_mm_rss(p->mm);
		task_unlock(p);
		if (rss == 0)
			continue;
		if (selected) {
			if (oom_score_adj < selected_adj)
				continue;
			if (oom_score_adj == selected_adj && rss <= selected_rss)
				continue;
		}
		selected = p;
		selected_rss = rss;
		selected_adj = oom_score_adj;
	}

	memset(&ev, 0, sizeof ev);
	ev.t_ns = ktime_get_ns();
	ev.other_free = other_free;
	ev.other_file = other_file;
	ev.reserve_pages = reserve;
	ev.min_score_adj = min_score_adj;
	ev.level_idx = level;
	ev.minfree = lowmem_minfree[level];
	ev.kswapd = current_is_kswapd();
	ev.reclaim_pid = current->pid;
	if (selected) {
		ev.victim_pid = task_tgid_nr(selected);
		ev.victim_adj = selected_adj;
		ev.victim_rss = selected_rss;
		get_task_comm(ev.victim_comm, selected);
	}
	if (selected && kill_mode) {
		send_sig(SIGKILL, selected, 0);
		deathpending_tgid = ev.victim_pid;
		deathpending_timeout = jiffies + HZ;
		ev.killed = 1;
		freed = selected_rss;
	}
	rcu_read_unlock();

	record = kill_mode ? selected != NULL :
		 !last.any || last.level_idx != level || last.pid != ev.victim_pid ||
		 time_after(jiffies, last.when + HZ);
	if (record) {
		ev.scan_calls = scan_calls;
		scan_calls = 0;
		last.any = true;
		last.level_idx = level;
		last.pid = ev.victim_pid;
		last.when = jiffies;
	}
	spin_unlock(&scan_lock);
	if (record)
		pnb_ring_push(&ring, &ev);
	return freed;
}

static int klmk_open(struct inode *ino, struct file *f)
{
	return pnb_ring_open_reader(&ring, f);
}

static ssize_t klmk_read(struct file *f, char __user *buf, size_t len, loff_t *off)
{
	return pnb_ring_read(&ring, f->private_data, f, buf, len);
}

static __poll_t klmk_poll(struct file *f, poll_table *wait)
{
	return pnb_ring_poll(&ring, f->private_data, f, wait);
}

static const struct file_operations klmk_fops = {
	.owner = THIS_MODULE,
	.open = klmk_open,
	.read = klmk_read,
	.poll = klmk_poll,
	.release = pnb_ring_release_reader,
	.llseek = noop_llseek,
};

static struct miscdevice klmk_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "pnb_klmk",
	.fops = &klmk_fops,
	.mode = 0444,
};

static int __init klmk_init(void)
{
	int e;

	BUILD_BUG_ON(sizeof(struct pnb_klmk_event) > PNB_REC_MAX);
	if (!strcmp(mode, "kill"))
		kill_mode = true;
	else if (strcmp(mode, "report")) {
		pr_err("pnb_klmk: mode=%s: want report or kill\n", mode);
		return -EINVAL;
	}
	if (lowmem_minfree_size != lowmem_adj_size) {
		pr_err("pnb_klmk: %d minfree entries but %d adj entries\n",
		       lowmem_minfree_size, lowmem_adj_size);
		return -EINVAL;
	}
	pnb_ring_init(&ring, sizeof(struct pnb_klmk_event));
	e = misc_register(&klmk_dev);
	if (e)
		return e;
	/* DEFAULT_SEEKS * 16 in the driver: called less eagerly than caches. */
	klmk_shrinker = pnb_shrinker_add("pnb_klmk", klmk_count, klmk_scan, DEFAULT_SEEKS * 16);
	if (IS_ERR(klmk_shrinker)) {
		misc_deregister(&klmk_dev);
		return PTR_ERR(klmk_shrinker);
	}
	pr_info("pnb_klmk: %s mode, %d levels, shrinker via %s\n", mode, lowmem_minfree_size,
		PNB_SHRINKER_API);
	return 0;
}

static void __exit klmk_exit(void)
{
	pnb_shrinker_del(klmk_shrinker);
	misc_deregister(&klmk_dev);
}

module_init(klmk_init);
module_exit(klmk_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pnbench: Android staging lowmemorykiller as a measured shrinker");
