/* pnbench-killer: a low-memory killer of the project's own, driven by one
 * mechanism, following lmkd's policy (issue 11).
 *
 * It arms one probe (any notification probe's spec: psi, vmpressure,
 * memavail, lmk, memevents) exactly as the recorder would, but reads the
 * probe's events itself: they go to a private pipe, not to the run's
 * events, so the recorder's own probe of the same spec is not counted
 * twice.  On each notification it acts on the workload's process group
 * (the apps; never anything else: natively the host's processes are out
 * of reach by construction):
 *
 *   kill     the live process with the highest oom_score_adj, ties to the
 *            largest RSS, adj 0 only when no higher one lives (the lmk
 *            rule's min_score_adj bounds it further), with pidfd_open +
 *            pidfd_send_signal + process_mrelease (5.15+), then waits on the
 *            pidfd for the exit;
 *   reclaim  process_madvise(MADV_PAGEOUT) over the mappings of the
 *            highest-adj background app not yet paged out (seed 002's
 *            /proc/PID/reclaim, as mainline has it), and memory.reclaim on
 *            a cgroup2 domain (5.19+).
 *
 * Every action is one "killer" line on the run's timeline (the recorder's
 * events fd and clock origin): decision, signal, mrelease and exit times,
 * MemAvailable before and after, the notification that caused it.  Like
 * the recorder it mlocks itself and sets oom_score_adj -1000: a killer
 * that can be killed or paged out measures nothing. */
#include "probe.h"
#include "clock.h"
#include "jsonl.h"
#include "log.h"
#include "memview.h"
#include "parse.h"
#include "procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* x86-64 numbers, for libcs whose headers predate the calls. */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#ifndef SYS_process_mrelease
#define SYS_process_mrelease 448
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define EXIT_WAIT_MS 5000	/* a victim not gone by then is reported as such */
#define MAX_IOV 1024		/* UIO_MAXIOV: process_madvise's limit per call */
#define MAX_APPS 64

enum action { ACT_KILL, ACT_RECLAIM };

struct killer {
	struct probe probe;
	struct probe_env env;
	struct jsonl out;		/* the run's events */
	struct jsonl probe_out;		/* the probe's own lines, into pipe[1] */
	int pipe[2];
	char pbuf[65536];
	size_t plen;
	enum action action;
	pid_t pgid;
	int epfd, sigfd, no_mlock;
	int have_mrelease, have_madvise;
	char mrelease_why[96], madvise_why[96];
	struct pnb_memview_src view;
	int kills, reclaims, notifications;
	pid_t reclaimed[MAX_APPS];
	int nreclaimed;
	/* External killer (earlyoom): its pid and its output. */
	int external;
	pid_t ext_pid;
	int ext_fd;
	char ebuf[8192];
	size_t elen;
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: pnbench-killer --mechanism SPEC --pgid PID [options]\n"
"  -m, --mechanism SPEC  the probe that drives it (psi:some:70ms:1s, vmpressure:critical,\n"
"                        memavail:10%%:100ms, lmk:poll:100ms, memevents, ...)\n"
"  -a, --action A        kill (default) or reclaim\n"
"      --pgid PID        act only on this process group (the workload's)\n"
"      --out-fd N        write events to fd N (default: standard output)\n"
"      --t0 NS           CLOCK_MONOTONIC origin of t_ns (the recorder's)\n"
"      --ready-fd N      write one byte to fd N once armed, then close it\n"
"      --memcg-v1 DIR, --memcg-v2 DIR, --domain D, --root DIR   as pnbench-record\n"
"      --no-mlock        do not mlockall() (tests as an unprivileged user)\n");
}

static uint64_t now_ns(void) { return pnb_mono_ns(); }

static json_t *kline(struct killer *k, const char *what, uint64_t t)
{
	json_t *o = jsonl_new(&k->out, "killer", t);
	jset_str(o, "what", what);
	jset_str(o, "mechanism", k->probe.spec);
	jset_str(o, "action", k->action == ACT_KILL ? "kill" : "reclaim");
	return o;
}

static void jset_rel(struct killer *k, json_t *o, const char *key, uint64_t t)
{
	if (t)
		jset_int(o, key, (long long)(t - k->out.t0_ns));
	else
		json_object_set_new(o, key, json_null());
}

static long long avail_kb(struct killer *k)
{
	struct pnb_memview v;
	return pnb_memview_read(&k->view, &v) ? -1 : (long long)v.available_kb;
}

static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return (int)n;
}

struct cand {
	pid_t pid;
	int adj;
	long long rss_kb;
	char comm[32];
};

/* Process pid of our group: its adj, RSS and comm.  0, or -1 when it is
 * not a candidate (gone, another group, a zombie, no memory). */
static int candidate(struct killer *k, pid_t pid, struct cand *c)
{
	char path[64], buf[1024], state;
	int pgrp;
	long long size, rss;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (read_small(path, buf, sizeof buf) <= 0)
		return -1;
	/* comm may hold spaces and parentheses: the fields start after the last ')'. */
	char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
	if (!lp || !rp || sscanf(rp + 2, "%c %*d %d", &state, &pgrp) != 2)
		return -1;
	if (pgrp != k->pgid || state == 'Z' || state == 'X')
		return -1;
	snprintf(c->comm, sizeof c->comm, "%.*s", (int)(rp - lp - 1), lp + 1);
	snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
	if (read_small(path, buf, sizeof buf) <= 0 || sscanf(buf, "%lld %lld", &size, &rss) != 2 || rss <= 0)
		return -1;
	c->rss_kb = rss * (sysconf(_SC_PAGESIZE) / 1024);
	snprintf(path, sizeof path, "/proc/%d/oom_score_adj", (int)pid);
	if (read_small(path, buf, sizeof buf) <= 0)
		return -1;
	c->adj = atoi(buf);
	c->pid = pid;
	return 0;
}

/* lmkd's choice: highest adj >= min_adj, ties to the largest RSS.  Adj 0
 * (the foreground) only when nothing above it lives, which the order
 * gives by itself.  skip_reclaimed: the reclaim action's round. */
static int choose(struct killer *k, int min_adj, int background_only, int skip_reclaimed,
		  struct cand *best, int *live)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int found = 0;

	*live = 0;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		struct cand c;
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 1 || candidate(k, (pid_t)pid, &c))
			continue;
		(*live)++;
		if (c.adj < min_adj || (background_only && c.adj <= 0))
			continue;
		if (skip_reclaimed) {
			int done = 0;
			for (int i = 0; i < k->nreclaimed; i++)
				done |= k->reclaimed[i] == c.pid;
			if (done)
				continue;
		}
		if (!found || c.adj > best->adj || (c.adj == best->adj && c.rss_kb > best->rss_kb)) {
			*best = c;
			found = 1;
		}
	}
	closedir(d);
	return found;
}

static void reason_into(json_t *o, json_t *note)
{
	json_t *r = json_object();
	const char *keys[] = { "probe", "level", "t_ns", "count", "min_score_adj", "memavail_kB",
			       "threshold_kB", "stall_us", "window_us", "delta" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		json_t *v = json_object_get(note, keys[i]);
		if (v)
			json_object_set(r, keys[i], v);
	}
	json_object_set_new(o, "reason", r);
}

static void do_kill(struct killer *k, json_t *note, uint64_t t_note)
{
	json_t *mina = json_object_get(note, "min_score_adj");
	int min_adj = json_is_integer(mina) ? (int)json_integer_value(mina) : 0, live;
	struct cand v;
	uint64_t t_decision, t_signal = 0, t_mrelease = 0, t_exit = 0;
	long long before = avail_kb(k), after_mrelease = -1, after = -1;

	if (!choose(k, min_adj, 0, 0, &v, &live)) {
		json_t *o = kline(k, "no_victim", now_ns());
		reason_into(o, note);
		jset_rel(k, o, "t_notify_ns", t_note);
		jset_int(o, "min_score_adj", min_adj);
		jset_int(o, "live", live);
		jsonl_emit(&k->out, o);
		return;
	}
	t_decision = now_ns();
	int pfd = (int)syscall(SYS_pidfd_open, v.pid, 0), e_signal = 0, e_mrelease = 0;
	if (pfd < 0) {
		e_signal = errno;
	} else if (syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0)) {
		e_signal = errno;
	} else {
		t_signal = now_ns();
		/* Frees the victim's memory now, not when its exit gets there. */
		if (k->have_mrelease) {
			if (syscall(SYS_process_mrelease, pfd, 0))
				e_mrelease = errno;
			t_mrelease = now_ns();
			after_mrelease = avail_kb(k);
		}
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		int n;
		while ((n = poll(&p, 1, EXIT_WAIT_MS)) < 0 && errno == EINTR)
			;
		if (n == 1)
			t_exit = now_ns();
		after = avail_kb(k);
	}
	if (pfd >= 0)
		close(pfd);
	k->kills += t_signal != 0;

	json_t *o = kline(k, "kill", t_decision);
	reason_into(o, note);
	jset_rel(k, o, "t_notify_ns", t_note);
	jset_rel(k, o, "t_decision_ns", t_decision);
	jset_rel(k, o, "t_signal_ns", t_signal);
	jset_rel(k, o, "t_mrelease_ns", t_mrelease);
	jset_rel(k, o, "t_exit_ns", t_exit);
	jset_int(o, "pid", v.pid);
	jset_int(o, "adj", v.adj);
	jset_int(o, "rss_kB", v.rss_kb);
	jset_str(o, "comm", v.comm);
	jset_int(o, "min_score_adj", min_adj);
	jset_int(o, "live", live);
	if (e_signal)
		jset_str(o, "signal_error", strerror(e_signal));
	if (!k->have_mrelease)
		jset_str(o, "mrelease", k->mrelease_why);
	else if (t_signal)
		jset_str(o, "mrelease", !e_mrelease ? "ok" : e_mrelease == ESRCH ?
			 "mm already gone (ESRCH): the exit released it first" : strerror(e_mrelease));
	jset_int(o, "avail_before_kB", before);
	if (after_mrelease >= 0)
		jset_int(o, "avail_after_mrelease_kB", after_mrelease);
	jset_int(o, "avail_after_kB", after);
	if (t_signal && !t_exit)
		jset_str(o, "exit", "not within 5 s");
	jsonl_emit(&k->out, o);
}

/* The app's mappings as iovecs for process_madvise. */
static int maps_iov(pid_t pid, struct iovec *iov, int max)
{
	char path[64], line[512];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	if (!(f = fopen(path, "re")))
		return -errno;
	while (n < max && fgets(line, sizeof line, f)) {
		unsigned long a, b;
		if (sscanf(line, "%lx-%lx", &a, &b) != 2 || strstr(line, "[vsyscall]") ||
		    strstr(line, "[vdso]") || strstr(line, "[vvar]"))
			continue;
		iov[n].iov_base = (void *)a;
		iov[n].iov_len = b - a;
		n++;
	}
	fclose(f);
	return n;
}

static void rss_split(pid_t pid, long long *anon, long long *file)
{
	char path[64], buf[4096], *p;

	*anon = *file = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (read_small(path, buf, sizeof buf) <= 0)
		return;
	if ((p = strstr(buf, "RssAnon:")))
		*anon = atoll(p + 8);
	if ((p = strstr(buf, "RssFile:")))
		*file = atoll(p + 8);
}

static void do_reclaim(struct killer *k, json_t *note, uint64_t t_note)
{
	struct cand v;
	int live;
	long long before = avail_kb(k), anon0, file0, anon1, file1;
	int swap = 0;
	char buf[4096], *p;

	/* Without swap only file pages (clean ones dropped, dirty written
	 * back) can leave; with swap anonymous pages can too. */
	if (read_small("/proc/meminfo", buf, sizeof buf) > 0 && (p = strstr(buf, "SwapTotal:")))
		swap = atoll(p + 10) > 0;
	if (!choose(k, 1, 1, 1, &v, &live)) {
		/* Every background app had its turn: start a new round. */
		k->nreclaimed = 0;
		if (!choose(k, 1, 1, 1, &v, &live)) {
			json_t *o = kline(k, "no_victim", now_ns());
			reason_into(o, note);
			jset_rel(k, o, "t_notify_ns", t_note);
			jset_int(o, "live", live);
			jsonl_emit(&k->out, o);
			return;
		}
	}
	uint64_t t_decision = now_ns(), t_done = 0;
	long long advised = -1;
	int err = 0;
	rss_split(v.pid, &anon0, &file0);
	if (k->have_madvise) {
		static struct iovec iov[MAX_IOV];
		int pfd = (int)syscall(SYS_pidfd_open, v.pid, 0), n;
		if (pfd < 0) {
			err = errno;
		} else if ((n = maps_iov(v.pid, iov, MAX_IOV)) < 0) {
			err = -n;
		} else {
			/* Per mapping: one that cannot be advised (VM_LOCKED, a PFN
			 * map) must not stop the rest. */
			advised = 0;
			for (int i = 0; i < n; i++) {
				long r = syscall(SYS_process_madvise, pfd, &iov[i], 1, MADV_PAGEOUT, 0);
				if (r > 0)
					advised += r;
				else if (r < 0 && !err && errno != EINVAL && errno != ENOMEM)
					err = errno;
			}
		}
		if (pfd >= 0)
			close(pfd);
	}
	/* cgroup2 memory.reclaim (5.19+): the domain's own proactive reclaim. */
	const char *cg_status = "no cgroup2 domain";
	char cgpath[700];
	if (k->env.memcg_v2[0]) {
		snprintf(cgpath, sizeof cgpath, "%s%s/memory.reclaim", k->env.root, k->env.memcg_v2);
		int fd = open(cgpath, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			cg_status = errno == ENOENT ? "absent (before 5.19)" : strerror(errno);
		} else {
			char amt[32];
			int m = snprintf(amt, sizeof amt, "%lld", v.rss_kb * 1024);
			cg_status = write(fd, amt, (size_t)m) == m ? "ok" :
				    errno == EAGAIN ? "EAGAIN (less reclaimed than asked)" : strerror(errno);
			close(fd);
		}
	}
	t_done = now_ns();
	rss_split(v.pid, &anon1, &file1);
	if (k->nreclaimed < MAX_APPS)
		k->reclaimed[k->nreclaimed++] = v.pid;
	k->reclaims++;

	json_t *o = kline(k, "reclaim", t_decision);
	reason_into(o, note);
	jset_rel(k, o, "t_notify_ns", t_note);
	jset_rel(k, o, "t_decision_ns", t_decision);
	jset_rel(k, o, "t_done_ns", t_done);
	jset_int(o, "pid", v.pid);
	jset_int(o, "adj", v.adj);
	jset_str(o, "comm", v.comm);
	jset_int(o, "rss_anon_before_kB", anon0);
	jset_int(o, "rss_file_before_kB", file0);
	jset_int(o, "rss_anon_after_kB", anon1);
	jset_int(o, "rss_file_after_kB", file1);
	jset_int(o, "advised_bytes", advised);
	jset_str(o, "madvise", !k->have_madvise ? k->madvise_why : err ? strerror(err) : "ok");
	jset_str(o, "memory_reclaim", cg_status);
	jset_str(o, "reclaimable", swap ? "anon and file (swap present)" : "file only (no swap)");
	jset_int(o, "avail_before_kB", before);
	jset_int(o, "avail_after_kB", avail_kb(k));
	jsonl_emit(&k->out, o);
}

/* The probe wrote lines into our pipe: act on each notification. */
static void drain(struct killer *k, uint64_t t_note)
{
	for (;;) {
		ssize_t n = read(k->pipe[0], k->pbuf + k->plen, sizeof k->pbuf - 1 - k->plen);
		if (n <= 0)
			break;
		k->plen += (size_t)n;
		k->pbuf[k->plen] = 0;
		char *start = k->pbuf, *nl;
		while ((nl = strchr(start, '\n'))) {
			*nl = 0;
			json_t *o = json_loads(start, 0, NULL);
			const char *type = json_string_value(json_object_get(o, "type"));
			if (type && !strcmp(type, "notify")) {
				k->notifications++;
				if (k->action == ACT_KILL)
					do_kill(k, o, t_note);
				else
					do_reclaim(k, o, t_note);
			} else if (type && !strcmp(type, "probe")) {
				/* The probe's own status lines say why it failed: pass them on. */
				json_t *x = kline(k, "probe", now_ns());
				json_object_set(x, "detail", o);
				jsonl_emit(&k->out, x);
			}
			json_decref(o);
			start = nl + 1;
		}
		k->plen -= (size_t)(start - k->pbuf);
		memmove(k->pbuf, start, k->plen);
		if (k->plen == sizeof k->pbuf - 1)
			k->plen = 0;
	}
}

/* ---- external killers: earlyoom ----
 * earlyoom (Debian's package, in the guest with its shared libraries) runs
 * with its documented defaults (-m 10: SIGTERM when MemAvailable and free
 * swap are at or below 10%, SIGKILL at 5%; no swap counts as 0% free) and
 * reports on stderr.  Its kills are read from that output ("sending SIGTERM
 * to process PID ...") and timed from here: the signal at the line, the
 * exit on the victim's pidfd.  It has no decision time of its own. */
static const char *const earlyoom_paths[] = { "/usr/bin/earlyoom", "/bin/earlyoom", NULL };

static int start_external(struct killer *k, char *why, size_t len)
{
	const char *bin = NULL;
	int p[2];

	for (int i = 0; earlyoom_paths[i]; i++)
		if (!access(earlyoom_paths[i], X_OK)) {
			bin = earlyoom_paths[i];
			break;
		}
	if (!bin) {
		snprintf(why, len, "earlyoom is not installed here (looked for /usr/bin/earlyoom, /bin/earlyoom)");
		return -1;
	}
	if (k->pgid && k->env.domain != PNB_DOMAIN_SYSTEM) {
		/* earlyoom acts on the whole machine: never on a shared host. */
		snprintf(why, len, "earlyoom kills across the whole machine: guests only, not in a memcg domain");
		return -1;
	}
	if (pipe2(p, O_CLOEXEC)) {
		snprintf(why, len, "pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], 1);
		dup2(p[1], 2);
		/* It inherits our oom_score_adj -1000 and mlock: it must not be its own victim. */
		execl(bin, bin, "-r", "0", (char *)NULL);
		dprintf(2, "cannot run %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	k->ext_pid = pid;
	k->ext_fd = p[0];
	return 0;
}

static void external_line(struct killer *k, char *line, uint64_t t)
{
	json_t *o = kline(k, "output", t);
	jset_str(o, "line", line);
	jsonl_emit(&k->out, o);
	const char *s = strstr(line, "sending SIG");
	int pid;
	char sig[16];
	if (!s || sscanf(s, "sending %15s to process %d", sig, &pid) != 2)
		return;
	long long before = avail_kb(k), after = -1;
	struct cand c = { .pid = pid, .adj = -1001, .rss_kb = -1 };
	candidate(k, pid, &c);
	uint64_t t_exit = 0;
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd >= 0) {
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		int n;
		while ((n = poll(&p, 1, EXIT_WAIT_MS)) < 0 && errno == EINTR)
			;
		if (n == 1)
			t_exit = now_ns();
		close(pfd);
	} else if (errno == ESRCH) {
		t_exit = now_ns();	/* gone before we looked: at most now */
	}
	after = avail_kb(k);
	k->kills++;
	o = kline(k, "kill", t);
	json_t *r = json_object();
	json_object_set_new(r, "probe", json_string("earlyoom"));
	json_object_set_new(r, "level", json_string(sig));
	json_object_set_new(o, "reason", r);
	jset_rel(k, o, "t_notify_ns", 0);
	jset_rel(k, o, "t_decision_ns", 0);
	jset_rel(k, o, "t_signal_ns", t);
	jset_rel(k, o, "t_mrelease_ns", 0);
	jset_rel(k, o, "t_exit_ns", t_exit);
	jset_int(o, "pid", pid);
	if (c.adj > -1001)
		jset_int(o, "adj", c.adj);
	if (c.rss_kb >= 0)
		jset_int(o, "rss_kB", c.rss_kb);
	jset_str(o, "signal", sig);
	jset_str(o, "mrelease", "earlyoom's own choice (not seen from here)");
	jset_int(o, "avail_before_kB", before);
	jset_int(o, "avail_after_kB", after);
	jsonl_emit(&k->out, o);
}

static int read_external(struct killer *k, uint64_t t)
{
	ssize_t n = read(k->ext_fd, k->ebuf + k->elen, sizeof k->ebuf - 1 - k->elen);
	if (n <= 0)
		return -1;
	k->elen += (size_t)n;
	k->ebuf[k->elen] = 0;
	char *start = k->ebuf, *nl;
	while ((nl = strchr(start, '\n'))) {
		*nl = 0;
		external_line(k, start, t);
		start = nl + 1;
	}
	k->elen -= (size_t)(start - k->ebuf);
	memmove(k->ebuf, start, k->elen);
	if (k->elen == sizeof k->ebuf - 1)
		k->elen = 0;
	return 0;
}

/* Which of the calls this kernel has: ENOSYS says absent, anything else
 * (EBADF for the fd -1) says present. */
static void detect(struct killer *k)
{
	errno = 0;
	k->have_mrelease = !(syscall(SYS_process_mrelease, -1, 0) && errno == ENOSYS);
	if (!k->have_mrelease)
		snprintf(k->mrelease_why, sizeof k->mrelease_why, "absent: process_mrelease ENOSYS (before 5.15)");
	errno = 0;
	k->have_madvise = !(syscall(SYS_process_madvise, -1, NULL, 0, MADV_PAGEOUT, 0) && errno == ENOSYS);
	if (!k->have_madvise)
		snprintf(k->madvise_why, sizeof k->madvise_why, "absent: process_madvise ENOSYS (before 5.10)");
}

static int parse_fd(const char *opt, const char *s)
{
	uint64_t v;
	if (pnb_parse_u64(s, &v) || v > 65535)
		pnb_die(2, "%s '%s': not a file descriptor number", opt, s);
	return (int)v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mechanism", required_argument, 0, 'm' }, { "action", required_argument, 0, 'a' },
		{ "pgid", required_argument, 0, 'P' }, { "out-fd", required_argument, 0, 'O' },
		{ "t0", required_argument, 0, 'T' }, { "ready-fd", required_argument, 0, 'R' },
		{ "memcg-v1", required_argument, 0, '1' }, { "memcg-v2", required_argument, 0, '2' },
		{ "domain", required_argument, 0, 'd' }, { "root", required_argument, 0, 'r' },
		{ "no-mlock", no_argument, 0, 'M' }, { "help", no_argument, 0, 'h' }, { 0 }
	};
	static struct killer kk;
	struct killer *k = &kk;
	const char *mech = NULL;
	char err[PROBE_ERR_LEN + 200], why[PROBE_ERR_LEN];
	int c, outfd = 1, ready = -1;
	uint64_t v, t0 = 0;

	pnb_set_prog("pnbench-killer");
	k->env.root = "";
	k->env.workload_pidfd = -1;
	while ((c = getopt_long(argc, argv, "m:a:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': mech = optarg; break;
		case 'a':
			if (!strcmp(optarg, "kill")) k->action = ACT_KILL;
			else if (!strcmp(optarg, "reclaim")) k->action = ACT_RECLAIM;
			else pnb_die(2, "--action '%s': not kill or reclaim", optarg);
			break;
		case 'P':
			if (pnb_parse_u64(optarg, &v) || v < 2 || v > 1u << 22)
				pnb_die(2, "--pgid '%s': not a process group id above 1", optarg);
			k->pgid = (pid_t)v;
			break;
		case 'O': outfd = parse_fd("--out-fd", optarg); break;
		case 'T':
			if (pnb_parse_u64(optarg, &t0))
				pnb_die(2, "--t0 '%s': not a CLOCK_MONOTONIC time in ns", optarg);
			break;
		case 'R': ready = parse_fd("--ready-fd", optarg); break;
		case '1':
		case '2': {
			char *dst = c == '1' ? k->env.memcg_v1 : k->env.memcg_v2;
			if (optarg[0] != '/' || strlen(optarg) >= sizeof k->env.memcg_v1)
				pnb_die(2, "--memcg-v%c '%s': need an absolute cgroup directory", c, optarg);
			strcpy(dst, optarg);
			break;
		}
		case 'd':
			if (!strcmp(optarg, "system")) k->env.domain = PNB_DOMAIN_SYSTEM;
			else if (!strcmp(optarg, "memcg-v1")) k->env.domain = PNB_DOMAIN_MEMCG_V1;
			else if (!strcmp(optarg, "memcg-v2")) k->env.domain = PNB_DOMAIN_MEMCG_V2;
			else pnb_die(2, "--domain '%s': not one of system, memcg-v1, memcg-v2", optarg);
			break;
		case 'r': k->env.root = optarg; break;
		case 'M': k->no_mlock = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc)
		pnb_die(2, "unexpected argument '%s' (see --help)", argv[optind]);
	if (!mech)
		pnb_die(2, "no --mechanism given (e.g. psi:some:70ms:1s)");
	if (!k->pgid)
		pnb_die(2, "no --pgid given: the killer acts only on the workload's process group");
	if (!strcmp(mech, "nohang")) {
		/* A row that says why it is empty rather than no row at all. */
		k->external = 2;
		snprintf(k->probe.spec, sizeof k->probe.spec, "nohang");
	} else if (!strcmp(mech, "earlyoom")) {
		k->external = 1;
		snprintf(k->probe.spec, sizeof k->probe.spec, "earlyoom");
		if (k->action != ACT_KILL)
			pnb_die(2, "--action reclaim: earlyoom only kills");
	} else {
		if (probe_from_spec(&k->probe, mech, err, sizeof err))
			pnb_die(2, "--mechanism: %s", err);
		const char *m = k->probe.ops->name;
		if (!strcmp(m, "sample") || !strcmp(m, "oom") || !strcmp(m, "reclaim"))
			pnb_die(2, "--mechanism '%s': %s is ground truth, not a notification", mech, m);
	}
	k->view.root = k->env.root;
	k->view.domain = k->env.domain;
	k->view.memcg_dir = k->env.domain == PNB_DOMAIN_MEMCG_V1 ? k->env.memcg_v1 :
			    k->env.domain == PNB_DOMAIN_MEMCG_V2 ? k->env.memcg_v2 : "";
	k->env.workload_pid = k->pgid;

	/* Die with the recorder; never be the victim of what we act on. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	jsonl_init(&k->out, outfd, t0 ? t0 : now_ns());
	detect(k);
	json_t *o = kline(k, "start", now_ns());
	jset_int(o, "pid", getpid());
	jset_int(o, "pgid", k->pgid);
	jset_str(o, "process_mrelease", k->have_mrelease ? "available" : k->mrelease_why);
	jset_str(o, "process_madvise", k->have_madvise ? "available" : k->madvise_why);
	if (pnb_write_file("", "/proc/self/oom_score_adj", "-1000", 0))
		jset_str(o, "unprotected", "cannot set oom_score_adj -1000");
	else if (!k->no_mlock && mlockall(MCL_CURRENT | MCL_FUTURE))
		jset_str(o, "unprotected", "mlockall failed");
	jsonl_emit(&k->out, o);

	if (pipe2(k->pipe, O_CLOEXEC | O_NONBLOCK))
		pnb_die(1, "pipe: %s", strerror(errno));
	jsonl_init(&k->probe_out, k->pipe[1], k->out.t0_ns);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	k->sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	k->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (k->sigfd < 0 || k->epfd < 0)
		pnb_die(1, "cannot set up the event loop: %s", strerror(errno));
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 1ULL << 40 };
	epoll_ctl(k->epfd, EPOLL_CTL_ADD, k->sigfd, &ev);

	why[0] = 0;
	int armed = 0;
	if (k->external == 2) {
		o = kline(k, "unsupported", now_ns());
		jset_str(o, "reason", "nohang is a Python 3 program: the guest image carries no Python "
			 "(interpreter and standard library would be tens of MB in a 256 MB guest's initramfs)");
		jsonl_emit(&k->out, o);
	} else if (k->external) {
		if (start_external(k, why, sizeof why)) {
			o = kline(k, "unsupported", now_ns());
			jset_str(o, "reason", why);
			jsonl_emit(&k->out, o);
		} else {
			ev.events = EPOLLIN;
			ev.data.u64 = 1ULL << 41;
			epoll_ctl(k->epfd, EPOLL_CTL_ADD, k->ext_fd, &ev);
			o = kline(k, "armed", now_ns());
			jset_int(o, "external_pid", k->ext_pid);
			jsonl_emit(&k->out, o);
		}
	} else if (k->probe.ops->supported(&k->probe, &k->env, why, sizeof why) ||
	    (k->probe.env = &k->env, k->probe.ops->open(&k->probe, &k->env, &k->probe_out, why, sizeof why))) {
		o = kline(k, "unsupported", now_ns());
		jset_str(o, "reason", why[0] ? why : "not supported by this kernel");
		jsonl_emit(&k->out, o);
	} else {
		armed = 1;
		for (int i = 0; i < k->probe.nfd; i++) {
			ev.events = k->probe.events[i] ? k->probe.events[i] : EPOLLIN;
			ev.data.u64 = (uint64_t)i;
			epoll_ctl(k->epfd, EPOLL_CTL_ADD, k->probe.fd[i], &ev);
		}
		if (k->probe.ops->started)
			k->probe.ops->started(&k->probe, &k->env, &k->probe_out);
		drain(k, now_ns());
		jsonl_emit(&k->out, kline(k, "armed", now_ns()));
	}
	if (ready >= 0) {
		(void)!write(ready, "k", 1);
		close(ready);
	}
	for (int done = 0; !done;) {
		struct epoll_event evs[16];
		int n = epoll_wait(k->epfd, evs, 16, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < n; i++) {
			uint64_t t = now_ns();
			if (evs[i].data.u64 == 1ULL << 40) {
				done = 1;
				continue;
			}
			if (evs[i].data.u64 == 1ULL << 41) {
				if (read_external(k, t)) {
					epoll_ctl(k->epfd, EPOLL_CTL_DEL, k->ext_fd, NULL);
					o = kline(k, "dropped", now_ns());
					jset_str(o, "reason", "earlyoom exited");
					jsonl_emit(&k->out, o);
				}
				continue;
			}
			int e = armed ? k->probe.ops->handle(&k->probe, (int)evs[i].data.u64, t, &k->probe_out) : 0;
			drain(k, t);
			if (e) {
				o = kline(k, "dropped", now_ns());
				jset_str(o, "reason", strerror(-e));
				jsonl_emit(&k->out, o);
				for (int f = 0; f < k->probe.nfd; f++)
					epoll_ctl(k->epfd, EPOLL_CTL_DEL, k->probe.fd[f], NULL);
				armed = 0;
			}
		}
	}
	if (armed)
		k->probe.ops->close(&k->probe, &k->probe_out);
	if (k->ext_pid > 0) {
		/* Its last lines, for at most a second; then it goes. */
		struct pollfd p = { .fd = k->ext_fd, .events = POLLIN };
		kill(k->ext_pid, SIGTERM);
		uint64_t until = now_ns() + NS_PER_S;
		while (now_ns() < until && poll(&p, 1, 100) == 1 && read_external(k, now_ns()) == 0)
			;
		kill(k->ext_pid, SIGKILL);
		waitpid(k->ext_pid, NULL, 0);
	}
	o = kline(k, "end", now_ns());
	jset_int(o, "notifications", k->notifications);
	jset_int(o, "kills", k->kills);
	jset_int(o, "reclaims", k->reclaims);
	jsonl_emit(&k->out, o);
	return k->out.error ? 1 : 0;
}
