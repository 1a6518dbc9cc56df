/* The recorder's command line for one run: the same for the native and the
 * guest backends, so a scenario means the same thing on both. */
#include "run.h"
#include "parse.h"

#include <stdio.h>
#include <string.h>

static char *keep(struct record_args *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if (a->used + n > sizeof a->store)
		return NULL;
	p = a->store + a->used;
	memcpy(p, s, n);
	a->used += n;
	return p;
}

static int add(struct record_args *a, const char *s)
{
	char *p;

	if (a->argc >= (int)(sizeof a->argv / sizeof a->argv[0]) - 1 || !(p = keep(a, s)))
		return -1;
	a->argv[a->argc++] = p;
	a->argv[a->argc] = NULL;
	return 0;
}

int record_args_build(const struct scenario *s, unsigned rep, const struct record_where *w,
		      struct record_args *a)
{
	char buf[SCN_STR * 2], dur[32];
	int bad = 0;

	memset(a, 0, sizeof *a);
	bad |= add(a, w->recorder);
	if (w->out) {
		bad |= add(a, "--out");
		bad |= add(a, w->out);
	}
	if (w->memcg_flag) {
		bad |= add(a, w->memcg_flag);
		bad |= add(a, w->memcg_dir);
	}
	bad |= add(a, "--domain");
	bad |= add(a, w->domain);
	if (w->fifo_prio) {
		snprintf(buf, sizeof buf, "%d", w->fifo_prio);
		bad |= add(a, "--fifo") | add(a, buf);
	}
	bad |= add(a, "--duration");
	bad |= add(a, pnb_fmt_duration(s->duration_ns, dur, sizeof dur));
	snprintf(buf, sizeof buf, "scenario=%s", s->name);
	bad |= add(a, "--label") | add(a, buf);
	snprintf(buf, sizeof buf, "rep=%u", rep);
	bad |= add(a, "--label") | add(a, buf);
	snprintf(buf, sizeof buf, "kernel=%s", w->kernel);
	bad |= add(a, "--label") | add(a, buf);
	for (int i = 0; i < s->nprobes; i++)
		bad |= add(a, "--probe") | add(a, s->probes[i]);
	/* The killer travels with the run (after the snapshot point). */
	if (s->killer[0]) {
		bad |= add(a, "--killer") | add(a, s->killer);
		bad |= add(a, "--killer-action") | add(a, s->killer_action[0] ? s->killer_action : "kill");
	}
	bad |= add(a, "--");
	bad |= add(a, w->workload);
	bad |= add(a, s->workload);

	/* Scenario args split on blanks, {data} replaced: no quoting needed. */
	size_t o = 0;
	for (const char *src = s->args; *src && o < sizeof buf - 1;) {
		if (!strncmp(src, "{data}", 6)) {
			o += (size_t)snprintf(buf + o, sizeof buf - o, "%s", w->data ? w->data : "");
			src += 6;
		} else {
			buf[o++] = *src++;
		}
	}
	buf[o < sizeof buf ? o : sizeof buf - 1] = 0;
	for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
		bad |= add(a, t);
	return bad ? -1 : 0;
}
