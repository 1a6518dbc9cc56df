/* Ground truth for swap-out onset: swapout[:POLL].
 *
 * /proc/vmstat pswpout (pages written to swap, every swap device) polled
 * every POLL (default 10 ms, as the reclaim probe's vmstat fallback).  Emits
 * {type:"truth", what:"swapout_onset", source:"vmstat", pswpout, delta}
 * when the counter moves for the first time since arming, and again after
 * at least 1 s without moving: the moment reclaim started pushing anonymous
 * memory out, which on a zram machine (Android) comes long before the OOM
 * killer and is what "early" is measured against.  No mainline tracepoint
 * marks a swap write on the kernels under test (6.1), so the counter it is.
 * A swapless guest arms it and it stays silent: that is its answer. */
#include "probe.h"
#include "clock.h"
#include "parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define SWAPOUT_POLL_NS (10 * NS_PER_MS)
#define SWAPOUT_MIN_POLL_NS (1 * NS_PER_MS)
#define SWAPOUT_QUIET_NS (1 * NS_PER_S)
#define VMSTAT_LEN (64 * 1024)

struct swapout_priv {
	uint64_t poll_ns;
	int vmstat_fd;
	uint64_t last, last_move_ns;
	int moved;
	char text[VMSTAT_LEN];
};

static int swapout_parse(struct probe *p, const char *args, char *err, size_t errlen)
{
	struct swapout_priv *s = p->priv;
	char buf[PROBE_SPEC_LEN];
	char *f[1];
	int n = probe_split_args(args, buf, sizeof buf, f, 1);

	if (n == -E2BIG) {
		snprintf(err, errlen, "too many fields (want swapout[:POLL])");
		return -EINVAL;
	}
	s->poll_ns = SWAPOUT_POLL_NS;
	if (n == 1 && (pnb_parse_duration_ns(f[0], &s->poll_ns) || s->poll_ns < SWAPOUT_MIN_POLL_NS ||
		       s->poll_ns > 10 * NS_PER_S)) {
		snprintf(err, errlen, "bad poll interval '%s' (want a duration 1ms..10s, e.g. 10ms)",
			 f[0]);
		return -EINVAL;
	}
	return 0;
}

/* pswpout from vmstat text: 0, or -ENOENT / -EINVAL. */
static int pswpout_of(const char *text, uint64_t *v)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, "pswpout ", 8))
			continue;
		char num[32];
		size_t len = strcspn(l + 8, "\n");
		if (!len || len >= sizeof num)
			return -EINVAL;
		memcpy(num, l + 8, len);
		num[len] = 0;
		return pnb_parse_u64(num, v) ? -EINVAL : 0;
	}
	return -ENOENT;
}

static int read_pswpout(struct swapout_priv *s, int fd, uint64_t *v)
{
	ssize_t n = pnb_pread_text(fd, s->text, sizeof s->text);
	return n < 0 ? (int)n : pswpout_of(s->text, v);
}

static int swapout_supported(const struct probe *p, const struct probe_env *env, char *why,
			     size_t whylen)
{
	struct swapout_priv *s = p->priv;
	char path[4096];
	uint64_t v;
	int fd, r;

	if ((r = pnb_path(path, sizeof path, env->root, "/proc/vmstat")))
		return r;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		r = -errno;
		snprintf(why, whylen, "%.200s: %s", path, strerror(-r));
		return r;
	}
	r = read_pswpout(s, fd, &v);
	close(fd);
	if (r)
		snprintf(why, whylen, "%.200s: %s", path, r == -ENOENT ? "no pswpout counter" :
			 r == -EINVAL ? "malformed pswpout line" : strerror(-r));
	return r;
}

static int swapout_open(struct probe *p, const struct probe_env *env, struct jsonl *out,
			char *why, size_t whylen)
{
	struct swapout_priv *s = p->priv;
	struct itimerspec its = { 0 };
	char path[4096];
	int r;

	(void)out;
	s->moved = 0;
	if ((r = pnb_path(path, sizeof path, env->root, "/proc/vmstat")))
		return r;
	if ((s->vmstat_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		r = -errno;
		snprintf(why, whylen, "%.200s: %s", path, strerror(-r));
		return r;
	}
	if ((r = read_pswpout(s, s->vmstat_fd, &s->last))) {
		snprintf(why, whylen, "%.200s: no readable pswpout counter", path);
		close(s->vmstat_fd);
		return r;
	}
	int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t < 0) {
		r = -errno;
		snprintf(why, whylen, "timerfd_create: %s", strerror(-r));
		close(s->vmstat_fd);
		return r;
	}
	its.it_value.tv_sec = its.it_interval.tv_sec = (time_t)(s->poll_ns / NS_PER_S);
	its.it_value.tv_nsec = its.it_interval.tv_nsec = (long)(s->poll_ns % NS_PER_S);
	timerfd_settime(t, 0, &its, NULL);
	p->fd[0] = t;
	p->nfd = 1;
	return 0;
}

static int swapout_handle(struct probe *p, int idx, uint64_t now, struct jsonl *out)
{
	struct swapout_priv *s = p->priv;
	uint64_t ticks, v;
	int r;

	(void)idx;
	if (read(p->fd[0], &ticks, sizeof ticks) < 0 && errno != EAGAIN)
		return -errno;
	if ((r = read_pswpout(s, s->vmstat_fd, &v)))
		return r;
	if (v <= s->last)
		return 0;
	if (!s->moved || now - s->last_move_ns >= SWAPOUT_QUIET_NS) {
		json_t *o = probe_event(p, out, "truth", now);
		jset_str(o, "what", "swapout_onset");
		jset_str(o, "source", "vmstat");
		jset_int(o, "pswpout", (long long)v);
		jset_int(o, "delta", (long long)(v - s->last));
		if ((r = jsonl_emit(out, o)))
			return r;
	}
	s->moved = 1;
	s->last_move_ns = now;
	s->last = v;
	return 0;
}

static void swapout_close(struct probe *p, struct jsonl *out)
{
	struct swapout_priv *s = p->priv;

	if (s->vmstat_fd >= 0)
		close(s->vmstat_fd);
	s->vmstat_fd = -1;
	probe_close_fds(p, out);
}

const struct probe_ops probe_swapout = {
	.name = "swapout",
	.synopsis = "swapout[:POLL]",
	.summary = "ground truth: swap-out onset from /proc/vmstat pswpout, polled (default 10ms)",
	.example = "swapout",
	.help = "Ground truth: swap-out onset, the first increase of /proc/vmstat pswpout "
		"(polled every POLL, default 10ms), again after 1 s without one.",
	.role = PROBE_GROUND_TRUTH,
	.parse = swapout_parse,
	.supported = swapout_supported,
	.open = swapout_open,
	.handle = swapout_handle,
	.close = swapout_close,
	.priv_size = sizeof(struct swapout_priv),
};
