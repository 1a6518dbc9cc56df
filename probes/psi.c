/* PSI memory triggers: psi:some|full:STALL:WINDOW[:cgroup][:n=N].
 *
 * n=N arms N identical triggers, one per fd (the kernel allows one per fd):
 * the cost benchmark's "256 listeners".  Each event then carries "listener"
 * (the fd's index) so the spread of one stall's wake-ups can be measured.
 *
 * The trigger is armed by writing "some|full <stall us> <window us>" to
 * /proc/pressure/memory (or the run's cgroup2 memory.pressure) and waiting
 * for POLLPRI on that fd; see Documentation/accounting/psi.rst.
 *
 * Limits, from psi_trigger_create() in kernel/sched/psi.c across versions:
 *   5.2 (psi monitor, 0e94682b73bf): 500ms <= window <= 10s, 0 < stall <= window.
 *   6.4 ("psi: remove 500ms min window size limitation for triggers"):
 *     0 < window <= 10s.
 *   6.5 ("sched/psi: Allow unprivileged polling of N*2s period"): without
 *     CAP_SYS_RESOURCE the window must be a multiple of 2s (EINVAL otherwise);
 *     before that, opening the file for writing needed CAP_SYS_RESOURCE
 *     (psi_open: EPERM; older kernels had the /proc files mode 0444: EACCES).
 * parse() checks only what holds on every kernel with triggers: stall > 0,
 * window <= 10s, stall <= window.  The lower window bound and the privilege
 * rule depend on the kernel and on who runs us, so they are left to the
 * kernel: open() reports its errno verbatim plus what it most likely means.
 *
 * Only one trigger per fd: from 5.17 (the psi UAF fix, a06247c6804f) a second
 * write returns EBUSY; before that it replaced the first trigger.
 *
 * Unprivileged triggers (6.5+) are evaluated by the 2s averages worker, so
 * their events land on its 2s clock; and psi_trigger_create() seeds their
 * window from group->total[PSI_POLL], which only privileged triggers
 * advance.  Measured on 6.18: the first stall after arming then counts all
 * stall since boot, and an event fires for well under the threshold (and
 * the growth carried into the next window can fire one more).  Every event
 * therefore carries stall_since_open_us so the analysis can tell. */
#include "probe.h"
#include "cgroupfs.h"
#include "parse.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PSI_WINDOW_MAX_US 10000000ULL	/* WINDOW_MAX_US, unchanged since 5.2 */
#define PSI_SYSTEM_FILE "/proc/pressure/memory"

struct psi_priv {
	int full;		/* 0: some, 1: full */
	int cgroup;		/* on the run's cgroup2 memory.pressure */
	uint32_t stall_us, window_us;
	int listeners;		/* n=N: identical triggers, one per fd */
	int n_given;		/* the spec said n=: events carry "listener" */
	char path[4096];	/* root-prefixed file the trigger lives on */
	uint64_t nevents[PROBE_MAX_FDS];
	int have_total0;
	uint64_t total0_us;	/* the level's total when armed */
};

static const char *level_name(const struct psi_priv *s)
{
	return s->full ? "full" : "some";
}

/* A duration field in whole microseconds: the kernel's unit. */
static int parse_us(const char *what, const char *s, uint32_t *us, char *err, size_t errlen)
{
	uint64_t ns;
	int r;

	if (!*s) {
		snprintf(err, errlen, "empty %s (want a duration like 150ms)", what);
		return -EINVAL;
	}
	r = pnb_parse_duration_ns(s, &ns);
	if (r) {
		snprintf(err, errlen, "bad %s '%s' (want a duration with a unit: us, ms, s)",
			 what, s);
		return -EINVAL;
	}
	if (ns == 0) {
		snprintf(err, errlen, "%s '%s' is zero (the kernel rejects 0)", what, s);
		return -EINVAL;
	}
	if (ns % 1000) {
		snprintf(err, errlen, "%s '%s' is not a whole number of microseconds "
			 "(the kernel's unit)", what, s);
		return -EINVAL;
	}
	if (ns / 1000 > PSI_WINDOW_MAX_US) {
		snprintf(err, errlen, "%s '%s' exceeds 10s (the kernel's WINDOW_MAX_US)",
			 what, s);
		return -EINVAL;
	}
	*us = (uint32_t)(ns / 1000);
	return 0;
}

static int psi_parse(struct probe *p, const char *args, char *err, size_t errlen)
{
	struct psi_priv *s = p->priv;
	char buf[PROBE_SPEC_LEN];
	char *f[5];
	int n = probe_split_args(args, buf, sizeof buf, f, 5);

	if (n == -E2BIG) {
		snprintf(err, errlen, "too many fields (want some|full:STALL:WINDOW[:cgroup][:n=N])");
		return -EINVAL;
	}
	s->listeners = 1;
	s->n_given = 0;
	if (n >= 1 && !strncmp(f[n - 1], "n=", 2)) {
		uint64_t v;
		if (pnb_parse_u64(f[n - 1] + 2, &v) || v < 1 || v > PROBE_MAX_FDS - 4) {
			snprintf(err, errlen, "bad '%s' (want n=1..%d: triggers, one per fd)",
				 f[n - 1], PROBE_MAX_FDS - 4);
			return -EINVAL;
		}
		s->listeners = (int)v;
		s->n_given = 1;
		n--;
	} else if (n == 5) {
		snprintf(err, errlen, "too many fields (want some|full:STALL:WINDOW[:cgroup][:n=N])");
		return -EINVAL;
	}
	if (n < 1 || !*f[0]) {
		snprintf(err, errlen, "missing level (want some|full:STALL:WINDOW[:cgroup])");
		return -EINVAL;
	}
	if (strcmp(f[0], "some") == 0)
		s->full = 0;
	else if (strcmp(f[0], "full") == 0)
		s->full = 1;
	else {
		snprintf(err, errlen, "bad level '%s' (want some or full)", f[0]);
		return -EINVAL;
	}
	if (n < 2) {
		snprintf(err, errlen, "missing stall and window (want %s:STALL:WINDOW)", f[0]);
		return -EINVAL;
	}
	if (parse_us("stall", f[1], &s->stall_us, err, errlen))
		return -EINVAL;
	if (n < 3) {
		snprintf(err, errlen, "missing window (want %s:%s:WINDOW)", f[0], f[1]);
		return -EINVAL;
	}
	if (parse_us("window", f[2], &s->window_us, err, errlen))
		return -EINVAL;
	if (s->stall_us > s->window_us) {
		snprintf(err, errlen, "stall %s exceeds window %s (the kernel wants stall <= window)",
			 f[1], f[2]);
		return -EINVAL;
	}
	s->cgroup = 0;
	if (n == 4) {
		if (strcmp(f[3], "cgroup") != 0) {
			snprintf(err, errlen, "bad 4th field '%s' (want 'cgroup', 'n=N' or nothing)", f[3]);
			return -EINVAL;
		}
		s->cgroup = 1;
	}
	return 0;
}

/* The file the trigger goes on, root-prefixed; 0 or -errno with why. */
static int psi_path(const struct probe *p, const struct probe_env *env,
		    char *out, size_t len, char *why, size_t whylen)
{
	const struct psi_priv *s = p->priv;
	char rel[600];

	if (!s->cgroup)
		return pnb_path(out, len, env->root, PSI_SYSTEM_FILE);
	if (!env->memcg_v2[0]) {
		snprintf(why, whylen, "psi:cgroup needs the run's cgroup2 memory cgroup, "
			 "and this run has none (memory controller not on cgroup2?)");
		return -ENOENT;
	}
	snprintf(rel, sizeof rel, "%s/memory.pressure", env->memcg_v2);
	return pnb_path(out, len, env->root, rel);
}

static int psi_supported(const struct probe *p, const struct probe_env *env,
			 char *why, size_t whylen)
{
	const struct psi_priv *s = p->priv;
	char path[4096], buf[1024];
	struct pnb_psi psi;
	ssize_t n;
	int r;

	if ((r = psi_path(p, env, path, sizeof path, why, whylen)))
		return r;
	n = pnb_read_file("", path, buf, sizeof buf);
	if (n == -ENOENT) {
		if (s->cgroup)
			snprintf(why, whylen, "%s does not exist (no such cgroup, or kernel "
				 "without CONFIG_PSI / booted psi=0)", path);
		else
			snprintf(why, whylen, "%s does not exist (kernel without CONFIG_PSI, "
				 "or PSI disabled: boot with psi=1)", path);
		return -ENOENT;
	}
	if (n == -EOPNOTSUPP) {
		snprintf(why, whylen, "reading %s: %s (PSI disabled at boot: psi=0 or "
			 "CONFIG_PSI_DEFAULT_DISABLED without psi=1)", path, strerror(EOPNOTSUPP));
		return -EOPNOTSUPP;
	}
	if (n < 0) {
		snprintf(why, whylen, "reading %s: %s", path, strerror((int)-n));
		return (int)n;
	}
	if (pnb_parse_psi(buf, &psi)) {
		snprintf(why, whylen, "%s is not in the PSI format the probe knows", path);
		return -EINVAL;
	}
	if (s->full && !psi.full.present) {
		snprintf(why, whylen, "%s has no 'full' line", path);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* The file's own numbers, from the trigger's fd: seq_file restarts the
 * text when read at offset 0.  0, -EINVAL (not PSI text) or -errno. */
static int read_fd_psi(int fd, struct pnb_psi *psi)
{
	char buf[1024];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

	if (n < 0)
		return -errno;	/* -ENODEV: the cgroup is gone */
	buf[n] = 0;
	return pnb_parse_psi(buf, psi);
}

static const struct pnb_psi_line *level_line(const struct psi_priv *s, const struct pnb_psi *psi)
{
	return s->full ? &psi->full : &psi->some;
}

/* One trigger on its own fd.  0 or -errno with why. */
static int arm_one(struct psi_priv *s, int *fdp, char *why, size_t whylen)
{
	char trig[64];

	snprintf(trig, sizeof trig, "%s %u %u", level_name(s), s->stall_us, s->window_us);
	return pnb_psi_arm(s->path, trig, fdp, why, whylen);
}

static int psi_open(struct probe *p, const struct probe_env *env, struct jsonl *out,
		    char *why, size_t whylen)
{
	struct psi_priv *s = p->priv;
	struct pnb_psi psi;
	int r;

	(void)out;
	if ((r = psi_path(p, env, s->path, sizeof s->path, why, whylen)))
		return r;
	for (int i = 0; i < s->listeners; i++) {
		if ((r = arm_one(s, &p->fd[i], why, whylen))) {
			if (i) {
				size_t l = strlen(why);
				snprintf(why + l, whylen - l, " (trigger %d of %d)", i + 1, s->listeners);
			}
			for (int k = 0; k < i; k++) {
				close(p->fd[k]);
				p->fd[k] = -1;
			}
			return r;
		}
		/* POLLIN is always set on this file: wait only for POLLPRI. */
		p->events[i] = EPOLLPRI;
		s->nevents[i] = 0;
	}
	s->have_total0 = read_fd_psi(p->fd[0], &psi) == 0 && level_line(s, &psi)->present;
	if (s->have_total0)
		s->total0_us = level_line(s, &psi)->total_us;
	p->nfd = s->listeners;
	return 0;
}

static void put_line(json_t *o, const char *prefix, const struct pnb_psi_line *l)
{
	char k[32];

	if (!l->present)
		return;
	snprintf(k, sizeof k, "%s_avg10", prefix);
	jset_real(o, k, l->avg10);
	snprintf(k, sizeof k, "%s_avg60", prefix);
	jset_real(o, k, l->avg60);
	snprintf(k, sizeof k, "%s_avg300", prefix);
	jset_real(o, k, l->avg300);
	snprintf(k, sizeof k, "%s_total_us", prefix);
	jset_int(o, k, (long long)l->total_us);
}

static int emit_one(struct probe *p, int idx, uint64_t now_ns, struct jsonl *out)
{
	struct psi_priv *s = p->priv;
	struct pnb_psi psi;
	json_t *o;
	int r;

	r = read_fd_psi(p->fd[idx], &psi);
	if (r && r != -EINVAL)
		return r;
	s->nevents[idx]++;
	o = probe_event(p, out, "notify", now_ns);
	jset_str(o, "level", level_name(s));
	jset_int(o, "stall_us", s->stall_us);
	jset_int(o, "window_us", s->window_us);
	jset_int(o, "count", (long long)s->nevents[idx]);
	if (s->n_given)
		jset_int(o, "listener", idx);
	if (r == 0) {
		put_line(o, "some", &psi.some);
		put_line(o, "full", &psi.full);
		/* An event whose stall since arming is below stall_us cannot
		 * be honest (see the top of the file). */
		if (s->have_total0 && level_line(s, &psi)->present)
			jset_int(o, "stall_since_open_us",
				 (long long)(level_line(s, &psi)->total_us - s->total0_us));
	}
	return jsonl_emit(out, o);
}

static int psi_handle(struct probe *p, int idx, uint64_t now_ns, struct jsonl *out)
{
	struct pollfd pfd = { .fd = p->fd[idx], .events = POLLPRI };
	int r;

	/* handle() is not told which epoll bits fired.  A zero-timeout poll
	 * tells a dead trigger (POLLERR: cgroup removed, psi disabled) from an
	 * event: the event itself was consumed by epoll's own poll (the kernel
	 * clears t->event when it reports POLLPRI), so a POLLPRI seen here is
	 * a second event that arrived in between. */
	if (poll(&pfd, 1, 0) < 0)
		return -errno;
	if (pfd.revents & (POLLERR | POLLNVAL))
		return -ENODEV;
	if ((r = emit_one(p, idx, now_ns, out)))
		return r;
	if (pfd.revents & POLLPRI)
		return emit_one(p, idx, now_ns, out);
	return 0;
}

static const struct probe_level psi_levels[] = {
	{ "some", PROBE_CLAIM_RECLAIM, .help = "some task stalled on memory for STALL within WINDOW" },
	{ "full", PROBE_CLAIM_DIRECT, .help = "all non-idle tasks stalled on memory for STALL within WINDOW" },
	{ NULL },
};

const struct probe_ops probe_psi = {
	.name = "psi",
	.example = "psi:some:150ms:2s",
	.synopsis = "psi:some|full:STALL:WINDOW[:cgroup][:n=N]",
	.summary = "PSI memory trigger on /proc/pressure/memory or the run's cgroup2 memory.pressure",
	.help = "A PSI memory trigger on /proc/pressure/memory, or with :cgroup the run's "
		"cgroup2 memory.pressure: a notification when tasks stalled on memory for STALL "
		"(e.g. 150ms) within WINDOW (up to 10s). n=N arms N identical triggers (one per fd).",
	.role = PROBE_NOTIFIER,
	.levels = psi_levels,
	.level_in_spec = 1,
	.parse = psi_parse,
	.supported = psi_supported,
	.open = psi_open,
	.handle = psi_handle,
	.close = probe_close_fds,
	.priv_size = sizeof(struct psi_priv),
};
