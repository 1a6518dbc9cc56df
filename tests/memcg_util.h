/* Test helpers for live cgroup v1 memory runs: a fresh memcg with a limit
 * under the v1 memory mount, a child parked in it until released, anon and
 * page-cache load inside it.  Used by probe_vmpressure_test and lmk_test.
 * Only for tests: they make the condition they check and remove it after. */
#ifndef PNB_TEST_MEMCG_UTIL_H
#define PNB_TEST_MEMCG_UTIL_H

#include "cgroupfs.h"
#include "clock.h"
#include "memcg.h"
#include "memhog.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct tmemcg {
	char dir[512];		/* absolute cgroup directory */
	pid_t child;
	int go_fd;		/* write end: one byte releases the child */
};

/* Why a live test cannot run here, or NULL. */
static inline const char *tmemcg_unavailable(void)
{
	static char why[600];
	char mnt[256], f[400];

	if (geteuid() != 0)
		return "needs root to create a memory cgroup";
	if (pnb_cgroup_v1_memory_mount("", mnt, sizeof mnt)) {
		snprintf(why, sizeof why, "no cgroup v1 memory hierarchy mounted");
		return why;
	}
	snprintf(f, sizeof f, "%s/cgroup.event_control", mnt);
	if (access(f, W_OK)) {
		snprintf(why, sizeof why, "%s is not writable: %s", f, strerror(errno));
		return why;
	}
	return NULL;
}

/* mkdir <v1 mount>/pnbtest-<tag>-<pid> with memory.limit_in_bytes = limit.
 * 0 or -errno. */
static inline int tmemcg_create(struct tmemcg *m, const char *tag, uint64_t limit)
{
	char mnt[256];
	int r;

	memset(m, 0, sizeof *m);
	m->child = -1;
	m->go_fd = -1;
	if ((r = pnb_cgroup_v1_memory_mount("", mnt, sizeof mnt)))
		return r;
	snprintf(m->dir, sizeof m->dir, "%s/pnbtest-%s-%d", mnt, tag, (int)getpid());
	if ((r = pnb_memcg_create(m->dir, 0)))
		return r;
	return pnb_memcg_set_limit(m->dir, limit);
}

/* Fork a child that joins the memcg and waits; fn(arg) runs once released.
 * 0 or -errno. */
static inline int tmemcg_spawn(struct tmemcg *m, void (*fn)(void *), void *arg)
{
	int pfd[2];
	pid_t pid;
	int r;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (pid == 0) {
		char c;
		close(pfd[1]);
		if (read(pfd[0], &c, 1) != 1)
			_exit(3);
		fn(arg);
		_exit(0);
	}
	close(pfd[0]);
	m->child = pid;
	m->go_fd = pfd[1];
	if ((r = pnb_memcg_join(m->dir, pid))) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		m->child = -1;
		return r;
	}
	return 0;
}

static inline int tmemcg_release(struct tmemcg *m)
{
	int r = write(m->go_fd, "g", 1) == 1 ? 0 : -errno;
	close(m->go_fd);
	m->go_fd = -1;
	return r;
}

static inline int tmemcg_pidfd(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Kill what is left, reap, and remove the cgroup (rmdir fails with EBUSY
 * while the dying child is still charged: retry for a while). */
static inline void tmemcg_destroy(struct tmemcg *m)
{
	if (m->go_fd >= 0)
		close(m->go_fd);
	if (m->child > 0) {
		kill(m->child, SIGKILL);
		waitpid(m->child, NULL, 0);
		m->child = -1;
	}
	if (m->dir[0])
		pnb_memcg_remove(m->dir, 0, 200, 10);
}

/* The memcg's v1 memory.oom_control "oom_kill" counter (4.13+), or -1. */
static inline long long tmemcg_oom_kills(const struct tmemcg *m)
{
	char f[600];
	struct pnb_kv kv;
	uint64_t v;

	snprintf(f, sizeof f, "%s/memory.oom_control", m->dir);
	if (pnb_read_kv("", f, &kv) || pnb_kv_get(&kv, "oom_kill", &v))
		return -1;
	return (long long)v;
}

/* Child bodies. */
struct tanon {
	size_t chunk;		/* bytes per step */
	uint64_t pause_ns;	/* between steps; 0: as fast as possible */
	uint64_t limit;		/* stop and hold after this many bytes; 0: never */
};

/* Allocate and touch anonymous memory chunk by chunk with lib/memhog (until
 * killed, or up to limit, then sleep until killed). */
static inline void tanon_run(void *arg)
{
	const struct tanon *a = arg;
	struct pnb_hog h = { .bytes = a->limit, .chunk = a->chunk,
			     .rate_bps = a->pause_ns ? a->chunk * NS_PER_S / a->pause_ns : 0 };

	if (pnb_hog_run(&h))
		_exit(4);
	for (;;)
		pause();
}

/* A data file of size bytes (non-zero data), written and then dropped from
 * the page cache so that the child's reads are charged to its memcg.
 * 0 or -errno. */
static inline int tfile_create(const char *path, uint64_t size)
{
	static char buf[1 << 20];
	uint64_t done = 0;
	int fd, r = 0;

	memset(buf, 0xa5, sizeof buf);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (done < size) {
		ssize_t n = write(fd, buf, sizeof buf);
		if (n < 0) {
			r = -errno;
			break;
		}
		done += (uint64_t)n;
	}
	if (!r && fdatasync(fd))
		r = -errno;
	if (!r)
		r = -posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	return r;
}

struct tstream {
	const char *path;
	int passes;
};

/* Read the file front to back, passes times, then return (the child exits). */
static inline void tstream_run(void *arg)
{
	const struct tstream *a = arg;
	static char buf[1 << 16];

	for (int i = 0; i < a->passes; i++) {
		int fd = open(a->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(5);
		while (read(fd, buf, sizeof buf) > 0)
			;
		close(fd);
	}
}

#endif
