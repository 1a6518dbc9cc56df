/* Statistics of harness/stats.c against values worked out by hand or found
 * in textbooks: quartiles (Hyndman & Fan type 7, as R and NumPy), the exact
 * Mann-Whitney U distribution (with ties) and its normal approximation. */
#include <atf-c.h>
#include <errno.h>
#include <math.h>

#include "stats.h"

#define CLOSE(a, b, tol) (fabs((a) - (b)) <= (tol))

ATF_TC(dist_type7);
ATF_TC_HEAD(dist_type7, tc)
{
	atf_tc_set_md_var(tc, "descr", "median and quartiles of 1..10 (type 7: 3.25, 5.5, 7.75), NaN dropped");
}
ATF_TC_BODY(dist_type7, tc)
{
	/* Unsorted on purpose, with two NaN that must not count. */
	double x[] = { 7, 3, NAN, 10, 1, 5, 9, 2, 8, NAN, 6, 4 };
	struct pnb_dist d;

	ATF_REQUIRE_EQ(pnb_dist_compute(x, sizeof x / sizeof x[0], &d), 0);
	ATF_CHECK_EQ(d.n, 10);
	ATF_CHECK(CLOSE(d.min, 1, 1e-12));
	ATF_CHECK(CLOSE(d.q1, 3.25, 1e-12));
	ATF_CHECK(CLOSE(d.median, 5.5, 1e-12));
	ATF_CHECK(CLOSE(d.q3, 7.75, 1e-12));
	ATF_CHECK(CLOSE(d.max, 10, 1e-12));
}

ATF_TC(dist_odd_and_inf);
ATF_TC_HEAD(dist_odd_and_inf, tc)
{
	atf_tc_set_md_var(tc, "descr", "odd count: median is the middle value; -inf (missed lead) sorts first");
}
ATF_TC_BODY(dist_odd_and_inf, tc)
{
	double x[] = { 4.0, -INFINITY, 2.0 };
	double y[] = { -INFINITY, -INFINITY, 1.0 };
	struct pnb_dist d;

	ATF_REQUIRE_EQ(pnb_dist_compute(x, 3, &d), 0);
	ATF_CHECK(isinf(d.min) && d.min < 0);
	ATF_CHECK(CLOSE(d.median, 2.0, 1e-12));
	ATF_CHECK(CLOSE(d.q3, 3.0, 1e-12));	/* 2 + 0.5 * (4 - 2) */
	ATF_CHECK(CLOSE(d.max, 4.0, 1e-12));
	/* More than half missed: the median itself is -inf. */
	ATF_REQUIRE_EQ(pnb_dist_compute(y, 3, &d), 0);
	ATF_CHECK(isinf(d.median) && d.median < 0);
}

ATF_TC(dist_empty);
ATF_TC_HEAD(dist_empty, tc)
{
	atf_tc_set_md_var(tc, "descr", "no value left: -EINVAL, n = 0, median NaN");
}
ATF_TC_BODY(dist_empty, tc)
{
	double x[] = { NAN, NAN };
	struct pnb_dist d;

	ATF_CHECK_EQ(pnb_dist_compute(x, 2, &d), -EINVAL);
	ATF_CHECK_EQ(d.n, 0);
	ATF_CHECK(isnan(d.median));
}

ATF_TC(mwu_textbook);
ATF_TC_HEAD(mwu_textbook, tc)
{
	atf_tc_set_md_var(tc, "descr", "tortoise/hare example (Wikipedia, Mann-Whitney U test): U = 25 and 11; exact p = 2*143/924");
}
ATF_TC_BODY(mwu_textbook, tc)
{
	/* Finishing order T H H H H H T T T T T H: the tortoises hold ranks
	 * 1, 7-11, the hares 2-6 and 12.  Rank sum of T = 46, U_T = 46 - 21.
	 * Of the C(12,6) = 924 splits, 143 have a rank sum >= 46 (counted by
	 * enumeration): two-sided p = 2 * 143/924 = 0.30952. */
	double t[] = { 1, 7, 8, 9, 10, 11 };
	double h[] = { 2, 3, 4, 5, 6, 12 };
	struct pnb_mwu r;

	ATF_REQUIRE_EQ(pnb_mwu(t, 6, h, 6, PNB_MWU_AUTO, &r), 0);
	ATF_CHECK(CLOSE(r.u1, 25, 1e-9));
	ATF_CHECK(CLOSE(r.u2, 11, 1e-9));
	ATF_CHECK_EQ(r.exact, 1);
	ATF_CHECK_MSG(CLOSE(r.p, 286.0 / 924.0, 1e-9), "p = %.6f", r.p);
}

ATF_TC(mwu_exact_extremes);
ATF_TC_HEAD(mwu_exact_extremes, tc)
{
	atf_tc_set_md_var(tc, "descr", "complete separation: p = 2/C(6,3) = 0.1 and 2/C(8,4) = 0.0286; min_p says the same");
}
ATF_TC_BODY(mwu_exact_extremes, tc)
{
	double a[] = { 1, 2, 3 }, b[] = { 4, 5, 6 };
	double c[] = { 1, 2, 3, 4 }, d[] = { 5, 6, 7, 8 };
	struct pnb_mwu r;

	ATF_REQUIRE_EQ(pnb_mwu(a, 3, b, 3, PNB_MWU_AUTO, &r), 0);
	ATF_CHECK(CLOSE(r.u1, 0, 1e-9) && CLOSE(r.u2, 9, 1e-9));
	ATF_CHECK_MSG(CLOSE(r.p, 0.1, 1e-9), "p = %.6f", r.p);
	ATF_CHECK(CLOSE(pnb_mwu_min_p(3, 3), 0.1, 1e-12));
	/* Same data swapped: same p, U swapped. */
	ATF_REQUIRE_EQ(pnb_mwu(b, 3, a, 3, PNB_MWU_AUTO, &r), 0);
	ATF_CHECK(CLOSE(r.u1, 9, 1e-9) && CLOSE(r.p, 0.1, 1e-9));
	ATF_REQUIRE_EQ(pnb_mwu(c, 4, d, 4, PNB_MWU_AUTO, &r), 0);
	ATF_CHECK_MSG(CLOSE(r.p, 2.0 / 70.0, 1e-9), "p = %.6f", r.p);
	ATF_CHECK(CLOSE(pnb_mwu_min_p(4, 4), 2.0 / 70.0, 1e-12));
	/* Identical samples: no evidence at all. */
	ATF_REQUIRE_EQ(pnb_mwu(a, 3, a, 3, PNB_MWU_AUTO, &r), 0);
	ATF_CHECK(CLOSE(r.p, 1.0, 1e-9));
}

ATF_TC(mwu_exact_ties);
ATF_TC_HEAD(mwu_exact_ties, tc)
{
	atf_tc_set_md_var(tc, "descr", "ties use mid-ranks and the exact distribution of those: {1,2,2} vs {2,3,4}: U = 1, p = 0.3");
}
ATF_TC_BODY(mwu_exact_ties, tc)
{
	/* Pooled mid-ranks 1, 3, 3, 3, 5, 6; x holds 1, 3, 3 (sum 7, U = 1).
	 * Of the 20 splits, 3 have a rank sum <= 7 (1+3+3 three ways):
	 * p = 2 * 3/20. */
	double x[] = { 1, 2, 2 }, y[] = { 2, 3, 4 };
	struct pnb_mwu r;

	ATF_REQUIRE_EQ(pnb_mwu(x, 3, y, 3, PNB_MWU_EXACT, &r), 0);
	ATF_CHECK(CLOSE(r.u1, 1, 1e-9));
	ATF_CHECK(CLOSE(r.u2, 8, 1e-9));
	ATF_CHECK_EQ(r.ties, 1);
	ATF_CHECK_MSG(CLOSE(r.p, 0.3, 1e-9), "p = %.6f", r.p);
}

ATF_TC(mwu_exact_unequal);
ATF_TC_HEAD(mwu_exact_unequal, tc)
{
	atf_tc_set_md_var(tc, "descr", "unequal sizes, 3 vs 7 without ties: U = 5, exact p = 2*16/120 = 0.2667, either order");
}
ATF_TC_BODY(mwu_exact_unequal, tc)
{
	/* x holds ranks 1, 2, 8 of 1..10: rank sum 11, U1 = 11 - 6 = 5,
	 * U2 = 21 - 5 = 16.  Counting the 3-subsets of 1..10 by rank sum
	 * by hand: sum 6: {1,2,3}; 7: {1,2,4}; 8: {1,2,5} {1,3,4};
	 * 9: three; 10: four; 11: five ({1,2,8} {1,3,7} {1,4,6} {2,3,6}
	 * {2,4,5}).  So 1+1+2+3+4+5 = 16 of C(10,3) = 120 have a sum <= 11:
	 * p = 2 * 16/120 = 0.26667 (a Python enumeration of all 120 subsets
	 * agrees).  The equal-size cases cannot tell n1 from n2 apart. */
	double x[] = { 1, 2, 8 }, y[] = { 3, 4, 5, 6, 7, 9, 10 };
	struct pnb_mwu r;

	ATF_REQUIRE_EQ(pnb_mwu(x, 3, y, 7, PNB_MWU_AUTO, &r), 0);
	ATF_CHECK_EQ(r.exact, 1);
	ATF_CHECK_EQ(r.ties, 0);
	ATF_CHECK_MSG(CLOSE(r.u1, 5, 1e-9) && CLOSE(r.u2, 16, 1e-9), "U = %g, %g", r.u1, r.u2);
	ATF_CHECK_MSG(CLOSE(r.p, 32.0 / 120.0, 1e-9), "p = %.6f", r.p);
	ATF_REQUIRE_EQ(pnb_mwu(y, 7, x, 3, PNB_MWU_AUTO, &r), 0);
	ATF_CHECK_MSG(CLOSE(r.u1, 16, 1e-9) && CLOSE(r.u2, 5, 1e-9), "swapped: U = %g, %g", r.u1, r.u2);
	ATF_CHECK_MSG(CLOSE(r.p, 32.0 / 120.0, 1e-9), "swapped: p = %.6f", r.p);
	ATF_CHECK(CLOSE(pnb_mwu_min_p(3, 7), 2.0 / 120.0, 1e-12));
}

ATF_TC(mwu_ties_unequal);
ATF_TC_HEAD(mwu_ties_unequal, tc)
{
	atf_tc_set_md_var(tc, "descr", "5 vs 6 with two 3-way ties: U = 21, exact p = 2*79/462 = 0.3420, "
			  "normal (tie and continuity corrected) p = 0.3063");
}
ATF_TC_BODY(mwu_ties_unequal, tc)
{
	/* Pooled: 1 2 3 4 5 5 5 6 6 6 7 -> mid-ranks 1 2 3 4 6 6 6 9 9 9 11.
	 * x holds 4, 6, 6, 9, 11: sum 36, U1 = 36 - 15 = 21, U2 = 30 - 21 = 9.
	 * Exact: a Python script listed all C(11,5) = 462 five-element
	 * subsets of those mid-ranks (itertools.combinations, no shortcut)
	 * and found 79 with a sum >= 36 and 410 with a sum <= 36; the
	 * distribution is not symmetric with ties, so both tails matter:
	 * p = 2 * 79/462 = 0.341991.
	 * Normal: mean 15; tie term sum(t^3 - t) = 2 * 24 = 48;
	 * var = 30/12 * (12 - 48/110) = 28.90909; z = (6 - 0.5)/5.376717
	 * = 1.022929; p = erfc(z/sqrt 2) = 0.306341. */
	double x[] = { 4, 5, 5, 6, 7 }, y[] = { 1, 2, 3, 5, 6, 6 };
	struct pnb_mwu r;

	ATF_REQUIRE_EQ(pnb_mwu(x, 5, y, 6, PNB_MWU_AUTO, &r), 0);
	ATF_CHECK_EQ(r.exact, 1);
	ATF_CHECK_EQ(r.ties, 2);
	ATF_CHECK_MSG(CLOSE(r.u1, 21, 1e-9) && CLOSE(r.u2, 9, 1e-9), "U = %g, %g", r.u1, r.u2);
	ATF_CHECK_MSG(CLOSE(r.p, 158.0 / 462.0, 1e-9), "exact p = %.6f", r.p);
	ATF_REQUIRE_EQ(pnb_mwu(y, 6, x, 5, PNB_MWU_EXACT, &r), 0);
	ATF_CHECK_MSG(CLOSE(r.p, 158.0 / 462.0, 1e-9), "swapped: exact p = %.6f", r.p);

	ATF_REQUIRE_EQ(pnb_mwu(x, 5, y, 6, PNB_MWU_NORMAL, &r), 0);
	ATF_CHECK_EQ(r.exact, 0);
	ATF_CHECK_MSG(CLOSE(fabs(r.z), 1.0229290, 1e-6), "z = %.7f", r.z);
	ATF_CHECK_MSG(CLOSE(r.p, 0.3063414, 1e-6), "normal p = %.7f", r.p);
}

ATF_TC(mwu_normal);
ATF_TC_HEAD(mwu_normal, tc)
{
	atf_tc_set_md_var(tc, "descr", "12 vs 12 runs (1..12 vs 7..18, 6 ties): normal approximation, tie and continuity corrected, z = 3.0929, p = 0.0019824");
}
ATF_TC_BODY(mwu_normal, tc)
{
	/* U1 = 18, mean 72; sigma^2 = 144/12 * (25 - 6*6/552) = 299.217;
	 * z = (54 - 0.5) / sqrt(299.217) = 3.09286; p = erfc(z/sqrt 2). */
	double x[12], y[12];
	struct pnb_mwu r;

	for (int i = 0; i < 12; i++) {
		x[i] = 1 + i;
		y[i] = 7 + i;
	}
	ATF_REQUIRE_EQ(pnb_mwu(x, 12, y, 12, PNB_MWU_AUTO, &r), 0);
	ATF_CHECK_EQ(r.exact, 0);
	ATF_CHECK(CLOSE(r.u1, 18, 1e-9));
	ATF_CHECK_MSG(CLOSE(fabs(r.z), 3.0928607, 1e-6), "z = %.7f", r.z);
	ATF_CHECK_MSG(CLOSE(r.p, 0.00198237, 1e-7), "p = %.8f", r.p);
}

ATF_TC(mwu_errors);
ATF_TC_HEAD(mwu_errors, tc)
{
	atf_tc_set_md_var(tc, "descr", "empty sample or NaN: -EINVAL; exact beyond the limit: -E2BIG");
}
ATF_TC_BODY(mwu_errors, tc)
{
	double x[] = { 1, 2 }, bad[] = { 1, NAN }, big[60];
	struct pnb_mwu r;

	for (int i = 0; i < 60; i++)
		big[i] = i;
	ATF_CHECK_EQ(pnb_mwu(x, 0, x, 2, PNB_MWU_AUTO, &r), -EINVAL);
	ATF_CHECK_EQ(pnb_mwu(x, 2, bad, 2, PNB_MWU_AUTO, &r), -EINVAL);
	ATF_CHECK_EQ(pnb_mwu(big, 30, big + 30, 30, PNB_MWU_EXACT, &r), -E2BIG);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, dist_type7);
	ATF_TP_ADD_TC(tp, dist_odd_and_inf);
	ATF_TP_ADD_TC(tp, dist_empty);
	ATF_TP_ADD_TC(tp, mwu_textbook);
	ATF_TP_ADD_TC(tp, mwu_exact_extremes);
	ATF_TP_ADD_TC(tp, mwu_exact_ties);
	ATF_TP_ADD_TC(tp, mwu_exact_unequal);
	ATF_TP_ADD_TC(tp, mwu_ties_unequal);
	ATF_TP_ADD_TC(tp, mwu_normal);
	ATF_TP_ADD_TC(tp, mwu_errors);
	return atf_no_error();
}
