/* Ground-truth probes: the kmsg OOM-kill parser on real and hand-made
 * records, the oom and reclaim specs, their vmstat paths on fixture roots
 * whose counters the test moves, and (as root) a real memcg OOM kill seen
 * by kmsg, vmstat and tracefs on one timeline. */
#include <atf-c.h>

#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "jsonl.h"
#include "oom.h"
#include "probe.h"
#include "procfs.h"

extern const struct probe_ops probe_oom, probe_reclaim, probe_sampler;

/* ---- a minimal recorder ------------------------------------------------- */

struct rig {
	struct probe p;
	struct probe_env env;
	struct jsonl out;
	char root[4096];
	int out_fd;
};

static int rig_parse(struct probe *p, const struct probe_ops *ops, const char *spec,
		     char *err, size_t errlen)
{
	memset(p, 0, sizeof *p);
	for (int i = 0; i < PROBE_MAX_FDS; i++)
		p->fd[i] = -1;
	p->ops = ops;
	snprintf(p->spec, sizeof p->spec, "%s", spec);
	p->priv = calloc(1, ops->priv_size);
	ATF_REQUIRE(p->priv);
	err[0] = 0;
	return ops->parse(p, spec + strlen(ops->name), err, errlen);
}

static void rig_env(struct rig *r, const char *root, int out_fd, uint64_t t0)
{
	memset(&r->env, 0, sizeof r->env);
	snprintf(r->root, sizeof r->root, "%s", root);
	r->env.root = r->root;
	r->env.workload_pidfd = -1;
	r->out_fd = out_fd;
	jsonl_init(&r->out, out_fd, t0);
}

static void rig_open(struct rig *r, const struct probe_ops *ops, const char *spec)
{
	char err[PROBE_ERR_LEN];
	int e = rig_parse(&r->p, ops, spec, err, sizeof err);

	ATF_REQUIRE_MSG(e == 0, "parse %s: %s", spec, err);
	e = ops->supported(&r->p, &r->env, err, sizeof err);
	ATF_REQUIRE_MSG(e == 0, "%s: unsupported: %s", spec, err);
	r->p.env = &r->env;
	e = ops->open(&r->p, &r->env, &r->out, err, sizeof err);
	ATF_REQUIRE_MSG(e == 0, "%s: open: %s", spec, err);
}

static void rig_close(struct rig *r)
{
	r->p.ops->close(&r->p, &r->out);
	free(r->p.priv);
	r->p.priv = NULL;
}

static json_t *read_events(int fd)
{
	off_t len = lseek(fd, 0, SEEK_END);
	char *buf = malloc((size_t)len + 1), *line, *save = NULL;
	json_t *arr = json_array();

	ATF_REQUIRE(buf && arr);
	ATF_REQUIRE_EQ(pread(fd, buf, (size_t)len, 0), len);
	buf[len] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		ATF_REQUIRE_MSG(o && json_is_object(o), "bad JSON line: %s", line);
		json_array_append_new(arr, o);
	}
	free(buf);
	return arr;
}

static const char *gets_(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static long long geti(json_t *o, const char *k)
{
	json_t *x = json_object_get(o, k);
	ATF_REQUIRE_MSG(x && json_is_integer(x), "%s: missing or not an integer", k);
	return json_integer_value(x);
}

/* Wait on the probe's fds for up to ms and hand them to handle(). */
static void pump(struct rig *r, int ms)
{
	uint64_t end = pnb_mono_ns() + (uint64_t)ms * NS_PER_MS;

	while (pnb_mono_ns() < end) {
		struct pollfd pfd[PROBE_MAX_FDS];
		for (int i = 0; i < r->p.nfd; i++)
			pfd[i] = (struct pollfd){ .fd = r->p.fd[i], .events = POLLIN };
		int n = poll(pfd, (nfds_t)r->p.nfd, 5);
		ATF_REQUIRE(n >= 0 || errno == EINTR);
		for (int i = 0; n > 0 && i < r->p.nfd; i++)
			if (pfd[i].revents & POLLIN)
				ATF_REQUIRE_EQ(r->p.ops->handle(&r->p, i, pnb_mono_ns(), &r->out), 0);
	}
}

/* Write text to root/rel, creating directories; the same inode is kept on
 * rewrite (O_TRUNC), so a probe's preopened fd sees the new content. */
static void put_file(const char *root, const char *rel, const char *text)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof path, "%s/%s", root, rel);
	for (char *s = path + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		mkdir(path, 0755);
		*s = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ATF_REQUIRE(fd >= 0);
	ATF_REQUIRE_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* ---- the kmsg parser ---------------------------------------------------- */

static int parse_line(const char *line, struct oom_kmsg_rec *r, struct oom_kill_info *k)
{
	return oom_parse_kmsg(line, strlen(line), r, k);
}

ATF_TC_WITHOUT_HEAD(kmsg_split);
ATF_TC_BODY(kmsg_split, tc)
{
	static const char *const bad[] = {
		"", "no semicolon at all", "6,1,2;missing flags", "6,1;x", "a,1,2,-;x",
		"6,,2,-;x", "6,1,2x,-;x", "6,1,2,;x", "6,1,;x", "-6,1,2,-;x",
		"99999999999,1,2,-;x",
	};
	struct oom_kmsg_rec r;

	(void)tc;
	ATF_REQUIRE_EQ(oom_kmsg_split("6,1364,8857142214,-;hello\n", 26, &r), 0);
	ATF_CHECK_EQ(r.facility, 0);
	ATF_CHECK_EQ(r.level, 6);
	ATF_CHECK_EQ(r.seq, 1364);
	ATF_CHECK_EQ(r.ts_us, 8857142214ULL);
	ATF_CHECK_EQ(r.text_len, 5);
	ATF_CHECK(!memcmp(r.text, "hello", 5));
	/* CONFIG_PRINTK_CALLER adds a field; dictionary lines follow the text. */
	const char *c = "3,77,123456,c,caller=T4242;text here\n SUBSYSTEM=memory\n";
	ATF_REQUIRE_EQ(oom_kmsg_split(c, strlen(c), &r), 0);
	ATF_CHECK_EQ(r.level, 3);
	ATF_CHECK_EQ(r.seq, 77);
	ATF_CHECK_EQ(r.text_len, 9);
	/* user space writes facility LOG_USER (pri 14 = 1<<3 | 6) */
	ATF_REQUIRE_EQ(oom_kmsg_split("14,5,6,-;u", 10, &r), 0);
	ATF_CHECK_EQ(r.facility, 1);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ATF_CHECK_EQ_MSG(oom_kmsg_split(bad[i], strlen(bad[i]), &r), -EINVAL,
				 "accepted '%s'", bad[i]);
}

/* The real report of a memcg OOM kill on this host: 78 records, one kill. */
ATF_TC_WITHOUT_HEAD(kmsg_memcg_capture);
ATF_TC_BODY(kmsg_memcg_capture, tc)
{
	char path[4096], line[8192];
	struct oom_kmsg_rec r;
	struct oom_kill_info k, got = { 0 };
	int kills = 0, records = 0;
	uint64_t seq = 0, ts = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/data/sampler/kmsg/memcg-oom-6.18.txt",
		 atf_tc_get_config_var(tc, "srcdir"));
	f = fopen(path, "r");
	ATF_REQUIRE_MSG(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof line, f)) {
		int e = oom_parse_kmsg(line, strlen(line), &r, &k);
		ATF_REQUIRE_MSG(e >= 0, "record rejected: %s", line);
		records++;
		if (e == 1) {
			kills++;
			got = k;
			seq = r.seq;
			ts = r.ts_us;
		}
	}
	fclose(f);
	ATF_CHECK_EQ(records, 78);
	ATF_REQUIRE_EQ(kills, 1);
	ATF_CHECK_EQ(got.pid, 15405);
	ATF_CHECK_STREQ(got.comm, "python3");
	ATF_CHECK_EQ(got.memcg, 1);
	ATF_CHECK_STREQ(got.message, "Memory cgroup out of memory");
	ATF_CHECK_EQ(got.total_vm_kb, 75160);
	ATF_CHECK_EQ(got.anon_rss_kb, 65280);
	ATF_CHECK_EQ(got.file_rss_kb, 6644);
	ATF_CHECK_EQ(got.shmem_rss_kb, 0);
	ATF_CHECK_EQ(got.uid, 0);
	ATF_CHECK_EQ(got.pgtables_kb, 188);
	ATF_CHECK_EQ(got.has_oom_score_adj, 1);
	ATF_CHECK_EQ(got.oom_score_adj, 0);
	ATF_CHECK_EQ(seq, 1365);
	ATF_CHECK_EQ(ts, 8857142228ULL);
}

/* The forms of mm/oom_kill.c across 4.x..6.x (hand-made from its format
 * strings), and near misses that must not count. */
ATF_TC_WITHOUT_HEAD(kmsg_kill_forms);
ATF_TC_BODY(kmsg_kill_forms, tc)
{
	static const struct {
		const char *rec;
		int kill, pid, memcg;
		const char *comm;
		long long anon_kb, adj;
	} cases[] = {
		/* 4.19+ global */
		{ "3,900,5000000,-;Out of memory: Killed process 4242 (stress-ng) total-vm:"
		  "1048576kB, anon-rss:900000kB, file-rss:12kB, shmem-rss:0kB, UID:1000 "
		  "pgtables:1800kB oom_score_adj:1000", 1, 4242, 0, "stress-ng", 900000, 1000 },
		/* sysctl oom_kill_allocating_task */
		{ "3,901,5000001,-;Out of memory (oom_kill_allocating_task): Killed process 7 "
		  "(hog) total-vm:10kB, anon-rss:8kB, file-rss:0kB, shmem-rss:0kB, UID:0 "
		  "pgtables:4kB oom_score_adj:-17", 1, 7, 0, "hog", 8, -17 },
		/* 4.9..4.18: the victim line has no message, shmem-rss since 4.9 */
		{ "3,50,600,-;Killed process 3131 (a.out) total-vm:4204kB, anon-rss:2048kB, "
		  "file-rss:0kB, shmem-rss:0kB", 1, 3131, 0, "a.out", 2048, -1 },
		/* 4.4: no shmem-rss */
		{ "3,50,600,-;Killed process 99 (java) total-vm:4204kB, anon-rss:1kB, "
		  "file-rss:0kB", 1, 99, 0, "java", 1, -1 },
		/* comm with spaces and parentheses, and an escaped byte */
		{ "3,51,601,-;Memory cgroup out of memory: Killed process 12 (my (odd) pr\\x09g) "
		  "total-vm:1kB, anon-rss:2kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:0kB "
		  "oom_score_adj:0", 1, 12, 1, "my (odd) pr\\x09g", 2, 0 },
		/* a future kernel with one more field, and no fields at all */
		{ "3,52,602,-;Out of memory: Killed process 13 (x) total-vm:1kB, anon-rss:5kB, "
		  "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:0kB oom_score_adj:0 swapents:9",
		  1, 13, 0, "x", 5, 0 },
		{ "3,53,603,-;Out of memory: Killed process 14 (bare)", 1, 14, 0, "bare", -1, -1 },
		/* the 4.x candidate line comes before a child may be chosen: not a kill */
		{ "3,49,599,-;Out of memory: Kill process 3131 (a.out) score 901 or sacrifice child",
		  0 },
		{ "6,60,700,-;oom_reaper: reaped process 3131 (a.out), now anon-rss:0kB, "
		  "file-rss:0kB, shmem-rss:0kB", 0 },
		{ "4,61,701,-;a.out invoked oom-killer: gfp_mask=0x6280ca, order=0, "
		  "oom_score_adj=0", 0 },
		{ "6,62,702,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),task=a.out,"
		  "pid=3131,uid=0", 0 },
		/* written to /dev/kmsg by a user (facility 1): never a kill */
		{ "11,63,703,-;Out of memory: Killed process 1 (init) total-vm:1kB", 0 },
		/* some other subsystem using the words */
		{ "3,64,704,-;mydriver: Killed process 55 (worker)", 0 },
		/* broken victim lines */
		{ "3,65,705,-;Out of memory: Killed process abc (x)", 0 },
		{ "3,66,706,-;Out of memory: Killed process 12 x", 0 },
		{ "3,67,707,-;Out of memory: Killed process 12 (unterminated", 0 },
		{ "3,68,708,-;Out of memory: Killed process 0 (swapper)", 0 },
		{ "3,69,709,-;Out of memory: Killed process 99999999999 (big)", 0 },
		{ "3,70,710,-;Out of memory: Killed process 12 (a-comm-way-too-long-for-any-"
		  "kernel-to-print-since-TASK_COMM_LEN-is-16-bytes)", 0 },
		{ "3,71,711,-;", 0 },
	};
	struct oom_kmsg_rec r;
	struct oom_kill_info k;

	(void)tc;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int e = parse_line(cases[i].rec, &r, &k);
		ATF_CHECK_EQ_MSG(e, cases[i].kill, "case %zu: got %d for '%s'", i, e, cases[i].rec);
		if (e != 1 || !cases[i].kill)
			continue;
		ATF_CHECK_EQ_MSG(k.pid, cases[i].pid, "case %zu", i);
		ATF_CHECK_EQ_MSG(k.memcg, cases[i].memcg, "case %zu", i);
		ATF_CHECK_STREQ_MSG(k.comm, cases[i].comm, "case %zu", i);
		ATF_CHECK_EQ_MSG(k.anon_rss_kb, cases[i].anon_kb, "case %zu", i);
		if (cases[i].adj == -1 && !strstr(cases[i].rec, "oom_score_adj"))
			ATF_CHECK_EQ_MSG(k.has_oom_score_adj, 0, "case %zu", i);
		else
			ATF_CHECK_EQ_MSG(k.oom_score_adj, cases[i].adj, "case %zu", i);
	}
	/* Pre-4.19 lines carry no message; the 4.19+ ones keep theirs. */
	ATF_REQUIRE_EQ(parse_line(cases[2].rec, &r, &k), 1);
	ATF_CHECK_STREQ(k.message, "");
	ATF_CHECK_EQ(k.uid, -1);
	ATF_REQUIRE_EQ(parse_line(cases[1].rec, &r, &k), 1);
	ATF_CHECK_STREQ(k.message, "Out of memory (oom_kill_allocating_task)");
	ATF_CHECK_EQ(k.uid, 0);
	ATF_CHECK_EQ(k.pgtables_kb, 4);
	/* garbage in the record header */
	ATF_CHECK_EQ(parse_line("Out of memory: Killed process 1 (x)", &r, &k), -EINVAL);
}

/* ---- specs -------------------------------------------------------------- */

ATF_TC_WITHOUT_HEAD(specs);
ATF_TC_BODY(specs, tc)
{
	static const struct { const struct probe_ops *ops; const char *spec; int ok; } cases[] = {
		{ &probe_oom, "oom", 1 },
		{ &probe_oom, "oom:kmsg", 0 },
		{ &probe_reclaim, "reclaim", 1 },
		{ &probe_reclaim, "reclaim:tracefs", 1 },
		{ &probe_reclaim, "reclaim:vmstat", 1 },
		{ &probe_reclaim, "reclaim:tracefs:buf=1M", 1 },
		{ &probe_reclaim, "reclaim:buf=512K", 1 },
		{ &probe_reclaim, "reclaim:buf=8K", 0 },
		{ &probe_reclaim, "reclaim:buf=2G", 0 },
		{ &probe_reclaim, "reclaim:buf=lots", 0 },
		{ &probe_reclaim, "reclaim:vmstat:buf=1M", 0 },
		{ &probe_reclaim, "reclaim:tracefs:vmstat", 0 },
		{ &probe_reclaim, "reclaim:buf=1M:buf=2M", 0 },
		{ &probe_reclaim, "reclaim:kprobe", 0 },
		{ &probe_reclaim, "reclaim:tracefs:buf=1M:x", 0 },
	};
	char err[PROBE_ERR_LEN];
	struct probe p;

	(void)tc;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int e = rig_parse(&p, cases[i].ops, cases[i].spec, err, sizeof err);
		if (cases[i].ok)
			ATF_CHECK_EQ_MSG(e, 0, "%s: %s", cases[i].spec, err);
		else
			ATF_CHECK_MSG(e == -EINVAL && err[0], "%s: accepted", cases[i].spec);
		free(p.priv);
	}
}

/* ---- vmstat paths on a fixture root the test moves ------------------------ */

static const char vmstat_fmt[] =
	"nr_free_pages 1000\npgscan_kswapd %llu\npgscan_direct %llu\n"
	"pgscan_direct_throttle 77\noom_kill %llu\n";

static void put_vmstat(const char *root, unsigned long long ks, unsigned long long dr,
		       unsigned long long oom)
{
	char text[256];
	snprintf(text, sizeof text, vmstat_fmt, ks, dr, oom);
	put_file(root, "proc/vmstat", text);
}

/* In the test's own work directory (kyua gives each case a fresh one). */
static void tmp_root(char *buf, size_t len)
{
	char cwd[2048];

	ATF_REQUIRE(getcwd(cwd, sizeof cwd));
	snprintf(buf, len, "%s/truthroot", cwd);
	mkdir(buf, 0755);
}

/* oom without /dev/kmsg: degraded to vmstat, and counter deltas come out. */
ATF_TC_WITHOUT_HEAD(oom_vmstat_only);
ATF_TC_BODY(oom_vmstat_only, tc)
{
	char root[4096], err[PROBE_ERR_LEN];
	struct rig r;
	json_t *ev, *o;
	size_t i;
	int deltas = 0, status = 0;

	(void)tc;
	tmp_root(root, sizeof root);
	put_vmstat(root, 0, 0, 5);
	rig_env(&r, root, memfd_create("ev", MFD_CLOEXEC), pnb_mono_ns());
	rig_open(&r, &probe_oom, "oom");
	ATF_REQUIRE_EQ(r.p.nfd, 1);
	pump(&r, 30);
	put_vmstat(root, 0, 0, 7);
	pump(&r, 30);
	put_vmstat(root, 0, 0, 8);
	rig_close(&r);		/* close() takes the last reading */
	ev = read_events(r.out_fd);
	json_array_foreach(ev, i, o) {
		if (!strcmp(gets_(o, "type"), "probe")) {
			status++;
			ATF_CHECK_STREQ(gets_(o, "status"), "degraded");
			ATF_CHECK_MSG(strstr(gets_(o, "reason"), "/dev/kmsg"), "%s",
				      gets_(o, "reason"));
		} else if (!strcmp(gets_(o, "type"), "truth")) {
			ATF_CHECK_STREQ(gets_(o, "what"), "oom_kill");
			ATF_CHECK_STREQ(gets_(o, "source"), "vmstat");
			ATF_CHECK_EQ(geti(o, "delta"), deltas == 0 ? 2 : 1);
			ATF_CHECK_EQ(geti(o, "oom_kill"), deltas == 0 ? 7 : 8);
			deltas++;
		}
	}
	ATF_CHECK_EQ(status, 1);
	ATF_CHECK_EQ(deltas, 2);
	json_decref(ev);
	close(r.out_fd);

	/* Neither source: unsupported, with both reasons. */
	put_file(root, "proc/vmstat", "nr_free_pages 1\n");
	ATF_REQUIRE_EQ(rig_parse(&r.p, &probe_oom, "oom", err, sizeof err), 0);
	ATF_CHECK(probe_oom.supported(&r.p, &r.env, err, sizeof err) < 0);
	ATF_CHECK_MSG(strstr(err, "kmsg") && strstr(err, "4.13"), "%s", err);
	free(r.p.priv);
}

/* reclaim:vmstat: an onset per counter when it starts moving, none while it
 * keeps moving; per-zone counters of old kernels are summed. */
ATF_TC_WITHOUT_HEAD(reclaim_vmstat);
ATF_TC_BODY(reclaim_vmstat, tc)
{
	char root[4096], err[PROBE_ERR_LEN];
	struct rig r;
	json_t *ev, *o;
	size_t i;
	int n = 0;

	static const char *const kinds[] = { "direct", "kswapd", "memcg" };

	tmp_root(root, sizeof root);
	put_vmstat(root, 100, 50, 0);
	put_file(root, "cg/memory.stat", "anon 4096\npgscan 10\npgsteal 9\n");
	rig_env(&r, root, memfd_create("ev", MFD_CLOEXEC), pnb_mono_ns());
	snprintf(r.env.memcg_v2, sizeof r.env.memcg_v2, "/cg");
	rig_open(&r, &probe_reclaim, "reclaim:vmstat");
	pump(&r, 30);
	put_vmstat(root, 100, 80, 0);		/* direct reclaim starts */
	pump(&r, 30);
	put_vmstat(root, 100, 95, 0);		/* still going: no new onset */
	pump(&r, 30);
	put_vmstat(root, 130, 95, 0);		/* kswapd starts */
	pump(&r, 30);
	put_file(root, "cg/memory.stat", "anon 4096\npgscan 40\npgsteal 9\n");
	pump(&r, 30);				/* the memcg's own limit reclaim */
	rig_close(&r);
	ev = read_events(r.out_fd);
	json_array_foreach(ev, i, o) {
		ATF_REQUIRE_STREQ(gets_(o, "type"), "truth");
		ATF_CHECK_STREQ(gets_(o, "what"), "reclaim_onset");
		ATF_CHECK_STREQ(gets_(o, "source"), "vmstat");
		ATF_CHECK_STREQ(gets_(o, "kind"), n < 3 ? kinds[n] : "none");
		ATF_CHECK_EQ(geti(o, "delta"), 30);
		n++;
	}
	ATF_CHECK_EQ(n, 3);
	json_decref(ev);
	close(r.out_fd);

	/* The pre-4.8 shape: per-zone pgscan_kswapd_<zone> are summed. */
	char old[4096];
	snprintf(old, sizeof old, "%s/data/sampler/old", atf_tc_get_config_var(tc, "srcdir"));
	rig_env(&r, old, memfd_create("ev", MFD_CLOEXEC), pnb_mono_ns());
	rig_open(&r, &probe_reclaim, "reclaim:vmstat");
	rig_close(&r);
	close(r.out_fd);

	/* tracefs is never taken from a fixture root; auto falls back. */
	ATF_REQUIRE_EQ(rig_parse(&r.p, &probe_reclaim, "reclaim:tracefs", err, sizeof err), 0);
	ATF_CHECK(probe_reclaim.supported(&r.p, &r.env, err, sizeof err) < 0);
	ATF_CHECK_MSG(strstr(err, "live system"), "%s", err);
	free(r.p.priv);
	rig_env(&r, old, memfd_create("ev", MFD_CLOEXEC), pnb_mono_ns());
	rig_open(&r, &probe_reclaim, "reclaim");
	ATF_CHECK_EQ(r.p.nfd, 1);
	rig_close(&r);
	ev = read_events(r.out_fd);
	o = json_array_get(ev, 0);
	ATF_REQUIRE(o);
	ATF_CHECK_STREQ(gets_(o, "type"), "probe");
	ATF_CHECK_STREQ(gets_(o, "status"), "degraded");
	json_decref(ev);
	close(r.out_fd);
}

/* ---- live: a child OOM-killed in its own 64M v1 memcg -------------------- */

#define LIVE_CG "/sys/fs/cgroup/memory/pnbtest-truth"

static void cg_remove(void)
{
	/* The victim may still be exiting: rmdir fails with EBUSY until then. */
	for (int i = 0; i < 200 && rmdir(LIVE_CG) && errno == EBUSY; i++)
		usleep(10000);
}

static void need_live(void)
{
	char *clk;
	int fd;

	if (geteuid() != 0)
		pnb_skip("needs root (memcg, /dev/kmsg, tracefs)");
	if (access("/sys/fs/cgroup/memory/cgroup.procs", W_OK))
		pnb_skip("no cgroup v1 memory hierarchy at /sys/fs/cgroup/memory");
	if ((fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK)) < 0)
		pnb_skip("/dev/kmsg not readable: %s", strerror(errno));
	close(fd);
	if (access("/sys/kernel/tracing/events/vmscan/mm_vmscan_memcg_reclaim_begin", F_OK))
		pnb_skip("no tracefs vmscan/mm_vmscan_memcg_reclaim_begin event");
	clk = malloc(4096);
	if (pnb_read_file("", "/sys/kernel/tracing/trace_clock", clk, 4096) < 0 ||
	    !(strstr(clk, " mono ") || strstr(clk, "[mono]")))
		pnb_skip("tracefs has no trace_clock mono");
	free(clk);
}

static void child_hog(void)
{
	char pid[32];

	snprintf(pid, sizeof pid, "%d", (int)getpid());
	if (pnb_write_file("", LIVE_CG "/cgroup.procs", pid, 0))
		_exit(3);
	for (;;) {
		char *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			_exit(4);
		memset(m, 0xa5, 1 << 20);
	}
}

ATF_TC_WITH_CLEANUP(live_memcg_oom);
ATF_TC_HEAD(live_memcg_oom, tc)
{
	atf_tc_set_md_var(tc, "descr", "a child OOM-killed in a 64M v1 memcg is seen by "
			  "kmsg, vmstat and tracefs on the recorder's timeline");
	atf_tc_set_md_var(tc, "require.user", "root");
	atf_tc_set_md_var(tc, "timeout", "120");
}
ATF_TC_BODY(live_memcg_oom, tc)
{
	struct rig r[3];
	static const struct { const struct probe_ops *ops; const char *spec; } pr[3] = {
		{ &probe_oom, "oom" }, { &probe_reclaim, "reclaim" },
		{ &probe_sampler, "sample:10ms" },
	};
	int out_fd, epfd, status = 0, kmsg_kills = 0;
	uint64_t t0, t_end, deadline, oomctl_kills = 0;
	long long vm_delta = 0, t_first_reclaim = -1, t_victim = -1, t_kmsg = -1;
	long long t_first_any_reclaim = -1;
	json_t *ev, *o;
	char buf[1024];
	pid_t child;
	size_t i;

	(void)tc;
	need_live();
	cg_remove();
	ATF_REQUIRE_MSG(mkdir(LIVE_CG, 0755) == 0, "mkdir %s: %s", LIVE_CG, strerror(errno));
	ATF_REQUIRE_EQ(pnb_write_file("", LIVE_CG "/memory.limit_in_bytes", "64M", 0), 0);

	out_fd = memfd_create("events", MFD_CLOEXEC);
	t0 = pnb_mono_ns();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	ATF_REQUIRE(epfd >= 0);
	for (int k = 0; k < 3; k++) {
		rig_env(&r[k], "", out_fd, t0);
		snprintf(r[k].env.memcg_v1, sizeof r[k].env.memcg_v1, "%s", LIVE_CG);
		r[k].env.domain = PNB_DOMAIN_MEMCG_V1;
		rig_open(&r[k], pr[k].ops, pr[k].spec);
		for (int j = 0; j < r[k].p.nfd; j++) {
			struct epoll_event e = { .events = EPOLLIN, .data.u32 = (uint32_t)(k << 8 | j) };
			ATF_REQUIRE_EQ(epoll_ctl(epfd, EPOLL_CTL_ADD, r[k].p.fd[j], &e), 0);
		}
	}
	/* Three writers on one memfd: the shared file offset keeps lines whole
	 * and in order, as the recorder's single writer would. */

	child = fork();
	ATF_REQUIRE(child >= 0);
	if (child == 0)
		child_hog();

	deadline = pnb_mono_ns() + 60 * NS_PER_S;
	t_end = 0;
	for (;;) {
		struct epoll_event evs[16];
		uint64_t now = pnb_mono_ns();
		int n;

		if (!t_end && waitpid(child, &status, WNOHANG) == child)
			t_end = now + 300 * NS_PER_MS;	/* collect the stragglers */
		if ((t_end && now >= t_end) || now >= deadline)
			break;
		n = epoll_wait(epfd, evs, 16, 10);
		for (int e = 0; e < n; e++) {
			int k = (int)(evs[e].data.u32 >> 8), j = (int)(evs[e].data.u32 & 0xff);
			int rc = r[k].p.ops->handle(&r[k].p, j, pnb_mono_ns(), &r[k].out);
			ATF_REQUIRE_MSG(rc == 0, "%s: handle: %s", pr[k].spec, strerror(-rc));
		}
	}
	if (!t_end) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		atf_tc_fail("the child was not OOM-killed within 60 s");
	}
	for (int k = 0; k < 3; k++)
		rig_close(&r[k]);
	close(epfd);
	if (pnb_read_file("", LIVE_CG "/memory.oom_control", buf, sizeof buf) > 0) {
		char *s = strstr(buf, "oom_kill ");
		if (s)
			oomctl_kills = strtoull(s + 9, NULL, 10);
	}
	cg_remove();

	ATF_REQUIRE_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			"child did not die of SIGKILL (status %#x)", status);
	ATF_CHECK_EQ_MSG(oomctl_kills, 1, "memory.oom_control says %llu kills",
			 (unsigned long long)oomctl_kills);

	uint64_t now_rel = pnb_mono_ns() - t0;
	ev = read_events(out_fd);
	json_array_foreach(ev, i, o) {
		const char *type = gets_(o, "type"), *what = gets_(o, "what");
		long long t = geti(o, "t_ns");
		ATF_CHECK(t >= 0 && (uint64_t)t <= now_rel);
		if (strcmp(type, "truth"))
			continue;
		if (!strcmp(what, "oom_kill") && !strcmp(gets_(o, "source"), "kmsg")) {
			kmsg_kills++;
			if (geti(o, "pid") == child) {
				t_kmsg = t;
				ATF_CHECK_STREQ(gets_(o, "scope"), "memcg");
				ATF_CHECK(geti(o, "anon_rss_kB") > 32 * 1024);
			}
		} else if (!strcmp(what, "oom_kill") && !strcmp(gets_(o, "source"), "vmstat")) {
			vm_delta += geti(o, "delta");
		} else if (!strcmp(what, "mark_victim") && geti(o, "pid") == child) {
			t_victim = t;
			ATF_CHECK(geti(o, "observed_t_ns") >= t);
		} else if (!strcmp(what, "memcg_reclaim_begin")) {
			long long obs = geti(o, "observed_t_ns");
			/* a tracefs time is a kernel time on our clock: inside the
			 * run, and before we could read it */
			ATF_CHECK(t >= 0 && (uint64_t)t <= now_rel && t <= obs);
			if (t_first_any_reclaim < 0)
				t_first_any_reclaim = t;
			if (geti(o, "pid") == child && t_first_reclaim < 0) {
				t_first_reclaim = t;
				ATF_CHECK_EQ(geti(o, "tgid"), child);
				ATF_CHECK_STREQ(gets_(o, "comm"), "probe_truth_tes");
			}
		}
	}
	ATF_CHECK_MSG(t_kmsg >= 0, "no kmsg oom_kill for the child (pid %d)", (int)child);
	ATF_CHECK_MSG(t_victim >= 0, "no tracefs mark_victim for the child");
	ATF_CHECK_MSG(t_first_reclaim >= 0, "no memcg_reclaim_begin for the child");
	/* Other OOM kills on this machine during the test land in both sources
	 * alike: the counter must account for every reported kill. */
	ATF_CHECK_MSG(vm_delta >= 1 && vm_delta == kmsg_kills,
		      "vmstat oom_kill delta %lld, kmsg kills %d", vm_delta, kmsg_kills);
	if (t_first_reclaim >= 0 && t_victim >= 0) {
		ATF_CHECK_MSG(t_first_reclaim < t_victim, "reclaim %lld not before victim %lld",
			      t_first_reclaim, t_victim);
		ATF_CHECK(t_victim <= t_kmsg);
		printf("measured: first memcg_reclaim_begin -> mark_victim %.3f ms, "
		       "-> kmsg oom_kill read %.3f ms; kmsg read latency after mark_victim "
		       "%.3f ms\n", (t_victim - t_first_reclaim) / 1e6,
		       (t_kmsg - t_first_reclaim) / 1e6, (t_kmsg - t_victim) / 1e6);
	}
	json_decref(ev);
	close(out_fd);
}
ATF_TC_CLEANUP(live_memcg_oom, tc)
{
	(void)tc;
	cg_remove();
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, kmsg_split);
	ATF_TP_ADD_TC(tp, kmsg_memcg_capture);
	ATF_TP_ADD_TC(tp, kmsg_kill_forms);
	ATF_TP_ADD_TC(tp, specs);
	ATF_TP_ADD_TC(tp, oom_vmstat_only);
	ATF_TP_ADD_TC(tp, reclaim_vmstat);
	ATF_TP_ADD_TC(tp, live_memcg_oom);
	return atf_no_error();
}
