/* native: the running kernel, for runs on this host (native.c runs them);
 * nothing to fetch, its config from /boot when the distribution keeps it. */
#include "fsutil.h"
#include "kernel_source.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

static int resolve_native(const char *spec, const char *arg, int allow_fetch, unsigned jobs,
			  struct kernel_image *k, char *err, size_t errlen)
{
	struct utsname u;
	char p[PNB_PATH];

	(void)arg, (void)allow_fetch, (void)jobs;
	if (uname(&u))
		return kernel_fail(err, errlen, -1, spec, "uname: %s", strerror(errno));
	snprintf(k->kind, sizeof k->kind, "native");
	snprintf(k->name, sizeof k->name, "native");
	snprintf(k->release, sizeof k->release, "%s", u.release);
	snprintf(p, sizeof p, "/boot/config-%s", u.release);
	if (pnb_is_file(p))
		snprintf(k->config, sizeof k->config, "%s", p);
	kernel_set_digest(k);
	return 0;
}

const struct kernel_source kernel_source_native = {
	.kind = "native",
	.takes_arg = 0,
	.forms = "native",
	.help =
	"  native                       the running kernel\n",
	.resolve = resolve_native,
};
