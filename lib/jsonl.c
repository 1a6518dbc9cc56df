#include "jsonl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void oom_abort(void)
{
	static const char m[] = "jsonl: out of memory building an event\n";
	(void)!write(2, m, sizeof m - 1);
	abort();
}

void jsonl_init(struct jsonl *w, int fd, uint64_t t0_ns)
{
	memset(w, 0, sizeof *w);
	w->fd = fd;
	w->t0_ns = t0_ns;
}

json_t *jsonl_new(const struct jsonl *w, const char *type, uint64_t now_ns)
{
	json_t *o = json_object();
	if (!o)
		oom_abort();
	jset_int(o, "t_ns", now_ns >= w->t0_ns ? (long long)(now_ns - w->t0_ns) : 0);
	jset_str(o, "type", type);
	return o;
}

int jsonl_emit(struct jsonl *w, json_t *obj)
{
	/* %.10g: PSI averages print as 0.27, not 0.27000000000000002. */
	char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	size_t len, off = 0;

	json_decref(obj);
	if (!s)
		oom_abort();
	len = strlen(s);
	s[len] = '\n';	/* json_dumps leaves room for the NUL we overwrite */
	len++;
	while (off < len) {
		ssize_t n = write(w->fd, s + off, len - off);
		if (n < 0) {
			int e = -errno;
			if (e == -EINTR)
				continue;
			if (!w->error)
				w->error = e;
			free(s);
			return e;
		}
		off += (size_t)n;
	}
	free(s);
	w->lines++;
	return 0;
}

static void set(json_t *o, const char *k, json_t *v)
{
	if (!v || json_object_set_new(o, k, v))
		oom_abort();
}

/* Strings from the kernel (comm, kmsg text) are bytes, not UTF-8: keep
 * ASCII, replace anything else with '?', rather than lose the event. */
void jset_str(json_t *o, const char *k, const char *v)
{
	json_t *j = json_string(v ? v : "");

	if (!j && v) {
		size_t n = strlen(v);
		char *clean = malloc(n + 1);
		if (!clean)
			oom_abort();
		for (size_t i = 0; i <= n; i++)
			clean[i] = (v[i] & 0x80) ? '?' : v[i];
		j = json_string(clean);
		free(clean);
	}
	set(o, k, j);
}
void jset_int(json_t *o, const char *k, long long v) { set(o, k, json_integer(v)); }
void jset_real(json_t *o, const char *k, double v) { set(o, k, json_real(v)); }
void jset_bool(json_t *o, const char *k, int v) { set(o, k, json_boolean(v)); }
