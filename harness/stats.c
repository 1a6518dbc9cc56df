/* Distribution summaries and the Mann-Whitney U test. */
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

int pnb_dist_compute(const double *x, size_t n, struct pnb_dist *d)
{
	double *v = malloc((n ? n : 1) * sizeof *v);
	size_t k = 0;

	d->n = 0;
	d->min = d->q1 = d->median = d->q3 = d->max = NAN;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!isnan(x[i]))
			v[k++] = x[i];
	if (!k) {
		free(v);
		return -EINVAL;
	}
	gsl_sort(v, 1, k);
	d->n = k;
	d->min = v[0];
	d->max = v[k - 1];
	d->q1 = gsl_stats_quantile_from_sorted_data(v, 1, k, 0.25);
	d->median = gsl_stats_quantile_from_sorted_data(v, 1, k, 0.5);
	d->q3 = gsl_stats_quantile_from_sorted_data(v, 1, k, 0.75);
	/* GSL interpolates (1-f)*a + f*b: with a = -inf and f = 0 that is
	 * -inf + 0*b, fine, but b = +inf would give NaN; keep the order
	 * statistic itself when the interpolation is undefined. */
	if (isnan(d->q1))
		d->q1 = v[(size_t)floor(0.25 * (double)(k - 1))];
	if (isnan(d->median))
		d->median = v[(size_t)floor(0.5 * (double)(k - 1))];
	if (isnan(d->q3))
		d->q3 = v[(size_t)floor(0.75 * (double)(k - 1))];
	free(v);
	return 0;
}

struct item {
	double v;
	int group;		/* 0: x, 1: y */
};

static int item_cmp(const void *a, const void *b)
{
	const struct item *p = a, *q = b;

	/* -inf compares equal to -inf, which is what ties need. */
	return (p->v > q->v) - (p->v < q->v);
}

/* Doubled mid-ranks (integers: first + last position, 1-based) so the
 * exact distribution can be counted over integer sums.  Returns the tie
 * correction sum of (t^3 - t) and the number of tie groups. */
static double midranks2(struct item *it, size_t N, long *r2, int *groups)
{
	double tsum = 0;

	*groups = 0;
	for (size_t i = 0; i < N;) {
		size_t j = i;
		while (j + 1 < N && item_cmp(&it[j + 1], &it[i]) == 0)
			j++;
		for (size_t k = i; k <= j; k++)
			r2[k] = (long)(i + 1 + j + 1);
		if (j > i) {
			double t = (double)(j - i + 1);
			tsum += t * t * t - t;
			(*groups)++;
		}
		i = j + 1;
	}
	return tsum;
}

double pnb_mwu_min_p(size_t n1, size_t n2)
{
	double c = 1;

	/* C(n1+n2, n1) by the multiplicative formula, exact for our sizes. */
	for (size_t i = 1; i <= n1; i++)
		c = c * (double)(n2 + i) / (double)i;
	return c > 2 ? 2 / c : 1;
}

/* P(W2 <= w2) and P(W2 >= w2) for the doubled rank sum W2 of a random
 * n1-subset of the pooled doubled ranks, by counting subsets per sum. */
static int exact_tails(const long *r2, size_t N, size_t n1, long w2, double *lo, double *hi)
{
	long smax = 0;
	double *cnt, total = 0, below = 0, above = 0;

	for (size_t i = 0; i < N; i++)
		smax += r2[i];
	size_t width = (size_t)smax + 1;
	cnt = calloc((n1 + 1) * width, sizeof *cnt);
	if (!cnt)
		return -ENOMEM;
	cnt[0] = 1;	/* the empty subset, sum 0 */
	for (size_t i = 0; i < N; i++) {
		size_t kmax = i + 1 < n1 ? i + 1 : n1;
		/* Downwards in k so each item is used at most once. */
		for (size_t k = kmax; k >= 1; k--)
			for (long s = smax - r2[i]; s >= 0; s--) {
				double c = cnt[(k - 1) * width + (size_t)s];
				if (c)
					cnt[k * width + (size_t)(s + r2[i])] += c;
			}
	}
	for (long s = 0; s <= smax; s++) {
		double c = cnt[n1 * width + (size_t)s];
		total += c;
		if (s <= w2)
			below += c;
		if (s >= w2)
			above += c;
	}
	free(cnt);
	*lo = below / total;
	*hi = above / total;
	return 0;
}

int pnb_mwu(const double *x, size_t n1, const double *y, size_t n2,
	    enum pnb_mwu_method method, struct pnb_mwu *r)
{
	size_t N = n1 + n2;
	struct item *it;
	long *r2, w2 = 0;
	double tsum;
	int ret = 0;

	r->u1 = r->u2 = r->p = r->z = NAN;
	r->exact = 0;
	r->ties = 0;
	if (!n1 || !n2)
		return -EINVAL;
	for (size_t i = 0; i < n1; i++)
		if (isnan(x[i]))
			return -EINVAL;
	for (size_t i = 0; i < n2; i++)
		if (isnan(y[i]))
			return -EINVAL;
	if (method == PNB_MWU_AUTO)
		method = n1 <= PNB_MWU_EXACT_MAX && n2 <= PNB_MWU_EXACT_MAX ?
			PNB_MWU_EXACT : PNB_MWU_NORMAL;
	if (method == PNB_MWU_EXACT && N > PNB_MWU_EXACT_LIMIT)
		return -E2BIG;
	it = malloc(N * sizeof *it);
	r2 = malloc(N * sizeof *r2);
	if (!it || !r2) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n1; i++)
		it[i] = (struct item){ x[i], 0 };
	for (size_t i = 0; i < n2; i++)
		it[n1 + i] = (struct item){ y[i], 1 };
	/* qsort is not stable, but equal values get equal ranks anyway. */
	qsort(it, N, sizeof *it, item_cmp);
	tsum = midranks2(it, N, r2, &r->ties);
	for (size_t i = 0; i < N; i++)
		if (it[i].group == 0)
			w2 += r2[i];
	r->u1 = (double)w2 / 2 - (double)n1 * (double)(n1 + 1) / 2;
	r->u2 = (double)n1 * (double)n2 - r->u1;

	if (method == PNB_MWU_EXACT) {
		double lo, hi;
		ret = exact_tails(r2, N, n1, w2, &lo, &hi);
		if (ret)
			goto out;
		r->p = fmin(1.0, 2 * fmin(lo, hi));
		r->exact = 1;
	} else {
		double n1d = (double)n1, n2d = (double)n2, Nd = (double)N;
		double mean = n1d * n2d / 2;
		double var = n1d * n2d / 12 * ((Nd + 1) - tsum / (Nd * (Nd - 1)));
		double d = fabs(r->u1 - mean);

		if (var <= 0) {
			/* Every value tied: nothing to tell apart. */
			r->z = 0;
			r->p = 1;
		} else {
			d = d > 0.5 ? d - 0.5 : 0;
			r->z = d / sqrt(var);
			r->p = fmin(1.0, 2 * gsl_cdf_ugaussian_Q(r->z));
		}
	}
out:
	free(it);
	free(r2);
	return ret;
}

/* Two-sided Fisher exact test on the 2x2 table [a b; c d]: the sum of the
 * probabilities of every table with the same margins that is no more
 * likely than the observed one (R's fisher.test convention, with its
 * relative tolerance for ties in probability). */
double pnb_fisher_2x2(unsigned a, unsigned b, unsigned c, unsigned d)
{
	unsigned row1 = a + b, col1 = a + c, n = a + b + c + d;
	unsigned lo = col1 > n - row1 ? col1 - (n - row1) : 0;
	unsigned hi = row1 < col1 ? row1 : col1;
	double p_obs = gsl_ran_hypergeometric_pdf(a, col1, n - col1, row1), p = 0;

	if (!n)
		return 1;
	for (unsigned x = lo; x <= hi; x++) {
		double px = gsl_ran_hypergeometric_pdf(x, col1, n - col1, row1);
		if (px <= p_obs * (1 + 1e-7))
			p += px;
	}
	return p > 1 ? 1 : p;
}
