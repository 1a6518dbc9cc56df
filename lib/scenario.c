#include "scenario.h"
#include "parse.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

enum key_type { K_STR, K_UINT, K_DURATION, K_SIZE, K_EXPECT, K_SWAP, K_PROBE };

struct scn_key {
	const char *section, *key;
	enum key_type type;
	size_t off, size;	/* field in struct scenario (size for strings) */
	uint64_t min, max;	/* for numbers */
	const char *dflt, *help;
};

#define F(field) offsetof(struct scenario, field), sizeof(((struct scenario *)0)->field)

static const struct scn_key keys[] = {
	{ "scenario", "description", K_STR, F(description), 0, 0, "", "one line shown in reports" },
	{ "scenario", "reps", K_UINT, F(reps), 1, 1000, "3", "repetitions of the run" },
	{ "scenario", "duration", K_DURATION, F(duration_ns), NS_PER_S, 24 * 3600 * NS_PER_S, "120s",
	  "hard bound on one run; the workload is killed after it" },
	{ "scenario", "expect", K_EXPECT, F(expect), 0, 0, "any",
	  "oom | no-oom | any: what the ground truth should show" },
	{ "workload", "name", K_STR, F(workload), 0, 0, NULL, "workload (pnbench-workload --help)" },
	{ "workload", "args", K_STR, F(args), 0, 0, "", "workload options; {data} is the data file" },
	{ "workload", "data_size", K_SIZE, F(data_size), 0, UINT64_MAX, "0",
	  "size of the data file for page-cache workloads" },
	{ "probes", "probe", K_PROBE, 0, 0, 0, 0, NULL, "a probe spec (repeat the key)" },
	{ "machine", "memory", K_SIZE, F(memory), 16ULL << 20, 1ULL << 40, "256M",
	  "guest RAM, or the memory cgroup limit of a native run" },
	{ "machine", "cpus", K_UINT, F(cpus), 1, 256, "2", "guest CPUs" },
	{ "machine", "maxcpus", K_UINT, F(maxcpus), 0, 256, "0",
	  "guest possible CPUs (QEMU maxcpus, the rest offline); 0: cpus" },
	{ "machine", "swap", K_SWAP, F(swap), 0, 0, "none", "none (zram planned)" },
	{ "machine", "cmdline", K_STR, F(cmdline), 0, 0, "", "extra guest kernel command line" },
};
#define NKEYS (sizeof keys / sizeof keys[0])

void scenario_print_keys(FILE *f)
{
	static const char *type_names[] = {
		[K_STR] = "text", [K_UINT] = "number", [K_DURATION] = "duration",
		[K_SIZE] = "size", [K_EXPECT] = "oom|no-oom|any", [K_SWAP] = "none",
		[K_PROBE] = "probe spec",
	};
	const char *section = "";

	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(section, keys[i].section)) {
			section = keys[i].section;
			fprintf(f, "%s[%s]\n", i ? "\n" : "", section);
		}
		fprintf(f, "  %-12s %-15s %-8s %s\n", keys[i].key, type_names[keys[i].type],
			keys[i].dflt && *keys[i].dflt ? keys[i].dflt : "-", keys[i].help);
	}
}

const char *scenario_expect_name(enum scn_expect e)
{
	switch (e) {
	case SCN_EXPECT_OOM: return "oom";
	case SCN_EXPECT_NO_OOM: return "no-oom";
	default: return "any";
	}
}

struct ctx {
	struct scenario *s;
	const char *name;
	const char *text, *pos;	/* reader state */
	int line;
	char *err;
	size_t errlen;
	int failed;
	unsigned char seen[NKEYS];
};

static int fail(struct ctx *c, const char *fmt, const char *a, const char *b)
{
	if (!c->failed) {
		int n = snprintf(c->err, c->errlen, "scenario %s:%d: ", c->name, c->line);
		if (n > 0 && (size_t)n < c->errlen)
			snprintf(c->err + n, c->errlen - n, fmt, a, b);
	}
	c->failed = 1;
	return 0;
}

static int set_value(struct ctx *c, const struct scn_key *k, const char *v)
{
	char *field = (char *)c->s + k->off;
	uint64_t u;
	int r;

	switch (k->type) {
	case K_STR:
		if (strlen(v) >= k->size)
			return fail(c, "%s: value too long ('%.40s...')", k->key, v);
		strcpy(field, v);
		return 1;
	case K_UINT:
		r = pnb_parse_u64(v, &u);
		if (r || u < k->min || u > k->max)
			return fail(c, "%s: '%s' is not a whole number in range", k->key, v);
		*(unsigned *)field = (unsigned)u;
		return 1;
	case K_DURATION:
		r = pnb_parse_duration_ns(v, &u);
		if (r)
			return fail(c, "%s: '%s' is not a duration (e.g. 90s, 500ms)", k->key, v);
		if (u < k->min || u > k->max)
			return fail(c, "%s: '%s' is out of range (1s..24h)", k->key, v);
		*(uint64_t *)field = u;
		return 1;
	case K_SIZE:
		r = pnb_parse_size_bytes(v, &u);
		if (r)
			return fail(c, "%s: '%s' is not a size (e.g. 256M, 1G)", k->key, v);
		if (u < k->min || u > k->max)
			return fail(c, "%s: '%s' is out of range", k->key, v);
		*(uint64_t *)field = u;
		return 1;
	case K_EXPECT:
		if (!strcmp(v, "oom")) c->s->expect = SCN_EXPECT_OOM;
		else if (!strcmp(v, "no-oom")) c->s->expect = SCN_EXPECT_NO_OOM;
		else if (!strcmp(v, "any")) c->s->expect = SCN_EXPECT_ANY;
		else return fail(c, "%s: '%s' is not one of oom, no-oom, any", k->key, v);
		return 1;
	case K_SWAP:
		if (!strcmp(v, "none")) c->s->swap = SCN_SWAP_NONE;
		/* zram swap in guests is planned (issue 3); until the runners set
		 * it up, accepting it would run a swapless guest under its name. */
		else if (!strcmp(v, "zram")) return fail(c, "%s: '%s' is not supported yet: "
							 "guests run without swap (use none)", k->key, v);
		else return fail(c, "%s: '%s' is not one of none, zram", k->key, v);
		return 1;
	case K_PROBE:
		if (!*v)
			return fail(c, "%s: empty probe spec%s", k->key, "");
		if (c->s->nprobes >= SCN_MAX_PROBES)
			return fail(c, "%s: more than 64 probes%s", k->key, "");
		if (strlen(v) >= sizeof c->s->probes[0])
			return fail(c, "%s: spec too long ('%.40s...')", k->key, v);
		strcpy(c->s->probes[c->s->nprobes++], v);
		return 1;
	}
	return fail(c, "%s%s: internal error", k->key, "");
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct ctx *c = user;

	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].section, section) || strcmp(keys[i].key, name))
			continue;
		if (c->seen[i] && keys[i].type != K_PROBE)
			return fail(c, "key '%s' given twice in [%s]", name, section);
		c->seen[i] = 1;
		if (!strcmp(name, "args"))
			c->s->args_line = c->line;
		return set_value(c, &keys[i], value);
	}
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0)
			return fail(c, "unknown key '%s' in [%s]", name, section);
	return fail(c, "unknown section [%s]%s", section, "");
}

/* inih calls the reader once per line: counting here gives handler a line number. */
static char *reader(char *str, int num, void *stream)
{
	struct ctx *c = stream;
	const char *nl;
	size_t len;

	if (!*c->pos)
		return NULL;
	nl = strchr(c->pos, '\n');
	len = nl ? (size_t)(nl - c->pos) + 1 : strlen(c->pos);
	if (len >= (size_t)num)
		len = (size_t)num - 1;
	memcpy(str, c->pos, len);
	str[len] = 0;
	c->pos += len;
	c->line++;
	return str;
}

static void set_defaults(struct ctx *c)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].dflt && keys[i].type != K_STR)
			set_value(c, &keys[i], keys[i].dflt);
}

int scenario_parse_string(const char *name, const char *text, struct scenario *s,
			  char *err, size_t errlen)
{
	struct ctx c = { .s = s, .name = name, .text = text, .pos = text, .err = err, .errlen = errlen };
	int r;

	memset(s, 0, sizeof *s);
	set_defaults(&c);
	r = ini_parse_stream(reader, &c, handler, &c);
	if (c.failed)
		return -EINVAL;
	if (r > 0) {
		snprintf(err, errlen, "scenario %s:%d: not a 'key = value' line or [section]", name, r);
		return -EINVAL;
	}
	if (r < 0) {
		snprintf(err, errlen, "scenario %s: cannot parse (%d)", name, r);
		return -EINVAL;
	}
	if (!s->workload[0]) {
		snprintf(err, errlen, "scenario %s: [workload] name is required", name);
		return -EINVAL;
	}
	if (s->nprobes == 0) {
		snprintf(err, errlen, "scenario %s: [probes] needs at least one 'probe = SPEC'", name);
		return -EINVAL;
	}
	if (strstr(s->args, "{data}") && !s->data_size) {
		snprintf(err, errlen, "scenario %s: [workload] args use {data} but data_size is not set", name);
		return -EINVAL;
	}
	if (s->maxcpus && s->maxcpus < s->cpus) {
		snprintf(err, errlen, "scenario %s: [machine] maxcpus %u is below cpus %u", name,
			 s->maxcpus, s->cpus);
		return -EINVAL;
	}
	s->text = strdup(text);
	if (!s->text)
		return -ENOMEM;
	/* name = basename without .ini */
	const char *b = strrchr(name, '/');
	b = b ? b + 1 : name;
	snprintf(s->name, sizeof s->name, "%s", b);
	char *dot = strrchr(s->name, '.');
	if (dot && strcmp(dot, ".ini") == 0)
		*dot = 0;
	snprintf(s->path, sizeof s->path, "%s", name);
	return 0;
}

int scenario_load(const char *path, struct scenario *s, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (!f) {
		r = -errno;
		snprintf(err, errlen, "scenario %s: %s", path, strerror(errno));
		return r;
	}
	FILE *m = open_memstream(&buf, &len);
	char chunk[4096];
	size_t n;
	while (m && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	if (!m || fclose(m) != 0) {
		free(buf);
		snprintf(err, errlen, "scenario %s: out of memory", path);
		return -ENOMEM;
	}
	r = scenario_parse_string(path, buf, s, err, errlen);
	free(buf);
	return r;
}

void scenario_free(struct scenario *s)
{
	free(s->text);
	s->text = NULL;
}
