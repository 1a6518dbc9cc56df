/* Scenario files: INI text (fio job-file style) under harness/scenarios/.
 * One table of keys drives parsing, errors and `pnbench scenario --keys`.
 *
 *   [scenario]  description, reps, duration, expect
 *   [workload]  name, args, data_size
 *   [probes]    probe (repeatable: one spec per line)
 *   [machine]   memory, cpus, swap, cmdline
 *   [killer]    mechanism, action, margin (the closed loop, issue 11)
 */
#ifndef PNB_SCENARIO_H
#define PNB_SCENARIO_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define SCN_MAX_PROBES 64
#define SCN_STR 512
/* Largest scenario file read: far above any real one, far below what a
 * device or a runaway file could feed us. */
#define SCN_MAX_FILE (1 << 20)

enum scn_expect { SCN_EXPECT_ANY, SCN_EXPECT_OOM, SCN_EXPECT_NO_OOM };
enum scn_swap { SCN_SWAP_NONE, SCN_SWAP_ZRAM };
/* How TCG runs the vCPUs when there is no KVM (docs/guests.md). */
enum scn_tcg { SCN_TCG_SINGLE, SCN_TCG_MULTI };

struct scenario {
	char path[SCN_STR];
	char name[128];			/* file name without .ini */
	char description[SCN_STR];
	unsigned reps;
	uint64_t duration_ns;		/* hard bound on one run */
	enum scn_expect expect;

	char workload[64];
	char args[SCN_STR];		/* "{data}" is replaced with the data file */
	int args_line;			/* where args was given (0: not given), for messages */
	uint64_t data_size;		/* bytes of the data file; 0 = none */

	int nprobes;
	char probes[SCN_MAX_PROBES][160];

	uint64_t memory;		/* guest RAM, or the native memcg limit */
	unsigned cpus;
	unsigned maxcpus;		/* guest possible CPUs (QEMU maxcpus); 0: cpus */
	enum scn_swap swap;
	char cmdline[SCN_STR];		/* extra guest kernel command line */
	enum scn_tcg tcg;

	/* The killer beside the workload: "" (none: the baseline row), a
	 * probe spec driving pnbench-killer, or "earlyoom". */
	char killer[160];
	char killer_action[16];		/* kill | reclaim */
	uint64_t killer_margin_pct;	/* a kill with MemAvailable above this % of total is unnecessary */

	char *text;			/* the file as read, for meta.json */
};

/* Parse a file. 0, or -errno with "path:line: why" in err (-EINVAL for bad
 * content, a NUL byte, a file that is not regular or above SCN_MAX_FILE;
 * other -errno when the file cannot be read).  Syntax: one 'key = value'
 * per line of any length; ';' and '#' start a comment only at the start of
 * a line, so a value may hold them. */
int scenario_load(const char *path, struct scenario *s, char *err, size_t errlen);
/* Same from a string (tests); name is what errors call the file. */
int scenario_parse_string(const char *name, const char *text, struct scenario *s,
			  char *err, size_t errlen);
void scenario_free(struct scenario *s);

/* The key table as text (section, key, type, default, help), for
 * `pnbench scenario-keys` and the man page. */
void scenario_print_keys(FILE *f);

const char *scenario_expect_name(enum scn_expect e);
const char *scenario_tcg_name(enum scn_tcg t);

#endif
