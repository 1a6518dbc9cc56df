/* One run's ground truth (lib/ground_truth.c), metrics and row order
 * (docs/metrics.md 3). */
#include "an_private.h"

#define CMP_T(a, b) ((a)->t != (b)->t ? ((a)->t > (b)->t) - ((a)->t < (b)->t) : \
		     ((a)->seq > (b)->seq) - ((a)->seq < (b)->seq))
static int note_cmp(const void *a, const void *b) { const struct note *p = a, *q = b; return CMP_T(p, q); }
static int progress_cmp(const void *a, const void *b) { const struct progress *p = a, *q = b; return CMP_T(p, q); }
static int sample_cmp(const void *a, const void *b)
{
	const struct an_sample *p = a, *q = b;
	return (p->t > q->t) - (p->t < q->t);
}

/* Index of the last sample with t <= at, or -1. */
static ssize_t sample_at(const struct an_run *r, int64_t at)
{
	ssize_t lo = 0, hi = (ssize_t)r->nsamples - 1, best = -1;

	while (lo <= hi) {
		ssize_t mid = lo + (hi - lo) / 2;
		if (r->samples[mid].t <= at) {
			best = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return best;
}

/* Calm: MemAvailable at or above half of the domain. 1, 0, -1 unknown. */
static int calm_at(const struct an_run *r, int64_t t)
{
	ssize_t i = sample_at(r, t);

	if (i < 0 || isnan(r->samples[i].available_kB) || isnan(r->samples[i].total_kB))
		return -1;
	return r->samples[i].available_kB >= r->samples[i].total_kB / 2;
}

/* The library's rule (lib/ground_truth.c), also the progress line's. */
static int ground_truth(struct ctx *c)
{
	struct an_run *r = c->r;
	struct gt_onsets o;
	int memcg = strncmp(r->domain, "system", 6) != 0;

	if (gt_onsets(c->tr, c->ntr, memcg, c->trace_filtered, &o))
		return -ENOMEM;
	r->t_start = 0;
	r->flags |= AN_F_NO_WORKLOAD_START;
	if (o.t_start != GT_NONE) {
		r->t_start = o.t_start;
		r->workload_pid = o.workload_pid;
		r->flags &= ~AN_F_NO_WORKLOAD_START;
	}
	r->t_oom = o.t_oom;
	r->t_reclaim = o.t_reclaim;
	r->t_direct = o.t_direct;
	r->t_swapout = o.t_swapout;
	an_copy_str(r->oom_source, sizeof r->oom_source, o.oom_source);
	an_copy_str(r->reclaim_source, sizeof r->reclaim_source, o.reclaim_source);
	an_copy_str(r->direct_source, sizeof r->direct_source, o.direct_source);
	r->oom_kills = o.oom_kills;
	if (o.oom_from_vmstat)
		r->flags |= AN_F_OOM_FROM_VMSTAT;
	return 0;
}

static void reclaim_rates(struct ctx *c)
{
	struct an_run *r = c->r;
	size_t cap = 0;

	/* Sum lines of equal bucket start (late reads give a second line). */
	for (size_t i = 0; i < c->ntr; i++) {
		struct gt_line *x = &c->tr[i];
		if (x->what != GT_W_RECLAIM_RATE || isnan(x->count))
			continue;
		if (r->nrates && r->rates[r->nrates - 1].t == x->t) {
			r->rates[r->nrates - 1].count += x->count;
			continue;
		}
		struct an_rate a = { .t = x->t, .count = x->count,
				     .bucket_s = isnan(x->bucket_ns) || x->bucket_ns <= 0 ? 0.1 : x->bucket_ns / NS };
		if (PUSH(r->rates, r->nrates, cap, a))
			return;
	}
}

static double progress_at(const struct ctx *c, int64_t t, int read)
{
	size_t lo = 0, hi = c->npr;	/* the first line after t, by bisection */

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->pr[mid].t <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo-- > 0)
		if (c->pr[lo].read == read)
			return c->pr[lo].bytes / (1024.0 * 1024.0);
	return NAN;
}

/* When the memory the group's threshold is about crossed it (the
 * probe says which: probes/probe.h enum probe_threshold). */
static int64_t threshold_onset(const struct an_run *r, const struct an_group *g)
{
	const struct probe_ops *ops = probe_find(g->mech);
	enum probe_threshold kind = ops ? ops->threshold : PROBE_THRESHOLD_NONE;

	for (size_t i = 0; i < r->nsamples; i++) {
		const struct an_sample *s = &r->samples[i];
		if (kind == PROBE_THRESHOLD_AVAILABLE && !isnan(g->threshold_kB) &&
		    s->available_kB < g->threshold_kB)
			return s->t;
		if (kind == PROBE_THRESHOLD_MINFREE && !isnan(g->minfree_kB) &&
		    s->free_kB < g->minfree_kB && s->cache_kB < g->minfree_kB)
			return s->t;
	}
	return AN_NONE;
}

/* False positives, metrics.md 3.4: 1 or 0 for a notification at t, -1
 * unjudged (no onset or no samples), -2 not judged at all (no claim). */
static int false_positive(const struct an_run *r, const struct an_group *g, int64_t t)
{
	int64_t on = AN_NONE, tol = 0;
	int calm;

	if (r->expect == AN_EXPECT_NO_OOM) {
		if (an_activity_only(g->mech, g->level))
			return 0;
		calm = calm_at(r, t);
		return calm < 0 ? -1 : calm;
	}
	switch (g->claim) {
	case AN_CLAIM_RECLAIM:
		on = r->t_reclaim;
		tol = !strcmp(r->reclaim_source, "vmstat") ? VMSTAT_TOL_NS : 0;
		return on == AN_NONE ? -1 : t < on - tol;
	case AN_CLAIM_DIRECT:
		on = r->t_direct;
		tol = !strcmp(r->direct_source, "vmstat") ? VMSTAT_TOL_NS : 0;
		return on == AN_NONE ? -1 : t < on - tol;
	case AN_CLAIM_OOM:
	case AN_CLAIM_THRESHOLD:
		calm = calm_at(r, t);
		return calm < 0 ? -1 : calm;
	case AN_CLAIM_NONE:
		break;
	}
	return -2;
}

/* notes: the group's notifications, indices into c->no in time order. */
static void group_metrics(struct ctx *c, int gi, const size_t *notes, size_t nnotes)
{
	struct an_run *r = c->r;
	struct an_group *g = &r->g[gi];
	int64_t *ts = malloc((nnotes + 1) * sizeof *ts);
	long long *sg = malloc((nnotes + 1) * sizeof *sg);
	size_t n = 0;

	g->first_s = g->last_s = g->lead_s = g->late_s = NAN;
	g->headroom_kB = g->headroom_pct = g->progress_alloc_MiB = g->progress_read_MiB = NAN;
	g->latency_s = NAN;
	g->swapout_rel_s = NAN;
	g->onset = NULL;
	g->first_ns = g->last_ns = AN_NONE;
	if (!ts || !sg) {
		free(ts);
		free(sg);
		return;
	}
	for (size_t k = 0; k < nnotes; k++) {
		struct note *x = &c->no[notes[k]];
		ts[n] = x->t;
		sg[n++] = x->signals;
		g->notifications++;
		g->signals += x->signals;
		if (r->t_oom != AN_NONE && x->t >= r->t_oom) {
			g->after_oom++;
			continue;
		}
		if (r->t_oom != AN_NONE)
			g->before_oom++;

		int fp = false_positive(r, g, x->t);
		if (fp >= 0) {
			g->judged++;
			g->false_positives += fp;
		} else if (fp == -1) {
			g->unjudged++;
		}
	}
	if (n) {
		g->first_ns = ts[0];
		g->last_ns = ts[n - 1];
		g->first_s = (double)(ts[0] - r->t_start) / NS;
		g->last_s = (double)(ts[n - 1] - r->t_start) / NS;
	}
	if (r->t_oom == AN_NONE) {
		g->lead_status = AN_LEAD_NO_OOM;
	} else if (n && ts[0] < r->t_oom) {
		g->lead_status = AN_LEAD_OK;
		g->lead_s = (double)(r->t_oom - ts[0]) / NS;
	} else {
		g->lead_status = AN_LEAD_MISSED;
		if (n)
			g->late_s = (double)(ts[0] - r->t_oom) / NS;
	}
	if (n) {
		ssize_t si = sample_at(r, ts[0]);
		if (si >= 0) {
			g->headroom_kB = r->samples[si].available_kB;
			if (r->samples[si].total_kB > 0)
				g->headroom_pct = 100.0 * r->samples[si].available_kB / r->samples[si].total_kB;
		}
		g->progress_alloc_MiB = progress_at(c, ts[0], 0);
		g->progress_read_MiB = progress_at(c, ts[0], 1);

		int64_t on = AN_NONE;
		switch (g->claim) {
		case AN_CLAIM_RECLAIM: on = r->t_reclaim; g->onset = "reclaim"; break;
		case AN_CLAIM_DIRECT: on = r->t_direct; g->onset = "direct_reclaim"; break;
		case AN_CLAIM_OOM: on = r->t_oom; g->onset = "oom"; break;
		case AN_CLAIM_THRESHOLD: on = threshold_onset(r, g); g->onset = "threshold_crossed"; break;
		case AN_CLAIM_NONE: break;
		}
		if (on != AN_NONE)
			g->latency_s = (double)(ts[0] - on) / NS;
		/* On a machine with swap, every mechanism against the moment
		 * anonymous memory started going out (docs/metrics.md). */
		if (r->t_swapout != AN_NONE)
			g->swapout_rel_s = (double)(ts[0] - r->t_swapout) / NS;

		/* Sliding 1 s window [ts[i], ts[i] + 1 s) over [i, j). */
		size_t j = 0;
		long long sum = 0;
		for (size_t i = 0; i < n; i++) {
			if (i)
				sum -= sg[i - 1];
			while (j < n && ts[j] < ts[i] + (int64_t)NS) {
				sum += sg[j];
				j++;
			}
			if ((int)(j - i) > g->peak_per_s)
				g->peak_per_s = (int)(j - i);
			if (sum > g->peak_signals_per_s)
				g->peak_signals_per_s = sum;
		}
		g->storm = g->peak_per_s >= STORM_PER_S;
	}
	g->fp_per_min = r->run_s > 0 ? g->false_positives / (r->run_s / 60.0) : NAN;
	free(ts);
	free(sg);
}


static int group_probe_eq(const struct ctx *c, int i, const char *spec, const char *unused)
{
	(void)unused;
	return !strcmp(c->r->g[i].probe, spec);
}

/* Armed notifiers that never spoke get a group, so "silent" shows. */
static void silent_groups(struct ctx *c)
{
	struct an_run *r = c->r;

	/* Probes that have a group: by probe, as (probe, "") cannot be
	 * looked up in the (probe, level) index. */
	struct index has = { 0 };
	for (int k = 0; k < r->ngroups; k++)
		if (an_index_add(&has, an_hash2(r->g[k].probe, NULL), k))
			break;
	for (int i = 0; i < r->nprobes; i++) {
		struct an_probe_status *p = &r->probes[i];
		char lvl[AN_LEVEL_LEN];

		if (!p->armed || !an_is_notifier(p->mech))
			continue;
		if (an_index_find(&has, an_hash2(p->probe, NULL), group_probe_eq, c, p->probe, NULL) >= 0)
			continue;
		probe_silent_level(probe_find(p->mech), p->probe, lvl, sizeof lvl);
		an_group_slot(c, p->probe, p->mech, lvl);
	}
	free(has.slot);
}

/* Each group over its own notifications: a counting sort by group keeps
 * their time order and makes this linear in groups + notifications. */
static int all_group_metrics(struct ctx *c)
{
	struct an_run *r = c->r;
	size_t *start = calloc((size_t)r->ngroups + 2, sizeof *start);
	size_t *ord = malloc((c->nno + 1) * sizeof *ord);

	if (!start || !ord) {
		free(start);
		free(ord);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->nno; i++)
		start[c->no[i].group + 2]++;
	for (int g = 0; g < r->ngroups; g++)
		start[g + 2] += start[g + 1];
	for (size_t i = 0; i < c->nno; i++)
		ord[start[c->no[i].group + 1]++] = i;
	/* start[g] .. start[g + 1] now hold group g. */
	for (int g = 0; g < r->ngroups; g++)
		group_metrics(c, g, ord + start[g], start[g + 1] - start[g]);
	free(start);
	free(ord);
	return 0;
}

static void run_metrics(struct ctx *c)
{
	struct an_run *r = c->r;

	r->t_stop = c->end_t != AN_NONE ? c->end_t : c->max_t;
	r->run_s = (double)(r->t_stop - r->t_start) / NS;
	r->time_to_oom_s = r->alloc_to_oom_s = NAN;
	r->available_at_alloc_kB = r->expected_alloc_to_oom_s = r->oom_time_ratio = NAN;
	r->recorder_cpu_per_s = NAN;

	int64_t ta = r->t_alloc != AN_NONE ? r->t_alloc : r->t_start;
	ssize_t si = sample_at(r, ta);
	if (si < 0 && r->nsamples)
		si = 0;
	if (si >= 0)
		r->available_at_alloc_kB = r->samples[si].available_kB;
	if (r->t_oom != AN_NONE) {
		r->time_to_oom_s = (double)(r->t_oom - r->t_start) / NS;
		r->alloc_to_oom_s = (double)(r->t_oom - ta) / NS;
	}
	if (!isnan(r->rate_MiB_s) && r->rate_MiB_s > 0 && !isnan(r->available_at_alloc_kB)) {
		r->expected_alloc_to_oom_s = r->available_at_alloc_kB / 1024.0 / r->rate_MiB_s;
		if (!isnan(r->alloc_to_oom_s) && r->expected_alloc_to_oom_s > 0)
			r->oom_time_ratio = r->alloc_to_oom_s / r->expected_alloc_to_oom_s;
	}
	if (c->have_end_cpu && c->end_t > 0)
		r->recorder_cpu_per_s = (double)c->end_cpu_ns / (double)c->end_t;
	if (r->expect == AN_EXPECT_NO_OOM && r->t_oom != AN_NONE)
		r->flags |= AN_F_UNEXPECTED_OOM;
	if (r->expect == AN_EXPECT_OOM && r->t_oom == AN_NONE)
		r->flags |= AN_F_NO_OOM;
}

/* qsort has no context argument; analysis runs in one thread. */
static const struct an_run *sort_groups_run;

/* Stable: equal groups keep their order of first appearance. */
static int group_idx_order(const void *a, const void *b)
{
	int i = *(const int *)a, k = *(const int *)b;
	int r = an_group_order(&sort_groups_run->g[i], &sort_groups_run->g[k]);
	return r ? r : (i > k) - (i < k);
}

/* Groups in row order (header probe order, then level), and the timeline
 * marks pointing at them. */
static int sort_groups(struct ctx *c)
{
	struct an_run *r = c->r;
	int n = r->ngroups;
	int *idx = malloc((size_t)(n + 1) * sizeof *idx), *map = malloc((size_t)(n + 1) * sizeof *map);
	struct an_group *sorted = malloc((size_t)(n + 1) * sizeof *sorted);
	size_t cap = 0;
	int ret = 0;

	if (!idx || !map || !sorted) {
		ret = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++)
		idx[i] = i;
	sort_groups_run = r;
	qsort(idx, (size_t)n, sizeof *idx, group_idx_order);
	for (int i = 0; i < n; i++) {
		sorted[i] = r->g[idx[i]];
		map[idx[i]] = i;
	}
	if (n)
		memcpy(r->g, sorted, (size_t)n * sizeof *sorted);
	for (size_t i = 0; i < c->nno; i++) {
		struct an_mark m = { c->no[i].t, map[c->no[i].group] };
		if ((ret = PUSH(r->marks, r->nmarks, cap, m)))
			break;
	}
out:
	free(idx);
	free(map);
	free(sorted);
	return ret;
}

static int gsort_cmp(const void *a, const void *b)
{
	const struct an_group *p = &sort_groups_run->g[*(const int *)a],
			     *q = &sort_groups_run->g[*(const int *)b];
	int r = strcmp(p->probe, q->probe);
	return r ? r : strcmp(p->level, q->level);
}

static int psort_cmp(const void *a, const void *b)
{
	return strcmp(sort_groups_run->probes[*(const int *)a].probe,
		      sort_groups_run->probes[*(const int *)b].probe);
}

/* r->gsort and r->psort for find_group and probe_armed. */
static int lookup_indexes(struct an_run *r)
{
	r->gsort = malloc(((size_t)r->ngroups + 1) * sizeof *r->gsort);
	r->psort = malloc(((size_t)r->nprobes + 1) * sizeof *r->psort);
	if (!r->gsort || !r->psort)
		return -ENOMEM;
	for (int i = 0; i < r->ngroups; i++)
		r->gsort[i] = i;
	for (int i = 0; i < r->nprobes; i++)
		r->psort[i] = i;
	sort_groups_run = r;
	qsort(r->gsort, (size_t)r->ngroups, sizeof *r->gsort, gsort_cmp);
	qsort(r->psort, (size_t)r->nprobes, sizeof *r->psort, psort_cmp);
	return 0;
}

int an_run_load(const char *dir, struct an_run *r, char *err, size_t errlen)
{
	struct ctx c = { .r = r, .end_t = AN_NONE, .max_t = 0 };
	char path[PATH_MAX + 16];
	const char *base;
	int ret;

	memset(r, 0, sizeof *r);
	an_copy_str(r->dir, sizeof r->dir, dir);
	r->t_alloc = r->t_oom = r->t_reclaim = r->t_direct = r->t_swapout = AN_NONE;
	r->flags = AN_F_NO_END;
	base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
	if (base[0] == '.' && strstr(base, ".partial"))
		r->flags |= AN_F_PARTIAL_DIR;

	an_read_meta(&c, dir);
	snprintf(path, sizeof path, "%s/events.jsonl", dir);
	ret = an_read_events(&c, path, err, errlen);
	if (ret)
		goto out;
	an_probe_cpu(&c);
	if (!c.header)
		r->flags |= AN_F_NO_HEADER;
	an_fill_names(&c, dir);
	an_scenario_info(&c);

	/* qsort(NULL, 0, ...) is undefined (glibc declares it nonnull). */
	gt_sort(c.tr, c.ntr);
	if (c.nno) qsort(c.no, c.nno, sizeof *c.no, note_cmp);
	if (c.npr) qsort(c.pr, c.npr, sizeof *c.pr, progress_cmp);
	if (r->nsamples) qsort(r->samples, r->nsamples, sizeof *r->samples, sample_cmp);

	if ((ret = ground_truth(&c)))
		goto out;
	reclaim_rates(&c);
	run_metrics(&c);
	silent_groups(&c);
	if ((ret = all_group_metrics(&c)))
		goto out;
	/* Marks refer to groups by index: sort the groups first. */
	if ((ret = sort_groups(&c)) || (ret = lookup_indexes(r)))
		goto out;
	r->incomplete = (r->flags & AN_F_INCOMPLETE_MASK) != 0;
	/* Killer outcomes: a pass of their own (harness/outcome.c). */
	if (an_outcome_wanted(r)) {
		if (!(r->outcome = calloc(1, sizeof *r->outcome)) || an_outcome_load(r, c.olines, c.nolines, r->outcome)) {
			ret = -ENOMEM;
			goto out;
		}
	}
out:
	json_decref(c.header);
	json_decref(c.meta);
	free(c.tr);
	free(c.olines);
	json_decref(c.probe_cpu);
	free(c.no);
	free(c.pr);
	free(c.hprobes);
	free(c.gix.slot);
	free(c.pix.slot);
	free(c.hix.slot);
	if (ret)
		an_run_free(r);
	return ret;
}

void an_run_free(struct an_run *r)
{
	if (r->outcome) {
		an_outcome_free(r->outcome);
		free(r->outcome);
		r->outcome = NULL;
	}
	free(r->scenario_text);
	free(r->command);
	free(r->g);
	free(r->probes);
	free(r->samples);
	free(r->rates);
	free(r->marks);
	free(r->gsort);
	free(r->psort);
	r->gsort = r->psort = NULL;
	r->scenario_text = r->command = NULL;
	r->g = NULL;
	r->probes = NULL;
	r->samples = NULL;
	r->rates = NULL;
	r->marks = NULL;
	r->ngroups = r->nprobes = 0;
	r->nsamples = r->nrates = r->nmarks = 0;
}

