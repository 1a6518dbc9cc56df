/* Machine knobs in real guests (debian:cloud): zram swap shows swap-out
 * onset before the OOM kill on both hierarchies, every knob is read back
 * into meta.json, and a knob the kernel lacks makes the cell "unsupported"
 * with the reason, found from the kernel's config before a boot or by
 * /init inside the guest. */
#include "analysis.h"
#include "guest.h"
#include "testutil.h"

#include <atf-c.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KERNEL "debian:cloud"

const char *pnb_bindir(void) { return "/nonexistent"; }

static char bin[PATH_MAX], src[PATH_MAX];
static struct kernel_image kimg;
static struct cmd_result res;

static void setup(const atf_tc_t *tc)
{
	char err[1024];

	snprintf(src, sizeof src, "%s", atf_tc_get_config_var(tc, "srcdir"));
	bin_path(src, "pnbench", bin, sizeof bin);
	use_pnbench_cache(atf_tc_has_config_var(tc, "pnbench_cache") ?
			  atf_tc_get_config_var(tc, "pnbench_cache") : NULL);
	if (kernel_resolve(KERNEL, !pnb_offline(), &kimg, err, sizeof err))
		pnb_no_kernel(KERNEL, err);
}

static json_t *meta_of(const char *dir)
{
	char p[PATH_MAX + 16];
	json_error_t e;
	snprintf(p, sizeof p, "%s/meta.json", dir);
	json_t *m = json_load_file(p, 0, &e);
	ATF_REQUIRE_MSG(m, "%s: %s", p, e.text);
	return m;
}

static const char *knob(json_t *m, const char *name, const char *which)
{
	const char *v = json_string_value(json_object_get(json_object_get(json_object_get(m, "knobs"),
									  name), which));
	return v ? v : "(missing)";
}

ATF_TC(zram_swapout);
ATF_TC_HEAD(zram_swapout, tc)
{
	atf_tc_set_md_var(tc, "descr", "zram swap at 50% (lz4), MGLRU on, both hierarchies: swap-out "
			  "onset comes before the OOM kill in each boot, knobs read back");
	atf_tc_set_md_var(tc, "timeout", "600");
}
ATF_TC_BODY(zram_swapout, tc)
{
	char out[PATH_MAX], scn[PATH_MAX], dir[PATH_MAX + 300], err[512];

	setup(tc);
	snprintf(out, sizeof out, "%s/set", getcwd(dir, sizeof dir));
	snprintf(scn, sizeof scn, "%s/data/scenarios/zram-swapout.ini", src);
	char *argv[] = { bin, "run", "--kernel", KERNEL, "--scenario", scn, "--out", out, NULL };
	run_cmd(argv, 550, &res);
	ATF_REQUIRE_EQ_MSG(res.status, 0, "pnbench run: %s%s", res.out, res.err);

	for (int h = 0; h < 2; h++) {
		snprintf(dir, sizeof dir, "%s/%s/zram-swapout/1%s", out, kimg.name, h ? "-v2" : "");
		json_t *m = meta_of(dir);
		ATF_CHECK_STREQ(json_string_value(json_object_get(m, "hierarchy")), h ? "v2" : "v1");
		ATF_CHECK_STREQ(knob(m, "memory_hierarchy", "effective"), h ? "v2" : "v1");
		/* 50% of 256M, lz4, and a swap area of that size less its header page. */
		ATF_CHECK_STREQ(knob(m, "swap", "requested"), "zram:134217728:lz4");
		ATF_CHECK_STREQ(knob(m, "swap", "effective"), "zram:134217728:lz4 swap_kB=131068");
		ATF_CHECK_STREQ(knob(m, "lru_gen", "requested"), "on");
		ATF_CHECK_STREQ(knob(m, "lru_gen", "effective"), "0x0007");
		if (h)
			ATF_CHECK_STREQ(knob(m, "memory_high", "effective"), "241590272");
		json_decref(m);

		struct an_run r;
		ATF_REQUIRE_EQ(an_run_load(dir, &r, err, sizeof err), 0);
		ATF_CHECK_MSG(!r.incomplete, "%s incomplete", dir);
		ATF_CHECK_STREQ(r.hierarchy, h ? "v2" : "v1");
		ATF_CHECK_MSG(r.t_swapout != AN_NONE, "%s: no swap-out onset", dir);
		ATF_CHECK_MSG(r.t_oom != AN_NONE, "%s: no OOM kill", dir);
		/* Anonymous memory goes to zram long before the machine is out
		 * of both RAM and swap. */
		ATF_CHECK_MSG(r.t_swapout != AN_NONE && r.t_oom != AN_NONE &&
			      r.t_oom - r.t_swapout > 1000000000LL,
			      "%s: swap-out onset %.3f s, OOM %.3f s: not a second apart", dir,
			      (r.t_swapout - r.t_start) / 1e9, (r.t_oom - r.t_start) / 1e9);
		/* SwapFree fell below SwapTotal in the samples. */
		int used = 0;
		char ev[PATH_MAX + 300];
		snprintf(ev, sizeof ev, "%s/events.jsonl", dir);
		FILE *f = fopen(ev, "re");
		char line[8192];
		while (f && fgets(line, sizeof line, f)) {
			json_t *o = json_loads(line, 0, NULL);
			json_t *mi = json_object_get(o, "meminfo");
			json_int_t tot = json_integer_value(json_object_get(mi, "SwapTotal_kB"));
			json_int_t fr = json_integer_value(json_object_get(mi, "SwapFree_kB"));
			used |= tot > 0 && fr < tot;
			json_decref(o);
		}
		if (f)
			fclose(f);
		ATF_CHECK_MSG(used, "%s: no sample shows swap in use", dir);
		an_run_free(&r);
	}
}

/* A copy of the kernel's config without one symbol, and the kernel spec
 * that boots the same bzImage with it. */
static void kernel_without(const char *sym, char *spec, size_t len)
{
	char cfg[PATH_MAX], line[4096], here[PATH_MAX];
	FILE *in = fopen(kimg.config, "re"), *o;

	ATF_REQUIRE_MSG(in, "%s: no config", kimg.config);
	snprintf(cfg, sizeof cfg, "%s/config-without", getcwd(here, sizeof here));
	ATF_REQUIRE((o = fopen(cfg, "we")));
	while (fgets(line, sizeof line, in))
		if (strncmp(line, sym, strlen(sym)) || line[strlen(sym)] != '=')
			fputs(line, o);
		else
			fprintf(o, "# %s is not set\n", sym);
	fclose(in);
	fclose(o);
	snprintf(spec, len, "path:%s,modules=%s,config=%s", kimg.bzimage, kimg.modules_dir, cfg);
}

static void expect_unsupported(const char *spec, const char *override, const char *why)
{
	char out[PATH_MAX], here[PATH_MAX], scn[PATH_MAX];
	snprintf(out, sizeof out, "%s/set", getcwd(here, sizeof here));
	snprintf(scn, sizeof scn, "%s/data/scenarios/guest-boot.ini", src);
	char *argv[] = { bin, "run", "--kernel", (char *)spec, "--scenario", scn, "--machine",
			 (char *)override, "--out", out, NULL };
	run_cmd(argv, 300, &res);
	/* A cell that did not run is a failed run: exit 1, not 0 or 2. */
	ATF_CHECK_EQ_MSG(res.status, 1, "status %d: %s%s", res.status, res.out, res.err);
	ATF_CHECK_MSG(strstr(res.out, "unsupported: "), "no 'unsupported' in: %s", res.out);
	ATF_CHECK_MSG(strstr(res.out, why), "'%s' not in: %s", why, res.out);
}

ATF_TC(no_zram_in_config);
ATF_TC_HEAD(no_zram_in_config, tc)
{
	atf_tc_set_md_var(tc, "descr", "swap=zram on a kernel whose config lacks CONFIG_ZRAM: the cell "
			  "is unsupported, with the reason, without booting");
	atf_tc_set_md_var(tc, "timeout", "300");
}
ATF_TC_BODY(no_zram_in_config, tc)
{
	char spec[3 * PATH_MAX];
	setup(tc);
	kernel_without("CONFIG_ZRAM", spec, sizeof spec);
	expect_unsupported(spec, "swap=zram:64M", "has no zram (CONFIG_ZRAM unset");
}

ATF_TC(no_mglru_in_config);
ATF_TC_HEAD(no_mglru_in_config, tc)
{
	atf_tc_set_md_var(tc, "descr", "lru_gen=on on a kernel whose config lacks CONFIG_LRU_GEN: "
			  "unsupported with the reason");
	atf_tc_set_md_var(tc, "timeout", "300");
}
ATF_TC_BODY(no_mglru_in_config, tc)
{
	char spec[3 * PATH_MAX];
	setup(tc);
	kernel_without("CONFIG_LRU_GEN", spec, sizeof spec);
	expect_unsupported(spec, "lru_gen=on", "has no MGLRU (CONFIG_LRU_GEN unset");
}

ATF_TC(compressor_missing_in_guest);
ATF_TC_HEAD(compressor_missing_in_guest, tc)
{
	atf_tc_set_md_var(tc, "descr", "zram with a compressor the kernel lacks (842 on the cloud "
			  "kernel): /init refuses it in the guest, the cell is unsupported");
	atf_tc_set_md_var(tc, "timeout", "300");
}
ATF_TC_BODY(compressor_missing_in_guest, tc)
{
	setup(tc);
	expect_unsupported(KERNEL, "swap=zram:64M:842", "compressor 842 refused");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, zram_swapout);
	ATF_TP_ADD_TC(tp, no_zram_in_config);
	ATF_TP_ADD_TC(tp, no_mglru_in_config);
	ATF_TP_ADD_TC(tp, compressor_missing_in_guest);
	return atf_no_error();
}
