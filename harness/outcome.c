/* Killer outcomes (issue 11; docs/metrics.md section 7): what a killer
 * driven by a mechanism achieved in a run of the apps workload, and over a
 * cell's repetitions.  Read from the same events.jsonl as the rest of the
 * analysis, in a pass of its own so analyze.c keeps its shape: only the
 * "app", "killer" and OOM ground-truth lines matter here. */
#include "analysis.h"
#include "events_read.h"
#include "scenario.h"

#include <errno.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS 1e9

/* Lines come through the library reader (lib/events_read.h). */
static double jnum(struct evr_obj o, const char *k)
{
	return evr_num(o, k);
}

/* An event time: an integer in [0, AN_T_MAX), else AN_NONE. */
static int64_t jtime(struct evr_obj o, const char *k)
{
	int64_t v;
	return !evr_int(o, k, &v) && v >= 0 && v < AN_T_MAX ? v : AN_NONE;
}

static const char *jstr(struct evr_obj o, const char *k)
{
	return evr_str(o, k);
}

static void copy(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "%s", s ? s : "");
}

struct app { int pid, adj, fg; int64_t t_born, t_dead; };

static struct app *app_of(struct app *a, int n, int pid)
{
	for (int i = 0; i < n; i++)
		if (a[i].pid == pid)
			return &a[i];
	return NULL;
}

/* MemAvailable and total of the sample at t (the last at or before it). */
static void sample_at(const struct an_run *r, int64_t t, double *avail, double *total)
{
	*avail = *total = NAN;
	for (size_t i = 0; i < r->nsamples && r->samples[i].t <= t; i++) {
		*avail = r->samples[i].available_kB;
		*total = r->samples[i].total_kB;
	}
	if (isnan(*total) && r->nsamples)
		*total = r->samples[0].total_kB;
}

static void workload_label(struct an_outcome *o, json_t *argv)
{
	const char *src = "fixed-rate";	/* apps' default source */
	size_t n = json_array_size(argv);

	for (size_t i = 0; i + 1 < n; i++)
		if (!strcmp(json_string_value(json_array_get(argv, i)) ?: "", "--source"))
			src = json_string_value(json_array_get(argv, i + 1)) ?: src;
	if (n > 1 && !strcmp(json_string_value(json_array_get(argv, 1)) ?: "", "apps"))
		snprintf(o->workload, sizeof o->workload, "apps+%s", src);
	else if (n > 1)
		copy(o->workload, sizeof o->workload, json_string_value(json_array_get(argv, 1)));
}

int an_outcome_line(const char *t)
{
	return !strcmp(t, "header") || !strcmp(t, "app") || !strcmp(t, "truth") ||
	       !strcmp(t, "recorder") || !strcmp(t, "killer");
}

int an_outcome_wanted(const struct an_run *r)
{
	return !strcmp(r->workload, "apps") || (r->scenario_text && strstr(r->scenario_text, "[killer]"));
}

/* What one pass over a run's lines collects. */
struct pass {
	struct app apps[64];
	int napps, kmsg_seen;
	struct { int pid; int64_t t; int kmsg; } victims[64];
	int nvict;
	size_t capk;
};

/* One line of the run (of a type an_outcome_line wants): 0 or -ENOMEM. */
static int outcome_line(struct pass *ps, struct an_outcome *o, struct evr_line *l)
{
	struct evr_obj j = evr_root(l);
	const char *type = jstr(j, "type"), *what = jstr(j, "what");
	int64_t t = jtime(j, "t_ns");
	if (!type || t == AN_NONE)
		return 0;
	if (!strcmp(type, "header")) {
		workload_label(o, json_object_get(evr_json(l), "workload_argv"));
		if (jstr(j, "killer"))
			copy(o->killer, sizeof o->killer, jstr(j, "killer"));
	} else if (!strcmp(type, "app") && ps->napps < 64) {
		struct app a = { .pid = (int)jnum(j, "pid"), .adj = (int)jnum(j, "adj"),
				 .t_born = t, .t_dead = AN_NONE };
		a.fg = jstr(j, "role") && !strcmp(jstr(j, "role"), "foreground");
		if (a.fg)
			o->fg_pid = a.pid;
		ps->apps[ps->napps++] = a;
		o->apps++;
	} else if (!strcmp(type, "truth") && what && jstr(j, "source") &&
		   ((!strcmp(what, "oom_kill") && !strcmp(jstr(j, "source"), "kmsg")) ||
		    (!strcmp(what, "mark_victim") && !strcmp(jstr(j, "source"), "tracefs")))) {
		int pid = (int)jnum(j, "pid"), kmsg = !strcmp(what, "oom_kill"), k;
		ps->kmsg_seen |= kmsg;
		for (k = 0; k < ps->nvict && ps->victims[k].pid != pid; k++)
			;
		if (k == ps->nvict && ps->nvict < 64) {
			ps->victims[ps->nvict].pid = pid;
			ps->victims[ps->nvict].t = t;
			ps->victims[ps->nvict++].kmsg = kmsg;
		} else if (k < ps->nvict) {
			if (!kmsg && t < ps->victims[k].t)
				ps->victims[k].t = t;	/* tracefs: the kernel's own time */
			ps->victims[k].kmsg |= kmsg;
		}
	} else if (!strcmp(type, "truth") && what && !strcmp(what, "workload_exit")) {
		int64_t ec;
		o->fg_alive = !evr_int(j, "exit_code", &ec) && ec == 0;
	} else if (!strcmp(type, "recorder") && what && !strcmp(what, "killer_failed")) {
		o->killer_failed = 1;
		copy(o->killer_why, sizeof o->killer_why, jstr(j, "detail"));
	} else if (!strcmp(type, "killer") && what) {
		if (!strcmp(what, "unsupported")) {
			o->killer_failed = 1;
			copy(o->killer_why, sizeof o->killer_why, jstr(j, "reason"));
		} else if (!strcmp(what, "start")) {
			o->killer_started = 1;
			copy(o->mrelease, sizeof o->mrelease, jstr(j, "process_mrelease"));
		} else if (!strcmp(what, "no_victim")) {
			o->no_victim++;
		} else if (!strcmp(what, "reclaim")) {
			double a0 = jnum(j, "rss_anon_before_kB"), f0 = jnum(j, "rss_file_before_kB");
			double a1 = jnum(j, "rss_anon_after_kB"), f1 = jnum(j, "rss_file_after_kB");
			o->reclaims++;
			if (!isnan(a0 + f0 + a1 + f1) && a0 >= 0 && a1 >= 0)
				o->reclaimed_kB += (a0 + f0) - (a1 + f1);
			copy(o->reclaimable, sizeof o->reclaimable, jstr(j, "reclaimable"));
		} else if (!strcmp(what, "kill")) {
			struct an_kill k = { .t_decision = jtime(j, "t_decision_ns"),
					     .t_signal = jtime(j, "t_signal_ns"),
					     .t_exit = jtime(j, "t_exit_ns"),
					     .t_mrelease = jtime(j, "t_mrelease_ns"),
					     .pid = (int)jnum(j, "pid"), .adj = (int)jnum(j, "adj"),
					     .rss_kB = jnum(j, "rss_kB"),
					     .avail_before_kB = jnum(j, "avail_before_kB"),
					     .avail_after_kB = jnum(j, "avail_after_kB") };
			struct evr_obj why = evr_get_obj(j, "reason");
			/* An external killer says null: it has no decision time of ours. */
			if (k.t_decision == AN_NONE && !evr_has(j, "t_decision_ns"))
				k.t_decision = t;
			if (k.t_signal == AN_NONE)
				return 0;	/* not sent: no kill */
			/* ESRCH: the exit had already released the mm, so it
			 * was free by the time process_mrelease returned. */
			k.mrelease_ok = jstr(j, "mrelease") && (!strcmp(jstr(j, "mrelease"), "ok") ||
								 !strncmp(jstr(j, "mrelease"), "mm already", 10));
			copy(k.reason, sizeof k.reason, jstr(why, "level"));
			if (o->nkills == (int)ps->capk) {
				ps->capk = ps->capk ? ps->capk * 2 : 16;
				void *p = realloc(o->kills, ps->capk * sizeof *o->kills);
				if (!p)
					return -ENOMEM;
				o->kills = p;
			}
			o->kills[o->nkills++] = k;
		}
	}
	return 0;
}

/* The verdicts on the kills, from what the pass collected. */
static void outcome_verdicts(const struct an_run *r, struct pass *ps, struct an_outcome *o)
{
	/* "Did not run" is a killer that never started; one that started and
	 * was slow to stop keeps its kills (the reason stays recorded). */
	if (o->killer_started)
		o->killer_failed = 0;
	/* Kernel kills: kmsg lines when the run has any (one per kill), else
	 * the distinct tracefs ps->victims. */
	for (int v = 0; v < ps->nvict; v++) {
		if (ps->kmsg_seen && !ps->victims[v].kmsg)
			continue;
		o->kernel_kills++;
		struct app *a = app_of(ps->apps, ps->napps, ps->victims[v].pid);
		o->kernel_t[o->nkernel] = ps->victims[v].t;
		o->kernel_adj[o->nkernel++] = a ? a->adj : -1001;
		if (a && (a->t_dead == AN_NONE || ps->victims[v].t < a->t_dead))
			a->t_dead = ps->victims[v].t;
		if (a && a->fg)
			o->fg_oom_killed = 1;
	}
	for (int i = 0; i < o->nkills; i++) {
		struct app *a = app_of(ps->apps, ps->napps, o->kills[i].pid);
		int64_t td = o->kills[i].t_exit != AN_NONE ? o->kills[i].t_exit : o->kills[i].t_signal;
		if (a && (a->t_dead == AN_NONE || td < a->t_dead))
			a->t_dead = td;
	}
	o->daemon_kills = o->nkills;
	/* A kernel kill of a victim the killer had signalled before: the
	 * killer chose right but its signal was too slow (earlyoom's SIGTERM). */
	for (int v = 0; v < ps->nvict; v++) {
		if (ps->kmsg_seen && !ps->victims[v].kmsg)
			continue;
		for (int i = 0; i < o->nkills; i++)
			if (o->kills[i].pid == ps->victims[v].pid && o->kills[i].t_signal <= ps->victims[v].t) {
				o->kernel_after_signal++;
				break;
			}
	}
	for (int i = 0; i < o->nkills; i++) {
		struct an_kill *k = &o->kills[i];
		double avail, total;
		/* Wrong victim: a higher level still alive when the signal went. */
		for (int a = 0; a < ps->napps; a++)
			if (ps->apps[a].adj > k->adj && ps->apps[a].t_born <= k->t_signal &&
			    (ps->apps[a].t_dead == AN_NONE || ps->apps[a].t_dead > k->t_signal)) {
				k->wrong = 1;
				break;
			}
		/* Unnecessary: any kill where the scenario says memory is never
		 * short; else a kill while MemAvailable was above the margin. */
		sample_at(r, k->t_decision, &avail, &total);
		if (!isnan(k->avail_before_kB) && k->avail_before_kB >= 0)
			avail = k->avail_before_kB;
		k->unnecessary = r->expect == AN_EXPECT_NO_OOM ||
				 (!isnan(avail) && !isnan(total) && total > 0 &&
				  avail > total * o->margin_pct / 100.0);
		o->wrong_victim += k->wrong;
		o->unnecessary += k->unnecessary;
		if (k->pid == o->fg_pid)
			o->fg_daemon_killed = 1;
	}
}

int an_outcome_load(const struct an_run *r, const char *lines, size_t len, struct an_outcome *o)
{
	FILE *f;
	struct evr_reader rd;
	struct evr_line l = { 0 };
	struct pass *ps;
	int ret = 0;
	struct scenario s;
	char err[256];

	memset(o, 0, sizeof *o);
	o->fg_alive = -1;
	o->margin_pct = 25;
	copy(o->killer, sizeof o->killer, "none");
	copy(o->action, sizeof o->action, "kill");
	copy(o->workload, sizeof o->workload, r->workload);
	if (r->scenario_text && !scenario_parse_string(r->scenario, r->scenario_text, &s, err, sizeof err)) {
		if (s.killer[0])
			copy(o->killer, sizeof o->killer, s.killer);
		if (s.killer_action[0])
			copy(o->action, sizeof o->action, s.killer_action);
		o->margin_pct = (double)s.killer_margin_pct;
		scenario_free(&s);
	}
	/* No such line (or no events.jsonl: analyze.c has flagged it). */
	if (!len)
		return 0;
	if (!(ps = calloc(1, sizeof *ps)))
		return -ENOMEM;
	if (!(f = fmemopen((void *)lines, len, "r"))) {
		free(ps);
		return -errno;
	}
	evr_init(&rd, f);
	while (!ret && evr_next(&rd, &l) > 0) {
		const char *ty = evr_parse(&l) ? NULL : evr_str(evr_root(&l), "type");
		if (ty && an_outcome_line(ty))
			ret = outcome_line(ps, o, &l);
	}
	evr_line_free(&l);
	evr_free(&rd);
	fclose(f);
	if (!ret)
		outcome_verdicts(r, ps, o);
	free(ps);
	return ret;
}

void an_outcome_free(struct an_outcome *o)
{
	free(o->kills);
	o->kills = NULL;
	o->nkills = 0;
}

/* Per-kill latencies in seconds; NAN when a time is missing. */
double an_kill_value(const struct an_kill *k, enum an_kill_metric m)
{
	int64_t a = AN_NONE, b = AN_NONE;

	switch (m) {
	case AN_K_DECISION_TO_SIGNAL: a = k->t_decision; b = k->t_signal; break;
	case AN_K_SIGNAL_TO_EXIT: a = k->t_signal; b = k->t_exit; break;
	case AN_K_KILL_TO_FREE:
		/* Freed when process_mrelease returned (it reaped the mm), else
		 * when the exit was seen. */
		a = k->t_signal;
		b = k->mrelease_ok && k->t_mrelease != AN_NONE ? k->t_mrelease : k->t_exit;
		break;
	case AN_K_FREED_KB:
		return isnan(k->avail_after_kB) || isnan(k->avail_before_kB) || k->avail_after_kB < 0 ||
		       k->avail_before_kB < 0 ? NAN : k->avail_after_kB - k->avail_before_kB;
	default:
		return NAN;
	}
	return a == AN_NONE || b == AN_NONE ? NAN : (double)(b - a) / NS;
}

const char *const an_kill_metric_names[AN_K_N] = {
	[AN_K_DECISION_TO_SIGNAL] = "decision_to_signal_s",
	[AN_K_SIGNAL_TO_EXIT] = "signal_to_exit_s",
	[AN_K_KILL_TO_FREE] = "kill_to_free_s",
	[AN_K_FREED_KB] = "freed_kB",
};

static json_t *jreal(double v)
{
	return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

json_t *an_outcome_json(const struct an_outcome *o)
{
	json_t *j = json_object(), *kills = json_array();

	json_object_set_new(j, "killer", json_string(o->killer));
	json_object_set_new(j, "action", json_string(o->action));
	json_object_set_new(j, "workload", json_string(o->workload));
	json_object_set_new(j, "killer_status", json_string(!strcmp(o->killer, "none") ? "none" :
							     o->killer_failed ? "failed" :
							     o->killer_started ? "ran" : "absent"));
	if (o->killer_why[0])
		json_object_set_new(j, "killer_reason", json_string(o->killer_why));
	if (o->mrelease[0])
		json_object_set_new(j, "process_mrelease", json_string(o->mrelease));
	json_object_set_new(j, "apps", json_integer(o->apps));
	json_object_set_new(j, "kernel_oom_kills", json_integer(o->kernel_kills));
	json_object_set_new(j, "daemon_kills", json_integer(o->daemon_kills));
	json_object_set_new(j, "kernel_kills_after_killer_signal", json_integer(o->kernel_after_signal));
	json_object_set_new(j, "unnecessary_kills", json_integer(o->unnecessary));
	json_object_set_new(j, "unnecessary_margin_pct", json_real(o->margin_pct));
	json_object_set_new(j, "wrong_victim_kills", json_integer(o->wrong_victim));
	json_object_set_new(j, "no_victim", json_integer(o->no_victim));
	json_object_set_new(j, "foreground_survived", o->fg_alive < 0 ? json_null() : json_boolean(o->fg_alive));
	json_object_set_new(j, "reclaims", json_integer(o->reclaims));
	if (o->reclaims) {
		json_object_set_new(j, "reclaimed_kB", json_real(o->reclaimed_kB));
		json_object_set_new(j, "reclaimable", json_string(o->reclaimable));
		json_object_set_new(j, "oom_avoided", json_boolean(o->kernel_kills == 0));
	}
	for (int i = 0; i < o->nkills; i++) {
		const struct an_kill *k = &o->kills[i];
		json_t *x = json_object();
		json_object_set_new(x, "pid", json_integer(k->pid));
		json_object_set_new(x, "adj", json_integer(k->adj));
		json_object_set_new(x, "reason", json_string(k->reason));
		json_object_set_new(x, "rss_kB", jreal(k->rss_kB));
		json_object_set_new(x, "wrong_victim", json_boolean(k->wrong));
		json_object_set_new(x, "unnecessary", json_boolean(k->unnecessary));
		json_object_set_new(x, "mrelease", json_boolean(k->mrelease_ok));
		json_object_set_new(x, "avail_before_kB", jreal(k->avail_before_kB));
		for (int m = 0; m < AN_K_N; m++)
			json_object_set_new(x, an_kill_metric_names[m], jreal(an_kill_value(k, m)));
		json_array_append_new(kills, x);
	}
	json_object_set_new(j, "kills", kills);
	return j;
}

/* Type-7 quantile of the non-NaN values (sorted in place). */
static double quantile(double *v, size_t n, double q)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i]))
			v[m++] = v[i];
	if (!m)
		return NAN;
	gsl_sort(v, 1, m);
	return gsl_stats_quantile_from_sorted_data(v, 1, m, q);
}

int an_cell_outcome(const struct an_cell *c, struct an_cell_outcome *co)
{
	size_t nk = 0, at = 0;
	double *v;

	memset(co, 0, sizeof *co);
	for (int i = 0; i < c->nruns; i++) {
		const struct an_outcome *o = c->runs[i]->outcome;
		if (!o)
			continue;
		if (!co->runs) {
			copy(co->killer, sizeof co->killer, o->killer);
			copy(co->action, sizeof co->action, o->action);
			copy(co->workload, sizeof co->workload, o->workload);
		}
		co->runs++;
		co->complete += !c->runs[i]->incomplete;
		co->kernel_kills += o->kernel_kills;
		co->runs_with_oom += o->kernel_kills > 0;
		co->daemon_kills += o->daemon_kills;
		co->unnecessary += o->unnecessary;
		co->wrong_victim += o->wrong_victim;
		co->killer_failed += o->killer_failed;
		co->kernel_after_signal += o->kernel_after_signal;
		co->reclaims += o->reclaims;
		co->reclaimed_kB += o->reclaimed_kB;
		if (o->fg_alive >= 0) {
			co->fg_known++;
			co->fg_alive += o->fg_alive;
		}
		nk += (size_t)o->nkills;
	}
	if (!co->runs)
		return 0;
	if (!(v = malloc((nk + 1) * sizeof *v)))
		return -ENOMEM;
	for (int m = 0; m < AN_K_N; m++) {
		at = 0;
		for (int i = 0; i < c->nruns; i++) {
			const struct an_outcome *o = c->runs[i]->outcome;
			for (int k = 0; o && k < o->nkills; k++)
				v[at++] = an_kill_value(&o->kills[k], m);
		}
		co->p50[m] = quantile(v, at, 0.5);
		co->p99[m] = quantile(v, at, 0.99);
	}
	free(v);
	return 1;
}

json_t *an_cell_outcome_json(const struct an_cell_outcome *co)
{
	json_t *j = json_object(), *lat = json_object();

	json_object_set_new(j, "killer", json_string(co->killer));
	json_object_set_new(j, "action", json_string(co->action));
	json_object_set_new(j, "workload", json_string(co->workload));
	json_object_set_new(j, "runs", json_integer(co->runs));
	json_object_set_new(j, "kernel_oom_kills", json_integer(co->kernel_kills));
	json_object_set_new(j, "runs_with_kernel_oom_kill", json_integer(co->runs_with_oom));
	json_object_set_new(j, "daemon_kills", json_integer(co->daemon_kills));
	json_object_set_new(j, "unnecessary_kills", json_integer(co->unnecessary));
	json_object_set_new(j, "wrong_victim_kills", json_integer(co->wrong_victim));
	json_object_set_new(j, "killer_failed_runs", json_integer(co->killer_failed));
	json_object_set_new(j, "kernel_kills_after_killer_signal", json_integer(co->kernel_after_signal));
	json_object_set_new(j, "foreground_survived", json_integer(co->fg_alive));
	json_object_set_new(j, "foreground_known", json_integer(co->fg_known));
	json_object_set_new(j, "reclaims", json_integer(co->reclaims));
	json_object_set_new(j, "reclaimed_kB", json_real(co->reclaimed_kB));
	for (int m = 0; m < AN_K_N; m++) {
		json_t *x = json_object();
		json_object_set_new(x, "p50", jreal(co->p50[m]));
		json_object_set_new(x, "p99", jreal(co->p99[m]));
		json_object_set_new(lat, an_kill_metric_names[m], x);
	}
	json_object_set_new(j, "kills", lat);
	return j;
}

/* ---- the report's killer x workload table ---- */

static void fmt_ms(char *b, size_t n, double s)
{
	if (isnan(s))
		snprintf(b, n, "-");
	else if (s < 10)
		snprintf(b, n, "%.1f", s * 1e3);
	else
		snprintf(b, n, "%.0f", s * 1e3);
}

/* A short killer name for a column 12 wide: the probe's mechanism and
 * level ("psi:some", "vmpressure:medium"), "none", "earlyoom"; the full
 * spec goes in the table's notes. */
static void killer_short(const char *spec, const char *action, char *b, size_t n)
{
	char tmp[160];
	snprintf(tmp, sizeof tmp, "%s", spec);
	char *c1 = strchr(tmp, ':');
	const struct probe_ops *ops = NULL;
	if (c1) {
		*c1 = 0;
		ops = probe_find(tmp);
		*c1 = ':';
	}
	/* A mechanism whose first argument is its level keeps it. */
	if (c1 && ops && ops->level_in_spec) {
		char *c2 = strchr(c1 + 1, ':');
		if (c2)
			*c2 = 0;
	} else if (c1) {
		*c1 = 0;
	}
	snprintf(b, n, "%s%s", tmp, !strcmp(action, "reclaim") ? "/recl" : "");
}

int an_report_killers(FILE *f, const struct an_set *s, int num)
{
	int rows = 0;
	char specs[32][200];
	int nspecs = 0;
	const char *kern[64];
	int nk = an_set_kernels(s, kern, 64);

	/* Two passes per kernel, each table within 80 columns: outcomes, then
	 * latencies. */
	for (int part = 0; part < 2; part++) {
		for (int ki = 0; ki < nk; ki++) {
			int shown = 0;
			for (int i = 0; i < s->ncells; i++) {
				struct an_cell_outcome co;
				char k[32];
				if (strcmp(s->cells[i].kernel, kern[ki]) || an_cell_outcome(&s->cells[i], &co) <= 0)
					continue;
				if (!rows++)
					fprintf(f, "\nTable %d. Killer outcomes per killer x workload (sums over runs)\n", num);
				if (!shown++ && part == 0) {
					fprintf(f, "\nkernel %s\n", kern[ki]);
					fprintf(f, "%-12s %-16s %4s %5s %5s %5s %5s %6s\n", "killer", "workload", "runs",
						"OOM", "kills", "unnec", "wrong", "fg");
					fprintf(f, "%-12s %-16s %4s %5s %5s %5s %5s %6s\n", "", "", "", "kern.",
						"killr", "", "vict.", "alive");
				} else if (shown == 1) {
					fprintf(f, "\nkernel %s: latencies in ms, p50/p99 over every kill\n", kern[ki]);
					fprintf(f, "%-12s %-16s %11s %11s %11s %6s\n", "killer", "workload",
						"dec>signal", "signal>exit", "kill>free", "freed");
					fprintf(f, "%-12s %-16s %11s %11s %11s %6s\n", "", "", "", "", "", "MiB p50");
				}
				killer_short(co.killer, co.action, k, sizeof k);
				if (part == 0) {
					char fg[16];
					snprintf(fg, sizeof fg, "%d/%d", co.fg_alive, co.fg_known);
					fprintf(f, "%-12.12s %-16.16s %4d %5d %5d %5d %5d %6s\n", k, co.workload, co.runs,
						co.kernel_kills, co.daemon_kills, co.unnecessary, co.wrong_victim, fg);
					if (co.killer_failed)
						fprintf(f, "%-12s   the killer did not run in %d of %d runs (outcome.killer_reason)\n",
							"", co.killer_failed, co.runs);
					if (co.kernel_after_signal)
						fprintf(f, "%-12s   %d of the kernel's kills took a victim the killer had already "
							"signalled\n", "", co.kernel_after_signal);
					if (co.reclaims)
						fprintf(f, "%-12s   reclaim: %d actions, %.1f MiB paged out of the apps\n",
							"", co.reclaims, co.reclaimed_kB / 1024);
					int dup = 0;
					for (int x = 0; x < nspecs; x++)
						dup |= !strcmp(specs[x], co.killer);
					if (!dup && nspecs < 32)
						snprintf(specs[nspecs++], sizeof specs[0], "%s", co.killer);
					continue;
				}
				char a[16], b[16], c[16], d[16], e[16], g[16], ds[40], ss[40], kf[40], fr[16];
				fmt_ms(a, sizeof a, co.p50[AN_K_DECISION_TO_SIGNAL]);
				fmt_ms(b, sizeof b, co.p99[AN_K_DECISION_TO_SIGNAL]);
				fmt_ms(c, sizeof c, co.p50[AN_K_SIGNAL_TO_EXIT]);
				fmt_ms(d, sizeof d, co.p99[AN_K_SIGNAL_TO_EXIT]);
				fmt_ms(e, sizeof e, co.p50[AN_K_KILL_TO_FREE]);
				fmt_ms(g, sizeof g, co.p99[AN_K_KILL_TO_FREE]);
				snprintf(ds, sizeof ds, "%s/%s", a, b);
				snprintf(ss, sizeof ss, "%s/%s", c, d);
				snprintf(kf, sizeof kf, "%s/%s", e, g);
				if (isnan(co.p50[AN_K_FREED_KB]))
					snprintf(fr, sizeof fr, "-");
				else
					snprintf(fr, sizeof fr, "%.1f", co.p50[AN_K_FREED_KB] / 1024);
				fprintf(f, "%-12.12s %-16.16s %11s %11s %11s %6s\n", k, co.workload, ds, ss, kf, fr);
			}
		}
	}
	if (!rows)
		return 0;
	fprintf(f, "\nOOM kern.: kernel OOM kills (the goal is 0); kills killr: the killer's;\n"
		   "unnec: unnecessary kills (any in a no-oom scenario such as stream-read, or\n"
		   "MemAvailable above the scenario's [killer] margin at the decision); wrong\n"
		   "vict.: a lower adj killed while a higher one lived; fg alive: runs whose\n"
		   "foreground app (adj 0) exited 0 after its hold / runs that say.\n"
		   "dec>signal: victim chosen to pidfd_send_signal; signal>exit: to the pidfd\n"
		   "readable; kill>free: to process_mrelease's return (else the exit); freed:\n"
		   "MemAvailable after the exit - before the decision (docs/metrics.md 7).\n"
		   "Killers:");
	for (int x = 0; x < nspecs; x++)
		fprintf(f, "%s %s", x ? "," : "", specs[x]);
	fprintf(f, ".\n");
	return rows;
}

/* ---- compare: outcome rows (docs/metrics.md 7.3) ---- */

#include "stats.h"

/* Two-sided Fisher's exact test of a 2x2 table [a b; c d]: the sum of the
 * probabilities of every table with the same margins no more likely than
 * this one. */
static double fisher2x2(int a, int b, int c, int d)
{
	int r1 = a + b, c1 = a + c, n = a + b + c + d;
	double p0 = 0, p = 0;
	int lo = c1 - (n - r1) > 0 ? c1 - (n - r1) : 0, hi = r1 < c1 ? r1 : c1;

	/* log P(x) = log C(r1,x) + log C(n-r1,c1-x) - log C(n,c1) */
#define LC(n_, k_) (lgamma((n_) + 1.0) - lgamma((k_) + 1.0) - lgamma((n_) - (k_) + 1.0))
	p0 = exp(LC(r1, a) + LC(n - r1, c1 - a) - LC(n, c1));
	for (int x = lo; x <= hi; x++) {
		double px = exp(LC(r1, x) + LC(n - r1, c1 - x) - LC(n, c1));
		if (px <= p0 * (1 + 1e-7))
			p += px;
	}
#undef LC
	return p > 1 ? 1 : p;
}

int an_compare_outcomes(FILE *out, const struct an_cell *bc, const struct an_cell *nc, double alpha)
{
	struct an_cell_outcome b, n;
	int regressions = 0;

	if (an_cell_outcome(bc, &b) <= 0 || an_cell_outcome(nc, &n) <= 0)
		return 0;
	fprintf(out, " killer outcome (%s, %s)\n", b.killer, b.workload);
	/* Counts per run: more is worse; Mann-Whitney U over the runs. */
	static const struct { const char *label; int which; } rows[] = {
		{ "kernel OOM kills", 0 }, { "unnecessary kills", 1 }, { "daemon kills", 2 },
		{ "wrong-victim kills", 3 },
	};
	for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		double xb[256], xn[256];
		size_t kb = 0, kn = 0;
		double sb = 0, sn = 0;
		for (int s = 0; s < 2; s++) {
			const struct an_cell *c = s ? nc : bc;
			for (int i = 0; i < c->nruns && i < 256; i++) {
				const struct an_outcome *o = c->runs[i]->outcome;
				if (!o)
					continue;
				double v = rows[r].which == 0 ? o->kernel_kills : rows[r].which == 1 ? o->unnecessary :
					   rows[r].which == 2 ? o->daemon_kills : o->wrong_victim;
				if (s) { xn[kn++] = v; sn += v; } else { xb[kb++] = v; sb += v; }
			}
		}
		struct pnb_mwu m;
		double p = NAN;
		if (kb && kn && !pnb_mwu(xb, kb, xn, kn, PNB_MWU_AUTO, &m))
			p = m.p;
		/* Daemon kills have no bad direction of their own. */
		int worse = rows[r].which != 2 && sn / (double)kn > sb / (double)kb;
		int reg = worse && !isnan(p) && p < alpha;
		char pb[16];
		if (isnan(p))
			snprintf(pb, sizeof pb, "-");
		else
			snprintf(pb, sizeof pb, "%.3f%s", p, m.exact ? "e" : "n");
		fprintf(out, "  %-27s %9.0f %9.0f %8s %8s%s\n", rows[r].label, sb, sn, "", pb,
			reg ? " REGRESSION" : "");
		if (reg)
			fprintf(out, "    regression: %s up in %s (%s, Mann-Whitney U over runs, p %.3f < %g)\n",
				rows[r].label, bc->scenario, b.killer, p, alpha);
		regressions += reg;
	}
	/* Survival: runs with the foreground alive; Fisher's exact test. */
	{
		char x[16], y[16];
		double p = fisher2x2(b.fg_alive, b.fg_known - b.fg_alive, n.fg_alive, n.fg_known - n.fg_alive);
		int worse = b.fg_known && n.fg_known &&
			    (double)n.fg_alive / n.fg_known < (double)b.fg_alive / b.fg_known;
		int reg = worse && p < alpha;
		snprintf(x, sizeof x, "%d/%d", b.fg_alive, b.fg_known);
		snprintf(y, sizeof y, "%d/%d", n.fg_alive, n.fg_known);
		fprintf(out, "  %-27s %9s %9s %8s %7.3ff%s\n", "foreground survived", x, y, "", p,
			reg ? " REGRESSION" : "");
		if (reg)
			fprintf(out, "    regression: foreground survival down in %s (%s, Fisher's exact test, "
				"p %.3f < %g)\n", bc->scenario, b.killer, p, alpha);
		regressions += reg;
	}
	{
		char x[32], y[32];
		snprintf(x, sizeof x, "%.1f", b.p50[AN_K_KILL_TO_FREE] * 1e3);
		snprintf(y, sizeof y, "%.1f", n.p50[AN_K_KILL_TO_FREE] * 1e3);
		fprintf(out, "  %-27s %9s %9s   (reported, not judged)\n", "kill-to-free p50 ms",
			isnan(b.p50[AN_K_KILL_TO_FREE]) ? "-" : x, isnan(n.p50[AN_K_KILL_TO_FREE]) ? "-" : y);
	}
	return regressions;
}
