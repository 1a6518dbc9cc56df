/* pnbench's own kernel modules (probes/kmod/), built out of tree for each
 * guest kernel and put into its initramfs (image.c).
 *
 * Where the kernel's build files come from:
 *   debian:  linux-headers-<release>, linux-headers-<v>-<abi>-common[-rt]
 *            and linux-kbuild-<major.minor>, fetched with apt-get download
 *            (no root needed) and unpacked with dpkg-deb -x into
 *            <cache>/kmod/headers/<release>/; the <release> headers'
 *            Makefile is one line, "include /usr/src/linux-headers-...-common
 *            /Makefile", an absolute path that is made to point into the
 *            cache (kmod_fix_makefile); the scripts and tools links are
 *            relative and resolve inside the unpacked tree.
 *   tree:    the O= object tree the kernel was built in (kernels.c), when
 *            it still holds this kernel's release and .config.
 *   path:    <modules>/build, when the user's modules directory has it.
 * Built modules are cached as <cache>/kmod/<kernel name>-<source key>/
 * (the key: FNV-1a over the module sources and lib/lmk_table.h), written
 * under a temporary name and renamed into place.
 *
 * Loading is the probes' business (finit_module in open(), with the
 * spec's parameters); a kernel they cannot be built for gets the reason in
 * the image instead, and the probes report "unsupported: <reason>". */
#include "guest.h"
#include "hostrun.h"
#include "digest.h"
#include "fsutil.h"
#include "kmod.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const kmod_modules[KMOD_NMODULES] = { "pnb_klmk", "pnb_memnotify", "pnb_simplelmk" };

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "pnbench: kmod: %s\n", line);
}

/* ---- pure pieces (tests/kmod_test.c) ------------------------------------ */

int kmod_debian_packages(const char *release, char pkgs[3][KMOD_PKG_LEN], char *err, size_t errlen)
{
	unsigned a, b, c, abi;
	int used = 0;
	const char *flavour;

	if (sscanf(release, "%u.%u.%u-%u-%n", &a, &b, &c, &abi, &used) != 4 || !used ||
	    !release[used])
		return kernel_failf(err, errlen, "'%s' is not a Debian kernel release "
			     "(VERSION-ABI-FLAVOUR, e.g. 6.1.0-57-cloud-amd64)", release);
	flavour = release + used;
	for (const char *s = release; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr(".-+~", *s)))
			return kernel_failf(err, errlen, "'%s': bad character '%c' in a Debian kernel release",
				     release, *s);
	snprintf(pkgs[0], KMOD_PKG_LEN, "linux-headers-%s", release);
	/* The rt flavour has its own common headers (PREEMPT_RT changes them). */
	snprintf(pkgs[1], KMOD_PKG_LEN, "linux-headers-%u.%u.%u-%u-common%s", a, b, c, abi,
		 !strncmp(flavour, "rt-", 3) ? "-rt" : "");
	snprintf(pkgs[2], KMOD_PKG_LEN, "linux-kbuild-%u.%u", a, b);
	return 0;
}

const char *kmod_shrinker_api(const char *release)
{
	unsigned a = 0, b = 0;

	if (sscanf(release, "%u.%u", &a, &b) != 2)
		return "unknown";
	return a > 6 || (a == 6 && b >= 7) ? "shrinker_alloc" : "register_shrinker";
}

int kmod_fix_makefile(const char *makefile, const char *root, char *err, size_t errlen)
{
	char *text = NULL, *out = NULL, tmp[PNB_PATH + 32];
	size_t olen = 0;
	long n;
	FILE *f = fopen(makefile, "re"), *o;
	int fixed = 0, e = 0;

	if (!f)
		return kernel_failf(err, errlen, "%s: %s", makefile, strerror(errno));
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
	    !(text = calloc(1, (size_t)n + 1)) || fread(text, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(text);
		return kernel_failf(err, errlen, "%s: cannot read it", makefile);
	}
	fclose(f);
	if (!(o = open_memstream(&out, &olen))) {
		free(text);
		return kernel_failf(err, errlen, "out of memory");
	}
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "include /usr/src/", 17)) {
			fprintf(o, "include %s%s\n", root, line + 8);
			fixed++;
		} else {
			if (!strncmp(line, "include ", 8) && !strncmp(line + 8, root, strlen(root)))
				fixed++;	/* fixed already: nothing to do */
			fprintf(o, "%s\n", line);
		}
	}
	fclose(o);
	free(text);
	if (!fixed) {
		free(out);
		return kernel_failf(err, errlen, "%s has no 'include /usr/src/...' line to point into %s "
			     "(not a Debian linux-headers Makefile?)", makefile, root);
	}
	snprintf(tmp, sizeof tmp, "%s.tmp", makefile);
	if (!(f = fopen(tmp, "we")) || fwrite(out, 1, olen, f) != olen)
		e = errno ? errno : EIO;
	if (f && fclose(f) && !e)
		e = errno;
	if (!e && rename(tmp, makefile))
		e = errno;
	free(out);
	if (e) {
		unlink(tmp);
		return kernel_failf(err, errlen, "rewriting %s: %s", makefile, strerror(e));
	}
	return 0;
}

/* ---- sources ------------------------------------------------------------ */


static int src_wanted(const char *name)
{
	size_t l = strlen(name);
	return !strcmp(name, "Kbuild") ||
	       (l > 2 && name[0] != '.' && (!strcmp(name + l - 2, ".c") || !strcmp(name + l - 2, ".h")));
}

int kmod_source_dir(char *src, size_t slen, char *table, size_t tlen, char *err, size_t errlen)
{
	const char *e = getenv("PNBENCH_KMOD_SRC");

	char exe[PNB_PATH];
	ssize_t n;

	if (e && *e) {
		snprintf(src, slen, "%s", e);
	} else {
		/* bin/pnbench and tests/NAME_test both sit one level below the
		 * top of the tree (as kernels.c finds qemu/pnbench.config). */
		n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (n <= 0)
			return kernel_failf(err, errlen, "cannot find this program (/proc/self/exe): %s",
				     strerror(errno));
		exe[n] = 0;
		snprintf(src, slen, "%s/../probes/kmod", dirname(exe));
	}
	snprintf(table, tlen, "%s/../../lib/lmk_table.h", src);
	char kb[PNB_PATH + 16];
	snprintf(kb, sizeof kb, "%s/Kbuild", src);
	if (!pnb_is_file(kb))
		return kernel_failf(err, errlen, "module sources not found: %s has no Kbuild (set "
			     "PNBENCH_KMOD_SRC)", src);
	if (!pnb_is_file(table))
		return kernel_failf(err, errlen, "lib/lmk_table.h not found beside %s", src);
	return 0;
}

/* Names of the source files, sorted (scandir), for the key and the copy. */
static int src_list(const char *src, struct dirent ***names)
{
	int n = scandir(src, names, NULL, alphasort);
	return n < 0 ? -errno : n;
}

static int file_hash(const char *path, const char *name, uint64_t *h)
{
	char buf[1 << 14];
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	*h = pnb_fnv1a(*h, name, strlen(name) + 1);
	while ((r = read(fd, buf, sizeof buf)) > 0)
		*h = pnb_fnv1a(*h, buf, (size_t)r);
	close(fd);
	return r < 0 ? -errno : 0;
}

int kmod_source_key(const char *src, const char *table, char key[17])
{
	struct dirent **d;
	uint64_t h = PNB_FNV1A_INIT;
	char p[PNB_PATH * 2];
	int n = src_list(src, &d), e = 0;

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		if (!e && src_wanted(d[i]->d_name)) {
			snprintf(p, sizeof p, "%s/%s", src, d[i]->d_name);
			e = file_hash(p, d[i]->d_name, &h);
		}
		free(d[i]);
	}
	free(d);
	if (!e)
		e = file_hash(table, "lmk_table.h", &h);
	snprintf(key, 17, "%016llx", (unsigned long long)h);
	return e;
}

static int copy_sources(const char *src, const char *table, const char *dst)
{
	struct dirent **d;
	char a[PNB_PATH * 2], b[PNB_PATH * 2];
	int n = src_list(src, &d), e = 0;

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		if (!e && src_wanted(d[i]->d_name)) {
			snprintf(a, sizeof a, "%s/%s", src, d[i]->d_name);
			snprintf(b, sizeof b, "%s/%s", dst, d[i]->d_name);
			e = pnb_copy_file(a, b);
		}
		free(d[i]);
	}
	free(d);
	snprintf(b, sizeof b, "%s/lmk_table.h", dst);
	return e ? e : pnb_copy_file(table, b);
}

/* ---- build directories -------------------------------------------------- */

/* make and gcc: a module build needs nothing else from the host (Debian's
 * linux-kbuild package brings fixdep and modpost prebuilt). */
static int tools(const char *spec, char *why, size_t whylen)
{
	static const char *const need[] = { "make", "gcc" };
	char miss[64] = "";

	for (size_t i = 0; i < 2; i++) {
		char p[64];
		int ok = 0;
		for (const char *const *d = (const char *const[]){ "/usr/bin", "/bin", "/usr/local/bin", NULL };
		     *d && !ok; d++) {
			snprintf(p, sizeof p, "%s/%s", *d, need[i]);
			ok = access(p, X_OK) == 0;
		}
		if (!ok)
			snprintf(miss + strlen(miss), sizeof miss - strlen(miss), "%s%s",
				 miss[0] ? " " : "", need[i]);
	}
	if (!miss[0])
		return 0;
	if (geteuid() != 0)
		return kernel_failf(why, whylen, "building pnbench's modules needs %s (apt-get install %s)",
			     miss, miss);
	return kernel_apt_install(spec, miss, why, whylen);
}

static int debian_headers(const struct kernel_image *k, char *hdir, size_t hlen,
			  char *why, size_t whylen)
{
	char pkgs[3][KMOD_PKG_LEN], base[PNB_PATH], final[PNB_PATH + 160], tmp[PNB_PATH + 200];
	char debs[PNB_PATH + 220], log[PNB_PATH + 240], lock[PNB_PATH + 200], reason[400];
	char mk[PNB_PATH * 2];
	int lfd, rc;

	if (kmod_debian_packages(k->release, pkgs, why, whylen))
		return -1;
	snprintf(base, sizeof base, "%s/kmod/headers", pnb_cache_dir());
	snprintf(final, sizeof final, "%s/%s", base, k->release);
	snprintf(hdir, hlen, "%s/usr/src/linux-headers-%s", final, k->release);
	snprintf(mk, sizeof mk, "%s/Makefile", hdir);
	if (pnb_is_file(mk))
		return 0;
	if ((rc = pnb_mkdir_all(base, 0755)))
		return kernel_failf(why, whylen, "cannot create %s: %s", base, strerror(-rc));
	snprintf(lock, sizeof lock, "%s/.%s.lock", base, k->release);
	if ((lfd = kernel_lock_file(lock)) < 0)
		return kernel_failf(why, whylen, "cannot lock %s: %s", lock, strerror(-lfd));
	if (pnb_is_file(mk)) {
		close(lfd);
		return 0;
	}
	snprintf(tmp, sizeof tmp, "%s/.tmp-%s-%d", base, k->release, (int)getpid());
	snprintf(debs, sizeof debs, "%s/debs", tmp);
	snprintf(log, sizeof log, "%s/fetch.log", tmp);
	pnb_rm_rf(tmp);
	if ((rc = pnb_mkdir_all(debs, 0755))) {
		close(lfd);
		return kernel_failf(why, whylen, "cannot create %s: %s", debs, strerror(-rc));
	}
	progress("%s: downloading %s %s %s", k->spec, pkgs[0], pkgs[1], pkgs[2]);
	{
		/* As root apt drops to _apt for downloads, which cannot write
		 * into the cache; root fetches as itself. */
		char *const argv_root[] = { "apt-get", "download", "-q", "-o", "APT::Sandbox::User=root",
					    pkgs[0], pkgs[1], pkgs[2], NULL };
		char *const argv_user[] = { "apt-get", "download", "-q", pkgs[0], pkgs[1], pkgs[2], NULL };
		struct pnb_spawn o = { .cwd = debs, .log = log, .tick_s = 30, .tick = kernel_tick, .tick_arg = (void *)"kmod: apt-get download" };
		rc = pnb_spawn(geteuid() == 0 ? argv_root : argv_user, &o);
		if (rc) {
			pnb_log_reason(log, reason, sizeof reason);
			pnb_rm_rf(tmp);
			close(lfd);
			return kernel_failf(why, whylen, "apt-get download %s %s %s failed (exit %d): %s",
				     pkgs[0], pkgs[1], pkgs[2], rc, reason);
		}
	}
	{
		glob_t g;
		char pat[PNB_PATH + 240];
		snprintf(pat, sizeof pat, "%s/*.deb", debs);
		if (glob(pat, 0, NULL, &g) || g.gl_pathc != 3) {
			size_t got = g.gl_pathc;
			globfree(&g);
			pnb_rm_rf(tmp);
			close(lfd);
			return kernel_failf(why, whylen, "apt-get download left %zu .deb files in %s, not 3", got, debs);
		}
		for (size_t i = 0; i < g.gl_pathc; i++) {
			char *const argv[] = { "dpkg-deb", "-x", g.gl_pathv[i], tmp, NULL };
			struct pnb_spawn o = { .log = log };
			if ((rc = pnb_spawn(argv, &o))) {
				pnb_log_reason(log, reason, sizeof reason);
				kernel_failf(why, whylen, "dpkg-deb -x %s failed (exit %d): %s", g.gl_pathv[i], rc,
				      reason);
				globfree(&g);
				pnb_rm_rf(tmp);
				close(lfd);
				return -1;
			}
		}
		globfree(&g);
	}
	pnb_rm_rf(debs);
	snprintf(mk, sizeof mk, "%s/usr/src/linux-headers-%s/Makefile", tmp, k->release);
	/* Point at where the tree will be after the rename. */
	if (kmod_fix_makefile(mk, final, why, whylen)) {
		pnb_rm_rf(tmp);
		close(lfd);
		return -1;
	}
	if (rename(tmp, final)) {
		kernel_failf(why, whylen, "cannot put %s in place: %s", final, strerror(errno));
		pnb_rm_rf(tmp);
		close(lfd);
		return -1;
	}
	unlink(log);
	close(lfd);
	return 0;
}

static int same_file(const char *a, const char *b)
{
	char x[1 << 14], y[1 << 14];
	int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC), same = fa >= 0 && fb >= 0;

	while (same) {
		ssize_t na = read(fa, x, sizeof x), nb = read(fb, y, sizeof y);
		if (na != nb || na < 0 || memcmp(x, y, (size_t)na))
			same = 0;
		if (na <= 0)
			break;
	}
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return same;
}

static int tree_headers(const struct kernel_image *k, char *hdir, size_t hlen, char *why, size_t whylen)
{
	char p[PNB_PATH + 64], rel[160] = "";
	FILE *f;
	int rc = kernel_tree_build_dir(k, hdir, hlen);

	if (rc)
		return kernel_failf(why, whylen, "the object tree of %s is gone (%s): rebuild it with "
			     "pnbench kernels build", k->spec, strerror(-rc));
	snprintf(p, sizeof p, "%s/include/config/kernel.release", hdir);
	if ((f = fopen(p, "re"))) {
		if (!fgets(rel, sizeof rel, f))
			rel[0] = 0;
		fclose(f);
	}
	rel[strcspn(rel, "\n")] = 0;
	if (strcmp(rel, k->release))
		return kernel_failf(why, whylen, "object tree %s holds release '%s', not %s's %s (rebuilt "
			     "since?)", hdir, rel, k->spec, k->release);
	snprintf(p, sizeof p, "%s/.config", hdir);
	if (k->config[0] && !same_file(p, k->config))
		return kernel_failf(why, whylen, "object tree %s has another .config than kernel %s (a "
			     "fragment changed since it was built)", hdir, k->name);
	snprintf(p, sizeof p, "%s/Module.symvers", hdir);
	if (!pnb_is_file(p))
		return kernel_failf(why, whylen, "object tree %s has no Module.symvers (the kernel build "
			     "did not finish there)", hdir);
	return 0;
}

int kmod_build(const struct kernel_image *k, char *dir, size_t len, char *why, size_t whylen)
{
	char src[PNB_PATH], table[PNB_PATH], key[17], hdir[PNB_PATH + 200], tmp[PNB_PATH + 300];
	char log[PNB_PATH + 320], p[PNB_PATH + 400], reason[400], marg[PNB_PATH + 310];
	const char *e = getenv("PNBENCH_KMOD");
	int rc, have = 0;

	why[0] = 0;
	if (e && !strcmp(e, "0"))
		return kernel_failf(why, whylen, "pnbench's modules disabled by PNBENCH_KMOD=0");
	if (!strcmp(k->kind, "native"))
		return kernel_failf(why, whylen, "native runs never load modules into the host's kernel");
	if (strcmp(k->kind, "debian") && strcmp(k->kind, "tree") && strcmp(k->kind, "path"))
		return kernel_failf(why, whylen, "kernel %s (kind '%s') has no build files to build "
			     "pnbench's modules against", k->spec, k->kind);
	if (!k->release[0])
		return kernel_failf(why, whylen, "kernel %s has no release", k->spec);
	if (kmod_source_dir(src, sizeof src, table, sizeof table, why, whylen))
		return -1;
	if ((rc = kmod_source_key(src, table, key)))
		return kernel_failf(why, whylen, "reading the module sources in %s: %s", src, strerror(-rc));
	if ((size_t)snprintf(dir, len, "%s/kmod/%s-%s", pnb_cache_dir(), k->name, key) >= len)
		return kernel_failf(why, whylen, "cache path too long");
	for (int i = 0; i < KMOD_NMODULES; i++) {
		snprintf(p, sizeof p, "%s/%s.ko", dir, kmod_modules[i]);
		have += pnb_is_file(p);
	}
	if (have == KMOD_NMODULES)
		return 0;

	if (!strcmp(k->kind, "debian")) {
		if (debian_headers(k, hdir, sizeof hdir, why, whylen))
			return -1;
	} else if (!strcmp(k->kind, "tree")) {
		if (tree_headers(k, hdir, sizeof hdir, why, whylen))
			return -1;
	} else {
		snprintf(hdir, sizeof hdir, "%s/build", k->modules_dir);
		snprintf(p, sizeof p, "%s/Makefile", hdir);
		if (!k->modules_dir[0] || !pnb_is_file(p))
			return kernel_failf(why, whylen, "kernel %s has no build directory (%s/build) to build "
				     "pnbench's modules against", k->spec,
				     k->modules_dir[0] ? k->modules_dir : "no modules directory");
	}
	if (tools(k->spec, why, whylen))
		return -1;

	snprintf(tmp, sizeof tmp, "%s/kmod/.tmp-%s-%s-%d", pnb_cache_dir(), k->name, key, (int)getpid());
	snprintf(log, sizeof log, "%s/build.log", tmp);
	pnb_rm_rf(tmp);
	if ((rc = pnb_mkdir_all(tmp, 0755)))
		return kernel_failf(why, whylen, "cannot create %s: %s", tmp, strerror(-rc));
	if ((rc = copy_sources(src, table, tmp))) {
		pnb_rm_rf(tmp);
		return kernel_failf(why, whylen, "copying %s to %s: %s", src, tmp, strerror(-rc));
	}
	progress("%s: building %s, %s, %s against %s (%s API)", k->spec, kmod_modules[0],
		 kmod_modules[1], kmod_modules[2], hdir, kmod_shrinker_api(k->release));
	snprintf(marg, sizeof marg, "M=%s", tmp);
	{
		char *const argv[] = { "make", "-C", hdir, marg, "modules", NULL };
		struct pnb_spawn o = { .log = log, .tick_s = 30, .tick = kernel_tick, .tick_arg = (void *)"kmod: make modules" };
		rc = pnb_spawn(argv, &o);
	}
	for (int i = 0; !rc && i < KMOD_NMODULES; i++) {
		snprintf(p, sizeof p, "%s/%s.ko", tmp, kmod_modules[i]);
		if (!pnb_is_file(p))
			rc = -ENOENT;
	}
	if (rc) {
		pnb_log_reason(log, reason, sizeof reason);
		/* Keep the log where the reason can point: the failed tree goes. */
		snprintf(p, sizeof p, "%s/kmod/%s-%s.build.log", pnb_cache_dir(), k->name, key);
		rename(log, p);
		pnb_rm_rf(tmp);
		return kernel_failf(why, whylen, "building pnbench's modules for %s failed (%s; log %s): %s",
			     k->release, rc < 0 ? "no .ko produced" : "make failed", p, reason);
	}
	if (rename(tmp, dir)) {
		rc = errno;
		pnb_rm_rf(tmp);
		/* Another pnbench finished the same build first. */
		if (!pnb_is_dir(dir))
			return kernel_failf(why, whylen, "cannot put %s in place: %s", dir, strerror(rc));
	}
	return 0;
}
