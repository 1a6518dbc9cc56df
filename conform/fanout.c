/* Multi-listener wake-up for one pressure event (seed 003, /dev/mem_notify:
 * "If you have two processes each waiting on mem_notify is it not possible
 * that one of them will keep being the one woken up and the other will
 * remain stuck?").  N listeners, each its own thread blocked in poll(),
 * one event: is every listener woken by it, exactly once, and how far
 * apart are their wake-ups (CLOCK_MONOTONIC at each thread's return from
 * poll)? */
#include "conform.h"
#include "memcg.h"
#include "cgroupfs.h"
#include "clock.h"
#include "jsonl.h"
#include "listen.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FCG CF_V1 "/cf-fan"

/* PSI: one trigger fires at most once per window ("Notifications to the
 * userspace are rate-limited to one per tracking window", psi.rst).  With
 * a 2 s window and listening until 1.5 s after the first wake-up, every
 * trigger has exactly one event to give: none means it was not woken,
 * two means the limit broke. */
#define PSI_SPEC "some 10000 2000000"
#define PSI_QUIET_NS (1500 * NS_PER_MS)

/* vmpressure has no rate limit: it signals every listener each time
 * reclaim has scanned vmpressure_win (512) pages (mm/vmpressure.c).  One
 * event is made by reclaim that scans at least 512 and fewer than 1024
 * pages: shrinking the limit of a memcg holding only clean page cache by
 * 640 pages (2.5 MiB), with its one process paused. */
#define VMP_SHRINK (640ULL * 4096)
#define VMP_QUIET_NS NS_PER_S

static uint64_t usage(void)
{
	char b[64];
	if (pnb_read_file("", FCG "/memory.usage_in_bytes", b, sizeof b) <= 0)
		return 0;
	return strtoull(b, NULL, 10);
}

static int fire_hog(void *p)
{
	const struct cf_hog *h = ((void **)p)[0];
	pid_t *pid = ((void **)p)[1];
	*pid = cf_hog_start(h);
	return *pid < 0 ? (int)*pid : 0;
}

static int fire_shrink(void *p)
{
	uint64_t u = usage();
	(void)p;
	if (u < 2 * VMP_SHRINK)
		return -ENOSPC;
	return pnb_memcg_set_limit(FCG, (u - VMP_SHRINK) & ~4095ULL);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* After the episode: every listener woken, each by exactly one event
 * (PSI) or all by the same events (vmpressure); the detail records the
 * wake-up spread after the first listener's. */
static enum cf_result fanout_judge(struct cf_ctx *c, const struct cf_waiter *w, int n, int psi,
				   uint64_t t0)
{
	const char *what = psi ? "PSI triggers" : "vmpressure listeners";

	uint64_t *off = calloc((size_t)n, sizeof *off), first = UINT64_MAX, last = 0;
	json_t *wake = json_array(), *evs = json_array();
	int woken = 0, once = 0;
	uint64_t ev_min = UINT64_MAX, ev_max = 0;
	for (int i = 0; i < n; i++) {
		json_array_append_new(wake, json_integer(w[i].wake_ns ? (long long)(w[i].wake_ns - t0) : -1));
		json_array_append_new(evs, json_integer((long long)w[i].events));
		ev_min = w[i].events < ev_min ? w[i].events : ev_min;
		ev_max = w[i].events > ev_max ? w[i].events : ev_max;
		once += w[i].events == 1;
		if (!w[i].wake_ns)
			continue;
		woken++;
		first = w[i].wake_ns < first ? w[i].wake_ns : first;
		last = w[i].wake_ns > last ? w[i].wake_ns : last;
	}
	/* Spread: each listener's wake-up after the first listener's. */
	int k = 0;
	for (int i = 0; off && i < n; i++)
		if (w[i].wake_ns)
			off[k++] = w[i].wake_ns - first;
	if (off && k)
		qsort(off, (size_t)k, sizeof *off, cmp_u64);
	uint64_t p50 = off && k ? off[(k - 1) / 2] : 0, mx = off && k ? off[k - 1] : 0;
	free(off);
	jset_int(c->detail, "listeners", n);
	jset_str(c->detail, "episode", psi ? "thrash start, trigger " PSI_SPEC
				     : "memory.limit_in_bytes shrunk 640 pages below 24 MiB of clean cache");
	jset_int(c->detail, "woken", woken);
	jset_int(c->detail, "exactly_one_event", once);
	jset_int(c->detail, "first_ns", woken ? (long long)(first - t0) : -1);
	jset_int(c->detail, "last_ns", woken ? (long long)(last - t0) : -1);
	jset_int(c->detail, "spread_ns", woken ? (long long)(last - first) : -1);
	jset_int(c->detail, "spread_p50_ns", woken ? (long long)p50 : -1);
	jset_int(c->detail, "spread_max_ns", woken ? (long long)mx : -1);
	/* Per listener, in arming order: wake-up since the episode started
	 * (-1: never) and events heard. */
	json_object_set_new(c->detail, "wake_ns", wake);
	json_object_set_new(c->detail, "events", evs);
	if (!woken)
		return cf_say(c, CF_FAIL, "none of %d %s woken within %d s", n, what, psi ? 8 : 5);
	else if (woken < n)
		return cf_say(c, CF_FAIL, "%d of %d %s woken by the episode (first %.3f s after it started)",
			     woken, n, what, (first - t0) / 1e9);
	else if (psi && once < n)
		return cf_say(c, CF_FAIL, "%d of %d PSI triggers heard other than exactly one event within 1.5 s "
			     "of the first wake-up (window 2 s; events per trigger %llu..%llu)", n - once, n,
			     (unsigned long long)ev_min, (unsigned long long)ev_max);
	else if (!psi && ev_min != ev_max)
		return cf_say(c, CF_FAIL, "the %d vmpressure listeners heard different numbers of events from "
			     "one reclaim (%llu..%llu): some were skipped", n, (unsigned long long)ev_min,
			     (unsigned long long)ev_max);
	else if (!psi && ev_max != 1)
		return cf_say(c, CF_SKIP, "the reclaim made %llu vmpressure events, not one: the wake-ups "
			     "cannot be tied to one event (all %d listeners heard all of them)",
			     (unsigned long long)ev_max, n);
	return cf_say(c, CF_PASS, "all %d woken once by one event; first %.3f s after the episode "
			     "started; wake-up spread after the first: p50 %.3f ms, max %.3f ms", n,
			     (first - t0) / 1e9, p50 / 1e6, mx / 1e6);
}

static enum cf_result episode(struct cf_ctx *c, int n, int psi)
{
	struct cf_waiter *w = calloc((size_t)n, sizeof *w);
	char why[256];
	int e, armed = 0;
	pid_t pid = 0;
	enum cf_result res;

	if (!w)
		return cf_say(c, CF_FAIL, "out of memory");
	if (!cf_have_data()) {
		res = cf_say(c, CF_SKIP, "no data file %s (the guest needs its data disk)", CF_DATA);
		goto out;
	}
	if ((e = pnb_memcg_create(FCG, 1)) || (psi && (e = pnb_memcg_set_limit(FCG, 32 << 20)))) {
		res = cf_say(c, CF_SKIP, "unsupported: v1 memcg %s: %s", FCG, strerror(-e));
		goto out;
	}
	struct cf_hog fill = { .kind = CF_HOG_ALLOC, .cache_bytes = 24 << 20,
			       .procs = { FCG "/cgroup.procs" } };
	if (!psi) {
		/* The page cache to reclaim from, charged to FCG, its reader
		 * paused in pause() (no anon to speak of, nothing more to
		 * charge) before the listeners are armed. */
		pid = cf_hog_start(&fill);
		uint64_t end = pnb_mono_ns() + 20 * NS_PER_S, last = 0, u;
		while (pnb_mono_ns() < end && ((u = usage()) < (24ULL << 20) || u != last)) {
			last = u;
			usleep(300000);
		}
		if (usage() < (24ULL << 20)) {
			res = cf_say(c, CF_SKIP, "the fill reached only %llu bytes in %s in 20 s",
				     (unsigned long long)usage(), FCG);
			goto out;
		}
	}
	for (; armed < n; armed++) {
		w[armed].psi = psi;
		if (psi) {
			if ((e = pnb_psi_arm("/proc/pressure/memory", PSI_SPEC, &w[armed].fd, why,
					     sizeof why))) {
				res = cf_say(c, e == -ENOENT ? CF_SKIP : CF_FAIL, "PSI trigger %d of %d: %s",
					     armed + 1, n, why);
				goto out;
			}
		} else if ((e = pnb_vmpressure_register(FCG, "low", &w[armed].fd, why, sizeof why))) {
			res = cf_say(c, e == -EOPNOTSUPP || e == -ENOENT ? CF_SKIP : CF_FAIL,
				     "%slistener %d of %d: %s", e == -EOPNOTSUPP ? "unsupported: " : "",
				     armed + 1, n, why);
			goto out;
		}
	}
	struct cf_hog thrash = { .kind = CF_HOG_THRASH, .anon_bytes = 8 << 20, .procs = { FCG "/cgroup.procs" } };
	void *hog_arg[2] = { &thrash, &pid };
	uint64_t t0 = 0;
	e = psi ? cf_fanout(w, n, fire_hog, hog_arg, 8 * NS_PER_S, PSI_QUIET_NS, &t0, why, sizeof why)
		: cf_fanout(w, n, fire_shrink, NULL, 5 * NS_PER_S, VMP_QUIET_NS, &t0, why, sizeof why);
	if (e) {
		res = cf_say(c, e == -ENOSPC ? CF_SKIP : CF_FAIL, "%s", why);
		goto out;
	}

	res = fanout_judge(c, w, n, psi, t0);
out:
	if (pid > 0)
		cf_hog_stop(pid);
	for (int i = 0; i < armed; i++)
		close(w[i].fd);
	free(w);
	pnb_memcg_remove(FCG, 0, 100, 20);
	return res;
}

enum cf_result cf_fanout_vmpressure_1(struct cf_ctx *c) { return episode(c, 1, 0); }
enum cf_result cf_fanout_vmpressure_16(struct cf_ctx *c) { return episode(c, 16, 0); }
enum cf_result cf_fanout_vmpressure_256(struct cf_ctx *c) { return episode(c, 256, 0); }
enum cf_result cf_fanout_psi_1(struct cf_ctx *c) { return episode(c, 1, 1); }
enum cf_result cf_fanout_psi_16(struct cf_ctx *c) { return episode(c, 16, 1); }
enum cf_result cf_fanout_psi_256(struct cf_ctx *c) { return episode(c, 256, 1); }
