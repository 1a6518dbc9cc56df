#include "memcg.h"
#include "parse.h"
#include "procfs.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_LEN 1280

static int put(const char *dir, const char *file, const char *s)
{
	char p[PATH_LEN];
	snprintf(p, sizeof p, "%s/%s", dir, file);
	return pnb_write_file("", p, s, 0);
}

static int put_num(const char *dir, const char *file, uint64_t v)
{
	char num[32];
	snprintf(num, sizeof num, "%llu", (unsigned long long)v);
	return put(dir, file, num);
}

static int exists(const char *dir, const char *file)
{
	char p[PATH_LEN];
	snprintf(p, sizeof p, "%s/%s", dir, file);
	return access(p, F_OK) == 0;
}

int pnb_memcg_version(const char *dir)
{
	if (exists(dir, "cgroup.controllers"))
		return 2;
	if (exists(dir, "memory.limit_in_bytes"))
		return 1;
	return -ENOENT;
}

/* Does cgroup2 dir have the memory controller (its cgroup.controllers)? */
static int v2_has_memory(const char *dir)
{
	char p[PATH_LEN], buf[512];
	snprintf(p, sizeof p, "%s/cgroup.controllers", dir);
	if (pnb_read_file("", p, buf, sizeof buf) < 0)
		return 0;
	for (char *save = NULL, *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
		if (!strcmp(t, "memory"))
			return 1;
	return 0;
}

int pnb_cgroup_mkdir(const char *dir, int fresh)
{
	if (fresh)
		pnb_memcg_remove(dir, 0, 100, 20);
	return mkdir(dir, 0755) && errno != EEXIST ? -errno : 0;
}

int pnb_memcg_create(const char *dir, int fresh)
{
	char parent[PATH_LEN], *slash;
	int v2, e = 0, e2;

	snprintf(parent, sizeof parent, "%s", dir);
	if (!(slash = strrchr(parent, '/')) || slash == parent)
		return -EINVAL;
	*slash = 0;
	v2 = pnb_memcg_version(parent) == 2;
	/* Children get a controller only when the parent delegates it; the
	 * write fails harmlessly where it already does (or may not: checked
	 * below on dir itself). */
	if (v2)
		e = put(parent, "cgroup.subtree_control", "+memory");
	if ((e2 = pnb_cgroup_mkdir(dir, fresh)))
		return e2;
	if (v2 && !v2_has_memory(dir)) {
		rmdir(dir);
		return e ? e : -ENODEV;
	}
	return 0;
}

int pnb_memcg_set_limit(const char *dir, uint64_t bytes)
{
	int v = pnb_memcg_version(dir);
	if (v < 0)
		return v;
	return put_num(dir, v == 2 ? "memory.max" : "memory.limit_in_bytes", bytes);
}

int pnb_memcg_get_limit(const char *dir, uint64_t *bytes)
{
	char p[PATH_LEN], buf[64];
	int v = pnb_memcg_version(dir);
	ssize_t n;

	if (v < 0)
		return v;
	snprintf(p, sizeof p, "%s/%s", dir, v == 2 ? "memory.max" : "memory.limit_in_bytes");
	if ((n = pnb_read_file("", p, buf, sizeof buf)) < 0)
		return (int)n;
	buf[strcspn(buf, "\n")] = 0;
	if (!strcmp(buf, "max")) {
		*bytes = UINT64_MAX;
		return 0;
	}
	return pnb_parse_u64(buf, bytes) ? -EINVAL : 0;
}

int pnb_memcg_no_swap(const char *dir, uint64_t limit)
{
	int v = pnb_memcg_version(dir);
	if (v < 0)
		return v;
	return v == 2 ? put_num(dir, "memory.swap.max", 0)
		      : put_num(dir, "memory.memsw.limit_in_bytes", limit);
}

int pnb_memcg_join(const char *dir, pid_t pid)
{
	return put_num(dir, "cgroup.procs", (uint64_t)(pid ? pid : getpid()));
}

static void kill_members(const char *dir)
{
	char p[PATH_LEN], buf[4096];
	snprintf(p, sizeof p, "%s/cgroup.procs", dir);
	if (pnb_read_file("", p, buf, sizeof buf) <= 0)
		return;
	for (char *save = NULL, *t = strtok_r(buf, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		uint64_t pid;
		if (!pnb_parse_u64(t, &pid) && pid > 0)
			kill((pid_t)pid, SIGKILL);
	}
}

int pnb_memcg_remove(const char *dir, int kill, unsigned tries, unsigned interval_ms)
{
	int e = 0;

	for (unsigned i = 0; i < (tries ? tries : 1); i++) {
		if (kill)
			kill_members(dir);
		if (!rmdir(dir) || errno == ENOENT)
			return 0;
		e = -errno;
		/* Only a busy memcg gets better by waiting. */
		if (e != -EBUSY)
			return e;
		usleep(interval_ms * 1000u);
	}
	return e;
}
