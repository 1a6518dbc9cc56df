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

struct probe_ops {
	const char *name;
	/* One line each, for `pnbench probes` and the man page. */
	const char *synopsis;	/* "psi:some|full:STALL:WINDOW[:cgroup]" */
	const char *summary;
	/* A spec that `pnbench probes` checks support with, e.g. "psi:some:150ms:1s". */
	const char *example;
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
