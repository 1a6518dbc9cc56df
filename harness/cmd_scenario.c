/* pnbench scenario: check scenario files (every probe spec too), or list keys. */
#include "cli.h"
#include "log.h"
#include "probe.h"
#include "scenario.h"
#include "workload.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>

const struct workload *pnb_workload_find(const char *name);

/* The workload's own parser judges args, split on blanks as the recorder's
 * command line splits them ({data} stays: any path is as good as another). */
static int check_args(const char *path, const struct scenario *s, char *err, size_t len)
{
	char buf[SCN_STR], *argv[SCN_STR / 2 + 1], *save = NULL, why[512];
	int argc = 0;

	snprintf(buf, sizeof buf, "%s", s->args);
	for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
		argv[argc++] = t;
	if (!workload_check_args(s->workload, argc, argv, why, sizeof why))
		return 0;
	if (s->args_line)
		snprintf(err, len, "scenario %s:%d: args: %s", path, s->args_line, why);
	else
		snprintf(err, len, "scenario %s: [workload] args: %s", path, why);
	return -1;
}

int pnb_scenario_path(const char *name, char *out, size_t len)
{
	struct stat st;

	if (strchr(name, '/') || (strlen(name) > 4 && !strcmp(name + strlen(name) - 4, ".ini"))) {
		snprintf(out, len, "%s", name);
		return 0;
	}
	snprintf(out, len, "%s/harness/scenarios/%s.ini", pnb_topdir(), name);
	return stat(out, &st) ? -ENOENT : 0;
}

/* Everything a run would reject, checked before any run starts. */
int pnb_scenario_check(const char *name, struct scenario *s, char *err, size_t len)
{
	char path[1024];
	int r;

	if (pnb_scenario_path(name, path, sizeof path)) {
		snprintf(err, len, "scenario '%s': no such file (looked for %s)", name, path);
		return -1;
	}
	r = scenario_load(path, s, err, len);
	if (r)
		return -1;
	if (!pnb_workload_find(s->workload)) {
		snprintf(err, len, "scenario %s: unknown workload '%s' (see 'pnbench workloads')",
			 path, s->workload);
		scenario_free(s);
		return -1;
	}
	if (check_args(path, s, err, len)) {
		scenario_free(s);
		return -1;
	}
	for (int i = 0; i < s->nprobes; i++) {
		struct probe p;
		char perr[PROBE_ERR_LEN + 200];
		if (probe_from_spec(&p, s->probes[i], perr, sizeof perr)) {
			snprintf(err, len, "scenario %s: %s", path, perr);
			scenario_free(s);
			return -1;
		}
		probe_free(&p);
	}
	/* The killer's mechanism is a probe spec too (or an external killer). */
	if (s->killer[0] && strcmp(s->killer, "earlyoom") && strcmp(s->killer, "nohang")) {
		struct probe p;
		char perr[PROBE_ERR_LEN + 200];
		if (probe_from_spec(&p, s->killer, perr, sizeof perr)) {
			snprintf(err, len, "scenario %s: [killer] mechanism: %s", path, perr);
			scenario_free(s);
			return -1;
		}
		probe_free(&p);
	}
	return 0;
}

int cmd_scenario(int argc, char **argv)
{
	int bad = 0;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("usage: pnbench scenario keys\n"
		       "       pnbench scenario check NAME|FILE...\n");
		return argc < 2 ? PNB_EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "keys")) {
		scenario_print_keys(stdout);
		return 0;
	}
	if (strcmp(argv[1], "check")) {
		pnb_err("scenario: unknown subcommand '%s' (keys, check)", argv[1]);
		return PNB_EXIT_USAGE;
	}
	if (argc < 3) {
		pnb_err("scenario check: which scenario? (pnbench scenario check NAME|FILE...)");
		return PNB_EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		struct scenario s;
		char err[1024];
		if (pnb_scenario_check(argv[i], &s, err, sizeof err)) {
			pnb_err("%s", err);
			bad = 1;
			continue;
		}
		printf("%s: ok (%s, %d probes, %u reps)\n", s.path, s.workload, s.nprobes, s.reps);
		scenario_free(&s);
	}
	return bad ? PNB_EXIT_USAGE : 0;
}
