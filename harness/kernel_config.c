/* Kernel configs: reading .config files, checking that qemu/pnbench.config
 * survived olddefconfig, the summary meta.json records, and the fragment's
 * digest that keys tree builds. */
#include "kernel_source.h"

#include <ctype.h>
#include <errno.h>
#include <fts.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "fsutil.h"

/* "CONFIG_X=v" or "# CONFIG_X is not set"; 1 if the line is one of them. */
static int cfg_line(const char *l, struct cfgent *e)
{
	const char *eq;
	size_t n;

	while (isspace((unsigned char)*l))
		l++;
	if (!strncmp(l, "# CONFIG_", 9)) {
		const char *s = l + 2, *sp = strchr(s, ' ');
		if (!sp || strncmp(sp, " is not set", 11))
			return 0;
		n = (size_t)(sp - s);
		if (n >= sizeof e->sym)
			return 0;
		memcpy(e->sym, s, n);
		e->sym[n] = 0;
		snprintf(e->val, sizeof e->val, "n");
		return 1;
	}
	if (strncmp(l, "CONFIG_", 7) || !(eq = strchr(l, '=')))
		return 0;
	n = (size_t)(eq - l);
	if (n >= sizeof e->sym)
		return 0;
	memcpy(e->sym, l, n);
	e->sym[n] = 0;
	snprintf(e->val, sizeof e->val, "%s", eq + 1);
	n = strlen(e->val);
	while (n && isspace((unsigned char)e->val[n - 1]))
		e->val[--n] = 0;
	return 1;
}

int kernel_cfg_load(const char *path, struct cfgent **out)
{
	FILE *f = fopen(path, "re");
	struct cfgent *v = NULL, e;
	char line[512];
	int n = 0, cap = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof line, f)) {
		if (!cfg_line(line, &e))
			continue;
		if (n == cap) {
			struct cfgent *nv = realloc(v, (size_t)(cap = cap ? 2 * cap : 1024) * sizeof *v);
			if (!nv) {
				free(v);
				fclose(f);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = e;
	}
	fclose(f);
	*out = v;
	return n;
}

const char *kernel_cfg_get(const struct cfgent *v, int n, const char *sym)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i].sym, sym))
			return v[i].val;
	return NULL;
}

/* Mark which of syms[] some Kconfig file of tree defines ("config X" or
 * "menuconfig X"). */
static void kconfig_defined(const char *tree, char (*syms)[96], int n, int *found)
{
	char *paths[] = { (char *)tree, NULL };
	FTS *fts = fts_open(paths, FTS_PHYSICAL | FTS_NOSTAT, NULL);
	FTSENT *e;

	if (!fts)
		return;
	while ((e = fts_read(fts))) {
		char line[512];
		FILE *f;

		if (e->fts_info == FTS_D && !strcmp(e->fts_name, ".git")) {
			fts_set(fts, e, FTS_SKIP);
			continue;
		}
		if (strncmp(e->fts_name, "Kconfig", 7) || e->fts_info == FTS_D)
			continue;
		if (!(f = fopen(e->fts_accpath, "re")))
			continue;
		while (fgets(line, sizeof line, f)) {
			char *s = line, *w;
			size_t wl;

			while (*s == ' ' || *s == '\t')
				s++;
			if (!strncmp(s, "config", 6))
				s += 6;
			else if (!strncmp(s, "menuconfig", 10))
				s += 10;
			else
				continue;
			if (*s != ' ' && *s != '\t')
				continue;
			while (*s == ' ' || *s == '\t')
				s++;
			w = s;
			while (isalnum((unsigned char)*s) || *s == '_')
				s++;
			wl = (size_t)(s - w);
			for (int i = 0; i < n; i++)
				if (!found[i] && strlen(syms[i]) == wl + 7 && !strncmp(syms[i] + 7, w, wl))
					found[i] = 1;
		}
		fclose(f);
	}
	fts_close(fts);
}

int kernel_fragment_check(const char *fragment, const char *config, const char *tree,
			  char *missing, size_t mlen, char *skipped, size_t slen)
{
	struct cfgent *have = NULL, *want = NULL;
	char (*lost)[96] = NULL;
	char (*text)[320] = NULL;
	int nh, nw, nl = 0, count = 0, *found = NULL;

	if (mlen)
		missing[0] = 0;
	if (slen)
		skipped[0] = 0;
	nw = kernel_cfg_load(fragment, &want);
	if (nw < 0)
		return nw;
	nh = kernel_cfg_load(config, &have);
	if (nh < 0) {
		free(want);
		return nh;
	}
	lost = calloc((size_t)nw + 1, sizeof *lost);
	text = calloc((size_t)nw + 1, sizeof *text);
	found = calloc((size_t)nw + 1, sizeof *found);
	if (!lost || !text || !found) {
		count = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < nw; i++) {
		const char *got = kernel_cfg_get(have, nh, want[i].sym);
		int ok;

		/* olddefconfig omits a disabled option whose menu is off: absent
		 * counts as not set. */
		if (!strcmp(want[i].val, "n"))
			ok = !got || !strcmp(got, "n");
		else
			ok = got && !strcmp(got, want[i].val);
		if (ok)
			continue;
		snprintf(lost[nl], sizeof lost[nl], "%s", want[i].sym);
		if (!strcmp(want[i].val, "n"))
			snprintf(text[nl], sizeof text[nl], "# %s is not set (got %s)", want[i].sym, got);
		else
			snprintf(text[nl], sizeof text[nl], "%s=%s (got %s)", want[i].sym, want[i].val,
				 !got ? "absent" : !strcmp(got, "n") ? "not set" : got);
		nl++;
	}
	if (tree && nl)
		kconfig_defined(tree, lost, nl, found);
	for (int i = 0; i < nl; i++) {
		if (tree && !found[i]) {
			char s[160];
			snprintf(s, sizeof s, "%s (not in this tree's Kconfig)", lost[i]);
			if (slen)
				kernel_append(skipped, slen, "; ", s);
			continue;
		}
		if (mlen)
			kernel_append(missing, mlen, "; ", text[i]);
		count++;
	}
out:
	free(lost);
	free(text);
	free(found);
	free(want);
	free(have);
	return count;
}

/* The options that decide which mechanisms a kernel can offer. */
static const char *const summary_keys[] = {
	"CONFIG_PSI", "CONFIG_PSI_DEFAULT_DISABLED", "CONFIG_MEMCG", "CONFIG_MEMCG_V1",
	"CONFIG_PREEMPT_RT", "CONFIG_CGROUPS", "CONFIG_TRACING", "CONFIG_FTRACE",
	"CONFIG_VIRTIO_BLK", "CONFIG_EXT4_FS", "CONFIG_ZRAM", "CONFIG_LRU_GEN",
	"CONFIG_LRU_GEN_ENABLED", NULL
};

char *kernel_config_summary(const struct kernel_image *k)
{
	struct cfgent *v = NULL;
	json_t *o;
	char *s;
	int n;

	if (!k || !k->config[0] || (n = kernel_cfg_load(k->config, &v)) < 0)
		return NULL;
	o = json_object();
	for (int i = 0; summary_keys[i]; i++) {
		const char *val = kernel_cfg_get(v, n, summary_keys[i]);
		char b[160];
		size_t l;

		snprintf(b, sizeof b, "%s", val ? val : "n");
		l = strlen(b);
		if (l >= 2 && b[0] == '"' && b[l - 1] == '"') {
			memmove(b, b + 1, l - 2);
			b[l - 2] = 0;
		}
		json_object_set_new(o, summary_keys[i], json_string(b));
	}
	/* MEMCG_V1 exists since 6.11; before it the v1 controller came with
	 * MEMCG, so "n" for an absent MEMCG_V1 alone would misreport 6.1. */
	const char *memcg = kernel_cfg_get(v, n, "CONFIG_MEMCG"), *v1 = kernel_cfg_get(v, n, "CONFIG_MEMCG_V1");
	json_object_set_new(o, "memcg_v1_controller",
			    json_string(memcg && !strcmp(memcg, "y") && (!v1 || !strcmp(v1, "y")) ? "y" : "n"));
	free(v);
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

int kernel_fragment_path(char *out, size_t len)
{
	const char *e = getenv("PNBENCH_FRAGMENT");
	char exe[PATH_MAX];
	ssize_t n;

	if (e && *e) {
		snprintf(out, len, "%s", e);
		return pnb_is_file(out) ? 0 : -ENOENT;
	}
	/* bin/pnbench and tests/NAME_test both sit one level below the top. */
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return -ENOENT;
	exe[n] = 0;
	snprintf(out, len, "%s/../qemu/pnbench.config", dirname(exe));
	if (!realpath(out, exe))
		return -ENOENT;
	snprintf(out, len, "%s", exe);
	return pnb_is_file(out) ? 0 : -ENOENT;
}

/* Over the option lines only, so editing a comment rebuilds nothing. */
int kernel_fragment_digest(const char *fragment, char hex[65])
{
	struct cfgent *v;
	struct sha256_ctx c;
	uint8_t d[SHA256_DIGEST_SIZE];
	int n = kernel_cfg_load(fragment, &v);

	if (n < 0)
		return n;
	sha256_init(&c);
	for (int i = 0; i < n; i++) {
		char line[300];
		int l = snprintf(line, sizeof line, "%s=%s\n", v[i].sym, v[i].val);
		sha256_update(&c, (size_t)l, (const uint8_t *)line);
	}
	free(v);
	sha256_digest(&c, sizeof d, d);
	pnb_hex(d, sizeof d, hex);
	return 0;
}
