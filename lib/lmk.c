#include "lmk.h"
#include "lmk_table.h"
#include "parse.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define OOM_ADJUST_MAX 15
#define OOM_DISABLE (-17)

void pnb_lmk_rule_default(struct pnb_lmk_rule *r)
{
	static const uint64_t minfree[PNB_LMK_DEFAULT_N] = PNB_LMK_DEFAULT_MINFREE;
	static const int adj[PNB_LMK_DEFAULT_N] = PNB_LMK_DEFAULT_ADJ;

	memset(r, 0, sizeof *r);
	r->n = PNB_LMK_DEFAULT_N;
	memcpy(r->minfree_pages, minfree, sizeof minfree);
	memcpy(r->adj, adj, sizeof adj);
}

/* Split a comma list into at most PNB_LMK_MAX fields; count or -EINVAL. */
static int split_list(const char *what, const char *s, char *buf, size_t buflen,
		      char *f[PNB_LMK_MAX], char *err, size_t errlen)
{
	int n = 0;
	char *p;

	if (!s || !*s) {
		snprintf(err, errlen, "empty %s list (want 1 to %d comma-separated numbers)",
			 what, PNB_LMK_MAX);
		return -EINVAL;
	}
	if (strlen(s) >= buflen) {
		snprintf(err, errlen, "%s list '%.32s...' is too long", what, s);
		return -EINVAL;
	}
	strcpy(buf, s);
	for (p = buf;;) {
		char *c = strchr(p, ',');
		if (c)
			*c = 0;
		if (!*p) {
			snprintf(err, errlen, "%s list '%s' has an empty entry", what, s);
			return -EINVAL;
		}
		if (n == PNB_LMK_MAX) {
			snprintf(err, errlen, "%s list '%s' has more than %d entries "
				 "(the driver's arrays hold %d)", what, s, PNB_LMK_MAX, PNB_LMK_MAX);
			return -EINVAL;
		}
		f[n++] = p;
		if (!c)
			break;
		p = c + 1;
	}
	return n;
}

int pnb_lmk_parse_minfree(const char *s, uint64_t out[PNB_LMK_MAX], char *err, size_t errlen)
{
	char buf[256], *f[PNB_LMK_MAX];
	uint64_t v[PNB_LMK_MAX];
	int n = split_list("minfree", s, buf, sizeof buf, f, err, errlen);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		if (pnb_parse_u64(f[i], &v[i]) || v[i] == 0 || v[i] > INT_MAX) {
			snprintf(err, errlen, "minfree entry '%s' is not a page count in "
				 "1..%d", f[i], INT_MAX);
			return -EINVAL;
		}
		if (i > 0 && v[i] <= v[i - 1]) {
			snprintf(err, errlen, "minfree list '%s' is not strictly ascending "
				 "(%s after %s)", s, f[i], f[i - 1]);
			return -EINVAL;
		}
	}
	memcpy(out, v, (size_t)n * sizeof v[0]);
	return n;
}

int pnb_lmk_parse_adj(const char *s, int out[PNB_LMK_MAX], char *err, size_t errlen)
{
	char buf[256], *f[PNB_LMK_MAX];
	int64_t v[PNB_LMK_MAX];
	int n = split_list("adj", s, buf, sizeof buf, f, err, errlen);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		if (pnb_parse_i64(f[i], &v[i]) || v[i] < PNB_OOM_SCORE_ADJ_MIN ||
		    v[i] > PNB_OOM_SCORE_ADJ_MAX) {
			snprintf(err, errlen, "adj entry '%s' is not an oom_score_adj in "
				 "%d..%d", f[i], PNB_OOM_SCORE_ADJ_MIN, PNB_OOM_SCORE_ADJ_MAX);
			return -EINVAL;
		}
		if (i > 0 && v[i] <= v[i - 1]) {
			snprintf(err, errlen, "adj list '%s' is not strictly ascending "
				 "(%s after %s)", s, f[i], f[i - 1]);
			return -EINVAL;
		}
	}
	for (int i = 0; i < n; i++)
		out[i] = (int)v[i];
	return n;
}

int pnb_lmk_rule_set(struct pnb_lmk_rule *r, const char *minfree, const char *adj,
		     char *err, size_t errlen)
{
	struct pnb_lmk_rule t;
	int nm = PNB_LMK_DEFAULT_N, na = PNB_LMK_DEFAULT_N;

	pnb_lmk_rule_default(&t);
	if (minfree && (nm = pnb_lmk_parse_minfree(minfree, t.minfree_pages, err, errlen)) < 0)
		return nm;
	if (adj && (na = pnb_lmk_parse_adj(adj, t.adj, err, errlen)) < 0)
		return na;
	if (nm != na) {
		snprintf(err, errlen, "minfree has %d entries but adj has %d%s; the driver "
			 "would silently use the first %d", nm, na,
			 !minfree ? " (minfree is the driver's default)" :
			 !adj ? " (adj is the driver's default)" : "", nm < na ? nm : na);
		return -EINVAL;
	}
	t.n = nm;
	*r = t;
	return 0;
}

int pnb_lmk_evaluate(const struct pnb_lmk_rule *r, uint64_t other_free_pages,
		     uint64_t other_file_pages, int *level_idx)
{
	int n = r->n < PNB_LMK_MAX ? r->n : PNB_LMK_MAX;

	for (int i = 0; i < n; i++) {
		uint64_t minfree = r->minfree_pages[i];
		if (other_free_pages < minfree && other_file_pages < minfree) {
			if (level_idx)
				*level_idx = i;
			return r->adj[i];
		}
	}
	if (level_idx)
		*level_idx = -1;
	return PNB_LMK_NO_LEVEL;
}

int pnb_lmk_select_victim(const struct pnb_lmk_task *t, int n, int min_score_adj)
{
	int sel = -1;
	int sel_adj = min_score_adj;
	uint64_t sel_rss = 0;

	if (min_score_adj > PNB_OOM_SCORE_ADJ_MAX)
		return -1;
	for (int i = 0; i < n; i++) {
		if (t[i].kthread || !t[i].has_mm)
			continue;
		if (t[i].oom_score_adj < min_score_adj)
			continue;
		if (t[i].rss_pages == 0)
			continue;
		if (sel >= 0) {
			if (t[i].oom_score_adj < sel_adj)
				continue;
			if (t[i].oom_score_adj == sel_adj && t[i].rss_pages <= sel_rss)
				continue;
		}
		sel = i;
		sel_adj = t[i].oom_score_adj;
		sel_rss = t[i].rss_pages;
	}
	return sel;
}

int pnb_lmk_oom_adj_to_score_adj(int oom_adj)
{
	if (oom_adj == OOM_ADJUST_MAX)
		return PNB_OOM_SCORE_ADJ_MAX;
	return (oom_adj * PNB_OOM_SCORE_ADJ_MAX) / -OOM_DISABLE;
}
