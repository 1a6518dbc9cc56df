/* The reclaim probe's tracefs source (probes/reclaim.c says what it emits). */
#include "reclaim.h"
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
int reclaim_tracefs_precheck(const struct probe_env *env, char *why, size_t whylen)
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

void reclaim_tracefs_teardown(struct reclaim_priv *s)
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

/* Enable one event of the instance by its exact path, and read back
 * that it is on.  tracefs_event_enable() takes regexes: each call lists
 * every event system and the matching systems' events (seven full walks
 * of events/ per arming, ~1 s of a TCG guest's cell), and
 * tracefs_event_is_enabled() walks again to read them back. */
static int event_enable(struct tracefs_instance *inst, int i)
{
	char path[160], *st;
	int on;

	snprintf(path, sizeof path, "events/%s/%s/enable", reclaim_evdef[i].sys, reclaim_evdef[i].name);
	if (tracefs_instance_file_write(inst, path, "1") < 0)
		return 0;
	st = tracefs_instance_file_read(inst, path, NULL);
	on = st && st[0] == '1';
	free(st);
	return on;
}

/* A tep that knows the page header and just the enabled events' formats.
 * tracefs_local_events_system() would parse every vmscan event and then
 * load /proc/kallsyms, saved_cmdlines and printk_formats (~150 ms of CPU
 * natively, 20 MB of RSS), none of which these events' fields need. */
static struct tep_handle *local_tep(const int enabled[NEV])
{
	struct tep_handle *tep = tep_alloc();
	char path[160], *buf;
	int size;

	if (!tep)
		return NULL;
	/* As libtracefs does: no header is an error, a header it cannot
	 * parse leaves the defaults. */
	buf = tracefs_instance_file_read(NULL, "events/header_page", &size);
	if (!buf) {
		tep_free(tep);
		return NULL;
	}
	tep_parse_header_page(tep, buf, size, sizeof(long));
	free(buf);
	for (int i = 0; i < NEV; i++) {
		if (!enabled[i])
			continue;
		snprintf(path, sizeof path, "events/%s/%s/format", reclaim_evdef[i].sys, reclaim_evdef[i].name);
		/* An event whose format does not parse stays unused (no id). */
		buf = tracefs_instance_file_read(NULL, path, &size);
		if (buf)
			tep_parse_event(tep, buf, (unsigned long)size, reclaim_evdef[i].sys);
		free(buf);
	}
	return tep;
}

/* The buffer is kernel memory taken from the machine under test: keep
 * all CPUs' together under 1% of RAM (a 256M guest with 2 CPUs gets 1M
 * each), since it moves the OOM point it measures. */
static void cap_buffer(struct reclaim_priv *s)
{
	struct pnb_kv mi;
	uint64_t total_kb;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);

	if (!pnb_read_meminfo("", &mi) && !pnb_kv_get(&mi, "MemTotal", &total_kb) && ncpu > 0) {
		uint64_t cap = total_kb * 1024 / 128 / (uint64_t)ncpu;
		cap &= ~((64ULL << 10) - 1);
		if (cap < RECLAIM_MIN_BUF)
			cap = RECLAIM_MIN_BUF;
		if (cap < s->buf_bytes)
			s->buf_bytes = cap;
	}
}

int reclaim_tracefs_setup(struct reclaim_priv *s, const struct probe_env *env,
			 char *why, size_t whylen)
{
	const char *dir = NULL;
	char num[32];
	char *clk;
	int r, sel = 0, nreclaim = 0;
	long long subbuf_kb;

	s->epfd = -1;
	if ((r = reclaim_tracefs_precheck(env, why, whylen)))
		return r;
	/* Guests boot with tracefs unmounted; as root we mount it. */
	if (tracefs_tracing_dir_is_mounted(true, &dir) < 0) {
		snprintf(why, whylen, "tracefs is not mounted and mounting it failed");
		return -ENOENT;
	}
	if ((r = reclaim_tracefs_precheck(env, why, whylen)))
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
	if (!s->buf_given)
		cap_buffer(s);
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

	int enabled[NEV];
	for (int i = 0; i < NEV; i++) {
		s->ev_id[i] = -1;
		enabled[i] = event_enable(s->inst, i);
		if (enabled[i] && i != EV_MARK_VICTIM)
			nreclaim++;
	}
	if (!nreclaim) {
		snprintf(why, whylen, "tracefs: none of the vmscan reclaim events exist here");
		r = -ENOENT;
		goto fail;
	}
	s->tep = local_tep(enabled);
	if (!s->tep) {
		snprintf(why, whylen, "tracefs: cannot parse the vmscan/oom event formats");
		r = -EINVAL;
		goto fail;
	}
	for (int i = 0; i < NEV; i++) {
		struct tep_event *e = tep_find_event_by_name(s->tep, reclaim_evdef[i].sys, reclaim_evdef[i].name);
		if (e && enabled[i])
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
	reclaim_tracefs_teardown(s);
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
		jset_str(o, "kind", reclaim_kind_name[k]);
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

void reclaim_flush_before(struct probe *p, struct jsonl *out, uint64_t now, int all)
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
		o = truth_at(p, out, rec->ts, now, reclaim_evdef[ev].what);
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
		o = truth_at(p, out, rec->ts, now, reclaim_evdef[ev].what);
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

int reclaim_drain_all(struct probe *p, struct jsonl *out)
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
void reclaim_check_overruns(struct probe *p, struct jsonl *out)
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
