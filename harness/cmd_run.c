/* pnbench run: every (kernel x scenario x repetition) cell, each in its own
 * result directory, written under a temporary name and renamed when done. */
#include "cli.h"
#include "log.h"
#include "matrix.h"
#include "parse.h"
#include "runner.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
	fprintf(f,
"usage: pnbench run --kernel K --scenario S [options]\n"
"  -k, --kernel K     where to run (repeat): debian:VERSION-FLAVOUR,\n"
"                     path:BZIMAGE[,modules=DIR][,config=FILE], tree:DIR,\n"
"                     or native (the running kernel, workload confined in a\n"
"                     memory cgroup limited to the scenario's memory)\n"
"  -s, --scenario S   harness/scenarios/S.ini or a path (repeat)\n"
"      --matrix M     the scenarios, kernels and reps of harness/matrices/M or of\n"
"                     file M (docs/matrices.md); --kernel and --reps override it\n"
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

/* What the command line asks for, before the plan is built. */
struct run_args {
	const char **kernels, **names, **want, **overrides;
	int nk, ns, nwant, noverrides;
	const char *fault, *matrix;
	int force, list, fetch, json;
	uint64_t shard_i, shard_n;	/* --shard I/N, 0/0 when none */
	uint64_t reps, only_rep, jobs;
	char out[1024];
};

/* Append v to a growing list: 0, or -1 when out of memory. */
static int push(const char ***list, int *n, const char *v)
{
	const char **a = realloc(*list, (size_t)(*n + 1) * sizeof *a);
	if (!a)
		return -1;
	a[(*n)++] = v;
	*list = a;
	return 0;
}

static int bad(const char *fmt, const char *arg)
{
	pnb_err(fmt, arg);
	return PNB_EXIT_USAGE;
}

/* --shard I/N, 1-based like GitLab's CI_NODE_INDEX/CI_NODE_TOTAL. */
static int parse_shard(const char *arg, struct run_args *a)
{
	char n[32], *slash = strchr(arg, '/');

	if (!slash || (size_t)(slash - arg) >= sizeof n)
		return bad("run: --shard '%s': want I/N, e.g. 2/4", arg);
	snprintf(n, sizeof n, "%.*s", (int)(slash - arg), arg);
	if (pnb_parse_u64(n, &a->shard_i) || pnb_parse_u64(slash + 1, &a->shard_n) ||
	    a->shard_n < 1 || a->shard_n > 100000 || a->shard_i < 1 || a->shard_i > a->shard_n)
		return bad("run: --shard '%s': want I/N with 1 <= I <= N", arg);
	return 0;
}

/* One option into a: 0, PNB_EXIT_USAGE after a message, or -1 for --help. */
static int parse_opt(int c, const char *arg, struct run_args *a)
{
	int oom = 0;

	switch (c) {
	case 'k': oom = push(&a->kernels, &a->nk, arg); break;
	case 's': oom = push(&a->names, &a->ns, arg); break;
	case 'C': oom = push(&a->want, &a->nwant, arg); break;
	case 'm': oom = push(&a->overrides, &a->noverrides, arg); break;
	case 'M': a->matrix = arg; break;
	case 'r':
		if (pnb_parse_u64(arg, &a->reps) || a->reps < 1 || a->reps > 1000)
			return bad("run: --reps '%s': need a number 1..1000", arg);
		break;
	case 'R':
		if (pnb_parse_u64(arg, &a->only_rep) || a->only_rep < 1 || a->only_rep > 1000)
			return bad("run: --rep '%s': need a number 1..1000", arg);
		break;
	case 'j':
		if (pnb_parse_u64(arg, &a->jobs) || a->jobs < 1 || a->jobs > 64)
			return bad("run: --jobs '%s': need a number 1..64", arg);
		break;
	case 'o':
		/* Every path of the set is built under it: room for
		 * <kernel>/<scenario>/<rep>/<file> must stay. */
		if (strlen(arg) > RUN_OUT_MAX) {
			pnb_err("run: --out: %zu bytes is longer than the %d a result set path may have",
				strlen(arg), RUN_OUT_MAX);
			return PNB_EXIT_USAGE;
		}
		if (!*arg)
			return bad("run: --out: empty path%s", "");
		snprintf(a->out, sizeof a->out, "%s", arg);
		break;
	case 'f': a->force = 1; break;
	case 'l': a->list = 1; break;
	case 'F':
		if (strcmp(arg, "no") && strcmp(arg, "yes"))
			return bad("run: --fetch '%s': yes or no", arg);
		a->fetch = !strcmp(arg, "yes");
		break;
	case 'X': a->fault = arg; break;
	case 'S': return parse_shard(arg, a);
	case 'J': a->json = 1; break;
	case 'h': return -1;
	default: return PNB_EXIT_USAGE;
	}
	if (oom) {
		pnb_err("run: no memory for '%s'", arg);
		return PNB_EXIT_FAIL;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct run_args *a)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, 0, 'k' }, { "scenario", required_argument, 0, 's' },
		{ "reps", required_argument, 0, 'r' }, { "rep", required_argument, 0, 'R' },
		{ "jobs", required_argument, 0, 'j' }, { "out", required_argument, 0, 'o' },
		{ "force", no_argument, 0, 'f' }, { "list", no_argument, 0, 'l' },
		{ "fetch", required_argument, 0, 'F' }, { "fault", required_argument, 0, 'X' },
		{ "machine", required_argument, 0, 'm' }, { "matrix", required_argument, 0, 'M' },
		{ "cell", required_argument, 0, 'C' }, { "shard", required_argument, 0, 'S' },
		{ "json", no_argument, 0, 'J' },
		{ "help", no_argument, 0, 'h' }, { 0 }
	};
	int c, rc;

	while ((c = getopt_long(argc, argv, "k:s:r:j:o:fm:h", opts, NULL)) != -1)
		if ((rc = parse_opt(c, optarg, a))) {
			if (rc == -1)
				usage(stdout);
			else if (c == '?' || c == ':')
				usage(stderr);
			return rc == -1 ? -1 : rc;
		}
	if (optind < argc)
		return bad("run: unexpected argument '%s'", argv[optind]);
	return 0;
}

/* What the parsed options must agree on. */
static int check_args(const struct run_args *a)
{
	if (!a->nk || !a->ns)
		return bad("run: need --kernel and --scenario, or --matrix (see 'pnbench run "
			   "--help')%s", "");
	if (a->json && !a->list)
		return bad("run: --json goes with --list%s", "");
	if (a->only_rep && (a->nwant || a->shard_n))
		return bad("run: --rep and --cell/--shard both pick cells: use one%s", "");
	return 0;
}

/* --list: the cells' names, or with --json what runs each one alone. */
static void list_cells(const struct run_plan *p, const struct run_args *a)
{
	json_t *arr = a->json ? json_array() : NULL;
	char mach[600] = "";

	for (int q = 0; q < a->noverrides; q++)
		snprintf(mach + strlen(mach), sizeof mach - strlen(mach), " --machine '%s'",
			 a->overrides[q]);
	for (int i = 0; i < p->ncells; i++) {
		const struct run_cell *c = &p->cells[i];
		const struct scenario *s = &p->scenarios[c->si];
		if (!a->json) {
			printf("%s\n", c->name);
			continue;
		}
		/* The command runs this cell alone into --out, the same set. */
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s}",
			"name", c->name, "kernel", p->kernel_specs[c->ki],
			"kernel_name", p->kernels[c->ki].name, "scenario", s->name,
			"scenario_path", s->path, "rep", (int)c->rep, "dir", c->final);
		json_object_set_new(o, "command", json_sprintf(
			"%s/pnbench run --kernel %s --scenario %s --reps %u --cell %s --out %s%s",
			pnb_bindir(), p->kernel_specs[c->ki], s->path,
			a->reps ? (unsigned)a->reps : s->reps, c->name, p->out, mach));
		json_array_append_new(arr, o);
	}
	if (a->json) {
		char *txt = json_dumps(arr, JSON_COMPACT);
		printf("%s\n", txt ? txt : "[]");
		free(txt);
		json_decref(arr);
	}
}

/* The plan the arguments describe: scenarios, kernels, cells. */
static int build_plan(struct run_plan *p, struct run_args *a, int argc, char **argv)
{
	char err[1200];
	int rc;

	p->overrides = a->overrides;
	p->noverrides = a->noverrides;
	p->fault = a->fault;
	p->jobs = (unsigned)a->jobs;
	p->force = a->force;
	p->argc = argc;
	p->argv = argv;
	if (!a->out[0]) {
		char ts[32];
		time_t now = time(NULL);
		strftime(ts, sizeof ts, "%Y%m%d-%H%M%S", gmtime(&now));
		snprintf(a->out, sizeof a->out, "%s/results/runs/%s", pnb_topdir(), ts);
	}
	snprintf(p->out, sizeof p->out, "%s", a->out);
	for (int i = 0; i < a->ns; i++)
		if ((rc = run_plan_add_scenario(p, a->names[i], err, sizeof err)))
			goto fail;
	for (int i = 0; i < a->nk; i++)
		if ((rc = run_plan_add_kernel(p, a->kernels[i], a->fetch, a->list, err, sizeof err)))
			goto fail;
	if ((rc = run_plan_expand(p, (unsigned)a->reps, (unsigned)a->only_rep, err, sizeof err)) ||
	    (rc = run_plan_select(p, a->want, a->nwant, a->shard_i, a->shard_n, err, sizeof err)))
		goto fail;
	return 0;
fail:
	pnb_err("run%s: %s", a->list ? " --list" : "", err);
	return rc;
}

int cmd_run(int argc, char **argv)
{
	struct run_args a = { .fetch = 1, .jobs = 1 };
	struct run_plan p = { 0 };
	struct matrix mx = { 0 };
	struct run_totals t;
	char err[1400];
	int rc;

	optind = 1;
	if ((rc = parse_args(argc, argv, &a)))
		goto out;
	/* A matrix adds its scenarios and kernels, and its reps unless
	 * --reps says otherwise: the command line has the last word. */
	if (a.matrix && (rc = matrix_load(a.matrix, &mx, err, sizeof err))) {
		pnb_err("run: %s", err);
		goto out;
	}
	for (int i = 0; i < mx.nscenarios && !rc; i++)
		rc = push(&a.names, &a.ns, mx.scenarios[i]);
	for (int i = 0; i < mx.nkernels && !a.nk && !rc; i++)
		rc = push(&a.kernels, &a.nk, mx.kernels[i]);
	if (!a.reps)
		a.reps = mx.reps;
	if (rc || (rc = check_args(&a)) || (rc = build_plan(&p, &a, argc, argv)))
		goto out;
	if (a.list) {
		list_cells(&p, &a);
		goto out;
	}
	if ((rc = run_plan_execute(&p, run_progress_print, NULL, &t, err, sizeof err))) {
		if (err[0])
			pnb_err("run: %s", err);
		goto out;
	}
	printf("results: %s (%d runs, %d failed, %d skipped)\n", p.out, t.cells, t.failed, t.skipped);
	rc = t.failed ? PNB_EXIT_FAIL : 0;
out:
	run_plan_free(&p);
	matrix_free(&mx);
	free(a.kernels);
	free(a.names);
	free(a.want);
	free(a.overrides);
	return rc < 0 ? 0 : rc;
}
