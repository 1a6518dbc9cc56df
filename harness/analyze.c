/* pnbench analyze: result directories into metrics (docs/metrics.md).
 * The reading and computing half is shared with compare and report. */
#include "analysis.h"
#include "events_read.h"
#include "ground_truth.h"
#include "cli.h"
#include "fsutil.h"
#include "log.h"
#include "parse.h"
#include "scenario.h"
#include "stats.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS 1000000000.0
/* vmstat onsets are polled every 10 ms (probes/reclaim.c). */
#define VMSTAT_TOL_NS 10000000LL
#define STORM_PER_S 100
/* Most kernel events one line may claim (eventfd counter, memory.events delta). */
#define SIGNALS_MAX (1LL << 32)

const char *const an_flag_names[AN_NFLAGS] = {
	"no_end", "cut_last_line", "meta_incomplete", "no_meta", "no_header",
	"partial_dir", "bad_lines", "no_workload_start", "unexpected_oom", "no_oom",
	"trace_unfiltered", "oom_from_vmstat", "scenario_unparsed", "bad_name", "no_events",
};

const struct an_metric_info an_metrics[AN_NMETRICS] = {
	[AN_M_FIRST] = { "first_s", "first notification s", 0, 1 },
	[AN_M_LEAD] = { "lead_s", "lead time s", -1, 1 },
	[AN_M_LEAD_RANKED] = { "lead_s", "lead time s", -1, 1 },
	[AN_M_LATE] = { "late_s", "late by s", 1, 1 },
	[AN_M_HEADROOM_KB] = { "headroom_kB", "headroom MiB", -1, 1.0 / 1024 },
	[AN_M_HEADROOM_PCT] = { "headroom_pct", "headroom % of total", -1, 1 },
	[AN_M_PROGRESS_ALLOC] = { "progress_alloc_MiB", "allocated by then MiB", 0, 1 },
	[AN_M_PROGRESS_READ] = { "progress_read_MiB", "read by then MiB", 0, 1 },
	[AN_M_LATENCY] = { "latency_s", "reaction latency s", 1, 1 },
	[AN_M_NOTIFICATIONS] = { "notifications", "notifications", 0, 1 },
	[AN_M_SIGNALS] = { "signals", "kernel signals", 0, 1 },
	[AN_M_FP] = { "false_positives", "false positives", 1, 1 },
	[AN_M_FP_RATE] = { "fp_per_min", "false positives /min", 1, 1 },
	[AN_M_PEAK] = { "peak_per_s", "peak rate /s", 1, 1 },
	[AN_M_PEAK_SIGNALS] = { "peak_signals_per_s", "peak signals /s", 1, 1 },
	[AN_M_TIME_TO_OOM] = { "time_to_oom_s", "time to OOM s", 0, 1 },
	[AN_M_ALLOC_TO_OOM] = { "alloc_to_oom_s", "alloc start to OOM s", 0, 1 },
	[AN_M_EXPECTED_OOM] = { "expected_alloc_to_oom_s", "expected (avail/rate) s", 0, 1 },
	[AN_M_OOM_RATIO] = { "oom_time_ratio", "actual/expected", 0, 1 },
	[AN_M_RECORDER_CPU] = { "recorder_cpu_per_s", "recorder CPU %", 1, 100 },
	[AN_M_RUN_S] = { "run_s", "run length s", 0, 1 },
};

const char *an_claim_name(enum an_claim c)
{
	static const char *const n[] = { "none", "reclaim", "direct", "oom", "threshold" };
	return n[c];
}

const char *an_lead_name(enum an_lead l)
{
	static const char *const n[] = { "ok", "missed", "no_oom" };
	return n[l];
}

const char *an_expect_name(enum an_expect e)
{
	static const char *const n[] = { "any", "oom", "no-oom" };
	return n[e];
}

enum an_claim an_claim_of(const char *mech, const char *level)
{
	if (!strcmp(mech, "vmpressure")) {
		if (!strcmp(level, "low"))
			return AN_CLAIM_RECLAIM;
		if (!strcmp(level, "medium"))
			return AN_CLAIM_DIRECT;
		if (!strcmp(level, "critical"))
			return AN_CLAIM_OOM;
	} else if (!strcmp(mech, "psi")) {
		if (!strcmp(level, "some"))
			return AN_CLAIM_RECLAIM;
		if (!strcmp(level, "full"))
			return AN_CLAIM_DIRECT;
	} else if (!strcmp(mech, "memevents")) {
		if (!strcmp(level, "low"))
			return AN_CLAIM_RECLAIM;
		if (!strcmp(level, "high") || !strcmp(level, "max"))
			return AN_CLAIM_DIRECT;
		if (!strncmp(level, "oom", 3))
			return AN_CLAIM_OOM;
	} else if (!strcmp(mech, "memavail")) {
		if (!strcmp(level, "below"))
			return AN_CLAIM_THRESHOLD;
	} else if (!strcmp(mech, "lmk") || !strcmp(mech, "klmk")) {
		/* The same rule, in user space or inside reclaim (docs/kmod.md). */
		if (!strncmp(level, "adj", 3))
			return AN_CLAIM_THRESHOLD;
	} else if (!strcmp(mech, "memnotify")) {
		/* 2008: anonymous pages are being deactivated, i.e. reclaim
		 * has reached the anon LRU. */
		if (!strcmp(level, "pressure"))
			return AN_CLAIM_RECLAIM;
	} else if (!strcmp(mech, "simplelmk")) {
		/* simple_lmk killed at this moment instead of waiting for the
		 * OOM killer: it claims the OOM is near, as vmpressure's
		 * priority-driven critical does. */
		if (!strcmp(level, "kswapd") || !strcmp(level, "direct"))
			return AN_CLAIM_OOM;
	}
	return AN_CLAIM_NONE;
}

/* Levels that only report reclaim activity (metrics.md 3.4). */
static int activity_only(const char *mech, const char *level)
{
	if (!strcmp(mech, "vmpressure"))
		return !strcmp(level, "low");
	if (!strcmp(mech, "memevents"))
		return !strcmp(level, "low") || !strcmp(level, "high") || !strcmp(level, "max");
	return 0;
}

/* Mechanisms that are ground truth or sampling, not notifications. */
static int is_notifier(const char *mech)
{
	return strcmp(mech, "sample") && strcmp(mech, "oom") && strcmp(mech, "reclaim") &&
	       strcmp(mech, "swapout");
}

/* ---- growable arrays ----------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 64;
	void *q = realloc(*p, nc * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = nc;
	return 0;
}
#define PUSH(arr, n, cap, val) \
	(grow((void **)&(arr), &(cap), (n), sizeof *(arr)) ? -ENOMEM : ((arr)[(n)++] = (val), 0))

/* ---- JSON helpers -------------------------------------------------------- */

static int jget_i64(json_t *o, const char *k, int64_t *v)
{
	json_t *x = json_object_get(o, k);
	if (json_is_integer(x)) {
		*v = json_integer_value(x);
		return 0;
	}
	/* Out of range (or NAN) the conversion would be undefined. */
	if (json_is_real(x) && json_real_value(x) >= -0x1p63 && json_real_value(x) < 0x1p63) {
		*v = (int64_t)json_real_value(x);
		return 0;
	}
	return -1;
}

/* An event time: see AN_T_MAX. */
static int ev_time(struct evr_obj o, const char *k, int64_t *v)
{
	int64_t t;

	if (evr_i64(o, k, &t) || t < 0 || t >= AN_T_MAX)
		return -1;
	*v = t;
	return 0;
}

static const char *jget_str(json_t *o, const char *k)
{
	json_t *x = json_object_get(o, k);
	return json_is_string(x) ? json_string_value(x) : NULL;
}

static void copy_str(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "%s", s ? s : "");
}

/* NAN is not JSON: it becomes null. */
static json_t *jreal(double v)
{
	if (isnan(v))
		return json_null();
	if (isinf(v))
		return json_string(v < 0 ? "-inf" : "inf");
	return json_real(v);
}

static json_t *jtime_s(int64_t t, int64_t origin)
{
	return t == AN_NONE ? json_null() : json_real((double)(t - origin) / NS);
}

/* ---- one run ------------------------------------------------------------- */

struct note {
	int64_t t;
	size_t seq;
	int group;
	long long signals;
};

struct progress {
	int64_t t;
	size_t seq;
	int read;		/* 1: read_bytes, 0: alloc_bytes */
	double bytes;
};

/* Open addressing from a string hash to an index into r->g or r->probes:
 * a run may carry tens of thousands of groups, and a linear search per
 * line made reading quadratic. */
struct index {
	struct { uint64_t h; int idx; } *slot;	/* idx -1: empty */
	size_t cap, n;
};

static uint64_t hash2(const char *a, const char *b)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 0x100000001b3ULL;
	h = (h ^ 0xff) * 0x100000001b3ULL;	/* ("ab", "c") is not ("a", "bc") */
	for (; b && *b; b++)
		h = (h ^ (unsigned char)*b) * 0x100000001b3ULL;
	return h;
}

static int index_add(struct index *ix, uint64_t h, int idx)
{
	if (2 * (ix->n + 1) > ix->cap) {
		size_t nc = ix->cap ? 2 * ix->cap : 64;
		struct index old = *ix;
		if (!(ix->slot = malloc(nc * sizeof *ix->slot))) {
			*ix = old;
			return -ENOMEM;
		}
		ix->cap = nc;
		ix->n = 0;
		for (size_t i = 0; i < nc; i++)
			ix->slot[i].idx = -1;
		for (size_t i = 0; i < old.cap; i++)
			if (old.slot[i].idx >= 0)
				index_add(ix, old.slot[i].h, old.slot[i].idx);
		free(old.slot);
	}
	size_t i = h & (ix->cap - 1);
	while (ix->slot[i].idx >= 0)
		i = (i + 1) & (ix->cap - 1);
	ix->slot[i].h = h;
	ix->slot[i].idx = idx;
	ix->n++;
	return 0;
}

struct ctx;
/* The first index with hash h for which eq says yes, or -1. */
static int index_find(const struct index *ix, uint64_t h,
		      int (*eq)(const struct ctx *, int, const char *, const char *),
		      const struct ctx *c, const char *a, const char *b)
{
	if (!ix->cap)
		return -1;
	for (size_t i = h & (ix->cap - 1); ix->slot[i].idx >= 0; i = (i + 1) & (ix->cap - 1))
		if (ix->slot[i].h == h && eq(c, ix->slot[i].idx, a, b))
			return ix->slot[i].idx;
	return -1;
}

struct ctx {
	struct an_run *r;
	struct index gix, pix, hix;	/* (probe, level) -> r->g, probe -> r->probes, hprobes */
	size_t cg, cp;			/* capacities of r->g, r->probes */
	json_t *header, *meta;
	struct gt_line *tr;
	size_t ntr, ctr;
	struct note *no;
	size_t nno, cno;
	struct progress *pr;
	size_t npr, cpr;
	size_t csam, crate;
	int trace_filtered;
	char (*hprobes)[AN_PROBE_LEN];	/* the header's probe list */
	int nhprobes;
	int64_t end_t, end_cpu_ns, max_t;
	int have_end_cpu;
	char *olines;			/* the outcome pass's lines, '\n'-separated */
	size_t nolines, colines;
};

#define CMP_T(a, b) ((a)->t != (b)->t ? ((a)->t > (b)->t) - ((a)->t < (b)->t) : \
		     ((a)->seq > (b)->seq) - ((a)->seq < (b)->seq))
static int note_cmp(const void *a, const void *b) { const struct note *p = a, *q = b; return CMP_T(p, q); }
static int progress_cmp(const void *a, const void *b) { const struct progress *p = a, *q = b; return CMP_T(p, q); }
static int sample_cmp(const void *a, const void *b)
{
	const struct an_sample *p = a, *q = b;
	return (p->t > q->t) - (p->t < q->t);
}

static int hprobe_eq(const struct ctx *c, int i, const char *spec, const char *unused)
{
	(void)unused;
	return !strcmp(c->hprobes[i], spec);
}

static int probe_index(const struct ctx *c, const char *spec)
{
	return index_find(&c->hix, hash2(spec, NULL), hprobe_eq, c, spec, NULL);
}

static int group_eq(const struct ctx *c, int i, const char *spec, const char *level)
{
	return !strcmp(c->r->g[i].probe, spec) && !strcmp(c->r->g[i].level, level);
}

static int probe_eq(const struct ctx *c, int i, const char *spec, const char *unused)
{
	(void)unused;
	return !strcmp(c->r->probes[i].probe, spec);
}

static int group_slot(struct ctx *c, const char *spec, const char *mech, const char *level)
{
	struct an_run *r = c->r;
	uint64_t h = hash2(spec, level);
	int i = index_find(&c->gix, h, group_eq, c, spec, level);

	if (i >= 0)
		return i;
	/* Stored strings are cut to their fields: look them up cut too. */
	if (strlen(spec) >= AN_PROBE_LEN || strlen(level) >= AN_LEVEL_LEN) {
		char sp[AN_PROBE_LEN], lv[AN_LEVEL_LEN];
		copy_str(sp, sizeof sp, spec);
		copy_str(lv, sizeof lv, level);
		return group_slot(c, sp, mech, lv);
	}
	if (index_add(&c->gix, h, r->ngroups) || grow((void **)&r->g, &c->cg, (size_t)r->ngroups, sizeof *r->g))
		return -ENOMEM;
	struct an_group *g = &r->g[r->ngroups];
	memset(g, 0, sizeof *g);
	copy_str(g->probe, sizeof g->probe, spec);
	copy_str(g->mech, sizeof g->mech, mech);
	copy_str(g->level, sizeof g->level, level);
	g->probe_idx = probe_index(c, spec);
	g->claim = an_claim_of(mech, level);
	g->first_ns = g->last_ns = AN_NONE;
	g->threshold_kB = g->minfree_kB = NAN;
	return r->ngroups++;
}

static struct an_probe_status *probe_status_slot(struct ctx *c, const char *spec)
{
	struct an_run *r = c->r;
	uint64_t h = hash2(spec, NULL);
	int i = index_find(&c->pix, h, probe_eq, c, spec, NULL);

	if (i >= 0)
		return &r->probes[i];
	if (strlen(spec) >= AN_PROBE_LEN) {
		char sp[AN_PROBE_LEN];
		copy_str(sp, sizeof sp, spec);
		return probe_status_slot(c, sp);
	}
	if (index_add(&c->pix, h, r->nprobes) ||
	    grow((void **)&r->probes, &c->cp, (size_t)r->nprobes, sizeof *r->probes))
		return NULL;
	struct an_probe_status *np = r->probes;
	memset(&np[r->nprobes], 0, sizeof *np);
	copy_str(np[r->nprobes].probe, sizeof np->probe, spec);
	return &np[r->nprobes++];
}

static int on_header(struct ctx *c, json_t *o)
{
	struct an_run *r = c->r;
	json_t *p = json_object_get(o, "probes"), *v;
	size_t i;

	if (c->header)
		return 0;
	c->header = json_incref(o);
	copy_str(r->events_schema, sizeof r->events_schema, jget_str(o, "schema"));
	copy_str(r->domain, sizeof r->domain, jget_str(o, "domain"));
	if (json_is_array(p)) {
		c->hprobes = calloc(json_array_size(p) + 1, sizeof *c->hprobes);
		if (!c->hprobes)
			return -ENOMEM;
		json_array_foreach(p, i, v)
			if (json_is_string(v)) {
				copy_str(c->hprobes[c->nhprobes], AN_PROBE_LEN, json_string_value(v));
				if (index_add(&c->hix, hash2(c->hprobes[c->nhprobes], NULL), c->nhprobes))
					return -ENOMEM;
				c->nhprobes++;
			}
	}
	return 0;
}

static int on_sample(struct ctx *c, struct evr_obj o, int64_t t)
{
	struct an_run *r = c->r;
	struct evr_obj view = evr_get_obj(o, "view"), vm = evr_get_obj(o, "vmstat");
	struct an_sample s = { .t = t };

	if (!evr_ok(view))
		return 0;
	s.total_kB = evr_num(view, "total_kB");
	s.free_kB = evr_num(view, "free_kB");
	s.available_kB = evr_num(view, "available_kB");
	s.anon_kB = evr_num(view, "anon_kB");
	s.cache_kB = evr_num(view, "cache_kB");
	s.pgscan = NAN;
	if (evr_ok(vm)) {
		double a = evr_num(vm, "pgscan_kswapd"), b = evr_num(vm, "pgscan_direct");
		if (!isnan(a) && !isnan(b))
			s.pgscan = a + b;
	}
	return PUSH(r->samples, r->nsamples, c->csam, s);
}

static int on_notify(struct ctx *c, struct evr_obj o, int64_t t, size_t seq)
{
	const char *spec = evr_str(o, "probe"), *mech = evr_str(o, "mech"),
		   *level = evr_str(o, "level");
	struct note n = { .t = t, .seq = seq, .signals = 1 };
	int64_t v;

	if (!spec || !level)
		return 0;
	if (!mech)
		mech = "";
	n.group = group_slot(c, spec, mech, level);
	if (n.group < 0)
		return n.group;
	/* Eventfd counters (vmpressure and the vmpressure-driven LMK) and
	 * memory.events deltas say how many kernel events one wake-up carries. */
	if (!strcmp(mech, "vmpressure") || (!strcmp(mech, "lmk") && strstr(spec, "vmpressure"))) {
		if (!evr_i64(o, "count", &v) && v > 0)
			n.signals = v;
	} else if (!strcmp(mech, "memevents")) {
		if (!evr_i64(o, "delta", &v) && v > 0)
			n.signals = v;
	}
	/* A garbage count must not overflow the sums over a run. */
	if (n.signals > SIGNALS_MAX)
		n.signals = SIGNALS_MAX;
	struct an_group *g = &c->r->g[n.group];
	/* Thresholds of the earliest line (lines are not in time order). */
	if (g->first_ns == AN_NONE || t < g->first_ns) {
		g->first_ns = t;
		g->threshold_kB = evr_num(o, "threshold_kB");
		g->minfree_kB = evr_num(o, "minfree_kB");
	}
	return PUSH(c->no, c->nno, c->cno, n);
}

static int on_truth(struct ctx *c, struct evr_obj o, int64_t t, size_t seq)
{
	struct gt_line x;

	if (!gt_from_event(o, t, seq, &x))
		return 0;
	return PUSH(c->tr, c->ntr, c->ctr, x);
}

static int on_line(struct ctx *c, struct evr_line *l, size_t seq)
{
	struct an_run *r = c->r;
	struct evr_obj o = evr_root(l);
	const char *type = evr_str(o, "type");
	int64_t t;

	if (ev_time(o, "t_ns", &t) || !type)
		return 1;	/* not an event */
	if (t > c->max_t)
		c->max_t = t;
	if (!strcmp(type, "header"))
		return on_header(c, evr_json(l));
	if (!strcmp(type, "sample"))
		return on_sample(c, o, t);
	if (!strcmp(type, "notify"))
		return on_notify(c, o, t, seq);
	if (!strcmp(type, "truth"))
		return on_truth(c, o, t, seq);
	if (!strcmp(type, "progress")) {
		const char *w = evr_str(o, "what");
		struct progress p = { .t = t, .seq = seq, .bytes = evr_num(o, "value") };
		if (!w || isnan(p.bytes) || (strcmp(w, "alloc_bytes") && strcmp(w, "read_bytes")))
			return 0;
		p.read = !strcmp(w, "read_bytes");
		return PUSH(c->pr, c->npr, c->cpr, p);
	}
	if (!strcmp(type, "phase")) {
		const char *ph = evr_str(o, "phase");
		if (ph && !strcmp(ph, "alloc") && (r->t_alloc == AN_NONE || t < r->t_alloc))
			r->t_alloc = t;
		return 0;
	}
	if (!strcmp(type, "probe")) {
		const char *spec = evr_str(o, "probe"), *st = evr_str(o, "status");
		struct an_probe_status *ps;
		if (!spec)
			return 0;
		if (!(ps = probe_status_slot(c, spec)))
			return -ENOMEM;
		copy_str(ps->mech, sizeof ps->mech, evr_str(o, "mech"));
		copy_str(ps->status, sizeof ps->status, st);
		if (evr_str(o, "reason"))
			copy_str(ps->reason, sizeof ps->reason, evr_str(o, "reason"));
		if (st && (!strcmp(st, "armed") || !strcmp(st, "degraded")))
			ps->armed = 1;
		return 0;
	}
	if (!strcmp(type, "recorder")) {
		const char *w = evr_str(o, "what");
		if (w && !strcmp(w, "trace_filtered"))
			c->trace_filtered = 1;
		else if (w && !strcmp(w, "trace_unfiltered"))
			r->flags |= AN_F_TRACE_UNFILTERED;
		return 0;
	}
	if (!strcmp(type, "end")) {
		int64_t cpu;
		r->flags &= ~AN_F_NO_END;
		c->end_t = t;
		copy_str(r->end_reason, sizeof r->end_reason, evr_str(o, "reason"));
		if (!evr_i64(o, "recorder_cpu_ns", &cpu)) {
			c->end_cpu_ns = cpu;
			c->have_end_cpu = 1;
		}
		return 0;
	}
	return 0;
}

/* The killer outcome's lines, for its own pass (harness/outcome.c): whether
 * the run gets one is known only from the header and meta.json. */
static int keep_line(struct ctx *c, const struct evr_line *l)
{
	const char *type = evr_str(evr_root(l), "type");

	if (!type || !an_outcome_line(type))
		return 0;
	if (c->nolines + l->len + 1 > c->colines) {
		size_t nc = c->colines ? 2 * c->colines : 4096;
		while (nc < c->nolines + l->len + 1)
			nc *= 2;
		char *p = realloc(c->olines, nc);
		if (!p)
			return -ENOMEM;
		c->olines = p;
		c->colines = nc;
	}
	memcpy(c->olines + c->nolines, l->text, l->len);
	c->nolines += l->len;
	c->olines[c->nolines++] = '\n';
	return 0;
}

/* events.jsonl as a stream, or NULL with the reason in r->events_error.
 * Only a regular file: a directory, a FIFO or /dev/zero in its place
 * would fail, block or never end. */
static FILE *open_events(struct an_run *r, const char *path)
{
	struct stat st;
	FILE *f;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0) {
		snprintf(r->events_error, sizeof r->events_error, "events.jsonl: %s%s", strerror(errno),
			 errno == ENOENT && !lstat(path, &st) ? " (a dangling link)" : "");
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(r->events_error, sizeof r->events_error, "events.jsonl: not a regular file");
		close(fd);
		return NULL;
	}
	if (!(f = fdopen(fd, "r"))) {
		snprintf(r->events_error, sizeof r->events_error, "events.jsonl: %s", strerror(errno));
		close(fd);
	}
	return f;
}

static int read_events(struct ctx *c, const char *path, char *err, size_t errlen)
{
	struct an_run *r = c->r;
	FILE *f = open_events(r, path);
	struct evr_reader rd;
	struct evr_line l = { 0 };
	size_t seq = 0;
	int last_bad = 0, ret = 0, n;

	/* Nothing to read is an incomplete run, never a dropped one. */
	if (!f) {
		r->flags |= AN_F_NO_EVENTS;
		return 0;
	}
	evr_init(&rd, f);
	while ((n = evr_next(&rd, &l)) > 0) {
		size_t k = strspn(l.text, " \t\r\n");

		if (l.text[k] == 0)
			continue;
		r->lines++;
		if (evr_parse(&l) || (ret = on_line(c, &l, seq++)) == 1) {
			/* Counted as bad now; the last one is a cut line instead. */
			r->bad_lines++;
			last_bad = 1;
			ret = 0;
		} else {
			last_bad = 0;
			if (!ret)
				ret = keep_line(c, &l);
		}
		if (ret < 0)
			break;
	}
	if (n < 0 && !ret)
		ret = n;
	evr_line_free(&l);
	evr_free(&rd);
	fclose(f);
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (last_bad) {
		r->bad_lines--;
		r->flags |= AN_F_CUT_LAST_LINE;
	}
	if (r->bad_lines)
		r->flags |= AN_F_BAD_LINES;
	return 0;
}

/* Kernel and scenario names become directory and file names: one from a
 * result file that is not a single path component is dropped (the next
 * source is asked) and the run flagged.  A path part like ".." (analyze
 * ../s/1) is the user's own doing: skipped, not flagged. */
static void take_name(struct an_run *r, char *dst, size_t len, const char *name, int from_file)
{
	if (!name || dst[0])
		return;
	if (!pnb_name_ok(name) || strlen(name) >= len) {
		if (from_file)
			r->flags |= AN_F_BAD_NAME;
		return;
	}
	copy_str(dst, len, name);
}

static void read_meta(struct ctx *c, const char *dir)
{
	struct an_run *r = c->r;
	char path[PATH_MAX + 16];
	json_error_t e;
	json_t *m, *k, *s, *h, *res, *cmd;

	snprintf(path, sizeof path, "%s/meta.json", dir);
	m = json_load_file(path, 0, &e);
	if (!json_is_object(m)) {
		json_decref(m);
		r->flags |= AN_F_NO_META;
		return;
	}
	c->meta = m;
	copy_str(r->meta_schema, sizeof r->meta_schema, jget_str(m, "schema"));
	k = json_object_get(m, "kernel");
	take_name(r, r->kernel, sizeof r->kernel, jget_str(k, "name"), 1);
	copy_str(r->release, sizeof r->release, jget_str(k, "release"));
	s = json_object_get(m, "scenario");
	take_name(r, r->scenario, sizeof r->scenario, jget_str(s, "name"), 1);
	if (jget_str(s, "text"))
		r->scenario_text = strdup(jget_str(s, "text"));
	int64_t rep;
	if (!jget_i64(m, "rep", &rep))
		r->rep = (int)rep;
	h = json_object_get(m, "harness");
	copy_str(r->git_rev, sizeof r->git_rev, jget_str(h, "git_rev"));
	cmd = json_object_get(h, "command");
	if (json_is_array(cmd)) {
		size_t i, len = 1;
		json_t *v;
		json_array_foreach(cmd, i, v)
			len += strlen(json_string_value(v) ? json_string_value(v) : "") + 1;
		if ((r->command = malloc(len))) {
			r->command[0] = 0;
			json_array_foreach(cmd, i, v) {
				if (i)
					strcat(r->command, " ");
				strcat(r->command, json_string_value(v) ? json_string_value(v) : "");
			}
		}
	}
	json_t *g = json_object_get(m, "guest");
	copy_str(r->accel, sizeof r->accel, jget_str(g, "accel") ? jget_str(g, "accel") :
		 g ? "" : "native");
	copy_str(r->host_cpu, sizeof r->host_cpu, jget_str(json_object_get(m, "topology"), "cpu_model"));
	int64_t v;
	if (!jget_i64(g, "cpus", &v))
		r->guest_cpus = (int)v;
	if (!jget_i64(g, "memory_bytes", &v))
		r->guest_memory = v;
	if (!jget_i64(g, "boot_retries", &v))
		r->boot_retries = (int)v;
	copy_str(r->start, sizeof r->start, jget_str(g, "start"));
	{
		const char *h = jget_str(m, "hierarchy");
		if (h && (!strcmp(h, "v1") || !strcmp(h, "v2"))) {
			copy_str(r->hierarchy, sizeof r->hierarchy, h);
			r->hier_recorded = 1;
		} else if (g) {
			copy_str(r->hierarchy, sizeof r->hierarchy, "v1");
		}
	}
	{
		/* Knobs asked for, in a fixed order, left out at their defaults. */
		static const char *const names[] = { "swap", "lru_gen", "min_ttl_ms", "memory_max",
						     "memory_high" };
		static const char *const dflt[] = { "none", "kernel", "kernel", "max", "max" };
		json_t *kn = json_object_get(m, "knobs");
		size_t o = 0;
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
			const char *req = jget_str(json_object_get(kn, names[i]), "requested");
			if (!req || !strcmp(req, dflt[i]))
				continue;
			int n = snprintf(r->knobs + o, sizeof r->knobs - o, "%s%s=%s", o ? " " : "",
					 names[i], req);
			if (n < 0 || (size_t)n >= sizeof r->knobs - o)
				break;
			o += (size_t)n;
		}
	}
	res = json_object_get(m, "result");
	json_t *bs = json_object_get(res, "boot_s"), *ps = json_object_get(res, "poweroff_s");
	r->start_s = json_is_number(bs) ? json_number_value(bs) : NAN;
	r->poweroff_s = json_is_number(ps) ? json_number_value(ps) : NAN;
	copy_str(r->meta_status, sizeof r->meta_status, jget_str(res, "status"));
	if (!json_is_true(json_object_get(res, "complete")))
		r->flags |= AN_F_META_INCOMPLETE;
}

/* Kernel / scenario / rep when meta.json does not say: the header's
 * labels, then the path <kernel>/<scenario>/<rep>. */
static void fill_names(struct ctx *c, const char *dir)
{
	struct an_run *r = c->r;
	json_t *labels = c->header ? json_object_get(c->header, "labels") : NULL;
	char buf[PATH_MAX], *parts[3] = { NULL, NULL, NULL };
	char *p;
	int np = 0;

	snprintf(buf, sizeof buf, "%s", dir);
	while (np < 3 && (p = strrchr(buf, '/'))) {
		parts[np++] = p + 1;
		*p = 0;
	}
	if (np < 3 && buf[0])
		parts[np++] = buf;
	take_name(r, r->kernel, sizeof r->kernel, jget_str(labels, "kernel"), 1);
	take_name(r, r->kernel, sizeof r->kernel, parts[2], 0);
	take_name(r, r->kernel, sizeof r->kernel, "unknown", 0);
	take_name(r, r->scenario, sizeof r->scenario, jget_str(labels, "scenario"), 1);
	take_name(r, r->scenario, sizeof r->scenario, parts[1], 0);
	take_name(r, r->scenario, sizeof r->scenario, "unknown", 0);
	if (!r->rep) {
		const char *rs = jget_str(labels, "rep");
		const char *base = parts[0] ? parts[0] : "";
		uint64_t v;
		char tmp[64];
		/* ".3.partial" is rep 3 of a run that never finished. */
		if (base[0] == '.') {
			snprintf(tmp, sizeof tmp, "%s", base + 1);
			char *dot = strchr(tmp, '.');
			if (dot)
				*dot = 0;
			base = tmp;
		}
		/* "<rep>-v2": the cgroup2 boot of repetition rep. */
		if (base != tmp) {
			snprintf(tmp, sizeof tmp, "%s", base);
			base = tmp;
		}
		size_t bl = strlen(tmp);
		if (bl > 3 && !strcmp(tmp + bl - 3, "-v2"))
			tmp[bl - 3] = 0;
		if (rs && !pnb_parse_u64(rs, &v))
			r->rep = (int)v;
		else if (!pnb_parse_u64(base, &v))
			r->rep = (int)v;
	}
	if (!r->release[0] && c->header)
		copy_str(r->release, sizeof r->release, jget_str(c->header, "kernel_release"));
}

static void scenario_info(struct ctx *c)
{
	struct an_run *r = c->r;
	json_t *argv = c->header ? json_object_get(c->header, "workload_argv") : NULL;
	struct scenario s;
	char err[512];

	r->expect = AN_EXPECT_ANY;
	if (r->scenario_text) {
		memset(&s, 0, sizeof s);
		if (!scenario_parse_string(r->scenario, r->scenario_text, &s, err, sizeof err)) {
			r->expect = s.expect == SCN_EXPECT_OOM ? AN_EXPECT_OOM :
				    s.expect == SCN_EXPECT_NO_OOM ? AN_EXPECT_NO_OOM : AN_EXPECT_ANY;
			copy_str(r->workload, sizeof r->workload, s.workload);
			scenario_free(&s);
		} else {
			r->flags |= AN_F_SCENARIO_UNPARSED;
		}
	}
	r->rate_MiB_s = NAN;
	if (json_is_array(argv)) {
		size_t n = json_array_size(argv);
		if (!r->workload[0] && n > 1)
			copy_str(r->workload, sizeof r->workload, json_string_value(json_array_get(argv, 1)));
		for (size_t i = 0; i < n; i++) {
			const char *a = json_string_value(json_array_get(argv, i)), *v = NULL;
			uint64_t bps;
			if (!a)
				continue;
			if (!strcmp(a, "--rate") && i + 1 < n)
				v = json_string_value(json_array_get(argv, i + 1));
			else if (!strncmp(a, "--rate=", 7))
				v = a + 7;
			if (v && !pnb_parse_rate_bps(v, &bps))
				r->rate_MiB_s = (double)bps / (1024.0 * 1024.0);
		}
	}
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
	copy_str(r->oom_source, sizeof r->oom_source, o.oom_source);
	copy_str(r->reclaim_source, sizeof r->reclaim_source, o.reclaim_source);
	copy_str(r->direct_source, sizeof r->direct_source, o.direct_source);
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

static int64_t threshold_onset(const struct an_run *r, const struct an_group *g)
{
	for (size_t i = 0; i < r->nsamples; i++) {
		const struct an_sample *s = &r->samples[i];
		if (!strcmp(g->mech, "memavail") && !isnan(g->threshold_kB) &&
		    s->available_kB < g->threshold_kB)
			return s->t;
		if ((!strcmp(g->mech, "lmk") || !strcmp(g->mech, "klmk")) && !isnan(g->minfree_kB) &&
		    s->free_kB < g->minfree_kB && s->cache_kB < g->minfree_kB)
			return s->t;
	}
	return AN_NONE;
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

		/* False positives, metrics.md 3.4. */
		int fp = -1;	/* -1 unjudged, else 0/1 */
		if (r->expect == AN_EXPECT_NO_OOM) {
			if (activity_only(g->mech, g->level)) {
				fp = 0;
			} else {
				int calm = calm_at(r, x->t);
				fp = calm < 0 ? -1 : calm;
			}
		} else {
			int64_t on = AN_NONE, tol = 0;
			switch (g->claim) {
			case AN_CLAIM_RECLAIM:
				on = r->t_reclaim;
				tol = !strcmp(r->reclaim_source, "vmstat") ? VMSTAT_TOL_NS : 0;
				fp = on == AN_NONE ? -1 : x->t < on - tol;
				break;
			case AN_CLAIM_DIRECT:
				on = r->t_direct;
				tol = !strcmp(r->direct_source, "vmstat") ? VMSTAT_TOL_NS : 0;
				fp = on == AN_NONE ? -1 : x->t < on - tol;
				break;
			case AN_CLAIM_OOM:
			case AN_CLAIM_THRESHOLD: {
				int calm = calm_at(r, x->t);
				fp = calm < 0 ? -1 : calm;
				break;
			}
			case AN_CLAIM_NONE:
				fp = -2;	/* not judged at all */
				break;
			}
		}
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

static int group_order(const void *a, const void *b);

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
		if (index_add(&has, hash2(r->g[k].probe, NULL), k))
			break;
	for (int i = 0; i < r->nprobes; i++) {
		struct an_probe_status *p = &r->probes[i];
		char lvl[AN_LEVEL_LEN] = "*";

		if (!p->armed || !is_notifier(p->mech))
			continue;
		if (index_find(&has, hash2(p->probe, NULL), group_probe_eq, c, p->probe, NULL) >= 0)
			continue;
		if (!strcmp(p->mech, "vmpressure") || !strcmp(p->mech, "psi")) {
			/* "vmpressure:medium:..." and "psi:some:..." name their level. */
			const char *a = strchr(p->probe, ':');
			if (a) {
				size_t len = strcspn(a + 1, ":");
				if (len && len < sizeof lvl) {
					memcpy(lvl, a + 1, len);
					lvl[len] = 0;
				}
			}
		} else if (!strcmp(p->mech, "memavail")) {
			strcpy(lvl, "below");
		} else if (!strcmp(p->mech, "memnotify")) {
			strcpy(lvl, "pressure");
		}
		group_slot(c, p->probe, p->mech, lvl);
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
	int r = group_order(&sort_groups_run->g[i], &sort_groups_run->g[k]);
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
	copy_str(r->dir, sizeof r->dir, dir);
	r->t_alloc = r->t_oom = r->t_reclaim = r->t_direct = r->t_swapout = AN_NONE;
	r->flags = AN_F_NO_END;
	base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
	if (base[0] == '.' && strstr(base, ".partial"))
		r->flags |= AN_F_PARTIAL_DIR;

	read_meta(&c, dir);
	snprintf(path, sizeof path, "%s/events.jsonl", dir);
	ret = read_events(&c, path, err, errlen);
	if (ret)
		goto out;
	if (!c.header)
		r->flags |= AN_F_NO_HEADER;
	fill_names(&c, dir);
	scenario_info(&c);

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

/* ---- ordering of rows ---------------------------------------------------- */

static int level_rank(const char *mech, const char *level)
{
	static const char *const order[] = { "low", "medium", "critical", "some", "full",
					     "high", "max", "oom", "oom_kill", "oom_group_kill",
					     "below", "pressure", "kswapd", "direct" };
	uint64_t n;

	/* adj12 before adj0: the LMK rule reaches the higher adj first. */
	if ((!strcmp(mech, "lmk") || !strcmp(mech, "klmk")) && !strncmp(level, "adj", 3) &&
	    !pnb_parse_u64(level + 3, &n))
		return 100 + (int)(1000 - (n > 1000 ? 1000 : n));
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		if (!strcmp(level, order[i]))
			return (int)i;
	return 2000;
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

static int group_order(const void *a, const void *b)
{
	const struct an_group *p = a, *q = b;
	return key_order(p->probe_idx, p->probe, p->mech, p->level,
			 q->probe_idx, q->probe, q->mech, q->level);
}

static int key_cmp(const void *a, const void *b)
{
	const struct an_key *p = a, *q = b;
	int r = key_order(p->probe_idx, p->probe, p->mech, p->level,
			  q->probe_idx, q->probe, q->mech, q->level);
	/* A mechanism's v1 row, then its v2 row. */
	return r ? r : strcmp(p->hier, q->hier);
}

/* ---- JSON of a run ------------------------------------------------------- */

static json_t *flags_json(unsigned flags)
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
		case GF_REAL: v = jreal(*(const double *)p); break;
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
		json_object_set_new(x, "swapout_rel_s", jreal(g->swapout_rel_s));
	return x;
}

/* A directory as summaries record it: relative to the set's root, so a
 * set analysed where it lies, copied or committed writes the same bytes. */
static const char *set_relative(const char *set, const char *dir)
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
	json_object_set_new(run, "dir", json_string(set_relative(r->set_path, r->dir)));
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
	json_object_set_new(o, "flags", flags_json(r->flags));
	json_object_set_new(o, "lines", json_integer(r->lines));
	json_object_set_new(o, "bad_lines", json_integer(r->bad_lines));
	json_object_set_new(o, "events_error", r->events_error[0] ? json_string(r->events_error) : json_null());
	json_object_set_new(o, "meta_status", json_string(r->meta_status));
	json_object_set_new(o, "end_reason", json_string(r->end_reason));

	json_object_set_new(truth, "workload_pid", json_integer(r->workload_pid));
	json_object_set_new(truth, "oom_source", r->oom_source[0] ? json_string(r->oom_source) : json_null());
	json_object_set_new(truth, "oom_kills", json_integer(r->oom_kills));
	json_object_set_new(truth, "t_oom_s", jtime_s(r->t_oom, r->t_start));
	json_object_set_new(truth, "reclaim_source", r->reclaim_source[0] ? json_string(r->reclaim_source) : json_null());
	json_object_set_new(truth, "t_reclaim_s", jtime_s(r->t_reclaim, r->t_start));
	json_object_set_new(truth, "direct_source", r->direct_source[0] ? json_string(r->direct_source) : json_null());
	json_object_set_new(truth, "t_direct_s", jtime_s(r->t_direct, r->t_start));
	json_object_set_new(truth, "t_alloc_s", jtime_s(r->t_alloc, r->t_start));
	if (r->t_swapout != AN_NONE)
		json_object_set_new(truth, "t_swapout_s", jtime_s(r->t_swapout, r->t_start));
	json_object_set_new(o, "truth", truth);
	/* Recorded ones only: summaries of older sets keep their bytes. */
	if (r->hier_recorded)
		json_object_set_new(run, "hierarchy", json_string(r->hierarchy));
	if (r->knobs[0])
		json_object_set_new(run, "knobs", json_string(r->knobs));

	for (int m = AN_NGROUP_METRICS; m < AN_NMETRICS; m++)
		json_object_set_new(o, an_metrics[m].key, jreal(an_run_value(r, NULL, m)));
	json_object_set_new(o, "rate_MiB_s", jreal(r->rate_MiB_s));
	json_object_set_new(o, "available_at_alloc_kB", jreal(r->available_at_alloc_kB));

	for (int i = 0; i < r->nprobes; i++) {
		const struct an_probe_status *p = &r->probes[i];
		json_t *x = json_object();
		json_object_set_new(x, "probe", json_string(p->probe));
		json_object_set_new(x, "mech", json_string(p->mech));
		json_object_set_new(x, "status", json_string(p->status));
		if (p->reason[0])
			json_object_set_new(x, "reason", json_string(p->reason));
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
	qsort(out, w, sizeof *out, key_cmp);
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
			copy_str(x->k.probe, sizeof x->k.probe, g->probe);
			copy_str(x->k.mech, sizeof x->k.mech, g->mech);
			copy_str(x->k.level, sizeof x->k.level, g->level);
			if (r->hier_recorded)
				copy_str(x->k.hier, sizeof x->k.hier, r->hierarchy);
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

/* ---- cells and sets ------------------------------------------------------ */

static json_t *dist_json(const struct an_cell *c, const struct an_key *k, enum an_metric m)
{
	double v[c->nruns + 1];
	struct pnb_dist d;
	json_t *o;

	for (int i = 0; i < c->nruns; i++)
		v[i] = an_run_value(c->runs[i], k, m);
	if (pnb_dist_compute(v, (size_t)c->nruns, &d))
		return json_null();
	o = json_object();
	json_object_set_new(o, "n", json_integer((json_int_t)d.n));
	json_object_set_new(o, "min", jreal(d.min));
	json_object_set_new(o, "q1", jreal(d.q1));
	json_object_set_new(o, "median", jreal(d.median));
	json_object_set_new(o, "q3", jreal(d.q3));
	json_object_set_new(o, "max", jreal(d.max));
	return o;
}

json_t *an_cell_json(const struct an_cell *c)
{
	json_t *o = json_object(), *runs = json_array(), *rm = json_object(), *groups = json_array();
	struct an_key *keys = NULL;
	int nk = an_cell_keys(c, &keys), complete = 0, oom = 0;

	json_object_set_new(o, "schema", json_string(AN_CELL_SCHEMA));
	json_object_set_new(o, "kernel", json_string(c->kernel));
	json_object_set_new(o, "scenario", json_string(c->scenario));
	for (int i = 0; i < c->nruns; i++) {
		const struct an_run *r = c->runs[i];
		json_t *x = json_object();
		complete += !r->incomplete;
		oom += r->t_oom != AN_NONE;
		json_object_set_new(x, "dir", json_string(set_relative(r->set_path, r->dir)));
		json_object_set_new(x, "rep", json_integer(r->rep));
		json_object_set_new(x, "incomplete", json_boolean(r->incomplete));
		json_object_set_new(x, "flags", flags_json(r->flags));
		json_array_append_new(runs, x);
	}
	json_object_set_new(o, "runs", json_integer(c->nruns));
	json_object_set_new(o, "complete", json_integer(complete));
	json_object_set_new(o, "oom_runs", json_integer(oom));
	json_object_set_new(o, "run_list", runs);
	for (int m = AN_NGROUP_METRICS; m < AN_NMETRICS; m++)
		json_object_set_new(rm, an_metrics[m].key, dist_json(c, NULL, m));
	json_object_set_new(o, "run_metrics", rm);
	for (int i = 0; i < nk; i++) {
		json_t *x = json_object(), *mm = json_object(), *cnt = json_object();
		struct an_key_counts n;
		an_key_counts(c, &keys[i], &n);
		json_object_set_new(x, "probe", json_string(keys[i].probe));
		json_object_set_new(x, "mech", json_string(keys[i].mech));
		json_object_set_new(x, "level", json_string(keys[i].level));
		json_object_set_new(x, "claim", json_string(an_claim_name(keys[i].claim)));
		json_object_set_new(cnt, "runs", json_integer(n.runs));
		json_object_set_new(cnt, "armed", json_integer(n.armed));
		json_object_set_new(cnt, "unsupported", json_integer(n.runs - n.armed));
		json_object_set_new(cnt, "fired", json_integer(n.fired));
		json_object_set_new(cnt, "fired_before_oom", json_integer(n.fired_before_oom));
		json_object_set_new(cnt, "missed", json_integer(n.missed));
		json_object_set_new(cnt, "oom_runs", json_integer(n.oom_runs));
		json_object_set_new(x, "counts", cnt);
		for (int m = 0; m < AN_NGROUP_METRICS; m++)
			if (m != AN_M_LEAD_RANKED)
				json_object_set_new(mm, an_metrics[m].key, dist_json(c, &keys[i], m));
		json_object_set_new(x, "metrics", mm);
		json_array_append_new(groups, x);
	}
	json_object_set_new(o, "groups", groups);
	free(keys);
	{
		struct an_cell_outcome co;
		if (an_cell_outcome(c, &co) > 0)
			json_object_set_new(o, "outcome", an_cell_outcome_json(&co));
	}
	return o;
}

int an_set_kernels(const struct an_set *s, const char **names, int max)
{
	int n = 0;

	for (int i = 0; i < s->ncells; i++) {
		int dup = 0;
		for (int k = 0; k < n; k++)
			dup |= !strcmp(names[k], s->cells[i].kernel);
		if (!dup && n < max)
			names[n++] = s->cells[i].kernel;
	}
	return n;
}

json_t *an_set_json(const struct an_set *s)
{
	json_t *o = json_object(), *kern = json_array(), *scn = json_array(), *cells = json_array();
	const char *names[64];
	int nk = an_set_kernels(s, names, 64), incomplete = 0;

	json_object_set_new(o, "schema", json_string(AN_SET_SCHEMA));
	for (int i = 0; i < nk; i++)
		json_array_append_new(kern, json_string(names[i]));
	for (int i = 0; i < s->ncells; i++) {
		int dup = 0;
		for (int k = 0; k < i; k++)
			dup |= !strcmp(s->cells[k].scenario, s->cells[i].scenario);
		if (!dup)
			json_array_append_new(scn, json_string(s->cells[i].scenario));
	}
	for (int i = 0; i < s->nruns; i++)
		incomplete += s->runs[i].incomplete;
	json_object_set_new(o, "kernels", kern);
	json_object_set_new(o, "scenarios", scn);
	json_object_set_new(o, "runs", json_integer(s->nruns));
	json_object_set_new(o, "incomplete_runs", json_integer(incomplete));
	for (int i = 0; i < s->ncells; i++) {
		const struct an_cell *c = &s->cells[i];
		json_t *x = an_cell_json(c);
		json_object_set_new(x, "dir", json_string(set_relative(s->path, c->dir)));
		json_array_append_new(cells, x);
	}
	json_object_set_new(o, "cells", cells);
	return o;
}

static int partial_name(const char *name)
{
	/* ".<rep>.partial": a run directory the harness never renamed. */
	size_t n = strlen(name);
	return name[0] == '.' && n > 9 && !strcmp(name + n - 8, ".partial");
}

/* Anything named events.jsonl (a dangling link or a directory too: that
 * run is incomplete, not absent), a meta.json, or a .N.partial name. */
static int is_run_dir(const char *dir)
{
	char p[PATH_MAX + 16];
	const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
	struct stat st;

	if (partial_name(base))
		return 1;
	snprintf(p, sizeof p, "%s/events.jsonl", dir);
	if (!lstat(p, &st))
		return 1;
	snprintf(p, sizeof p, "%s/meta.json", dir);
	return !lstat(p, &st) && S_ISREG(st.st_mode);
}

struct pathlist {
	char **p;
	size_t n, cap;
};

static int find_runs(const char *dir, int depth, struct pathlist *l)
{
	DIR *d;
	struct dirent *e;

	if (is_run_dir(dir)) {
		char *s = strdup(dir);
		if (!s || PUSH(l->p, l->n, l->cap, s)) {
			free(s);
			return -ENOMEM;
		}
		return 0;
	}
	if (depth > 4 || !(d = opendir(dir)))
		return 0;
	while ((e = readdir(d))) {
		char sub[PATH_MAX];
		struct stat st;
		if (e->d_name[0] == '.' && !partial_name(e->d_name))
			continue;
		if (snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) >= (int)sizeof sub)
			continue;
		/* A link to a run, cell or kernel of the set would count its
		 * runs twice, one leading out of it would count others' runs. */
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISDIR(st.st_mode))
			continue;
		if (find_runs(sub, depth + 1, l)) {
			closedir(d);
			return -ENOMEM;
		}
	}
	closedir(d);
	return 0;
}

static int run_cmp(const void *a, const void *b)
{
	const struct an_run *p = *(struct an_run *const *)a, *q = *(struct an_run *const *)b;
	int r;

	if ((r = strcmp(p->kernel, q->kernel)))
		return r;
	if ((r = strcmp(p->scenario, q->scenario)))
		return r;
	if (p->rep != q->rep)
		return p->rep - q->rep;
	return strcmp(p->dir, q->dir);
}

int an_set_load(const char *path, struct an_set *s, char *err, size_t errlen)
{
	struct pathlist l = { 0 };
	struct an_run **order = NULL;
	int ret = 0;

	memset(s, 0, sizeof *s);
	copy_str(s->path, sizeof s->path, path);
	/* "dir/" and "dir" are the same set. */
	for (size_t n = strlen(s->path); n > 1 && s->path[n - 1] == '/'; n--)
		s->path[n - 1] = 0;
	if ((ret = find_runs(s->path, 0, &l)))
		goto out;
	if (!l.n) {
		snprintf(err, errlen, "%s: no run directories (none holds an events.jsonl or a meta.json)",
			 path);
		ret = -ENOENT;
		goto out;
	}
	s->runs = calloc(l.n, sizeof *s->runs);
	order = calloc(l.n, sizeof *order);
	if (!s->runs || !order) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		char e2[512];
		if ((ret = an_run_load(l.p[i], &s->runs[s->nruns], e2, sizeof e2))) {
			snprintf(err, errlen, "%s", e2);
			goto out;
		}
		s->runs[s->nruns].set_path = s->path;
		order[s->nruns] = &s->runs[s->nruns];
		s->nruns++;
	}
	qsort(order, (size_t)s->nruns, sizeof *order, run_cmp);
	for (int i = 0; i < s->nruns; i++) {
		struct an_run *r = order[i];
		struct an_cell *c = s->ncells ? &s->cells[s->ncells - 1] : NULL;
		if (!c || strcmp(c->kernel, r->kernel) || strcmp(c->scenario, r->scenario)) {
			struct an_cell *nc = realloc(s->cells, (size_t)(s->ncells + 1) * sizeof *nc);
			if (!nc) {
				ret = -ENOMEM;
				goto out;
			}
			s->cells = nc;
			c = &s->cells[s->ncells++];
			memset(c, 0, sizeof *c);
			copy_str(c->kernel, sizeof c->kernel, r->kernel);
			copy_str(c->scenario, sizeof c->scenario, r->scenario);
			c->runs = calloc((size_t)s->nruns, sizeof *c->runs);
			if (!c->runs) {
				ret = -ENOMEM;
				goto out;
			}
		}
		c->runs[c->nruns++] = r;
	}
	for (int i = 0; i < s->ncells; i++) {
		struct an_cell *c = &s->cells[i];
		char parent[PATH_MAX];
		snprintf(parent, sizeof parent, "%s", c->runs[0]->dir);
		snprintf(c->dir, sizeof c->dir, "%s", dirname(parent));
		for (int k = 1; k < c->nruns; k++) {
			snprintf(parent, sizeof parent, "%s", c->runs[k]->dir);
			if (strcmp(dirname(parent), c->dir))
				c->dir[0] = 0;
		}
	}
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.p[i]);
	free(l.p);
	free(order);
	if (ret)
		an_set_free(s);
	return ret;
}

void an_set_free(struct an_set *s)
{
	for (int i = 0; i < s->nruns; i++)
		an_run_free(&s->runs[i]);
	for (int i = 0; i < s->ncells; i++)
		free(s->cells[i].runs);
	free(s->runs);
	free(s->cells);
	s->runs = NULL;
	s->cells = NULL;
	s->nruns = s->ncells = 0;
}

int an_write_json(const char *path, json_t *j)
{
	char tmp[PATH_MAX + 16];
	int ret = 0;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (json_dump_file(j, tmp, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(10)))
		ret = errno ? -errno : -EIO;
	else if (rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	json_decref(j);
	return ret;
}

/* ---- the command --------------------------------------------------------- */

static void analyze_usage(FILE *f)
{
	fprintf(f,
		"usage: pnbench analyze [--quiet] DIR...\n"
		"\n"
		"Analyse every run directory at or below each DIR (a result set, a kernel\n"
		"or scenario directory, or one run) as docs/metrics.md defines, and write\n"
		"  <run>/summary.json         per run\n"
		"  <kernel>/<scenario>/cell.json  per cell: median, quartiles, min/max\n"
		"  DIR/set-summary.json       the set\n"
		"Incomplete runs are analysed as far as they go and flagged.\n"
		"  -q, --quiet   print nothing but errors\n");
}

static void fmt_s(char *b, size_t n, double v)
{
	if (isnan(v))
		snprintf(b, n, "-");
	else
		snprintf(b, n, "%.2f", v);
}

static int analyze_one(const char *dir, int quiet)
{
	struct an_set s;
	char err[1024], path[PATH_MAX + 64];
	int ret, fails = 0;

	if ((ret = an_set_load(dir, &s, err, sizeof err))) {
		pnb_err("analyze: %s", err);
		return PNB_EXIT_USAGE;
	}
	for (int i = 0; i < s.nruns; i++) {
		snprintf(path, sizeof path, "%s/summary.json", s.runs[i].dir);
		if ((ret = an_write_json(path, an_run_json(&s.runs[i])))) {
			pnb_err("analyze: writing %s: %s", path, strerror(-ret));
			fails++;
		}
	}
	for (int i = 0; i < s.ncells; i++) {
		struct an_cell *c = &s.cells[i];
		char cdir[PATH_MAX];
		if (c->dir[0])
			snprintf(cdir, sizeof cdir, "%s", c->dir);
		else
			snprintf(cdir, sizeof cdir, "%s/%s/%s", s.path, c->kernel, c->scenario);
		if (pnb_mkdir_all(cdir, 0755) < 0)
			pnb_err("analyze: creating %s: %s", cdir, strerror(errno));
		snprintf(path, sizeof path, "%s/cell.json", cdir);
		if ((ret = an_write_json(path, an_cell_json(c)))) {
			pnb_err("analyze: writing %s: %s", path, strerror(-ret));
			fails++;
		}
		if (quiet)
			continue;
		int complete = 0, oom = 0;
		double tto[c->nruns + 1], exp[c->nruns + 1];
		struct pnb_dist dt, de;
		char a[32], b[32];
		for (int k = 0; k < c->nruns; k++) {
			complete += !c->runs[k]->incomplete;
			oom += c->runs[k]->t_oom != AN_NONE;
			tto[k] = c->runs[k]->time_to_oom_s;
			exp[k] = c->runs[k]->expected_alloc_to_oom_s;
		}
		pnb_dist_compute(tto, (size_t)c->nruns, &dt);
		pnb_dist_compute(exp, (size_t)c->nruns, &de);
		fmt_s(a, sizeof a, dt.median);
		fmt_s(b, sizeof b, de.median);
		printf("%s/%s: %d runs (%d complete), OOM in %d, time to OOM %s s (avail/rate %s s)\n",
		       c->kernel, c->scenario, c->nruns, complete, oom, a, b);
		for (int k = 0; k < c->nruns; k++)
			if (c->runs[k]->incomplete) {
				printf("  incomplete: %s (", c->runs[k]->dir);
				for (int f = 0, first = 1; f < AN_NFLAGS; f++)
					if (c->runs[k]->flags & (1u << f) & AN_F_INCOMPLETE_MASK) {
						printf("%s%s", first ? "" : ", ", an_flag_names[f]);
						first = 0;
					}
				printf(")%s%s\n", c->runs[k]->events_error[0] ? ": " : "",
				       c->runs[k]->events_error);
			}
	}
	snprintf(path, sizeof path, "%s/set-summary.json", s.path);
	if (!is_run_dir(s.path) && (ret = an_write_json(path, an_set_json(&s)))) {
		pnb_err("analyze: writing %s: %s", path, strerror(-ret));
		fails++;
	}
	if (!quiet)
		printf("analyze: %d runs in %d cells; summaries written under %s\n",
		       s.nruns, s.ncells, s.path);
	an_set_free(&s);
	return fails ? PNB_EXIT_FAIL : 0;
}

int cmd_analyze(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, quiet = 0, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = 1;
			break;
		case 'h':
			analyze_usage(stdout);
			return 0;
		default:
			analyze_usage(stderr);
			return PNB_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		pnb_err("analyze: which result directory? (pnbench analyze DIR)");
		analyze_usage(stderr);
		return PNB_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		int r = analyze_one(argv[i], quiet);
		if (r > rc)
			rc = r;
	}
	return rc;
}
