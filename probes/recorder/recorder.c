/* pnbench-record: arms the probes, starts the workload, and writes every
 * event and sample as JSON lines on one CLOCK_MONOTONIC timeline.
 *
 * The thing that measures must not be the victim of what it measures: the
 * recorder mlocks itself, sets oom_score_adj -1000, optionally runs
 * SCHED_FIFO, and keeps the workload in its own memory cgroup when told. */
#include "recorder.h"

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
						rec_reap(r, "sigchld");
					else
						rec_stop_workload(r, "signal");
				}
			} else if (tag == TAG_PIDFD) {
				epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->pidfd, NULL);
				rec_reap(r, "pidfd");
			} else if (tag == TAG_PROGRESS) {
				rec_read_progress(r);
			} else if (tag == TAG_STDERR) {
				rec_read_stderr(r);
			} else if (tag == TAG_TIMER) {
				uint64_t x;
				(void)!read(r->timerfd, &x, sizeof x);
				if (r->child_done)
					return 0;
				rec_stop_workload(r, "duration");
			} else {
				int pi = (int)(tag >> 16), k = (int)(tag & 0xffff);
				struct probe *p = &r->probes[pi];
				if (!r->armed[pi])
					continue;
				uint64_t t0 = rec_thread_cpu_ns();
				int e = p->ops->handle(p, k, now, &r->out);
				rec_charge(r, pi, t0);
				if (e) {
					char why[160];
					snprintf(why, sizeof why, "probe failed during the run: %s", strerror(-e));
					rec_drop_probe(r, pi, why);
				}
			}
		}
		if (r->out.error) {
			pnb_err("writing events: %s", strerror(-r->out.error));
			rec_stop_workload(r, "write_error");
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
	rec_epoll_add(r, r->sigfd, EPOLLIN, TAG_SIGNAL);
	rec_epoll_add(r, r->timerfd, EPOLLIN, TAG_TIMER);

	r->out.t0_ns = pnb_mono_ns();
	rec_header(r);
	rec_protect_self(r);
	rec_arm_probes(r);
	if (rec_start_workload(r)) {
		r->end_reason = "workload_start_failed";
		rec_stop_killer(r);
		end_line(r);
		return 1;
	}
	if (r->duration_ns) {
		struct itimerspec its = { .it_value = { .tv_sec = r->duration_ns / NS_PER_S,
							.tv_nsec = r->duration_ns % NS_PER_S } };
		timerfd_settime(r->timerfd, 0, &its, NULL);
	}
	int rc = loop(r) ? 1 : 0;
	rec_stop_killer(r);
	for (int i = 0; i < r->nprobes; i++)
		if (r->armed[i]) {
			uint64_t t0 = rec_thread_cpu_ns();
			r->probes[i].ops->close(&r->probes[i], &r->out);
			rec_charge(r, i, t0);
		}
	end_line(r);
	rec_read_stderr(r);
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
