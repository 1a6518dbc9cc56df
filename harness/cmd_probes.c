/* pnbench probes: every mechanism, and whether this kernel supports it. */
#include "cli.h"
#include "cgroupfs.h"
#include "log.h"
#include "probe.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int cmd_probes(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, 0, 'r' }, { "help", no_argument, 0, 'h' }, { 0 }
	};
	struct probe_env env = { .root = "", .workload_pidfd = -1 };
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': env.root = optarg; break;
		case 'h':
			printf("usage: pnbench probes [--root DIR]\n"
			       "Lists every probe, its spec syntax, and whether this kernel supports it.\n");
			return 0;
		default: return PNB_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		pnb_err("probes: unexpected argument '%s'", argv[optind]);
		return PNB_EXIT_USAGE;
	}
	/* A root that is not there would report every probe unsupported, as
	 * if that were the truth about some kernel. */
	if (env.root[0]) {
		struct stat st;
		if (stat(env.root, &st)) {
			pnb_err("probes: --root %s: %s", env.root, strerror(errno));
			return PNB_EXIT_USAGE;
		}
		if (!S_ISDIR(st.st_mode)) {
			pnb_err("probes: --root %s: not a directory", env.root);
			return PNB_EXIT_USAGE;
		}
	}
	/* Check against the hierarchy roots: a run puts the workload below them. */
	if (pnb_cgroup_v1_memory_mount(env.root, env.memcg_v1, sizeof env.memcg_v1))
		env.memcg_v1[0] = 0;
	if (pnb_cgroup2_mount(env.root, env.memcg_v2, sizeof env.memcg_v2))
		env.memcg_v2[0] = 0;

	for (size_t i = 0; probe_registry[i]; i++) {
		const struct probe_ops *ops = probe_registry[i];
		const char *spec = ops->example ? ops->example : ops->name;
		char err[PROBE_ERR_LEN + 200] = "", why[PROBE_ERR_LEN] = "";
		struct probe p;
		int ok;

		if (probe_from_spec(&p, spec, err, sizeof err)) {
			pnb_err("probes: built-in example '%s' does not parse: %s", spec, err);
			return PNB_EXIT_FAIL;
		}
		ok = ops->supported(&p, &env, why, sizeof why) == 0;
		probe_free(&p);
		printf("%-11s %s\n", ops->name, ok ? "supported" : "unsupported");
		printf("            %s\n", ops->summary);
		printf("            spec: %s\n", ops->synopsis);
		if (!ok)
			printf("            why:  %s\n", why[0] ? why : "not supported by this kernel");
	}
	return 0;
}
