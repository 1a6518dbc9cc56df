/* pnbench-record: the workload, its killer and the pipes it writes to. */
#include "recorder.h"

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
		rec_event(r, "killer_failed", "cannot find pnbench-killer: /proc/self/exe unreadable");
		return;
	}
	exe[len] = 0;
	*strrchr(exe, '/') = 0;
	snprintf(bin, sizeof bin, "%s/pnbench-killer", exe);
	if (pipe2(ready, O_CLOEXEC)) {
		rec_event(r, "killer_failed", "pipe failed");
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
		rec_event(r, "killer_failed", why);
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
		rec_event(r, "killer_failed", why);
	}
	close(ready[0]);
}

/* At the end: SIGTERM, so its end line lands before ours. */
void rec_stop_killer(struct recorder *r)
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
	rec_event(r, "killer_stop_timeout", "pnbench-killer did not end within 5 s of SIGTERM: killed");
}

/* Fork the workload stopped at a gate, put it in its cgroups, then open the
 * gate: the workload never allocates a page outside its cgroup. */
int rec_start_workload(struct recorder *r)
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
			uint64_t t0 = rec_thread_cpu_ns();
			r->probes[i].ops->started(&r->probes[i], &r->env, &r->out);
			rec_charge(r, i, t0);
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
		rec_epoll_add(r, r->pidfd, EPOLLIN, TAG_PIDFD);
	else
		rec_event(r, "no_pidfd", "pidfd_open unavailable: workload death from SIGCHLD");
	rec_epoll_add(r, r->progress_fd, EPOLLIN, TAG_PROGRESS);
	rec_epoll_add(r, r->stderr_fd, EPOLLIN, TAG_STDERR);
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
void rec_read_stderr(struct recorder *r)
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

void rec_read_progress(struct recorder *r)
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

void rec_reap(struct recorder *r, const char *source)
{
	int st;

	if (r->child_done || waitpid(r->child, &st, WNOHANG) != r->child)
		return;
	uint64_t now = pnb_mono_ns();
	r->child_done = 1;
	r->child_status = st;
	/* Its last words were written before it exited: they are in the pipe. */
	rec_read_stderr(r);
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

void rec_stop_workload(struct recorder *r, const char *reason)
{
	if (!r->end_reason)
		r->end_reason = reason;
	if (!r->child_done) {
		kill(-r->child, SIGKILL);
		kill(r->child, SIGKILL);
	}
}
