/* pnbench-conform: runs every conformance case inside a guest and prints
 * one JSON line per case on standard output (the guest's events port):
 *   {"t_ns":..,"type":"case","case":..,"result":"passed|failed|skipped|
 *    expected_failure","reason":..,"doc":..,"detail":{..}}
 * then {"type":"end"}.  It is the guest's only job (qemu/init.c runs it in
 * place of the recorder); every memory hog runs in a child inside a limited
 * memcg, so an OOM kill never takes the suite with it.
 *
 * usage: pnbench-conform [--only CASE[,CASE...]] [--list] */
#include "conform.h"
#include "memcg.h"
#include "memhog.h"
#include "clock.h"
#include "jsonl.h"
#include "log.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

int cf_v2_memory;
char cf_v2_why[256] = "the v2 phase has not run";
char cf_release[128];

static const struct cf_entry {
	const char *name, *doc, *xfail_release, *xfail_reason;
	enum cf_result (*fn)(struct cf_ctx *);
} cases[] = {
#define CF_CASE(name, doc, xr, xw) { #name, doc, xr, xw, cf_##name },
#include "cases.h"
#undef CF_CASE
};
#define NCASES (sizeof cases / sizeof cases[0])

enum cf_result cf_say(struct cf_ctx *c, enum cf_result r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof c->reason, fmt, ap);
	va_end(ap);
	return r;
}

int cf_put(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	int e = n < 0 ? -errno : 0;
	close(fd);
	return e;
}

int cf_have_data(void)
{
	return access(CF_DATA, R_OK) == 0;
}

static void read_data(uint64_t limit)
{
	static char buf[1 << 16];
	uint64_t done = 0;
	int fd = open(CF_DATA, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		_exit(3);
	while ((!limit || done < limit) && (n = read(fd, buf, sizeof buf)) > 0)
		done += (uint64_t)n;
	close(fd);
}

static void hog_body(const struct cf_hog *h)
{
	switch (h->kind) {
	case CF_HOG_STREAM:
		for (unsigned i = 0; i < h->passes; i++)
			read_data(0);
		_exit(0);
	case CF_HOG_THRASH:
		if (pnb_hog_touch(h->anon_bytes, NULL))
			_exit(4);
		for (;;)
			read_data(0);
	case CF_HOG_ALLOC: {
		if (h->cache_bytes)
			read_data(h->cache_bytes);
		/* No anon_bytes is a cache-only fill, not "until mmap fails". */
		struct pnb_hog a = { .bytes = h->anon_bytes, .rate_bps = h->rate_bps };
		if (h->anon_bytes && pnb_hog_run(&a))
			_exit(4);
		pause();
		_exit(0);
	}
	}
	_exit(5);
}

pid_t cf_hog_start(const struct cf_hog *h)
{
	/* Pages of the data file left by an earlier case stay charged to the
	 * parent of its removed memcg: reading them again would charge
	 * nothing and reclaim nothing.  Every hog starts from disk. */
	if (h->kind != CF_HOG_ALLOC || h->cache_bytes)
		cf_put("/proc/sys/vm/drop_caches", "3");
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid)
		return pid;
	char me[32];
	snprintf(me, sizeof me, "%d", (int)getpid());
	for (int i = 0; i < 3 && h->procs[i]; i++)
		if (cf_put(h->procs[i], me))
			_exit(2);
	/* The suite runs at -1000; its hogs must be fair game. */
	if (cf_put("/proc/self/oom_score_adj", "0"))
		_exit(2);
	hog_body(h);
	_exit(5);
}

int cf_hog_wait(pid_t pid, uint64_t timeout_ns, int *status)
{
	uint64_t end = pnb_mono_ns() + timeout_ns;
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 1;
		if (r < 0)
			return -errno;
		if (pnb_mono_ns() >= end)
			return 0;
		usleep(5000);
	}
}

int cf_hog_stop(pid_t pid)
{
	int st = 0;
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

/* cgroup2 gets the memory controller only when no v1 hierarchy holds it.
 * The host boots the memevents phase with memory_hierarchy=v2, where /init
 * has already given cgroup2 the controller; in a v1 boot (--phase all) we
 * try to empty and unmount the v1 hierarchy, which the kernel may refuse
 * to let go of while dead memcgs linger. */
static void switch_v2(void)
{
	char ctl[256];
	uint64_t end;
	int e = 0;

	if (pnb_read_file("", CF_V2 "/cgroup.subtree_control", ctl, sizeof ctl) >= 0 &&
	    strstr(ctl, "memory")) {
		cf_v2_memory = 1;
		return;
	}
	pnb_memcg_remove(CF_V1 "/pnbench", 0, 100, 20);
	/* Removed memcgs live on while page cache charged to them does; the
	 * hierarchy can only die once they are gone. */
	cf_put("/proc/sys/vm/drop_caches", "3");
	if (umount2(CF_V1, 0) && errno != EINVAL) {
		snprintf(cf_v2_why, sizeof cf_v2_why, "umount %s: %s", CF_V1, strerror(errno));
		return;
	}
	end = pnb_mono_ns() + 10 * NS_PER_S;
	while (pnb_mono_ns() < end) {
		if (!(e = cf_put(CF_V2 "/cgroup.subtree_control", "+memory"))) {
			cf_v2_memory = 1;
			return;
		}
		cf_put("/proc/sys/vm/drop_caches", "3");
		usleep(100000);
	}
	snprintf(cf_v2_why, sizeof cf_v2_why,
		 "cgroup2 memory controller unavailable: writing +memory to %s/cgroup.subtree_control "
		 "10 s after unmounting v1 memory: %s (ENOENT: v1 still holds it)", CF_V2, strerror(-e));
}

static int wanted(const char *only, const char *name)
{
	size_t n = strlen(name);
	if (!only)
		return 1;
	for (const char *p = only; (p = strstr(p, name)); p += n)
		if ((p == only || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return 1;
	return 0;
}

static void run_one(struct jsonl *w, const struct cf_entry *e)
{
	struct cf_ctx c = { .detail = json_object() };
	uint64_t t = pnb_mono_ns();
	enum cf_result r = e->fn(&c);
	const char *res = r == CF_PASS ? "passed" : r == CF_FAIL ? "failed" : "skipped";
	char reason[1024];

	snprintf(reason, sizeof reason, "%s", c.reason);
	/* A known failure stays visible both ways: the expected one is
	 * reported as such, and a pass where it was expected is a change. */
	if (e->xfail_release && !fnmatch(e->xfail_release, cf_release, 0) && r != CF_SKIP) {
		if (r == CF_FAIL) {
			res = "expected_failure";
			snprintf(reason, sizeof reason, "%s; measured: %s", e->xfail_reason, c.reason);
		} else {
			res = "failed";
			snprintf(reason, sizeof reason, "expected failure did not happen (%s); measured: %s",
				 e->xfail_reason, c.reason);
		}
	}
	json_t *o = jsonl_new(w, "case", pnb_mono_ns());
	jset_str(o, "case", e->name);
	jset_str(o, "result", res);
	jset_str(o, "reason", reason);
	jset_str(o, "doc", e->doc);
	jset_int(o, "duration_ns", (long long)(pnb_mono_ns() - t));
	json_object_set_new(o, "detail", c.detail);
	jsonl_emit(w, o);
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	int run_v1 = 1, run_v2 = 1;
	struct jsonl w;
	struct utsname u;

	pnb_set_prog("pnbench-conform");
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			only = argv[++i];
		} else if (!strcmp(argv[i], "--phase") && i + 1 < argc) {
			/* v1: every case but memory.events; v2: only those (the
			 * host boots them with cgroup2 owning the controller). */
			const char *ph = argv[++i];
			if (!strcmp(ph, "v1"))
				run_v2 = 0;
			else if (!strcmp(ph, "v2"))
				run_v1 = 0;
			else if (strcmp(ph, "all"))
				pnb_die(PNB_EXIT_USAGE, "--phase '%s': not one of v1, v2, all", ph);
		} else if (!strcmp(argv[i], "--list")) {
			for (size_t k = 0; k < NCASES; k++)
				printf("%s\n", cases[k].name);
			return 0;
		} else {
			pnb_die(PNB_EXIT_USAGE, "usage: pnbench-conform [--only CASE,...] "
				"[--phase v1|v2|all] [--list]");
		}
	}
	uname(&u);
	snprintf(cf_release, sizeof cf_release, "%s", u.release);
	if (cf_put("/proc/self/oom_score_adj", "-1000"))
		pnb_err("cannot set oom_score_adj -1000: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);

	jsonl_init(&w, 1, pnb_mono_ns());
	json_t *h = jsonl_new(&w, "header", pnb_mono_ns());
	jset_str(h, "schema", PNB_EVENTS_SCHEMA);
	jset_str(h, "program", "pnbench-conform");
	jset_str(h, "kernel_release", u.release);
	jset_str(h, "kernel_version", u.version);
	jset_int(h, "cases", (long long)NCASES);
	jsonl_emit(&w, h);

	/* memory.events needs the memory controller on cgroup2, which means
	 * giving up v1: every v1 case runs first. */
	for (size_t k = 0; run_v1 && k < NCASES; k++)
		if (strncmp(cases[k].name, "memevents_", 10) && wanted(only, cases[k].name))
			run_one(&w, &cases[k]);
	int need_v2 = 0;
	for (size_t k = 0; run_v2 && k < NCASES; k++)
		need_v2 |= !strncmp(cases[k].name, "memevents_", 10) && wanted(only, cases[k].name);
	if (need_v2)
		switch_v2();
	for (size_t k = 0; need_v2 && k < NCASES; k++)
		if (!strncmp(cases[k].name, "memevents_", 10) && wanted(only, cases[k].name))
			run_one(&w, &cases[k]);

	json_t *end = jsonl_new(&w, "end", pnb_mono_ns());
	jset_str(end, "reason", "done");
	jsonl_emit(&w, end);
	return w.error ? PNB_EXIT_FAIL : 0;
}
