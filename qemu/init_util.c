/* pnbench-init: console lines, small files and mounts. */
#include "init.h"

int con = 2;

void say(const char *fmt, ...)
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

uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

__attribute__((noreturn)) void power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	/* Only reached if the kernel refused: keep PID 1 alive so the host
	 * sees a hang, not a panic it would blame on the kernel. */
	say("power off failed: %s", strerror(errno));
	for (;;)
		pause();
}

__attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...)
{
	char why[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	say("%s", why);
	power_off();
}

void must_mount(const char *src, const char *dir, const char *type,
		       unsigned long flags, const char *opts)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, flags, opts))
		fail("mount %s on %s%s%s failed: %s", type, dir, opts ? " -o " : "",
		     opts ? opts : "", strerror(errno));
}

/* A whole small file, NUL-terminated; -errno when missing or unreadable. */
ssize_t slurp(const char *path, char *buf, size_t len)
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

int put(const char *path, const char *s)
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
