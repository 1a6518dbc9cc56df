/* JUnit XML, the subset GitLab, Jenkins and kyua's report-junit agree on:
 * <testsuites><testsuite><testcase> with failure/skipped/error, system-out
 * and per-case properties.  One writer for pnbench conform and pnbench
 * export junit. */
#ifndef PNB_JUNIT_H
#define PNB_JUNIT_H

#include <stdio.h>

enum junit_result { JUNIT_PASS, JUNIT_FAILURE, JUNIT_SKIPPED, JUNIT_ERROR };

struct junit_case {
	const char *classname, *name;
	enum junit_result result;
	const char *message;		/* failure/skipped/error message, or NULL */
	const char *system_out;		/* or NULL */
	int nprops;
	const char *const (*props)[2];	/* name, value */
};

/* Text with &<>" escaped and control characters (but \n, \t) dropped. */
void junit_esc(FILE *f, const char *s);
void junit_open(FILE *f);
void junit_suite_open(FILE *f, const char *name, int tests, int failures, int skipped, int errors);
void junit_case(FILE *f, const struct junit_case *c);
void junit_suite_close(FILE *f);
void junit_close(FILE *f);

#endif
