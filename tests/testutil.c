#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void drain(int fd, char *buf, size_t cap, size_t *len)
{
	ssize_t n;
	while (*len + 1 < cap && (n = read(fd, buf + *len, cap - 1 - *len)) > 0)
		*len += (size_t)n;
	buf[*len] = 0;
}

int run_cmd(char *const argv[], int timeout_s, struct cmd_result *res)
{
	int out[2], err[2], st = 0;
	size_t olen = 0, elen = 0;
	time_t deadline = time(NULL) + timeout_s;
	pid_t pid;

	memset(res, 0, sizeof *res);
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(argv[0], argv);
		dprintf(2, "cannot exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	for (;;) {
		struct pollfd p[2] = { { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 } };
		poll(p, 2, 200);
		drain(out[0], res->out, sizeof res->out, &olen);
		drain(err[0], res->err, sizeof res->err, &elen);
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (time(NULL) > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
	}
	drain(out[0], res->out, sizeof res->out, &olen);
	drain(err[0], res->err, sizeof res->err, &elen);
	close(out[0]);
	close(err[0]);
	res->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

const char *bin_path(const char *srcdir, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/../bin/%s", srcdir, name);
	return buf;
}

int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

void use_pnbench_cache(const char *dir)
{
	char d[4096];
	struct passwd *pw;

	if (dir) {
		setenv("PNBENCH_CACHE", dir, 1);
		return;
	}
	if (getenv("PNBENCH_CACHE"))
		return;
	pw = getpwuid(getuid());
	snprintf(d, sizeof d, "%s/.cache/pnbench", pw ? pw->pw_dir : "/tmp");
	setenv("PNBENCH_CACHE", d, 1);
}
