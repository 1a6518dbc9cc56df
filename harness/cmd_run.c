/* pnbench run: every (kernel x scenario x repetition) cell, each in its own
 * result directory, written under a temporary name and renamed when done. */
#include "cli.h"
#include "clock.h"
#include "jsonl.h"
#include "log.h"
#include "parse.h"
#include "procfs.h"
#include "run.h"
#include "scenario.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <hwloc.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define MAX_ITEMS 64

int pnb_scenario_check(const char *name, struct scenario *s, char *err, size_t len);

static void usage(FILE *f)
{
	fprintf(f,
"usage: pnbench run --kernel K --scenario S [options]\n"
"  -k, --kernel K     where to run (repeat): 'native' = the running kernel,\n"
"                     workload confined in a memory cgroup with the\n"
"                     scenario's memory limit\n"
"  -s, --scenario S   harness/scenarios/S.ini or a path (repeat)\n"
"  -r, --reps N       repetitions (default: the scenario's reps)\n"
"  -o, --out DIR      result set directory (default results/runs/<time>)\n"
"  -f, --force        rerun cells that already have a complete result\n");
}

static int mkdir_p(const char *path)
{
	char tmp[2048];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, 0755) && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	}
	return (mkdir(tmp, 0755) && errno != EEXIST) ? -errno : 0;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static int rm_rf(const char *path)
{
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
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

static void write_meta(const char *dir, const char *kernel, const struct scenario *s,
		       unsigned rep, const struct run_result *res, time_t started,
		       int argc, char **argv)
{
	char path[1400], buf[4096];
	struct utsname u;
	json_t *m = json_object(), *k = json_object(), *sc = json_object(), *h = json_object();
	json_t *r = json_object(), *a = json_array();

	json_object_set_new(m, "schema", json_string("pnbench-meta/1"));
	json_object_set_new(k, "name", json_string(kernel));
	if (!strcmp(kernel, "native") && uname(&u) == 0) {
		json_object_set_new(k, "release", json_string(u.release));
		json_object_set_new(k, "version", json_string(u.version));
		if (pnb_read_file("", "/proc/cmdline", buf, sizeof buf) > 0) {
			buf[strcspn(buf, "\n")] = 0;
			json_object_set_new(k, "cmdline", json_string(buf));
		}
	}
	json_object_set_new(m, "kernel", k);
	json_object_set_new(sc, "name", json_string(s->name));
	json_object_set_new(sc, "path", json_string(s->path));
	json_object_set_new(sc, "text", json_string(s->text));
	json_object_set_new(m, "scenario", sc);
	json_object_set_new(m, "rep", json_integer(rep));
	json_object_set_new(h, "git_rev", json_string(PNB_GIT_REV));
	for (int i = 0; i < argc; i++)
		json_array_append_new(a, json_string(argv[i]));
	json_object_set_new(h, "command", a);
	json_object_set_new(m, "harness", h);
	json_object_set_new(m, "topology", topology());
	json_object_set_new(r, "complete", json_boolean(res->complete));
	json_object_set_new(r, "status", json_string(res->status));
	json_object_set_new(r, "reason", json_string(res->reason));
	json_object_set_new(r, "wall_s", json_real(res->wall_s));
	json_object_set_new(r, "recorder_exit", json_integer(res->recorder_exit));
	json_object_set_new(r, "started_realtime_s", json_integer(started));
	json_object_set_new(m, "result", r);
	snprintf(path, sizeof path, "%s/meta.json", dir);
	if (json_dump_file(m, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER))
		pnb_err("cannot write %s", path);
	json_decref(m);
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, 0, 'k' }, { "scenario", required_argument, 0, 's' },
		{ "reps", required_argument, 0, 'r' }, { "out", required_argument, 0, 'o' },
		{ "force", no_argument, 0, 'f' }, { "help", no_argument, 0, 'h' }, { 0 }
	};
	const char *kernels[MAX_ITEMS], *names[MAX_ITEMS];
	static struct scenario scn[MAX_ITEMS];
	int nk = 0, ns = 0, force = 0, c;
	uint64_t reps = 0;
	char out[1024] = "", err[1024];

	while ((c = getopt_long(argc, argv, "k:s:r:o:fh", opts, NULL)) != -1) {
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
		case 'o': snprintf(out, sizeof out, "%s", optarg); break;
		case 'f': force = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return PNB_EXIT_USAGE;
		}
	}
	if (optind < argc)
		pnb_die(2, "run: unexpected argument '%s'", argv[optind]);
	if (!nk || !ns)
		pnb_die(2, "run: need --kernel and --scenario (see 'pnbench run --help')");
	for (int i = 0; i < nk; i++)
		if (strcmp(kernels[i], "native"))
			pnb_die(2, "run: --kernel '%s': unknown kernel (this build runs 'native': "
				"the running kernel)", kernels[i]);
	for (int i = 0; i < ns; i++)
		if (pnb_scenario_check(names[i], &scn[i], err, sizeof err))
			pnb_die(2, "run: %s", err);
	if (native_check(err, sizeof err))
		pnb_die(1, "run: native: %s", err);
	if (!out[0]) {
		char ts[32];
		time_t now = time(NULL);
		strftime(ts, sizeof ts, "%Y%m%d-%H%M%S", gmtime(&now));
		snprintf(out, sizeof out, "%s/results/runs/%s", pnb_topdir(), ts);
	}

	int total = 0, done = 0, failed = 0, skipped = 0;
	for (int si = 0; si < ns; si++)
		total += nk * (int)(reps ? reps : scn[si].reps);
	uint64_t t0 = pnb_mono_ns();

	for (int ki = 0; ki < nk; ki++)
	for (int si = 0; si < ns; si++) {
		const struct scenario *s = &scn[si];
		unsigned nrep = reps ? (unsigned)reps : s->reps;
		for (unsigned rep = 1; rep <= nrep; rep++) {
			char final[1200], tmp[1300];
			struct run_result res;
			time_t started = time(NULL);

			done++;
			snprintf(final, sizeof final, "%s/%s/%s/%u", out, kernels[ki], s->name, rep);
			if (!force && cell_complete(final)) {
				skipped++;
				printf("[%d/%d] %s %s rep %u: complete already, skipped\n", done, total,
				       kernels[ki], s->name, rep);
				continue;
			}
			snprintf(tmp, sizeof tmp, "%s/%s/%s/.%u.partial", out, kernels[ki], s->name, rep);
			rm_rf(tmp);
			if (mkdir_p(tmp))
				pnb_die(1, "run: cannot create %s: %s", tmp, strerror(errno));
			printf("[%d/%d] %s %s rep %u: running (bound %.0fs) ...\n", done, total,
			       kernels[ki], s->name, rep, s->duration_ns / 1e9);
			fflush(stdout);
			native_run(s, rep, tmp, &res);
			write_meta(tmp, kernels[ki], s, rep, &res, started, argc, argv);
			rm_rf(final);
			if (rename(tmp, final))
				pnb_die(1, "run: cannot rename %s to %s: %s", tmp, final, strerror(errno));

			char events[1400], line[1024];
			struct events_summary sum;
			snprintf(events, sizeof events, "%s/events.jsonl", final);
			events_summarize(events, &sum);
			events_summary_line(&sum, line, sizeof line);
			double el = (pnb_mono_ns() - t0) / 1e9;
			int left = total - done;
			printf("[%d/%d] %s %s rep %u: %s in %.1fs%s%s\n        %s\n", done, total,
			       kernels[ki], s->name, rep, res.status, res.wall_s,
			       res.complete ? "" : ": ", res.complete ? "" : res.reason, line);
			if (left)
				printf("        elapsed %.0fs, about %.0fs left\n", el,
				       el / (done - skipped > 0 ? done - skipped : 1) * left);
			fflush(stdout);
			if (!res.complete)
				failed++;
		}
	}
	for (int i = 0; i < ns; i++)
		scenario_free(&scn[i]);
	printf("results: %s (%d runs, %d failed, %d skipped)\n", out, total, failed, skipped);
	return failed ? PNB_EXIT_FAIL : 0;
}
