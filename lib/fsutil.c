#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pnb_mkdir_all(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return (mkdir(tmp, mode) && errno != EEXIST) ? -errno : 0;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p) ? -1 : 0;
}

int pnb_rm_rf(const char *path)
{
	/* FTW_DEPTH: children before their directory; FTW_PHYS: a symlink is
	 * removed, not followed. */
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0)
		return 0;
	return errno == ENOENT ? 0 : -errno;
}

int pnb_concat_files(const char *a, const char *b, const char *out, char *err, size_t len)
{
	const char *in[2] = { a, b };
	char buf[1 << 16];
	int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (o < 0) {
		snprintf(err, len, "cannot create %s: %s", out, strerror(errno));
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		int fd = open(in[i], O_RDONLY | O_CLOEXEC);
		ssize_t n;
		if (fd < 0) {
			snprintf(err, len, "cannot read %s: %s", in[i], strerror(errno));
			close(o);
			return -1;
		}
		while ((n = read(fd, buf, sizeof buf)) > 0)
			if (write(o, buf, (size_t)n) != n) {
				snprintf(err, len, "writing %s: %s", out, strerror(errno));
				close(fd);
				close(o);
				return -1;
			}
		close(fd);
	}
	return close(o);
}

int pnb_name_ok(const char *name)
{
	if (!name || !*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int pnb_is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int pnb_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int pnb_copy_file(const char *from, const char *to)
{
	char buf[1 << 16];
	ssize_t n;
	int in = open(from, O_RDONLY | O_CLOEXEC), out, rc = 0;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n) {
			rc = -EIO;
			break;
		}
	if (n < 0)
		rc = -errno;
	close(in);
	if (close(out) && !rc)
		rc = -errno;
	return rc;
}
