/* pnbench's own kernel modules (probes/kmod/): built per guest kernel,
 * carried in its initramfs under /pnbench/kmod/, loaded by the probes.
 * docs/kmod.md says what each module is faithful to and what it is not. */
#ifndef PNB_KMOD_BUILD_H
#define PNB_KMOD_BUILD_H

#include <stddef.h>

#include "guest.h"

#define KMOD_NMODULES 3
#define KMOD_PKG_LEN 160
/* pnb_klmk, pnb_memnotify, pnb_simplelmk: the .ko names (without .ko). */
extern const char *const kmod_modules[KMOD_NMODULES];

/* Build (or find cached) the modules for k; dir receives the directory
 * holding the three .ko files.  0, or -1 with a one-line reason in why
 * (that reason is what the probes report as "unsupported: ..."). */
int kmod_build(const struct kernel_image *k, char *dir, size_t len, char *why, size_t whylen);

/* Debian's three packages for a release: linux-headers-<release>,
 * linux-headers-<v>-<abi>-common (-common-rt for the rt flavour),
 * linux-kbuild-<major.minor>.  0 or -1 with err. */
int kmod_debian_packages(const char *release, char pkgs[3][KMOD_PKG_LEN], char *err, size_t errlen);
/* Rewrite the Debian headers' "include /usr/src/..." to "include ROOT/usr/src/...";
 * a Makefile already pointing into ROOT is left alone.  0 or -1 with err. */
int kmod_fix_makefile(const char *makefile, const char *root, char *err, size_t errlen);
/* "shrinker_alloc" for 6.7+, "register_shrinker" before, from the release. */
const char *kmod_shrinker_api(const char *release);
/* The module sources (PNBENCH_KMOD_SRC, else <top>/probes/kmod) and
 * lib/lmk_table.h.  0 or -1 with err. */
int kmod_source_dir(char *src, size_t slen, char *table, size_t tlen, char *err, size_t errlen);
/* FNV-1a over the sources' names and bytes: the cache key. 0 or -errno. */
int kmod_source_key(const char *src, const char *table, char key[17]);

#endif
