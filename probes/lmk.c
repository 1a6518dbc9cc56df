/* The Android low-memory-killer rule as a notification:
 *   lmk:poll[:INTERVAL][:minfree=a,b,c][:adj=x,y,z]      (INTERVAL default 100ms)
 *   lmk:vmpressure[:minfree=a,b,c][:adj=x,y,z]
 *
 * The rule is lib/lmk.h (lowmemorykiller.c's lowmem_scan, v4.9..v4.11):
 * minfree is in pages, adj in oom_score_adj, both lists strictly ascending,
 * 1..6 entries, equal counts; defaults are the driver's.  The inputs are
 * lib/memview.h's lmk_free_kb / lmk_file_kb for the run's domain (the
 * machine, or the workload's memcg), converted to pages.
 *
 * When it is evaluated:
 *  - poll: on a CLOCK_MONOTONIC timerfd (missed ticks collapse into one
 *    evaluation);
 *  - vmpressure: on each vmpressure "low" event (which is also signalled for
 *    medium and critical) of the run's v1 memcg, or of the v1 root when the
 *    run has none — the same memcg the vmpressure probe listens on, as
 *    ulmkd's cgroup backend did (seed 000).  The listener is registered
 *    without a mode suffix, so it works on every kernel since 3.10.
 * The driver ran on every shrinker call and killed each time; this probe
 * kills nothing.  Edge rule: it emits one "notify" (level "adj<N>") when
 * the rule's level becomes more severe than the one it last saw — from no
 * level to any level, or to a level with a lower index (lower
 * min_score_adj).  Staying at a level, or easing off, emits nothing, but
 * it is remembered, so falling back into a severe level later is a new
 * event.  There is no "cleared" event: the sampler shows the recovery.
 *
 * Notify keys: level "adj<min_score_adj>", min_score_adj, level_idx,
 * minfree_kB (the threshold crossed), other_free_kB, other_file_kB, domain,
 * and for the vmpressure trigger "count" (the eventfd counter). */
#include "probe.h"
#include "cgroupfs.h"
#include "clock.h"
#include "lmk.h"
#include "memview.h"
#include "parse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define LMK_DEFAULT_INTERVAL_NS (100 * NS_PER_MS)

struct lmk_priv {
	int on_vmpressure;
	uint64_t interval_ns;
	struct pnb_lmk_rule rule;
	struct pnb_memview_src src;
	char memcg_dir[512];	/* backs src.memcg_dir */
	char cgdir[4096];	/* vmpressure: root-prefixed v1 memcg directory */
	uint64_t page_kb;
	int cur_idx;		/* level at the last evaluation, -1: none */
	uint64_t evals;
};

static int lmk_parse(struct probe *p, const char *args, char *err, size_t errlen)
{
	struct lmk_priv *s = p->priv;
	char buf[PROBE_SPEC_LEN];
	char *f[4];
	const char *minfree = NULL, *adj = NULL;
	int n = probe_split_args(args, buf, sizeof buf, f, 4);
	int i = 1;

	if (n == -E2BIG) {
		snprintf(err, errlen, "too many fields (want poll[:INTERVAL][:minfree=..][:adj=..] "
			 "or vmpressure[:minfree=..][:adj=..])");
		return -EINVAL;
	}
	if (n < 1 || !*f[0]) {
		snprintf(err, errlen, "missing trigger (want poll or vmpressure)");
		return -EINVAL;
	}
	if (strcmp(f[0], "poll") == 0)
		s->on_vmpressure = 0;
	else if (strcmp(f[0], "vmpressure") == 0)
		s->on_vmpressure = 1;
	else {
		snprintf(err, errlen, "bad trigger '%s' (want poll or vmpressure)", f[0]);
		return -EINVAL;
	}
	s->interval_ns = LMK_DEFAULT_INTERVAL_NS;
	for (; i < n; i++) {
		if (strncmp(f[i], "minfree=", 8) == 0) {
			if (minfree) {
				snprintf(err, errlen, "minfree= given twice");
				return -EINVAL;
			}
			minfree = f[i] + 8;
		} else if (strncmp(f[i], "adj=", 4) == 0) {
			if (adj) {
				snprintf(err, errlen, "adj= given twice");
				return -EINVAL;
			}
			adj = f[i] + 4;
		} else if (!s->on_vmpressure && i == 1) {
			uint64_t ns;
			if (pnb_parse_duration_ns(f[i], &ns) || ns < NS_PER_MS ||
			    ns > 3600 * 1000 * NS_PER_MS) {
				snprintf(err, errlen, "bad interval '%s' (want a duration from 1ms "
					 "to 1h, e.g. 100ms)", f[i]);
				return -EINVAL;
			}
			s->interval_ns = ns;
		} else {
			snprintf(err, errlen, "bad field '%s' (want minfree=a,b,.. or adj=x,y,..%s)",
				 f[i], s->on_vmpressure ? "; vmpressure takes no interval" :
				 "; the interval goes right after poll");
			return -EINVAL;
		}
	}
	return pnb_lmk_rule_set(&s->rule, minfree, adj, err, errlen) ? -EINVAL : 0;
}

static void src_init(struct lmk_priv *s, const struct probe_env *env)
{
	memset(&s->src, 0, sizeof s->src);
	s->src.root = env->root;
	s->src.domain = env->domain;
	snprintf(s->memcg_dir, sizeof s->memcg_dir, "%s",
		 env->domain == PNB_DOMAIN_MEMCG_V1 ? env->memcg_v1 :
		 env->domain == PNB_DOMAIN_MEMCG_V2 ? env->memcg_v2 : "");
	s->src.memcg_dir = s->memcg_dir;
}

static int view_error(int r, const struct probe_env *env, char *why, size_t whylen)
{
	snprintf(why, whylen, "reading the %s memory view%s%s: %s%s",
		 pnb_domain_name(env->domain),
		 env->domain == PNB_DOMAIN_SYSTEM ? "" : " of ",
		 env->domain == PNB_DOMAIN_MEMCG_V1 ? env->memcg_v1 :
		 env->domain == PNB_DOMAIN_MEMCG_V2 ? env->memcg_v2 : "",
		 strerror(-r), r == -EINVAL ? " (a file is not in the expected format)" : "");
	return r;
}

static int lmk_supported(const struct probe *p, const struct probe_env *env,
			 char *why, size_t whylen)
{
	const struct lmk_priv *s = p->priv;
	struct lmk_priv tmp;
	struct pnb_memview v;
	char dir[4096];
	int r;

	/* A throwaway copy: supported() must not touch the probe's state, and
	 * the first memview read caches totalreserve in its src. */
	memset(&tmp, 0, sizeof tmp);
	src_init(&tmp, env);
	if ((r = pnb_memview_read(&tmp.src, &v)))
		return view_error(r, env, why, whylen);
	if (s->on_vmpressure) {
		r = pnb_vmpressure_cgdir(env->root, env->memcg_v1,
					 env->domain == PNB_DOMAIN_SYSTEM, dir, sizeof dir, why, whylen);
		if (!r)
			r = pnb_vmpressure_supported(env->root, dir, why, whylen);
		if (r) {
			char inner[PROBE_ERR_LEN];
			snprintf(inner, sizeof inner, "%s", why);
			snprintf(why, whylen, "lmk:vmpressure needs vmpressure: %s", inner);
			return r;
		}
	}
	return 0;
}

static void lmk_close(struct probe *p, struct jsonl *out)
{
	struct lmk_priv *s = p->priv;

	probe_close_fds(p, out);
	pnb_memview_src_close(&s->src);
}

static int lmk_open(struct probe *p, const struct probe_env *env, struct jsonl *out,
		    char *why, size_t whylen)
{
	struct lmk_priv *s = p->priv;
	struct pnb_memview v;
	long psz = sysconf(_SC_PAGESIZE);
	int fd, r;

	(void)out;
	src_init(s, env);
	s->src.keep_open = 1;
	if ((r = pnb_memview_read(&s->src, &v))) {
		pnb_memview_src_close(&s->src);
		return view_error(r, env, why, whylen);
	}
	s->page_kb = psz >= 1024 ? (uint64_t)psz / 1024 : 4;
	s->cur_idx = -1;
	s->evals = 0;
	if (s->on_vmpressure) {
		r = pnb_vmpressure_cgdir(env->root, env->memcg_v1,
					 env->domain == PNB_DOMAIN_SYSTEM, s->cgdir, sizeof s->cgdir,
					 why, whylen);
		if (r)
			return r;
		r = pnb_vmpressure_register(s->cgdir, "low", &fd, why, whylen);
		if (r)
			return r;
	} else {
		struct itimerspec its = {
			.it_interval = { .tv_sec = s->interval_ns / NS_PER_S,
					 .tv_nsec = s->interval_ns % NS_PER_S },
		};
		its.it_value = its.it_interval;
		fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (fd < 0) {
			r = -errno;
			snprintf(why, whylen, "timerfd_create: %s", strerror(-r));
			return r;
		}
		if (timerfd_settime(fd, 0, &its, NULL) < 0) {
			r = -errno;
			snprintf(why, whylen, "timerfd_settime: %s", strerror(-r));
			close(fd);
			return r;
		}
	}
	p->fd[0] = fd;
	p->events[0] = 0;
	p->nfd = 1;
	return 0;
}

static int evaluate(struct probe *p, uint64_t now_ns, struct jsonl *out, long long count)
{
	struct lmk_priv *s = p->priv;
	struct pnb_memview v;
	int idx, adj, prev, r;
	json_t *o;
	char level[16];

	if ((r = pnb_memview_read(&s->src, &v)))
		return r;
	s->evals++;
	adj = pnb_lmk_evaluate(&s->rule, v.lmk_free_kb / s->page_kb, v.lmk_file_kb / s->page_kb,
			       &idx);
	prev = s->cur_idx;
	s->cur_idx = idx;
	if (idx < 0 || (prev >= 0 && idx >= prev))
		return 0;
	snprintf(level, sizeof level, "adj%d", adj);
	o = probe_event(p, out, "notify", now_ns);
	jset_str(o, "level", level);
	jset_int(o, "min_score_adj", adj);
	jset_int(o, "level_idx", idx);
	jset_int(o, "minfree_kB", (long long)(s->rule.minfree_pages[idx] * s->page_kb));
	jset_int(o, "other_free_kB", (long long)v.lmk_free_kb);
	jset_int(o, "other_file_kB", (long long)v.lmk_file_kb);
	jset_str(o, "domain", pnb_domain_name(v.domain));
	if (count >= 0)
		jset_int(o, "count", count);
	return jsonl_emit(out, o);
}

static int lmk_handle(struct probe *p, int idx, uint64_t now_ns, struct jsonl *out)
{
	struct lmk_priv *s = p->priv;
	uint64_t c;
	ssize_t n;

	(void)idx;
	n = read(p->fd[0], &c, sizeof c);
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
	if (n != sizeof c)
		return -EIO;
	if (s->on_vmpressure) {
		char f[4200];
		snprintf(f, sizeof f, "%s/memory.pressure_level", s->cgdir);
		if (access(f, F_OK) != 0 && errno == ENOENT)
			return -ENODEV;	/* the cgroup's removal signal */
		return evaluate(p, now_ns, out, (long long)c);
	}
	return evaluate(p, now_ns, out, -1);
}

static const struct probe_level lmk_levels[] = {
	{ "adj*", PROBE_CLAIM_THRESHOLD, .by_number_desc = 1,
	  .help = "free memory and page cache both below the minfree of min_score_adj N" },
	{ NULL },
};

const struct probe_ops probe_lmk = {
	.name = "lmk",
	.example = "lmk:poll:100ms",
	.synopsis = "lmk:poll[:INTERVAL][:minfree=P,..][:adj=A,..] | lmk:vmpressure[:minfree=P,..][:adj=A,..]",
	.summary = "Android lowmemorykiller rule (minfree pages/adj), evaluated on a timer or on vmpressure low; kills nothing",
	.help = "The Android lowmemorykiller rule in user space (minfree in pages, adj in "
		"oom_score_adj, the driver's defaults), evaluated every INTERVAL (default 100ms) or on "
		"each vmpressure low event; one notification when the level gets more severe.",
	.role = PROBE_NOTIFIER,
	.levels = lmk_levels,
	.signals_field = "count",
	.signals_if = "vmpressure",
	.threshold = PROBE_THRESHOLD_MINFREE,
	.parse = lmk_parse,
	.supported = lmk_supported,
	.open = lmk_open,
	.handle = lmk_handle,
	.close = lmk_close,
	.priv_size = sizeof(struct lmk_priv),
};
