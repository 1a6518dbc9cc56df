/* pnbench-killer: earlyoom as the killer, its output turned into killer lines. */
#include "killer.h"

/* ---- external killers: earlyoom ----
 * earlyoom (Debian's package, in the guest with its shared libraries) runs
 * with its documented defaults (-m 10: SIGTERM when MemAvailable and free
 * swap are at or below 10%, SIGKILL at 5%; no swap counts as 0% free) and
 * reports on stderr.  Its kills are read from that output ("sending SIGTERM
 * to process PID ...") and timed from here: the signal at the line, the
 * exit on the victim's pidfd.  It has no decision time of its own. */
static const char *const earlyoom_paths[] = { "/usr/bin/earlyoom", "/bin/earlyoom", NULL };

int killer_start_external(struct killer *k, char *why, size_t len)
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

void killer_external_line(struct killer *k, char *line, uint64_t t)
{
	json_t *o = killer_line(k, "output", t);
	jset_str(o, "line", line);
	jsonl_emit(&k->out, o);
	const char *s = strstr(line, "sending SIG");
	int pid;
	char sig[16];
	if (!s || sscanf(s, "sending %15s to process %d", sig, &pid) != 2)
		return;
	long long before = killer_avail_kb(k), after = -1;
	struct cand c = { .pid = pid, .adj = -1001, .rss_kb = -1 };
	killer_candidate(k, pid, &c);
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
	after = killer_avail_kb(k);
	k->kills++;
	o = killer_line(k, "kill", t);
	json_t *r = json_object();
	json_object_set_new(r, "probe", json_string("earlyoom"));
	json_object_set_new(r, "level", json_string(sig));
	json_object_set_new(o, "reason", r);
	killer_jset_rel(k, o, "t_notify_ns", 0);
	killer_jset_rel(k, o, "t_decision_ns", 0);
	killer_jset_rel(k, o, "t_signal_ns", t);
	killer_jset_rel(k, o, "t_mrelease_ns", 0);
	killer_jset_rel(k, o, "t_exit_ns", t_exit);
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

int killer_read_external(struct killer *k, uint64_t t)
{
	ssize_t n = read(k->ext_fd, k->ebuf + k->elen, sizeof k->ebuf - 1 - k->elen);
	if (n <= 0)
		return -1;
	k->elen += (size_t)n;
	k->ebuf[k->elen] = 0;
	char *start = k->ebuf, *nl;
	while ((nl = strchr(start, '\n'))) {
		*nl = 0;
		killer_external_line(k, start, t);
		start = nl + 1;
	}
	k->elen -= (size_t)(start - k->ebuf);
	memmove(k->ebuf, start, k->elen);
	if (k->elen == sizeof k->ebuf - 1)
		k->elen = 0;
	return 0;
}
