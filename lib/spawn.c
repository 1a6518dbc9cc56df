/* One way to run a host tool (spawn.h): fork, exec argv, drain its pipes,
 * wait, with optional timeout, progress ticks and a one-line reason. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void keep(char *dst, size_t len, size_t *got, const char *buf, size_t n)
{
	if (!dst || len <= *got + 1)
		return;
	size_t c = n < len - *got - 1 ? n : len - *got - 1;
	memcpy(dst + *got, buf, c);
	*got += c;
	dst[*got] = 0;
}

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0) {
			close(p[i]);
			p[i] = -1;
		}
}

/* In the child: wire fds 0-2, enter cwd, add env, exec.  Never returns. */
static void child(char *const argv[], const struct pnb_spawn *o, int po[2], int pe[2])
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int lfd = o->log ? open(o->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
	int rest = lfd >= 0 ? lfd : null;

	/* A timeout kills the whole group: make's compilers with it. */
	if (o->timeout_s > 0)
		setpgid(0, 0);
	dup2(null, 0);
	dup2(po[1] >= 0 ? po[1] : rest, 1);
	dup2(pe[1] >= 0 ? pe[1] : o->tee ? po[1] : rest, 2);
	for (int i = 0; o->env && o->env[i]; i++)
		putenv((char *)o->env[i]);
	if (o->cwd && chdir(o->cwd)) {
		dprintf(2, "pnbench: cannot enter %s: %s\n", o->cwd, strerror(errno));
		_exit(126);
	}
	execvp(argv[0], argv);
	dprintf(2, "pnbench: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

struct drain {
	size_t gout, gerr;
	double t0, next_tick, deadline;
	int timed_out;
};

/* Milliseconds until the next tick or the deadline; -1 for none. */
static int wait_ms(const struct drain *d)
{
	double now = mono_s(), until = -1;

	if (d->next_tick > 0)
		until = d->next_tick - now;
	if (d->deadline > 0 && (until < 0 || d->deadline - now < until))
		until = d->deadline - now;
	if (until < 0 && (d->next_tick > 0 || d->deadline > 0))
		return 0;
	return until < 0 ? -1 : (int)(until * 1000) + 1;
}

/* Ticks and the deadline; 1 once the child has been killed. */
static int check_time(pid_t pid, const struct pnb_spawn *o, struct drain *d)
{
	double now = mono_s();

	if (d->next_tick > 0 && now >= d->next_tick) {
		if (o->tick)
			o->tick(o->tick_arg, now - d->t0);
		d->next_tick += o->tick_s;
	}
	if (d->deadline > 0 && now >= d->deadline && !d->timed_out) {
		d->timed_out = 1;
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	return d->timed_out;
}

static void read_one(int *fd, int is_err, const struct pnb_spawn *o, struct drain *d)
{
	char buf[8192];
	ssize_t n = read(*fd, buf, sizeof buf);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	/* A captured stderr is the caller's to show; stdout is kept and teed. */
	if (is_err) {
		keep(o->err, o->errlen, &d->gerr, buf, (size_t)n);
		return;
	}
	keep(o->out, o->outlen, &d->gout, buf, (size_t)n);
	if (o->tee)
		o->tee(o->tee_arg, buf, (size_t)n);
}

/* Both pipes drained in turn (a child filling one while we block on the
 * other would hang both of us), then the child reaped. */
static int drain_and_wait(pid_t pid, const struct pnb_spawn *o, int *fo, int *fe, struct drain *d)
{
	int st;

	while (*fo >= 0 || *fe >= 0) {
		struct pollfd p[2] = { { .fd = *fo, .events = POLLIN }, { .fd = *fe, .events = POLLIN } };
		int r = poll(p, 2, wait_ms(d));
		if (r < 0 && errno != EINTR)
			break;
		for (int k = 0; r > 0 && k < 2; k++)
			if (p[k].fd >= 0 && p[k].revents)
				read_one(k ? fe : fo, k, o, d);
		check_time(pid, o, d);
	}
	for (;;) {
		pid_t w = waitpid(pid, &st, d->next_tick > 0 || d->deadline > 0 ? WNOHANG : 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return -errno;
		if (w == 0) {
			int ms = wait_ms(d);
			/* No pipe to wake us: poll the child at least every 200 ms. */
			poll(NULL, 0, ms < 0 || ms > 200 ? 200 : ms);
			check_time(pid, o, d);
		}
	}
	if (d->timed_out)
		return -ETIMEDOUT;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void set_why(const struct pnb_spawn *o, int rc)
{
	char line[400];

	if (!o->why || !o->whylen || rc == 0)
		return;
	if (rc == -ETIMEDOUT) {
		snprintf(o->why, o->whylen, "timed out after %gs", o->timeout_s);
	} else if (rc < 0) {
		snprintf(o->why, o->whylen, "cannot start: %s", strerror(-rc));
	} else if (rc > 128) {
		snprintf(o->why, o->whylen, "killed by signal %d", rc - 128);
	} else {
		if (o->err && o->err[0])
			pnb_text_reason(o->err, line, sizeof line);
		else if (o->log)
			pnb_log_reason(o->log, line, sizeof line);
		else
			snprintf(line, sizeof line, "(no output kept)");
		snprintf(o->why, o->whylen, "exit %d: %s", rc, line);
	}
}

int pnb_spawn(char *const argv[], const struct pnb_spawn *o)
{
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, rc;
	struct drain d = { .t0 = mono_s() };
	pid_t pid;

	if (o->out && o->outlen)
		o->out[0] = 0;
	if (o->err && o->errlen)
		o->err[0] = 0;
	if (((o->out || o->tee) && pipe2(po, O_CLOEXEC)) || (o->err && pipe2(pe, O_CLOEXEC))) {
		rc = -errno;
		close_pair(po);
		set_why(o, rc);
		return rc;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		rc = -errno;
		close_pair(po);
		close_pair(pe);
		set_why(o, rc);
		return rc;
	}
	if (pid == 0)
		child(argv, o, po, pe);
	/* Either side may win the race to make the group. */
	if (o->timeout_s > 0)
		setpgid(pid, pid);
	if (po[1] >= 0)
		close(po[1]);
	if (pe[1] >= 0)
		close(pe[1]);
	if (o->tick_s)
		d.next_tick = d.t0 + o->tick_s;
	if (o->timeout_s > 0)
		d.deadline = d.t0 + o->timeout_s;
	rc = drain_and_wait(pid, o, &po[0], &pe[0], &d);
	if (po[0] >= 0)
		close(po[0]);
	if (pe[0] >= 0)
		close(pe[0]);
	set_why(o, rc);
	return rc;
}

pid_t pnb_spawn_child(char *const argv[], const char *out_path, const char *err_path)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int ofd = out_path ? open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
	int efd = err_path && out_path && !strcmp(err_path, out_path) ? ofd :
		  err_path ? open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
	dup2(null, 0);
	dup2(ofd >= 0 ? ofd : null, 1);
	dup2(efd >= 0 ? efd : null, 2);
	execvp(argv[0], argv);
	dprintf(2, "pnbench: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

void pnb_text_reason(const char *text, char *out, size_t len)
{
	const char *best = NULL, *last = NULL;
	size_t bl = 0, ll = 0;

	snprintf(out, len, "(no output)");
	for (const char *s = text; s && *s;) {
		const char *nl = strchr(s, '\n');
		size_t l = nl ? (size_t)(nl - s) : strlen(s);
		if (l) {
			char line[1024];
			snprintf(line, sizeof line, "%.*s", (int)l, s);
			last = s;
			ll = l;
			if (strcasestr(line, "error") || !strncmp(line, "E: ", 3) || strstr(line, "dpkg-deb:")) {
				best = s;
				bl = l;
			}
		}
		s = nl ? nl + 1 : NULL;
	}
	if (best)
		snprintf(out, len, "%.*s", (int)(bl < 300 ? bl : 300), best);
	else if (last)
		snprintf(out, len, "%.*s", (int)(ll < 300 ? ll : 300), last);
}

void pnb_log_reason(const char *log, char *out, size_t len)
{
	char buf[16384];
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	off_t end;
	ssize_t n;

	snprintf(out, len, "(no output)");
	if (fd < 0)
		return;
	end = lseek(fd, 0, SEEK_END);
	n = pread(fd, buf, sizeof buf - 1, end > (off_t)sizeof buf - 1 ? end - (off_t)sizeof buf + 1 : 0);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	pnb_text_reason(buf, out, len);
}
