/* The Android lowmemorykiller's default tables, in one place: lib/lmk.c
 * (the rule evaluated in user space) and probes/kmod/pnb_klmk.c (the
 * shrinker in the kernel) both take their defaults from here, so the two
 * can never disagree.  Plain C with no includes: the module build copies
 * this file next to the module sources.
 *
 * Values: drivers/staging/android/lowmemorykiller.c, unchanged from its
 * first version to its removal in 4.12 (lib/lmk.h says what they mean). */
#ifndef PNB_LMK_TABLE_H
#define PNB_LMK_TABLE_H

#define PNB_LMK_TABLE_MAX 6	/* lowmem_adj[6], lowmem_minfree[6] */
#define PNB_LMK_DEFAULT_N 4
/* Pages. */
#define PNB_LMK_DEFAULT_MINFREE { 3 * 512, 2 * 1024, 4 * 1024, 16 * 1024 }
/* oom_score_adj, compared unchanged as mainline did. */
#define PNB_LMK_DEFAULT_ADJ { 0, 1, 6, 12 }

#endif
