#define PNB_TESTUTIL_IMPL
#include "testutil.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
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

const char *kyua_run_id(char *buf, size_t len)
{
	char cwd[4096];
	buf[0] = 0;
	if (!getcwd(cwd, sizeof cwd))
		return buf;
	/* kyua runs case N in <TMPDIR>/kyua.XXXXXX/N/work. */
	char *k = strstr(cwd, "/kyua.");
	char *slash = k ? strchr(k + 1, '/') : NULL;
	if (slash) {
		*slash = 0;
		snprintf(buf, len, "%s", cwd);
	}
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

/* One test case per process (ATF runs each case in a fresh one), so a
 * plain counter is per case. */
static int failed_checks;

int pnb_failed_checks(void)
{
	return failed_checks;
}

/* The definitions below take precedence over libatf-c's for every call
 * from the test program; they count, then hand over to the library's
 * own function (RTLD_NEXT) so reporting stays exactly ATF's. */
static void *atf_next(const char *sym)
{
	void *f = dlsym(RTLD_NEXT, sym);
	if (!f) {
		/* Without the real function no failure could be reported at
		 * all: stop loudly rather than lose it. */
		dprintf(2, "testutil: no %s in libatf-c: %s\n", sym, dlerror());
		abort();
	}
	return f;
}

static char *vformat(const char *fmt, va_list ap)
{
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	return s;
}

void atf_tc_fail_check(const char *file, const size_t line, const char *fmt, ...)
{
	void (*next)(const char *, const size_t, const char *, ...) = atf_next(__func__);
	va_list ap;
	char *msg;

	failed_checks++;
	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	next(file, line, "%s", msg ? msg : fmt);
	free(msg);
}

void atf_tc_fail_nonfatal(const char *fmt, ...)
{
	void (*next)(const char *, ...) = atf_next(__func__);
	va_list ap;
	char *msg;

	failed_checks++;
	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	next("%s", msg ? msg : fmt);
	free(msg);
}

void atf_tc_check_errno(const char *file, const size_t line, const int exp_errno,
			const char *expr_str, const bool expr_result)
{
	void (*next)(const char *, const size_t, const int, const char *, const bool) =
		atf_next(__func__);
	int e = errno;

	/* ATF's own rule: the expression must hold and leave exp_errno. */
	if (!expr_result || e != exp_errno)
		failed_checks++;
	errno = e;
	next(file, line, exp_errno, expr_str, expr_result);
}

void pnb_skip(const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	/* kyua calls a multi-line reason a broken result: reasons often
	 * carry a command's stderr, which ends in a newline. */
	for (char *p = msg; p && *p; p++)
		if (*p == '\n')
			*p = ' ';
	if (failed_checks)
		atf_tc_fail("%d check(s) failed before a skip that would have hidden them "
			    "(skip reason: %s)", failed_checks, msg ? msg : fmt);
	atf_tc_skip("%s", msg ? msg : fmt);
}

int pnb_offline(void)
{
	const char *v = getenv("PNBENCH_OFFLINE");
	return v && !strcmp(v, "1");
}

void pnb_no_kernel(const char *spec, const char *why)
{
	if (pnb_offline())
		pnb_skip("PNBENCH_OFFLINE=1 and no cached kernel for %s: %s", spec, why);
	atf_tc_fail("no kernel for %s: %s (set PNBENCH_OFFLINE=1 only if this host is "
		    "offline on purpose)", spec, why);
}
