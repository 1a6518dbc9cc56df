/* The host's side of a workload's options: the same parser as the guest's,
 * so a scenario that names bad options fails at `scenario check`, not
 * minutes later after a boot. */
#include "common.h"
#include "log.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct workload *workload_find(const char *name)
{
	for (size_t i = 0; workload_registry[i]; i++)
		if (!strcmp(workload_registry[i]->name, name))
			return workload_registry[i];
	return NULL;
}

int workload_check_args(const char *name, int argc, char *const argv[], char *err, size_t len)
{
	const struct workload *w = workload_find(name);
	char **v;
	int r;

	if (!w) {
		snprintf(err, len, "unknown workload '%s'", name);
		return PNB_EXIT_USAGE;
	}
	if (!w->check) {
		/* A workload without its parser here would let bad options
		 * reach a guest: refuse, naming the gap. */
		snprintf(err, len, "workload '%s' cannot check its options on the host", name);
		return PNB_EXIT_USAGE;
	}
	/* getopt_long permutes its argv: the caller's stays as it was. */
	v = calloc((size_t)argc + 2, sizeof *v);
	if (!v) {
		snprintf(err, len, "out of memory");
		return PNB_EXIT_USAGE;
	}
	v[0] = (char *)w->name;
	for (int i = 0; i < argc; i++)
		v[i + 1] = argv[i];
	wl_usage_capture(err, len);
	optind = 0;		/* GNU getopt: start over, forgetting any earlier scan */
	r = w->check(argc + 1, v);
	wl_usage_capture(NULL, 0);
	optind = 0;		/* no scan state left pointing into v */
	free(v);
	if (r == WL_PARSE_HELP) {
		snprintf(err, len, "--help: prints help instead of running");
		return PNB_EXIT_USAGE;
	}
	if (r && !err[0])
		snprintf(err, len, "refused (exit %d)", r);
	return r ? PNB_EXIT_USAGE : 0;
}
