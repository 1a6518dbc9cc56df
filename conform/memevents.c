/* cgroup v2 memory.events cases (Documentation/admin-guide/cgroup-v2.rst).
 * They run last, after main.c gave the memory controller to cgroup2. */
#include "conform.h"
#include "memcg.h"
#include "clock.h"
#include "jsonl.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t ev(const char *dir, const char *key)
{
	char p[300];
	struct pnb_kv kv;
	snprintf(p, sizeof p, "%s/memory.events", dir);
	return pnb_read_kv("", p, &kv) ? 0 : pnb_kv_or(&kv, key, 0);
}

enum cf_result cf_memevents_high(struct cf_ctx *c)
{
	const char *G = CF_V2 "/cf-high";
	int e, st;

	if (!cf_v2_memory)
		return cf_say(c, CF_SKIP, "unsupported: %s", cf_v2_why);
	if (!cf_have_data())
		return cf_say(c, CF_SKIP, "no data file %s (the guest needs its data disk)", CF_DATA);
	if ((e = pnb_memcg_create(G, 1)) || (e = cf_put(CF_V2 "/cf-high/memory.high", "16M")))
		return cf_say(c, CF_SKIP, "unsupported: cgroup2 %s memory.high: %s", G, strerror(-e));
	int fd = open(CF_V2 "/cf-high/memory.events", O_RDONLY | O_CLOEXEC);
	char buf[512];
	if (fd < 0 || pnb_pread_text(fd, buf, sizeof buf) < 0) {
		pnb_memcg_remove(G, 0, 100, 20);
		return cf_say(c, CF_FAIL, "cannot read memory.events: %s", strerror(errno));
	}
	uint64_t h0 = ev(G, "high"), t0 = pnb_mono_ns(), woke = 0;
	struct cf_hog h = { .kind = CF_HOG_STREAM, .passes = 1, .procs = { CF_V2 "/cf-high/cgroup.procs" } };
	pid_t pid = cf_hog_start(&h);
	struct pollfd pf = { .fd = fd, .events = POLLPRI };
	if (poll(&pf, 1, 20000) > 0 && (pf.revents & (POLLPRI | POLLERR)))
		woke = pnb_mono_ns() - t0;
	if (cf_hog_wait(pid, 30 * NS_PER_S, &st) != 1)
		st = cf_hog_stop(pid);
	uint64_t h1 = ev(G, "high");
	close(fd);
	pnb_memcg_remove(G, 0, 100, 20);
	jset_int(c->detail, "high_delta", (long long)(h1 - h0));
	jset_int(c->detail, "poll_woke_ns", woke ? (long long)woke : -1);
	if (h1 == h0)
		return cf_say(c, CF_FAIL, "a 128 MiB read in a cgroup with memory.high 16M left high at %llu",
			      (unsigned long long)h1);
	if (!woke)
		return cf_say(c, CF_FAIL, "high grew by %llu but a poll(POLLPRI) on memory.events was not woken",
			      (unsigned long long)(h1 - h0));
	return cf_say(c, CF_PASS, "high grew by %llu; poller woken %.3f s after start",
		      (unsigned long long)(h1 - h0), woke / 1e9);
}

enum cf_result cf_memevents_oom_counts(struct cf_ctx *c)
{
	const char *G = CF_V2 "/cf-oom";
	const int n = 3;
	int e, kills = 0;
	struct pnb_kv kv;
	uint64_t v0 = 0, v1 = 0;

	if (!cf_v2_memory)
		return cf_say(c, CF_SKIP, "unsupported: %s", cf_v2_why);
	if ((e = pnb_memcg_create(G, 1)) || (e = pnb_memcg_set_limit(CF_V2 "/cf-oom", 32 << 20)))
		return cf_say(c, CF_SKIP, "unsupported: cgroup2 %s memory.max: %s", G, strerror(-e));
	if (!pnb_read_kv("", "/proc/vmstat", &kv))
		v0 = pnb_kv_or(&kv, "oom_kill", 0);
	uint64_t o0 = ev(G, "oom"), k0 = ev(G, "oom_kill");
	for (int i = 0; i < n; i++) {
		int st;
		struct cf_hog h = { .kind = CF_HOG_ALLOC, .anon_bytes = 256 << 20,
				    .procs = { CF_V2 "/cf-oom/cgroup.procs" } };
		pid_t pid = cf_hog_start(&h);
		if (cf_hog_wait(pid, 20 * NS_PER_S, &st) != 1)
			st = cf_hog_stop(pid);
		kills += WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
	}
	uint64_t o1 = ev(G, "oom"), k1 = ev(G, "oom_kill");
	if (!pnb_read_kv("", "/proc/vmstat", &kv))
		v1 = pnb_kv_or(&kv, "oom_kill", 0);
	pnb_memcg_remove(G, 0, 100, 20);
	jset_int(c->detail, "sigkilled", kills);
	jset_int(c->detail, "oom_delta", (long long)(o1 - o0));
	jset_int(c->detail, "oom_kill_delta", (long long)(k1 - k0));
	jset_int(c->detail, "vmstat_oom_kill_delta", (long long)(v1 - v0));
	if (kills != n)
		return cf_say(c, CF_FAIL, "only %d of %d hogs over memory.max 32M were OOM-killed", kills, n);
	if (k1 - k0 != (uint64_t)n || o1 - o0 < (uint64_t)n || v1 - v0 != (uint64_t)n)
		return cf_say(c, CF_FAIL, "%d kills: oom_kill +%llu (documented %d), oom +%llu (documented >= %d), "
			      "vmstat oom_kill +%llu (documented %d)", n, (unsigned long long)(k1 - k0), n,
			      (unsigned long long)(o1 - o0), n, (unsigned long long)(v1 - v0), n);
	return cf_say(c, CF_PASS, "%d kills: memory.events oom_kill +%d, oom +%llu, vmstat oom_kill +%d",
		      n, n, (unsigned long long)(o1 - o0), n);
}
