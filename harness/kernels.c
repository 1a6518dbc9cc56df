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
 * a changed tree or fragment builds anew and an unchanged one is reused.
 *
 * Each kind of spec is a struct kernel_source in a file of its own
 * (kernel_debian.c, kernel_path.c, kernel_tree.c, kernel_native.c); this
 * file keeps the cache, the bzImage header and the dispatch. */
#include "fsutil.h"
#include "kernel_source.h"

#include "digest.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* --- the cache ----------------------------------------------------------- */

void kernel_set_digest(struct kernel_image *k)
{
	k->config_digest[0] = 0;
	if (k->config[0] && pnb_sha256_file(k->config, k->config_digest))
		k->config_digest[0] = 0;
}

/* Paths in the info file are relative to the kernel's directory, so the
 * cache can move. */
int kernel_info_write(const char *dir, const struct kernel_image *k, const char *extra)
{
	char p[PNB_PATH + 64];
	size_t dl = strlen(dir);
	const char *rel[3] = { k->bzimage, k->modules_dir, k->config };
	FILE *f;

	snprintf(p, sizeof p, "%s/" KERNEL_INFO_FILE, dir);
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
int kernel_info_load(const char *dir, struct kernel_image *k)
{
	char p[PNB_PATH + 64], line[PNB_PATH + 64];
	FILE *f;

	snprintf(p, sizeof p, "%s/" KERNEL_INFO_FILE, dir);
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
	if (!k->bzimage[0] || !pnb_is_file(k->bzimage) || !k->release[0])
		return -ENOENT;
	kernel_set_digest(k);
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
		if (kernel_info_load(p, &k))
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

/* --- specs --------------------------------------------------------------- */

static const struct kernel_source *const sources[] = {
	&kernel_source_debian, &kernel_source_path, &kernel_source_tree, &kernel_source_native, NULL
};

/* "want debian:VERSION-FLAVOUR, ..., tree:DIR or native", from the sources. */
static const char *kinds(void)
{
	static char buf[512];
	char list[480] = "";

	if (buf[0])
		return buf;
	for (int i = 0; sources[i]; i++)
		kernel_append(list, sizeof list, sources[i + 1] ? ", " : " or ", sources[i]->forms);
	snprintf(buf, sizeof buf, "want %s", list);
	return buf;
}

void kernel_specs_help(FILE *f)
{
	for (int i = 0; sources[i]; i++)
		fputs(sources[i]->help, f);
}

static int resolve(const char *spec, int allow_fetch, unsigned jobs, struct kernel_image *k,
		   char *err, size_t errlen)
{
	const char *colon = strchr(spec, ':');
	size_t kl = colon ? (size_t)(colon - spec) : 0;

	/* A source without an argument is its bare name ("native"). */
	for (int i = 0; sources[i]; i++)
		if (!sources[i]->takes_arg && !strcmp(spec, sources[i]->kind))
			return sources[i]->resolve(spec, "", allow_fetch, jobs, k, err, errlen);
	if (!colon || !kl || kl >= 16)
		return kernel_fail(err, errlen, -2, spec, "unknown kernel kind (%s)", kinds());
	for (int i = 0; sources[i]; i++) {
		const struct kernel_source *s = sources[i];
		if (!s->takes_arg || strlen(s->kind) != kl || strncmp(spec, s->kind, kl))
			continue;
		if (!colon[1])
			return kernel_fail(err, errlen, -2, spec, "nothing after '%s:'", s->kind);
		return s->resolve(spec, colon + 1, allow_fetch, jobs, k, err, errlen);
	}
	return kernel_fail(err, errlen, -2, spec, "unknown kernel kind '%.*s' (%s)", (int)kl, spec, kinds());
}

int kernel_resolve(const char *spec, int allow_fetch, struct kernel_image *k, char *err, size_t errlen)
{
	memset(k, 0, sizeof *k);
	if (!spec || !*spec)
		return kernel_fail(err, errlen, -2, "", "empty kernel spec (%s)", kinds());
	if (strlen(spec) >= sizeof k->spec)
		return kernel_fail(err, errlen, -2, spec, "spec longer than %zu bytes", sizeof k->spec - 1);
	snprintf(k->spec, sizeof k->spec, "%s", spec);
	return resolve(spec, allow_fetch, 0, k, err, errlen);
}

int kernel_build(const char *tree, unsigned jobs, struct kernel_image *k, char *err, size_t errlen)
{
	char spec[sizeof k->spec];

	memset(k, 0, sizeof *k);
	if (!tree || !*tree)
		return kernel_fail(err, errlen, -2, "tree:", "no tree given");
	if (snprintf(spec, sizeof spec, "tree:%s", tree) >= (int)sizeof spec)
		return kernel_fail(err, errlen, -2, tree, "spec longer than %zu bytes", sizeof spec - 1);
	return kernel_source_tree.resolve(spec, tree, 1, jobs, k, err, errlen);
}
