/* libFuzzer target: reading an events.jsonl back (harness/events.c), as
 * `pnbench run` does after every run to classify it, on whatever a
 * crashed guest, a cut serial line or a hostile result set leaves. */
#include "run.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static struct events_summary sum;
	char path[64], line[512];

	if (fd < 0 && (fd = memfd_create("events.jsonl", 0)) < 0)
		return 0;
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	if (events_summarize(path, &sum) == 0)
		events_summary_line(&sum, line, sizeof line);
	return 0;
}
