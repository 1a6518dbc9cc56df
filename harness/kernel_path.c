/* path:FILE[,modules=DIR][,config=FILE]: a bzImage the user already has;
 * modules and config found beside it when not given. */
#include "digest.h"
#include "fsutil.h"
#include "kernel_source.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int resolve_path(const char *spec, const char *arg, int allow_fetch, unsigned jobs,
			struct kernel_image *k, char *err, size_t errlen)
{
	char buf[PNB_PATH * 3], why[PNB_PATH + 128], dir[PNB_PATH], hex[65], *save, *tok;
	char bz[PNB_PATH] = "", mods[PNB_PATH] = "", cfg[PNB_PATH] = "";
	int first = 1;

	/* Nothing to fetch or build: the files are where the spec says. */
	(void)allow_fetch, (void)jobs;
	snprintf(buf, sizeof buf, "%s", arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), first = 0) {
		if (first) {
			snprintf(bz, sizeof bz, "%s", tok);
		} else if (!strncmp(tok, "modules=", 8) && tok[8]) {
			snprintf(mods, sizeof mods, "%s", tok + 8);
		} else if (!strncmp(tok, "config=", 7) && tok[7]) {
			snprintf(cfg, sizeof cfg, "%s", tok + 7);
		} else {
			return kernel_fail(err, errlen, -2, spec, "unknown option '%s' (want modules=DIR or config=FILE)", tok);
		}
	}
	if (!bz[0])
		return kernel_fail(err, errlen, -2, spec, "no bzImage path after 'path:'");
	if (kernel_bzimage_release(bz, k->release, sizeof k->release, why, sizeof why))
		return kernel_fail(err, errlen, -2, spec, "%s", why);
	if (!realpath(bz, k->bzimage))
		return kernel_fail(err, errlen, -2, spec, "%s: %s", bz, strerror(errno));
	snprintf(dir, sizeof dir, "%s", k->bzimage);
	dirname(dir);

	if (mods[0]) {
		char p[PNB_PATH * 2];
		snprintf(p, sizeof p, "%s/lib/modules/%s", mods, k->release);
		if (pnb_is_dir(p))
			snprintf(mods, sizeof mods, "%s", p);
		else if (!pnb_is_dir(mods))
			return kernel_fail(err, errlen, -2, spec, "modules=%s: no such directory", mods);
		else if (strcmp(basename(strcpy(p, mods)), k->release))
			return kernel_fail(err, errlen, -2, spec,
				    "modules=%s: not the modules of release %s (want .../lib/modules/%s)",
				    mods, k->release, k->release);
	} else {
		/* The layouts a bzImage usually sits in: an unpacked package
		 * (boot/ beside lib/modules/) or the running system's /boot. */
		const char *const cands[] = { "%s/../lib/modules/%s", "/lib/modules/%s", NULL };
		for (int i = 0; cands[i] && !mods[0]; i++) {
			char p[PNB_PATH * 2];
			if (i == 0)
				snprintf(p, sizeof p, cands[0], dir, k->release);
			else if (!strncmp(k->bzimage, "/boot/", 6))
				snprintf(p, sizeof p, cands[1], k->release);
			else
				continue;
			if (pnb_is_dir(p))
				snprintf(mods, sizeof mods, "%s", p);
		}
	}
	if (mods[0] && !realpath(mods, k->modules_dir))
		return kernel_fail(err, errlen, -1, spec, "%s: %s", mods, strerror(errno));

	if (cfg[0]) {
		if (!pnb_is_file(cfg))
			return kernel_fail(err, errlen, -2, spec, "config=%s: no such file", cfg);
	} else {
		/* /boot/config-<rel> beside /boot/vmlinuz-<rel>, or the .config
		 * of the O= tree whose arch/x86/boot/ holds the bzImage. */
		char p[PNB_PATH * 2];
		snprintf(p, sizeof p, "%s/config-%s", dir, k->release);
		if (!pnb_is_file(p))
			snprintf(p, sizeof p, "%s/../../../.config", dir);
		if (!pnb_is_file(p))
			snprintf(p, sizeof p, "%s/config", dir);
		if (pnb_is_file(p))
			snprintf(cfg, sizeof cfg, "%s", p);
	}
	if (cfg[0] && !realpath(cfg, k->config))
		return kernel_fail(err, errlen, -1, spec, "%s: %s", cfg, strerror(errno));

	/* Two images of one release (a CI comparing two builds of a tree)
	 * must not share result directories. */
	if (pnb_sha256_file(k->bzimage, hex))
		return kernel_fail(err, errlen, -1, spec, "%s: cannot read", k->bzimage);
	snprintf(k->kind, sizeof k->kind, "path");
	snprintf(k->name, sizeof k->name, "path-%.100s-%.8s", k->release, hex);
	for (char *s = k->name; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(".+-_", *s))
			*s = '_';
	kernel_set_digest(k);
	return 0;
}

const struct kernel_source kernel_source_path = {
	.kind = "path",
	.takes_arg = 1,
	.forms = "path:BZIMAGE",
	.help =
	"  path:FILE[,modules=DIR][,config=FILE]\n"
	"                               a bzImage; modules and config found beside it when\n"
	"                               not given (boot/ + lib/modules/, /boot, O= trees)\n",
	.resolve = resolve_path,
};
