/* pnbench kernels: what is cached, fetch Debian kernels, build trees. */
#include "cli.h"
#include "guest.h"
#include "kernel_source.h"
#include "patches.h"
#include "kmod.h"
#include "log.h"
#include "parse.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage_text[] =
"usage: pnbench kernels list\n"
"       pnbench kernels fetch SPEC...\n"
"       pnbench kernels build --tree DIR|TARBALL|linux-source-X.Y [--jobs N]\n"
"       pnbench kernels kmod SPEC...   build pnbench's own modules (probes/kmod) for\n"
"                               cached kernels; guest images do this by themselves\n"
"\n"
"Kernel specs (also for pnbench run --kernel):\n";

/* Each kernel source describes its own spec (kernel_source.h). */
static void usage(FILE *f)
{
	fputs(usage_text, f);
	kernel_specs_help(f);
	fprintf(f, "Everything lands in %s (PNBENCH_CACHE overrides).\n", pnb_cache_dir());
}

static double mib(const char *path)
{
	struct stat st;
	return stat(path, &st) ? 0.0 : st.st_size / 1048576.0;
}

/* "PSI=y MEMCG=y MEMCG_V1=n ..." from the config summary. */
static void print_mechanisms(const struct kernel_image *k)
{
	char *s = kernel_config_summary(k), line[512] = "";
	json_t *o = s ? json_loads(s, 0, NULL) : NULL;
	const char *key;
	json_t *v;

	free(s);
	if (!o) {
		printf("  options   (no config)\n");
		return;
	}
	json_object_foreach(o, key, v) {
		size_t n = strlen(line);
		snprintf(line + n, sizeof line - n, "%s%s=%s", n ? " " : "",
			 !strncmp(key, "CONFIG_", 7) ? key + 7 : key, json_string_value(v));
	}
	json_decref(o);
	/* Wrap to 80 columns. */
	const char *p = line;
	int first = 1;
	while (*p) {
		int w = 68;
		size_t l = strlen(p);
		if ((int)l > w) {
			while (w > 0 && p[w] != ' ')
				w--;
			if (w == 0)
				w = 68;
		} else {
			w = (int)l;
		}
		printf("  %-9s %.*s\n", first ? "options" : "", w, p);
		first = 0;
		p += w;
		while (*p == ' ')
			p++;
	}
}

static void print_kernel(const struct kernel_image *k)
{
	printf("%s -> %s\n", k->spec, k->name);
	printf("  release   %s\n", k->release);
	if (k->bzimage[0])
		printf("  bzImage   %s (%.1f MiB)\n", k->bzimage, mib(k->bzimage));
	printf("  modules   %s\n", k->modules_dir[0] ? k->modules_dir : "(none)");
	printf("  config    %s\n", k->config[0] ? k->config : "(none)");
	if (k->config_digest[0])
		printf("  sha256    %s\n", k->config_digest);
	/* A patched tree says which patches it carries. */
	json_t *sr = kernel_series_json(k), *ps = sr ? json_object_get(sr, "patches") : NULL;
	if (sr) {
		printf("  series    %s (%zu patch%s)\n", json_string_value(json_object_get(sr, "path")),
		       json_array_size(ps), json_array_size(ps) == 1 ? "" : "es");
		for (size_t i = 0; i < json_array_size(ps); i++)
			printf("            %zu %s\n", i + 1,
			       json_string_value(json_object_get(json_array_get(ps, i), "subject")));
		json_decref(sr);
	}
	print_mechanisms(k);
}

static int do_list(void)
{
	static const struct { const char *alias, *flavour; } fl[] = {
		{ "cloud", "cloud-amd64" }, { "amd64", "amd64" }, { "rt", "rt-amd64" },
	};
	struct kernel_image *ks;
	int n = kernel_cached(&ks);

	if (n < 0) {
		pnb_err("kernels: cannot read %s/kernels: %s", pnb_cache_dir(), strerror(-n));
		return PNB_EXIT_FAIL;
	}
	printf("cached in %s/kernels:\n", pnb_cache_dir());
	if (!n)
		printf("  (none)\n");
	else
		printf("  %-30s %-24s %-6s %s\n", "NAME", "RELEASE", "KIND", "BZIMAGE");
	for (int i = 0; i < n; i++)
		printf("  %-30s %-24s %-6s %.1f MiB\n", ks[i].name, ks[i].release, ks[i].kind,
		       mib(ks[i].bzimage));
	free(ks);

	printf("\nDebian kernels apt-cache knows (fetch with debian:VERSION):\n");
	for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
		char buf[16384], *line, *save;
		int m = kernel_debian_available(fl[i].flavour, buf, sizeof buf), shown = 0;

		if (m < 0) {
			printf("  %-12s (apt-cache failed: %s)\n", fl[i].flavour, strerror(-m));
			continue;
		}
		if (m == 0) {
			printf("  %-12s none (run apt-get update)\n", fl[i].flavour);
			continue;
		}
		/* "6.1.0-56-cloud-amd64" -> "56": the ABI numbers fit one line. */
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save), shown++) {
			char *abi = strchr(line, '-'), *end = abi ? strchr(abi + 1, '-') : NULL;
			if (!shown)
				printf("  %-12s debian:%-6s = %s; ABIs:", fl[i].flavour, fl[i].alias, line);
			if (shown < 12 && abi && end)
				printf(" %.*s", (int)(end - abi - 1), abi + 1);
		}
		if (m > 12)
			printf(" ... (%d)", m);
		printf("\n");
	}
	return 0;
}

/* Resolve each SPEC (fetching when allowed) and act on it: a bad spec
 * stops at once with the usage status, a failure goes on to the next. */
static int each_spec(const char *sub, int argc, char **argv, int allow,
		     int (*act)(const char *spec, const struct kernel_image *k))
{
	int rc = 0;

	if (argc < 1) {
		pnb_err("kernels: %s needs at least one SPEC (see 'pnbench kernels --help')", sub);
		return PNB_EXIT_USAGE;
	}
	for (int i = 0; i < argc; i++) {
		struct kernel_image k;
		char err[2048];
		int r = kernel_resolve(argv[i], allow, &k, err, sizeof err);

		if (r) {
			pnb_err("%s", err);
			if (r == -2)
				return PNB_EXIT_USAGE;
			rc = PNB_EXIT_FAIL;
			continue;
		}
		if (act(argv[i], &k))
			rc = PNB_EXIT_FAIL;
	}
	return rc;
}

static int fetched(const char *spec, const struct kernel_image *k)
{
	(void)spec;
	print_kernel(k);
	return 0;
}

static int do_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tree", required_argument, 0, 't' }, { "jobs", required_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' }, { 0 }
	};
	const char *tree = NULL;
	struct kernel_image k;
	char err[4096];
	uint64_t jobs = 0;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "t:j:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': tree = optarg; break;
		case 'j':
			if (pnb_parse_u64(optarg, &jobs) || jobs < 1 || jobs > 1024) {
				pnb_err("kernels: --jobs '%s': want a number from 1 to 1024", optarg);
				return PNB_EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: return PNB_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		pnb_err("kernels: build: unexpected argument '%s'", argv[optind]);
		return PNB_EXIT_USAGE;
	}
	if (!tree) {
		pnb_err("kernels: build needs --tree DIR");
		return PNB_EXIT_USAGE;
	}
	r = kernel_build(tree, (unsigned)jobs, &k, err, sizeof err);
	if (r) {
		pnb_err("%s", err);
		return r == -2 ? PNB_EXIT_USAGE : PNB_EXIT_FAIL;
	}
	print_kernel(&k);
	return 0;
}

/* The module build a guest image does, on its own: for CI, and to see a
 * build failure's log without booting anything. */
static int kmod_one(const char *spec, const struct kernel_image *k)
{
	char err[2048], dir[1024];

	if (kmod_build(k, dir, sizeof dir, err, sizeof err)) {
		pnb_err("kernels: kmod %s: %s", spec, err);
		return -1;
	}
	printf("%s\n  release   %s\n  modules   %s/{%s,%s,%s}.ko\n  shrinker  %s\n", k->spec,
	       k->release, dir, kmod_modules[0], kmod_modules[1], kmod_modules[2],
	       kmod_shrinker_api(k->release));
	return 0;
}

int cmd_kernels(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return PNB_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "list")) {
		if (argc > 2) {
			pnb_err("kernels: list: unexpected argument '%s'", argv[2]);
			return PNB_EXIT_USAGE;
		}
		return do_list();
	}
	if (!strcmp(argv[1], "fetch"))
		return each_spec("fetch", argc - 2, argv + 2, 1, fetched);
	if (!strcmp(argv[1], "build"))
		return do_build(argc - 1, argv + 1);
	if (!strcmp(argv[1], "kmod"))
		return each_spec("kmod", argc - 2, argv + 2, 0, kmod_one);
	pnb_err("kernels: unknown subcommand '%s' (want list, fetch, build or kmod)", argv[1]);
	return PNB_EXIT_USAGE;
}
