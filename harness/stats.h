/* Statistics over repetitions: distribution summaries (GSL) and the
 * Mann-Whitney U test used by `pnbench compare`.  docs/metrics.md (sections
 * 5 and 6) defines what these compute. */
#ifndef PNB_STATS_H
#define PNB_STATS_H

#include <stddef.h>

/* Median, quartiles (GSL, linear interpolation: Hyndman & Fan type 7),
 * min and max of the values that are not NaN.  -inf is a value (a missed
 * lead time sorts below every other). */
struct pnb_dist {
	size_t n;
	double min, q1, median, q3, max;
};

/* 0, -EINVAL when no value is left (d->n = 0, the rest NaN), -ENOMEM. */
int pnb_dist_compute(const double *x, size_t n, struct pnb_dist *d);

/* The exact null distribution is used up to this many values a side. */
#define PNB_MWU_EXACT_MAX 10
/* Forced exact counting stays exact in doubles up to this many in all. */
#define PNB_MWU_EXACT_LIMIT 50

enum pnb_mwu_method { PNB_MWU_AUTO, PNB_MWU_EXACT, PNB_MWU_NORMAL };

struct pnb_mwu {
	double u1, u2;		/* U of the first and of the second sample */
	double p;		/* two-sided */
	double z;		/* normal approximation only, else NaN */
	int exact;		/* 1: exact distribution, 0: normal approximation */
	int ties;		/* number of tie groups in the pooled sample */
};

/* Two-sided Mann-Whitney U test of x (n1 values) against y (n2).
 * AUTO: exact when n1 and n2 are both <= PNB_MWU_EXACT_MAX, else normal
 * with tie and continuity correction.  0, -EINVAL (empty sample, NaN),
 * -E2BIG (exact asked for more than PNB_MWU_EXACT_LIMIT values), -ENOMEM. */
int pnb_mwu(const double *x, size_t n1, const double *y, size_t n2,
	    enum pnb_mwu_method method, struct pnb_mwu *r);

/* The smallest two-sided exact p-value n1 vs n2 runs can reach
 * (2 / C(n1+n2, n1), at most 1): below alpha, no test can be significant. */
double pnb_mwu_min_p(size_t n1, size_t n2);

/* Two-sided Fisher exact p for the 2x2 table [a b; c d] (rows: base, new;
 * columns: yes, no), for categorical rows such as "fired before OOM k/n". */
double pnb_fisher_2x2(unsigned a, unsigned b, unsigned c, unsigned d);

#endif
