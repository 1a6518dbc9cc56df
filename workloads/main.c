/* pnbench-workload NAME [options]: the multi-call binary for all workloads. */
#include "workload.h"
#include "log.h"
#include "parse.h"
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <signal.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: pnbench-workload NAME [options]\n\nworkloads:\n");
	for (size_t i = 0; workload_registry[i]; i++)
		fprintf(f, "  %-14s %s\n", workload_registry[i]->name, workload_registry[i]->summary);
	fprintf(f, "\n'pnbench-workload NAME --help' lists a workload's options.\n");
}

int main(int argc, char **argv)
{
	pnb_set_prog("pnbench-workload");
	if (argc < 2) {
		usage(stderr);
		return PNB_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; workload_registry[i]; i++) {
		const struct workload *w = workload_registry[i];
		if (strcmp(w->name, argv[1]) == 0) {
			signal(SIGPIPE, SIG_IGN);
			pnb_set_prog(w->name);
			return w->main(argc - 1, argv + 1);
		}
	}
	pnb_err("unknown workload '%s' (try --help)", argv[1]);
	return PNB_EXIT_USAGE;
}
