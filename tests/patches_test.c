/* Patched trees (tree:TREE+SERIES): spec parsing, reading mboxes and quilt
 * series, the errors of a patch that does not apply, and the whole build
 * path on a tiny fake tree whose `make` (a script first in PATH) only
 * copies a fake bzImage and records what it was given: the cache key, the
 * patched copy, the untouched original and the series record meta.json
 * takes.  No kernel is compiled; every case has its own PNBENCH_CACHE. */
#include <atf-c.h>

#include "testutil.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest.h"
#include "hostrun.h"
#include "patches.h"

static char work[1024], err[4096];

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ATF_REQUIRE_MSG(f, "%s: %s", path, strerror(errno));
	ATF_REQUIRE(fputs(text, f) >= 0);
	ATF_REQUIRE_EQ(fclose(f), 0);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	struct cmd_result *r = malloc(sizeof *r);
	va_list ap;

	ATF_REQUIRE(r);
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	char *const argv[] = { "/bin/sh", "-ec", cmd, NULL };
	ATF_REQUIRE_EQ(run_cmd(argv, 60, r), 0);
	ATF_REQUIRE_EQ_MSG(r->status, 0, "%s: exit %d: %s", cmd, r->status, r->err);
	free(r);
}

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;
	ATF_REQUIRE_MSG(f, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
}

/* The tree: enough for the harness to call it a kernel tree. */
static void setup(void)
{
	char cache[1100];

	ATF_REQUIRE(getcwd(work, sizeof work));
	snprintf(cache, sizeof cache, "%s/cache", work);
	ATF_REQUIRE_EQ(setenv("PNBENCH_CACHE", cache, 1), 0);
	ATF_REQUIRE_EQ(setenv("PNB_TEST_WORK", work, 1), 0);
	sh("mkdir -p fake/scripts/kconfig fake/mm");
	put("fake/Makefile", "VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\nEXTRAVERSION =\n");
	put("fake/scripts/kconfig/merge_config.sh", "exit 0\n");
	put("fake/mm/vmpressure.c", "int window = 512;\n");
	put("fake/mm/vmscan.c", "int a;\n");
}

#define MAIL(sha, n, of, subject, file, body)                                    \
	"From " sha " Mon Sep 17 00:00:00 2001\n"                               \
	"From: A U Thor <a@example.org>\n"                                      \
	"Date: Mon, 1 Jan 2024 00:00:00 +0000\n"                                \
	"Subject: [PATCH v2 " #n "/" #of "] " subject "\n"                       \
	"\n"                                                                    \
	"Why it matters.\n"                                                     \
	"---\n"                                                                 \
	"\n"                                                                    \
	"diff --git a/" file " b/" file "\n"                                    \
	"--- a/" file "\n"                                                      \
	"+++ b/" file "\n"                                                      \
	body                                                                    \
	"-- \n"                                                                 \
	"2.39.5\n"                                                              \
	"\n"

#define WIDEN "@@ -1 +1 @@\n-int window = 512;\n+int window = 1024;\n"
#define ADD_B "@@ -1 +1,2 @@\n int a;\n+int b;\n"
#define ADD_C_TO_X "@@ -1 +1,2 @@\n int x;\n+int c;\n"

/* Two patches, the first subject folded over two lines as mailers do. */
static const char good_mbox[] =
	"From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001\n"
	"From: A U Thor <a@example.org>\n"
	"Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
	"Subject: [PATCH v2 1/2] mm: vmpressure: widen the\n"
	" window\n"
	"\n"
	"Why it matters.\n"
	"---\n"
	"\n"
	"diff --git a/mm/vmpressure.c b/mm/vmpressure.c\n"
	"--- a/mm/vmpressure.c\n"
	"+++ b/mm/vmpressure.c\n"
	WIDEN
	"-- \n2.39.5\n\n"
	MAIL("2222222222222222222222222222222222222222", 2, 2, "mm: vmscan: add b", "mm/vmscan.c", ADD_B);

static const char bad_mbox[] =
	MAIL("1111111111111111111111111111111111111111", 1, 2, "mm: vmpressure: widen the window",
	     "mm/vmpressure.c", WIDEN)
	MAIL("3333333333333333333333333333333333333333", 2, 2, "mm: vmscan: add c", "mm/vmscan.c",
	     ADD_C_TO_X);

/* A quilt directory: a header-less patch at -p0 and a mail-style one. */
static void make_quilt(const char *dir)
{
	char p[1200];
	sh("mkdir -p %s", dir);
	snprintf(p, sizeof p, "%s/series", dir);
	put(p, "# applied in this order\nadd-b.patch -p0\n\nwiden.patch  # from the list\n");
	snprintf(p, sizeof p, "%s/add-b.patch", dir);
	put(p, "Add b to vmscan\n\nIndex: mm/vmscan.c\n--- mm/vmscan.c\n+++ mm/vmscan.c\n" ADD_B);
	snprintf(p, sizeof p, "%s/widen.patch", dir);
	put(p, "Subject: [PATCH] mm: vmpressure: widen the window\n\n---\n"
	       "--- a/mm/vmpressure.c\n+++ b/mm/vmpressure.c\n" WIDEN);
}

ATF_TC(split);
ATF_TC_HEAD(split, tc) { atf_tc_set_md_var(tc, "descr", "TREE+SERIES splits at the last '+'; a path that exists is a tree"); }
ATF_TC_BODY(split, tc)
{
	char tree[256];
	const char *series;

	(void)tc;
	ATF_REQUIRE(getcwd(work, sizeof work));
	ATF_CHECK_EQ(series_split("linux-source-6.12+p/s.mbox", tree, sizeof tree, &series, err, sizeof err), 0);
	ATF_CHECK_STREQ(tree, "linux-source-6.12");
	ATF_CHECK(series && !strcmp(series, "p/s.mbox"));
	ATF_CHECK_EQ(series_split("a+b+c", tree, sizeof tree, &series, err, sizeof err), 0);
	ATF_CHECK_STREQ(tree, "a+b");
	ATF_CHECK(series && !strcmp(series, "c"));
	ATF_CHECK_EQ(series_split("/x/linux", tree, sizeof tree, &series, err, sizeof err), 0);
	ATF_CHECK(!series);
	ATF_CHECK_STREQ(tree, "/x/linux");
	ATF_REQUIRE_EQ(mkdir("linux-6.12+fixes", 0755), 0);
	ATF_CHECK_EQ(series_split("linux-6.12+fixes", tree, sizeof tree, &series, err, sizeof err), 0);
	ATF_CHECK(!series);
	ATF_CHECK_STREQ(tree, "linux-6.12+fixes");
	ATF_CHECK_EQ(series_split("+s.mbox", tree, sizeof tree, &series, err, sizeof err), -1);
	ATF_CHECK(strstr(err, "want TREE+SERIES"));
	ATF_CHECK_EQ(series_split("tree+", tree, sizeof tree, &series, err, sizeof err), -1);
	ATF_CHECK(strstr(err, "'tree+'"));
}

ATF_TC(load);
ATF_TC_HEAD(load, tc) { atf_tc_set_md_var(tc, "descr", "mbox, quilt directory and single patch: patches in order, subjects, strip levels, a digest of the bytes"); }
ATF_TC_BODY(load, tc)
{
	struct pnb_series s, t;
	char d1[65];

	(void)tc;
	setup();
	put("s.mbox", good_mbox);
	ATF_REQUIRE_MSG(series_load("s.mbox", &s, err, sizeof err) == 0, "%s", err);
	ATF_CHECK_STREQ(s.kind, "mbox");
	ATF_REQUIRE_EQ(s.n, 2);
	ATF_CHECK_STREQ(s.p[0].subject, "mm: vmpressure: widen the window");
	ATF_CHECK_STREQ(s.p[1].subject, "mm: vmscan: add b");
	ATF_CHECK_STREQ(s.p[0].name, "1 of s.mbox");
	ATF_CHECK_EQ(s.p[1].strip, 1);
	ATF_CHECK_EQ(strlen(s.digest), 64);
	snprintf(d1, sizeof d1, "%s", s.digest);
	char tmpdir[PNB_PATH];
	snprintf(tmpdir, sizeof tmpdir, "%s", s.tmpdir);
	series_free(&s);
	ATF_CHECK_MSG(access(tmpdir, F_OK) != 0, "the split mbox %s was left behind", tmpdir);

	/* The same bytes, the same digest; one byte more, another. */
	ATF_REQUIRE(series_load("s.mbox", &s, err, sizeof err) == 0);
	ATF_CHECK_STREQ(s.digest, d1);
	series_free(&s);
	sh("sed -i 's/1024/1025/' s.mbox");
	ATF_REQUIRE(series_load("s.mbox", &s, err, sizeof err) == 0);
	ATF_CHECK(strcmp(s.digest, d1) != 0);
	series_free(&s);

	make_quilt("q");
	ATF_REQUIRE_MSG(series_load("q", &s, err, sizeof err) == 0, "%s", err);
	ATF_CHECK_STREQ(s.kind, "quilt");
	ATF_REQUIRE_EQ(s.n, 2);
	ATF_CHECK_STREQ(s.p[0].name, "add-b.patch");
	ATF_CHECK_EQ(s.p[0].strip, 0);
	ATF_CHECK_STREQ(s.p[0].subject, "Add b to vmscan");
	ATF_CHECK_STREQ(s.p[1].name, "widen.patch");
	ATF_CHECK_EQ(s.p[1].strip, 1);
	ATF_CHECK_STREQ(s.p[1].subject, "mm: vmpressure: widen the window");
	/* The strip level is part of the digest. */
	sh("sed -i 's/^widen.patch.*/widen.patch -p1/' q/series");
	ATF_REQUIRE(series_load("q", &t, err, sizeof err) == 0);
	ATF_CHECK_STREQ(t.digest, s.digest);
	series_free(&t);
	sh("sed -i 's/^add-b.patch -p0/add-b.patch -p1/' q/series");
	ATF_REQUIRE(series_load("q", &t, err, sizeof err) == 0);
	ATF_CHECK(strcmp(t.digest, s.digest) != 0);
	series_free(&t);
	series_free(&s);

	ATF_REQUIRE(series_load("q/widen.patch", &s, err, sizeof err) == 0);
	ATF_CHECK_STREQ(s.kind, "patch");
	ATF_CHECK_EQ(s.n, 1);
	ATF_CHECK_STREQ(s.p[0].name, "widen.patch");
	series_free(&s);
}

static void expect_spec_error(const char *spec, int want_rc, const char *want)
{
	struct kernel_image k;
	int rc = kernel_resolve(spec, 1, &k, err, sizeof err);

	ATF_CHECK_EQ_MSG(rc, want_rc, "'%s': rc %d, want %d (%s)", spec, rc, want_rc, err);
	ATF_CHECK_MSG(strstr(err, want), "'%s': error '%s' lacks '%s'", spec, err, want);
	ATF_CHECK_MSG(!strchr(err, '\n'), "'%s': error is not one line: %s", spec, err);
}

ATF_TC(malformed);
ATF_TC_HEAD(malformed, tc) { atf_tc_set_md_var(tc, "descr", "A malformed series spec is a usage error (-2, exit 2) naming what is wrong"); }
ATF_TC_BODY(malformed, tc)
{
	struct cmd_result *r = malloc(sizeof *r);
	char pnbench[1024];

	ATF_REQUIRE(r);
	setup();
	expect_spec_error("tree:fake+missing.mbox", -2, "series missing.mbox: No such file or directory");
	expect_spec_error("tree:fake+", -2, "want TREE+SERIES");
	expect_spec_error("tree:+s.mbox", -2, "want TREE+SERIES");
	sh("mkdir -p noseries");
	expect_spec_error("tree:fake+noseries", -2, "without a quilt series file");
	make_quilt("q");
	sh("echo gone.patch >> q/series");
	expect_spec_error("tree:fake+q", -2, "q/series line 5 names q/gone.patch: no such patch file");
	make_quilt("q2");
	sh("sed -i 's/^widen.patch.*/widen.patch -R/' q2/series");
	expect_spec_error("tree:fake+q2", -2, "option '-R' for widen.patch: only -pN is understood");
	put("empty.series", "");
	expect_spec_error("tree:fake+empty.series", -2, "empty.series holds no diff");
	put("cover.mbox", "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
			  "Subject: [PATCH 0/2] the cover letter\n\nJust words.\n");
	expect_spec_error("tree:fake+cover.mbox", -2, "1 of cover.mbox holds no diff");
	put("s.mbox", good_mbox);
	expect_spec_error("tree:nowhere+s.mbox", -2, "nowhere: no such directory");

	/* Through the command line: exit 2, one line. */
	bin_path(atf_tc_get_config_var(tc, "srcdir"), "pnbench", pnbench, sizeof pnbench);
	char *const argv[] = { pnbench, "kernels", "build", "--tree", "fake+missing.mbox", NULL };
	ATF_REQUIRE_EQ(run_cmd(argv, 30, r), 0);
	ATF_CHECK_EQ_MSG(r->status, 2, "exit %d: %s", r->status, r->err);
	ATF_CHECK_EQ_MSG(count_lines(r->err), 1, "%s", r->err);
	ATF_CHECK(strstr(r->err, "missing.mbox"));
	free(r);
}

ATF_TC(does_not_apply);
ATF_TC_HEAD(does_not_apply, tc) { atf_tc_set_md_var(tc, "descr", "A patch that does not apply fails the build (-1, exit 1) with one line naming it; the tree is untouched"); }
ATF_TC_BODY(does_not_apply, tc)
{
	struct cmd_result *r = malloc(sizeof *r);
	struct kernel_image k;
	char pnbench[1024], buf[256];

	ATF_REQUIRE(r);
	setup();
	put("bad.mbox", bad_mbox);
	int rc = kernel_build("fake+bad.mbox", 1, &k, err, sizeof err);
	ATF_CHECK_EQ_MSG(rc, -1, "rc %d: %s", rc, err);
	ATF_CHECK_MSG(strstr(err, "patch 2/2 2 of bad.mbox (mm: vmscan: add c) does not apply to "),
		      "%s", err);
	ATF_CHECK_MSG(strstr(err, "mm/vmscan.c"), "git apply's reason missing: %s", err);
	ATF_CHECK_MSG(!strchr(err, '\n'), "not one line: %s", err);
	/* Patch 1 applied to the copy, never to the tree itself. */
	slurp("fake/mm/vmpressure.c", buf, sizeof buf);
	ATF_CHECK_STREQ(buf, "int window = 512;\n");
	ATF_CHECK_MSG(access("cache/kernels", F_OK) != 0 || system("ls cache/kernels | grep -q tree-") != 0,
		      "a kernel directory was made");

	bin_path(atf_tc_get_config_var(tc, "srcdir"), "pnbench", pnbench, sizeof pnbench);
	char *const argv[] = { pnbench, "kernels", "build", "--tree", "fake+bad.mbox", NULL };
	ATF_REQUIRE_EQ(run_cmd(argv, 60, r), 0);
	ATF_CHECK_EQ_MSG(r->status, 1, "exit %d: %s", r->status, r->err);
	/* Progress lines, then the error: its last line. */
	char *last = strrchr(r->err, '\n');
	while (last && last > r->err && last[1] == 0) {
		*last = 0;
		last = strrchr(r->err, '\n');
	}
	last = last ? last + 1 : r->err;
	ATF_CHECK_MSG(strstr(last, "patch 2/2 2 of bad.mbox (mm: vmscan: add c) does not apply"), "%s", last);
	free(r);
}

/* A bzImage header (x86 boot protocol: "HdrS" at 0x202, the version
 * string's offset - 0x200 at 0x20E) naming release 6.12.0-fake. */
static void fake_bzimage(const char *path)
{
	unsigned char b[2048] = { 0 };
	FILE *f;

	memcpy(b + 0x202, "HdrS", 4);
	b[0x206] = 0x0f;
	b[0x207] = 0x02;
	b[0x20e] = 0x00;
	b[0x20f] = 0x02;	/* 0x200 + 0x200 = 0x400 */
	memcpy(b + 0x400, "6.12.0-fake (t@localhost) #1", 28);
	ATF_REQUIRE((f = fopen(path, "w")));
	ATF_REQUIRE_EQ(fwrite(b, 1, sizeof b, f), sizeof b);
	ATF_REQUIRE_EQ(fclose(f), 0);
}

/* make, as the build calls it: -C SRC O=OBJ ARCH=x86_64 TARGETS. */
static void fake_make(void)
{
	char path[2200];

	sh("mkdir -p fakebin");
	put("fakebin/make",
	    "#!/bin/sh\n"
	    "# patches_test's make: record the call, make what the harness copies out\n"
	    "while [ $# -gt 0 ]; do case $1 in -C) src=$2; shift;; O=*) O=${1#O=};;\n"
	    "  defconfig) : > \"$O/.config\";;\n"
	    "  bzImage) mkdir -p \"$O/arch/x86/boot\"; cp \"$PNB_TEST_WORK/bzImage\" \"$O/arch/x86/boot/\";\n"
	    "           cat \"$src/mm/vmpressure.c\" \"$src/mm/vmscan.c\" > \"$O/built-from\";;\n"
	    "  INSTALL_MOD_PATH=*) mkdir -p \"${1#INSTALL_MOD_PATH=}/lib/modules/6.12.0-fake\";;\n"
	    "esac; shift; done\n"
	    "echo \"$src\" >> \"$PNB_TEST_WORK/make.log\"\n");
	ATF_REQUIRE_EQ(chmod("fakebin/make", 0755), 0);
	fake_bzimage("bzImage");
	snprintf(path, sizeof path, "%s/fakebin:%s", work, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	ATF_REQUIRE_EQ(setenv("PATH", path, 1), 0);
}

static int make_calls(void)
{
	char buf[8192] = "";
	FILE *f = fopen("make.log", "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	return count_lines(buf);
}

ATF_TC(build_and_record);
ATF_TC_HEAD(build_and_record, tc) { atf_tc_set_md_var(tc, "descr", "A series builds from a patched copy, is cached by tree plus series digest, and its record (meta.json's kernel.series) names every patch's subject"); }
ATF_TC_BODY(build_and_record, tc)
{
	struct kernel_image k, k2, plain;
	char buf[512], obj[2048];
	struct stat a, b;
	json_t *j;
	int calls;

	setup();
	fake_make();
	put("s.mbox", good_mbox);
	ATF_REQUIRE_MSG(kernel_build("fake+s.mbox", 1, &k, err, sizeof err) == 0, "%s", err);
	ATF_CHECK_STREQ(k.kind, "tree");
	ATF_CHECK_STREQ(k.release, "6.12.0-fake");
	ATF_CHECK_STREQ(k.spec, "tree:fake+s.mbox");
	calls = make_calls();
	ATF_CHECK(calls > 0);

	/* make saw the patched copy; the tree is as it was. */
	ATF_REQUIRE(kernel_tree_build_dir(&k, obj, sizeof obj) == 0);
	snprintf(buf, sizeof buf, "%s/built-from", obj);
	slurp(buf, buf, sizeof buf);
	ATF_CHECK_STREQ(buf, "int window = 1024;\nint a;\nint b;\n");
	slurp("fake/mm/vmpressure.c", buf, sizeof buf);
	ATF_CHECK_STREQ(buf, "int window = 512;\n");

	/* The record. */
	ATF_REQUIRE((j = kernel_series_json(&k)));
	ATF_CHECK_STREQ(json_string_value(json_object_get(j, "kind")), "mbox");
	snprintf(buf, sizeof buf, "%s/s.mbox", work);
	ATF_CHECK_STREQ(json_string_value(json_object_get(j, "path")), buf);
	json_t *ps = json_object_get(j, "patches");
	ATF_REQUIRE_EQ(json_array_size(ps), 2);
	ATF_CHECK_STREQ(json_string_value(json_object_get(json_array_get(ps, 0), "subject")),
			"mm: vmpressure: widen the window");
	ATF_CHECK_STREQ(json_string_value(json_object_get(json_array_get(ps, 1), "subject")),
			"mm: vmscan: add b");
	ATF_CHECK_EQ(strlen(json_string_value(json_object_get(json_array_get(ps, 1), "sha256"))), 64);
	json_decref(j);

	/* Cached: the same kernel, without make; found without building. */
	ATF_REQUIRE_MSG(kernel_build("fake+s.mbox", 1, &k2, err, sizeof err) == 0, "%s", err);
	ATF_CHECK_STREQ(k2.name, k.name);
	ATF_CHECK_EQ(make_calls(), calls);
	ATF_REQUIRE_MSG(kernel_resolve("tree:fake+s.mbox", 0, &k2, err, sizeof err) == 0, "%s", err);
	ATF_CHECK_STREQ(k2.name, k.name);

	/* kernels build prints what the kernel carries. */
	{
		char pnbench[1024];
		struct cmd_result *r = malloc(sizeof *r);
		ATF_REQUIRE(r);
		bin_path(atf_tc_get_config_var(tc, "srcdir"), "pnbench", pnbench, sizeof pnbench);
		char *const argv[] = { pnbench, "kernels", "build", "--tree", "fake+s.mbox", NULL };
		ATF_REQUIRE_EQ(run_cmd(argv, 60, r), 0);
		ATF_CHECK_EQ_MSG(r->status, 0, "%s", r->err);
		ATF_CHECK_MSG(strstr(r->out, "s.mbox (2 patches)\n") &&
			      strstr(r->out, "  1 mm: vmpressure: widen the window\n") &&
			      strstr(r->out, "  2 mm: vmscan: add b\n"), "%s", r->out);
		ATF_CHECK_EQ(make_calls(), calls);
		free(r);
	}

	/* The unpatched tree is another kernel, without a series. */
	ATF_REQUIRE_MSG(kernel_build("fake", 1, &plain, err, sizeof err) == 0, "%s", err);
	ATF_CHECK(strcmp(plain.name, k.name) != 0);
	ATF_CHECK(kernel_series_json(&plain) == NULL);

	/* A second series on the same tree: the file only the first one
	 * changed comes back as the original, newer than it was. */
	ATF_REQUIRE(stat("cache/src", &a) == 0);
	make_quilt("q");
	sh("printf 'add-b.patch -p0\\n' > q/series");
	ATF_REQUIRE_MSG(kernel_build("fake+q", 1, &k2, err, sizeof err) == 0, "%s", err);
	ATF_CHECK(strcmp(k2.name, k.name) != 0);
	ATF_REQUIRE(kernel_tree_build_dir(&k2, obj, sizeof obj) == 0);
	snprintf(buf, sizeof buf, "%s/built-from", obj);
	slurp(buf, buf, sizeof buf);
	ATF_CHECK_STREQ(buf, "int window = 512;\nint a;\nint b;\n");
	{
		char patched[2048];
		struct stat pv;
		snprintf(patched, sizeof patched, "%s/src/patched-", getenv("PNBENCH_CACHE"));
		ATF_REQUIRE(stat("fake/mm/vmpressure.c", &b) == 0);
		ATF_REQUIRE_EQ(system("ls -d cache/src/patched-*/ | head -1 | tr -d '\\n' > patched.path"), 0);
		slurp("patched.path", patched, sizeof patched);
		strncat(patched, "mm/vmpressure.c", sizeof patched - strlen(patched) - 1);
		ATF_REQUIRE_MSG(stat(patched, &pv) == 0, "%s", patched);
		ATF_CHECK_MSG(pv.st_ino != b.st_ino, "the restored file is the original's inode");
		ATF_CHECK_MSG(pv.st_mtim.tv_sec > b.st_mtim.tv_sec ||
			      (pv.st_mtim.tv_sec == b.st_mtim.tv_sec && pv.st_mtim.tv_nsec > b.st_mtim.tv_nsec),
			      "the restored file is not newer than the original");
		/* An untouched file stays a link: its mtime did not move. */
		strcpy(strstr(patched, "mm/vmpressure.c"), "Makefile");
		ATF_REQUIRE(stat(patched, &pv) == 0);
		ATF_REQUIRE(stat("fake/Makefile", &b) == 0);
		ATF_CHECK_EQ(pv.st_ino, b.st_ino);
	}
	slurp("fake/mm/vmscan.c", buf, sizeof buf);
	ATF_CHECK_STREQ(buf, "int a;\n");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, split);
	ATF_TP_ADD_TC(tp, load);
	ATF_TP_ADD_TC(tp, malformed);
	ATF_TP_ADD_TC(tp, does_not_apply);
	ATF_TP_ADD_TC(tp, build_and_record);
	return atf_no_error();
}
