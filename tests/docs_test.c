/* The reference docs name what the code writes and takes: every JSON key of
 * the committed results is in results/SCHEMA.md, and every long option of
 * pnbench's option tables is in docs/pnbench.1. */
#include "testutil.h"

#include <atf-c.h>
#include <ctype.h>
#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char top[PATH_MAX];

static void setup(const atf_tc_t *tc)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/..", atf_tc_get_config_var(tc, "srcdir"));
	ATF_REQUIRE(realpath(p, top));
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	ATF_REQUIRE_MSG(f, "cannot open %s", path);
	ATF_REQUIRE(fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0);
	rewind(f);
	ATF_REQUIRE((buf = malloc((size_t)n + 1)));
	ATF_REQUIRE(fread(buf, 1, (size_t)n, f) == (size_t)n);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static int word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Does text hold word w, not as part of a longer name? */
static int mentions(const char *text, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = text; (p = strstr(p, w)); p++)
		if ((p == text || !word_char(p[-1])) && !word_char(p[n]))
			return 1;
	return 0;
}

/* ---- results/SCHEMA.md vs the keys in results/ ---- */

/* Objects whose keys are the kernel's or the scenario's own names
 * (meminfo, vmstat and memcg fields, kernel config options, labels, the
 * probe specs of the end line's probe_cpu_ns) or a conformance case's own
 * measurements (docs/conformance.md). */
static const char *const opaque[] = { "meminfo", "vmstat", "memcg", "labels", "config", "detail",
				      "knobs", "probe_cpu_ns", NULL };

struct keycheck {
	const char *schema;
	json_t *seen;		/* key -> first path, for keys checked */
	char missing[8192];
	int nmissing;
};

static void check_key(struct keycheck *kc, const char *key, const char *where)
{
	if (json_object_get(kc->seen, key))
		return;
	json_object_set_new(kc->seen, key, json_string(where));
	if (mentions(kc->schema, key))
		return;
	kc->nmissing++;
	size_t l = strlen(kc->missing);
	snprintf(kc->missing + l, sizeof kc->missing - l, "  %s (%s)\n", key, where);
}

static void walk(struct keycheck *kc, json_t *v, const char *where)
{
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, k, x) {
			int skip = 0;
			check_key(kc, k, where);
			for (int o = 0; opaque[o]; o++)
				skip |= !strcmp(k, opaque[o]);
			if (!skip)
				walk(kc, x, where);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			walk(kc, x, where);
	}
}

static void walk_file(struct keycheck *kc, const char *path, const char *name)
{
	size_t l = strlen(name);

	if (l > 5 && !strcmp(name + l - 5, ".json")) {
		json_error_t e;
		json_t *j = json_load_file(path, 0, &e);
		ATF_CHECK_MSG(j, "%s: %s", path, e.text);
		walk(kc, j, path + strlen(top) + 1);
		json_decref(j);
	} else if (!strcmp(name, "events.jsonl")) {
		FILE *f = fopen(path, "r");
		char *line = NULL;
		size_t cap = 0;
		ATF_REQUIRE(f);
		while (getline(&line, &cap, f) > 0) {
			/* A cut last line is a reader's business, not the schema's. */
			json_t *j = json_loads(line, 0, NULL);
			walk(kc, j, path + strlen(top) + 1);
			json_decref(j);
		}
		free(line);
		fclose(f);
	}
}

static void walk_dir(struct keycheck *kc, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	ATF_REQUIRE_MSG(d, "cannot open %s", dir);
	while ((e = readdir(d))) {
		char p[PATH_MAX * 2];
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (lstat(p, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			walk_dir(kc, p);
		else if (S_ISREG(st.st_mode))
			walk_file(kc, p, e->d_name);
	}
	closedir(d);
}

ATF_TC(schema_names_every_key);
ATF_TC_HEAD(schema_names_every_key, tc)
{
	atf_tc_set_md_var(tc, "descr", "Every key of meta.json, summary.json, cell.json, "
			  "set-summary.json and events.jsonl under results/ is named in results/SCHEMA.md");
	atf_tc_set_md_var(tc, "timeout", "300");
}
ATF_TC_BODY(schema_names_every_key, tc)
{
	char p[PATH_MAX + 32];
	struct keycheck kc = { .seen = json_object() };

	setup(tc);
	snprintf(p, sizeof p, "%s/results/SCHEMA.md", top);
	kc.schema = slurp(p);
	snprintf(p, sizeof p, "%s/results", top);
	walk_dir(&kc, p);
	ATF_CHECK_MSG(json_object_size(kc.seen) > 100, "only %zu distinct keys under %s: "
		      "no committed results?", json_object_size(kc.seen), p);
	ATF_CHECK_MSG(!kc.nmissing, "%d keys the results hold are not in results/SCHEMA.md "
		      "(key, first file):\n%s", kc.nmissing, kc.missing);
	free((char *)kc.schema);
	json_decref(kc.seen);
}

/* ---- docs/pnbench.1 vs the option tables ---- */

/* The man page as text: "\-" is "-", and font changes go. */
static char *man_text(const char *path)
{
	char *s = slurp(path), *o = s;

	for (const char *i = s; *i; i++) {
		if (i[0] == '\\' && i[1] == '-') {
			*o++ = '-';
			i++;
		} else if (i[0] == '\\' && i[1] == 'f' && i[2]) {
			i += 2;
		} else {
			*o++ = *i;
		}
	}
	*o = 0;
	return s;
}

ATF_TC(man_names_every_option);
ATF_TC_HEAD(man_names_every_option, tc)
{
	atf_tc_set_md_var(tc, "descr", "Every long option in the option tables of harness/*.c "
			  "(struct option {\"name\", ..._argument, ...}) is in docs/pnbench.1 as --name");
}
ATF_TC_BODY(man_names_every_option, tc)
{
	char p[PATH_MAX + 32], missing[4096] = "";
	int nopt = 0, nmiss = 0;
	DIR *d;
	struct dirent *e;

	setup(tc);
	snprintf(p, sizeof p, "%s/docs/pnbench.1", top);
	char *man = man_text(p);
	snprintf(p, sizeof p, "%s/harness", top);
	ATF_REQUIRE((d = opendir(p)));
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 3 || strcmp(e->d_name + l - 2, ".c"))
			continue;
		char f[PATH_MAX * 2];
		snprintf(f, sizeof f, "%s/%s", p, e->d_name);
		char *src = slurp(f);
		for (char *q = src; (q = strstr(q, "_argument")); q++) {
			/* Back from "_argument" over the "name", to the brace. */
			char *b = q;
			while (b > src && *b != '{' && *b != '\n')
				b--;
			char name[64];
			if (*b != '{' || sscanf(b, "{ \"%63[a-z0-9-]\" ,", name) != 1)
				continue;
			char opt[80];
			snprintf(opt, sizeof opt, "--%s", name);
			nopt++;
			int found = 0;
			for (const char *m = man; !found && (m = strstr(m, opt)); m++)
				found = !isalnum((unsigned char)m[strlen(opt)]) && m[strlen(opt)] != '-';
			if (!found && !strstr(missing, opt)) {
				nmiss++;
				l = strlen(missing);
				snprintf(missing + l, sizeof missing - l, "  %s (%s)\n", opt, e->d_name);
			}
		}
		free(src);
	}
	closedir(d);
	ATF_CHECK_MSG(nopt > 50, "only %d options found in harness/*.c", nopt);
	ATF_CHECK_MSG(!nmiss, "%d options of pnbench are not in docs/pnbench.1:\n%s", nmiss, missing);
	free(man);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, schema_names_every_key);
	ATF_TP_ADD_TC(tp, man_names_every_option);
	return atf_no_error();
}
