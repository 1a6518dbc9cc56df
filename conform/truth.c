/* Ground truth of an OOM kill: /proc/vmstat oom_kill, the victim's pidfd,
 * its /dev/kmsg line. */
#include "conform.h"
#include "memcg.h"
#include "clock.h"
#include "jsonl.h"
#include "oom.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define TCG CF_V1 "/cf-truth"

static uint64_t vmstat_oom_kill(int *have)
{
	struct pnb_kv kv;
	uint64_t v = 0;
	*have = !pnb_read_kv("", "/proc/vmstat", &kv) && !pnb_kv_get(&kv, "oom_kill", &v);
	return v;
}

/* A fast allocator in a 32 MiB v1 memcg: the memcg OOM killer's victim. */
static pid_t victim(char *why, size_t len)
{
	struct cf_hog h = { .kind = CF_HOG_ALLOC, .anon_bytes = 256 << 20,
			    .procs = { TCG "/cgroup.procs" } };
	int e;
	if ((e = pnb_memcg_create(TCG, 1)) || (e = pnb_memcg_set_limit(TCG, 32 << 20))) {
		snprintf(why, len, "unsupported: v1 memcg %s: %s", TCG, strerror(-e));
		return e;
	}
	return cf_hog_start(&h);
}

enum cf_result cf_truth_vmstat_oom_kill(struct cf_ctx *c)
{
	char why[256];
	int have, kills = 0;
	const int n = 3;

	uint64_t v0 = vmstat_oom_kill(&have);
	if (!have)
		return cf_say(c, CF_SKIP, "unsupported: /proc/vmstat has no oom_kill (before 4.13)");
	for (int i = 0; i < n; i++) {
		int st;
		pid_t pid = victim(why, sizeof why);
		if (pid < 0)
			return cf_say(c, CF_SKIP, "%s", why);
		if (cf_hog_wait(pid, 20 * NS_PER_S, &st) != 1)
			st = cf_hog_stop(pid);
		kills += WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
		pnb_memcg_remove(TCG, 0, 100, 20);
	}
	uint64_t v1 = vmstat_oom_kill(&have);
	jset_int(c->detail, "sigkilled", kills);
	jset_int(c->detail, "vmstat_oom_kill_delta", (long long)(v1 - v0));
	if (kills != n)
		return cf_say(c, CF_FAIL, "only %d of %d hogs in a 32 MiB memcg were OOM-killed", kills, n);
	if (v1 - v0 != (uint64_t)kills)
		return cf_say(c, CF_FAIL, "%d OOM kills, /proc/vmstat oom_kill grew by %llu", kills,
			      (unsigned long long)(v1 - v0));
	return cf_say(c, CF_PASS, "%d OOM kills, /proc/vmstat oom_kill grew by exactly %d", kills, kills);
}

enum cf_result cf_truth_pidfd_victim(struct cf_ctx *c)
{
	char why[256];
	int st = 0;
	pid_t pid = victim(why, sizeof why);

	if (pid < 0)
		return cf_say(c, CF_SKIP, "%s", why);
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0) {
		int e = errno;
		cf_hog_stop(pid);
		pnb_memcg_remove(TCG, 0, 100, 20);
		return cf_say(c, e == ENOSYS ? CF_SKIP : CF_FAIL, "pidfd_open: %s", strerror(e));
	}
	uint64_t t0 = pnb_mono_ns();
	struct pollfd pf = { .fd = pfd, .events = POLLIN };
	int r = poll(&pf, 1, 20000);
	uint64_t t1 = pnb_mono_ns();
	/* Readable must mean dead: the zombie is there to reap at once. */
	pid_t w = waitpid(pid, &st, WNOHANG);
	close(pfd);
	if (w != pid)
		st = cf_hog_stop(pid);
	pnb_memcg_remove(TCG, 0, 100, 20);
	jset_int(c->detail, "readable_after_ns", r > 0 ? (long long)(t1 - t0) : -1);
	jset_bool(c->detail, "reaped_at_once", w == pid);
	if (r <= 0 || !(pf.revents & POLLIN))
		return cf_say(c, CF_FAIL, "pidfd of the OOM victim not readable within 20 s");
	if (w != pid)
		return cf_say(c, CF_FAIL, "pidfd readable but the process was not yet a zombie");
	if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))
		return cf_say(c, CF_FAIL, "pidfd readable, but the process ended with status 0x%x, not by "
			      "the OOM killer's SIGKILL", st);
	return cf_say(c, CF_PASS, "pidfd readable %.3f s after arming; victim SIGKILLed and reapable at once",
		      (t1 - t0) / 1e9);
}

enum cf_result cf_truth_kmsg_victim(struct cf_ctx *c)
{
	char why[256], rec[8192];
	int st, found = 0, kills = 0;
	struct oom_kill_info k = { 0 };

	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return cf_say(c, CF_SKIP, "unsupported: /dev/kmsg: %s", strerror(errno));
	lseek(fd, 0, SEEK_END);
	pid_t pid = victim(why, sizeof why);
	if (pid < 0) {
		close(fd);
		return cf_say(c, CF_SKIP, "%s", why);
	}
	if (cf_hog_wait(pid, 20 * NS_PER_S, &st) != 1)
		st = cf_hog_stop(pid);
	pnb_memcg_remove(TCG, 0, 100, 20);
	uint64_t end = pnb_mono_ns() + 3 * NS_PER_S;
	while (!found && pnb_mono_ns() < end) {
		ssize_t n = read(fd, rec, sizeof rec - 1);
		if (n < 0) {
			if (errno == EAGAIN)
				usleep(20000);
			else if (errno != EPIPE)	/* EPIPE: records overwritten; go on */
				break;
			continue;
		}
		struct oom_kmsg_rec r;
		struct oom_kill_info ki;
		if (oom_parse_kmsg(rec, (size_t)n, &r, &ki) == 1) {
			kills++;
			if (ki.pid == pid) {
				k = ki;
				found = 1;
			}
		}
	}
	close(fd);
	jset_int(c->detail, "victim_pid", pid);
	jset_int(c->detail, "kill_lines", kills);
	if (found) {
		jset_str(c->detail, "comm", k.comm);
		jset_str(c->detail, "message", k.message);
	}
	if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))
		return cf_say(c, CF_FAIL, "the hog in a 32 MiB memcg was not OOM-killed (status 0x%x)", st);
	if (!found)
		return cf_say(c, CF_FAIL, "no \"Killed process %d\" line in /dev/kmsg within 3 s (%d other kill "
			      "line(s))", pid, kills);
	return cf_say(c, CF_PASS, "kmsg: \"%s: Killed process %d (%s)\"", k.message, pid, k.comm);
}
