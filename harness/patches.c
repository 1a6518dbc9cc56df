/* Patch series on kernel trees (patches.h): the mailing-list case, "what
 * does this proposed patch change", answered by building TREE+SERIES and
 * comparing it with TREE.
 *
 * git does the mail work: git mailsplit cuts an mbox into messages, git
 * mailinfo decodes each subject (folded lines, MIME words, the [PATCH v2
 * 1/3] prefix), git apply applies (atomically per patch, no fuzz: a patch
 * that needs fuzz to apply is reported, not guessed at). */
#include "patches.h"

#include "digest.h"
#include "fsutil.h"
#include "hostrun.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <libgen.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int series_split(const char *arg, char *tree, size_t tlen, const char **series,
		 char *err, size_t errlen)
{
	const char *plus = strrchr(arg, '+');

	*series = NULL;
	snprintf(tree, tlen, "%s", arg);
	/* A tree whose own name has a '+' (linux-6.12+fixes/) is a tree. */
	if (!plus || access(arg, F_OK) == 0)
		return 0;
	if (plus == arg || !plus[1]) {
		snprintf(err, errlen, "'%s': want TREE+SERIES with both parts (SERIES: an mbox, a "
			 "patch file or a quilt directory)", arg);
		return -1;
	}
	if ((size_t)(plus - arg) >= tlen) {
		snprintf(err, errlen, "tree path longer than %zu bytes", tlen - 1);
		return -1;
	}
	memcpy(tree, arg, (size_t)(plus - arg));
	tree[plus - arg] = 0;
	*series = plus + 1;
	return 0;
}

static int add_patch(struct pnb_series *s, const char *path, const char *name, int strip)
{
	struct pnb_patch *np = realloc(s->p, (size_t)(s->n + 1) * sizeof *s->p);

	if (!np)
		return -ENOMEM;
	s->p = np;
	memset(&s->p[s->n], 0, sizeof s->p[s->n]);
	/* git apply runs in the copy of the tree: an absolute path. */
	if (!realpath(path, s->p[s->n].path))
		snprintf(s->p[s->n].path, sizeof s->p[s->n].path, "%s", path);
	snprintf(s->p[s->n].name, sizeof s->p[s->n].name, "%s", name);
	s->p[s->n].strip = strip;
	s->n++;
	return 0;
}

/* The subject git mailinfo finds; for a patch without mail headers (quilt
 * style) the first line of its description; else "". */
static void patch_subject(const char *path, char *out, size_t len)
{
	char buf[8192], tmp[] = "/tmp/pnbench-mailinfo-XXXXXX", msg[64], pat[64];
	char *const argv[] = { "sh", "-c", "exec git mailinfo \"$1\" \"$2\" < \"$3\"", "sh", msg, pat,
			       (char *)path, NULL };
	struct pnb_spawn o = { .out = buf, .outlen = sizeof buf };
	char *line, *save;

	out[0] = 0;
	if (!mkdtemp(tmp))
		return;
	snprintf(msg, sizeof msg, "%s/msg", tmp);
	snprintf(pat, sizeof pat, "%s/patch", tmp);
	if (pnb_spawn(argv, &o) == 0)
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (!strncmp(line, "Subject: ", 9) && line[9])
				snprintf(out, len, "%s", line + 9);
	if (!out[0]) {
		FILE *f = fopen(msg, "re");
		char l[1024];
		while (f && fgets(l, sizeof l, f)) {
			char *t = l;
			while (isspace((unsigned char)*t))
				t++;
			t[strcspn(t, "\n")] = 0;
			if (*t) {
				snprintf(out, len, "%s", t);
				break;
			}
		}
		if (f)
			fclose(f);
	}
	unlink(msg);
	unlink(pat);
	rmdir(tmp);
}

/* A quilt series file: "NAME [-pN]" a line, # comments. */
static int load_quilt(const char *dir, struct pnb_series *s, char *err, size_t errlen)
{
	char sp[PNB_PATH + 16], line[1024];
	int lineno = 0;
	FILE *f;

	snprintf(sp, sizeof sp, "%s/series", dir);
	if (!(f = fopen(sp, "re"))) {
		snprintf(err, errlen, "%s: a directory without a quilt series file (%s: %s)", dir, sp,
			 strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		char *save, *name, *opt, p[PNB_PATH * 2];
		int strip = 1;

		lineno++;
		line[strcspn(line, "#\n")] = 0;
		if (!(name = strtok_r(line, " \t", &save)))
			continue;
		while ((opt = strtok_r(NULL, " \t", &save))) {
			char *end;
			long v = -1;
			if (!strncmp(opt, "-p", 2))
				v = strtol(opt + 2, &end, 10);
			if (v < 0 || v > 16 || !opt[2] || *end) {
				snprintf(err, errlen, "%s line %d: option '%s' for %s: only -pN is understood",
					 sp, lineno, opt, name);
				fclose(f);
				return -1;
			}
			strip = (int)v;
		}
		snprintf(p, sizeof p, "%s/%s", dir, name);
		if (!pnb_is_file(p)) {
			snprintf(err, errlen, "%s line %d names %s: no such patch file", sp, lineno, p);
			fclose(f);
			return -1;
		}
		if (add_patch(s, p, name, strip)) {
			fclose(f);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	fclose(f);
	if (!s->n) {
		snprintf(err, errlen, "%s names no patch", sp);
		return -1;
	}
	return 0;
}

/* An mbox: git mailsplit into a directory of its own, one file a message. */
static int load_mbox(const char *path, struct pnb_series *s, char *err, size_t errlen)
{
	char tmp[] = "/tmp/pnbench-series-XXXXXX", oarg[64], out[256], why[400], log[96];
	char *const argv[] = { "git", "mailsplit", "-b", oarg, (char *)path, NULL };
	struct pnb_spawn o = { .out = out, .outlen = sizeof out, .log = log };
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	long n;
	int rc;

	if (!mkdtemp(tmp)) {
		snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	snprintf(s->tmpdir, sizeof s->tmpdir, "%s", tmp);
	snprintf(oarg, sizeof oarg, "-o%s", tmp);
	snprintf(log, sizeof log, "%s/mailsplit.log", tmp);
	if ((rc = pnb_spawn(argv, &o))) {
		pnb_log_reason(log, why, sizeof why);
		snprintf(err, errlen, "%s: git mailsplit failed (exit %d): %s", path, rc, why);
		return -1;
	}
	n = strtol(out, NULL, 10);
	if (n <= 0) {
		snprintf(err, errlen, "%s: no message in this mbox", path);
		return -1;
	}
	for (long i = 1; i <= n; i++) {
		char p[PNB_PATH], name[300];
		snprintf(p, sizeof p, "%s/%04ld", tmp, i);
		snprintf(name, sizeof name, "%ld of %s", i, base);
		if (add_patch(s, p, name, 1)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* Does the file hold a diff at all? (An mbox of a cover letter alone, or
 * a file that is no patch, would apply as nothing.) */
static int has_diff(const char *path)
{
	char line[1024];
	FILE *f = fopen(path, "re");
	int minus = 0, found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof line, f)) {
		if (!strncmp(line, "diff --git ", 11) || (minus && !strncmp(line, "+++ ", 4)))
			found = 1;
		minus = !strncmp(line, "--- ", 4);
	}
	fclose(f);
	return found;
}

int series_load(const char *path, struct pnb_series *s, char *err, size_t errlen)
{
	struct sha256_ctx c;
	uint8_t d[SHA256_DIGEST_SIZE];
	int rc;

	memset(s, 0, sizeof *s);
	/* The record names the series wherever it is read from later. */
	if (!realpath(path, s->path))
		snprintf(s->path, sizeof s->path, "%s", path);
	if (pnb_is_dir(path)) {
		snprintf(s->kind, sizeof s->kind, "quilt");
		rc = load_quilt(path, s, err, errlen);
	} else if (pnb_is_file(path)) {
		char first[6] = "";
		FILE *f = fopen(path, "re");
		if (f) {
			if (!fgets(first, sizeof first, f))
				first[0] = 0;
			fclose(f);
		}
		if (!strncmp(first, "From ", 5)) {
			snprintf(s->kind, sizeof s->kind, "mbox");
			rc = load_mbox(path, s, err, errlen);
		} else {
			const char *b = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
			snprintf(s->kind, sizeof s->kind, "patch");
			rc = add_patch(s, path, b, 1);
			if (rc)
				snprintf(err, errlen, "out of memory");
		}
	} else {
		snprintf(err, errlen, "series %s: %s", path,
			 access(path, F_OK) ? strerror(errno) : "not a file or directory");
		rc = -1;
	}
	if (rc) {
		series_free(s);
		return -1;
	}
	sha256_init(&c);
	for (int i = 0; i < s->n; i++) {
		char line[128];
		struct pnb_patch *p = &s->p[i];
		if (pnb_sha256_file(p->path, p->sha256)) {
			snprintf(err, errlen, "series %s: cannot read %s", path, p->path);
			series_free(s);
			return -1;
		}
		if (!has_diff(p->path)) {
			snprintf(err, errlen, "series %s: %s holds no diff", path, p->name);
			series_free(s);
			return -1;
		}
		patch_subject(p->path, p->subject, sizeof p->subject);
		int l = snprintf(line, sizeof line, "-p%d %s\n", p->strip, p->sha256);
		sha256_update(&c, (size_t)l, (const uint8_t *)line);
	}
	sha256_digest(&c, sizeof d, d);
	pnb_hex(d, sizeof d, s->digest);
	return 0;
}

void series_free(struct pnb_series *s)
{
	free(s->p);
	s->p = NULL;
	s->n = 0;
	if (s->tmpdir[0])
		pnb_rm_rf(s->tmpdir);
	s->tmpdir[0] = 0;
}

/* --- applying ------------------------------------------------------------- */

/* The paths a patch touches (old and new names), from git apply --numstat
 * -z: "added\tdeleted\tpath\0", or for a rename "added\tdeleted\t\0old\0new\0".
 * Appended to list (one path a line).  0, or -1 if git cannot read it. */
static int patch_paths(const struct pnb_patch *p, FILE *list)
{
	static char out[1 << 20];
	char strip[16];
	snprintf(strip, sizeof strip, "-p%d", p->strip);
	char *const argv[] = { "git", "apply", "--numstat", "-z", strip, (char *)p->path, NULL };
	struct pnb_spawn o = { .out = out, .outlen = sizeof out, .cwd = "/" };
	size_t len;
	int rc;

	memset(out, 0, sizeof out);
	if ((rc = pnb_spawn(argv, &o)))
		return -1;
	/* The capture is NUL-terminated at its end, and the records are
	 * NUL-separated: walk it by the length git wrote. */
	len = sizeof out - 1;
	while (len && !out[len - 1])
		len--;
	for (size_t i = 0; i < len;) {
		char *rec = out + i;
		size_t rl = strlen(rec);
		char *tab2 = strchr(rec, '\t') ? strchr(strchr(rec, '\t') + 1, '\t') : NULL;
		const char *path = tab2 ? tab2 + 1 : rec;
		if (*path)
			fprintf(list, "%s\n", path);
		i += rl + 1;
	}
	return 0;
}

/* Copy a file to a fresh inode (a hard link to base must not be written
 * through) with the current time as its mtime and base's mode. */
static int fresh_copy(const char *from, const char *to)
{
	struct stat st;
	int rc;

	if (stat(from, &st))
		return -errno;
	unlink(to);
	if ((rc = pnb_copy_file(from, to)))
		return rc;
	return chmod(to, st.st_mode & 07777) ? -errno : 0;
}

int series_apply(const struct pnb_series *s, const char *base, const char *patched,
		 char *err, size_t errlen)
{
	char state[PNB_PATH + 16], pend[PNB_PATH + 24], tmp[PNB_PATH + 16], parent[PNB_PATH];
	char line[PNB_PATH], why[600], log[PNB_PATH + 32], ceil[PNB_PATH + 40];
	FILE *f, *pf;
	int rc;

	snprintf(state, sizeof state, "%s.touched", patched);
	snprintf(pend, sizeof pend, "%s.touched.new", patched);
	snprintf(tmp, sizeof tmp, "%s.tmp", patched);
	snprintf(log, sizeof log, "%s.apply.log", patched);
	snprintf(parent, sizeof parent, "%s", patched);
	snprintf(ceil, sizeof ceil, "GIT_CEILING_DIRECTORIES=%s", dirname(parent));

	/* What this series will touch, before anything changes: if we are
	 * interrupted, the next series restores these too. */
	if (!(pf = fopen(pend, "we"))) {
		snprintf(err, errlen, "cannot write %s: %s", pend, strerror(errno));
		return -1;
	}
	for (int i = 0; i < s->n; i++)
		if (patch_paths(&s->p[i], pf)) {
			fclose(pf);
			unlink(pend);
			snprintf(err, errlen, "patch %d/%d %s (%s): git apply cannot read it", i + 1, s->n,
				 s->p[i].name, s->p[i].subject[0] ? s->p[i].subject : "no subject");
			return -1;
		}
	if ((f = fopen(state, "re"))) {
		while (fgets(line, sizeof line, f))
			fputs(line, pf);
		fclose(f);
	}
	if (fclose(pf) || rename(pend, state)) {
		snprintf(err, errlen, "cannot write %s: %s", state, strerror(errno));
		return -1;
	}

	/* A fresh copy of base: hard links keep every untouched file's
	 * inode and mtime.  .git stays out, so git apply never sees a
	 * repository to apply into. */
	pnb_rm_rf(tmp);
	pnb_rm_rf(patched);
	{
		char src[PNB_PATH + 4];
		snprintf(src, sizeof src, "%s/.", base);
		char *const cp[] = { "cp", "-al", src, tmp, NULL };
		struct pnb_spawn o = { .log = log };
		unlink(log);
		if ((rc = pnb_spawn(cp, &o))) {
			pnb_log_reason(log, why, sizeof why);
			pnb_rm_rf(tmp);
			snprintf(err, errlen, "cp -al %s %s failed (exit %d): %s", base, tmp, rc, why);
			return -1;
		}
		snprintf(src, sizeof src, "%s/.git", tmp);
		pnb_rm_rf(src);
	}
	/* Files a series touched before are links to base again, with base's
	 * old mtime, older than their objects: copies with a new mtime make
	 * make rebuild them. */
	if ((f = fopen(state, "re"))) {
		while (fgets(line, sizeof line, f)) {
			char from[PNB_PATH * 2], to[PNB_PATH * 2];
			struct stat st;
			line[strcspn(line, "\n")] = 0;
			if (!line[0] || strstr(line, "..") || line[0] == '/')
				continue;
			snprintf(from, sizeof from, "%s/%s", base, line);
			snprintf(to, sizeof to, "%s/%s", tmp, line);
			if (lstat(from, &st) == 0 && S_ISREG(st.st_mode) && (rc = fresh_copy(from, to))) {
				fclose(f);
				pnb_rm_rf(tmp);
				snprintf(err, errlen, "cannot restore %s: %s", to, strerror(-rc));
				return -1;
			}
		}
		fclose(f);
	}
	for (int i = 0; i < s->n; i++) {
		const struct pnb_patch *p = &s->p[i];
		char strip[16];
		snprintf(strip, sizeof strip, "-p%d", p->strip);
		/* git apply writes a changed file as a new inode (unlink, then
		 * create), so base, linked into tmp, is never written. */
		char *const argv[] = { "env", "-u", "GIT_DIR", "-u", "GIT_WORK_TREE", ceil, "git", "apply",
				       "--whitespace=nowarn", strip, (char *)p->path, NULL };
		struct pnb_spawn o = { .cwd = tmp, .log = log };
		unlink(log);
		if ((rc = pnb_spawn(argv, &o))) {
			pnb_log_reason(log, why, sizeof why);
			pnb_rm_rf(tmp);
			unlink(log);
			snprintf(err, errlen, "patch %d/%d %s (%s) does not apply to %s: %s", i + 1, s->n,
				 p->name, p->subject[0] ? p->subject : "no subject", base, why);
			return -1;
		}
	}
	unlink(log);
	if (rename(tmp, patched)) {
		snprintf(err, errlen, "cannot put %s in place: %s", patched, strerror(errno));
		pnb_rm_rf(tmp);
		return -1;
	}
	/* Done: only this series' files differ from base now. */
	if ((pf = fopen(pend, "we"))) {
		for (int i = 0; i < s->n; i++)
			patch_paths(&s->p[i], pf);
		if (fclose(pf) == 0)
			rename(pend, state);
	}
	return 0;
}

/* --- the record ----------------------------------------------------------- */

json_t *series_json(const struct pnb_series *s)
{
	json_t *o = json_object(), *a = json_array();

	json_object_set_new(o, "path", json_string(s->path));
	json_object_set_new(o, "kind", json_string(s->kind));
	json_object_set_new(o, "digest", json_string(s->digest));
	for (int i = 0; i < s->n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:i}", "name", s->p[i].name,
						   "subject", s->p[i].subject, "sha256", s->p[i].sha256,
						   "strip", s->p[i].strip));
	json_object_set_new(o, "patches", a);
	return o;
}

int series_write(const struct pnb_series *s, const char *kdir)
{
	char p[PNB_PATH + 32], t[PNB_PATH + 48];
	json_t *o = series_json(s);
	int rc;

	snprintf(p, sizeof p, "%s/series.json", kdir);
	snprintf(t, sizeof t, "%s/.series.json.%d", kdir, (int)getpid());
	rc = json_dump_file(o, t, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ? -EIO : 0;
	json_decref(o);
	if (!rc && rename(t, p))
		rc = -errno;
	if (rc)
		unlink(t);
	return rc;
}

json_t *kernel_series_json(const struct kernel_image *k)
{
	char d[PNB_PATH], p[PNB_PATH + 32];

	if (strcmp(k->kind, "tree") || !k->bzimage[0])
		return NULL;
	snprintf(d, sizeof d, "%s", k->bzimage);
	snprintf(p, sizeof p, "%s/series.json", dirname(d));
	return pnb_is_file(p) ? json_load_file(p, 0, NULL) : NULL;
}
