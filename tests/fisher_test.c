/* Fisher's exact test for compare's k/n rows (harness/stats.c).  Expected
 * values by hand from the hypergeometric distribution, as R's fisher.test
 * computes them: the two-sided p is the sum over every table with the same
 * margins whose probability is at most the observed one's. */
#include "stats.h"

#include <atf-c.h>
#include <math.h>

#define NEAR(a, b) (fabs((a) - (b)) < 1e-4)

ATF_TC_WITHOUT_HEAD(hand_worked);
ATF_TC_BODY(hand_worked, tc)
{
	double p;

	/* 3 of 3 vs 0 of 3: P(x=3) = P(x=0) = 1/C(6,3) = 1/20 -> 0.1, which is
	 * why 3 repetitions a side can never give p < 0.05. */
	p = pnb_fisher_2x2(3, 0, 0, 3);
	ATF_CHECK_MSG(NEAR(p, 0.1), "p = %g", p);
	/* 5 of 5 vs 0 of 5: 2/C(10,5) = 2/252. */
	p = pnb_fisher_2x2(5, 0, 0, 5);
	ATF_CHECK_MSG(NEAR(p, 2.0 / 252), "p = %g", p);
	/* Fisher's tea-tasting table [3 1; 1 3]: tables x = 0..4 have
	 * 1, 16, 36, 16, 1 (/70); those <= 16/70: 34/70. */
	p = pnb_fisher_2x2(3, 1, 1, 3);
	ATF_CHECK_MSG(NEAR(p, 34.0 / 70), "p = %g", p);
	/* Unequal sizes: 4 of 5 vs 1 of 7; margins 5/7 rows, 5/7 columns.
	 * C(5,x)C(7,5-x)/C(12,5) for x = 0..5: 21, 175, 350, 210, 35, 1 (/792);
	 * observed x = 4 (35): 35 + 21 + 1 = 57/792. */
	p = pnb_fisher_2x2(4, 1, 1, 6);
	ATF_CHECK_MSG(NEAR(p, 57.0 / 792), "p = %g", p);
	/* Nothing to tell apart. */
	ATF_CHECK(NEAR(pnb_fisher_2x2(0, 5, 0, 5), 1));
	ATF_CHECK(NEAR(pnb_fisher_2x2(2, 3, 2, 3), 1));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, hand_worked);
	return atf_no_error();
}
