#include "scenario.h"
#include "parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"

enum key_type { K_STR, K_UINT, K_DURATION, K_SIZE, K_EXPECT, K_SWAP, K_PROBE, K_TCG, K_HIER,
		K_LRU_GEN, K_PSIZE, K_MSECS, K_KILLER, K_ACTION, K_PCT };

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
	{ "machine", "swap", K_SWAP, F(swap), 0, 0, "none",
	  "none | zram:SIZE[:ALGO] (SIZE like 128M or 50% of memory; ALGO lzo, lzo-rle, lz4, "
	  "lz4hc, zstd, 842, deflate; default the kernel's)" },
	{ "machine", "lru_gen", K_LRU_GEN, F(lru_gen), 0, 0, "kernel",
	  "MGLRU: on | off (/sys/kernel/mm/lru_gen/enabled), kernel: as it boots" },
	{ "machine", "min_ttl_ms", K_MSECS, F(min_ttl_ms), 0, 3600 * 1000, "",
	  "MGLRU thrashing prevention (/sys/kernel/mm/lru_gen/min_ttl_ms); unset: the kernel's" },
	{ "machine", "hierarchy", K_HIER, F(hierarchy), 0, 0, "v1",
	  "memory controller on v1 (vmpressure) | v2 (cgroup2) | both: each repetition boots both" },
	{ "machine", "memory_max", K_PSIZE, F(memory_max), 0, 0, "",
	  "cgroup2 boots: memory.max of the workload's cgroup (size or % of memory)" },
	{ "machine", "memory_high", K_PSIZE, F(memory_high), 0, 0, "",
	  "cgroup2 boots: memory.high of the workload's cgroup (size or % of memory)" },
	{ "machine", "cmdline", K_STR, F(cmdline), 0, 0, "", "extra guest kernel command line" },
	{ "machine", "tcg", K_TCG, F(tcg), 0, 0, "single",
	  "without KVM: single (one host thread; no cross-modifying-code oops) | multi (a thread per vCPU)" },
	{ "killer", "mechanism", K_KILLER, F(killer), 0, 0, "none",
	  "none | a notification probe spec driving pnbench-killer (psi:some:70ms:1s) | earlyoom | nohang (unsupported: no Python in the guest)" },
	{ "killer", "action", K_ACTION, F(killer_action), 0, 0, "kill",
	  "kill (lmkd's policy) | reclaim (process_madvise MADV_PAGEOUT, memory.reclaim)" },
	{ "killer", "margin", K_PCT, F(killer_margin_pct), 0, 100, "25",
	  "a kill while MemAvailable is above this % of memory is unnecessary" },
};
#define NKEYS (sizeof keys / sizeof keys[0])

void scenario_print_keys(FILE *f)
{
	static const char *type_names[] = {
		[K_STR] = "text", [K_UINT] = "number", [K_DURATION] = "duration",
		[K_SIZE] = "size", [K_EXPECT] = "oom|no-oom|any", [K_SWAP] = "none|zram:SZ[:A]",
		[K_PROBE] = "probe spec", [K_TCG] = "single|multi", [K_HIER] = "v1|v2|both",
		[K_LRU_GEN] = "on|off|kernel", [K_PSIZE] = "size or N%", [K_MSECS] = "milliseconds",
		[K_KILLER] = "none|spec|earlyoom", [K_ACTION] = "kill|reclaim", [K_PCT] = "percent",
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

const char *scenario_tcg_name(enum scn_tcg t)
{
	return t == SCN_TCG_MULTI ? "multi" : "single";
}

const char *scenario_expect_name(enum scn_expect e)
{
	switch (e) {
	case SCN_EXPECT_OOM: return "oom";
	case SCN_EXPECT_NO_OOM: return "no-oom";
	default: return "any";
	}
}

const char *scenario_hier_name(enum scn_hier h)
{
	return h == SCN_HIER_V2 ? "v2" : h == SCN_HIER_BOTH ? "both" : "v1";
}

/* Compressors zram can be given by name (crypto API names, or zram's own
 * backend names on newer kernels); the kernel decides whether it has one. */
static const char *const zram_algos[] = { "lzo", "lzo-rle", "lz4", "lz4hc", "zstd", "842",
					  "deflate", NULL };

/* "128M" or "50%": 0, or -EINVAL. */
static int parse_psize(const char *v, struct scn_size *z)
{
	size_t n = strlen(v);
	uint64_t u;

	memset(z, 0, sizeof *z);
	if (n > 1 && v[n - 1] == '%') {
		char num[16];
		if (n - 1 >= sizeof num)
			return -EINVAL;
		memcpy(num, v, n - 1);
		num[n - 1] = 0;
		if (pnb_parse_u64(num, &u) || u < 1 || u > 100)
			return -EINVAL;
		z->pct = (unsigned)u;
		return 0;
	}
	if (pnb_parse_size_bytes(v, &u) || u < (1ULL << 20) || u > (1ULL << 40))
		return -EINVAL;
	z->bytes = u;
	return 0;
}

uint64_t scenario_size_bytes(const struct scenario *s, const struct scn_size *z)
{
	/* Whole pages: zram's disksize and the cgroup files round to them. */
	if (z->pct)
		return s->memory * z->pct / 100 / 4096 * 4096;
	return z->bytes;
}

static void fmt_psize(const struct scn_size *z, char *buf, size_t len)
{
	if (z->pct)
		snprintf(buf, len, "%u%%", z->pct);
	else if (z->bytes % (1ULL << 20) == 0)
		snprintf(buf, len, "%lluM", (unsigned long long)(z->bytes >> 20));
	else
		snprintf(buf, len, "%llu", (unsigned long long)z->bytes);
}

int scenario_shape_env(const struct scenario *s, const char *hier, char *buf, size_t len)
{
	size_t o = 0;
	int n;

#define ADD(...) do { \
		n = snprintf(buf + o, len - o, __VA_ARGS__); \
		if (n < 0 || (size_t)n >= len - o) \
			return -1; \
		o += (size_t)n; \
	} while (0)
	if (!len)
		return -1;
	buf[0] = 0;
	ADD("memory_hierarchy=%s\n", hier);
	if (s->swap == SCN_SWAP_ZRAM)
		ADD("swap=zram:%llu%s%s\n", (unsigned long long)scenario_size_bytes(s, &s->swap_size),
		    s->swap_algo[0] ? ":" : "", s->swap_algo);
	if (s->lru_gen != SCN_LRU_GEN_KERNEL)
		ADD("lru_gen=%s\n", s->lru_gen == SCN_LRU_GEN_ON ? "on" : "off");
	if (s->min_ttl_ms >= 0)
		ADD("min_ttl_ms=%lld\n", (long long)s->min_ttl_ms);
#undef ADD
	return 0;
}

void scenario_knobs_text(const struct scenario *s, char *buf, size_t len)
{
	char a[32], b[32];
	size_t o = 0;

	buf[0] = 0;
#define ADD(...) do { int n_ = snprintf(buf + o, len - o, __VA_ARGS__); \
	if (n_ > 0 && (size_t)n_ < len - o) o += (size_t)n_; } while (0)
	if (s->swap == SCN_SWAP_ZRAM) {
		fmt_psize(&s->swap_size, a, sizeof a);
		ADD("%sswap=zram:%s%s%s", o ? " " : "", a, s->swap_algo[0] ? ":" : "", s->swap_algo);
	}
	if (s->lru_gen != SCN_LRU_GEN_KERNEL)
		ADD("%slru_gen=%s", o ? " " : "", s->lru_gen == SCN_LRU_GEN_ON ? "on" : "off");
	if (s->min_ttl_ms >= 0)
		ADD("%smin_ttl_ms=%lld", o ? " " : "", (long long)s->min_ttl_ms);
	if (s->memory_max.bytes || s->memory_max.pct) {
		fmt_psize(&s->memory_max, b, sizeof b);
		ADD("%smemory_max=%s", o ? " " : "", b);
	}
	if (s->memory_high.bytes || s->memory_high.pct) {
		fmt_psize(&s->memory_high, b, sizeof b);
		ADD("%smemory_high=%s", o ? " " : "", b);
	}
#undef ADD
}

struct ctx {
	struct scenario *s;
	const char *name;
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

/* swap = none | zram:SIZE[:ALGO] */
static int set_swap(struct ctx *c, const struct scn_key *k, const char *v)
{
	char buf[64], *size, *algo;

	if (!strcmp(v, "none")) {
		c->s->swap = SCN_SWAP_NONE;
		return 1;
	}
	if (strncmp(v, "zram:", 5) || strlen(v) >= sizeof buf)
		return fail(c, "%s: '%s' is not none or zram:SIZE[:ALGO]", k->key, v);
	snprintf(buf, sizeof buf, "%s", v + 5);
	size = buf;
	algo = strchr(buf, ':');
	if (algo)
		*algo++ = 0;
	if (parse_psize(size, &c->s->swap_size))
		return fail(c, "%s: '%s': SIZE must be 1M..1T or 1%%..100%% of memory", k->key, v);
	c->s->swap_algo[0] = 0;
	if (algo) {
		int known = 0;
		for (int i = 0; zram_algos[i]; i++)
			known |= !strcmp(algo, zram_algos[i]);
		if (!known)
			return fail(c, "%s: '%s': ALGO is not one of lzo, lzo-rle, lz4, lz4hc, zstd, "
				    "842, deflate", k->key, v);
		snprintf(c->s->swap_algo, sizeof c->s->swap_algo, "%s", algo);
	}
	c->s->swap = SCN_SWAP_ZRAM;
	return 1;
}

static int add_probe(struct ctx *c, const struct scn_key *k, const char *v)
{
	if (!*v)
		return fail(c, "%s: empty probe spec%s", k->key, "");
	if (c->s->nprobes >= SCN_MAX_PROBES)
		return fail(c, "%s: more than 64 probes%s", k->key, "");
	if (strlen(v) >= sizeof c->s->probes[0])
		return fail(c, "%s: spec too long ('%.40s...')", k->key, v);
	/* Twice the same spec would arm it twice and merge both into
	 * one group of the analysis, doubling its counts. */
	for (int i = 0; i < c->s->nprobes; i++)
		if (!strcmp(c->s->probes[i], v))
			return fail(c, "probe '%s' given twice%s", v, "");
	strcpy(c->s->probes[c->s->nprobes++], v);
	return 1;
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
		return set_swap(c, k, v);
	case K_HIER:
		if (!strcmp(v, "v1")) c->s->hierarchy = SCN_HIER_V1;
		else if (!strcmp(v, "v2")) c->s->hierarchy = SCN_HIER_V2;
		else if (!strcmp(v, "both")) c->s->hierarchy = SCN_HIER_BOTH;
		else return fail(c, "%s: '%s' is not one of v1, v2, both", k->key, v);
		return 1;
	case K_LRU_GEN:
		if (!strcmp(v, "on")) c->s->lru_gen = SCN_LRU_GEN_ON;
		else if (!strcmp(v, "off")) c->s->lru_gen = SCN_LRU_GEN_OFF;
		else if (!strcmp(v, "kernel")) c->s->lru_gen = SCN_LRU_GEN_KERNEL;
		else return fail(c, "%s: '%s' is not one of on, off, kernel", k->key, v);
		return 1;
	case K_PSIZE:
		if (parse_psize(v, (struct scn_size *)field))
			return fail(c, "%s: '%s' is not a size 1M..1T or 1%%..100%% of memory", k->key, v);
		return 1;
	case K_MSECS:
		r = pnb_parse_u64(v, &u);
		if (r || u > k->max)
			return fail(c, "%s: '%s' is not a whole number of milliseconds 0..3600000",
				    k->key, v);
		*(int64_t *)field = (int64_t)u;
		return 1;
	case K_TCG:
		if (!strcmp(v, "single")) c->s->tcg = SCN_TCG_SINGLE;
		else if (!strcmp(v, "multi")) c->s->tcg = SCN_TCG_MULTI;
		else return fail(c, "%s: '%s' is not one of single, multi", k->key, v);
		return 1;
	case K_KILLER:
		if (strlen(v) >= k->size)
			return fail(c, "%s: value too long ('%.40s...')", k->key, v);
		if (!*v)
			return fail(c, "%s: empty (none, a probe spec, or earlyoom)%s", k->key, "");
		/* "none" is the baseline row: no killer at all. */
		strcpy(field, strcmp(v, "none") ? v : "");
		return 1;
	case K_ACTION:
		if (strcmp(v, "kill") && strcmp(v, "reclaim"))
			return fail(c, "%s: '%s' is not one of kill, reclaim", k->key, v);
		strcpy(field, v);
		return 1;
	case K_PCT:
		{
			char num[32];
			snprintf(num, sizeof num, "%s", v);
			if (num[0] && num[strlen(num) - 1] == '%')
				num[strlen(num) - 1] = 0;
			r = pnb_parse_u64(num, &u);
		}
		if (r || u > k->max)
			return fail(c, "%s: '%s' is not a percentage 0..100", k->key, v);
		*(uint64_t *)field = u;
		return 1;
	case K_PROBE:
		return add_probe(c, k, v);
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

static char *trim(char *a, char *end)
{
	while (a < end && (*a == ' ' || *a == '\t'))
		a++;
	while (end > a && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = 0;
	return a;
}

/* The INI subset of the scenario files, read here rather than by libinih:
 * Debian's build of it has a 200-byte line buffer (a longer cmdline came
 * back as two values) and inline ';' comments (cutting args), both fixed
 * at its compile time.  Here: one 'key = value' (or 'key: value') per
 * line of any length, [section] headers, comments only at the start of a
 * line (';' or '#'), no continuation lines.  text is len bytes, no NUL. */
static void parse_lines(struct ctx *c, char *text, size_t len)
{
	char section[64] = "", *p = text, *end = text + len;

	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	for (c->line = 1; p < end && !c->failed; c->line++) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
		char *l = trim(p, eol), *sep;

		p = nl ? nl + 1 : end;
		if (!*l || *l == ';' || *l == '#')
			continue;
		if (*l == '[') {
			size_t n = strlen(l);
			if (l[n - 1] != ']') {
				fail(c, "section header '%.40s' lacks ']'%s", l, "");
				return;
			}
			l[n - 1] = 0;
			l = trim(l + 1, l + n - 1);
			snprintf(section, sizeof section, "%s", l);
			continue;
		}
		if (!(sep = strpbrk(l, "=:"))) {
			fail(c, "not a 'key = value' line or [section]%s%s", "", "");
			return;
		}
		char *v = trim(sep + 1, l + strlen(l));
		*sep = 0;
		handler(c, section, trim(l, sep), v);
	}
}

static void set_defaults(struct ctx *c)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].dflt && *keys[i].dflt && keys[i].type != K_STR)
			set_value(c, &keys[i], keys[i].dflt);
	c->s->min_ttl_ms = -1;
}

/* Knobs that contradict each other: 0, or -EINVAL with why. */
static int check_machine(const struct scenario *s, const char *name, char *err, size_t errlen)
{
	if (s->min_ttl_ms >= 0 && s->lru_gen == SCN_LRU_GEN_OFF) {
		snprintf(err, errlen, "scenario %s: [machine] min_ttl_ms is MGLRU's, and lru_gen is off",
			 name);
		return -EINVAL;
	}
	if (s->hierarchy == SCN_HIER_V1 && (s->memory_max.bytes || s->memory_max.pct ||
					    s->memory_high.bytes || s->memory_high.pct)) {
		snprintf(err, errlen, "scenario %s: [machine] memory_max/memory_high apply to cgroup2 "
			 "boots, and hierarchy is v1 (say v2 or both)", name);
		return -EINVAL;
	}
	return 0;
}

int scenario_set_machine(struct scenario *s, const char *assignment, char *err, size_t errlen)
{
	char key[64];
	const char *eq = strchr(assignment, '=');
	struct ctx c = { .s = s, .name = s->name, .err = err, .errlen = errlen };

	if (!eq || eq == assignment || (size_t)(eq - assignment) >= sizeof key) {
		snprintf(err, errlen, "machine override '%s': not KEY=VALUE", assignment);
		return -EINVAL;
	}
	snprintf(key, sizeof key, "%.*s", (int)(eq - assignment), assignment);
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].section, "machine") || strcmp(keys[i].key, key))
			continue;
		/* All or nothing: a refused override leaves s as it was. */
		struct scenario was = *s;
		/* Errors name the override, not a line of the file. */
		set_value(&c, &keys[i], eq + 1);
		if (c.failed) {
			char why[400];
			const char *p = strstr(err, ": ");
			snprintf(why, sizeof why, "%s", p ? p + 2 : err);
			snprintf(err, errlen, "machine override '%s': %s", assignment, why);
			*s = was;
			return -EINVAL;
		}
		if (check_machine(s, s->name, err, errlen)) {
			*s = was;
			return -EINVAL;
		}
		return 0;
	}
	snprintf(err, errlen, "machine override '%s': no key '%s' in [machine] (pnbench scenario "
		 "keys)", assignment, key);
	return -EINVAL;
}

/* text: len bytes, NUL-terminated at text[len]. */
static int parse_buffer(const char *name, const char *text, size_t len, struct scenario *s,
			char *err, size_t errlen)
{
	struct ctx c = { .s = s, .name = name, .err = err, .errlen = errlen };
	const char *nul = memchr(text, 0, len);
	char *copy;

	memset(s, 0, sizeof *s);
	/* A NUL would end the text early and hide what follows it. */
	if (nul) {
		int line = 1;
		for (const char *q = text; q < nul; q++)
			line += *q == '\n';
		snprintf(err, errlen, "scenario %s:%d: a NUL byte: not a text file", name, line);
		return -EINVAL;
	}
	set_defaults(&c);
	if (!(copy = malloc(len + 1)))
		return -ENOMEM;
	memcpy(copy, text, len + 1);
	parse_lines(&c, copy, len);
	free(copy);
	if (c.failed)
		return -EINVAL;
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
	if (check_machine(s, name, err, errlen))
		return -EINVAL;
	if (s->maxcpus && s->maxcpus < s->cpus) {
		snprintf(err, errlen, "scenario %s: [machine] maxcpus %u is below cpus %u", name,
			 s->maxcpus, s->cpus);
		return -EINVAL;
	}
	if (!(s->text = strndup(text, len)))
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

int scenario_parse_string(const char *name, const char *text, struct scenario *s,
			  char *err, size_t errlen)
{
	return parse_buffer(name, text, strlen(text), s, err, errlen);
}

int scenario_load(const char *path, struct scenario *s, char *err, size_t errlen)
{
	/* O_NONBLOCK: a FIFO must not hang the open before fstat refuses it. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY), r;
	struct stat st;
	char *buf;
	size_t len = 0;

	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "scenario %s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "scenario %s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_size > SCN_MAX_FILE) {
		snprintf(err, errlen, "scenario %s: larger than %d MiB: not a scenario", path,
			 SCN_MAX_FILE >> 20);
		close(fd);
		return -EINVAL;
	}
	/* One byte more than allowed: a file that grows while read is refused too. */
	if (!(buf = malloc(SCN_MAX_FILE + 2))) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, SCN_MAX_FILE + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(err, errlen, "scenario %s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return r;
		}
		len += (size_t)n;
		if (n == 0 || len > SCN_MAX_FILE)
			break;
	}
	close(fd);
	if (len > SCN_MAX_FILE) {
		snprintf(err, errlen, "scenario %s: larger than %d MiB: not a scenario", path,
			 SCN_MAX_FILE >> 20);
		free(buf);
		return -EINVAL;
	}
	buf[len] = 0;
	r = parse_buffer(path, buf, len, s, err, errlen);
	free(buf);
	return r;
}

void scenario_free(struct scenario *s)
{
	free(s->text);
	s->text = NULL;
}
