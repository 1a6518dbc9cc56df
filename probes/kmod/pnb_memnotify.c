// SPDX-License-Identifier: GPL-2.0
/* pnb_memnotify: /dev/mem_notify of the 2008 patch series (seed 003,
 * Marcelo Tosatti and KOSAKI Motohiro, v3..v5 against 2.6.24) as a module.
 *
 * Parameters (/sys/module/pnb_memnotify/parameters/):
 *   wake=one|all   one: each notification wakes one listener, the one that
 *                  has waited longest (the patch's poll_wait_exclusive, FIFO
 *                  by poll call); all: every listener (plain poll_wait)
 *   freq_ms=N      at most one notification per N ms (MEM_NOTIFY_FREQ;
 *                  default 200, i.e. HZ/5)
 * Read-only counters (what the trigger saw, for "why was it silent"):
 *   anon_deactivate_calls, file_deactivate_calls, notifications
 *
 * The trigger.  The patch notified "whenever the VM moves an anonymous
 * page to the inactive list" (shrink_active_list()), rate-limited to one
 * per MEM_NOTIFY_FREQ.  Today that moment is the tracepoint
 * mm_vmscan_lru_shrink_active with file == 0 and nr_deactivated > 0,
 * which this module probes (found by name: the tracepoint is not exported
 * by symbol).  Differences, all written down in docs/kmod.md:
 *  - the patch also notified on a swapless system when reclaim would have
 *    deactivated an anonymous page but kept it active for lack of swap;
 *    current kernels do not scan the anon LRU at all without swap
 *    (can_age_anon_pages()), so there is no such moment to observe: on a
 *    swapless guest this device stays silent, and the counters show why;
 *  - with MGLRU enabled (/sys/kernel/mm/lru_gen/enabled) there is no
 *    shrink_active_list() and the tracepoint never fires either;
 *  - the "out of trouble" state (free pages above (pages_high +
 *    lowmem_reserve) * 2, checked in __free_one_page) is not modelled:
 *    a module has no hook in the page freeing path; only the rate limit
 *    separates notifications;
 *  - the patch's zone_dma special case (zones under 10% of the node
 *    ignored) is not modelled: the tracepoint carries the node, not the
 *    zone;
 *  - delivery: a notification goes to exactly one open file (wake=one)
 *    or to each open file (wake=all) that has read its previous one; a
 *    file that still holds an unread notification is skipped and its
 *    "missed" counter grows.  In the patch a file that was not woken could
 *    still see POLLIN if it polled again later; here it cannot, so "wakes
 *    exactly one" is a property that can be tested.  The wake-one order is
 *    FIFO by the time each file became ready to receive (opened, or read
 *    its last notification), which is the order of poll calls for
 *    listeners that poll again right after reading;
 *  - writing to the device (CAP_SYS_ADMIN) injects a notification through
 *    the same delivery path, marked injected: the conformance suite tests
 *    delivery without having to produce reclaim.  A file opened write-only
 *    is not a listener. */
#include <linux/capability.h>
#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/swap.h>
#include <linux/vmstat.h>

#include "pnb_kmod_kernel.h"

static char *wake = "one";
static unsigned int freq_ms = 200;
static unsigned long anon_deactivate_calls, file_deactivate_calls, notifications;

module_param(wake, charp, 0444);
MODULE_PARM_DESC(wake, "one (wake the longest-waiting listener) or all");
module_param(freq_ms, uint, 0644);
MODULE_PARM_DESC(freq_ms, "at most one notification per this many ms (MEM_NOTIFY_FREQ)");
module_param(anon_deactivate_calls, ulong, 0444);
MODULE_PARM_DESC(anon_deactivate_calls, "shrink_active_list() calls on the anon LRU seen");
module_param(file_deactivate_calls, ulong, 0444);
MODULE_PARM_DESC(file_deactivate_calls, "shrink_active_list() calls on the file LRU seen");
module_param(notifications, ulong, 0444);
MODULE_PARM_DESC(notifications, "notifications made (reclaim and injected)");

static bool wake_all;
static struct tracepoint *tp_active;

/* One per open file, on the listeners list in FIFO order of readiness. */
struct listener {
	struct list_head node;
	wait_queue_head_t wq;
	bool pending;
	struct pnb_memnotify_event ev;
	u64 missed;
};

static DEFINE_SPINLOCK(lock);
static LIST_HEAD(listeners);
static unsigned int nlisteners;
static u64 seq;
static unsigned long last_notify;	/* jiffies */
static bool notified_once;

static void notify(u64 nr_deactivated, int priority, bool injected)
{
	struct listener *l, *tmp;
	struct pnb_memnotify_event ev;
	unsigned long flags;
	LIST_HEAD(done);
	u32 delivered = 0;

	memset(&ev, 0, sizeof ev);
	ev.t_ns = ktime_get_ns();
	ev.nr_deactivated = nr_deactivated;
	ev.priority = priority;
	ev.kswapd = current_is_kswapd();
	ev.injected = injected;

	spin_lock_irqsave(&lock, flags);
	if (!injected) {
		if (notified_once &&
		    time_before(jiffies, last_notify + msecs_to_jiffies(READ_ONCE(freq_ms)))) {
			spin_unlock_irqrestore(&lock, flags);
			return;
		}
		notified_once = true;
		last_notify = jiffies;
	}
	ev.seq = ++seq;
	ev.listeners = nlisteners;
	notifications++;
	list_for_each_entry_safe(l, tmp, &listeners, node) {
		/* Still holding the previous one, or wake-one already served. */
		if (l->pending || (!wake_all && delivered)) {
			l->missed++;
			continue;
		}
		l->ev = ev;
		l->ev.rank = delivered++;
		l->ev.missed = l->missed;
		l->missed = 0;
		l->pending = true;
		/* Served listeners go to the back: the next notification
		 * reaches the one that has waited longest. */
		list_move_tail(&l->node, &done);
		wake_up_all(&l->wq);
	}
	/* Everyone who got this notification learns how many did. */
	list_for_each_entry(l, &done, node)
		l->ev.delivered = delivered;
	list_splice_tail(&done, &listeners);
	spin_unlock_irqrestore(&lock, flags);
}

/* TP_PROTO(int nid, unsigned long nr_taken, unsigned long nr_active,
 *          unsigned long nr_deactivated, unsigned long nr_referenced,
 *          int priority, int file) -- the same from 4.x to 6.12. */
static void on_shrink_active(void *data, int nid, unsigned long nr_taken,
			     unsigned long nr_active, unsigned long nr_deactivated,
			     unsigned long nr_referenced, int priority, int file)
{
	if (file) {
		WRITE_ONCE(file_deactivate_calls, file_deactivate_calls + 1);
		return;
	}
	WRITE_ONCE(anon_deactivate_calls, anon_deactivate_calls + 1);
	if (nr_deactivated)
		notify(nr_deactivated, priority, false);
}

static int mn_open(struct inode *ino, struct file *f)
{
	struct listener *l;
	unsigned long flags;

	/* A file opened only for writing injects; it does not listen. */
	f->private_data = NULL;
	if (!(f->f_mode & FMODE_READ))
		return 0;
	l = kzalloc(sizeof *l, GFP_KERNEL);
	if (!l)
		return -ENOMEM;
	init_waitqueue_head(&l->wq);
	spin_lock_irqsave(&lock, flags);
	list_add_tail(&l->node, &listeners);
	nlisteners++;
	spin_unlock_irqrestore(&lock, flags);
	f->private_data = l;
	return 0;
}

static int mn_release(struct inode *ino, struct file *f)
{
	struct listener *l = f->private_data;
	unsigned long flags;

	if (!l)
		return 0;
	spin_lock_irqsave(&lock, flags);
	list_del(&l->node);
	nlisteners--;
	spin_unlock_irqrestore(&lock, flags);
	kfree(l);
	return 0;
}

static ssize_t mn_read(struct file *f, char __user *buf, size_t len, loff_t *off)
{
	struct listener *l = f->private_data;
	struct pnb_memnotify_event ev;
	unsigned long flags;
	int e;

	if (len < sizeof ev)
		return -EINVAL;
	if (!READ_ONCE(l->pending)) {
		if (f->f_flags & O_NONBLOCK)
			return -EAGAIN;
		e = wait_event_interruptible(l->wq, READ_ONCE(l->pending));
		if (e)
			return e;
	}
	spin_lock_irqsave(&lock, flags);
	ev = l->ev;
	l->pending = false;
	/* Ready again: to the back of the queue. */
	list_move_tail(&l->node, &listeners);
	spin_unlock_irqrestore(&lock, flags);
	if (copy_to_user(buf, &ev, sizeof ev))
		return -EFAULT;
	return sizeof ev;
}

static ssize_t mn_write(struct file *f, const char __user *buf, size_t len, loff_t *off)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	notify(0, -1, true);
	return len;
}

static __poll_t mn_poll(struct file *f, poll_table *wait)
{
	struct listener *l = f->private_data;

	if (!l)
		return 0;
	poll_wait(f, &l->wq, wait);
	return READ_ONCE(l->pending) ? EPOLLIN | EPOLLRDNORM : 0;
}

static const struct file_operations mn_fops = {
	.owner = THIS_MODULE,
	.open = mn_open,
	.read = mn_read,
	.write = mn_write,
	.poll = mn_poll,
	.release = mn_release,
	.llseek = noop_llseek,
};

static struct miscdevice mn_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "mem_notify",
	.fops = &mn_fops,
	.mode = 0644,	/* the patch: S_IRUGO; write is for root's injections */
};

static int __init mn_init(void)
{
	int e;

	if (!strcmp(wake, "all"))
		wake_all = true;
	else if (strcmp(wake, "one")) {
		pr_err("pnb_memnotify: wake=%s: want one or all\n", wake);
		return -EINVAL;
	}
	tp_active = pnb_tp_find("mm_vmscan_lru_shrink_active");
	if (!tp_active) {
		pr_err("pnb_memnotify: no tracepoint mm_vmscan_lru_shrink_active in this kernel\n");
		return -ENOENT;
	}
	e = misc_register(&mn_dev);
	if (e)
		return e;
	e = tracepoint_probe_register(tp_active, on_shrink_active, NULL);
	if (e) {
		misc_deregister(&mn_dev);
		return e;
	}
	pr_info("pnb_memnotify: wake-%s, freq %u ms\n", wake_all ? "all" : "one", freq_ms);
	return 0;
}

static void __exit mn_exit(void)
{
	tracepoint_probe_unregister(tp_active, on_shrink_active, NULL);
	/* No probe may still be running when the module text goes away. */
	tracepoint_synchronize_unregister();
	misc_deregister(&mn_dev);
}

module_init(mn_init);
module_exit(mn_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pnbench: /dev/mem_notify (2008) with wake-one/wake-all delivery");
