/* The Android staging lowmemorykiller in the kernel, as a shrinker:
 *   klmk[:report|kill][:minfree=P,..][:adj=A,..]
 *
 * open() loads pnb_klmk.ko (probes/kmod/pnb_klmk.c) with the spec's mode
 * and tables, then reads its records from /dev/pnb_klmk.  The tables are
 * parsed and checked by lib/lmk.c, the same code and the same defaults
 * (lib/lmk_table.h) as the user-space rule (probes/lmk.c): one table.
 * "report" (the default) records what the driver would do; "kill" also
 * sends SIGKILL, as the driver did.
 *
 * Each record is one decision of the driver's scan callback, timed by the
 * kernel (CLOCK_MONOTONIC at the decision: the event's t_ns), and becomes
 * one "notify" line: level "adj<min_score_adj>" (as lmk's), min_score_adj,
 * level_idx, minfree_kB, other_free_kB, other_file_kB (may be negative:
 * free below the reserve), reserve_kB (the module's totalreserve_pages),
 * victim_pid / victim_adj / victim_rss_kB / victim_comm (pid 0: nobody
 * eligible), killed, kswapd (the shrinker ran in kswapd, else in direct
 * reclaim), scan_calls (scan calls this record stands for), seq, lost
 * (records overwritten before we read them), observed_t_ns (when we read
 * it) and delivery_us (observed minus the kernel's time).  When a record
 * is written is the module's business (pnb_klmk.c: report mode records a
 * changed decision, or the same one HZ later; kill mode every kill). */
#include "probe.h"
#include "clock.h"
#include "kmodload.h"
#include "lmk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct klmk_priv {
	int kill;
	struct pnb_lmk_rule rule;
	struct pnb_kmod mod;
	uint64_t page_kb;
	uint64_t last_seq;
};

static int klmk_parse(struct probe *p, const char *args, char *err, size_t errlen)
{
	struct klmk_priv *s = p->priv;
	char buf[PROBE_SPEC_LEN];
	char *f[4];
	const char *minfree = NULL, *adj = NULL;
	int n = probe_split_args(args, buf, sizeof buf, f, 3), i = 0;

	long psz = sysconf(_SC_PAGESIZE);

	s->page_kb = psz >= 1024 ? (uint64_t)psz / 1024 : 4;
	if (n < 0) {
		snprintf(err, errlen, "too many fields (want [report|kill][:minfree=P,..][:adj=A,..])");
		return -EINVAL;
	}
	s->kill = 0;
	if (i < n && (!strcmp(f[i], "report") || !strcmp(f[i], "kill")))
		s->kill = !strcmp(f[i++], "kill");
	for (; i < n; i++) {
		if (!strncmp(f[i], "minfree=", 8) && !minfree) {
			minfree = f[i] + 8;
		} else if (!strncmp(f[i], "adj=", 4) && !adj) {
			adj = f[i] + 4;
		} else {
			snprintf(err, errlen, "bad field '%s' (want report or kill first, then "
				 "minfree=P,.. and adj=A,.. once each)", f[i]);
			return -EINVAL;
		}
	}
	return pnb_lmk_rule_set(&s->rule, minfree, adj, err, errlen) ? -EINVAL : 0;
}

static int klmk_supported(const struct probe *p, const struct probe_env *env,
			  char *why, size_t whylen)
{
	(void)p;
	return pnb_kmod_supported(env->root, PNB_KLMK_NAME, why, whylen);
}

/* "mode=report minfree=1536,2048 adj=0,1": always the whole table, so a
 * module loaded already can be compared with what we want. */
static void klmk_params(const struct klmk_priv *s, char *buf, size_t len)
{
	size_t l = (size_t)snprintf(buf, len, "mode=%s minfree=", s->kill ? "kill" : "report");
	for (int i = 0; i < s->rule.n && l < len; i++)
		l += (size_t)snprintf(buf + l, len - l, "%s%llu", i ? "," : "",
				      (unsigned long long)s->rule.minfree_pages[i]);
	l += (size_t)snprintf(buf + l, len - l, " adj=");
	for (int i = 0; i < s->rule.n && l < len; i++)
		l += (size_t)snprintf(buf + l, len - l, "%s%d", i ? "," : "", s->rule.adj[i]);
}

static int klmk_open(struct probe *p, const struct probe_env *env, struct jsonl *out,
		     char *why, size_t whylen)
{
	struct klmk_priv *s = p->priv;
	char params[256], dev[512];
	int fd, r;

	s->last_seq = 0;
	s->mod.name = PNB_KLMK_NAME;
	klmk_params(s, params, sizeof params);
	if ((r = pnb_kmod_load(p, &s->mod, env->root, params, out, why, whylen)))
		return r;
	pnb_kmod_dev(env->root, PNB_KLMK_DEV, dev, sizeof dev);
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

/* One record, one line.  Exposed for the probe tests. */
int pnb_klmk_emit(struct probe *p, const struct pnb_klmk_event *ev, uint64_t now_ns,
		  struct jsonl *out)
{
	struct klmk_priv *s = p->priv;
	char level[16], comm[17];
	json_t *o;

	snprintf(level, sizeof level, "adj%d", ev->min_score_adj);
	o = probe_event(p, out, "notify", ev->t_ns);
	jset_str(o, "level", level);
	jset_int(o, "min_score_adj", ev->min_score_adj);
	jset_int(o, "level_idx", ev->level_idx);
	jset_int(o, "minfree_kB", (long long)ev->minfree * (long long)s->page_kb);
	jset_int(o, "other_free_kB", ev->other_free * (long long)s->page_kb);
	jset_int(o, "other_file_kB", ev->other_file * (long long)s->page_kb);
	jset_int(o, "reserve_kB", (long long)(ev->reserve_pages * s->page_kb));
	jset_int(o, "victim_pid", ev->victim_pid);
	if (ev->victim_pid) {
		memcpy(comm, ev->victim_comm, 16);
		comm[16] = 0;
		jset_int(o, "victim_adj", ev->victim_adj);
		jset_int(o, "victim_rss_kB", (long long)(ev->victim_rss * s->page_kb));
		jset_str(o, "victim_comm", comm);
	}
	jset_bool(o, "killed", (int)ev->killed);
	jset_bool(o, "kswapd", (int)ev->kswapd);
	jset_int(o, "reclaim_pid", ev->reclaim_pid);
	jset_int(o, "scan_calls", (long long)ev->scan_calls);
	jset_int(o, "seq", (long long)ev->seq);
	jset_int(o, "lost", s->last_seq && ev->seq > s->last_seq + 1 ?
		 (long long)(ev->seq - s->last_seq - 1) : 0);
	s->last_seq = ev->seq;
	jset_int(o, "observed_t_ns", now_ns > out->t0_ns ? (long long)(now_ns - out->t0_ns) : 0);
	jset_real(o, "delivery_us", now_ns >= ev->t_ns ? (double)(now_ns - ev->t_ns) / 1e3 : 0.0);
	return jsonl_emit(out, o);
}

static int klmk_handle(struct probe *p, int idx, uint64_t now_ns, struct jsonl *out)
{
	struct pnb_klmk_event ev[16];
	ssize_t n;
	int r;

	(void)idx;
	n = read(p->fd[0], ev, sizeof ev);
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
	if (n % (ssize_t)sizeof ev[0])
		return -EIO;
	for (ssize_t i = 0; i < n / (ssize_t)sizeof ev[0]; i++)
		if ((r = pnb_klmk_emit(p, &ev[i], now_ns, out)))
			return r;
	return 0;
}

static void klmk_close(struct probe *p, struct jsonl *out)
{
	struct klmk_priv *s = p->priv;

	probe_close_fds(p, out);
	pnb_kmod_unload(&s->mod);
}

/* The same rule as probes/lmk.c, in the kernel (docs/kmod.md). */
static const struct probe_level klmk_levels[] = {
	{ "adj*", PROBE_CLAIM_THRESHOLD, .by_number_desc = 1,
	  .help = "the shrinker's decision for min_score_adj N" },
	{ NULL },
};

const struct probe_ops probe_klmk = {
	.name = "klmk",
	.example = "klmk:report",
	.synopsis = "klmk[:report|kill][:minfree=P,..][:adj=A,..]",
	.summary = "Android staging lowmemorykiller as a shrinker in our module (pnb_klmk.ko); report or kill",
	.help = "The Android staging lowmemorykiller as a shrinker in pnb_klmk.ko, with the same "
		"tables as lmk: report (default) records what it would kill, kill also kills.",
	.role = PROBE_NOTIFIER,
	.levels = klmk_levels,
	.threshold = PROBE_THRESHOLD_MINFREE,
	.parse = klmk_parse,
	.supported = klmk_supported,
	.open = klmk_open,
	.handle = klmk_handle,
	.close = klmk_close,
	.priv_size = sizeof(struct klmk_priv),
};
