/* Reading an events.jsonl back: the brief summary a progress line shows,
 * through the one reader (lib/events_read.c) and the one ground-truth rule. */
#include "run.h"

#include "events_read.h"
#include "ground_truth.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static int probe_slot(struct events_summary *s, const char *spec)
{
	for (int i = 0; i < s->nprobes; i++)
		if (!strcmp(s->probe[i].spec, spec))
			return i;
	if (s->nprobes >= SUM_MAX_PROBES)
		return -1;
	snprintf(s->probe[s->nprobes].spec, sizeof s->probe[0].spec, "%s", spec);
	s->probe[s->nprobes].first_t_ns = -1;
	return s->nprobes++;
}

/* A line of one of the types below. */
static void on_event(struct events_summary *s, struct evr_obj o, const char *type, int64_t t)
{
	const char *spec, *what = evr_str(o, "what");

	if (!strcmp(type, "header")) {
		s->has_header = 1;
	} else if (!strcmp(type, "end")) {
		s->has_end = 1;
		s->end_t_ns = t;
		snprintf(s->end_reason, sizeof s->end_reason, "%s", evr_str(o, "reason") ?: "");
	} else if (!strcmp(type, "recorder") && what && !strcmp(what, "unprotected")) {
		if (!s->unprotected_count++)
			snprintf(s->unprotected, sizeof s->unprotected, "%s", evr_str(o, "detail") ?: "");
	} else if (!strcmp(type, "sample")) {
		s->samples++;
	} else if (!strcmp(type, "probe") && (spec = evr_str(o, "probe"))) {
		int i = probe_slot(s, spec);
		if (i >= 0)
			snprintf(s->probe[i].status, sizeof s->probe[i].status, "%s",
				 evr_str(o, "status") ?: "");
	} else if (!strcmp(type, "notify") && (spec = evr_str(o, "probe"))) {
		int i = probe_slot(s, spec);
		if (i >= 0) {
			if (s->probe[i].first_t_ns < 0)
				s->probe[i].first_t_ns = t;
			s->probe[i].notify++;
		}
	} else if (!strcmp(type, "truth") && what && !strcmp(what, "workload_start")) {
		if (s->start_t_ns < 0)
			s->start_t_ns = t;
	} else if (!strcmp(type, "truth") && what && !strcmp(what, "workload_exit")) {
		int64_t code = -1;
		evr_int(o, "exit_code", &code);
		s->workload_exit_code = code >= 0 && code <= 255 ? (int)code : -1;
		snprintf(s->workload_message, sizeof s->workload_message, "%s",
			 evr_str(o, "message") ?: "");
	}
}

/* The kills by the rule analyze uses (lib/ground_truth.c): the progress
 * line and the analysis agree. */
struct kills {
	struct gt_line *tr;
	size_t n, cap;
	int memcg, trace_filtered;
};

static int kills_line(struct kills *k, struct evr_obj o, const char *type, int64_t t, size_t seq)
{
	const char *w = evr_str(o, "what");

	if (!strcmp(type, "header") && evr_str(o, "domain"))
		k->memcg = strncmp(evr_str(o, "domain"), "system", 6) != 0;
	if (!strcmp(type, "recorder") && w && !strcmp(w, "trace_filtered"))
		k->trace_filtered = 1;
	if (strcmp(type, "truth"))
		return 0;
	if (k->n == k->cap) {
		size_t nc = k->cap ? 2 * k->cap : 64;
		struct gt_line *p = realloc(k->tr, nc * sizeof *p);
		if (!p)
			return -1;
		k->tr = p;
		k->cap = nc;
	}
	k->n += gt_from_event(o, t, seq, &k->tr[k->n]);
	return 0;
}

int events_summarize(const char *path, struct events_summary *s)
{
	FILE *f = fopen(path, "re");
	struct evr_reader rd;
	struct evr_line l = { 0 };
	struct kills k = { 0 };
	struct gt_onsets on;
	int ret = 0;

	memset(s, 0, sizeof *s);
	s->first_oom_t_ns = -1;
	s->start_t_ns = -1;
	s->workload_exit_code = -1;
	if (!f)
		return -1;
	evr_init(&rd, f);
	while (evr_next(&rd, &l) > 0) {
		struct evr_obj o;
		const char *type;
		int64_t t;

		s->lines++;
		/* A line cut by a crash is expected at most once, at the end. */
		if (evr_parse(&l) || evr_int(o = evr_root(&l), "t_ns", &t) || !(type = evr_str(o, "type"))) {
			s->bad_lines++;
			continue;
		}
		on_event(s, o, type, t);
		if (kills_line(&k, o, type, t, (size_t)s->lines)) {
			ret = -1;
			break;
		}
	}
	evr_line_free(&l);
	evr_free(&rd);
	fclose(f);
	gt_sort(k.tr, k.n);
	if (!ret && !gt_onsets(k.tr, k.n, k.memcg, k.trace_filtered, &on) && on.t_oom != GT_NONE) {
		s->oom_kills = on.oom_kills;
		s->first_oom_t_ns = on.t_oom;
	}
	free(k.tr);
	return ret;
}

void events_summary_line(const struct events_summary *s, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (int i = 0; i < s->nprobes && off < len; i++) {
		const char *st = s->probe[i].status;
		int n;
		if (!strcmp(st, "unsupported"))
			n = snprintf(buf + off, len - off, "%s unsupported; ", s->probe[i].spec);
		else if (s->probe[i].notify)
			n = snprintf(buf + off, len - off, "%s %d (first %.2fs); ", s->probe[i].spec,
				     s->probe[i].notify, s->probe[i].first_t_ns / 1e9);
		else
			continue;
		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (s->unprotected_count && off < len) {
		int n = snprintf(buf + off, len - off, "recorder UNPROTECTED (%s%s); ", s->unprotected,
				 s->unprotected_count > 1 ? ", and more" : "");
		if (n > 0)
			off += (size_t)n;
	}
	if (off < len) {
		if (s->oom_kills)
			snprintf(buf + off, len - off, "oom_kill %d (first %.2fs)", s->oom_kills,
				 s->first_oom_t_ns / 1e9);
		else
			snprintf(buf + off, len - off, "no oom_kill");
	}
}
