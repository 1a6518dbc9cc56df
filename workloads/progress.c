/* Progress marks from a workload to the recorder (see workload.h). */
#include "workload.h"
#include "parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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


void wl_result(const char *key, double value)
{
	char line[160];
	int n = snprintf(line, sizeof line, "result %s %.9g\n", key, value);
	mark(line, n);
}

void wl_app(int pid, int adj, const char *role, uint64_t anon_bytes, uint64_t file_bytes)
{
	char line[160];
	int n = snprintf(line, sizeof line, "app %d %d %s %llu %llu\n", pid, adj, role,
			 (unsigned long long)anon_bytes, (unsigned long long)file_bytes);
	mark(line, n);
}
