/* Named matrices (matrix.h): harness/matrices/NAME files read into the
 * scenarios, kernels and repetitions `pnbench run --matrix` runs. */
#include "cli.h"
#include "log.h"
#include "matrix.h"
#include "parse.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int push(char ***list, int *n, const char *v)
{
	char **a = realloc(*list, (size_t)(*n + 1) * sizeof *a);
	if (!a)
		return -1;
	*list = a;
	if (!(a[*n] = strdup(v)))
		return -1;
	(*n)++;
	return 0;
}

void matrix_names(char *out, size_t len)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *e;

	out[0] = 0;
	snprintf(dir, sizeof dir, "%s/harness/matrices", pnb_topdir());
	if (!(d = opendir(dir)))
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? " " : "",
				 e->d_name);
	closedir(d);
}

/* A scenario entry as a name or path run_plan_add_scenario finds: a bare
 * name as it is (harness/scenarios/NAME.ini), a relative path with a
 * slash under harness/scenarios/ first, then beside the matrix file. */
static int scenario_entry(const struct matrix *m, const char *v, char *out, size_t len)
{
	const char *ini = strlen(v) > 4 && !strcmp(v + strlen(v) - 4, ".ini") ? "" : ".ini";
	char here[PATH_MAX];

	if (!strchr(v, '/') && !*ini) {
		snprintf(out, len, "%s", v);
		return access(out, R_OK) ? -1 : 0;
	}
	if (!strchr(v, '/'))
		return pnb_scenario_path(v, out, len) ? -1 : 0;
	if (v[0] == '/') {
		snprintf(out, len, "%s", v);
		return access(out, R_OK) ? -1 : 0;
	}
	snprintf(out, len, "%s/harness/scenarios/%s%s", pnb_topdir(), v, ini);
	if (!access(out, R_OK))
		return 0;
	snprintf(here, sizeof here, "%s", m->path);
	snprintf(out, len, "%s/%s%s", dirname(here), v, ini);
	return access(out, R_OK) ? -1 : 0;
}

/* One line of the file (comment and blanks gone): 0, or -1 with err. */
static int matrix_line(struct matrix *m, char *l, int lineno, char *err, size_t len)
{
	char *sp = strpbrk(l, " \t"), path[PATH_MAX];
	uint64_t reps;

	if (!sp) {
		if (scenario_entry(m, l, path, sizeof path)) {
			snprintf(err, len, "matrix %s:%d: no scenario '%s' (harness/scenarios/%s.ini, "
				 "or a path)", m->path, lineno, l, l);
			return -1;
		}
		/* A bare name stays one: the same cells as --scenario NAME. */
		return push(&m->scenarios, &m->nscenarios, strchr(l, '/') ? path : l) ? -2 : 0;
	}
	*sp++ = 0;
	sp += strspn(sp, " \t");
	if (!strcmp(l, "kernel"))
		return push(&m->kernels, &m->nkernels, sp) ? -2 : 0;
	if (!strcmp(l, "reps")) {
		if (pnb_parse_u64(sp, &reps) || reps < 1 || reps > 1000) {
			snprintf(err, len, "matrix %s:%d: reps '%s': need a number 1..1000", m->path,
				 lineno, sp);
			return -1;
		}
		m->reps = (unsigned)reps;
		return 0;
	}
	snprintf(err, len, "matrix %s:%d: unknown key '%s' (kernel, reps, or a scenario alone "
		 "on its line)", m->path, lineno, l);
	return -1;
}

int matrix_load(const char *name, struct matrix *m, char *err, size_t len)
{
	char line[1024], names[512];
	int lineno = 0, rc = 0;
	FILE *f;

	memset(m, 0, sizeof *m);
	if (strchr(name, '/'))
		snprintf(m->path, sizeof m->path, "%s", name);
	else
		snprintf(m->path, sizeof m->path, "%s/harness/matrices/%s", pnb_topdir(), name);
	if (!(f = fopen(m->path, "re"))) {
		int e = errno;
		matrix_names(names, sizeof names);
		snprintf(err, len, "matrix %s: cannot read %s: %s%s%s", name, m->path, strerror(e),
			 names[0] ? " (named matrices: " : "", names[0] ? names : "");
		if (names[0])
			snprintf(err + strlen(err), len - strlen(err), ")");
		return PNB_EXIT_USAGE;
	}
	while (!rc && fgets(line, sizeof line, f)) {
		char *l = line;
		lineno++;
		l[strcspn(l, "#\n")] = 0;
		l += strspn(l, " \t");
		for (size_t n = strlen(l); n && (l[n - 1] == ' ' || l[n - 1] == '\t'); n--)
			l[n - 1] = 0;
		if (*l)
			rc = matrix_line(m, l, lineno, err, len);
	}
	fclose(f);
	if (rc == -2)
		snprintf(err, len, "matrix %s: out of memory", m->path);
	else if (!rc && !m->nscenarios) {
		snprintf(err, len, "matrix %s: no scenario in it", m->path);
		rc = -1;
	}
	if (rc) {
		matrix_free(m);
		return rc == -2 ? PNB_EXIT_FAIL : PNB_EXIT_USAGE;
	}
	return 0;
}

void matrix_free(struct matrix *m)
{
	for (int i = 0; i < m->nscenarios; i++)
		free(m->scenarios[i]);
	for (int i = 0; i < m->nkernels; i++)
		free(m->kernels[i]);
	free(m->scenarios);
	free(m->kernels);
	m->scenarios = m->kernels = NULL;
	m->nscenarios = m->nkernels = 0;
}
