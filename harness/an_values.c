/* Values per run and the keys (probe, level) of cells: what compare and
 * report tabulate. */
#include "an_private.h"

/* ---- values per run ------------------------------------------------------ */

/* The first of r->gsort (n entries) whose group is not below (probe,
 * level); with level NULL, by probe alone. */
static int gsort_lower(const struct an_run *r, const char *probe, const char *level)
{
	int lo = 0, hi = r->ngroups;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		const struct an_group *g = &r->g[r->gsort[mid]];
		int c = strcmp(g->probe, probe);
		if (!c && level)
			c = strcmp(g->level, level);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct an_group *find_group(const struct an_run *r, const char *probe, const char *level)
{
	if (r->gsort) {
		int i = gsort_lower(r, probe, level);
		if (i < r->ngroups && !strcmp(r->g[r->gsort[i]].probe, probe) &&
		    !strcmp(r->g[r->gsort[i]].level, level))
			return &r->g[r->gsort[i]];
		return NULL;
	}
	for (int i = 0; i < r->ngroups; i++)
		if (!strcmp(r->g[i].probe, probe) && !strcmp(r->g[i].level, level))
			return &r->g[i];
	return NULL;
}

static int probe_armed(const struct an_run *r, const char *probe)
{
	if (r->psort) {
		int lo = 0, hi = r->nprobes;
		while (lo < hi) {
			int mid = lo + (hi - lo) / 2;
			if (strcmp(r->probes[r->psort[mid]].probe, probe) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < r->nprobes && !strcmp(r->probes[r->psort[lo]].probe, probe))
			return r->probes[r->psort[lo]].armed;
	} else {
		for (int i = 0; i < r->nprobes; i++)
			if (!strcmp(r->probes[i].probe, probe))
				return r->probes[i].armed;
	}
	/* No status line (older files): a notification proves it was armed. */
	if (r->gsort) {
		int i = gsort_lower(r, probe, NULL);
		return i < r->ngroups && !strcmp(r->g[r->gsort[i]].probe, probe);
	}
	for (int i = 0; i < r->ngroups; i++)
		if (!strcmp(r->g[i].probe, probe))
			return 1;
	return 0;
}

int an_run_matches(const struct an_run *r, const struct an_key *k)
{
	return !k || !k->hier[0] || !strcmp(r->hierarchy, k->hier);
}

int an_cell_hiers(const struct an_cell *c, const char *h[2])
{
	int v1 = 0, v2 = 0, n = 0;
	for (int i = 0; i < c->nruns; i++) {
		if (!c->runs[i]->hier_recorded)
			continue;
		v1 |= !strcmp(c->runs[i]->hierarchy, "v1");
		v2 |= !strcmp(c->runs[i]->hierarchy, "v2");
	}
	if (v1)
		h[n++] = "v1";
	if (v2)
		h[n++] = "v2";
	return n;
}

double an_run_value(const struct an_run *r, const struct an_key *k, enum an_metric m)
{
	const struct an_group *g;

	/* Another hierarchy's boot: no value for this row. */
	if (!an_run_matches(r, k))
		return NAN;
	switch (m) {
	case AN_M_TIME_TO_OOM: return r->time_to_oom_s;
	case AN_M_ALLOC_TO_OOM: return r->alloc_to_oom_s;
	case AN_M_EXPECTED_OOM: return r->expected_alloc_to_oom_s;
	case AN_M_OOM_RATIO: return r->oom_time_ratio;
	case AN_M_RECORDER_CPU: return r->recorder_cpu_per_s;
	case AN_M_RUN_S: return r->run_s;
	default: break;
	}
	if (!k || !k->probe[0])
		return NAN;
	g = find_group(r, k->probe, k->level);
	if (!g) {
		if (!probe_armed(r, k->probe))
			return NAN;
		/* Armed, but silent at this level. */
		switch (m) {
		case AN_M_NOTIFICATIONS: case AN_M_SIGNALS: case AN_M_FP:
		case AN_M_PEAK: case AN_M_PEAK_SIGNALS:
			return 0;
		case AN_M_FP_RATE:
			return r->run_s > 0 ? 0 : NAN;
		case AN_M_LEAD_RANKED:
			return r->t_oom != AN_NONE ? -INFINITY : NAN;
		default:
			return NAN;
		}
	}
	switch (m) {
	case AN_M_FIRST: return g->first_s;
	case AN_M_LEAD: return g->lead_s;
	case AN_M_LEAD_RANKED:
		return g->lead_status == AN_LEAD_OK ? g->lead_s :
		       g->lead_status == AN_LEAD_MISSED ? -INFINITY : NAN;
	case AN_M_LATE: return g->late_s;
	case AN_M_HEADROOM_KB: return g->headroom_kB;
	case AN_M_HEADROOM_PCT: return g->headroom_pct;
	case AN_M_PROGRESS_ALLOC: return g->progress_alloc_MiB;
	case AN_M_PROGRESS_READ: return g->progress_read_MiB;
	case AN_M_LATENCY: return g->latency_s;
	case AN_M_NOTIFICATIONS: return g->notifications;
	case AN_M_SIGNALS: return (double)g->signals;
	case AN_M_FP: return g->false_positives;
	case AN_M_FP_RATE: return g->fp_per_min;
	case AN_M_PEAK: return g->peak_per_s;
	case AN_M_PEAK_SIGNALS: return (double)g->peak_signals_per_s;
	default: return NAN;
	}
}

void an_key_counts(const struct an_cell *c, const struct an_key *k, struct an_key_counts *n)
{
	memset(n, 0, sizeof *n);
	for (int i = 0; i < c->nruns; i++) {
		const struct an_run *r = c->runs[i];
		if (!an_run_matches(r, k))
			continue;
		const struct an_group *g = find_group(r, k->probe, k->level);
		int armed = probe_armed(r, k->probe);

		n->runs++;
		n->armed += armed;
		if (r->t_oom != AN_NONE)
			n->oom_runs++;
		if (g && g->notifications)
			n->fired++;
		if (g && g->storm)
			n->storms++;
		if (g && g->lead_status == AN_LEAD_OK)
			n->fired_before_oom++;
		else if (armed && r->t_oom != AN_NONE)
			n->missed++;
	}
}

void an_key_label(const struct an_key *k, char *buf, size_t len)
{
	char pat[AN_LEVEL_LEN + 2];

	/* "vmpressure:low:hierarchy" already says "low". */
	snprintf(pat, sizeof pat, ":%s", k->level);
	if (strstr(k->probe, pat) || !strcmp(k->level, "*"))
		snprintf(buf, len, "%s", k->probe);
	else
		snprintf(buf, len, "%s %s", k->probe, k->level);
	/* Which boot's row this is, where both were run. */
	if (k->hier[0]) {
		size_t l = strlen(buf);
		snprintf(buf + l, len - l, " (%s)", k->hier);
	}
}

/* Keys with their position, for a stable sort. */
struct kpos {
	struct an_key k;
	size_t pos;
};

static int kpos_by_name(const void *a, const void *b)
{
	const struct kpos *p = a, *q = b;
	int r = strcmp(p->k.probe, q->k.probe);

	if (!r)
		r = strcmp(p->k.level, q->k.level);
	if (!r)
		r = strcmp(p->k.hier, q->k.hier);
	return r ? r : (p->pos > q->pos) - (p->pos < q->pos);
}

/* In place: the first of each (probe, level), without a probe's "*" row
 * when another names a level for it, in row order.  By sorting, not by
 * comparing every pair: a run may have tens of thousands of groups.
 * The count left. */
static size_t keys_dedupe(struct kpos *kp, size_t n, struct an_key *out)
{
	size_t w = 0;

	if (!n)
		return 0;
	qsort(kp, n, sizeof *kp, kpos_by_name);
	for (size_t a = 0; a < n;) {
		size_t b = a;	/* [a, b): one probe, its levels sorted */
		int named = 0;
		while (b < n && !strcmp(kp[b].k.probe, kp[a].k.probe)) {
			named |= strcmp(kp[b].k.level, "*") != 0;
			b++;
		}
		for (size_t i = a; i < b; i++) {
			if (i > a && !strcmp(kp[i].k.level, kp[i - 1].k.level) &&
			    !strcmp(kp[i].k.hier, kp[i - 1].k.hier))
				continue;
			if (named && !strcmp(kp[i].k.level, "*"))
				continue;
			/* A row for every run ("": a set from before hierarchies
			 * were recorded) gives way to the same row of a hierarchy:
			 * its runs, all v1 boots, count in the v1 row. */
			if (!kp[i].k.hier[0]) {
				size_t j = i + 1;
				while (j < b && !strcmp(kp[j].k.level, kp[i].k.level) && !kp[j].k.hier[0])
					j++;
				if (j < b && !strcmp(kp[j].k.level, kp[i].k.level))
					continue;
			}
			out[w++] = kp[i].k;
		}
		a = b;
	}
	qsort(out, w, sizeof *out, an_key_cmp);
	return w;
}

int an_cell_keys(const struct an_cell *c, struct an_key **keys)
{
	struct kpos *kp;
	struct an_key *k;
	size_t n = 0, total = 0;

	for (int i = 0; i < c->nruns; i++)
		total += (size_t)c->runs[i]->ngroups;
	kp = malloc((total + 1) * sizeof *kp);
	k = malloc((total + 1) * sizeof *k);
	if (!kp || !k) {
		free(kp);
		free(k);
		return -ENOMEM;
	}
	for (int i = 0; i < c->nruns; i++) {
		const struct an_run *r = c->runs[i];
		for (int j = 0; j < r->ngroups; j++) {
			const struct an_group *g = &r->g[j];
			struct kpos *x = &kp[n];
			memset(x, 0, sizeof *x);
			x->pos = n++;
			x->k.probe_idx = g->probe_idx;
			x->k.claim = g->claim;
			an_copy_str(x->k.probe, sizeof x->k.probe, g->probe);
			an_copy_str(x->k.mech, sizeof x->k.mech, g->mech);
			an_copy_str(x->k.level, sizeof x->k.level, g->level);
			if (r->hier_recorded)
				an_copy_str(x->k.hier, sizeof x->k.hier, r->hierarchy);
		}
	}
	n = keys_dedupe(kp, n, k);
	free(kp);
	*keys = k;
	return (int)n;
}

int an_cells_keys(const struct an_cell *const *cells, int n, struct an_key **out)
{
	struct kpos *kp = NULL;
	struct an_key *all;
	size_t na = 0, cap = 0;

	for (int i = 0; i < n; i++) {
		struct an_key *k = NULL;
		int nk = an_cell_keys(cells[i], &k);
		if (nk < 0) {
			free(kp);
			return -ENOMEM;
		}
		for (int a = 0; a < nk; a++) {
			struct kpos x = { .k = k[a], .pos = na };
			if (PUSH(kp, na, cap, x)) {
				free(k);
				free(kp);
				return -ENOMEM;
			}
		}
		free(k);
	}
	if (!(all = malloc((na + 1) * sizeof *all))) {
		free(kp);
		return -ENOMEM;
	}
	na = keys_dedupe(kp, na, all);
	free(kp);
	*out = all;
	return (int)na;
}

