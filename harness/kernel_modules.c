/* The guest's kernel modules (guest.h: image_module_list,
 * image_optional_modules): the closure modprobe would load for each module
 * the guest needs, read from the kernel's modules.dep, modules.softdep,
 * modules.alias and modules.builtin text files.
 *
 * Not libkmod: it gives the same lists on every cached kernel (measured on
 * Debian cloud and rt 6.1.0-57 and five 6.12 tree builds), but reads only
 * the binary indexes (modules.dep.bin, ...), with no fallback to the text
 * files a hand-made tree or the tests' fixture trees have. */
#include "guest.h"
#include "hostrun.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	const char *prefix;	/* before each listed path: "GROUP " or "" */
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
	if ((e = kernel_read_all(path, &db->dep_text, &n)))
		return kernel_failf(err, len, "guest image: %s: %s%s", path, strerror(-e), e == -ENOENT ?
			     " (depmod writes it: depmod -b ROOT RELEASE for an unpacked "
			     "ROOT/lib/modules/RELEASE)" : "");
	for (char *s = NULL, *line = strtok_r(db->dep_text, "\n", &s); line;
	     line = strtok_r(NULL, "\n", &s)) {
		lineno++;
		char *colon = strchr(line, ':');
		if (!colon)
			return kernel_failf(err, len, "guest image: %s:%d: no ':' in '%s'", path, lineno, line);
		*colon = 0;
		if (line[0] == '/')
			return kernel_failf(err, len, "guest image: %s:%d: absolute module path '%s' "
				     "(expected paths relative to %s)", path, lineno, line, dir);
		struct kmod *m = realloc(db->m, sizeof *m * (size_t)(db->n + 1));
		if (!m)
			return kernel_failf(err, len, "guest image: out of memory");
		db->m = m;
		m = &db->m[db->n++];
		memset(m, 0, sizeof *m);
		m->path = line;
		mod_name(line, m->name, sizeof m->name);
		for (char *s2 = NULL, *d = strtok_r(colon + 1, " \t", &s2); d;
		     d = strtok_r(NULL, " \t", &s2)) {
			char **nd = realloc(m->deps, sizeof *nd * (size_t)(m->ndeps + 1));
			if (!nd)
				return kernel_failf(err, len, "guest image: out of memory");
			m->deps = nd;
			m->deps[m->ndeps++] = d;
		}
	}
	/* The other files are optional: an old depmod or a hand-made tree may
	 * lack them, and then nothing is built in and nothing has softdeps. */
	snprintf(path, sizeof path, "%s/modules.builtin", dir);
	kernel_read_all(path, &db->builtin_text, &n);
	snprintf(path, sizeof path, "%s/modules.softdep", dir);
	if (!kernel_read_all(path, &db->softdep_text, &n)) {
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
					return kernel_failf(err, len, "guest image: out of memory");
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
					return kernel_failf(err, len, "guest image: %s: too many soft "
						     "dependencies for %s", path, name);
				else if (cur)
					strcat(strcat(cur, *cur ? " " : ""), t);
			}
		}
	}
	snprintf(path, sizeof path, "%s/modules.alias", dir);
	kernel_read_all(path, &db->alias_text, &n);
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
		return kernel_failf(err, len, "guest image: %s/modules.dep: dependency loop through %s",
			     db->dir, m->path);
	m->state = 1;
	if (sd && visit_soft(db, sd->pre, out, err, len))
		return -1;
	for (int i = m->ndeps - 1; i >= 0; i--) {
		struct kmod *d = moddb_find_path(db, m->deps[i]);
		if (!d)
			return kernel_failf(err, len, "guest image: %s/modules.dep: %s needs %s, which "
				     "has no line of its own", db->dir, m->path, m->deps[i]);
		if (visit(db, d, out, err, len))
			return -1;
	}
	m->state = 2;
	fprintf(out, "%s%s\n", db->prefix, m->path);
	if (sd && visit_soft(db, sd->post, out, err, len))
		return -1;
	return 0;
}

/* One walk for both lists: the closure of each wanted module (by module
 * name, as modules.dep has it).  grouped: each closure is whole and its
 * lines carry the name as a group ("zram kernel/mm/zsmalloc.ko"), so a
 * module two groups need is listed in both. */
struct want { const char *name; int required; };

static int closure_text(const char *modules_dir, const struct want *w, size_t nw, int grouped,
			char **list, char *err, size_t errlen)
{
	struct moddb db;
	char prefix[80] = "";
	size_t len = 0;
	FILE *out;
	int rc = 0;

	*list = NULL;
	if (!modules_dir || !modules_dir[0]) {
		*list = strdup("");
		return *list ? 0 : kernel_failf(err, errlen, "guest image: out of memory");
	}
	if (moddb_load(&db, modules_dir, err, errlen)) {
		moddb_free(&db);
		return -1;
	}
	if (!(out = open_memstream(list, &len))) {
		moddb_free(&db);
		return kernel_failf(err, errlen, "guest image: out of memory");
	}
	db.prefix = prefix;
	for (size_t i = 0; !rc && i < nw; i++) {
		struct kmod *m = moddb_find(&db, w[i].name);
		/* Built in, or absent: nothing to load (init then finds the
		 * feature, or says the kernel lacks it). */
		if (!m) {
			if (w[i].required && !moddb_builtin(&db, w[i].name))
				rc = kernel_failf(err, errlen, "guest image: kernel modules in %s: %s is neither a "
					   "module (modules.dep) nor built in (modules.builtin); the "
					   "guest needs it for its data disk", modules_dir, w[i].name);
			continue;
		}
		if (grouped) {
			snprintf(prefix, sizeof prefix, "%s ", w[i].name);
			for (int j = 0; j < db.n; j++)
				db.m[j].state = 0;
		}
		rc = visit(&db, m, out, err, errlen);
	}
	fclose(out);
	moddb_free(&db);
	if (rc) {
		free(*list);
		*list = NULL;
		return -1;
	}
	return 0;
}

/* What the guest needs: the data disk (virtio over PCI on q35, ext4) and,
 * when the kernel has it, pvpanic so a panic can end QEMU at once. */
static const struct want wanted_modules[] = {
	{ "virtio_pci", 1 }, { "virtio_blk", 1 }, { "ext4", 1 },
	{ "pvpanic", 0 }, { "pvpanic_pci", 0 }, { "pvpanic_mmio", 0 },
};

int image_module_list(const char *modules_dir, char **list, char *err, size_t errlen)
{
	return closure_text(modules_dir, wanted_modules, sizeof wanted_modules / sizeof wanted_modules[0],
			    0, list, err, errlen);
}

/* Modules the guest loads only when a scenario's knob asks: zram swap and
 * the compressors it may be given (qemu/init.c load_group).  The group is
 * the name init asks for ('-' folded to '_', as zram's comp_algorithm value
 * "lzo-rle" is module lzo_rle). */
static const struct want optional_groups[] = {
	{ "zram", 0 }, { "lzo", 0 }, { "lzo_rle", 0 }, { "lz4", 0 }, { "lz4hc", 0 },
	{ "zstd", 0 }, { "842", 0 }, { "deflate", 0 },
};

int image_optional_modules(const char *modules_dir, char **list, char *err, size_t errlen)
{
	return closure_text(modules_dir, optional_groups, sizeof optional_groups / sizeof optional_groups[0],
			    1, list, err, errlen);
}
