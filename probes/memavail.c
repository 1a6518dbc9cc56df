/* The naive daemon's rule: memavail:THRESHOLD[:INTERVAL].
 *
 * What earlyoom and friends do: poll "available memory" on a timer and act
 * when it drops below a fixed threshold.  THRESHOLD is a size ("64M") or a
 * percentage of the domain's total ("10%"); INTERVAL (default 100ms, at
 * least 1ms) is the polling period.  "Available" comes from lib/memview, so
 * it is MemAvailable for a machine and limit - usage + file LRU for a memcg,
 * the same number the sampler and the LMK rule see.
 *
 * Edge-triggered: one "below" notification per crossing down.  The rule
 * re-arms only when available rises above threshold + 5% of the total.
 * Without that band a workload hovering at the threshold (reclaim frees a
 * few MB of cache, the allocator takes it again) would produce an event per
 * tick, which says nothing a daemon would act on twice; 5% is wider than the
 * tick-to-tick jitter of MemAvailable under reclaim and small enough that a
 * real recovery (a victim killed, a workload phase ending) re-arms it.
 * A run that starts below the threshold gets its notification on the first
 * tick: a daemon started then would act at once, too. */
#include "probe.h"
#include "parse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define MEMAVAIL_DEFAULT_NS (100 * 1000000ULL)
#define MEMAVAIL_MIN_NS (1000000ULL)
#define MEMAVAIL_HYST_PCT 5

struct memavail_priv {
	int percent;			/* threshold is a percentage of total */
	double pct;
	uint64_t threshold_bytes;
	uint64_t interval_ns;
	/* Copied at supported()/open(): src points into these. */
	char root[4096];
	char memcg[512];
	struct pnb_memview_src src;
	int below;			/* notified, waiting for the re-arm level */
	uint64_t crossings;
	uint64_t missed;		/* timer expirations we were late for */
};

static int memavail_parse(struct probe *p, const char *args, char *err, size_t errlen)
{
	struct memavail_priv *s = p->priv;
	char buf[PROBE_SPEC_LEN];
	char *f[2];
	int n = probe_split_args(args, buf, sizeof buf, f, 2);
	size_t len;

	if (n == -E2BIG) {
		snprintf(err, errlen, "too many fields (want THRESHOLD[:INTERVAL])");
		return -EINVAL;
	}
	if (n < 1 || !*f[0]) {
		snprintf(err, errlen, "missing threshold (want a size like 64M or a "
			 "percentage like 10%%)");
		return -EINVAL;
	}
	len = strlen(f[0]);
	if (f[0][len - 1] == '%') {
		f[0][len - 1] = 0;
		if (pnb_parse_double(f[0], &s->pct)) {
			snprintf(err, errlen, "bad threshold '%s%%' (want a percentage like 10%%)",
				 f[0]);
			return -EINVAL;
		}
		if (!(s->pct > 0 && s->pct < 100)) {
			snprintf(err, errlen, "threshold '%s%%' out of range (want more than "
				 "0%% and less than 100%%)", f[0]);
			return -EINVAL;
		}
		s->percent = 1;
	} else {
		if (pnb_parse_size_bytes(f[0], &s->threshold_bytes)) {
			snprintf(err, errlen, "bad threshold '%s' (want a size like 64M or a "
				 "percentage like 10%%)", f[0]);
			return -EINVAL;
		}
		if (s->threshold_bytes < 1024) {
			snprintf(err, errlen, "threshold '%s' is below 1k (available memory "
				 "is counted in kB)", f[0]);
			return -EINVAL;
		}
		s->percent = 0;
	}
	s->interval_ns = MEMAVAIL_DEFAULT_NS;
	if (n == 2) {
		if (pnb_parse_duration_ns(f[1], &s->interval_ns)) {
			snprintf(err, errlen, "bad interval '%s' (want a duration with a unit, "
				 "e.g. 100ms)", f[1]);
			return -EINVAL;
		}
		if (s->interval_ns < MEMAVAIL_MIN_NS) {
			snprintf(err, errlen, "interval '%s' is below the 1ms minimum", f[1]);
			return -EINVAL;
		}
	}
	return 0;
}

/* Point src at this run's domain. */
static int setup_src(struct memavail_priv *s, const struct probe_env *env,
		     char *why, size_t whylen)
{
	const char *dir = "";

	if (env->domain == PNB_DOMAIN_MEMCG_V1)
		dir = env->memcg_v1;
	else if (env->domain == PNB_DOMAIN_MEMCG_V2)
		dir = env->memcg_v2;
	if (env->domain != PNB_DOMAIN_SYSTEM && !dir[0]) {
		snprintf(why, whylen, "the run's memory domain is %s but it has no such cgroup",
			 pnb_domain_name(env->domain));
		return -ENOENT;
	}
	snprintf(s->root, sizeof s->root, "%s", env->root ? env->root : "");
	snprintf(s->memcg, sizeof s->memcg, "%s", dir);
	memset(&s->src, 0, sizeof s->src);
	s->src.root = s->root;
	s->src.domain = env->domain;
	s->src.memcg_dir = s->memcg;
	return 0;
}

static int read_view(struct memavail_priv *s, struct pnb_memview *v, char *why, size_t whylen)
{
	int r = pnb_memview_read(&s->src, v);

	if (r && why)
		snprintf(why, whylen, "reading the %s memory view%s%s%s: %s",
			 pnb_domain_name(s->src.domain), s->memcg[0] ? " of " : "", s->memcg,
			 s->root[0] ? " (under the given root)" : "",
			 r == -EINVAL ? "files malformed or keys missing" : strerror(-r));
	return r;
}

static int memavail_supported(const struct probe *p, const struct probe_env *env,
			      char *why, size_t whylen)
{
	struct memavail_priv *s = p->priv;
	struct pnb_memview v;
	int r;

	if ((r = setup_src(s, env, why, whylen)))
		return r;
	if ((r = read_view(s, &v, why, whylen)))
		return r;
	if (v.total_kb == 0) {
		snprintf(why, whylen, "the %s memory view has a total of 0 kB",
			 pnb_domain_name(s->src.domain));
		return -EINVAL;
	}
	return 0;
}

static void memavail_close(struct probe *p, struct jsonl *out)
{
	struct memavail_priv *s = p->priv;

	probe_close_fds(p, out);
	pnb_memview_src_close(&s->src);
}

static int memavail_open(struct probe *p, const struct probe_env *env, struct jsonl *out,
			 char *why, size_t whylen)
{
	struct memavail_priv *s = p->priv;
	struct itimerspec its;
	struct pnb_memview v;
	int fd, r;

	(void)out;
	if ((r = setup_src(s, env, why, whylen)))
		return r;
	s->src.keep_open = 1;
	if ((r = read_view(s, &v, why, whylen))) {
		pnb_memview_src_close(&s->src);
		return r;
	}
	s->below = 0;
	s->crossings = 0;
	s->missed = 0;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(why, whylen, "timerfd_create: %s", strerror(-r));
		return r;
	}
	its.it_interval.tv_sec = (time_t)(s->interval_ns / 1000000000ULL);
	its.it_interval.tv_nsec = (long)(s->interval_ns % 1000000000ULL);
	its.it_value = its.it_interval;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		r = -errno;
		snprintf(why, whylen, "timerfd_settime: %s", strerror(-r));
		close(fd);
		return r;
	}
	p->fd[0] = fd;
	p->events[0] = 0;
	p->nfd = 1;
	return 0;
}

static uint64_t threshold_kb(const struct memavail_priv *s, uint64_t total_kb)
{
	if (s->percent)
		return (uint64_t)((double)total_kb * s->pct / 100.0);
	return s->threshold_bytes / 1024;
}

static int memavail_handle(struct probe *p, int idx, uint64_t now_ns, struct jsonl *out)
{
	struct memavail_priv *s = p->priv;
	struct pnb_memview v;
	uint64_t ticks, thr, rearm;
	ssize_t n;
	json_t *o;
	int r;

	(void)idx;
	n = read(p->fd[0], &ticks, sizeof ticks);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n != sizeof ticks)
		return -EIO;
	if (ticks > 1)
		s->missed += ticks - 1;
	/* A vanished memcg (ENOENT/ENODEV) ends the probe; the recorder says so. */
	if ((r = read_view(s, &v, NULL, 0)))
		return r;
	thr = threshold_kb(s, v.total_kb);
	rearm = thr + v.total_kb * MEMAVAIL_HYST_PCT / 100;
	if (s->below) {
		if (v.available_kb > rearm)
			s->below = 0;
		return 0;
	}
	if (v.available_kb >= thr)
		return 0;
	s->below = 1;
	s->crossings++;
	o = probe_event(p, out, "notify", now_ns);
	jset_str(o, "level", "below");
	jset_int(o, "memavail_kB", (long long)v.available_kb);
	jset_int(o, "threshold_kB", (long long)thr);
	jset_int(o, "rearm_kB", (long long)rearm);
	jset_int(o, "total_kB", (long long)v.total_kb);
	jset_int(o, "free_kB", (long long)v.free_kb);
	jset_str(o, "domain", pnb_domain_name(v.domain));
	jset_int(o, "count", (long long)s->crossings);
	/* Since open(): a late recorder sees the crossing late. */
	jset_int(o, "missed_ticks", (long long)s->missed);
	return jsonl_emit(out, o);
}

static const struct probe_level memavail_levels[] = {
	{ "below", PROBE_CLAIM_THRESHOLD, .help = "available memory crossed THRESHOLD downwards" },
	{ NULL },
};

const struct probe_ops probe_memavail = {
	.name = "memavail",
	.example = "memavail:10%:100ms",
	.synopsis = "memavail:THRESHOLD[:INTERVAL]",
	.summary = "available memory of the run's domain below a size or % of total (earlyoom's rule), polled",
	.help = "Available memory of the run's domain (MemAvailable, or the memcg's limit - "
		"usage + file LRU) below THRESHOLD, a size (64M) or a percentage of the total (10%), "
		"polled every INTERVAL (default 100ms): earlyoom's rule. Re-armed 5% above.",
	.role = PROBE_NOTIFIER,
	.levels = memavail_levels,
	.threshold = PROBE_THRESHOLD_AVAILABLE,
	.parse = memavail_parse,
	.supported = memavail_supported,
	.open = memavail_open,
	.handle = memavail_handle,
	.close = memavail_close,
	.priv_size = sizeof(struct memavail_priv),
};
