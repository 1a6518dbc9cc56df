/* The one ground-truth rule: see ground_truth.h. */
#include "ground_truth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum gt_what what_of(const char *w)
{
	static const struct { const char *s; enum gt_what w; } tab[] = {
		{ "workload_start", GT_W_WORKLOAD_START }, { "workload_exit", GT_W_WORKLOAD_EXIT },
		{ "oom_kill", GT_W_OOM_KILL }, { "mark_victim", GT_W_MARK_VICTIM },
		{ "kswapd_wake", GT_W_KSWAPD_WAKE }, { "direct_reclaim_begin", GT_W_DIRECT_BEGIN },
		{ "memcg_reclaim_begin", GT_W_MEMCG_BEGIN }, { "reclaim_onset", GT_W_RECLAIM_ONSET },
		{ "reclaim_rate", GT_W_RECLAIM_RATE }, { "swapout_onset", GT_W_SWAPOUT_ONSET },
	};
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (w && !strcmp(w, tab[i].s))
			return tab[i].w;
	return GT_W_OTHER;
}

static enum gt_source source_of(const char *s)
{
	if (!s)
		return GT_S_OTHER;
	if (!strcmp(s, "tracefs"))
		return GT_S_TRACEFS;
	if (!strcmp(s, "kmsg"))
		return GT_S_KMSG;
	if (!strcmp(s, "vmstat"))
		return GT_S_VMSTAT;
	return GT_S_OTHER;
}

int gt_from_event(struct evr_obj o, int64_t t, size_t seq, struct gt_line *x)
{
	memset(x, 0, sizeof *x);
	x->t = t;
	x->seq = seq;
	x->pid = x->tgid = -1;
	x->delta = 1;
	x->what = what_of(evr_str(o, "what"));
	if (x->what == GT_W_OTHER)
		return 0;
	x->source = source_of(evr_str(o, "source"));
	evr_i64(o, "pid", &x->pid);
	evr_i64(o, "tgid", &x->tgid);
	evr_i64(o, "delta", &x->delta);
	/* Kill counts are summed in an int. */
	if (x->delta < 0 || x->delta > 1000000)
		x->delta = 1;
	snprintf(x->kind, sizeof x->kind, "%s", evr_str(o, "kind") ? evr_str(o, "kind") : "");
	x->count = evr_num(o, "count");
	x->bucket_ns = evr_num(o, "bucket_ns");
	return 1;
}

static int line_cmp(const void *a, const void *b)
{
	const struct gt_line *p = a, *q = b;
	if (p->t != q->t)
		return (p->t > q->t) - (p->t < q->t);
	return (p->seq > q->seq) - (p->seq < q->seq);
}

void gt_sort(struct gt_line *tr, size_t n)
{
	/* qsort(NULL, 0, ...) is undefined (glibc declares it nonnull). */
	if (n)
		qsort(tr, n, sizeof *tr, line_cmp);
}

struct threads {
	int pid;		/* the workload's, <= 0 unknown */
	int64_t *tid;		/* pids whose reclaim lines carry its tgid */
	size_t n;
};

static int pid_matches(const struct threads *th, const struct gt_line *x)
{
	if (th->pid <= 0)
		return 1;
	if (x->pid == th->pid || x->tgid == th->pid)
		return 1;
	for (size_t i = 0; i < th->n; i++)
		if (x->pid == th->tid[i])
			return 1;
	return 0;
}

struct kills {
	int64_t first[4];	/* by source */
	int n[4], seen[4];
	int64_t victims[64];
	int nvictims;
};

static void oom_line(struct kills *k, const struct threads *th, const struct gt_line *x,
		     int memcg, int filter_trace)
{
	int ok;

	if (x->source == GT_S_VMSTAT)
		ok = 1;
	else if (x->source == GT_S_TRACEFS)
		ok = !filter_trace || pid_matches(th, x);
	else if (x->source == GT_S_KMSG)
		ok = !memcg || pid_matches(th, x);
	else
		ok = 0;
	/* tracefs reports mark_victim, the others oom_kill. */
	if ((x->what == GT_W_MARK_VICTIM) != (x->source == GT_S_TRACEFS))
		return;
	k->seen[x->source] = 1;
	if (!ok)
		return;
	if (k->first[x->source] == GT_NONE)
		k->first[x->source] = x->t;
	if (x->source == GT_S_VMSTAT) {
		k->n[GT_S_VMSTAT] += x->delta > 0 ? (int)x->delta : 1;
	} else if (x->source == GT_S_TRACEFS) {
		/* A kill marks each thread group member it reaches. */
		int seen = 0;
		for (int v = 0; v < k->nvictims; v++)
			seen |= k->victims[v] == x->pid;
		if (!seen && k->nvictims < 64) {
			k->victims[k->nvictims++] = x->pid;
			k->n[GT_S_TRACEFS]++;
		}
	} else {
		k->n[x->source]++;
	}
}

static void set_src(char *dst, const char *s)
{
	snprintf(dst, 16, "%s", s);
}

static void reclaim_line(struct gt_onsets *o, const struct threads *th, const struct gt_line *x,
			 int filter_trace)
{
	switch (x->what) {
	case GT_W_KSWAPD_WAKE:
	case GT_W_DIRECT_BEGIN:
	case GT_W_MEMCG_BEGIN:
		if (x->source != GT_S_TRACEFS || (filter_trace && !pid_matches(th, x)))
			break;
		if (o->t_reclaim == GT_NONE || strcmp(o->reclaim_source, "tracefs")) {
			o->t_reclaim = x->t;
			set_src(o->reclaim_source, "tracefs");
		}
		if (x->what != GT_W_KSWAPD_WAKE &&
		    (o->t_direct == GT_NONE || strcmp(o->direct_source, "tracefs"))) {
			o->t_direct = x->t;
			set_src(o->direct_source, "tracefs");
		}
		break;
	case GT_W_SWAPOUT_ONSET:
		if (o->t_swapout == GT_NONE)
			o->t_swapout = x->t;
		break;
	case GT_W_RECLAIM_ONSET:
		if (x->source != GT_S_VMSTAT)
			break;
		if (o->t_reclaim == GT_NONE) {
			o->t_reclaim = x->t;
			set_src(o->reclaim_source, "vmstat");
		}
		if ((!strcmp(x->kind, "direct") || !strcmp(x->kind, "memcg")) && o->t_direct == GT_NONE) {
			o->t_direct = x->t;
			set_src(o->direct_source, "vmstat");
		}
		break;
	default:
		break;
	}
}

/* Sorted by time, so the first accepted line of a source is its earliest;
 * a tracefs onset found after a vmstat one replaced it. */
static void oom_onset(struct gt_onsets *o, const struct kills *k)
{
	if (k->first[GT_S_TRACEFS] != GT_NONE) {
		o->t_oom = k->first[GT_S_TRACEFS];
		set_src(o->oom_source, "tracefs");
	} else if (k->first[GT_S_KMSG] != GT_NONE) {
		o->t_oom = k->first[GT_S_KMSG];
		set_src(o->oom_source, "kmsg");
	} else if (k->first[GT_S_VMSTAT] != GT_NONE && !k->seen[GT_S_TRACEFS] && !k->seen[GT_S_KMSG]) {
		/* Only when nothing could tell whose kill it was: a kmsg or
		 * tracefs line about another task proves it was not ours. */
		o->t_oom = k->first[GT_S_VMSTAT];
		set_src(o->oom_source, "vmstat");
		o->oom_from_vmstat = 1;
	}
	if (o->t_oom == GT_NONE)
		o->oom_kills = 0;
	else
		o->oom_kills = k->n[GT_S_KMSG] ? k->n[GT_S_KMSG] :
			       k->n[GT_S_TRACEFS] ? k->n[GT_S_TRACEFS] : k->n[GT_S_VMSTAT];
}

int gt_onsets(const struct gt_line *tr, size_t n, int memcg, int trace_filtered,
	      struct gt_onsets *o)
{
	struct threads th = { 0 };
	struct kills k = { .first = { GT_NONE, GT_NONE, GT_NONE, GT_NONE } };
	int filter_trace = memcg && !trace_filtered;
	size_t cap = 0;

	memset(o, 0, sizeof *o);
	o->t_start = o->t_oom = o->t_reclaim = o->t_direct = o->t_swapout = GT_NONE;
	for (size_t i = 0; i < n; i++)
		if (tr[i].what == GT_W_WORKLOAD_START) {
			o->t_start = tr[i].t;
			o->workload_pid = (int)tr[i].pid;
			break;
		}
	th.pid = o->workload_pid;
	for (size_t i = 0; i < n; i++) {
		if (th.pid <= 0 || tr[i].tgid != th.pid || tr[i].pid <= 0)
			continue;
		if (th.n == cap) {
			size_t nc = cap ? 2 * cap : 64;
			int64_t *p = realloc(th.tid, nc * sizeof *p);
			if (!p) {
				free(th.tid);
				return -ENOMEM;
			}
			th.tid = p;
			cap = nc;
		}
		th.tid[th.n++] = tr[i].pid;
	}
	for (size_t i = 0; i < n; i++) {
		if (tr[i].what == GT_W_MARK_VICTIM || tr[i].what == GT_W_OOM_KILL)
			oom_line(&k, &th, &tr[i], memcg, filter_trace);
		else
			reclaim_line(o, &th, &tr[i], filter_trace);
	}
	free(th.tid);
	oom_onset(o, &k);
	return 0;
}
