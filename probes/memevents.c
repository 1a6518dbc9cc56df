/* cgroup v2 memory.events / memory.events.local: memevents[:local].
 *
 * The file holds counters (low, high, max, oom, oom_kill, oom_group_kill,
 * ...).  When one changes the kernel calls cgroup_file_notify() ->
 * kernfs_notify(), which bumps the open node's event count and wakes pollers;
 * kernfs_generic_poll() then reports EPOLLERR|EPOLLPRI until the file is read
 * again (reading re-syncs the open file's event count).  A removed cgroup
 * also reports EPOLLERR|EPOLLPRI, and reading it then fails with ENODEV.
 * Documentation/admin-guide/cgroup-v2.rst: "A value change in this file
 * generates a file modified event."  memory.events.local arrived in 5.2. */
#include "probe.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define EVENTS_TEXT_MAX 4096

struct memevents_priv {
	int local;
	char path[4096];		/* root-prefixed memory.events[.local] */
	struct pnb_kv last;
};

static const char *events_file(const struct memevents_priv *s)
{
	return s->local ? "memory.events.local" : "memory.events";
}

static int memevents_parse(struct probe *p, const char *args, char *err, size_t errlen)
{
	struct memevents_priv *s = p->priv;
	char buf[PROBE_SPEC_LEN];
	char *f[1];
	int n = probe_split_args(args, buf, sizeof buf, f, 1);

	if (n == -E2BIG) {
		snprintf(err, errlen, "too many fields (want memevents[:local])");
		return -EINVAL;
	}
	s->local = 0;
	if (n == 1) {
		if (strcmp(f[0], "local") != 0) {
			snprintf(err, errlen, "bad argument '%s' (want 'local' or nothing)", f[0]);
			return -EINVAL;
		}
		s->local = 1;
	}
	return 0;
}

/* Why there is no cgroup2 memcg: where cgroup2 is mounted, which controllers
 * it offers, and who owns the memory controller instead. */
static void explain_no_memcg(const char *root, char *why, size_t whylen)
{
	char mounts[4096], v2[1024] = "", v1mem[1024] = "", ctl[512], rel[1100];
	struct mntent ent, *m;
	char strbuf[4096];
	ssize_t n;
	FILE *f;

	if (pnb_path(mounts, sizeof mounts, root, "/proc/self/mounts") ||
	    !(f = setmntent(mounts, "r"))) {
		snprintf(why, whylen, "no cgroup2 memory controller for this run "
			 "(and %s is unreadable)", mounts);
		return;
	}
	while ((m = getmntent_r(f, &ent, strbuf, sizeof strbuf))) {
		if (!v2[0] && strcmp(m->mnt_type, "cgroup2") == 0)
			snprintf(v2, sizeof v2, "%s", m->mnt_dir);
		else if (!v1mem[0] && strcmp(m->mnt_type, "cgroup") == 0 &&
			 hasmntopt(m, "memory"))
			snprintf(v1mem, sizeof v1mem, "%s", m->mnt_dir);
	}
	endmntent(f);
	if (!v2[0]) {
		snprintf(why, whylen, "no cgroup2 memory controller for this run "
			 "(no cgroup2 is mounted%s%s)",
			 v1mem[0] ? "; memory is on cgroup v1 at " : "", v1mem);
		return;
	}
	snprintf(rel, sizeof rel, "%s/cgroup.controllers", v2);
	n = pnb_read_file(root, rel, ctl, sizeof ctl);
	if (n < 0) {
		snprintf(why, whylen, "no cgroup2 memory controller for this run "
			 "(cgroup2 at %s: cannot read cgroup.controllers: %s)", v2,
			 strerror((int)-n));
		return;
	}
	ctl[strcspn(ctl, "\n")] = 0;
	snprintf(why, whylen, "no cgroup2 memory controller for this run "
		 "(cgroup2 at %s has controllers: %s%s%s)", v2, ctl[0] ? ctl : "none",
		 v1mem[0] ? "; memory is bound to cgroup v1 at " : "", v1mem);
}

static int memevents_supported(const struct probe *p, const struct probe_env *env,
			       char *why, size_t whylen)
{
	const struct memevents_priv *s = p->priv;
	char rel[600], text[EVENTS_TEXT_MAX];
	struct pnb_kv *kv;
	ssize_t n;
	int r;

	if (!env->memcg_v2[0]) {
		explain_no_memcg(env->root, why, whylen);
		return -ENOENT;
	}
	snprintf(rel, sizeof rel, "%s/%s", env->memcg_v2, events_file(s));
	n = pnb_read_file(env->root, rel, text, sizeof text);
	if (n < 0) {
		snprintf(why, whylen, "reading %s: %s%s", rel, strerror((int)-n),
			 n == -ENOENT && s->local ? " (memory.events.local needs 5.2+)" : "");
		return (int)n;
	}
	kv = malloc(sizeof *kv);
	if (!kv)
		return -ENOMEM;
	r = pnb_parse_kv(text, kv);
	free(kv);
	if (r) {
		snprintf(why, whylen, "%s is not a 'key count' table", rel);
		return -EINVAL;
	}
	return 0;
}

/* Read the whole file from offset 0 on our fd: for kernfs this also
 * re-arms POLLPRI (the open file's event count catches up). */
static int read_counters(int fd, struct pnb_kv *kv)
{
	char text[EVENTS_TEXT_MAX];
	ssize_t n = pread(fd, text, sizeof text - 1, 0);

	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof text - 1)
		return -EFBIG;
	text[n] = 0;
	return pnb_parse_kv(text, kv);
}

static int memevents_open(struct probe *p, const struct probe_env *env, struct jsonl *out,
			  char *why, size_t whylen)
{
	struct memevents_priv *s = p->priv;
	char rel[600];
	int fd, r;

	(void)out;
	if (!env->memcg_v2[0]) {
		explain_no_memcg(env->root, why, whylen);
		return -ENOENT;
	}
	snprintf(rel, sizeof rel, "%s/%s", env->memcg_v2, events_file(s));
	if ((r = pnb_path(s->path, sizeof s->path, env->root, rel))) {
		snprintf(why, whylen, "path %s too long", rel);
		return r;
	}
	fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(why, whylen, "opening %s: %s", s->path, strerror(-r));
		return r;
	}
	r = read_counters(fd, &s->last);
	if (r) {
		snprintf(why, whylen, "reading %s: %s", s->path,
			 r == -EINVAL ? "not a 'key count' table" : strerror(-r));
		close(fd);
		return r;
	}
	p->fd[0] = fd;
	p->events[0] = EPOLLPRI;
	p->nfd = 1;
	return 0;
}

static int memevents_handle(struct probe *p, int idx, uint64_t now_ns, struct jsonl *out)
{
	struct memevents_priv *s = p->priv;
	struct pnb_kv *now;
	int r;

	(void)idx;
	now = malloc(sizeof *now);
	if (!now)
		return -ENOMEM;
	/* -ENODEV here means the cgroup is gone: the recorder drops us. */
	r = read_counters(p->fd[0], now);
	if (r)
		goto out;
	for (int i = 0; i < now->n; i++) {
		uint64_t was = pnb_kv_or(&s->last, now->e[i].key, 0);
		json_t *o;

		if (now->e[i].val <= was)
			continue;
		o = probe_event(p, out, "notify", now_ns);
		jset_str(o, "level", now->e[i].key);
		jset_int(o, "delta", (long long)(now->e[i].val - was));
		jset_int(o, "count", (long long)now->e[i].val);
		r = jsonl_emit(out, o);
		if (r)
			break;
	}
	s->last = *now;
out:
	free(now);
	return r;
}

static const struct probe_level memevents_levels[] = {
	{ "low", PROBE_CLAIM_RECLAIM, .activity_only = 1, .help = "reclaimed although under memory.low" },
	{ "high", PROBE_CLAIM_DIRECT, .activity_only = 1, .help = "over memory.high: throttled into direct reclaim" },
	{ "max", PROBE_CLAIM_DIRECT, .activity_only = 1, .help = "about to exceed memory.max: direct reclaim" },
	{ "oom", PROBE_CLAIM_OOM, .help = "at its limit, an allocation about to fail" },
	{ "oom_kill", PROBE_CLAIM_OOM, .help = "a task of the memcg was OOM-killed" },
	{ "oom_group_kill", PROBE_CLAIM_OOM, .help = "a group OOM kill" },
	{ "oom*", PROBE_CLAIM_OOM },
	{ NULL },
};

const struct probe_ops probe_memevents = {
	.name = "memevents",
	.example = "memevents",
	.synopsis = "memevents[:local]",
	.summary = "cgroup v2 memory.events (or .local) counters of the run's memcg, on POLLPRI",
	.help = "The run's cgroup2 memory.events (or with :local memory.events.local, 5.2+), "
		"on POLLPRI: one notification per counter that moved, its level the counter's name.",
	.role = PROBE_NOTIFIER,
	.levels = memevents_levels,
	.signals_field = "delta",
	.parse = memevents_parse,
	.supported = memevents_supported,
	.open = memevents_open,
	.handle = memevents_handle,
	.close = probe_close_fds,
	.priv_size = sizeof(struct memevents_priv),
};
