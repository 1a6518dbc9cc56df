/* One run (scenario x kernel x repetition) and its result directory. */
#ifndef PNB_RUN_H
#define PNB_RUN_H

#include <stdint.h>
#include <stddef.h>

#include "scenario.h"

struct run_result {
	int complete;		/* the recorder wrote its end line and exited 0 */
	char status[32];	/* ok | broken | timeout | ... */
	char reason[512];
	double wall_s;
	int recorder_exit;
	/* Guest fixed cost, seen from the host: QEMU start to the workload's
	 * start line on the events port, and the end line to QEMU's exit;
	 * -1 when not seen.  Resolution: the watchdog's 20 ms poll. */
	double boot_s, poweroff_s;
	/* Guests: the -accel value used and how it was chosen. */
	char accel[64];
	char accel_why[512];
	/* Boots that panicked before the workload started and were run again
	 * (an emulator fault, not a result), with the first one's reason. */
	int boot_retries;
	char retry_reason[512];
	/* How the guest started: "cold" (booted) or "snapshot" (restored),
	 * why, and the snapshot's key. */
	/* Guest CLOCK_MONOTONIC / host time from workload start to the end
	 * record; 0 when not measured. */
	double clock_ratio;
	char start[16];
	char start_why[600];
	char snapshot_key[64];
	/* Guests: the hierarchy booted ("v1" | "v2") and every machine knob as
	 * /init read it back, "name\trequested\teffective" lines (meta.json
	 * "knobs"). */
	char hierarchy[8];
	char knobs[2048];
};

/* flock() OUT/.lock (creating OUT), held until the process exits: exclusive
 * for a whole run or a merge, shared for runs of named cells.  0, or -1
 * after a one-line message that starts with who. */
int pnb_lock_set(const char *out, int shared, const char *who);

/* Native backend: the running kernel, workload confined in a memory cgroup. */
int native_check(char *why, size_t len);
/* A native memory limit may take at most this share of MemAvailable. */
#define NATIVE_MAX_PCT 50
/* 0, or -1 with why when limit (bytes) is above NATIVE_MAX_PCT of the
 * MemAvailable in root/proc/meminfo ("" for the host). */
int native_limit_check(uint64_t limit, const char *root, char *why, size_t len);
int native_run(const struct scenario *s, unsigned rep, const char *dir,
	       struct run_result *res);

/* The recorder's command line for a run, shared by the native and guest
 * backends.  Strings live in the struct; argv is NULL-terminated. */
struct record_args {
	char *argv[300];
	int argc;
	char store[16384];
	size_t used;
};
struct record_where {
	const char *recorder;		/* path of pnbench-record */
	const char *workload;		/* path of pnbench-workload */
	const char *out;		/* events file, or NULL for standard output */
	const char *memcg_flag;		/* "--memcg-v1" / "--memcg-v2" or NULL */
	const char *memcg_dir;
	const char *domain;		/* "system", "memcg-v1", "memcg-v2" */
	const char *data;		/* what {data} becomes, or "" */
	const char *kernel;		/* label */
	int fifo_prio;			/* SCHED_FIFO priority for the recorder, 0: none */
};
int record_args_build(const struct scenario *s, unsigned rep, const struct record_where *w,
		      struct record_args *a);

/* What an events.jsonl says, in brief (for progress lines and status). */
#define SUM_MAX_PROBES 64
struct events_summary {
	int lines, bad_lines;
	int has_header, has_end;
	char end_reason[64];
	int64_t end_t_ns;
	int oom_kills;		/* by analyze's rule (lib/ground_truth.c) */
	int64_t first_oom_t_ns;	/* -1 when none */
	int64_t start_t_ns;	/* the workload_start line, -1 when none */
	int nprobes;
	struct { char spec[160]; char status[16]; int notify; int64_t first_t_ns; } probe[SUM_MAX_PROBES];
	int samples;
	/* The recorder's first "unprotected" complaint (it could be OOM-killed
	 * or starved by what it measures), or "". */
	char unprotected[160];
	int unprotected_count;
	int workload_exit_code;		/* -1: no exit recorded (killed, or cut short) */
	char workload_message[256];	/* its last stderr line when it failed */
};
int events_summarize(const char *path, struct events_summary *sum);
/* "psi:some:150ms:1s 3 (first 2.1s), ..." into buf. */
void events_summary_line(const struct events_summary *sum, char *buf, size_t len);

#endif
