/* memcg v1 vmpressure: vmpressure:LEVEL[:MODE][:root][:n=N].
 *
 * n=N registers N identical listeners, one eventfd each (the cost
 * benchmark's "256 listeners"); each event then carries "listener", the
 * eventfd's index, so the spread of one evaluation's wake-ups shows.
 *
 * Registration (Documentation/admin-guide/cgroup-v1/memory.rst, "Memory
 * Pressure"): an eventfd, an open fd of the cgroup's memory.pressure_level,
 * and "<eventfd> <pressure_level fd> <level>[,<mode>]" written to the same
 * cgroup's cgroup.event_control; pnb_vmpressure_register() in
 * lib/cgroupfs.c does it for this probe and for lmk:vmpressure.  The
 * ",mode" suffix is sent only when the spec names a mode: kernels before
 * 4.13 ("mm, vmpressure: pass-through notification support", b6bb9811)
 * reject any suffix with EINVAL.
 *
 * What the kernel does, from mm/vmpressure.c (v3.10 .. v6.x; in the newest
 * trees the v1 half moved to its own file, unchanged in substance):
 *  - Reclaim adds scanned/reclaimed page counts to the memcg it reclaims
 *    for ("tree" accounting on sc->target_mem_cgroup; global reclaim on the
 *    root).  Only reclaim whose gfp mask has __GFP_HIGHMEM, __GFP_MOVABLE,
 *    __GFP_IO or __GFP_FS counts, and calls with scanned == 0 are ignored.
 *  - Once the sum reaches vmpressure_win = SWAP_CLUSTER_MAX * 16 = 512
 *    pages, a work item (schedule_work) computes
 *        pressure = 100 * (1 - reclaimed / scanned)   (integer arithmetic)
 *    and the level: >= 95 critical (vmpressure_level_critical), >= 60
 *    medium (vmpressure_level_med), else low.  The window is the only rate
 *    limit: all reclaim between two work runs coalesces into one level.
 *  - vmpressure_prio(): when the reclaim priority drops to
 *    ilog2(100 / 10) = 3 or below, vmpressure() is fed (512 scanned, 0
 *    reclaimed), i.e. a critical evaluation, whatever the ratio.
 *  - Signalling: every listener on the memcg whose level is <= the computed
 *    level gets eventfd_signal(+1).  So a "low" listener counts every
 *    evaluation, a "critical" listener only the critical ones, and per memcg
 *    count(low) >= count(medium) >= count(critical).  The work then walks
 *    up the parents: mode "local" listeners ignore pressure from
 *    descendants; "default" (no pass-through) listeners are skipped once a
 *    listener below has been signalled; "hierarchy" listeners always get it.
 *  - The eventfd counter adds up signals until we read it: "count" is the
 *    number of evaluations (at or above our level) since the last read.
 *  - When the cgroup is removed, the kernel unregisters the listener and
 *    signals the eventfd once more ("Notify userspace the event is going
 *    away", memcg_event_remove): handle() checks that the cgroup is still
 *    there and drops the probe (-ENODEV) instead of reporting that signal.
 *  - PREEMPT_RT kernels refuse registration with EOPNOTSUPP; 6.x kernels
 *    log a deprecation warning for memory.pressure_level; without a v1
 *    memory controller (CONFIG_MEMCG_V1=n from 6.11, or memory bound to
 *    cgroup2) the files do not exist.
 *
 * The event's "level" is the listener's level: the eventfd does not say
 * which level the kernel computed, only that it was at least this one.
 * Arm one probe per level to see the distribution. */
#include "probe.h"
#include "cgroupfs.h"
#include "parse.h"
#include "procfs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const levels[] = { "low", "medium", "critical" };
static const char *const modes[] = { "default", "hierarchy", "local" };

struct vmp_priv {
	int level;		/* index into levels */
	int mode;		/* index into modes, -1: none given (no suffix sent) */
	int on_root;		/* listen on the v1 hierarchy root */
	char cgdir[4096];	/* root-prefixed cgroup directory, set by open() */
	int listeners;		/* n=N */
	int n_given;		/* the spec said n=: events carry "listener" */
	uint64_t total[PROBE_MAX_FDS];	/* signals seen so far, per listener */
};

static int lookup(const char *const *tab, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(tab[i], s) == 0)
			return i;
	return -1;
}

static int vmp_parse(struct probe *p, const char *args, char *err, size_t errlen)
{
	struct vmp_priv *s = p->priv;
	char buf[PROBE_SPEC_LEN];
	char *f[4];
	int n = probe_split_args(args, buf, sizeof buf, f, 4);
	int i = 1;

	if (n == -E2BIG) {
		snprintf(err, errlen, "too many fields (want LEVEL[:MODE][:root][:n=N])");
		return -EINVAL;
	}
	s->listeners = 1;
	s->n_given = 0;
	if (n >= 2 && !strncmp(f[n - 1], "n=", 2)) {
		uint64_t v;
		if (pnb_parse_u64(f[n - 1] + 2, &v) || v < 1 || v > PROBE_MAX_FDS - 4) {
			snprintf(err, errlen, "bad '%s' (want n=1..%d: listeners, one eventfd each)",
				 f[n - 1], PROBE_MAX_FDS - 4);
			return -EINVAL;
		}
		s->listeners = (int)v;
		s->n_given = 1;
		n--;
	} else if (n == 4) {
		snprintf(err, errlen, "too many fields (want LEVEL[:MODE][:root][:n=N])");
		return -EINVAL;
	}
	if (n < 1 || !*f[0]) {
		snprintf(err, errlen, "missing level (want LEVEL[:MODE][:root], "
			 "LEVEL low|medium|critical)");
		return -EINVAL;
	}
	s->level = lookup(levels, 3, f[0]);
	if (s->level < 0) {
		snprintf(err, errlen, "bad level '%s' (want low, medium or critical)", f[0]);
		return -EINVAL;
	}
	s->mode = -1;
	s->on_root = 0;
	if (i < n && strcmp(f[i], "root") != 0) {
		s->mode = lookup(modes, 3, f[i]);
		if (s->mode < 0) {
			snprintf(err, errlen, "bad mode '%s' (want default, hierarchy, local "
				 "or 'root')", f[i]);
			return -EINVAL;
		}
		i++;
	}
	if (i < n) {
		if (strcmp(f[i], "root") != 0) {
			snprintf(err, errlen, "bad field '%s' after the mode (want 'root' or "
				 "nothing)", f[i]);
			return -EINVAL;
		}
		s->on_root = 1;
		i++;
	}
	if (i < n) {
		snprintf(err, errlen, "unexpected field '%s' after 'root'", f[i]);
		return -EINVAL;
	}
	return 0;
}

/* On cgroup v1, global reclaim accounts its vmpressure to the root memcg
 * only (the per-memcg "!tree" calls are dropped on the legacy hierarchy), so
 * a listener on a child never hears machine-wide pressure.  When the run's
 * domain is the whole system (a guest) we listen where lmkd and ulmkd did. */
static int listen_on_root(const struct vmp_priv *s, const struct probe_env *env)
{
	return s->on_root || env->domain == PNB_DOMAIN_SYSTEM;
}

static int vmp_supported(const struct probe *p, const struct probe_env *env,
			 char *why, size_t whylen)
{
	const struct vmp_priv *s = p->priv;
	char dir[4096];
	int r;

	r = pnb_vmpressure_cgdir(env->root, env->memcg_v1, listen_on_root(s, env), dir, sizeof dir,
				 why, whylen);
	return r ? r : pnb_vmpressure_supported(env->root, dir, why, whylen);
}

static int vmp_open(struct probe *p, const struct probe_env *env, struct jsonl *out,
		    char *why, size_t whylen)
{
	struct vmp_priv *s = p->priv;
	char arg[32];
	int efd, r;

	(void)out;
	r = pnb_vmpressure_cgdir(env->root, env->memcg_v1, listen_on_root(s, env), s->cgdir,
				 sizeof s->cgdir, why, whylen);
	if (r)
		return r;
	if (s->mode >= 0)
		snprintf(arg, sizeof arg, "%s,%s", levels[s->level], modes[s->mode]);
	else
		snprintf(arg, sizeof arg, "%s", levels[s->level]);
	for (int i = 0; i < s->listeners; i++) {
		r = pnb_vmpressure_register(s->cgdir, arg, &efd, why, whylen);
		if (r) {
			if (i) {
				size_t l = strlen(why);
				snprintf(why + l, whylen - l, " (listener %d of %d)", i + 1, s->listeners);
			}
			for (int k = 0; k < i; k++) {
				close(p->fd[k]);
				p->fd[k] = -1;
			}
			return r;
		}
		s->total[i] = 0;
		p->fd[i] = efd;
		p->events[i] = 0;
	}
	p->nfd = s->listeners;
	return 0;
}

static int vmp_handle(struct probe *p, int idx, uint64_t now_ns, struct jsonl *out)
{
	struct vmp_priv *s = p->priv;
	char f[4200];
	uint64_t count;
	ssize_t n;
	json_t *o;

	n = read(p->fd[idx], &count, sizeof count);
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
	if (n != sizeof count)
		return -EIO;
	snprintf(f, sizeof f, "%s/memory.pressure_level", s->cgdir);
	if (access(f, F_OK) != 0 && errno == ENOENT)
		return -ENODEV;	/* the removal signal, not pressure */
	s->total[idx] += count;
	o = probe_event(p, out, "notify", now_ns);
	jset_str(o, "level", levels[s->level]);
	jset_int(o, "count", (long long)count);
	jset_int(o, "total", (long long)s->total[idx]);
	if (s->n_given)
		jset_int(o, "listener", idx);
	return jsonl_emit(out, o);
}

static const struct probe_level vmp_levels[] = {
	{ "low", PROBE_CLAIM_RECLAIM, .activity_only = 1, .help = "reclaim is going on" },
	{ "medium", PROBE_CLAIM_DIRECT, .help = "reclaim finds under 40% of what it scans" },
	{ "critical", PROBE_CLAIM_OOM, .help = "under 5%, or reclaim priority down to 3: OOM is near" },
	{ NULL },
};

const struct probe_ops probe_vmpressure = {
	.name = "vmpressure",
	.example = "vmpressure:low:hierarchy",
	.synopsis = "vmpressure:low|medium|critical[:default|hierarchy|local][:root][:n=N]",
	.summary = "memcg v1 memory.pressure_level eventfd on the run's v1 memcg (the v1 root in a guest)",
	.help = "memcg v1 memory.pressure_level through cgroup.event_control and an eventfd, on "
		"the run's v1 memcg (with :root, or in a guest, the v1 root). A mode (default, "
		"hierarchy or local) needs 4.13+; n=N registers N listeners.",
	.role = PROBE_NOTIFIER,
	.levels = vmp_levels,
	.level_in_spec = 1,
	.signals_field = "count",
	.parse = vmp_parse,
	.supported = vmp_supported,
	.open = vmp_open,
	.handle = vmp_handle,
	.close = probe_close_fds,
	.priv_size = sizeof(struct vmp_priv),
};
