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
 *                          snapshot=1 (then the run comes on ttyS2 after
 *                          "snapshot point", see read_run_block)
 *   kernel command line    pnbench.disk=1: a data disk is attached as /dev/vda
 *                          pnbench.shell=1: no run; a shell on the console */
#include "parse.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/random.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

#define MAX_ARGS 512
#define DISK_WAIT_NS (5 * 1000000000ULL)

static int con = 2;	/* the console; the kernel opened it as fds 0-2 */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n = snprintf(line, sizeof line, "pnbench-init: ");

	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof line - 1)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	(void)!write(con, line, (size_t)n);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static __attribute__((noreturn)) void power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	/* Only reached if the kernel refused: keep PID 1 alive so the host
	 * sees a hang, not a panic it would blame on the kernel. */
	say("power off failed: %s", strerror(errno));
	for (;;)
		pause();
}

static __attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...)
{
	char why[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	say("%s", why);
	power_off();
}

static void must_mount(const char *src, const char *dir, const char *type,
		       unsigned long flags, const char *opts)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, flags, opts))
		fail("mount %s on %s%s%s failed: %s", type, dir, opts ? " -o " : "",
		     opts ? opts : "", strerror(errno));
}

/* A whole small file, NUL-terminated; -errno when missing or unreadable. */
static ssize_t slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -errno;
	while (got + 1 < len) {
		ssize_t n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = 0;
	if (got + 1 >= len)
		return -EFBIG;
	return (ssize_t)got;
}

static int put(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* ---- /pnbench/run.env ---- */

enum fault_kind { FAULT_NONE, FAULT_PANIC, FAULT_HANG };

struct run_env {
	int memcg_v2;
	enum fault_kind fault;
	uint64_t fault_delay_ns;
	/* Stop after the set-up, where the host saves the machine, and take
	 * the run (env lines and args) from ttyS2 once restored. */
	int snapshot;
};

static void parse_env_line(struct run_env *env, char *line, int lineno);

static void parse_env(struct run_env *env)
{
	static char buf[8192];
	ssize_t n = slurp("/pnbench/run.env", buf, sizeof buf);
	int lineno = 0;

	memset(env, 0, sizeof *env);
	if (n == -ENOENT)
		return;
	if (n < 0)
		fail("reading /pnbench/run.env failed: %s", strerror((int)-n));
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		parse_env_line(env, line, ++lineno);
}

static void parse_env_line(struct run_env *env, char *line, int lineno)
{
	{
		if (!*line || *line == '#')
			return;
		char *eq = strchr(line, '=');
		if (!eq)
			fail("/pnbench/run.env line %d '%s' failed: not key=value", lineno, line);
		*eq = 0;
		const char *key = line, *val = eq + 1;
		if (!strcmp(key, "memory_hierarchy")) {
			if (!strcmp(val, "v1"))
				env->memcg_v2 = 0;
			else if (!strcmp(val, "v2"))
				env->memcg_v2 = 1;
			else
				fail("/pnbench/run.env memory_hierarchy '%s' failed: not v1 or v2", val);
		} else if (!strcmp(key, "fault")) {
			const char *colon = strchr(val, ':');
			size_t kl = colon ? (size_t)(colon - val) : strlen(val);
			if (kl == 5 && !strncmp(val, "panic", 5))
				env->fault = FAULT_PANIC;
			else if (kl == 4 && !strncmp(val, "hang", 4))
				env->fault = FAULT_HANG;
			else
				fail("/pnbench/run.env fault '%s' failed: not panic:DELAY or hang:DELAY", val);
			if (!colon || pnb_parse_duration_ns(colon + 1, &env->fault_delay_ns))
				fail("/pnbench/run.env fault '%s' failed: DELAY must be a duration "
				     "such as 2s or 500ms", val);
		} else if (!strcmp(key, "snapshot") && !strcmp(val, "1")) {
			env->snapshot = 1;
		} else {
			fail("/pnbench/run.env key '%s' failed: unknown (memory_hierarchy, fault, "
			     "snapshot)", key);
		}
	}
}

/* ---- set-up steps ---- */

/* Under TCG the kernel's own entropy gathering takes about a second after
 * init starts, and the first reader of /dev/urandom (jansson seeding its
 * hash tables in the recorder) waits for it.  The host put a fresh random
 * seed in the run archive: credit it, as a bootloader seed would be, so the
 * recorder starts at once.  Without it nothing breaks, it is only slower. */
static void credit_seed(void)
{
	struct { struct rand_pool_info info; unsigned char buf[64]; } seed;
	ssize_t n = slurp("/pnbench/seed", (char *)seed.buf, sizeof seed.buf);
	int fd;

	if (n == -ENOENT)
		return;
	/* slurp keeps a byte for its NUL: a 32-byte seed reads whole. */
	if (n < 16) {
		say("random seed: /pnbench/seed unreadable or short (%zd), not used", n);
		return;
	}
	seed.info.entropy_count = (int)n * 8;
	seed.info.buf_size = (int)n;
	fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, RNDADDENTROPY, &seed.info))
		say("random seed: crediting it failed: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	/* Not for anyone else to read later. */
	unlink("/pnbench/seed");
}

static int cmdline_has(const char *word)
{
	char buf[4096];
	size_t wl = strlen(word);

	if (slurp("/proc/cmdline", buf, sizeof buf) < 0)
		return 0;
	for (char *p = buf; (p = strstr(p, word)); p += wl)
		if ((p == buf || p[-1] == ' ') && (p[wl] == ' ' || p[wl] == '\n' || !p[wl]))
			return 1;
	return 0;
}

static void mount_cgroups(int v2)
{
	must_mount("cgroup_root", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		   "mode=0755,size=64k");
	/* The memory controller binds to one hierarchy only: with v2 it must
	 * not be claimed by a v1 mount first. */
	if (!v2)
		must_mount("memory", "/sys/fs/cgroup/memory", "cgroup",
			   MS_NOSUID | MS_NODEV | MS_NOEXEC, "memory");
	must_mount("cgroup2", "/sys/fs/cgroup/unified", "cgroup2",
		   MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	if (v2) {
		int e = put("/sys/fs/cgroup/unified/cgroup.subtree_control", "+memory");
		if (e)
			fail("enabling +memory in /sys/fs/cgroup/unified/cgroup.subtree_control "
			     "failed: %s", strerror(-e));
	}
	const char *wl = v2 ? "/sys/fs/cgroup/unified/pnbench" : "/sys/fs/cgroup/memory/pnbench";
	if (mkdir(wl, 0755) && errno != EEXIST)
		fail("mkdir %s failed: %s", wl, strerror(errno));
}

static void mount_tracefs(void)
{
	/* A kernel without tracing has no tracefs: the ground-truth probe then
	 * reports tracefs unsupported and falls back to kmsg/vmstat, so that
	 * is no reason to stop the run. */
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
		if (errno == ENODEV || errno == ENOENT)
			say("no tracefs in this kernel (%s): tracing probes will say unsupported",
			    strerror(errno));
		else
			fail("mount tracefs on /sys/kernel/tracing failed: %s", strerror(errno));
	}
}

static void load_modules(void)
{
	static char list[16384];
	char dir[300], path[700];
	struct utsname u;
	ssize_t n = slurp("/pnbench/modules.load", list, sizeof list);
	int lineno = 0;

	if (n == -ENOENT)
		return;
	if (n < 0)
		fail("reading /pnbench/modules.load failed: %s", strerror((int)-n));
	uname(&u);
	snprintf(dir, sizeof dir, "/lib/modules/%s", u.release);
	for (char *save = NULL, *rel = strtok_r(list, "\n", &save); rel;
	     rel = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (!*rel)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, rel);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			struct stat st;
			if (stat(dir, &st))
				fail("modules for kernel %s failed: %s is not in the initramfs "
				     "(image built for another kernel release?)", u.release, dir);
			say("module %s failed: %s", path, strerror(errno));
			continue;
		}
		/* Compressed modules (.ko.xz/.zst/.gz) are decompressed by the
		 * kernel itself when it was built with MODULE_DECOMPRESS. */
		size_t rl = strlen(rel);
		int flags = (rl > 3 && strcmp(rel + rl - 3, ".ko")) ? MODULE_INIT_COMPRESSED_FILE : 0;
		/* ENODEV: an alternative this CPU cannot use (crc32c-intel
		 * without SSE4.2 under TCG), as modprobe would also find. */
		if (syscall(SYS_finit_module, fd, "", flags) == 0 || errno == EEXIST)
			;
		else if (errno == ENODEV)
			say("module %s: not for this machine (ENODEV), skipped", rel);
		else
			say("loading module %s failed: %s", rel, strerror(errno));
		close(fd);
	}
}

static void mount_data_disk(void)
{
	uint64_t deadline = mono_ns() + DISK_WAIT_NS;
	struct stat st;

	/* virtio_blk probes the disk when it loads, but the node appears
	 * through devtmpfs a moment later. */
	while (stat("/dev/vda", &st)) {
		if (mono_ns() > deadline)
			fail("waiting for /dev/vda failed: not there after 5 s "
			     "(virtio_pci/virtio_blk missing from this kernel?)");
		usleep(5000);
	}
	must_mount("/dev/vda", "/data", "ext4", MS_RDONLY | MS_NOATIME, NULL);
}

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

static pid_t start_recorder(char **argv, int events_fd, const sigset_t *oldmask)
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
	uint64_t t_run = mono_ns();
	say("running %s (CLOCK_MONOTONIC: init %.3f s, recorder %.3f s)", argv[0],
	    t_init / 1e9, t_run / 1e9);
	pid_t rec = start_recorder(argv, events, &old);
	int status = wait_recorder(rec, &env, &chld, cg);

	/* Everything the recorder wrote must have left the UART before the
	 * machine goes away. */
	tcdrain(events);
	say("recorder exited %d", status);
	if (con >= 0)
		tcdrain(con);
	power_off();
}
