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

/* A name read from a result file (kernel, scenario) used as one path
 * component: 1 when it is one, 0 for NULL, "", ".", "..", or anything with
 * a '/', '\\' or a control character.  Result files are data; a name
 * like "../../x" must never steer where we write. */
int pnb_name_ok(const char *name);

#endif
