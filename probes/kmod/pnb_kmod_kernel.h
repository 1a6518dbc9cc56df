/* Kernel-side pieces the three modules share: a record ring read through
 * a misc device, tracepoint lookup by name, and the shrinker API of either
 * era.  Static functions in a header so that each module stays one file
 * with one mechanism in it (Kbuild builds one .ko per .c). */
#ifndef PNB_KMOD_KERNEL_H
#define PNB_KMOD_KERNEL_H

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/wait.h>

#include "pnb_kmod.h"

/* ---- record ring: every open file reads every record ---------------- */

#define PNB_RING_RECS 256	/* power of two */
#define PNB_REC_MAX 128		/* bytes, the largest record */

struct pnb_ring {
	spinlock_t lock;
	wait_queue_head_t wq;
	size_t rec_size;
	u64 head;		/* records written so far; the next gets seq head + 1 */
	unsigned char buf[PNB_RING_RECS][PNB_REC_MAX];
};

static inline void pnb_ring_init(struct pnb_ring *r, size_t rec_size)
{
	spin_lock_init(&r->lock);
	init_waitqueue_head(&r->wq);
	r->rec_size = rec_size;
	r->head = 0;
}

/* rec starts with the u64 seq, which is filled in here.  Safe in atomic
 * context (tracepoint probes, shrinker callbacks). */
static inline void pnb_ring_push(struct pnb_ring *r, void *rec)
{
	unsigned long flags;

	spin_lock_irqsave(&r->lock, flags);
	r->head++;
	*(u64 *)rec = r->head;
	memcpy(r->buf[(r->head - 1) & (PNB_RING_RECS - 1)], rec, r->rec_size);
	spin_unlock_irqrestore(&r->lock, flags);
	wake_up_all(&r->wq);
}

/* Per open file: the seq of the next record to read.  A reader that fell
 * more than a ring behind skips to the oldest record still held: the gap
 * in seq tells it how many it lost. */
struct pnb_ring_reader {
	u64 next;
};

static inline bool pnb_ring_ready(struct pnb_ring *r, struct pnb_ring_reader *rd)
{
	return READ_ONCE(r->head) >= rd->next;
}

static inline ssize_t pnb_ring_read(struct pnb_ring *r, struct pnb_ring_reader *rd,
			     struct file *f, char __user *ubuf, size_t len)
{
	unsigned char tmp[PNB_REC_MAX];
	unsigned long flags;
	size_t done = 0;
	int e;

	if (len < r->rec_size)
		return -EINVAL;
	if (!pnb_ring_ready(r, rd)) {
		if (f->f_flags & O_NONBLOCK)
			return -EAGAIN;
		e = wait_event_interruptible(r->wq, pnb_ring_ready(r, rd));
		if (e)
			return e;
	}
	while (done + r->rec_size <= len) {
		spin_lock_irqsave(&r->lock, flags);
		if (r->head < rd->next) {
			spin_unlock_irqrestore(&r->lock, flags);
			break;
		}
		if (r->head - rd->next >= PNB_RING_RECS)
			rd->next = r->head - PNB_RING_RECS + 1;
		memcpy(tmp, r->buf[(rd->next - 1) & (PNB_RING_RECS - 1)], r->rec_size);
		rd->next++;
		spin_unlock_irqrestore(&r->lock, flags);
		if (copy_to_user(ubuf + done, tmp, r->rec_size))
			return done ? (ssize_t)done : -EFAULT;
		done += r->rec_size;
	}
	return (ssize_t)done;
}

static inline __poll_t pnb_ring_poll(struct pnb_ring *r, struct pnb_ring_reader *rd,
			      struct file *f, poll_table *wait)
{
	poll_wait(f, &r->wq, wait);
	return pnb_ring_ready(r, rd) ? EPOLLIN | EPOLLRDNORM : 0;
}

/* A new reader starts after what is already there: records describe
 * moments, and a probe that opens late wants the ones from now on. */
static inline int pnb_ring_open_reader(struct pnb_ring *r, struct file *f)
{
	struct pnb_ring_reader *rd = kzalloc(sizeof *rd, GFP_KERNEL);

	if (!rd)
		return -ENOMEM;
	rd->next = READ_ONCE(r->head) + 1;
	f->private_data = rd;
	return 0;
}

static inline int pnb_ring_release_reader(struct inode *ino, struct file *f)
{
	kfree(f->private_data);
	return 0;
}

/* ---- tracepoints by name ---------------------------------------------- */

/* The vmscan tracepoints are not exported to modules by symbol, but every
 * built-in tracepoint can be found by name with the exported
 * for_each_kernel_tracepoint() and probed with tracepoint_probe_register()
 * (the way LTTng attaches to them). */
struct pnb_tp_lookup {
	const char *name;
	struct tracepoint *tp;
};

static inline void pnb_tp_match(struct tracepoint *tp, void *priv)
{
	struct pnb_tp_lookup *l = priv;

	if (!strcmp(tp->name, l->name))
		l->tp = tp;
}

static inline struct tracepoint *pnb_tp_find(const char *name)
{
	struct pnb_tp_lookup l = { .name = name, .tp = NULL };

	for_each_kernel_tracepoint(pnb_tp_match, &l);
	return l.tp;
}

/* ---- the shrinker API of either era ------------------------------------ */

/* <= 6.6: a caller-owned struct shrinker and register_shrinker(s, name)
 * (the name argument exists since 6.0); >= 6.7: shrinker_alloc() /
 * shrinker_register() / shrinker_free(). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
#define PNB_SHRINKER_API "shrinker_alloc"
static inline struct shrinker *pnb_shrinker_add(const char *name,
		unsigned long (*count)(struct shrinker *, struct shrink_control *),
		unsigned long (*scan)(struct shrinker *, struct shrink_control *), int seeks)
{
	struct shrinker *s = shrinker_alloc(0, "%s", name);

	if (!s)
		return ERR_PTR(-ENOMEM);
	s->count_objects = count;
	s->scan_objects = scan;
	s->seeks = seeks;
	shrinker_register(s);
	return s;
}

static inline void pnb_shrinker_del(struct shrinker *s)
{
	shrinker_free(s);
}
#else
#define PNB_SHRINKER_API "register_shrinker"
static inline struct shrinker *pnb_shrinker_add(const char *name,
		unsigned long (*count)(struct shrinker *, struct shrink_control *),
		unsigned long (*scan)(struct shrinker *, struct shrink_control *), int seeks)
{
	static struct shrinker pnb_shrinker_static;
	int e;

	pnb_shrinker_static.count_objects = count;
	pnb_shrinker_static.scan_objects = scan;
	pnb_shrinker_static.seeks = seeks;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 0, 0)
	e = register_shrinker(&pnb_shrinker_static, "%s", name);
#else
	e = register_shrinker(&pnb_shrinker_static);
#endif
	return e ? ERR_PTR(e) : &pnb_shrinker_static;
}

static inline void pnb_shrinker_del(struct shrinker *s)
{
	unregister_shrinker(s);
}
#endif

#endif
