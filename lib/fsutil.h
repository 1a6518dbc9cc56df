/* Directory helpers for the harness: mkdir -p and rm -rf without a shell. */
#ifndef PNB_FSUTIL_H
#define PNB_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p: every missing component of path with mode (less the umask);
 * components that exist are fine.  0 or -errno (-ENAMETOOLONG past
 * PATH_MAX). */
int pnb_mkdir_all(const char *path, mode_t mode);

/* rm -rf: path and everything below it, never following a symlink out of
 * the tree.  A missing path is success.  0 or -errno of the first failure. */
int pnb_rm_rf(const char *path);
/* out = a then b (an initramfs and a run archive): 0, or -1 with err. */
int pnb_concat_files(const char *a, const char *b, const char *out, char *err, size_t len);

/* A name read from a result file (kernel, scenario) used as one path
 * component: 1 when it is one, 0 for NULL, "", ".", "..", or anything with
 * a '/', '\\' or a control character.  Result files are data; a name
 * like "../../x" must never steer where we write. */
int pnb_name_ok(const char *name);

/* 1 when path is a regular file / a directory (following symlinks). */
int pnb_is_file(const char *path);
int pnb_is_dir(const char *path);
/* from copied to to (created 0644 or truncated): 0 or -errno. */
int pnb_copy_file(const char *from, const char *to);

#endif
