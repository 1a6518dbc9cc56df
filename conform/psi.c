/* PSI trigger cases (Documentation/accounting/psi.rst, kernel/sched/psi.c
 * psi_trigger_create / psi_write). */
#include "conform.h"
#include "cgroupfs.h"
#include "memcg.h"
#include "clock.h"
#include "jsonl.h"
#include "procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PSI_MEM "/proc/pressure/memory"
#define PSI_CG "/sys/fs/cgroup/memory/cf-psi"

/* Open path and write spec with its NUL (the kernel overwrites the last
 * byte of what it copies with NUL).  The fd in *fdp (or closed when fdp
 * is NULL); 0 or -errno of open/write. */
/* One trigger, on its own fd (NULL: closed again); 0 or -errno: the
 * cases judge the kernel's answer itself. */
static int trig(const char *path, const char *spec, int *fdp)
{
	return pnb_psi_arm(path, spec, fdp, NULL, 0);
}

static enum cf_result need_psi(struct cf_ctx *c)
{
	if (access(PSI_MEM, R_OK))
		return cf_say(c, CF_SKIP, "unsupported: %s: %s (CONFIG_PSI off or psi=0)",
			      PSI_MEM, strerror(errno));
	return CF_PASS;
}

static const char *en(int e)
{
	return e ? strerrorname_np(-e) : "0";
}

/* Expect each spec to give want (0 or -errno); a table of checks. */
struct spec_want { const char *spec; int want; };

static enum cf_result check_specs(struct cf_ctx *c, const struct spec_want *t, int n)
{
	char bad[512] = "";
	size_t used = 0;
	json_t *arr = json_array();

	if (need_psi(c) != CF_PASS) {
		json_decref(arr);
		return CF_SKIP;
	}
	for (int i = 0; i < n; i++) {
		int r = trig(PSI_MEM, t[i].spec, NULL);
		json_t *o = json_object();
		jset_str(o, "spec", t[i].spec);
		jset_str(o, "want", en(t[i].want));
		jset_str(o, "got", en(r));
		json_array_append_new(arr, o);
		if (r != t[i].want)
			used += snprintf(bad + used, used < sizeof bad ? sizeof bad - used : 0,
					 "%s\"%s\" gave %s, documented %s", used ? "; " : "",
					 t[i].spec, en(r), en(t[i].want));
	}
	json_object_set_new(c->detail, "writes", arr);
	if (bad[0])
		return cf_say(c, CF_FAIL, "%s", bad);
	return cf_say(c, CF_PASS, "all %d trigger writes gave the documented result", n);
}

enum cf_result cf_psi_trigger_valid(struct cf_ctx *c)
{
	static const struct spec_want t[] = {
		{ "some 150000 1000000", 0 }, { "full 50000 1000000", 0 },
		{ "some 500000 500000", 0 }, { "full 1 10000000", 0 },
	};
	return check_specs(c, t, 4);
}

enum cf_result cf_psi_window_max(struct cf_ctx *c)
{
	static const struct spec_want t[] = {
		{ "some 100000 10000000", 0 }, { "some 100000 10000001", -EINVAL },
		{ "some 100000 60000000", -EINVAL },
	};
	return check_specs(c, t, 3);
}

enum cf_result cf_psi_window_min(struct cf_ctx *c)
{
	static const struct spec_want t[] = {
		{ "some 10000 500000", 0 }, { "some 10000 499999", -EINVAL },
		{ "some 10000 100000", -EINVAL },
	};
	return check_specs(c, t, 3);
}

enum cf_result cf_psi_threshold_gt_window(struct cf_ctx *c)
{
	static const struct spec_want t[] = {
		{ "some 1000001 1000000", -EINVAL }, { "full 2000000 1000000", -EINVAL },
		{ "some 0 1000000", -EINVAL }, { "some 1000000 1000000", 0 },
	};
	return check_specs(c, t, 4);
}

enum cf_result cf_psi_bad_keyword(struct cf_ctx *c)
{
	static const struct spec_want t[] = {
		{ "any 100000 1000000", -EINVAL }, { "some", -EINVAL },
		{ "some 100000", -EINVAL }, { "Some 100000 1000000", -EINVAL },
	};
	return check_specs(c, t, 4);
}

enum cf_result cf_psi_second_trigger_ebusy(struct cf_ctx *c)
{
	int fd, r;

	if (need_psi(c) != CF_PASS)
		return CF_SKIP;
	if ((r = trig(PSI_MEM, "some 150000 1000000", &fd)))
		return cf_say(c, CF_FAIL, "first trigger refused: %s", en(r));
	static const char second[] = "full 50000 1000000";
	r = write(fd, second, sizeof second) < 0 ? -errno : 0;
	close(fd);
	jset_str(c->detail, "second_write", en(r));
	if (r != -EBUSY)
		return cf_say(c, CF_FAIL, "second write on the same fd gave %s, documented EBUSY%s", en(r),
			      r ? "" : " (the kernel replaced the trigger: the pre-5.17 behaviour)");
	return cf_say(c, CF_PASS, "second write on the same fd: EBUSY");
}

enum cf_result cf_psi_unprivileged(struct cf_ctx *c)
{
	int p[2], res[3] = { 0, 0, 0 };

	if (need_psi(c) != CF_PASS)
		return CF_SKIP;
	if (pipe(p))
		return cf_say(c, CF_FAIL, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(9);
		int fd = open(PSI_MEM, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		res[0] = fd < 0 ? -errno : 0;
		if (fd >= 0)
			close(fd);
		if (!res[0]) {
			res[1] = trig(PSI_MEM, "some 100000 1000000", NULL);
			res[2] = trig(PSI_MEM, "some 100000 2000000", NULL);
		}
		(void)!write(p[1], res, sizeof res);
		_exit(0);
	}
	close(p[1]);
	ssize_t n = read(p[0], res, sizeof res);
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	if (n != sizeof res)
		return cf_say(c, CF_FAIL, "the uid 65534 child did not report (exit status %d)", st);
	jset_str(c->detail, "open_rdwr_uid65534", en(res[0]));
	if (res[0])
		return cf_say(c, CF_SKIP, "kernel has no unprivileged triggers: open(O_RDWR) of %s as uid "
			      "65534 gives %s (before 6.5, triggers need CAP_SYS_RESOURCE)",
			      PSI_MEM, en(res[0]));
	jset_str(c->detail, "window_1s", en(res[1]));
	jset_str(c->detail, "window_2s", en(res[2]));
	if (res[1] != -EINVAL || res[2] != 0)
		return cf_say(c, CF_FAIL, "as uid 65534: 1 s window gave %s (documented EINVAL), 2 s window "
			      "gave %s (documented 0)", en(res[1]), en(res[2]));
	return cf_say(c, CF_PASS, "as uid 65534: 1 s window EINVAL, 2 s window accepted");
}

/* The thrashing workload: 32 MiB of anon resident in a 48 MiB memcg while
 * re-reading the 128 MiB data file, so every read reclaims and refaults. */
static pid_t thrash_start(struct cf_ctx *c, const char *v2procs, char *why, size_t len)
{
	struct cf_hog h = { .kind = CF_HOG_THRASH, .anon_bytes = 32 << 20 };
	int e;

	(void)c;
	if (!cf_have_data()) {
		snprintf(why, len, "no data file %s (the guest needs its data disk)", CF_DATA);
		return -ENOENT;
	}
	if ((e = pnb_memcg_create(PSI_CG, 1)) || (e = pnb_memcg_set_limit(PSI_CG, 48 << 20))) {
		snprintf(why, len, "v1 memcg %s: %s", PSI_CG, strerror(-e));
		return e;
	}
	h.procs[0] = PSI_CG "/cgroup.procs";
	h.procs[1] = v2procs;
	pid_t pid = cf_hog_start(&h);
	if (pid < 0)
		snprintf(why, len, "fork: %s", strerror(-pid));
	return pid;
}

static void thrash_stop(pid_t pid)
{
	if (pid > 0)
		cf_hog_stop(pid);
	pnb_memcg_remove(PSI_CG, 0, 100, 20);
}

static uint64_t some_total_us(const char *path)
{
	struct pnb_psi psi;
	return pnb_read_psi("", path, &psi) ? 0 : psi.some.total_us;
}

/* Poll a trigger fd for up to dur_ns while sampling the stall total of
 * stall_path every 50 ms; for every POLLPRI, the stall growth over the
 * trigger's window before it.  A trigger fires when "total stall time
 * within any <window>" reaches the threshold, so the growth between the
 * last sample at least win + slack before the event and the event itself
 * must reach it.  slack: the kernel's poller updates 10 times per window
 * (psi.rst), so the event may come up to win/10 after the crossing, and a
 * sample may be up to 50 ms older than it needs to be.  Returns the number
 * of events; *min_growth_us the smallest growth before any of them. */
#define PSI_SAMPLE_NS (50 * NS_PER_MS)
struct psi_watch {
	int events;
	uint64_t first_ns;		/* since t0 */
	uint64_t min_growth_us;		/* over the window before each event */
	uint64_t total_growth_us;	/* over the whole watch */
};

static int watch(int fd, const char *stall_path, uint64_t win_ns, uint64_t t0, uint64_t dur_ns,
		 int stop_on_event, struct psi_watch *w)
{
	enum { NS = 512 };
	uint64_t st[NS], tt[NS];
	int ns = 0;

	memset(w, 0, sizeof *w);
	w->min_growth_us = UINT64_MAX;
	st[0] = some_total_us(stall_path);
	tt[ns++] = pnb_mono_ns();
	uint64_t start_total = st[0], end = pnb_mono_ns() + dur_ns;
	for (;;) {
		uint64_t now = pnb_mono_ns();
		if (now >= end)
			break;
		uint64_t left = end - now < PSI_SAMPLE_NS ? end - now : PSI_SAMPLE_NS;
		struct pollfd pf = { .fd = fd, .events = POLLPRI };
		int r = poll(&pf, 1, (int)(left / NS_PER_MS) + 1);
		uint64_t tnow = pnb_mono_ns(), snow = some_total_us(stall_path);
		if (r > 0 && (pf.revents & POLLPRI)) {
			uint64_t from = tnow - win_ns - win_ns / 10 - PSI_SAMPLE_NS, base = st[0];
			for (int i = 0; i < ns && tt[i] <= from; i++)
				base = st[i];
			if (snow - base < w->min_growth_us)
				w->min_growth_us = snow - base;
			if (!w->events++)
				w->first_ns = tnow - t0;
		}
		if (ns < NS) {
			tt[ns] = tnow;
			st[ns++] = snow;
		} else {
			memmove(tt, tt + 1, sizeof tt[0] * (NS - 1));
			memmove(st, st + 1, sizeof st[0] * (NS - 1));
			tt[NS - 1] = tnow;
			st[NS - 1] = snow;
		}
		if (stop_on_event && w->events)
			break;
	}
	w->total_growth_us = st[ns - 1] - start_total;
	return w->events;
}

enum cf_result cf_psi_fires_thrashing(struct cf_ctx *c)
{
	static const char spec[] = "some 50000 1000000";
	const uint64_t thr_us = 50000, win = NS_PER_S;
	const char *idle_cg = CF_V2 "/cf-psi-idle";
	char why[256];
	int fd, fi = -1, r;
	enum cf_result res;
	struct psi_watch idle, busy, ctl = { 0 };

	if (need_psi(c) != CF_PASS)
		return CF_SKIP;
	if ((r = trig(PSI_MEM, spec, &fd)))
		return cf_say(c, CF_FAIL, "trigger \"%s\" refused: %s", spec, en(r));
	/* Control 1, the same trigger before any pressure: an event here
	 * without the stall behind it would make the thrashing event
	 * meaningless. */
	uint64_t t0 = pnb_mono_ns();
	watch(fd, PSI_MEM, win, t0, 2 * NS_PER_S, 0, &idle);
	/* Control 2, a trigger on an empty cgroup2 group armed through the
	 * thrashing: nothing in it can stall. */
	int have_ctl = !pnb_cgroup_mkdir(idle_cg, 1) &&
		       !trig(CF_V2 "/cf-psi-idle/memory.pressure", spec, &fi);
	t0 = pnb_mono_ns();
	pid_t pid = thrash_start(c, NULL, why, sizeof why);
	if (pid < 0) {
		close(fd);
		if (fi >= 0)
			close(fi);
		pnb_memcg_remove(idle_cg, 0, 100, 20);
		return cf_say(c, CF_SKIP, "cannot make pressure: %s", why);
	}
	watch(fd, PSI_MEM, win, t0, 10 * NS_PER_S, 1, &busy);
	/* Two more windows of thrashing for the empty group to stay silent
	 * through; an event it got earlier is still pending in its fd. */
	if (have_ctl && busy.events)
		watch(fi, CF_V2 "/cf-psi-idle/memory.pressure", win, t0, 2 * NS_PER_S, 0, &ctl);
	thrash_stop(pid);
	close(fd);
	if (fi >= 0)
		close(fi);
	pnb_memcg_remove(idle_cg, 0, 100, 20);
	jset_int(c->detail, "threshold_us", (long long)thr_us);
	jset_int(c->detail, "idle_events", idle.events);
	jset_int(c->detail, "idle_stall_us", (long long)idle.total_growth_us);
	jset_int(c->detail, "first_event_ns", busy.events ? (long long)busy.first_ns : -1);
	jset_int(c->detail, "stall_before_event_us", busy.events ? (long long)busy.min_growth_us : -1);
	jset_int(c->detail, "some_stall_us", (long long)busy.total_growth_us);
	jset_bool(c->detail, "control_cgroup", have_ctl);
	jset_int(c->detail, "control_cgroup_events", have_ctl ? ctl.events : -1);
	jset_int(c->detail, "control_cgroup_stall_us", have_ctl ? (long long)ctl.total_growth_us : -1);
	if (idle.events && idle.min_growth_us < thr_us)
		res = cf_say(c, CF_FAIL, "the trigger fired %d time(s) in 2 s before any pressure, with %llu us "
			     "of stall in the window before (threshold %llu us)", idle.events,
			     (unsigned long long)idle.min_growth_us, (unsigned long long)thr_us);
	else if (idle.events)
		res = cf_say(c, CF_SKIP, "the system stalled %llu us before the hog started: no idle window "
			     "to control against", (unsigned long long)idle.total_growth_us);
	else if (!busy.events)
		res = cf_say(c, CF_FAIL, "no POLLPRI within 10 s of thrashing (some stall grew %llu us, "
			     "threshold %llu us per 1 s window)", (unsigned long long)busy.total_growth_us,
			     (unsigned long long)thr_us);
	else if (busy.min_growth_us < thr_us)
		res = cf_say(c, CF_FAIL, "POLLPRI %.2f s after the thrashing started with only %llu us of some "
			     "stall in the window before it (threshold %llu us; window 1 s + 150 ms slack)",
			     busy.first_ns / 1e9, (unsigned long long)busy.min_growth_us,
			     (unsigned long long)thr_us);
	else if (have_ctl && ctl.events)
		res = cf_say(c, CF_FAIL, "the trigger on the empty group %s fired %d time(s) while another "
			     "group thrashed (its stall grew %llu us)", idle_cg, ctl.events,
			     (unsigned long long)ctl.total_growth_us);
	else
		res = cf_say(c, CF_PASS, "POLLPRI %.2f s after the thrashing started, %llu us of some stall in "
			     "the window before it (threshold %llu us); silent for 2 s idle%s",
			     busy.first_ns / 1e9, (unsigned long long)busy.min_growth_us,
			     (unsigned long long)thr_us,
			     have_ctl ? " and on an empty cgroup2 group through 2 s more thrashing" :
			     " (no cgroup2 memory.pressure for the empty-group control)");
	return res;
}

enum cf_result cf_psi_one_event_per_window(struct cf_ctx *c)
{
	const uint64_t win = NS_PER_S, run = 6 * NS_PER_S;
	char why[256];
	int fd, r, n = 0;
	uint64_t ev[64], min_gap = UINT64_MAX;

	if (need_psi(c) != CF_PASS)
		return CF_SKIP;
	if ((r = trig(PSI_MEM, "some 10000 1000000", &fd)))
		return cf_say(c, CF_FAIL, "trigger \"some 10000 1000000\" refused: %s", en(r));
	uint64_t t0 = pnb_mono_ns();
	pid_t pid = thrash_start(c, NULL, why, sizeof why);
	if (pid < 0) {
		close(fd);
		return cf_say(c, CF_SKIP, "cannot make pressure: %s", why);
	}
	while (pnb_mono_ns() < t0 + run && n < 64) {
		struct pollfd pf = { .fd = fd, .events = POLLPRI };
		int left = (int)((t0 + run - pnb_mono_ns()) / NS_PER_MS) + 1;
		if (poll(&pf, 1, left) > 0 && (pf.revents & POLLPRI))
			ev[n++] = pnb_mono_ns();
	}
	uint64_t t1 = pnb_mono_ns();
	thrash_stop(pid);
	close(fd);
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		json_array_append_new(a, json_integer((long long)(ev[i] - t0)));
		if (i && ev[i] - ev[i - 1] < min_gap)
			min_gap = ev[i] - ev[i - 1];
	}
	json_object_set_new(c->detail, "event_ns", a);
	jset_int(c->detail, "events", n);
	jset_int(c->detail, "window_ns", (long long)win);
	uint64_t bound = (t1 - t0) / win + 1;
	if (n < 2)
		return cf_say(c, CF_SKIP, "only %d event(s) in %.1f s of thrashing: too few to judge the "
			      "rate limit", n, (t1 - t0) / 1e9);
	jset_int(c->detail, "min_gap_ns", (long long)min_gap);
	/* Tolerance: the kernel spaces events by >= window on its clock; the
	 * observed gap also carries wake-up latency, so 10% of the window. */
	if ((uint64_t)n > bound || min_gap < win * 9 / 10)
		return cf_say(c, CF_FAIL, "%d events in %.2f s (bound %llu), smallest gap %.3f s < 0.9 x "
			      "window 1 s", n, (t1 - t0) / 1e9, (unsigned long long)bound, min_gap / 1e9);
	return cf_say(c, CF_PASS, "%d events in %.2f s, smallest gap %.3f s (>= 0.9 x window 1 s; "
		      "tolerance 10%% for wake-up latency)", n, (t1 - t0) / 1e9, min_gap / 1e9);
}

enum cf_result cf_psi_cgroup_trigger_scoped(struct cf_ctx *c)
{
	const char *A = CF_V2 "/cf-psi-a", *B = CF_V2 "/cf-psi-b";
	char why[256];
	int fa = -1, fb = -1, r, e;
	enum cf_result res;

	if (need_psi(c) != CF_PASS)
		return CF_SKIP;
	if ((e = pnb_cgroup_mkdir(A, 1)) || (e = pnb_cgroup_mkdir(B, 1)))
		return cf_say(c, CF_SKIP, "unsupported: cannot create cgroup2 groups under %s: %s",
			      CF_V2, strerror(-e));
	if ((r = trig(CF_V2 "/cf-psi-a/memory.pressure", "some 50000 1000000", &fa)) ||
	    (r = trig(CF_V2 "/cf-psi-b/memory.pressure", "some 50000 1000000", &fb))) {
		res = cf_say(c, r == -ENOENT ? CF_SKIP : CF_FAIL,
			     "trigger on cgroup2 memory.pressure refused: %s", en(r));
		goto out;
	}
	uint64_t t0 = pnb_mono_ns();
	pid_t pid = thrash_start(c, CF_V2 "/cf-psi-a/cgroup.procs", why, sizeof why);
	if (pid < 0) {
		res = cf_say(c, CF_SKIP, "cannot make pressure: %s", why);
		goto out;
	}
	int na = 0, nb = 0;
	uint64_t first_a = 0;
	while (pnb_mono_ns() < t0 + 6 * NS_PER_S) {
		struct pollfd pf[2] = { { .fd = fa, .events = POLLPRI }, { .fd = fb, .events = POLLPRI } };
		if (poll(pf, 2, 200) <= 0)
			continue;
		if (pf[0].revents & POLLPRI && !na++)
			first_a = pnb_mono_ns() - t0;
		if (pf[1].revents & POLLPRI)
			nb++;
	}
	thrash_stop(pid);
	jset_int(c->detail, "events_a", na);
	jset_int(c->detail, "events_b", nb);
	jset_int(c->detail, "first_a_ns", na ? (long long)first_a : -1);
	jset_int(c->detail, "stall_a_us", (long long)some_total_us(CF_V2 "/cf-psi-a/memory.pressure"));
	jset_int(c->detail, "stall_b_us", (long long)some_total_us(CF_V2 "/cf-psi-b/memory.pressure"));
	if (na && !nb)
		res = cf_say(c, CF_PASS, "A (thrashing) fired %d time(s), sibling B none, in 6 s", na);
	else
		res = cf_say(c, CF_FAIL, "A (thrashing) fired %d time(s), sibling B (idle) %d time(s), "
			     "in 6 s; documented: A > 0, B = 0", na, nb);
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	pnb_memcg_remove(A, 0, 100, 20);
	pnb_memcg_remove(B, 0, 100, 20);
	return res;
}

static int count_psimon(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;
	char p[300], comm[64];

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof p, "/proc/%s/comm", de->d_name);
		if (pnb_read_file("", p, comm, sizeof comm) > 0 && !strncmp(comm, "psimon", 6))
			n++;
	}
	closedir(d);
	return n;
}

enum cf_result cf_psi_close_disarms(struct cf_ctx *c)
{
	int fd, r;

	if (need_psi(c) != CF_PASS)
		return CF_SKIP;
	int before = count_psimon();
	if ((r = trig(PSI_MEM, "some 50000 1000000", &fd)))
		return cf_say(c, CF_FAIL, "trigger refused: %s", en(r));
	int armed = count_psimon();
	close(fd);
	int after = armed;
	uint64_t t0 = pnb_mono_ns();
	while (pnb_mono_ns() < t0 + 2 * NS_PER_S && (after = count_psimon()) > before)
		usleep(20000);
	jset_int(c->detail, "psimon_before", before);
	jset_int(c->detail, "psimon_armed", armed);
	jset_int(c->detail, "psimon_after_close", after);
	if (armed <= before)
		return cf_say(c, CF_SKIP, "cannot observe: arming a trigger started no psimon poller "
			      "(%d before, %d armed)", before, armed);
	if (after > before)
		return cf_say(c, CF_FAIL, "psimon poller still running 2 s after the only trigger's fd "
			      "was closed (%d before, %d after)", before, after);
	return cf_say(c, CF_PASS, "psimon poller gone %.3f s after close (%d armed, %d after)",
		      (pnb_mono_ns() - t0) / 1e9, armed, after);
}
