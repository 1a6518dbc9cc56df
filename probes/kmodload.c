#include "kmodload.h"
#include "clock.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

int pnb_kmod_param(const char *root, const char *name, const char *param, char *buf, size_t len)
{
	char p[512];
	int n;

	snprintf(p, sizeof p, "/sys/module/%s/parameters/%s", name, param);
	n = pnb_read_file(root, p, buf, len);
	if (n < 0)
		return n;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

void pnb_kmod_dev(const char *root, const char *dev, char *out, size_t len)
{
	snprintf(out, len, "%s%s", root, dev);
}

int pnb_kmod_supported(const char *root, const char *name, char *why, size_t whylen)
{
	char p[1024], reason[400];
	int n;

	snprintf(p, sizeof p, "%s/sys/module/%s", root, name);
	if (exists(p))
		return 0;
	snprintf(p, sizeof p, "%s/pnbench/kmod/%s.ko", root, name);
	if (exists(p))
		return 0;
	n = pnb_read_file(root, "/pnbench/kmod/unsupported", reason, sizeof reason);
	if (n > 0) {
		reason[strcspn(reason, "\n")] = 0;
		snprintf(why, whylen, "%s", reason);
		return -ENOENT;
	}
	snprintf(why, whylen, "no %s module here (%s): pnbench builds its modules into guest "
		 "images only; native runs never load modules into the host's kernel", name, p);
	return -ENOENT;
}

/* Does the loaded module run with the parameters we would give it?
 * Arrays read back as "1536,2048"; bools as Y/N. */
static int params_match(const char *root, const char *name, const char *params,
			char *why, size_t whylen)
{
	char buf[512], *save = NULL;

	snprintf(buf, sizeof buf, "%s", params);
	for (char *kv = strtok_r(buf, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(kv, '='), have[256];
		if (!eq)
			continue;
		*eq = 0;
		if (pnb_kmod_param(root, name, kv, have, sizeof have)) {
			snprintf(why, whylen, "%s is loaded already and has no parameter %s", name, kv);
			return -EEXIST;
		}
		const char *want = eq + 1;
		if (!strcmp(want, "1") && !strcmp(have, "Y"))
			continue;
		if (!strcmp(want, "0") && !strcmp(have, "N"))
			continue;
		if (strcmp(have, want)) {
			snprintf(why, whylen, "%s is loaded already with %s=%s, this probe wants %s=%s "
				 "(one setting per module: arm one probe of this mechanism)",
				 name, kv, have, kv, want);
			return -EEXIST;
		}
	}
	return 0;
}

int pnb_kmod_insert(const char *root, const char *name, const char *params, int *already,
		    char *why, size_t whylen)
{
	char path[1024];
	int fd, r;

	*already = 0;
	snprintf(path, sizeof path, "%s/pnbench/kmod/%s.ko", root, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* Loaded by someone else (a developer's insmod): use it as is. */
		r = pnb_kmod_supported(root, name, why, whylen);
		if (r)
			return r;
		*already = 1;
	} else if (fd < 0) {
		r = -errno;
		snprintf(why, whylen, "opening %s: %s", path, strerror(-r));
		return r;
	} else {
		r = (int)syscall(SYS_finit_module, fd, params, 0);
		r = r ? -errno : 0;
		close(fd);
		if (r == -EEXIST) {
			*already = 1;
		} else if (r) {
			snprintf(why, whylen, "loading %s (%s): %s%s", path, params, strerror(-r),
				 r == -EPERM ? " (needs CAP_SYS_MODULE; a kernel in lockdown or "
				 "with module signatures enforced refuses unsigned modules)" :
				 r == -ENOEXEC ? " (built for another kernel? see dmesg)" :
				 r == -ENOENT ? " (a tracepoint it needs is missing; see dmesg)" : "");
			return r;
		}
	}
	return *already ? params_match(root, name, params, why, whylen) : 0;
}

int pnb_kmod_remove(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

int pnb_kmod_load(const struct probe *p, struct pnb_kmod *m, const char *root, const char *params,
		  struct jsonl *out, char *why, size_t whylen)
{
	char taint[32] = "";
	uint64_t t0 = pnb_mono_ns();
	int r, already;
	json_t *o;

	m->loaded_here = 0;
	if ((r = pnb_kmod_insert(root, m->name, params, &already, why, whylen)))
		return r;
	m->loaded_here = !already;
	m->load_ns = pnb_mono_ns() - t0;
	o = probe_event(p, out, "kmod", pnb_mono_ns());
	jset_str(o, "module", m->name);
	jset_str(o, "params", params);
	jset_bool(o, "already_loaded", already);
	jset_real(o, "load_ms", (double)m->load_ns / 1e6);
	/* An out-of-tree unsigned module taints the kernel (O, E): the run
	 * says so. */
	if (pnb_read_file(root, "/proc/sys/kernel/tainted", taint, sizeof taint) > 0)
		jset_int(o, "tainted", strtoll(taint, NULL, 10));
	return jsonl_emit(out, o);
}

void pnb_kmod_unload(struct pnb_kmod *m)
{
	if (m->loaded_here)
		pnb_kmod_remove(m->name);
	m->loaded_here = 0;
}
