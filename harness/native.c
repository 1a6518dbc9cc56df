/* The native backend: a scenario on the running kernel, the workload
 * confined in a memory cgroup with a limit so the host is never driven to
 * OOM.  Without a memory cgroup to confine it, we refuse to run. */
#include "spawn.h"
#include "run.h"
#include "cgroupfs.h"
#include "cli.h"
#include "clock.h"
#include "log.h"
#include "memcg.h"
#include "parse.h"
#include "procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct memcg {
	int version;		/* 1 or 2 */
	char mount[512];
	char dir[1024];
};

/* Which hierarchy owns the memory controller on this host. */
static int find_memcg(struct memcg *m, char *why, size_t len)
{
	memset(m, 0, sizeof *m);
	if (!pnb_cgroup_v1_memory_mount("", m->mount, sizeof m->mount)) {
		m->version = 1;
		return 0;
	}
	if (!pnb_cgroup2_mount("", m->mount, sizeof m->mount) &&
	    pnb_cgroup2_has_controller("", m->mount, "memory") == 0) {
		m->version = 2;
		return 0;
	}
	snprintf(why, len, "no memory cgroup to confine the workload (no cgroup v1 memory "
		 "hierarchy and no cgroup2 memory controller): refusing to run unconfined on "
		 "the host");
	return -1;
}

int native_check(char *why, size_t len)
{
	struct memcg m;
	char probe[600];

	if (find_memcg(&m, why, len))
		return -1;
	snprintf(probe, sizeof probe, "%s/cgroup.procs", m.mount);
	if (access(probe, W_OK)) {
		snprintf(why, len, "cannot create memory cgroups under %s (%s): native runs need root",
			 m.mount, strerror(errno));
		return -1;
	}
	return 0;
}

/* "1T", "512M", or MiB with a fraction when no unit divides it. */
static const char *fmt_size(uint64_t b, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && b && b % 1024 == 0) {
		b /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu", (unsigned long long)b);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)b, units[u]);
	return buf;
}

int native_limit_check(uint64_t limit, const char *root, char *why, size_t len)
{
	struct pnb_kv kv;
	uint64_t avail_kB;
	char a[32], b[32];

	if (pnb_read_meminfo(root, &kv) || pnb_kv_get(&kv, "MemAvailable", &avail_kB)) {
		snprintf(why, len, "cannot read MemAvailable from %s/proc/meminfo: refusing a native "
			 "run whose limit cannot be checked against the host", root);
		return -1;
	}
	/* The limit only bounds the workload: the rest of the host (and the
	 * page cache the workload leaves behind) needs the other half. */
	if (limit / 1024 > avail_kB * NATIVE_MAX_PCT / 100) {
		snprintf(why, len, "memory %s is above %d%% of this host's MemAvailable (%s): a "
			 "native run could take the host into OOM; lower [machine] memory",
			 fmt_size(limit, a, sizeof a), NATIVE_MAX_PCT, fmt_size(avail_kB * 1024, b, sizeof b));
		return -1;
	}
	return 0;
}

static int make_memcg(struct memcg *m, const char *name, uint64_t limit, char *why, size_t len)
{
	char parent[600];
	uint64_t got;
	int e;

	snprintf(parent, sizeof parent, "%s/pnbench", m->mount);
	if ((e = pnb_memcg_create(parent, 0))) {
		snprintf(why, len, "cannot create %s with the memory controller: %s", parent,
			 strerror(-e));
		return -1;
	}
	snprintf(m->dir, sizeof m->dir, "%s/%s", parent, name);
	if ((e = pnb_memcg_create(m->dir, 0))) {
		snprintf(why, len, "cannot create %s with the memory controller: %s", m->dir,
			 strerror(-e));
		return -1;
	}
	if ((e = pnb_memcg_set_limit(m->dir, limit))) {
		snprintf(why, len, "cannot set the memory limit of %s: %s", m->dir, strerror(-e));
		return -1;
	}
	/* No swap inside the cgroup: the scenarios are swapless unless they
	 * say otherwise (v1 without swap accounting has none to refuse). */
	pnb_memcg_no_swap(m->dir, limit);
	if (pnb_memcg_get_limit(m->dir, &got) || got > limit || got < limit / 2) {
		snprintf(why, len, "%s did not take the memory limit %llu: refusing to run unconfined",
			 m->dir, (unsigned long long)limit);
		return -1;
	}
	return 0;
}

/* Kill what is left in the cgroup (a workload's stray children), then remove it. */
static void remove_memcg(const struct memcg *m)
{
	int e = pnb_memcg_remove(m->dir, 1, 50, 100);
	if (e)
		pnb_err("could not remove %s: %s (remove it by hand)", m->dir, strerror(-e));
}

/* Memcgs of runs whose pnbench died before removing them (SIGKILL, power
 * loss): named SCENARIO-PID-REP, the PID that of a cell worker no longer
 * alive.  Whatever still runs in them is killed, then they go. */
static void sweep_stale_memcgs(const struct memcg *m)
{
	char parent[600];
	snprintf(parent, sizeof parent, "%s/pnbench", m->mount);
	DIR *d = opendir(parent);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char *last = strrchr(e->d_name, '-'), *pid_at;
		if (e->d_type != DT_DIR || !last || last == e->d_name)
			continue;
		*last = 0;
		pid_at = strrchr(e->d_name, '-');
		*last = '-';
		long pid = pid_at ? strtol(pid_at + 1, NULL, 10) : 0;
		if (pid <= 0 || pid == getpid() || !(kill((pid_t)pid, 0) && errno == ESRCH))
			continue;
		struct memcg stale = *m;
		snprintf(stale.dir, sizeof stale.dir, "%s/%s", parent, e->d_name);
		pnb_err("native: removing %s, left by pnbench pid %ld that is gone", stale.dir, pid);
		remove_memcg(&stale);
	}
	if (d)
		closedir(d);
}

static const char *cache_dir(char *buf, size_t len)
{
	const char *e = getenv("PNBENCH_CACHE");
	if (e && *e)
		snprintf(buf, len, "%s", e);
	else if ((e = getenv("XDG_CACHE_HOME")) && *e)
		snprintf(buf, len, "%s/pnbench", e);
	else
		snprintf(buf, len, "%s/.cache/pnbench", getenv("HOME") ? getenv("HOME") : "/var/tmp");
	return buf;
}

static int mkdir_p(const char *path)
{
	char tmp[1024];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, 0755) && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	}
	return (mkdir(tmp, 0755) && errno != EEXIST) ? -errno : 0;
}

/* The data file for page-cache workloads: made once, then evicted from the
 * page cache before every run so reads really go to the disk and are charged
 * to the workload's cgroup, not found in cache charged to someone else. */
static int data_file(uint64_t size, char *path, size_t len, char *why, size_t wlen)
{
	char dir[700];
	struct stat st;
	int fd;

	cache_dir(dir, sizeof dir);
	if (mkdir_p(dir)) {
		snprintf(why, wlen, "cannot create cache directory %s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(path, len, "%s/data-%llu.bin", dir, (unsigned long long)size);
	if (stat(path, &st) || (uint64_t)st.st_size != size) {
		char tmp[800];
		static char block[1 << 20];
		pnb_err("creating data file %s (%llu MiB)", path, (unsigned long long)(size >> 20));
		snprintf(tmp, sizeof tmp, "%s.tmp", path);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			snprintf(why, wlen, "cannot create %s: %s", tmp, strerror(errno));
			return -1;
		}
		for (size_t i = 0; i < sizeof block; i++)
			block[i] = (char)(i * 131 + 7) | 1;
		for (uint64_t off = 0; off < size;) {
			size_t n = size - off < sizeof block ? (size_t)(size - off) : sizeof block;
			ssize_t w = write(fd, block, n);
			if (w <= 0) {
				snprintf(why, wlen, "writing %s: %s", tmp, strerror(errno));
				close(fd);
				return -1;
			}
			off += (uint64_t)w;
		}
		if (fsync(fd) || close(fd) || rename(tmp, path)) {
			snprintf(why, wlen, "finishing %s: %s", path, strerror(errno));
			return -1;
		}
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, wlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	return 0;
}

int native_run(const struct scenario *s, unsigned rep, const char *dir, struct run_result *res)
{
	struct memcg m;
	char why[1024], name[256], data[800] = "", events[1200], console[1200];
	char rec[1024], wl[1024];
	uint64_t t_start;

	memset(res, 0, sizeof *res);
	res->boot_s = res->poweroff_s = -1;
	if (find_memcg(&m, why, sizeof why)) {
		snprintf(res->status, sizeof res->status, "refused");
		snprintf(res->reason, sizeof res->reason, "%s", why);
		return -1;
	}
	/* cmd_run checked before the first run; the host may have changed since. */
	if (native_limit_check(s->memory, "", why, sizeof why)) {
		snprintf(res->status, sizeof res->status, "refused");
		snprintf(res->reason, sizeof res->reason, "%s", why);
		return -1;
	}
	if (s->data_size && data_file(s->data_size, data, sizeof data, why, sizeof why)) {
		snprintf(res->status, sizeof res->status, "broken");
		snprintf(res->reason, sizeof res->reason, "%s", why);
		return -1;
	}
	sweep_stale_memcgs(&m);
	snprintf(name, sizeof name, "%s-%d-%u", s->name, (int)getpid(), rep);
	if (make_memcg(&m, name, s->memory, why, sizeof why)) {
		snprintf(res->status, sizeof res->status, "refused");
		snprintf(res->reason, sizeof res->reason, "%s", why);
		if (m.dir[0])
			remove_memcg(&m);
		return -1;
	}

	snprintf(rec, sizeof rec, "%s/pnbench-record", pnb_bindir());
	snprintf(wl, sizeof wl, "%s/pnbench-workload", pnb_bindir());
	snprintf(events, sizeof events, "%s/events.jsonl", dir);
	snprintf(console, sizeof console, "%s/console.log", dir);
	struct record_where where = {
		.recorder = rec, .workload = wl, .out = events,
		.memcg_flag = m.version == 1 ? "--memcg-v1" : "--memcg-v2", .memcg_dir = m.dir,
		.domain = m.version == 1 ? "memcg-v1" : "memcg-v2", .data = data, .kernel = "native",
	};
	static struct record_args args;
	if (record_args_build(s, rep, &where, &args)) {
		snprintf(res->status, sizeof res->status, "broken");
		snprintf(res->reason, sizeof res->reason, "the recorder's command line is too long");
		remove_memcg(&m);
		return -1;
	}
	char **argv = args.argv;

	t_start = pnb_mono_ns();
	/* The recorder (and through it the workload) dies with pnbench. */
	pid_t pid = pnb_spawn_child(argv, NULL, console);
	if (pid < 0) {
		snprintf(res->status, sizeof res->status, "broken");
		snprintf(res->reason, sizeof res->reason, "fork: %s", strerror((int)-pid));
		remove_memcg(&m);
		return -1;
	}
	/* Outer watchdog: the recorder enforces the scenario's bound itself; if it
	 * does not come back well after that, it is hung. */
	uint64_t deadline = t_start + s->duration_ns + 60 * NS_PER_S;
	int st = 0, hung = 0;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (pnb_mono_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			hung = 1;
			break;
		}
		usleep(50000);
	}
	res->wall_s = (pnb_mono_ns() - t_start) / 1e9;
	remove_memcg(&m);

	struct events_summary sum;
	events_summarize(events, &sum);
	res->recorder_exit = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (hung) {
		snprintf(res->status, sizeof res->status, "hang");
		snprintf(res->reason, sizeof res->reason, "the recorder did not finish within the "
			 "scenario's duration + 60 s and was killed");
	} else if (sum.workload_exit_code == PNB_EXIT_USAGE) {
		snprintf(res->status, sizeof res->status, "broken");
		snprintf(res->reason, sizeof res->reason, "workload usage error: %s",
			 sum.workload_message[0] ? sum.workload_message : "(no message; see console.log)");
	} else if (res->recorder_exit != 0 || !sum.has_end) {
		snprintf(res->status, sizeof res->status, "broken");
		snprintf(res->reason, sizeof res->reason, "recorder exit status %d%s (see console.log)",
			 res->recorder_exit, sum.has_end ? "" : ", no end record");
	} else {
		res->complete = 1;
		snprintf(res->status, sizeof res->status, "ok");
	}
	return res->complete ? 0 : -1;
}
