/* Analysis of result directories: one run (events.jsonl + meta.json) into
 * metrics, runs into cells (kernel x scenario) and sets.  The definitions
 * are docs/metrics.md; analyze, compare and report share this code. */
#ifndef PNB_ANALYSIS_H
#define PNB_ANALYSIS_H

#include "probe.h"

#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#define AN_SUMMARY_SCHEMA "pnbench-summary/1"
#define AN_CELL_SCHEMA "pnbench-cell/1"
#define AN_SET_SCHEMA "pnbench-set/1"

/* "No such time" for the int64 timestamps below. */
#define AN_NONE INT64_MIN
/* t_ns of an event is in [0, AN_T_MAX): differences of two never overflow,
 * and 2^62 ns is 146 years of uptime.  Other values make the line bad. */
#define AN_T_MAX (INT64_C(1) << 62)

#define AN_PROBE_LEN 160
#define AN_LEVEL_LEN 32
#define AN_NAME_LEN 128

/* The ground-truth onset a level claims to describe (metrics.md 3.3), as
 * its probe says (probes/probe.h). */
enum an_claim { AN_CLAIM_NONE = PROBE_CLAIM_NONE, AN_CLAIM_RECLAIM = PROBE_CLAIM_RECLAIM,
		AN_CLAIM_DIRECT = PROBE_CLAIM_DIRECT, AN_CLAIM_OOM = PROBE_CLAIM_OOM,
		AN_CLAIM_THRESHOLD = PROBE_CLAIM_THRESHOLD };
enum an_lead { AN_LEAD_OK, AN_LEAD_MISSED, AN_LEAD_NO_OOM };
/* scenario "expect", as lib/scenario.h has it. */
enum an_expect { AN_EXPECT_ANY, AN_EXPECT_OOM, AN_EXPECT_NO_OOM };

/* Run flags (metrics.md 1); those in AN_F_INCOMPLETE_MASK make a run incomplete. */
enum {
	AN_F_NO_END = 1u << 0,
	AN_F_CUT_LAST_LINE = 1u << 1,
	AN_F_META_INCOMPLETE = 1u << 2,
	AN_F_NO_META = 1u << 3,
	AN_F_NO_HEADER = 1u << 4,
	AN_F_PARTIAL_DIR = 1u << 5,
	AN_F_BAD_LINES = 1u << 6,
	AN_F_NO_WORKLOAD_START = 1u << 7,
	AN_F_UNEXPECTED_OOM = 1u << 8,
	AN_F_NO_OOM = 1u << 9,
	AN_F_TRACE_UNFILTERED = 1u << 10,
	AN_F_OOM_FROM_VMSTAT = 1u << 11,
	AN_F_SCENARIO_UNPARSED = 1u << 12,
	AN_F_BAD_NAME = 1u << 13,	/* a kernel or scenario name that is no path component */
	AN_F_NO_EVENTS = 1u << 14,	/* events.jsonl missing or not a readable file */
};
#define AN_F_INCOMPLETE_MASK (0x3fu | AN_F_NO_EVENTS)
#define AN_NFLAGS 15
extern const char *const an_flag_names[AN_NFLAGS];

/* One (probe spec, level) of one run. */
struct an_group {
	char probe[AN_PROBE_LEN];
	char mech[32];
	char level[AN_LEVEL_LEN];
	int probe_idx;			/* position in the header's probe list, -1 unknown */
	enum an_claim claim;
	int notifications;
	long long signals;
	int before_oom, after_oom;
	int64_t first_ns, last_ns;	/* AN_NONE when silent */
	enum an_lead lead_status;
	double first_s, last_s;		/* since workload start; NAN when silent */
	double lead_s, late_s;
	double headroom_kB, headroom_pct;
	double progress_alloc_MiB, progress_read_MiB;
	double latency_s;
	const char *onset;		/* which onset latency_s is against */
	double swapout_rel_s;		/* first notification minus swap-out onset; NAN */
	int false_positives, judged, unjudged;
	double fp_per_min;
	int peak_per_s;
	long long peak_signals_per_s;
	int storm;
	double threshold_kB, minfree_kB;	/* from the first notification; NAN */
};

struct an_probe_status {
	char probe[AN_PROBE_LEN];
	char mech[32];
	char status[16];		/* the last status line */
	char reason[384];
	int armed;			/* ever armed */
	/* CPU time inside the probe's calls (the end line's probe_cpu_ns) per
	 * ns of the recorder's run, a fraction of one CPU; NAN without it. */
	double cpu_per_s;
};

/* Timeline material the report plots. */
struct an_sample {
	int64_t t;
	double total_kB, free_kB, available_kB, anon_kB, cache_kB;
	double pgscan;			/* vmstat pgscan_kswapd + pgscan_direct; NAN */
};
struct an_rate {
	int64_t t;			/* bucket start */
	double bucket_s;
	double count;			/* reclaim entries (direct + memcg) in it */
};
struct an_mark {
	int64_t t;
	int group;
};

struct an_run {
	char dir[PATH_MAX];
	const char *set_path;		/* the set it was loaded with, or NULL */
	char kernel[AN_NAME_LEN], release[AN_NAME_LEN], scenario[AN_NAME_LEN];
	int rep;
	char events_schema[64], meta_schema[64];
	char *scenario_text;		/* meta.json scenario.text, NULL when absent */
	char *command;			/* meta.json harness.command, joined; NULL */
	char git_rev[64];
	/* Where it ran (meta.json guest/topology): the report's conditions. */
	char accel[64], host_cpu[128];
	int guest_cpus, boot_retries;
	/* meta.json host_load: the host's 1-minute load average at the run's
	 * end and its CPUs; NAN and 0 for runs made before it was recorded. */
	double host_load_1m;
	int host_cpus;
	char start[16];			/* "cold" | "snapshot" | "" */
	double start_s, poweroff_s;	/* fixed cost seen by the host; NAN unknown */
	int64_t guest_memory;		/* bytes, 0 when native or unknown */
	enum an_expect expect;
	char workload[64];
	char domain[32];
	/* The memory-controller hierarchy of the boot: "v1" | "v2" as meta.json
	 * records it, or "v1" for a guest run made before it did (guests only
	 * booted v1 then; hier_recorded 0), "" natively. */
	char hierarchy[8];
	int hier_recorded;
	/* The machine knobs asked for that differ from the defaults, from
	 * meta.json "knobs" ("swap=zram:... lru_gen=on"), "" when none. */
	char knobs[256];

	int lines, bad_lines;
	char events_error[128];		/* why events.jsonl was not read, "" when it was */
	char meta_status[32], end_reason[64];
	unsigned flags;
	int incomplete;

	int64_t t_start, t_stop, t_alloc;
	int64_t t_oom, t_reclaim, t_direct;	/* AN_NONE when unknown */
	char oom_source[16], reclaim_source[16], direct_source[16];
	int64_t t_swapout;			/* first swap-out (probe swapout); AN_NONE */
	int oom_kills;
	int workload_pid;

	double run_s;
	double time_to_oom_s, alloc_to_oom_s;
	double rate_MiB_s, available_at_alloc_kB, expected_alloc_to_oom_s, oom_time_ratio;
	double recorder_cpu_per_s;

	int ngroups;
	struct an_group *g;
	int nprobes;
	struct an_probe_status *probes;

	size_t nsamples, nrates, nmarks;
	struct an_sample *samples;
	struct an_rate *rates;
	struct an_mark *marks;

	/* g and probes indices sorted by (probe, level) and probe, for
	 * lookups in O(log n); NULL in a hand-built run (linear lookups). */
	int *gsort, *psort;
	/* Killer outcomes (harness/outcome.c): apps runs and runs with a
	 * [killer]; NULL otherwise. */
	struct an_outcome *outcome;
};

/* A cell: one kernel x scenario, its repetitions sorted by rep. */
struct an_cell {
	char kernel[AN_NAME_LEN], scenario[AN_NAME_LEN];
	int nruns;
	struct an_run **runs;
	char dir[PATH_MAX];		/* the runs' common parent, "" when none */
};

struct an_set {
	char path[PATH_MAX];
	int nruns;
	struct an_run *runs;
	int ncells;
	struct an_cell *cells;
};

/* A row of a cell: a (probe, level) seen in any of its runs. */
struct an_key {
	char probe[AN_PROBE_LEN];
	char mech[32];
	char level[AN_LEVEL_LEN];
	int probe_idx;
	enum an_claim claim;
	/* The hierarchy whose boots the row is about ("v1" | "v2"), or "" for
	 * every run (sets from before hierarchies were recorded).  With probe
	 * "" the key selects a hierarchy's runs for the run metrics. */
	char hier[8];
};
/* Whether run r counts for key k (its hierarchy; NULL k: every run). */
int an_run_matches(const struct an_run *r, const struct an_key *k);
/* The hierarchies a cell's runs recorded, in order v1, v2: count (0..2),
 * names into h[0..count). */
int an_cell_hiers(const struct an_cell *c, const char *h[2]);

/* Metrics with a value per run; the first AN_NGROUP_METRICS are per group. */
enum an_metric {
	AN_M_FIRST, AN_M_LEAD, AN_M_LEAD_RANKED, AN_M_LATE, AN_M_HEADROOM_KB,
	AN_M_HEADROOM_PCT, AN_M_PROGRESS_ALLOC, AN_M_PROGRESS_READ, AN_M_LATENCY,
	AN_M_NOTIFICATIONS, AN_M_SIGNALS, AN_M_FP, AN_M_FP_RATE, AN_M_PEAK,
	AN_M_PEAK_SIGNALS,
	AN_NGROUP_METRICS,
	AN_M_TIME_TO_OOM = AN_NGROUP_METRICS, AN_M_ALLOC_TO_OOM, AN_M_EXPECTED_OOM,
	AN_M_OOM_RATIO, AN_M_RECORDER_CPU, AN_M_RUN_S,
	AN_NMETRICS
};

struct an_metric_info {
	const char *key;	/* JSON key and --rules name root */
	const char *label;	/* for tables, with unit, <= 24 chars */
	int worse;		/* -1 lower is worse, +1 higher is worse, 0 neutral */
	double scale;		/* display value = value * scale */
};
extern const struct an_metric_info an_metrics[AN_NMETRICS];

const char *an_claim_name(enum an_claim c);
const char *an_lead_name(enum an_lead l);
const char *an_expect_name(enum an_expect e);
/* The claim of (mech, level) from the table of metrics.md 3.3. */
enum an_claim an_claim_of(const char *mech, const char *level);
/* The level only reports reclaim activity (metrics.md 3.4). */
int an_activity_only(const char *mech, const char *level);
/* Not ground truth nor the sampler (an unknown mechanism counts as one). */
int an_is_notifier(const char *mech);

/* Read and analyse one run directory.  0, or -errno with a reason in err
 * (out of memory).  A run whose events.jsonl cannot be read is analysed
 * as empty and flagged no_events, with the reason in events_error. */
int an_run_load(const char *dir, struct an_run *r, char *err, size_t errlen);
void an_run_free(struct an_run *r);
json_t *an_run_json(const struct an_run *r);

/* Every run directory at or below path (one holding an events.jsonl or a
 * meta.json, and every .N.partial one), grouped into cells sorted by
 * kernel then scenario.  Symbolic links below path are not followed. */
int an_set_load(const char *path, struct an_set *s, char *err, size_t errlen);
void an_set_free(struct an_set *s);
/* Kernel names of the set, in cell order, without repeats: count. */
int an_set_kernels(const struct an_set *s, const char **names, int max);

/* The rows of a cell (malloc'd into *keys): count, or -ENOMEM. */
int an_cell_keys(const struct an_cell *c, struct an_key **keys);
/* Rows of several cells: the union, without a probe's "*" row when
 * another row names a level for it, in row order.  Count or -ENOMEM. */
int an_cells_keys(const struct an_cell *const *cells, int n, struct an_key **keys);
/* Metric m of one run for key k (NULL for run metrics): NAN when it has no
 * value.  A probe armed in the run but silent counts as 0 notifications and
 * a missed lead (when the run had an OOM kill). */
double an_run_value(const struct an_run *r, const struct an_key *k, enum an_metric m);
/* Counts for a key over a cell's runs. */
struct an_key_counts {
	int runs, armed, fired, fired_before_oom, missed, oom_runs;
	int storms;		/* runs whose peak rate made it a storm */
};
void an_key_counts(const struct an_cell *c, const struct an_key *k, struct an_key_counts *n);
json_t *an_cell_json(const struct an_cell *c);
json_t *an_set_json(const struct an_set *s);

/* Write j (and drop the reference) to path atomically: 0 or -errno. */
int an_write_json(const char *path, json_t *j);

/* "vmpressure:low:hierarchy" or "lmk:poll:100ms adj12": the row label. */
void an_key_label(const struct an_key *k, char *buf, size_t len);

/* ---- killer outcomes (harness/outcome.c, docs/metrics.md 7) ---- */

#define AN_OUTCOME_MAX_VICTIMS 64

struct an_kill {
	int64_t t_decision, t_signal, t_exit, t_mrelease;	/* AN_NONE when unknown */
	int pid, adj;
	double rss_kB, avail_before_kB, avail_after_kB;
	int mrelease_ok, wrong, unnecessary;
	char reason[AN_LEVEL_LEN];	/* the notification's level */
};
enum an_kill_metric { AN_K_DECISION_TO_SIGNAL, AN_K_SIGNAL_TO_EXIT, AN_K_KILL_TO_FREE,
		      AN_K_FREED_KB, AN_K_N };
extern const char *const an_kill_metric_names[AN_K_N];

struct an_outcome {
	char killer[160];		/* "none", a probe spec, "earlyoom" */
	char action[16];
	char workload[64];		/* "apps+fixed-rate" */
	int killer_started, killer_failed;
	char killer_why[256], mrelease[96];
	int apps, fg_pid;
	int kernel_kills, daemon_kills, unnecessary, wrong_victim, no_victim;
	int kernel_after_signal;	/* kernel kills of a victim the killer had already signalled */
	int fg_alive;			/* exited 0: 1, else 0; -1 unknown */
	int fg_oom_killed, fg_daemon_killed;
	double margin_pct;
	int reclaims;
	double reclaimed_kB;
	char reclaimable[48];
	int nkills;
	struct an_kill *kills;
	/* Kernel OOM kills: time and victim's adj (-1001 when not an app). */
	int nkernel;
	int64_t kernel_t[AN_OUTCOME_MAX_VICTIMS];
	int kernel_adj[AN_OUTCOME_MAX_VICTIMS];
};

struct an_cell_outcome {
	char killer[160], action[16], workload[64];
	int runs, complete, kernel_kills, runs_with_oom, daemon_kills, unnecessary, wrong_victim;
	int killer_failed, fg_alive, fg_known, reclaims, kernel_after_signal;
	double reclaimed_kB;
	double p50[AN_K_N], p99[AN_K_N];	/* over every kill of every run */
};

/* Does this run get an outcome (the apps workload or a [killer])? */
int an_outcome_wanted(const struct an_run *r);
/* A line of this "type" is one the outcome pass reads. */
int an_outcome_line(const char *type);
/* From the run's killer, app and OOM lines, which the main pass over
 * events.jsonl kept ('\n'-separated, len bytes): 0 or -ENOMEM. */
int an_outcome_load(const struct an_run *r, const char *lines, size_t len, struct an_outcome *o);
void an_outcome_free(struct an_outcome *o);
double an_kill_value(const struct an_kill *k, enum an_kill_metric m);
json_t *an_outcome_json(const struct an_outcome *o);
/* 1 with co filled when any run of the cell has an outcome, 0 when none,
 * -ENOMEM. */
int an_cell_outcome(const struct an_cell *c, struct an_cell_outcome *co);
json_t *an_cell_outcome_json(const struct an_cell_outcome *co);
/* Compare's outcome rows for a pair of cells: kernel OOM kills and
 * unnecessary kills up (Mann-Whitney U), foreground survival down (Fisher's
 * exact test) with p < alpha are regressions, each named on its own line.
 * Returns the number of regressions (0 when a side has no outcome). */
int an_compare_outcomes(FILE *out, const struct an_cell *bc, const struct an_cell *nc, double alpha);
/* The report's killer x workload table (numbered num): rows written. */
int an_report_killers(FILE *f, const struct an_set *s, int num);

/* ---- compare (harness/compare.c) ---- */

/* Regression rules: names for --rules and the metric each one watches. */
enum { CMP_RULE_LEAD = 1u << 0, CMP_RULE_HEADROOM = 1u << 1, CMP_RULE_LATENCY = 1u << 2,
       CMP_RULE_FP = 1u << 3, CMP_RULE_STORM = 1u << 4, CMP_RULE_OVERHEAD = 1u << 5,
       /* categorical, Fisher's exact test: fired before OOM k/n falls, runs
        * with a kernel OOM kill rise, runs with a storm rise */
       CMP_RULE_FIRED = 1u << 6, CMP_RULE_OOM = 1u << 7, CMP_RULE_STORM_SEEN = 1u << 8 };
/* One judged or shown row of a comparison, for exporters (KCIDB). */
struct cmp_row {
	const char *scenario;
	const char *row;	/* the probe row's label, or NULL for a run row */
	const char *metric;	/* an_metrics key, or oom_runs, fired_before_oom, storm_runs */
	const char *test;	/* "mann-whitney-u" or "fisher-exact"; NULL: no test possible */
	double base, new;	/* medians (scaled as the table shows them), or the k of k/n */
	int base_n, new_n;	/* values (or runs) a side */
	double change_pct;	/* NAN when not defined; +-INFINITY from zero or to missed */
	double p, u;		/* NAN without a test; u: Mann-Whitney U of base */
	int exact;		/* the p is exact */
	int judged;		/* a --rules rule watches this row */
	int significant, regression;
};

struct cmp_opts {
	/* Called for every row the table prints, when set. */
	void (*on_row)(void *arg, const struct cmp_row *row);
	void *on_row_arg;
	double threshold_pct;	/* a median moving this much the bad way ... */
	double alpha;		/* ... with p below this is a regression */
	double lead_floor_s;	/* a smaller lead median change is none */
	unsigned rules;
	int method;		/* enum pnb_mwu_method */
	const char *base_kernel, *new_kernel;	/* NULL: the side's only kernel */
};
void cmp_opts_default(struct cmp_opts *o);
/* "lead,fp" into rules: 0, or -EINVAL with the bad name in err. */
int cmp_parse_rules(const char *s, unsigned *rules, char *err, size_t errlen);
/* The --rules name (NULL for a row no rule watches) and the table label of
 * a row, for callers that pick rows by name (pnbench bisect --metric).
 * 0, or -ENOENT for a metric compare does not know. */
int cmp_row_names(const struct cmp_row *r, const char **rule, const char **label);
/* Print the comparison table (<= 80 columns).  0: no regression,
 * 1: regression, -1: refused or nothing to compare (reason in err). */
int pnb_compare(const struct an_set *base, const struct an_set *new,
		const struct cmp_opts *o, FILE *out, char *err, size_t errlen);

#endif
