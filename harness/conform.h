/* The conformance suite, host side: boot a kernel once with
 * bin/pnbench-conform as the guest's only job and read its case lines
 * (conform/cases.h lists the cases; docs/conformance.md explains them). */
#ifndef PNB_CONFORM_H
#define PNB_CONFORM_H

#include <stddef.h>

struct run_result;

enum {
#define CF_CASE(name, doc, xr, xw) CONFORM_##name,
#include "conform/cases.h"
#undef CF_CASE
	CONFORM_NCASES
};
extern const char *const conform_case_names[CONFORM_NCASES];

struct conform_row {
	char result[24];	/* passed|failed|skipped|expected_failure, "" = no line */
	char reason[1024];
};

/* Boot spec (fetching it if needed) with the suite's guest shape (512 MiB,
 * 2 CPUs, a 128 MiB data disk); events.jsonl and console.log land in dir.
 * 0 when the guest program ended with its end line and exit 0; -1 with a
 * one-line reason in err.  kname receives the kernel's directory name. */
int conform_boot(const char *spec, const char *dir, char *kname, size_t klen,
		 char *err, size_t errlen);
/* Read dir/events.jsonl into rows[CONFORM_NCASES]: 1 when it holds an end
 * line (a complete run), 0 when not, -errno when it cannot be read. */
int conform_load(const char *dir, struct conform_row *rows);

#endif
