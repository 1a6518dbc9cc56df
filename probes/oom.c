/* Ground truth for OOM kills: oom.
 *
 * Two sources, both emitted, matched later by the analysis:
 *  - /dev/kmsg: the kernel's "Killed process PID (COMM)" report, read live
 *    (only records newer than open()).  It names the victim; its timestamp
 *    ("kmsg_ts_us") is the printk clock, which is not CLOCK_MONOTONIC, so
 *    t_ns is when we read the record.
 *  - /proc/vmstat oom_kill (4.13+): counts every kill, including ones whose
 *    report was rate-limited or lost, but says nothing about the victim.
 *    Read at once after each kmsg kill, and polled: every 10 ms while it is
 *    the only timing source (no /dev/kmsg, or kmsg lost records), every
 *    100 ms as a backstop while kmsg is whole.  /proc/vmstat costs ~50 us
 *    to generate; at 100 Hz it was a quarter of the recorder's CPU.
 * Either source alone is enough to arm the probe; when one is missing the
 * probe says so in a "probe" line with status "degraded". */
#include "probe.h"
#include "procfs.h"
#include "clock.h"
#include "parse.h"
#include "oom.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define OOM_POLL_NS (10 * NS_PER_MS)
#define OOM_BACKSTOP_NS (100 * NS_PER_MS)
/* The kernel refuses reads into buffers smaller than a record; its own
 * per-reader buffer (CONSOLE_EXT_LOG_MAX / PRINTK_MESSAGE_MAX) is 8 KiB. */
#define KMSG_REC_MAX 8192
#define VMSTAT_LEN (64 * 1024)

/* ---- the parser -------------------------------------------------------- */

static int parse_u64_n(const char *s, size_t len, uint64_t *v)
{
	char buf[32];

	if (len == 0 || len >= sizeof buf)
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = 0;
	return pnb_parse_u64(buf, v);
}

static int parse_i64_n(const char *s, size_t len, int64_t *v)
{
	char buf[32];

	if (len == 0 || len >= sizeof buf)
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = 0;
	return pnb_parse_i64(buf, v);
}

int oom_kmsg_split(const char *rec, size_t len, struct oom_kmsg_rec *r)
{
	const char *semi = memchr(rec, ';', len);
	const char *f[3], *end, *p, *nl;
	size_t flen[3];
	uint64_t pri;
	int i;

	if (!semi)
		return -EINVAL;
	/* "pri,seq,ts_us,flags[,more]": the first three are numbers. */
	p = rec;
	for (i = 0; i < 3; i++) {
		const char *c = memchr(p, ',', (size_t)(semi - p));
		if (!c)
			return -EINVAL;
		f[i] = p;
		flen[i] = (size_t)(c - p);
		p = c + 1;
	}
	if (p >= semi)
		return -EINVAL;		/* flags field missing */
	if (parse_u64_n(f[0], flen[0], &pri) || pri > 0xffffffffULL ||
	    parse_u64_n(f[1], flen[1], &r->seq) || parse_u64_n(f[2], flen[2], &r->ts_us))
		return -EINVAL;
	r->facility = (unsigned)(pri >> 3);
	r->level = (unsigned)(pri & 7);
	r->text = semi + 1;
	end = rec + len;
	nl = memchr(r->text, '\n', (size_t)(end - r->text));
	r->text_len = (size_t)((nl ? nl : end) - r->text);
	return 0;
}

static int starts(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	return len >= n && memcmp(s, lit, n) == 0;
}

/* Find lit in s[0..len). */
static const char *find(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);

	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (memcmp(s + i, lit, n) == 0)
			return s + i;
	return NULL;
}

/* "key:NkB" / "key:N" after the comm; unknown keys are skipped so a kernel
 * that adds a field does not hide the kill. */
static void kill_fields(const char *s, size_t len, struct oom_kill_info *k)
{
	static const struct { const char *key; int kb; size_t off; } tab[] = {
		{ "total-vm", 1, offsetof(struct oom_kill_info, total_vm_kb) },
		{ "anon-rss", 1, offsetof(struct oom_kill_info, anon_rss_kb) },
		{ "file-rss", 1, offsetof(struct oom_kill_info, file_rss_kb) },
		{ "shmem-rss", 1, offsetof(struct oom_kill_info, shmem_rss_kb) },
		{ "pgtables", 1, offsetof(struct oom_kill_info, pgtables_kb) },
		{ "UID", 0, offsetof(struct oom_kill_info, uid) },
		{ "oom_score_adj", 0, offsetof(struct oom_kill_info, oom_score_adj) },
	};
	const char *p = s, *end = s + len;

	while (p < end) {
		while (p < end && (*p == ' ' || *p == ','))
			p++;
		const char *tok = p;
		while (p < end && *p != ' ' && *p != ',')
			p++;
		const char *colon = memchr(tok, ':', (size_t)(p - tok));
		if (!colon)
			continue;
		for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
			size_t kl = strlen(tab[i].key);
			const char *v = colon + 1;
			size_t vl = (size_t)(p - v);
			int64_t val;

			if ((size_t)(colon - tok) != kl || memcmp(tok, tab[i].key, kl))
				continue;
			if (tab[i].kb) {
				if (vl < 2 || memcmp(v + vl - 2, "kB", 2))
					break;
				vl -= 2;
			}
			if (parse_i64_n(v, vl, &val))
				break;
			*(int64_t *)((char *)k + tab[i].off) = val;
			if (tab[i].off == offsetof(struct oom_kill_info, oom_score_adj))
				k->has_oom_score_adj = 1;
			break;
		}
	}
}

int oom_parse_kill(const char *text, size_t len, struct oom_kill_info *k)
{
	static const char kp[] = "Killed process ";
	const char *at, *p, *end = text + len, *open, *close;
	size_t plen;
	uint64_t pid;

	memset(k, 0, sizeof *k);
	k->total_vm_kb = k->anon_rss_kb = k->file_rss_kb = -1;
	k->shmem_rss_kb = k->pgtables_kb = k->uid = -1;

	if (starts(text, len, kp)) {
		at = text;		/* before 4.19: no message prefix */
	} else {
		/* "<message>: Killed process": the message names the OOM kind,
		 * and anything else with that phrase is not the OOM killer
		 * (e.g. "oom_reaper: reaped process"). */
		at = find(text, len, ": Killed process ");
		if (!at)
			return 0;
		plen = (size_t)(at - text);
		if (!starts(text, plen, "Out of memory") &&
		    !starts(text, plen, "Memory cgroup out of memory"))
			return 0;
		if (plen >= sizeof k->message)
			plen = sizeof k->message - 1;
		memcpy(k->message, text, plen);
		k->message[plen] = 0;
		k->memcg = starts(text, plen, "Memory cgroup out of memory");
		at += 2;
	}
	p = at + sizeof kp - 1;
	open = p;
	while (open < end && isdigit((unsigned char)*open))
		open++;
	if (parse_u64_n(p, (size_t)(open - p), &pid) || pid == 0 || pid > 0x7fffffff)
		return 0;
	if (end - open < 3 || open[0] != ' ' || open[1] != '(')
		return 0;
	open += 2;
	/* comm may itself hold ") " or "(": the fields after it anchor the end
	 * when there are any, else the record ends with the comm's ')'. */
	close = find(open, (size_t)(end - open), ") total-vm:");
	if (!close) {
		close = end - 1;
		while (close > open && (*close == ' ' || *close == '\r'))
			close--;
		if (close < open || *close != ')')
			return 0;
	}
	if ((size_t)(close - open) >= sizeof k->comm)
		return 0;
	memcpy(k->comm, open, (size_t)(close - open));
	k->comm[close - open] = 0;
	k->pid = (int)pid;
	if (close + 1 < end)
		kill_fields(close + 1, (size_t)(end - close - 1), k);
	return 1;
}

int oom_parse_kmsg(const char *rec, size_t len, struct oom_kmsg_rec *r,
		   struct oom_kill_info *k)
{
	int e = oom_kmsg_split(rec, len, r);

	if (e)
		return e;
	/* Anyone with write access to /dev/kmsg can print the same words;
	 * those records carry facility LOG_USER (1) or higher. */
	if (r->facility != 0)
		return 0;
	return oom_parse_kill(r->text, r->text_len, k);
}

/* ---- the probe --------------------------------------------------------- */

struct oom_priv {
	int kmsg_fd, timer_fd, vmstat_fd;
	int have_vmstat;
	uint64_t last_oom_kill;
	uint64_t kmsg_kills, vmstat_kills, kmsg_lost;
	char kmsg_why[200], vmstat_why[200];
	char rec[KMSG_REC_MAX + 1];
	char vmstat[VMSTAT_LEN];
};

static int oom_parse(struct probe *p, const char *args, char *err, size_t errlen)
{
	(void)p;
	if (*args) {
		snprintf(err, errlen, "takes no arguments (want just 'oom')");
		return -EINVAL;
	}
	return 0;
}

/* Just the one line: a full kv parse of ~200 lines every 10 ms buys nothing. */
static int vmstat_oom_kill(const char *text, uint64_t *v)
{
	static const char key[] = "oom_kill ";
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, key, sizeof key - 1) == 0) {
			const char *s = p + sizeof key - 1;
			const char *e = strchr(s, '\n');
			return parse_u64_n(s, e ? (size_t)(e - s) : strlen(s), v) ? -EINVAL : 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

/* Each source on its own: 0 or -errno with the reason in why. */
static int try_kmsg(const char *root, int *fdp, char *why, size_t whylen)
{
	char path[4096];
	int fd, r;

	if ((r = pnb_path(path, sizeof path, root, "/dev/kmsg"))) {
		snprintf(why, whylen, "/dev/kmsg: path too long");
		return r;
	}
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(why, whylen, "%.120s: %s%s", path, strerror(-r),
			 r == -EPERM || r == -EACCES ? " (dmesg_restrict, or not root)" : "");
		return r;
	}
	if (fdp) {
		/* Only kills from now on: the ring holds old ones from before the run. */
		if (lseek(fd, 0, SEEK_END) < 0) {
			r = -errno;
			snprintf(why, whylen, "%.120s: lseek(SEEK_END): %s", path, strerror(-r));
			close(fd);
			return r;
		}
		*fdp = fd;
	} else {
		close(fd);
	}
	return 0;
}

static int try_vmstat(const char *root, struct oom_priv *s, int keep, char *why, size_t whylen)
{
	char path[4096];
	uint64_t v;
	ssize_t n;
	int fd, r;

	if ((r = pnb_path(path, sizeof path, root, "/proc/vmstat"))) {
		snprintf(why, whylen, "/proc/vmstat: path too long");
		return r;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(why, whylen, "%.120s: %s", path, strerror(-r));
		return r;
	}
	n = pnb_pread_text(fd, s->vmstat, sizeof s->vmstat);
	r = n < 0 ? (int)n : vmstat_oom_kill(s->vmstat, &v);
	if (r) {
		snprintf(why, whylen, "%.120s: %s", path, r == -ENOENT ?
			 "no oom_kill counter (added in 4.13)" :
			 r == -EINVAL ? "malformed oom_kill line" : strerror(-r));
		close(fd);
		return r;
	}
	if (keep) {
		s->vmstat_fd = fd;
		s->last_oom_kill = v;
	} else {
		close(fd);
	}
	return 0;
}

static int oom_supported(const struct probe *p, const struct probe_env *env,
			 char *why, size_t whylen)
{
	struct oom_priv *s = p->priv;
	int rk = try_kmsg(env->root, NULL, s->kmsg_why, sizeof s->kmsg_why);
	int rv = try_vmstat(env->root, s, 0, s->vmstat_why, sizeof s->vmstat_why);

	if (rk && rv) {
		snprintf(why, whylen, "neither source works: %s; %s", s->kmsg_why, s->vmstat_why);
		return rk;
	}
	return 0;
}

static int oom_open(struct probe *p, const struct probe_env *env, struct jsonl *out,
		    char *why, size_t whylen)
{
	struct oom_priv *s = p->priv;
	struct itimerspec its = { 0 };
	int rk, rv, n = 0;

	s->kmsg_fd = s->timer_fd = s->vmstat_fd = -1;
	s->kmsg_kills = s->vmstat_kills = s->kmsg_lost = 0;
	s->kmsg_why[0] = s->vmstat_why[0] = 0;
	rk = try_kmsg(env->root, &s->kmsg_fd, s->kmsg_why, sizeof s->kmsg_why);
	rv = try_vmstat(env->root, s, 1, s->vmstat_why, sizeof s->vmstat_why);
	if (rk && rv) {
		snprintf(why, whylen, "neither source works: %s; %s", s->kmsg_why, s->vmstat_why);
		return rk;
	}
	s->have_vmstat = !rv;
	if (s->have_vmstat) {
		uint64_t every = s->kmsg_fd >= 0 ? OOM_BACKSTOP_NS : OOM_POLL_NS;
		s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		its.it_value.tv_nsec = (long)every;
		its.it_interval.tv_nsec = (long)every;
		if (s->timer_fd < 0 || timerfd_settime(s->timer_fd, 0, &its, NULL) < 0) {
			int r = -errno;
			snprintf(why, whylen, "timerfd: %s", strerror(-r));
			if (s->timer_fd >= 0)
				close(s->timer_fd);
			close(s->vmstat_fd);
			if (s->kmsg_fd >= 0)
				close(s->kmsg_fd);
			s->timer_fd = s->vmstat_fd = s->kmsg_fd = -1;
			return r;
		}
	}
	if (s->kmsg_fd >= 0)
		p->fd[n++] = s->kmsg_fd;
	if (s->timer_fd >= 0)
		p->fd[n++] = s->timer_fd;
	p->nfd = n;
	if (rk || rv) {
		char msg[400];
		json_t *o = probe_event(p, out, "probe", pnb_mono_ns());
		jset_str(o, "status", "degraded");
		snprintf(msg, sizeof msg, rk ? "OOM kills from /proc/vmstat only, no victim "
			 "names: %s" : "OOM kills from /dev/kmsg only, kills with a lost or "
			 "rate-limited report are missed: %s", rk ? s->kmsg_why : s->vmstat_why);
		jset_str(o, "reason", msg);
		jsonl_emit(out, o);
	}
	return 0;
}

static void emit_kmsg_kill(struct probe *p, struct jsonl *out, uint64_t now,
			   const struct oom_kmsg_rec *r, const struct oom_kill_info *k)
{
	json_t *o = probe_event(p, out, "truth", now);

	jset_str(o, "what", "oom_kill");
	jset_str(o, "source", "kmsg");
	jset_int(o, "pid", k->pid);
	jset_str(o, "comm", k->comm);
	jset_int(o, "kmsg_ts_us", (long long)r->ts_us);
	jset_int(o, "kmsg_seq", (long long)r->seq);
	jset_str(o, "scope", k->memcg ? "memcg" : "global");
	if (k->message[0])
		jset_str(o, "message", k->message);
	if (k->total_vm_kb >= 0)
		jset_int(o, "total_vm_kB", k->total_vm_kb);
	if (k->anon_rss_kb >= 0)
		jset_int(o, "anon_rss_kB", k->anon_rss_kb);
	if (k->file_rss_kb >= 0)
		jset_int(o, "file_rss_kB", k->file_rss_kb);
	if (k->shmem_rss_kb >= 0)
		jset_int(o, "shmem_rss_kB", k->shmem_rss_kb);
	if (k->pgtables_kb >= 0)
		jset_int(o, "pgtables_kB", k->pgtables_kb);
	if (k->uid >= 0)
		jset_int(o, "uid", k->uid);
	if (k->has_oom_score_adj)
		jset_int(o, "oom_score_adj", k->oom_score_adj);
	jsonl_emit(out, o);
}

static int vmstat_delta(struct probe *p, struct jsonl *out);

/* kmsg lost records: from now on the counter may be the only one to see
 * a kill, so it gets the 10 ms resolution it has when kmsg is missing. */
static void poll_fast(struct oom_priv *s)
{
	struct itimerspec its = { .it_value.tv_nsec = (long)OOM_POLL_NS,
				  .it_interval.tv_nsec = (long)OOM_POLL_NS };

	if (s->timer_fd >= 0)
		timerfd_settime(s->timer_fd, 0, &its, NULL);
}

static int drain_kmsg(struct probe *p, struct jsonl *out)
{
	struct oom_priv *s = p->priv;
	struct oom_kmsg_rec r;
	struct oom_kill_info k;

	for (;;) {
		ssize_t n = read(s->kmsg_fd, s->rec, KMSG_REC_MAX);
		uint64_t now = pnb_mono_ns();

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			if (errno == EPIPE) {
				/* The ring wrapped past us (a printk storm, e.g. the
				 * OOM report's task dump): the kernel moved us to the
				 * oldest record left.  A kill may be among the lost;
				 * the vmstat counter still has it. */
				json_t *o = probe_event(p, out, "recorder", now);
				s->kmsg_lost++;
				jset_str(o, "what", "kmsg_overrun");
				jset_int(o, "count", (long long)s->kmsg_lost);
				jsonl_emit(out, o);
				poll_fast(s);
				continue;
			}
			return -errno;
		}
		if (n == 0)
			return 0;
		s->rec[n] = 0;
		/* A malformed record is the kernel's format changing under us:
		 * skip it rather than stop watching. */
		if (oom_parse_kmsg(s->rec, (size_t)n, &r, &k) == 1) {
			s->kmsg_kills++;
			emit_kmsg_kill(p, out, now, &r, &k);
			/* The counter moved before the report was printed: its
			 * line lands beside the kill, not a backstop period later. */
			if (s->have_vmstat)
				vmstat_delta(p, out);
		}
	}
}

/* Emit the counter's increase since the last read, if any. */
static int vmstat_delta(struct probe *p, struct jsonl *out)
{
	struct oom_priv *s = p->priv;
	uint64_t v, now = pnb_mono_ns();
	ssize_t n = pnb_pread_text(s->vmstat_fd, s->vmstat, sizeof s->vmstat);
	json_t *o;
	int r;

	if (n < 0)
		return (int)n;
	if ((r = vmstat_oom_kill(s->vmstat, &v)))
		return r == -ENOENT ? -EINVAL : r;
	if (v <= s->last_oom_kill)
		return 0;
	o = probe_event(p, out, "truth", now);
	jset_str(o, "what", "oom_kill");
	jset_str(o, "source", "vmstat");
	jset_int(o, "delta", (long long)(v - s->last_oom_kill));
	jset_int(o, "oom_kill", (long long)v);
	s->vmstat_kills += v - s->last_oom_kill;
	s->last_oom_kill = v;
	return jsonl_emit(out, o);
}

static int poll_vmstat(struct probe *p, struct jsonl *out)
{
	struct oom_priv *s = p->priv;
	uint64_t exp;
	ssize_t n = read(s->timer_fd, &exp, sizeof exp);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	return vmstat_delta(p, out);
}

static int oom_handle(struct probe *p, int idx, uint64_t now_ns, struct jsonl *out)
{
	struct oom_priv *s = p->priv;

	(void)now_ns;
	if (idx < 0 || idx >= p->nfd)
		return -EINVAL;
	if (p->fd[idx] == s->kmsg_fd)
		return drain_kmsg(p, out);
	return poll_vmstat(p, out);
}

static void oom_close(struct probe *p, struct jsonl *out)
{
	struct oom_priv *s = p->priv;

	/* Kills in the last moments (the run often ends with one) are still
	 * waiting to be read. */
	if (s->kmsg_fd >= 0)
		drain_kmsg(p, out);
	if (s->timer_fd >= 0)
		vmstat_delta(p, out);
	if (s->kmsg_fd >= 0)
		close(s->kmsg_fd);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	if (s->vmstat_fd >= 0)
		close(s->vmstat_fd);
	s->kmsg_fd = s->timer_fd = s->vmstat_fd = -1;
	for (int i = 0; i < PROBE_MAX_FDS; i++)
		p->fd[i] = -1;
	p->nfd = 0;
}

const struct probe_ops probe_oom = {
	.name = "oom",
	.example = "oom",
	.synopsis = "oom",
	.summary = "ground truth: OOM kills from /dev/kmsg (victim pid, comm) and the "
		   "/proc/vmstat oom_kill counter (read after each kill; polled every 100ms, "
		   "10ms without kmsg)",
	.help = "Ground truth: OOM kills from /dev/kmsg (victim pid) and /proc/vmstat oom_kill.",
	.role = PROBE_GROUND_TRUTH,
	.parse = oom_parse,
	.supported = oom_supported,
	.open = oom_open,
	.handle = oom_handle,
	.close = oom_close,
	.priv_size = sizeof(struct oom_priv),
};
