/* The conformance suite under kyua: one ATF case per conformance case
 * (conform/cases.h).  The kernel is the kyua configuration variable
 * "kernel" (default debian:cloud).  The first case to run boots the guest
 * through `pnbench conform` (harness/cmd_conform.c); its case lines are
 * cached under $PNBENCH_CACHE/conform/<resolved kernel>-<config
 * digest>-<sha256 of bin/pnbench-conform>/, behind a lock, so the other
 * cases read them instead of booting again.  Each case then reports its own line:
 * passed -> pass, failed -> fail, skipped -> skip, expected_failure ->
 * expect_fail then fail, with the guest's reason. */
#include "conform.h"
#include "guest.h"
#include "testutil.h"

#include <atf-c.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_KERNEL "debian:cloud"

/* libharness's image and kernel code find bin/ through these (main.c's
 * versions read /proc/self/exe, which is tests/ here). */
static char bindir[PATH_MAX] = "../bin", topdir[PATH_MAX] = "..";
const char *pnb_bindir(void) { return bindir; }
const char *pnb_topdir(void) { return topdir; }

/* The user's kernel cache (or the kyua variable pnbench_cache), not the
 * HOME kyua gives each test, so a kernel is fetched once. */
static void use_cache(const atf_tc_t *tc)
{
	use_pnbench_cache(atf_tc_has_config_var(tc, "pnbench_cache") ?
			  atf_tc_get_config_var(tc, "pnbench_cache") : NULL);
}

/* sha256 of a file's contents, the first 2*nbytes hex digits into hex. */
static int sha256_hex(const char *path, char *hex, size_t nbytes)
{
	struct sha256_ctx c;
	uint8_t buf[1 << 16], d[SHA256_DIGEST_SIZE];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	sha256_init(&c);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		sha256_update(&c, (size_t)n, buf);
	close(fd);
	if (n < 0)
		return -EIO;
	sha256_digest(&c, sizeof d, d);
	for (size_t i = 0; i < nbytes && i < sizeof d; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
	return 0;
}

static void run_case(const atf_tc_t *tc, int idx)
{
	const char *src = atf_tc_get_config_var(tc, "srcdir");
	const char *kernel = atf_tc_has_config_var(tc, "kernel") ? atf_tc_get_config_var(tc, "kernel")
								  : DEFAULT_KERNEL;
	char prog[PATH_MAX], pnb[PATH_MAX], work[PATH_MAX], lock[PATH_MAX + 8], pat[PATH_MAX + 32];
	char spec[300], bin_digest[33], err[1024];
	static struct conform_row rows[CONFORM_NCASES];
	static struct cmd_result r;
	struct kernel_image k;
	int rc;

	use_cache(tc);
	if (access("/usr/bin/qemu-system-x86_64", X_OK))
		pnb_skip("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)");
	bin_path(src, "pnbench-conform", prog, sizeof prog);
	bin_path(src, "pnbench", pnb, sizeof pnb);
	if ((rc = sha256_hex(prog, bin_digest, 16)))
		atf_tc_fail("%s: %s (make bin/pnbench-conform)", prog, strerror(-rc));
	/* Resolved here, so that the cache is keyed on the kernel that runs:
	 * a spec like debian:cloud moves to a new release when Debian
	 * publishes one, and a rebuilt binary can keep its size and mtime. */
	if (kernel_resolve(kernel, !pnb_offline(), &k, err, sizeof err))
		pnb_no_kernel(kernel, err);
	snprintf(work, sizeof work, "%s/conform/%s-%.12s-%s", getenv("PNBENCH_CACHE"), k.name,
		 k.config_digest[0] ? k.config_digest : "noconfig", bin_digest);
	snprintf(lock, sizeof lock, "%s.lock", work);
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s/conform", getenv("PNBENCH_CACHE"));
	mkdir(parent, 0755);
	int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	ATF_REQUIRE_MSG(lfd >= 0, "%s: %s", lock, strerror(errno));
	/* One boot per kernel and binary: the first case boots, the others
	 * wait here and find the complete run. */
	ATF_REQUIRE(flock(lfd, LOCK_EX) == 0);
	/* A guest that failed to boot once in this kyua run fails the whole
	 * group with its reason, instead of each case booting it again. */
	char failed[PATH_MAX + 16], run_id[PATH_MAX], seen[PATH_MAX + 1200] = "";
	snprintf(failed, sizeof failed, "%s.failed", work);
	kyua_run_id(run_id, sizeof run_id);
	FILE *ff = run_id[0] ? fopen(failed, "r") : NULL;
	if (ff) {
		if (!fgets(seen, sizeof seen, ff))
			seen[0] = 0;
		fclose(ff);
		seen[strcspn(seen, "\n")] = 0;
		size_t il = strlen(run_id);
		if (!strncmp(seen, run_id, il) && seen[il] == '\t') {
			flock(lfd, LOCK_UN);
			close(lfd);
			atf_tc_fail("the conformance guest already failed in this run, not booted "
				    "again: %s", seen + il + 1);
		}
	}
	/* Pinned to the release resolved above: pnbench must not pick a
	 * newer one than the cache key names. */
	if (!strcmp(k.kind, "debian"))
		snprintf(spec, sizeof spec, "debian:%s", k.release);
	else
		snprintf(spec, sizeof spec, "%s", kernel);
	char *argv[] = { pnb, "conform", "--kernel", spec, "--out", work, NULL };
	run_cmd(argv, 900, &r);
	flock(lfd, LOCK_UN);
	close(lfd);

	glob_t g;
	char dir[PATH_MAX], why[1100] = "";
	int complete = 0;
	snprintf(pat, sizeof pat, "%s/*/events.jsonl", work);
	if (glob(pat, 0, NULL, &g) || g.gl_pathc != 1) {
		snprintf(why, sizeof why, "pnbench conform left no run under %s (exit %d): %.900s", work,
			 r.status, r.err);
	} else {
		snprintf(dir, sizeof dir, "%s", g.gl_pathv[0]);
		*strrchr(dir, '/') = 0;
		complete = conform_load(dir, rows);
		if (complete != 1 && r.status)
			snprintf(why, sizeof why, "pnbench conform did not complete in %s (exit %d): "
				 "%.900s", dir, r.status, r.err);
	}
	globfree(&g);
	if (why[0]) {
		/* One line: kyua calls a multi-line reason "broken". */
		for (char *c = why; *c; c++)
			if (*c == '\n')
				*c = ' ';
		if (run_id[0] && (ff = fopen(failed, "w"))) {
			fprintf(ff, "%s\t%s\n", run_id, why);
			fclose(ff);
		}
		atf_tc_fail("%s", why);
	}
	const struct conform_row *row = &rows[idx];
	if (!row->result[0])
		atf_tc_fail("no result line for %s in %s/events.jsonl (%s run; exit %d: %.1500s)",
			    conform_case_names[idx], dir, complete == 1 ? "complete" : "incomplete", r.status, r.err);
	if (!strcmp(row->result, "passed"))
		return;
	if (!strcmp(row->result, "skipped"))
		pnb_skip("%s", row->reason);
	if (!strcmp(row->result, "expected_failure")) {
		atf_tc_expect_fail("%s", row->reason);
		atf_tc_fail("%s", row->reason);
	}
	atf_tc_fail("%s", row->reason);
}

#define CF_CASE(name, doc, xr, xw) \
	ATF_TC(name); \
	ATF_TC_HEAD(name, tc) \
	{ \
		atf_tc_set_md_var(tc, "descr", doc); \
		atf_tc_set_md_var(tc, "timeout", "900"); \
	} \
	ATF_TC_BODY(name, tc) { run_case(tc, CONFORM_##name); }
#include "conform/cases.h"
#undef CF_CASE

ATF_TP_ADD_TCS(tp)
{
#define CF_CASE(name, doc, xr, xw) ATF_TP_ADD_TC(tp, name);
#include "conform/cases.h"
#undef CF_CASE
	return atf_no_error();
}
