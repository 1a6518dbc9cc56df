/* Running host tools for the harness's builders (kernels.c, kmod.c):
 * argv exec'd directly, never through a shell (specs reach these argv). */
#ifndef PNB_HOSTRUN_H
#define PNB_HOSTRUN_H

#include <stddef.h>

#include "guest.h"

/* out captures stdout; log receives stdout and stderr (appended); tick
 * prints a progress line every tick seconds while the child runs. */
struct xrun {
	const char *cwd;
	const char *log;
	char *out;
	size_t outlen;
	unsigned tick_s;
	const char *what;
};

/* Exit status, 128 + signal, or -errno when it could not be started. */
int kernel_xrun(char *const argv[], const struct xrun *o);
/* The line of a tool's log that says what went wrong. */
void kernel_log_reason(const char *log, char *out, size_t len);
/* apt-get install (space-separated pkgs) as root; 0 or -1 with err. */
int kernel_apt_install(const char *spec, const char *pkgs, char *err, size_t errlen);
/* make, gcc and the rest a kernel (or module) build needs: installed as
 * root, else -1 with the apt-get line in err. */
int kernel_build_tools(const char *spec, char *err, size_t errlen);
/* An exclusive flock on path (waiting, with a progress line): fd or -errno. */
int kernel_lock_file(const char *path);
/* A tree kernel's O= object tree (<cache>/build/tree-<rev digest>):
 * 0, -EINVAL for another kind, -ENOENT when it is gone. */
int kernel_tree_build_dir(const struct kernel_image *k, char *out, size_t len);

#endif
