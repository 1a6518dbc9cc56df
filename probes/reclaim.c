/* Ground truth for reclaim onset and OOM victim marking: reclaim[:MODE][:buf=SIZE].
 *
 * MODE "tracefs" (kernel tracepoints, exact times), "vmstat" (counter
 * deltas, 10 ms resolution) or, by default, tracefs with vmstat as the
 * fallback (reported as a "probe" line with status "degraded").
 *
 * tracefs: a private instance "pnbench-<pid>" (private so that two runs,
 * or a run and a developer's trace-cmd, never share or destroy each other's
 * buffer) with trace_clock "mono", so event times are CLOCK_MONOTONIC like
 * every other t_ns, and a per-CPU buffer of SIZE (default 4M, but all CPUs'
 * together at most 1% of MemTotal, since it is memory taken from the
 * machine under test).  Enabled:
 * vmscan/mm_vmscan_{kswapd_wake,kswapd_sleep,direct_reclaim_begin,
 * direct_reclaim_end,memcg_reclaim_begin,memcg_reclaim_end} and
 * oom/mark_victim, whichever this kernel has.  The per-CPU trace_pipe_raw
 * files are read live (one inner epoll fd for all CPUs, so the recorder
 * sees one fd however many CPUs there are): a guest that panics loses only
 * what the kernel had not yet handed to us.
 *
 * What is emitted (type "truth", source "tracefs", t_ns = the event's own
 * kernel time, observed_t_ns = when we read it):
 *  - every kswapd_wake / kswapd_sleep and every mark_victim (pid = victim);
 *  - the first direct_reclaim_begin and memcg_reclaim_begin of each pid:
 *    that is the onset the metrics need ("when did this task first stall
 *    in reclaim");
 *  - everything else about the begin/end pairs as counts per 100 ms bucket
 *    (t0-aligned): {what:"reclaim_rate", kind:"direct"|"memcg", count
 *    (begins), ends, reclaimed_pages (sum of nr_reclaimed)}, t_ns = bucket
 *    start.  A busy-beaver workload enters direct reclaim thousands of times
 *    a second; one line each would drown the file and the recorder, while
 *    the rate keeps what the analysis uses (how hard, when).  A bucket is
 *    written once the clock has passed its end and the buffers were drained;
 *    an event read even later (a CPU's buffer not yet woken) gets a second
 *    line for the same bucket: sum lines with equal t_ns and kind.
 * Lost events (buffer overrun) are reported as "recorder" events, live per
 * page and from the per-CPU stats at close.
 *
 * vmstat: pgscan_kswapd and pgscan_direct (per-zone sums on old kernels)
 * polled every 10 ms; {what:"reclaim_onset", source:"vmstat", kind:
 * "kswapd"|"direct"|"memcg"} when a counter moves after at least 1 s
 * without moving (or for the first time since open).  /proc/vmstat counts
 * only global reclaim (shrink_*_list skip it when cgroup_reclaim()), so a
 * memcg hitting its limit shows there as nothing; for a cgroup2 memcg its
 * memory.stat "pgscan" (5.x+) gives kind "memcg".  A v1 memcg has no such
 * counter: native v1 runs need tracefs for reclaim onset. */
#include "reclaim.h"
#include "procfs.h"
#include "clock.h"
#include "parse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <tracefs/tracefs.h>
#include <traceevent/kbuffer.h>

const char *const reclaim_kind_name[NKINDS] = { "direct", "memcg" };
const struct reclaim_evdef reclaim_evdef[NEV] = {
	{ "vmscan", "mm_vmscan_kswapd_wake", "kswapd_wake" },
	{ "vmscan", "mm_vmscan_kswapd_sleep", "kswapd_sleep" },
	{ "vmscan", "mm_vmscan_direct_reclaim_begin", "direct_reclaim_begin" },
	{ "vmscan", "mm_vmscan_direct_reclaim_end", "direct_reclaim_end" },
	{ "vmscan", "mm_vmscan_memcg_reclaim_begin", "memcg_reclaim_begin" },
	{ "vmscan", "mm_vmscan_memcg_reclaim_end", "memcg_reclaim_end" },
	{ "oom", "mark_victim", "mark_victim" },
};

/* ---- spec -------------------------------------------------------------- */

static int reclaim_parse(struct probe *p, const char *args, char *err, size_t errlen)
{
	struct reclaim_priv *s = p->priv;
	char buf[PROBE_SPEC_LEN];
	char *f[2];
	int n = probe_split_args(args, buf, sizeof buf, f, 2), have_mode = 0, have_buf = 0;

	if (n == -E2BIG) {
		snprintf(err, errlen, "too many fields (want reclaim[:tracefs|vmstat][:buf=SIZE])");
		return -EINVAL;
	}
	s->mode = MODE_AUTO;
	s->buf_bytes = RECLAIM_DEFAULT_BUF;
	for (int i = 0; i < n; i++) {
		if (!strcmp(f[i], "tracefs") || !strcmp(f[i], "vmstat")) {
			if (have_mode++) {
				snprintf(err, errlen, "mode given twice ('%s')", f[i]);
				return -EINVAL;
			}
			s->mode = f[i][0] == 't' ? MODE_TRACEFS : MODE_VMSTAT;
		} else if (!strncmp(f[i], "buf=", 4)) {
			s->buf_given = 1;
			if (have_buf++) {
				snprintf(err, errlen, "buf= given twice");
				return -EINVAL;
			}
			if (pnb_parse_size_bytes(f[i] + 4, &s->buf_bytes)) {
				snprintf(err, errlen, "bad buffer size '%s' (want e.g. buf=4M)", f[i] + 4);
				return -EINVAL;
			}
			if (s->buf_bytes < RECLAIM_MIN_BUF || s->buf_bytes > (1ULL << 30)) {
				snprintf(err, errlen, "buffer size '%s' out of range (64K..1G per CPU)",
					 f[i] + 4);
				return -EINVAL;
			}
		} else {
			snprintf(err, errlen, "unknown field '%s' (want tracefs, vmstat or buf=SIZE)",
				 f[i]);
			return -EINVAL;
		}
	}
	if (have_buf && s->mode == MODE_VMSTAT) {
		snprintf(err, errlen, "buf= applies to tracefs, not to the vmstat mode");
		return -EINVAL;
	}
	return 0;
}

/* ---- probe ops --------------------------------------------------------- */

static int reclaim_supported(const struct probe *p, const struct probe_env *env,
			     char *why, size_t whylen)
{
	struct reclaim_priv *s = p->priv;
	char wt[PROBE_ERR_LEN] = "", wv[PROBE_ERR_LEN] = "";
	int rt = s->mode == MODE_VMSTAT ? -EOPNOTSUPP : reclaim_tracefs_precheck(env, wt, sizeof wt);
	int rv = s->mode == MODE_TRACEFS ? -EOPNOTSUPP : reclaim_vmstat_check(env->root, s, 0, wv, sizeof wv);

	if (s->mode == MODE_TRACEFS && rt) {
		snprintf(why, whylen, "%s", wt);
		return rt;
	}
	if (s->mode == MODE_VMSTAT && rv) {
		snprintf(why, whylen, "%s", wv);
		return rv;
	}
	if (rt && rv) {
		snprintf(why, whylen, "%.120s; and no vmstat fallback: %.120s", wt, wv);
		return rt;
	}
	return 0;
}

static int reclaim_open(struct probe *p, const struct probe_env *env, struct jsonl *out,
			char *why, size_t whylen)
{
	struct reclaim_priv *s = p->priv;
	char wt[PROBE_ERR_LEN] = "";
	struct itimerspec its = { 0 };
	uint64_t period;
	int r = -EOPNOTSUPP;

	s->timer_fd = s->vmstat_fd = s->epfd = s->memcg_stat_fd = -1;
	s->t0_ns = out->t0_ns;
	s->lost = 0;
	memset(s->seen, 0, sizeof s->seen);
	memset(s->bk, 0, sizeof s->bk);
	memset(s->moved_once, 0, sizeof s->moved_once);
	if (s->mode != MODE_VMSTAT)
		r = reclaim_tracefs_setup(s, env, wt, sizeof wt);
	if (r && s->mode == MODE_TRACEFS) {
		snprintf(why, whylen, "%s", wt);
		return r;
	}
	if (r) {
		char wv[PROBE_ERR_LEN] = "";
		int rv = reclaim_vmstat_check(env->root, s, 1, wv, sizeof wv);
		if (!rv)
			reclaim_open_memcg_stat(s, env);
		if (rv) {
			if (s->mode == MODE_VMSTAT)
				snprintf(why, whylen, "%s", wv);
			else
				snprintf(why, whylen, "%.120s; and no vmstat fallback: %.120s", wt, wv);
			return rv;
		}
		if (s->mode == MODE_AUTO) {
			char msg[PROBE_ERR_LEN + 64];
			json_t *o = probe_event(p, out, "probe", pnb_mono_ns());
			jset_str(o, "status", "degraded");
			snprintf(msg, sizeof msg, "reclaim onset from vmstat pgscan deltas (10ms): %s",
				 wt);
			jset_str(o, "reason", msg);
			jsonl_emit(out, o);
		}
	}
	if (!r) {
		/* Kernels differ in which of these exist (memcg_reclaim_* and
		 * mark_victim came later than kswapd_wake): say which are missing. */
		char miss[PROBE_ERR_LEN] = "";
		size_t len = 0;
		for (int i = 0; i < NEV; i++)
			if (s->ev_id[i] < 0 && len < sizeof miss)
				len += (size_t)snprintf(miss + len, sizeof miss - len, "%s%s/%s",
							len ? ", " : "", reclaim_evdef[i].sys, reclaim_evdef[i].name);
		if (len) {
			char msg[PROBE_ERR_LEN + 64];
			json_t *o = probe_event(p, out, "probe", pnb_mono_ns());
			jset_str(o, "status", "degraded");
			snprintf(msg, sizeof msg, "tracefs events missing on this kernel: %s", miss);
			jset_str(o, "reason", msg);
			jsonl_emit(out, o);
		}
	}
	period = r ? VMSTAT_POLL_NS : BUCKET_NS;
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	its.it_value.tv_nsec = (long)period;
	its.it_interval.tv_nsec = (long)period;
	if (s->timer_fd < 0 || timerfd_settime(s->timer_fd, 0, &its, NULL) < 0) {
		int e = -errno;
		snprintf(why, whylen, "timerfd: %s", strerror(-e));
		if (s->timer_fd >= 0)
			close(s->timer_fd);
		s->timer_fd = -1;
		if (s->vmstat_fd >= 0)
			close(s->vmstat_fd);
		if (s->memcg_stat_fd >= 0)
			close(s->memcg_stat_fd);
		s->vmstat_fd = s->memcg_stat_fd = -1;
		reclaim_tracefs_teardown(s);
		return e;
	}
	if (s->inst) {
		p->fd[0] = s->epfd;
		p->fd[1] = s->timer_fd;
		p->nfd = 2;
	} else {
		p->fd[0] = s->timer_fd;
		p->nfd = 1;
	}
	return 0;
}

static int reclaim_handle(struct probe *p, int idx, uint64_t now_ns, struct jsonl *out)
{
	struct reclaim_priv *s = p->priv;
	uint64_t exp;
	int r;

	(void)now_ns;
	if (idx < 0 || idx >= p->nfd)
		return -EINVAL;
	if (p->fd[idx] == s->timer_fd) {
		if (read(s->timer_fd, &exp, sizeof exp) < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (!s->inst)
			return reclaim_vmstat_poll(p, out);
		/* Drain first: a bucket is complete only once every CPU's
		 * buffer has been read past its end. */
		if ((r = reclaim_drain_all(p, out)))
			return r;
		reclaim_flush_before(p, out, pnb_mono_ns(), 0);
		return 0;
	}
	return reclaim_drain_all(p, out);
}

/* A confined run (native: the workload in its own memcg on a shared host)
 * traces only the workload's process tree: other tasks' reclaim and OOM
 * kills are not this run's ground truth.  Memcg limit reclaim and the memcg
 * OOM kill happen in the context of the charging task, so nothing of the
 * run is lost; kswapd is left out, and it does not act on memcg limits.
 * A guest run traces everything: the guest is the run. */
static void reclaim_started(struct probe *p, const struct probe_env *env, struct jsonl *out)
{
	struct reclaim_priv *s = p->priv;
	char pid[32];
	json_t *o;

	if (!s->inst || (!env->memcg_v1[0] && !env->memcg_v2[0]) || env->workload_pid <= 0)
		return;
	snprintf(pid, sizeof pid, "%d", (int)env->workload_pid);
	o = jsonl_new(out, "recorder", pnb_mono_ns());
	if (tracefs_instance_file_write(s->inst, "options/event-fork", "1") < 0 ||
	    tracefs_instance_file_write(s->inst, "set_event_pid", pid) < 0) {
		jset_str(o, "what", "trace_unfiltered");
		jset_str(o, "detail", "tracefs: cannot limit events to the workload (set_event_pid/"
			 "event-fork): other tasks' reclaim is recorded too; match by pid");
	} else {
		jset_str(o, "what", "trace_filtered");
		jset_str(o, "detail", "tracefs events limited to the workload's process tree "
			 "(set_event_pid + event-fork)");
		jset_int(o, "pid", env->workload_pid);
	}
	jsonl_emit(out, o);
}

static void reclaim_close(struct probe *p, struct jsonl *out)
{
	struct reclaim_priv *s = p->priv;

	if (s->inst) {
		/* What the kernel wrote between the last wakeup and now. */
		tracefs_trace_off(s->inst);
		reclaim_drain_all(p, out);
		reclaim_flush_before(p, out, pnb_mono_ns(), 1);
		reclaim_check_overruns(p, out);
		reclaim_tracefs_teardown(s);
	} else if (s->vmstat_fd >= 0) {
		reclaim_vmstat_poll(p, out);
	}
	if (s->vmstat_fd >= 0)
		close(s->vmstat_fd);
	if (s->memcg_stat_fd >= 0)
		close(s->memcg_stat_fd);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	s->vmstat_fd = s->memcg_stat_fd = s->timer_fd = -1;
	for (int i = 0; i < PROBE_MAX_FDS; i++)
		p->fd[i] = -1;
	p->nfd = 0;
}

const struct probe_ops probe_reclaim = {
	.name = "reclaim",
	.example = "reclaim",
	.synopsis = "reclaim[:tracefs|vmstat][:buf=SIZE]",
	.summary = "ground truth: kswapd wake/sleep, first direct/memcg reclaim per task, "
		   "reclaim rates and OOM victim marking from tracefs (trace_clock mono), or "
		   "reclaim onset from vmstat pgscan",
	.help = "Ground truth: reclaim onset, rates and OOM victim marking from tracefs (trace_clock "
		"mono, per-CPU buffer SIZE, default 4M), or from vmstat pgscan deltas; by default "
		"tracefs with vmstat where tracefs is missing.",
	.role = PROBE_GROUND_TRUTH,
	.parse = reclaim_parse,
	.supported = reclaim_supported,
	.open = reclaim_open,
	.started = reclaim_started,
	.handle = reclaim_handle,
	.close = reclaim_close,
	.priv_size = sizeof(struct reclaim_priv),
};
