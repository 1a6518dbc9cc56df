/* pnbench: benchmark and conformance harness for Linux memory-pressure
 * notification mechanisms. */
#include "cli.h"
#include "log.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} commands[] = {
	{ "run", cmd_run, "run scenarios on a kernel and write result directories" },
	{ "probes", cmd_probes, "list every mechanism and whether this kernel supports it" },
	{ "workloads", cmd_workloads, "list the workloads and their options" },
	{ "scenario", cmd_scenario, "check scenario files, or list the keys they take" },
	{ "kernels", cmd_kernels, "list, fetch or build the kernels guests boot" },
	{ "vmstat-cost", cmd_vmstat_cost, "vm_stat read cost, counter staleness, mechanism cost sweeps" },
	{ "analyze", cmd_analyze, "compute metrics of result directories (summary.json, cell.json)" },
	{ "compare", cmd_compare, "compare two result sets: medians, change, Mann-Whitney U" },
	{ "report", cmd_report, "text report for mail, gnuplot pictures and an index" },
	{ "conform", cmd_conform, "conformance suite per kernel in guests: matrix text and JUnit" },
	{ "merge", cmd_merge, "join cell directories from several machines into one result set" },
	{ "export", cmd_export, "a result set as KCIDB JSON, JUnit XML, or a cell as a LAVA job" },
	{ "bisect", cmd_bisect, "git bisect run over a kernel tree, judged by compare" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: pnbench COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'pnbench COMMAND --help' for a command's options; man docs/pnbench.1.\n");
}

static char bindir[PATH_MAX], topdir[PATH_MAX];

const char *pnb_bindir(void)
{
	if (!bindir[0]) {
		char exe[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (n <= 0)
			return ".";
		exe[n] = 0;
		snprintf(bindir, sizeof bindir, "%s", dirname(exe));
	}
	return bindir;
}

const char *pnb_topdir(void)
{
	if (!topdir[0]) {
		char b[PATH_MAX];
		snprintf(b, sizeof b, "%s", pnb_bindir());
		snprintf(topdir, sizeof topdir, "%s", dirname(b));
	}
	return topdir;
}

int main(int argc, char **argv)
{
	pnb_set_prog("pnbench");
	if (argc < 2) {
		usage(stderr);
		return PNB_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("pnbench %s\n", pnb_git_rev());
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	pnb_err("unknown command '%s' (try 'pnbench --help')", argv[1]);
	return PNB_EXIT_USAGE;
}
