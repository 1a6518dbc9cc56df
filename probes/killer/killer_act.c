/* pnbench-killer: choosing a victim and killing it or paging it out. */
#include "killer.h"

json_t *killer_line(struct killer *k, const char *what, uint64_t t)
{
	json_t *o = jsonl_new(&k->out, "killer", t);
	jset_str(o, "what", what);
	jset_str(o, "mechanism", k->probe.spec);
	jset_str(o, "action", k->action == ACT_KILL ? "kill" : "reclaim");
	return o;
}

void killer_jset_rel(struct killer *k, json_t *o, const char *key, uint64_t t)
{
	if (t)
		jset_int(o, key, (long long)(t - k->out.t0_ns));
	else
		json_object_set_new(o, key, json_null());
}

long long killer_avail_kb(struct killer *k)
{
	struct pnb_memview v;
	return pnb_memview_read(&k->view, &v) ? -1 : (long long)v.available_kb;
}

int killer_read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return (int)n;
}


/* Process pid of our group: its adj, RSS and comm.  0, or -1 when it is
 * not a candidate (gone, another group, a zombie, no memory). */
int killer_candidate(struct killer *k, pid_t pid, struct cand *c)
{
	char path[64], buf[1024], state;
	int pgrp;
	long long size, rss;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (killer_read_small(path, buf, sizeof buf) <= 0)
		return -1;
	/* comm may hold spaces and parentheses: the fields start after the last ')'. */
	char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
	if (!lp || !rp || sscanf(rp + 2, "%c %*d %d", &state, &pgrp) != 2)
		return -1;
	if (pgrp != k->pgid || state == 'Z' || state == 'X')
		return -1;
	snprintf(c->comm, sizeof c->comm, "%.*s", (int)(rp - lp - 1), lp + 1);
	snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
	if (killer_read_small(path, buf, sizeof buf) <= 0 || sscanf(buf, "%lld %lld", &size, &rss) != 2 || rss <= 0)
		return -1;
	c->rss_kb = rss * (sysconf(_SC_PAGESIZE) / 1024);
	snprintf(path, sizeof path, "/proc/%d/oom_score_adj", (int)pid);
	if (killer_read_small(path, buf, sizeof buf) <= 0)
		return -1;
	c->adj = atoi(buf);
	c->pid = pid;
	return 0;
}

/* lmkd's choice: highest adj >= min_adj, ties to the largest RSS.  Adj 0
 * (the foreground) only when nothing above it lives, which the order
 * gives by itself.  skip_reclaimed: the reclaim action's round. */
static int choose(struct killer *k, int min_adj, int background_only, int skip_reclaimed,
		  struct cand *best, int *live)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int found = 0;

	*live = 0;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		struct cand c;
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 1 || killer_candidate(k, (pid_t)pid, &c))
			continue;
		(*live)++;
		if (c.adj < min_adj || (background_only && c.adj <= 0))
			continue;
		if (skip_reclaimed) {
			int done = 0;
			for (int i = 0; i < k->nreclaimed; i++)
				done |= k->reclaimed[i] == c.pid;
			if (done)
				continue;
		}
		if (!found || c.adj > best->adj || (c.adj == best->adj && c.rss_kb > best->rss_kb)) {
			*best = c;
			found = 1;
		}
	}
	closedir(d);
	return found;
}

static void reason_into(json_t *o, json_t *note)
{
	json_t *r = json_object();
	const char *keys[] = { "probe", "level", "t_ns", "count", "min_score_adj", "memavail_kB",
			       "threshold_kB", "stall_us", "window_us", "delta" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		json_t *v = json_object_get(note, keys[i]);
		if (v)
			json_object_set(r, keys[i], v);
	}
	json_object_set_new(o, "reason", r);
}

void killer_do_kill(struct killer *k, json_t *note, uint64_t t_note)
{
	json_t *mina = json_object_get(note, "min_score_adj");
	int min_adj = json_is_integer(mina) ? (int)json_integer_value(mina) : 0, live;
	struct cand v;
	uint64_t t_decision, t_signal = 0, t_mrelease = 0, t_exit = 0;
	long long before = killer_avail_kb(k), after_mrelease = -1, after = -1;

	if (!choose(k, min_adj, 0, 0, &v, &live)) {
		json_t *o = killer_line(k, "no_victim", now_ns());
		reason_into(o, note);
		killer_jset_rel(k, o, "t_notify_ns", t_note);
		jset_int(o, "min_score_adj", min_adj);
		jset_int(o, "live", live);
		jsonl_emit(&k->out, o);
		return;
	}
	t_decision = now_ns();
	int pfd = (int)syscall(SYS_pidfd_open, v.pid, 0), e_signal = 0, e_mrelease = 0;
	if (pfd < 0) {
		e_signal = errno;
	} else if (syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0)) {
		e_signal = errno;
	} else {
		t_signal = now_ns();
		/* Frees the victim's memory now, not when its exit gets there. */
		if (k->have_mrelease) {
			if (syscall(SYS_process_mrelease, pfd, 0))
				e_mrelease = errno;
			t_mrelease = now_ns();
			after_mrelease = killer_avail_kb(k);
		}
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		int n;
		while ((n = poll(&p, 1, EXIT_WAIT_MS)) < 0 && errno == EINTR)
			;
		if (n == 1)
			t_exit = now_ns();
		after = killer_avail_kb(k);
	}
	if (pfd >= 0)
		close(pfd);
	k->kills += t_signal != 0;

	json_t *o = killer_line(k, "kill", t_decision);
	reason_into(o, note);
	killer_jset_rel(k, o, "t_notify_ns", t_note);
	killer_jset_rel(k, o, "t_decision_ns", t_decision);
	killer_jset_rel(k, o, "t_signal_ns", t_signal);
	killer_jset_rel(k, o, "t_mrelease_ns", t_mrelease);
	killer_jset_rel(k, o, "t_exit_ns", t_exit);
	jset_int(o, "pid", v.pid);
	jset_int(o, "adj", v.adj);
	jset_int(o, "rss_kB", v.rss_kb);
	jset_str(o, "comm", v.comm);
	jset_int(o, "min_score_adj", min_adj);
	jset_int(o, "live", live);
	if (e_signal)
		jset_str(o, "signal_error", strerror(e_signal));
	if (!k->have_mrelease)
		jset_str(o, "mrelease", k->mrelease_why);
	else if (t_signal)
		jset_str(o, "mrelease", !e_mrelease ? "ok" : e_mrelease == ESRCH ?
			 "mm already gone (ESRCH): the exit released it first" : strerror(e_mrelease));
	jset_int(o, "avail_before_kB", before);
	if (after_mrelease >= 0)
		jset_int(o, "avail_after_mrelease_kB", after_mrelease);
	jset_int(o, "avail_after_kB", after);
	if (t_signal && !t_exit)
		jset_str(o, "exit", "not within 5 s");
	jsonl_emit(&k->out, o);
}

/* The app's mappings as iovecs for process_madvise. */
static int maps_iov(pid_t pid, struct iovec *iov, int max)
{
	char path[64], line[512];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	if (!(f = fopen(path, "re")))
		return -errno;
	while (n < max && fgets(line, sizeof line, f)) {
		unsigned long a, b;
		if (sscanf(line, "%lx-%lx", &a, &b) != 2 || strstr(line, "[vsyscall]") ||
		    strstr(line, "[vdso]") || strstr(line, "[vvar]"))
			continue;
		iov[n].iov_base = (void *)a;
		iov[n].iov_len = b - a;
		n++;
	}
	fclose(f);
	return n;
}

static void rss_split(pid_t pid, long long *anon, long long *file)
{
	char path[64], buf[4096], *p;

	*anon = *file = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (killer_read_small(path, buf, sizeof buf) <= 0)
		return;
	if ((p = strstr(buf, "RssAnon:")))
		*anon = atoll(p + 8);
	if ((p = strstr(buf, "RssFile:")))
		*file = atoll(p + 8);
}

void killer_do_reclaim(struct killer *k, json_t *note, uint64_t t_note)
{
	struct cand v;
	int live;
	long long before = killer_avail_kb(k), anon0, file0, anon1, file1;
	int swap = 0;
	char buf[4096], *p;

	/* Without swap only file pages (clean ones dropped, dirty written
	 * back) can leave; with swap anonymous pages can too. */
	if (killer_read_small("/proc/meminfo", buf, sizeof buf) > 0 && (p = strstr(buf, "SwapTotal:")))
		swap = atoll(p + 10) > 0;
	if (!choose(k, 1, 1, 1, &v, &live)) {
		/* Every background app had its turn: start a new round. */
		k->nreclaimed = 0;
		if (!choose(k, 1, 1, 1, &v, &live)) {
			json_t *o = killer_line(k, "no_victim", now_ns());
			reason_into(o, note);
			killer_jset_rel(k, o, "t_notify_ns", t_note);
			jset_int(o, "live", live);
			jsonl_emit(&k->out, o);
			return;
		}
	}
	uint64_t t_decision = now_ns(), t_done = 0;
	long long advised = -1;
	int err = 0;
	rss_split(v.pid, &anon0, &file0);
	if (k->have_madvise) {
		static struct iovec iov[MAX_IOV];
		int pfd = (int)syscall(SYS_pidfd_open, v.pid, 0), n;
		if (pfd < 0) {
			err = errno;
		} else if ((n = maps_iov(v.pid, iov, MAX_IOV)) < 0) {
			err = -n;
		} else {
			/* Per mapping: one that cannot be advised (VM_LOCKED, a PFN
			 * map) must not stop the rest. */
			advised = 0;
			for (int i = 0; i < n; i++) {
				long r = syscall(SYS_process_madvise, pfd, &iov[i], 1, MADV_PAGEOUT, 0);
				if (r > 0)
					advised += r;
				else if (r < 0 && !err && errno != EINVAL && errno != ENOMEM)
					err = errno;
			}
		}
		if (pfd >= 0)
			close(pfd);
	}
	/* cgroup2 memory.reclaim (5.19+): the domain's own proactive reclaim. */
	const char *cg_status = "no cgroup2 domain";
	char cgpath[700];
	if (k->env.memcg_v2[0]) {
		snprintf(cgpath, sizeof cgpath, "%s%s/memory.reclaim", k->env.root, k->env.memcg_v2);
		int fd = open(cgpath, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			cg_status = errno == ENOENT ? "absent (before 5.19)" : strerror(errno);
		} else {
			char amt[32];
			int m = snprintf(amt, sizeof amt, "%lld", v.rss_kb * 1024);
			cg_status = write(fd, amt, (size_t)m) == m ? "ok" :
				    errno == EAGAIN ? "EAGAIN (less reclaimed than asked)" : strerror(errno);
			close(fd);
		}
	}
	t_done = now_ns();
	rss_split(v.pid, &anon1, &file1);
	if (k->nreclaimed < MAX_APPS)
		k->reclaimed[k->nreclaimed++] = v.pid;
	k->reclaims++;

	json_t *o = killer_line(k, "reclaim", t_decision);
	reason_into(o, note);
	killer_jset_rel(k, o, "t_notify_ns", t_note);
	killer_jset_rel(k, o, "t_decision_ns", t_decision);
	killer_jset_rel(k, o, "t_done_ns", t_done);
	jset_int(o, "pid", v.pid);
	jset_int(o, "adj", v.adj);
	jset_str(o, "comm", v.comm);
	jset_int(o, "rss_anon_before_kB", anon0);
	jset_int(o, "rss_file_before_kB", file0);
	jset_int(o, "rss_anon_after_kB", anon1);
	jset_int(o, "rss_file_after_kB", file1);
	jset_int(o, "advised_bytes", advised);
	jset_str(o, "madvise", !k->have_madvise ? k->madvise_why : err ? strerror(err) : "ok");
	jset_str(o, "memory_reclaim", cg_status);
	jset_str(o, "reclaimable", swap ? "anon and file (swap present)" : "file only (no swap)");
	jset_int(o, "avail_before_kB", before);
	jset_int(o, "avail_after_kB", killer_avail_kb(k));
	jsonl_emit(&k->out, o);
}

/* The probe wrote lines into our pipe: act on each notification. */
void killer_drain(struct killer *k, uint64_t t_note)
{
	for (;;) {
		ssize_t n = read(k->pipe[0], k->pbuf + k->plen, sizeof k->pbuf - 1 - k->plen);
		if (n <= 0)
			break;
		k->plen += (size_t)n;
		k->pbuf[k->plen] = 0;
		char *start = k->pbuf, *nl;
		while ((nl = strchr(start, '\n'))) {
			*nl = 0;
			json_t *o = json_loads(start, 0, NULL);
			const char *type = json_string_value(json_object_get(o, "type"));
			if (type && !strcmp(type, "notify")) {
				k->notifications++;
				if (k->action == ACT_KILL)
					killer_do_kill(k, o, t_note);
				else
					killer_do_reclaim(k, o, t_note);
			} else if (type && !strcmp(type, "probe")) {
				/* The probe's own status lines say why it failed: pass them on. */
				json_t *x = killer_line(k, "probe", now_ns());
				json_object_set(x, "detail", o);
				jsonl_emit(&k->out, x);
			}
			json_decref(o);
			start = nl + 1;
		}
		k->plen -= (size_t)(start - k->pbuf);
		memmove(k->pbuf, start, k->plen);
		if (k->plen == sizeof k->pbuf - 1)
			k->plen = 0;
	}
}
