/* debian:VERSION-FLAVOUR and debian:cloud|amd64|rt: Debian's
 * linux-image-<v>-unsigned, fetched with apt-get download (no root needed)
 * and unpacked into kernels/debian-<v>/ with a depmod'ed modules tree. */
#include "fsutil.h"
#include "kernel_source.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Debian 12's kernel ABI series: linux-image-6.1.0-N-FLAVOUR-unsigned. */
#define DEBIAN_SERIES "6.1.0-"

/* Longest first: "amd64" is a suffix of the other two. */
static const char *const debian_flavours[] = { "cloud-amd64", "rt-amd64", "amd64", NULL };

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
	struct pnb_spawn o = { .out = out, .outlen = sizeof out };
	struct debver *v = NULL;
	char *line, *save;
	int rc, n = 0, cap = 0;

	if (len)
		buf[0] = 0;
	rc = pnb_spawn(argv, &o);
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
		kernel_append(buf, len, "\n", v[i].v);
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
			kernel_append(out, len, ", ", line);
		else
			kernel_append(out, len, "", line);
	}
	if (n > shown) {
		char more[48];
		snprintf(more, sizeof more, " and %d older", n - shown);
		kernel_append(out, len, "", more);
	}
	char f[64];
	snprintf(f, sizeof f, " (-%s)", flavour);
	kernel_append(out, len, "", f);
}

/* apt-get download pkg into debs: 0 with deb its file, or -1 with err. */
static int debian_download(const char *spec, const char *pkg, const char *debs, const char *log,
			   char *deb, size_t dlen, char *err, size_t errlen)
{
	char why[400];
	struct dirent *de;
	DIR *d;
	int rc;

	deb[0] = 0;
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
	kernel_progress("%s: downloading %s", spec, pkg);
	{
		/* As root apt drops to _apt for downloads and warns that the cache
		 * directory is not writable by it; root can fetch as itself. */
		char *const argv_root[] = { "apt-get", "download", "-q", "-o", "APT::Sandbox::User=root",
					    (char *)pkg, NULL };
		char *const argv_user[] = { "apt-get", "download", "-q", (char *)pkg, NULL };
		char label[300];
		snprintf(label, sizeof label, "%s: downloading", spec);
		struct pnb_spawn o = { .cwd = debs, .log = log, .tick_s = 30, .tick = kernel_tick, .tick_arg = label };
		rc = pnb_spawn(geteuid() == 0 ? argv_root : argv_user, &o);
		if (rc) {
			pnb_log_reason(log, why, sizeof why);
			return kernel_fail(err, errlen, -1, spec, "apt-get download %s failed (exit %d): %s", pkg, rc, why);
		}
	}
	if ((d = opendir(debs))) {
		size_t pl = strlen(pkg);
		while ((de = readdir(d)))
			if (!strncmp(de->d_name, pkg, pl) && de->d_name[pl] == '_' &&
			    strstr(de->d_name, ".deb"))
				snprintf(deb, dlen, "%s/%s", debs, de->d_name);
		closedir(d);
	}
	if (!deb[0])
		return kernel_fail(err, errlen, -1, spec, "apt-get download left no %s_*.deb in %s", pkg, debs);
	return 0;
}

static int debian_fetch(const char *spec, const char *v, const char *kdir, struct kernel_image *k,
			char *err, size_t errlen)
{
	char cache[PNB_PATH], debs[PNB_PATH + 16], log[PNB_PATH + 32], pkg[160], deb[PNB_PATH * 2] = "";
	char tmp[PNB_PATH + 64], why[400], depmod[64], e1[32], out[4096], rel[128] = "";
	double t0 = kernel_now_s();
	int rc;

	snprintf(cache, sizeof cache, "%s", pnb_cache_dir());
	snprintf(pkg, sizeof pkg, "linux-image-%s-unsigned", v);
	{
		char *const argv[] = { "apt-cache", "show", "--no-all-versions", pkg, NULL };
		struct pnb_spawn o = { .out = out, .outlen = sizeof out };
		rc = pnb_spawn(argv, &o);
		if (rc == 127 || rc < 0)
			return kernel_fail(err, errlen, -1, spec, "cannot run apt-cache: is this Debian?");
		if (rc || !strstr(out, "Package:")) {
			debian_known_line(v, why, sizeof why);
			return kernel_fail(err, errlen, -2, spec, "no Debian package %s (%s)", pkg, why);
		}
	}
	snprintf(debs, sizeof debs, "%s/kernels/debs", cache);
	if ((rc = pnb_mkdir_all(debs, 0755)))
		return kernel_fail(err, errlen, -1, spec, "cannot create %s: %s", debs, strerror(-rc));
	snprintf(log, sizeof log, "%s/%s.log", debs, pkg);
	unlink(log);
	if ((rc = debian_download(spec, pkg, debs, log, deb, sizeof deb, err, errlen)))
		return rc;
	snprintf(tmp, sizeof tmp, "debian-%s", v);
	kernel_remove_stale(tmp);
	snprintf(tmp, sizeof tmp, "%s/kernels/.tmp-debian-%s-%d", cache, v, (int)getpid());
	if ((rc = pnb_mkdir_all(tmp, 0755)))
		return kernel_fail(err, errlen, -1, spec, "cannot create %s: %s", tmp, strerror(-rc));
	kernel_progress("%s: unpacking %s", spec, strrchr(deb, '/') + 1);
	{
		char *const argv[] = { "dpkg-deb", "-x", deb, tmp, NULL };
		struct pnb_spawn o = { .log = log };
		if ((rc = pnb_spawn(argv, &o))) {
			pnb_log_reason(log, why, sizeof why);
			pnb_rm_rf(tmp);
			return kernel_fail(err, errlen, -1, spec, "dpkg-deb -x %s failed (exit %d): %s", deb, rc, why);
		}
	}
	memset(k, 0, sizeof *k);
	snprintf(k->bzimage, sizeof k->bzimage, "%s/boot/vmlinuz-%s", tmp, v);
	snprintf(k->config, sizeof k->config, "%s/boot/config-%s", tmp, v);
	snprintf(k->modules_dir, sizeof k->modules_dir, "%s/lib/modules/%s", tmp, v);
	if (!pnb_is_file(k->bzimage) || !pnb_is_file(k->config) || !pnb_is_dir(k->modules_dir)) {
		pnb_rm_rf(tmp);
		return kernel_fail(err, errlen, -1, spec, "%s lacks boot/vmlinuz-%s, boot/config-%s or lib/modules/%s",
			    deb, v, v, v);
	}
	if (kernel_bzimage_release(k->bzimage, rel, sizeof rel, why, sizeof why) || strcmp(rel, v)) {
		pnb_rm_rf(tmp);
		return kernel_fail(err, errlen, -1, spec, "%s: release '%s' is not the package's %s",
			    k->bzimage, rel, v);
	}
	/* The package ships no modules.dep (its postinst makes it); the image
	 * builder computes module closures from it. */
	{
		char *const argv[] = { (char *)kernel_find_tool("depmod", depmod, sizeof depmod), "-b", tmp,
				       (char *)v, NULL };
		struct pnb_spawn o = { .log = log };
		if ((rc = pnb_spawn(argv, &o))) {
			pnb_log_reason(log, why, sizeof why);
			pnb_rm_rf(tmp);
			return kernel_fail(err, errlen, -1, spec, "depmod -b %s %s failed (exit %d): %s", tmp, v, rc, why);
		}
	}
	snprintf(k->kind, sizeof k->kind, "debian");
	snprintf(k->spec, sizeof k->spec, "debian:%s", v);
	snprintf(k->name, sizeof k->name, "debian-%s", v);
	snprintf(k->release, sizeof k->release, "%s", v);
	snprintf(why, sizeof why, "source=%s\n", strrchr(deb, '/') + 1);
	if ((rc = kernel_info_write(tmp, k, why)) || rename(tmp, kdir)) {
		rc = rc ? rc : -errno;
		pnb_rm_rf(tmp);
		return kernel_fail(err, errlen, -1, spec, "cannot put %s in place: %s", kdir, strerror(-rc));
	}
	unlink(deb);
	unlink(log);
	kernel_progress("%s: ready in %s: %s", spec, kernel_fmt_elapsed(kernel_now_s() - t0, e1, sizeof e1), kdir);
	return 0;
}

static int resolve_debian(const char *spec, const char *arg, int allow, unsigned jobs,
			  struct kernel_image *k, char *err, size_t errlen)
{
	char v[128], kdir[PNB_PATH + 160], lock[PNB_PATH + 170];
	const char *flavour = debian_alias(arg);
	int rc, lfd;

	(void)jobs;	/* a package is unpacked, not built */
	if (flavour) {
		if (debian_newest(flavour, allow, v, sizeof v) && allow)
			return kernel_fail(err, errlen, -1, spec, "apt-cache knows no linux-image-" DEBIAN_SERIES
				    "N-%s-unsigned: run apt-get update", flavour);
		if (!v[0])
			return kernel_fail(err, errlen, -1, spec, "no %s kernel fetched: run pnbench kernels fetch %s",
				    flavour, spec);
	} else {
		for (const char *s = arg; *s; s++)
			if (!isalnum((unsigned char)*s) && !strchr(".+-~", *s))
				return kernel_fail(err, errlen, -2, spec, "bad character '%c' in a Debian kernel version", *s);
		if (strlen(arg) >= sizeof v)
			return kernel_fail(err, errlen, -2, spec, "version too long");
		/* Debian names its kernel images ABI-FLAVOUR: 6.1.0-57-cloud-amd64. */
		unsigned a, b, c, n;
		int used = 0;
		if (sscanf(arg, "%u.%u.%u-%u-%n", &a, &b, &c, &n, &used) != 4 || !used || !arg[used])
			return kernel_fail(err, errlen, -2, spec, "'%s' is not a Debian kernel version "
				    "(VERSION-ABI-FLAVOUR, e.g. 6.1.0-57-cloud-amd64; flavours: amd64, "
				    "cloud-amd64, rt-amd64)",
				    arg);
		snprintf(v, sizeof v, "%s", arg);
	}
	snprintf(kdir, sizeof kdir, "%s/kernels/debian-%s", pnb_cache_dir(), v);
	if (kernel_info_load(kdir, k) == 0)
		goto done;
	if (!allow)
		return kernel_fail(err, errlen, -1, spec, "not fetched: run pnbench kernels fetch %s", spec);
	snprintf(lock, sizeof lock, "%s/kernels", pnb_cache_dir());
	if ((rc = pnb_mkdir_all(lock, 0755)))
		return kernel_fail(err, errlen, -1, spec, "cannot create %s: %s", lock, strerror(-rc));
	snprintf(lock, sizeof lock, "%s/kernels/.debian-%s.lock", pnb_cache_dir(), v);
	if ((lfd = kernel_lock_file(lock)) < 0)
		return kernel_fail(err, errlen, -1, spec, "cannot lock %s: %s", lock, strerror(-lfd));
	rc = kernel_info_load(kdir, k) == 0 ? 0 : debian_fetch(spec, v, kdir, k, err, errlen);
	close(lfd);
	if (rc)
		return rc;
	if (kernel_info_load(kdir, k))
		return kernel_fail(err, errlen, -1, spec, "%s is incomplete after fetching", kdir);
done:
	snprintf(k->spec, sizeof k->spec, "%s", spec);
	return 0;
}

const struct kernel_source kernel_source_debian = {
	.kind = "debian",
	.takes_arg = 1,
	.forms = "debian:VERSION-FLAVOUR, debian:cloud|amd64|rt",
	.help =
	"  debian:6.1.0-56-cloud-amd64  Debian's linux-image-<v>-unsigned (apt-get download,\n"
	"                               no root needed); flavours amd64, cloud-amd64, rt-amd64\n"
	"  debian:cloud|amd64|rt        the newest 6.1.0-N of that flavour: cached or, when\n"
	"                               fetching is allowed, the newest apt-cache knows\n",
	.resolve = resolve_debian,
};
