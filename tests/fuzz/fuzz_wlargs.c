/* libFuzzer target: a scenario's [workload] args through every workload's
 * option parser (workload_check_args), split on blanks as the recorder's
 * command line is.  First line: the workload name; the rest: its args. */
#include "workload.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[256], *save = NULL, err[512];
	int argc = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	char *nl = strchr(buf, '\n');
	const char *name = buf;
	if (nl) {
		*nl = 0;
		for (char *t = strtok_r(nl + 1, " \t\n", &save); t && argc < 256;
		     t = strtok_r(NULL, " \t\n", &save))
			argv[argc++] = t;
	}
	err[0] = 0;
	if (workload_check_args(name, argc, argv, err, sizeof err) && !err[0])
		abort();	/* a refusal must say why */
	free(buf);
	return 0;
}
