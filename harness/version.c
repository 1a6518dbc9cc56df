/* The revision the CLI was built from, for meta.json and reports.  The only
 * object that sees PNB_GIT_REV, rebuilt whenever the revision string
 * changes (Makefile), so no file reports a stale one. */
#include "cli.h"

#ifndef PNB_GIT_REV
#define PNB_GIT_REV "unknown"
#endif

const char *pnb_git_rev(void)
{
	return PNB_GIT_REV;
}
