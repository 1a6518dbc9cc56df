/* The shape of the source tree (issue 16): production code never reaches
 * into tests/, no production file is over 800 lines and no function over
 * 120, unless the code says why with a "layout-exception:" comment (in
 * the file's first 40 lines for a file, in the 15 lines before a
 * function's opening brace for a function).  Functions are found in the
 * project's own style: the body opens with "{" alone in column 0 and
 * closes with "}" alone in column 0. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FILE_MAX_LINES 800
#define FUNC_MAX_LINES 120

static const char *const production_dirs[] = {
	"harness", "lib", "probes", "workloads", "qemu", "conform", NULL,
};

typedef void (*source_fn)(const atf_tc_t *tc, const char *path, int *count);

static int is_source(const char *name)
{
	size_t n = strlen(name);
	return n > 2 && name[n - 2] == '.' && (name[n - 1] == 'c' || name[n - 1] == 'h');
}

static void walk(const atf_tc_t *tc, const char *dir, source_fn fn, int *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	ATF_REQUIRE_MSG(d, "cannot open %s", dir);
	while ((e = readdir(d))) {
		char path[4096];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			walk(tc, path, fn, count);
		else if (S_ISREG(st.st_mode) && is_source(e->d_name))
			fn(tc, path, count);
	}
	closedir(d);
}

static void walk_production(const atf_tc_t *tc, source_fn fn, int *count)
{
	const char *src = atf_tc_get_config_var(tc, "srcdir");

	for (int i = 0; production_dirs[i]; i++) {
		char dir[4096];
		snprintf(dir, sizeof dir, "%s/../%s", src, production_dirs[i]);
		walk(tc, dir, fn, count);
	}
}

/* The file's lines, NUL-terminated each, in one allocation. */
static char **read_lines(const char *path, int *n)
{
	FILE *f = fopen(path, "r");
	char **lines = NULL, *line = NULL;
	size_t cap = 0;
	int len = 0, alloc = 0;

	if (!f)
		return NULL;
	while (getline(&line, &cap, f) >= 0) {
		if (len == alloc) {
			alloc = alloc ? alloc * 2 : 256;
			lines = realloc(lines, sizeof *lines * alloc);
			if (!lines)
				abort();
		}
		lines[len++] = strdup(line);
	}
	free(line);
	fclose(f);
	*n = len;
	return lines;
}

static void free_lines(char **lines, int n)
{
	for (int i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

/* A "layout-exception:" marker with a reason of a few words at least. */
static int excused(char **lines, int from, int to)
{
	for (int i = from < 0 ? 0 : from; i < to; i++) {
		const char *m = strstr(lines[i], "layout-exception:");
		if (m && strlen(m + strlen("layout-exception:")) > 20)
			return 1;
	}
	return 0;
}

static void check_no_tests_include(const atf_tc_t *tc, const char *path, int *count)
{
	int n;
	char **lines = read_lines(path, &n);

	(void)tc;
	ATF_REQUIRE_MSG(lines, "cannot read %s", path);
	(*count)++;
	for (int i = 0; i < n; i++)
		/* Split so that a copy of this check elsewhere does not match. */
		ATF_CHECK_MSG(!strstr(lines[i], "../" "tests"), "%s:%d reaches into tests/: %s",
			      path, i + 1, lines[i]);
	free_lines(lines, n);
}

static void check_sizes(const atf_tc_t *tc, const char *path, int *count)
{
	int n, start = -1;
	char **lines = read_lines(path, &n);

	(void)tc;
	ATF_REQUIRE_MSG(lines, "cannot read %s", path);
	(*count)++;
	ATF_CHECK_MSG(n <= FILE_MAX_LINES || excused(lines, 0, 40),
		      "%s has %d lines (limit %d, no layout-exception: comment says why)",
		      path, n, FILE_MAX_LINES);
	for (int i = 0; i < n; i++) {
		if (!strcmp(lines[i], "{\n"))
			start = i;
		else if (start >= 0 && !strcmp(lines[i], "}\n")) {
			int body = i - start - 1;
			ATF_CHECK_MSG(body <= FUNC_MAX_LINES || excused(lines, start - 15, start),
				      "%s:%d: function before this line has a %d-line body "
				      "(limit %d, no layout-exception: comment says why)",
				      path, start, body, FUNC_MAX_LINES);
			start = -1;
		}
	}
	free_lines(lines, n);
}

ATF_TC(no_include_from_tests);
ATF_TC_HEAD(no_include_from_tests, tc)
{
	atf_tc_set_md_var(tc, "descr", "no production source names a path into tests/");
}
ATF_TC_BODY(no_include_from_tests, tc)
{
	int files = 0;

	walk_production(tc, check_no_tests_include, &files);
	ATF_CHECK_MSG(files >= 50, "only %d production sources found", files);
}

ATF_TC(sizes);
ATF_TC_HEAD(sizes, tc)
{
	atf_tc_set_md_var(tc, "descr", "production files <= 800 lines, functions <= 120, "
			  "or a layout-exception: comment says why");
}
ATF_TC_BODY(sizes, tc)
{
	int files = 0;

	walk_production(tc, check_sizes, &files);
	ATF_CHECK_MSG(files >= 50, "only %d production sources found", files);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, no_include_from_tests);
	ATF_TP_ADD_TC(tp, sizes);
	return atf_no_error();
}
