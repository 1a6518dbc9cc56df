/* libFuzzer target: probe specs ("psi:some:150ms:1s", ...) through
 * probe_from_spec, every probe's own parse() and probe_split_args: what
 * the recorder and `scenario check` run on every `probe =` line. */
#include "probe.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct probe p;	/* PROBE_MAX_FDS ints: not on the stack */
	char err[PROBE_ERR_LEN + 200];
	char *spec;

	/* A spec is one line of a scenario file: text up to the first NUL. */
	spec = malloc(size + 1);
	if (!spec)
		return 0;
	memcpy(spec, data, size);
	spec[size] = 0;
	err[0] = 0;
	if (probe_from_spec(&p, spec, err, sizeof err) == 0)
		probe_free(&p);
	else if (!err[0])
		abort();	/* a refusal must say why */
	free(spec);
	return 0;
}
