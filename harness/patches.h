/* Patch series applied to a kernel tree: tree:TREE+SERIES (kernels.c).
 *
 * SERIES is an mbox (git format-patch output, or a thread saved from a
 * mail client), a single patch file, or a quilt directory (a `series` file
 * naming the patches in order, each optionally with -pN).  The kernel is
 * cached by the tree's revision plus the series' digest, built from a copy
 * of the tree (hard links; the tree itself is never written) with the
 * series applied by git apply, and its directory keeps series.json, which
 * run puts into meta.json as kernel.series. */
#ifndef PNB_PATCHES_H
#define PNB_PATCHES_H

#include <jansson.h>
#include <stddef.h>

#include "guest.h"

struct pnb_patch {
	char path[PNB_PATH];	/* the file git apply reads */
	char name[256];		/* as the user knows it: quilt name, or "N of FILE" */
	char subject[512];	/* the subject line, [PATCH ...] prefix dropped */
	char sha256[65];	/* of the file */
	int strip;		/* -pN */
};

struct pnb_series {
	char path[PNB_PATH];	/* as given */
	char kind[8];		/* mbox, patch or quilt */
	int n;
	struct pnb_patch *p;
	char digest[65];	/* over every patch's strip level and bytes, in order */
	char tmpdir[PNB_PATH];	/* mbox split into files here; removed by free */
};

/* "TREE+SERIES" into its two parts.  0 with *series NULL when arg has no
 * series (no '+', or arg names an existing file or directory as it is),
 * 0 with both parts set, or -1 with the reason in err (an empty part). */
int series_split(const char *arg, char *tree, size_t tlen, const char **series,
		 char *err, size_t errlen);

/* Read a series: 0, or -1 with one line in err (no such file, no patch
 * in it, a quilt series naming a missing patch or an unknown option). */
int series_load(const char *path, struct pnb_series *s, char *err, size_t errlen);
void series_free(struct pnb_series *s);

/* Make patched, a copy of base with the series applied: hard links for
 * what the series does not touch, so an unchanged file keeps its mtime and
 * an object tree built from patched before rebuilds only what changed.
 * Files the previous series touched come back as fresh copies, so make
 * sees them change back.  0, or -1 with one line in err naming the patch
 * that does not apply and git apply's reason. */
int series_apply(const struct pnb_series *s, const char *base, const char *patched,
		 char *err, size_t errlen);

/* {"path","kind","digest","patches":[{"name","subject","sha256","strip"}]} */
json_t *series_json(const struct pnb_series *s);
/* kdir/series.json, written whole or not at all.  0 or -errno. */
int series_write(const struct pnb_series *s, const char *kdir);
/* A tree kernel's series.json (beside its bzImage), or NULL for a kernel
 * built without a series: for meta.json. */
json_t *kernel_series_json(const struct kernel_image *k);

#endif
