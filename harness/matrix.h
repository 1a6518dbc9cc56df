/* Named matrices (issue 13): harness/matrices/NAME, like mmtests configs.
 * A matrix is the scenarios, kernels and repetitions of one run:
 *
 *   # comment
 *   kernel debian:cloud       (repeat; the command line's --kernel wins)
 *   reps 5                    (the command line's --reps wins)
 *   fixed-rate                (a scenario: harness/scenarios/NAME.ini,
 *   android/zram-fixed-rate    a name under it, or a path)
 *
 * One scenario per line is the killers file's format; kernel and reps are
 * the lines with a key and a value. */
#ifndef PNB_MATRIX_H
#define PNB_MATRIX_H

#include <limits.h>
#include <stddef.h>

struct matrix {
	char path[PATH_MAX];
	char **scenarios;	/* as run_plan_add_scenario takes them */
	int nscenarios;
	char **kernels;
	int nkernels;
	unsigned reps;		/* 0: the scenarios' own */
};

/* Load NAME (harness/matrices/NAME) or a path.  0, or PNB_EXIT_USAGE with
 * "matrix FILE:LINE: what" (or why it cannot be read) in err. */
int matrix_load(const char *name, struct matrix *m, char *err, size_t len);
void matrix_free(struct matrix *m);
/* The names of harness/matrices/, space-separated, for messages. */
void matrix_names(char *out, size_t len);

#endif
