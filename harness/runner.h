/* The runner: a run plan (every cell of kernel x scenario x repetition x
 * hierarchy, each with its result directory) and the one function that
 * runs it, J cells at a time in child processes.  `pnbench run` and
 * `pnbench vmstat-cost` build plans; nothing here exits or parses options:
 * failures come back as a code and a one-line message. */
#ifndef PNB_RUNNER_H
#define PNB_RUNNER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "guest.h"
#include "scenario.h"

/* --out's longest: a cell path adds at most 128 + 128 + 8 bytes and a file
 * name, and every buffer the runner uses holds 1200 or more. */
#define RUN_OUT_MAX 900

enum run_cell_state { RUN_WAITING, RUN_RUNNING, RUN_DONE };

struct run_cell {
	int ki, si;		/* indexes into the plan's kernels and scenarios;
				 * si -1: a job cell */
	unsigned rep;
	enum scn_hier hier;	/* v1 or v2: the boot this cell is */
	char final[1200];	/* its result directory */
	char name[300];		/* KERNEL/SCENARIO/REP[-v2]: its path in the set */
	/* Filled while running. */
	enum run_cell_state state;
	pid_t pid;
	uint64_t started_ns, ended_ns;
	int wstatus;		/* the worker's wait status once done */
};

struct run_plan {
	/* Kernels as given (spec) and resolved, scenarios as parsed (the
	 * plan's --machine overrides applied); the plan owns both. */
	const char **kernel_specs;
	struct kernel_image *kernels;
	int nkernels;
	struct scenario *scenarios;
	int nscenarios;
	/* --machine overrides, recorded in every meta.json of the set. */
	const char **overrides;
	int noverrides;
	char out[1024];
	const char *fault;	/* test hook passed to the guest backend, or NULL */
	unsigned jobs;		/* cells at a time, >= 1 */
	int force;		/* rerun cells that are complete already */
	int named;		/* only some cells of the set (--cell, --shard): shared
				 * set lock and a lock per cell */
	/* The command meta.json records as what made the cell. */
	int argc;
	char **argv;
	/* Job cells (run_plan_add_job) run a program of the caller's, not a
	 * scenario (pnbench conform's boots): job runs in the forked worker
	 * and writes the cell's directory itself, its return is the worker's
	 * exit status; complete says whether a directory holds a complete
	 * result (NULL: run_cell_complete).  who names the command in lock
	 * messages (NULL: "run"). */
	int (*job)(const struct run_plan *p, const struct run_cell *c, void *arg);
	int (*complete)(const char *dir);
	void *job_arg;
	const char *who;
	struct run_cell *cells;
	int ncells;
};

/* Each returns 0, or PNB_EXIT_USAGE (the input is wrong) or PNB_EXIT_FAIL
 * (the machine is) with a one-line reason in err. */
/* Parse scenario NAME (harness/scenarios/NAME.ini or a path) and apply the
 * plan's overrides to it.  Add every override before the first scenario. */
int run_plan_add_scenario(struct run_plan *p, const char *name, char *err, size_t len);
/* Resolve kernel SPEC (fetching or building it when fetch), or "native"
 * (checked against every scenario added so far: add those first).  With
 * listing, nothing is fetched and the host is not checked for native runs. */
int run_plan_add_kernel(struct run_plan *p, const char *spec, int fetch, int listing,
			char *err, size_t len);
/* The cells, in matrix order (kernel, scenario, rep, hierarchy): reps
 * per scenario (0: its reps key), only repetition only_rep when not 0. */
int run_plan_expand(struct run_plan *p, unsigned reps, unsigned only_rep, char *err, size_t len);
/* Keep the cells named in want (all when nwant is 0), then those at
 * positions I, I+N... (1-based shard_i of shard_n; 0/0: all). */
int run_plan_select(struct run_plan *p, const char *const *want, int nwant,
		    uint64_t shard_i, uint64_t shard_n, char *err, size_t len);
/* A job cell of kernel ki named name (its line in the progress output),
 * writing into dir. */
int run_plan_add_job(struct run_plan *p, int ki, const char *name, const char *dir,
		     char *err, size_t len);
void run_plan_free(struct run_plan *p);

/* What the progress callback hears about. */
enum run_event_kind {
	RUN_EV_SKIPPED,		/* complete already, not run again */
	RUN_EV_STARTED,
	RUN_EV_DONE,		/* its worker ended: cell->wstatus */
	RUN_EV_TICK,		/* every 250 ms while cells run */
};
struct run_event {
	enum run_event_kind kind;
	const struct run_cell *cell;	/* NULL for a tick */
	int finished, total, running, skipped;
	double elapsed_s;
	double left_s;		/* the remaining cells' estimate, < 0 before the first ran */
};
typedef void (*run_progress_fn)(const struct run_plan *p, const struct run_event *ev, void *arg);

struct run_totals {
	int cells, failed, skipped;
};

/* Run the plan: lock the set (and the named cells), refuse cells made from
 * another text of their scenario unless force, run every cell not complete
 * (or all with force) jobs at a time, each in a forked worker that writes
 * its directory under a temporary name and renames it when done.  0 when it
 * ran (t says how many cells failed), else an exit code with err ("" when
 * a lock refused, its holder already named on standard error). */
int run_plan_execute(struct run_plan *p, run_progress_fn progress, void *arg,
		     struct run_totals *t, char *err, size_t len);

/* The progress lines of `pnbench run` on standard output (arg: unused). */
void run_progress_print(const struct run_plan *p, const struct run_event *ev, void *arg);

/* A cell is done when its meta.json says complete. */
int run_cell_complete(const char *dir);

/* meta.json (run_meta.c): the plan's overrides as a JSON array, and a
 * cell's whole meta.json written into dir. */
struct run_result;
json_t *run_overrides_json(const struct run_plan *p);
void run_write_meta(const struct run_plan *p, const char *dir, const struct kernel_image *k,
		    const struct scenario *s, unsigned rep, const struct run_result *res,
		    time_t started);

#endif
