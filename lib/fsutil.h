/* Directory helpers for the harness: mkdir -p and rm -rf without a shell. */
#ifndef PNB_FSUTIL_H
#define PNB_FSUTIL_H

#include <sys/types.h>

/* mkdir -p: every missing component of path with mode (less the umask);
 * components that exist are fine.  0 or -errno (-ENAMETOOLONG past
 * PATH_MAX). */
int pnb_mkdir_all(const char *path, mode_t mode);

/* rm -rf: path and everything below it, never following a symlink out of
 * the tree.  A missing path is success.  0 or -errno of the first failure. */
int pnb_rm_rf(const char *path);

#endif
