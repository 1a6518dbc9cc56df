#include "log.h"

#include <stdio.h>
#include <stdlib.h>

static const char *prog = "pnbench";

void pnb_set_prog(const char *name) { prog = name; }
const char *pnb_prog(void) { return prog; }

static void vmsg(const char *fmt, va_list ap)
{
	char line[1024];
	int n = snprintf(line, sizeof line, "%s: ", prog);
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	vsnprintf(line + n, sizeof line - n, fmt, ap);
	/* One fputs per message so concurrent writers do not interleave mid-line. */
	fprintf(stderr, "%s\n", line);
}

void pnb_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void pnb_die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(code);
}
