/* pnbench-record --lava: the run's headline figures as LAVA signal lines
 * (lava.h).  docs/metrics.md defines these figures for pnbench analyze; the
 * recorder prints the simplest reading of them, from its own file, so a
 * LAVA lab shows numbers without the host side: the first notification
 * per probe and level, the first OOM kill (oom_kill, or the tracefs
 * victim mark), each relative to the workload's start. */
#include "lava.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXG 128

struct group {
	char name[200];
	long long count;
	int64_t first;
};

/* A LAVA test case name: [-_a-zA-Z0-9.]; psi:some:150ms:1s becomes
 * psi_some_150ms_1s, 10% 10pct. */
static void case_name(char *dst, size_t len, const char *spec, const char *level)
{
	size_t o = 0;
	char src[300];

	snprintf(src, sizeof src, "%s%s%s", spec, level && *level ? "." : "", level ? level : "");
	for (const char *s = src; *s && o + 4 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.')
			dst[o++] = (char)c;
		else if (c == '%')
			o += (size_t)snprintf(dst + o, len - o, "pct");
		else if (o && dst[o - 1] != '_')
			dst[o++] = '_';
	}
	dst[o] = 0;
}

static struct group *slot(struct group *g, int *n, const char *name)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(g[i].name, name))
			return &g[i];
	if (*n == MAXG)
		return NULL;
	struct group *x = &g[(*n)++];
	snprintf(x->name, sizeof x->name, "%s", name);
	x->count = 0;
	x->first = -1;
	return x;
}

/* The level a probe spec names, for an armed probe that never spoke (as
 * docs/metrics.md 3): vmpressure:medium -> medium, psi:some -> some,
 * memavail -> below; "" when not known in advance. */
static const char *spec_level(const char *spec, const char *mech)
{
	static char lv[32];
	const char *c = strchr(spec, ':');
	if (!strcmp(mech, "memavail"))
		return "below";
	if ((!strcmp(mech, "vmpressure") || !strcmp(mech, "psi")) && c) {
		snprintf(lv, sizeof lv, "%.*s", (int)strcspn(c + 1, ":"), c + 1);
		return lv;
	}
	return "";
}

int lava_signals(const char *path, FILE *out)
{
	static struct group g[MAXG];
	FILE *f = fopen(path, "re");
	char *line = NULL, name[220];
	size_t cap = 0;
	int n = 0, lines = 0;
	int64_t start = -1, oom = -1;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		json_t *o = json_loads(line, 0, NULL);
		const char *type = json_string_value(json_object_get(o, "type"));
		json_t *tj = json_object_get(o, "t_ns");
		int64_t t = json_is_integer(tj) ? json_integer_value(tj) : -1;
		if (!type || t < 0) {
			json_decref(o);
			continue;
		}
		const char *what = json_string_value(json_object_get(o, "what"));
		const char *spec = json_string_value(json_object_get(o, "probe"));
		const char *mech = json_string_value(json_object_get(o, "mech"));
		if (!strcmp(type, "truth") && what) {
			if (!strcmp(what, "workload_start") && start < 0)
				start = t;
			if ((!strcmp(what, "oom_kill") || !strcmp(what, "mark_victim")) && (oom < 0 || t < oom))
				oom = t;
		} else if (!strcmp(type, "probe") && spec && mech) {
			const char *st = json_string_value(json_object_get(o, "status"));
			/* Ground truth and the sampler are not mechanisms. */
			if (st && !strcmp(st, "armed") && strcmp(mech, "sample") && strcmp(mech, "oom") &&
			    strcmp(mech, "reclaim")) {
				case_name(name, sizeof name, spec, spec_level(spec, mech));
				slot(g, &n, name);
			}
		} else if (!strcmp(type, "notify") && spec) {
			const char *level = json_string_value(json_object_get(o, "level"));
			case_name(name, sizeof name, spec, level);
			struct group *x = slot(g, &n, name);
			/* An armed probe whose level was not known in advance got a
			 * group without one; the first real level replaces it. */
			if (x) {
				x->count++;
				if (x->first < 0 || t < x->first)
					x->first = t;
			}
		}
		json_decref(o);
	}
	free(line);
	fclose(f);
	if (start < 0)
		start = 0;
#define SIG(id, res, fmt, ...) (lines++, fprintf(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=%s RESULT=%s" fmt ">\n", id, res, ##__VA_ARGS__))
	if (oom >= 0)
		SIG("oom_kill", "pass", " MEASUREMENT=%.6f UNITS=s", (oom - start) / 1e9);
	else
		SIG("oom_kill", "pass", " MEASUREMENT=0 UNITS=kills");
	for (int i = 0; i < n; i++) {
		char id[260];
		snprintf(id, sizeof id, "%s.notifications", g[i].name);
		SIG(id, "pass", " MEASUREMENT=%lld UNITS=events", g[i].count);
		if (g[i].first < 0)
			continue;
		snprintf(id, sizeof id, "%s.first", g[i].name);
		SIG(id, "pass", " MEASUREMENT=%.6f UNITS=s", (g[i].first - start) / 1e9);
		if (oom < 0)
			continue;
		snprintf(id, sizeof id, "%s.lead", g[i].name);
		if (g[i].first < oom)
			SIG(id, "pass", " MEASUREMENT=%.6f UNITS=s", (oom - g[i].first) / 1e9);
		else
			SIG(id, "fail", "%s", "");
	}
	/* Silent probes of an OOM run missed it. */
	for (int i = 0; i < n && oom >= 0; i++)
		if (g[i].first < 0) {
			char id[260];
			snprintf(id, sizeof id, "%s.lead", g[i].name);
			SIG(id, "fail", "%s", "");
		}
#undef SIG
	fflush(out);
	return lines;
}
