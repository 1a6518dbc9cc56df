/* pnbench's module build on the host (harness/kmod.c): Debian package
 * names, the headers Makefile fix, the shrinker API choice, the source
 * key, refusals; and, where a fetched debian:cloud kernel is in the cache
 * and the network works, the real build. */
#include <atf-c.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest.h"
#include "kmod.h"
#include "probetest.h"
#include "testutil.h"

const char *pnb_bindir(void) { return "/nonexistent"; }

static char *slurp_text(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	ATF_REQUIRE_MSG(f, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

ATF_TC_WITHOUT_HEAD(debian_packages);
ATF_TC_BODY(debian_packages, tc)
{
	char p[3][KMOD_PKG_LEN], err[256];

	ATF_REQUIRE_MSG(!kmod_debian_packages("6.1.0-57-cloud-amd64", p, err, sizeof err), "%s", err);
	ATF_CHECK_STREQ(p[0], "linux-headers-6.1.0-57-cloud-amd64");
	ATF_CHECK_STREQ(p[1], "linux-headers-6.1.0-57-common");
	ATF_CHECK_STREQ(p[2], "linux-kbuild-6.1");
	ATF_REQUIRE(!kmod_debian_packages("6.1.0-56-rt-amd64", p, err, sizeof err));
	ATF_CHECK_STREQ(p[0], "linux-headers-6.1.0-56-rt-amd64");
	ATF_CHECK_STREQ(p[1], "linux-headers-6.1.0-56-common-rt");
	ATF_REQUIRE(!kmod_debian_packages("6.12.9-1-amd64", p, err, sizeof err));
	ATF_CHECK_STREQ(p[1], "linux-headers-6.12.9-1-common");
	ATF_CHECK_STREQ(p[2], "linux-kbuild-6.12");

	ATF_CHECK_EQ(kmod_debian_packages("6.1.0-57", p, err, sizeof err), -1);
	ATF_CHECK_MSG(strstr(err, "not a Debian kernel release"), "%s", err);
	ATF_CHECK_EQ(kmod_debian_packages("6.12.0", p, err, sizeof err), -1);
	ATF_CHECK_EQ(kmod_debian_packages("6.1.0-57-cloud amd64", p, err, sizeof err), -1);
	ATF_CHECK_MSG(strstr(err, "bad character ' '"), "%s", err);
	ATF_CHECK_EQ(kmod_debian_packages("6.1.0-57-../x", p, err, sizeof err), -1);
}

ATF_TC_WITHOUT_HEAD(shrinker_api);
ATF_TC_BODY(shrinker_api, tc)
{
	ATF_CHECK_STREQ(kmod_shrinker_api("6.1.0-57-cloud-amd64"), "register_shrinker");
	ATF_CHECK_STREQ(kmod_shrinker_api("6.6.30"), "register_shrinker");
	ATF_CHECK_STREQ(kmod_shrinker_api("6.7.0"), "shrinker_alloc");
	ATF_CHECK_STREQ(kmod_shrinker_api("6.12.117"), "shrinker_alloc");
	ATF_CHECK_STREQ(kmod_shrinker_api("7.0"), "shrinker_alloc");
	ATF_CHECK_STREQ(kmod_shrinker_api("x"), "unknown");
}

ATF_TC_WITHOUT_HEAD(fix_makefile);
ATF_TC_BODY(fix_makefile, tc)
{
	char err[512];

	put_file("h/Makefile", "include /usr/src/linux-headers-6.1.0-57-common/Makefile\n");
	ATF_REQUIRE_MSG(!kmod_fix_makefile("h/Makefile", "/c/kmod/headers/R", err, sizeof err), "%s", err);
	ATF_CHECK_STREQ(slurp_text("h/Makefile"),
			"include /c/kmod/headers/R/usr/src/linux-headers-6.1.0-57-common/Makefile\n");
	/* Twice: left alone. */
	ATF_REQUIRE(!kmod_fix_makefile("h/Makefile", "/c/kmod/headers/R", err, sizeof err));
	ATF_CHECK_STREQ(slurp_text("h/Makefile"),
			"include /c/kmod/headers/R/usr/src/linux-headers-6.1.0-57-common/Makefile\n");
	/* Other lines are kept. */
	put_file("h2/Makefile", "# x\ninclude /usr/src/a/Makefile\nVAR = 1\n");
	ATF_REQUIRE(!kmod_fix_makefile("h2/Makefile", "/r", err, sizeof err));
	ATF_CHECK_STREQ(slurp_text("h2/Makefile"), "# x\ninclude /r/usr/src/a/Makefile\nVAR = 1\n");
	/* Not a Debian headers Makefile. */
	put_file("h3/Makefile", "obj-m := x.o\n");
	ATF_CHECK_EQ(kmod_fix_makefile("h3/Makefile", "/r", err, sizeof err), -1);
	ATF_CHECK_MSG(strstr(err, "no 'include /usr/src/...' line"), "%s", err);
	ATF_CHECK_EQ(kmod_fix_makefile("nothere/Makefile", "/r", err, sizeof err), -1);
	ATF_CHECK_MSG(strstr(err, "nothere/Makefile") && strstr(err, "No such file"), "%s", err);
}

ATF_TC(source_key);
ATF_TC_HEAD(source_key, tc)
{
	atf_tc_set_md_var(tc, "descr", "the cache key covers every module source and lib/lmk_table.h, "
			  "not editor droppings");
}
ATF_TC_BODY(source_key, tc)
{
	char src[1024], table[1024], err[256], k1[17], k2[17], k3[17], k4[17], cwd[900];

	ATF_REQUIRE(getcwd(cwd, sizeof cwd));
	put_file("t/probes/kmod/Kbuild", "obj-m := a.o\n");
	put_file("t/probes/kmod/a.c", "int a;\n");
	put_file("t/lib/lmk_table.h", "#define X 1\n");
	snprintf(src, sizeof src, "%s/t/probes/kmod", cwd);
	setenv("PNBENCH_KMOD_SRC", src, 1);
	ATF_REQUIRE_MSG(!kmod_source_dir(src, sizeof src, table, sizeof table, err, sizeof err), "%s", err);
	ATF_REQUIRE(!kmod_source_key(src, table, k1));
	put_file("t/probes/kmod/.a.c.swp", "junk");
	put_file("t/probes/kmod/a.o", "junk");
	ATF_REQUIRE(!kmod_source_key(src, table, k2));
	ATF_CHECK_STREQ(k1, k2);
	put_file("t/probes/kmod/a.c", "int a = 1;\n");
	ATF_REQUIRE(!kmod_source_key(src, table, k3));
	ATF_CHECK(strcmp(k1, k3) != 0);
	put_file("t/lib/lmk_table.h", "#define X 2\n");
	ATF_REQUIRE(!kmod_source_key(src, table, k4));
	ATF_CHECK(strcmp(k3, k4) != 0);

	unlink("t/probes/kmod/Kbuild");
	ATF_CHECK_EQ(kmod_source_dir(src, sizeof src, table, sizeof table, err, sizeof err), -1);
	ATF_CHECK_MSG(strstr(err, "has no Kbuild"), "%s", err);
}

ATF_TC_WITHOUT_HEAD(refusals);
ATF_TC_BODY(refusals, tc)
{
	struct kernel_image k;
	char dir[1024], why[512], cwd[900], cache[1000];

	ATF_REQUIRE(getcwd(cwd, sizeof cwd));
	snprintf(cache, sizeof cache, "%s/cache", cwd);
	setenv("PNBENCH_CACHE", cache, 1);
	memset(&k, 0, sizeof k);
	snprintf(k.kind, sizeof k.kind, "native");
	snprintf(k.spec, sizeof k.spec, "native");
	ATF_CHECK_EQ(kmod_build(&k, dir, sizeof dir, why, sizeof why), -1);
	ATF_CHECK_MSG(strstr(why, "never load modules into the host"), "%s", why);

	snprintf(k.kind, sizeof k.kind, "%s", "");
	ATF_CHECK_EQ(kmod_build(&k, dir, sizeof dir, why, sizeof why), -1);
	ATF_CHECK_MSG(strstr(why, "no build files"), "%s", why);

	/* A path kernel without modules/build. */
	snprintf(k.kind, sizeof k.kind, "path");
	snprintf(k.spec, sizeof k.spec, "path:/x/bzImage");
	snprintf(k.release, sizeof k.release, "6.1.0-test");
	snprintf(k.name, sizeof k.name, "path-test");
	snprintf(k.modules_dir, sizeof k.modules_dir, "%s/mods", cwd);
	mkdir("mods", 0755);
	ATF_CHECK_EQ(kmod_build(&k, dir, sizeof dir, why, sizeof why), -1);
	ATF_CHECK_MSG(strstr(why, "has no build directory"), "%s", why);

	setenv("PNBENCH_KMOD", "0", 1);
	ATF_CHECK_EQ(kmod_build(&k, dir, sizeof dir, why, sizeof why), -1);
	ATF_CHECK_MSG(strstr(why, "PNBENCH_KMOD=0"), "%s", why);
	unsetenv("PNBENCH_KMOD");
}

/* A user-supplied build directory: kmod_build runs make there and caches
 * the result per source key.  The "kernel build" is a stand-in Makefile
 * that compiles nothing but obeys make -C DIR M=OUT modules by writing the
 * three .ko names, so the host logic (copy, make, check, rename, cache) is
 * what is tested; the real kernel build is build_debian_cloud below. */
ATF_TC(build_cached);
ATF_TC_HEAD(build_cached, tc)
{
	atf_tc_set_md_var(tc, "descr", "make -C BUILD M=COPY modules, .ko files checked, result cached");
	atf_tc_set_md_var(tc, "require.progs", "make gcc");
}
ATF_TC_BODY(build_cached, tc)
{
	struct kernel_image k;
	char dir[1024], dir2[1024], why[512], cwd[900], cache[1000], p[1200];
	struct stat st;

	ATF_REQUIRE(getcwd(cwd, sizeof cwd));
	snprintf(cache, sizeof cache, "%s/cache", cwd);
	setenv("PNBENCH_CACHE", cache, 1);
	snprintf(p, sizeof p, "%s/../probes/kmod", atf_tc_get_config_var(tc, "srcdir"));
	setenv("PNBENCH_KMOD_SRC", p, 1);
	put_file("mods/build/Makefile",
		 "modules:\n\ttest -f $(M)/pnb_klmk.c && test -f $(M)/lmk_table.h\n"
		 "\tfor m in pnb_klmk pnb_memnotify pnb_simplelmk; do echo ko > $(M)/$$m.ko; done\n");
	memset(&k, 0, sizeof k);
	snprintf(k.kind, sizeof k.kind, "path");
	snprintf(k.spec, sizeof k.spec, "path:/x/bzImage");
	snprintf(k.release, sizeof k.release, "6.12.0-test");
	snprintf(k.name, sizeof k.name, "path-test");
	snprintf(k.modules_dir, sizeof k.modules_dir, "%s/mods", cwd);
	ATF_REQUIRE_MSG(!kmod_build(&k, dir, sizeof dir, why, sizeof why), "%s", why);
	ATF_CHECK_MSG(strstr(dir, "/cache/kmod/path-test-"), "%s", dir);
	for (int i = 0; i < KMOD_NMODULES; i++) {
		snprintf(p, sizeof p, "%s/%s.ko", dir, kmod_modules[i]);
		ATF_CHECK_MSG(stat(p, &st) == 0, "%s missing", p);
	}
	/* Cached: the build directory may go, the result stays. */
	unlink("mods/build/Makefile");
	ATF_REQUIRE_MSG(!kmod_build(&k, dir2, sizeof dir2, why, sizeof why), "%s", why);
	ATF_CHECK_STREQ(dir, dir2);

	/* A build that produces no .ko is a failure with the log named. */
	put_file("mods/build/Makefile", "modules:\n\t@echo 'error: no compiler today'; exit 2\n");
	snprintf(k.name, sizeof k.name, "path-test2");
	ATF_CHECK_EQ(kmod_build(&k, dir, sizeof dir, why, sizeof why), -1);
	ATF_CHECK_MSG(strstr(why, "make failed") && strstr(why, ".build.log"), "%s", why);
	char *log = strstr(why, "log "), logp[1024];
	ATF_REQUIRE(log);
	snprintf(logp, sizeof logp, "%.*s", (int)strcspn(log + 4, ")"), log + 4);
	ATF_CHECK_MSG(strstr(slurp_text(logp), "no compiler today"), "log %s", logp);
}

/* The real thing, when debian:cloud is fetched: headers downloaded (apt
 * needs the network), Makefile fixed, three modules built with the
 * register_shrinker API. */
ATF_TC(build_debian_cloud);
ATF_TC_HEAD(build_debian_cloud, tc)
{
	atf_tc_set_md_var(tc, "descr", "the modules build against Debian's 6.1 cloud headers");
	atf_tc_set_md_var(tc, "require.progs", "make gcc apt-get dpkg-deb");
	atf_tc_set_md_var(tc, "timeout", "600");
}
ATF_TC_BODY(build_debian_cloud, tc)
{
	struct kernel_image k;
	char dir[1024], why[1024], p[1200];
	struct stat st;

	/* The user's cache: a fetched kernel and its headers are reused. */
	use_pnbench_cache(atf_tc_has_config_var(tc, "pnbench_cache") ?
			  atf_tc_get_config_var(tc, "pnbench_cache") : NULL);
	snprintf(p, sizeof p, "%s/../probes/kmod", atf_tc_get_config_var(tc, "srcdir"));
	setenv("PNBENCH_KMOD_SRC", p, 1);
	if (kernel_resolve("debian:cloud", 0, &k, why, sizeof why))
		pnb_skip("debian:cloud is not fetched (pnbench kernels fetch debian:cloud): %s", why);
	ATF_REQUIRE_MSG(!kmod_build(&k, dir, sizeof dir, why, sizeof why), "%s", why);
	for (int i = 0; i < KMOD_NMODULES; i++) {
		snprintf(p, sizeof p, "%s/%s.ko", dir, kmod_modules[i]);
		ATF_CHECK_MSG(stat(p, &st) == 0 && st.st_size > 10000, "%s missing or tiny", p);
	}
	snprintf(p, sizeof p, "modinfo -F vermagic '%s/pnb_klmk.ko' | grep -q '^%s '", dir, k.release);
	ATF_CHECK_MSG(system(p) == 0, "vermagic of pnb_klmk.ko is not %s", k.release);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, debian_packages);
	ATF_TP_ADD_TC(tp, shrinker_api);
	ATF_TP_ADD_TC(tp, fix_makefile);
	ATF_TP_ADD_TC(tp, source_key);
	ATF_TP_ADD_TC(tp, refusals);
	ATF_TP_ADD_TC(tp, build_cached);
	ATF_TP_ADD_TC(tp, build_debian_cloud);
	return atf_no_error();
}
