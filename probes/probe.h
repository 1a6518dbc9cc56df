/* One mechanism per file, all behind this interface (fio's ioengine_ops).
 *
 * A probe is armed from a spec string "name[:arg[:arg...]]", e.g.
 * "psi:some:150ms:1s", "vmpressure:medium:hierarchy".  The recorder parses
 * every spec before the run (bad specs are usage errors), asks each probe
 * whether this kernel supports it ("unsupported: <why>" is reported and the
 * run goes on), opens it, puts its fds in one epoll set and calls handle()
 * when one is ready.  Probes emit events through the jsonl writer. */
#ifndef PNB_PROBE_H
#define PNB_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jsonl.h"
#include "procfs.h"
#include "memview.h"

#define PROBE_MAX_FDS 260	/* 256 listeners of one mechanism, plus a few */
#define PROBE_ERR_LEN 256
#define PROBE_SPEC_LEN 160

/* Where the probes look.  root is "" for the live system, a directory of
 * captured files in tests. memcg_v1/memcg_v2 are the workload's cgroup
 * directories (absolute paths without root; probes prefix root) or "" when
 * the run has none. */
struct probe_env {
	const char *root;
	char memcg_v1[512];
	char memcg_v2[512];
	/* What "memory" means for memavail, lmk and the sampler: the whole
	 * machine (guests) or the workload's limited memcg (native runs). */
	enum pnb_domain domain;
	pid_t workload_pid;	/* 0 until the workload started */
	int workload_pidfd;	/* -1 until then, or where pidfd_open is missing */
};

struct probe;

/* ---- what a mechanism is to the analysis ----------------------------------
 * analyze, report and the man page ask these fields and never name a
 * mechanism (docs/design.md, "A mechanism describes itself"). */

/* notifier: its notify lines are what is measured; ground truth: what the
 * notifiers are measured against; sampler: the periodic snapshot. */
enum probe_role { PROBE_NOTIFIER, PROBE_GROUND_TRUTH, PROBE_SAMPLER };

/* The ground-truth onset a level claims to describe (docs/metrics.md 3.3);
 * harness/analysis.h's enum an_claim has the same values. */
enum probe_claim { PROBE_CLAIM_NONE, PROBE_CLAIM_RECLAIM, PROBE_CLAIM_DIRECT, PROBE_CLAIM_OOM,
		   PROBE_CLAIM_THRESHOLD };

/* Which memory a threshold level was crossing, for its latency (the
 * threshold_crossed onset, docs/metrics.md 3.3): the notify line's
 * threshold_kB against MemAvailable, or its minfree_kB against both free
 * memory and page cache (the LMK rule). */
enum probe_threshold { PROBE_THRESHOLD_NONE, PROBE_THRESHOLD_AVAILABLE, PROBE_THRESHOLD_MINFREE };

struct probe_level {
	/* The notify lines' "level".  Ending in '*': a prefix ("adj*" is
	 * adj0, adj12...); levels are tried in order, so a prefix goes after
	 * the names it would also match. */
	const char *name;
	enum probe_claim claim;
	/* It only says reclaim is going on: never a false positive in a run
	 * that must not OOM (docs/metrics.md 3.4). */
	int activity_only;
	/* Prefix levels: rank by the number after the prefix, highest first
	 * (adj12 before adj0: the LMK rule reaches the higher adj first). */
	int by_number_desc;
	const char *help;	/* one line for the man page */
};

struct probe_ops {
	const char *name;
	/* One line each, for `pnbench probes` and the man page. */
	const char *synopsis;	/* "psi:some|full:STALL:WINDOW[:cgroup]" */
	const char *summary;
	/* A spec that `pnbench probes` checks support with, e.g. "psi:some:150ms:1s". */
	const char *example;
	/* The man page's paragraph: arguments and defaults, plain text. */
	const char *help;
	enum probe_role role;
	/* The levels of its notify lines, in the order of rows (their rank),
	 * ended by a NULL name; levels not listed rank last, claim nothing. */
	const struct probe_level *levels;
	/* The spec's first argument names the level ("psi:some:..."): an armed
	 * probe that never notified gets a row of that level, and a killer
	 * driven by it is called "name:level". */
	int level_in_spec;
	/* The notify field that counts kernel events in one wake-up (an
	 * eventfd counter, a counter delta), or NULL (one each); with
	 * signals_if set, only for specs containing it. */
	const char *signals_field, *signals_if;
	enum probe_threshold threshold;
	/* Parse the text after "name" (args, may be "" or start with ':').
	 * Return 0, or -EINVAL with a one-line reason in err. */
	int (*parse)(struct probe *p, const char *args, char *err, size_t errlen);
	/* Can this kernel do it?  0 = yes; otherwise a reason in why. Must not
	 * change system state. */
	int (*supported)(const struct probe *p, const struct probe_env *env,
			 char *why, size_t whylen);
	/* Arm it: fill p->fd[] / p->nfd with fds to wait on (EPOLLIN unless
	 * p->events[i] says otherwise).  0, or -errno with a reason in why;
	 * the recorder reports that as "unsupported: why" and goes on. */
	int (*open)(struct probe *p, const struct probe_env *env,
		    struct jsonl *out, char *why, size_t whylen);
	/* The workload has started (env->workload_pid/pidfd are set). Optional. */
	void (*started)(struct probe *p, const struct probe_env *env, struct jsonl *out);
	/* fd[idx] is ready.  Emit zero or more events.  Return 0, or -errno
	 * to have the recorder drop the probe (reported as an event). */
	int (*handle)(struct probe *p, int idx, uint64_t now_ns, struct jsonl *out);
	/* Run ends: last events (e.g. a final tracefs drain) then release. */
	void (*close)(struct probe *p, struct jsonl *out);
	size_t priv_size;
};

struct probe {
	const struct probe_ops *ops;
	char spec[PROBE_SPEC_LEN];
	int fd[PROBE_MAX_FDS];
	uint32_t events[PROBE_MAX_FDS];	/* epoll events; 0 means EPOLLIN */
	int nfd;
	const struct probe_env *env;	/* valid from open() on */
	void *priv;			/* priv_size bytes, zeroed */
};

/* Registry: probes/registry.c lists every probe_ops (one line per probe). */
extern const struct probe_ops *const probe_registry[];
const struct probe_ops *probe_find(const char *name);

/* The level entry that names this level (exact, or by prefix), or NULL. */
const struct probe_level *probe_level_of(const struct probe_ops *ops, const char *level);
/* Its rank among the rows of the mechanism: lower first.  Listed names
 * rank by their place, numbered prefix levels (by_number_desc) after them
 * by number, anything else last (ties: by name). */
int probe_level_rank(const struct probe_ops *ops, const char *level);
/* The level an armed probe that never notified is shown with: the spec's
 * first argument (level_in_spec), the only level when it has exactly one
 * named level, else "*". */
void probe_silent_level(const struct probe_ops *ops, const char *spec, char *buf, size_t len);

/* Split "name:args" and run ops->parse.  On success *p is ready for open(). */
int probe_from_spec(struct probe *p, const char *spec, char *err, size_t errlen);
void probe_free(struct probe *p);
/* The close of a probe whose only resources are the fds it waits on:
 * close them all (closing is what disarms a PSI trigger or a vmpressure
 * eventfd listener). */
void probe_close_fds(struct probe *p, struct jsonl *out);

/* Shared pieces for probes: start an event object for this probe
 * ("type":"notify", "probe": spec, "mech": name). */
json_t *probe_event(const struct probe *p, struct jsonl *out, const char *type,
		    uint64_t now_ns);

/* Split args on ':' into at most max fields (args may start with ':').
 * Returns the count, or -E2BIG when there are more.  Fields point into buf. */
int probe_split_args(const char *args, char *buf, size_t buflen, char **fields, int max);

#endif
