/* pnbench compare BASE NEW: the command line around pnb_compare
 * (harness/compare.c); the exit status gates CI (docs/metrics.md 6). */
#include "analysis.h"
#include "cli.h"
#include "log.h"
#include "parse.h"
#include "stats.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void compare_usage(FILE *f)
{
	fprintf(f,
		"usage: pnbench compare [options] BASE NEW\n"
		"\n"
		"Compare two result sets (or kernel directories of them) per scenario,\n"
		"mechanism and metric: medians, change, Mann-Whitney U p-value.\n"
		"Exit status: 0 no regression, 1 regression, 2 usage or data error\n"
		"(including runs of different scenario texts or schema versions, a side\n"
		"with no complete run, or a run without meta.json).\n"
		"  --threshold PCT     a median worse by more than PCT %% (default 10) ...\n"
		"  --alpha P           ... with p < P (default 0.05) is a regression\n"
		"  --lead-floor MS     a lead time median moving less than MS (default 50)\n"
		"                      or the probe's own step is no regression\n"
		"  --rules LIST        rows that can regress: lead, headroom, latency, fp,\n"
		"                      storm, overhead (medians, Mann-Whitney U); fired,\n"
		"                      oom, storm-seen (k/n runs, Fisher's exact test);\n"
		"                      comma-separated, or none (default lead,fp,fired,\n"
		"                      oom,storm-seen)\n"
		"  --base-kernel NAME  the kernel of BASE to compare (when it holds several)\n"
		"  --new-kernel NAME   the kernel of NEW to compare\n"
		"  --exact | --normal  force the exact distribution or the normal\n"
		"                      approximation (default: exact up to %d runs a side)\n",
		PNB_MWU_EXACT_MAX);
}

int cmd_compare(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "threshold", required_argument, NULL, 't' },
		{ "alpha", required_argument, NULL, 'a' },
		{ "rules", required_argument, NULL, 'r' },
		{ "lead-floor", required_argument, NULL, 'l' },
		{ "base-kernel", required_argument, NULL, 'B' },
		{ "new-kernel", required_argument, NULL, 'N' },
		{ "exact", no_argument, NULL, 'e' },
		{ "normal", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmp_opts o;
	struct an_set base, new;
	char err[1024];
	int c, rc;

	cmp_opts_default(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (pnb_parse_double(optarg, &o.threshold_pct) || o.threshold_pct < 0) {
				pnb_err("compare: --threshold '%s': want a percentage >= 0, e.g. 10", optarg);
				return PNB_EXIT_USAGE;
			}
			break;
		case 'a':
			if (pnb_parse_double(optarg, &o.alpha) || o.alpha <= 0 || o.alpha > 1) {
				pnb_err("compare: --alpha '%s': want a probability in (0, 1], e.g. 0.05", optarg);
				return PNB_EXIT_USAGE;
			}
			break;
		case 'r':
			if (cmp_parse_rules(optarg, &o.rules, err, sizeof err)) {
				pnb_err("compare: --rules: %s", err);
				return PNB_EXIT_USAGE;
			}
			break;
		case 'l': {
			double ms;
			if (pnb_parse_double(optarg, &ms) || ms < 0) {
				pnb_err("compare: --lead-floor '%s': want milliseconds >= 0, e.g. 50", optarg);
				return PNB_EXIT_USAGE;
			}
			o.lead_floor_s = ms / 1e3;
			break;
		}
		case 'B':
			o.base_kernel = optarg;
			break;
		case 'N':
			o.new_kernel = optarg;
			break;
		case 'e':
			o.method = PNB_MWU_EXACT;
			break;
		case 'n':
			o.method = PNB_MWU_NORMAL;
			break;
		case 'h':
			compare_usage(stdout);
			return 0;
		default:
			compare_usage(stderr);
			return PNB_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		pnb_err("compare: want two result directories, BASE and NEW (got %d)", argc - optind);
		compare_usage(stderr);
		return PNB_EXIT_USAGE;
	}
	if (an_set_load(argv[optind], &base, err, sizeof err)) {
		pnb_err("compare: base: %s", err);
		return PNB_EXIT_USAGE;
	}
	if (an_set_load(argv[optind + 1], &new, err, sizeof err)) {
		pnb_err("compare: new: %s", err);
		an_set_free(&base);
		return PNB_EXIT_USAGE;
	}
	rc = pnb_compare(&base, &new, &o, stdout, err, sizeof err);
	if (rc < 0) {
		pnb_err("compare: refused: %s", err);
		rc = PNB_EXIT_USAGE;
	}
	an_set_free(&base);
	an_set_free(&new);
	return rc;
}
