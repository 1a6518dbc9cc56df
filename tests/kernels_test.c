/* Kernel specs, bzImage headers, config summaries, the fragment check, and
 * lib/spawn, which runs every tool the kernel sources use.
 * Every case runs with PNBENCH_CACHE in its own work directory, so nothing
 * here reads or writes the user's cache unless it says so. */
#include <atf-c.h>

#include "testutil.h"
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "spawn.h"

static char err[4096];

static void private_cache(void)
{
	char cwd[1024];
	ATF_REQUIRE(getcwd(cwd, sizeof cwd));
	strcat(cwd, "/cache");
	ATF_REQUIRE_EQ(setenv("PNBENCH_CACHE", cwd, 1), 0);
	ATF_REQUIRE_STREQ(pnb_cache_dir(), cwd);
}

static const char *data(const atf_tc_t *tc, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/data/kernels/%s", atf_tc_get_config_var(tc, "srcdir"), name);
	return buf;
}

static void abs_path(const char *name, char *buf, size_t len)
{
	char cwd[900];
	ATF_REQUIRE(getcwd(cwd, sizeof cwd));
	snprintf(buf, len, "%s/%s", cwd, name);
}

/* A file with a setup header as the x86 boot protocol lays it out: "HdrS"
 * at 0x202, protocol at 0x206, kernel_version at 0x20E pointing (minus
 * 0x200) at the version string. */
static void fake_bzimage(const char *path, const char *magic, unsigned kv, const char *version,
			 unsigned char fill)
{
	unsigned char b[4096];
	FILE *f;

	memset(b, fill, sizeof b);
	memcpy(b + 0x202, magic, 4);
	b[0x206] = 0x0f;
	b[0x207] = 0x02;
	b[0x20e] = kv & 0xff;
	b[0x20f] = kv >> 8;
	if (version)
		memcpy(b + kv + 0x200, version, strlen(version) + 1);
	ATF_REQUIRE((f = fopen(path, "w")));
	ATF_REQUIRE_EQ(fwrite(b, 1, sizeof b, f), sizeof b);
	ATF_REQUIRE_EQ(fclose(f), 0);
}

static void expect_error(const char *spec, int allow, int want_rc, const char *want)
{
	struct kernel_image k;
	int rc = kernel_resolve(spec, allow, &k, err, sizeof err);

	ATF_CHECK_EQ_MSG(rc, want_rc, "'%s': rc %d, want %d (%s)", spec, rc, want_rc, err);
	ATF_CHECK_MSG(strstr(err, want), "'%s': error '%s' lacks '%s'", spec, err, want);
	ATF_CHECK_MSG(!strchr(err, '\n'), "'%s': error is not one line: %s", spec, err);
}

ATF_TC(spec_errors);
ATF_TC_HEAD(spec_errors, tc) { atf_tc_set_md_var(tc, "descr", "Malformed specs are usage errors (-2) naming the spec"); }
ATF_TC_BODY(spec_errors, tc)
{
	private_cache();
	expect_error("", 1, -2, "empty kernel spec");
	expect_error("bogus:1", 1, -2, "kernel 'bogus:1': unknown kernel kind 'bogus' (want "
		     "debian:VERSION-FLAVOUR, debian:cloud|amd64|rt, path:BZIMAGE, tree:DIR or native)");
	expect_error("vmlinuz", 1, -2, "kernel 'vmlinuz': unknown kernel kind");
	expect_error(":x", 1, -2, "unknown kernel kind");
	expect_error("debian:", 1, -2, "nothing after 'debian:'");
	expect_error("path:", 1, -2, "nothing after 'path:'");
	expect_error("tree:", 1, -2, "nothing after 'tree:'");
	expect_error("debian:6.1.0-56;reboot", 1, -2, "bad character ';'");
	expect_error("debian:6.1.0 56", 1, -2, "bad character ' '");
	expect_error("path:/x/bzImage,initrd=/y", 1, -2, "unknown option 'initrd=/y'");
}

ATF_TC(path_errors);
ATF_TC_HEAD(path_errors, tc) { atf_tc_set_md_var(tc, "descr", "path: a missing file, a non-bzImage, bad modules/config name what is wrong"); }
ATF_TC_BODY(path_errors, tc)
{
	char bz[1100], txt[1100], spec[2400], src[1024];
	FILE *f;

	private_cache();
	expect_error("path:/nonexistent/bzImage", 1, -2, "/nonexistent/bzImage: No such file or directory");

	abs_path("notakernel", txt, sizeof txt);
	ATF_REQUIRE((f = fopen(txt, "w")));
	for (int i = 0; i < 200; i++)
		fputs("this is text, not a kernel\n", f);
	fclose(f);
	snprintf(spec, sizeof spec, "path:%s", txt);
	expect_error(spec, 1, -2, "notakernel: not a bzImage (no \"HdrS\" at offset 0x202)");

	/* Too short to hold a setup header at all. */
	ATF_REQUIRE((f = fopen("short", "w")));
	fputs("HdrS", f);
	fclose(f);
	expect_error("path:short", 1, -2, "short: not a bzImage");

	expect_error("path:.", 1, -2, ".: not a regular file");

	abs_path("bzImage", bz, sizeof bz);
	fake_bzimage(bz, "HdrS", 0x100, "6.99.0-pnbtest (x@y) #1 SMP", 0);
	snprintf(spec, sizeof spec, "path:%s,modules=/nonexistent", bz);
	expect_error(spec, 1, -2, "modules=/nonexistent: no such directory");
	snprintf(spec, sizeof spec, "path:%s,modules=%s", bz, atf_tc_get_config_var(tc, "srcdir"));
	expect_error(spec, 1, -2, "not the modules of release 6.99.0-pnbtest");
	snprintf(spec, sizeof spec, "path:%s,config=%s", bz, data(tc, "nosuch", src, sizeof src));
	expect_error(spec, 1, -2, "no such file");
}

ATF_TC(bzimage_header);
ATF_TC_HEAD(bzimage_header, tc) { atf_tc_set_md_var(tc, "descr", "The release string comes from the setup header's kernel_version"); }
ATF_TC_BODY(bzimage_header, tc)
{
	char rel[128];

	/* Garbage around the string must not leak into the release. */
	fake_bzimage("good", "HdrS", 0x100, "6.99.0-pnbtest (builder@host) #1 SMP PREEMPT", 0xff);
	ATF_REQUIRE_EQ_MSG(kernel_bzimage_release("good", rel, sizeof rel, err, sizeof err), 0, "%s", err);
	ATF_CHECK_STREQ(rel, "6.99.0-pnbtest");

	/* A release with no builder part ends at the NUL. */
	fake_bzimage("bare", "HdrS", 0x300, "6.12.0-rc1+", 0);
	ATF_REQUIRE_EQ_MSG(kernel_bzimage_release("bare", rel, sizeof rel, err, sizeof err), 0, "%s", err);
	ATF_CHECK_STREQ(rel, "6.12.0-rc1+");

	fake_bzimage("nomagic", "HdrX", 0x100, "6.99.0 x", 0);
	ATF_CHECK_EQ(kernel_bzimage_release("nomagic", rel, sizeof rel, err, sizeof err), -1);
	ATF_CHECK_MSG(strstr(err, "nomagic: not a bzImage"), "%s", err);

	fake_bzimage("noversion", "HdrS", 0, NULL, 0);
	ATF_CHECK_EQ(kernel_bzimage_release("noversion", rel, sizeof rel, err, sizeof err), -1);
	ATF_CHECK_MSG(strstr(err, "no kernel version string"), "%s", err);

	/* Pointer beyond the file. */
	fake_bzimage("wild", "HdrS", 0xf000, NULL, 0);
	ATF_CHECK_EQ(kernel_bzimage_release("wild", rel, sizeof rel, err, sizeof err), -1);
	ATF_CHECK_MSG(strstr(err, "not readable"), "%s", err);

	/* Pointer at binary junk. */
	fake_bzimage("junk", "HdrS", 0x100, "\x01\x02\x03", 0);
	ATF_CHECK_EQ(kernel_bzimage_release("junk", rel, sizeof rel, err, sizeof err), -1);
	ATF_CHECK_MSG(strstr(err, "not readable"), "%s", err);
}

ATF_TC(path_resolve);
ATF_TC_HEAD(path_resolve, tc) { atf_tc_set_md_var(tc, "descr", "path: release, config digest, and names that differ per image"); }
ATF_TC_BODY(path_resolve, tc)
{
	struct kernel_image a, b;
	char bz1[1100], bz2[1100], spec[2400], cfg[1024];

	private_cache();
	abs_path("one", bz1, sizeof bz1);
	abs_path("two", bz2, sizeof bz2);
	fake_bzimage(bz1, "HdrS", 0x100, "6.99.0-pnbtest (a@b) #1", 0);
	fake_bzimage(bz2, "HdrS", 0x100, "6.99.0-pnbtest (a@b) #2", 0);
	snprintf(spec, sizeof spec, "path:%s,config=%s", bz1, data(tc, "config-sample", cfg, sizeof cfg));
	ATF_REQUIRE_EQ_MSG(kernel_resolve(spec, 0, &a, err, sizeof err), 0, "%s", err);
	ATF_CHECK_STREQ(a.kind, "path");
	ATF_CHECK_STREQ(a.spec, spec);
	ATF_CHECK_STREQ(a.release, "6.99.0-pnbtest");
	ATF_CHECK_STREQ(a.bzimage, bz1);
	ATF_CHECK_STREQ(a.modules_dir, "");
	/* sha256sum tests/data/kernels/config-sample */
	ATF_CHECK_STREQ(a.config_digest, "f02bf5b81a58b54c9b7af13e6321dc0126021e37c6d66be75d0fe9a495b6ae4e");
	ATF_CHECK_MSG(!strncmp(a.name, "path-6.99.0-pnbtest-", 20) && strlen(a.name) == 28, "name %s", a.name);

	snprintf(spec, sizeof spec, "path:%s", bz2);
	ATF_REQUIRE_EQ_MSG(kernel_resolve(spec, 0, &b, err, sizeof err), 0, "%s", err);
	ATF_CHECK_STREQ(b.release, a.release);
	ATF_CHECK_MSG(strcmp(a.name, b.name), "two images of one release share the name %s", a.name);
	ATF_CHECK_STREQ(b.config, "");
	ATF_CHECK_STREQ(b.config_digest, "");
	ATF_CHECK(kernel_config_summary(&b) == NULL);

	/* modules= given as an INSTALL_MOD_PATH finds lib/modules/<release>. */
	ATF_REQUIRE_EQ(mkdir("mods", 0755), 0);
	ATF_REQUIRE_EQ(mkdir("mods/lib", 0755), 0);
	ATF_REQUIRE_EQ(mkdir("mods/lib/modules", 0755), 0);
	ATF_REQUIRE_EQ(mkdir("mods/lib/modules/6.99.0-pnbtest", 0755), 0);
	snprintf(spec, sizeof spec, "path:%s,modules=mods", bz2);
	ATF_REQUIRE_EQ_MSG(kernel_resolve(spec, 0, &b, err, sizeof err), 0, "%s", err);
	ATF_CHECK_MSG(strstr(b.modules_dir, "/mods/lib/modules/6.99.0-pnbtest") &&
		      b.modules_dir[0] == '/', "modules_dir %s", b.modules_dir);
}

/* The user's own cache (kyua gives tests a private HOME). */
static const char *user_cache(const atf_tc_t *tc, char *buf, size_t len)
{
	struct passwd *pw;
	/* Always into buf: callers print and glob buf itself. */
	if (atf_tc_has_config_var(tc, "kernel_cache")) {
		snprintf(buf, len, "%s", atf_tc_get_config_var(tc, "kernel_cache"));
		return buf;
	}
	pw = getpwuid(getuid());
	snprintf(buf, len, "%s/.cache/pnbench", pw ? pw->pw_dir : "/nonexistent");
	return buf;
}

/* Resolve spec in cache (fetching unless PNBENCH_OFFLINE=1) and return its
 * release.  In a child: pnb_cache_dir() keeps the first directory it is
 * asked for, and the cases here still need their private cache after. */
static void resolve_release(const char *cache, const char *spec, char *rel, size_t len)
{
	struct { int rc; char text[sizeof err]; } m = { -1, "" };
	int p[2], st;
	ssize_t n;
	pid_t pid;

	ATF_REQUIRE(pipe(p) == 0);
	ATF_REQUIRE((pid = fork()) >= 0);
	if (pid == 0) {
		struct kernel_image k;

		close(p[0]);
		if (setenv("PNBENCH_CACHE", cache, 1))
			snprintf(m.text, sizeof m.text, "setenv: %s", strerror(errno));
		else if (!(m.rc = kernel_resolve(spec, !pnb_offline(), &k, m.text, sizeof m.text)))
			snprintf(m.text, sizeof m.text, "%s", k.release);
		(void)!write(p[1], &m, sizeof m);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], &m, sizeof m);
	close(p[0]);
	waitpid(pid, &st, 0);
	ATF_REQUIRE_MSG(n == sizeof m, "resolving %s: the child did not report (status %d)", spec, st);
	if (m.rc)
		pnb_no_kernel(spec, m.text);
	snprintf(rel, len, "%s", m.text);
}

ATF_TC(real_bzimage);
ATF_TC_HEAD(real_bzimage, tc)
{
	atf_tc_set_md_var(tc, "descr", "debian:cloud, resolved here (fetched into the user's cache unless "
			  "PNBENCH_OFFLINE=1), and every Debian kernel cached there: release read from "
			  "the header matches the package");
	atf_tc_set_md_var(tc, "timeout", "900");
}
ATF_TC_BODY(real_bzimage, tc)
{
	char cache[1024], pat[1200], rel[128], spec[2400], cloud[128];
	struct kernel_image k;
	int found = 0;
	glob_t g;

	/* Resolved by this case itself: a kernel left behind by whichever
	 * program happened to run first is not something to rely on. */
	resolve_release(user_cache(tc, cache, sizeof cache), "debian:cloud", cloud, sizeof cloud);
	snprintf(pat, sizeof pat, "%s/kernels/debian-*/boot/vmlinuz-*", cache);
	ATF_REQUIRE_MSG(!glob(pat, 0, NULL, &g) && g.gl_pathc, "debian:cloud resolved to %s, yet %s "
			"matches nothing", cloud, pat);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *want = strrchr(g.gl_pathv[i], '/') + strlen("/vmlinuz-");

		found += !strcmp(want, cloud);
		ATF_REQUIRE_EQ_MSG(kernel_bzimage_release(g.gl_pathv[i], rel, sizeof rel, err, sizeof err), 0,
				   "%s", err);
		ATF_CHECK_STREQ(rel, want);

		/* The unpacked package layout: config and modules are found. */
		private_cache();
		snprintf(spec, sizeof spec, "path:%s", g.gl_pathv[i]);
		ATF_REQUIRE_EQ_MSG(kernel_resolve(spec, 0, &k, err, sizeof err), 0, "%s", err);
		ATF_CHECK_MSG(strstr(k.config, "/boot/config-") && strstr(k.config, want), "config %s", k.config);
		ATF_CHECK_MSG(strstr(k.modules_dir, "/lib/modules/") && strstr(k.modules_dir, want),
			      "modules %s", k.modules_dir);
		ATF_CHECK_EQ(strlen(k.config_digest), 64);
	}
	globfree(&g);
	ATF_CHECK_EQ_MSG(found, 1, "debian:cloud (%s) is not among the cached bzImages", cloud);
}

static json_t *summary(const char *config)
{
	struct kernel_image k;
	json_t *o;
	char *s;

	memset(&k, 0, sizeof k);
	snprintf(k.config, sizeof k.config, "%s", config);
	s = kernel_config_summary(&k);
	ATF_REQUIRE_MSG(s, "no summary for %s", config);
	o = json_loads(s, 0, NULL);
	ATF_REQUIRE_MSG(o && json_is_object(o), "summary is not a JSON object: %s", s);
	free(s);
	return o;
}

#define CHECK_KEY(o, key, want) \
	ATF_CHECK_STREQ_MSG(json_string_value(json_object_get((o), (key))) ? \
			    json_string_value(json_object_get((o), (key))) : "(missing)", (want), "%s", (key))

ATF_TC(config_summary);
ATF_TC_HEAD(config_summary, tc) { atf_tc_set_md_var(tc, "descr", "The mechanism options of a config, absent ones as n"); }
ATF_TC_BODY(config_summary, tc)
{
	char p[1024];
	struct kernel_image k;
	json_t *o = summary(data(tc, "config-sample", p, sizeof p));

	CHECK_KEY(o, "CONFIG_PSI", "y");
	CHECK_KEY(o, "CONFIG_PSI_DEFAULT_DISABLED", "n");
	CHECK_KEY(o, "CONFIG_MEMCG", "y");
	CHECK_KEY(o, "CONFIG_MEMCG_V1", "n");
	CHECK_KEY(o, "memcg_v1_controller", "y");	/* 6.1: v1 comes with MEMCG */
	CHECK_KEY(o, "CONFIG_PREEMPT_RT", "y");
	CHECK_KEY(o, "CONFIG_CGROUPS", "y");
	CHECK_KEY(o, "CONFIG_TRACING", "y");
	CHECK_KEY(o, "CONFIG_FTRACE", "y");
	CHECK_KEY(o, "CONFIG_VIRTIO_BLK", "m");
	CHECK_KEY(o, "CONFIG_EXT4_FS", "m");
	CHECK_KEY(o, "CONFIG_ZRAM", "m");
	CHECK_KEY(o, "CONFIG_LRU_GEN", "y");
	CHECK_KEY(o, "CONFIG_LRU_GEN_ENABLED", "n");
	ATF_CHECK_EQ(json_object_size(o), 14);
	json_decref(o);

	o = summary(data(tc, "config-memcg-v1-off", p, sizeof p));
	CHECK_KEY(o, "CONFIG_PSI_DEFAULT_DISABLED", "y");
	CHECK_KEY(o, "CONFIG_MEMCG_V1", "n");
	CHECK_KEY(o, "memcg_v1_controller", "n");
	CHECK_KEY(o, "CONFIG_PREEMPT_RT", "n");
	CHECK_KEY(o, "CONFIG_TRACING", "n");
	CHECK_KEY(o, "CONFIG_VIRTIO_BLK", "y");
	CHECK_KEY(o, "CONFIG_LRU_GEN_ENABLED", "y");
	json_decref(o);

	memset(&k, 0, sizeof k);
	ATF_CHECK(kernel_config_summary(&k) == NULL);
	snprintf(k.config, sizeof k.config, "%s", data(tc, "nosuch", p, sizeof p));
	ATF_CHECK(kernel_config_summary(&k) == NULL);
}

ATF_TC(fragment_check);
ATF_TC_HEAD(fragment_check, tc) { atf_tc_set_md_var(tc, "descr", "Fragment lines lost in .config are each reported; unknown symbols skipped"); }
ATF_TC_BODY(fragment_check, tc)
{
	char frag[1024], cfg[1024], tree[1024], missing[2048], skipped[1024];
	int n;

	data(tc, "fragment", frag, sizeof frag);
	data(tc, "config-fragment-lost", cfg, sizeof cfg);
	data(tc, "tree", tree, sizeof tree);

	n = kernel_fragment_check(frag, cfg, NULL, missing, sizeof missing, skipped, sizeof skipped);
	ATF_CHECK_EQ_MSG(n, 4, "%d lost: %s", n, missing);
	ATF_CHECK_MSG(strstr(missing, "# CONFIG_PSI_DEFAULT_DISABLED is not set (got y)"), "%s", missing);
	ATF_CHECK_MSG(strstr(missing, "CONFIG_MEMCG_V1=y (got absent)"), "%s", missing);
	ATF_CHECK_MSG(strstr(missing, "CONFIG_VIRTIO_BLK=y (got m)"), "%s", missing);
	ATF_CHECK_MSG(strstr(missing, "CONFIG_LOG_BUF_SHIFT=18 (got 17)"), "%s", missing);
	ATF_CHECK_MSG(!strstr(missing, "DRM") && !strstr(missing, "CMDLINE") &&
		      !strstr(missing, "CONFIG_PSI=") && !strstr(missing, "CONFIG_MEMCG="), "%s", missing);
	ATF_CHECK_STREQ(skipped, "");

	/* A tree whose Kconfig lacks MEMCG_V1 (older than 6.11). */
	n = kernel_fragment_check(frag, cfg, tree, missing, sizeof missing, skipped, sizeof skipped);
	ATF_CHECK_EQ_MSG(n, 3, "%d lost: %s", n, missing);
	ATF_CHECK_MSG(!strstr(missing, "MEMCG_V1"), "%s", missing);
	ATF_CHECK_STREQ(skipped, "CONFIG_MEMCG_V1 (not in this tree's Kconfig)");

	/* Every line survives in a config equal to the fragment. */
	n = kernel_fragment_check(frag, frag, NULL, missing, sizeof missing, skipped, sizeof skipped);
	ATF_CHECK_EQ_MSG(n, 0, "%s", missing);

	ATF_CHECK_EQ(kernel_fragment_check(frag, "/nonexistent", NULL, missing, sizeof missing, NULL, 0),
		     -ENOENT);
}

/* The fragment itself, with no kernel needed: this runs in every CI. */
ATF_TC(project_fragment);
ATF_TC_HEAD(project_fragment, tc) { atf_tc_set_md_var(tc, "descr", "qemu/pnbench.config carries what the harness needs"); }
ATF_TC_BODY(project_fragment, tc)
{
	static const char *const need[] = {
		"CONFIG_PSI=y", "# CONFIG_PSI_DEFAULT_DISABLED is not set", "CONFIG_MEMCG=y",
		"CONFIG_MEMCG_V1=y", "CONFIG_CGROUPS=y", "CONFIG_VIRTIO_PCI=y", "CONFIG_VIRTIO_BLK=y",
		"CONFIG_EXT4_FS=y", "CONFIG_SERIAL_8250_CONSOLE=y", "CONFIG_BLK_DEV_INITRD=y",
		"CONFIG_DEVTMPFS=y", "CONFIG_TRACING=y", "CONFIG_FTRACE=y", "CONFIG_ZRAM=y",
		"CONFIG_PVPANIC=y", "CONFIG_MAGIC_SYSRQ=y", "CONFIG_EVENTFD=y", "CONFIG_TIMERFD=y",
		"CONFIG_SIGNALFD=y", "CONFIG_EPOLL=y", "CONFIG_PROC_FS=y", "CONFIG_SYSFS=y",
		"CONFIG_PRINTK=y", NULL
	};
	char frag[1024], *text;
	size_t n;
	FILE *f;

	snprintf(frag, sizeof frag, "%s/../qemu/pnbench.config", atf_tc_get_config_var(tc, "srcdir"));
	ATF_REQUIRE_MSG((f = fopen(frag, "r")), "%s: %s", frag, strerror(errno));
	text = calloc(1, 1 << 16);
	n = fread(text, 1, (1 << 16) - 1, f);
	fclose(f);
	text[n] = 0;
	for (int i = 0; need[i]; i++) {
		char line[128];
		snprintf(line, sizeof line, "\n%s\n", need[i]);
		ATF_CHECK_MSG(strstr(text, line), "%s lacks '%s'", frag, need[i]);
	}
	free(text);
}

/* Separate from project_fragment so that having no tree build (the usual
 * CI) is decided before any check and cannot hide a broken fragment. */
ATF_TC(tree_config_keeps_fragment);
ATF_TC_HEAD(tree_config_keeps_fragment, tc) { atf_tc_set_md_var(tc, "descr", "every tree kernel built in the user's cache kept all of qemu/pnbench.config"); }
ATF_TC_BODY(tree_config_keeps_fragment, tc)
{
	char frag[1024], cache[1024], missing[4096];
	struct kernel_image *ks;
	int nk, ntree = 0;

	snprintf(frag, sizeof frag, "%s/../qemu/pnbench.config", atf_tc_get_config_var(tc, "srcdir"));
	if (setenv("PNBENCH_CACHE", user_cache(tc, cache, sizeof cache), 1))
		atf_tc_fail("setenv");
	nk = kernel_cached(&ks);
	ATF_REQUIRE_MSG(nk >= 0, "cannot list %s/kernels: %s", cache, strerror(-nk));
	for (int i = 0; i < nk; i++)
		ntree += !strcmp(ks[i].kind, "tree");
	if (!ntree) {
		free(ks);
		pnb_skip("no tree kernel built in %s to check a .config against "
			 "(pnbench kernels build --tree linux-source-6.12)", cache);
	}
	for (int i = 0; i < nk; i++) {
		if (strcmp(ks[i].kind, "tree"))
			continue;
		int lost = kernel_fragment_check(frag, ks[i].config, NULL, missing, sizeof missing, NULL, 0);
		/* A tree older than 6.11 legitimately lacks MEMCG_V1. */
		ATF_CHECK_MSG(lost == 0 || (lost == 1 && strstr(missing, "CONFIG_MEMCG_V1=y (got absent)")),
			      "%s: %d lost: %s", ks[i].name, lost, missing);
	}
	free(ks);
}

ATF_TC(tree_errors);
ATF_TC_HEAD(tree_errors, tc) { atf_tc_set_md_var(tc, "descr", "tree: missing dir, not a kernel tree, not built"); }
ATF_TC_BODY(tree_errors, tc)
{
	char dir[1100], spec[2400];
	FILE *f;

	private_cache();
	expect_error("tree:/nonexistent/linux", 0, -2, "/nonexistent/linux: no such directory");
	ATF_REQUIRE_EQ(mkdir("notakernel", 0755), 0);
	abs_path("notakernel", dir, sizeof dir);
	snprintf(spec, sizeof spec, "tree:%s", dir);
	expect_error(spec, 0, -2, "is not a kernel tree");

	/* The shape of a kernel tree, never built: without permission to
	 * build, the error says how to build it. */
	ATF_REQUIRE_EQ(mkdir("linux", 0755), 0);
	ATF_REQUIRE_EQ(mkdir("linux/scripts", 0755), 0);
	ATF_REQUIRE_EQ(mkdir("linux/scripts/kconfig", 0755), 0);
	ATF_REQUIRE((f = fopen("linux/scripts/kconfig/merge_config.sh", "w")));
	fclose(f);
	ATF_REQUIRE((f = fopen("linux/Makefile", "w")));
	fputs("VERSION = 6\nPATCHLEVEL = 99\nSUBLEVEL = 0\nEXTRAVERSION = -test\n", f);
	fclose(f);
	abs_path("linux", dir, sizeof dir);
	snprintf(spec, sizeof spec, "tree:%s", dir);
	expect_error(spec, 0, -1, "not built: run pnbench kernels build --tree");

	/* An in-tree build makes O= builds fail: said before building. */
	ATF_REQUIRE((f = fopen("linux/.config", "w")));
	fclose(f);
	expect_error(spec, 1, -1, "has an in-tree build (.config)");
}

ATF_TC(debian_errors);
ATF_TC_HEAD(debian_errors, tc)
{
	atf_tc_set_md_var(tc, "descr", "debian: an unknown package names what apt knows; unfetched says how to fetch");
	atf_tc_set_md_var(tc, "require.progs", "apt-cache");
}
ATF_TC_BODY(debian_errors, tc)
{
	char list[8192];
	int n;

	private_cache();
	expect_error("debian:6.1.0-56-cloud-amd64", 0, -1,
		     "not fetched: run pnbench kernels fetch debian:6.1.0-56-cloud-amd64");
	expect_error("debian:cloud", 0, -1, "no cloud-amd64 kernel fetched");

	n = kernel_debian_available("cloud-amd64", list, sizeof list);
	ATF_REQUIRE_MSG(n >= 0, "apt-cache failed: %d", n);
	if (n == 0)
		pnb_skip("apt-cache knows no linux-image-6.1.0-*-unsigned (run apt-get update)");
	ATF_CHECK_MSG(!strncmp(list, "6.1.0-", 6) && strstr(list, "-cloud-amd64"), "%s", list);
	ATF_CHECK_MSG(!strstr(list, "-rt-amd64"), "flavour filter leaks: %s", list);

	/* apt-cache show fails before anything is downloaded. */
	expect_error("debian:6.1.0-999-amd64", 1, -2,
		     "no Debian package linux-image-6.1.0-999-amd64-unsigned (apt-cache knows: 6.1.0-");
	expect_error("debian:6.1.0-999-cloud-amd64", 1, -2, "(-cloud-amd64))");
	expect_error("debian:9.9-sparc", 1, -2, "flavours: amd64, cloud-amd64, rt-amd64");
	/* Malformed whether or not fetching is allowed: never "not fetched". */
	expect_error("debian:banana", 0, -2, "'banana' is not a Debian kernel version");
}

ATF_TC(debian_fetch);
ATF_TC_HEAD(debian_fetch, tc)
{
	atf_tc_set_md_var(tc, "descr", "Fetch debian:cloud into a private cache: bzImage, config, modules.dep");
	atf_tc_set_md_var(tc, "require.progs", "apt-get apt-cache dpkg-deb");
	atf_tc_set_md_var(tc, "timeout", "900");
}
ATF_TC_BODY(debian_fetch, tc)
{
	struct kernel_image k, again;
	char p[2048], rel[128];
	char *s;

	if (strcmp(atf_tc_get_config_var_wd(tc, "allow_fetch", "no"), "yes"))
		pnb_skip("downloads a kernel package: run with kyua -v test_suites.pnbench.allow_fetch=yes");
	private_cache();
	ATF_REQUIRE_EQ_MSG(kernel_resolve("debian:cloud", 1, &k, err, sizeof err), 0, "%s", err);
	ATF_CHECK_STREQ(k.kind, "debian");
	ATF_CHECK_STREQ(k.spec, "debian:cloud");
	ATF_CHECK_MSG(!strncmp(k.release, "6.1.0-", 6) && strstr(k.release, "-cloud-amd64"), "%s", k.release);
	snprintf(p, sizeof p, "debian-%s", k.release);
	ATF_CHECK_STREQ(k.name, p);
	ATF_REQUIRE_EQ_MSG(kernel_bzimage_release(k.bzimage, rel, sizeof rel, err, sizeof err), 0, "%s", err);
	ATF_CHECK_STREQ(rel, k.release);
	snprintf(p, sizeof p, "%s/modules.dep", k.modules_dir);
	ATF_CHECK_MSG(access(p, R_OK) == 0, "%s: depmod did not run", p);
	ATF_CHECK_EQ(strlen(k.config_digest), 64);
	ATF_REQUIRE((s = kernel_config_summary(&k)));
	ATF_CHECK_MSG(strstr(s, "\"CONFIG_PSI\":\"y\""), "%s", s);
	free(s);

	/* Cached now: resolves without fetching, to the same files. */
	ATF_REQUIRE_EQ_MSG(kernel_resolve("debian:cloud", 0, &again, err, sizeof err), 0, "%s", err);
	ATF_CHECK_STREQ(again.bzimage, k.bzimage);
	snprintf(p, sizeof p, "debian:%s", k.release);
	ATF_REQUIRE_EQ_MSG(kernel_resolve(p, 0, &again, err, sizeof err), 0, "%s", err);
	ATF_CHECK_STREQ(again.config_digest, k.config_digest);
}

/* --- lib/spawn: how every kernel tool runs --------------------------------- */

static void tee_count(void *arg, const char *buf, size_t n)
{
	(void)buf;
	*(size_t *)arg += n;
}

static void tick_count(void *arg, double elapsed_s)
{
	(void)elapsed_s;
	(*(int *)arg)++;
}

ATF_TC_WITHOUT_HEAD(spawn_capture);
ATF_TC_BODY(spawn_capture, tc)
{
	char out[64], errb[64], why[256], cwd[512];
	const char *env[] = { "PNB_SPAWN_X=ok", NULL };
	char *const sh[] = { "sh", "-c", "echo out:$PNB_SPAWN_X; echo err >&2; pwd; exit 3", NULL };
	size_t teed = 0;
	(void)tc;

	ATF_REQUIRE(getcwd(cwd, sizeof cwd));
	ATF_REQUIRE(mkdir("sub", 0755) == 0);
	/* stdout and stderr apart, env and cwd applied, the exit status kept. */
	ATF_CHECK_EQ(pnb_spawn(sh, &(struct pnb_spawn){ .out = out, .outlen = sizeof out, .err = errb,
					.errlen = sizeof errb, .env = env, .cwd = "sub", .why = why,
					.whylen = sizeof why }), 3);
	char want[600];
	snprintf(want, sizeof want, "out:ok\n%s/sub\n", cwd);
	ATF_CHECK_STREQ(out, want);
	ATF_CHECK_STREQ(errb, "err\n");
	ATF_CHECK_STREQ(why, "exit 3: err");
	ATF_CHECK(getenv("PNB_SPAWN_X") == NULL);
	/* A buffer keeps its first outlen-1 bytes, and the child never blocks
	 * on a full pipe: 1 MB of output into 8 bytes. */
	char *const big[] = { "sh", "-c", "head -c 1048576 /dev/zero | tr '\\0' x", NULL };
	char small[8];
	ATF_CHECK_EQ(pnb_spawn(big, &(struct pnb_spawn){ .out = small, .outlen = sizeof small,
					 .tee = tee_count, .tee_arg = &teed }), 0);
	ATF_CHECK_STREQ(small, "xxxxxxx");
	ATF_CHECK_EQ(teed, (size_t)1048576);
	/* No shell: a space in argv[1] is part of one argument. */
	char *const echo[] = { "printf", "[%s]", "a b; echo c", NULL };
	ATF_CHECK_EQ(pnb_spawn(echo, &(struct pnb_spawn){ .out = out, .outlen = sizeof out }), 0);
	ATF_CHECK_STREQ(out, "[a b; echo c]");
}

ATF_TC_WITHOUT_HEAD(spawn_log_and_failures);
ATF_TC_BODY(spawn_log_and_failures, tc)
{
	char why[256], line[128];
	char *const two[] = { "sh", "-c", "echo one; echo 'E: it broke' >&2; echo last; exit 1", NULL };
	char *const none[] = { "/nonexistent/pnb-tool", NULL };
	char *const sig[] = { "sh", "-c", "kill -TERM $$", NULL };
	(void)tc;

	/* Both streams append to the log; the reason is its error line. */
	ATF_CHECK_EQ(pnb_spawn(two, &(struct pnb_spawn){ .log = "t.log", .why = why, .whylen = sizeof why }), 1);
	ATF_CHECK_EQ(pnb_spawn(two, &(struct pnb_spawn){ .log = "t.log" }), 1);
	ATF_CHECK_STREQ(why, "exit 1: E: it broke");
	pnb_log_reason("t.log", line, sizeof line);
	ATF_CHECK_STREQ(line, "E: it broke");
	FILE *f = fopen("t.log", "r");
	int n = 0;
	ATF_REQUIRE(f);
	while (fgets(line, sizeof line, f))
		n++;
	fclose(f);
	ATF_CHECK_EQ(n, 6);
	pnb_log_reason("no-such.log", line, sizeof line);
	ATF_CHECK_STREQ(line, "(no output)");
	/* Exec failure is 127, as from a shell; a signal is 128 + its number. */
	ATF_CHECK_EQ(pnb_spawn(none, &(struct pnb_spawn){ .why = why, .whylen = sizeof why }), 127);
	ATF_CHECK_MSG(strstr(why, "exit 127"), "%s", why);
	ATF_CHECK_EQ(pnb_spawn(sig, &(struct pnb_spawn){ .why = why, .whylen = sizeof why }), 128 + SIGTERM);
	ATF_CHECK_STREQ(why, "killed by signal 15");
}

ATF_TC_WITHOUT_HEAD(spawn_timeout);
ATF_TC_BODY(spawn_timeout, tc)
{
	char why[256], out[16];
	int ticks = 0;
	/* The grandchild (sleep) holds stdout too: the kill must reach the
	 * whole group, or the pipe would stay open for 30 s. */
	char *const slow[] = { "sh", "-c", "sleep 30; echo late", NULL };
	char *const ticking[] = { "sh", "-c", "sleep 2.3", NULL };
	struct timespec t0, t1;
	(void)tc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ATF_CHECK_EQ(pnb_spawn(slow, &(struct pnb_spawn){ .out = out, .outlen = sizeof out, .timeout_s = 0.5,
					  .why = why, .whylen = sizeof why }), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double took = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	ATF_CHECK_MSG(took >= 0.5 && took < 5, "took %.2f s", took);
	ATF_CHECK_STREQ(why, "timed out after 0.5s");
	ATF_CHECK_STREQ(out, "");
	/* Ticks every second while it runs, with no pipe to wake on. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ATF_CHECK_EQ(pnb_spawn(ticking, &(struct pnb_spawn){ .tick_s = 1, .tick = tick_count,
					     .tick_arg = &ticks }), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* One a whole second: 2 at 2.3 s, more only on a loaded machine. */
	ATF_CHECK_MSG(ticks >= 2 && ticks <= (int)took, "%d ticks in %.2f s", ticks, took);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, spec_errors);
	ATF_TP_ADD_TC(tp, path_errors);
	ATF_TP_ADD_TC(tp, bzimage_header);
	ATF_TP_ADD_TC(tp, path_resolve);
	ATF_TP_ADD_TC(tp, real_bzimage);
	ATF_TP_ADD_TC(tp, config_summary);
	ATF_TP_ADD_TC(tp, fragment_check);
	ATF_TP_ADD_TC(tp, project_fragment);
	ATF_TP_ADD_TC(tp, tree_config_keeps_fragment);
	ATF_TP_ADD_TC(tp, tree_errors);
	ATF_TP_ADD_TC(tp, debian_errors);
	ATF_TP_ADD_TC(tp, debian_fetch);
	ATF_TP_ADD_TC(tp, spawn_capture);
	ATF_TP_ADD_TC(tp, spawn_log_and_failures);
	ATF_TP_ADD_TC(tp, spawn_timeout);
	return atf_no_error();
}
