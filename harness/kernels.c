/* Kernels for guest runs: resolve a spec to a bzImage, its modules and its
 * config, fetching or building what is missing into the cache.
 *
 *   debian:6.1.0-56-cloud-amd64   linux-image-<v>-unsigned, apt-get download
 *   debian:cloud|amd64|rt         the newest 6.1.0-N of that flavour
 *   path:/x/bzImage[,modules=DIR][,config=FILE]
 *   tree:DIR | tree:/x/linux.tar.xz | tree:linux-source-6.12
 *   native
 *
 * Cache layout (<cache> = pnb_cache_dir()):
 *   kernels/<name>/pnbench-kernel.info   a complete kernel; written last,
 *                                        the directory renamed into place
 *   kernels/debs/                        downloads on their way in
 *   build/tree-<rev>/                    O= object trees per source revision,
 *                                        kept for incremental rebuilds
 *   src/<tarball stem>-<key>/            unpacked source tarballs
 * A tree kernel is keyed by the tree's revision and the fragment's digest, so
 * a changed tree or fragment builds anew and an unchanged one is reused. */
#include "fsutil.h"
#include "guest.h"
#include "hostrun.h"
#include "patches.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <glob.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define INFO_FILE "pnbench-kernel.info"
/* Debian 12's kernel ABI series: linux-image-6.1.0-N-FLAVOUR-unsigned. */
#define DEBIAN_SERIES "6.1.0-"
#define KINDS "want debian:VERSION-FLAVOUR, debian:cloud|amd64|rt, path:BZIMAGE, tree:DIR or native"

/* Longest first: "amd64" is a suffix of the other two. */
static const char *const debian_flavours[] = { "cloud-amd64", "rt-amd64", "amd64", NULL };

static int fail(char *err, size_t len, int rc, const char *spec, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int fail(char *err, size_t len, int rc, const char *spec, const char *fmt, ...)
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

/* Fetch and build progress: plain lines on stderr, so stdout stays data.
 * Only the pnbench CLI resolves kernels, so it is the one that speaks. */
static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "pnbench: kernels: %s\n", line);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *fmt_elapsed(double s, char *buf, size_t len)
{
	unsigned t = (unsigned)(s + 0.5);
	if (t >= 60)
		snprintf(buf, len, "%um%02us", t / 60, t % 60);
	else
		snprintf(buf, len, "%.1fs", s);
	return buf;
}

const char *pnb_cache_dir(void)
{
	static char dir[PNB_PATH];
	const char *e;

	if (dir[0])
		return dir;
	if ((e = getenv("PNBENCH_CACHE")) && *e) {
		snprintf(dir, sizeof dir, "%s", e);
	} else if ((e = getenv("XDG_CACHE_HOME")) && *e) {
		snprintf(dir, sizeof dir, "%s/pnbench", e);
	} else {
		const char *home = getenv("HOME");
		if (!home || !*home) {
			struct passwd *pw = getpwuid(getuid());
			home = pw ? pw->pw_dir : "/tmp";
		}
		snprintf(dir, sizeof dir, "%s/.cache/pnbench", home);
	}
	return dir;
}

static int is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void to_hex(const uint8_t *d, size_t n, char *hex)
{
	static const char x[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = x[d[i] >> 4];
		hex[2 * i + 1] = x[d[i] & 15];
	}
	hex[2 * n] = 0;
}

static void sha256_str(const char *s, char hex[65])
{
	struct sha256_ctx c;
	uint8_t d[SHA256_DIGEST_SIZE];

	sha256_init(&c);
	sha256_update(&c, strlen(s), (const uint8_t *)s);
	sha256_digest(&c, sizeof d, d);
	to_hex(d, sizeof d, hex);
}

static int sha256_file(const char *path, char hex[65])
{
	struct sha256_ctx c;
	uint8_t d[SHA256_DIGEST_SIZE], buf[1 << 16];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	sha256_init(&c);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		sha256_update(&c, (size_t)n, buf);
	if (n < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	close(fd);
	sha256_digest(&c, sizeof d, d);
	to_hex(d, sizeof d, hex);
	return 0;
}

/* Whole file into a malloc'd NUL-terminated buffer. */
static char *slurp(const char *path, size_t max)
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

static int copy_file(const char *from, const char *to)
{
	char buf[1 << 16];
	ssize_t n;
	int in = open(from, O_RDONLY | O_CLOEXEC), out, rc = 0;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n) {
			rc = -EIO;
			break;
		}
	if (n < 0)
		rc = -errno;
	close(in);
	if (close(out) && !rc)
		rc = -errno;
	return rc;
}

/* Running tools: argv exec'd directly (never through a shell, specs reach
 * these argv).  out captures stdout; log receives stdout and stderr; tick
 * prints a progress line every tick seconds while the child runs. */

static int xrun(char *const argv[], const struct xrun *o)
{
	int pfd[2] = { -1, -1 }, st;
	size_t got = 0;
	pid_t pid;

	if (o->out && pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = -errno;
		if (pfd[0] >= 0) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return e;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		int lfd = o->log ? open(o->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
		int errfd = lfd >= 0 ? lfd : null;

		dup2(null, 0);
		dup2(o->out ? pfd[1] : errfd, 1);
		dup2(errfd, 2);
		if (o->cwd && chdir(o->cwd)) {
			dprintf(2, "pnbench: cannot enter %s: %s\n", o->cwd, strerror(errno));
			_exit(126);
		}
		execvp(argv[0], argv);
		dprintf(2, "pnbench: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (o->out) {
		char buf[4096];
		ssize_t n;

		close(pfd[1]);
		while ((n = read(pfd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
			if (n <= 0)
				continue;
			size_t room = o->outlen > got + 1 ? o->outlen - got - 1 : 0;
			size_t c = (size_t)n < room ? (size_t)n : room;
			memcpy(o->out + got, buf, c);
			got += c;
		}
		close(pfd[0]);
		if (o->outlen)
			o->out[got] = 0;
	}
	if (o->tick_s) {
		double t0 = now_s(), next = t0 + o->tick_s;
		for (;;) {
			pid_t r = waitpid(pid, &st, WNOHANG);
			if (r == pid)
				break;
			if (r < 0 && errno != EINTR)
				return -errno;
			if (now_s() >= next) {
				char e[32];
				progress("%s: %s so far", o->what, fmt_elapsed(now_s() - t0, e, sizeof e));
				next += o->tick_s;
			}
			nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
		}
	} else {
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR)
				return -errno;
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/* The line of a tool's log that says what went wrong: the last one naming
 * an error, else the last line. */
static void log_reason(const char *log, char *out, size_t len)
{
	char buf[16384], *line, *best = NULL, *last = NULL, *save;
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
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!*line)
			continue;
		last = line;
		if (strcasestr(line, "error") || strstr(line, "E: ") == line || strstr(line, "dpkg-deb:"))
			best = line;
	}
	if (best || last)
		snprintf(out, len, "%.300s", best ? best : last);
}

/* Under the lock for kernel name, leftovers of interrupted attempts
 * (kernels/.tmp-<name>-<pid>) are stale. */
static void remove_stale(const char *name)
{
	char pat[PNB_PATH + 200];
	glob_t g;

	snprintf(pat, sizeof pat, "%s/kernels/.tmp-%s-*", pnb_cache_dir(), name);
	if (glob(pat, GLOB_NOSORT, NULL, &g) == 0)
		for (size_t i = 0; i < g.gl_pathc; i++)
			pnb_rm_rf(g.gl_pathv[i]);
	globfree(&g);
}

static int lock_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	progress("waiting for another pnbench holding %s", path);
	if (flock(fd, LOCK_EX)) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* --- bzImage ------------------------------------------------------------- */

/* x86 boot protocol (Documentation/arch/x86/boot.rst): the setup header's
 * "HdrS" at 0x202, protocol version at 0x206, and at 0x20E kernel_version,
 * a pointer to a NUL-terminated "release (builder) #1 SMP ..." string minus
 * 0x200. */
int kernel_bzimage_release(const char *path, char *rel, size_t len, char *err, size_t errlen)
{
	static unsigned char h[0x10000];
	struct stat st;
	unsigned proto, kv, off;
	size_t e;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	n = pread(fd, h, sizeof h, 0);
	close(fd);
	if (n < 0x210 || memcmp(h + 0x202, "HdrS", 4)) {
		snprintf(err, errlen, "%s: not a bzImage (no \"HdrS\" at offset 0x202)", path);
		return -1;
	}
	proto = h[0x206] | (unsigned)h[0x207] << 8;
	kv = h[0x20e] | (unsigned)h[0x20f] << 8;
	if (proto < 0x200 || kv == 0) {
		snprintf(err, errlen, "%s: bzImage header (boot protocol %u.%02u) has no kernel version string",
			 path, proto >> 8, proto & 0xff);
		return -1;
	}
	off = kv + 0x200;
	for (e = off; e < (size_t)n && h[e] && h[e] != ' '; e++)
		if (!isgraph(h[e]))
			break;
	if (off >= (size_t)n || e == off || e >= (size_t)n || (h[e] && h[e] != ' ')) {
		snprintf(err, errlen, "%s: bzImage kernel version string at offset 0x%x is not readable",
			 path, off);
		return -1;
	}
	if (e - off >= len) {
		snprintf(err, errlen, "%s: kernel release string longer than %zu bytes", path, len - 1);
		return -1;
	}
	memcpy(rel, h + off, e - off);
	rel[e - off] = 0;
	return 0;
}

/* --- configs and the fragment -------------------------------------------- */

struct cfgent {
	char sym[96];
	char val[160];		/* "n" for "# CONFIG_X is not set" */
};

/* "CONFIG_X=v" or "# CONFIG_X is not set"; 1 if the line is one of them. */
static int cfg_line(const char *l, struct cfgent *e)
{
	const char *eq;
	size_t n;

	while (isspace((unsigned char)*l))
		l++;
	if (!strncmp(l, "# CONFIG_", 9)) {
		const char *s = l + 2, *sp = strchr(s, ' ');
		if (!sp || strncmp(sp, " is not set", 11))
			return 0;
		n = (size_t)(sp - s);
		if (n >= sizeof e->sym)
			return 0;
		memcpy(e->sym, s, n);
		e->sym[n] = 0;
		snprintf(e->val, sizeof e->val, "n");
		return 1;
	}
	if (strncmp(l, "CONFIG_", 7) || !(eq = strchr(l, '=')))
		return 0;
	n = (size_t)(eq - l);
	if (n >= sizeof e->sym)
		return 0;
	memcpy(e->sym, l, n);
	e->sym[n] = 0;
	snprintf(e->val, sizeof e->val, "%s", eq + 1);
	n = strlen(e->val);
	while (n && isspace((unsigned char)e->val[n - 1]))
		e->val[--n] = 0;
	return 1;
}

/* Every entry of a config file; *out malloc'd.  Count or -errno. */
static int cfg_load(const char *path, struct cfgent **out)
{
	FILE *f = fopen(path, "re");
	struct cfgent *v = NULL, e;
	char line[512];
	int n = 0, cap = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof line, f)) {
		if (!cfg_line(line, &e))
			continue;
		if (n == cap) {
			struct cfgent *nv = realloc(v, (size_t)(cap = cap ? 2 * cap : 1024) * sizeof *v);
			if (!nv) {
				free(v);
				fclose(f);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = e;
	}
	fclose(f);
	*out = v;
	return n;
}

static const char *cfg_get(const struct cfgent *v, int n, const char *sym)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i].sym, sym))
			return v[i].val;
	return NULL;
}

static void append(char *buf, size_t len, const char *sep, const char *s)
{
	size_t n = strlen(buf);
	if (n + 1 >= len)
		return;
	snprintf(buf + n, len - n, "%s%s", n ? sep : "", s);
}

/* Mark which of syms[] some Kconfig file of tree defines ("config X" or
 * "menuconfig X"). */
static void kconfig_defined(const char *tree, char (*syms)[96], int n, int *found)
{
	char *paths[] = { (char *)tree, NULL };
	FTS *fts = fts_open(paths, FTS_PHYSICAL | FTS_NOSTAT, NULL);
	FTSENT *e;

	if (!fts)
		return;
	while ((e = fts_read(fts))) {
		char line[512];
		FILE *f;

		if (e->fts_info == FTS_D && !strcmp(e->fts_name, ".git")) {
			fts_set(fts, e, FTS_SKIP);
			continue;
		}
		if (strncmp(e->fts_name, "Kconfig", 7) || e->fts_info == FTS_D)
			continue;
		if (!(f = fopen(e->fts_accpath, "re")))
			continue;
		while (fgets(line, sizeof line, f)) {
			char *s = line, *w;
			size_t wl;

			while (*s == ' ' || *s == '\t')
				s++;
			if (!strncmp(s, "config", 6))
				s += 6;
			else if (!strncmp(s, "menuconfig", 10))
				s += 10;
			else
				continue;
			if (*s != ' ' && *s != '\t')
				continue;
			while (*s == ' ' || *s == '\t')
				s++;
			w = s;
			while (isalnum((unsigned char)*s) || *s == '_')
				s++;
			wl = (size_t)(s - w);
			for (int i = 0; i < n; i++)
				if (!found[i] && strlen(syms[i]) == wl + 7 && !strncmp(syms[i] + 7, w, wl))
					found[i] = 1;
		}
		fclose(f);
	}
	fts_close(fts);
}

int kernel_fragment_check(const char *fragment, const char *config, const char *tree,
			  char *missing, size_t mlen, char *skipped, size_t slen)
{
	struct cfgent *have = NULL, *want = NULL;
	char (*lost)[96] = NULL;
	char (*text)[320] = NULL;
	int nh, nw, nl = 0, count = 0, *found = NULL;

	if (mlen)
		missing[0] = 0;
	if (slen)
		skipped[0] = 0;
	nw = cfg_load(fragment, &want);
	if (nw < 0)
		return nw;
	nh = cfg_load(config, &have);
	if (nh < 0) {
		free(want);
		return nh;
	}
	lost = calloc((size_t)nw + 1, sizeof *lost);
	text = calloc((size_t)nw + 1, sizeof *text);
	found = calloc((size_t)nw + 1, sizeof *found);
	if (!lost || !text || !found) {
		count = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < nw; i++) {
		const char *got = cfg_get(have, nh, want[i].sym);
		int ok;

		/* olddefconfig omits a disabled option whose menu is off: absent
		 * counts as not set. */
		if (!strcmp(want[i].val, "n"))
			ok = !got || !strcmp(got, "n");
		else
			ok = got && !strcmp(got, want[i].val);
		if (ok)
			continue;
		snprintf(lost[nl], sizeof lost[nl], "%s", want[i].sym);
		if (!strcmp(want[i].val, "n"))
			snprintf(text[nl], sizeof text[nl], "# %s is not set (got %s)", want[i].sym, got);
		else
			snprintf(text[nl], sizeof text[nl], "%s=%s (got %s)", want[i].sym, want[i].val,
				 !got ? "absent" : !strcmp(got, "n") ? "not set" : got);
		nl++;
	}
	if (tree && nl)
		kconfig_defined(tree, lost, nl, found);
	for (int i = 0; i < nl; i++) {
		if (tree && !found[i]) {
			char s[160];
			snprintf(s, sizeof s, "%s (not in this tree's Kconfig)", lost[i]);
			if (slen)
				append(skipped, slen, "; ", s);
			continue;
		}
		if (mlen)
			append(missing, mlen, "; ", text[i]);
		count++;
	}
out:
	free(lost);
	free(text);
	free(found);
	free(want);
	free(have);
	return count;
}

/* The options that decide which mechanisms a kernel can offer. */
static const char *const summary_keys[] = {
	"CONFIG_PSI", "CONFIG_PSI_DEFAULT_DISABLED", "CONFIG_MEMCG", "CONFIG_MEMCG_V1",
	"CONFIG_PREEMPT_RT", "CONFIG_CGROUPS", "CONFIG_TRACING", "CONFIG_FTRACE",
	"CONFIG_VIRTIO_BLK", "CONFIG_EXT4_FS", "CONFIG_ZRAM", "CONFIG_LRU_GEN",
	"CONFIG_LRU_GEN_ENABLED", NULL
};

char *kernel_config_summary(const struct kernel_image *k)
{
	struct cfgent *v = NULL;
	json_t *o;
	char *s;
	int n;

	if (!k || !k->config[0] || (n = cfg_load(k->config, &v)) < 0)
		return NULL;
	o = json_object();
	for (int i = 0; summary_keys[i]; i++) {
		const char *val = cfg_get(v, n, summary_keys[i]);
		char b[160];
		size_t l;

		snprintf(b, sizeof b, "%s", val ? val : "n");
		l = strlen(b);
		if (l >= 2 && b[0] == '"' && b[l - 1] == '"') {
			memmove(b, b + 1, l - 2);
			b[l - 2] = 0;
		}
		json_object_set_new(o, summary_keys[i], json_string(b));
	}
	/* MEMCG_V1 exists since 6.11; before it the v1 controller came with
	 * MEMCG, so "n" for an absent MEMCG_V1 alone would misreport 6.1. */
	const char *memcg = cfg_get(v, n, "CONFIG_MEMCG"), *v1 = cfg_get(v, n, "CONFIG_MEMCG_V1");
	json_object_set_new(o, "memcg_v1_controller",
			    json_string(memcg && !strcmp(memcg, "y") && (!v1 || !strcmp(v1, "y")) ? "y" : "n"));
	free(v);
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

/* --- the cache ----------------------------------------------------------- */

static void set_digest(struct kernel_image *k)
{
	k->config_digest[0] = 0;
	if (k->config[0] && sha256_file(k->config, k->config_digest))
		k->config_digest[0] = 0;
}

/* Paths in the info file are relative to the kernel's directory, so the
 * cache can move. */
static int info_write(const char *dir, const struct kernel_image *k, const char *extra)
{
	char p[PNB_PATH + 64];
	size_t dl = strlen(dir);
	const char *rel[3] = { k->bzimage, k->modules_dir, k->config };
	FILE *f;

	snprintf(p, sizeof p, "%s/" INFO_FILE, dir);
	if (!(f = fopen(p, "we")))
		return -errno;
	fprintf(f, "spec=%s\nkind=%s\nname=%s\nrelease=%s\n", k->spec, k->kind, k->name, k->release);
	for (int i = 0; i < 3; i++) {
		const char *r = rel[i];
		if (!strncmp(r, dir, dl) && r[dl] == '/')
			r += dl + 1;
		fprintf(f, "%s=%s\n", i == 0 ? "bzimage" : i == 1 ? "modules" : "config", r);
	}
	if (extra)
		fputs(extra, f);
	return fclose(f) ? -errno : 0;
}

/* dir: the kernel's directory as it will be found later (final, not tmp). */
static int info_load(const char *dir, struct kernel_image *k)
{
	char p[PNB_PATH + 64], line[PNB_PATH + 64];
	FILE *f;

	snprintf(p, sizeof p, "%s/" INFO_FILE, dir);
	if (!(f = fopen(p, "re")))
		return -errno;
	memset(k, 0, sizeof *k);
	while (fgets(line, sizeof line, f)) {
		char *eq = strchr(line, '='), *v;
		line[strcspn(line, "\n")] = 0;
		if (!eq)
			continue;
		*eq = 0;
		v = eq + 1;
		if (!strcmp(line, "spec"))
			snprintf(k->spec, sizeof k->spec, "%s", v);
		else if (!strcmp(line, "kind"))
			snprintf(k->kind, sizeof k->kind, "%s", v);
		else if (!strcmp(line, "name"))
			snprintf(k->name, sizeof k->name, "%s", v);
		else if (!strcmp(line, "release"))
			snprintf(k->release, sizeof k->release, "%s", v);
		else if (!strcmp(line, "bzimage") || !strcmp(line, "modules") || !strcmp(line, "config")) {
			char *dst = line[0] == 'b' ? k->bzimage : line[0] == 'm' ? k->modules_dir : k->config;
			if (*v)
				snprintf(dst, PNB_PATH, "%s%s%s", *v == '/' ? "" : dir, *v == '/' ? "" : "/", v);
		}
	}
	fclose(f);
	if (!k->bzimage[0] || !is_file(k->bzimage) || !k->release[0])
		return -ENOENT;
	set_digest(k);
	return 0;
}

static int cmp_kernel(const void *a, const void *b)
{
	return strcmp(((const struct kernel_image *)a)->name, ((const struct kernel_image *)b)->name);
}

int kernel_cached(struct kernel_image **out)
{
	char dir[PNB_PATH], p[PNB_PATH * 2];
	struct kernel_image *v = NULL;
	struct dirent *de;
	int n = 0, cap = 0;
	DIR *d;

	*out = NULL;
	snprintf(dir, sizeof dir, "%s/kernels", pnb_cache_dir());
	if (!(d = opendir(dir)))
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		struct kernel_image k;
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		if (info_load(p, &k))
			continue;
		if (n == cap) {
			struct kernel_image *nv = realloc(v, (size_t)(cap = cap ? 2 * cap : 8) * sizeof *v);
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = k;
	}
	closedir(d);
	if (n)
		qsort(v, (size_t)n, sizeof *v, cmp_kernel);
	*out = v;
	return n;
}

/* --- Debian packages ----------------------------------------------------- */

/* "6.1.0-56-cloud-amd64" -> ABI 56 when flavour matches (NULL: any known). */
static int debian_abi(const char *v, const char *flavour, unsigned long *abi)
{
	const char *s = v + strlen(DEBIAN_SERIES);
	char *end;

	if (strncmp(v, DEBIAN_SERIES, strlen(DEBIAN_SERIES)) || !isdigit((unsigned char)*s))
		return 0;
	*abi = strtoul(s, &end, 10);
	if (*end != '-')
		return 0;
	if (flavour)
		return !strcmp(end + 1, flavour);
	for (int i = 0; debian_flavours[i]; i++)
		if (!strcmp(end + 1, debian_flavours[i]))
			return 1;
	return 0;
}

struct debver { unsigned long abi; char v[96]; };

static int cmp_debver(const void *a, const void *b)
{
	const struct debver *x = a, *y = b;
	if (x->abi != y->abi)
		return x->abi < y->abi ? 1 : -1;
	return strcmp(x->v, y->v);
}

int kernel_debian_available(const char *flavour, char *buf, size_t len)
{
	static char out[1 << 18];
	char *const argv[] = { "apt-cache", "pkgnames", "linux-image-" DEBIAN_SERIES, NULL };
	struct xrun o = { .out = out, .outlen = sizeof out };
	struct debver *v = NULL;
	char *line, *save;
	int rc, n = 0, cap = 0;

	if (len)
		buf[0] = 0;
	rc = xrun(argv, &o);
	if (rc < 0)
		return rc;
	if (rc)
		return -EIO;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		static const char pre[] = "linux-image-", suf[] = "-unsigned";
		size_t l = strlen(line);
		struct debver d;

		if (l <= sizeof pre + sizeof suf || strncmp(line, pre, sizeof pre - 1) ||
		    strcmp(line + l - (sizeof suf - 1), suf))
			continue;
		l -= sizeof pre - 1 + sizeof suf - 1;
		if (l >= sizeof d.v)
			continue;
		memcpy(d.v, line + sizeof pre - 1, l);
		d.v[l] = 0;
		if (!debian_abi(d.v, flavour, &d.abi))
			continue;
		if (n == cap) {
			struct debver *nv = realloc(v, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *v);
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = d;
	}
	if (n)
		qsort(v, (size_t)n, sizeof *v, cmp_debver);
	for (int i = 0; i < n; i++)
		append(buf, len, "\n", v[i].v);
	free(v);
	return n;
}

/* The newest version of flavour among cached kernels and, when allowed to
 * fetch, what apt-cache knows. */
static int debian_newest(const char *flavour, int with_apt, char *v, size_t len)
{
	struct kernel_image *ks;
	unsigned long best = 0, abi;
	char list[8192];
	int n = kernel_cached(&ks);

	v[0] = 0;
	for (int i = 0; i < n; i++)
		if (!strcmp(ks[i].kind, "debian") && debian_abi(ks[i].release, flavour, &abi) &&
		    (!v[0] || abi > best)) {
			best = abi;
			snprintf(v, len, "%s", ks[i].release);
		}
	free(ks);
	if (with_apt && kernel_debian_available(flavour, list, sizeof list) > 0) {
		list[strcspn(list, "\n")] = 0;
		if (debian_abi(list, flavour, &abi) && (!v[0] || abi > best))
			snprintf(v, len, "%s", list);
	}
	return v[0] ? 0 : -ENOENT;
}

static const char *debian_alias(const char *a)
{
	if (!strcmp(a, "cloud") || !strcmp(a, "cloud-amd64"))
		return "cloud-amd64";
	if (!strcmp(a, "rt") || !strcmp(a, "rt-amd64"))
		return "rt-amd64";
	if (!strcmp(a, "amd64"))
		return "amd64";
	return NULL;
}

/* "6.1.0-56, 6.1.0-55, ... and 9 older" for an error message. */
static void debian_known_line(const char *v, char *out, size_t len)
{
	const char *flavour = NULL;
	char list[16384], *line, *save;
	int n, shown = 0;

	for (int i = 0; debian_flavours[i]; i++) {
		size_t fl = strlen(debian_flavours[i]), vl = strlen(v);
		if (vl > fl + 1 && v[vl - fl - 1] == '-' && !strcmp(v + vl - fl, debian_flavours[i])) {
			flavour = debian_flavours[i];
			break;
		}
	}
	out[0] = 0;
	if (!flavour) {
		snprintf(out, len, "flavours: amd64, cloud-amd64, rt-amd64");
		return;
	}
	n = kernel_debian_available(flavour, list, sizeof list);
	if (n <= 0) {
		snprintf(out, len, "apt-cache knows no %s kernels: run apt-get update", flavour);
		return;
	}
	snprintf(out, len, "apt-cache knows: ");
	for (line = strtok_r(list, "\n", &save); line && shown < 6; line = strtok_r(NULL, "\n", &save)) {
		line[strlen(line) - strlen(flavour) - 1] = 0;
		if (shown++)
			append(out, len, ", ", line);
		else
			append(out, len, "", line);
	}
	if (n > shown) {
		char more[48];
		snprintf(more, sizeof more, " and %d older", n - shown);
		append(out, len, "", more);
	}
	char f[64];
	snprintf(f, sizeof f, " (-%s)", flavour);
	append(out, len, "", f);
}

static const char *find_tool(const char *name, char *buf, size_t len)
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

static int debian_fetch(const char *spec, const char *v, const char *kdir, struct kernel_image *k,
			char *err, size_t errlen)
{
	char cache[PNB_PATH], debs[PNB_PATH + 16], log[PNB_PATH + 32], pkg[160], deb[PNB_PATH * 2] = "";
	char tmp[PNB_PATH + 64], why[400], depmod[64], e1[32], out[4096], rel[128] = "";
	double t0 = now_s();
	struct dirent *de;
	DIR *d;
	int rc;

	snprintf(cache, sizeof cache, "%s", pnb_cache_dir());
	snprintf(pkg, sizeof pkg, "linux-image-%s-unsigned", v);
	{
		char *const argv[] = { "apt-cache", "show", "--no-all-versions", pkg, NULL };
		struct xrun o = { .out = out, .outlen = sizeof out };
		rc = xrun(argv, &o);
		if (rc == 127 || rc < 0)
			return fail(err, errlen, -1, spec, "cannot run apt-cache: is this Debian?");
		if (rc || !strstr(out, "Package:")) {
			debian_known_line(v, why, sizeof why);
			return fail(err, errlen, -2, spec, "no Debian package %s (%s)", pkg, why);
		}
	}
	snprintf(debs, sizeof debs, "%s/kernels/debs", cache);
	if ((rc = pnb_mkdir_all(debs, 0755)))
		return fail(err, errlen, -1, spec, "cannot create %s: %s", debs, strerror(-rc));
	snprintf(log, sizeof log, "%s/%s.log", debs, pkg);
	unlink(log);
	/* A download interrupted earlier must not be mistaken for this one. */
	{
		char pat[PNB_PATH + 200];
		glob_t g;
		snprintf(pat, sizeof pat, "%s/%s_*.deb", debs, pkg);
		if (glob(pat, GLOB_NOSORT, NULL, &g) == 0)
			for (size_t i = 0; i < g.gl_pathc; i++)
				unlink(g.gl_pathv[i]);
		globfree(&g);
	}
	progress("%s: downloading %s", spec, pkg);
	{
		/* As root apt drops to _apt for downloads and warns that the cache
		 * directory is not writable by it; root can fetch as itself. */
		char *const argv_root[] = { "apt-get", "download", "-q", "-o", "APT::Sandbox::User=root",
					    pkg, NULL };
		char *const argv_user[] = { "apt-get", "download", "-q", pkg, NULL };
		char label[300];
		snprintf(label, sizeof label, "%s: downloading", spec);
		struct xrun o = { .cwd = debs, .log = log, .tick_s = 30, .what = label };
		rc = xrun(geteuid() == 0 ? argv_root : argv_user, &o);
		if (rc) {
			log_reason(log, why, sizeof why);
			return fail(err, errlen, -1, spec, "apt-get download %s failed (exit %d): %s", pkg, rc, why);
		}
	}
	if ((d = opendir(debs))) {
		size_t pl = strlen(pkg);
		while ((de = readdir(d)))
			if (!strncmp(de->d_name, pkg, pl) && de->d_name[pl] == '_' &&
			    strstr(de->d_name, ".deb"))
				snprintf(deb, sizeof deb, "%s/%s", debs, de->d_name);
		closedir(d);
	}
	if (!deb[0])
		return fail(err, errlen, -1, spec, "apt-get download left no %s_*.deb in %s", pkg, debs);
	snprintf(tmp, sizeof tmp, "debian-%s", v);
	remove_stale(tmp);
	snprintf(tmp, sizeof tmp, "%s/kernels/.tmp-debian-%s-%d", cache, v, (int)getpid());
	if ((rc = pnb_mkdir_all(tmp, 0755)))
		return fail(err, errlen, -1, spec, "cannot create %s: %s", tmp, strerror(-rc));
	progress("%s: unpacking %s", spec, strrchr(deb, '/') + 1);
	{
		char *const argv[] = { "dpkg-deb", "-x", deb, tmp, NULL };
		struct xrun o = { .log = log };
		if ((rc = xrun(argv, &o))) {
			log_reason(log, why, sizeof why);
			pnb_rm_rf(tmp);
			return fail(err, errlen, -1, spec, "dpkg-deb -x %s failed (exit %d): %s", deb, rc, why);
		}
	}
	memset(k, 0, sizeof *k);
	snprintf(k->bzimage, sizeof k->bzimage, "%s/boot/vmlinuz-%s", tmp, v);
	snprintf(k->config, sizeof k->config, "%s/boot/config-%s", tmp, v);
	snprintf(k->modules_dir, sizeof k->modules_dir, "%s/lib/modules/%s", tmp, v);
	if (!is_file(k->bzimage) || !is_file(k->config) || !is_dir(k->modules_dir)) {
		pnb_rm_rf(tmp);
		return fail(err, errlen, -1, spec, "%s lacks boot/vmlinuz-%s, boot/config-%s or lib/modules/%s",
			    deb, v, v, v);
	}
	if (kernel_bzimage_release(k->bzimage, rel, sizeof rel, why, sizeof why) || strcmp(rel, v)) {
		pnb_rm_rf(tmp);
		return fail(err, errlen, -1, spec, "%s: release '%s' is not the package's %s",
			    k->bzimage, rel, v);
	}
	/* The package ships no modules.dep (its postinst makes it); the image
	 * builder computes module closures from it. */
	{
		char *const argv[] = { (char *)find_tool("depmod", depmod, sizeof depmod), "-b", tmp,
				       (char *)v, NULL };
		struct xrun o = { .log = log };
		if ((rc = xrun(argv, &o))) {
			log_reason(log, why, sizeof why);
			pnb_rm_rf(tmp);
			return fail(err, errlen, -1, spec, "depmod -b %s %s failed (exit %d): %s", tmp, v, rc, why);
		}
	}
	snprintf(k->kind, sizeof k->kind, "debian");
	snprintf(k->spec, sizeof k->spec, "debian:%s", v);
	snprintf(k->name, sizeof k->name, "debian-%s", v);
	snprintf(k->release, sizeof k->release, "%s", v);
	snprintf(why, sizeof why, "source=%s\n", strrchr(deb, '/') + 1);
	if ((rc = info_write(tmp, k, why)) || rename(tmp, kdir)) {
		rc = rc ? rc : -errno;
		pnb_rm_rf(tmp);
		return fail(err, errlen, -1, spec, "cannot put %s in place: %s", kdir, strerror(-rc));
	}
	unlink(deb);
	unlink(log);
	progress("%s: ready in %s: %s", spec, fmt_elapsed(now_s() - t0, e1, sizeof e1), kdir);
	return 0;
}

static int resolve_debian(const char *spec, const char *arg, int allow, struct kernel_image *k,
			  char *err, size_t errlen)
{
	char v[128], kdir[PNB_PATH + 160], lock[PNB_PATH + 170];
	const char *flavour = debian_alias(arg);
	int rc, lfd;

	if (flavour) {
		if (debian_newest(flavour, allow, v, sizeof v) && allow)
			return fail(err, errlen, -1, spec, "apt-cache knows no linux-image-" DEBIAN_SERIES
				    "N-%s-unsigned: run apt-get update", flavour);
		if (!v[0])
			return fail(err, errlen, -1, spec, "no %s kernel fetched: run pnbench kernels fetch %s",
				    flavour, spec);
	} else {
		for (const char *s = arg; *s; s++)
			if (!isalnum((unsigned char)*s) && !strchr(".+-~", *s))
				return fail(err, errlen, -2, spec, "bad character '%c' in a Debian kernel version", *s);
		if (strlen(arg) >= sizeof v)
			return fail(err, errlen, -2, spec, "version too long");
		/* Debian names its kernel images ABI-FLAVOUR: 6.1.0-57-cloud-amd64. */
		unsigned a, b, c, n;
		int used = 0;
		if (sscanf(arg, "%u.%u.%u-%u-%n", &a, &b, &c, &n, &used) != 4 || !used || !arg[used])
			return fail(err, errlen, -2, spec, "'%s' is not a Debian kernel version "
				    "(VERSION-ABI-FLAVOUR, e.g. 6.1.0-57-cloud-amd64; flavours: amd64, "
				    "cloud-amd64, rt-amd64)",
				    arg);
		snprintf(v, sizeof v, "%s", arg);
	}
	snprintf(kdir, sizeof kdir, "%s/kernels/debian-%s", pnb_cache_dir(), v);
	if (info_load(kdir, k) == 0)
		goto done;
	if (!allow)
		return fail(err, errlen, -1, spec, "not fetched: run pnbench kernels fetch %s", spec);
	snprintf(lock, sizeof lock, "%s/kernels", pnb_cache_dir());
	if ((rc = pnb_mkdir_all(lock, 0755)))
		return fail(err, errlen, -1, spec, "cannot create %s: %s", lock, strerror(-rc));
	snprintf(lock, sizeof lock, "%s/kernels/.debian-%s.lock", pnb_cache_dir(), v);
	if ((lfd = lock_file(lock)) < 0)
		return fail(err, errlen, -1, spec, "cannot lock %s: %s", lock, strerror(-lfd));
	rc = info_load(kdir, k) == 0 ? 0 : debian_fetch(spec, v, kdir, k, err, errlen);
	close(lfd);
	if (rc)
		return rc;
	if (info_load(kdir, k))
		return fail(err, errlen, -1, spec, "%s is incomplete after fetching", kdir);
done:
	snprintf(k->spec, sizeof k->spec, "%s", spec);
	return 0;
}

/* --- path:FILE ----------------------------------------------------------- */

static int resolve_path(const char *spec, const char *arg, struct kernel_image *k,
			char *err, size_t errlen)
{
	char buf[PNB_PATH * 3], why[PNB_PATH + 128], dir[PNB_PATH], hex[65], *save, *tok;
	char bz[PNB_PATH] = "", mods[PNB_PATH] = "", cfg[PNB_PATH] = "";
	int first = 1;

	snprintf(buf, sizeof buf, "%s", arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), first = 0) {
		if (first) {
			snprintf(bz, sizeof bz, "%s", tok);
		} else if (!strncmp(tok, "modules=", 8) && tok[8]) {
			snprintf(mods, sizeof mods, "%s", tok + 8);
		} else if (!strncmp(tok, "config=", 7) && tok[7]) {
			snprintf(cfg, sizeof cfg, "%s", tok + 7);
		} else {
			return fail(err, errlen, -2, spec, "unknown option '%s' (want modules=DIR or config=FILE)", tok);
		}
	}
	if (!bz[0])
		return fail(err, errlen, -2, spec, "no bzImage path after 'path:'");
	if (kernel_bzimage_release(bz, k->release, sizeof k->release, why, sizeof why))
		return fail(err, errlen, -2, spec, "%s", why);
	if (!realpath(bz, k->bzimage))
		return fail(err, errlen, -2, spec, "%s: %s", bz, strerror(errno));
	snprintf(dir, sizeof dir, "%s", k->bzimage);
	dirname(dir);

	if (mods[0]) {
		char p[PNB_PATH * 2];
		snprintf(p, sizeof p, "%s/lib/modules/%s", mods, k->release);
		if (is_dir(p))
			snprintf(mods, sizeof mods, "%s", p);
		else if (!is_dir(mods))
			return fail(err, errlen, -2, spec, "modules=%s: no such directory", mods);
		else if (strcmp(basename(strcpy(p, mods)), k->release))
			return fail(err, errlen, -2, spec,
				    "modules=%s: not the modules of release %s (want .../lib/modules/%s)",
				    mods, k->release, k->release);
	} else {
		/* The layouts a bzImage usually sits in: an unpacked package
		 * (boot/ beside lib/modules/) or the running system's /boot. */
		const char *const cands[] = { "%s/../lib/modules/%s", "/lib/modules/%s", NULL };
		for (int i = 0; cands[i] && !mods[0]; i++) {
			char p[PNB_PATH * 2];
			if (i == 0)
				snprintf(p, sizeof p, cands[0], dir, k->release);
			else if (!strncmp(k->bzimage, "/boot/", 6))
				snprintf(p, sizeof p, cands[1], k->release);
			else
				continue;
			if (is_dir(p))
				snprintf(mods, sizeof mods, "%s", p);
		}
	}
	if (mods[0] && !realpath(mods, k->modules_dir))
		return fail(err, errlen, -1, spec, "%s: %s", mods, strerror(errno));

	if (cfg[0]) {
		if (!is_file(cfg))
			return fail(err, errlen, -2, spec, "config=%s: no such file", cfg);
	} else {
		/* /boot/config-<rel> beside /boot/vmlinuz-<rel>, or the .config
		 * of the O= tree whose arch/x86/boot/ holds the bzImage. */
		char p[PNB_PATH * 2];
		snprintf(p, sizeof p, "%s/config-%s", dir, k->release);
		if (!is_file(p))
			snprintf(p, sizeof p, "%s/../../../.config", dir);
		if (!is_file(p))
			snprintf(p, sizeof p, "%s/config", dir);
		if (is_file(p))
			snprintf(cfg, sizeof cfg, "%s", p);
	}
	if (cfg[0] && !realpath(cfg, k->config))
		return fail(err, errlen, -1, spec, "%s: %s", cfg, strerror(errno));

	/* Two images of one release (a CI comparing two builds of a tree)
	 * must not share result directories. */
	if (sha256_file(k->bzimage, hex))
		return fail(err, errlen, -1, spec, "%s: cannot read", k->bzimage);
	snprintf(k->kind, sizeof k->kind, "path");
	snprintf(k->name, sizeof k->name, "path-%.100s-%.8s", k->release, hex);
	for (char *s = k->name; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(".+-_", *s))
			*s = '_';
	set_digest(k);
	return 0;
}

/* --- tree:DIR ------------------------------------------------------------ */

static int fragment_path(char *out, size_t len)
{
	const char *e = getenv("PNBENCH_FRAGMENT");
	char exe[PATH_MAX];
	ssize_t n;

	if (e && *e) {
		snprintf(out, len, "%s", e);
		return is_file(out) ? 0 : -ENOENT;
	}
	/* bin/pnbench and tests/NAME_test both sit one level below the top. */
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return -ENOENT;
	exe[n] = 0;
	snprintf(out, len, "%s/../qemu/pnbench.config", dirname(exe));
	if (!realpath(out, exe))
		return -ENOENT;
	snprintf(out, len, "%s", exe);
	return is_file(out) ? 0 : -ENOENT;
}

/* Over the option lines only, so editing a comment rebuilds nothing. */
static int fragment_digest(const char *fragment, char hex[65])
{
	struct cfgent *v;
	struct sha256_ctx c;
	uint8_t d[SHA256_DIGEST_SIZE];
	int n = cfg_load(fragment, &v);

	if (n < 0)
		return n;
	sha256_init(&c);
	for (int i = 0; i < n; i++) {
		char line[300];
		int l = snprintf(line, sizeof line, "%s=%s\n", v[i].sym, v[i].val);
		sha256_update(&c, (size_t)l, (const uint8_t *)line);
	}
	free(v);
	sha256_digest(&c, sizeof d, d);
	to_hex(d, sizeof d, hex);
	return 0;
}

static int tarball_name(const char *s)
{
	static const char *const ext[] = { ".tar.xz", ".tar.gz", ".tar.bz2", ".tar.zst", ".tar", NULL };
	size_t l = strlen(s);
	for (int i = 0; ext[i]; i++) {
		size_t el = strlen(ext[i]);
		if (l > el && !strcmp(s + l - el, ext[i]))
			return (int)el;
	}
	return 0;
}

/* A source tarball unpacks once into <cache>/src/<stem>-<key>, keyed by the
 * tarball's path, size and mtime. */
static int unpack_tarball(const char *spec, const char *tarball, char *dir, size_t len,
			  char *err, size_t errlen)
{
	char real[PATH_MAX], stem[256], key[65], hex[65], tmp[PNB_PATH + 64], log[PNB_PATH + 64];
	char why[400], e1[32], top[PNB_PATH * 2] = "";
	struct stat st;
	struct dirent *de;
	double t0 = now_s();
	int rc, ndirs = 0, nall = 0;
	DIR *d;

	if (!realpath(tarball, real) || stat(real, &st))
		return fail(err, errlen, -1, spec, "%s: %s", tarball, strerror(errno));
	snprintf(stem, sizeof stem, "%s", strrchr(real, '/') + 1);
	stem[strlen(stem) - (size_t)tarball_name(stem)] = 0;
	snprintf(key, sizeof key, "%s %lld %lld.%09ld", real, (long long)st.st_size,
		 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	sha256_str(key, hex);
	snprintf(dir, len, "%s/src/%s-%.12s", pnb_cache_dir(), stem, hex);
	if (is_dir(dir))
		return 0;
	snprintf(tmp, sizeof tmp, "%s/src/.tmp-%d", pnb_cache_dir(), (int)getpid());
	snprintf(log, sizeof log, "%s/src/.tmp-%d.log", pnb_cache_dir(), (int)getpid());
	pnb_rm_rf(tmp);
	if ((rc = pnb_mkdir_all(tmp, 0755)))
		return fail(err, errlen, -1, spec, "cannot create %s: %s", tmp, strerror(-rc));
	progress("%s: unpacking %s", spec, real);
	{
		char *const argv[] = { "tar", "-xf", real, "-C", tmp, NULL };
		struct xrun o = { .log = log };
		if ((rc = xrun(argv, &o))) {
			log_reason(log, why, sizeof why);
			pnb_rm_rf(tmp);
			unlink(log);
			return fail(err, errlen, -1, spec, "tar -xf %s failed (exit %d): %s", real, rc, why);
		}
	}
	unlink(log);
	if ((d = opendir(tmp))) {
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			nall++;
			snprintf(top, sizeof top, "%s/%s", tmp, de->d_name);
			if (is_dir(top))
				ndirs++;
		}
		closedir(d);
	}
	/* linux-source-X.tar.xz holds one linux-source-X/ directory. */
	if (nall == 1 && ndirs == 1)
		rc = rename(top, dir) ? -errno : 0;
	else
		rc = rename(tmp, dir) ? -errno : 0;
	pnb_rm_rf(tmp);
	/* Another pnbench unpacked the same tarball meanwhile: use its copy. */
	if (rc && is_dir(dir))
		rc = 0;
	if (rc)
		return fail(err, errlen, -1, spec, "cannot put %s in place: %s", dir, strerror(-rc));
	progress("%s: unpacked in %s: %s", spec, fmt_elapsed(now_s() - t0, e1, sizeof e1), dir);
	return 0;
}

/* The tree's revision: git HEAD (plus a digest of uncommitted changes to
 * tracked files) when the tree is the top of a git work tree; otherwise its
 * Makefile version and a digest of every file's size and mtime. */
static int tree_revision(const char *spec, const char *tree, char *rev, size_t len,
			 char *err, size_t errlen)
{
	char out[PATH_MAX + 64], real[PATH_MAX];
	char *const top[] = { "git", "-C", (char *)tree, "rev-parse", "--show-toplevel", NULL };
	struct xrun o = { .out = out, .outlen = sizeof out };

	if (!realpath(tree, real))
		return fail(err, errlen, -1, spec, "%s: %s", tree, strerror(errno));
	if (xrun(top, &o) == 0 && (out[strcspn(out, "\n")] = 0, !strcmp(out, real))) {
		char *const head[] = { "git", "-C", real, "rev-parse", "HEAD", NULL };
		char *const st[] = { "git", "-C", real, "status", "--porcelain", "--untracked-files=no", NULL };
		char dirty[4096], head_s[128];
		struct xrun oh = { .out = head_s, .outlen = sizeof head_s };
		struct xrun os = { .out = dirty, .outlen = sizeof dirty };

		if (xrun(head, &oh) || xrun(st, &os))
			return fail(err, errlen, -1, spec, "%s: git rev-parse HEAD / git status failed", real);
		head_s[strcspn(head_s, "\n")] = 0;
		if (!dirty[0]) {
			snprintf(rev, len, "git %s", head_s);
			return 0;
		}
		/* Uncommitted changes: the diff itself decides reuse. */
		char diffp[PNB_PATH + 64], hex[65];
		char *const diff[] = { "git", "-C", real, "diff", "--no-color", "HEAD", NULL };
		snprintf(diffp, sizeof diffp, "%s/.tree-diff-%d", pnb_cache_dir(), (int)getpid());
		pnb_mkdir_all(pnb_cache_dir(), 0755);
		unlink(diffp);
		struct xrun od = { .log = diffp };
		int rc = xrun(diff, &od);
		if (rc || sha256_file(diffp, hex)) {
			unlink(diffp);
			return fail(err, errlen, -1, spec, "%s: git diff HEAD failed", real);
		}
		unlink(diffp);
		snprintf(rev, len, "git %s dirty %.16s", head_s, hex);
		return 0;
	}

	char mk[PATH_MAX + 16], ver[4][32] = { "", "", "", "" }, *text, *line, *save;
	static const char *const keys[] = { "VERSION", "PATCHLEVEL", "SUBLEVEL", "EXTRAVERSION" };
	snprintf(mk, sizeof mk, "%s/Makefile", real);
	if (!(text = slurp(mk, 4096)))
		return fail(err, errlen, -1, spec, "%s: %s", mk, strerror(errno));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		for (int i = 0; i < 4; i++) {
			size_t kl = strlen(keys[i]);
			if (!strncmp(line, keys[i], kl) && strchr(" =", line[kl])) {
				char *v = strchr(line, '=');
				if (!v)
					continue;
				for (v++; *v == ' '; v++)
					;
				snprintf(ver[i], sizeof ver[i], "%s", v);
			}
		}
	free(text);

	char *paths[] = { real, NULL };
	FTS *fts = fts_open(paths, FTS_PHYSICAL, NULL);
	unsigned long long files = 0, bytes = 0;
	struct timespec newest = { 0, 0 };
	FTSENT *e;
	if (!fts)
		return fail(err, errlen, -1, spec, "%s: %s", real, strerror(errno));
	while ((e = fts_read(fts))) {
		if (e->fts_info != FTS_F)
			continue;
		files++;
		bytes += (unsigned long long)e->fts_statp->st_size;
		if (e->fts_statp->st_mtim.tv_sec > newest.tv_sec ||
		    (e->fts_statp->st_mtim.tv_sec == newest.tv_sec &&
		     e->fts_statp->st_mtim.tv_nsec > newest.tv_nsec))
			newest = e->fts_statp->st_mtim;
	}
	fts_close(fts);
	snprintf(rev, len, "version %s.%s.%s%s files %llu bytes %llu newest %lld.%09ld", ver[0], ver[1],
		 ver[2], ver[3], files, bytes, (long long)newest.tv_sec, newest.tv_nsec);
	return 0;
}

/* apt-get install pkgs (space-separated), as root, logging to the cache;
 * once more after apt-get update when the package lists are stale or empty
 * (a fresh machine has none). 0, or -1 with the reason. */
static int apt_install(const char *spec, const char *pkgs, char *err, size_t errlen)
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
	struct xrun o = { .log = log, .tick_s = 30, .what = label };
	progress("%s: apt-get install %s", spec, pkgs);
	rc = xrun(argv, &o);
	if (rc) {
		char *const upd[] = { "apt-get", "update", "-q", NULL };
		progress("%s: apt-get update", spec);
		if (!xrun(upd, &o))
			rc = xrun(argv, &o);
	}
	if (rc) {
		log_reason(log, why, sizeof why);
		return fail(err, errlen, -1, spec, "apt-get install %s failed (exit %d): %s", pkgs,
			    rc, why);
	}
	unlink(log);
	return 0;
}

/* Tools a kernel build needs, with the Debian package that brings each. */
static int build_tools(const char *spec, char *err, size_t errlen)
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
			ok = is_file(need[i].what);
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
			append(miss, sizeof miss, " ", need[i].pkg);
	}
	if (!miss[0])
		return 0;
	if (geteuid() != 0)
		return fail(err, errlen, -1, spec, "building a kernel needs Debian packages: %s "
			    "(apt-get install %s)", miss, miss);
	return apt_install(spec, miss, err, errlen);
}

static int make_step(const char *spec, const char *src, const char *obj, const char *log,
		     const char *what, unsigned tick, char *const targets[], char *err, size_t errlen)
{
	char *argv[16], o_arg[PNB_PATH + 4], why[400], label[300];
	struct xrun o = { .log = log, .tick_s = tick, .what = label };
	int n = 0, rc;

	snprintf(label, sizeof label, "%s: make %s", spec, what);
	snprintf(o_arg, sizeof o_arg, "O=%s", obj);
	argv[n++] = "make";
	argv[n++] = "-C";
	argv[n++] = (char *)src;
	argv[n++] = o_arg;
	argv[n++] = "ARCH=x86_64";
	for (int i = 0; targets[i] && n < 15; i++)
		argv[n++] = targets[i];
	argv[n] = NULL;
	if ((rc = xrun(argv, &o))) {
		log_reason(log, why, sizeof why);
		return fail(err, errlen, -1, spec, "make %s failed (exit %d; log %s): %s", what, rc, log, why);
	}
	return 0;
}

/* The object tree belongs to the source revision (obj), the result to the
 * revision and the fragment (key): a fragment change rebuilds incrementally. */
static int tree_build(const char *spec, const char *src, const char *fragment, const char *key,
		      const char *obj, const char *rev, const char *fdigest, unsigned jobs,
		      const char *kdir, struct kernel_image *k, char *err, size_t errlen)
{
	char log[PNB_PATH + 32], cfg[PNB_PATH + 16], tmp[PNB_PATH + 64], jarg[32];
	char missing[4096], skipped[1024], why[PNB_PATH + 128], p[PNB_PATH * 2], extra[PNB_PATH * 2];
	char modarg[PNB_PATH + 80], e1[32];
	double t0 = now_s(), tb;
	struct stat st;
	int rc;

	if ((rc = build_tools(spec, err, errlen)))
		return rc;
	if (!jobs) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = n > 0 ? (unsigned)n : 1;
	}
	if ((rc = pnb_mkdir_all(obj, 0755)))
		return fail(err, errlen, -1, spec, "cannot create %s: %s", obj, strerror(-rc));
	snprintf(log, sizeof log, "%s/pnbench-build.log", obj);
	snprintf(cfg, sizeof cfg, "%s/.config", obj);
	unlink(log);
	progress("%s: configuring in %s (defconfig + %s)", spec, obj, fragment);
	if ((rc = make_step(spec, src, obj, log, "defconfig", 0, (char *[]){ "defconfig", NULL }, err, errlen)))
		return rc;
	{
		char script[PNB_PATH + 64];
		snprintf(script, sizeof script, "%s/scripts/kconfig/merge_config.sh", src);
		char *const argv[] = { "sh", script, "-m", "-O", (char *)obj, cfg, (char *)fragment, NULL };
		struct xrun o = { .cwd = src, .log = log };
		if ((rc = xrun(argv, &o))) {
			log_reason(log, why, sizeof why);
			return fail(err, errlen, -1, spec, "merge_config.sh failed (exit %d; log %s): %s",
				    rc, log, why);
		}
	}
	if ((rc = make_step(spec, src, obj, log, "olddefconfig", 0, (char *[]){ "olddefconfig", NULL },
			    err, errlen)))
		return rc;
	rc = kernel_fragment_check(fragment, cfg, src, missing, sizeof missing, skipped, sizeof skipped);
	if (rc < 0)
		return fail(err, errlen, -1, spec, "checking %s against %s: %s", cfg, fragment, strerror(-rc));
	if (skipped[0])
		progress("%s: fragment options this tree does not have, skipped: %s", spec, skipped);
	if (rc > 0)
		return fail(err, errlen, -1, spec, "%d fragment line%s did not survive olddefconfig in %s: %s",
			    rc, rc == 1 ? "" : "s", cfg, missing);

	snprintf(jarg, sizeof jarg, "-j%u", jobs);
	progress("%s: make %s bzImage modules (log %s)", spec, jarg, log);
	tb = now_s();
	if ((rc = make_step(spec, src, obj, log, "bzImage modules", 60,
			    (char *[]){ jarg, "bzImage", "modules", NULL }, err, errlen)))
		return rc;
	progress("%s: compiled in %s", spec, fmt_elapsed(now_s() - tb, e1, sizeof e1));

	snprintf(tmp, sizeof tmp, "tree-%s", key);
	remove_stale(tmp);
	snprintf(tmp, sizeof tmp, "%s/kernels/.tmp-tree-%s-%d", pnb_cache_dir(), key, (int)getpid());
	if ((rc = pnb_mkdir_all(tmp, 0755)))
		return fail(err, errlen, -1, spec, "cannot create %s: %s", tmp, strerror(-rc));
	snprintf(modarg, sizeof modarg, "INSTALL_MOD_PATH=%s", tmp);
	if ((rc = make_step(spec, src, obj, log, "modules_install", 0,
			    (char *[]){ "modules_install", modarg, "INSTALL_MOD_STRIP=1", NULL }, err, errlen))) {
		pnb_rm_rf(tmp);
		return rc;
	}
	memset(k, 0, sizeof *k);
	snprintf(p, sizeof p, "%s/arch/x86/boot/bzImage", obj);
	snprintf(k->bzimage, sizeof k->bzimage, "%s/bzImage", tmp);
	snprintf(k->config, sizeof k->config, "%s/config", tmp);
	if ((rc = copy_file(p, k->bzimage)) || (rc = copy_file(cfg, k->config))) {
		pnb_rm_rf(tmp);
		return fail(err, errlen, -1, spec, "copying the build out of %s: %s", obj, strerror(-rc));
	}
	snprintf(p, sizeof p, "%s/System.map", obj);
	snprintf(why, sizeof why, "%s/System.map", tmp);
	copy_file(p, why);
	if (kernel_bzimage_release(k->bzimage, k->release, sizeof k->release, why, sizeof why)) {
		pnb_rm_rf(tmp);
		return fail(err, errlen, -1, spec, "%s", why);
	}
	snprintf(k->modules_dir, sizeof k->modules_dir, "%s/lib/modules/%s", tmp, k->release);
	if (!is_dir(k->modules_dir))
		k->modules_dir[0] = 0;
	snprintf(k->kind, sizeof k->kind, "tree");
	snprintf(k->spec, sizeof k->spec, "tree:%s", src);
	snprintf(k->name, sizeof k->name, "tree-%.80s-%s", k->release, key);
	for (char *s = k->name; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(".+-_", *s))
			*s = '_';
	snprintf(extra, sizeof extra, "source=%s\nrevision=%s\nfragment_sha256=%s\nbuild_seconds=%.0f\njobs=%u\n"
		 "objdir=%s\n", src, rev, fdigest, now_s() - t0, jobs, obj);
	if ((rc = info_write(tmp, k, extra)) || rename(tmp, kdir)) {
		rc = rc ? rc : -errno;
		pnb_rm_rf(tmp);
		return fail(err, errlen, -1, spec, "cannot put %s in place: %s", kdir, strerror(-rc));
	}
	snprintf(p, sizeof p, "%s/bzImage", kdir);
	progress("%s: built in %s: %s (%.1f MiB)", spec, fmt_elapsed(now_s() - t0, e1, sizeof e1), p,
		 stat(p, &st) ? 0.0 : st.st_size / 1048576.0);
	return 0;
}

static int resolve_tree_series(const char *spec, const char *arg, const struct pnb_series *ps,
			       int allow, unsigned jobs, struct kernel_image *k, char *err, size_t errlen)
{
	char src[PNB_PATH], fragment[PNB_PATH], fdig[65], rev[512], keytext[700], hex[65];
	char kdir[PNB_PATH + 64], lock[PNB_PATH + 64], p[PNB_PATH + 64], obj[PNB_PATH + 64], rhex[65];
	char why[PNB_PATH + 512], patched[PNB_PATH + 64];
	int rc, lfd;

	/* tree:linux-source-6.12 names Debian's source package. */
	if (!strchr(arg, '/') && !strncmp(arg, "linux-source-", 13)) {
		char tb[PNB_PATH];
		snprintf(tb, sizeof tb, "/usr/src/%s.tar.xz", arg);
		if (!is_file(tb)) {
			if (!allow || geteuid() != 0)
				return fail(err, errlen, -1, spec, "%s missing: install it with apt-get install %s",
					    tb, arg);
			if ((rc = apt_install(spec, arg, err, errlen)))
				return rc;
			if (!is_file(tb))
				return fail(err, errlen, -1, spec, "apt-get install %s did not bring %s",
					    arg, tb);
		}
		if ((rc = unpack_tarball(spec, tb, src, sizeof src, err, errlen)))
			return rc;
	} else if (is_file(arg) && tarball_name(arg)) {
		if ((rc = unpack_tarball(spec, arg, src, sizeof src, err, errlen)))
			return rc;
	} else if (!is_dir(arg)) {
		return fail(err, errlen, -2, spec, "%s: %s", arg,
			    access(arg, F_OK) ? "no such directory" : "not a directory or source tarball");
	} else if (!realpath(arg, src)) {
		return fail(err, errlen, -2, spec, "%s: %s", arg, strerror(errno));
	}
	snprintf(p, sizeof p, "%s/scripts/kconfig/merge_config.sh", src);
	if (!is_file(p))
		return fail(err, errlen, -2, spec, "%s is not a kernel tree (no scripts/kconfig/merge_config.sh)", src);
	snprintf(p, sizeof p, "%s/.config", src);
	if (is_file(p))
		return fail(err, errlen, -1, spec, "%s has an in-tree build (.config): the O= build needs "
			    "a clean tree, run make mrproper there", src);
	if (fragment_path(fragment, sizeof fragment))
		return fail(err, errlen, -1, spec, "config fragment %s not found (set PNBENCH_FRAGMENT)", fragment);
	if ((rc = fragment_digest(fragment, fdig)))
		return fail(err, errlen, -1, spec, "%s: %s", fragment, strerror(-rc));
	if ((rc = tree_revision(spec, src, rev, sizeof rev, err, errlen)))
		return rc;
	/* A series is part of the revision: the tree plus these patches. */
	if (ps)
		snprintf(rev + strlen(rev), sizeof rev - strlen(rev), " series %.64s", ps->digest);
	snprintf(keytext, sizeof keytext, "%s\nfragment %s\n", rev, fdig);
	sha256_str(keytext, hex);
	hex[12] = 0;
	snprintf(kdir, sizeof kdir, "%s/kernels/tree-%s", pnb_cache_dir(), hex);
	if (info_load(kdir, k) == 0)
		goto done;
	if (!allow)
		return fail(err, errlen, -1, spec, "not built: run pnbench kernels build --tree %s",
			    strncmp(spec, "tree:", 5) ? arg : spec + 5);
	/* A git work tree keeps one object tree for all its revisions, named
	 * after the tree's path: checking out another commit rewrites only the
	 * files that differ, so make rebuilds only what they touch (a bisect
	 * pays for one full build, not one per step).  Other trees change
	 * wholesale (a new tarball, a new directory) and key it by revision. */
	if (ps) {
		/* Every series on one tree shares one patched copy and one
		 * object tree: a new version of a series rebuilds what it and
		 * its predecessor touch (series_apply). */
		sha256_str(src, rhex);
		snprintf(obj, sizeof obj, "%s/build/patched-%.12s", pnb_cache_dir(), rhex);
		snprintf(patched, sizeof patched, "%s/src/patched-%.12s", pnb_cache_dir(), rhex);
	} else if (!strncmp(rev, "git ", 4)) {
		sha256_str(src, rhex);
		snprintf(obj, sizeof obj, "%s/build/git-%.12s", pnb_cache_dir(), rhex);
	} else {
		sha256_str(rev, rhex);
		snprintf(obj, sizeof obj, "%s/build/tree-%.12s", pnb_cache_dir(), rhex);
	}
	snprintf(lock, sizeof lock, "%s/kernels", pnb_cache_dir());
	if ((rc = pnb_mkdir_all(lock, 0755)) || (rc = pnb_mkdir_all(obj, 0755)))
		return fail(err, errlen, -1, spec, "cannot create %s: %s", lock, strerror(-rc));
	/* One build per object tree at a time. */
	snprintf(lock, sizeof lock, "%s.lock", obj);
	if ((lfd = lock_file(lock)) < 0)
		return fail(err, errlen, -1, spec, "cannot lock %s: %s", lock, strerror(-lfd));
	if (info_load(kdir, k) == 0) {
		rc = 0;
	} else if (ps) {
		snprintf(p, sizeof p, "%s/src", pnb_cache_dir());
		pnb_mkdir_all(p, 0755);
		progress("%s: applying %d patch%s of %s to a copy of %s", spec, ps->n, ps->n == 1 ? "" : "es",
			 ps->path, src);
		if (series_apply(ps, src, patched, why, sizeof why))
			rc = fail(err, errlen, -1, spec, "%s", why);
		else
			rc = tree_build(spec, patched, fragment, hex, obj, rev, fdig, jobs, kdir, k, err, errlen);
	} else {
		rc = tree_build(spec, src, fragment, hex, obj, rev, fdig, jobs, kdir, k, err, errlen);
	}
	close(lfd);
	if (rc)
		return rc;
	if (info_load(kdir, k))
		return fail(err, errlen, -1, spec, "%s is incomplete after building", kdir);
done:
	/* The series' record beside the kernel, for meta.json. */
	snprintf(p, sizeof p, "%s/series.json", kdir);
	if (ps && !is_file(p) && (rc = series_write(ps, kdir)))
		return fail(err, errlen, -1, spec, "cannot write %s: %s", p, strerror(-rc));
	snprintf(k->spec, sizeof k->spec, "%s", spec);
	return 0;
}

static int resolve_tree(const char *spec, const char *arg, int allow, unsigned jobs,
			struct kernel_image *k, char *err, size_t errlen)
{
	char treearg[PNB_PATH], why[PNB_PATH + 512];
	const char *series = NULL;
	struct pnb_series ps;
	int rc;

	/* tree:TREE+SERIES: TREE with a patch series applied (patches.h). */
	if (series_split(arg, treearg, sizeof treearg, &series, why, sizeof why))
		return fail(err, errlen, -2, spec, "%s", why);
	if (!series)
		return resolve_tree_series(spec, arg, NULL, allow, jobs, k, err, errlen);
	if (series_load(series, &ps, why, sizeof why))
		return fail(err, errlen, -2, spec, "%s", why);
	rc = resolve_tree_series(spec, treearg, &ps, allow, jobs, k, err, errlen);
	series_free(&ps);
	return rc;
}

int kernel_build(const char *tree, unsigned jobs, struct kernel_image *k, char *err, size_t errlen)
{
	char spec[sizeof k->spec];

	memset(k, 0, sizeof *k);
	if (!tree || !*tree)
		return fail(err, errlen, -2, "tree:", "no tree given");
	if (snprintf(spec, sizeof spec, "tree:%s", tree) >= (int)sizeof spec)
		return fail(err, errlen, -2, tree, "spec longer than %zu bytes", sizeof spec - 1);
	return resolve_tree(spec, tree, 1, jobs, k, err, errlen);
}

/* --- specs --------------------------------------------------------------- */

static int resolve_native(struct kernel_image *k, char *err, size_t errlen)
{
	struct utsname u;
	char p[PNB_PATH];

	if (uname(&u))
		return fail(err, errlen, -1, "native", "uname: %s", strerror(errno));
	snprintf(k->kind, sizeof k->kind, "native");
	snprintf(k->name, sizeof k->name, "native");
	snprintf(k->release, sizeof k->release, "%s", u.release);
	snprintf(p, sizeof p, "/boot/config-%s", u.release);
	if (is_file(p))
		snprintf(k->config, sizeof k->config, "%s", p);
	set_digest(k);
	return 0;
}

int kernel_resolve(const char *spec, int allow_fetch, struct kernel_image *k, char *err, size_t errlen)
{
	const char *colon, *arg;
	char kind[16];
	size_t kl;

	memset(k, 0, sizeof *k);
	if (!spec || !*spec)
		return fail(err, errlen, -2, "", "empty kernel spec (" KINDS ")");
	if (strlen(spec) >= sizeof k->spec)
		return fail(err, errlen, -2, spec, "spec longer than %zu bytes", sizeof k->spec - 1);
	snprintf(k->spec, sizeof k->spec, "%s", spec);
	if (!strcmp(spec, "native"))
		return resolve_native(k, err, errlen);
	colon = strchr(spec, ':');
	kl = colon ? (size_t)(colon - spec) : 0;
	if (!colon || kl >= sizeof kind || !kl)
		return fail(err, errlen, -2, spec, "unknown kernel kind (" KINDS ")");
	memcpy(kind, spec, kl);
	kind[kl] = 0;
	arg = colon + 1;
	if (strcmp(kind, "debian") && strcmp(kind, "path") && strcmp(kind, "tree"))
		return fail(err, errlen, -2, spec, "unknown kernel kind '%s' (" KINDS ")", kind);
	if (!*arg)
		return fail(err, errlen, -2, spec, "nothing after '%s:'", kind);
	if (!strcmp(kind, "debian"))
		return resolve_debian(spec, arg, allow_fetch, k, err, errlen);
	if (!strcmp(kind, "path"))
		return resolve_path(spec, arg, k, err, errlen);
	return resolve_tree(spec, arg, allow_fetch, 0, k, err, errlen);
}

/* --- for harness/kmod.c (hostrun.h) -------------------------------------- */

int kernel_xrun(char *const argv[], const struct xrun *o)
{
	return xrun(argv, o);
}

void kernel_log_reason(const char *log, char *out, size_t len)
{
	log_reason(log, out, len);
}

int kernel_apt_install(const char *spec, const char *pkgs, char *err, size_t errlen)
{
	return apt_install(spec, pkgs, err, errlen);
}

int kernel_build_tools(const char *spec, char *err, size_t errlen)
{
	return build_tools(spec, err, errlen);
}

int kernel_lock_file(const char *path)
{
	return lock_file(path);
}

/* The O= object tree a tree kernel was built in: resolve_tree() names it
 * after the sha256 of the source revision, which the kernel's info file
 * keeps. */
int kernel_tree_build_dir(const struct kernel_image *k, char *out, size_t len)
{
	char info[PNB_PATH + 64], dir[PNB_PATH], *text, *rev, hex[65];

	if (strcmp(k->kind, "tree"))
		return -EINVAL;
	/* dirname() works in place: a buffer of its own, never the one
	 * snprintf writes (overlapping copies are undefined). */
	snprintf(dir, sizeof dir, "%s", k->bzimage);
	snprintf(info, sizeof info, "%s/" INFO_FILE, dirname(dir));
	if (!(text = slurp(info, 1 << 16)))
		return -errno;
	/* Builds since git trees share one object tree say where it is. */
	if ((rev = strstr(text, "\nobjdir="))) {
		rev += strlen("\nobjdir=");
		rev[strcspn(rev, "\n")] = 0;
		snprintf(out, len, "%s", rev);
		free(text);
		return is_dir(out) ? 0 : -ENOENT;
	}
	rev = strstr(text, "\nrevision=");
	if (!rev) {
		free(text);
		return -ENOENT;
	}
	rev += strlen("\nrevision=");
	rev[strcspn(rev, "\n")] = 0;
	sha256_str(rev, hex);
	free(text);
	snprintf(out, len, "%s/build/tree-%.12s", pnb_cache_dir(), hex);
	return is_dir(out) ? 0 : -ENOENT;
}
