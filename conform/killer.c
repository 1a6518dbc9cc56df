/* What a userspace killer relies on (issue 11): the pidfd says the victim
 * is gone only once its memory is, and process_mrelease frees the memory
 * of a killed victim without waiting for its exit. */
#include "conform.h"
#include "memhog.h"
#include "clock.h"
#include "jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sysnum.h"

#define VICTIM_BYTES (48UL << 20)

/* A child holding VICTIM_BYTES of touched anonymous memory, pinned to cpu
 * (-1: anywhere), ready when it writes a byte. */
static pid_t victim(int cpu)
{
	int p[2];
	char c;
	if (pipe(p))
		return -errno;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(p[0]);
		cf_put("/proc/self/oom_score_adj", "0");
		if (cpu >= 0) {
			cpu_set_t s;
			CPU_ZERO(&s);
			CPU_SET(cpu, &s);
			sched_setaffinity(0, sizeof s, &s);
		}
		if (pnb_hog_touch(VICTIM_BYTES, NULL))
			_exit(3);
		(void)!write(p[1], "r", 1);
		for (;;)
			pause();
	}
	close(p[1]);
	ssize_t n = read(p[0], &c, 1);
	close(p[0]);
	if (n != 1) {
		waitpid(pid, NULL, 0);
		return -ENOMEM;
	}
	return pid;
}

/* Resident pages of pid from /proc/PID/statm; 0 for a zombie (no mm), -1
 * when unreadable. */
static long resident(pid_t pid)
{
	char path[64], buf[256];
	long size, res;
	snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return sscanf(buf, "%ld %ld", &size, &res) == 2 ? res : -1;
}

/* A victim (pinned to cpu, or not for -1) and a pidfd on it: 0, or -1
 * with the reason in c (the case is skipped: an old kernel or a guest that
 * cannot fork is not a failure of the mechanism). */
static int victim_pidfd(struct cf_ctx *c, int cpu, pid_t *pid, int *pfd)
{
	*pid = victim(cpu);
	if (*pid < 0) {
		cf_say(c, CF_SKIP, "unsupported: cannot start a victim: %s", strerror(-(int)*pid));
		return -1;
	}
	*pfd = (int)syscall(SYS_pidfd_open, *pid, 0);
	if (*pfd < 0) {
		int e = errno;
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		cf_say(c, CF_SKIP, "unsupported: pidfd_open: %s (before 5.3)", strerror(e));
		return -1;
	}
	return 0;
}

enum cf_result cf_killer_pidfd_after_mm(struct cf_ctx *c)
{
	pid_t pid;
	int pfd;
	if (victim_pidfd(c, -1, &pid, &pfd))
		return CF_SKIP;
	long before = resident(pid);
	uint64_t t0 = pnb_mono_ns();
	syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
	struct pollfd p = { .fd = pfd, .events = POLLIN };
	int r = poll(&p, 1, 10000);
	uint64_t t1 = pnb_mono_ns();
	/* Not reaped yet: a zombie whose statm shows what is left of its mm. */
	long after = resident(pid);
	waitpid(pid, NULL, 0);
	close(pfd);
	jset_int(c->detail, "resident_pages_before", before);
	jset_int(c->detail, "resident_pages_at_readable", after);
	jset_int(c->detail, "readable_after_ns", r == 1 ? (long long)(t1 - t0) : -1);
	if (r != 1)
		return cf_say(c, CF_FAIL, "the pidfd of a SIGKILLed victim was not readable within 10 s");
	if (before < (long)(VICTIM_BYTES / 4096 / 2))
		return cf_say(c, CF_FAIL, "the victim held only %ld resident pages before the kill", before);
	if (after != 0)
		return cf_say(c, CF_FAIL, "pidfd readable while the victim still had %ld resident pages "
			      "(of %ld): its mm was not gone", after, before);
	return cf_say(c, CF_PASS, "pidfd readable %.1f ms after SIGKILL with the mm gone (%ld -> 0 pages)",
		      (double)(t1 - t0) / 1e6, before);
}

enum cf_result cf_killer_mrelease_frees(struct cf_ctx *c)
{
	errno = 0;
	if (syscall(SYS_process_mrelease, -1, 0) && errno == ENOSYS)
		return cf_say(c, CF_SKIP, "unsupported: process_mrelease ENOSYS (before 5.15)");
	/* The victim shares CPU 0 with us and we run SCHED_FIFO: after the
	 * SIGKILL it cannot run its exit until we block, so what
	 * process_mrelease frees it frees before the exit. */
	cpu_set_t s, old;
	sched_getaffinity(0, sizeof old, &old);
	CPU_ZERO(&s);
	CPU_SET(0, &s);
	pid_t pid;
	int pfd;
	if (victim_pidfd(c, 0, &pid, &pfd))
		return CF_SKIP;
	struct sched_param fifo = { .sched_priority = 50 }, other = { 0 };
	int pinned = !sched_setaffinity(0, sizeof s, &s) && !sched_setscheduler(0, SCHED_FIFO, &fifo);
	long before = resident(pid);
	uint64_t t0 = pnb_mono_ns();
	long sig = syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
	long mr = syscall(SYS_process_mrelease, pfd, 0);
	int mr_err = mr ? errno : 0;
	uint64_t t1 = pnb_mono_ns();
	long during = resident(pid);
	struct pollfd p = { .fd = pfd, .events = POLLIN };
	int exited_already = poll(&p, 1, 0) == 1;
	sched_setscheduler(0, SCHED_OTHER, &other);
	sched_setaffinity(0, sizeof old, &old);
	int r = poll(&p, 1, 10000);
	waitpid(pid, NULL, 0);
	close(pfd);
	jset_int(c->detail, "resident_pages_before", before);
	jset_int(c->detail, "resident_pages_after_mrelease", during);
	jset_int(c->detail, "mrelease_ns", (long long)(t1 - t0));
	jset_bool(c->detail, "exit_done_at_mrelease", exited_already);
	jset_bool(c->detail, "victim_held_off", pinned);
	if (sig)
		return cf_say(c, CF_FAIL, "pidfd_send_signal SIGKILL failed");
	if (r != 1)
		return cf_say(c, CF_FAIL, "the victim did not exit within 10 s of SIGKILL");
	if (mr)
		return cf_say(c, CF_FAIL, "process_mrelease on a SIGKILLed victim: %s", strerror(mr_err));
	if (exited_already)
		return cf_say(c, CF_SKIP, "the victim's exit finished before process_mrelease returned "
			      "(could not hold it off%s): nothing shown", pinned ? "" : ": no SCHED_FIFO");
	if (during > before / 10)
		return cf_say(c, CF_FAIL, "process_mrelease returned 0 but the victim still had %ld of %ld "
			      "resident pages before its exit", during, before);
	return cf_say(c, CF_PASS, "process_mrelease freed %ld -> %ld resident pages in %.1f ms, before the "
		      "victim's exit", before, during, (double)(t1 - t0) / 1e6);
}
