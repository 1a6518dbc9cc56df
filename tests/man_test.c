/* docs/pnbench.1's PROBE SPECS section is what `pnbench probes --man`
 * writes from the probe registry: the man page cannot drift from the
 * probes again (issue 16). */
#include <atf-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define BEGIN_MARK ".\\\" PROBES BEGIN"
#define END_MARK ".\\\" PROBES END"

/* The file's text between the line after BEGIN_MARK's comment lines and
 * END_MARK, into a malloc'd string. */
static char *man_section(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	size_t len = 0, cap = 1 << 16;
	char *out = malloc(cap);
	int in = 0;

	ATF_REQUIRE_MSG(f, "%s", path);
	ATF_REQUIRE(out);
	out[0] = 0;
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, BEGIN_MARK, strlen(BEGIN_MARK))) {
			in = 1;
			continue;
		}
		if (!strncmp(line, END_MARK, strlen(END_MARK)))
			break;
		/* The comment lines that go with the begin marker. */
		if (!in || (len == 0 && !strncmp(line, ".\\\"", 3)))
			continue;
		size_t n = strlen(line);
		while (len + n + 1 > cap)
			ATF_REQUIRE(out = realloc(out, cap *= 2));
		memcpy(out + len, line, n + 1);
		len += n;
	}
	fclose(f);
	ATF_REQUIRE_MSG(in, "%s: no '%s' line", path, BEGIN_MARK);
	return out;
}

ATF_TC(probes_section_generated);
ATF_TC_HEAD(probes_section_generated, tc)
{
	atf_tc_set_md_var(tc, "descr", "docs/pnbench.1 between its PROBES markers is exactly "
			  "what pnbench probes --man prints");
}
ATF_TC_BODY(probes_section_generated, tc)
{
	const char *src = atf_tc_get_config_var(tc, "srcdir");
	char bin[1024], page[1024];
	static struct cmd_result r;
	char *argv[] = { (char *)bin_path(src, "pnbench", bin, sizeof bin), "probes", "--man", NULL };

	snprintf(page, sizeof page, "%s/../docs/pnbench.1", src);
	run_cmd(argv, 30, &r);
	ATF_REQUIRE_EQ_MSG(r.status, 0, "pnbench probes --man: exit %d: %s", r.status, r.err);
	char *doc = man_section(page);
	ATF_CHECK_MSG(strstr(r.out, ".SH PROBE SPECS\n") == r.out, "output starts: %.40s", r.out);
	/* Every probe of the registry has its entry. */
	ATF_CHECK(strstr(r.out, ".B memnotify[:one|all][:n=N][:freq=DUR]\n"));
	ATF_CHECK(strstr(r.out, ".B reclaim[:tracefs|vmstat][:buf=SIZE]\n"));
	ATF_CHECK_MSG(!strcmp(doc, r.out),
		      "docs/pnbench.1 PROBE SPECS differs from `pnbench probes --man`: replace the text "
		      "between the PROBES markers with its output");
	free(doc);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, probes_section_generated);
	return atf_no_error();
}
