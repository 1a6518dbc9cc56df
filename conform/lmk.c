/* The Android LMK rule's inputs (lib/memview.c, from /proc/meminfo) against
 * the driver's (its own /proc/vmstat counters) on the live kernel.  The rule
 * itself is checked against the driver's loop in tests/lmk_test.c. */
#include "conform.h"
#include "jsonl.h"
#include "lmk.h"
#include "memview.h"
#include "procfs.h"

#include <stdio.h>
#include <string.h>

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
	/* The rule compares both numbers with one threshold, so the larger
	 * one decides; thresholds just inside and just outside the tolerance
	 * around it must give the driver's decision on the rule's inputs too.
	 * (Thresholds far from the live values, as this case used to use,
	 * agree whatever the inputs are.) */
	uint64_t big = kfree > kfile ? kfree : kfile;
	int mismatches = 0, rules = 0;
	json_t *ra = json_array();
	for (int k = 0; k < 4; k++) {
		/* k 0: L - tol (no level: L is not below it); k 1: L + tol + 1
		 * (level: both are below it); k 2, 3: the same as a second
		 * level behind a first one that cannot match. */
		if (big < tol + 1)
			continue;
		uint64_t m = k & 1 ? big + tol + 1 : big - tol;
		struct pnb_lmk_rule r = { .n = k < 2 ? 1 : 2 };
		if (k < 2) {
			r.minfree_pages[0] = m;
			r.adj[0] = 900;
		} else {
			r.minfree_pages[0] = 1;
			r.adj[0] = 0;
			r.minfree_pages[1] = m;
			r.adj[1] = 900;
		}
		int want = k & 1 ? 900 : PNB_LMK_NO_LEVEL;
		int dk = pnb_lmk_evaluate(&r, kfree, kfile, NULL), du = pnb_lmk_evaluate(&r, ufree, ufile, NULL);
		json_t *o = json_object();
		jset_int(o, "minfree_pages", (long long)m);
		jset_int(o, "driver", dk);
		jset_int(o, "rule", du);
		json_array_append_new(ra, o);
		rules++;
		if (dk != want || du != want)
			mismatches++;
	}
	json_object_set_new(c->detail, "threshold_rules", ra);
	jset_int(c->detail, "decision_mismatches", mismatches);
	if (!rules)
		return cf_say(c, CF_SKIP, "live free %llu and file %llu pages are both within the tolerance "
			      "(%llu) of 0: no threshold to place", (unsigned long long)kfree,
			      (unsigned long long)kfile, (unsigned long long)tol);
	if (mismatches)
		return cf_say(c, CF_FAIL, "%d of %d rules with thresholds at %llu -/+ %llu pages decide other "
			      "than expected on driver or rule inputs", mismatches, rules, (unsigned long long)big,
			      (unsigned long long)tol);
	return cf_say(c, CF_PASS, "driver free %llu / file %llu pages vs rule %llu / %llu (tolerance %llu); "
		      "%d rules with thresholds at %llu -/+ %llu decide alike", (unsigned long long)kfree,
		      (unsigned long long)kfile, (unsigned long long)ufree, (unsigned long long)ufile,
		      (unsigned long long)tol, rules, (unsigned long long)big, (unsigned long long)tol);
}
