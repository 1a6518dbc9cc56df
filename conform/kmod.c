/* pnbench's own modules (docs/kmod.md) against their originals' documented
 * behaviour:
 *  - klmk: lowmem_scan picks the highest oom_score_adj at or above
 *    min_score_adj, ties to the larger RSS (lib/lmk.c's
 *    pnb_lmk_select_victim is that rule, from the driver's source), and in
 *    kill mode that task dies by SIGKILL;
 *  - memnotify: wake-one wakes exactly one of N blocked pollers per
 *    notification, FIFO (the 2008 thread: "current wake up order is simply
 *    FIFO by poll(2) called"); wake-all wakes every one; the wake-up
 *    latency distribution per N is in the case's detail.
 * The module comes from the image (/pnbench/kmod); without it every case
 * is skipped with the image's reason. */
#include "conform.h"
#include "memhog.h"
#include "clock.h"
#include "kmodload.h"
#include "lmk.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- klmk ---------------------------------------------------------------- */

/* A child that holds rss_mb of touched anonymous memory at adj. */
static pid_t holder(int adj, unsigned rss_mb, int ready_fd)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	char v[16];
	int fd = open("/proc/self/oom_score_adj", O_WRONLY);
	snprintf(v, sizeof v, "%d", adj);
	if (fd < 0 || write(fd, v, strlen(v)) < 0)
		_exit(3);
	close(fd);
	if (pnb_hog_touch((size_t)rss_mb << 20, NULL))
		_exit(4);
	if (write(ready_fd, "r", 1) != 1)
		_exit(5);
	for (;;)
		pause();
}

static uint64_t rss_pages(pid_t pid)
{
	char p[64], buf[256];
	unsigned long long size = 0, res = 0;

	snprintf(p, sizeof p, "/proc/%d/statm", (int)pid);
	if (pnb_read_file("", p, buf, sizeof buf) > 0)
		sscanf(buf, "%llu %llu", &size, &res);
	return res;
}

/* Read klmk records until one with a victim arrives (or 5 s). */
static int klmk_record(int fd, struct pnb_klmk_event *ev)
{
	uint64_t end = pnb_mono_ns() + 5 * NS_PER_S;

	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (pnb_mono_ns() >= end)
			return -ETIMEDOUT;
		/* drop_caches: shrink_slab() at priority 0 calls every shrinker's
		 * count and scan, ours too. */
		cf_put("/proc/sys/vm/drop_caches", "2");
		if (poll(&pf, 1, 200) > 0 && read(fd, ev, sizeof *ev) == (ssize_t)sizeof *ev &&
		    ev->victim_pid)
			return 0;
	}
}

enum cf_result cf_klmk_documented_victim(struct cf_ctx *c)
{
	/* min_score_adj 100 with a huge threshold (the rule always holds);
	 * two tasks tie on the highest adj, the larger RSS must win; a
	 * bigger task below the highest adj and one below min_score_adj
	 * must not. */
	static const struct { int adj; unsigned mb; } spec[] = {
		{ 300, 24 }, { 600, 8 }, { 600, 16 }, { 50, 40 },
	};
	enum { N = sizeof spec / sizeof spec[0] };
	const char *params = "mode=report minfree=1000000000 adj=100";
	struct pnb_lmk_task t[N];
	struct pnb_klmk_event ev;
	pid_t pids[N] = { 0 };
	char why[512];
	int p[2], already, dev = -1, expect, r = CF_FAIL;

	if (pnb_kmod_supported("", PNB_KLMK_NAME, why, sizeof why))
		return cf_say(c, CF_SKIP, "no pnb_klmk module: %s", why);
	if (pipe(p))
		return cf_say(c, CF_FAIL, "pipe: %s", strerror(errno));
	for (int i = 0; i < N; i++) {
		char b;
		pids[i] = holder(spec[i].adj, spec[i].mb, p[1]);
		if (pids[i] < 0 || read(p[0], &b, 1) != 1) {
			cf_say(c, CF_FAIL, "starting holder %d failed", i);
			goto out;
		}
	}
	for (int i = 0; i < N; i++)
		t[i] = (struct pnb_lmk_task){ .pid = pids[i], .has_mm = 1, .oom_score_adj = spec[i].adj,
					      .rss_pages = rss_pages(pids[i]) };
	expect = pnb_lmk_select_victim(t, N, 100);
	if (expect != 2) {
		cf_say(c, CF_FAIL, "the rule itself picks holder %d, not 2 (rss %llu vs %llu pages)", expect,
		       (unsigned long long)t[1].rss_pages, (unsigned long long)t[2].rss_pages);
		goto out;
	}
	if (pnb_kmod_insert("", PNB_KLMK_NAME, params, &already, why, sizeof why)) {
		cf_say(c, CF_SKIP, "%s", why);
		goto out;
	}
	if ((dev = open(PNB_KLMK_DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		cf_say(c, CF_FAIL, "opening %s: %s", PNB_KLMK_DEV, strerror(errno));
		goto out;
	}
	if (klmk_record(dev, &ev)) {
		cf_say(c, CF_FAIL, "no record with a victim within 5 s of drop_caches");
		goto out;
	}
	json_object_set_new(c->detail, "report_victim", json_integer(ev.victim_pid));
	json_object_set_new(c->detail, "expected", json_integer(pids[expect]));
	json_object_set_new(c->detail, "min_score_adj", json_integer(ev.min_score_adj));
	if (ev.victim_pid != pids[expect] || ev.min_score_adj != 100 || ev.killed) {
		cf_say(c, CF_FAIL, "report mode chose pid %d (adj %d, %llu pages, min_score_adj %d, "
		       "killed %u); the driver's rule picks %d (adj 600, the larger of two)",
		       ev.victim_pid, ev.victim_adj, (unsigned long long)ev.victim_rss,
		       ev.min_score_adj, ev.killed, (int)pids[expect]);
		goto out;
	}
	/* Kill mode: the same choice, and it dies by SIGKILL. */
	close(dev);
	dev = -1;
	pnb_kmod_remove(PNB_KLMK_NAME);
	if (pnb_kmod_insert("", PNB_KLMK_NAME, "mode=kill minfree=1000000000 adj=100", &already,
			    why, sizeof why) ||
	    (dev = open(PNB_KLMK_DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		cf_say(c, CF_FAIL, "reloading in kill mode: %s", dev < 0 && !why[0] ? strerror(errno) : why);
		goto out;
	}
	if (klmk_record(dev, &ev)) {
		cf_say(c, CF_FAIL, "kill mode: no record within 5 s of drop_caches");
		goto out;
	}
	int st = 0;
	if (ev.victim_pid != pids[expect] || !ev.killed ||
	    !cf_hog_wait(pids[expect], 3 * NS_PER_S, &st) || !WIFSIGNALED(st) ||
	    WTERMSIG(st) != SIGKILL) {
		cf_say(c, CF_FAIL, "kill mode: record names pid %d (killed %u), holder %d %s",
		       ev.victim_pid, ev.killed, (int)pids[expect],
		       WIFSIGNALED(st) ? "died by another signal" : "did not die by SIGKILL in 3 s");
		goto out;
	}
	pids[expect] = 0;
	r = cf_say(c, CF_PASS, "report and kill mode chose pid %d: adj 600 over 300 and 50, the "
		   "larger RSS of the two at 600; SIGKILL delivered", ev.victim_pid);
out:
	if (dev >= 0)
		close(dev);
	pnb_kmod_remove(PNB_KLMK_NAME);
	for (int i = 0; i < N; i++)
		if (pids[i] > 0)
			cf_hog_stop(pids[i]);
	close(p[0]);
	close(p[1]);
	return r;
}

/* ---- memnotify ----------------------------------------------------------- */

#define MN_EVENTS 12

/* What a listener reports per wake-up, through one pipe to the parent. */
struct wake {
	int listener;
	uint64_t seq;
	uint64_t t_ns;		/* the kernel's */
	uint64_t read_ns;	/* the listener's, after read() */
};

static void listener(int idx, int out)
{
	int fd = open(PNB_MEMNOTIFY_DEV, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		_exit(3);
	/* Opened: tell the parent, so all are queued before the first event. */
	struct wake w = { .listener = -1 - idx };
	if (write(out, &w, sizeof w) != sizeof w)
		_exit(4);
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		struct pnb_memnotify_event ev;
		if (poll(&pf, 1, -1) < 0)
			continue;
		if (read(fd, &ev, sizeof ev) != sizeof ev)
			continue;
		w = (struct wake){ .listener = idx, .seq = ev.seq, .t_ns = ev.t_ns,
				   .read_ns = pnb_mono_ns() };
		if (write(out, &w, sizeof w) != sizeof w)
			_exit(5);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Read wakes until count reach want (or the deadline); returns how many. */
static int collect(int in, struct wake *w, int have, int want, uint64_t deadline)
{
	while (have < want) {
		struct pollfd pf = { .fd = in, .events = POLLIN };
		int64_t left = (int64_t)(deadline - pnb_mono_ns());
		if (left <= 0 || poll(&pf, 1, (int)(left / 1000000) + 1) <= 0)
			break;
		if (read(in, &w[have], sizeof w[have]) == sizeof w[have])
			have++;
	}
	return have;
}

/* The wake-ups collected: each notification woke all listeners (wake-all)
 * or exactly one (wake-one), and wake-one went round in FIFO order. */
static enum cf_result memnotify_judge(struct cf_ctx *c, const struct wake *w, int nw, int n,
				      int all, uint64_t seq_base, uint64_t *lat, int *count,
				      int *woken)
{
	int nlat = 0;

	/* Per notification (seq), how many listeners it woke. */
	for (int i = 0; i < nw; i++) {
		uint64_t k = w[i].seq - seq_base;
		if (k < MN_EVENTS)
			count[k]++;
		woken[w[i].listener]++;
		lat[nlat++] = w[i].read_ns - w[i].t_ns;
	}
	qsort(lat, (size_t)nlat, sizeof *lat, cmp_u64);
	json_object_set_new(c->detail, "listeners", json_integer(n));
	json_object_set_new(c->detail, "notifications", json_integer(MN_EVENTS));
	json_object_set_new(c->detail, "wakeups", json_integer(nw));
	if (nlat) {
		json_object_set_new(c->detail, "wakeup_us_p50", json_real(lat[nlat / 2] / 1e3));
		json_object_set_new(c->detail, "wakeup_us_p99", json_real(lat[(nlat * 99) / 100] / 1e3));
		json_object_set_new(c->detail, "wakeup_us_max", json_real(lat[nlat - 1] / 1e3));
		json_object_set_new(c->detail, "wakeup_us_min", json_real(lat[0] / 1e3));
	}
	int distinct = 0;
	for (int i = 0; i < n; i++)
		distinct += woken[i] > 0;
	json_object_set_new(c->detail, "distinct_listeners_woken", json_integer(distinct));
	for (int e = 0; e < MN_EVENTS; e++) {
		int want = all ? n : 1;
		if (count[e] != want)
			return cf_say(c, CF_FAIL, "notification %d of %d woke %d of %d listeners, want "
				      "%d (wake-%s)", e + 1, MN_EVENTS, count[e], n, want,
				      all ? "all" : "one");
	}
	/* FIFO: with at most as many notifications as listeners, nobody is
	 * woken twice while another has waited longer. */
	int fifo_want = all ? n : (MN_EVENTS < n ? MN_EVENTS : n);
	if (distinct != fifo_want)
		return cf_say(c, CF_FAIL, "%d notifications reached %d distinct listeners of %d, want "
			      "%d (FIFO order of waiting)", MN_EVENTS, distinct, n, fifo_want);
	return cf_say(c, CF_PASS, "%d notifications, each woke %s (%d distinct); wake-up latency "
		   "p50 %.0f us, max %.0f us", MN_EVENTS, all ? "every listener" : "exactly one listener",
		   distinct, nlat ? lat[nlat / 2] / 1e3 : 0.0, nlat ? lat[nlat - 1] / 1e3 : 0.0);
}

static enum cf_result memnotify_case(struct cf_ctx *c, int all, int n)
{
	char why[512], params[64];
	pid_t *pids = calloc((size_t)n, sizeof *pids);
	struct wake *w = calloc((size_t)n * MN_EVENTS + n, sizeof *w);
	uint64_t *lat = calloc((size_t)n * MN_EVENTS, sizeof *lat);
	int *count = calloc(MN_EVENTS + 1, sizeof *count), *woken = calloc((size_t)n, sizeof *woken);
	int p[2] = { -1, -1 }, inj = -1, already, nw = 0, r = CF_FAIL, loaded = 0;

	if (!pids || !w || !lat || !count || !woken) {
		r = cf_say(c, CF_FAIL, "out of memory");
		goto out;
	}
	if (pnb_kmod_supported("", PNB_MEMNOTIFY_NAME, why, sizeof why)) {
		r = cf_say(c, CF_SKIP, "no pnb_memnotify module: %s", why);
		goto out;
	}
	/* freq_ms=0: injections are not rate-limited (reclaim's are). */
	snprintf(params, sizeof params, "wake=%s freq_ms=0", all ? "all" : "one");
	pnb_kmod_remove(PNB_MEMNOTIFY_NAME);
	if (pnb_kmod_insert("", PNB_MEMNOTIFY_NAME, params, &already, why, sizeof why)) {
		r = cf_say(c, CF_SKIP, "%s", why);
		goto out;
	}
	loaded = 1;
	/* Write-only: an injector, not a listener (pnb_memnotify.c). */
	if (pipe(p) || (inj = open(PNB_MEMNOTIFY_DEV, O_WRONLY | O_CLOEXEC)) < 0) {
		r = cf_say(c, CF_FAIL, "pipe or %s: %s", PNB_MEMNOTIFY_DEV, strerror(errno));
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if ((pids[i] = fork()) == 0) {
			close(p[0]);
			listener(i, p[1]);
		}
		if (pids[i] < 0) {
			r = cf_say(c, CF_FAIL, "fork: %s", strerror(errno));
			goto out;
		}
	}
	/* Every listener open before the first notification. */
	nw = collect(p[0], w, 0, n, pnb_mono_ns() + 30 * NS_PER_S);
	if (nw < n) {
		r = cf_say(c, CF_FAIL, "only %d of %d listeners opened the device in 30 s", nw, n);
		goto out;
	}
	nw = 0;
	/* Let them block in poll(). */
	usleep(200000);
	uint64_t seq_base = 0;
	for (int e = 0; e < MN_EVENTS; e++) {
		int before = nw;
		if (write(inj, "1", 1) != 1) {
			r = cf_say(c, CF_FAIL, "injecting: %s", strerror(errno));
			goto out;
		}
		/* Wake-all: until all n have reported (10 s under TCG for 256
		 * processes); wake-one: one, then 300 ms for a second that must
		 * not come. */
		nw = collect(p[0], w, nw, before + (all ? n : 1), pnb_mono_ns() + 10 * NS_PER_S);
		nw = collect(p[0], w, nw, before + n + 1, pnb_mono_ns() + 300 * NS_PER_MS);
		if (nw > before && !seq_base)
			seq_base = w[before].seq - (uint64_t)e;
		usleep(50000);
	}
	r = memnotify_judge(c, w, nw, n, all, seq_base, lat, count, woken);
out:
	for (int i = 0; pids && i < n; i++)
		if (pids[i] > 0)
			cf_hog_stop(pids[i]);
	if (inj >= 0)
		close(inj);
	if (p[0] >= 0) {
		close(p[0]);
		close(p[1]);
	}
	if (loaded)
		pnb_kmod_remove(PNB_MEMNOTIFY_NAME);
	free(pids);
	free(w);
	free(lat);
	free(count);
	free(woken);
	return r;
}

enum cf_result cf_memnotify_one_1(struct cf_ctx *c) { return memnotify_case(c, 0, 1); }
enum cf_result cf_memnotify_one_16(struct cf_ctx *c) { return memnotify_case(c, 0, 16); }
enum cf_result cf_memnotify_one_256(struct cf_ctx *c) { return memnotify_case(c, 0, 256); }
enum cf_result cf_memnotify_all_1(struct cf_ctx *c) { return memnotify_case(c, 1, 1); }
enum cf_result cf_memnotify_all_16(struct cf_ctx *c) { return memnotify_case(c, 1, 16); }
enum cf_result cf_memnotify_all_256(struct cf_ctx *c) { return memnotify_case(c, 1, 256); }
