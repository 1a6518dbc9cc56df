/* The JUnit writer (junit.h). */
#include "junit.h"

void junit_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			/* XML 1.0 has no way to write the other control characters. */
			if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
				fputc(*s, f);
		}
	}
}

void junit_open(FILE *f)
{
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
}

void junit_suite_open(FILE *f, const char *name, int tests, int failures, int skipped, int errors)
{
	fputs("  <testsuite name=\"", f);
	junit_esc(f, name);
	fprintf(f, "\" tests=\"%d\" failures=\"%d\" skipped=\"%d\"", tests, failures, skipped);
	/* Written only when there are some, so suites without errors keep the
	 * bytes pnbench conform always wrote. */
	if (errors)
		fprintf(f, " errors=\"%d\"", errors);
	fputs(">\n", f);
}

void junit_case(FILE *f, const struct junit_case *c)
{
	static const char *const tag[] = { NULL, "failure", "skipped", "error" };

	fputs("    <testcase classname=\"", f);
	junit_esc(f, c->classname);
	fputs("\" name=\"", f);
	junit_esc(f, c->name);
	fputs("\">", f);
	if (c->nprops) {
		fputs("<properties>", f);
		for (int i = 0; i < c->nprops; i++) {
			fputs("<property name=\"", f);
			junit_esc(f, c->props[i][0]);
			fputs("\" value=\"", f);
			junit_esc(f, c->props[i][1]);
			fputs("\"/>", f);
		}
		fputs("</properties>", f);
	}
	if (c->result != JUNIT_PASS) {
		fprintf(f, "<%s message=\"", tag[c->result]);
		junit_esc(f, c->message ? c->message : "");
		fputs("\"/>", f);
	}
	if (c->system_out) {
		fputs("<system-out>", f);
		junit_esc(f, c->system_out);
		fputs("</system-out>", f);
	}
	fputs("</testcase>\n", f);
}

void junit_suite_close(FILE *f)
{
	fputs("  </testsuite>\n", f);
}

void junit_close(FILE *f)
{
	fputs("</testsuites>\n", f);
}
