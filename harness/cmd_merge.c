/* pnbench merge [--force] OUT DIR...: cell directories run on several
 * machines (pnbench run --cell / --shard, GNU parallel, CI matrices) into
 * one result set.  A cell is a run directory holding meta.json; its place
 * in OUT (KERNEL/SCENARIO/REP) comes from its meta.json, so it may arrive
 * from anywhere below a DIR.  Everything is checked before anything is
 * written: a refusal leaves OUT as it was, and merging the same
 * directories again changes nothing (idempotent). */
#include "cli.h"
#include "fsutil.h"
#include "log.h"
#include "run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct mcell {
	char *name;		/* KERNEL/SCENARIO/REP */
	char *dir;		/* where it is now */
	char *rev;		/* meta.json harness.git_rev, "unknown" when absent */
	int in_out;		/* already in OUT */
};

struct mstate {
	struct mcell *c;
	size_t n, cap;
	char why[2048];		/* the refusal, one line */
};

/* Files a merge neither compares nor copies: summary.json is analyze's
 * output, rewritten from the cell's own files by `pnbench analyze`, and
 * dot files are locks and temporaries. */
static int derived(const char *name)
{
	return name[0] == '.' || !strcmp(name, "summary.json");
}

static int is_partial_name(const char *n)
{
	size_t l = strlen(n);
	if (n[0] != '.' || l < 10 || strcmp(n + l - 8, ".partial"))
		return 0;
	for (size_t i = 1; i < l - 8; i++)
		if (n[i] < '0' || n[i] > '9')
			return 0;
	return 1;
}

/* The last line of an events.jsonl is the recorder's end record when the
 * run finished; a copy cut short (rsync interrupted, a full disk) is not. */
static int ends_with_end_line(const char *path)
{
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC), ok = 0;
	struct stat st;

	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	off_t from = st.st_size > (off_t)sizeof buf - 1 ? st.st_size - (off_t)sizeof buf + 1 : 0;
	ssize_t n = pread(fd, buf, sizeof buf - 1, from);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	char *line = strrchr(buf, '\n');
	json_t *o = json_loads(line ? line + 1 : buf, 0, NULL);
	const char *type = json_string_value(json_object_get(o, "type"));
	ok = type && !strcmp(type, "end");
	json_decref(o);
	return ok;
}

static int add_cell(struct mstate *st, const char *dir, int in_out)
{
	char path[PATH_MAX + 16], name[400];
	json_error_t je;
	json_t *m;

	snprintf(path, sizeof path, "%s/meta.json", dir);
	if (!(m = json_load_file(path, 0, &je))) {
		snprintf(st->why, sizeof st->why, "%s: a partial cell: meta.json does not parse (%s)",
			 dir, je.text);
		return -1;
	}
	const char *cell = json_string_value(json_object_get(m, "cell"));
	const char *k = json_string_value(json_object_get(json_object_get(m, "kernel"), "name"));
	const char *s = json_string_value(json_object_get(json_object_get(m, "scenario"), "name"));
	json_t *rep = json_object_get(m, "rep");
	const char *rev = json_string_value(json_object_get(json_object_get(m, "harness"), "git_rev"));
	json_t *res = json_object_get(m, "result");
	int rc = -1;

	if (!k || !s || !json_is_integer(rep) || json_integer_value(rep) < 1 ||
	    !pnb_name_ok(k) || !pnb_name_ok(s)) {
		snprintf(st->why, sizeof st->why, "%s: meta.json names no kernel, scenario and "
			 "repetition that make a cell path", dir);
		goto out;
	}
	/* A cgroup2 boot of the repetition lives beside the v1 one, as <rep>-v2. */
	const char *hier = json_string_value(json_object_get(m, "hierarchy"));
	snprintf(name, sizeof name, "%s/%s/%lld%s", k, s, (long long)json_integer_value(rep),
		 hier && !strcmp(hier, "v2") ? "-v2" : "");
	/* Runs made before cells had names have no "cell"; a new one must agree. */
	if (cell && strcmp(cell, name)) {
		snprintf(st->why, sizeof st->why, "%s: meta.json says cell %s but kernel, scenario and "
			 "rep say %s", dir, cell, name);
		goto out;
	}
	if (!json_is_object(res) || !json_is_boolean(json_object_get(res, "complete"))) {
		snprintf(st->why, sizeof st->why, "%s: a partial cell: meta.json has no result", dir);
		goto out;
	}
	snprintf(path, sizeof path, "%s/events.jsonl", dir);
	if (access(path, R_OK)) {
		snprintf(st->why, sizeof st->why, "%s: a partial cell: no events.jsonl", dir);
		goto out;
	}
	/* An incomplete run (panic, hang) is a result and merges; a complete
	 * one whose events stop short is a broken copy. */
	if (json_is_true(json_object_get(res, "complete")) && !ends_with_end_line(path)) {
		snprintf(st->why, sizeof st->why, "%s: a partial cell: meta.json says complete but "
			 "events.jsonl does not end with the end record (cut copy?)", dir);
		goto out;
	}
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 256;
		struct mcell *c = realloc(st->c, cap * sizeof *c);
		if (!c) {
			snprintf(st->why, sizeof st->why, "out of memory at %s", dir);
			goto out;
		}
		st->c = c;
		st->cap = cap;
	}
	st->c[st->n++] = (struct mcell){ strdup(name), strdup(dir), strdup(rev ? rev : "unknown"),
					 in_out };
	rc = 0;
out:
	json_decref(m);
	return rc;
}

/* Every cell directory at or below dir.  Symbolic links are not followed
 * (as an_set_load): a cell reached twice would be merged twice. */
static int walk(struct mstate *st, const char *dir, int in_out, int top)
{
	char path[PATH_MAX];
	struct stat sb;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	snprintf(path, sizeof path, "%s/meta.json", dir);
	if (!lstat(path, &sb))
		return add_cell(st, dir, in_out);
	snprintf(path, sizeof path, "%s/events.jsonl", dir);
	if (!lstat(path, &sb)) {
		snprintf(st->why, sizeof st->why, "%s: a partial cell: events.jsonl without meta.json", dir);
		return -1;
	}
	if (!(d = opendir(dir))) {
		/* OUT may be new and empty; a DIR must exist. */
		snprintf(st->why, sizeof st->why, "%s: %s", dir, strerror(errno));
		return top && in_out && errno == ENOENT ? 0 : -1;
	}
	while (!rc && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (e->d_type == DT_UNKNOWN ? lstat(path, &sb) || !S_ISDIR(sb.st_mode) : e->d_type != DT_DIR)
			continue;
		if (is_partial_name(e->d_name)) {
			snprintf(st->why, sizeof st->why, "%s: a partial cell (pnbench stopped while "
				 "running it): rerun that cell or remove the directory", path);
			rc = -1;
		} else if (e->d_name[0] != '.') {
			rc = walk(st, path, in_out, 0);
		}
	}
	closedir(d);
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	const struct mcell *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	/* OUT's own copy first: it is the one kept. */
	return c ? c : y->in_out - x->in_out;
}

static int files_equal(const char *a, const char *b)
{
	char ba[65536], bb[65536];
	int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC), eq = 0;
	struct stat sa, sb;

	if (fa < 0 || fb < 0 || fstat(fa, &sa) || fstat(fb, &sb) || sa.st_size != sb.st_size)
		goto out;
	for (;;) {
		ssize_t na = read(fa, ba, sizeof ba), nb = na > 0 ? read(fb, bb, (size_t)na) : 0;
		if (na < 0 || na != nb)
			goto out;
		if (!na)
			break;
		if (memcmp(ba, bb, (size_t)na))
			goto out;
	}
	eq = 1;
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return eq;
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of dir's entries a merge carries (regular files and
 * directories, not derived ones), sorted; count or -1. */
static int entries(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL, path[PATH_MAX];
	int n = 0;
	struct stat sb;

	*out = NULL;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (derived(e->d_name))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (lstat(path, &sb) || (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)))
			continue;
		char **nv = realloc(v, (size_t)(n + 1) * sizeof *v);
		if (!nv)
			break;
		v = nv;
		v[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(v, (size_t)n, sizeof *v, strp_cmp);
	*out = v;
	return n;
}

static void free_entries(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Whether two cell directories hold the same files with the same bytes:
 * 1 yes, 0 no with the first difference in what. */
static int same_content(const char *a, const char *b, char *what, size_t len)
{
	char **ea, **eb, pa[PATH_MAX], pb[PATH_MAX];
	int na = entries(a, &ea), nb = entries(b, &eb), same = 1;
	struct stat sa, sb;

	if (na < 0 || nb < 0) {
		snprintf(what, len, "cannot list %s", na < 0 ? a : b);
		same = 0;
	}
	for (int i = 0, j = 0; same && (i < na || j < nb);) {
		int c = i >= na ? 1 : j >= nb ? -1 : strcmp(ea[i], eb[j]);
		if (c) {
			snprintf(what, len, "%s only in %s", c < 0 ? ea[i] : eb[j], c < 0 ? a : b);
			same = 0;
			break;
		}
		snprintf(pa, sizeof pa, "%s/%s", a, ea[i]);
		snprintf(pb, sizeof pb, "%s/%s", b, eb[j]);
		if (stat(pa, &sa) || stat(pb, &sb) || S_ISDIR(sa.st_mode) != S_ISDIR(sb.st_mode)) {
			snprintf(what, len, "%s differs", ea[i]);
			same = 0;
		} else if (S_ISDIR(sa.st_mode)) {
			same = same_content(pa, pb, what, len);
		} else if (!files_equal(pa, pb)) {
			snprintf(what, len, "%s differs", ea[i]);
			same = 0;
		}
		i++, j++;
	}
	if (na > 0)
		free_entries(ea, na);
	if (nb > 0)
		free_entries(eb, nb);
	return same;
}

static int copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
	struct stat st;

	if (in < 0 || fstat(in, &st))
		goto done;
	if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 0777)) < 0)
		goto done;
	/* copy_file_range shares extents where the file system can; plain
	 * read/write where it cannot (across file systems before 5.3). */
	off_t left = st.st_size;
	while (left > 0) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
		if (n <= 0)
			break;
		left -= n;
	}
	if (left > 0) {
		char buf[65536];
		ssize_t n;
		if (lseek(in, st.st_size - left, SEEK_SET) < 0)
			goto done;
		while ((n = read(in, buf, sizeof buf)) > 0)
			if (write(out, buf, (size_t)n) != n)
				goto done;
		if (n < 0)
			goto done;
	}
	rc = 0;
done:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out))
		rc = -1;
	return rc;
}

static int copy_tree(const char *from, const char *to, char *why, size_t len)
{
	char **e, a[PATH_MAX], b[PATH_MAX];
	int n = entries(from, &e), rc = 0;
	struct stat st;

	if (n < 0 || mkdir(to, 0755)) {
		snprintf(why, len, "cannot copy %s to %s: %s", from, to, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n && !rc; i++) {
		snprintf(a, sizeof a, "%s/%s", from, e[i]);
		snprintf(b, sizeof b, "%s/%s", to, e[i]);
		if (stat(a, &st))
			rc = -1;
		else if (S_ISDIR(st.st_mode))
			rc = copy_tree(a, b, why, len);
		else if (copy_file(a, b))
			rc = -1;
		if (rc && !why[0])
			snprintf(why, len, "cannot copy %s to %s: %s", a, b, strerror(errno));
	}
	free_entries(e, n);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: pnbench merge [--force] OUT DIR...\n"
"  Copies every cell directory (a run directory with meta.json) found below\n"
"  each DIR to OUT/KERNEL/SCENARIO/REP, the place its meta.json names.\n"
"  Refuses, changing nothing: cells made by different harness revisions\n"
"  (unless --force), one cell twice with different files, a partial cell\n"
"  (a .N.partial directory, events.jsonl without meta.json, or a complete\n"
"  run whose events.jsonl lacks its end record).  Cells already in OUT with\n"
"  the same files are left alone, so merging again changes nothing.\n"
"  summary.json files are not carried: run pnbench analyze OUT.\n");
}

/* One cell twice (st->c sorted by name): the same files are one cell,
 * others a refusal (-1, the reason in st->why). */
static int drop_twins(struct mstate *st)
{
	size_t kept = 0;

	for (size_t i = 0; i < st->n; i++) {
		if (kept && !strcmp(st->c[kept - 1].name, st->c[i].name)) {
			char what[PATH_MAX + 64];
			if (!same_content(st->c[kept - 1].dir, st->c[i].dir, what, sizeof what)) {
				snprintf(st->why, sizeof st->why, "cell %s is in %s and in %s with different "
					 "content (%s)", st->c[i].name, st->c[kept - 1].dir, st->c[i].dir, what);
				return -1;
			}
			free(st->c[i].name), free(st->c[i].dir), free(st->c[i].rev);
			st->c[i] = (struct mcell){ 0 };
			continue;
		}
		st->c[kept++] = st->c[i];
		if (kept - 1 != i)
			st->c[i] = (struct mcell){ 0 };
	}
	st->n = kept;
	return 0;
}

int cmd_merge(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, { 0 } };
	struct mstate st = { 0 };
	int force = 0, c, rc = PNB_EXIT_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': force = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return PNB_EXIT_USAGE;
		}
	}
	if (argc - optind < 2) {
		pnb_err("merge: need OUT and at least one DIR (see 'pnbench merge --help')");
		return PNB_EXIT_USAGE;
	}
	const char *out = argv[optind];
	if (strlen(out) > 900) {
		pnb_err("merge: OUT: %zu bytes is longer than the 900 a result set path may have",
			strlen(out));
		return PNB_EXIT_USAGE;
	}
	for (int i = optind + 1; i < argc; i++) {
		struct stat sb;
		if (stat(argv[i], &sb) || !S_ISDIR(sb.st_mode)) {
			pnb_err("merge: %s: not a directory", argv[i]);
			return PNB_EXIT_USAGE;
		}
	}
	/* The same lock as pnbench run: no cell is renamed under a merge. */
	if (pnb_lock_set(out, 0, "merge"))
		return PNB_EXIT_FAIL;
	char rout[PATH_MAX];
	if (!realpath(out, rout))
		snprintf(rout, sizeof rout, "%s", out);
	if (walk(&st, out, 1, 1))
		goto refuse;
	for (int i = optind + 1; i < argc; i++) {
		char r[PATH_MAX];
		/* OUT given as a DIR too: its cells are already counted. */
		if (realpath(argv[i], r) && !strcmp(r, rout))
			continue;
		if (walk(&st, argv[i], 0, 1))
			goto refuse;
	}
	qsort(st.c, st.n, sizeof *st.c, name_cmp);

	if (drop_twins(&st))
		goto refuse;

	/* One revision per set: numbers from two builds of the harness are not
	 * one measurement. */
	for (size_t i = 1; i < st.n && !force; i++)
		if (strcmp(st.c[i].rev, st.c[0].rev)) {
			snprintf(st.why, sizeof st.why, "mixed harness revisions: %s (cell %s in %s) and "
				 "%s (cell %s in %s); --force merges anyway", st.c[0].rev, st.c[0].name,
				 st.c[0].dir, st.c[i].rev, st.c[i].name, st.c[i].dir);
			goto refuse;
		}

	int added = 0, there = 0;
	for (size_t i = 0; i < st.n; i++) {
		char final[PATH_MAX], tmp[PATH_MAX + 16], parent[PATH_MAX], why[PATH_MAX * 2 + 64] = "";
		struct mcell *m = &st.c[i];
		if (m->in_out) {
			there++;
			continue;
		}
		snprintf(final, sizeof final, "%s/%s", out, m->name);
		snprintf(parent, sizeof parent, "%s", final);
		*strrchr(parent, '/') = 0;
		snprintf(tmp, sizeof tmp, "%s/.%s.merging", parent, strrchr(final, '/') + 1);
		int e = pnb_mkdir_all(parent, 0755);
		if (!e)
			pnb_rm_rf(tmp);
		/* Written under a temporary name and renamed, as run does: an
		 * interrupted merge leaves no half cell under a cell's name. */
		if (e || copy_tree(m->dir, tmp, why, sizeof why) || rename(tmp, final)) {
			pnb_err("merge: %s: %s", m->name, why[0] ? why : strerror(e ? -e : errno));
			pnb_rm_rf(tmp);
			goto done;
		}
		/* The kernel x scenario analysis no longer covers its runs. */
		snprintf(tmp, sizeof tmp, "%s/cell.json", parent);
		unlink(tmp);
		added++;
	}
	if (added) {
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/set-summary.json", out);
		unlink(p);
	}
	printf("merge: %s: %zu cells (%d added, %d already there) from %d director%s\n", out, st.n,
	       added, there, argc - optind - 1, argc - optind - 1 == 1 ? "y" : "ies");
	rc = 0;
	goto done;
refuse:
	pnb_err("merge: refused, nothing written: %s", st.why);
done:
	for (size_t i = 0; i < st.n; i++)
		free(st.c[i].name), free(st.c[i].dir), free(st.c[i].rev);
	free(st.c);
	return rc;
}
