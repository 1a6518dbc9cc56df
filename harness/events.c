/* Reading an events.jsonl back: the brief summary a progress line shows. */
#include "run.h"

#include <jansson.h>
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

int events_summarize(const char *path, struct events_summary *s)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	int vmstat_kills = 0;
	int64_t first_vmstat_oom = -1;

	memset(s, 0, sizeof *s);
	s->first_oom_t_ns = -1;
	s->start_t_ns = -1;
	s->workload_exit_code = -1;
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		json_error_t e;
		json_t *o = json_loads(line, 0, &e);
		const char *type, *spec, *what, *src;
		json_int_t t;

		s->lines++;
		/* A line cut by a crash is expected at most once, at the end. */
		if (!o || json_unpack(o, "{s:I, s:s}", "t_ns", &t, "type", &type)) {
			s->bad_lines++;
			json_decref(o);
			continue;
		}
		if (!strcmp(type, "header")) {
			s->has_header = 1;
		} else if (!strcmp(type, "end")) {
			s->has_end = 1;
			s->end_t_ns = t;
			const char *r = "";
			json_unpack(o, "{s?s}", "reason", &r);
			snprintf(s->end_reason, sizeof s->end_reason, "%s", r);
		} else if (!strcmp(type, "recorder") && !json_unpack(o, "{s:s}", "what", &what) &&
			   !strcmp(what, "unprotected")) {
			const char *d = "";
			json_unpack(o, "{s?s}", "detail", &d);
			if (!s->unprotected_count++)
				snprintf(s->unprotected, sizeof s->unprotected, "%s", d);
		} else if (!strcmp(type, "sample")) {
			s->samples++;
		} else if (!strcmp(type, "probe") && !json_unpack(o, "{s:s}", "probe", &spec)) {
			int i = probe_slot(s, spec);
			const char *st = "";
			json_unpack(o, "{s?s}", "status", &st);
			if (i >= 0)
				snprintf(s->probe[i].status, sizeof s->probe[i].status, "%s", st);
		} else if (!strcmp(type, "notify") && !json_unpack(o, "{s:s}", "probe", &spec)) {
			int i = probe_slot(s, spec);
			if (i >= 0) {
				if (s->probe[i].first_t_ns < 0)
					s->probe[i].first_t_ns = t;
				s->probe[i].notify++;
			}
		} else if (!strcmp(type, "truth") &&
			   !json_unpack(o, "{s:s}", "what", &what) && !strcmp(what, "workload_start")) {
			if (s->start_t_ns < 0)
				s->start_t_ns = t;
		} else if (!strcmp(type, "truth") &&
			   !json_unpack(o, "{s:s}", "what", &what) && !strcmp(what, "workload_exit")) {
			json_int_t code = -1;
			const char *msg = "";
			json_unpack(o, "{s?I, s?s}", "exit_code", &code, "message", &msg);
			s->workload_exit_code = code >= 0 && code <= 255 ? (int)code : -1;
			snprintf(s->workload_message, sizeof s->workload_message, "%s", msg);
		} else if (!strcmp(type, "truth") &&
			   !json_unpack(o, "{s:s, s:s}", "what", &what, "source", &src) &&
			   !strcmp(what, "oom_kill")) {
			if (!strcmp(src, "kmsg")) {
				if (s->first_oom_t_ns < 0)
					s->first_oom_t_ns = t;
				s->oom_kills++;
			} else if (!strcmp(src, "vmstat")) {
				json_int_t d = 1;
				json_unpack(o, "{s?I}", "delta", &d);
				vmstat_kills += (int)d;
				if (first_vmstat_oom < 0)
					first_vmstat_oom = t;
			}
		}
		json_decref(o);
	}
	free(line);
	fclose(f);
	/* kmsg may be unreadable: the vmstat counter still counts kills. */
	if (!s->oom_kills && vmstat_kills) {
		s->oom_kills = vmstat_kills;
		s->first_oom_t_ns = first_vmstat_oom;
	}
	return 0;
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
