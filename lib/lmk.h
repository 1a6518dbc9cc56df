/* The Android low-memory-killer rule as pure functions: no I/O, no clock.
 *
 * Source: drivers/staging/android/lowmemorykiller.c, lowmem_scan() (the
 * shrinker's scan callback, v3.12 .. v4.11; the driver left mainline in
 * 4.12).  On each call the driver computes, in pages,
 *     other_free = NR_FREE_PAGES - totalreserve_pages
 *     other_file = NR_FILE_PAGES - NR_SHMEM - NR_UNEVICTABLE
 *                  - total_swapcache_pages()
 * (the 4.9..4.11 terms as in android-4.9-era copies of lowmem_scan, with
 * task_lmk_waiting(); 3.10 had only FILE - SHMEM, swapcache came later, and
 * the node-LRU rework of 4.8 moved the file counters to
 * global_node_page_state(); a pristine mainline 4.9..4.11 copy was not in
 * the reference index we searched, so the NR_UNEVICTABLE term rests on
 * those copies), then:
 *     array_size = min(ARRAY_SIZE(lowmem_adj) = 6, lowmem_adj_size,
 *                      lowmem_minfree_size);
 *     for (i = 0; i < array_size; i++) {
 *             minfree = lowmem_minfree[i];
 *             if (other_free < minfree && other_file < minfree) {
 *                     min_score_adj = lowmem_adj[i];
 *                     break;
 *             }
 *     }
 * i.e. ascending i, strict "<" on BOTH numbers, first match wins; with
 * the ascending thresholds the driver assumes ("Both files take a comma
 * separated list of numbers in ascending order"), the first match is the
 * smallest threshold both numbers are under: the most severe level, the
 * lowest adj.  No match leaves min_score_adj = OOM_SCORE_ADJ_MAX + 1 and
 * the driver returns without killing.  The loop reads the same in every
 * copy we checked, from the original 2.6 driver (oom_adj) through 3.10 and
 * the android-4.9-era trees.
 *
 * Defaults (unchanged since the first version): minfree pages
 * {3*512, 2*1024, 4*1024, 16*1024} (6, 8, 16, 64 MiB with 4 KiB pages) and
 * adj {0, 1, 6, 12}.  Those adj numbers were written for oom_adj (-17..15);
 * since the driver moved to oom_score_adj (-1000..1000, v3.7-ish) mainline
 * compares them unchanged against oom_score_adj, so with the defaults
 * anything at oom_score_adj >= 1 is fair game at 8 MiB.  Android kernels
 * had CONFIG_ANDROID_LOW_MEMORY_KILLER_AUTODETECT_OOM_ADJ_VALUES, which
 * rescales a *written* adj list whose last entry is <= 15 by
 * oom_adj * 1000 / 17 (15 -> 1000); Android userspace writes
 * oom_score_adj values anyway.  We keep mainline's behaviour: adj values
 * are oom_score_adj, defaults {0, 1, 6, 12}; pnb_lmk_oom_adj_to_score_adj()
 * gives the Android rescaling for those who want it.
 *
 * Victim choice (same function): skip kernel threads (PF_KTHREAD), tasks
 * without an mm, oom_score_adj < min_score_adj, RSS (get_mm_rss) <= 0;
 * keep the highest oom_score_adj, and on equal oom_score_adj the strictly
 * larger RSS, so among exact ties the first task in for_each_process order
 * (creation order) stays.  Not modelled here: the driver returns without
 * killing while a task it already killed still has its mm and less than HZ
 * has passed (lowmem_deathpending_timeout) — a caller that kills applies
 * that itself. */
#ifndef PNB_LMK_H
#define PNB_LMK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lmk_table.h"

#define PNB_LMK_MAX PNB_LMK_TABLE_MAX	/* lowmem_adj[6], lowmem_minfree[6] */
#define PNB_OOM_SCORE_ADJ_MIN (-1000)
#define PNB_OOM_SCORE_ADJ_MAX 1000
#define PNB_LMK_NO_LEVEL (PNB_OOM_SCORE_ADJ_MAX + 1)	/* the driver's sentinel */

struct pnb_lmk_rule {
	int n;					/* 1..PNB_LMK_MAX */
	uint64_t minfree_pages[PNB_LMK_MAX];	/* strictly ascending, > 0 */
	int adj[PNB_LMK_MAX];			/* oom_score_adj, strictly ascending */
};

/* The driver's defaults (4 levels). */
void pnb_lmk_rule_default(struct pnb_lmk_rule *r);

/* "1536,2048,4096,16384": 1..6 decimal page counts, each > 0 and below
 * 2^31 (the driver's int array), strictly ascending.  Returns the count, or
 * -EINVAL with a one-line reason in err (empty list, empty field,
 * non-number, too many, not ascending, out of range). */
int pnb_lmk_parse_minfree(const char *s, uint64_t out[PNB_LMK_MAX], char *err, size_t errlen);
/* "0,100,200,900": 1..6 oom_score_adj values in -1000..1000, strictly
 * ascending.  Count or -EINVAL with err, as above. */
int pnb_lmk_parse_adj(const char *s, int out[PNB_LMK_MAX], char *err, size_t errlen);

/* A rule from optional lists (NULL: the driver's default for that list).
 * Unlike the driver, which silently uses the shorter of the two lists, a
 * count mismatch is an error here: it is always a typo in a scenario.
 * 0 or -EINVAL with err. */
int pnb_lmk_rule_set(struct pnb_lmk_rule *r, const char *minfree, const char *adj,
		     char *err, size_t errlen);

/* The decision.  Returns min_score_adj of the first level i with
 * other_free < minfree[i] && other_file < minfree[i], and sets *level_idx
 * = i (when level_idx is not NULL); otherwise PNB_LMK_NO_LEVEL and -1.
 * Inputs are unsigned: the driver's int could go negative (free below
 * totalreserve), which compares the same as 0 against positive thresholds,
 * so callers clamp at 0. */
int pnb_lmk_evaluate(const struct pnb_lmk_rule *r, uint64_t other_free_pages,
		     uint64_t other_file_pages, int *level_idx);

struct pnb_lmk_task {
	pid_t pid;
	int kthread;		/* PF_KTHREAD */
	int has_mm;		/* find_lock_task_mm() found an mm */
	int oom_score_adj;
	uint64_t rss_pages;	/* get_mm_rss() */
};

/* Index of the task the driver would kill for min_score_adj, or -1 (no
 * candidate, or min_score_adj is PNB_LMK_NO_LEVEL). */
int pnb_lmk_select_victim(const struct pnb_lmk_task *t, int n, int min_score_adj);

/* Android's autodetect rescaling of an oom_adj (-17..15) value. */
int pnb_lmk_oom_adj_to_score_adj(int oom_adj);

#endif
