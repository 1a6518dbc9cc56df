/* pnbench-record: arms the probes, starts the workload, and writes every
 * event and sample as JSON lines on one CLOCK_MONOTONIC timeline.
 *
 * The thing that measures must not be the victim of what it measures: the
 * recorder mlocks itself, sets oom_score_adj -1000, optionally runs
 * SCHED_FIFO, and keeps the workload in its own memory cgroup when told. */
#include "probe.h"
#include "clock.h"
#include "jsonl.h"
#include "log.h"
#include "parse.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include "lava.h"
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <poll.h>
#include <unistd.h>

#define MAX_PROBES 64

/* epoll tags: probes use (index << 16 | fd index); the rest are fixed. */
enum {
	TAG_SIGNAL = 1ULL << 40,
	TAG_PROGRESS,
	TAG_PIDFD,
	TAG_TIMER,
	TAG_STDERR,
};

struct labels { int n; char *kv[32]; };

struct recorder {
	struct jsonl out;
	struct probe_env env;
	struct probe probes[MAX_PROBES];
	int armed[MAX_PROBES];
	/* Per-probe CPU (issue 13): thread CPU time spent in each probe's own
	 * calls, so a mechanism that polls pays for its polling in the report
	 * rather than the harness.  ever_armed keeps a probe dropped mid-run
	 * in the end event: what it cost until then was spent. */
	int ever_armed[MAX_PROBES];
	uint64_t cpu_ns[MAX_PROBES];
	int nprobes;
	int epfd, sigfd, timerfd, progress_fd, pidfd, stderr_fd;
	pid_t child;
	int child_done, child_status;
	uint64_t duration_ns, grace_ns;
	int fifo_prio, no_mlock;
	char **argv;
	struct labels labels;
	const char *end_reason;
	/* The killer (issue 11): pnbench-killer beside the workload. */
	const char *killer_spec, *killer_action;
	pid_t killer_pid;
	char progress_buf[4096];
	size_t progress_len;
	/* The workload's standard error passes through us on its way to ours,
	 * so its last line can be quoted when it fails: a usage error (exit
	 * 2) must reach the host's verdict with the workload's own words. */
	char err_line[512];		/* the line being read */
	size_t err_len;
	char err_last[512];		/* the last complete non-empty line */
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: pnbench-record [options] -- WORKLOAD [ARGS...]\n"
"  -p, --probe SPEC      arm a probe (repeat); 'pnbench probes' lists them\n"
"  -o, --out FILE        events file (JSON lines; default: standard output)\n"
"      --memcg-v1 DIR    run the workload in this cgroup v1 memory cgroup\n"
"      --memcg-v2 DIR    run the workload in this cgroup2 cgroup\n"
"      --domain D        memory domain for memavail/lmk/sampler: system,\n"
"                        memcg-v1 or memcg-v2 (default: system)\n"
"      --duration D      kill the workload after D (e.g. 120s)\n"
"      --grace D         keep recording D after the workload ends (default 1s)\n"
"      --fifo PRIO       run the recorder SCHED_FIFO at PRIO (1-99)\n"
"      --no-mlock        do not mlockall() (tests as an unprivileged user)\n"
"      --root DIR        probes read /proc and cgroup files under DIR\n"
"      --label K=V       add K=V to the header line (repeat)\n"
"      --killer SPEC     start pnbench-killer driven by this mechanism (a probe\n"
"                        spec, or earlyoom) on the workload's process group\n"
"      --killer-action A kill (default) or reclaim\n"
"      --lava            at the end, print LAVA test-case signal lines (first\n"
"                        notification, lead before the OOM kill, counts) on\n"
"                        standard error; needs --out\n");
}

static json_t *jstr(const char *s) { return json_string(s ? s : ""); }

static void header(struct recorder *r)
{
	json_t *h = jsonl_new(&r->out, "header", pnb_mono_ns());
	struct utsname u;
	char buf[8192];
	json_t *a;

	jset_str(h, "schema", PNB_EVENTS_SCHEMA);
	jset_str(h, "clock", "CLOCK_MONOTONIC");
	jset_int(h, "t0_mono_ns", (long long)r->out.t0_ns);
	jset_int(h, "t0_realtime_s", (long long)time(NULL));
	if (uname(&u) == 0) {
		jset_str(h, "kernel_release", u.release);
		jset_str(h, "kernel_version", u.version);
		jset_str(h, "machine", u.machine);
		jset_str(h, "hostname", u.nodename);
	}
	if (pnb_read_file("", "/proc/cmdline", buf, sizeof buf) > 0) {
		buf[strcspn(buf, "\n")] = 0;
		jset_str(h, "kernel_cmdline", buf);
		/* psi= decides whether PSI exists at all on CONFIG_PSI_DEFAULT_DISABLED kernels. */
		char *psi = strstr(buf, "psi=");
		char val[16] = "default";
		if (psi && (psi == buf || psi[-1] == ' '))
			sscanf(psi + 4, "%15[^ ]", val);
		jset_str(h, "psi_setting", val);
	}
	/* cgroup mounts and their options: which hierarchy owns memory matters. */
	a = json_array();
	if (pnb_read_file("", "/proc/self/mountinfo", buf, sizeof buf) > 0) {
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
			if (strstr(line, " - cgroup ") || strstr(line, " - cgroup2 "))
				json_array_append_new(a, jstr(line));
	}
	json_object_set_new(h, "cgroup_mounts", a);
	jset_int(h, "cpus_online", sysconf(_SC_NPROCESSORS_ONLN));
	jset_int(h, "cpus_configured", sysconf(_SC_NPROCESSORS_CONF));
	jset_int(h, "page_size", sysconf(_SC_PAGESIZE));
	jset_str(h, "domain", pnb_domain_name(r->env.domain));
	jset_str(h, "memcg_v1", r->env.memcg_v1);
	jset_str(h, "memcg_v2", r->env.memcg_v2);
	jset_int(h, "duration_ns", (long long)r->duration_ns);
	if (r->killer_spec) {
		jset_str(h, "killer", r->killer_spec);
		jset_str(h, "killer_action", r->killer_action ? r->killer_action : "kill");
	}
	a = json_array();
	for (int i = 0; i < r->nprobes; i++)
		json_array_append_new(a, jstr(r->probes[i].spec));
	json_object_set_new(h, "probes", a);
	a = json_array();
	for (char **p = r->argv; *p; p++)
		json_array_append_new(a, jstr(*p));
	json_object_set_new(h, "workload_argv", a);
	json_t *l = json_object();
	for (int i = 0; i < r->labels.n; i++) {
		char *eq = strchr(r->labels.kv[i], '=');
		*eq = 0;
		json_object_set_new(l, r->labels.kv[i], jstr(eq + 1));
		*eq = '=';
	}
	json_object_set_new(h, "labels", l);
	jsonl_emit(&r->out, h);
}

static void recorder_event(struct recorder *r, const char *what, const char *detail)
{
	json_t *o = jsonl_new(&r->out, "recorder", pnb_mono_ns());
	jset_str(o, "what", what);
	if (detail)
		jset_str(o, "detail", detail);
	jsonl_emit(&r->out, o);
}

static void probe_status(struct recorder *r, struct probe *p, const char *status, const char *reason)
{
	json_t *o = jsonl_new(&r->out, "probe", pnb_mono_ns());
	jset_str(o, "probe", p->spec);
	jset_str(o, "mech", p->ops->name);
	jset_str(o, "status", status);
	if (reason)
		jset_str(o, "reason", reason);
	jsonl_emit(&r->out, o);
}

/* What protects the recorder, as the kernel now holds it: its policy,
 * oom_score_adj, and its memory cgroup with that cgroup's memory.min
 * (in guests /init puts it in a cgroup2 sibling of the workload's with
 * memory.min; on a v1 boot it stays in the root memcg, which has none). */
static void protection_event(struct recorder *r)
{
	char buf[1024], cg[512] = "", path[700];
	json_t *o = jsonl_new(&r->out, "recorder", pnb_mono_ns());
	int pol = sched_getscheduler(0);
	struct sched_param sp = { 0 };

	jset_str(o, "what", "protection");
	sched_getparam(0, &sp);
	jset_str(o, "sched", pol == SCHED_FIFO ? "fifo" : pol == SCHED_RR ? "rr" : "other");
	jset_int(o, "sched_priority", sp.sched_priority);
	if (pnb_read_file("", "/proc/self/oom_score_adj", buf, sizeof buf) > 0)
		jset_int(o, "oom_score_adj", atoi(buf));
	/* "0::/path" is the cgroup2 line; "N:memory:/path" the v1 memcg. */
	if (pnb_read_file("", "/proc/self/cgroup", buf, sizeof buf) > 0) {
		for (char *sv = NULL, *l = strtok_r(buf, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv)) {
			char *c2 = strchr(l, ':'), *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
			if (!c3)
				continue;
			if (!strncmp(c2, ":memory:", 8)) {
				snprintf(cg, sizeof cg, "v1:%s", c3 + 1);
				break;
			}
			if (!strncmp(c2, "::", 2))
				snprintf(cg, sizeof cg, "v2:%s", c3 + 1);
		}
	}
	jset_str(o, "memcg", cg);
	/* memory.min lives in the cgroup2 directory; the root has none. */
	snprintf(path, sizeof path, "/sys/fs/cgroup/unified%s/memory.min", cg + 3);
	if (!strncmp(cg, "v2:", 3) && pnb_read_file("", path, buf, sizeof buf) <= 0) {
		snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.min", cg + 3);
		if (pnb_read_file("", path, buf, sizeof buf) <= 0)
			buf[0] = 0;
	} else if (strncmp(cg, "v2:", 3)) {
		buf[0] = 0;
	}
	buf[strcspn(buf, "\n")] = 0;
	jset_str(o, "memory_min", buf[0] ? buf : "none");
	jsonl_emit(&r->out, o);
}

/* Protect the recorder from the pressure it measures.  Failures are recorded,
 * not fatal: an unprivileged test run still measures, and says it was exposed. */
static void protect_self(struct recorder *r)
{
	char msg[128];

	if (pnb_write_file("", "/proc/self/oom_score_adj", "-1000", 0))
		recorder_event(r, "unprotected", "cannot set oom_score_adj -1000");
	if (!r->no_mlock && mlockall(MCL_CURRENT | MCL_FUTURE)) {
		snprintf(msg, sizeof msg, "mlockall: %s", strerror(errno));
		recorder_event(r, "unprotected", msg);
	}
	if (r->fifo_prio) {
		struct sched_param sp = { .sched_priority = r->fifo_prio };
		if (sched_setscheduler(0, SCHED_FIFO, &sp)) {
			snprintf(msg, sizeof msg, "SCHED_FIFO %d: %s", r->fifo_prio, strerror(errno));
			recorder_event(r, "unprotected", msg);
		}
	}
	protection_event(r);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Charge the CPU time since t0 (thread_cpu_ns()) to probe i. */
static void charge(struct recorder *r, int i, uint64_t t0)
{
	uint64_t t1 = thread_cpu_ns();

	if (t1 > t0)
		r->cpu_ns[i] += t1 - t0;
}

static int epoll_add(struct recorder *r, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };
	return epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static void drop_probe(struct recorder *r, int i, const char *why)
{
	struct probe *p = &r->probes[i];

	for (int k = 0; k < p->nfd; k++)
		if (p->fd[k] >= 0)
			epoll_ctl(r->epfd, EPOLL_CTL_DEL, p->fd[k], NULL);
	probe_status(r, p, "dropped", why);
	uint64_t t0 = thread_cpu_ns();
	p->ops->close(p, &r->out);
	charge(r, i, t0);
	r->armed[i] = 0;
}

static void arm_probes(struct recorder *r)
{
	char why[PROBE_ERR_LEN];

	for (int i = 0; i < r->nprobes; i++) {
		struct probe *p = &r->probes[i];
		why[0] = 0;
		if (p->ops->supported(p, &r->env, why, sizeof why)) {
			probe_status(r, p, "unsupported", why[0] ? why : "not supported by this kernel");
			continue;
		}
		p->env = &r->env;
		uint64_t t0 = thread_cpu_ns();
		int e = p->ops->open(p, &r->env, &r->out, why, sizeof why);
		charge(r, i, t0);
		if (e) {
			probe_status(r, p, "unsupported", why[0] ? why : "open failed");
			continue;
		}
		r->armed[i] = r->ever_armed[i] = 1;
		for (int k = 0; k < p->nfd; k++) {
			int e = epoll_add(r, p->fd[k], p->events[k] ? p->events[k] : EPOLLIN,
					  ((uint64_t)i << 16) | (uint64_t)k);
			if (e) {
				snprintf(why, sizeof why, "epoll: %s", strerror(-e));
				drop_probe(r, i, why);
				break;
			}
		}
		if (r->armed[i])
			probe_status(r, p, "armed", NULL);
	}
}

static int join_cgroup(const char *dir, pid_t pid, char *why, size_t len)
{
	char path[600], num[32];
	int e;

	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	snprintf(num, sizeof num, "%d", (int)pid);
	e = pnb_write_file("", path, num, 0);
	if (e)
		snprintf(why, len, "cannot move the workload into %s: %s", dir, strerror(-e));
	return e;
}

/* pnbench-killer, beside this program: armed before the workload may
 * allocate (it says so on the ready pipe), acting on the workload's
 * process group, writing to our events fd on our clock.  A killer that
 * cannot start is recorded and the run goes on: the analysis reports the
 * cell as having no working killer rather than losing the run. */
static void start_killer(struct recorder *r, pid_t pgid)
{
	char exe[4096], bin[4200], fdnum[16], rfd[16], pg[16], t0[32], why[300];
	const char *argv[32];
	int ready[2], n = 0;
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);

	if (len <= 0) {
		recorder_event(r, "killer_failed", "cannot find pnbench-killer: /proc/self/exe unreadable");
		return;
	}
	exe[len] = 0;
	*strrchr(exe, '/') = 0;
	snprintf(bin, sizeof bin, "%s/pnbench-killer", exe);
	if (pipe2(ready, O_CLOEXEC)) {
		recorder_event(r, "killer_failed", "pipe failed");
		return;
	}
	snprintf(pg, sizeof pg, "%d", (int)pgid);
	snprintf(t0, sizeof t0, "%llu", (unsigned long long)r->out.t0_ns);
	argv[n++] = bin;
	argv[n++] = "--mechanism";
	argv[n++] = r->killer_spec;
	argv[n++] = "--action";
	argv[n++] = r->killer_action ? r->killer_action : "kill";
	argv[n++] = "--pgid";
	argv[n++] = pg;
	argv[n++] = "--t0";
	argv[n++] = t0;
	argv[n++] = "--out-fd";
	argv[n++] = fdnum;
	argv[n++] = "--ready-fd";
	argv[n++] = rfd;
	argv[n++] = "--domain";
	argv[n++] = r->env.domain == PNB_DOMAIN_MEMCG_V1 ? "memcg-v1" :
		    r->env.domain == PNB_DOMAIN_MEMCG_V2 ? "memcg-v2" : "system";
	if (r->env.memcg_v1[0]) {
		argv[n++] = "--memcg-v1";
		argv[n++] = r->env.memcg_v1;
	}
	if (r->env.memcg_v2[0]) {
		argv[n++] = "--memcg-v2";
		argv[n++] = r->env.memcg_v2;
	}
	if (r->env.root[0]) {
		argv[n++] = "--root";
		argv[n++] = r->env.root;
	}
	if (r->no_mlock)
		argv[n++] = "--no-mlock";
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, sizeof why, "fork: %s", strerror(errno));
		recorder_event(r, "killer_failed", why);
		close(ready[0]);
		close(ready[1]);
		return;
	}
	if (pid == 0) {
		/* The two fds it needs survive exec; the rest are CLOEXEC. */
		int ofd = dup(r->out.fd), wfd = dup(ready[1]);
		sigset_t none;
		snprintf(fdnum, sizeof fdnum, "%d", ofd);
		snprintf(rfd, sizeof rfd, "%d", wfd);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(bin, (char *const *)argv);
		dprintf(2, "pnbench-record: cannot run %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	close(ready[1]);
	r->killer_pid = pid;
	/* Wait for it to arm (or fail) before the workload may allocate. */
	struct pollfd p = { .fd = ready[0], .events = POLLIN };
	char c;
	if (poll(&p, 1, 10000) != 1 || read(ready[0], &c, 1) != 1) {
		snprintf(why, sizeof why, "%s did not arm within 10 s or exited", bin);
		recorder_event(r, "killer_failed", why);
	}
	close(ready[0]);
}

/* At the end: SIGTERM, so its end line lands before ours. */
static void stop_killer(struct recorder *r)
{
	if (r->killer_pid <= 0)
		return;
	kill(r->killer_pid, SIGTERM);
	for (int i = 0; i < 500; i++) {
		if (waitpid(r->killer_pid, NULL, WNOHANG) == r->killer_pid)
			return;
		usleep(10000);
	}
	kill(r->killer_pid, SIGKILL);
	waitpid(r->killer_pid, NULL, 0);
	recorder_event(r, "killer_stop_timeout", "pnbench-killer did not end within 5 s of SIGTERM: killed");
}

/* Fork the workload stopped at a gate, put it in its cgroups, then open the
 * gate: the workload never allocates a page outside its cgroup. */
static int start_workload(struct recorder *r)
{
	int gate[2], execerr[2], prog[2], errp[2];
	char why[700], fdnum[16];
	pid_t pid;

	if (pipe2(gate, O_CLOEXEC) || pipe2(execerr, O_CLOEXEC) || pipe2(prog, O_CLOEXEC) ||
	    pipe2(errp, O_CLOEXEC)) {
		pnb_err("pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		pnb_err("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		char c;
		int wfd;
		setpgid(0, 0);
		/* Its own process group keeps a terminal's Ctrl-C from it, so it
		 * must die with the recorder another way. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(gate[1]);
		close(execerr[0]);
		close(prog[0]);
		close(errp[0]);
		if (dup2(errp[1], 2) < 0)
			_exit(127);
		/* The write end must survive exec: dup it without O_CLOEXEC. */
		wfd = dup(prog[1]);
		snprintf(fdnum, sizeof fdnum, "%d", wfd);
		setenv("PNBENCH_PROGRESS_FD", fdnum, 1);
		if (read(gate[0], &c, 1) != 1)
			_exit(127);
		/* Workloads are ordinary processes: undo what the recorder set. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		munlockall();
		pnb_write_file("", "/proc/self/oom_score_adj", "0", 0);
		struct sched_param sp = { 0 };
		sched_setscheduler(0, SCHED_OTHER, &sp);
		execvp(r->argv[0], r->argv);
		int e = errno;
		(void)!write(execerr[1], &e, sizeof e);
		_exit(127);
	}
	close(gate[0]);
	close(execerr[1]);
	close(prog[1]);
	close(errp[1]);
	r->child = pid;
	r->progress_fd = prog[0];
	fcntl(r->progress_fd, F_SETFL, O_NONBLOCK);
	r->stderr_fd = errp[0];
	fcntl(r->stderr_fd, F_SETFL, O_NONBLOCK);
	if ((r->env.memcg_v1[0] && join_cgroup(r->env.memcg_v1, pid, why, sizeof why)) ||
	    (r->env.memcg_v2[0] && join_cgroup(r->env.memcg_v2, pid, why, sizeof why))) {
		pnb_err("%s", why);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	if (r->killer_spec)
		start_killer(r, pid);
	r->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	r->env.workload_pid = pid;
	r->env.workload_pidfd = r->pidfd;
	for (int i = 0; i < r->nprobes; i++)
		if (r->armed[i] && r->probes[i].ops->started) {
			uint64_t t0 = thread_cpu_ns();
			r->probes[i].ops->started(&r->probes[i], &r->env, &r->out);
			charge(r, i, t0);
		}

	json_t *o = jsonl_new(&r->out, "truth", pnb_mono_ns());
	jset_str(o, "what", "workload_start");
	jset_str(o, "source", "recorder");
	jset_int(o, "pid", pid);
	jsonl_emit(&r->out, o);

	if (write(gate[1], "g", 1) != 1) {
		pnb_err("cannot start the workload: %s", strerror(errno));
		return -1;
	}
	close(gate[1]);
	int e;
	ssize_t n = read(execerr[0], &e, sizeof e);
	close(execerr[0]);
	if (n == sizeof e) {
		pnb_err("cannot run workload '%s': %s", r->argv[0], strerror(e));
		waitpid(pid, NULL, 0);
		return -1;
	}
	if (r->pidfd >= 0)
		epoll_add(r, r->pidfd, EPOLLIN, TAG_PIDFD);
	else
		recorder_event(r, "no_pidfd", "pidfd_open unavailable: workload death from SIGCHLD");
	epoll_add(r, r->progress_fd, EPOLLIN, TAG_PROGRESS);
	epoll_add(r, r->stderr_fd, EPOLLIN, TAG_STDERR);
	return 0;
}

static void take_err_line(struct recorder *r)
{
	size_t n = r->err_len;

	while (n && (r->err_line[n - 1] == '\r' || r->err_line[n - 1] == ' '))
		n--;
	if (n) {
		memcpy(r->err_last, r->err_line, n);
		r->err_last[n] = 0;
	}
	r->err_len = 0;
}

/* Forward what the workload wrote on stderr to ours, at once (the console
 * keeps its order), remembering its last line.  Non-blocking: returns when
 * the pipe is empty. */
static void read_stderr(struct recorder *r)
{
	char buf[4096];

	while (r->stderr_fd >= 0) {
		ssize_t n = read(r->stderr_fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0 || errno != EAGAIN) {
				epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->stderr_fd, NULL);
				close(r->stderr_fd);
				r->stderr_fd = -1;
				if (r->err_len)
					take_err_line(r);
			}
			return;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(2, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += w;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n')
				take_err_line(r);
			else if (r->err_len < sizeof r->err_line - 1)
				r->err_line[r->err_len++] = buf[i] && buf[i] != '\r' ? buf[i] : ' ';
		}
	}
}

static void progress_line(struct recorder *r, char *line, uint64_t now)
{
	char what[64];
	unsigned long long v;
	json_t *o;

	if (sscanf(line, "progress %63s %llu", what, &v) == 2) {
		o = jsonl_new(&r->out, "progress", now);
		jset_str(o, "what", what);
		jset_int(o, "value", (long long)v);
	} else if (sscanf(line, "result %63s", what) == 1) {
		/* A benchmark workload's measurement: "result KEY VALUE". */
		const char *val = line + strlen("result ") + strlen(what);
		double d;
		char *end;
		while (*val == ' ')
			val++;
		d = strtod(val, &end);
		o = jsonl_new(&r->out, end != val && !*end ? "result" : "recorder", now);
		if (end != val && !*end) {
			jset_str(o, "key", what);
			jset_real(o, "value", d);
		} else {
			jset_str(o, "what", "bad_progress_line");
			jset_str(o, "detail", line);
		}
	} else if (!strncmp(line, "app ", 4)) {
		/* An app of the apps workload: who is who for the killer outcomes. */
		int pid, adj;
		char role[32];
		unsigned long long anon, file;
		if (sscanf(line, "app %d %d %31s %llu %llu", &pid, &adj, role, &anon, &file) == 5) {
			o = jsonl_new(&r->out, "app", now);
			jset_int(o, "pid", pid);
			jset_int(o, "adj", adj);
			jset_str(o, "role", role);
			jset_int(o, "anon_bytes", (long long)anon);
			jset_int(o, "file_bytes", (long long)file);
		} else {
			o = jsonl_new(&r->out, "recorder", now);
			jset_str(o, "what", "bad_progress_line");
			jset_str(o, "detail", line);
		}
	} else if (sscanf(line, "phase %63s", what) == 1) {
		o = jsonl_new(&r->out, "phase", now);
		jset_str(o, "phase", what);
	} else {
		o = jsonl_new(&r->out, "recorder", now);
		jset_str(o, "what", "bad_progress_line");
		jset_str(o, "detail", line);
	}
	jsonl_emit(&r->out, o);
}

static void read_progress(struct recorder *r)
{
	uint64_t now = pnb_mono_ns();

	for (;;) {
		ssize_t n = read(r->progress_fd, r->progress_buf + r->progress_len,
				 sizeof r->progress_buf - 1 - r->progress_len);
		if (n <= 0) {
			if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->progress_fd, NULL);
				close(r->progress_fd);
				r->progress_fd = -1;
			}
			return;
		}
		r->progress_len += (size_t)n;
		r->progress_buf[r->progress_len] = 0;
		char *start = r->progress_buf, *nl;
		while ((nl = strchr(start, '\n'))) {
			*nl = 0;
			progress_line(r, start, now);
			start = nl + 1;
		}
		r->progress_len -= (size_t)(start - r->progress_buf);
		memmove(r->progress_buf, start, r->progress_len);
		if (r->progress_len == sizeof r->progress_buf - 1)
			r->progress_len = 0;	/* a line this long is garbage */
	}
}

static void reap(struct recorder *r, const char *source)
{
	int st;

	if (r->child_done || waitpid(r->child, &st, WNOHANG) != r->child)
		return;
	uint64_t now = pnb_mono_ns();
	r->child_done = 1;
	r->child_status = st;
	/* Its last words were written before it exited: they are in the pipe. */
	read_stderr(r);
	if (r->err_len)
		take_err_line(r);
	json_t *o = jsonl_new(&r->out, "truth", now);
	jset_str(o, "what", "workload_exit");
	jset_str(o, "source", source);
	jset_int(o, "pid", r->child);
	if (WIFEXITED(st))
		jset_int(o, "exit_code", WEXITSTATUS(st));
	if (WIFEXITED(st) && WEXITSTATUS(st) && r->err_last[0])
		jset_str(o, "message", r->err_last);
	else if (WIFSIGNALED(st)) {
		jset_int(o, "signal", WTERMSIG(st));
		jset_str(o, "signal_name", sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
	}
	jsonl_emit(&r->out, o);
	/* Keep listening a little: late notifications are part of the answer. */
	struct itimerspec its = { .it_value = { .tv_sec = r->grace_ns / NS_PER_S,
						.tv_nsec = r->grace_ns % NS_PER_S } };
	if (r->grace_ns == 0)
		its.it_value.tv_nsec = 1;
	timerfd_settime(r->timerfd, 0, &its, NULL);
	if (!r->end_reason)
		r->end_reason = "workload_exit";
}

static void stop_workload(struct recorder *r, const char *reason)
{
	if (!r->end_reason)
		r->end_reason = reason;
	if (!r->child_done) {
		kill(-r->child, SIGKILL);
		kill(r->child, SIGKILL);
	}
}

static void end_line(struct recorder *r)
{
	struct rusage ru;
	uint64_t now = pnb_mono_ns();
	json_t *o = jsonl_new(&r->out, "end", now);

	getrusage(RUSAGE_SELF, &ru);
	jset_str(o, "reason", r->end_reason ? r->end_reason : "unknown");
	if (r->child_done) {
		if (WIFEXITED(r->child_status))
			jset_int(o, "workload_exit_code", WEXITSTATUS(r->child_status));
		else if (WIFSIGNALED(r->child_status))
			jset_int(o, "workload_signal", WTERMSIG(r->child_status));
	}
	long long cpu_ns = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * (long long)NS_PER_S +
			   (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * (long long)NS_PER_US;
	jset_int(o, "recorder_cpu_ns", cpu_ns);
	/* Keyed by spec as the probe status events name it; a spec given
	 * twice is one mechanism armed twice, so its costs add up. */
	json_t *pc = json_object();
	for (int i = 0; i < r->nprobes; i++) {
		if (!r->ever_armed[i])
			continue;
		json_t *prev = json_object_get(pc, r->probes[i].spec);
		long long sum = (long long)r->cpu_ns[i] + (prev ? json_integer_value(prev) : 0);
		json_object_set_new(pc, r->probes[i].spec, json_integer(sum));
	}
	json_object_set_new(o, "probe_cpu_ns", pc);
	jset_int(o, "recorder_maxrss_kB", ru.ru_maxrss);
	jset_int(o, "lines", (long long)r->out.lines + 1);
	jsonl_emit(&r->out, o);
}

static int loop(struct recorder *r)
{
	struct epoll_event evs[32];

	for (;;) {
		int n = epoll_wait(r->epfd, evs, 32, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pnb_err("epoll_wait: %s", strerror(errno));
			return -1;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			uint64_t now = pnb_mono_ns();

			if (tag == TAG_SIGNAL) {
				struct signalfd_siginfo si;
				while (read(r->sigfd, &si, sizeof si) == sizeof si) {
					if (si.ssi_signo == SIGCHLD)
						reap(r, "sigchld");
					else
						stop_workload(r, "signal");
				}
			} else if (tag == TAG_PIDFD) {
				epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->pidfd, NULL);
				reap(r, "pidfd");
			} else if (tag == TAG_PROGRESS) {
				read_progress(r);
			} else if (tag == TAG_STDERR) {
				read_stderr(r);
			} else if (tag == TAG_TIMER) {
				uint64_t x;
				(void)!read(r->timerfd, &x, sizeof x);
				if (r->child_done)
					return 0;
				stop_workload(r, "duration");
			} else {
				int pi = (int)(tag >> 16), k = (int)(tag & 0xffff);
				struct probe *p = &r->probes[pi];
				if (!r->armed[pi])
					continue;
				uint64_t t0 = thread_cpu_ns();
				int e = p->ops->handle(p, k, now, &r->out);
				charge(r, pi, t0);
				if (e) {
					char why[160];
					snprintf(why, sizeof why, "probe failed during the run: %s", strerror(-e));
					drop_probe(r, pi, why);
				}
			}
		}
		if (r->out.error) {
			pnb_err("writing events: %s", strerror(-r->out.error));
			stop_workload(r, "write_error");
			return -1;
		}
	}
}

/* --lava: the events file to read back for LAVA signal lines at the end. */
static const char *lava_events;

static int parse_args(struct recorder *r, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "probe", required_argument, 0, 'p' }, { "out", required_argument, 0, 'o' },
		{ "memcg-v1", required_argument, 0, '1' }, { "memcg-v2", required_argument, 0, '2' },
		{ "domain", required_argument, 0, 'd' }, { "duration", required_argument, 0, 'D' },
		{ "grace", required_argument, 0, 'g' }, { "fifo", required_argument, 0, 'f' },
		{ "no-mlock", no_argument, 0, 'M' }, { "root", required_argument, 0, 'r' },
		{ "label", required_argument, 0, 'l' }, { "help", no_argument, 0, 'h' },
		{ "killer", required_argument, 0, 'K' }, { "killer-action", required_argument, 0, 'A' },
		{ "lava", no_argument, 0, 'L' }, { 0 }
	};
	char err[PROBE_ERR_LEN + 200];
	const char *out = NULL;
	int lava = 0;
	uint64_t v;
	int c;

	r->grace_ns = NS_PER_S;
	while ((c = getopt_long(argc, argv, "+p:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (r->nprobes >= MAX_PROBES)
				pnb_die(2, "--probe: more than %d probes", MAX_PROBES);
			if (probe_from_spec(&r->probes[r->nprobes], optarg, err, sizeof err))
				pnb_die(2, "%s", err);
			r->nprobes++;
			break;
		case 'o': out = optarg; break;
		case '1':
		case '2': {
			char *dst = c == '1' ? r->env.memcg_v1 : r->env.memcg_v2;
			if (optarg[0] != '/' || strlen(optarg) >= sizeof r->env.memcg_v1)
				pnb_die(2, "--memcg-v%c '%s': need an absolute cgroup directory", c, optarg);
			strcpy(dst, optarg);
			break;
		}
		case 'd':
			if (!strcmp(optarg, "system")) r->env.domain = PNB_DOMAIN_SYSTEM;
			else if (!strcmp(optarg, "memcg-v1")) r->env.domain = PNB_DOMAIN_MEMCG_V1;
			else if (!strcmp(optarg, "memcg-v2")) r->env.domain = PNB_DOMAIN_MEMCG_V2;
			else pnb_die(2, "--domain '%s': not one of system, memcg-v1, memcg-v2", optarg);
			break;
		case 'D':
			if (pnb_parse_duration_ns(optarg, &r->duration_ns) || !r->duration_ns)
				pnb_die(2, "--duration '%s': not a positive duration (e.g. 90s)", optarg);
			break;
		case 'g':
			if (pnb_parse_duration_ns(optarg, &r->grace_ns) || r->grace_ns > 600 * NS_PER_S)
				pnb_die(2, "--grace '%s': not a duration up to 600s", optarg);
			break;
		case 'f':
			if (pnb_parse_u64(optarg, &v) || v < 1 || v > 99)
				pnb_die(2, "--fifo '%s': priority must be 1..99", optarg);
			r->fifo_prio = (int)v;
			break;
		case 'M': r->no_mlock = 1; break;
		case 'r': r->env.root = optarg; break;
		case 'l':
			if (!strchr(optarg, '=') || r->labels.n >= 32)
				pnb_die(2, "--label '%s': need KEY=VALUE (at most 32)", optarg);
			r->labels.kv[r->labels.n++] = optarg;
			break;
		case 'K': r->killer_spec = optarg; break;
		case 'A':
			if (strcmp(optarg, "kill") && strcmp(optarg, "reclaim"))
				pnb_die(2, "--killer-action '%s': not kill or reclaim", optarg);
			r->killer_action = optarg;
			break;
		case 'L': lava = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (lava && !out)
		pnb_die(2, "--lava reads the events back from --out FILE: give one");
	lava_events = lava ? out : NULL;
	if (optind >= argc)
		pnb_die(2, "no workload given (usage: pnbench-record [options] -- WORKLOAD [ARGS])");
	if (r->env.domain == PNB_DOMAIN_MEMCG_V1 && !r->env.memcg_v1[0])
		pnb_die(2, "--domain memcg-v1 needs --memcg-v1 DIR");
	if (r->env.domain == PNB_DOMAIN_MEMCG_V2 && !r->env.memcg_v2[0])
		pnb_die(2, "--domain memcg-v2 needs --memcg-v2 DIR");
	r->argv = argv + optind;
	int fd = 1;
	if (out) {
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			pnb_die(1, "--out %s: %s", out, strerror(errno));
	}
	jsonl_init(&r->out, fd, 0);
	return 0;
}

int main(int argc, char **argv)
{
	static struct recorder rec;
	struct recorder *r = &rec;
	sigset_t mask;

	pnb_set_prog("pnbench-record");
	r->env.root = "";
	r->env.workload_pidfd = -1;
	r->pidfd = r->progress_fd = r->stderr_fd = -1;
	parse_args(r, argc, argv);

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	r->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (r->sigfd < 0 || r->epfd < 0 || r->timerfd < 0)
		pnb_die(1, "cannot set up the event loop: %s", strerror(errno));
	epoll_add(r, r->sigfd, EPOLLIN, TAG_SIGNAL);
	epoll_add(r, r->timerfd, EPOLLIN, TAG_TIMER);

	r->out.t0_ns = pnb_mono_ns();
	header(r);
	protect_self(r);
	arm_probes(r);
	if (start_workload(r)) {
		r->end_reason = "workload_start_failed";
		stop_killer(r);
		end_line(r);
		return 1;
	}
	if (r->duration_ns) {
		struct itimerspec its = { .it_value = { .tv_sec = r->duration_ns / NS_PER_S,
							.tv_nsec = r->duration_ns % NS_PER_S } };
		timerfd_settime(r->timerfd, 0, &its, NULL);
	}
	int rc = loop(r) ? 1 : 0;
	stop_killer(r);
	for (int i = 0; i < r->nprobes; i++)
		if (r->armed[i]) {
			uint64_t t0 = thread_cpu_ns();
			r->probes[i].ops->close(&r->probes[i], &r->out);
			charge(r, i, t0);
		}
	end_line(r);
	read_stderr(r);
	/* On the console, after the end record: LAVA's parser reads the
	 * console, and the numbers are final only now. */
	if (lava_events && lava_signals(lava_events, stderr) < 0)
		pnb_err("--lava: cannot read back %s", lava_events);
	/* Exit 2 is every pnbench program's usage error: the run measured a
	 * workload that never ran as the scenario meant.  Failing here makes
	 * both backends call the run broken (and a rerun retry it). */
	if (r->child_done && WIFEXITED(r->child_status) &&
	    WEXITSTATUS(r->child_status) == PNB_EXIT_USAGE) {
		pnb_err("the workload refused its options (exit 2): %s",
			r->err_last[0] ? r->err_last : "it gave no message");
		return PNB_EXIT_USAGE;
	}
	return rc || r->out.error ? 1 : 0;
}
