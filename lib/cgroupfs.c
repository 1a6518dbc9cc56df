#include "cgroupfs.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A host with thousands of mounts (container runtimes) has a mountinfo of
 * a few hundred kB; more than this is not a machine we run on. */
#define MOUNTINFO_MAX (4 * 1024 * 1024)

/* Is tok one of the comma-separated words of list? */
static int has_word(const char *list, size_t listlen, const char *tok)
{
	size_t tl = strlen(tok);
	const char *p = list, *end = list + listlen;

	while (p < end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t wl = c ? (size_t)(c - p) : (size_t)(end - p);
		if (wl == tl && memcmp(p, tok, tl) == 0)
			return 1;
		p += wl + 1;
	}
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo (octal). */
static int unescape(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\\' && i + 3 < n &&
		    s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7') {
			c = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= len)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	out[o] = 0;
	return 0;
}

struct mnt {
	const char *point;	/* field 5, escaped */
	size_t point_len;
	const char *fstype;	/* first field after "-" */
	size_t fstype_len;
	const char *super;	/* third field after "-" */
	size_t super_len;
};

/* Split one mountinfo line; -EINVAL when it does not have the shape
 * "id parent maj:min root point opts [optional...] - fstype source super". */
static int split_line(const char *line, size_t len, struct mnt *m)
{
	const char *f[64];
	size_t fl[64];
	int n = 0, dash = -1;
	const char *p = line, *end = line + len;

	while (p < end && n < 64) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			break;
		const char *s = p;
		while (p < end && *p != ' ')
			p++;
		f[n] = s;
		fl[n] = (size_t)(p - s);
		if (dash < 0 && n >= 6 && fl[n] == 1 && *s == '-')
			dash = n;
		n++;
	}
	if (dash < 0 || n < dash + 4)
		return -EINVAL;
	m->point = f[4];
	m->point_len = fl[4];
	m->fstype = f[dash + 1];
	m->fstype_len = fl[dash + 1];
	m->super = f[dash + 3];
	m->super_len = fl[dash + 3];
	return 0;
}

/* First mount whose fstype is fstype and, when opt is given, whose super
 * options contain opt. */
static int find_mount(const char *root, const char *fstype, const char *opt,
		      char *out, size_t len)
{
	char *buf = malloc(MOUNTINFO_MAX);
	const char *p;
	ssize_t n;
	int r = -ENOENT;

	if (!buf)
		return -ENOMEM;
	n = pnb_read_file(root, "/proc/self/mountinfo", buf, MOUNTINFO_MAX);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	for (p = buf; *p;) {
		const char *nl = strchr(p, '\n');
		size_t ll = nl ? (size_t)(nl - p) : strlen(p);
		struct mnt m;

		if (ll) {
			if (split_line(p, ll, &m)) {
				r = -EINVAL;
				break;
			}
			if (m.fstype_len == strlen(fstype) &&
			    memcmp(m.fstype, fstype, m.fstype_len) == 0 &&
			    (!opt || has_word(m.super, m.super_len, opt))) {
				r = unescape(m.point, m.point_len, out, len);
				break;
			}
		}
		p += ll + (nl ? 1 : 0);
	}
	free(buf);
	return r;
}

int pnb_cgroup_v1_memory_mount(const char *root, char *out, size_t len)
{
	return find_mount(root, "cgroup", "memory", out, len);
}

int pnb_cgroup2_mount(const char *root, char *out, size_t len)
{
	return find_mount(root, "cgroup2", NULL, out, len);
}

int pnb_cgroup2_has_controller(const char *root, const char *cgdir, const char *ctrl)
{
	char dir[4096], path[4200], buf[1024];
	ssize_t n;
	int r;

	if (!cgdir || !*cgdir) {
		if ((r = pnb_cgroup2_mount(root, dir, sizeof dir)))
			return r;
		cgdir = dir;
	}
	r = snprintf(path, sizeof path, "%s%scgroup.controllers", cgdir,
		     cgdir[strlen(cgdir) - 1] == '/' ? "" : "/");
	if (r < 0 || (size_t)r >= sizeof path)
		return -ENAMETOOLONG;
	n = pnb_read_file(root, path, buf, sizeof buf);
	if (n < 0)
		return (int)n;
	/* One line of space-separated names, e.g. "cpuset cpu io memory pids". */
	for (char *save = NULL, *t = strtok_r(buf, " \n", &save); t;
	     t = strtok_r(NULL, " \n", &save))
		if (strcmp(t, ctrl) == 0)
			return 0;
	return -ENODEV;
}

#define NO_V1_MEMORY "no cgroup v1 memory controller (CONFIG_MEMCG_V1 off or memory " \
	"bound to cgroup2)"

int pnb_vmpressure_cgdir(const char *root, const char *memcg_v1, int hierarchy_root,
			 char *out, size_t len, char *why, size_t whylen)
{
	char mnt[4096];
	const char *dir = memcg_v1;
	int r;

	if (hierarchy_root || !dir || !dir[0]) {
		r = pnb_cgroup_v1_memory_mount(root, mnt, sizeof mnt);
		if (r == -ENOENT) {
			snprintf(why, whylen, NO_V1_MEMORY);
			return r;
		}
		if (r) {
			snprintf(why, whylen, "finding the cgroup v1 memory mount in "
				 "/proc/self/mountinfo: %s", strerror(-r));
			return r;
		}
		dir = mnt;
	}
	r = pnb_path(out, len, root, dir);
	if (r)
		snprintf(why, whylen, "cgroup path '%.60s...' is too long", dir);
	return r;
}

int pnb_vmpressure_supported(const char *root, const char *cgdir, char *why, size_t whylen)
{
	char f[4200], buf[16];
	int e;

	/* kernel/ksysfs.c: /sys/kernel/realtime exists (and reads 1) only with
	 * CONFIG_PREEMPT_RT, where vmpressure registration gives EOPNOTSUPP. */
	if (pnb_read_file(root, "/sys/kernel/realtime", buf, sizeof buf) > 0 && buf[0] == '1') {
		snprintf(why, whylen, "vmpressure is disabled on PREEMPT_RT kernels");
		return -EOPNOTSUPP;
	}
	if (snprintf(f, sizeof f, "%s/memory.pressure_level", cgdir) >= (int)sizeof f) {
		snprintf(why, whylen, "cgroup path '%.60s...' is too long", cgdir);
		return -ENAMETOOLONG;
	}
	if (access(f, F_OK) != 0) {
		e = errno;
		if (e == ENOENT)
			snprintf(why, whylen, NO_V1_MEMORY ": %s does not exist", f);
		else
			snprintf(why, whylen, "%s: %s", f, strerror(e));
		return -e;
	}
	return 0;
}

int pnb_vmpressure_register(const char *cgdir, const char *level_mode, int *efd,
			    char *why, size_t len)
{
	char plpath[4200], ecpath[4200], line[128];
	int fd = -1, plfd = -1, ecfd = -1, e, r;
	ssize_t n;

	*efd = -1;
	if (snprintf(plpath, sizeof plpath, "%s/memory.pressure_level", cgdir) >= (int)sizeof plpath ||
	    snprintf(ecpath, sizeof ecpath, "%s/cgroup.event_control", cgdir) >= (int)sizeof ecpath) {
		snprintf(why, len, "cgroup path '%.60s...' is too long", cgdir);
		return -ENAMETOOLONG;
	}
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		e = errno;
		snprintf(why, len, "eventfd: %s", strerror(e));
		return -e;
	}
	plfd = open(plpath, O_RDONLY | O_CLOEXEC);
	if (plfd < 0) {
		e = errno;
		if (e == ENOENT)
			snprintf(why, len, NO_V1_MEMORY ": %s does not exist", plpath);
		else
			snprintf(why, len, "opening %s: %s", plpath, strerror(e));
		r = -e;
		goto fail;
	}
	ecfd = open(ecpath, O_WRONLY | O_CLOEXEC);
	if (ecfd < 0) {
		e = errno;
		if (e == ENOENT)
			snprintf(why, len, NO_V1_MEMORY ": %s does not exist", ecpath);
		else
			snprintf(why, len, "opening %s: %s", ecpath, strerror(e));
		r = -e;
		goto fail;
	}
	snprintf(line, sizeof line, "%d %d %s", fd, plfd, level_mode);
	n = write(ecfd, line, strlen(line));
	if (n < 0) {
		e = errno;
		if (e == EOPNOTSUPP)
			snprintf(why, len, "vmpressure is disabled on PREEMPT_RT kernels "
				 "(writing '%s' to %s: %s)", line, ecpath, strerror(e));
		else if (e == EINVAL)
			snprintf(why, len, "the kernel rejected '%s' in %s: %s (level must be "
				 "low|medium|critical; a ',mode' suffix needs 4.13+)",
				 level_mode, ecpath, strerror(e));
		else
			snprintf(why, len, "writing '%s' to %s: %s", line, ecpath, strerror(e));
		r = -e;
		goto fail;
	}
	if ((size_t)n != strlen(line)) {
		snprintf(why, len, "writing '%s' to %s: short write %zd", line, ecpath, n);
		r = -EIO;
		goto fail;
	}
	/* The kernel keeps its own references (the eventfd context and the
	 * cgroup); the pressure_level and event_control fds were only needed
	 * to name them. */
	close(ecfd);
	close(plfd);
	*efd = fd;
	return 0;
fail:
	if (ecfd >= 0)
		close(ecfd);
	if (plfd >= 0)
		close(plfd);
	close(fd);
	return r;
}

/* Root is not enough: containers and sandboxes often drop CAP_SYS_RESOURCE,
 * and the kernel's trigger rules key on that capability, not on uid 0. */
static int has_cap_sys_resource(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, d) != 0)
		return -errno;
	return !!(d[CAP_TO_INDEX(CAP_SYS_RESOURCE)].effective & CAP_TO_MASK(CAP_SYS_RESOURCE));
}

/* What a failed trigger open or write most likely means on some kernel. */
static const char *psi_errno_hint(const char *trigger, int e)
{
	unsigned stall, window = 0;

	switch (e) {
	case ENOENT:
		return "no PSI on this kernel, or no such cgroup";
	case EINVAL:
		if (sscanf(trigger, "%*s %u %u", &stall, &window) == 2 &&
		    has_cap_sys_resource() == 0 && window % 2000000)
			return "this process lacks CAP_SYS_RESOURCE, and 6.5+ kernels then "
			       "accept only windows that are a multiple of 2s";
		return "window out of this kernel's range (before ~6.4 the minimum is 500ms)";
	case EPERM:
	case EACCES:
		return "creating triggers needs CAP_SYS_RESOURCE on this kernel (before 6.5)";
	case EBUSY:
		return "this fd already has a trigger (one per fd since 5.17)";
	case EOPNOTSUPP:
		return "PSI is disabled (psi=0)";
	case ENODEV:
		return "the cgroup was removed";
	default:
		return "unexpected";
	}
}

int pnb_psi_arm(const char *path, const char *trigger, int *fdp, char *why, size_t len)
{
	size_t n = strlen(trigger) + 1;
	ssize_t w;
	int fd, e;

	if (!why)
		len = 0;
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (len)
			snprintf(why, len, "opening %s for writing: %s (%s)", path, strerror(e),
				 psi_errno_hint(trigger, e));
		return -e;
	}
	w = write(fd, trigger, n);
	if (w < 0 || (size_t)w != n) {
		e = w < 0 ? errno : EIO;
		if (len && w < 0)
			snprintf(why, len, "writing trigger '%s' to %s: %s (%s)", trigger, path,
				 strerror(e), psi_errno_hint(trigger, e));
		else if (len)
			snprintf(why, len, "writing trigger '%s' to %s: short write %zd of %zu",
				 trigger, path, w, n);
		close(fd);
		return -e;
	}
	if (fdp)
		*fdp = fd;
	else
		close(fd);
	return 0;
}
