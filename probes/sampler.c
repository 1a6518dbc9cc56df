/* The sampler: sample[:INTERVAL] (default 100ms, at least 10ms).
 *
 * A periodic snapshot of the counters every mechanism is built on, so the
 * analysis can say how much memory was left when a notification came and
 * what reclaim was doing.  Ticks come from an absolute CLOCK_MONOTONIC
 * timerfd aligned to the run's start (t0 + k * INTERVAL), so samples of
 * different runs land on the same t_ns grid and lateness is measurable:
 * "late_ns" is how long after its scheduled tick a sample was taken, and a
 * recorder event "missed_deadline" says how many ticks got no sample at all.
 *
 * One sample is cheap on purpose: every file is opened once and re-read
 * with pread() at offset 0 (seq_file regenerates the text), never reopened
 * per tick.  Optional sources (vmstat, PSI, the memcg files) that are
 * missing at open are left out; one that fails later is reported once as a
 * recorder event "sample_source_failed" and left out from then on. */
#include "probe.h"
#include "procfs.h"
#include "clock.h"
#include "parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define SAMPLE_DEFAULT_NS (100 * NS_PER_MS)
/* Below 10 ms the sampler's own reads (vmstat sums every CPU) become a
 * noticeable part of the load it is meant to observe. */
#define SAMPLE_MIN_NS (10 * NS_PER_MS)
#define TEXT_LEN (64 * 1024)

static const char *const meminfo_keys[] = {
	"MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached",
	"Active(file)", "Inactive(file)", "Active(anon)", "Inactive(anon)",
	"AnonPages", "Shmem", "Unevictable", "Mlocked", "SwapTotal", "SwapFree",
	"Dirty", "Writeback", "Slab", "KReclaimable", NULL,
};

/* allocstall_* are handled apart (summed); workingset_refault is the name
 * before 5.9 split it into _anon and _file. */
static const char *const vmstat_keys[] = {
	"pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd", "pgsteal_direct",
	"oom_kill", "workingset_refault_file", "workingset_refault_anon",
	"workingset_refault", "pswpin", "pswpout", "pgmajfault",
	"nr_free_pages", "nr_file_pages", NULL,
};

static const char *const v1_stat_keys[] = {
	"total_cache", "total_rss", "total_shmem", "total_inactive_file",
	"total_active_file", NULL,
};

enum src_id {
	SRC_MEMINFO, SRC_VMSTAT, SRC_PSI,
	SRC_V1_USAGE, SRC_V1_LIMIT, SRC_V1_STAT,
	SRC_V2_CURRENT, SRC_V2_MAX, SRC_V2_STAT, SRC_V2_PRESSURE,
	SRC_VIEW,
	SRC_N,
};

static const char *const src_name[SRC_N] = {
	"/proc/meminfo", "/proc/vmstat", "/proc/pressure/memory",
	"memory.usage_in_bytes", "memory.limit_in_bytes", "memory.stat",
	"memory.current", "memory.max", "memory.stat", "memory.pressure",
	"memview",
};

struct sampler_priv {
	uint64_t interval_ns;
	int fd[SRC_N];			/* preopened; -1 when absent (SRC_VIEW unused) */
	int failed[SRC_N];		/* reported once, then skipped */
	uint64_t t0_ns, next_ns;	/* next scheduled tick */
	uint64_t samples, missed;
	int memcg_version;		/* which memcg goes into "memcg": 1, 2 or 0 */
	char root[4096];
	char memcg[512];
	struct pnb_memview_src view_src;
	char text[TEXT_LEN];
	struct pnb_kv kv;
};

static int sampler_parse(struct probe *p, const char *args, char *err, size_t errlen)
{
	struct sampler_priv *s = p->priv;
	char buf[PROBE_SPEC_LEN];
	char *f[1];
	int n = probe_split_args(args, buf, sizeof buf, f, 1);

	if (n == -E2BIG) {
		snprintf(err, errlen, "too many fields (want sample[:INTERVAL])");
		return -EINVAL;
	}
	if (n == 0 && *args) {
		snprintf(err, errlen, "bad interval '' (want a duration with a unit, e.g. 100ms, "
			 "or no ':' at all for the default)");
		return -EINVAL;
	}
	s->interval_ns = SAMPLE_DEFAULT_NS;
	if (n == 1) {
		if (pnb_parse_duration_ns(f[0], &s->interval_ns)) {
			snprintf(err, errlen, "bad interval '%s' (want a duration with a unit, "
				 "e.g. 100ms)", f[0]);
			return -EINVAL;
		}
		if (s->interval_ns < SAMPLE_MIN_NS) {
			snprintf(err, errlen, "interval '%s' is below the 10ms minimum (the "
				 "sampler's own /proc reads would load the system it observes)",
				 f[0]);
			return -EINVAL;
		}
	}
	return 0;
}

static int sampler_supported(const struct probe *p, const struct probe_env *env,
			     char *why, size_t whylen)
{
	char path[4096];
	int fd, r;

	(void)p;
	if ((r = pnb_path(path, sizeof path, env->root, "/proc/meminfo"))) {
		snprintf(why, whylen, "path too long");
		return r;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(why, whylen, "cannot open %s: %s", path, strerror(-r));
		return r;
	}
	close(fd);
	return 0;
}

static void source_failed(struct probe *p, struct jsonl *out, enum src_id id, int err,
			  uint64_t now);

/* root + dir + "/" + name (dir may be "" for /proc files given whole). */
static int open_src(const char *root, const char *dir, const char *name)
{
	char rel[1024], path[4096];
	int n = snprintf(rel, sizeof rel, "%s%s%s", dir, *dir ? "/" : "", name);

	if (n < 0 || (size_t)n >= sizeof rel || pnb_path(path, sizeof path, root, rel))
		return -ENAMETOOLONG;
	n = open(path, O_RDONLY | O_CLOEXEC);
	return n < 0 ? -errno : n;
}

static void close_all(struct sampler_priv *s)
{
	for (int i = 0; i < SRC_N; i++) {
		if (s->fd[i] >= 0)
			close(s->fd[i]);
		s->fd[i] = -1;
	}
}

static int sampler_open(struct probe *p, const struct probe_env *env, struct jsonl *out,
			char *why, size_t whylen)
{
	struct sampler_priv *s = p->priv;
	struct itimerspec its = { 0 };
	uint64_t now, k;
	int fd, r;

	for (int i = 0; i < SRC_N; i++) {
		s->fd[i] = -1;
		s->failed[i] = 0;
	}
	snprintf(s->root, sizeof s->root, "%s", env->root ? env->root : "");

	fd = open_src(s->root, "", "/proc/meminfo");
	if (fd < 0) {
		snprintf(why, whylen, "cannot open %s/proc/meminfo: %s", s->root, strerror(-fd));
		return fd;
	}
	s->fd[SRC_MEMINFO] = fd;
	/* Optional: a kernel without PSI (or booted psi=0) simply has none. */
	s->fd[SRC_VMSTAT] = open_src(s->root, "", "/proc/vmstat");
	s->fd[SRC_PSI] = open_src(s->root, "", "/proc/pressure/memory");
	/* v1 wins when both are given: a hierarchy that has the memory
	 * controller bound to v1 has none in cgroup2. */
	s->memcg_version = env->memcg_v1[0] ? 1 : env->memcg_v2[0] ? 2 : 0;
	if (s->memcg_version == 1) {
		s->fd[SRC_V1_USAGE] = open_src(s->root, env->memcg_v1, "memory.usage_in_bytes");
		s->fd[SRC_V1_LIMIT] = open_src(s->root, env->memcg_v1, "memory.limit_in_bytes");
		s->fd[SRC_V1_STAT] = open_src(s->root, env->memcg_v1, "memory.stat");
	} else if (s->memcg_version == 2) {
		s->fd[SRC_V2_CURRENT] = open_src(s->root, env->memcg_v2, "memory.current");
		s->fd[SRC_V2_MAX] = open_src(s->root, env->memcg_v2, "memory.max");
		s->fd[SRC_V2_STAT] = open_src(s->root, env->memcg_v2, "memory.stat");
		s->fd[SRC_V2_PRESSURE] = open_src(s->root, env->memcg_v2, "memory.pressure");
	}
	if (s->memcg_version) {
		enum src_id first = s->memcg_version == 1 ? SRC_V1_USAGE : SRC_V2_CURRENT;
		enum src_id last = s->memcg_version == 1 ? SRC_V1_STAT : SRC_V2_PRESSURE;
		const char *dir = s->memcg_version == 1 ? env->memcg_v1 : env->memcg_v2;
		/* Without its usage the memcg is not there (or has no memory
		 * controller): the run is misconfigured, say so. */
		if (s->fd[first] < 0) {
			r = s->fd[first];
			snprintf(why, whylen, "memcg v%d %s: cannot open %s: %s", s->memcg_version,
				 dir, src_name[first], strerror(-r));
			s->fd[first] = -1;
			close_all(s);
			return r;
		}
		/* memory.pressure needs PSI: its absence is a kernel fact, not a fault. */
		for (int i = first + 1; i <= (int)last; i++)
			if (s->fd[i] < 0 && !(i == SRC_V2_PRESSURE && s->fd[i] == -ENOENT))
				source_failed(p, out, (enum src_id)i, s->fd[i], pnb_mono_ns());
	}
	for (int i = 0; i < SRC_N; i++)
		if (s->fd[i] < 0)
			s->fd[i] = -1;

	memset(&s->view_src, 0, sizeof s->view_src);
	s->memcg[0] = 0;
	if (env->domain == PNB_DOMAIN_MEMCG_V1)
		snprintf(s->memcg, sizeof s->memcg, "%s", env->memcg_v1);
	else if (env->domain == PNB_DOMAIN_MEMCG_V2)
		snprintf(s->memcg, sizeof s->memcg, "%s", env->memcg_v2);
	s->view_src.root = s->root;
	s->view_src.domain = env->domain;
	s->view_src.memcg_dir = s->memcg;
	s->view_src.keep_open = 1;

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(why, whylen, "timerfd_create: %s", strerror(-r));
		close_all(s);
		return r;
	}
	/* First tick: the next multiple of INTERVAL after t0 still ahead. */
	s->t0_ns = out->t0_ns;
	now = pnb_mono_ns();
	k = now > s->t0_ns ? (now - s->t0_ns) / s->interval_ns + 1 : 1;
	s->next_ns = s->t0_ns + k * s->interval_ns;
	its.it_value.tv_sec = (time_t)(s->next_ns / NS_PER_S);
	its.it_value.tv_nsec = (long)(s->next_ns % NS_PER_S);
	its.it_interval.tv_sec = (time_t)(s->interval_ns / NS_PER_S);
	its.it_interval.tv_nsec = (long)(s->interval_ns % NS_PER_S);
	if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		r = -errno;
		snprintf(why, whylen, "timerfd_settime: %s", strerror(-r));
		close(fd);
		close_all(s);
		return r;
	}
	s->samples = s->missed = 0;
	p->fd[0] = fd;
	p->events[0] = 0;
	p->nfd = 1;
	return 0;
}

/* "Active(file)" -> "Active_file_kB": JSON keys without punctuation. */
static void meminfo_key(const char *k, char *out, size_t len)
{
	size_t o = 0;

	for (; *k && o + 4 < len; k++) {
		if (*k == ')')
			continue;
		out[o++] = (*k == '(' || *k == ' ') ? '_' : *k;
	}
	snprintf(out + o, len - o, "_kB");
}

static void jset_u64(json_t *o, const char *k, uint64_t v)
{
	/* JSON integers here are signed 64-bit; no counter gets near that, and
	 * a value past it would be a corrupt read, not a number to print. */
	if (v <= (uint64_t)INT64_MAX)
		jset_int(o, k, (long long)v);
}

static void source_failed(struct probe *p, struct jsonl *out, enum src_id id, int err,
			  uint64_t now)
{
	struct sampler_priv *s = p->priv;
	json_t *o;

	if (s->failed[id])
		return;
	s->failed[id] = 1;
	o = probe_event(p, out, "recorder", now);
	jset_str(o, "what", "sample_source_failed");
	jset_str(o, "source", src_name[id]);
	jset_str(o, "error", err == -EINVAL ? "malformed" : strerror(-err));
	jsonl_emit(out, o);
}

/* Read and parse a source into s->text / s->kv; 0 or -errno. */
static int read_src(struct sampler_priv *s, enum src_id id)
{
	ssize_t n;

	if (s->fd[id] < 0 || s->failed[id])
		return -ENOENT;
	n = pnb_pread_text(s->fd[id], s->text, sizeof s->text);
	return n < 0 ? (int)n : 0;
}

static int read_number(struct sampler_priv *s, enum src_id id, uint64_t *v, int *is_max)
{
	size_t len;
	int r = read_src(s, id);

	if (r)
		return r;
	len = strlen(s->text);
	if (len && s->text[len - 1] == '\n')
		s->text[--len] = 0;
	if (is_max && (*is_max = strcmp(s->text, "max") == 0))
		return 0;
	return pnb_parse_u64(s->text, v) ? -EINVAL : 0;
}

static json_t *psi_object(const struct pnb_psi *psi)
{
	json_t *o = json_object();
	const struct pnb_psi_line *l[2] = { &psi->some, &psi->full };
	static const char *const pre[2] = { "some", "full" };
	char k[32];

	if (!o)
		return NULL;
	for (int i = 0; i < 2; i++) {
		if (!l[i]->present)
			continue;
		snprintf(k, sizeof k, "%s_avg10", pre[i]);
		jset_real(o, k, l[i]->avg10);
		snprintf(k, sizeof k, "%s_avg60", pre[i]);
		jset_real(o, k, l[i]->avg60);
		snprintf(k, sizeof k, "%s_avg300", pre[i]);
		jset_real(o, k, l[i]->avg300);
		snprintf(k, sizeof k, "%s_total_us", pre[i]);
		jset_u64(o, k, l[i]->total_us);
	}
	return o;
}

/* Each part returns 0 or -errno; the caller reports the source and goes on. */
static int add_meminfo(struct sampler_priv *s, json_t *ev)
{
	char key[PNB_KEY_LEN + 8];
	uint64_t v;
	json_t *o;
	int r;

	if ((r = read_src(s, SRC_MEMINFO)) || (r = pnb_parse_meminfo(s->text, &s->kv)))
		return r;
	o = json_object();
	if (!o)
		return -ENOMEM;
	for (int i = 0; meminfo_keys[i]; i++) {
		if (pnb_kv_get(&s->kv, meminfo_keys[i], &v))
			continue;
		meminfo_key(meminfo_keys[i], key, sizeof key);
		jset_u64(o, key, v);
	}
	json_object_set_new(ev, "meminfo", o);
	return 0;
}

static int add_vmstat(struct sampler_priv *s, json_t *ev)
{
	uint64_t v, stall = 0;
	int have_stall = 0, r;
	json_t *o;

	if ((r = read_src(s, SRC_VMSTAT)) || (r = pnb_parse_kv(s->text, &s->kv)))
		return r;
	o = json_object();
	if (!o)
		return -ENOMEM;
	for (int i = 0; vmstat_keys[i]; i++)
		if (!pnb_kv_get(&s->kv, vmstat_keys[i], &v))
			jset_u64(o, vmstat_keys[i], v);
	/* Per-zone allocstall_* since 4.8 ("allocstall" alone before): the sum
	 * is the number comparable across kernels, the parts say which zone. */
	for (int i = 0; i < s->kv.n; i++) {
		const char *k = s->kv.e[i].key;
		if (strncmp(k, "allocstall", 10) != 0 || (k[10] && k[10] != '_'))
			continue;
		stall += s->kv.e[i].val;
		have_stall = 1;
		if (k[10])
			jset_u64(o, k, s->kv.e[i].val);
	}
	if (have_stall)
		jset_u64(o, "allocstall", stall);
	json_object_set_new(ev, "vmstat", o);
	return 0;
}

static int add_psi(struct sampler_priv *s, enum src_id id, json_t *into, const char *key)
{
	struct pnb_psi psi;
	json_t *o;
	int r;

	if ((r = read_src(s, id)) || (r = pnb_parse_psi(s->text, &psi)))
		return r;
	if (!(o = psi_object(&psi)))
		return -ENOMEM;
	json_object_set_new(into, key, o);
	return 0;
}

static int add_view(struct sampler_priv *s, json_t *ev)
{
	struct pnb_memview v;
	json_t *o;
	int r;

	if (s->failed[SRC_VIEW])
		return -ENOENT;
	if ((r = pnb_memview_read(&s->view_src, &v)))
		return r;
	if (!(o = json_object()))
		return -ENOMEM;
	jset_str(o, "domain", pnb_domain_name(v.domain));
	jset_u64(o, "total_kB", v.total_kb);
	jset_u64(o, "free_kB", v.free_kb);
	jset_u64(o, "available_kB", v.available_kb);
	jset_u64(o, "anon_kB", v.anon_kb);
	jset_u64(o, "cache_kB", v.cache_kb);
	json_object_set_new(ev, "view", o);
	return 0;
}

static void add_memcg_v1(struct probe *p, struct jsonl *out, json_t *ev, uint64_t now)
{
	struct sampler_priv *s = p->priv;
	json_t *o = json_object();
	char key[PNB_KEY_LEN + 8];
	uint64_t v;
	int r;

	if (!o)
		return;
	jset_int(o, "version", 1);
	if (!(r = read_number(s, SRC_V1_USAGE, &v, NULL)))
		jset_u64(o, "usage_bytes", v);
	else if (r != -ENOENT)
		source_failed(p, out, SRC_V1_USAGE, r, now);
	if (!(r = read_number(s, SRC_V1_LIMIT, &v, NULL)))
		jset_u64(o, "limit_bytes", v);
	else if (r != -ENOENT)
		source_failed(p, out, SRC_V1_LIMIT, r, now);
	if (!(r = read_src(s, SRC_V1_STAT)) && !(r = pnb_parse_kv(s->text, &s->kv))) {
		for (int i = 0; v1_stat_keys[i]; i++) {
			if (pnb_kv_get(&s->kv, v1_stat_keys[i], &v))
				continue;
			snprintf(key, sizeof key, "%s_bytes", v1_stat_keys[i]);
			jset_u64(o, key, v);
		}
		/* A count of faults, not bytes. */
		if (!pnb_kv_get(&s->kv, "total_pgmajfault", &v))
			jset_u64(o, "total_pgmajfault", v);
	} else if (r != -ENOENT) {
		source_failed(p, out, SRC_V1_STAT, r, now);
	}
	json_object_set_new(ev, "memcg", o);
}

static void add_memcg_v2(struct probe *p, struct jsonl *out, json_t *ev, uint64_t now)
{
	struct sampler_priv *s = p->priv;
	json_t *o = json_object();
	uint64_t v;
	int is_max, r;

	if (!o)
		return;
	jset_int(o, "version", 2);
	if (!(r = read_number(s, SRC_V2_CURRENT, &v, NULL)))
		jset_u64(o, "current_bytes", v);
	else if (r != -ENOENT)
		source_failed(p, out, SRC_V2_CURRENT, r, now);
	if (!(r = read_number(s, SRC_V2_MAX, &v, &is_max))) {
		if (is_max)
			jset_bool(o, "max_unlimited", 1);
		else
			jset_u64(o, "max_bytes", v);
	} else if (r != -ENOENT) {
		source_failed(p, out, SRC_V2_MAX, r, now);
	}
	if (!(r = read_src(s, SRC_V2_STAT)) && !(r = pnb_parse_kv(s->text, &s->kv))) {
		if (!pnb_kv_get(&s->kv, "anon", &v))
			jset_u64(o, "anon_bytes", v);
		if (!pnb_kv_get(&s->kv, "file", &v))
			jset_u64(o, "file_bytes", v);
	} else if (r != -ENOENT) {
		source_failed(p, out, SRC_V2_STAT, r, now);
	}
	if ((r = add_psi(s, SRC_V2_PRESSURE, o, "psi")) && r != -ENOENT)
		source_failed(p, out, SRC_V2_PRESSURE, r, now);
	json_object_set_new(ev, "memcg", o);
}

static int sampler_handle(struct probe *p, int idx, uint64_t now_ns, struct jsonl *out)
{
	struct sampler_priv *s = p->priv;
	uint64_t exp, due, t, done;
	ssize_t n;
	json_t *o;
	int r;

	(void)idx;
	(void)now_ns;
	n = read(p->fd[0], &exp, sizeof exp);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n != sizeof exp || exp == 0)
		return -EIO;
	/* The tick this sample stands for is the last one that expired. */
	due = s->next_ns + (exp - 1) * s->interval_ns;
	s->next_ns += exp * s->interval_ns;
	t = pnb_mono_ns();
	if (exp > 1) {
		s->missed += exp - 1;
		o = probe_event(p, out, "recorder", t);
		jset_str(o, "what", "missed_deadline");
		/* Ticks that got no sample: all expirations but the one taken now. */
		jset_int(o, "missed", (long long)(exp - 1));
		jset_int(o, "missed_total", (long long)s->missed);
		jset_int(o, "interval_ns", (long long)s->interval_ns);
		if ((r = jsonl_emit(out, o)))
			return r;
	}

	o = probe_event(p, out, "sample", t);
	jset_int(o, "late_ns", t > due ? (long long)(t - due) : 0);
	if ((r = add_meminfo(s, o))) {
		/* meminfo is the sample's reason to exist: without it, stop. */
		json_decref(o);
		return r;
	}
	if ((r = add_vmstat(s, o)) && r != -ENOENT)
		source_failed(p, out, SRC_VMSTAT, r, t);
	if ((r = add_psi(s, SRC_PSI, o, "psi")) && r != -ENOENT)
		source_failed(p, out, SRC_PSI, r, t);
	if ((r = add_view(s, o)) && r != -ENOENT)
		source_failed(p, out, SRC_VIEW, r, t);
	if (s->memcg_version == 1)
		add_memcg_v1(p, out, o, t);
	else if (s->memcg_version == 2)
		add_memcg_v2(p, out, o, t);
	done = pnb_mono_ns();
	/* What one sample costs: the overhead metric reads it. */
	jset_int(o, "read_ns", (long long)(done - t));
	s->samples++;
	return jsonl_emit(out, o);
}

static void sampler_close(struct probe *p, struct jsonl *out)
{
	struct sampler_priv *s = p->priv;

	probe_close_fds(p, out);
	close_all(s);
	pnb_memview_src_close(&s->view_src);
}

const struct probe_ops probe_sampler = {
	.name = "sample",
	.example = "sample:100ms",
	.synopsis = "sample[:INTERVAL]",
	.summary = "periodic snapshot of meminfo, vmstat, PSI, the memory view and the "
		   "memcg (default every 100ms, at least 10ms)",
	.help = "meminfo, vmstat, PSI, the memory view and the memcg every INTERVAL (default "
		"100ms, at least 10ms), on the run's t0-aligned grid.",
	.role = PROBE_SAMPLER,
	.parse = sampler_parse,
	.supported = sampler_supported,
	.open = sampler_open,
	.handle = sampler_handle,
	.close = sampler_close,
	.priv_size = sizeof(struct sampler_priv),
};
