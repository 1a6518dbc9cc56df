/* The guest image (harness/image.c): the newc archives as Debian's cpio(1)
 * reads them, the module closure on real Debian modules.dep files, the run
 * archive's argument round trip, and the ext4 data disk as e2fsprogs sees it.
 * Booting the image is the guest runner's test (it needs a kernel). */
#include <atf-c.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "guest.h"
#include "testutil.h"

/* harness/main.c owns this in the pnbench binary; here the programs come
 * from the tree.  The cache is the test's own directory, through
 * PNBENCH_CACHE (kernels.c's pnb_cache_dir, which image.c's module build
 * links in). */
static char bindir[1024], cachedir[1024];
const char *pnb_bindir(void) { return bindir; }

static struct cmd_result res;

static void setup(const atf_tc_t *tc)
{
	char cwd[900];
	ATF_REQUIRE(getcwd(cwd, sizeof cwd));
	snprintf(bindir, sizeof bindir, "%s/../bin", atf_tc_get_config_var(tc, "srcdir"));
	snprintf(cachedir, sizeof cachedir, "%s/cache", cwd);
	setenv("PNBENCH_CACHE", cachedir, 1);
}

static void fixture(const atf_tc_t *tc, const char *sub, char *buf, size_t len)
{
	snprintf(buf, len, "%s/data/image/%s", atf_tc_get_config_var(tc, "srcdir"), sub);
}

/* sh -c CMD, with the sbin directories e2fsprogs lives in. */
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int n = snprintf(cmd, sizeof cmd, "PATH=$PATH:/sbin:/usr/sbin; ");
	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
	va_end(ap);
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	ATF_REQUIRE_EQ(run_cmd(argv, 120, &res), 0);
}

/* The line of `cpio -tv` output for name, or NULL. */
static const char *listing_line(const char *listing, const char *name, char *line, size_t len)
{
	for (const char *p = listing; *p;) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		snprintf(line, len, "%.*s", (int)l, p);
		char *sp = strrchr(line, ' ');
		char *arrow = strstr(line, " -> ");
		if (arrow) {	/* symlink: "... name -> target" */
			*arrow = 0;
			sp = strrchr(line, ' ');
			*arrow = ' ';
			if (sp && !strncmp(sp + 1, name, strlen(name)) && sp[1 + strlen(name)] == ' ')
				return line;
		} else if (sp && !strcmp(sp + 1, name)) {
			return line;
		}
		p += l + (nl ? 1 : 0);
	}
	return NULL;
}

static void expect_entry(const char *listing, const char *name, const char *mode, const char *dev)
{
	char line[512];
	const char *l = listing_line(listing, name, line, sizeof line);
	ATF_CHECK_MSG(l, "%s missing from the archive listing:\n%s", name, listing);
	if (!l)
		return;
	ATF_CHECK_MSG(!strncmp(l, mode, strlen(mode)), "%s: mode '%.10s', want '%s'", name, l, mode);
	if (dev) {
		/* "crw-------   1 0        0          5,   1 Jan  1  1970 dev/console" */
		int maj, min, got = 0;
		const char *comma = strchr(l, ',');
		if (comma) {
			const char *q = comma;
			while (q > l && q[-1] >= '0' && q[-1] <= '9')
				q--;
			got = sscanf(q, "%d, %d", &maj, &min);
		}
		char want[32];
		snprintf(want, sizeof want, "%d,%d", got == 2 ? maj : -1, got == 2 ? min : -1);
		ATF_CHECK_STREQ_MSG(want, dev, "%s: device numbers", name);
	}
}

/* The fake module tree: the fixture's modules.* files plus a file at every
 * path modules.dep names, whose content is the path. */
static void fake_modules(const atf_tc_t *tc, const char *sub, const char *dest)
{
	char src[1024];
	fixture(tc, sub, src, sizeof src);
	sh("mkdir -p '%s' && cp '%s'/modules.* '%s'/ && cd '%s' && "
	   "for p in $(cut -d: -f1 modules.dep); do mkdir -p $(dirname $p) && echo \"fake $p\" > $p; done",
	   dest, src, dest, dest);
	ATF_REQUIRE_EQ_MSG(res.status, 0, "%s", res.err);
}

static int need_binaries(void)
{
	const char *progs[] = { "pnbench-init", "pnbench-record", "pnbench-workload" };
	char p[1100];
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", bindir, progs[i]);
		if (access(p, R_OK)) {
			snprintf(p, sizeof p, "bin/%s not built: run make first", progs[i]);
			pnb_skip("%s", p);
			return 0;
		}
	}
	return 1;
}

/* The generic kernel's closure (tests/data/image/generic), derived by hand:
 *  virtio_pci: its line lists legacy_dev modern_dev virtio virtio_ring, which
 *    load last-to-first; virtio needs virtio_ring (already there);
 *  virtio_blk: virtio, virtio_ring are there;
 *  ext4: softdep "pre: crypto-crc32c", an alias of crc32c_intel and
 *    crc32c_generic (modules.alias order); then its line's crc16 mbcache
 *    jbd2, last first; jbd2's own softdep is satisfied by then;
 *  pvpanic, then pvpanic-pci and pvpanic-mmio, which need it.
 * Nothing of btrfs, virtio_net, virtio_scsi, virtio_console, virtio_mmio. */
static const char generic_expected[] =
	"kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/virtio/virtio.ko\n"
	"kernel/drivers/virtio/virtio_pci_modern_dev.ko\n"
	"kernel/drivers/virtio/virtio_pci_legacy_dev.ko\n"
	"kernel/drivers/virtio/virtio_pci.ko\n"
	"kernel/drivers/block/virtio_blk.ko\n"
	"kernel/arch/x86/crypto/crc32c-intel.ko\n"
	"kernel/crypto/crc32c_generic.ko\n"
	"kernel/fs/jbd2/jbd2.ko\n"
	"kernel/fs/mbcache.ko\n"
	"kernel/lib/crc16.ko\n"
	"kernel/fs/ext4/ext4.ko\n"
	"kernel/drivers/misc/pvpanic/pvpanic.ko\n"
	"kernel/drivers/misc/pvpanic/pvpanic-pci.ko\n"
	"kernel/drivers/misc/pvpanic/pvpanic-mmio.ko\n";

/* The cloud kernel: ext4 (with jbd2, mbcache, crc32c) is built in. */
static const char cloud_expected[] =
	"kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/virtio/virtio.ko\n"
	"kernel/drivers/virtio/virtio_pci_modern_dev.ko\n"
	"kernel/drivers/virtio/virtio_pci_legacy_dev.ko\n"
	"kernel/drivers/virtio/virtio_pci.ko\n"
	"kernel/drivers/block/virtio_blk.ko\n"
	"kernel/drivers/misc/pvpanic/pvpanic.ko\n"
	"kernel/drivers/misc/pvpanic/pvpanic-pci.ko\n"
	"kernel/drivers/misc/pvpanic/pvpanic-mmio.ko\n";

ATF_TC(module_closure);
ATF_TC_HEAD(module_closure, tc)
{
	atf_tc_set_md_var(tc, "descr", "modules.dep closure on Debian's generic and cloud "
			  "kernels: dependencies first, softdeps via aliases, built-ins skipped");
}
ATF_TC_BODY(module_closure, tc)
{
	char dir[1024], err[1024], *list;

	fixture(tc, "generic", dir, sizeof dir);
	ATF_REQUIRE_MSG(!image_module_list(dir, &list, err, sizeof err), "%s", err);
	ATF_CHECK_STREQ(list, generic_expected);
	free(list);

	fixture(tc, "cloud", dir, sizeof dir);
	ATF_REQUIRE_MSG(!image_module_list(dir, &list, err, sizeof err), "%s", err);
	ATF_CHECK_STREQ(list, cloud_expected);
	free(list);

	/* A tree build with everything =y has no modules directory. */
	ATF_REQUIRE(!image_module_list("", &list, err, sizeof err));
	ATF_CHECK_STREQ(list, "");
	free(list);
}

ATF_TC(optional_modules);
ATF_TC_HEAD(optional_modules, tc)
{
	atf_tc_set_md_var(tc, "descr", "The optional groups on the cloud kernel: zram with zsmalloc, "
			  "each compressor with its library, dependencies first; a built-in "
			  "(deflate) or absent (842) compressor has no lines");
}
ATF_TC_BODY(optional_modules, tc)
{
	char dir[1024], err[1024], *list;

	fixture(tc, "cloud", dir, sizeof dir);
	ATF_REQUIRE_MSG(!image_optional_modules(dir, &list, err, sizeof err), "%s", err);
	ATF_CHECK_STREQ(list,
		"zram kernel/mm/zsmalloc.ko\n"
		"zram kernel/drivers/block/zram/zram.ko\n"
		"lzo kernel/crypto/lzo.ko\n"
		"lzo_rle kernel/crypto/lzo-rle.ko\n"
		"lz4 kernel/lib/lz4/lz4_compress.ko\n"
		"lz4 kernel/crypto/lz4.ko\n"
		"lz4hc kernel/lib/lz4/lz4hc_compress.ko\n"
		"lz4hc kernel/crypto/lz4hc.ko\n"
		"zstd kernel/lib/zstd/zstd_compress.ko\n"
		"zstd kernel/crypto/zstd.ko\n");
	free(list);
	/* The generic fixture has no zram lines: nothing optional. */
	fixture(tc, "generic", dir, sizeof dir);
	ATF_REQUIRE_MSG(!image_optional_modules(dir, &list, err, sizeof err), "%s", err);
	ATF_CHECK_STREQ(list, "");
	free(list);
	ATF_REQUIRE(!image_optional_modules("", &list, err, sizeof err));
	ATF_CHECK_STREQ(list, "");
	free(list);
}

ATF_TC(module_errors);
ATF_TC_HEAD(module_errors, tc)
{
	atf_tc_set_md_var(tc, "descr", "Broken module trees give one line naming the problem");
}
ATF_TC_BODY(module_errors, tc)
{
	static const struct { const char *sub, *want; } cases[] = {
		{ "loop", "dependency loop through kernel/drivers/virtio/virtio" },
		{ "nodep", "virtio_pci.ko needs kernel/drivers/virtio/virtio.ko, which has no line" },
		{ "noext4", "ext4 is neither a module (modules.dep) nor built in" },
		{ "nodepfile", "modules.dep: No such file or directory (depmod writes it" },
		{ "nosuchdir", "modules.dep: No such file or directory" },
	};
	char dir[1024], err[1024], *list = (char *)"unset";

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		fixture(tc, cases[i].sub, dir, sizeof dir);
		err[0] = 0;
		ATF_CHECK_EQ_MSG(image_module_list(dir, &list, err, sizeof err), -1, "%s accepted",
				 cases[i].sub);
		ATF_CHECK_MSG(strstr(err, cases[i].want), "%s: '%s' lacks '%s'", cases[i].sub, err,
			      cases[i].want);
		ATF_CHECK_MSG(!strchr(err, '\n'), "%s: not one line: %s", cases[i].sub, err);
		ATF_CHECK(list == NULL);
	}
}

ATF_TC(initramfs_listing);
ATF_TC_HEAD(initramfs_listing, tc)
{
	atf_tc_set_md_var(tc, "descr", "The initramfs as cpio -t lists it: device nodes, "
			  "modes, programs, busybox links, modules under lib/modules/<release>, "
			  "parents before children; cached by content");
	atf_tc_set_md_var(tc, "require.progs", "cpio");
	atf_tc_set_md_var(tc, "require.files", "/bin/busybox");
}
ATF_TC_BODY(initramfs_listing, tc)
{
	struct kernel_image k;
	char path[1024], path2[1024], err[1024], cwd[900];
	struct stat st1, st2;

	setup(tc);
	if (!need_binaries())
		return;
	ATF_REQUIRE(getcwd(cwd, sizeof cwd));
	memset(&k, 0, sizeof k);
	snprintf(k.spec, sizeof k.spec, "debian:6.1.0-56-amd64");
	snprintf(k.release, sizeof k.release, "6.1.0-56-amd64");
	snprintf(k.modules_dir, sizeof k.modules_dir, "%s/mods/lib/modules/6.1.0-56-amd64", cwd);
	fake_modules(tc, "generic", k.modules_dir);

	ATF_REQUIRE_MSG(!image_initramfs(&k, path, sizeof path, err, sizeof err), "%s", err);
	ATF_CHECK_MSG(strstr(path, "/cache/initramfs/6.1.0-56-amd64-noconfig-"), "path %s", path);

	sh("cpio -itv --numeric-uid-gid < '%s'", path);
	ATF_REQUIRE_EQ_MSG(res.status, 0, "cpio -t: %s", res.err);
	/* cpio says "N blocks" and nothing else: no junk, no truncation. */
	ATF_CHECK_MSG(strstr(res.err, " blocks") && count_lines(res.err) == 1, "cpio complained: %s",
		      res.err);
	const char *l = res.out;
	expect_entry(l, "dev/console", "crw-------", "5,1");
	expect_entry(l, "dev/null", "crw-rw-rw-", "1,3");
	expect_entry(l, "dev/kmsg", "crw-r--r--", "1,11");
	expect_entry(l, "dev/ttyS0", "crw-rw----", "4,64");
	expect_entry(l, "dev/ttyS1", "crw-rw----", "4,65");
	expect_entry(l, "init", "-rwxr-xr-x", NULL);
	expect_entry(l, "bin/pnbench-record", "-rwxr-xr-x", NULL);
	expect_entry(l, "bin/pnbench-workload", "-rwxr-xr-x", NULL);
	expect_entry(l, "bin/busybox", "-rwxr-xr-x", NULL);
	const char *links[] = { "bin/sh", "bin/ls", "bin/cat", "bin/mount", "bin/dmesg" };
	for (int i = 0; i < 5; i++) {
		char line[512], want[64];
		expect_entry(l, links[i], "lrwxrwxrwx", NULL);
		snprintf(want, sizeof want, "%s -> busybox", links[i]);
		ATF_CHECK_MSG(listing_line(l, links[i], line, sizeof line) && strstr(line, want),
			      "%s is not a link to busybox", links[i]);
	}
	const char *dirs[] = { "proc", "sys", "tmp", "data", "pnbench", "lib/modules/6.1.0-56-amd64" };
	for (int i = 0; i < 6; i++)
		expect_entry(l, dirs[i], "drwxr-xr-x", NULL);
	expect_entry(l, "lib/modules/6.1.0-56-amd64/kernel/fs/ext4/ext4.ko", "-rw-r--r--", NULL);
	expect_entry(l, "pnbench/modules.load", "-rw-r--r--", NULL);
	ATF_CHECK_MSG(!strstr(l, "btrfs") && !strstr(l, "virtio_net"), "unneeded modules packed");
	ATF_CHECK_MSG(!strstr(l, "run.args"), "the base image must not carry a run's arguments");

	/* Every directory appears before anything inside it: the kernel's
	 * unpacker does not create parents. */
	sh("cpio -it < '%s' | awk '{ n = split($0, a, \"/\"); p = \"\"; "
	   "for (i = 1; i < n; i++) { p = (i > 1 ? p \"/\" : \"\") a[i]; "
	   "if (!(p in seen)) print \"orphan: \" $0 } seen[$0] = 1 }'", path);
	ATF_CHECK_STREQ_MSG(res.out, "", "entries before their directory");

	sh("cpio -i --quiet --to-stdout pnbench/modules.load < '%s'", path);
	ATF_CHECK_STREQ(res.out, generic_expected);
	/* The module's bytes are the file's, not something else. */
	sh("cpio -i --quiet --to-stdout lib/modules/6.1.0-56-amd64/kernel/lib/crc16.ko < '%s'", path);
	ATF_CHECK_STREQ(res.out, "fake kernel/lib/crc16.ko\n");

	/* Cached: the same inputs give the same file, not rewritten (its mtime
	 * moves: a use marks it as in use for the pruning below). */
	ATF_REQUIRE(!stat(path, &st1));
	ATF_REQUIRE_MSG(!image_initramfs(&k, path2, sizeof path2, err, sizeof err), "%s", err);
	ATF_REQUIRE(!stat(path2, &st2));
	ATF_CHECK_STREQ(path, path2);
	ATF_CHECK(st1.st_ino == st2.st_ino && st1.st_size == st2.st_size);

	/* A module rebuilt with the same release and config: a new image.  An
	 * image of that kernel unused for two hours is pruned; the one just
	 * used (another checkout may be about to copy it) is kept. */
	char stale[PNB_PATH + 32];
	snprintf(stale, sizeof stale, "%.*s-0000000000000000.cpio", (int)(strrchr(path, '-') - path),
		 path);
	sh("echo old > '%s' && touch -d '2 hours ago' '%s'", stale, stale);
	sh("echo rebuilt >> '%s/kernel/lib/crc16.ko'", k.modules_dir);
	ATF_REQUIRE_MSG(!image_initramfs(&k, path2, sizeof path2, err, sizeof err), "%s", err);
	ATF_CHECK_MSG(strcmp(path, path2), "same cache file after a module changed");
	ATF_CHECK_MSG(access(stale, F_OK) != 0, "%s, unused for 2 hours, was not pruned", stale);
	ATF_CHECK_MSG(access(path, F_OK) == 0, "%s, used a moment ago, was pruned", path);

	/* The config digest is part of the name. */
	snprintf(k.config_digest, sizeof k.config_digest, "%s",
		 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	ATF_REQUIRE_MSG(!image_initramfs(&k, path2, sizeof path2, err, sizeof err), "%s", err);
	ATF_CHECK_MSG(strstr(path2, "6.1.0-56-amd64-0123456789abcdef-"), "path %s", path2);
}

ATF_TC(initramfs_refusals);
ATF_TC_HEAD(initramfs_refusals, tc)
{
	atf_tc_set_md_var(tc, "descr", "A dynamically linked guest program or a missing module "
			  "file stops the image with a reason");
	atf_tc_set_md_var(tc, "require.files", "/bin/busybox /bin/true");
}
ATF_TC_BODY(initramfs_refusals, tc)
{
	struct kernel_image k;
	char path[1024], err[1024], cwd[900], real[1024];

	setup(tc);
	if (!need_binaries())
		return;
	ATF_REQUIRE(getcwd(cwd, sizeof cwd));
	snprintf(real, sizeof real, "%s", bindir);
	/* A bin/ whose recorder is /bin/true: dynamically linked. */
	sh("mkdir fakebin && cp '%s/pnbench-init' '%s/pnbench-workload' fakebin/ && "
	   "cp /bin/true fakebin/pnbench-record", real, real);
	snprintf(bindir, sizeof bindir, "%s/fakebin", cwd);
	memset(&k, 0, sizeof k);
	ATF_CHECK_EQ(image_initramfs(&k, path, sizeof path, err, sizeof err), -1);
	ATF_CHECK_MSG(strstr(err, "fakebin/pnbench-record is dynamically linked"), "%s", err);

	/* modules.dep names a file that is not there. */
	snprintf(bindir, sizeof bindir, "%s", real);
	snprintf(k.release, sizeof k.release, "6.1.0-56-cloud-amd64");
	fixture(tc, "cloud", k.modules_dir, sizeof k.modules_dir);
	ATF_CHECK_EQ(image_initramfs(&k, path, sizeof path, err, sizeof err), -1);
	ATF_CHECK_MSG(strstr(err, "virtio_ring.ko: No such file or directory"), "%s", err);
}

ATF_TC(run_args_roundtrip);
ATF_TC_HEAD(run_args_roundtrip, tc)
{
	atf_tc_set_md_var(tc, "descr", "run.args holds argv one per line (empty and blank-"
			  "containing arguments intact), run.env the key=value lines");
	atf_tc_set_md_var(tc, "require.progs", "cpio");
}
ATF_TC_BODY(run_args_roundtrip, tc)
{
	const char *argv[] = { "/bin/pnbench-record", "--label", "k=a b", "", "--",
			       "/bin/pnbench-workload", "fixed-rate", "--rate", "10M/s", NULL };
	const char *env[] = { "memory_hierarchy=v2", "fault=hang:2s", NULL };
	char err[512];

	setup(tc);
	ATF_REQUIRE_MSG(!image_run_archive_env("run.cpio", argv, env, err, sizeof err), "%s", err);
	sh("cpio -itv < run.cpio");
	ATF_REQUIRE_EQ_MSG(res.status, 0, "%s", res.err);
	expect_entry(res.out, "pnbench", "drwxr-xr-x", NULL);
	expect_entry(res.out, "pnbench/run.args", "-rw-r--r--", NULL);
	expect_entry(res.out, "pnbench/run.env", "-rw-r--r--", NULL);
	expect_entry(res.out, "pnbench/seed", "-rw-------", NULL);
	ATF_CHECK_EQ(count_lines(res.out), 4);

	/* What init does: split on newlines, the last one ends the list. */
	sh("cpio -i --quiet --to-stdout pnbench/run.args < run.cpio");
	char *p = res.out;
	int i = 0;
	for (; argv[i]; i++) {
		char *nl = strchr(p, '\n');
		ATF_REQUIRE_MSG(nl, "argument %d missing", i);
		*nl = 0;
		ATF_CHECK_STREQ(p, argv[i]);
		p = nl + 1;
	}
	ATF_CHECK_STREQ_MSG(p, "", "extra arguments after the last");
	sh("cpio -i --quiet --to-stdout pnbench/run.env < run.cpio");
	ATF_CHECK_STREQ(res.out, "memory_hierarchy=v2\nfault=hang:2s\n");

	/* Without env lines: run.env exists and is empty. */
	ATF_REQUIRE_MSG(!image_run_archive("run0.cpio", argv, err, sizeof err), "%s", err);
	sh("cpio -i --quiet --to-stdout pnbench/run.env < run0.cpio | wc -c");
	ATF_CHECK_STREQ(res.out, "0\n");

	/* The guest's RNG seed: 32 bytes, fresh for every run. */
	sh("cpio -i --quiet --to-stdout pnbench/seed < run.cpio | od -An -tx1 | tr -d ' \n'; echo; "
	   "cpio -i --quiet --to-stdout pnbench/seed < run0.cpio | od -An -tx1 | tr -d ' \n'");
	char *nl = strchr(res.out, '\n');
	ATF_REQUIRE(nl);
	*nl = 0;
	ATF_CHECK_EQ_MSG(strlen(res.out), 64, "seed '%s' is not 32 bytes", res.out);
	ATF_CHECK_MSG(strcmp(res.out, nl + 1), "two runs got the same seed %s", res.out);

	const char *nl_arg[] = { "/bin/x", "two\nlines", NULL };
	ATF_CHECK_EQ(image_run_archive("bad.cpio", nl_arg, err, sizeof err), -1);
	ATF_CHECK_MSG(strstr(err, "argument 1 contains a newline"), "%s", err);
	const char *bad_env[] = { "noequals", NULL };
	ATF_CHECK_EQ(image_run_archive_env("bad.cpio", argv, bad_env, err, sizeof err), -1);
	ATF_CHECK_MSG(strstr(err, "'noequals' is not one key=value line"), "%s", err);
	const char *empty[] = { NULL };
	ATF_CHECK_EQ(image_run_archive("bad.cpio", empty, err, sizeof err), -1);
	ATF_CHECK(access("bad.cpio", F_OK) && errno == ENOENT);
}

ATF_TC(data_disk);
ATF_TC_HEAD(data_disk, tc)
{
	atf_tc_set_md_var(tc, "descr", "The data disk is ext4 with /data.bin of exactly the "
			  "size asked, holding the workloads' file bytes; cached per size");
	atf_tc_set_md_var(tc, "timeout", "120");
}
ATF_TC_BODY(data_disk, tc)
{
	/* Not a multiple of the fill block or the fs block: the tail counts. */
	const uint64_t size = (3ULL << 20) + 4097;
	char path[1024], path2[1024], err[1024], want[64];
	unsigned char sb[2];
	struct stat st1, st2;
	const char *what;
	int fd;

	setup(tc);
	sh("command -v mkfs.ext4 && command -v debugfs");
	if (res.status)
		pnb_skip("e2fsprogs (mkfs.ext4, debugfs) not installed");
	ATF_REQUIRE_MSG(!image_data_disk(size, path, sizeof path, err, sizeof err), "%s", err);
	snprintf(want, sizeof want, "/cache/disks/data-%llu.ext4", (unsigned long long)size);
	ATF_CHECK_MSG(strstr(path, want), "path %s", path);

	/* ext4 superblock at 1024, s_magic at offset 56: 0xEF53 little-endian. */
	ATF_REQUIRE((fd = open(path, O_RDONLY)) >= 0);
	ATF_REQUIRE_EQ(pread(fd, sb, 2, 1024 + 56), 2);
	close(fd);
	ATF_CHECK_MSG(sb[0] == 0x53 && sb[1] == 0xEF, "magic %02x%02x", sb[1], sb[0]);

	sh("debugfs -R 'stat /data.bin' '%s' 2>&1", path);
	snprintf(want, sizeof want, "Size: %llu", (unsigned long long)size);
	ATF_CHECK_MSG(strstr(res.out, want), "debugfs stat lacks '%s':\n%s", want, res.out);
	ATF_CHECK_MSG(strstr(res.out, "Type: regular"), "%s", res.out);
	sh("dumpe2fs -h '%s' 2>/dev/null | grep -E '^Filesystem volume name:'", path);
	ATF_CHECK_MSG(strstr(res.out, "pnbdata"), "label: %s", res.out);

	/* The same bytes as the workloads' own generator. */
	ATF_REQUIRE_EQ(wl_file_prepare("expected.bin", size, &what), 0);
	sh("debugfs -R 'dump /data.bin got.bin' '%s' && cmp got.bin expected.bin && "
	   "! cmp -s -n 4096 got.bin /dev/zero", path);
	ATF_CHECK_EQ_MSG(res.status, 0, "data.bin differs from wl_file_prepare's: %s%s",
			 res.out, res.err);

	/* Cached: not rebuilt. */
	ATF_REQUIRE(!stat(path, &st1));
	ATF_REQUIRE_MSG(!image_data_disk(size, path2, sizeof path2, err, sizeof err), "%s", err);
	ATF_REQUIRE(!stat(path2, &st2));
	ATF_CHECK_STREQ(path, path2);
	ATF_CHECK(st1.st_ino == st2.st_ino);
	/* No work files left behind. */
	sh("ls -A '%s/disks'", cachedir);
	snprintf(want, sizeof want, "data-%llu.ext4\n", (unsigned long long)size);
	ATF_CHECK_STREQ(res.out, want);

	ATF_CHECK_EQ(image_data_disk(0, path, sizeof path, err, sizeof err), -1);
	ATF_CHECK_MSG(strstr(err, "size 0"), "%s", err);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, module_closure);
	ATF_TP_ADD_TC(tp, optional_modules);
	ATF_TP_ADD_TC(tp, module_errors);
	ATF_TP_ADD_TC(tp, initramfs_listing);
	ATF_TP_ADD_TC(tp, initramfs_refusals);
	ATF_TP_ADD_TC(tp, run_args_roundtrip);
	ATF_TP_ADD_TC(tp, data_disk);
	return 0;
}
