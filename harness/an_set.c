/* Cells (kernel x scenario) and sets: loading, statistics and JSON. */
#include "an_private.h"
#include "stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- cells and sets ------------------------------------------------------ */

/* The stats object of run_metrics, groups and probe_cpu. */
static json_t *stats_json(const struct pnb_dist *d)
{
	json_t *o = json_object();

	json_object_set_new(o, "n", json_integer((json_int_t)d->n));
	json_object_set_new(o, "min", an_jreal(d->min));
	json_object_set_new(o, "q1", an_jreal(d->q1));
	json_object_set_new(o, "median", an_jreal(d->median));
	json_object_set_new(o, "q3", an_jreal(d->q3));
	json_object_set_new(o, "max", an_jreal(d->max));
	return o;
}

static json_t *dist_json(const struct an_cell *c, const struct an_key *k, enum an_metric m)
{
	double v[c->nruns + 1];
	struct pnb_dist d;

	for (int i = 0; i < c->nruns; i++)
		v[i] = an_run_value(c->runs[i], k, m);
	if (pnb_dist_compute(v, (size_t)c->nruns, &d))
		return json_null();
	return stats_json(&d);
}

/* cell.json probe_cpu: each probe spec with a cpu_per_s in any run, in
 * the order the runs list them, with its distribution over the runs. */
static json_t *probe_cpu_json(const struct an_cell *c)
{
	json_t *a = json_array(), *seen = json_object();
	double v[c->nruns + 1];
	struct pnb_dist d;

	for (int i = 0; i < c->nruns; i++)
		for (int p = 0; p < c->runs[i]->nprobes; p++) {
			const char *spec = c->runs[i]->probes[p].probe;
			if (isnan(c->runs[i]->probes[p].cpu_per_s) || json_object_get(seen, spec))
				continue;
			json_object_set_new(seen, spec, json_true());
			for (int k = 0; k < c->nruns; k++) {
				v[k] = NAN;
				for (int q = 0; q < c->runs[k]->nprobes; q++)
					if (!strcmp(c->runs[k]->probes[q].probe, spec))
						v[k] = c->runs[k]->probes[q].cpu_per_s;
			}
			if (pnb_dist_compute(v, (size_t)c->nruns, &d))
				continue;
			json_t *x = json_object();
			json_object_set_new(x, "probe", json_string(spec));
			json_object_set_new(x, "cpu_per_s", stats_json(&d));
			json_array_append_new(a, x);
		}
	json_decref(seen);
	return a;
}

json_t *an_cell_json(const struct an_cell *c)
{
	json_t *o = json_object(), *runs = json_array(), *rm = json_object(), *groups = json_array();
	struct an_key *keys = NULL;
	int nk = an_cell_keys(c, &keys), complete = 0, oom = 0;

	json_object_set_new(o, "schema", json_string(AN_CELL_SCHEMA));
	json_object_set_new(o, "kernel", json_string(c->kernel));
	json_object_set_new(o, "scenario", json_string(c->scenario));
	for (int i = 0; i < c->nruns; i++) {
		const struct an_run *r = c->runs[i];
		json_t *x = json_object();
		complete += !r->incomplete;
		oom += r->t_oom != AN_NONE;
		json_object_set_new(x, "dir", json_string(an_set_relative(r->set_path, r->dir)));
		json_object_set_new(x, "rep", json_integer(r->rep));
		json_object_set_new(x, "incomplete", json_boolean(r->incomplete));
		json_object_set_new(x, "flags", an_flags_json(r->flags));
		json_array_append_new(runs, x);
	}
	json_object_set_new(o, "runs", json_integer(c->nruns));
	json_object_set_new(o, "complete", json_integer(complete));
	json_object_set_new(o, "oom_runs", json_integer(oom));
	json_object_set_new(o, "run_list", runs);
	for (int m = AN_NGROUP_METRICS; m < AN_NMETRICS; m++)
		json_object_set_new(rm, an_metrics[m].key, dist_json(c, NULL, m));
	json_object_set_new(o, "run_metrics", rm);
	for (int i = 0; i < nk; i++) {
		json_t *x = json_object(), *mm = json_object(), *cnt = json_object();
		struct an_key_counts n;
		an_key_counts(c, &keys[i], &n);
		json_object_set_new(x, "probe", json_string(keys[i].probe));
		json_object_set_new(x, "mech", json_string(keys[i].mech));
		json_object_set_new(x, "level", json_string(keys[i].level));
		json_object_set_new(x, "claim", json_string(an_claim_name(keys[i].claim)));
		json_object_set_new(cnt, "runs", json_integer(n.runs));
		json_object_set_new(cnt, "armed", json_integer(n.armed));
		json_object_set_new(cnt, "unsupported", json_integer(n.runs - n.armed));
		json_object_set_new(cnt, "fired", json_integer(n.fired));
		json_object_set_new(cnt, "fired_before_oom", json_integer(n.fired_before_oom));
		json_object_set_new(cnt, "missed", json_integer(n.missed));
		json_object_set_new(cnt, "oom_runs", json_integer(n.oom_runs));
		json_object_set_new(x, "counts", cnt);
		for (int m = 0; m < AN_NGROUP_METRICS; m++)
			if (m != AN_M_LEAD_RANKED)
				json_object_set_new(mm, an_metrics[m].key, dist_json(c, &keys[i], m));
		json_object_set_new(x, "metrics", mm);
		json_array_append_new(groups, x);
	}
	json_object_set_new(o, "groups", groups);
	json_object_set_new(o, "probe_cpu", probe_cpu_json(c));
	free(keys);
	{
		struct an_cell_outcome co;
		if (an_cell_outcome(c, &co) > 0)
			json_object_set_new(o, "outcome", an_cell_outcome_json(&co));
	}
	return o;
}

int an_set_kernels(const struct an_set *s, const char **names, int max)
{
	int n = 0;

	for (int i = 0; i < s->ncells; i++) {
		int dup = 0;
		for (int k = 0; k < n; k++)
			dup |= !strcmp(names[k], s->cells[i].kernel);
		if (!dup && n < max)
			names[n++] = s->cells[i].kernel;
	}
	return n;
}

json_t *an_set_json(const struct an_set *s)
{
	json_t *o = json_object(), *kern = json_array(), *scn = json_array(), *cells = json_array();
	const char *names[64];
	int nk = an_set_kernels(s, names, 64), incomplete = 0;

	json_object_set_new(o, "schema", json_string(AN_SET_SCHEMA));
	for (int i = 0; i < nk; i++)
		json_array_append_new(kern, json_string(names[i]));
	for (int i = 0; i < s->ncells; i++) {
		int dup = 0;
		for (int k = 0; k < i; k++)
			dup |= !strcmp(s->cells[k].scenario, s->cells[i].scenario);
		if (!dup)
			json_array_append_new(scn, json_string(s->cells[i].scenario));
	}
	for (int i = 0; i < s->nruns; i++)
		incomplete += s->runs[i].incomplete;
	json_object_set_new(o, "kernels", kern);
	json_object_set_new(o, "scenarios", scn);
	json_object_set_new(o, "runs", json_integer(s->nruns));
	json_object_set_new(o, "incomplete_runs", json_integer(incomplete));
	for (int i = 0; i < s->ncells; i++) {
		const struct an_cell *c = &s->cells[i];
		json_t *x = an_cell_json(c);
		json_object_set_new(x, "dir", json_string(an_set_relative(s->path, c->dir)));
		json_array_append_new(cells, x);
	}
	json_object_set_new(o, "cells", cells);
	return o;
}

static int partial_name(const char *name)
{
	/* ".<rep>.partial": a run directory the harness never renamed. */
	size_t n = strlen(name);
	return name[0] == '.' && n > 9 && !strcmp(name + n - 8, ".partial");
}

/* Anything named events.jsonl (a dangling link or a directory too: that
 * run is incomplete, not absent), a meta.json, or a .N.partial name. */
int an_is_run_dir(const char *dir)
{
	char p[PATH_MAX + 16];
	const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
	struct stat st;

	if (partial_name(base))
		return 1;
	snprintf(p, sizeof p, "%s/events.jsonl", dir);
	if (!lstat(p, &st))
		return 1;
	snprintf(p, sizeof p, "%s/meta.json", dir);
	return !lstat(p, &st) && S_ISREG(st.st_mode);
}

struct pathlist {
	char **p;
	size_t n, cap;
};

static int find_runs(const char *dir, int depth, struct pathlist *l)
{
	DIR *d;
	struct dirent *e;

	if (an_is_run_dir(dir)) {
		char *s = strdup(dir);
		if (!s || PUSH(l->p, l->n, l->cap, s)) {
			free(s);
			return -ENOMEM;
		}
		return 0;
	}
	if (depth > 4 || !(d = opendir(dir)))
		return 0;
	while ((e = readdir(d))) {
		char sub[PATH_MAX];
		struct stat st;
		if (e->d_name[0] == '.' && !partial_name(e->d_name))
			continue;
		if (snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) >= (int)sizeof sub)
			continue;
		/* A link to a run, cell or kernel of the set would count its
		 * runs twice, one leading out of it would count others' runs. */
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISDIR(st.st_mode))
			continue;
		if (find_runs(sub, depth + 1, l)) {
			closedir(d);
			return -ENOMEM;
		}
	}
	closedir(d);
	return 0;
}

static int run_cmp(const void *a, const void *b)
{
	const struct an_run *p = *(struct an_run *const *)a, *q = *(struct an_run *const *)b;
	int r;

	if ((r = strcmp(p->kernel, q->kernel)))
		return r;
	if ((r = strcmp(p->scenario, q->scenario)))
		return r;
	if (p->rep != q->rep)
		return p->rep - q->rep;
	return strcmp(p->dir, q->dir);
}

int an_set_load(const char *path, struct an_set *s, char *err, size_t errlen)
{
	struct pathlist l = { 0 };
	struct an_run **order = NULL;
	int ret = 0;

	memset(s, 0, sizeof *s);
	an_copy_str(s->path, sizeof s->path, path);
	/* "dir/" and "dir" are the same set. */
	for (size_t n = strlen(s->path); n > 1 && s->path[n - 1] == '/'; n--)
		s->path[n - 1] = 0;
	if ((ret = find_runs(s->path, 0, &l)))
		goto out;
	if (!l.n) {
		snprintf(err, errlen, "%s: no run directories (none holds an events.jsonl or a meta.json)",
			 path);
		ret = -ENOENT;
		goto out;
	}
	s->runs = calloc(l.n, sizeof *s->runs);
	order = calloc(l.n, sizeof *order);
	if (!s->runs || !order) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		char e2[512];
		if ((ret = an_run_load(l.p[i], &s->runs[s->nruns], e2, sizeof e2))) {
			snprintf(err, errlen, "%s", e2);
			goto out;
		}
		s->runs[s->nruns].set_path = s->path;
		order[s->nruns] = &s->runs[s->nruns];
		s->nruns++;
	}
	qsort(order, (size_t)s->nruns, sizeof *order, run_cmp);
	for (int i = 0; i < s->nruns; i++) {
		struct an_run *r = order[i];
		struct an_cell *c = s->ncells ? &s->cells[s->ncells - 1] : NULL;
		if (!c || strcmp(c->kernel, r->kernel) || strcmp(c->scenario, r->scenario)) {
			struct an_cell *nc = realloc(s->cells, (size_t)(s->ncells + 1) * sizeof *nc);
			if (!nc) {
				ret = -ENOMEM;
				goto out;
			}
			s->cells = nc;
			c = &s->cells[s->ncells++];
			memset(c, 0, sizeof *c);
			an_copy_str(c->kernel, sizeof c->kernel, r->kernel);
			an_copy_str(c->scenario, sizeof c->scenario, r->scenario);
			c->runs = calloc((size_t)s->nruns, sizeof *c->runs);
			if (!c->runs) {
				ret = -ENOMEM;
				goto out;
			}
		}
		c->runs[c->nruns++] = r;
	}
	for (int i = 0; i < s->ncells; i++) {
		struct an_cell *c = &s->cells[i];
		char parent[PATH_MAX];
		snprintf(parent, sizeof parent, "%s", c->runs[0]->dir);
		snprintf(c->dir, sizeof c->dir, "%s", dirname(parent));
		for (int k = 1; k < c->nruns; k++) {
			snprintf(parent, sizeof parent, "%s", c->runs[k]->dir);
			if (strcmp(dirname(parent), c->dir))
				c->dir[0] = 0;
		}
	}
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.p[i]);
	free(l.p);
	free(order);
	if (ret)
		an_set_free(s);
	return ret;
}

void an_set_free(struct an_set *s)
{
	for (int i = 0; i < s->nruns; i++)
		an_run_free(&s->runs[i]);
	for (int i = 0; i < s->ncells; i++)
		free(s->cells[i].runs);
	free(s->runs);
	free(s->cells);
	s->runs = NULL;
	s->cells = NULL;
	s->nruns = s->ncells = 0;
}

int an_write_json(const char *path, json_t *j)
{
	char tmp[PATH_MAX + 16];
	int ret = 0;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (json_dump_file(j, tmp, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(10)))
		ret = errno ? -errno : -EIO;
	else if (rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	json_decref(j);
	return ret;
}

