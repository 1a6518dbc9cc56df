/* The guest's image: an initramfs (newc cpio written here, so no root is
 * needed for device nodes), a per-run archive with the recorder's command
 * line, and an ext4 data disk for the page-cache workloads.
 *
 * Everything built is cached under pnb_cache_dir() and written under a
 * temporary name first: parallel guests (-j) may race to build the same
 * file, and whichever rename lands last wins with identical content. */
#include "guest.h"
#include "cli.h"
#include "common.h"
#include "digest.h"
#include "fsutil.h"
#include "hostrun.h"
#include "kmod.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUSYBOX "/bin/busybox"

/* ---- newc cpio ---- */

struct cpio {
	FILE *f;
	char tmp[PNB_PATH + 32];
	unsigned ino;
	char **dirs;		/* directories already in the archive */
	int ndirs;
	int error;		/* first -errno */
};

static int cpio_open(struct cpio *c, const char *final)
{
	memset(c, 0, sizeof *c);
	c->ino = 1;
	snprintf(c->tmp, sizeof c->tmp, "%s.tmp.%d", final, (int)getpid());
	c->f = fopen(c->tmp, "we");
	return c->f ? 0 : -errno;
}

static void cpio_pad(struct cpio *c)
{
	static const char zero[4];
	long off = ftell(c->f);
	if (off % 4)
		fwrite(zero, 1, (size_t)(4 - off % 4), c->f);
}

/* Names are relative ("dev/console"), as the kernel and cpio(1) expect. */
static void cpio_raw(struct cpio *c, const char *name, unsigned mode, unsigned rmaj,
		     unsigned rmin, const void *data, size_t len)
{
	/* mtime 0 and sequential inode numbers: the same inputs give the
	 * same bytes, whoever builds the archive and when. */
	fprintf(c->f, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X",
		c->ino++, mode, 0, 0, S_ISDIR(mode) ? 2 : 1, 0, len, 0, 0, rmaj, rmin,
		strlen(name) + 1, 0);
	fwrite(name, 1, strlen(name) + 1, c->f);
	cpio_pad(c);
	if (len)
		fwrite(data, 1, len, c->f);
	cpio_pad(c);
}

static int cpio_has_dir(const struct cpio *c, const char *name)
{
	for (int i = 0; i < c->ndirs; i++)
		if (!strcmp(c->dirs[i], name))
			return 1;
	return 0;
}

static void cpio_dir(struct cpio *c, const char *name)
{
	char **d;

	if (cpio_has_dir(c, name))
		return;
	if (!(d = realloc(c->dirs, sizeof *d * (size_t)(c->ndirs + 1))) || !(d[c->ndirs] = strdup(name))) {
		if (d)
			c->dirs = d;
		c->error = c->error ? c->error : -ENOMEM;
		return;
	}
	c->dirs = d;
	c->ndirs++;
	cpio_raw(c, name, S_IFDIR | 0755, 0, 0, NULL, 0);
}

/* The kernel's unpacker does not create missing parents: emit them first. */
static void cpio_parents(struct cpio *c, const char *name)
{
	char p[PNB_PATH];
	snprintf(p, sizeof p, "%s", name);
	for (char *s = p; (s = strchr(s, '/')); s++) {
		*s = 0;
		cpio_dir(c, p);
		*s = '/';
	}
}

static void cpio_entry(struct cpio *c, const char *name, unsigned mode, unsigned rmaj,
		       unsigned rmin, const void *data, size_t len)
{
	cpio_parents(c, name);
	if (S_ISDIR(mode))
		cpio_dir(c, name);
	else
		cpio_raw(c, name, mode, rmaj, rmin, data, len);
}

static int cpio_file(struct cpio *c, const char *name, unsigned mode, const char *src)
{
	char *data;
	size_t len;
	int e = kernel_read_all(src, &data, &len);

	if (e)
		return e;
	cpio_entry(c, name, S_IFREG | mode, 0, 0, data, len);
	free(data);
	return 0;
}

static void cpio_free(struct cpio *c)
{
	for (int i = 0; i < c->ndirs; i++)
		free(c->dirs[i]);
	free(c->dirs);
	c->dirs = NULL;
	c->ndirs = 0;
}

static void cpio_abort(struct cpio *c)
{
	if (c->f)
		fclose(c->f);
	c->f = NULL;
	unlink(c->tmp);
	cpio_free(c);
}

/* Trailer, then rename into place. */
static int cpio_finish(struct cpio *c, const char *final)
{
	int e;

	cpio_raw(c, "TRAILER!!!", 0, 0, 0, NULL, 0);
	e = c->error;
	if (!e && (ferror(c->f) || fflush(c->f)))
		e = errno ? -errno : -EIO;
	if (fclose(c->f) && !e)
		e = -errno;
	c->f = NULL;
	if (!e && rename(c->tmp, final))
		e = -errno;
	if (e)
		unlink(c->tmp);
	cpio_free(c);
	return e;
}

/* ---- what goes in ---- */

/* The guest has no loader and no libc: refuse a dynamically linked program
 * here, with its name, rather than let the guest die on "not found". */
static int check_static(const char *path, char *err, size_t len)
{
	Elf64_Ehdr eh;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return kernel_failf(err, len, "guest image: %s: %s", path, strerror(errno));
	if (pread(fd, &eh, sizeof eh, 0) != sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr)) {
		close(fd);
		return kernel_failf(err, len, "guest image: %s: not a 64-bit ELF program", path);
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) != sizeof ph)
			break;
		if (ph.p_type == PT_INTERP) {
			close(fd);
			return kernel_failf(err, len, "guest image: %s is dynamically linked; the guest "
				     "has no libc (%s)", path, strcmp(path, BUSYBOX) ?
				     "build it with -static" : "install busybox-static");
		}
	}
	close(fd);
	return 0;
}

/* FNV-1a, 64 bits: a cache key over local build outputs, not a defence
 * against anyone, so no crypto library is needed for it. */

/* The module closures are kernel_modules.c's (libkmod). */

/* ---- the initramfs ---- */

static const char *const busybox_links[] = { "sh", "ls", "cat", "mount", "dmesg" };

/* A rebuilt program gives the same kernel a new image; the old ones would
 * pile up (~6 MB each) for ever.  But another checkout (a second worktree,
 * a CI job beside a developer) may be using an older image right now, between
 * finding it and copying it: only images unused for an hour go, and every
 * use touches its image's access time.  Its mtime stays the build's: the
 * snapshot of a machine is keyed on its files' size and mtime
 * (snapshot.c), and a use is no reason to boot and save the machine again. */
#define IMAGE_IDLE_S 3600
static void prune_older_images(const char *keep)
{
	char pattern[PNB_PATH + 8];
	const char *dash = strrchr(keep, '-');
	time_t now = time(NULL);
	glob_t g;

	if (!dash)
		return;
	snprintf(pattern, sizeof pattern, "%.*s-*.cpio", (int)(dash - keep), keep);
	if (glob(pattern, 0, NULL, &g))
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct stat st;
		if (strcmp(g.gl_pathv[i], keep) && !stat(g.gl_pathv[i], &st) &&
		    now - (st.st_atime > st.st_mtime ? st.st_atime : st.st_mtime) > IMAGE_IDLE_S)
			unlink(g.gl_pathv[i]);
	}
	globfree(&g);
}

/* ---- external killers (issue 11): earlyoom with its shared libraries ----
 * Debian's earlyoom is dynamically linked: the guest gets the binary at
 * /usr/bin/earlyoom and every library ldd names, at the same paths, so the
 * loader finds them as on the host.  The binary is the host's when
 * installed, else the package unpacked into the cache (apt-get download:
 * installing it on the host would start a killer daemon there).  Without
 * it the image is built anyway and the earlyoom killer row says why. */
#define EXT_MAX 16
struct ext_file { char src[PNB_PATH], dst[PNB_PATH]; };

static int earlyoom_binary(char *bin, size_t len)
{
	char dir[PNB_PATH], pat[PNB_PATH + 32];
	glob_t g;
	int rc;

	if (!access("/usr/bin/earlyoom", X_OK)) {
		snprintf(bin, len, "/usr/bin/earlyoom");
		return 0;
	}
	snprintf(dir, sizeof dir, "%s/earlyoom", pnb_cache_dir());
	snprintf(bin, len, "%s/usr/bin/earlyoom", dir);
	if (!access(bin, X_OK))
		return 0;
	if (pnb_mkdir_all(dir, 0755))
		return -1;
	char *const dl[] = { "apt-get", "download", "earlyoom", NULL };
	if (pnb_spawn(dl, &(struct pnb_spawn){ .cwd = dir }))
		return -1;
	snprintf(pat, sizeof pat, "%s/earlyoom_*.deb", dir);
	if (glob(pat, 0, NULL, &g))
		return -1;
	char *const x[] = { "dpkg-deb", "-x", g.gl_pathv[0], dir, NULL };
	rc = pnb_spawn(x, &(struct pnb_spawn){ 0 });
	globfree(&g);
	return rc || access(bin, X_OK) ? -1 : 0;
}

static int earlyoom_files(struct ext_file *f, int max)
{
	static char out[1 << 16];
	char bin[PNB_PATH], *line, *save;
	int n = 0;

	if (earlyoom_binary(bin, sizeof bin))
		return 0;
	snprintf(f[n].src, sizeof f[n].src, "%s", bin);
	snprintf(f[n++].dst, sizeof f[n].dst, "usr/bin/earlyoom");
	char *const ldd[] = { "ldd", bin, NULL };
	if (pnb_spawn(ldd, &(struct pnb_spawn){ .out = out, .outlen = sizeof out }))
		return 0;	/* no closure, no earlyoom: it would not start */
	for (line = strtok_r(out, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save)) {
		char a[PNB_PATH], b[PNB_PATH], *name = NULL;
		/* "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
		 * "/lib64/ld-linux-x86-64.so.2 (0x...)"; linux-vdso has no file. */
		if (sscanf(line, " %1023s => %1023s", a, b) == 2 && b[0] == '/')
			name = b;
		else if (sscanf(line, " %1023s", a) == 1 && a[0] == '/')
			name = a;
		if (!name || !realpath(name, f[n].src))
			continue;
		snprintf(f[n++].dst, sizeof f[n].dst, "%s", name + 1);
	}
	return n;
}

/* The programs: path in the image, name in bin/. */
static const char *const progs[][2] = {
	{ "init", "pnbench-init" },
	{ "bin/pnbench-record", "pnbench-record" },
	{ "bin/pnbench-workload", "pnbench-workload" },
	{ "bin/pnbench-conform", "pnbench-conform" },
	{ "bin/pnbench-killer", "pnbench-killer" },
};
enum { NPROGS = sizeof progs / sizeof progs[0] };

/* What goes into one initramfs. */
struct image_parts {
	char src[NPROGS][PNB_PATH];
	/* modules.load then modules.optional, one text: one walk over "PATH"
	 * lines and "GROUP PATH" lines alike (the path is the last field); a
	 * module in both is packed twice, the same bytes. */
	char *modlist;
	size_t base_len;
	struct ext_file ext[EXT_MAX];
	int next;
	char kmdir[PNB_PATH], kmwhy[512];
	int kmok;
};

static int gather(const struct kernel_image *k, struct image_parts *ip, char *err, size_t errlen)
{
	char *optlist = NULL;

	for (int i = 0; i < NPROGS; i++) {
		snprintf(ip->src[i], sizeof ip->src[i], "%s/%s", pnb_bindir(), progs[i][1]);
		if (check_static(ip->src[i], err, errlen))
			return -1;
	}
	if (check_static(BUSYBOX, err, errlen))
		return -1;
	if (k->modules_dir[0] && !k->release[0])
		return kernel_failf(err, errlen, "guest image: kernel %s has modules (%s) but no release "
			     "to put them under", k->spec, k->modules_dir);
	if (image_module_list(k->modules_dir, &ip->modlist, err, errlen))
		return -1;
	if (image_optional_modules(k->modules_dir, &optlist, err, errlen))
		return -1;
	size_t ml = strlen(ip->modlist), ol = strlen(optlist);
	char *both = realloc(ip->modlist, ml + ol + 1);
	if (!both) {
		free(optlist);
		return kernel_failf(err, errlen, "guest image: out of memory");
	}
	memcpy(both + ml, optlist, ol + 1);
	free(optlist);
	ip->modlist = both;
	ip->base_len = ml;
	ip->next = earlyoom_files(ip->ext, EXT_MAX);
	/* pnbench's own modules (harness/kmod.c), or why there are none: the
	 * probes load them, or report the reason as "unsupported". */
	ip->kmok = kmod_build(k, ip->kmdir, sizeof ip->kmdir, ip->kmwhy, sizeof ip->kmwhy) == 0;
	return 0;
}

static int hash_file(uint64_t *key, const char *what, const char *p, char *err, size_t errlen)
{
	char *data;
	size_t n;
	int e = kernel_read_all(p, &data, &n);

	if (e)
		return kernel_failf(err, errlen, "guest image: %s%s: %s", what, p, strerror(-e));
	*key = pnb_fnv1a(*key, data, n);
	free(data);
	return 0;
}

/* The key covers every byte that goes in, modules included: a tree
 * rebuilt with the same release and config still gets fresh modules. */
static int image_key(const struct kernel_image *k, const struct image_parts *ip, uint64_t *key,
		     char *err, size_t errlen)
{
	char mpath[PNB_PATH * 2];

	*key = PNB_FNV1A_INIT;
	for (int i = 0; i <= NPROGS; i++)
		if (hash_file(key, "", i < NPROGS ? ip->src[i] : BUSYBOX, err, errlen))
			return -1;
	*key = pnb_fnv1a(*key, ip->modlist, strlen(ip->modlist) + 1);
	for (int i = 0; i < ip->next; i++) {
		char *data;
		size_t n;
		if (kernel_read_all(ip->ext[i].src, &data, &n) == 0) {
			*key = pnb_fnv1a(*key, data, n);
			free(data);
		}
		*key = pnb_fnv1a(*key, ip->ext[i].dst, strlen(ip->ext[i].dst) + 1);
	}
	for (char *s = ip->modlist; *s;) {
		char *nl = strchr(s, '\n');
		char *sp = memchr(s, ' ', (size_t)(nl - s));
		if (sp)
			s = sp + 1;
		snprintf(mpath, sizeof mpath, "%s/%.*s", k->modules_dir, (int)(nl - s), s);
		if (hash_file(key, "module ", mpath, err, errlen))
			return -1;
		s = nl + 1;
	}
	if (!ip->kmok) {
		*key = pnb_fnv1a(*key, ip->kmwhy, strlen(ip->kmwhy) + 1);
		return 0;
	}
	for (int i = 0; i < KMOD_NMODULES; i++) {
		snprintf(mpath, sizeof mpath, "%s/%s.ko", ip->kmdir, kmod_modules[i]);
		if (hash_file(key, "module ", mpath, err, errlen))
			return -1;
	}
	return 0;
}

/* Every entry into c; 0, or -errno with the file that failed in mpath. */
static int pack(struct cpio *c, const struct kernel_image *k, const struct image_parts *ip,
		char *mpath, size_t mlen)
{
	int e = 0;

	/* Before devtmpfs is up the kernel opens /dev/console from here for
	 * init's stdio; the rest make a shell usable if init is replaced. */
	cpio_entry(c, "dev/console", S_IFCHR | 0600, 5, 1, NULL, 0);
	cpio_entry(c, "dev/null", S_IFCHR | 0666, 1, 3, NULL, 0);
	cpio_entry(c, "dev/kmsg", S_IFCHR | 0644, 1, 11, NULL, 0);
	cpio_entry(c, "dev/ttyS0", S_IFCHR | 0660, 4, 64, NULL, 0);
	cpio_entry(c, "dev/ttyS1", S_IFCHR | 0660, 4, 65, NULL, 0);
	const char *dirs[] = { "proc", "sys", "tmp", "data", "pnbench" };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		cpio_entry(c, dirs[i], S_IFDIR | 0755, 0, 0, NULL, 0);
	for (int i = 0; i < NPROGS && !e; i++)
		if ((e = cpio_file(c, progs[i][0], 0755, ip->src[i])))
			snprintf(mpath, mlen, "%s", ip->src[i]);
	if (!e && (e = cpio_file(c, "bin/busybox", 0755, BUSYBOX)))
		snprintf(mpath, mlen, "%s", BUSYBOX);
	for (int i = 0; !e && i < ip->next; i++)
		if ((e = cpio_file(c, ip->ext[i].dst, 0755, ip->ext[i].src)))
			snprintf(mpath, mlen, "%s", ip->ext[i].src);
	for (size_t i = 0; !e && i < sizeof busybox_links / sizeof busybox_links[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "bin/%s", busybox_links[i]);
		cpio_entry(c, name, S_IFLNK | 0777, 0, 0, "busybox", 7);
	}
	cpio_entry(c, "pnbench/modules.load", S_IFREG | 0644, 0, 0, ip->modlist, ip->base_len);
	cpio_entry(c, "pnbench/modules.optional", S_IFREG | 0644, 0, 0, ip->modlist + ip->base_len,
		   strlen(ip->modlist + ip->base_len));
	for (char *s = ip->modlist; !e && *s;) {
		char *nl = strchr(s, '\n');
		char name[PNB_PATH];
		char *sp = memchr(s, ' ', (size_t)(nl - s));
		if (sp)
			s = sp + 1;
		snprintf(mpath, mlen, "%s/%.*s", k->modules_dir, (int)(nl - s), s);
		snprintf(name, sizeof name, "lib/modules/%s/%.*s", k->release, (int)(nl - s), s);
		e = cpio_file(c, name, 0644, mpath);
		s = nl + 1;
	}
	for (int i = 0; ip->kmok && !e && i < KMOD_NMODULES; i++) {
		char name[128];
		snprintf(mpath, mlen, "%s/%s.ko", ip->kmdir, kmod_modules[i]);
		snprintf(name, sizeof name, "pnbench/kmod/%s.ko", kmod_modules[i]);
		e = cpio_file(c, name, 0644, mpath);
	}
	if (!ip->kmok) {
		char line[sizeof ip->kmwhy + 1];
		int n = snprintf(line, sizeof line, "%s\n", ip->kmwhy);
		cpio_entry(c, "pnbench/kmod/unsupported", S_IFREG | 0644, 0, 0, line, (size_t)n);
	}
	return e;
}

/* Find or build the image into <cache>/initramfs/ (image_parts: what goes
 * in; image_key: its name; pack: the cpio). */
static int initramfs(const struct kernel_image *k, struct image_parts *ip, char *path, size_t len,
		     char *err, size_t errlen)
{
	char dir[PNB_PATH], mpath[PNB_PATH * 2];
	uint64_t key;
	struct cpio c;
	struct stat st;
	int e;

	if (gather(k, ip, err, errlen) || image_key(k, ip, &key, err, errlen))
		return -1;
	snprintf(dir, sizeof dir, "%s/initramfs", pnb_cache_dir());
	if ((e = pnb_mkdir_all(dir, 0755)))
		return kernel_failf(err, errlen, "guest image: cannot create %s: %s", dir, strerror(-e));
	if ((size_t)snprintf(path, len, "%s/%s-%.16s-%016llx.cpio", dir,
			     k->release[0] ? k->release : "norelease",
			     k->config_digest[0] ? k->config_digest : "noconfig",
			     (unsigned long long)key) >= len)
		return kernel_failf(err, errlen, "guest image: cache path too long under %s", dir);
	if (!stat(path, &st) && S_ISREG(st.st_mode) && st.st_size > 0) {
		/* In use: not to be pruned (atime only, see prune_older_images). */
		utimensat(AT_FDCWD, path, (const struct timespec[2]){ { .tv_nsec = UTIME_NOW },
								      { .tv_nsec = UTIME_OMIT } }, 0);
		return 0;
	}
	if ((e = cpio_open(&c, path)))
		return kernel_failf(err, errlen, "guest image: cannot create %s: %s", path, strerror(-e));
	if ((e = pack(&c, k, ip, mpath, sizeof mpath))) {
		cpio_abort(&c);
		return kernel_failf(err, errlen, "guest image: %s: %s", mpath, strerror(-e));
	}
	if ((e = cpio_finish(&c, path)))
		return kernel_failf(err, errlen, "guest image: writing %s: %s", path, strerror(-e));
	prune_older_images(path);
	return 0;
}

int image_initramfs(const struct kernel_image *k, char *path, size_t len, char *err, size_t errlen)
{
	/* On the heap: ext[] alone is 32 paths. */
	struct image_parts *ip = calloc(1, sizeof *ip);
	int rc;

	if (!ip)
		return kernel_failf(err, errlen, "guest image: out of memory");
	rc = initramfs(k, ip, path, len, err, errlen);
	free(ip->modlist);
	free(ip);
	return rc;
}

/* ---- the per-run archive ---- */

int image_run_archive_env(const char *out_path, const char *const *record_argv,
			  const char *const *env_lines, char *err, size_t errlen)
{
	char *args = NULL, *env = NULL;
	size_t alen = 0, elen = 0;
	struct cpio c;
	FILE *a, *v;
	int e;

	if (!record_argv || !record_argv[0] || !record_argv[0][0])
		return kernel_failf(err, errlen, "run archive: no program to run");
	a = open_memstream(&args, &alen);
	v = open_memstream(&env, &elen);
	if (!a || !v) {
		if (a)
			fclose(a);
		if (v)
			fclose(v);
		free(args);
		free(env);
		return kernel_failf(err, errlen, "run archive: out of memory");
	}
	e = 0;
	/* One argument per line: an argument may be empty, but a newline
	 * inside one could not be told from the next. */
	for (int i = 0; record_argv[i] && !e; i++) {
		if (strchr(record_argv[i], '\n'))
			e = kernel_failf(err, errlen, "run archive: argument %d contains a newline", i);
		fprintf(a, "%s\n", record_argv[i]);
	}
	for (int i = 0; env_lines && env_lines[i] && !e; i++) {
		const char *eq = strchr(env_lines[i], '=');
		if (!eq || eq == env_lines[i] || strchr(env_lines[i], '\n'))
			e = kernel_failf(err, errlen, "run archive: env line '%s' is not one key=value line",
				  env_lines[i]);
		fprintf(v, "%s\n", env_lines[i]);
	}
	fclose(a);
	fclose(v);
	/* A fresh seed per run for the guest's RNG (see credit_seed in
	 * qemu/init.c); GRND_NONBLOCK: never stall the host for it. */
	unsigned char seed[32];
	int have_seed = getrandom(seed, sizeof seed, GRND_NONBLOCK) == (ssize_t)sizeof seed;
	if (!e && (e = cpio_open(&c, out_path)))
		e = kernel_failf(err, errlen, "run archive: cannot create %s: %s", out_path, strerror(-e));
	if (!e) {
		cpio_entry(&c, "pnbench", S_IFDIR | 0755, 0, 0, NULL, 0);
		cpio_entry(&c, "pnbench/run.args", S_IFREG | 0644, 0, 0, args, alen);
		cpio_entry(&c, "pnbench/run.env", S_IFREG | 0644, 0, 0, env, elen);
		if (have_seed)
			cpio_entry(&c, "pnbench/seed", S_IFREG | 0600, 0, 0, seed, sizeof seed);
		if ((e = cpio_finish(&c, out_path)))
			e = kernel_failf(err, errlen, "run archive: writing %s: %s", out_path, strerror(-e));
	}
	free(args);
	free(env);
	return e ? -1 : 0;
}

int image_run_archive(const char *out_path, const char *const *record_argv,
		      char *err, size_t errlen)
{
	return image_run_archive_env(out_path, record_argv, NULL, err, errlen);
}

/* ---- the data disk ---- */

int image_data_disk(uint64_t file_size, char *path, size_t len, char *err, size_t errlen)
{
	char dir[PNB_PATH], work[PNB_PATH + 64], file[PNB_PATH + 80], tmp[PNB_PATH + 80];
	char fs_size[32], msg[1024];
	const char *what;
	struct stat st;
	int e;

	if (!file_size)
		return kernel_failf(err, errlen, "data disk: size 0 (the scenario's data_size)");
	snprintf(dir, sizeof dir, "%s/disks", pnb_cache_dir());
	if ((e = pnb_mkdir_all(dir, 0755)))
		return kernel_failf(err, errlen, "data disk: cannot create %s: %s", dir, strerror(-e));
	if ((size_t)snprintf(path, len, "%s/data-%llu.ext4", dir,
			     (unsigned long long)file_size) >= len)
		return kernel_failf(err, errlen, "data disk: cache path too long under %s", dir);
	if (!stat(path, &st) && S_ISREG(st.st_mode) && (uint64_t)st.st_size > file_size)
		return 0;

	snprintf(work, sizeof work, "%s/.data-%llu-XXXXXX", dir, (unsigned long long)file_size);
	if (!mkdtemp(work))
		return kernel_failf(err, errlen, "data disk: cannot create a directory in %s: %s", dir,
			     strerror(errno));
	snprintf(file, sizeof file, "%s/data.bin", work);
	/* Beside the directory, not in it: -d copies the whole directory. */
	snprintf(tmp, sizeof tmp, "%s.ext4", work);
	/* The same bytes the workloads write when they make the file
	 * themselves (workloads/common.c), so guest and native runs read
	 * identical data. */
	if ((e = wl_file_prepare(file, file_size, &what))) {
		kernel_failf(err, errlen, "data disk: %s: %s: %s", file, what, strerror(-e));
		goto out;
	}
	/* Room for the file plus metadata: no journal (the guest mounts it
	 * read-only), few inodes, no reserved blocks; 1/64 covers block
	 * bitmaps and extent trees with a wide margin. */
	uint64_t bytes = file_size + file_size / 64 + (8ULL << 20);
	snprintf(fs_size, sizeof fs_size, "%lluk", (unsigned long long)((bytes + 4095) / 4096 * 4));
	char *argv[] = { "mkfs.ext4", "-q", "-F", "-b", "4096", "-m", "0", "-N", "64",
			 "-O", "^has_journal", "-L", "pnbdata", "-d", work, tmp, fs_size, NULL };
	char tool[64];
	argv[0] = (char *)kernel_find_tool("mkfs.ext4", tool, sizeof tool);
	int r = pnb_spawn(argv, &(struct pnb_spawn){ .err = msg, .errlen = sizeof msg });
	for (char *c = msg; *c; c++)
		if (*c == '\n')
			*c = ' ';
	if (r == 127)
		snprintf(msg + strlen(msg), sizeof msg - strlen(msg), " (install e2fsprogs)");
	if (r) {
		kernel_failf(err, errlen, "data disk: mkfs.ext4 -d %s %s %s failed (%s): %s", work, tmp,
		      fs_size, r < 0 ? strerror(-r) : "exit status", msg);
		e = -1;
		goto out;
	}
	if (rename(tmp, path)) {
		e = kernel_failf(err, errlen, "data disk: rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
out:
	unlink(file);
	unlink(tmp);
	rmdir(work);
	return e ? -1 : 0;
}
