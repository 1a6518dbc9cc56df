#include "probe.h"
#include "parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct probe_ops *probe_find(const char *name)
{
	for (size_t i = 0; probe_registry[i]; i++)
		if (strcmp(probe_registry[i]->name, name) == 0)
			return probe_registry[i];
	return NULL;
}

int probe_from_spec(struct probe *p, const char *spec, char *err, size_t errlen)
{
	char name[32];
	const char *colon = strchr(spec, ':');
	size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);
	const struct probe_ops *ops;
	int r;

	memset(p, 0, sizeof *p);
	for (int i = 0; i < PROBE_MAX_FDS; i++)
		p->fd[i] = -1;
	if (strlen(spec) >= sizeof p->spec) {
		snprintf(err, errlen, "probe spec '%.40s...' is too long", spec);
		return -EINVAL;
	}
	if (nlen == 0 || nlen >= sizeof name) {
		snprintf(err, errlen, "probe spec '%s': no probe name", spec);
		return -EINVAL;
	}
	memcpy(name, spec, nlen);
	name[nlen] = 0;
	ops = probe_find(name);
	if (!ops) {
		snprintf(err, errlen, "probe spec '%s': unknown probe '%s' (see 'pnbench probes')",
			 spec, name);
		return -EINVAL;
	}
	p->ops = ops;
	snprintf(p->spec, sizeof p->spec, "%s", spec);
	if (ops->priv_size) {
		p->priv = calloc(1, ops->priv_size);
		if (!p->priv) {
			snprintf(err, errlen, "probe spec '%s': out of memory", spec);
			return -ENOMEM;
		}
	}
	char why[PROBE_ERR_LEN] = "";
	r = ops->parse(p, spec + nlen, why, sizeof why);
	if (r) {
		snprintf(err, errlen, "probe spec '%s': %s", spec, why[0] ? why : "invalid");
		probe_free(p);
		return r;
	}
	return 0;
}

void probe_close_fds(struct probe *p, struct jsonl *out)
{
	(void)out;
	for (int i = 0; i < p->nfd; i++) {
		if (p->fd[i] >= 0)
			close(p->fd[i]);
		p->fd[i] = -1;
	}
	p->nfd = 0;
}

void probe_free(struct probe *p)
{
	free(p->priv);
	p->priv = NULL;
}

json_t *probe_event(const struct probe *p, struct jsonl *out, const char *type,
		    uint64_t now_ns)
{
	json_t *o = jsonl_new(out, type, now_ns);
	jset_str(o, "probe", p->spec);
	jset_str(o, "mech", p->ops->name);
	return o;
}

int probe_split_args(const char *args, char *buf, size_t buflen, char **fields, int max)
{
	int n = 0;
	char *s, *save = NULL, *tok;

	if (*args == ':')
		args++;
	if (strlen(args) >= buflen)
		return -E2BIG;
	strcpy(buf, args);
	if (!*buf)
		return 0;
	/* strtok would merge empty fields: "a::b" must be an error, so split by hand. */
	s = buf;
	for (;;) {
		tok = s;
		char *c = strchr(s, ':');
		if (n >= max)
			return -E2BIG;
		fields[n++] = tok;
		if (!c)
			break;
		*c = 0;
		s = c + 1;
	}
	(void)save;
	return n;
}

/* ---- levels ---------------------------------------------------------------- */

static int level_matches(const char *pattern, const char *level)
{
	size_t n = strlen(pattern);

	if (n && pattern[n - 1] == '*')
		return !strncmp(pattern, level, n - 1);
	return !strcmp(pattern, level);
}

const struct probe_level *probe_level_of(const struct probe_ops *ops, const char *level)
{
	for (const struct probe_level *l = ops && ops->levels ? ops->levels : NULL; l && l->name; l++)
		if (level_matches(l->name, level))
			return l;
	return NULL;
}

int probe_level_rank(const struct probe_ops *ops, const char *level)
{
	const struct probe_level *l = probe_level_of(ops, level);
	size_t n = l ? strlen(l->name) : 0;
	uint64_t num;

	if (!l)
		return 2000;
	if (l->name[n - 1] != '*')
		return (int)(l - ops->levels);
	if (l->by_number_desc && !pnb_parse_u64(level + n - 1, &num))
		return 100 + (int)(1000 - (num > 1000 ? 1000 : num));
	return 2000;
}

void probe_silent_level(const struct probe_ops *ops, const char *spec, char *buf, size_t len)
{
	snprintf(buf, len, "*");
	if (!ops)
		return;
	if (ops->level_in_spec) {
		const char *a = strchr(spec, ':');
		size_t n = a ? strcspn(a + 1, ":") : 0;
		if (n && n < len) {
			memcpy(buf, a + 1, n);
			buf[n] = 0;
		}
		return;
	}
	if (ops->levels && ops->levels[0].name && !ops->levels[1].name &&
	    !strchr(ops->levels[0].name, '*'))
		snprintf(buf, len, "%s", ops->levels[0].name);
}
