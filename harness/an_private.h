/* Internals shared by the files of the analysis: analyze.c (tables and
 * the command), an_read.c (one run's files), an_run.c (its ground truth
 * and metrics), an_json.c (its JSON), an_values.c (values per run and
 * keys), an_set.c (cells and sets).  compare and report use analysis.h. */
#ifndef PNB_AN_PRIVATE_H
#define PNB_AN_PRIVATE_H

#include "analysis.h"
#include "events_read.h"
#include "ground_truth.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NS 1000000000.0
/* vmstat onsets are polled every 10 ms (probes/reclaim.c). */
#define VMSTAT_TOL_NS 10000000LL
#define STORM_PER_S 100
/* Most kernel events one line may claim (eventfd counter, memory.events delta). */
#define SIGNALS_MAX (1LL << 32)

int an_grow(void **p, size_t *cap, size_t n, size_t size);
#define PUSH(arr, n, cap, val) \
	(an_grow((void **)&(arr), &(cap), (n), sizeof *(arr)) ? -ENOMEM : ((arr)[(n)++] = (val), 0))

int an_jget_i64(json_t *o, const char *k, int64_t *v);
/* An event time: see AN_T_MAX. */
int an_ev_time(struct evr_obj o, const char *k, int64_t *v);
const char *an_jget_str(json_t *o, const char *k);
void an_copy_str(char *dst, size_t len, const char *s);
/* NAN is not JSON: it becomes null. */
json_t *an_jreal(double v);
json_t *an_jtime_s(int64_t t, int64_t origin);

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
	json_t *probe_cpu;		/* the end line's probe_cpu_ns, NULL when absent */
	char *olines;			/* the outcome pass's lines, '\n'-separated */
	size_t nolines, colines;
};


/* an_read.c */
int an_index_add(struct index *ix, uint64_t h, int idx);
int an_index_find(const struct index *ix, uint64_t h,
		  int (*eq)(const struct ctx *, int, const char *, const char *),
		  const struct ctx *c, const char *a, const char *b);
uint64_t an_hash2(const char *a, const char *b);
int an_group_slot(struct ctx *c, const char *spec, const char *mech, const char *level);
void an_read_meta(struct ctx *c, const char *dir);
int an_read_events(struct ctx *c, const char *path, char *err, size_t errlen);
void an_fill_names(struct ctx *c, const char *dir);
void an_scenario_info(struct ctx *c);
/* Each probe's cpu_per_s from the end line (after the whole file is read). */
void an_probe_cpu(struct ctx *c);

/* an_json.c */
int an_group_order(const void *a, const void *b);
/* struct an_key in row order. */
int an_key_cmp(const void *a, const void *b);
const char *an_set_relative(const char *set, const char *dir);
json_t *an_flags_json(unsigned flags);

/* an_set.c */
/* A run directory: events.jsonl, meta.json or a .N.partial name. */
int an_is_run_dir(const char *dir);

#endif
