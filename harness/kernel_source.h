/* Kernel sources behind one interface (kernels.c dispatches on the spec's
 * kind): one file each for debian, path, tree (with patch series) and
 * native, and the helpers they share.  Internal to the kernel_*.c files. */
#ifndef PNB_KERNEL_SOURCE_H
#define PNB_KERNEL_SOURCE_H

#include <stddef.h>
#include <stdio.h>

#include "guest.h"
#include "hostrun.h"

/* A source: the spec is "KIND:ARG", or just "KIND" when takes_arg is 0.
 * resolve finds the kernel in the cache or, when allow_fetch, fetches or
 * builds it (jobs: make -j, 0 for one per CPU).  0; -2 for a bad spec
 * (usage); -1 for a failure; err names the spec and says why. */
struct kernel_source {
	const char *kind;
	int takes_arg;
	/* The spec's forms for "want ..." errors ("path:BZIMAGE"), and its
	 * lines of `pnbench kernels --help`. */
	const char *forms;
	const char *help;
	int (*resolve)(const char *spec, const char *arg, int allow_fetch, unsigned jobs,
		       struct kernel_image *k, char *err, size_t errlen);
};

extern const struct kernel_source kernel_source_debian, kernel_source_path, kernel_source_tree,
	kernel_source_native;

/* Every source's help lines, in dispatch order. */
void kernel_specs_help(FILE *f);

/* Cache layout: kernels/<name>/ holds this file, written last. */
#define KERNEL_INFO_FILE "pnbench-kernel.info"

/* "kernel 'SPEC': ..." into err; returns rc. */
int kernel_fail(char *err, size_t len, int rc, const char *spec, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* "pnbench: kernels: ..." on stderr (stdout stays data). */
void kernel_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Whole file (at most max bytes) into a malloc'd NUL-terminated buffer. */
char *kernel_slurp(const char *path, size_t max);
/* s onto buf, after sep when buf is not empty; cut at len. */
void kernel_append(char *buf, size_t len, const char *sep, const char *s);
/* Leftovers kernels/.tmp-<name>-* of interrupted attempts (under the lock). */
void kernel_remove_stale(const char *name);

/* The info file: paths relative to dir so the cache can move; extra is
 * appended verbatim ("key=value\n" lines).  0 or -errno. */
int kernel_info_write(const char *dir, const struct kernel_image *k, const char *extra);
/* dir: the kernel's final directory.  0, or -ENOENT when incomplete. */
int kernel_info_load(const char *dir, struct kernel_image *k);
/* k->config_digest from k->config. */
void kernel_set_digest(struct kernel_image *k);

struct cfgent {
	char sym[96];
	char val[160];		/* "n" for "# CONFIG_X is not set" */
};
/* Every entry of a config file; *out malloc'd.  Count or -errno. */
int kernel_cfg_load(const char *path, struct cfgent **out);
const char *kernel_cfg_get(const struct cfgent *v, int n, const char *sym);
/* qemu/pnbench.config (or PNBENCH_FRAGMENT): 0 or -ENOENT. */
int kernel_fragment_path(char *out, size_t len);
/* sha256 over the fragment's option lines: 0 or -errno. */
int kernel_fragment_digest(const char *fragment, char hex[65]);

#endif
