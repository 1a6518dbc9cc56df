/* pnbench probes: every mechanism, and whether this kernel supports it;
 * with --man, the man page's PROBE SPECS section from the registry. */
#include "cli.h"
#include "cgroupfs.h"
#include "log.h"
#include "probe.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Text as roff: a backslash is \e, and a leading '.' or '\'' would be a
 * request. */
static void roff(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s; s++)
		if (*s == '\\')
			fputs("\\e", f);
		else
			fputc(*s, f);
}

static const char *const role_word[] = {
	[PROBE_NOTIFIER] = "notifier", [PROBE_GROUND_TRUTH] = "ground truth",
	[PROBE_SAMPLER] = "sampler",
};
static const char *const claim_word[] = {
	[PROBE_CLAIM_NONE] = "none", [PROBE_CLAIM_RECLAIM] = "reclaim onset",
	[PROBE_CLAIM_DIRECT] = "direct reclaim onset", [PROBE_CLAIM_OOM] = "OOM kill",
	[PROBE_CLAIM_THRESHOLD] = "threshold crossing",
};

/* One entry: the spec grammar, what it is, its levels with their claims
 * (docs/metrics.md 3.3).  docs/pnbench.1 holds exactly this output. */
static void man_entry(FILE *f, const struct probe_ops *o)
{
	fprintf(f, ".TP\n.B ");
	roff(f, o->synopsis);
	fputc('\n', f);
	roff(f, o->help ? o->help : o->summary);
	fprintf(f, "\n.br\nrole: %s\n", role_word[o->role]);
	for (const struct probe_level *l = o->levels; l && l->name; l++) {
		size_t n = strlen(l->name);
		if (!l->help)
			continue;	/* a catch-all prefix */
		fprintf(f, ".br\nlevel \\fB%.*s%s\\fR: ", (int)(l->name[n - 1] == '*' ? n - 1 : n), l->name,
			l->name[n - 1] == '*' ? "N" : "");
		roff(f, l->help);
		fprintf(f, "; claims the %s%s\n", claim_word[l->claim],
			l->activity_only ? ", reclaim activity only" : "");
	}
}

static int probes_man(void)
{
	printf(".SH PROBE SPECS\n"
	       "A spec is NAME[:ARG...]; each level of a notifier claims the ground-truth\n"
	       "onset its latency is measured against (docs/metrics.md).\n");
	for (size_t i = 0; probe_registry[i]; i++)
		man_entry(stdout, probe_registry[i]);
	return fflush(stdout) ? PNB_EXIT_FAIL : 0;
}

int cmd_probes(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, 0, 'r' }, { "man", no_argument, 0, 'm' },
		{ "help", no_argument, 0, 'h' }, { 0 }
	};
	struct probe_env env = { .root = "", .workload_pidfd = -1 };
	int c, man = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': env.root = optarg; break;
		case 'm': man = 1; break;
		case 'h':
			printf("usage: pnbench probes [--root DIR] | pnbench probes --man\n"
			       "Lists every probe, its spec syntax, and whether this kernel supports it;\n"
			       "--man prints the man page's PROBE SPECS section (roff) instead.\n");
			return 0;
		default: return PNB_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		pnb_err("probes: unexpected argument '%s'", argv[optind]);
		return PNB_EXIT_USAGE;
	}
	/* The man page is the registry's, the same on every machine. */
	if (man && env.root[0]) {
		pnb_err("probes: --man takes no --root");
		return PNB_EXIT_USAGE;
	}
	if (man)
		return probes_man();
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
