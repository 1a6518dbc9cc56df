/* pnbench-conform: the conformance suite's guest program (tests/conform/).
 * One file per mechanism fills the case functions named in cases.h; main.c
 * runs them in order and prints one "case" JSON line per case. */
#ifndef CF_CONFORM_H
#define CF_CONFORM_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

enum cf_result { CF_PASS, CF_FAIL, CF_SKIP };

struct cf_ctx {
	json_t *detail;		/* measured values, owned by main.c */
	char reason[768];
};

/* printf into ctx->reason; returns r so cases can `return cf_say(...)`. */
enum cf_result cf_say(struct cf_ctx *c, enum cf_result r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define CF_CASE(name, doc, xr, xw) enum cf_result cf_##name(struct cf_ctx *c);
#include "cases.h"
#undef CF_CASE

/* Paths of the guest (qemu/init.c sets them up). */
#define CF_V1 "/sys/fs/cgroup/memory"
#define CF_V2 "/sys/fs/cgroup/unified"
#define CF_DATA "/data/data.bin"

/* A memory hog in its own process: fork, join the given cgroup.procs
 * files, oom_score_adj 0, then do kind.  Returns the pid or -errno. */
enum cf_hog_kind {
	CF_HOG_ALLOC,		/* cache_bytes of the data file first, then anon at rate up to max */
	CF_HOG_THRASH,		/* anon bytes, then re-read the data file until killed */
	CF_HOG_STREAM,		/* read the data file `passes` times, then exit 0 */
};
struct cf_hog {
	enum cf_hog_kind kind;
	const char *procs[3];	/* cgroup.procs files to join, NULL-terminated */
	uint64_t anon_bytes;	/* ALLOC: the most to allocate; THRASH: resident anon */
	uint64_t rate_bps;	/* ALLOC: 0 = as fast as possible */
	uint64_t cache_bytes;	/* ALLOC: page cache to read first */
	unsigned passes;	/* STREAM */
};
pid_t cf_hog_start(const struct cf_hog *h);
/* Kill (SIGKILL) and reap; returns the wait status. */
int cf_hog_stop(pid_t pid);
/* Wait up to timeout_ns; 1 and *status when it ended, 0 on timeout. */
int cf_hog_wait(pid_t pid, uint64_t timeout_ns, int *status);

/* cgroups: lib/memcg.h (pnb_memcg_create(dir, 1) gives a fresh one). */
int cf_put(const char *path, const char *s);
int cf_have_data(void);

/* Is the guest's cgroup2 memory controller on (after cf_switch_v2)?  */
extern int cf_v2_memory;
extern char cf_v2_why[256];
extern char cf_release[128];

#endif
