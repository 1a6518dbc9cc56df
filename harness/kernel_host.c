/* What the kernel sources share (kernel_source.h, hostrun.h): messages,
 * progress, locks, and the Debian packages a build needs. */
#include "fsutil.h"
#include "kernel_source.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int kernel_fail(char *err, size_t len, int rc, const char *spec, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, len, "kernel '%s': ", spec);

	if (n < 0 || (size_t)n >= len)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(err + n, len - n, fmt, ap);
	va_end(ap);
	return rc;
}

int kernel_failf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* Fetch and build progress: plain lines on stderr, so stdout stays data.
 * Only the pnbench CLI resolves kernels, so it is the one that speaks. */
void kernel_progress(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "pnbench: kernels: %s\n", line);
}

double kernel_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *kernel_fmt_elapsed(double s, char *buf, size_t len)
{
	unsigned t = (unsigned)(s + 0.5);
	if (t >= 60)
		snprintf(buf, len, "%um%02us", t / 60, t % 60);
	else
		snprintf(buf, len, "%.1fs", s);
	return buf;
}

/* Whole file into a malloc'd NUL-terminated buffer. */
char *kernel_slurp(const char *path, size_t max)
{
	FILE *f = fopen(path, "re");
	char *b;
	size_t n;

	if (!f)
		return NULL;
	b = malloc(max + 1);
	if (!b) {
		fclose(f);
		return NULL;
	}
	n = fread(b, 1, max, f);
	b[n] = 0;
	fclose(f);
	return b;
}

/* Under the lock for kernel name, leftovers of interrupted attempts
 * (kernels/.tmp-<name>-<pid>) are stale. */
void kernel_remove_stale(const char *name)
{
	char pat[PNB_PATH + 200];
	glob_t g;

	snprintf(pat, sizeof pat, "%s/kernels/.tmp-%s-*", pnb_cache_dir(), name);
	if (glob(pat, GLOB_NOSORT, NULL, &g) == 0)
		for (size_t i = 0; i < g.gl_pathc; i++)
			pnb_rm_rf(g.gl_pathv[i]);
	globfree(&g);
}

int kernel_lock_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	kernel_progress("waiting for another pnbench holding %s", path);
	if (flock(fd, LOCK_EX)) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

void kernel_append(char *buf, size_t len, const char *sep, const char *s)
{
	size_t n = strlen(buf);
	if (n + 1 >= len)
		return;
	snprintf(buf + n, len - n, "%s%s", n ? sep : "", s);
}

/* apt-get install pkgs (space-separated), as root, logging to the cache;
 * once more after apt-get update when the package lists are stale or empty
 * (a fresh machine has none). 0, or -1 with the reason. */
int kernel_apt_install(const char *spec, const char *pkgs, char *err, size_t errlen)
{
	char log[PNB_PATH + 32], why[400], label[300], list[512], *argv[32];
	int n = 0, rc;

	snprintf(list, sizeof list, "%s", pkgs);
	argv[n++] = "apt-get"; argv[n++] = "install"; argv[n++] = "-y"; argv[n++] = "-q";
	argv[n++] = "--no-install-recommends";
	for (char *save, *t = strtok_r(list, " ", &save); t && n < 31; t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	argv[n] = NULL;
	snprintf(log, sizeof log, "%s/apt-install.log", pnb_cache_dir());
	pnb_mkdir_all(pnb_cache_dir(), 0755);
	snprintf(label, sizeof label, "%s: apt-get install", spec);
	struct pnb_spawn o = { .log = log, .tick_s = 30, .tick = kernel_tick, .tick_arg = label };
	kernel_progress("%s: apt-get install %s", spec, pkgs);
	rc = pnb_spawn(argv, &o);
	if (rc) {
		char *const upd[] = { "apt-get", "update", "-q", NULL };
		kernel_progress("%s: apt-get update", spec);
		if (!pnb_spawn(upd, &o))
			rc = pnb_spawn(argv, &o);
	}
	if (rc) {
		pnb_log_reason(log, why, sizeof why);
		return kernel_fail(err, errlen, -1, spec, "apt-get install %s failed (exit %d): %s", pkgs,
			    rc, why);
	}
	unlink(log);
	return 0;
}

/* Tools a kernel build needs, with the Debian package that brings each. */
int kernel_build_tools(const char *spec, char *err, size_t errlen)
{
	static const struct { const char *what, *pkg; int header; } need[] = {
		{ "make", "make", 0 }, { "gcc", "gcc", 0 }, { "flex", "flex", 0 },
		{ "bison", "bison", 0 }, { "bc", "bc", 0 }, { "perl", "perl", 0 },
		{ "/usr/include/gelf.h", "libelf-dev", 1 },
		{ "/usr/include/openssl/evp.h", "libssl-dev", 1 },
	};
	char miss[256] = "", p[PATH_MAX];

	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
		int ok = 0;
		if (need[i].header) {
			ok = pnb_is_file(need[i].what);
		} else {
			const char *path = getenv("PATH");
			char buf[4096], *dir, *save;
			snprintf(buf, sizeof buf, "%s", path ? path : "/usr/bin:/bin");
			for (dir = strtok_r(buf, ":", &save); dir && !ok; dir = strtok_r(NULL, ":", &save)) {
				snprintf(p, sizeof p, "%s/%s", dir, need[i].what);
				ok = access(p, X_OK) == 0;
			}
		}
		if (!ok)
			kernel_append(miss, sizeof miss, " ", need[i].pkg);
	}
	if (!miss[0])
		return 0;
	if (geteuid() != 0)
		return kernel_fail(err, errlen, -1, spec, "building a kernel needs Debian packages: %s "
			    "(apt-get install %s)", miss, miss);
	return kernel_apt_install(spec, miss, err, errlen);
}

void kernel_tick(void *what, double elapsed_s)
{
	char e[32];
	kernel_progress("%s: %s so far", (const char *)what, kernel_fmt_elapsed(elapsed_s, e, sizeof e));
}

/* A whole file in memory (binaries and modules are a few MB at most). */
int kernel_read_all(const char *path, char **data, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;
	size_t got = 0;

	*data = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		e = -errno;
		goto fail;
	}
	*data = malloc((size_t)st.st_size + 1);
	if (!*data) {
		e = -ENOMEM;
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, *data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? -errno : -EIO;
			goto fail;
		}
		got += (size_t)n;
	}
	(*data)[got] = 0;
	*len = got;
	close(fd);
	return 0;
fail:
	free(*data);
	*data = NULL;
	close(fd);
	return e;
}

/* Not root, so /sbin may not be on PATH: the usual directories first. */
const char *kernel_find_tool(const char *name, char *buf, size_t len)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin", NULL };
	for (int i = 0; dirs[i]; i++) {
		snprintf(buf, len, "%s/%s", dirs[i], name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	snprintf(buf, len, "%s", name);
	return buf;
}
