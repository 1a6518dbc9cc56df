/* simple_lmk's trigger (seed 001), from our module:
 *   simplelmk[:AGGRESSION][:kswapd]
 *
 * open() loads pnb_simplelmk.ko (probes/kmod/pnb_simplelmk.c) with
 * aggression=AGGRESSION (1..12, default 1 as CONFIG_ANDROID_SIMPLE_LMK_
 * AGGRESSION's default; simple_lmk allowed 1..3) and, with ":kswapd",
 * direct=0: only kswapd, which is all simple_lmk hooked.  Without it
 * direct reclaim is recorded too, with its own level.
 *
 * Each record is one "notify" line at the kernel's time (t_ns) of the
 * first reclaim pass (shrink_node(), seen through its shrink_slab() call)
 * at a priority at or below AGGRESSION after one above it: level "kswapd"
 * (simple_lmk would wake its killer here) or "direct" (the same moment in
 * direct reclaim, which simple_lmk ignored), with priority, threshold,
 * nid, free_kB, reclaim_pid, seq, lost, observed_t_ns and delivery_us. */
#include "probe.h"
#include "clock.h"
#include "kmodload.h"
#include "parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct sl_priv {
	int aggression;
	int kswapd_only;
	struct pnb_kmod mod;
	uint64_t page_kb;
	uint64_t last_seq;
};

static int sl_parse(struct probe *p, const char *args, char *err, size_t errlen)
{
	struct sl_priv *s = p->priv;
	char buf[PROBE_SPEC_LEN];
	char *f[3];
	int n = probe_split_args(args, buf, sizeof buf, f, 2), i = 0;

	long psz = sysconf(_SC_PAGESIZE);

	s->page_kb = psz >= 1024 ? (uint64_t)psz / 1024 : 4;
	if (n < 0) {
		snprintf(err, errlen, "too many fields (want [AGGRESSION][:kswapd])");
		return -EINVAL;
	}
	s->aggression = 1;
	s->kswapd_only = 0;
	if (i < n && strcmp(f[i], "kswapd")) {
		uint64_t v;
		if (pnb_parse_u64(f[i], &v) || v < 1 || v > 12) {
			snprintf(err, errlen, "bad aggression '%s' (want a reclaim priority 1..12; "
				 "simple_lmk's were 1..3, default 1)", f[i]);
			return -EINVAL;
		}
		s->aggression = (int)v;
		i++;
	}
	if (i < n && !strcmp(f[i], "kswapd")) {
		s->kswapd_only = 1;
		i++;
	}
	if (i < n) {
		snprintf(err, errlen, "bad field '%s' (want [AGGRESSION][:kswapd])", f[i]);
		return -EINVAL;
	}
	return 0;
}

static int sl_supported(const struct probe *p, const struct probe_env *env, char *why, size_t whylen)
{
	(void)p;
	return pnb_kmod_supported(env->root, PNB_SIMPLELMK_NAME, why, whylen);
}

static int sl_open(struct probe *p, const struct probe_env *env, struct jsonl *out,
		   char *why, size_t whylen)
{
	struct sl_priv *s = p->priv;
	char params[96], dev[512];
	int fd, r;

	s->last_seq = 0;
	s->mod.name = PNB_SIMPLELMK_NAME;
	snprintf(params, sizeof params, "aggression=%d direct=%d", s->aggression, !s->kswapd_only);
	if ((r = pnb_kmod_load(p, &s->mod, env->root, params, out, why, whylen)))
		return r;
	pnb_kmod_dev(env->root, PNB_SIMPLELMK_DEV, dev, sizeof dev);
	fd = open(dev, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(why, whylen, "opening %s: %s", dev, strerror(-r));
		pnb_kmod_unload(&s->mod);
		return r;
	}
	p->fd[0] = fd;
	p->events[0] = 0;
	p->nfd = 1;
	return 0;
}

int pnb_simplelmk_emit(struct probe *p, const struct pnb_simplelmk_event *ev, uint64_t now_ns,
		       struct jsonl *out)
{
	struct sl_priv *s = p->priv;
	json_t *o = probe_event(p, out, "notify", ev->t_ns);

	jset_str(o, "level", ev->kswapd ? "kswapd" : "direct");
	jset_int(o, "priority", ev->priority);
	jset_int(o, "threshold", ev->threshold);
	jset_int(o, "nid", ev->nid);
	jset_int(o, "free_kB", (long long)(ev->free_pages * s->page_kb));
	jset_int(o, "reclaim_pid", ev->reclaim_pid);
	jset_int(o, "seq", (long long)ev->seq);
	jset_int(o, "lost", s->last_seq && ev->seq > s->last_seq + 1 ?
		 (long long)(ev->seq - s->last_seq - 1) : 0);
	s->last_seq = ev->seq;
	jset_int(o, "observed_t_ns", now_ns > out->t0_ns ? (long long)(now_ns - out->t0_ns) : 0);
	jset_real(o, "delivery_us", now_ns >= ev->t_ns ? (double)(now_ns - ev->t_ns) / 1e3 : 0.0);
	return jsonl_emit(out, o);
}

static int sl_handle(struct probe *p, int idx, uint64_t now_ns, struct jsonl *out)
{
	struct pnb_simplelmk_event ev[16];
	ssize_t n;
	int r;

	(void)idx;
	n = read(p->fd[0], ev, sizeof ev);
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
	if (n % (ssize_t)sizeof ev[0])
		return -EIO;
	for (ssize_t i = 0; i < n / (ssize_t)sizeof ev[0]; i++)
		if ((r = pnb_simplelmk_emit(p, &ev[i], now_ns, out)))
			return r;
	return 0;
}

static void sl_close(struct probe *p, struct jsonl *out)
{
	struct sl_priv *s = p->priv;

	probe_close_fds(p, out);
	pnb_kmod_unload(&s->mod);
}

/* simple_lmk killed at this moment instead of waiting for the OOM killer:
 * it claims the OOM is near, as vmpressure's priority-driven critical does. */
static const struct probe_level sl_levels[] = {
	{ "kswapd", PROBE_CLAIM_OOM, .help = "kswapd reached priority AGGRESSION: simple_lmk would kill" },
	{ "direct", PROBE_CLAIM_OOM, .help = "the same in direct reclaim, which simple_lmk ignored" },
	{ NULL },
};

const struct probe_ops probe_simplelmk = {
	.name = "simplelmk",
	.example = "simplelmk",
	.synopsis = "simplelmk[:AGGRESSION][:kswapd]",
	.summary = "simple_lmk's trigger: reclaim priority <= AGGRESSION in kswapd (or direct reclaim), from our module",
	.help = "simple_lmk's trigger from pnb_simplelmk.ko: reclaim priority at or below "
		"AGGRESSION (1..12, default 1) in kswapd, and in direct reclaim unless :kswapd.",
	.role = PROBE_NOTIFIER,
	.levels = sl_levels,
	.parse = sl_parse,
	.supported = sl_supported,
	.open = sl_open,
	.handle = sl_handle,
	.close = sl_close,
	.priv_size = sizeof(struct sl_priv),
};
