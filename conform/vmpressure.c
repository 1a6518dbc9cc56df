/* memcg v1 vmpressure cases (Documentation/admin-guide/cgroup-v1/memory.rst,
 * "Memory Pressure"; mm/vmpressure.c). */
#include "conform.h"
#include "memcg.h"
#include "cgroupfs.h"
#include "clock.h"
#include "jsonl.h"
#include "listen.h"
#include "procfs.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static enum cf_result need_vmp(struct cf_ctx *c, const char *cg)
{
	char why[256];
	int r = pnb_vmpressure_supported("", cg, why, sizeof why);
	if (r)
		return cf_say(c, CF_SKIP, "unsupported: %s", why);
	return CF_PASS;
}

static const char *en(int e)
{
	return e ? strerrorname_np(-e) : "0";
}

static enum cf_result registrations(struct cf_ctx *c, const char *const *specs, int n, int want)
{
	const char *cg = CF_V1 "/cf-vmp";
	char why[256], bad[600] = "";
	size_t used = 0;
	int e;

	if ((e = pnb_memcg_create(cg, 1)))
		return cf_say(c, CF_SKIP, "unsupported: cannot create %s: %s", cg, strerror(-e));
	if (need_vmp(c, cg) != CF_PASS) {
		pnb_memcg_remove(cg, 0, 100, 20);
		return CF_SKIP;
	}
	json_t *o = json_object();
	for (int i = 0; i < n; i++) {
		int fd;
		int r = pnb_vmpressure_register(cg, specs[i], &fd, why, sizeof why);
		if (!r)
			close(fd);
		if (r == -EOPNOTSUPP) {
			json_decref(o);
			pnb_memcg_remove(cg, 0, 100, 20);
			return cf_say(c, CF_SKIP, "unsupported: %s", why);
		}
		jset_str(o, specs[i], en(r));
		if (r != want)
			used += snprintf(bad + used, used < sizeof bad ? sizeof bad - used : 0,
					 "%s\"%s\" gave %s", used ? "; " : "", specs[i], en(r));
	}
	json_object_set_new(c->detail, "register", o);
	pnb_memcg_remove(cg, 0, 100, 20);
	if (bad[0])
		return cf_say(c, CF_FAIL, "%s (documented %s)", bad, en(want));
	return cf_say(c, CF_PASS, "all %d registrations gave %s", n, en(want));
}

enum cf_result cf_vmp_levels_modes_accepted(struct cf_ctx *c)
{
	static const char *const s[] = {
		"low", "medium", "critical",
		"low,default", "medium,default", "critical,default",
		"low,hierarchy", "medium,hierarchy", "critical,hierarchy",
		"low,local", "medium,local", "critical,local",
	};
	return registrations(c, s, 12, 0);
}

enum cf_result cf_vmp_bad_level_mode_rejected(struct cf_ctx *c)
{
	static const char *const s[] = { "extreme", "LOW", "low,sideways", "", "medium,Local" };
	return registrations(c, s, 5, -EINVAL);
}

static const char *const levels[3] = { "low", "medium", "critical" };

/* What memory.rst promises here: a listener hears its level "or higher"
 * (so low >= medium >= critical in events), and its worked example
 * ("low,hierarchy" listener, a memcg filled until it OOMs) says to "Expect a
 * bunch of notifications, and eventually, the oom-killer will trigger":
 * notifications before the kill.  Nothing promises that each of low,
 * medium and critical comes before the kill (critical "means ... the
 * in-kernel OOM killer is on its way", not "precedes it"), so that is the
 * project's expectation: measured and reported, never a failure. */
enum cf_result cf_vmp_levels_before_oom(struct cf_ctx *c)
{
	const char *cg = CF_V1 "/cf-vmp-oom";
	const int reps = 2;
	char why[256], bad[600] = "";
	size_t used = 0;
	int e, all_levels_reps = 0;

	if (!cf_have_data())
		return cf_say(c, CF_SKIP, "no data file %s (the guest needs its data disk)", CF_DATA);
	json_t *runs = json_array();
	for (int rep = 0; rep < reps; rep++) {
		struct cf_listener ls[3] = { { 0 } };
		uint64_t death = 0;
		int st = 0;
		if ((e = pnb_memcg_create(cg, 1)) || (e = pnb_memcg_set_limit(CF_V1 "/cf-vmp-oom", 64 << 20))) {
			json_decref(runs);
			return cf_say(c, CF_SKIP, "unsupported: memcg %s: %s", cg, strerror(-e));
		}
		if (need_vmp(c, cg) != CF_PASS) {
			json_decref(runs);
			pnb_memcg_remove(cg, 0, 100, 20);
			return CF_SKIP;
		}
		for (int l = 0; l < 3; l++)
			if ((e = pnb_vmpressure_register(cg, levels[l], &ls[l].fd, why, sizeof why))) {
				for (int k = 0; k < l; k++)
					close(ls[k].fd);
				json_decref(runs);
				pnb_memcg_remove(cg, 0, 100, 20);
				return cf_say(c, CF_FAIL, "registering %s: %s", levels[l], why);
			}
		/* The swapless-fill shape: page cache first (something to
		 * reclaim, so vmpressure has scans to rate), then 10 MB/s anon
		 * until the memcg OOM killer takes the hog. */
		struct cf_hog h = { .kind = CF_HOG_ALLOC, .anon_bytes = 512 << 20,
				    .rate_bps = 10 << 20, .cache_bytes = 40 << 20,
				    .procs = { CF_V1 "/cf-vmp-oom/cgroup.procs" } };
		uint64_t t0 = pnb_mono_ns();
		pid_t pid = cf_hog_start(&h);
		cf_listen(ls, 3, t0, 40 * NS_PER_S, pid, 0, &death, &st);
		if (!death)
			cf_hog_stop(pid);
		/* The counts before the kill are what cf_listen read; work
		 * items queued by the last reclaim land after it. */
		uint64_t before[3], total[3];
		usleep(200000);
		for (int l = 0; l < 3; l++) {
			uint64_t v;
			before[l] = ls[l].count;
			total[l] = ls[l].count + (read(ls[l].fd, &v, sizeof v) == sizeof v ? v : 0);
			close(ls[l].fd);
		}
		json_t *o = json_object();
		jset_int(o, "death_ns", death ? (long long)death : -1);
		jset_bool(o, "sigkill", death && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		int seen = 0;
		json_t *lv = json_array();
		for (int l = 0; l < 3; l++) {
			char k[40];
			int in_time = ls[l].first_ns && death && ls[l].first_ns <= death;
			snprintf(k, sizeof k, "%s_first_ns", levels[l]);
			jset_int(o, k, ls[l].first_ns ? (long long)ls[l].first_ns : -1);
			snprintf(k, sizeof k, "%s_count_before_kill", levels[l]);
			jset_int(o, k, (long long)before[l]);
			snprintf(k, sizeof k, "%s_count", levels[l]);
			jset_int(o, k, (long long)total[l]);
			if (in_time) {
				seen++;
				json_array_append_new(lv, json_string(levels[l]));
			}
		}
		json_object_set_new(o, "levels_before_kill", lv);
		json_array_append_new(runs, o);
		all_levels_reps += seen == 3;
		pnb_memcg_remove(cg, 0, 100, 20);
		if (!death) {
			json_object_set_new(c->detail, "reps", runs);
			return cf_say(c, CF_FAIL, "rep %d: no OOM kill within 40 s at 10 MB/s in a 64 MiB memcg",
				      rep + 1);
		}
		if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) {
			json_object_set_new(c->detail, "reps", runs);
			return cf_say(c, CF_FAIL, "rep %d: the hog ended without SIGKILL (status 0x%x)", rep + 1, st);
		}
		if (!before[0])
			used += snprintf(bad + used, used < sizeof bad ? sizeof bad - used : 0,
					 "%srep %d: the low listener heard nothing before the OOM kill",
					 used ? "; " : "", rep + 1);
		if (total[0] < total[1] || total[1] < total[2])
			used += snprintf(bad + used, used < sizeof bad ? sizeof bad - used : 0,
					 "%srep %d: low %llu < medium %llu or medium < critical %llu events, but "
					 "a listener is notified at its level \"or higher\"", used ? "; " : "",
					 rep + 1, (unsigned long long)total[0], (unsigned long long)total[1],
					 (unsigned long long)total[2]);
	}
	json_object_set_new(c->detail, "reps", runs);
	/* Labelled as the project's, so nobody reads it as the kernel's. */
	jset_int(c->detail, "project_expectation_all_levels_before_kill_reps", all_levels_reps);
	if (bad[0])
		return cf_say(c, CF_FAIL, "%s", bad);
	return cf_say(c, CF_PASS, "documented: notifications before the OOM kill and low >= medium >= critical, "
		      "in %d of %d reps; measured (project expectation, not documented): low, medium and "
		      "critical all before the kill in %d of %d reps", reps, reps, all_levels_reps, reps);
}

/* The propagation episodes: parent P (no limit) and child C (32 MiB) with
 * a thrashing hog in C for 3 s.  Episode 0: listeners on P only (local,
 * hierarchy, default); episode 1: the same plus a default and a local
 * listener on C.  Episode 0 cannot carry a listener on C: any listener
 * signalled in C (whatever its mode) counts as "handled" and stops P's
 * default listener (vmpressure_event's `signalled`), which is what
 * vmp_mode_default_stops compares against. */
enum { P_LOCAL, P_HIER, P_DEFAULT, C_DEFAULT, C_LOCAL, NPROP };
static struct {
	int done;
	enum cf_result res;
	char why[300];
	uint64_t count[2][NPROP];
	/* Pages the child's reclaim took out of it in each episode (memory.stat
	 * pgpgout delta up to the kill), the evidence of pressure in C that
	 * needs no listener on C. */
	uint64_t c_pgpgout[2];
} prop;

/* vmpressure_win: reclaim must scan this many pages before vmpressure
 * computes a level and signals anyone (mm/vmpressure.c). */
#define VMP_WIN_PAGES 512

static uint64_t pgpgout(const char *cg)
{
	char path[256];
	struct pnb_kv kv;
	snprintf(path, sizeof path, "%s/memory.stat", cg);
	return pnb_read_kv("", path, &kv) ? 0 : pnb_kv_or(&kv, "pgpgout", 0);
}

static void propagation(void)
{
	const char *P = CF_V1 "/cf-vmp-p", *C = CF_V1 "/cf-vmp-p/c";
	static const char *const spec[NPROP] = { "low,local", "low,hierarchy", "low", "low", "low,local" };
	char why[256];
	int e;

	prop.done = 1;
	prop.res = CF_PASS;
	if (!cf_have_data()) {
		prop.res = CF_SKIP;
		snprintf(prop.why, sizeof prop.why, "no data file %s (the guest needs its data disk)", CF_DATA);
		return;
	}
	for (int ep = 0; ep < 2; ep++) {
		struct cf_listener ls[NPROP] = { { 0 } };
		int n = ep ? NPROP : C_DEFAULT;
		pnb_memcg_remove(C, 0, 100, 20);
		if ((e = pnb_memcg_create(P, 1)) || (e = pnb_memcg_create(C, 1)) ||
		    (e = pnb_memcg_set_limit(CF_V1 "/cf-vmp-p/c", 32 << 20))) {
			prop.res = CF_SKIP;
			snprintf(prop.why, sizeof prop.why, "unsupported: memcg %s: %s", C, strerror(-e));
			goto out;
		}
		if (pnb_vmpressure_supported("", P, why, sizeof why)) {
			prop.res = CF_SKIP;
			snprintf(prop.why, sizeof prop.why, "unsupported: %s", why);
			goto out;
		}
		for (int i = 0; i < n; i++)
			if ((e = pnb_vmpressure_register(i >= C_DEFAULT ? C : P, spec[i], &ls[i].fd, why,
							 sizeof why))) {
				for (int k = 0; k < i; k++)
					close(ls[k].fd);
				prop.res = e == -EOPNOTSUPP ? CF_SKIP : CF_FAIL;
				snprintf(prop.why, sizeof prop.why, "registering %s: %s", spec[i], why);
				goto out;
			}
		struct cf_hog h = { .kind = CF_HOG_THRASH, .anon_bytes = 8 << 20,
				    .procs = { CF_V1 "/cf-vmp-p/c/cgroup.procs" } };
		uint64_t t0 = pnb_mono_ns();
		uint64_t out0 = pgpgout(C);
		pid_t pid = cf_hog_start(&h);
		cf_listen(ls, n, t0, 3 * NS_PER_S, pid, 0, NULL, NULL);
		/* Before the kill: the hog's own pages leaving at exit are not
		 * reclaim. */
		prop.c_pgpgout[ep] = pgpgout(C) - out0;
		cf_hog_stop(pid);
		/* Work items still queued flush into the counters. */
		usleep(200000);
		for (int i = 0; i < n; i++) {
			uint64_t v;
			if (read(ls[i].fd, &v, sizeof v) == sizeof v)
				ls[i].count += v;
			prop.count[ep][i] = ls[i].count;
			close(ls[i].fd);
		}
	}
out:
	pnb_memcg_remove(C, 0, 100, 20);
	pnb_memcg_remove(P, 0, 100, 20);
}

static void prop_detail(struct cf_ctx *c)
{
	static const char *const k[NPROP] = { "p_local", "p_hierarchy", "p_default", "c_default", "c_local" };
	for (int ep = 0; ep < 2; ep++) {
		json_t *o = json_object();
		for (int i = 0; i < (ep ? NPROP : C_DEFAULT); i++)
			jset_int(o, k[i], (long long)prop.count[ep][i]);
		jset_int(o, "c_pgpgout", (long long)prop.c_pgpgout[ep]);
		json_object_set_new(c->detail, ep ? "with_child_listener" : "parent_only", o);
	}
}

/* Whether there was pressure to judge is decided from the child alone
 * (its own listeners in episode 1, its reclaim in episode 0), never from
 * the parent's listeners: silence at the parent is what these cases look
 * for. */
#define PROP_RUN() do { \
	if (!prop.done) \
		propagation(); \
	prop_detail(c); \
	if (prop.res != CF_PASS) \
		return cf_say(c, prop.res, "%s", prop.why); \
	if (!prop.count[1][C_DEFAULT] && !prop.count[1][C_LOCAL]) \
		return cf_say(c, CF_SKIP, "the child's own listeners heard nothing while its hog thrashed " \
			      "(default %llu, local %llu): no pressure to judge propagation by", \
			      CNT(1, C_DEFAULT), CNT(1, C_LOCAL)); \
	if (prop.c_pgpgout[0] < VMP_WIN_PAGES) \
		return cf_say(c, CF_SKIP, "the child gave up only %llu pages to reclaim in the parent-only " \
			      "episode, fewer than vmpressure's %d-page window: no pressure to judge by", \
			      (unsigned long long)prop.c_pgpgout[0], VMP_WIN_PAGES); \
} while (0)

#define CNT(ep, i) ((unsigned long long)prop.count[ep][i])

enum cf_result cf_vmp_mode_local(struct cf_ctx *c)
{
	PROP_RUN();
	if (!prop.count[1][C_LOCAL])
		return cf_say(c, CF_FAIL, "the child's local listener heard nothing while the child's default "
			      "listener heard %llu events; documented: a local listener is notified of pressure "
			      "in its own memcg", CNT(1, C_DEFAULT));
	if (prop.count[0][P_LOCAL] || prop.count[1][P_LOCAL])
		return cf_say(c, CF_FAIL, "parent's local listener heard the child's pressure: %llu / %llu "
			      "events (hierarchy listener %llu / %llu)", CNT(0, P_LOCAL), CNT(1, P_LOCAL),
			      CNT(0, P_HIER), CNT(1, P_HIER));
	return cf_say(c, CF_PASS, "child's local listener: %llu events; parent's local listener: 0 while "
		      "its hierarchy listener heard %llu / %llu", CNT(1, C_LOCAL), CNT(0, P_HIER), CNT(1, P_HIER));
}

enum cf_result cf_vmp_mode_hierarchy(struct cf_ctx *c)
{
	PROP_RUN();
	if (!prop.count[0][P_HIER] || !prop.count[1][P_HIER])
		return cf_say(c, CF_FAIL, "parent's hierarchy listener: %llu events without, %llu with child "
			      "listeners (the child's own: default %llu, local %llu; child reclaimed %llu pages "
			      "without listeners); documented: both > 0", CNT(0, P_HIER), CNT(1, P_HIER),
			      CNT(1, C_DEFAULT), CNT(1, C_LOCAL), (unsigned long long)prop.c_pgpgout[0]);
	return cf_say(c, CF_PASS, "parent's hierarchy listener: %llu events without, %llu with child "
		      "listeners (child's own default listener %llu)", CNT(0, P_HIER), CNT(1, P_HIER),
		      CNT(1, C_DEFAULT));
}

enum cf_result cf_vmp_mode_default_stops(struct cf_ctx *c)
{
	PROP_RUN();
	if (!prop.count[0][P_DEFAULT] || prop.count[1][P_DEFAULT] || !prop.count[1][C_DEFAULT])
		return cf_say(c, CF_FAIL, "parent's default listener: %llu events without a child listener "
			      "(documented > 0), %llu with one (documented 0); child's listener %llu "
			      "(documented > 0)", CNT(0, P_DEFAULT), CNT(1, P_DEFAULT), CNT(1, C_DEFAULT));
	return cf_say(c, CF_PASS, "parent's default listener: %llu events alone, 0 once the child "
		      "(%llu events) had listeners", CNT(0, P_DEFAULT), CNT(1, C_DEFAULT));
}

/* memory.rst defines low as "the system is reclaiming memory for new
 * allocations": a 128 MiB read through a 32 MiB memcg reclaims ~96 MiB, so
 * the low listener must hear it; and a listener hears its level "or
 * higher", so low >= medium >= critical.  Whether a stream of clean,
 * used-once cache raises medium or critical is not documented: medium
 * "might" mean swapping or paging out active cache, and mm/vmpressure.c
 * computes the level from the share of scanned pages reclaim failed to
 * free, which v1 does not expose.  So "no medium, no critical" (no false
 * alarm for a backup or a `cat`) is the project's expectation, measured
 * and labelled, not a kernel non-conformance. */
enum cf_result cf_vmp_stream_no_medium(struct cf_ctx *c)
{
	const char *cg = CF_V1 "/cf-vmp-s";
	struct cf_listener ls[3] = { { 0 } };
	char why[256];
	int e, st = 0;
	uint64_t death = 0;

	if (!cf_have_data())
		return cf_say(c, CF_SKIP, "no data file %s (the guest needs its data disk)", CF_DATA);
	if ((e = pnb_memcg_create(cg, 1)) || (e = pnb_memcg_set_limit(CF_V1 "/cf-vmp-s", 32 << 20)))
		return cf_say(c, CF_SKIP, "unsupported: memcg %s: %s", cg, strerror(-e));
	if (need_vmp(c, cg) != CF_PASS) {
		pnb_memcg_remove(cg, 0, 100, 20);
		return CF_SKIP;
	}
	for (int l = 0; l < 3; l++)
		if ((e = pnb_vmpressure_register(cg, levels[l], &ls[l].fd, why, sizeof why))) {
			for (int k = 0; k < l; k++)
				close(ls[k].fd);
			pnb_memcg_remove(cg, 0, 100, 20);
			return cf_say(c, CF_FAIL, "registering %s: %s", levels[l], why);
		}
	struct cf_hog h = { .kind = CF_HOG_STREAM, .passes = 1,
			    .procs = { CF_V1 "/cf-vmp-s/cgroup.procs" } };
	uint64_t t0 = pnb_mono_ns(), out0 = pgpgout(cg);
	pid_t pid = cf_hog_start(&h);
	cf_listen(ls, 3, t0, 30 * NS_PER_S, pid, 0, &death, &st);
	if (!death)
		cf_hog_stop(pid);
	/* Includes the reader's few own pages freed at exit: a handful
	 * against the ~24k pages a 128 MiB read through 32 MiB must evict. */
	uint64_t evicted = pgpgout(cg) - out0;
	usleep(200000);
	for (int l = 0; l < 3; l++) {
		uint64_t v;
		if (read(ls[l].fd, &v, sizeof v) == sizeof v)
			ls[l].count += v;
		char k[32];
		snprintf(k, sizeof k, "%s_count", levels[l]);
		jset_int(c->detail, k, (long long)ls[l].count);
		close(ls[l].fd);
	}
	jset_int(c->detail, "read_ns", death ? (long long)death : -1);
	jset_int(c->detail, "pgpgout", (long long)evicted);
	jset_bool(c->detail, "project_expectation_no_medium_critical", !ls[1].count && !ls[2].count);
	pnb_memcg_remove(cg, 0, 100, 20);
	if (!death || !WIFEXITED(st) || WEXITSTATUS(st))
		return cf_say(c, CF_FAIL, "the streaming reader did not finish cleanly in 30 s (status 0x%x)", st);
	if (evicted < VMP_WIN_PAGES)
		return cf_say(c, CF_SKIP, "the memcg gave up only %llu pages during a 128 MiB read through "
			      "32 MiB (fewer than vmpressure's %d-page window): no reclaim to judge",
			      (unsigned long long)evicted, VMP_WIN_PAGES);
	if (!ls[0].count)
		return cf_say(c, CF_FAIL, "no low event while the memcg reclaimed %llu pages for a streaming "
			      "read; documented: low means the system is reclaiming memory for new allocations",
			      (unsigned long long)evicted);
	if (ls[0].count < ls[1].count || ls[1].count < ls[2].count)
		return cf_say(c, CF_FAIL, "low %llu < medium %llu or medium < critical %llu events, but a "
			      "listener is notified at its level \"or higher\"", (unsigned long long)ls[0].count,
			      (unsigned long long)ls[1].count, (unsigned long long)ls[2].count);
	return cf_say(c, CF_PASS, "streaming read reclaimed %llu pages: low %llu events (documented); "
		      "measured (project expectation, not documented: no medium/critical for a stream) "
		      "medium %llu, critical %llu", (unsigned long long)evicted, (unsigned long long)ls[0].count,
		      (unsigned long long)ls[1].count, (unsigned long long)ls[2].count);
}
