/* pnbench workloads: the workloads and their options. */
#include "cli.h"
#include "log.h"
#include "workload.h"

#include <stdio.h>
#include <string.h>

int cmd_workloads(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: pnbench workloads [NAME]\n");
		return 0;
	}
	for (size_t i = 0; workload_registry[i]; i++) {
		const struct workload *w = workload_registry[i];
		if (argc > 1 && strcmp(argv[1], w->name))
			continue;
		printf("%-17s %-9s %s\n", w->name,
		       w->class == WL_BENCHMARK ? "benchmark" : "pressure", w->summary);
		if (argc > 1)
			printf("%s", w->usage);
		if (argc > 1)
			return 0;
	}
	if (argc > 1) {
		pnb_err("workloads: unknown workload '%s'", argv[1]);
		return PNB_EXIT_USAGE;
	}
	return 0;
}

/* Used by run to reject a scenario naming a workload that does not exist. */
const struct workload *pnb_workload_find(const char *name)
{
	for (size_t i = 0; workload_registry[i]; i++)
		if (!strcmp(workload_registry[i]->name, name))
			return workload_registry[i];
	return NULL;
}
