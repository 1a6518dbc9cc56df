/* pnbench-init: the guest's /init.  Sets up the filesystems the probes read,
 * loads the modules the data disk needs, runs the recorder with its events on
 * the second serial port, and powers the guest off.
 *
 * The host reads the console (ttyS0) to classify a run, so every line here
 * starts "pnbench-init: ", and the first one, "reached init", tells "the
 * kernel booted" apart from "the kernel never got to userspace".  PID 1 must
 * never return or exit (the kernel would panic, which the host would count as
 * a kernel bug): every failure ends in power off.
 *
 * Inputs, all in the initramfs (see qemu/README.md):
 *   /pnbench/modules.load  module paths under /lib/modules/<release>, in load order
 *   /pnbench/run.args      the recorder's argv, one argument per line
 *   /pnbench/run.env       key=value: memory_hierarchy=v1|v2, fault=panic:D|hang:D,
 *                          swap=zram:BYTES[:ALGO], lru_gen=on|off, min_ttl_ms=N,
 *                          memory_max=BYTES, memory_high=BYTES,
 *                          snapshot=1 (then the run comes on ttyS2 after
 *                          "snapshot point", see read_run_block)
 *   /pnbench/modules.optional  "GROUP PATH" lines: modules loaded only when a
 *                          knob asks (group zram, or a compressor's name)
 *   kernel command line    pnbench.disk=1: a data disk is attached as /dev/vda
 *                          pnbench.shell=1: no run; a shell on the console */
#include "init.h"

/* The event stream: raw, so "\n" leaves as "\n", not "\r\n", and nothing
 * the kernel's line discipline does can change a byte. */
static int open_events_port(void)
{
	struct termios t;
	int fd = open("/dev/ttyS1", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		fail("open /dev/ttyS1 failed: %s", strerror(errno));
	if (tcgetattr(fd, &t))
		fail("tcgetattr /dev/ttyS1 failed: %s", strerror(errno));
	cfmakeraw(&t);
	cfsetspeed(&t, B115200);
	if (tcsetattr(fd, TCSANOW, &t))
		fail("tcsetattr /dev/ttyS1 failed: %s", strerror(errno));
	return fd;
}

/* run.args: every line is one argument, empty ones included. */
static char **read_args(void)
{
	static char buf[65536];
	static char *argv[MAX_ARGS + 1];
	ssize_t n = slurp("/pnbench/run.args", buf, sizeof buf);
	int argc = 0;

	if (n < 0)
		fail("reading /pnbench/run.args failed: %s", strerror((int)-n));
	for (char *p = buf; *p;) {
		char *nl = strchr(p, '\n');
		if (argc == MAX_ARGS)
			fail("reading /pnbench/run.args failed: more than %d arguments", MAX_ARGS);
		argv[argc++] = p;
		if (!nl)
			break;
		*nl = 0;
		p = nl + 1;
	}
	argv[argc] = NULL;
	if (!argc || !argv[0][0])
		fail("reading /pnbench/run.args failed: no program to run");
	return argv;
}

/* One line from fd (unbuffered: nothing beyond the block may be eaten). */
static char *read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail("reading the run from ttyS2 failed: %s", r ? strerror(errno) : "end of input");
		if (c == '\n')
			break;
		if (n + 1 >= len)
			fail("reading the run from ttyS2 failed: a line longer than %zu bytes", len);
		buf[n++] = c;
	}
	buf[n] = 0;
	return buf;
}

/* The run for a restored snapshot: "pnbench-run NENV NARGS", then NENV
 * run.env lines and NARGS run.args lines, on the third serial port, which
 * the host feeds from a file after restoring the machine. */
static int open_run_port(void)
{
	struct termios t;
	int fd = open("/dev/ttyS2", O_RDONLY | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		fail("open /dev/ttyS2 failed: %s", strerror(errno));
	if (tcgetattr(fd, &t))
		fail("tcgetattr /dev/ttyS2 failed: %s", strerror(errno));
	cfmakeraw(&t);
	cfsetspeed(&t, B115200);
	if (tcsetattr(fd, TCSANOW, &t))
		fail("tcsetattr /dev/ttyS2 failed: %s", strerror(errno));
	return fd;
}

static char **read_run_block(struct run_env *env, int fd)
{
	static char store[65536];
	static char *argv[MAX_ARGS + 1];
	char line[4096];
	unsigned nenv, nargs;
	size_t used = 0;

	if (sscanf(read_line(fd, line, sizeof line), "pnbench-run %u %u", &nenv, &nargs) != 2 ||
	    !nargs || nargs > MAX_ARGS)
		fail("reading the run from ttyS2 failed: bad header '%s'", line);
	for (unsigned i = 0; i < nenv; i++)
		parse_env_line(env, read_line(fd, line, sizeof line), (int)i + 1);
	for (unsigned i = 0; i < nargs; i++) {
		size_t l = strlen(read_line(fd, line, sizeof line)) + 1;
		if (used + l > sizeof store)
			fail("reading the run from ttyS2 failed: arguments longer than %zu bytes",
			     sizeof store);
		argv[i] = memcpy(store + used, line, l);
		used += l;
	}
	argv[nargs] = NULL;
	close(fd);
	return argv;
}

static pid_t start_recorder(char **argv, int events_fd, const sigset_t *oldmask,
			    const char *own_cg)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("fork failed: %s", strerror(errno));
	if (pid)
		return pid;
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	/* Its own process group, so a hang fault can stop it with everything
	 * it started. */
	setpgid(0, 0);
	/* Joined before exec: everything the recorder maps is charged there. */
	if (own_cg) {
		char path[300];
		snprintf(path, sizeof path, "%s/cgroup.procs", own_cg);
		int e = put(path, "0");
		if (e)
			dprintf(con, "pnbench-init: joining %s failed: %s (the recorder "
				"runs unprotected by memory.min)\n", own_cg, strerror(-e));
	}
	int null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(events_fd, 1) < 0 || dup2(con, 2) < 0)
		_exit(127);
	char *envp[] = { "PATH=/bin", "HOME=/", "TERM=linux", NULL };
	execve(argv[0], argv, envp);
	dprintf(2, "pnbench-init: exec %s failed: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Stop the recorder, its workload and anything in the workload's cgroup:
 * to the host this looks like a guest that stopped making progress. */
static void freeze_everything(pid_t rec, const char *cg)
{
	char path[300], buf[8192];

	kill(-rec, SIGSTOP);
	snprintf(path, sizeof path, "%s/cgroup.procs", cg);
	if (slurp(path, buf, sizeof buf) > 0)
		for (char *s = NULL, *t = strtok_r(buf, "\n", &s); t; t = strtok_r(NULL, "\n", &s)) {
			int64_t pid;
			if (!pnb_parse_i64(t, &pid) && pid > 1)
				kill((pid_t)pid, SIGSTOP);
		}
}

static void inject(const struct run_env *env, pid_t rec, const char *cg)
{
	if (env->fault == FAULT_PANIC) {
		say("injecting a kernel panic (fault=panic)");
		put("/proc/sys/kernel/sysrq", "1");
		int e = put("/proc/sysrq-trigger", "c");
		fail("fault=panic: writing c to /proc/sysrq-trigger failed: %s", strerror(-e));
	}
	say("injecting a hang (fault=hang): recorder stopped, not powering off");
	freeze_everything(rec, cg);
	for (;;)
		pause();
}

/* Reap everything (PID 1 inherits orphans) until the recorder is gone;
 * inject the fault when its time comes. */
static int wait_recorder(pid_t rec, const struct run_env *env, const sigset_t *chld,
			 const char *cg)
{
	uint64_t fault_at = env->fault ? mono_ns() + env->fault_delay_ns : 0;

	for (;;) {
		int st;
		pid_t w;
		while ((w = waitpid(-1, &st, WNOHANG)) > 0)
			if (w == rec)
				return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (w < 0 && errno == ECHILD)
			fail("waiting for the recorder failed: it vanished");
		if (env->fault) {
			uint64_t now = mono_ns();
			if (now >= fault_at)
				inject(env, rec, cg);
			uint64_t left = fault_at - now;
			struct timespec ts = { (time_t)(left / 1000000000ULL), (long)(left % 1000000000ULL) };
			sigtimedwait(chld, NULL, &ts);
		} else {
			sigwaitinfo(chld, NULL);
		}
	}
}

/* pnbench.shell=1 (pnbench export lava): the machine set up as for a run,
 * then a shell on the console for an outside test runner (LAVA's test
 * shell, which waits for the prompt and types its steps).  busybox's
 * applets are linked first: the runner's scripts need more than the few
 * links the image carries.  The machine powers off when the shell ends. */
static __attribute__((noreturn)) void run_shell(const sigset_t *oldmask)
{
	pid_t p = fork();
	int st;

	if (p == 0) {
		execl("/bin/busybox", "busybox", "--install", "-s", "/bin", (char *)NULL);
		_exit(127);
	}
	if (p > 0)
		waitpid(p, &st, 0);
	say("shell on the console (pnbench.shell=1); the run is the shell's to start");
	if ((p = fork()) < 0)
		fail("fork failed: %s", strerror(errno));
	if (p == 0) {
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		setsid();
		int tty = open("/dev/console", O_RDWR);
		if (tty < 0 || dup2(tty, 0) < 0 || dup2(tty, 1) < 0 || dup2(tty, 2) < 0)
			_exit(127);
		char *argv[] = { "sh", NULL };
		char *envp[] = { "PATH=/bin:/sbin", "HOME=/tmp", "TERM=linux", "PS1=pnbench-lava# ", NULL };
		execve("/bin/sh", argv, envp);
		_exit(127);
	}
	while (waitpid(-1, &st, 0) != p)
		;
	say("shell exited");
	power_off();
}

int main(void)
{
	uint64_t t_init = mono_ns();
	struct run_env env;
	sigset_t chld, old;

	/* Nothing may kill PID 1 by accident; SIGCHLD is waited for. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);

	/* The initramfs's own /dev/console got us fds 0-2; without it (a
	 * broken image) there is nowhere to speak until devtmpfs is up. */
	if (fcntl(con, F_GETFD) < 0)
		con = -1;
	mkdir("/dev", 0755);
	if (mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755")) {
		int e = errno;
		if (con < 0)
			con = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
		fail("mount devtmpfs on /dev failed: %s", strerror(e));
	}
	/* Our own descriptor: the recorder's stderr and every line below. */
	int c = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (c >= 0)
		con = c;
	say("reached init");

	must_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	must_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	credit_seed();
	parse_env(&env);
	mount_cgroups(env.memcg_v2);
	mount_tracefs();
	must_mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");

	load_modules();
	if (cmdline_has("pnbench.disk=1"))
		mount_data_disk();
	/* The same for every run of the shape (they are in the snapshot key):
	 * set here, before the snapshot point. */
	if (env.zram_bytes)
		setup_zram(&env);
	setup_lru_gen(&env);

	if (cmdline_has("pnbench.shell=1"))
		run_shell(&old);
	int events = open_events_port();
	char **argv;
	if (env.snapshot) {
		/* Everything above is the same for every run of this machine
		 * shape: the host saves the machine here and restores it per
		 * run.  The clock goes on from this point in every restore. */
		/* Open and raw before the host saves the machine: the UART's
		 * start-up clears its FIFO, which would eat the run's first bytes. */
		int port = open_run_port();
		/* The clock goes in the line: the host compares it with its
		 * own to catch a TSC miscalibrated on a busy host. */
		say("snapshot point (CLOCK_MONOTONIC %.3f s)", mono_ns() / 1e9);
		argv = read_run_block(&env, port);
		say("reached init (restored from a snapshot)");
	} else {
		argv = read_args();
	}
	const char *cg = env.memcg_v2 ? "/sys/fs/cgroup/unified/pnbench"
				      : "/sys/fs/cgroup/memory/pnbench";
	setup_limits(&env, cg);
	report_knobs(&env, cg);
	const char *own_cg = setup_recorder_cg(&env);
	/* A knob the kernel lacks: the run would measure another machine
	 * than the one asked for, so it is not run (the host records the
	 * cell as unsupported with this line). */
	if (env.unsupported[0]) {
		say("unsupported: %s", env.unsupported);
		tcdrain(con >= 0 ? con : 2);
		power_off();
	}
	uint64_t t_run = mono_ns();
	say("running %s (CLOCK_MONOTONIC: init %.3f s, recorder %.3f s)", argv[0],
	    t_init / 1e9, t_run / 1e9);
	pid_t rec = start_recorder(argv, events, &old, own_cg);
	int status = wait_recorder(rec, &env, &chld, cg);

	/* Everything the recorder wrote must have left the UART before the
	 * machine goes away. */
	tcdrain(events);
	say("recorder exited %d", status);
	if (con >= 0)
		tcdrain(con);
	power_off();
}
