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
#include "killer.h"

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

/* Options into k (the --mechanism parsed into k->probe); usage errors exit 2. */
static void parse_args(struct killer *k, int argc, char **argv, int *outfd, int *ready,
		       uint64_t *t0)
{
	static const struct option opts[] = {
		{ "mechanism", required_argument, 0, 'm' }, { "action", required_argument, 0, 'a' },
		{ "pgid", required_argument, 0, 'P' }, { "out-fd", required_argument, 0, 'O' },
		{ "t0", required_argument, 0, 'T' }, { "ready-fd", required_argument, 0, 'R' },
		{ "memcg-v1", required_argument, 0, '1' }, { "memcg-v2", required_argument, 0, '2' },
		{ "domain", required_argument, 0, 'd' }, { "root", required_argument, 0, 'r' },
		{ "no-mlock", no_argument, 0, 'M' }, { "help", no_argument, 0, 'h' }, { 0 }
	};
	const char *mech = NULL;
	char err[PROBE_ERR_LEN + 200];
	int c;
	uint64_t v;

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
		case 'O': *outfd = parse_fd("--out-fd", optarg); break;
		case 'T':
			if (pnb_parse_u64(optarg, t0))
				pnb_die(2, "--t0 '%s': not a CLOCK_MONOTONIC time in ns", optarg);
			break;
		case 'R': *ready = parse_fd("--ready-fd", optarg); break;
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
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
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
}

/* Start lines, the event loop's fds and the mechanism (a probe, earlyoom
 * or nohang's explanation).  Returns 1 when a probe is armed. */
static int arm(struct killer *k, int outfd, uint64_t t0)
{
	char why[PROBE_ERR_LEN];
	json_t *o;

	/* Die with the recorder; never be the victim of what we act on. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	jsonl_init(&k->out, outfd, t0 ? t0 : now_ns());
	detect(k);
	o = killer_line(k, "start", now_ns());
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
		o = killer_line(k, "unsupported", now_ns());
		jset_str(o, "reason", "nohang is a Python 3 program: the guest image carries no Python "
			 "(interpreter and standard library would be tens of MB in a 256 MB guest's initramfs)");
		jsonl_emit(&k->out, o);
	} else if (k->external) {
		if (killer_start_external(k, why, sizeof why)) {
			o = killer_line(k, "unsupported", now_ns());
			jset_str(o, "reason", why);
			jsonl_emit(&k->out, o);
		} else {
			ev.events = EPOLLIN;
			ev.data.u64 = 1ULL << 41;
			epoll_ctl(k->epfd, EPOLL_CTL_ADD, k->ext_fd, &ev);
			o = killer_line(k, "armed", now_ns());
			jset_int(o, "external_pid", k->ext_pid);
			jsonl_emit(&k->out, o);
		}
	} else if (k->probe.ops->supported(&k->probe, &k->env, why, sizeof why) ||
	    (k->probe.env = &k->env, k->probe.ops->open(&k->probe, &k->env, &k->probe_out, why, sizeof why))) {
		o = killer_line(k, "unsupported", now_ns());
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
		killer_drain(k, now_ns());
		jsonl_emit(&k->out, killer_line(k, "armed", now_ns()));
	}
	return armed;
}

/* Until SIGTERM: each notification through the probe's pipe, and each
 * earlyoom line, becomes the action it calls for. */
static void run(struct killer *k, int *armedp)
{
	int armed = *armedp;
	json_t *o;

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
				if (killer_read_external(k, t)) {
					epoll_ctl(k->epfd, EPOLL_CTL_DEL, k->ext_fd, NULL);
					o = killer_line(k, "dropped", now_ns());
					jset_str(o, "reason", "earlyoom exited");
					jsonl_emit(&k->out, o);
				}
				continue;
			}
			int e = armed ? k->probe.ops->handle(&k->probe, (int)evs[i].data.u64, t, &k->probe_out) : 0;
			killer_drain(k, t);
			if (e) {
				o = killer_line(k, "dropped", now_ns());
				jset_str(o, "reason", strerror(-e));
				jsonl_emit(&k->out, o);
				for (int f = 0; f < k->probe.nfd; f++)
					epoll_ctl(k->epfd, EPOLL_CTL_DEL, k->probe.fd[f], NULL);
				armed = 0;
			}
		}
	}
	*armedp = armed;
}

int main(int argc, char **argv)
{
	static struct killer kk;
	struct killer *k = &kk;
	int outfd = 1, ready = -1;
	uint64_t t0 = 0;
	json_t *o;

	pnb_set_prog("pnbench-killer");
	k->env.root = "";
	k->env.workload_pidfd = -1;
	parse_args(k, argc, argv, &outfd, &ready, &t0);
	k->view.root = k->env.root;
	k->view.domain = k->env.domain;
	k->view.memcg_dir = k->env.domain == PNB_DOMAIN_MEMCG_V1 ? k->env.memcg_v1 :
			    k->env.domain == PNB_DOMAIN_MEMCG_V2 ? k->env.memcg_v2 : "";
	k->env.workload_pid = k->pgid;

	int armed = arm(k, outfd, t0);
	if (ready >= 0) {
		(void)!write(ready, "k", 1);
		close(ready);
	}
	run(k, &armed);
	if (armed)
		k->probe.ops->close(&k->probe, &k->probe_out);
	if (k->ext_pid > 0) {
		/* Its last lines, for at most a second; then it goes. */
		struct pollfd p = { .fd = k->ext_fd, .events = POLLIN };
		kill(k->ext_pid, SIGTERM);
		uint64_t until = now_ns() + NS_PER_S;
		while (now_ns() < until && poll(&p, 1, 100) == 1 && killer_read_external(k, now_ns()) == 0)
			;
		kill(k->ext_pid, SIGKILL);
		waitpid(k->ext_pid, NULL, 0);
	}
	o = killer_line(k, "end", now_ns());
	jset_int(o, "notifications", k->notifications);
	jset_int(o, "kills", k->kills);
	jset_int(o, "reclaims", k->reclaims);
	jsonl_emit(&k->out, o);
	return k->out.error ? 1 : 0;
}
