/* /dev/mem_notify of seed 003 (2008), from our module:
 *   memnotify[:one|all][:n=N][:freq=DUR]
 *
 * open() loads pnb_memnotify.ko (probes/kmod/pnb_memnotify.c) with
 * wake=one|all (default one, the patch's poll_wait_exclusive) and
 * freq_ms (MEM_NOTIFY_FREQ, default 200ms), then opens the device N times
 * (default 1, up to 256): N listeners, each polled by the recorder, so the
 * thundering herd of wake-all and the fairness of wake-one show in one run.
 *
 * Each wake-up of a listener is one "notify" line, level "pressure", at
 * the kernel's decision time (t_ns), with: listener (which fd), seq (the
 * notification's number: listeners woken by the same one share it),
 * rank (order of delivery within it), delivered (listeners it reached),
 * listeners (open at that moment), missed (notifications this listener
 * was not given since its last), nr_deactivated, priority, kswapd,
 * injected, observed_t_ns and wakeup_us (observed minus the kernel's
 * time: the wake-up latency).
 * At close a "kmod" line (what "counters") gives the module's counters:
 * shrink_active_list() calls seen on the anon and file LRUs and the
 * notifications made, and lru_gen (MGLRU on: there is no
 * shrink_active_list() at all) -- why a silent device was silent. */
#include "probe.h"
#include "clock.h"
#include "kmodload.h"
#include "parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MN_MAX_LISTENERS 256

struct mn_priv {
	int wake_all;
	int listeners;
	unsigned freq_ms;
	struct pnb_kmod mod;
	char root[512];
};

static int mn_parse(struct probe *p, const char *args, char *err, size_t errlen)
{
	struct mn_priv *s = p->priv;
	char buf[PROBE_SPEC_LEN];
	char *f[4];
	int n = probe_split_args(args, buf, sizeof buf, f, 3), i = 0;
	int seen_n = 0, seen_f = 0;

	if (n < 0) {
		snprintf(err, errlen, "too many fields (want [one|all][:n=N][:freq=DUR])");
		return -EINVAL;
	}
	s->wake_all = 0;
	s->listeners = 1;
	s->freq_ms = 200;
	if (i < n && (!strcmp(f[i], "one") || !strcmp(f[i], "all")))
		s->wake_all = !strcmp(f[i++], "all");
	for (; i < n; i++) {
		uint64_t v;
		if (!strncmp(f[i], "n=", 2) && !seen_n) {
			if (pnb_parse_u64(f[i] + 2, &v) || v < 1 || v > MN_MAX_LISTENERS) {
				snprintf(err, errlen, "bad '%s' (want n=1..%d listeners)", f[i],
					 MN_MAX_LISTENERS);
				return -EINVAL;
			}
			s->listeners = (int)v;
			seen_n = 1;
		} else if (!strncmp(f[i], "freq=", 5) && !seen_f) {
			if (!strcmp(f[i] + 5, "0"))
				v = 0;
			else if (pnb_parse_duration_ns(f[i] + 5, &v) || v > 60 * NS_PER_S ||
			    (v && v < NS_PER_MS)) {
				snprintf(err, errlen, "bad '%s' (want freq=DURATION from 1ms to 60s, "
					 "or 0 for no rate limit)", f[i]);
				return -EINVAL;
			}
			s->freq_ms = (unsigned)(v / NS_PER_MS);
			seen_f = 1;
		} else {
			snprintf(err, errlen, "bad field '%s' (want one or all first, then n=N and "
				 "freq=DUR once each)", f[i]);
			return -EINVAL;
		}
	}
	return 0;
}

static int mn_supported(const struct probe *p, const struct probe_env *env, char *why, size_t whylen)
{
	(void)p;
	return pnb_kmod_supported(env->root, PNB_MEMNOTIFY_NAME, why, whylen);
}

static int mn_open(struct probe *p, const struct probe_env *env, struct jsonl *out,
		   char *why, size_t whylen)
{
	struct mn_priv *s = p->priv;
	char params[128], dev[512];
	int r;

	snprintf(s->root, sizeof s->root, "%s", env->root);
	s->mod.name = PNB_MEMNOTIFY_NAME;
	snprintf(params, sizeof params, "wake=%s freq_ms=%u", s->wake_all ? "all" : "one", s->freq_ms);
	if ((r = pnb_kmod_load(p, &s->mod, env->root, params, out, why, whylen)))
		return r;
	pnb_kmod_dev(env->root, PNB_MEMNOTIFY_DEV, dev, sizeof dev);
	for (int i = 0; i < s->listeners; i++) {
		int fd = open(dev, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			snprintf(why, whylen, "opening %s (listener %d of %d): %s", dev, i + 1,
				 s->listeners, strerror(-r));
			probe_close_fds(p, out);
			pnb_kmod_unload(&s->mod);
			return r;
		}
		p->fd[i] = fd;
		p->events[i] = 0;
		p->nfd = i + 1;
	}
	return 0;
}

int pnb_memnotify_emit(struct probe *p, int idx, const struct pnb_memnotify_event *ev,
		       uint64_t now_ns, struct jsonl *out)
{
	json_t *o = probe_event(p, out, "notify", ev->t_ns);

	(void)p;
	jset_str(o, "level", "pressure");
	jset_int(o, "listener", idx);
	jset_int(o, "seq", (long long)ev->seq);
	jset_int(o, "rank", ev->rank);
	jset_int(o, "delivered", ev->delivered);
	jset_int(o, "listeners", ev->listeners);
	jset_int(o, "missed", (long long)ev->missed);
	jset_int(o, "nr_deactivated", (long long)ev->nr_deactivated);
	jset_int(o, "priority", ev->priority);
	jset_bool(o, "kswapd", (int)ev->kswapd);
	jset_bool(o, "injected", (int)ev->injected);
	jset_int(o, "observed_t_ns", now_ns > out->t0_ns ? (long long)(now_ns - out->t0_ns) : 0);
	jset_real(o, "wakeup_us", now_ns >= ev->t_ns ? (double)(now_ns - ev->t_ns) / 1e3 : 0.0);
	return jsonl_emit(out, o);
}

static int mn_handle(struct probe *p, int idx, uint64_t now_ns, struct jsonl *out)
{
	struct pnb_memnotify_event ev;
	ssize_t n = read(p->fd[idx], &ev, sizeof ev);

	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
	if (n != (ssize_t)sizeof ev)
		return -EIO;
	return pnb_memnotify_emit(p, idx, &ev, now_ns, out);
}

static void mn_close(struct probe *p, struct jsonl *out)
{
	struct mn_priv *s = p->priv;
	static const char *const counters[] = { "anon_deactivate_calls", "file_deactivate_calls",
						"notifications" };
	char v[64];
	json_t *o = probe_event(p, out, "kmod", pnb_mono_ns());

	jset_str(o, "module", PNB_MEMNOTIFY_NAME);
	jset_str(o, "what", "counters");
	for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
		if (!pnb_kmod_param(s->root, PNB_MEMNOTIFY_NAME, counters[i], v, sizeof v))
			jset_int(o, counters[i], strtoll(v, NULL, 10));
	if (pnb_read_file(s->root, "/sys/kernel/mm/lru_gen/enabled", v, sizeof v) > 0) {
		v[strcspn(v, "\n")] = 0;
		jset_str(o, "lru_gen", v);
	}
	jsonl_emit(out, o);
	probe_close_fds(p, out);
	pnb_kmod_unload(&s->mod);
}

/* 2008: anonymous pages are being deactivated, i.e. reclaim has reached
 * the anon LRU. */
static const struct probe_level mn_levels[] = {
	{ "pressure", PROBE_CLAIM_RECLAIM, .help = "reclaim deactivated anonymous pages" },
	{ NULL },
};

const struct probe_ops probe_memnotify = {
	.name = "memnotify",
	.example = "memnotify:one",
	.synopsis = "memnotify[:one|all][:n=N][:freq=DUR]",
	.summary = "/dev/mem_notify (2008) in our module (pnb_memnotify.ko): anon deactivation, wake-one or wake-all",
	.help = "/dev/mem_notify (2008) from pnb_memnotify.ko: wake one (default) or all of N "
		"listeners (default 1, up to 256) at most every freq (default 200ms).",
	.role = PROBE_NOTIFIER,
	.levels = mn_levels,
	.parse = mn_parse,
	.supported = mn_supported,
	.open = mn_open,
	.handle = mn_handle,
	.close = mn_close,
	.priv_size = sizeof(struct mn_priv),
};
