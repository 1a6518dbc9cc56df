/* The pnbench command line: one file per subcommand. */
#ifndef PNB_CLI_H
#define PNB_CLI_H

#include <stddef.h>

int cmd_run(int argc, char **argv);
int cmd_probes(int argc, char **argv);
int cmd_workloads(int argc, char **argv);
int cmd_scenario(int argc, char **argv);
int cmd_kernels(int argc, char **argv);
int cmd_vmstat_cost(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_conform(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_bisect(int argc, char **argv);

/* The git revision this pnbench was built from (git describe --dirty). */
const char *pnb_git_rev(void);

/* Directory holding pnbench and the guest programs (bin/). */
const char *pnb_bindir(void);
/* Project top directory (bin/..), for harness/scenarios. */
const char *pnb_topdir(void);
/* Resolve NAME to harness/scenarios/NAME.ini, or a path as given. */
int pnb_scenario_path(const char *name, char *out, size_t len);

#endif
