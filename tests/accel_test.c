/* The accelerator decision: KVM only when a real kernel boots under it.
 *
 * Hosts exist where /dev/kvm opens and a tiny KVM_RUN program works, yet a
 * Linux guest never prints a line.  These cases cover the fallback on any
 * host through PNBENCH_KVM_DEVICE (a device path that is missing, or is not
 * KVM) and a seeded per-boot cache; the probe boot itself runs under TCG. */
#include "guest.h"
#include "testutil.h"

#include <atf-c.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NS_PER_S 1000000000ULL

/* harness/main.c owns this in the pnbench binary; guest.c links against it
 * (the image code) though these cases build no image. */
const char *pnb_bindir(void) { return "/nonexistent"; }

/* A cache of the test's own, so the host's verdict is never touched. */
static void private_cache(char *dir, size_t len)
{
	ATF_REQUIRE(getcwd(dir, len));
	strncat(dir, "/cache", len - strlen(dir) - 1);
	ATF_REQUIRE(mkdir(dir, 0755) == 0 || access(dir, F_OK) == 0);
	setenv("PNBENCH_CACHE", dir, 1);
	unsetenv("PNBENCH_ACCEL");
}

static void boot_id(char *id, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	ATF_REQUIRE(f);
	ATF_REQUIRE(fgets(id, (int)len, f));
	fclose(f);
	id[strcspn(id, "\n")] = 0;
}

ATF_TC(missing_device_means_tcg);
ATF_TC_HEAD(missing_device_means_tcg, tc)
{
	atf_tc_set_md_var(tc, "descr", "A KVM device that does not open gives TCG, saying why");
}
ATF_TC_BODY(missing_device_means_tcg, tc)
{
	char cache[PATH_MAX], p[PATH_MAX + 64], id[64];
	struct guest_accel a;

	private_cache(cache, sizeof cache);
	setenv("PNBENCH_KVM_DEVICE", "/nonexistent/kvm", 1);
	ATF_REQUIRE_EQ(guest_accel_decide(NULL, &a), 0);
	ATF_CHECK_STREQ(a.kind, "tcg");
	ATF_CHECK_MSG(strstr(a.why, "/nonexistent/kvm") && strstr(a.why, "No such file"),
		      "why: %s", a.why);
	/* A test hook must not decide for the host. */
	boot_id(id, sizeof id);
	snprintf(p, sizeof p, "%s/accel/%s", cache, id);
	ATF_CHECK_MSG(access(p, F_OK) != 0, "%s was written under a device override", p);
}

ATF_TC(non_kvm_device_means_tcg);
ATF_TC_HEAD(non_kvm_device_means_tcg, tc)
{
	atf_tc_set_md_var(tc, "descr", "A device that opens but answers no KVM ioctl gives TCG");
}
ATF_TC_BODY(non_kvm_device_means_tcg, tc)
{
	char cache[PATH_MAX];
	struct guest_accel a;

	private_cache(cache, sizeof cache);
	setenv("PNBENCH_KVM_DEVICE", "/dev/null", 1);
	ATF_REQUIRE_EQ(guest_accel_decide("/nonexistent/bzImage", &a), 0);
	ATF_CHECK_STREQ(a.kind, "tcg");
	ATF_CHECK_MSG(strstr(a.why, "not a KVM device"), "why: %s", a.why);
}

ATF_TC(cached_verdict_per_boot);
ATF_TC_HEAD(cached_verdict_per_boot, tc)
{
	atf_tc_set_md_var(tc, "descr", "The verdict for this host boot is read back, a damaged "
			  "one is ignored");
}
ATF_TC_BODY(cached_verdict_per_boot, tc)
{
	char cache[PATH_MAX], dir[PATH_MAX + 16], p[PATH_MAX + 64], id[64];
	struct guest_accel a;
	FILE *f;

	private_cache(cache, sizeof cache);
	unsetenv("PNBENCH_KVM_DEVICE");
	boot_id(id, sizeof id);
	snprintf(dir, sizeof dir, "%s/accel", cache);
	ATF_REQUIRE(mkdir(dir, 0755) == 0);
	snprintf(p, sizeof p, "%s/%s", dir, id);
	ATF_REQUIRE((f = fopen(p, "w")));
	fprintf(f, "tcg\tseeded by accel_test\n");
	fclose(f);
	ATF_REQUIRE_EQ(guest_accel_decide(NULL, &a), 0);
	ATF_CHECK_STREQ(a.kind, "tcg");
	ATF_CHECK_MSG(strstr(a.why, "seeded by accel_test") && strstr(a.why, "cached"),
		      "why: %s", a.why);

	/* Damaged: decided afresh (whatever this host's device says). */
	ATF_REQUIRE((f = fopen(p, "w")));
	fprintf(f, "banana\n");
	fclose(f);
	ATF_REQUIRE_EQ(guest_accel_decide(NULL, &a), 0);
	ATF_CHECK_MSG(!strstr(a.why, "cached"), "a damaged cache was believed: %s", a.why);
}

ATF_TC(accel_argument);
ATF_TC_HEAD(accel_argument, tc)
{
	atf_tc_set_md_var(tc, "descr", "TCG is single-threaded unless asked; an override is "
			  "passed verbatim");
}
ATF_TC_BODY(accel_argument, tc)
{
	struct guest_accel a;
	char buf[64];

	memset(&a, 0, sizeof a);
	strcpy(a.kind, "tcg");
	ATF_CHECK_STREQ(guest_accel_arg(&a, NULL, buf, sizeof buf), "tcg,thread=single");
	ATF_CHECK_STREQ(guest_accel_arg(&a, "multi", buf, sizeof buf), "tcg,thread=multi");
	strcpy(a.kind, "kvm");
	ATF_CHECK_STREQ(guest_accel_arg(&a, "single", buf, sizeof buf), "kvm");

	setenv("PNBENCH_ACCEL", "tcg,thread=multi,tb-size=64", 1);
	ATF_REQUIRE_EQ(guest_accel_decide(NULL, &a), 0);
	ATF_CHECK(a.overridden);
	ATF_CHECK_STREQ(guest_accel_arg(&a, "single", buf, sizeof buf), "tcg,thread=multi,tb-size=64");
	ATF_CHECK_MSG(strstr(a.why, "PNBENCH_ACCEL"), "why: %s", a.why);
	unsetenv("PNBENCH_ACCEL");
}

/* A real kernel for the probe boots, from the user's kernel cache (fetched
 * once).  Resolved in a child: the cache directory is fixed at its first
 * use in a process, and verdict_boots wants a private one for the verdict. */
static void real_kernel(const atf_tc_t *tc, char *bz, size_t len)
{
	char err[1024];
	struct kernel_image k;
	int st;

	if (access("/usr/bin/qemu-system-x86_64", X_OK))
		pnb_skip("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)");
	pid_t pid = fork();
	ATF_REQUIRE(pid >= 0);
	if (pid == 0) {
		use_pnbench_cache(atf_tc_has_config_var(tc, "pnbench_cache") ?
				  atf_tc_get_config_var(tc, "pnbench_cache") : NULL);
		FILE *f = fopen("kernel.path", "w");
		if (!f)
			_exit(1);
		if (kernel_resolve("debian:cloud", !pnb_offline(), &k, err, sizeof err))
			fprintf(f, "error: %s\n", err);
		else
			fprintf(f, "%s\n", k.bzimage);
		_exit(fclose(f) ? 1 : 0);
	}
	ATF_REQUIRE(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	FILE *f = fopen("kernel.path", "r");
	ATF_REQUIRE(f && fgets(bz, (int)len, f));
	fclose(f);
	bz[strcspn(bz, "\n")] = 0;
	if (!strncmp(bz, "error: ", 7))
		pnb_no_kernel("debian:cloud", bz + 7);
}

ATF_TC(probe_boot_tcg);
ATF_TC_HEAD(probe_boot_tcg, tc)
{
	atf_tc_set_md_var(tc, "descr", "A real kernel prints its banner under TCG; a garbage "
			  "image does not, and the reason says so");
	atf_tc_set_md_var(tc, "timeout", "600");
}
ATF_TC_BODY(probe_boot_tcg, tc)
{
	char bz[PATH_MAX], why[400];
	double s;
	int fd;

	real_kernel(tc, bz, sizeof bz);
	ATF_CHECK_EQ_MSG(guest_probe_boot("tcg", bz, 60 * NS_PER_S, &s, why, sizeof why), 0,
			 "%s", why);
	ATF_CHECK_MSG(s > 0 && s < 60, "banner after %.2f s", s);

	ATF_REQUIRE((fd = open("garbage.bzImage", O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0);
	char junk[8192];
	memset(junk, 0x5a, sizeof junk);
	ATF_REQUIRE(write(fd, junk, sizeof junk) == (ssize_t)sizeof junk);
	close(fd);
	ATF_CHECK_EQ(guest_probe_boot("tcg", "garbage.bzImage", 10 * NS_PER_S, &s, why, sizeof why), -1);
	ATF_CHECK_MSG(strstr(why, "QEMU exited") || strstr(why, "no kernel banner"), "why: %s", why);
	ATF_CHECK(s < 0);
}

ATF_TC(verdict_boots);
ATF_TC_HEAD(verdict_boots, tc)
{
	atf_tc_set_md_var(tc, "descr", "Decided afresh on this host, the chosen accelerator "
			  "boots the kernel (the check a broken /dev/kvm fails)");
	atf_tc_set_md_var(tc, "timeout", "600");
}
ATF_TC_BODY(verdict_boots, tc)
{
	struct guest_accel a;
	char bz[PATH_MAX], cache[PATH_MAX], p[PATH_MAX + 64], id[64], why[400];
	double s;

	real_kernel(tc, bz, sizeof bz);
	private_cache(cache, sizeof cache);
	unsetenv("PNBENCH_KVM_DEVICE");
	ATF_REQUIRE_EQ(guest_accel_decide(bz, &a), 0);
	ATF_CHECK_MSG(!strstr(a.why, "not probed") && !strstr(a.why, "cached"),
		      "a kernel was given and the cache is empty, yet: %s", a.why);
	ATF_CHECK_EQ_MSG(guest_probe_boot(a.kind, bz, 60 * NS_PER_S, &s, why, sizeof why), 0,
			 "chose %s (%s), which does not boot: %s", a.kind, a.why, why);
	boot_id(id, sizeof id);
	snprintf(p, sizeof p, "%s/accel/%s", cache, id);
	ATF_CHECK_MSG(access(p, F_OK) == 0, "verdict not cached in %s", p);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, missing_device_means_tcg);
	ATF_TP_ADD_TC(tp, non_kvm_device_means_tcg);
	ATF_TP_ADD_TC(tp, cached_verdict_per_boot);
	ATF_TP_ADD_TC(tp, accel_argument);
	ATF_TP_ADD_TC(tp, probe_boot_tcg);
	ATF_TP_ADD_TC(tp, verdict_boots);
	return atf_no_error();
}
