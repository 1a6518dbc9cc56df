/* Reading one run: events.jsonl through the library reader, meta.json,
 * names and the scenario (docs/metrics.md 1). */
#include "an_private.h"
#include "fsutil.h"
#include "parse.h"
#include "scenario.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

uint64_t an_hash2(const char *a, const char *b)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 0x100000001b3ULL;
	h = (h ^ 0xff) * 0x100000001b3ULL;	/* ("ab", "c") is not ("a", "bc") */
	for (; b && *b; b++)
		h = (h ^ (unsigned char)*b) * 0x100000001b3ULL;
	return h;
}

int an_index_add(struct index *ix, uint64_t h, int idx)
{
	if (2 * (ix->n + 1) > ix->cap) {
		size_t nc = ix->cap ? 2 * ix->cap : 64;
		struct index old = *ix;
		if (!(ix->slot = malloc(nc * sizeof *ix->slot))) {
			*ix = old;
			return -ENOMEM;
		}
		ix->cap = nc;
		ix->n = 0;
		for (size_t i = 0; i < nc; i++)
			ix->slot[i].idx = -1;
		for (size_t i = 0; i < old.cap; i++)
			if (old.slot[i].idx >= 0)
				an_index_add(ix, old.slot[i].h, old.slot[i].idx);
		free(old.slot);
	}
	size_t i = h & (ix->cap - 1);
	while (ix->slot[i].idx >= 0)
		i = (i + 1) & (ix->cap - 1);
	ix->slot[i].h = h;
	ix->slot[i].idx = idx;
	ix->n++;
	return 0;
}

/* The first index with hash h for which eq says yes, or -1. */
int an_index_find(const struct index *ix, uint64_t h,
		      int (*eq)(const struct ctx *, int, const char *, const char *),
		      const struct ctx *c, const char *a, const char *b)
{
	if (!ix->cap)
		return -1;
	for (size_t i = h & (ix->cap - 1); ix->slot[i].idx >= 0; i = (i + 1) & (ix->cap - 1))
		if (ix->slot[i].h == h && eq(c, ix->slot[i].idx, a, b))
			return ix->slot[i].idx;
	return -1;
}

static int hprobe_eq(const struct ctx *c, int i, const char *spec, const char *unused)
{
	(void)unused;
	return !strcmp(c->hprobes[i], spec);
}

static int probe_index(const struct ctx *c, const char *spec)
{
	return an_index_find(&c->hix, an_hash2(spec, NULL), hprobe_eq, c, spec, NULL);
}

static int group_eq(const struct ctx *c, int i, const char *spec, const char *level)
{
	return !strcmp(c->r->g[i].probe, spec) && !strcmp(c->r->g[i].level, level);
}

static int probe_eq(const struct ctx *c, int i, const char *spec, const char *unused)
{
	(void)unused;
	return !strcmp(c->r->probes[i].probe, spec);
}

int an_group_slot(struct ctx *c, const char *spec, const char *mech, const char *level)
{
	struct an_run *r = c->r;
	uint64_t h = an_hash2(spec, level);
	int i = an_index_find(&c->gix, h, group_eq, c, spec, level);

	if (i >= 0)
		return i;
	/* Stored strings are cut to their fields: look them up cut too. */
	if (strlen(spec) >= AN_PROBE_LEN || strlen(level) >= AN_LEVEL_LEN) {
		char sp[AN_PROBE_LEN], lv[AN_LEVEL_LEN];
		an_copy_str(sp, sizeof sp, spec);
		an_copy_str(lv, sizeof lv, level);
		return an_group_slot(c, sp, mech, lv);
	}
	if (an_index_add(&c->gix, h, r->ngroups) || an_grow((void **)&r->g, &c->cg, (size_t)r->ngroups, sizeof *r->g))
		return -ENOMEM;
	struct an_group *g = &r->g[r->ngroups];
	memset(g, 0, sizeof *g);
	an_copy_str(g->probe, sizeof g->probe, spec);
	an_copy_str(g->mech, sizeof g->mech, mech);
	an_copy_str(g->level, sizeof g->level, level);
	g->probe_idx = probe_index(c, spec);
	g->claim = an_claim_of(mech, level);
	g->first_ns = g->last_ns = AN_NONE;
	g->threshold_kB = g->minfree_kB = NAN;
	return r->ngroups++;
}

static struct an_probe_status *probe_status_slot(struct ctx *c, const char *spec)
{
	struct an_run *r = c->r;
	uint64_t h = an_hash2(spec, NULL);
	int i = an_index_find(&c->pix, h, probe_eq, c, spec, NULL);

	if (i >= 0)
		return &r->probes[i];
	if (strlen(spec) >= AN_PROBE_LEN) {
		char sp[AN_PROBE_LEN];
		an_copy_str(sp, sizeof sp, spec);
		return probe_status_slot(c, sp);
	}
	if (an_index_add(&c->pix, h, r->nprobes) ||
	    an_grow((void **)&r->probes, &c->cp, (size_t)r->nprobes, sizeof *r->probes))
		return NULL;
	struct an_probe_status *np = r->probes;
	memset(&np[r->nprobes], 0, sizeof *np);
	an_copy_str(np[r->nprobes].probe, sizeof np->probe, spec);
	return &np[r->nprobes++];
}

static int on_header(struct ctx *c, json_t *o)
{
	struct an_run *r = c->r;
	json_t *p = json_object_get(o, "probes"), *v;
	size_t i;

	if (c->header)
		return 0;
	c->header = json_incref(o);
	an_copy_str(r->events_schema, sizeof r->events_schema, an_jget_str(o, "schema"));
	an_copy_str(r->domain, sizeof r->domain, an_jget_str(o, "domain"));
	if (json_is_array(p)) {
		c->hprobes = calloc(json_array_size(p) + 1, sizeof *c->hprobes);
		if (!c->hprobes)
			return -ENOMEM;
		json_array_foreach(p, i, v)
			if (json_is_string(v)) {
				an_copy_str(c->hprobes[c->nhprobes], AN_PROBE_LEN, json_string_value(v));
				if (an_index_add(&c->hix, an_hash2(c->hprobes[c->nhprobes], NULL), c->nhprobes))
					return -ENOMEM;
				c->nhprobes++;
			}
	}
	return 0;
}

static int on_sample(struct ctx *c, struct evr_obj o, int64_t t)
{
	struct an_run *r = c->r;
	struct evr_obj view = evr_get_obj(o, "view"), vm = evr_get_obj(o, "vmstat");
	struct an_sample s = { .t = t };

	if (!evr_ok(view))
		return 0;
	static const char *const vk[] = { "total_kB", "free_kB", "available_kB", "anon_kB", "cache_kB" };
	static const char *const sk[] = { "pgscan_kswapd", "pgscan_direct" };
	static struct evr_keys vkeys, skeys;
	double v[5], sc[2];

	/* Every sample asks for the same keys: their tags once. */
	if (!vkeys.n) {
		evr_keys_init(&vkeys, vk, 5);
		evr_keys_init(&skeys, sk, 2);
	}
	evr_nums_k(view, &vkeys, v);
	s.total_kB = v[0];
	s.free_kB = v[1];
	s.available_kB = v[2];
	s.anon_kB = v[3];
	s.cache_kB = v[4];
	s.pgscan = NAN;
	if (evr_ok(vm)) {
		evr_nums_k(vm, &skeys, sc);
		if (!isnan(sc[0]) && !isnan(sc[1]))
			s.pgscan = sc[0] + sc[1];
	}
	return PUSH(r->samples, r->nsamples, c->csam, s);
}

static int on_notify(struct ctx *c, struct evr_obj o, int64_t t, size_t seq)
{
	const char *spec = evr_str(o, "probe"), *mech = evr_str(o, "mech"),
		   *level = evr_str(o, "level");
	struct note n = { .t = t, .seq = seq, .signals = 1 };
	int64_t v;

	if (!spec || !level)
		return 0;
	if (!mech)
		mech = "";
	n.group = an_group_slot(c, spec, mech, level);
	if (n.group < 0)
		return n.group;
	/* Eventfd counters and counter deltas say how many kernel events one
	 * wake-up carries: the probe names the field (probes/probe.h). */
	const struct probe_ops *ops = probe_find(mech);
	if (ops && ops->signals_field && (!ops->signals_if || strstr(spec, ops->signals_if)) &&
	    !evr_i64(o, ops->signals_field, &v) && v > 0)
		n.signals = v;
	/* A garbage count must not overflow the sums over a run. */
	if (n.signals > SIGNALS_MAX)
		n.signals = SIGNALS_MAX;
	struct an_group *g = &c->r->g[n.group];
	/* Thresholds of the earliest line (lines are not in time order). */
	if (g->first_ns == AN_NONE || t < g->first_ns) {
		g->first_ns = t;
		g->threshold_kB = evr_num(o, "threshold_kB");
		g->minfree_kB = evr_num(o, "minfree_kB");
	}
	return PUSH(c->no, c->nno, c->cno, n);
}

static int on_truth(struct ctx *c, struct evr_obj o, int64_t t, size_t seq)
{
	struct gt_line x;

	if (!gt_from_event(o, t, seq, &x))
		return 0;
	return PUSH(c->tr, c->ntr, c->ctr, x);
}

/* The killer outcome's lines, for its own pass (harness/outcome.c): whether
 * the run gets one is known only from the header and meta.json. */
static int keep_line(struct ctx *c, const struct evr_line *l, const char *type)
{
	if (!an_outcome_line(type))
		return 0;
	if (c->nolines + l->len + 1 > c->colines) {
		size_t nc = c->colines ? 2 * c->colines : 4096;
		while (nc < c->nolines + l->len + 1)
			nc *= 2;
		char *p = realloc(c->olines, nc);
		if (!p)
			return -ENOMEM;
		c->olines = p;
		c->colines = nc;
	}
	memcpy(c->olines + c->nolines, l->text, l->len);
	c->nolines += l->len;
	c->olines[c->nolines++] = '\n';
	return 0;
}

static int on_line(struct ctx *c, struct evr_line *l, size_t seq)
{
	struct an_run *r = c->r;
	struct evr_obj o = evr_root(l);
	const char *type = evr_str(o, "type");
	int64_t t;
	int ret;

	if (an_ev_time(o, "t_ns", &t) || !type)
		return 1;	/* not an event */
	if (t > c->max_t)
		c->max_t = t;
	/* The hot types first; the outcome pass wants none of them. */
	if (!strcmp(type, "sample"))
		return on_sample(c, o, t);
	if (!strcmp(type, "notify"))
		return on_notify(c, o, t, seq);
	if ((ret = keep_line(c, l, type)))
		return ret;
	if (!strcmp(type, "header"))
		return on_header(c, evr_json(l));
	if (!strcmp(type, "truth"))
		return on_truth(c, o, t, seq);
	if (!strcmp(type, "progress")) {
		const char *w = evr_str(o, "what");
		struct progress p = { .t = t, .seq = seq, .bytes = evr_num(o, "value") };
		if (!w || isnan(p.bytes) || (strcmp(w, "alloc_bytes") && strcmp(w, "read_bytes")))
			return 0;
		p.read = !strcmp(w, "read_bytes");
		return PUSH(c->pr, c->npr, c->cpr, p);
	}
	if (!strcmp(type, "phase")) {
		const char *ph = evr_str(o, "phase");
		if (ph && !strcmp(ph, "alloc") && (r->t_alloc == AN_NONE || t < r->t_alloc))
			r->t_alloc = t;
		return 0;
	}
	if (!strcmp(type, "probe")) {
		const char *spec = evr_str(o, "probe"), *st = evr_str(o, "status");
		struct an_probe_status *ps;
		if (!spec)
			return 0;
		if (!(ps = probe_status_slot(c, spec)))
			return -ENOMEM;
		an_copy_str(ps->mech, sizeof ps->mech, evr_str(o, "mech"));
		an_copy_str(ps->status, sizeof ps->status, st);
		if (evr_str(o, "reason"))
			an_copy_str(ps->reason, sizeof ps->reason, evr_str(o, "reason"));
		if (st && (!strcmp(st, "armed") || !strcmp(st, "degraded")))
			ps->armed = 1;
		return 0;
	}
	if (!strcmp(type, "recorder")) {
		const char *w = evr_str(o, "what");
		if (w && !strcmp(w, "trace_filtered"))
			c->trace_filtered = 1;
		else if (w && !strcmp(w, "trace_unfiltered"))
			r->flags |= AN_F_TRACE_UNFILTERED;
		return 0;
	}
	if (!strcmp(type, "end")) {
		int64_t cpu;
		r->flags &= ~AN_F_NO_END;
		c->end_t = t;
		an_copy_str(r->end_reason, sizeof r->end_reason, evr_str(o, "reason"));
		if (!evr_i64(o, "recorder_cpu_ns", &cpu)) {
			c->end_cpu_ns = cpu;
			c->have_end_cpu = 1;
		}
		/* An object of unknown keys: jansson's to walk (one line a run). */
		json_t *pc = json_object_get(evr_json(l), "probe_cpu_ns");
		json_decref(c->probe_cpu);
		c->probe_cpu = json_is_object(pc) ? json_incref(pc) : NULL;
		return 0;
	}
	return 0;
}

void an_probe_cpu(struct ctx *c)
{
	struct an_run *r = c->r;
	const char *spec;
	json_t *v;

	for (int i = 0; i < r->nprobes; i++)
		r->probes[i].cpu_per_s = NAN;
	/* The same duration as recorder_cpu_per_s: the recorder's, to its end. */
	if (!c->probe_cpu || c->end_t == AN_NONE || c->end_t <= 0)
		return;
	json_object_foreach(c->probe_cpu, spec, v) {
		int i = an_index_find(&c->pix, an_hash2(spec, NULL), probe_eq, c, spec, NULL);
		if (i >= 0 && json_is_number(v) && json_number_value(v) >= 0)
			r->probes[i].cpu_per_s = json_number_value(v) / (double)c->end_t;
	}
}

/* events.jsonl as a stream, or NULL with the reason in r->events_error.
 * Only a regular file: a directory, a FIFO or /dev/zero in its place
 * would fail, block or never end. */
static FILE *open_events(struct an_run *r, const char *path)
{
	struct stat st;
	FILE *f;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0) {
		snprintf(r->events_error, sizeof r->events_error, "events.jsonl: %s%s", strerror(errno),
			 errno == ENOENT && !lstat(path, &st) ? " (a dangling link)" : "");
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(r->events_error, sizeof r->events_error, "events.jsonl: not a regular file");
		close(fd);
		return NULL;
	}
	if (!(f = fdopen(fd, "r"))) {
		snprintf(r->events_error, sizeof r->events_error, "events.jsonl: %s", strerror(errno));
		close(fd);
	}
	return f;
}

int an_read_events(struct ctx *c, const char *path, char *err, size_t errlen)
{
	struct an_run *r = c->r;
	FILE *f = open_events(r, path);
	struct evr_reader rd;
	struct evr_line l = { 0 };
	size_t seq = 0;
	int last_bad = 0, ret = 0, n;

	/* Nothing to read is an incomplete run, never a dropped one. */
	if (!f) {
		r->flags |= AN_F_NO_EVENTS;
		return 0;
	}
	evr_init(&rd, f);
	while ((n = evr_next(&rd, &l)) > 0) {
		size_t k = strspn(l.text, " \t\r\n");

		if (l.text[k] == 0)
			continue;
		r->lines++;
		if (evr_parse(&l) || (ret = on_line(c, &l, seq++)) == 1) {
			/* Counted as bad now; the last one is a cut line instead. */
			r->bad_lines++;
			last_bad = 1;
			ret = 0;
		} else {
			last_bad = 0;
		}
		if (ret < 0)
			break;
	}
	if (n < 0 && !ret)
		ret = n;
	evr_line_free(&l);
	evr_free(&rd);
	fclose(f);
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (last_bad) {
		r->bad_lines--;
		r->flags |= AN_F_CUT_LAST_LINE;
	}
	if (r->bad_lines)
		r->flags |= AN_F_BAD_LINES;
	return 0;
}

/* Kernel and scenario names become directory and file names: one from a
 * result file that is not a single path component is dropped (the next
 * source is asked) and the run flagged.  A path part like ".." (analyze
 * ../s/1) is the user's own doing: skipped, not flagged. */
static void take_name(struct an_run *r, char *dst, size_t len, const char *name, int from_file)
{
	if (!name || dst[0])
		return;
	if (!pnb_name_ok(name) || strlen(name) >= len) {
		if (from_file)
			r->flags |= AN_F_BAD_NAME;
		return;
	}
	an_copy_str(dst, len, name);
}

void an_read_meta(struct ctx *c, const char *dir)
{
	struct an_run *r = c->r;
	char path[PATH_MAX + 16];
	json_error_t e;
	json_t *m, *k, *s, *h, *res, *cmd;

	r->host_load_1m = NAN;
	snprintf(path, sizeof path, "%s/meta.json", dir);
	m = json_load_file(path, 0, &e);
	if (!json_is_object(m)) {
		json_decref(m);
		r->flags |= AN_F_NO_META;
		return;
	}
	c->meta = m;
	an_copy_str(r->meta_schema, sizeof r->meta_schema, an_jget_str(m, "schema"));
	k = json_object_get(m, "kernel");
	take_name(r, r->kernel, sizeof r->kernel, an_jget_str(k, "name"), 1);
	an_copy_str(r->release, sizeof r->release, an_jget_str(k, "release"));
	s = json_object_get(m, "scenario");
	take_name(r, r->scenario, sizeof r->scenario, an_jget_str(s, "name"), 1);
	if (an_jget_str(s, "text"))
		r->scenario_text = strdup(an_jget_str(s, "text"));
	int64_t rep;
	if (!an_jget_i64(m, "rep", &rep))
		r->rep = (int)rep;
	h = json_object_get(m, "harness");
	an_copy_str(r->git_rev, sizeof r->git_rev, an_jget_str(h, "git_rev"));
	cmd = json_object_get(h, "command");
	if (json_is_array(cmd)) {
		size_t i, len = 1;
		json_t *v;
		json_array_foreach(cmd, i, v)
			len += strlen(json_string_value(v) ? json_string_value(v) : "") + 1;
		if ((r->command = malloc(len))) {
			r->command[0] = 0;
			json_array_foreach(cmd, i, v) {
				if (i)
					strcat(r->command, " ");
				strcat(r->command, json_string_value(v) ? json_string_value(v) : "");
			}
		}
	}
	json_t *g = json_object_get(m, "guest");
	an_copy_str(r->accel, sizeof r->accel, an_jget_str(g, "accel") ? an_jget_str(g, "accel") :
		 g ? "" : "native");
	an_copy_str(r->host_cpu, sizeof r->host_cpu, an_jget_str(json_object_get(m, "topology"), "cpu_model"));
	int64_t v;
	if (!an_jget_i64(g, "cpus", &v))
		r->guest_cpus = (int)v;
	json_t *hl = json_object_get(m, "host_load"), *l1 = json_object_get(hl, "loadavg_1m");
	r->host_load_1m = json_is_number(l1) ? json_number_value(l1) : NAN;
	if (!an_jget_i64(hl, "cpus_online", &v))
		r->host_cpus = (int)v;
	if (!an_jget_i64(g, "memory_bytes", &v))
		r->guest_memory = v;
	if (!an_jget_i64(g, "boot_retries", &v))
		r->boot_retries = (int)v;
	an_copy_str(r->start, sizeof r->start, an_jget_str(g, "start"));
	{
		const char *h = an_jget_str(m, "hierarchy");
		if (h && (!strcmp(h, "v1") || !strcmp(h, "v2"))) {
			an_copy_str(r->hierarchy, sizeof r->hierarchy, h);
			r->hier_recorded = 1;
		} else if (g) {
			an_copy_str(r->hierarchy, sizeof r->hierarchy, "v1");
		}
	}
	{
		/* Knobs asked for, in a fixed order, left out at their defaults. */
		static const char *const names[] = { "swap", "lru_gen", "min_ttl_ms", "memory_max",
						     "memory_high" };
		static const char *const dflt[] = { "none", "kernel", "kernel", "max", "max" };
		json_t *kn = json_object_get(m, "knobs");
		size_t o = 0;
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
			const char *req = an_jget_str(json_object_get(kn, names[i]), "requested");
			if (!req || !strcmp(req, dflt[i]))
				continue;
			int n = snprintf(r->knobs + o, sizeof r->knobs - o, "%s%s=%s", o ? " " : "",
					 names[i], req);
			if (n < 0 || (size_t)n >= sizeof r->knobs - o)
				break;
			o += (size_t)n;
		}
	}
	res = json_object_get(m, "result");
	json_t *bs = json_object_get(res, "boot_s"), *ps = json_object_get(res, "poweroff_s");
	r->start_s = json_is_number(bs) ? json_number_value(bs) : NAN;
	r->poweroff_s = json_is_number(ps) ? json_number_value(ps) : NAN;
	an_copy_str(r->meta_status, sizeof r->meta_status, an_jget_str(res, "status"));
	if (!json_is_true(json_object_get(res, "complete")))
		r->flags |= AN_F_META_INCOMPLETE;
}

/* Kernel / scenario / rep when meta.json does not say: the header's
 * labels, then the path <kernel>/<scenario>/<rep>. */
void an_fill_names(struct ctx *c, const char *dir)
{
	struct an_run *r = c->r;
	json_t *labels = c->header ? json_object_get(c->header, "labels") : NULL;
	char buf[PATH_MAX], *parts[3] = { NULL, NULL, NULL };
	char *p;
	int np = 0;

	snprintf(buf, sizeof buf, "%s", dir);
	while (np < 3 && (p = strrchr(buf, '/'))) {
		parts[np++] = p + 1;
		*p = 0;
	}
	if (np < 3 && buf[0])
		parts[np++] = buf;
	take_name(r, r->kernel, sizeof r->kernel, an_jget_str(labels, "kernel"), 1);
	take_name(r, r->kernel, sizeof r->kernel, parts[2], 0);
	take_name(r, r->kernel, sizeof r->kernel, "unknown", 0);
	take_name(r, r->scenario, sizeof r->scenario, an_jget_str(labels, "scenario"), 1);
	take_name(r, r->scenario, sizeof r->scenario, parts[1], 0);
	take_name(r, r->scenario, sizeof r->scenario, "unknown", 0);
	if (!r->rep) {
		const char *rs = an_jget_str(labels, "rep");
		const char *base = parts[0] ? parts[0] : "";
		uint64_t v;
		char tmp[64];
		/* ".3.partial" is rep 3 of a run that never finished. */
		if (base[0] == '.') {
			snprintf(tmp, sizeof tmp, "%s", base + 1);
			char *dot = strchr(tmp, '.');
			if (dot)
				*dot = 0;
			base = tmp;
		}
		/* "<rep>-v2": the cgroup2 boot of repetition rep. */
		if (base != tmp) {
			snprintf(tmp, sizeof tmp, "%s", base);
			base = tmp;
		}
		size_t bl = strlen(tmp);
		if (bl > 3 && !strcmp(tmp + bl - 3, "-v2"))
			tmp[bl - 3] = 0;
		if (rs && !pnb_parse_u64(rs, &v))
			r->rep = (int)v;
		else if (!pnb_parse_u64(base, &v))
			r->rep = (int)v;
	}
	if (!r->release[0] && c->header)
		an_copy_str(r->release, sizeof r->release, an_jget_str(c->header, "kernel_release"));
}

void an_scenario_info(struct ctx *c)
{
	struct an_run *r = c->r;
	json_t *argv = c->header ? json_object_get(c->header, "workload_argv") : NULL;
	struct scenario s;
	char err[512];

	r->expect = AN_EXPECT_ANY;
	if (r->scenario_text) {
		memset(&s, 0, sizeof s);
		if (!scenario_parse_string(r->scenario, r->scenario_text, &s, err, sizeof err)) {
			r->expect = s.expect == SCN_EXPECT_OOM ? AN_EXPECT_OOM :
				    s.expect == SCN_EXPECT_NO_OOM ? AN_EXPECT_NO_OOM : AN_EXPECT_ANY;
			an_copy_str(r->workload, sizeof r->workload, s.workload);
			scenario_free(&s);
		} else {
			r->flags |= AN_F_SCENARIO_UNPARSED;
		}
	}
	r->rate_MiB_s = NAN;
	if (json_is_array(argv)) {
		size_t n = json_array_size(argv);
		if (!r->workload[0] && n > 1)
			an_copy_str(r->workload, sizeof r->workload, json_string_value(json_array_get(argv, 1)));
		for (size_t i = 0; i < n; i++) {
			const char *a = json_string_value(json_array_get(argv, i)), *v = NULL;
			uint64_t bps;
			if (!a)
				continue;
			if (!strcmp(a, "--rate") && i + 1 < n)
				v = json_string_value(json_array_get(argv, i + 1));
			else if (!strncmp(a, "--rate=", 7))
				v = a + 7;
			if (v && !pnb_parse_rate_bps(v, &bps))
				r->rate_MiB_s = (double)bps / (1024.0 * 1024.0);
		}
	}
}

