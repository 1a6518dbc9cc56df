/* pnbench export kcidb: a result set in KCIDB's I/O schema v5.3 (KernelCI's
 * results database), for the user to submit with their own token.
 *
 *   checkout  one per kernel: the tree where known; for Debian packages and
 *             bzImages there is no git checkout, and what stands in for one
 *             is said in its misc (docs/ci.md)
 *   build     one per kernel: architecture, config name, compiler
 *   test      one per (kernel x scenario cell, probe row, metric): DONE with
 *             the median over repetitions as its number; one per run with its
 *             outcome (a guest that never ran is MISS); one per conformance
 *             case (--conform); one per judged compare row (--against)
 *
 * The schema forbids null anywhere and takes one number per test. */
#include "analysis.h"
#include "cli.h"
#include "conform.h"
#include "export.h"
#include "log.h"
#include "stats.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct kx {
	const char *origin, *checkout_id, *build_id, *url_base;
	json_t *checkouts, *builds, *tests;
	json_t *build_of;		/* kernel name -> build id */
	const struct an_set *set;
	json_t **meta;			/* per set->runs index, or NULL */
};

static void put_str(json_t *o, const char *k, const char *v)
{
	if (v && *v)
		json_object_set_new(o, k, json_string(v));
}

static json_t *rfc3339(long long t)
{
	char b[64];
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
	return json_string(b);
}

/* Null is nowhere in KCIDB: drop it from what meta.json contributes (a
 * kernel without a config has "config": null). */
static void strip_nulls(json_t *j)
{
	if (json_is_object(j)) {
		const char *k;
		json_t *v;
		void *tmp;
		json_object_foreach_safe(j, tmp, k, v) {
			if (json_is_null(v))
				json_object_del(j, k);
			else
				strip_nulls(v);
		}
	} else if (json_is_array(j)) {
		for (size_t i = json_array_size(j); i-- > 0;) {
			if (json_is_null(json_array_get(j, i)))
				json_array_remove(j, i);
			else
				strip_nulls(json_array_get(j, i));
		}
	}
}

/* One part of a KCIDB path: [a-zA-Z0-9_-]+.  "psi:some:150ms:1s" becomes
 * psi_some_150ms_1s, "10%" 10pct; the exact label goes into misc. */
void kx_path_part(char *dst, size_t len, const char *src)
{
	size_t o = 0;
	for (; *src && o + 4 < len; src++) {
		unsigned char ch = (unsigned char)*src;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_')
			dst[o++] = (char)ch;
		else if (ch == '%')
			o += (size_t)snprintf(dst + o, len - o, "pct");
		else if (o && dst[o - 1] != '_')
			dst[o++] = '_';
	}
	while (o > 1 && dst[o - 1] == '_')
		o--;
	if (!o)
		dst[o++] = '_';
	dst[o] = 0;
}

/* The number of a metric: SI base units where the key names one, the
 * prefix KCIDB's dashboards should scale by. */
static json_t *kx_number(const char *key, double v)
{
	json_t *n = json_object();
	size_t l = strlen(key);
	const char *unit = NULL, *prefix = NULL;

#define ENDS(s) (l >= sizeof s - 1 && !strcmp(key + l - (sizeof s - 1), s))
	if (!strcmp(key, "recorder_cpu_per_s"))
		unit = "s/s";		/* CPU seconds per second of run */
	else if (ENDS("_per_s"))
		unit = "1/s";
	else if (ENDS("_per_min"))
		unit = "1/min";
	else if (ENDS("_s"))
		unit = "s", prefix = "metric";
	else if (ENDS("_kB"))
		v *= 1024, unit = "B", prefix = "binary";
	else if (ENDS("_MiB"))
		v *= 1048576, unit = "B", prefix = "binary";
	else if (ENDS("_pct"))
		unit = "%";
#undef ENDS
	json_object_set_new(n, "value", json_real(v));
	put_str(n, "unit", unit);
	put_str(n, "prefix", prefix);
	return n;
}

/* The kind, release and name of a kernel where meta.json is not at hand
 * (conformance directories): from its directory name. */
static void kernel_objects(struct kx *x, const char *kname, json_t *meta, long long first_start)
{
	json_t *k = json_object_get(meta, "kernel");
	const char *kind = json_string_value(json_object_get(k, "kind"));
	const char *release = json_string_value(json_object_get(k, "release"));
	const char *spec = json_string_value(json_object_get(k, "spec"));
	char idbuf[400], rel[128] = "";

	if (json_object_get(x->build_of, kname))
		return;
	if (!kind) {
		kind = !strncmp(kname, "debian-", 7) ? "debian" : !strcmp(kname, "native") ? "native" : "unknown";
		if (!strcmp(kind, "debian"))
			snprintf(rel, sizeof rel, "%s", kname + 7), release = rel;
	}
	json_t *co = json_object(), *cm = json_object();
	if (x->checkout_id)
		snprintf(idbuf, sizeof idbuf, "%s", x->checkout_id);
	else
		snprintf(idbuf, sizeof idbuf, "%s:%s", x->origin, kname);
	/* One checkout object per id: --checkout-id names the one every kernel
	 * of the set was built from. */
	int have = 0;
	for (size_t i = 0; i < json_array_size(x->checkouts); i++)
		have |= !strcmp(json_string_value(json_object_get(json_array_get(x->checkouts, i), "id")),
				idbuf);
	json_object_set_new(co, "id", json_string(idbuf));
	json_object_set_new(co, "origin", json_string(x->origin));
	json_object_set_new(cm, "kernel", json_string(kname));
	put_str(cm, "kernel_spec", spec);
	put_str(cm, "kernel_kind", kind);
	put_str(cm, "release", release);
	if (!strcmp(kind, "debian")) {
		/* meta.json kernel.package: the .deb's file name, NAME_VERSION_ARCH.deb. */
		const char *pkg = json_string_value(json_object_get(k, "package"));
		char comment[512], ver[128] = "";
		const char *u = pkg ? strchr(pkg, '_') : NULL;
		if (u)
			snprintf(ver, sizeof ver, "%.*s", (int)strcspn(u + 1, "_"), u + 1);
		json_object_set_new(co, "tree_name", json_string("debian"));
		snprintf(comment, sizeof comment, "Debian kernel package linux-image-%s-unsigned%s%s",
			 release ? release : kname, ver[0] ? " version " : "", ver);
		json_object_set_new(co, "comment", json_string(comment));
		put_str(cm, "debian_package", pkg);
		put_str(cm, "debian_version", ver);
		json_object_set_new(cm, "synthetic", json_string(
			"no git checkout: a Debian binary package; id, tree_name and start_time are "
			"pnbench's (start_time: the first run on it)"));
	} else if (!strcmp(kind, "tree")) {
		const char *commit = json_string_value(json_object_get(k, "git_commit"));
		json_object_set_new(co, "tree_name", json_string("tree"));
		put_str(co, "git_commit_hash", commit && strlen(commit) == 40 ? commit : NULL);
		json_object_set_new(cm, "synthetic", json_string(
			"tree_name and start_time are pnbench's (start_time: the first run on it)"));
	} else {
		json_object_set_new(cm, "synthetic", json_string(
			"no checkout known: id and start_time are pnbench's (start_time: the first run on it)"));
	}
	if (first_start > 0)
		json_object_set_new(co, "start_time", rfc3339(first_start));
	json_object_set_new(co, "misc", cm);
	if (have)
		json_decref(co);
	else
		json_array_append_new(x->checkouts, co);

	json_t *b = json_object(), *bm = json_object();
	char bid[400];
	if (x->build_id)
		snprintf(bid, sizeof bid, "%s", x->build_id);
	else
		snprintf(bid, sizeof bid, "%s:%s", x->origin, kname);
	json_object_set_new(b, "id", json_string(bid));
	json_object_set_new(b, "origin", json_string(x->origin));
	json_object_set_new(b, "checkout_id", json_string(idbuf));
	/* Every guest is qemu-system-x86_64; native runs on this x86_64 host. */
	json_object_set_new(b, "architecture", json_string("x86_64"));
	if (!strcmp(kind, "debian") && release) {
		/* 6.1.0-56-cloud-amd64: the flavour is Debian's config name. */
		const char *p = strchr(release, '-');
		p = p ? strchr(p + 1, '-') : NULL;
		put_str(b, "config_name", p ? p + 1 : NULL);
	} else if (!strcmp(kind, "tree")) {
		json_object_set_new(b, "config_name", json_string("x86_64_defconfig+qemu/pnbench.config"));
	}
	put_str(b, "compiler", json_string_value(json_object_get(k, "compiler")));
	/* The kernel exists and was booted: its build succeeded. */
	json_object_set_new(b, "status", json_string("PASS"));
	put_str(bm, "config_digest", json_string_value(json_object_get(k, "config_digest")));
	if (json_is_object(json_object_get(k, "config")))
		json_object_set(bm, "config", json_object_get(k, "config"));
	json_object_set_new(b, "misc", bm);
	strip_nulls(b);
	json_array_append_new(x->builds, b);
	json_object_set_new(x->build_of, kname, json_string(bid));
}

static const char *build_of(struct kx *x, const char *kname)
{
	return json_string_value(json_object_get(x->build_of, kname));
}

static json_t *meta_of(const struct kx *x, const struct an_run *r)
{
	return x->meta ? x->meta[r - x->set->runs] : NULL;
}

static const char *rel_dir(const struct kx *x, const struct an_run *r, char *buf, size_t len)
{
	size_t n = strlen(x->set->path);
	if (!strncmp(r->dir, x->set->path, n) && r->dir[n] == '/')
		return r->dir + n + 1;
	snprintf(buf, len, "%s/%s/%d%s", r->kernel, r->scenario, r->rep,
		 !strcmp(r->hierarchy, "v2") ? "-v2" : "");
	return buf;
}

/* log_url and output_files of one run, when --artifact-url-base is set:
 * the set is published as it is on disk. */
static void run_files(const struct kx *x, const struct an_run *r, json_t *files, json_t *t,
		      int with_log)
{
	static const char *const names[] = { "events.jsonl", "meta.json", "console.log", "qemu.cmd" };
	char buf[PATH_MAX], url[PATH_MAX * 2], name[64];
	struct stat st;

	if (!x->url_base)
		return;
	const char *rel = rel_dir(x, r, buf, sizeof buf);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char p[PATH_MAX + 32];
		snprintf(p, sizeof p, "%s/%s", r->dir, names[i]);
		if (stat(p, &st))
			continue;
		snprintf(url, sizeof url, "%s/%s/%s", x->url_base, rel, names[i]);
		if (with_log && !strcmp(names[i], "console.log")) {
			json_object_set_new(t, "log_url", json_string(url));
			continue;
		}
		/* Resource names are file names: no '/'. */
		snprintf(name, sizeof name, "rep%d-%s", r->rep, names[i]);
		json_array_append_new(files, json_pack("{s:s, s:s}", "name", name, "url", url));
	}
}

static long long run_start(const struct kx *x, const struct an_run *r)
{
	json_t *v = json_object_get(json_object_get(meta_of(x, r), "result"), "started_realtime_s");
	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

static double run_wall(const struct kx *x, const struct an_run *r)
{
	json_t *v = json_object_get(json_object_get(meta_of(x, r), "result"), "wall_s");
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static json_t *environment(const struct an_run *r)
{
	json_t *e = json_object(), *m = json_object();
	char c[512];

	if (r->guest_memory)
		snprintf(c, sizeof c, "QEMU guest (%s), %d vCPUs, %lld MiB, on a %s host", r->accel[0] ?
			 r->accel : "accelerator unknown", r->guest_cpus, (long long)(r->guest_memory >> 20),
			 r->host_cpu[0] ? r->host_cpu : "unknown");
	else
		snprintf(c, sizeof c, "native: workload in a memory cgroup on a %s host",
			 r->host_cpu[0] ? r->host_cpu : "unknown");
	json_object_set_new(e, "comment", json_string(c));
	put_str(m, "accel", r->accel);
	put_str(m, "host_cpu", r->host_cpu);
	put_str(m, "start", r->start);
	if (r->guest_cpus)
		json_object_set_new(m, "guest_cpus", json_integer(r->guest_cpus));
	if (r->guest_memory)
		json_object_set_new(m, "guest_memory_bytes", json_integer(r->guest_memory));
	json_object_set_new(e, "misc", m);
	return e;
}

/* One DONE test: the median of metric m over the cell's runs for row k
 * (NULL: a run metric). */
static void metric_test(struct kx *x, const struct an_cell *c, const struct an_key *k,
			enum an_metric m)
{
	double v[c->nruns + 1];
	struct pnb_dist d;
	char label[AN_PROBE_LEN + AN_LEVEL_LEN + 2] = "run", part[3 * sizeof label], spart[3 * AN_NAME_LEN];

	for (int i = 0; i < c->nruns; i++)
		v[i] = an_run_value(c->runs[i], k, m);
	if (pnb_dist_compute(v, (size_t)c->nruns, &d) || !isfinite(d.median))
		return;
	if (k)
		an_key_label(k, label, sizeof label);
	kx_path_part(part, sizeof part, label);
	kx_path_part(spart, sizeof spart, c->scenario);

	json_t *t = json_object(), *misc = json_object(), *vals = json_array(), *files = json_array();
	long long start = 0;
	double dur = 0;
	json_object_set_new(t, "id", json_sprintf("%s:%s/%s/%s/%s", x->origin, c->kernel, c->scenario,
						  label, an_metrics[m].key));
	json_object_set_new(t, "origin", json_string(x->origin));
	json_object_set_new(t, "build_id", json_string(build_of(x, c->kernel)));
	json_object_set_new(t, "path", json_sprintf("pnbench.%s.%s.%s", spart, part, an_metrics[m].key));
	json_object_set_new(t, "status", json_string("DONE"));
	json_object_set_new(t, "number", kx_number(an_metrics[m].key, d.median));
	for (int i = 0; i < c->nruns; i++) {
		long long s = run_start(x, c->runs[i]);
		double w = run_wall(x, c->runs[i]);
		if (s && (!start || s < start))
			start = s;
		if (isfinite(w))
			dur += w;
		if (isfinite(v[i]))
			json_array_append_new(vals, json_pack("{s:i, s:f}", "rep", c->runs[i]->rep, "value", v[i]));
		run_files(x, c->runs[i], files, t, 0);
	}
	if (start)
		json_object_set_new(t, "start_time", rfc3339(start));
	if (dur > 0)
		json_object_set_new(t, "duration", json_real(dur));
	json_object_set_new(t, "environment", environment(c->runs[0]));
	if (json_array_size(files))
		json_object_set_new(t, "output_files", files);
	else
		json_decref(files);
	json_object_set_new(misc, "kernel", json_string(c->kernel));
	json_object_set_new(misc, "scenario", json_string(c->scenario));
	json_object_set_new(misc, "row", json_string(label));
	if (k) {
		json_object_set_new(misc, "probe", json_string(k->probe));
		json_object_set_new(misc, "mechanism", json_string(k->mech));
		json_object_set_new(misc, "level", json_string(k->level));
		json_object_set_new(misc, "claim", json_string(an_claim_name(k->claim)));
	}
	json_object_set_new(misc, "metric", json_string(an_metrics[m].key));
	json_object_set_new(misc, "statistic", json_string("median over repetitions"));
	json_object_set_new(misc, "runs", json_integer(c->nruns));
	json_object_set_new(misc, "n", json_integer((json_int_t)d.n));
	json_object_set_new(misc, "min", json_real(d.min));
	json_object_set_new(misc, "q1", json_real(d.q1));
	json_object_set_new(misc, "median", json_real(d.median));
	json_object_set_new(misc, "q3", json_real(d.q3));
	json_object_set_new(misc, "max", json_real(d.max));
	json_object_set_new(misc, "values", vals);
	json_object_set_new(t, "misc", misc);
	json_array_append_new(x->tests, t);
}

/* How a run ended, as KCIDB sees it: DONE produced its measurements; a
 * panic is the kernel's (FAIL); a hang or a broken recorder leaves the
 * kernel's status unknown (ERROR); a guest that never reached /init, or a
 * run pnbench itself never finished, never ran (MISS). */
static const char *run_status(const struct an_run *r)
{
	if (r->flags & (AN_F_NO_META | AN_F_PARTIAL_DIR))
		return "MISS";
	if (!strcmp(r->meta_status, "no_init"))
		return "MISS";
	if (!strcmp(r->meta_status, "panic"))
		return "FAIL";
	if (!strcmp(r->meta_status, "ok") && !r->incomplete)
		return "DONE";
	return "ERROR";
}

static void run_test(struct kx *x, const struct an_run *r)
{
	json_t *t = json_object(), *misc = json_object(), *flags = json_array(), *files = json_array();
	json_t *res = json_object_get(meta_of(x, r), "result");
	char spart[3 * AN_NAME_LEN];
	const char *status = run_status(r);

	kx_path_part(spart, sizeof spart, r->scenario);
	/* The cell's name: a cgroup2 boot of repetition N is N-v2, and ids
	 * must be unique in a KCIDB report. */
	json_object_set_new(t, "id", json_sprintf("%s:%s/%s/%d%s", x->origin, r->kernel, r->scenario,
						  r->rep, !strcmp(r->hierarchy, "v2") ? "-v2" : ""));
	json_object_set_new(t, "origin", json_string(x->origin));
	json_object_set_new(t, "build_id", json_string(build_of(x, r->kernel)));
	json_object_set_new(t, "path", json_sprintf("pnbench.%s.run_status", spart));
	json_object_set_new(t, "status", json_string(status));
	long long s = run_start(x, r);
	double w = run_wall(x, r);
	if (s)
		json_object_set_new(t, "start_time", rfc3339(s));
	if (isfinite(w))
		json_object_set_new(t, "duration", json_real(w));
	if (!strcmp(status, "DONE") && isfinite(r->run_s))
		json_object_set_new(t, "number", kx_number("run_s", r->run_s));
	json_object_set_new(t, "environment", environment(r));
	run_files(x, r, files, t, 1);
	if (json_array_size(files))
		json_object_set_new(t, "output_files", files);
	else
		json_decref(files);
	json_object_set_new(misc, "kernel", json_string(r->kernel));
	json_object_set_new(misc, "scenario", json_string(r->scenario));
	json_object_set_new(misc, "rep", json_integer(r->rep));
	json_object_set_new(misc, "complete", json_boolean(!r->incomplete));
	put_str(misc, "result", r->meta_status);
	put_str(misc, "reason", json_string_value(json_object_get(res, "reason")));
	put_str(misc, "harness_git_rev", r->git_rev);
	if (r->boot_retries)
		json_object_set_new(misc, "boot_retries", json_integer(r->boot_retries));
	for (int i = 0; i < AN_NFLAGS; i++)
		if (r->flags & (1u << i))
			json_array_append_new(flags, json_string(an_flag_names[i]));
	json_object_set_new(misc, "flags", flags);
	json_object_set_new(t, "misc", misc);
	json_array_append_new(x->tests, t);
}

/* --conform DIR: every DIR/<kernel> that pnbench conform wrote. */
static int conform_tests(struct kx *x, const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int kernels = 0;
	struct conform_row *rows = calloc(CONFORM_NCASES, sizeof *rows);

	if (!d || !rows) {
		snprintf(err, errlen, "--conform %s: %s", dir, strerror(errno));
		if (d)
			closedir(d);
		free(rows);
		return -1;
	}
	while ((e = readdir(d))) {
		char kd[PATH_MAX], ev[PATH_MAX + 16];
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(kd, sizeof kd, "%s/%s", dir, e->d_name);
		snprintf(ev, sizeof ev, "%s/events.jsonl", kd);
		if (stat(ev, &st) || !S_ISREG(st.st_mode))
			continue;
		int ended = conform_load(kd, rows);
		if (ended < 0)
			continue;
		kernels++;
		kernel_objects(x, e->d_name, NULL, 0);
		for (int i = 0; i < CONFORM_NCASES; i++) {
			const char *r = rows[i].result, *status;
			/* An expected failure is still the kernel not doing what
			 * its documentation says: FAIL, marked in misc. */
			status = !strcmp(r, "passed") ? "PASS" : !strcmp(r, "failed") ? "FAIL" :
				 !strcmp(r, "skipped") ? "SKIP" : !strcmp(r, "expected_failure") ? "FAIL" :
				 "ERROR";
			json_t *t = json_object(), *misc = json_object();
			json_object_set_new(t, "id", json_sprintf("%s:conform/%s/%s", x->origin, e->d_name,
								  conform_case_names[i]));
			json_object_set_new(t, "origin", json_string(x->origin));
			json_object_set_new(t, "build_id", json_string(build_of(x, e->d_name)));
			json_object_set_new(t, "path", json_sprintf("pnbench.conform.%s", conform_case_names[i]));
			json_object_set_new(t, "status", json_string(status));
			json_object_set_new(misc, "kernel", json_string(e->d_name));
			json_object_set_new(misc, "result", json_string(r[0] ? r : "none"));
			json_object_set_new(misc, "reason", json_string(r[0] ? rows[i].reason :
				"no result line: the guest stopped before this case"));
			if (!strcmp(r, "expected_failure"))
				json_object_set_new(misc, "expected_failure", json_true());
			json_object_set_new(t, "misc", misc);
			json_array_append_new(x->tests, t);
		}
	}
	closedir(d);
	free(rows);
	if (!kernels) {
		snprintf(err, errlen, "--conform %s: no kernel directory with events.jsonl (made by "
			 "pnbench conform --out %s?)", dir, dir);
		return -1;
	}
	return 0;
}

struct cmpx {
	struct kx *x;
	const char *base_path, *kernel;
	const struct cmp_opts *o;
};

static void put_num(json_t *o, const char *k, double v)
{
	if (isfinite(v))
		json_object_set_new(o, k, json_real(v));
	else if (isinf(v))
		json_object_set_new(o, k, json_string(v > 0 ? "inf" : "-inf"));
}

/* One judged row of compare: PASS, or FAIL for a regression. */
static void on_cmp_row(void *arg, const struct cmp_row *row)
{
	struct cmpx *cx = arg;
	struct kx *x = cx->x;
	char part[3 * (AN_PROBE_LEN + AN_LEVEL_LEN)], spart[3 * AN_NAME_LEN];

	if (!row->judged || !row->test)
		return;
	kx_path_part(part, sizeof part, row->row ? row->row : "run");
	kx_path_part(spart, sizeof spart, row->scenario);
	json_t *t = json_object(), *misc = json_object();
	json_object_set_new(t, "id", json_sprintf("%s:compare/%s/%s/%s/%s", x->origin, cx->kernel,
						  row->scenario, row->row ? row->row : "run", row->metric));
	json_object_set_new(t, "origin", json_string(x->origin));
	json_object_set_new(t, "build_id", json_string(build_of(x, cx->kernel)));
	json_object_set_new(t, "path", json_sprintf("pnbench.compare.%s.%s.%s", spart, part, row->metric));
	json_object_set_new(t, "status", json_string(row->regression ? "FAIL" : "PASS"));
	json_object_set_new(misc, "test", json_string(row->test));
	put_num(misc, "p", row->p);
	if (!strcmp(row->test, "mann-whitney-u")) {
		put_num(misc, "u", row->u);
		json_object_set_new(misc, "exact", json_boolean(row->exact));
		put_num(misc, "base_median", row->base);
		put_num(misc, "new_median", row->new);
		put_num(misc, "change_pct", row->change_pct);
		json_object_set_new(misc, "base_values", json_integer(row->base_n));
		json_object_set_new(misc, "new_values", json_integer(row->new_n));
	} else {
		json_object_set_new(misc, "base", json_sprintf("%.0f/%d", row->base, row->base_n));
		json_object_set_new(misc, "new", json_sprintf("%.0f/%d", row->new, row->new_n));
		put_num(misc, "change_pp", row->change_pct);
	}
	json_object_set_new(misc, "significant", json_boolean(row->significant));
	json_object_set_new(misc, "alpha", json_real(cx->o->alpha));
	json_object_set_new(misc, "threshold_pct", json_real(cx->o->threshold_pct));
	json_object_set_new(misc, "base_set", json_string(cx->base_path));
	json_object_set_new(misc, "scenario", json_string(row->scenario));
	if (row->row)
		json_object_set_new(misc, "row", json_string(row->row));
	json_object_set_new(t, "misc", misc);
	json_array_append_new(x->tests, t);
}

static int compare_tests(struct kx *x, const char *base_path, char *err, size_t errlen)
{
	struct an_set base;
	struct cmp_opts o;
	const char *names[2];

	if (an_set_kernels(x->set, names, 2) != 1) {
		snprintf(err, errlen, "--against: %s holds %s kernel; compare needs one",
			 x->set->path, x->set->ncells ? "more than one" : "no");
		return -2;
	}
	if (an_set_load(base_path, &base, err, errlen))
		return -1;
	struct cmpx cx = { x, base_path, names[0], &o };
	cmp_opts_default(&o);
	o.on_row = on_cmp_row;
	o.on_row_arg = &cx;
	FILE *sink = fopen("/dev/null", "we");
	int r = sink ? pnb_compare(&base, x->set, &o, sink, err, errlen) : -1;
	if (sink)
		fclose(sink);
	an_set_free(&base);
	if (r < 0)
		return -2;
	json_t *t = json_object(), *misc = json_object();
	json_object_set_new(t, "id", json_sprintf("%s:compare/%s", x->origin, names[0]));
	json_object_set_new(t, "origin", json_string(x->origin));
	json_object_set_new(t, "build_id", json_string(build_of(x, names[0])));
	json_object_set_new(t, "path", json_string("pnbench.compare"));
	json_object_set_new(t, "status", json_string(r ? "FAIL" : "PASS"));
	json_object_set_new(misc, "base_set", json_string(base_path));
	json_object_set_new(misc, "verdict", json_string(r ? "regression" : "no regression"));
	json_object_set_new(t, "misc", misc);
	json_array_append_new(x->tests, t);
	return 0;
}

/* Origin and URL checked; ids are ORIGIN:anything, so a bare id gets the
 * origin in front (into idc/idb).  -1 after a one-line error. */
static int kx_check_ids(struct kx *x, char *idc, size_t lc, char *idb, size_t lb)
{
	if (!x->origin || !*x->origin || strspn(x->origin, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
	    strlen(x->origin)) {
		pnb_err("export kcidb: --origin '%s': KCIDB wants [a-z0-9_]+", x->origin ? x->origin : "");
		return -1;
	}
	if (x->url_base && (strncmp(x->url_base, "https://", 8) && strncmp(x->url_base, "http://", 7))) {
		pnb_err("export kcidb: --artifact-url-base '%s': want an http(s):// URL", x->url_base);
		return -1;
	}
	/* Ids are ORIGIN:anything; a bare id gets the origin in front. */
	if (x->checkout_id) {
		if (strncmp(x->checkout_id, x->origin, strlen(x->origin)) || x->checkout_id[strlen(x->origin)] != ':')
			snprintf(idc, lc, "%s:%s", x->origin, x->checkout_id), x->checkout_id = idc;
	}
	if (x->build_id) {
		if (strncmp(x->build_id, x->origin, strlen(x->origin)) || x->build_id[strlen(x->origin)] != ':')
			snprintf(idb, lb, "%s:%s", x->origin, x->build_id), x->build_id = idb;
	}
	return 0;
}

/* A checkout and build per kernel, then each cell's run and metric tests. */
static void kx_cells(struct kx *x)
{
	const struct an_set *set = x->set;

	for (int i = 0; i < set->ncells; i++) {
		const struct an_cell *cl = &set->cells[i];
		long long first = 0;
		json_t *meta = NULL;
		for (int r = 0; r < cl->nruns; r++) {
			long long s = run_start(x, cl->runs[r]);
			if (s && (!first || s < first))
				first = s;
			if (!meta)
				meta = meta_of(x, cl->runs[r]);
		}
		kernel_objects(x, cl->kernel, meta, first);
	}
	for (int i = 0; i < set->ncells; i++) {
		const struct an_cell *cl = &set->cells[i];
		struct an_key *keys = NULL;
		int nk = an_cell_keys(cl, &keys);
		for (int r = 0; r < cl->nruns; r++)
			run_test(x, cl->runs[r]);
		for (int m = AN_NGROUP_METRICS; m < AN_NMETRICS; m++)
			metric_test(x, cl, NULL, m);
		for (int k = 0; k < nk; k++)
			for (int m = 0; m < AN_NGROUP_METRICS; m++)
				if (m != AN_M_LEAD_RANKED)
					metric_test(x, cl, &keys[k], m);
		free(keys);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: pnbench export kcidb --origin ORIGIN [--checkout-id ID] [--build-id ID]\n"
"                            [--artifact-url-base URL] [--conform DIR]\n"
"                            [--against BASE] SET\n"
"  Writes SET as KCIDB v5.3 JSON on standard output: a checkout and a build per\n"
"  kernel, a DONE test with a number per (cell, probe row, metric), a test per\n"
"  run (MISS when the guest never ran), PASS/FAIL/SKIP/ERROR per conformance\n"
"  case of DIR (pnbench conform --out DIR), PASS/FAIL per judged row of\n"
"  pnbench compare BASE SET.  ORIGIN: [a-z0-9_]+.  URL: where SET is\n"
"  published as on disk (log_url, output_files).\n");
}

int export_kcidb(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "origin", required_argument, NULL, 'o' }, { "checkout-id", required_argument, NULL, 'c' },
		{ "build-id", required_argument, NULL, 'b' }, { "artifact-url-base", required_argument, NULL, 'u' },
		{ "conform", required_argument, NULL, 'C' }, { "against", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' }, { 0 } };
	struct kx x = { 0 };
	const char *conform = NULL, *against = NULL;
	char err[2048], idc[512], idb[512];
	int c, rc = PNB_EXIT_FAIL;
	struct an_set set;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': x.origin = optarg; break;
		case 'c': x.checkout_id = optarg; break;
		case 'b': x.build_id = optarg; break;
		case 'u': x.url_base = optarg; break;
		case 'C': conform = optarg; break;
		case 'a': against = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return PNB_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		pnb_err("export kcidb: need one SET (see 'pnbench export kcidb --help')");
		return PNB_EXIT_USAGE;
	}
	if (kx_check_ids(&x, idc, sizeof idc, idb, sizeof idb))
		return PNB_EXIT_USAGE;
	if (an_set_load(argv[optind], &set, err, sizeof err)) {
		pnb_err("export kcidb: %s: %s", argv[optind], err);
		return PNB_EXIT_FAIL;
	}
	if (!set.nruns && !conform) {
		pnb_err("export kcidb: %s: no run directory in it", argv[optind]);
		goto out;
	}
	const char *kn[64];
	int nkern = an_set_kernels(&set, kn, 64);
	if (x.build_id && nkern > 1) {
		pnb_err("export kcidb: --build-id: %s holds %d kernels, and a build is one kernel",
			argv[optind], nkern);
		rc = PNB_EXIT_USAGE;
		goto out;
	}
	x.set = &set;
	x.checkouts = json_array();
	x.builds = json_array();
	x.tests = json_array();
	x.build_of = json_object();
	x.meta = calloc((size_t)set.nruns + 1, sizeof *x.meta);
	for (int i = 0; x.meta && i < set.nruns; i++) {
		char p[PATH_MAX + 16];
		snprintf(p, sizeof p, "%s/meta.json", set.runs[i].dir);
		x.meta[i] = json_load_file(p, 0, NULL);
	}
	kx_cells(&x);
	if (conform && conform_tests(&x, conform, err, sizeof err)) {
		pnb_err("export kcidb: %s", err);
		rc = PNB_EXIT_USAGE;
		goto out;
	}
	if (against) {
		int r = compare_tests(&x, against, err, sizeof err);
		if (r) {
			pnb_err("export kcidb: --against %s: %s", against, err);
			rc = r == -2 ? PNB_EXIT_USAGE : PNB_EXIT_FAIL;
			goto out;
		}
	}
	json_t *doc = json_object();
	json_object_set_new(doc, "version", json_pack("{s:i, s:i}", "major", 5, "minor", 3));
	json_object_set(doc, "checkouts", x.checkouts);
	json_object_set(doc, "builds", x.builds);
	json_object_set(doc, "tests", x.tests);
	strip_nulls(doc);
	if (json_dumpf(doc, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER) || fputc('\n', stdout) == EOF ||
	    fflush(stdout)) {
		pnb_err("export kcidb: cannot write standard output: %s", strerror(errno));
	} else {
		rc = 0;
	}
	json_decref(doc);
out:
	for (int i = 0; x.meta && i < set.nruns; i++)
		json_decref(x.meta[i]);
	free(x.meta);
	json_decref(x.checkouts);
	json_decref(x.builds);
	json_decref(x.tests);
	json_decref(x.build_of);
	an_set_free(&set);
	return rc;
}
