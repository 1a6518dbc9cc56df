/* One workload per file, all of this shape (stress-ng's stressor_info).
 * The multi-call binary pnbench-workload picks one by name from
 * workloads/registry.c.  A workload parses its own options (getopt_long),
 * exits 2 with a one-line message on a bad one, and reports progress marks
 * through wl_progress(): the recorder timestamps them on its timeline. */
#ifndef PNB_WORKLOAD_H
#define PNB_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

/* A scenario workload makes memory pressure for the probes to notice; a
 * benchmark program measures the kernel interfaces themselves (vmstat-cost)
 * and is not meant as a scenario's pressure source. */
enum workload_class { WL_PRESSURE = 0, WL_BENCHMARK };

struct workload {
	const char *name;	/* "fixed-rate" */
	enum workload_class class;
	const char *summary;	/* one line */
	const char *usage;	/* option help, lines of "  --opt ARG  text\n" */
	int (*main)(int argc, char **argv);
	/* The option parser main uses, run for its verdict only (no file,
	 * memory or CPU touched): argv[0] is the workload's name.  0,
	 * PNB_EXIT_USAGE, or WL_PARSE_HELP. */
	int (*check)(int argc, char **argv);
};

extern const struct workload *const workload_registry[];

/* The workload called name, or NULL. */
const struct workload *workload_find(const char *name);

/* Would "pnbench-workload name argv[0..argc-1]" accept these options?  The
 * host asks before it boots anything, with the same parser the guest runs.
 * 0, or PNB_EXIT_USAGE with the workload's own message in err (e.g.
 * "--rate 'banana': not a rate (e.g. 10M/s)").  Uses getopt: not from
 * inside another getopt loop; getopt is left reset (optind 0). */
int workload_check_args(const char *name, int argc, char *const argv[], char *err, size_t len);

/* Progress marks: "progress <what> <value>\n" on the fd named by the
 * environment variable PNBENCH_PROGRESS_FD (the recorder's pipe), or nowhere
 * when it is unset.  what is a short word ("alloc_bytes", "read_bytes",
 * "pass", "phase"), value an integer. One write(2) per mark. */
void wl_progress(const char *what, uint64_t value);
/* Same, for a phase change: "phase <name>". */
void wl_phase(const char *name);
/* A benchmark's measurement: "result <key> <value>" (key: [a-z0-9_.:-],
 * unit in its name, e.g. "vmstat_read_ns_p50"). */
void wl_result(const char *key, double value);
/* An app of the apps workload: "app <pid> <adj> <role> <anon> <file>", so
 * the analysis knows who is who (role: background | foreground). */
void wl_app(int pid, int adj, const char *role, uint64_t anon_bytes, uint64_t file_bytes);

#endif
