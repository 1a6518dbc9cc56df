/* Row order and the JSON of one run (summary.json, results/SCHEMA.md). */
#include "an_private.h"
#include "parse.h"

/* ---- ordering of rows ---------------------------------------------------- */

/* Rows of one probe in its mechanism's order of levels (probes/). */
static int level_rank(const char *mech, const char *level)
{
	return probe_level_rank(probe_find(mech), level);
}

static int key_order(int ia, const char *pa, const char *ma, const char *la,
		     int ib, const char *pb, const char *mb, const char *lb)
{
	int r;

	if (ia != ib) {
		if (ia < 0)
			return 1;
		if (ib < 0)
			return -1;
		return ia - ib;
	}
	if ((r = strcmp(pa, pb)))
		return r;
	int ra = level_rank(ma, la), rb = level_rank(mb, lb);
	if (ra != rb)
		return ra - rb;
	return strcmp(la, lb);
}

int an_group_order(const void *a, const void *b)
{
	const struct an_group *p = a, *q = b;
	return key_order(p->probe_idx, p->probe, p->mech, p->level,
			 q->probe_idx, q->probe, q->mech, q->level);
}

int an_key_cmp(const void *a, const void *b)
{
	const struct an_key *p = a, *q = b;
	int r = key_order(p->probe_idx, p->probe, p->mech, p->level,
			  q->probe_idx, q->probe, q->mech, q->level);
	/* A mechanism's v1 row, then its v2 row. */
	return r ? r : strcmp(p->hier, q->hier);
}

/* ---- JSON of a run ------------------------------------------------------- */

json_t *an_flags_json(unsigned flags)
{
	json_t *a = json_array();
	for (int i = 0; i < AN_NFLAGS; i++)
		if (flags & (1u << i))
			json_array_append_new(a, json_string(an_flag_names[i]));
	return a;
}

/* The keys of a group in summary.json: one table, so a new field is one
 * line and the JSON cannot drift from struct an_group. */
enum gfield_kind { GF_STR, GF_INT, GF_LL, GF_REAL, GF_BOOL };
static const struct gfield {
	const char *key;
	enum gfield_kind kind;
	size_t off;
} gfields[] = {
#define GF(k, kind, member) { k, kind, offsetof(struct an_group, member) }
	GF("probe", GF_STR, probe),
	GF("mech", GF_STR, mech),
	GF("level", GF_STR, level),
	GF("notifications", GF_INT, notifications),
	GF("signals", GF_LL, signals),
	GF("before_oom", GF_INT, before_oom),
	GF("after_oom", GF_INT, after_oom),
	GF("first_s", GF_REAL, first_s),
	GF("last_s", GF_REAL, last_s),
	GF("lead_s", GF_REAL, lead_s),
	GF("late_s", GF_REAL, late_s),
	GF("headroom_kB", GF_REAL, headroom_kB),
	GF("headroom_pct", GF_REAL, headroom_pct),
	GF("progress_alloc_MiB", GF_REAL, progress_alloc_MiB),
	GF("progress_read_MiB", GF_REAL, progress_read_MiB),
	GF("latency_s", GF_REAL, latency_s),
	GF("false_positives", GF_INT, false_positives),
	GF("judged", GF_INT, judged),
	GF("unjudged", GF_INT, unjudged),
	GF("fp_per_min", GF_REAL, fp_per_min),
	GF("peak_per_s", GF_INT, peak_per_s),
	GF("peak_signals_per_s", GF_LL, peak_signals_per_s),
	GF("storm", GF_BOOL, storm),
#undef GF
};

static json_t *group_json(const struct an_group *g)
{
	json_t *x = json_object();

	for (size_t i = 0; i < sizeof gfields / sizeof gfields[0]; i++) {
		const struct gfield *f = &gfields[i];
		const char *p = (const char *)g + f->off;
		json_t *v;

		switch (f->kind) {
		case GF_STR: v = json_string(p); break;
		case GF_INT: v = json_integer(*(const int *)p); break;
		case GF_LL: v = json_integer(*(const long long *)p); break;
		case GF_REAL: v = an_jreal(*(const double *)p); break;
		default: v = json_boolean(*(const int *)p); break;
		}
		json_object_set_new(x, f->key, v);
	}
	json_object_set_new(x, "claim", json_string(an_claim_name(g->claim)));
	json_object_set_new(x, "lead_status", json_string(an_lead_name(g->lead_status)));
	json_object_set_new(x, "latency_onset", g->onset ? json_string(g->onset) : json_null());
	/* Only where there was swap-out: summaries of swapless runs keep
	 * their bytes. */
	if (!isnan(g->swapout_rel_s))
		json_object_set_new(x, "swapout_rel_s", an_jreal(g->swapout_rel_s));
	return x;
}

/* A directory as summaries record it: relative to the set's root, so a
 * set analysed where it lies, copied or committed writes the same bytes. */
const char *an_set_relative(const char *set, const char *dir)
{
	size_t n = set ? strlen(set) : 0;
	if (n && !strncmp(dir, set, n) && dir[n] == '/')
		return dir + n + 1;
	if (n && !strcmp(dir, set))
		return ".";
	return dir;
}

json_t *an_run_json(const struct an_run *r)
{
	json_t *o = json_object(), *run = json_object(), *truth = json_object();
	json_t *probes = json_array(), *groups = json_array();

	json_object_set_new(o, "schema", json_string(AN_SUMMARY_SCHEMA));
	json_object_set_new(run, "dir", json_string(an_set_relative(r->set_path, r->dir)));
	json_object_set_new(run, "kernel", json_string(r->kernel));
	json_object_set_new(run, "release", json_string(r->release));
	json_object_set_new(run, "scenario", json_string(r->scenario));
	json_object_set_new(run, "rep", json_integer(r->rep));
	json_object_set_new(run, "workload", json_string(r->workload));
	json_object_set_new(run, "expect", json_string(an_expect_name(r->expect)));
	json_object_set_new(run, "domain", json_string(r->domain));
	json_object_set_new(run, "events_schema", json_string(r->events_schema));
	json_object_set_new(run, "git_rev", json_string(r->git_rev));
	json_object_set_new(o, "run", run);
	json_object_set_new(o, "incomplete", json_boolean(r->incomplete));
	json_object_set_new(o, "flags", an_flags_json(r->flags));
	json_object_set_new(o, "lines", json_integer(r->lines));
	json_object_set_new(o, "bad_lines", json_integer(r->bad_lines));
	json_object_set_new(o, "events_error", r->events_error[0] ? json_string(r->events_error) : json_null());
	json_object_set_new(o, "meta_status", json_string(r->meta_status));
	json_object_set_new(o, "end_reason", json_string(r->end_reason));

	json_object_set_new(truth, "workload_pid", json_integer(r->workload_pid));
	json_object_set_new(truth, "oom_source", r->oom_source[0] ? json_string(r->oom_source) : json_null());
	json_object_set_new(truth, "oom_kills", json_integer(r->oom_kills));
	json_object_set_new(truth, "t_oom_s", an_jtime_s(r->t_oom, r->t_start));
	json_object_set_new(truth, "reclaim_source", r->reclaim_source[0] ? json_string(r->reclaim_source) : json_null());
	json_object_set_new(truth, "t_reclaim_s", an_jtime_s(r->t_reclaim, r->t_start));
	json_object_set_new(truth, "direct_source", r->direct_source[0] ? json_string(r->direct_source) : json_null());
	json_object_set_new(truth, "t_direct_s", an_jtime_s(r->t_direct, r->t_start));
	json_object_set_new(truth, "t_alloc_s", an_jtime_s(r->t_alloc, r->t_start));
	if (r->t_swapout != AN_NONE)
		json_object_set_new(truth, "t_swapout_s", an_jtime_s(r->t_swapout, r->t_start));
	json_object_set_new(o, "truth", truth);
	/* Recorded ones only: summaries of older sets keep their bytes. */
	if (r->hier_recorded)
		json_object_set_new(run, "hierarchy", json_string(r->hierarchy));
	if (r->knobs[0])
		json_object_set_new(run, "knobs", json_string(r->knobs));

	for (int m = AN_NGROUP_METRICS; m < AN_NMETRICS; m++)
		json_object_set_new(o, an_metrics[m].key, an_jreal(an_run_value(r, NULL, m)));
	json_object_set_new(o, "rate_MiB_s", an_jreal(r->rate_MiB_s));
	json_object_set_new(o, "available_at_alloc_kB", an_jreal(r->available_at_alloc_kB));

	for (int i = 0; i < r->nprobes; i++) {
		const struct an_probe_status *p = &r->probes[i];
		json_t *x = json_object();
		json_object_set_new(x, "probe", json_string(p->probe));
		json_object_set_new(x, "mech", json_string(p->mech));
		json_object_set_new(x, "status", json_string(p->status));
		if (p->reason[0])
			json_object_set_new(x, "reason", json_string(p->reason));
		json_object_set_new(x, "cpu_per_s", an_jreal(p->cpu_per_s));
		json_array_append_new(probes, x);
	}
	json_object_set_new(o, "probes", probes);

	for (int i = 0; i < r->ngroups; i++)
		json_array_append_new(groups, group_json(&r->g[i]));
	json_object_set_new(o, "groups", groups);
	if (r->outcome)
		json_object_set_new(o, "outcome", an_outcome_json(r->outcome));
	return o;
}

