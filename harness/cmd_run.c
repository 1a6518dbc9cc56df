/* pnbench run: every (kernel x scenario x repetition) cell, each in its own
 * result directory, written under a temporary name and renamed when done. */
#include "cli.h"
#include "clock.h"
#include "jsonl.h"
#include "log.h"
#include "parse.h"
#include "procfs.h"
#include "run.h"
#include "guest.h"
#include "scenario.h"
#include "fsutil.h"
#include "patches.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <hwloc.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ITEMS 64
/* --out's longest: a cell path adds at most 128 + 128 + 8 bytes and a file
 * name, and every buffer below holds 1200 or more. */
#define OUT_MAX 900

int pnb_scenario_check(const char *name, struct scenario *s, char *err, size_t len);

static void usage(FILE *f)
{
	fprintf(f,
"usage: pnbench run --kernel K --scenario S [options]\n"
"  -k, --kernel K     where to run (repeat): debian:VERSION-FLAVOUR,\n"
"                     path:BZIMAGE[,modules=DIR][,config=FILE], tree:DIR,\n"
"                     or native (the running kernel, workload confined in a\n"
"                     memory cgroup limited to the scenario's memory)\n"
"  -s, --scenario S   harness/scenarios/S.ini or a path (repeat)\n"
"  -r, --reps N       repetitions (default: the scenario's reps)\n"
"      --rep N        run only repetition N (one cell per kernel x scenario)\n"
"  -j, --jobs J       run J cells at a time (default 1)\n"
"  -o, --out DIR      result set directory (default results/runs/<time>)\n"
"  -f, --force        rerun cells that already have a complete result\n"
"      --list         print the cells' names, one a line, instead of running\n"
"      --json         with --list: one JSON array of {name, kernel, scenario, rep,\n"
"                     dir, command}\n"
"      --cell NAME    run only cell NAME (KERNEL/SCENARIO/REP, as --list prints;\n"
"                     repeat)\n"
"      --shard I/N    run only the cells at positions I, I+N, I+2N... (1-based)\n"
"                     of the --list order\n"
"      --fetch=no     do not download or build missing kernels\n"
"  -m, --machine K=V  override a [machine] key of every scenario (repeat), e.g.\n"
"                     lru_gen=on or swap=zram:50%%: two sets that differ only in\n"
"                     it are what 'pnbench compare' names the knob for\n");
}

/* --machine overrides, recorded in every meta.json of the set: the
 * scenario text stays the file's, so this says what else was asked. */
static const char *overrides[16];
static int noverrides;

static json_t *overrides_json(void)
{
	json_t *a = json_array();
	for (int i = 0; i < noverrides; i++)
		json_array_append_new(a, json_string(overrides[i]));
	return a;
}

/* A cell is done when its meta.json says complete. */
static int cell_complete(const char *dir)
{
	char path[1300];
	json_t *m;
	int done = 0;

	snprintf(path, sizeof path, "%s/meta.json", dir);
	m = json_load_file(path, 0, NULL);
	if (m) {
		json_t *c = json_object_get(json_object_get(m, "result"), "complete");
		done = json_is_true(c);
		json_decref(m);
	}
	return done;
}

/* Whether the cell in dir (any state) was made from another text of s:
 * rerunning the rest of the set would mix two versions under one name. */
static int cell_scenario_differs(const char *dir, const struct scenario *s, char *was, size_t len)
{
	char path[1300];
	json_t *m;
	int differs = 0;

	snprintf(path, sizeof path, "%s/meta.json", dir);
	m = json_load_file(path, 0, NULL);
	if (!m)
		return 0;
	json_t *sc = json_object_get(m, "scenario"), *ov = json_object_get(sc, "machine_overrides");
	const char *text = json_string_value(json_object_get(sc, "text"));
	json_t *now = overrides_json();
	/* Other --machine overrides make another machine: the same as
	 * another text for what a set may hold. */
	json_t *none = json_array();
	int ov_differs = !json_equal(ov ? ov : none, now);
	json_decref(now);
	json_decref(none);
	if ((text && s->text && strcmp(text, s->text)) || ov_differs) {
		differs = 1;
		const char *rev = json_string_value(json_object_get(json_object_get(m, "harness"),
								    "git_rev"));
		snprintf(was, len, "made by pnbench %s", rev ? rev : "of unknown revision");
	}
	json_decref(m);
	return differs;
}

/* One pnbench run per result set at a time: two would rename cells over
 * each other.  flock() on OUT/.lock, released when the process ends; the
 * file holds the holder's pid for the message.  Runs of named cells
 * (--cell, --shard) share it and lock each of their cells instead
 * (lock_cell): GNU parallel starts many of them on one set, and each
 * writes only its own cells' directories. */
int pnb_lock_set(const char *out, int shared, const char *who)
{
	char path[1300], holder[32] = "";
	int e, fd;

	if ((e = pnb_mkdir_all(out, 0755))) {
		pnb_err("%s: cannot create %s: %s", who, out, strerror(-e));
		return -1;
	}
	snprintf(path, sizeof path, "%s/.lock", out);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		pnb_err("%s: cannot write in %s: %s", who, out, strerror(errno));
		return -1;
	}
	if (flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
		holder[n > 0 ? n : 0] = 0;
		holder[strcspn(holder, "\n")] = 0;
		pnb_err("%s: result set %s is in use by pnbench pid %s (lock %s)", who, out,
			holder[0] ? holder : "unknown", path);
		close(fd);
		return -1;
	}
	if (shared)
		return 0;	/* the pid of an exclusive holder is what a refusal names */
	char me[32];
	int len = snprintf(me, sizeof me, "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, me, (size_t)len, 0) != len) {
		pnb_err("%s: cannot write %s: %s", who, path, strerror(errno));
		close(fd);
		return -1;
	}
	return 0;	/* fd stays open (and locked) until exit */
}

/* A named cell's own lock, OUT/KERNEL/SCENARIO/.REP.lock, held until exit:
 * two runs of one cell would rename over each other. */
static int lock_cell(const char *out, const char *name)
{
	char path[1300], dir[1300];
	const char *slash = strrchr(name, '/');
	int e, fd;

	snprintf(dir, sizeof dir, "%s/%.*s", out, (int)(slash - name), name);
	if ((e = pnb_mkdir_all(dir, 0755))) {
		pnb_err("run: cannot create %s: %s", dir, strerror(-e));
		return -1;
	}
	snprintf(path, sizeof path, "%s/.%s.lock", dir, slash + 1);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB)) {
		pnb_err("run: cell %s of %s is being run by another pnbench (lock %s)", name, out, path);
		return -1;
	}
	return 0;
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


static void write_meta(const char *dir, const struct kernel_image *k, const struct scenario *s,
		       unsigned rep, const struct run_result *res, time_t started,
		       int argc, char **argv)
{
	char path[1400];
	json_t *m = json_object(), *sc = json_object(), *h = json_object();
	json_t *r = json_object(), *a = json_array(), *g = json_object();

	json_object_set_new(m, "schema", json_string("pnbench-meta/1"));
	json_object_set_new(m, "kernel", kernel_json(k));
	json_object_set_new(sc, "name", json_string(s->name));
	json_object_set_new(sc, "path", json_string(s->path));
	json_object_set_new(sc, "text", json_string(s->text));
	if (noverrides)
		json_object_set_new(sc, "machine_overrides", overrides_json());
	json_object_set_new(m, "scenario", sc);
	json_object_set_new(m, "rep", json_integer(rep));
	/* The cell's name is its place in a set: pnbench merge puts a
	 * directory copied from anywhere back where it belongs. */
	json_object_set_new(m, "cell", json_sprintf("%s/%s/%u%s", k->name, s->name, rep,
						    !strcmp(res->hierarchy, "v2") ? "-v2" : ""));
	json_object_set_new(h, "git_rev", json_string(pnb_git_rev()));
	for (int i = 0; i < argc; i++)
		json_array_append_new(a, json_string(argv[i]));
	json_object_set_new(h, "command", a);
	json_object_set_new(m, "harness", h);
	json_object_set_new(m, "topology", topology());
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

struct cell {
	int ki, si;
	unsigned rep;
	enum scn_hier hier;	/* v1 or v2: the boot this cell is */
	pid_t pid;
	int state;		/* 0 waiting, 1 running, 2 done */
	uint64_t started_ns;
	char final[1200];
	char name[300];		/* KERNEL/SCENARIO/REP: its path in the set */
};

/* One cell, in a child process: its own directory, nothing else. */
static int run_cell(const struct kernel_image *k, const struct scenario *s, struct cell *c,
		    const char *out, const char *fault, int argc, char **argv)
{
	char tmp[1300];
	struct run_result res;
	time_t started = time(NULL);

	snprintf(tmp, sizeof tmp, "%s/%s/%s/.%u%s.partial", out, k->name, s->name, c->rep,
		 c->hier == SCN_HIER_V2 ? "-v2" : "");
	pnb_rm_rf(tmp);
	if (pnb_mkdir_all(tmp, 0755)) {
		pnb_err("run: cannot create %s: %s", tmp, strerror(errno));
		return 1;
	}
	/* The boot's own copy of the scenario, its hierarchy resolved. */
	struct scenario one = *s;
	char knobs[256];
	one.hierarchy = c->hier;
	if (!strcmp(k->kind, "native")) {
		/* memory.max/high size the cgroup2 boot's workload cgroup; a
		 * native run is confined by the scenario's memory in the host's
		 * own hierarchy, so only real machine knobs count here. */
		struct scenario host = *s;
		memset(&host.memory_max, 0, sizeof host.memory_max);
		memset(&host.memory_high, 0, sizeof host.memory_high);
		scenario_knobs_text(&host, knobs, sizeof knobs);
	} else {
		scenario_knobs_text(s, knobs, sizeof knobs);
	}
	if (!strcmp(k->kind, "native") && knobs[0]) {
		/* Natively the host's swap and MGLRU are what they are: never a
		 * silent default under the scenario's name. */
		memset(&res, 0, sizeof res);
		res.boot_s = res.poweroff_s = -1;
		snprintf(res.status, sizeof res.status, "unsupported");
		snprintf(res.reason, sizeof res.reason, "unsupported: native runs keep the host's "
			 "machine; the scenario sets %s", knobs);
	} else if (!strcmp(k->kind, "native")) {
		native_run(s, c->rep, tmp, &res);
	} else {
		guest_run(k, &one, c->rep, tmp, fault, &res);
	}
	write_meta(tmp, k, s, c->rep, &res, started, argc, argv);
	pnb_rm_rf(c->final);
	if (rename(tmp, c->final)) {
		pnb_err("run: cannot rename %s to %s: %s", tmp, c->final, strerror(errno));
		return 1;
	}
	return res.complete ? 0 : 1;
}

static void report_cell(const struct cell *c, const struct kernel_image *k,
			const struct scenario *s, int idx, int total, int wstatus)
{
	char path[1400], line[1024];
	struct events_summary sum;
	json_t *m;
	const char *status = "broken", *reason = "no meta.json";
	/* No meta.json: say how the cell's worker ended, or nobody can tell
	 * a crash from a kill from outside. */
	char how[160];
	if (WIFSIGNALED(wstatus))
		snprintf(how, sizeof how, "no meta.json: the cell's worker was killed by signal %d (%s)",
			 WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)));
	else
		snprintf(how, sizeof how, "no meta.json: the cell's worker exited %d before writing it",
			 WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
	reason = how;
	double wall = 0, boot = -1, poweroff = -1;
	char cost[96] = "";

	snprintf(path, sizeof path, "%s/meta.json", c->final);
	m = json_load_file(path, 0, NULL);
	if (m)
		json_unpack(json_object_get(m, "result"), "{s?s, s?s, s?F, s?F, s?F}", "status",
			    &status, "reason", &reason, "wall_s", &wall, "boot_s", &boot,
			    "poweroff_s", &poweroff);
	if (boot >= 0 && poweroff >= 0)
		snprintf(cost, sizeof cost, " (boot to workload %.2fs, end to poweroff %.2fs)",
			 boot, poweroff);
	snprintf(path, sizeof path, "%s/events.jsonl", c->final);
	events_summarize(path, &sum);
	events_summary_line(&sum, line, sizeof line);
	printf("[%d/%d] %s %s rep %u%s: %s in %.1fs%s%s%s\n        %s\n", idx, total, k->name,
	       s->name, c->rep, c->hier == SCN_HIER_V2 ? " (cgroup2)" : "", status, wall, cost,
	       strcmp(status, "ok") ? ": " : "",
	       strcmp(status, "ok") ? reason : "", line);
	json_decref(m);
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, 0, 'k' }, { "scenario", required_argument, 0, 's' },
		{ "reps", required_argument, 0, 'r' }, { "rep", required_argument, 0, 'R' },
		{ "jobs", required_argument, 0, 'j' }, { "out", required_argument, 0, 'o' },
		{ "force", no_argument, 0, 'f' }, { "list", no_argument, 0, 'l' },
		{ "fetch", required_argument, 0, 'F' }, { "fault", required_argument, 0, 'X' },
		{ "machine", required_argument, 0, 'm' },
		{ "cell", required_argument, 0, 'C' }, { "shard", required_argument, 0, 'S' },
		{ "json", no_argument, 0, 'J' },
		{ "help", no_argument, 0, 'h' }, { 0 }
	};
	const char *kernels[MAX_ITEMS], *names[MAX_ITEMS], *fault = NULL;
	static struct scenario scn[MAX_ITEMS];
	static struct kernel_image kimg[MAX_ITEMS];
	int nk = 0, ns = 0, force = 0, list = 0, fetch = 1, c, json = 0;
	/* Named cells (--cell) and the shard (--shard I/N, 0/0 when none). */
	const char **want = NULL;
	int nwant = 0;
	uint64_t shard_i = 0, shard_n = 0;
	uint64_t reps = 0, only_rep = 0, jobs = 1;
	char out[1024] = "", err[1024];

	while ((c = getopt_long(argc, argv, "k:s:r:j:o:fm:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (nk >= MAX_ITEMS)
				pnb_die(2, "run: more than %d kernels", MAX_ITEMS);
			kernels[nk++] = optarg;
			break;
		case 's':
			if (ns >= MAX_ITEMS)
				pnb_die(2, "run: more than %d scenarios", MAX_ITEMS);
			names[ns++] = optarg;
			break;
		case 'r':
			if (pnb_parse_u64(optarg, &reps) || reps < 1 || reps > 1000)
				pnb_die(2, "run: --reps '%s': need a number 1..1000", optarg);
			break;
		case 'R':
			if (pnb_parse_u64(optarg, &only_rep) || only_rep < 1 || only_rep > 1000)
				pnb_die(2, "run: --rep '%s': need a number 1..1000", optarg);
			break;
		case 'j':
			if (pnb_parse_u64(optarg, &jobs) || jobs < 1 || jobs > 64)
				pnb_die(2, "run: --jobs '%s': need a number 1..64", optarg);
			break;
		case 'o':
			/* Every path of the set is built under it: room for
			 * <kernel>/<scenario>/<rep>/<file> must stay. */
			if (strlen(optarg) > OUT_MAX)
				pnb_die(2, "run: --out: %zu bytes is longer than the %d a result set "
					"path may have", strlen(optarg), OUT_MAX);
			if (!*optarg)
				pnb_die(2, "run: --out: empty path");
			snprintf(out, sizeof out, "%s", optarg);
			break;
		case 'f': force = 1; break;
		case 'l': list = 1; break;
		case 'F':
			if (!strcmp(optarg, "no")) fetch = 0;
			else if (!strcmp(optarg, "yes")) fetch = 1;
			else pnb_die(2, "run: --fetch '%s': yes or no", optarg);
			break;
		case 'X': fault = optarg; break;
		case 'm':
			if (noverrides >= (int)(sizeof overrides / sizeof overrides[0]))
				pnb_die(2, "run: more than %zu --machine overrides",
					sizeof overrides / sizeof overrides[0]);
			overrides[noverrides++] = optarg;
			break;
		case 'C':
			if (!(want = realloc(want, (size_t)(nwant + 1) * sizeof *want)))
				pnb_die(1, "run: no memory for --cell %s", optarg);
			want[nwant++] = optarg;
			break;
		case 'S': {
			/* I/N, 1-based like GitLab's CI_NODE_INDEX/CI_NODE_TOTAL. */
			char a[32], *slash = strchr(optarg, '/');
			if (!slash || (size_t)(slash - optarg) >= sizeof a)
				pnb_die(2, "run: --shard '%s': want I/N, e.g. 2/4", optarg);
			snprintf(a, sizeof a, "%.*s", (int)(slash - optarg), optarg);
			if (pnb_parse_u64(a, &shard_i) || pnb_parse_u64(slash + 1, &shard_n) ||
			    shard_n < 1 || shard_n > 100000 || shard_i < 1 || shard_i > shard_n)
				pnb_die(2, "run: --shard '%s': want I/N with 1 <= I <= N", optarg);
			break;
		}
		case 'J': json = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return PNB_EXIT_USAGE;
		}
	}
	if (optind < argc)
		pnb_die(2, "run: unexpected argument '%s'", argv[optind]);
	if (!nk || !ns)
		pnb_die(2, "run: need --kernel and --scenario (see 'pnbench run --help')");
	if (json && !list)
		pnb_die(2, "run: --json goes with --list");
	if (only_rep && (nwant || shard_n))
		pnb_die(2, "run: --rep and --cell/--shard both pick cells: use one");
	for (int i = 0; i < ns; i++) {
		if (pnb_scenario_check(names[i], &scn[i], err, sizeof err))
			pnb_die(2, "run: %s", err);
		for (int o = 0; o < noverrides; o++)
			if (scenario_set_machine(&scn[i], overrides[o], err, sizeof err))
				pnb_die(2, "run: scenario %s: %s", scn[i].name, err);
	}
	for (int i = 0; i < nk; i++) {
		if (!strcmp(kernels[i], "native")) {
			snprintf(kimg[i].spec, sizeof kimg[i].spec, "native");
			snprintf(kimg[i].kind, sizeof kimg[i].kind, "native");
			snprintf(kimg[i].name, sizeof kimg[i].name, "native");
			for (int k = 0; k < ns; k++)
				if (native_limit_check(scn[k].memory, "", err, sizeof err))
					pnb_die(2, "run: native: scenario %s: %s", scn[k].name, err);
			if (!list && native_check(err, sizeof err))
				pnb_die(1, "run: native: %s", err);
			continue;
		}
		int r = kernel_resolve(kernels[i], fetch && !list, &kimg[i], err, sizeof err);
		/* A cell's name carries the kernel's resolved name (debian:cloud is
		 * whichever ABI is newest here), so --list cannot name the cells
		 * of a kernel it has not got; it downloads nothing itself. */
		if (r == -1 && list)
			pnb_die(1, "run --list: %s (cell names carry the kernel's resolved name)", err);
		if (r)
			pnb_die(r == -2 ? 2 : 1, "run: %s", err);
	}
	if (!out[0]) {
		char ts[32];
		time_t now = time(NULL);
		strftime(ts, sizeof ts, "%Y%m%d-%H%M%S", gmtime(&now));
		snprintf(out, sizeof out, "%s/results/runs/%s", pnb_topdir(), ts);
	}

	int total = 0;
	for (int si = 0; si < ns; si++) {
		unsigned nrep = reps ? (unsigned)reps : scn[si].reps;
		if (only_rep > nrep)
			pnb_die(2, "run: --rep %llu: scenario %s has %u repetitions%s",
				(unsigned long long)only_rep, scn[si].name, nrep,
				reps ? " (--reps)" : " (its reps key)");
		total += nk * (only_rep ? 1 : (int)nrep) * (scn[si].hierarchy == SCN_HIER_BOTH ? 2 : 1);
	}
	struct cell *cells = calloc((size_t)total, sizeof *cells);
	if (!cells)
		pnb_die(1, "run: no memory for %d cells", total);
	int n = 0;
	for (int ki = 0; ki < nk; ki++)
		for (int si = 0; si < ns; si++) {
			unsigned nrep = reps ? (unsigned)reps : scn[si].reps;
			for (unsigned rep = 1; rep <= nrep; rep++) {
				if (only_rep && rep != only_rep)
					continue;
				/* A repetition of a "both" scenario is two boots; the
				 * cgroup2 one's directory says so ("<rep>-v2"). */
				for (int h = 0; h < 2; h++) {
					enum scn_hier sh = scn[si].hierarchy;
					enum scn_hier hh = h ? SCN_HIER_V2 : SCN_HIER_V1;
					/* Natively the host's hierarchy is the only one. */
					if (!strcmp(kimg[ki].kind, "native") ? h :
					    sh != SCN_HIER_BOTH && sh != hh)
						continue;
					cells[n] = (struct cell){ .ki = ki, .si = si, .rep = rep, .hier = hh };
					snprintf(cells[n].final, sizeof cells[n].final, "%s/%s/%s/%u%s", out,
						 kimg[ki].name, scn[si].name, rep, h ? "-v2" : "");
					snprintf(cells[n].name, sizeof cells[n].name, "%s/%s/%u%s",
						 kimg[ki].name, scn[si].name, rep, h ? "-v2" : "");
					n++;
				}
			}
		}
	/* Pick the named cells and the shard, keeping the matrix order: the
	 * order --list prints is the order the full matrix runs in. */
	if (nwant || shard_n) {
		for (int w = 0; w < nwant; w++) {
			int found = 0;
			for (int i = 0; i < n && !found; i++)
				found = !strcmp(cells[i].name, want[w]);
			if (!found)
				pnb_die(2, "run: --cell %s: no such cell in this matrix of %d (pnbench run "
					"with the same --kernel/--scenario/--reps and --list names them)",
					want[w], n);
		}
		int kept = 0;
		for (int i = 0; i < n; i++) {
			int take = !nwant;
			for (int w = 0; w < nwant && !take; w++)
				take = !strcmp(cells[i].name, want[w]);
			if (take && shard_n)
				take = (uint64_t)i % shard_n == shard_i - 1;
			if (take)
				cells[kept++] = cells[i];
		}
		n = kept;
	}
	if (list) {
		json_t *arr = json ? json_array() : NULL;
		for (int i = 0; i < n; i++) {
			if (!json) {
				printf("%s\n", cells[i].name);
				continue;
			}
			/* The command runs this cell alone into --out, the same set. */
			json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s}",
				"name", cells[i].name, "kernel", kernels[cells[i].ki],
				"kernel_name", kimg[cells[i].ki].name,
				"scenario", scn[cells[i].si].name, "scenario_path", scn[cells[i].si].path,
				"rep", (int)cells[i].rep, "dir", cells[i].final,
				"command", "");
			char mach[600] = "";
			for (int q = 0; q < noverrides; q++)
				snprintf(mach + strlen(mach), sizeof mach - strlen(mach), " --machine '%s'",
					 overrides[q]);
			json_object_set_new(o, "command", json_sprintf(
				"%s/pnbench run --kernel %s --scenario %s --reps %u --cell %s --out %s%s",
				pnb_bindir(), kernels[cells[i].ki], scn[cells[i].si].path,
				reps ? (unsigned)reps : scn[cells[i].si].reps, cells[i].name, out, mach));
			json_array_append_new(arr, o);
		}
		if (json) {
			char *txt = json_dumps(arr, JSON_COMPACT);
			printf("%s\n", txt ? txt : "[]");
			free(txt);
			json_decref(arr);
		}
		return 0;
	}

	if (pnb_lock_set(out, nwant || shard_n, "run"))
		return PNB_EXIT_FAIL;
	for (int i = 0; i < n && (nwant || shard_n); i++)
		if (lock_cell(out, cells[i].name))
			return PNB_EXIT_FAIL;
	for (int i = 0; i < n && !force; i++) {
		char was[64];
		if (cell_scenario_differs(cells[i].final, &scn[cells[i].si], was, sizeof was))
			pnb_die(2, "run: %s was run from another text of scenario %s (%s): a set "
				"holds one version; use a new --out, or --force to rerun every cell",
				cells[i].final, scn[cells[i].si].name, was);
	}
	pid_t parent = getpid();
	int failed = 0, skipped = 0, finished = 0, running = 0, next = 0, tty = isatty(1);
	uint64_t t0 = pnb_mono_ns(), busy_ns = 0;
	fflush(stdout);
	while (finished < n) {
		while (running < (int)jobs && next < n) {
			struct cell *cl = &cells[next++];
			if (!force && cell_complete(cl->final)) {
				cl->state = 2;
				finished++;
				skipped++;
				printf("[%d/%d] %s %s rep %u: complete already, skipped\n", finished, n,
				       kimg[cl->ki].name, scn[cl->si].name, cl->rep);
				continue;
			}
			fflush(stdout);
			pid_t pid = fork();
			if (pid < 0)
				pnb_die(1, "run: fork: %s", strerror(errno));
			if (pid == 0) {
				/* Dies with pnbench, however pnbench dies (SIGTERM, SIGHUP,
				 * SIGKILL): its QEMU or recorder follow the same way. */
				if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
					_exit(1);
				/* A peer that went away (QEMU's sockets) is an error
				 * to report in meta.json, not a silent death. */
				signal(SIGPIPE, SIG_IGN);
				_exit(run_cell(&kimg[cl->ki], &scn[cl->si], cl, out, fault, argc, argv));
			}
			cl->pid = pid;
			cl->state = 1;
			cl->started_ns = pnb_mono_ns();
			running++;
			if (!tty)
				printf("        start %s %s rep %u\n", kimg[cl->ki].name, scn[cl->si].name,
				       cl->rep);
		}
		if (!running)
			continue;
		int st;
		pid_t w = waitpid(-1, &st, WNOHANG);
		if (w <= 0) {
			if (tty) {
				double el = (pnb_mono_ns() - t0) / 1e9;
				int ran = finished - skipped;
				double eta = ran ? busy_ns / 1e9 / ran * (n - finished) / (double)jobs : 0;
				printf("\r\033[K[%d/%d] %d running, elapsed %.0fs%s", finished, n, running,
				       el, ran ? "" : ", ETA after the first cell");
				if (ran)
					printf(", ETA %.0fs", eta);
				fflush(stdout);
			}
			usleep(250000);
			continue;
		}
		for (int i = 0; i < n; i++) {
			struct cell *cl = &cells[i];
			if (cl->state != 1 || cl->pid != w)
				continue;
			cl->state = 2;
			running--;
			finished++;
			busy_ns += pnb_mono_ns() - cl->started_ns;
			if (!WIFEXITED(st) || WEXITSTATUS(st))
				failed++;
			if (tty)
				printf("\r\033[K");
			report_cell(cl, &kimg[cl->ki], &scn[cl->si], finished, n, st);
			if (finished - skipped > 0 && finished < n)
				printf("        elapsed %.0fs, about %.0fs left\n", (pnb_mono_ns() - t0) / 1e9,
				       busy_ns / 1e9 / (finished - skipped) * (n - finished) / (double)jobs);
			fflush(stdout);
		}
	}
	for (int i = 0; i < ns; i++)
		scenario_free(&scn[i]);
	free(cells);
	printf("results: %s (%d runs, %d failed, %d skipped)\n", out, n, failed, skipped);
	return failed ? PNB_EXIT_FAIL : 0;
}
