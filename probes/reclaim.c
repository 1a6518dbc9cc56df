/* Ground truth for reclaim onset and OOM victim marking: reclaim[:MODE][:buf=SIZE].
 *
 * MODE "tracefs" (kernel tracepoints, exact times), "vmstat" (counter
 * deltas, 10 ms resolution) or, by default, tracefs with vmstat as the
 * fallback (reported as a "probe" line with status "degraded").
 *
 * tracefs: a private instance "pnbench-<pid>" (private so that two runs,
 * or a run and a developer's trace-cmd, never share or destroy each other's
 * buffer) with trace_clock "mono", so event times are CLOCK_MONOTONIC like
 * every other t_ns, and a per-CPU buffer of SIZE (default 4M, but all CPUs'
 * together at most 1% of MemTotal, since it is memory taken from the
 * machine under test).  Enabled:
 * vmscan/mm_vmscan_{kswapd_wake,kswapd_sleep,direct_reclaim_begin,
 * direct_reclaim_end,memcg_reclaim_begin,memcg_reclaim_end} and
 * oom/mark_victim, whichever this kernel has.  The per-CPU trace_pipe_raw
 * files are read live (one inner epoll fd for all CPUs, so the recorder
 * sees one fd however many CPUs there are): a guest that panics loses only
 * what the kernel had not yet handed to us.
 *
 * What is emitted (type "truth", source "tracefs", t_ns = the event's own
 * kernel time, observed_t_ns = when we read it):
 *  - every kswapd_wake / kswapd_sleep and every mark_victim (pid = victim);
 *  - the first direct_reclaim_begin and memcg_reclaim_begin of each pid:
 *    that is the onset the metrics need ("when did this task first stall
 *    in reclaim");
 *  - everything else about the begin/end pairs as counts per 100 ms bucket
 *    (t0-aligned): {what:"reclaim_rate", kind:"direct"|"memcg", count
 *    (begins), ends, reclaimed_pages (sum of nr_reclaimed)}, t_ns = bucket
 *    start.  A busy-beaver workload enters direct reclaim thousands of times
 *    a second; one line each would drown the file and the recorder, while
 *    the rate keeps what the analysis uses (how hard, when).  A bucket is
 *    written once the clock has passed its end and the buffers were drained;
 *    an event read even later (a CPU's buffer not yet woken) gets a second
 *    line for the same bucket: sum lines with equal t_ns and kind.
 * Lost events (buffer overrun) are reported as "recorder" events, live per
 * page and from the per-CPU stats at close.
 *
 * vmstat: pgscan_kswapd and pgscan_direct (per-zone sums on old kernels)
 * polled every 10 ms; {what:"reclaim_onset", source:"vmstat", kind:
 * "kswapd"|"direct"|"memcg"} when a counter moves after at least 1 s
 * without moving (or for the first time since open).  /proc/vmstat counts
 * only global reclaim (shrink_*_list skip it when cgroup_reclaim()), so a
 * memcg hitting its limit shows there as nothing; for a cgroup2 memcg its
 * memory.stat "pgscan" (5.x+) gives kind "memcg".  A v1 memcg has no such
 * counter: native v1 runs need tracefs for reclaim onset. */
#include "probe.h"
#include "procfs.h"
#include "clock.h"
#include "parse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <tracefs/tracefs.h>
#include <traceevent/kbuffer.h>

#define RECLAIM_DEFAULT_BUF (4ULL << 20)
#define RECLAIM_MIN_BUF (64ULL << 10)
#define BUCKET_NS (100 * NS_PER_MS)
#define NBUCKETS 64			/* 6.4 s of not-yet-flushed buckets */
#define VMSTAT_POLL_NS (10 * NS_PER_MS)
#define VMSTAT_QUIET_NS (1 * NS_PER_S)
#define PIDSET_SIZE 8192		/* power of two */
#define VMSTAT_LEN (64 * 1024)

enum reclaim_mode { MODE_AUTO, MODE_TRACEFS, MODE_VMSTAT };
enum kind { KIND_DIRECT, KIND_MEMCG, NKINDS };
static const char *const kind_name[NKINDS] = { "direct", "memcg" };

enum ev {
	EV_KSWAPD_WAKE, EV_KSWAPD_SLEEP, EV_DIRECT_BEGIN, EV_DIRECT_END,
	EV_MEMCG_BEGIN, EV_MEMCG_END, EV_MARK_VICTIM, NEV,
};
static const struct { const char *sys, *name, *what; } evdef[NEV] = {
	{ "vmscan", "mm_vmscan_kswapd_wake", "kswapd_wake" },
	{ "vmscan", "mm_vmscan_kswapd_sleep", "kswapd_sleep" },
	{ "vmscan", "mm_vmscan_direct_reclaim_begin", "direct_reclaim_begin" },
	{ "vmscan", "mm_vmscan_direct_reclaim_end", "direct_reclaim_end" },
	{ "vmscan", "mm_vmscan_memcg_reclaim_begin", "memcg_reclaim_begin" },
	{ "vmscan", "mm_vmscan_memcg_reclaim_end", "memcg_reclaim_end" },
	{ "oom", "mark_victim", "mark_victim" },
};

struct pidset {
	int n;
	int pid[PIDSET_SIZE];		/* 0 = empty: pid 0 never reclaims */
};

struct bucket {
	int used;
	uint64_t idx;
	uint64_t begins[NKINDS], ends[NKINDS], reclaimed[NKINDS];
};

struct reclaim_priv {
	enum reclaim_mode mode;
	uint64_t buf_bytes;
	int buf_given;			/* buf= in the spec: no automatic sizing */
	uint64_t t0_ns;
	int timer_fd;
	/* tracefs */
	struct tracefs_instance *inst;
	char inst_name[64];
	struct tep_handle *tep;
	struct kbuffer *kbuf;
	int ev_id[NEV];			/* -1: not on this kernel */
	int ncpu;
	int *cpu_fd;
	int *cpu_num;
	int epfd;
	void *page;
	size_t page_size;
	uint64_t lost;
	struct pidset seen[NKINDS];
	struct bucket bk[NBUCKETS];
	/* vmstat */
	int vmstat_fd;
	int memcg_stat_fd;		/* cgroup2 memory.stat with "pgscan", or -1 */
	uint64_t last[3], last_move_ns[3];	/* kswapd, direct, memcg */
	int moved_once[3];
	char vmstat[VMSTAT_LEN];
};

/* ---- spec -------------------------------------------------------------- */

static int reclaim_parse(struct probe *p, const char *args, char *err, size_t errlen)
{
	struct reclaim_priv *s = p->priv;
	char buf[PROBE_SPEC_LEN];
	char *f[2];
	int n = probe_split_args(args, buf, sizeof buf, f, 2), have_mode = 0, have_buf = 0;

	if (n == -E2BIG) {
		snprintf(err, errlen, "too many fields (want reclaim[:tracefs|vmstat][:buf=SIZE])");
		return -EINVAL;
	}
	s->mode = MODE_AUTO;
	s->buf_bytes = RECLAIM_DEFAULT_BUF;
	for (int i = 0; i < n; i++) {
		if (!strcmp(f[i], "tracefs") || !strcmp(f[i], "vmstat")) {
			if (have_mode++) {
				snprintf(err, errlen, "mode given twice ('%s')", f[i]);
				return -EINVAL;
			}
			s->mode = f[i][0] == 't' ? MODE_TRACEFS : MODE_VMSTAT;
		} else if (!strncmp(f[i], "buf=", 4)) {
			s->buf_given = 1;
			if (have_buf++) {
				snprintf(err, errlen, "buf= given twice");
				return -EINVAL;
			}
			if (pnb_parse_size_bytes(f[i] + 4, &s->buf_bytes)) {
				snprintf(err, errlen, "bad buffer size '%s' (want e.g. buf=4M)", f[i] + 4);
				return -EINVAL;
			}
			if (s->buf_bytes < RECLAIM_MIN_BUF || s->buf_bytes > (1ULL << 30)) {
				snprintf(err, errlen, "buffer size '%s' out of range (64K..1G per CPU)",
					 f[i] + 4);
				return -EINVAL;
			}
		} else {
			snprintf(err, errlen, "unknown field '%s' (want tracefs, vmstat or buf=SIZE)",
				 f[i]);
			return -EINVAL;
		}
	}
	if (have_buf && s->mode == MODE_VMSTAT) {
		snprintf(err, errlen, "buf= applies to tracefs, not to the vmstat mode");
		return -EINVAL;
	}
	return 0;
}

/* ---- tracefs ----------------------------------------------------------- */

/* Is word one of the clocks listed in a trace_clock file ("[local] mono ...")? */
static int clock_listed(const char *list, const char *word, int *selected)
{
	size_t wl = strlen(word);
	const char *p = list;

	while (*p) {
		while (*p == ' ' || *p == '\n')
			p++;
		const char *t = p;
		while (*p && *p != ' ' && *p != '\n')
			p++;
		int sel = *t == '[';
		const char *b = t + sel, *e = p - (sel && p > t && p[-1] == ']');
		if ((size_t)(e - b) == wl && !memcmp(b, word, wl)) {
			if (selected)
				*selected = sel;
			return 1;
		}
	}
	return 0;
}

/* The checks that need no state change; also used by supported(). */
static int tracefs_precheck(const struct probe_env *env, char *why, size_t whylen)
{
	const char *dir = NULL;
	char *clocks;
	int have;

	if (env->root && *env->root && strcmp(env->root, "/")) {
		snprintf(why, whylen, "tracefs is only read on the live system (root is '%s')",
			 env->root);
		return -EOPNOTSUPP;
	}
	if (geteuid() != 0) {
		snprintf(why, whylen, "tracefs instances need root");
		return -EPERM;
	}
	if (tracefs_tracing_dir_is_mounted(false, &dir) <= 0) {
		/* Mounting is open()'s job; a kernel without tracefs cannot. */
		if (access("/sys/kernel/tracing", F_OK) && access("/sys/kernel/debug", F_OK)) {
			snprintf(why, whylen, "no tracefs mount point (kernel without CONFIG_TRACING?)");
			return -ENOENT;
		}
		return 0;
	}
	clocks = tracefs_instance_file_read(NULL, "trace_clock", NULL);
	if (!clocks) {
		snprintf(why, whylen, "cannot read %s/trace_clock", dir ? dir : "tracefs");
		return -EIO;
	}
	have = clock_listed(clocks, "mono", NULL);
	free(clocks);
	if (!have) {
		snprintf(why, whylen, "trace_clock has no 'mono' on this kernel (event times "
			 "could not be put on CLOCK_MONOTONIC)");
		return -EOPNOTSUPP;
	}
	return 0;
}

static void tracefs_teardown(struct reclaim_priv *s)
{
	for (int i = 0; i < s->ncpu; i++)
		if (s->cpu_fd[i] >= 0)
			close(s->cpu_fd[i]);
	free(s->cpu_fd);
	free(s->cpu_num);
	s->cpu_fd = s->cpu_num = NULL;
	s->ncpu = 0;
	if (s->epfd >= 0)
		close(s->epfd);
	s->epfd = -1;
	if (s->inst) {
		/* rmdir of the instance fails with EBUSY while any of its files
		 * is open: the fds above are closed first. */
		tracefs_instance_destroy(s->inst);
		tracefs_instance_free(s->inst);
		s->inst = NULL;
	}
	if (s->kbuf)
		kbuffer_free(s->kbuf);
	s->kbuf = NULL;
	if (s->tep)
		tep_free(s->tep);
	s->tep = NULL;
	free(s->page);
	s->page = NULL;
}

static int open_cpus(struct reclaim_priv *s, char *why, size_t whylen)
{
	char *dir = tracefs_instance_get_dir(s->inst);
	char path[4096];
	struct dirent *de;
	DIR *d;
	int cap = 0, r = 0;

	if (!dir) {
		snprintf(why, whylen, "tracefs: no directory for instance %s", s->inst_name);
		return -ENOMEM;
	}
	snprintf(path, sizeof path, "%s/per_cpu", dir);
	d = opendir(path);
	if (!d) {
		r = -errno;
		snprintf(why, whylen, "tracefs: %.200s: %s", path, strerror(-r));
		tracefs_put_tracing_file(dir);
		return r;
	}
	while ((de = readdir(d))) {
		uint64_t cpu;
		int fd;

		if (strncmp(de->d_name, "cpu", 3) || pnb_parse_u64(de->d_name + 3, &cpu))
			continue;
		if (s->ncpu == cap) {
			cap = cap ? cap * 2 : 16;
			int *a = realloc(s->cpu_fd, (size_t)cap * sizeof *a);
			int *b = a ? realloc(s->cpu_num, (size_t)cap * sizeof *b) : NULL;
			if (a)
				s->cpu_fd = a;
			if (!a || !b) {
				r = -ENOMEM;
				snprintf(why, whylen, "out of memory");
				break;
			}
			s->cpu_num = b;
		}
		snprintf(path, sizeof path, "%s/per_cpu/%s/trace_pipe_raw", dir, de->d_name);
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			snprintf(why, whylen, "tracefs: %.200s: %s", path, strerror(-r));
			break;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)s->ncpu };
		s->cpu_fd[s->ncpu] = fd;
		s->cpu_num[s->ncpu] = (int)cpu;
		s->ncpu++;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			r = -errno;
			snprintf(why, whylen, "epoll on %.200s: %s", path, strerror(-r));
			break;
		}
	}
	closedir(d);
	tracefs_put_tracing_file(dir);
	if (!r && !s->ncpu) {
		snprintf(why, whylen, "tracefs: instance %s has no per_cpu buffers", s->inst_name);
		r = -ENOENT;
	}
	return r;
}

static int tracefs_setup(struct reclaim_priv *s, const struct probe_env *env,
			 char *why, size_t whylen)
{
	static const char *const systems[] = { "vmscan", "oom", NULL };
	const char *dir = NULL;
	char num[32];
	char *clk;
	int r, sel = 0, nreclaim = 0;
	long long subbuf_kb;

	s->epfd = -1;
	if ((r = tracefs_precheck(env, why, whylen)))
		return r;
	/* Guests boot with tracefs unmounted; as root we mount it. */
	if (tracefs_tracing_dir_is_mounted(true, &dir) < 0) {
		snprintf(why, whylen, "tracefs is not mounted and mounting it failed");
		return -ENOENT;
	}
	if ((r = tracefs_precheck(env, why, whylen)))
		return r;

	snprintf(s->inst_name, sizeof s->inst_name, "pnbench-%d", (int)getpid());
	if (tracefs_instance_exists(s->inst_name)) {
		snprintf(why, whylen, "tracefs instance %s already exists (another run?)",
			 s->inst_name);
		return -EEXIST;
	}
	s->inst = tracefs_instance_create(s->inst_name);
	if (!s->inst) {
		r = errno ? -errno : -EIO;
		snprintf(why, whylen, "tracefs: cannot create instance %s: %s", s->inst_name,
			 strerror(-r));
		return r;
	}
	/* The clock first: switching it empties the buffer. */
	if (tracefs_instance_file_write(s->inst, "trace_clock", "mono") < 0) {
		snprintf(why, whylen, "tracefs: cannot set trace_clock to mono");
		r = -EIO;
		goto fail;
	}
	clk = tracefs_instance_file_read(s->inst, "trace_clock", NULL);
	if (!clk || !clock_listed(clk, "mono", &sel) || !sel) {
		free(clk);
		snprintf(why, whylen, "tracefs: trace_clock did not switch to mono");
		r = -EIO;
		goto fail;
	}
	free(clk);
	if (!s->buf_given) {
		/* The buffer is kernel memory taken from the machine under test:
		 * keep all CPUs' together under 1% of RAM (a 256M guest with 2
		 * CPUs gets 1M each), since it moves the OOM point it measures. */
		struct pnb_kv mi;
		uint64_t total_kb;
		long ncpu = sysconf(_SC_NPROCESSORS_CONF);
		if (!pnb_read_meminfo("", &mi) && !pnb_kv_get(&mi, "MemTotal", &total_kb) &&
		    ncpu > 0) {
			uint64_t cap = total_kb * 1024 / 128 / (uint64_t)ncpu;
			cap &= ~((64ULL << 10) - 1);
			if (cap < RECLAIM_MIN_BUF)
				cap = RECLAIM_MIN_BUF;
			if (cap < s->buf_bytes)
				s->buf_bytes = cap;
		}
	}
	snprintf(num, sizeof num, "%llu", (unsigned long long)(s->buf_bytes / 1024));
	if (tracefs_instance_file_write(s->inst, "buffer_size_kb", num) < 0) {
		snprintf(why, whylen, "tracefs: cannot size the buffer to %s kB per CPU", num);
		r = -ENOMEM;
		goto fail;
	}
	/* poll() on trace_pipe_raw waits for buffer_percent (default 50) of
	 * the buffer to fill: we want every event as it comes. */
	if (tracefs_file_exists(s->inst, "buffer_percent"))
		tracefs_instance_file_write(s->inst, "buffer_percent", "0");

	for (int i = 0; i < NEV; i++) {
		s->ev_id[i] = -1;
		if (tracefs_event_enable(s->inst, evdef[i].sys, evdef[i].name) == 0 &&
		    i != EV_MARK_VICTIM)
			nreclaim++;
	}
	if (!nreclaim) {
		snprintf(why, whylen, "tracefs: none of the vmscan reclaim events exist here");
		r = -ENOENT;
		goto fail;
	}
	s->tep = tracefs_local_events_system(NULL, systems);
	if (!s->tep) {
		snprintf(why, whylen, "tracefs: cannot parse the vmscan/oom event formats");
		r = -EINVAL;
		goto fail;
	}
	for (int i = 0; i < NEV; i++) {
		struct tep_event *e = tep_find_event_by_name(s->tep, evdef[i].sys, evdef[i].name);
		if (e && tracefs_event_is_enabled(s->inst, evdef[i].sys, evdef[i].name) ==
			 TRACEFS_ALL_ENABLED)
			s->ev_id[i] = e->id;
	}
	s->kbuf = kbuffer_alloc(tep_get_header_page_size(s->tep) == 8 ? KBUFFER_LSIZE_8
				: KBUFFER_LSIZE_4, tep_is_file_bigendian(s->tep) ?
				KBUFFER_ENDIAN_BIG : KBUFFER_ENDIAN_LITTLE);
	/* 6.8+ can make sub-buffers larger than a page; a read must take one whole. */
	s->page_size = (size_t)sysconf(_SC_PAGESIZE);
	if (tracefs_file_exists(s->inst, "buffer_subbuf_size_kb") &&
	    !tracefs_instance_file_read_number(s->inst, "buffer_subbuf_size_kb", &subbuf_kb) &&
	    subbuf_kb > 0 && (size_t)subbuf_kb * 1024 > s->page_size)
		s->page_size = (size_t)subbuf_kb * 1024;
	s->page = malloc(s->page_size);
	if (!s->kbuf || !s->page) {
		snprintf(why, whylen, "out of memory");
		r = -ENOMEM;
		goto fail;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		r = -errno;
		snprintf(why, whylen, "epoll_create1: %s", strerror(-r));
		goto fail;
	}
	if ((r = open_cpus(s, why, whylen)))
		goto fail;
	return 0;
fail:
	tracefs_teardown(s);
	return r;
}

static int pidset_add(struct pidset *ps, int pid)
{
	unsigned h = ((unsigned)pid * 2654435761u) & (PIDSET_SIZE - 1);

	/* Full at 3/4: forget and start over, so a pid may be reported as
	 * "first" again after thousands of others; better than never. */
	if (ps->n >= PIDSET_SIZE * 3 / 4) {
		memset(ps, 0, sizeof *ps);
		h = ((unsigned)pid * 2654435761u) & (PIDSET_SIZE - 1);
	}
	while (ps->pid[h]) {
		if (ps->pid[h] == pid)
			return 0;
		h = (h + 1) & (PIDSET_SIZE - 1);
	}
	ps->pid[h] = pid;
	ps->n++;
	return 1;
}

/* The trace record has only the task id; comm and thread group come from
 * /proc while the task is still there (a reclaiming task usually is).  The
 * tgid is what matches the workload's pid when a thread does the stalling. */
static void set_task_of(json_t *o, int pid)
{
	char path[64], buf[512];
	ssize_t n;
	char *t;
	int fd;

	/* Name and Tgid are the first lines; the rest of the file is not needed. */
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	if (!strncmp(buf, "Name:\t", 6)) {
		size_t len = strcspn(buf + 6, "\n");
		char comm[64];
		if (len < sizeof comm) {
			memcpy(comm, buf + 6, len);
			comm[len] = 0;
			jset_str(o, "comm", comm);
		}
	}
	if ((t = strstr(buf, "\nTgid:\t"))) {
		uint64_t tgid;
		char num[16];
		size_t len = strcspn(t + 7, "\n");
		if (len && len < sizeof num) {
			memcpy(num, t + 7, len);
			num[len] = 0;
			if (!pnb_parse_u64(num, &tgid))
				jset_int(o, "tgid", (long long)tgid);
		}
	}
}

/* A numeric field of the record; *ok = 0 when this kernel's event lacks it. */
static long long field(struct tep_event *e, struct tep_record *rec, const char *name, int *ok)
{
	unsigned long long v;

	*ok = !tep_get_field_val(NULL, e, name, rec, &v, 0);
	return *ok ? (long long)v : 0;
}

static json_t *truth_at(struct probe *p, struct jsonl *out, uint64_t ts, uint64_t now,
			const char *what)
{
	json_t *o = probe_event(p, out, "truth", ts);

	jset_str(o, "what", what);
	jset_str(o, "source", "tracefs");
	jset_int(o, "observed_t_ns", now > out->t0_ns ? (long long)(now - out->t0_ns) : 0);
	return o;
}

static void flush_bucket(struct probe *p, struct jsonl *out, struct bucket *b, uint64_t now)
{
	struct reclaim_priv *s = p->priv;

	for (int k = 0; k < NKINDS; k++) {
		if (!b->begins[k] && !b->ends[k])
			continue;
		json_t *o = truth_at(p, out, s->t0_ns + b->idx * BUCKET_NS, now, "reclaim_rate");
		jset_str(o, "kind", kind_name[k]);
		jset_int(o, "count", (long long)b->begins[k]);
		jset_int(o, "ends", (long long)b->ends[k]);
		jset_int(o, "reclaimed_pages", (long long)b->reclaimed[k]);
		jset_int(o, "bucket_ns", (long long)BUCKET_NS);
		jsonl_emit(out, o);
	}
	memset(b, 0, sizeof *b);
}

static struct bucket *bucket_for(struct probe *p, struct jsonl *out, uint64_t ts, uint64_t now)
{
	struct reclaim_priv *s = p->priv;
	uint64_t idx = ts > s->t0_ns ? (ts - s->t0_ns) / BUCKET_NS : 0;
	struct bucket *b = &s->bk[idx % NBUCKETS];

	if (b->used && b->idx != idx)
		flush_bucket(p, out, b, now);
	b->used = 1;
	b->idx = idx;
	return b;
}

static void flush_before(struct probe *p, struct jsonl *out, uint64_t now, int all)
{
	struct reclaim_priv *s = p->priv;
	uint64_t cur = now > s->t0_ns ? (now - s->t0_ns) / BUCKET_NS : 0;

	/* Oldest first, so the file stays in time order where it can. */
	for (;;) {
		struct bucket *min = NULL;
		for (int i = 0; i < NBUCKETS; i++)
			if (s->bk[i].used && (all || s->bk[i].idx < cur) &&
			    (!min || s->bk[i].idx < min->idx))
				min = &s->bk[i];
		if (!min)
			break;
		flush_bucket(p, out, min, now);
	}
}

static void handle_record(struct probe *p, struct jsonl *out, struct tep_record *rec,
			  uint64_t now)
{
	struct reclaim_priv *s = p->priv;
	int type = tep_data_type(s->tep, rec), ok, ev = -1;
	struct tep_event *e;
	json_t *o;
	long long v;

	for (int i = 0; i < NEV; i++)
		if (s->ev_id[i] >= 0 && s->ev_id[i] == type)
			ev = i;
	if (ev < 0 || !(e = tep_find_event(s->tep, type)))
		return;
	int pid = tep_data_pid(s->tep, rec);

	switch (ev) {
	case EV_KSWAPD_WAKE:
	case EV_KSWAPD_SLEEP:
		o = truth_at(p, out, rec->ts, now, evdef[ev].what);
		jset_int(o, "pid", pid);
		set_task_of(o, pid);
		if ((v = field(e, rec, "nid", &ok)), ok)
			jset_int(o, "nid", v);
		if (ev == EV_KSWAPD_WAKE && ((v = field(e, rec, "order", &ok)), ok))
			jset_int(o, "order", v);
		jsonl_emit(out, o);
		break;
	case EV_DIRECT_BEGIN:
	case EV_MEMCG_BEGIN: {
		enum kind k = ev == EV_DIRECT_BEGIN ? KIND_DIRECT : KIND_MEMCG;
		bucket_for(p, out, rec->ts, now)->begins[k]++;
		if (!pidset_add(&s->seen[k], pid))
			break;
		o = truth_at(p, out, rec->ts, now, evdef[ev].what);
		jset_int(o, "pid", pid);
		set_task_of(o, pid);
		if ((v = field(e, rec, "order", &ok)), ok)
			jset_int(o, "order", v);
		jset_bool(o, "first_for_pid", 1);
		jsonl_emit(out, o);
		break;
	}
	case EV_DIRECT_END:
	case EV_MEMCG_END: {
		enum kind k = ev == EV_DIRECT_END ? KIND_DIRECT : KIND_MEMCG;
		struct bucket *b = bucket_for(p, out, rec->ts, now);
		b->ends[k]++;
		if ((v = field(e, rec, "nr_reclaimed", &ok)), ok)
			b->reclaimed[k] += (uint64_t)v;
		break;
	}
	case EV_MARK_VICTIM: {
		char comm[64];
		int len = 0;
		o = truth_at(p, out, rec->ts, now, "mark_victim");
		if ((v = field(e, rec, "pid", &ok)), ok)
			jset_int(o, "pid", v);
		/* comm is a __data_loc string from 5.x on; older kernels have pid only. */
		const char *c = tep_find_field(e, "comm") ?
			tep_get_field_raw(NULL, e, "comm", rec, &len, 0) : NULL;
		if (c && len > 0) {
			size_t n = (size_t)len < sizeof comm - 1 ? (size_t)len : sizeof comm - 1;
			memcpy(comm, c, n);
			comm[n] = 0;
			jset_str(o, "comm", comm);
		}
		if ((v = field(e, rec, "anon_rss", &ok)), ok)
			jset_int(o, "anon_rss_kB", v);
		if ((v = field(e, rec, "oom_score_adj", &ok)), ok)
			jset_int(o, "oom_score_adj", (short)v);
		jset_int(o, "marker_pid", pid);
		jsonl_emit(out, o);
		break;
	}
	}
}

static void report_lost(struct probe *p, struct jsonl *out, int cpu, long long missed,
			uint64_t now)
{
	json_t *o = probe_event(p, out, "recorder", now);

	jset_str(o, "what", "trace_lost");
	jset_int(o, "cpu", cpu);
	/* -1: the kernel says events were lost but not how many. */
	jset_int(o, "missed", missed);
	jsonl_emit(out, o);
}

static int drain_cpu(struct probe *p, struct jsonl *out, int i)
{
	struct reclaim_priv *s = p->priv;

	for (;;) {
		ssize_t n = read(s->cpu_fd[i], s->page, s->page_size);
		uint64_t now = pnb_mono_ns();
		unsigned long long ts;
		void *data;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		if (n == 0)
			return 0;
		if (kbuffer_load_subbuffer(s->kbuf, s->page) < 0)
			return -EINVAL;
		int missed = kbuffer_missed_events(s->kbuf);
		if (missed) {
			s->lost += missed > 0 ? (uint64_t)missed : 1;
			report_lost(p, out, s->cpu_num[i], missed, now);
		}
		for (data = kbuffer_read_event(s->kbuf, &ts); data;
		     data = kbuffer_next_event(s->kbuf, &ts)) {
			struct tep_record rec = {
				.ts = ts, .data = data, .cpu = s->cpu_num[i],
				.size = kbuffer_event_size(s->kbuf),
			};
			handle_record(p, out, &rec, now);
		}
	}
}

static int drain_all(struct probe *p, struct jsonl *out)
{
	struct reclaim_priv *s = p->priv;
	int r;

	for (int i = 0; i < s->ncpu; i++)
		if ((r = drain_cpu(p, out, i)))
			return r;
	return 0;
}

/* Per-CPU "overrun:" (overwritten, the default mode) and "dropped events:"
 * (discarded when the buffer does not overwrite). */
static void check_overruns(struct probe *p, struct jsonl *out)
{
	struct reclaim_priv *s = p->priv;
	uint64_t overrun = 0, dropped = 0;
	char file[64];

	for (int i = 0; i < s->ncpu; i++) {
		snprintf(file, sizeof file, "per_cpu/cpu%d/stats", s->cpu_num[i]);
		char *st = tracefs_instance_file_read(s->inst, file, NULL);
		if (!st)
			continue;
		for (char *line = strtok(st, "\n"); line; line = strtok(NULL, "\n")) {
			unsigned long long v;
			if (sscanf(line, "overrun: %llu", &v) == 1)
				overrun += v;
			else if (sscanf(line, "dropped events: %llu", &v) == 1)
				dropped += v;
		}
		free(st);
	}
	if (overrun || dropped) {
		json_t *o = probe_event(p, out, "recorder", pnb_mono_ns());
		jset_str(o, "what", "trace_lost");
		jset_int(o, "overrun", (long long)overrun);
		jset_int(o, "dropped", (long long)dropped);
		jset_int(o, "buffer_bytes_per_cpu", (long long)s->buf_bytes);
		jsonl_emit(out, o);
	}
}

/* ---- vmstat fallback --------------------------------------------------- */

/* pgscan_kswapd / pgscan_direct, or their per-zone parts before 4.8
 * (pgscan_kswapd_normal, ...); pgscan_direct_throttle is not a scan. */
static int pgscan_sums(const char *text, uint64_t sum[2])
{
	static const char *const pre[2] = { "pgscan_kswapd", "pgscan_direct" };
	int found = 0;

	sum[0] = sum[1] = 0;
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		for (int k = 0; k < 2; k++) {
			size_t pl = strlen(pre[k]);
			const char *sp;
			uint64_t v;
			char num[32];

			if (strncmp(l, pre[k], pl) || (l[pl] != ' ' && l[pl] != '_') ||
			    !strncmp(l + pl, "_throttle", 9))
				continue;
			sp = strchr(l, ' ');
			const char *e = sp ? strchr(sp, '\n') : NULL;
			size_t nl = sp ? (e ? (size_t)(e - sp - 1) : strlen(sp + 1)) : 0;
			if (!sp || nl == 0 || nl >= sizeof num)
				return -EINVAL;
			memcpy(num, sp + 1, nl);
			num[nl] = 0;
			if (pnb_parse_u64(num, &v))
				return -EINVAL;
			sum[k] += v;
			found |= 1 << k;
		}
	}
	return found == 3 ? 0 : -ENOENT;
}

static int vmstat_check(const char *root, struct reclaim_priv *s, int keep,
			char *why, size_t whylen)
{
	char path[4096];
	uint64_t sum[2];
	ssize_t n;
	int fd, r;

	if ((r = pnb_path(path, sizeof path, root, "/proc/vmstat")))
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(why, whylen, "%.200s: %s", path, strerror(-r));
		return r;
	}
	n = pnb_pread_text(fd, s->vmstat, sizeof s->vmstat);
	r = n < 0 ? (int)n : pgscan_sums(s->vmstat, sum);
	if (r) {
		snprintf(why, whylen, "%.200s: %s", path, r == -ENOENT ?
			 "no pgscan_kswapd/pgscan_direct counters" : r == -EINVAL ?
			 "malformed pgscan line" : strerror(-r));
		close(fd);
		return r;
	}
	if (keep) {
		s->vmstat_fd = fd;
		s->last[0] = sum[0];
		s->last[1] = sum[1];
	} else {
		close(fd);
	}
	return 0;
}

/* cgroup2 memory.stat "pgscan" (5.x+): limit reclaim of the workload's own
 * memcg, which /proc/vmstat never counts. */
static int memcg_pgscan(struct reclaim_priv *s, uint64_t *v)
{
	ssize_t n = pnb_pread_text(s->memcg_stat_fd, s->vmstat, sizeof s->vmstat);
	const char *l;

	if (n < 0)
		return (int)n;
	for (l = s->vmstat; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, "pgscan ", 7))
			continue;
		char num[32];
		size_t len = strcspn(l + 7, "\n");
		if (len == 0 || len >= sizeof num)
			return -EINVAL;
		memcpy(num, l + 7, len);
		num[len] = 0;
		return pnb_parse_u64(num, v) ? -EINVAL : 0;
	}
	return -ENOENT;
}

static void open_memcg_stat(struct reclaim_priv *s, const struct probe_env *env)
{
	char rel[600], path[4096];
	uint64_t v;

	s->memcg_stat_fd = -1;
	if (!env->memcg_v2[0] ||
	    snprintf(rel, sizeof rel, "%s/memory.stat", env->memcg_v2) >= (int)sizeof rel ||
	    pnb_path(path, sizeof path, env->root, rel))
		return;
	s->memcg_stat_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->memcg_stat_fd >= 0 && memcg_pgscan(s, &v)) {
		close(s->memcg_stat_fd);
		s->memcg_stat_fd = -1;
	} else if (s->memcg_stat_fd >= 0) {
		s->last[2] = v;
	}
}

static int vmstat_poll(struct probe *p, struct jsonl *out)
{
	static const char *const kind[3] = { "kswapd", "direct", "memcg" };
	static const char *const key[3] = { "pgscan_kswapd", "pgscan_direct", "memcg_pgscan" };
	struct reclaim_priv *s = p->priv;
	uint64_t sum[3], now = pnb_mono_ns();
	ssize_t n = pnb_pread_text(s->vmstat_fd, s->vmstat, sizeof s->vmstat);
	int r, nk = 2;

	if (n < 0)
		return (int)n;
	if ((r = pgscan_sums(s->vmstat, sum)))
		return r == -ENOENT ? -EINVAL : r;
	if (s->memcg_stat_fd >= 0) {
		/* The cgroup going away ends the run anyway; stop reading it. */
		if (memcg_pgscan(s, &sum[2])) {
			close(s->memcg_stat_fd);
			s->memcg_stat_fd = -1;
		} else {
			nk = 3;
		}
	}
	for (int k = 0; k < nk; k++) {
		if (sum[k] <= s->last[k])
			continue;
		if (!s->moved_once[k] || now - s->last_move_ns[k] >= VMSTAT_QUIET_NS) {
			json_t *o = probe_event(p, out, "truth", now);
			jset_str(o, "what", "reclaim_onset");
			jset_str(o, "source", "vmstat");
			jset_str(o, "kind", kind[k]);
			jset_int(o, "delta", (long long)(sum[k] - s->last[k]));
			jset_int(o, key[k], (long long)sum[k]);
			if ((r = jsonl_emit(out, o)))
				return r;
		}
		s->moved_once[k] = 1;
		s->last_move_ns[k] = now;
		s->last[k] = sum[k];
	}
	return 0;
}

/* ---- probe ops --------------------------------------------------------- */

static int reclaim_supported(const struct probe *p, const struct probe_env *env,
			     char *why, size_t whylen)
{
	struct reclaim_priv *s = p->priv;
	char wt[PROBE_ERR_LEN] = "", wv[PROBE_ERR_LEN] = "";
	int rt = s->mode == MODE_VMSTAT ? -EOPNOTSUPP : tracefs_precheck(env, wt, sizeof wt);
	int rv = s->mode == MODE_TRACEFS ? -EOPNOTSUPP : vmstat_check(env->root, s, 0, wv, sizeof wv);

	if (s->mode == MODE_TRACEFS && rt) {
		snprintf(why, whylen, "%s", wt);
		return rt;
	}
	if (s->mode == MODE_VMSTAT && rv) {
		snprintf(why, whylen, "%s", wv);
		return rv;
	}
	if (rt && rv) {
		snprintf(why, whylen, "%.120s; and no vmstat fallback: %.120s", wt, wv);
		return rt;
	}
	return 0;
}

static int reclaim_open(struct probe *p, const struct probe_env *env, struct jsonl *out,
			char *why, size_t whylen)
{
	struct reclaim_priv *s = p->priv;
	char wt[PROBE_ERR_LEN] = "";
	struct itimerspec its = { 0 };
	uint64_t period;
	int r = -EOPNOTSUPP;

	s->timer_fd = s->vmstat_fd = s->epfd = s->memcg_stat_fd = -1;
	s->t0_ns = out->t0_ns;
	s->lost = 0;
	memset(s->seen, 0, sizeof s->seen);
	memset(s->bk, 0, sizeof s->bk);
	memset(s->moved_once, 0, sizeof s->moved_once);
	if (s->mode != MODE_VMSTAT)
		r = tracefs_setup(s, env, wt, sizeof wt);
	if (r && s->mode == MODE_TRACEFS) {
		snprintf(why, whylen, "%s", wt);
		return r;
	}
	if (r) {
		char wv[PROBE_ERR_LEN] = "";
		int rv = vmstat_check(env->root, s, 1, wv, sizeof wv);
		if (!rv)
			open_memcg_stat(s, env);
		if (rv) {
			if (s->mode == MODE_VMSTAT)
				snprintf(why, whylen, "%s", wv);
			else
				snprintf(why, whylen, "%.120s; and no vmstat fallback: %.120s", wt, wv);
			return rv;
		}
		if (s->mode == MODE_AUTO) {
			char msg[PROBE_ERR_LEN + 64];
			json_t *o = probe_event(p, out, "probe", pnb_mono_ns());
			jset_str(o, "status", "degraded");
			snprintf(msg, sizeof msg, "reclaim onset from vmstat pgscan deltas (10ms): %s",
				 wt);
			jset_str(o, "reason", msg);
			jsonl_emit(out, o);
		}
	}
	if (!r) {
		/* Kernels differ in which of these exist (memcg_reclaim_* and
		 * mark_victim came later than kswapd_wake): say which are missing. */
		char miss[PROBE_ERR_LEN] = "";
		size_t len = 0;
		for (int i = 0; i < NEV; i++)
			if (s->ev_id[i] < 0 && len < sizeof miss)
				len += (size_t)snprintf(miss + len, sizeof miss - len, "%s%s/%s",
							len ? ", " : "", evdef[i].sys, evdef[i].name);
		if (len) {
			char msg[PROBE_ERR_LEN + 64];
			json_t *o = probe_event(p, out, "probe", pnb_mono_ns());
			jset_str(o, "status", "degraded");
			snprintf(msg, sizeof msg, "tracefs events missing on this kernel: %s", miss);
			jset_str(o, "reason", msg);
			jsonl_emit(out, o);
		}
	}
	period = r ? VMSTAT_POLL_NS : BUCKET_NS;
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	its.it_value.tv_nsec = (long)period;
	its.it_interval.tv_nsec = (long)period;
	if (s->timer_fd < 0 || timerfd_settime(s->timer_fd, 0, &its, NULL) < 0) {
		int e = -errno;
		snprintf(why, whylen, "timerfd: %s", strerror(-e));
		if (s->timer_fd >= 0)
			close(s->timer_fd);
		s->timer_fd = -1;
		if (s->vmstat_fd >= 0)
			close(s->vmstat_fd);
		if (s->memcg_stat_fd >= 0)
			close(s->memcg_stat_fd);
		s->vmstat_fd = s->memcg_stat_fd = -1;
		tracefs_teardown(s);
		return e;
	}
	if (s->inst) {
		p->fd[0] = s->epfd;
		p->fd[1] = s->timer_fd;
		p->nfd = 2;
	} else {
		p->fd[0] = s->timer_fd;
		p->nfd = 1;
	}
	return 0;
}

static int reclaim_handle(struct probe *p, int idx, uint64_t now_ns, struct jsonl *out)
{
	struct reclaim_priv *s = p->priv;
	uint64_t exp;
	int r;

	(void)now_ns;
	if (idx < 0 || idx >= p->nfd)
		return -EINVAL;
	if (p->fd[idx] == s->timer_fd) {
		if (read(s->timer_fd, &exp, sizeof exp) < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (!s->inst)
			return vmstat_poll(p, out);
		/* Drain first: a bucket is complete only once every CPU's
		 * buffer has been read past its end. */
		if ((r = drain_all(p, out)))
			return r;
		flush_before(p, out, pnb_mono_ns(), 0);
		return 0;
	}
	return drain_all(p, out);
}

/* A confined run (native: the workload in its own memcg on a shared host)
 * traces only the workload's process tree: other tasks' reclaim and OOM
 * kills are not this run's ground truth.  Memcg limit reclaim and the memcg
 * OOM kill happen in the context of the charging task, so nothing of the
 * run is lost; kswapd is left out, and it does not act on memcg limits.
 * A guest run traces everything: the guest is the run. */
static void reclaim_started(struct probe *p, const struct probe_env *env, struct jsonl *out)
{
	struct reclaim_priv *s = p->priv;
	char pid[32];
	json_t *o;

	if (!s->inst || (!env->memcg_v1[0] && !env->memcg_v2[0]) || env->workload_pid <= 0)
		return;
	snprintf(pid, sizeof pid, "%d", (int)env->workload_pid);
	o = jsonl_new(out, "recorder", pnb_mono_ns());
	if (tracefs_instance_file_write(s->inst, "options/event-fork", "1") < 0 ||
	    tracefs_instance_file_write(s->inst, "set_event_pid", pid) < 0) {
		jset_str(o, "what", "trace_unfiltered");
		jset_str(o, "detail", "tracefs: cannot limit events to the workload (set_event_pid/"
			 "event-fork): other tasks' reclaim is recorded too; match by pid");
	} else {
		jset_str(o, "what", "trace_filtered");
		jset_str(o, "detail", "tracefs events limited to the workload's process tree "
			 "(set_event_pid + event-fork)");
		jset_int(o, "pid", env->workload_pid);
	}
	jsonl_emit(out, o);
}

static void reclaim_close(struct probe *p, struct jsonl *out)
{
	struct reclaim_priv *s = p->priv;

	if (s->inst) {
		/* What the kernel wrote between the last wakeup and now. */
		tracefs_trace_off(s->inst);
		drain_all(p, out);
		flush_before(p, out, pnb_mono_ns(), 1);
		check_overruns(p, out);
		tracefs_teardown(s);
	} else if (s->vmstat_fd >= 0) {
		vmstat_poll(p, out);
	}
	if (s->vmstat_fd >= 0)
		close(s->vmstat_fd);
	if (s->memcg_stat_fd >= 0)
		close(s->memcg_stat_fd);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	s->vmstat_fd = s->memcg_stat_fd = s->timer_fd = -1;
	for (int i = 0; i < PROBE_MAX_FDS; i++)
		p->fd[i] = -1;
	p->nfd = 0;
}

const struct probe_ops probe_reclaim = {
	.name = "reclaim",
	.example = "reclaim",
	.synopsis = "reclaim[:tracefs|vmstat][:buf=SIZE]",
	.summary = "ground truth: kswapd wake/sleep, first direct/memcg reclaim per task, "
		   "reclaim rates and OOM victim marking from tracefs (trace_clock mono), or "
		   "reclaim onset from vmstat pgscan",
	.help = "Ground truth: reclaim onset, rates and OOM victim marking from tracefs (trace_clock "
		"mono, per-CPU buffer SIZE, default 4M), or from vmstat pgscan deltas; by default "
		"tracefs with vmstat where tracefs is missing.",
	.role = PROBE_GROUND_TRUTH,
	.parse = reclaim_parse,
	.supported = reclaim_supported,
	.open = reclaim_open,
	.started = reclaim_started,
	.handle = reclaim_handle,
	.close = reclaim_close,
	.priv_size = sizeof(struct reclaim_priv),
};
