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

static int progress_fd = -2;	/* -2: not looked up yet, -1: none */

static int get_progress_fd(void)
{
	if (progress_fd == -2) {
		const char *s = getenv("PNBENCH_PROGRESS_FD");
		uint64_t v;
		progress_fd = (s && !pnb_parse_u64(s, &v) && v < 1024) ? (int)v : -1;
	}
	return progress_fd;
}

static void mark(const char *line, int len)
{
	int fd = get_progress_fd();
	if (fd < 0 || len <= 0)
		return;
	/* Lines are short (< PIPE_BUF): one write is atomic on the pipe. A dead
	 * reader must not kill the workload: ignore EPIPE (SIGPIPE is ignored
	 * in main). */
	if (write(fd, line, (size_t)len) < 0 && errno != EINTR)
		progress_fd = -1;
}

void wl_progress(const char *what, uint64_t value)
{
	char line[96];
	int n = snprintf(line, sizeof line, "progress %s %llu\n", what, (unsigned long long)value);
	mark(line, n);
}

void wl_phase(const char *name)
{
	char line[96];
	int n = snprintf(line, sizeof line, "phase %s\n", name);
	mark(line, n);
}

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
