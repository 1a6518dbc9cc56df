/* libFuzzer target: the scenario reader (lib/scenario.c) and the key
 * parsers under it (lib/parse.c), from text and from a file, as
 * `pnbench scenario check` reads one.  Every input must end in 0 or
 * -errno with a message; the sanitizers judge the rest. */
#include "scenario.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static struct scenario s;
	char err[1024], path[64];
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	err[0] = 0;
	if (scenario_parse_string("fuzz.ini", text, &s, err, sizeof err) == 0)
		scenario_free(&s);
	else if (!err[0])
		abort();	/* a refusal must say why */
	free(text);

	/* The file path: embedded NULs, no final newline, as on disk. */
	if (fd < 0 && (fd = memfd_create("fuzz.ini", 0)) < 0)
		return 0;
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	err[0] = 0;
	if (scenario_load(path, &s, err, sizeof err) == 0)
		scenario_free(&s);
	else if (!err[0])
		abort();
	return 0;
}
