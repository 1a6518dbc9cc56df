/* meta.json of a cell: what ran (kernel, scenario text, overrides, harness
 * revision and command), on what (topology, guest shape) and how it ended. */
#include "cli.h"
#include "fsutil.h"
#include "log.h"
#include "patches.h"
#include "procfs.h"
#include "run.h"
#include "runner.h"

#include <hwloc.h>
#include <unistd.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

json_t *run_overrides_json(const struct run_plan *p)
{
	json_t *a = json_array();
	for (int i = 0; i < p->noverrides; i++)
		json_array_append_new(a, json_string(p->overrides[i]));
	return a;
}

static json_t *topology(void)
{
	hwloc_topology_t t;
	json_t *o = json_object();

	if (hwloc_topology_init(&t) || hwloc_topology_load(t)) {
		json_object_set_new(o, "error", json_string("hwloc could not load the topology"));
		return o;
	}
	json_object_set_new(o, "packages", json_integer(hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE)));
	json_object_set_new(o, "numa_nodes", json_integer(hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE)));
	json_object_set_new(o, "cores", json_integer(hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE)));
	json_object_set_new(o, "pus", json_integer(hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU)));
	hwloc_obj_t root = hwloc_get_root_obj(t);
	const char *model = hwloc_obj_get_info_by_name(root, "CPUModel");
	if (!model) {
		hwloc_obj_t pkg = hwloc_get_obj_by_type(t, HWLOC_OBJ_PACKAGE, 0);
		model = pkg ? hwloc_obj_get_info_by_name(pkg, "CPUModel") : NULL;
	}
	json_object_set_new(o, "cpu_model", json_string(model ? model : "unknown"));
	json_object_set_new(o, "hwloc_version", json_string(HWLOC_VERSION));
	hwloc_topology_destroy(t);
	return o;
}

/* The first line of file starting with key, the rest of it into out
 * (without quotes and newline): 0, or -1 when there is none. */
static int line_value(const char *file, const char *key, char *out, size_t len)
{
	FILE *f = fopen(file, "re");
	char line[1024];
	int rc = -1;

	if (!f)
		return -1;
	while (rc && fgets(line, sizeof line, f))
		if (!strncmp(line, key, strlen(key))) {
			char *v = line + strlen(key);
			v[strcspn(v, "\n")] = 0;
			if (*v == '"' && v[1] && v[strlen(v) - 1] == '"')
				v++, v[strlen(v) - 1] = 0;
			snprintf(out, len, "%s", v);
			rc = 0;
		}
	fclose(f);
	return rc;
}

/* What KCIDB's checkout and build want and only the kernel's files know:
 * the compiler (the config's CONFIG_CC_VERSION_TEXT) and, for a Debian
 * kernel, the package it was unpacked from (kernels.c records it beside
 * boot/ as source=). */
static void kernel_origin(const struct kernel_image *k, json_t *o)
{
	char v[512], info[PNB_PATH + 64];

	if (k->config[0] && !line_value(k->config, "CONFIG_CC_VERSION_TEXT=", v, sizeof v))
		json_object_set_new(o, "compiler", json_string(v));
	if (strcmp(k->kind, "debian"))
		return;
	snprintf(info, sizeof info, "%s", k->bzimage);
	char *boot = strstr(info, "/boot/");
	if (boot) {
		snprintf(boot, sizeof info - (size_t)(boot - info), "/pnbench-kernel.info");
		if (!line_value(info, "source=", v, sizeof v))
			json_object_set_new(o, "package", json_string(v));
	}
}

static json_t *kernel_json(const struct kernel_image *k)
{
	json_t *o = json_object();
	char buf[4096];
	struct utsname u;

	json_object_set_new(o, "name", json_string(k->name));
	json_object_set_new(o, "spec", json_string(k->spec));
	json_object_set_new(o, "kind", json_string(k->kind));
	if (!strcmp(k->kind, "native")) {
		if (uname(&u) == 0) {
			json_object_set_new(o, "release", json_string(u.release));
			json_object_set_new(o, "version", json_string(u.version));
		}
		if (pnb_read_file("", "/proc/cmdline", buf, sizeof buf) > 0) {
			buf[strcspn(buf, "\n")] = 0;
			json_object_set_new(o, "cmdline", json_string(buf));
		}
		return o;
	}
	json_object_set_new(o, "release", json_string(k->release));
	json_object_set_new(o, "bzimage", json_string(k->bzimage));
	json_object_set_new(o, "config_digest", json_string(k->config_digest));
	char *cfg = kernel_config_summary(k);
	json_t *c = cfg ? json_loads(cfg, 0, NULL) : NULL;
	json_object_set_new(o, "config", c ? c : json_null());
	free(cfg);
	kernel_origin(k, o);
	/* A tree built with a patch series: which patches, by subject. */
	json_t *series = kernel_series_json(k);
	if (series)
		json_object_set_new(o, "series", series);
	return o;
}


/* The host's load when the cell ended (/proc/loadavg): under TCG a guest's
 * timings stretch with it, so a figure travels with the load it was made
 * under (compare says when two sides differ).  NULL when unreadable. */
static json_t *host_load(void)
{
	double l1, l5;
	FILE *f = fopen("/proc/loadavg", "re");
	int ok = f && fscanf(f, "%lf %lf", &l1, &l5) == 2;

	if (f)
		fclose(f);
	if (!ok)
		return NULL;
	return json_pack("{s:f, s:f, s:I}", "loadavg_1m", l1, "loadavg_5m", l5, "cpus_online",
			 (json_int_t)sysconf(_SC_NPROCESSORS_ONLN));
}

void run_write_meta(const struct run_plan *p, const char *dir, const struct kernel_image *k,
		    const struct scenario *s, unsigned rep, const struct run_result *res,
		    time_t started)
{
	char path[1400];
	json_t *m = json_object(), *sc = json_object(), *h = json_object();
	json_t *r = json_object(), *a = json_array(), *g = json_object();

	json_object_set_new(m, "schema", json_string("pnbench-meta/1"));
	json_object_set_new(m, "kernel", kernel_json(k));
	json_object_set_new(sc, "name", json_string(s->name));
	json_object_set_new(sc, "path", json_string(s->path));
	json_object_set_new(sc, "text", json_string(s->text));
	if (p->noverrides)
		json_object_set_new(sc, "machine_overrides", run_overrides_json(p));
	json_object_set_new(m, "scenario", sc);
	json_object_set_new(m, "rep", json_integer(rep));
	/* The cell's name is its place in a set: pnbench merge puts a
	 * directory copied from anywhere back where it belongs. */
	json_object_set_new(m, "cell", json_sprintf("%s/%s/%u%s", k->name, s->name, rep,
						    !strcmp(res->hierarchy, "v2") ? "-v2" : ""));
	json_object_set_new(h, "git_rev", json_string(pnb_git_rev()));
	for (int i = 0; i < p->argc; i++)
		json_array_append_new(a, json_string(p->argv[i]));
	json_object_set_new(h, "command", a);
	json_object_set_new(m, "harness", h);
	json_object_set_new(m, "topology", topology());
	json_t *load = host_load();
	if (load)
		json_object_set_new(m, "host_load", load);
	if (strcmp(k->kind, "native")) {
		json_object_set_new(g, "qemu", json_string(guest_qemu_version()));
		json_object_set_new(g, "accel", json_string(res->accel));
		json_object_set_new(g, "accel_reason", json_string(res->accel_why));
		json_object_set_new(g, "tcg_thread", strncmp(res->accel, "tcg", 3) ? json_null() :
				    json_string(strstr(res->accel, "thread=single") ? "single" :
						strstr(res->accel, "thread=multi") ? "multi" : "default"));
		json_object_set_new(g, "boot_retries", json_integer(res->boot_retries));
		json_object_set_new(g, "start", json_string(res->start));
		if (res->clock_ratio > 0)
			json_object_set_new(g, "clock_ratio", json_real(res->clock_ratio));
		json_object_set_new(g, "start_reason", json_string(res->start_why));
		if (res->snapshot_key[0])
			json_object_set_new(g, "snapshot", json_string(res->snapshot_key));
		if (res->boot_retries)
			json_object_set_new(g, "retry_reason", json_string(res->retry_reason));
		json_object_set_new(g, "memory_bytes", json_integer((json_int_t)s->memory));
		json_object_set_new(g, "cpus", json_integer(s->cpus));
		json_object_set_new(m, "guest", g);
	} else {
		json_decref(g);
	}
	/* The hierarchy this boot had, and every machine knob: what the
	 * scenario asked for and what the kernel held when read back. */
	if (res->hierarchy[0])
		json_object_set_new(m, "hierarchy", json_string(res->hierarchy));
	if (res->knobs[0]) {
		json_t *kn = json_object();
		char buf[sizeof res->knobs];
		snprintf(buf, sizeof buf, "%s", res->knobs);
		for (char *sv = NULL, *l = strtok_r(buf, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv)) {
			char *t1 = strchr(l, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
			if (!t2)
				continue;
			*t1 = *t2 = 0;
			json_object_set_new(kn, l, json_pack("{s:s, s:s}", "requested", t1 + 1,
							     "effective", t2 + 1));
		}
		json_object_set_new(m, "knobs", kn);
	}
	json_object_set_new(r, "complete", json_boolean(res->complete));
	json_object_set_new(r, "status", json_string(res->status));
	json_object_set_new(r, "reason", json_string(res->reason));
	json_object_set_new(r, "wall_s", json_real(res->wall_s));
	json_object_set_new(r, "exit", json_integer(res->recorder_exit));
	if (res->boot_s >= 0)
		json_object_set_new(r, "boot_s", json_real(res->boot_s));
	if (res->poweroff_s >= 0)
		json_object_set_new(r, "poweroff_s", json_real(res->poweroff_s));
	json_object_set_new(r, "started_realtime_s", json_integer(started));
	json_object_set_new(m, "result", r);
	snprintf(path, sizeof path, "%s/meta.json", dir);
	if (json_dump_file(m, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER))
		pnb_err("cannot write %s", path);
	json_decref(m);
}
