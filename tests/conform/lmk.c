/* The Android LMK rule (lib/lmk.c) against the driver's own algorithm. */
#include "conform.h"
#include "jsonl.h"
#include "lmk.h"
#include "memview.h"
#include "procfs.h"

#include <stdio.h>
#include <string.h>

/* Cases worked by hand through lowmem_scan's loop with the default
 * minfree {1536, 2048, 4096, 16384} pages and adj {0, 1, 6, 12}: strict
 * "<" on both numbers, first (smallest) matching threshold wins. */
static const struct { uint64_t free, file; int adj; } table[] = {
	{ 100000, 100000, PNB_LMK_NO_LEVEL },	/* both above every threshold */
	{ 16383, 16383, 12 },
	{ 16384, 100, PNB_LMK_NO_LEVEL },	/* free not below 16384: no level */
	{ 100, 16384, PNB_LMK_NO_LEVEL },	/* file not below 16384 */
	{ 4095, 5000, 12 },			/* file >= 4096: only the last */
	{ 4095, 4095, 6 },
	{ 2047, 1000, 1 },
	{ 1535, 1535, 0 },
	{ 0, 0, 0 },
	{ 1535, 3000, 6 },			/* free matches 0, file only 6 */
};

enum cf_result cf_lmk_rule_driver_table(struct cf_ctx *c)
{
	struct pnb_lmk_rule r;
	char bad[512] = "";
	size_t used = 0;
	int n = (int)(sizeof table / sizeof table[0]);

	pnb_lmk_rule_default(&r);
	for (int i = 0; i < n; i++) {
		int got = pnb_lmk_evaluate(&r, table[i].free, table[i].file, NULL);
		if (got != table[i].adj)
			used += snprintf(bad + used, used < sizeof bad ? sizeof bad - used : 0,
					 "%sfree %llu file %llu: %d, driver %d", used ? "; " : "",
					 (unsigned long long)table[i].free, (unsigned long long)table[i].file,
					 got, table[i].adj);
	}
	jset_int(c->detail, "cases", n);
	if (bad[0])
		return cf_say(c, CF_FAIL, "%s", bad);
	return cf_say(c, CF_PASS, "all %d worked cases select the driver's min_score_adj", n);
}

enum cf_result cf_lmk_inputs_live(struct cf_ctx *c)
{
	struct pnb_memview_src src = { .root = "", .domain = PNB_DOMAIN_SYSTEM };
	struct pnb_memview v;
	struct pnb_zoneinfo zi;
	struct pnb_kv vm;
	int e;

	/* The driver's inputs straight from the kernel's counters
	 * (/proc/vmstat, pages) against what the userspace rule derives from
	 * /proc/meminfo (kB): the two must describe the same memory. */
	if ((e = pnb_read_kv("", "/proc/vmstat", &vm)) || (e = pnb_read_zoneinfo("", &zi)) ||
	    (e = pnb_memview_read(&src, &v)))
		return cf_say(c, CF_FAIL, "reading /proc: %s", strerror(-e));
	uint64_t fr = pnb_kv_or(&vm, "nr_free_pages", 0), fi = pnb_kv_or(&vm, "nr_file_pages", 0);
	uint64_t sh = pnb_kv_or(&vm, "nr_shmem", 0), un = pnb_kv_or(&vm, "nr_unevictable", 0);
	uint64_t sc = pnb_kv_or(&vm, "nr_swapcached", 0);
	int64_t dfree = (int64_t)fr - (int64_t)zi.totalreserve_pages;
	int64_t dfile = (int64_t)fi - (int64_t)sh - (int64_t)un - (int64_t)sc;
	uint64_t kfree = dfree > 0 ? (uint64_t)dfree : 0, kfile = dfile > 0 ? (uint64_t)dfile : 0;
	uint64_t ufree = v.lmk_free_kb / 4, ufile = v.lmk_file_kb / 4;
	jset_int(c->detail, "driver_other_free_pages", (long long)kfree);
	jset_int(c->detail, "driver_other_file_pages", (long long)kfile);
	jset_int(c->detail, "rule_other_free_pages", (long long)ufree);
	jset_int(c->detail, "rule_other_file_pages", (long long)ufile);
	/* Tolerance: 1 MiB (256 pages) for counters moving between the reads
	 * and per-cpu counter drift; meminfo's Cached also excludes SwapCached
	 * and includes Buffers as the driver's NR_FILE_PAGES does. */
	uint64_t tol = 256;
	uint64_t dfr = kfree > ufree ? kfree - ufree : ufree - kfree;
	uint64_t dfi = kfile > ufile ? kfile - ufile : ufile - kfile;
	if (dfr > tol || dfi > tol)
		return cf_say(c, CF_FAIL, "driver inputs free %llu file %llu pages (vmstat), rule inputs free "
			      "%llu file %llu pages (meminfo): differ by more than %llu pages",
			      (unsigned long long)kfree, (unsigned long long)kfile, (unsigned long long)ufree,
			      (unsigned long long)ufile, (unsigned long long)tol);
	/* Same decision for rules whose thresholds straddle the live values. */
	int mismatches = 0;
	for (int k = 0; k < 8; k++) {
		struct pnb_lmk_rule r = { .n = 2 };
		uint64_t base = (k & 1 ? kfree : kfile) + tol * 2;
		r.minfree_pages[0] = base / (k + 2) + 1;
		r.minfree_pages[1] = base * (k + 2);
		r.adj[0] = 0;
		r.adj[1] = 900;
		if (pnb_lmk_evaluate(&r, kfree, kfile, NULL) != pnb_lmk_evaluate(&r, ufree, ufile, NULL))
			mismatches++;
	}
	jset_int(c->detail, "decision_mismatches", mismatches);
	if (mismatches)
		return cf_say(c, CF_FAIL, "%d of 8 rules decide differently on driver and rule inputs", mismatches);
	return cf_say(c, CF_PASS, "driver free %llu / file %llu pages vs rule %llu / %llu (tolerance %llu); "
		      "8 straddling rules agree", (unsigned long long)kfree, (unsigned long long)kfile,
		      (unsigned long long)ufree, (unsigned long long)ufile, (unsigned long long)tol);
}
