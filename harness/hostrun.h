/* Host-side helpers the kernel builders share (kernel_*.c, kmod.c,
 * patches.c): installing Debian packages, build tools, locks, progress
 * ticks.  Programs themselves run through lib/spawn.h. */
#ifndef PNB_HOSTRUN_H
#define PNB_HOSTRUN_H

#include <stddef.h>

#include "guest.h"
#include "spawn.h"

/* A pnb_spawn tick: "pnbench: kernels: <what>: 1m30s so far" on stderr;
 * what is the tick_arg (a label string). */
void kernel_tick(void *what, double elapsed_s);
/* One line into err; returns -1. */
int kernel_failf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* CLOCK_MONOTONIC seconds, and a duration as "1m05s" or "4.2s". */
double kernel_now_s(void);
const char *kernel_fmt_elapsed(double s, char *buf, size_t len);
/* apt-get install (space-separated pkgs) as root; 0 or -1 with err. */
int kernel_apt_install(const char *spec, const char *pkgs, char *err, size_t errlen);
/* make, gcc and the rest a kernel (or module) build needs: installed as
 * root, else -1 with the apt-get line in err. */
int kernel_build_tools(const char *spec, char *err, size_t errlen);
/* An exclusive flock on path (waiting, with a progress line): fd or -errno. */
int kernel_lock_file(const char *path);
/* name in /usr/sbin, /sbin, /usr/bin or /bin, else name itself (PATH). */
const char *kernel_find_tool(const char *name, char *buf, size_t len);
/* A whole file into a malloc'd NUL-terminated *data: 0 or -errno. */
int kernel_read_all(const char *path, char **data, size_t *len);
/* A tree kernel's O= object tree (<cache>/build/tree-<rev digest>):
 * 0, -EINVAL for another kind, -ENOENT when it is gone. */
int kernel_tree_build_dir(const struct kernel_image *k, char *out, size_t len);

#endif
