/* The reclaim probe's two sources, shared by its three files:
 * reclaim.c (spec, probe ops, the choice between sources),
 * reclaim_tracefs.c (vmscan/oom tracepoints in a private tracefs instance)
 * and reclaim_vmstat.c (pgscan counter polling, the fallback).
 * probes/reclaim.c's head comment describes what each emits. */
#ifndef PNB_RECLAIM_H
#define PNB_RECLAIM_H

#include "probe.h"
#include "clock.h"

#include <stdint.h>

#define RECLAIM_DEFAULT_BUF (4ULL << 20)
#define RECLAIM_MIN_BUF (64ULL << 10)
#define BUCKET_NS (100 * NS_PER_MS)
#define NBUCKETS 64			/* 6.4 s of not-yet-flushed buckets */
#define VMSTAT_POLL_NS (10 * NS_PER_MS)
#define VMSTAT_QUIET_NS (1 * NS_PER_S)
#define PIDSET_SIZE 8192		/* power of two */
#define VMSTAT_LEN (64 * 1024)

enum reclaim_mode { MODE_AUTO, MODE_TRACEFS, MODE_VMSTAT };
enum kind { KIND_DIRECT, KIND_MEMCG, NKINDS };
extern const char *const reclaim_kind_name[NKINDS];

enum ev {
	EV_KSWAPD_WAKE, EV_KSWAPD_SLEEP, EV_DIRECT_BEGIN, EV_DIRECT_END,
	EV_MEMCG_BEGIN, EV_MEMCG_END, EV_MARK_VICTIM, NEV,
};
struct reclaim_evdef { const char *sys, *name, *what; };
extern const struct reclaim_evdef reclaim_evdef[NEV];

struct pidset {
	int n;
	int pid[PIDSET_SIZE];		/* 0 = empty: pid 0 never reclaims */
};

struct bucket {
	int used;
	uint64_t idx;
	uint64_t begins[NKINDS], ends[NKINDS], reclaimed[NKINDS];
};

struct reclaim_priv {
	enum reclaim_mode mode;
	uint64_t buf_bytes;
	int buf_given;			/* buf= in the spec: no automatic sizing */
	uint64_t t0_ns;
	int timer_fd;
	/* tracefs */
	struct tracefs_instance *inst;
	char inst_name[64];
	struct tep_handle *tep;
	struct kbuffer *kbuf;
	int ev_id[NEV];			/* -1: not on this kernel */
	int ncpu;
	int *cpu_fd;
	int *cpu_num;
	int epfd;
	void *page;
	size_t page_size;
	uint64_t lost;
	struct pidset seen[NKINDS];
	struct bucket bk[NBUCKETS];
	/* vmstat */
	int vmstat_fd;
	int memcg_stat_fd;		/* cgroup2 memory.stat with "pgscan", or -1 */
	uint64_t last[3], last_move_ns[3];	/* kswapd, direct, memcg */
	int moved_once[3];
	char vmstat[VMSTAT_LEN];
};

/* reclaim_tracefs.c */
int reclaim_tracefs_precheck(const struct probe_env *env, char *why, size_t whylen);
void reclaim_tracefs_teardown(struct reclaim_priv *s);
int reclaim_tracefs_setup(struct reclaim_priv *s, const struct probe_env *env,
				  char *why, size_t whylen);
int reclaim_drain_all(struct probe *p, struct jsonl *out);
void reclaim_check_overruns(struct probe *p, struct jsonl *out);
void reclaim_flush_before(struct probe *p, struct jsonl *out, uint64_t now, int all);

/* reclaim_vmstat.c */
int reclaim_vmstat_check(const char *root, struct reclaim_priv *s, int keep,
			 char *why, size_t whylen);
void reclaim_open_memcg_stat(struct reclaim_priv *s, const struct probe_env *env);
int reclaim_vmstat_poll(struct probe *p, struct jsonl *out);

#endif
