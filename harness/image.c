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
#include "fsutil.h"
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUSYBOX "/bin/busybox"

static int failf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* A whole file in memory (binaries and modules are a few MB at most). */
static int read_all(const char *path, char **data, size_t *len)
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
	int e = read_all(src, &data, &len);

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
		return failf(err, len, "guest image: %s: %s", path, strerror(errno));
	if (pread(fd, &eh, sizeof eh, 0) != sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr)) {
		close(fd);
		return failf(err, len, "guest image: %s: not a 64-bit ELF program", path);
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) != sizeof ph)
			break;
		if (ph.p_type == PT_INTERP) {
			close(fd);
			return failf(err, len, "guest image: %s is dynamically linked; the guest "
				     "has no libc (%s)", path, strcmp(path, BUSYBOX) ?
				     "build it with -static" : "install busybox-static");
		}
	}
	close(fd);
	return 0;
}

/* FNV-1a, 64 bits: a cache key over local build outputs, not a defence
 * against anyone, so no crypto library is needed for it. */
static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}
#define FNV_INIT 0xcbf29ce484222325ULL

/* ---- modules.dep ---- */

struct kmod {
	char *path;		/* relative to the modules directory */
	char name[64];		/* "virtio_pci": '-' folded to '_' */
	char **deps;		/* paths, in modules.dep order */
	int ndeps;
	int state;		/* 0 new, 1 visiting, 2 listed */
};

struct softdep {
	char name[64];
	char pre[512], post[512];	/* blank-separated names or aliases */
};

struct moddb {
	const char *dir;
	char *dep_text, *builtin_text, *softdep_text, *alias_text;
	struct kmod *m;
	int n;
	struct softdep *sd;
	int nsd;
};

static void mod_name(const char *path, char *out, size_t len)
{
	const char *b = strrchr(path, '/');
	size_t i = 0;

	b = b ? b + 1 : path;
	for (; b[i] && i + 1 < len && strncmp(b + i, ".ko", 3); i++)
		out[i] = b[i] == '-' ? '_' : b[i];
	out[i] = 0;
}

static void name_fold(const char *in, char *out, size_t len)
{
	size_t i = 0;
	for (; in[i] && i + 1 < len; i++)
		out[i] = in[i] == '-' ? '_' : in[i];
	out[i] = 0;
}

static void moddb_free(struct moddb *db)
{
	for (int i = 0; i < db->n; i++)
		free(db->m[i].deps);
	free(db->m);
	free(db->sd);
	free(db->dep_text);
	free(db->builtin_text);
	free(db->softdep_text);
	free(db->alias_text);
	memset(db, 0, sizeof *db);
}

static const struct softdep *softdep_of(const struct moddb *db, const char *name)
{
	for (int i = 0; i < db->nsd; i++)
		if (!strcmp(db->sd[i].name, name))
			return &db->sd[i];
	return NULL;
}

static int moddb_load(struct moddb *db, const char *dir, char *err, size_t len)
{
	char path[PNB_PATH + 32];
	size_t n;
	int e, lineno = 0;

	memset(db, 0, sizeof *db);
	db->dir = dir;
	snprintf(path, sizeof path, "%s/modules.dep", dir);
	if ((e = read_all(path, &db->dep_text, &n)))
		return failf(err, len, "guest image: %s: %s%s", path, strerror(-e), e == -ENOENT ?
			     " (depmod writes it: depmod -b ROOT RELEASE for an unpacked "
			     "ROOT/lib/modules/RELEASE)" : "");
	for (char *s = NULL, *line = strtok_r(db->dep_text, "\n", &s); line;
	     line = strtok_r(NULL, "\n", &s)) {
		lineno++;
		char *colon = strchr(line, ':');
		if (!colon)
			return failf(err, len, "guest image: %s:%d: no ':' in '%s'", path, lineno, line);
		*colon = 0;
		if (line[0] == '/')
			return failf(err, len, "guest image: %s:%d: absolute module path '%s' "
				     "(expected paths relative to %s)", path, lineno, line, dir);
		struct kmod *m = realloc(db->m, sizeof *m * (size_t)(db->n + 1));
		if (!m)
			return failf(err, len, "guest image: out of memory");
		db->m = m;
		m = &db->m[db->n++];
		memset(m, 0, sizeof *m);
		m->path = line;
		mod_name(line, m->name, sizeof m->name);
		for (char *s2 = NULL, *d = strtok_r(colon + 1, " \t", &s2); d;
		     d = strtok_r(NULL, " \t", &s2)) {
			char **nd = realloc(m->deps, sizeof *nd * (size_t)(m->ndeps + 1));
			if (!nd)
				return failf(err, len, "guest image: out of memory");
			m->deps = nd;
			m->deps[m->ndeps++] = d;
		}
	}
	/* The other files are optional: an old depmod or a hand-made tree may
	 * lack them, and then nothing is built in and nothing has softdeps. */
	snprintf(path, sizeof path, "%s/modules.builtin", dir);
	read_all(path, &db->builtin_text, &n);
	snprintf(path, sizeof path, "%s/modules.softdep", dir);
	if (!read_all(path, &db->softdep_text, &n)) {
		for (char *s = NULL, *line = strtok_r(db->softdep_text, "\n", &s); line;
		     line = strtok_r(NULL, "\n", &s)) {
			char word[16], name[64];
			int off = 0;
			/* "softdep ext4 pre: crc32c post: x" */
			if (sscanf(line, "%15s %63s %n", word, name, &off) < 2 || strcmp(word, "softdep"))
				continue;
			/* A module may have several lines (ksmbd has one per
			 * algorithm): they add up. */
			char folded[64];
			name_fold(name, folded, sizeof folded);
			struct softdep *sd = (struct softdep *)softdep_of(db, folded);
			if (!sd) {
				sd = realloc(db->sd, sizeof *sd * (size_t)(db->nsd + 1));
				if (!sd)
					return failf(err, len, "guest image: out of memory");
				db->sd = sd;
				sd = &db->sd[db->nsd++];
				memset(sd, 0, sizeof *sd);
				snprintf(sd->name, sizeof sd->name, "%s", folded);
			}
			char *cur = NULL;
			for (char *s2 = NULL, *t = strtok_r(line + off, " \t", &s2); t;
			     t = strtok_r(NULL, " \t", &s2)) {
				if (!strcmp(t, "pre:"))
					cur = sd->pre;
				else if (!strcmp(t, "post:"))
					cur = sd->post;
				else if (cur && strlen(cur) + strlen(t) + 2 > sizeof sd->pre)
					return failf(err, len, "guest image: %s: too many soft "
						     "dependencies for %s", path, name);
				else if (cur)
					strcat(strcat(cur, *cur ? " " : ""), t);
			}
		}
	}
	snprintf(path, sizeof path, "%s/modules.alias", dir);
	read_all(path, &db->alias_text, &n);
	return 0;
}

static struct kmod *moddb_find(struct moddb *db, const char *name)
{
	char folded[64];
	name_fold(name, folded, sizeof folded);
	for (int i = 0; i < db->n; i++)
		if (!strcmp(db->m[i].name, folded))
			return &db->m[i];
	return NULL;
}

static struct kmod *moddb_find_path(struct moddb *db, const char *path)
{
	for (int i = 0; i < db->n; i++)
		if (!strcmp(db->m[i].path, path))
			return &db->m[i];
	return NULL;
}

static int moddb_builtin(const struct moddb *db, const char *name)
{
	char folded[64], mn[64];
	const char *t = db->builtin_text;

	if (!t)
		return 0;
	name_fold(name, folded, sizeof folded);
	while (*t) {
		const char *nl = strchr(t, '\n');
		size_t l = nl ? (size_t)(nl - t) : strlen(t);
		char line[PNB_PATH];
		snprintf(line, sizeof line, "%.*s", (int)l, t);
		mod_name(line, mn, sizeof mn);
		if (!strcmp(mn, folded))
			return 1;
		t += l + (nl ? 1 : 0);
	}
	return 0;
}

static int visit(struct moddb *db, struct kmod *m, FILE *out, char *err, size_t len);

/* A softdep names a module or an alias ("crc32c"); either may be built in,
 * and then there is nothing to load, as modprobe would find.  A softdep
 * back onto a module being visited is not a loop (modprobe ignores it):
 * softdep_ok() lets it pass. */
static int softdep_ok(struct moddb *db, struct kmod *m, FILE *out, char *err, size_t len)
{
	return m->state == 1 ? 0 : visit(db, m, out, err, len);
}

static int visit_soft(struct moddb *db, const char *names, FILE *out, char *err, size_t len)
{
	char buf[512];

	snprintf(buf, sizeof buf, "%s", names);
	for (char *s = NULL, *nm = strtok_r(buf, " ", &s); nm; nm = strtok_r(NULL, " ", &s)) {
		struct kmod *m = moddb_find(db, nm);
		if (m) {
			if (softdep_ok(db, m, out, err, len))
				return -1;
			continue;
		}
		/* modules.alias: "alias crc32c crc32c_generic"; exact names only. */
		const char *t = db->alias_text;
		while (t && *t) {
			char a[256], target[64];
			const char *nl = strchr(t, '\n');
			size_t l = nl ? (size_t)(nl - t) : strlen(t);
			char line[512];
			snprintf(line, sizeof line, "%.*s", (int)l, t);
			if (sscanf(line, "alias %255s %63s", a, target) == 2 && !strcmp(a, nm) &&
			    (m = moddb_find(db, target)) && softdep_ok(db, m, out, err, len))
				return -1;
			t += l + (nl ? 1 : 0);
		}
	}
	return 0;
}

/* Depth first, dependencies before the module.  modules.dep lists a
 * module's dependencies so that the last is loaded first (modprobe walks
 * them backwards); doing the same gives modprobe's order. */
static int visit(struct moddb *db, struct kmod *m, FILE *out, char *err, size_t len)
{
	const struct softdep *sd = softdep_of(db, m->name);

	if (m->state == 2)
		return 0;
	if (m->state == 1)
		return failf(err, len, "guest image: %s/modules.dep: dependency loop through %s",
			     db->dir, m->path);
	m->state = 1;
	if (sd && visit_soft(db, sd->pre, out, err, len))
		return -1;
	for (int i = m->ndeps - 1; i >= 0; i--) {
		struct kmod *d = moddb_find_path(db, m->deps[i]);
		if (!d)
			return failf(err, len, "guest image: %s/modules.dep: %s needs %s, which "
				     "has no line of its own", db->dir, m->path, m->deps[i]);
		if (visit(db, d, out, err, len))
			return -1;
	}
	m->state = 2;
	fprintf(out, "%s\n", m->path);
	if (sd && visit_soft(db, sd->post, out, err, len))
		return -1;
	return 0;
}

/* What the guest needs: the data disk (virtio over PCI on q35, ext4) and,
 * when the kernel has it, pvpanic so a panic can end QEMU at once. */
static const struct { const char *name; int required; } wanted_modules[] = {
	{ "virtio_pci", 1 }, { "virtio_blk", 1 }, { "ext4", 1 },
	{ "pvpanic", 0 }, { "pvpanic_pci", 0 }, { "pvpanic_mmio", 0 },
};

int image_module_list(const char *modules_dir, char **list, char *err, size_t errlen)
{
	struct moddb db;
	size_t len = 0;
	FILE *out;

	*list = NULL;
	if (!modules_dir || !modules_dir[0]) {
		*list = strdup("");
		return *list ? 0 : failf(err, errlen, "guest image: out of memory");
	}
	if (moddb_load(&db, modules_dir, err, errlen)) {
		moddb_free(&db);
		return -1;
	}
	if (!(out = open_memstream(list, &len))) {
		moddb_free(&db);
		return failf(err, errlen, "guest image: out of memory");
	}
	for (size_t i = 0; i < sizeof wanted_modules / sizeof wanted_modules[0]; i++) {
		const char *nm = wanted_modules[i].name;
		struct kmod *m = moddb_find(&db, nm);
		if (m) {
			if (visit(&db, m, out, err, errlen))
				goto fail;
		} else if (wanted_modules[i].required && !moddb_builtin(&db, nm)) {
			failf(err, errlen, "guest image: kernel modules in %s: %s is neither a module "
			      "(modules.dep) nor built in (modules.builtin); the guest needs it for "
			      "its data disk", modules_dir, nm);
			goto fail;
		}
	}
	fclose(out);
	moddb_free(&db);
	return 0;
fail:
	fclose(out);
	free(*list);
	*list = NULL;
	moddb_free(&db);
	return -1;
}

/* Modules the guest loads only when a scenario's knob asks: zram swap and
 * the compressors it may be given (qemu/init.c load_group).  The group is
 * the name init asks for ('-' folded to '_', as zram's comp_algorithm value
 * "lzo-rle" is module lzo_rle). */
static const char *const optional_groups[] = {
	"zram", "lzo", "lzo_rle", "lz4", "lz4hc", "zstd", "842", "deflate",
};

int image_optional_modules(const char *modules_dir, char **list, char *err, size_t errlen)
{
	struct moddb db;
	size_t len = 0;
	FILE *out;

	*list = NULL;
	if (!modules_dir || !modules_dir[0]) {
		*list = strdup("");
		return *list ? 0 : failf(err, errlen, "guest image: out of memory");
	}
	if (moddb_load(&db, modules_dir, err, errlen)) {
		moddb_free(&db);
		return -1;
	}
	if (!(out = open_memstream(list, &len))) {
		moddb_free(&db);
		return failf(err, errlen, "guest image: out of memory");
	}
	for (size_t g = 0; g < sizeof optional_groups / sizeof optional_groups[0]; g++) {
		struct kmod *m = moddb_find(&db, optional_groups[g]);
		char *one = NULL;
		size_t ol = 0;
		FILE *o;
		/* Built in, or absent: nothing to load (init then finds the
		 * feature, or says the kernel lacks it). */
		if (!m)
			continue;
		for (int i = 0; i < db.n; i++)
			db.m[i].state = 0;
		if (!(o = open_memstream(&one, &ol)))
			goto nomem;
		int r = visit(&db, m, o, err, errlen);
		fclose(o);
		if (r) {
			free(one);
			goto fail;
		}
		for (char *l = one, *nl; l && *l; l = nl + 1) {
			nl = strchr(l, '\n');
			if (!nl)
				break;
			fprintf(out, "%s %.*s\n", optional_groups[g], (int)(nl - l), l);
		}
		free(one);
	}
	fclose(out);
	moddb_free(&db);
	return 0;
nomem:
	failf(err, errlen, "guest image: out of memory");
fail:
	fclose(out);
	free(*list);
	*list = NULL;
	moddb_free(&db);
	return -1;
}

/* ---- the initramfs ---- */

static const char *const busybox_links[] = { "sh", "ls", "cat", "mount", "dmesg" };

/* A rebuilt program gives the same kernel a new image; the old ones would
 * pile up (~6 MB each) for ever.  But another checkout (a second worktree,
 * a CI job beside a developer) may be using an older image right now, between
 * finding it and copying it: only images unused for an hour go, and every
 * use touches its image. */
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
		    now - st.st_mtime > IMAGE_IDLE_S)
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
	char dir[PNB_PATH], cmd[PNB_PATH * 2 + 200];

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
	snprintf(cmd, sizeof cmd, "cd '%s' && apt-get download earlyoom >/dev/null 2>&1 && "
		 "dpkg-deb -x earlyoom_*.deb . >/dev/null 2>&1", dir);
	if (system(cmd) != 0 || access(bin, X_OK))
		return -1;
	return 0;
}

static int earlyoom_files(struct ext_file *f, int max)
{
	char bin[PNB_PATH], cmd[PNB_PATH + 32], line[1024];
	FILE *p;
	int n = 0;

	if (earlyoom_binary(bin, sizeof bin))
		return 0;
	snprintf(f[n].src, sizeof f[n].src, "%s", bin);
	snprintf(f[n++].dst, sizeof f[n].dst, "usr/bin/earlyoom");
	snprintf(cmd, sizeof cmd, "ldd '%s' 2>/dev/null", bin);
	if (!(p = popen(cmd, "r")))
		return 0;
	while (n < max && fgets(line, sizeof line, p)) {
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
	if (pclose(p) != 0)
		return 0;	/* no closure, no earlyoom: it would not start */
	return n;
}

int image_initramfs(const struct kernel_image *k, char *path, size_t len, char *err, size_t errlen)
{
	const char *progs[][2] = {
		{ "init", "pnbench-init" },
		{ "bin/pnbench-record", "pnbench-record" },
		{ "bin/pnbench-workload", "pnbench-workload" },
		{ "bin/pnbench-conform", "pnbench-conform" },
		{ "bin/pnbench-killer", "pnbench-killer" },
	};
	enum { NPROGS = sizeof progs / sizeof progs[0] };
	char src[NPROGS][PNB_PATH], dir[PNB_PATH], mpath[PNB_PATH * 2], *modlist = NULL;
	size_t modlist_base_len = 0;
	uint64_t key = FNV_INIT;
	struct cpio c;
	struct stat st;
	int e;

	for (int i = 0; i < NPROGS; i++) {
		snprintf(src[i], sizeof src[i], "%s/%s", pnb_bindir(), progs[i][1]);
		if (check_static(src[i], err, errlen))
			return -1;
	}
	if (check_static(BUSYBOX, err, errlen))
		return -1;
	if (k->modules_dir[0] && !k->release[0])
		return failf(err, errlen, "guest image: kernel %s has modules (%s) but no release "
			     "to put them under", k->spec, k->modules_dir);
	if (image_module_list(k->modules_dir, &modlist, err, errlen))
		return -1;
	char *optlist = NULL;
	if (image_optional_modules(k->modules_dir, &optlist, err, errlen)) {
		free(modlist);
		return -1;
	}
	/* Appended to the base list for hashing and packing: one walk over
	 * "PATH" lines and "GROUP PATH" lines alike (the path is the last
	 * field); a module in both is packed twice, the same bytes. */
	{
		size_t ml = strlen(modlist), ol = strlen(optlist);
		char *both = malloc(ml + ol + 1);
		if (!both) {
			free(modlist);
			free(optlist);
			return failf(err, errlen, "guest image: out of memory");
		}
		memcpy(both, modlist, ml);
		memcpy(both + ml, optlist, ol + 1);
		free(optlist);
		free(modlist);
		modlist = both;
		modlist_base_len = ml;
	}

	/* The key covers every byte that goes in, modules included: a tree
	 * rebuilt with the same release and config still gets fresh modules. */
	for (int i = 0; i <= NPROGS; i++) {
		char *data;
		size_t n;
		const char *p = i < NPROGS ? src[i] : BUSYBOX;
		if ((e = read_all(p, &data, &n))) {
			free(modlist);
			return failf(err, errlen, "guest image: %s: %s", p, strerror(-e));
		}
		key = fnv1a(key, data, n);
		free(data);
	}
	key = fnv1a(key, modlist, strlen(modlist) + 1);
	static struct ext_file ext[EXT_MAX];
	int next = earlyoom_files(ext, EXT_MAX);
	for (int i = 0; i < next; i++) {
		char *data;
		size_t n;
		if (read_all(ext[i].src, &data, &n) == 0) {
			key = fnv1a(key, data, n);
			free(data);
		}
		key = fnv1a(key, ext[i].dst, strlen(ext[i].dst) + 1);
	}
	for (char *s = modlist; *s;) {
		char *nl = strchr(s, '\n');
		char *data;
		size_t n;
		char *sp = memchr(s, ' ', (size_t)(nl - s));
		if (sp)
			s = sp + 1;
		snprintf(mpath, sizeof mpath, "%s/%.*s", k->modules_dir, (int)(nl - s), s);
		if ((e = read_all(mpath, &data, &n))) {
			free(modlist);
			return failf(err, errlen, "guest image: module %s: %s", mpath, strerror(-e));
		}
		key = fnv1a(key, data, n);
		free(data);
		s = nl + 1;
	}

	/* pnbench's own modules (harness/kmod.c), or why there are none: the
	 * probes load them, or report the reason as "unsupported". */
	char kmdir[PNB_PATH], kmwhy[512];
	int kmok = kmod_build(k, kmdir, sizeof kmdir, kmwhy, sizeof kmwhy) == 0;
	if (kmok) {
		for (int i = 0; i < KMOD_NMODULES; i++) {
			char *data;
			size_t n;
			snprintf(mpath, sizeof mpath, "%s/%s.ko", kmdir, kmod_modules[i]);
			if ((e = read_all(mpath, &data, &n))) {
				free(modlist);
				return failf(err, errlen, "guest image: module %s: %s", mpath, strerror(-e));
			}
			key = fnv1a(key, data, n);
			free(data);
		}
	} else {
		key = fnv1a(key, kmwhy, strlen(kmwhy) + 1);
	}

	snprintf(dir, sizeof dir, "%s/initramfs", pnb_cache_dir());
	if ((e = pnb_mkdir_all(dir, 0755))) {
		free(modlist);
		return failf(err, errlen, "guest image: cannot create %s: %s", dir, strerror(-e));
	}
	if ((size_t)snprintf(path, len, "%s/%s-%.16s-%016llx.cpio", dir,
			     k->release[0] ? k->release : "norelease",
			     k->config_digest[0] ? k->config_digest : "noconfig",
			     (unsigned long long)key) >= len) {
		free(modlist);
		return failf(err, errlen, "guest image: cache path too long under %s", dir);
	}
	if (!stat(path, &st) && S_ISREG(st.st_mode) && st.st_size > 0) {
		utimensat(AT_FDCWD, path, NULL, 0);	/* in use: not to be pruned */
		free(modlist);
		return 0;
	}

	if ((e = cpio_open(&c, path))) {
		free(modlist);
		return failf(err, errlen, "guest image: cannot create %s: %s", path, strerror(-e));
	}
	/* Before devtmpfs is up the kernel opens /dev/console from here for
	 * init's stdio; the rest make a shell usable if init is replaced. */
	cpio_entry(&c, "dev/console", S_IFCHR | 0600, 5, 1, NULL, 0);
	cpio_entry(&c, "dev/null", S_IFCHR | 0666, 1, 3, NULL, 0);
	cpio_entry(&c, "dev/kmsg", S_IFCHR | 0644, 1, 11, NULL, 0);
	cpio_entry(&c, "dev/ttyS0", S_IFCHR | 0660, 4, 64, NULL, 0);
	cpio_entry(&c, "dev/ttyS1", S_IFCHR | 0660, 4, 65, NULL, 0);
	const char *dirs[] = { "proc", "sys", "tmp", "data", "pnbench" };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		cpio_entry(&c, dirs[i], S_IFDIR | 0755, 0, 0, NULL, 0);
	for (int i = 0; i < NPROGS && !e; i++)
		if ((e = cpio_file(&c, progs[i][0], 0755, src[i])))
			snprintf(mpath, sizeof mpath, "%s", src[i]);
	if (!e && (e = cpio_file(&c, "bin/busybox", 0755, BUSYBOX)))
		snprintf(mpath, sizeof mpath, "%s", BUSYBOX);
	for (int i = 0; !e && i < next; i++)
		if ((e = cpio_file(&c, ext[i].dst, 0755, ext[i].src)))
			snprintf(mpath, sizeof mpath, "%s", ext[i].src);
	for (size_t i = 0; !e && i < sizeof busybox_links / sizeof busybox_links[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "bin/%s", busybox_links[i]);
		cpio_entry(&c, name, S_IFLNK | 0777, 0, 0, "busybox", 7);
	}
	cpio_entry(&c, "pnbench/modules.load", S_IFREG | 0644, 0, 0, modlist, modlist_base_len);
	cpio_entry(&c, "pnbench/modules.optional", S_IFREG | 0644, 0, 0, modlist + modlist_base_len,
		   strlen(modlist + modlist_base_len));
	for (char *s = modlist; !e && *s;) {
		char *nl = strchr(s, '\n');
		char name[PNB_PATH];
		char *sp = memchr(s, ' ', (size_t)(nl - s));
		if (sp)
			s = sp + 1;
		snprintf(mpath, sizeof mpath, "%s/%.*s", k->modules_dir, (int)(nl - s), s);
		snprintf(name, sizeof name, "lib/modules/%s/%.*s", k->release, (int)(nl - s), s);
		e = cpio_file(&c, name, 0644, mpath);
		s = nl + 1;
	}
	free(modlist);
	for (int i = 0; kmok && !e && i < KMOD_NMODULES; i++) {
		char name[128];
		snprintf(mpath, sizeof mpath, "%s/%s.ko", kmdir, kmod_modules[i]);
		snprintf(name, sizeof name, "pnbench/kmod/%s.ko", kmod_modules[i]);
		e = cpio_file(&c, name, 0644, mpath);
	}
	if (!kmok) {
		char line[sizeof kmwhy + 1];
		int n = snprintf(line, sizeof line, "%s\n", kmwhy);
		cpio_entry(&c, "pnbench/kmod/unsupported", S_IFREG | 0644, 0, 0, line, (size_t)n);
	}
	if (e) {
		cpio_abort(&c);
		return failf(err, errlen, "guest image: %s: %s", mpath, strerror(-e));
	}
	if ((e = cpio_finish(&c, path)))
		return failf(err, errlen, "guest image: writing %s: %s", path, strerror(-e));
	prune_older_images(path);
	return 0;
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
		return failf(err, errlen, "run archive: no program to run");
	a = open_memstream(&args, &alen);
	v = open_memstream(&env, &elen);
	if (!a || !v) {
		if (a)
			fclose(a);
		if (v)
			fclose(v);
		free(args);
		free(env);
		return failf(err, errlen, "run archive: out of memory");
	}
	e = 0;
	/* One argument per line: an argument may be empty, but a newline
	 * inside one could not be told from the next. */
	for (int i = 0; record_argv[i] && !e; i++) {
		if (strchr(record_argv[i], '\n'))
			e = failf(err, errlen, "run archive: argument %d contains a newline", i);
		fprintf(a, "%s\n", record_argv[i]);
	}
	for (int i = 0; env_lines && env_lines[i] && !e; i++) {
		const char *eq = strchr(env_lines[i], '=');
		if (!eq || eq == env_lines[i] || strchr(env_lines[i], '\n'))
			e = failf(err, errlen, "run archive: env line '%s' is not one key=value line",
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
		e = failf(err, errlen, "run archive: cannot create %s: %s", out_path, strerror(-e));
	if (!e) {
		cpio_entry(&c, "pnbench", S_IFDIR | 0755, 0, 0, NULL, 0);
		cpio_entry(&c, "pnbench/run.args", S_IFREG | 0644, 0, 0, args, alen);
		cpio_entry(&c, "pnbench/run.env", S_IFREG | 0644, 0, 0, env, elen);
		if (have_seed)
			cpio_entry(&c, "pnbench/seed", S_IFREG | 0600, 0, 0, seed, sizeof seed);
		if ((e = cpio_finish(&c, out_path)))
			e = failf(err, errlen, "run archive: writing %s: %s", out_path, strerror(-e));
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

/* Run argv, its stderr into msg.  Returns the exit status or -errno. */
static int run_tool(char *const argv[], char *msg, size_t len)
{
	int p[2], st;
	size_t got = 0;
	pid_t pid;

	msg[0] = 0;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(p[0]);
		close(p[1]);
		return e;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(p[1], 2);
		execvp(argv[0], argv);
		/* Not root, so /sbin may not be on PATH. */
		char alt[256];
		snprintf(alt, sizeof alt, "/sbin/%s", argv[0]);
		execv(alt, argv);
		snprintf(alt, sizeof alt, "/usr/sbin/%s", argv[0]);
		execv(alt, argv);
		dprintf(2, "cannot run %s: %s (install e2fsprogs)", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		char tmp[512];
		ssize_t n = read(p[0], tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n && got + 1 < len; i++)
			msg[got++] = tmp[i] == '\n' ? ' ' : tmp[i];
		msg[got] = 0;
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int image_data_disk(uint64_t file_size, char *path, size_t len, char *err, size_t errlen)
{
	char dir[PNB_PATH], work[PNB_PATH + 64], file[PNB_PATH + 80], tmp[PNB_PATH + 80];
	char fs_size[32], msg[1024];
	const char *what;
	struct stat st;
	int e;

	if (!file_size)
		return failf(err, errlen, "data disk: size 0 (the scenario's data_size)");
	snprintf(dir, sizeof dir, "%s/disks", pnb_cache_dir());
	if ((e = pnb_mkdir_all(dir, 0755)))
		return failf(err, errlen, "data disk: cannot create %s: %s", dir, strerror(-e));
	if ((size_t)snprintf(path, len, "%s/data-%llu.ext4", dir,
			     (unsigned long long)file_size) >= len)
		return failf(err, errlen, "data disk: cache path too long under %s", dir);
	if (!stat(path, &st) && S_ISREG(st.st_mode) && (uint64_t)st.st_size > file_size)
		return 0;

	snprintf(work, sizeof work, "%s/.data-%llu-XXXXXX", dir, (unsigned long long)file_size);
	if (!mkdtemp(work))
		return failf(err, errlen, "data disk: cannot create a directory in %s: %s", dir,
			     strerror(errno));
	snprintf(file, sizeof file, "%s/data.bin", work);
	/* Beside the directory, not in it: -d copies the whole directory. */
	snprintf(tmp, sizeof tmp, "%s.ext4", work);
	/* The same bytes the workloads write when they make the file
	 * themselves (workloads/common.c), so guest and native runs read
	 * identical data. */
	if ((e = wl_file_prepare(file, file_size, &what))) {
		failf(err, errlen, "data disk: %s: %s: %s", file, what, strerror(-e));
		goto out;
	}
	/* Room for the file plus metadata: no journal (the guest mounts it
	 * read-only), few inodes, no reserved blocks; 1/64 covers block
	 * bitmaps and extent trees with a wide margin. */
	uint64_t bytes = file_size + file_size / 64 + (8ULL << 20);
	snprintf(fs_size, sizeof fs_size, "%lluk", (unsigned long long)((bytes + 4095) / 4096 * 4));
	char *argv[] = { "mkfs.ext4", "-q", "-F", "-b", "4096", "-m", "0", "-N", "64",
			 "-O", "^has_journal", "-L", "pnbdata", "-d", work, tmp, fs_size, NULL };
	int r = run_tool(argv, msg, sizeof msg);
	if (r) {
		failf(err, errlen, "data disk: mkfs.ext4 -d %s %s %s failed (%s): %s", work, tmp,
		      fs_size, r < 0 ? strerror(-r) : "exit status", msg);
		e = -1;
		goto out;
	}
	if (rename(tmp, path)) {
		e = failf(err, errlen, "data disk: rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
out:
	unlink(file);
	unlink(tmp);
	rmdir(work);
	return e ? -1 : 0;
}
