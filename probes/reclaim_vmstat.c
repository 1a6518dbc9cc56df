/* The reclaim probe's vmstat source (probes/reclaim.c says what it emits). */
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

int reclaim_vmstat_check(const char *root, struct reclaim_priv *s, int keep,
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

void reclaim_open_memcg_stat(struct reclaim_priv *s, const struct probe_env *env)
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

int reclaim_vmstat_poll(struct probe *p, struct jsonl *out)
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
