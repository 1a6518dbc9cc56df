/* tree:DIR, tree:FILE.tar.xz, tree:linux-source-X.Y and tree:TREE+SERIES:
 * a kernel tree built out of tree (O=) with qemu/pnbench.config over
 * x86_64 defconfig, keyed by the tree's revision, the fragment's digest and
 * the patch series' digest (patches.c), so an unchanged tree is reused.
 *
 *   build/tree-<rev>/, build/git-<path>/, build/patched-<path>/
 *                          O= object trees, kept for incremental rebuilds
 *   src/<tarball stem>-<key>/, src/patched-<path>/
 *                          unpacked tarballs and patched copies */
#include "digest.h"
#include "fsutil.h"
#include "kernel_source.h"
#include "patches.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fts.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	double t0 = kernel_now_s();
	int rc, ndirs = 0, nall = 0;
	DIR *d;

	if (!realpath(tarball, real) || stat(real, &st))
		return kernel_fail(err, errlen, -1, spec, "%s: %s", tarball, strerror(errno));
	snprintf(stem, sizeof stem, "%s", strrchr(real, '/') + 1);
	stem[strlen(stem) - (size_t)tarball_name(stem)] = 0;
	snprintf(key, sizeof key, "%s %lld %lld.%09ld", real, (long long)st.st_size,
		 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	pnb_sha256_str(key, hex);
	snprintf(dir, len, "%s/src/%s-%.12s", pnb_cache_dir(), stem, hex);
	if (pnb_is_dir(dir))
		return 0;
	snprintf(tmp, sizeof tmp, "%s/src/.tmp-%d", pnb_cache_dir(), (int)getpid());
	snprintf(log, sizeof log, "%s/src/.tmp-%d.log", pnb_cache_dir(), (int)getpid());
	pnb_rm_rf(tmp);
	if ((rc = pnb_mkdir_all(tmp, 0755)))
		return kernel_fail(err, errlen, -1, spec, "cannot create %s: %s", tmp, strerror(-rc));
	kernel_progress("%s: unpacking %s", spec, real);
	{
		char *const argv[] = { "tar", "-xf", real, "-C", tmp, NULL };
		struct pnb_spawn o = { .log = log };
		if ((rc = pnb_spawn(argv, &o))) {
			pnb_log_reason(log, why, sizeof why);
			pnb_rm_rf(tmp);
			unlink(log);
			return kernel_fail(err, errlen, -1, spec, "tar -xf %s failed (exit %d): %s", real, rc, why);
		}
	}
	unlink(log);
	if ((d = opendir(tmp))) {
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			nall++;
			snprintf(top, sizeof top, "%s/%s", tmp, de->d_name);
			if (pnb_is_dir(top))
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
	if (rc && pnb_is_dir(dir))
		rc = 0;
	if (rc)
		return kernel_fail(err, errlen, -1, spec, "cannot put %s in place: %s", dir, strerror(-rc));
	kernel_progress("%s: unpacked in %s: %s", spec, kernel_fmt_elapsed(kernel_now_s() - t0, e1, sizeof e1), dir);
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
	struct pnb_spawn o = { .out = out, .outlen = sizeof out };

	if (!realpath(tree, real))
		return kernel_fail(err, errlen, -1, spec, "%s: %s", tree, strerror(errno));
	if (pnb_spawn(top, &o) == 0 && (out[strcspn(out, "\n")] = 0, !strcmp(out, real))) {
		char *const head[] = { "git", "-C", real, "rev-parse", "HEAD", NULL };
		char *const st[] = { "git", "-C", real, "status", "--porcelain", "--untracked-files=no", NULL };
		char dirty[4096], head_s[128];
		struct pnb_spawn oh = { .out = head_s, .outlen = sizeof head_s };
		struct pnb_spawn os = { .out = dirty, .outlen = sizeof dirty };

		if (pnb_spawn(head, &oh) || pnb_spawn(st, &os))
			return kernel_fail(err, errlen, -1, spec, "%s: git rev-parse HEAD / git status failed", real);
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
		struct pnb_spawn od = { .log = diffp };
		int rc = pnb_spawn(diff, &od);
		if (rc || pnb_sha256_file(diffp, hex)) {
			unlink(diffp);
			return kernel_fail(err, errlen, -1, spec, "%s: git diff HEAD failed", real);
		}
		unlink(diffp);
		snprintf(rev, len, "git %s dirty %.16s", head_s, hex);
		return 0;
	}

	char mk[PATH_MAX + 16], ver[4][32] = { "", "", "", "" }, *text, *line, *save;
	static const char *const keys[] = { "VERSION", "PATCHLEVEL", "SUBLEVEL", "EXTRAVERSION" };
	snprintf(mk, sizeof mk, "%s/Makefile", real);
	if (!(text = kernel_slurp(mk, 4096)))
		return kernel_fail(err, errlen, -1, spec, "%s: %s", mk, strerror(errno));
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
		return kernel_fail(err, errlen, -1, spec, "%s: %s", real, strerror(errno));
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

static int make_step(const char *spec, const char *src, const char *obj, const char *log,
		     const char *what, unsigned tick, char *const targets[], char *err, size_t errlen)
{
	char *argv[16], o_arg[PNB_PATH + 4], why[400], label[300];
	struct pnb_spawn o = { .log = log, .tick_s = tick, .tick = kernel_tick, .tick_arg = label };
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
	if ((rc = pnb_spawn(argv, &o))) {
		pnb_log_reason(log, why, sizeof why);
		return kernel_fail(err, errlen, -1, spec, "make %s failed (exit %d; log %s): %s", what, rc, log, why);
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
	double t0 = kernel_now_s(), tb;
	struct stat st;
	int rc;

	if ((rc = kernel_build_tools(spec, err, errlen)))
		return rc;
	if (!jobs) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = n > 0 ? (unsigned)n : 1;
	}
	if ((rc = pnb_mkdir_all(obj, 0755)))
		return kernel_fail(err, errlen, -1, spec, "cannot create %s: %s", obj, strerror(-rc));
	snprintf(log, sizeof log, "%s/pnbench-build.log", obj);
	snprintf(cfg, sizeof cfg, "%s/.config", obj);
	unlink(log);
	kernel_progress("%s: configuring in %s (defconfig + %s)", spec, obj, fragment);
	if ((rc = make_step(spec, src, obj, log, "defconfig", 0, (char *[]){ "defconfig", NULL }, err, errlen)))
		return rc;
	{
		char script[PNB_PATH + 64];
		snprintf(script, sizeof script, "%s/scripts/kconfig/merge_config.sh", src);
		char *const argv[] = { "sh", script, "-m", "-O", (char *)obj, cfg, (char *)fragment, NULL };
		struct pnb_spawn o = { .cwd = src, .log = log };
		if ((rc = pnb_spawn(argv, &o))) {
			pnb_log_reason(log, why, sizeof why);
			return kernel_fail(err, errlen, -1, spec, "merge_config.sh failed (exit %d; log %s): %s",
				    rc, log, why);
		}
	}
	if ((rc = make_step(spec, src, obj, log, "olddefconfig", 0, (char *[]){ "olddefconfig", NULL },
			    err, errlen)))
		return rc;
	rc = kernel_fragment_check(fragment, cfg, src, missing, sizeof missing, skipped, sizeof skipped);
	if (rc < 0)
		return kernel_fail(err, errlen, -1, spec, "checking %s against %s: %s", cfg, fragment, strerror(-rc));
	if (skipped[0])
		kernel_progress("%s: fragment options this tree does not have, skipped: %s", spec, skipped);
	if (rc > 0)
		return kernel_fail(err, errlen, -1, spec, "%d fragment line%s did not survive olddefconfig in %s: %s",
			    rc, rc == 1 ? "" : "s", cfg, missing);

	snprintf(jarg, sizeof jarg, "-j%u", jobs);
	kernel_progress("%s: make %s bzImage modules (log %s)", spec, jarg, log);
	tb = kernel_now_s();
	if ((rc = make_step(spec, src, obj, log, "bzImage modules", 60,
			    (char *[]){ jarg, "bzImage", "modules", NULL }, err, errlen)))
		return rc;
	kernel_progress("%s: compiled in %s", spec, kernel_fmt_elapsed(kernel_now_s() - tb, e1, sizeof e1));

	snprintf(tmp, sizeof tmp, "tree-%s", key);
	kernel_remove_stale(tmp);
	snprintf(tmp, sizeof tmp, "%s/kernels/.tmp-tree-%s-%d", pnb_cache_dir(), key, (int)getpid());
	if ((rc = pnb_mkdir_all(tmp, 0755)))
		return kernel_fail(err, errlen, -1, spec, "cannot create %s: %s", tmp, strerror(-rc));
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
	if ((rc = pnb_copy_file(p, k->bzimage)) || (rc = pnb_copy_file(cfg, k->config))) {
		pnb_rm_rf(tmp);
		return kernel_fail(err, errlen, -1, spec, "copying the build out of %s: %s", obj, strerror(-rc));
	}
	snprintf(p, sizeof p, "%s/System.map", obj);
	snprintf(why, sizeof why, "%s/System.map", tmp);
	pnb_copy_file(p, why);
	if (kernel_bzimage_release(k->bzimage, k->release, sizeof k->release, why, sizeof why)) {
		pnb_rm_rf(tmp);
		return kernel_fail(err, errlen, -1, spec, "%s", why);
	}
	snprintf(k->modules_dir, sizeof k->modules_dir, "%s/lib/modules/%s", tmp, k->release);
	if (!pnb_is_dir(k->modules_dir))
		k->modules_dir[0] = 0;
	snprintf(k->kind, sizeof k->kind, "tree");
	snprintf(k->spec, sizeof k->spec, "tree:%s", src);
	snprintf(k->name, sizeof k->name, "tree-%.80s-%s", k->release, key);
	for (char *s = k->name; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(".+-_", *s))
			*s = '_';
	snprintf(extra, sizeof extra, "source=%s\nrevision=%s\nfragment_sha256=%s\nbuild_seconds=%.0f\njobs=%u\n"
		 "objdir=%s\n", src, rev, fdigest, kernel_now_s() - t0, jobs, obj);
	if ((rc = kernel_info_write(tmp, k, extra)) || rename(tmp, kdir)) {
		rc = rc ? rc : -errno;
		pnb_rm_rf(tmp);
		return kernel_fail(err, errlen, -1, spec, "cannot put %s in place: %s", kdir, strerror(-rc));
	}
	snprintf(p, sizeof p, "%s/bzImage", kdir);
	kernel_progress("%s: built in %s: %s (%.1f MiB)", spec, kernel_fmt_elapsed(kernel_now_s() - t0, e1, sizeof e1), p,
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
		if (!pnb_is_file(tb)) {
			if (!allow || geteuid() != 0)
				return kernel_fail(err, errlen, -1, spec, "%s missing: install it with apt-get install %s",
					    tb, arg);
			if ((rc = kernel_apt_install(spec, arg, err, errlen)))
				return rc;
			if (!pnb_is_file(tb))
				return kernel_fail(err, errlen, -1, spec, "apt-get install %s did not bring %s",
					    arg, tb);
		}
		if ((rc = unpack_tarball(spec, tb, src, sizeof src, err, errlen)))
			return rc;
	} else if (pnb_is_file(arg) && tarball_name(arg)) {
		if ((rc = unpack_tarball(spec, arg, src, sizeof src, err, errlen)))
			return rc;
	} else if (!pnb_is_dir(arg)) {
		return kernel_fail(err, errlen, -2, spec, "%s: %s", arg,
			    access(arg, F_OK) ? "no such directory" : "not a directory or source tarball");
	} else if (!realpath(arg, src)) {
		return kernel_fail(err, errlen, -2, spec, "%s: %s", arg, strerror(errno));
	}
	snprintf(p, sizeof p, "%s/scripts/kconfig/merge_config.sh", src);
	if (!pnb_is_file(p))
		return kernel_fail(err, errlen, -2, spec, "%s is not a kernel tree (no scripts/kconfig/merge_config.sh)", src);
	snprintf(p, sizeof p, "%s/.config", src);
	if (pnb_is_file(p))
		return kernel_fail(err, errlen, -1, spec, "%s has an in-tree build (.config): the O= build needs "
			    "a clean tree, run make mrproper there", src);
	if (kernel_fragment_path(fragment, sizeof fragment))
		return kernel_fail(err, errlen, -1, spec, "config fragment %s not found (set PNBENCH_FRAGMENT)", fragment);
	if ((rc = kernel_fragment_digest(fragment, fdig)))
		return kernel_fail(err, errlen, -1, spec, "%s: %s", fragment, strerror(-rc));
	if ((rc = tree_revision(spec, src, rev, sizeof rev, err, errlen)))
		return rc;
	/* A series is part of the revision: the tree plus these patches. */
	if (ps)
		snprintf(rev + strlen(rev), sizeof rev - strlen(rev), " series %.64s", ps->digest);
	snprintf(keytext, sizeof keytext, "%s\nfragment %s\n", rev, fdig);
	pnb_sha256_str(keytext, hex);
	hex[12] = 0;
	snprintf(kdir, sizeof kdir, "%s/kernels/tree-%s", pnb_cache_dir(), hex);
	if (kernel_info_load(kdir, k) == 0)
		goto done;
	if (!allow)
		return kernel_fail(err, errlen, -1, spec, "not built: run pnbench kernels build --tree %s",
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
		pnb_sha256_str(src, rhex);
		snprintf(obj, sizeof obj, "%s/build/patched-%.12s", pnb_cache_dir(), rhex);
		snprintf(patched, sizeof patched, "%s/src/patched-%.12s", pnb_cache_dir(), rhex);
	} else if (!strncmp(rev, "git ", 4)) {
		pnb_sha256_str(src, rhex);
		snprintf(obj, sizeof obj, "%s/build/git-%.12s", pnb_cache_dir(), rhex);
	} else {
		pnb_sha256_str(rev, rhex);
		snprintf(obj, sizeof obj, "%s/build/tree-%.12s", pnb_cache_dir(), rhex);
	}
	snprintf(lock, sizeof lock, "%s/kernels", pnb_cache_dir());
	if ((rc = pnb_mkdir_all(lock, 0755)) || (rc = pnb_mkdir_all(obj, 0755)))
		return kernel_fail(err, errlen, -1, spec, "cannot create %s: %s", lock, strerror(-rc));
	/* One build per object tree at a time. */
	snprintf(lock, sizeof lock, "%s.lock", obj);
	if ((lfd = kernel_lock_file(lock)) < 0)
		return kernel_fail(err, errlen, -1, spec, "cannot lock %s: %s", lock, strerror(-lfd));
	if (kernel_info_load(kdir, k) == 0) {
		rc = 0;
	} else if (ps) {
		snprintf(p, sizeof p, "%s/src", pnb_cache_dir());
		pnb_mkdir_all(p, 0755);
		kernel_progress("%s: applying %d patch%s of %s to a copy of %s", spec, ps->n, ps->n == 1 ? "" : "es",
			 ps->path, src);
		if (series_apply(ps, src, patched, why, sizeof why))
			rc = kernel_fail(err, errlen, -1, spec, "%s", why);
		else
			rc = tree_build(spec, patched, fragment, hex, obj, rev, fdig, jobs, kdir, k, err, errlen);
	} else {
		rc = tree_build(spec, src, fragment, hex, obj, rev, fdig, jobs, kdir, k, err, errlen);
	}
	close(lfd);
	if (rc)
		return rc;
	if (kernel_info_load(kdir, k))
		return kernel_fail(err, errlen, -1, spec, "%s is incomplete after building", kdir);
done:
	/* The series' record beside the kernel, for meta.json. */
	snprintf(p, sizeof p, "%s/series.json", kdir);
	if (ps && !pnb_is_file(p) && (rc = series_write(ps, kdir)))
		return kernel_fail(err, errlen, -1, spec, "cannot write %s: %s", p, strerror(-rc));
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
		return kernel_fail(err, errlen, -2, spec, "%s", why);
	if (!series)
		return resolve_tree_series(spec, arg, NULL, allow, jobs, k, err, errlen);
	if (series_load(series, &ps, why, sizeof why))
		return kernel_fail(err, errlen, -2, spec, "%s", why);
	rc = resolve_tree_series(spec, treearg, &ps, allow, jobs, k, err, errlen);
	series_free(&ps);
	return rc;
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
	snprintf(info, sizeof info, "%s/" KERNEL_INFO_FILE, dirname(dir));
	if (!(text = kernel_slurp(info, 1 << 16)))
		return -errno;
	/* Builds since git trees share one object tree say where it is. */
	if ((rev = strstr(text, "\nobjdir="))) {
		rev += strlen("\nobjdir=");
		rev[strcspn(rev, "\n")] = 0;
		snprintf(out, len, "%s", rev);
		free(text);
		return pnb_is_dir(out) ? 0 : -ENOENT;
	}
	rev = strstr(text, "\nrevision=");
	if (!rev) {
		free(text);
		return -ENOENT;
	}
	rev += strlen("\nrevision=");
	rev[strcspn(rev, "\n")] = 0;
	pnb_sha256_str(rev, hex);
	free(text);
	snprintf(out, len, "%s/build/tree-%.12s", pnb_cache_dir(), hex);
	return pnb_is_dir(out) ? 0 : -ENOENT;
}

const struct kernel_source kernel_source_tree = {
	.kind = "tree",
	.takes_arg = 1,
	.forms = "tree:DIR",
	.help =
	"  tree:DIR                     a kernel tree built with qemu/pnbench.config over\n"
	"                               x86_64 defconfig; also tree:FILE.tar.xz and\n"
	"                               tree:linux-source-6.12 (/usr/src, installed as root)\n",
	.resolve = resolve_tree,
};
