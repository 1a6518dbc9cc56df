/* The PSI trigger probe: spec parsing, the bytes it writes, and real triggers
 * on this kernel (root): acceptance, one trigger per fd, the NUL rule, a real
 * event under memcg pressure, and whether the first event is honest. */
#include <atf-c.h>
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <mntent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroupfs.h"
#include "clock.h"
#include "jsonl.h"
#include "memcg.h"
#include "memhog.h"
#include "probe.h"
#include "probetest.h"
#include "procfs.h"

#define PSI_FILE "/proc/pressure/memory"
#define V1_MEM "/sys/fs/cgroup/memory"
#define TEST_CG V1_MEM "/pnbtest-psi"
#define MEMCG_LIMIT (64ULL << 20)

/* ---- helpers ---- */

static void kernel_version(int *maj, int *min)
{
	struct utsname u;

	ATF_REQUIRE(uname(&u) == 0);
	ATF_REQUIRE_MSG(sscanf(u.release, "%d.%d", maj, min) == 2, "uname release '%s'",
			u.release);
}

static int kernel_at_least(int maj, int min)
{
	int a, b;

	kernel_version(&a, &b);
	return a > maj || (a == maj && b >= min);
}

static int has_cap_sys_resource(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	ATF_REQUIRE(syscall(SYS_capget, &h, d) == 0);
	return !!(d[CAP_TO_INDEX(CAP_SYS_RESOURCE)].effective & CAP_TO_MASK(CAP_SYS_RESOURCE));
}

static void require_psi(void)
{
	if (access(PSI_FILE, R_OK) != 0)
		pnb_skip("%s: %s (kernel without PSI or booted psi=0)", PSI_FILE,
			    strerror(errno));
}

/* Write a trigger without its NUL, as pnb_psi_arm never does, to a fresh
 * fd of the system file: what the kernel does with it.  0 or -errno. */
static int trigger_without_nul(const char *text)
{
	int fd = open(PSI_FILE, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	int r = 0;

	ATF_REQUIRE_MSG(fd >= 0, "open %s: %s", PSI_FILE, strerror(errno));
	if (write(fd, text, strlen(text)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Whether this kernel lets a process without CAP_SYS_RESOURCE create a
 * trigger (with an N*2s window), tried rather than read from uname: the
 * feature came in 6.5, and Debian's 6.1 carries it as a backport.  A child
 * drops CAP_SYS_RESOURCE and writes one; 1 yes, 0 no (EPERM/EACCES). */
static int unprivileged_triggers(void)
{
	static int known = -1;
	static const char trig[] = "some 150000 2000000";
	int p[2], res = 0, st;
	ssize_t n;
	pid_t pid;

	if (known >= 0)
		return known;
	ATF_REQUIRE(pipe(p) == 0);
	ATF_REQUIRE((pid = fork()) >= 0);
	if (pid == 0) {
		struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
		int fd;

		close(p[0]);
		if (syscall(SYS_capget, &h, d))
			res = -errno;
		d[CAP_TO_INDEX(CAP_SYS_RESOURCE)].effective &= ~CAP_TO_MASK(CAP_SYS_RESOURCE);
		d[CAP_TO_INDEX(CAP_SYS_RESOURCE)].permitted &= ~CAP_TO_MASK(CAP_SYS_RESOURCE);
		d[CAP_TO_INDEX(CAP_SYS_RESOURCE)].inheritable &= ~CAP_TO_MASK(CAP_SYS_RESOURCE);
		if (!res && syscall(SYS_capset, &h, d))
			res = -errno;
		if (!res && (fd = open(PSI_FILE, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
			res = errno == EPERM || errno == EACCES ? 1 : -errno;
		else if (!res)
			res = write(fd, trig, sizeof trig) == (ssize_t)sizeof trig ? 2 :
			      errno == EPERM || errno == EACCES ? 1 : -errno;
		(void)!write(p[1], &res, sizeof res);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], &res, sizeof res);
	close(p[0]);
	waitpid(pid, &st, 0);
	ATF_REQUIRE_MSG(n == sizeof res, "the probing child did not report (status %d)", st);
	ATF_REQUIRE_MSG(res > 0, "probing an unprivileged trigger on %s: %s", PSI_FILE,
			strerror(-res));
	known = res == 2;
	return known;
}

/* The window this process may use: with unprivileged triggers, sub-2s
 * windows need CAP_SYS_RESOURCE (root in a container often lacks it). */
static const char *usable_window(void)
{
	return has_cap_sys_resource() || !unprivileged_triggers() ? "1s" : "2s";
}

static uint64_t some_total_us(void)
{
	struct pnb_psi psi;

	ATF_REQUIRE(pnb_read_psi("", PSI_FILE, &psi) == 0);
	return psi.some.total_us;
}

/* The v1 memcg every pressure case uses: 64M, no swap on the host. */
static void memcg_create(void)
{
	int e;

	if (access(V1_MEM "/memory.limit_in_bytes", F_OK) != 0)
		pnb_skip("no cgroup v1 memory hierarchy at %s", V1_MEM);
	if ((e = pnb_memcg_create(TEST_CG, 0)) || (e = pnb_memcg_set_limit(TEST_CG, MEMCG_LIMIT)))
		atf_tc_fail("memcg %s with a %llu-byte limit: %s", TEST_CG, MEMCG_LIMIT, strerror(-e));
}

/* Kill what is left in the test memcg (only our children join it), remove it. */
static void memcg_destroy(void)
{
	pnb_memcg_remove(TEST_CG, 1, 50, 100);
}

/* In a child: join cgroup dir, or die with status 3. */
static void join(const char *dir)
{
	if (pnb_memcg_join(dir, 0))
		_exit(3);
}

/* A file bigger than the memcg, on a disk (tmpfs pages would be shmem:
 * unreclaimable without swap, so no thrashing, just an OOM). Its clean
 * pages are dropped so the child's reads charge its own memcg. */
static void make_big_file(const char *path, size_t mb)
{
	struct statfs sf;
	char *buf;
	int fd;

	ATF_REQUIRE(statfs(".", &sf) == 0);
	if (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC)
		pnb_skip("the work directory is on tmpfs/ramfs: page cache there cannot "
			    "be reclaimed without swap, so it cannot thrash");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ATF_REQUIRE_MSG(fd >= 0, "create %s: %s", path, strerror(errno));
	buf = malloc(1 << 20);
	ATF_REQUIRE(buf);
	for (size_t i = 0; i < mb; i++) {
		memset(buf, (int)i, 1 << 20);
		ATF_REQUIRE_MSG(write(fd, buf, 1 << 20) == 1 << 20, "write %s: %s", path,
				strerror(errno));
	}
	free(buf);
	ATF_REQUIRE(fsync(fd) == 0);
	ATF_REQUIRE(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
	close(fd);
}

/* Child: hold 48M of anon memory in the 64M memcg and read the file in a
 * loop: every read needs reclaim inside the memcg (a memory stall). */
static pid_t start_thrasher(const char *path, const char *also_dir)
{
	pid_t pid = fork();

	ATF_REQUIRE(pid >= 0);
	if (pid == 0) {
		char *buf = malloc(1 << 20);
		join(TEST_CG);
		if (also_dir)
			join(also_dir);
		if (pnb_hog_touch(48 << 20, NULL) || !buf)
			_exit(4);
		for (;;) {
			int fd = open(path, O_RDONLY);
			if (fd < 0)
				_exit(5);
			while (read(fd, buf, 1 << 20) > 0)
				;
			close(fd);
		}
	}
	return pid;
}

/* Child: allocate anon memory past the limit; no swap, so the memcg OOM
 * killer ends it quickly, after very little reclaim. */
static pid_t start_burst(void)
{
	pid_t pid = pnb_hog_spawn(&(struct pnb_hog){ .chunk = 1 << 20 }, TEST_CG);

	ATF_REQUIRE_MSG(pid > 0, "fork: %s", strerror(-pid));
	return pid;
}

static void stop_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static json_t *last_event(const char *path)
{
	char buf[65536], *line, *last = NULL, *save;
	ssize_t n = pnb_read_file("", path, buf, sizeof buf);

	ATF_REQUIRE_MSG(n >= 0, "read %s: %s", path, strerror((int)-n));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		last = line;
	ATF_REQUIRE_MSG(last, "no event in %s", path);
	return json_loads(last, 0, NULL);
}

static long long jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	ATF_REQUIRE_MSG(json_is_integer(v), "event has no integer '%s'", k);
	return json_integer_value(v);
}

/* ---- parse ---- */

ATF_TC_WITHOUT_HEAD(parse_valid);
ATF_TC_BODY(parse_valid, tc)
{
	expect_parse_ok("psi:some:150ms:1s");
	expect_parse_ok("psi:full:70ms:1s:cgroup");
	expect_parse_ok("psi:some:1us:10s");
	expect_parse_ok("psi:full:10s:10s");
	expect_parse_ok("psi:some:0.5s:2s");
	expect_parse_ok("psi:some:500000us:500ms");
}

ATF_TC_WITHOUT_HEAD(parse_invalid);
ATF_TC_BODY(parse_invalid, tc)
{
	expect_parse_bad("psi", "missing level");
	expect_parse_bad("psi:medium:150ms:1s", "bad level 'medium'");
	expect_parse_bad("psi:some", "missing stall");
	expect_parse_bad("psi:some:150ms", "missing window");
	expect_parse_bad("psi:some::1s", "empty stall");
	expect_parse_bad("psi:some:150ms:", "empty window");
	expect_parse_bad("psi:some:2s:1s", "stall 2s exceeds window 1s");
	expect_parse_bad("psi:some:150ms:11s", "window '11s' exceeds 10s");
	expect_parse_bad("psi:some:0ms:1s", "stall '0ms' is zero");
	expect_parse_bad("psi:some:150ms:0s", "window '0s' is zero");
	expect_parse_bad("psi:some:150xs:1s", "bad stall '150xs'");
	expect_parse_bad("psi:some:150:1s", "bad stall '150'");
	expect_parse_bad("psi:some:150ms:1sec", "bad window '1sec'");
	expect_parse_bad("psi:some:1500ns:1s", "whole number of microseconds");
	expect_parse_bad("psi:some:150ms:1s:cgroupz", "bad 4th field 'cgroupz'");
	expect_parse_bad("psi:some:150ms:1s:cgroup:x", "too many fields");
}

/* ---- against a root-prefixed copy: the exact bytes and the event ---- */

/* A writable stand-in for /proc/pressure/memory under ./root. */
static void fake_root(const atf_tc_t *tc, char *root, size_t len)
{
	char src[4096], text[1024];
	ssize_t n;
	int fd;

	snprintf(src, sizeof src, "%s/data/psi/proc/pressure/memory",
		 atf_tc_get_config_var(tc, "srcdir"));
	n = pnb_read_file("", src, text, sizeof text);
	ATF_REQUIRE_MSG(n > 0, "fixture %s: %s", src, strerror((int)-n));
	ATF_REQUIRE(getcwd(root, len - 16));
	strcat(root, "/root");
	ATF_REQUIRE(mkdir("root", 0755) == 0 || errno == EEXIST);
	ATF_REQUIRE(mkdir("root/proc", 0755) == 0 || errno == EEXIST);
	ATF_REQUIRE(mkdir("root/proc/pressure", 0755) == 0 || errno == EEXIST);
	fd = open("root/proc/pressure/memory", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ATF_REQUIRE(fd >= 0);
	ATF_REQUIRE(write(fd, text, (size_t)n) == n);
	close(fd);
}

ATF_TC_WITHOUT_HEAD(writes_trigger_with_nul);
ATF_TC_BODY(writes_trigger_with_nul, tc)
{
	static const struct { const char *spec, *bytes; } cases[] = {
		{ "psi:some:150ms:1s", "some 150000 1000000" },
		{ "psi:full:70ms:2s", "full 70000 2000000" },
		{ "psi:some:1us:10s", "some 1 10000000" },
		{ "psi:some:0.5s:500ms", "some 500000 500000" },
	};
	struct probe_env env = { .domain = PNB_DOMAIN_SYSTEM, .workload_pidfd = -1 };
	char root[4096], why[PROBE_ERR_LEN], got[64];
	struct jsonl out;

	fake_root(tc, root, sizeof root);
	env.root = root;
	jsonl_init(&out, -1, 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct probe p;
		size_t want = strlen(cases[i].bytes) + 1;
		int fd;

		ATF_REQUIRE(probe_from_spec(&p, cases[i].spec, why, sizeof why) == 0);
		ATF_REQUIRE_MSG(p.ops->supported(&p, &env, why, sizeof why) == 0,
				"%s: %s", cases[i].spec, why);
		memset(got, 'x', sizeof got);
		ATF_REQUIRE_MSG(p.ops->open(&p, &env, &out, why, sizeof why) == 0, "%s: %s",
				cases[i].spec, why);
		ATF_CHECK_EQ(p.nfd, 1);
		ATF_CHECK_EQ(p.events[0], (uint32_t)EPOLLPRI);
		fd = open("root/proc/pressure/memory", O_RDONLY);
		ATF_REQUIRE(fd >= 0);
		ATF_REQUIRE(read(fd, got, sizeof got) >= (ssize_t)want);
		close(fd);
		ATF_CHECK_MSG(memcmp(got, cases[i].bytes, want) == 0,
			      "%s: wrote '%.*s', want '%s' and its NUL", cases[i].spec,
			      (int)want, got, cases[i].bytes);
		p.ops->close(&p, &out);
		probe_free(&p);
		fake_root(tc, root, sizeof root);
	}
}

ATF_TC_WITHOUT_HEAD(event_carries_file_values);
ATF_TC_BODY(event_carries_file_values, tc)
{
	struct probe_env env = { .domain = PNB_DOMAIN_SYSTEM, .workload_pidfd = -1 };
	char root[4096], why[PROBE_ERR_LEN];
	struct jsonl out;
	struct probe p;
	json_t *o;
	int fd, efd;

	fake_root(tc, root, sizeof root);
	env.root = root;
	efd = open("events.jsonl", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ATF_REQUIRE(efd >= 0);
	jsonl_init(&out, efd, 1000);
	ATF_REQUIRE(probe_from_spec(&p, "psi:full:70ms:1s", why, sizeof why) == 0);
	ATF_REQUIRE_MSG(p.ops->open(&p, &env, &out, why, sizeof why) == 0, "%s", why);
	/* The trigger bytes overwrote the copy's head: put the text back, as the
	 * kernel would show it at event time. */
	fd = open("root/proc/pressure/memory", O_WRONLY | O_TRUNC);
	ATF_REQUIRE(fd >= 0);
	dprintf(fd, "some avg10=1.50 avg60=0.25 avg300=0.05 total=123456\n"
		    "full avg10=1.00 avg60=0.20 avg300=0.04 total=100000\n");
	close(fd);
	ATF_REQUIRE_EQ(p.ops->handle(&p, 0, 5000, &out), 0);
	p.ops->close(&p, &out);
	probe_free(&p);
	o = last_event("events.jsonl");
	ATF_REQUIRE(o);
	ATF_CHECK_STREQ(json_string_value(json_object_get(o, "type")), "notify");
	ATF_CHECK_STREQ(json_string_value(json_object_get(o, "mech")), "psi");
	ATF_CHECK_STREQ(json_string_value(json_object_get(o, "probe")), "psi:full:70ms:1s");
	ATF_CHECK_STREQ(json_string_value(json_object_get(o, "level")), "full");
	ATF_CHECK_EQ(jint(o, "t_ns"), 4000);
	ATF_CHECK_EQ(jint(o, "stall_us"), 70000);
	ATF_CHECK_EQ(jint(o, "window_us"), 1000000);
	ATF_CHECK_EQ(jint(o, "some_total_us"), 123456);
	ATF_CHECK_EQ(jint(o, "full_total_us"), 100000);
	ATF_CHECK(json_real_value(json_object_get(o, "some_avg10")) == 1.5);
	json_decref(o);
	close(efd);
}

ATF_TC_WITHOUT_HEAD(cgroup_needs_memcg_v2);
ATF_TC_BODY(cgroup_needs_memcg_v2, tc)
{
	struct probe_env env = { .root = "", .domain = PNB_DOMAIN_SYSTEM, .workload_pidfd = -1 };
	char why[PROBE_ERR_LEN] = "";
	struct probe p;

	ATF_REQUIRE(probe_from_spec(&p, "psi:some:150ms:2s:cgroup", why, sizeof why) == 0);
	ATF_CHECK(p.ops->supported(&p, &env, why, sizeof why) != 0);
	ATF_CHECK_MSG(strstr(why, "cgroup2"), "reason '%s' does not mention cgroup2", why);
	snprintf(env.memcg_v2, sizeof env.memcg_v2, "/sys/fs/cgroup/unified/pnbtest-no-such-cgroup");
	ATF_CHECK(p.ops->supported(&p, &env, why, sizeof why) == -ENOENT);
	ATF_CHECK_MSG(strstr(why, "pnbtest-no-such-cgroup/memory.pressure does not exist"),
		      "reason '%s' does not name the missing file", why);
	probe_free(&p);
}

/* ---- real triggers on this kernel ---- */

ATF_TC(real_trigger_accepted);
ATF_TC_HEAD(real_trigger_accepted, tc)
{
	atf_tc_set_md_var(tc, "require.user", "root");
}
ATF_TC_BODY(real_trigger_accepted, tc)
{
	struct probe_env env = { .root = "", .domain = PNB_DOMAIN_SYSTEM, .workload_pidfd = -1 };
	char why[PROBE_ERR_LEN] = "";
	struct jsonl out;
	struct probe p;
	int r;

	require_psi();
	jsonl_init(&out, -1, 0);
	ATF_REQUIRE(probe_from_spec(&p, "psi:some:150ms:500ms", why, sizeof why) == 0);
	ATF_REQUIRE_MSG(p.ops->supported(&p, &env, why, sizeof why) == 0, "%s", why);
	r = p.ops->open(&p, &env, &out, why, sizeof why);
	if (has_cap_sys_resource() || !unprivileged_triggers()) {
		/* 500ms is the documented minimum (5.2) and above it later. */
		ATF_CHECK_MSG(r == 0, "500ms window refused: %s", why);
	} else {
		/* With unprivileged triggers (6.5, or a backport): without
		 * CAP_SYS_RESOURCE only N*2s windows. */
		ATF_CHECK_MSG(r == -EINVAL, "unprivileged 500ms window: r=%d (%s), want EINVAL",
			      r, why);
		ATF_CHECK_MSG(strstr(why, "CAP_SYS_RESOURCE") && strstr(why, "2s"),
			      "reason '%s' does not explain the 2s rule", why);
		probe_free(&p);
		ATF_REQUIRE(probe_from_spec(&p, "psi:some:150ms:2s", why, sizeof why) == 0);
		r = p.ops->open(&p, &env, &out, why, sizeof why);
		ATF_CHECK_MSG(r == 0, "unprivileged 2s window refused: %s", why);
	}
	if (r == 0) {
		ATF_CHECK(p.fd[0] >= 0);
		ATF_CHECK_EQ(p.events[0], (uint32_t)EPOLLPRI);
		p.ops->close(&p, &out);
	}
	probe_free(&p);
}

ATF_TC(second_trigger_ebusy);
ATF_TC_HEAD(second_trigger_ebusy, tc)
{
	atf_tc_set_md_var(tc, "require.user", "root");
}
ATF_TC_BODY(second_trigger_ebusy, tc)
{
	char t[64], why[256];
	int fd = -1, r;

	require_psi();
	if (!kernel_at_least(5, 17))
		pnb_skip("kernel before 5.17: a second write replaces the trigger "
			    "(EBUSY came with the psi UAF fix)");
	snprintf(t, sizeof t, "some 150000 %s", strcmp(usable_window(), "1s") ? "2000000" : "1000000");
	r = pnb_psi_arm(PSI_FILE, t, &fd, why, sizeof why);
	ATF_REQUIRE_MSG(r == 0, "first trigger: %s", why);
	/* The kernel's answer to a second write on the same fd, bytes as
	 * pnb_psi_arm writes them. */
	ATF_CHECK_MSG(write(fd, t, strlen(t) + 1) < 0 && errno == EBUSY,
		      "second trigger on one fd: want EBUSY, got %s", strerror(errno));
	close(fd);
}

ATF_TC(trigger_needs_nul);
ATF_TC_HEAD(trigger_needs_nul, tc)
{
	atf_tc_set_md_var(tc, "require.user", "root");
}
ATF_TC_BODY(trigger_needs_nul, tc)
{
	/* 20 s is out of range, but without its NUL psi_write() cuts the last
	 * digit and the kernel arms a 2 s window instead: accepted by every
	 * kernel and privilege level, which shows the truncation. */
	const char *t = "some 150000 20000000";
	char why[256] = "";
	int r;

	require_psi();
	r = pnb_psi_arm(PSI_FILE, t, NULL, why, sizeof why);
	ATF_CHECK_MSG(r == -EINVAL, "'%s' with its NUL: want EINVAL (20s > 10s), got %s", t,
		      r ? strerror(-r) : "accepted");
	ATF_CHECK_MSG(strstr(why, PSI_FILE) && strstr(why, t), "reason '%s' does not name the "
		      "file and the trigger", why);
	r = trigger_without_nul(t);
	ATF_CHECK_MSG(r == 0, "'%s' without NUL: want accepted as a 2s window, got %s", t,
		      strerror(-r));
}

/* Wait for trigger events on p for up to max_ns; returns how many came.
 * *first_ns: when the first came; *real_ns: the first whose stall since
 * arming (the probe's stall_since_open_us) reached stop_growth_us, where
 * collecting stops. */
static int collect_events(struct probe *p, struct jsonl *out, const char *events_path,
			  uint64_t max_ns, uint64_t stop_growth_us, uint64_t t0,
			  uint64_t *first_ns, uint64_t *real_ns)
{
	struct epoll_event ev = { .events = p->events[0], .data.u32 = 0 };
	uint64_t end = pnb_mono_ns() + max_ns;
	int ep = epoll_create1(EPOLL_CLOEXEC), n = 0;

	*first_ns = *real_ns = 0;
	ATF_REQUIRE(ep >= 0);
	ATF_REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, p->fd[0], &ev) == 0);
	for (;;) {
		uint64_t now = pnb_mono_ns();
		int r;

		if (now >= end)
			break;
		r = epoll_wait(ep, &ev, 1, (int)((end - now) / NS_PER_MS) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		ATF_REQUIRE(r >= 0);
		if (r == 0)
			continue;
		now = pnb_mono_ns();
		ATF_REQUIRE_EQ(p->ops->handle(p, 0, now, out), 0);
		json_t *o = last_event(events_path);
		uint64_t since = (uint64_t)jint(o, "stall_since_open_us");
		json_decref(o);
		n++;
		if (!*first_ns)
			*first_ns = now - t0;
		if (!*real_ns && since >= stop_growth_us) {
			*real_ns = now - t0;
			break;
		}
	}
	close(ep);
	return n;
}

ATF_TC_WITH_CLEANUP(event_under_memcg_pressure);
ATF_TC_HEAD(event_under_memcg_pressure, tc)
{
	atf_tc_set_md_var(tc, "require.user", "root");
	atf_tc_set_md_var(tc, "timeout", "120");
}
ATF_TC_BODY(event_under_memcg_pressure, tc)
{
	struct probe_env env = { .root = "", .domain = PNB_DOMAIN_SYSTEM, .workload_pidfd = -1 };
	char spec[64], why[PROBE_ERR_LEN] = "";
	uint64_t total0, t0, first, real, total1;
	struct jsonl out;
	struct probe p;
	int efd, n;
	pid_t child;

	require_psi();
	memcg_create();
	make_big_file("big", 160);
	snprintf(spec, sizeof spec, "psi:some:100ms:%s", usable_window());
	efd = open("events.jsonl", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ATF_REQUIRE(efd >= 0);
	t0 = pnb_mono_ns();
	jsonl_init(&out, efd, t0);
	ATF_REQUIRE(probe_from_spec(&p, spec, why, sizeof why) == 0);
	ATF_REQUIRE_MSG(p.ops->open(&p, &env, &out, why, sizeof why) == 0, "%s", why);
	total0 = some_total_us();
	child = start_thrasher("big", NULL);
	/* Stop at the first event backed by >= 100ms of new system-wide stall:
	 * reclaim in a v1 memcg counts in the system's PSI (the task's PSI
	 * groups follow the cgroup2 tree, whose root is the system). */
	n = collect_events(&p, &out, "events.jsonl", 30 * NS_PER_S, 100000, t0, &first, &real);
	total1 = some_total_us();
	stop_child(child);
	p.ops->close(&p, &out);
	probe_free(&p);
	memcg_destroy();
	unlink("big");
	printf("%s under a 64M v1 memcg thrasher: %d event(s), first at %.3f s, first "
	       "backed by >=100ms new stall at %.3f s; system some total +%llu us\n",
	       spec, n, first / 1e9, real / 1e9, (unsigned long long)(total1 - total0));
	ATF_CHECK_MSG(total1 - total0 >= 100000,
		      "memcg v1 reclaim did not show in the system PSI: some total +%llu us",
		      (unsigned long long)(total1 - total0));
	ATF_CHECK_MSG(real > 0, "no PSI event backed by real stall within 30 s (%d events)", n);
	close(efd);
}
ATF_TC_CLEANUP(event_under_memcg_pressure, tc)
{
	memcg_destroy();
}

/* Where cgroup2 is mounted, or skip. */
static void cgroup2_mount(char *out, size_t len)
{
	struct mntent *m;
	FILE *f = setmntent("/proc/self/mounts", "r");

	ATF_REQUIRE(f);
	out[0] = 0;
	while ((m = getmntent(f)))
		if (strcmp(m->mnt_type, "cgroup2") == 0) {
			snprintf(out, len, "%s", m->mnt_dir);
			break;
		}
	endmntent(f);
	if (!out[0])
		pnb_skip("no cgroup2 mounted");
}

#define TEST_CG2_NAME "pnbtest-psi"

static void cg2_destroy(void)
{
	char dir[600];

	cgroup2_mount(dir, 512);
	strcat(dir, "/" TEST_CG2_NAME);
	pnb_memcg_remove(dir, 1, 50, 100);
}

ATF_TC_WITH_CLEANUP(cgroup_trigger_event_and_removal);
ATF_TC_HEAD(cgroup_trigger_event_and_removal, tc)
{
	atf_tc_set_md_var(tc, "require.user", "root");
	atf_tc_set_md_var(tc, "timeout", "120");
}
ATF_TC_BODY(cgroup_trigger_event_and_removal, tc)
{
	/* cgroup2 keeps memory.pressure for every cgroup, memory controller or
	 * not: PSI follows the task's cgroup2 cgroup.  So a plain cgroup2 group
	 * stands in for the run's memcg_v2 here, while the pressure itself
	 * comes from the v1 memcg the child also sits in. */
	struct probe_env env = { .root = "", .domain = PNB_DOMAIN_SYSTEM, .workload_pidfd = -1 };
	char spec[64], why[PROBE_ERR_LEN] = "";
	struct epoll_event ev;
	uint64_t t0, first, real;
	struct jsonl out;
	struct probe p;
	int efd, ep, n, r;
	pid_t child;

	require_psi();
	cgroup2_mount(env.memcg_v2, sizeof env.memcg_v2 - 32);
	strcat(env.memcg_v2, "/" TEST_CG2_NAME);
	ATF_REQUIRE_MSG((r = pnb_cgroup_mkdir(env.memcg_v2, 0)) == 0, "mkdir %s: %s",
			env.memcg_v2, strerror(-r));
	memcg_create();
	make_big_file("big", 160);
	snprintf(spec, sizeof spec, "psi:some:100ms:%s:cgroup", usable_window());
	efd = open("events.jsonl", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ATF_REQUIRE(efd >= 0);
	t0 = pnb_mono_ns();
	jsonl_init(&out, efd, t0);
	ATF_REQUIRE(probe_from_spec(&p, spec, why, sizeof why) == 0);
	ATF_REQUIRE_MSG(p.ops->supported(&p, &env, why, sizeof why) == 0, "%s", why);
	ATF_REQUIRE_MSG(p.ops->open(&p, &env, &out, why, sizeof why) == 0, "%s", why);
	child = start_thrasher("big", env.memcg_v2);
	n = collect_events(&p, &out, "events.jsonl", 30 * NS_PER_S, 100000, t0, &first, &real);
	stop_child(child);
	unlink("big");
	printf("%s under a 64M v1 memcg thrasher: %d event(s), first at %.3f s, first backed "
	       "by >=100ms stall in the cgroup at %.3f s\n", spec, n, first / 1e9, real / 1e9);
	ATF_CHECK_MSG(real > 0, "no cgroup PSI event backed by real stall within 30 s (%d events)",
		      n);

	/* Removing the cgroup kills the trigger: the fd reports POLLERR and
	 * the probe asks to be dropped. */
	cg2_destroy();
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = p.events[0];
	ev.data.u32 = 0;
	ATF_REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, p.fd[0], &ev) == 0);
	r = epoll_wait(ep, &ev, 1, 2000);
	ATF_CHECK_MSG(r == 1 && (ev.events & EPOLLERR),
		      "after rmdir: epoll_wait %d, events %#x; want EPOLLERR", r, ev.events);
	ATF_CHECK_EQ(p.ops->handle(&p, 0, pnb_mono_ns(), &out), -ENODEV);
	close(ep);
	p.ops->close(&p, &out);
	probe_free(&p);
	memcg_destroy();
	close(efd);
}
ATF_TC_CLEANUP(cgroup_trigger_event_and_removal, tc)
{
	cg2_destroy();
	memcg_destroy();
}

ATF_TC_WITH_CLEANUP(first_event_needs_new_stall);
ATF_TC_HEAD(first_event_needs_new_stall, tc)
{
	atf_tc_set_md_var(tc, "require.user", "root");
	atf_tc_set_md_var(tc, "timeout", "120");
}
ATF_TC_BODY(first_event_needs_new_stall, tc)
{
	/* psi.rst: an event means the stall grew past the threshold within the
	 * window.  Arm some 50ms, cause well under 50ms of stall (a memcg OOM
	 * with nothing to reclaim), and check no event came. */
	struct probe_env env = { .root = "", .domain = PNB_DOMAIN_SYSTEM, .workload_pidfd = -1 };
	const uint64_t thr_us = 50000;
	char spec[64], why[PROBE_ERR_LEN] = "";
	uint64_t total0, total1, t0, first, real;
	struct jsonl out;
	struct probe p;
	int efd, n;
	pid_t child;

	require_psi();
	memcg_create();
	/* The flaw this looks for only shows once the boot-time stall total is
	 * above the threshold: make some stall first if there is too little. */
	if (some_total_us() < 4 * thr_us) {
		make_big_file("big", 160);
		child = start_thrasher("big", NULL);
		sleep(5);
		stop_child(child);
		unlink("big");
		sleep(3);	/* let the old windows pass */
	}
	if (some_total_us() < 4 * thr_us)
		pnb_skip("could not build up %llu us of PSI some total to test with",
			    (unsigned long long)(4 * thr_us));
	snprintf(spec, sizeof spec, "psi:some:50ms:%s", usable_window());
	efd = open("events.jsonl", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ATF_REQUIRE(efd >= 0);
	t0 = pnb_mono_ns();
	jsonl_init(&out, efd, t0);
	ATF_REQUIRE(probe_from_spec(&p, spec, why, sizeof why) == 0);
	ATF_REQUIRE_MSG(p.ops->open(&p, &env, &out, why, sizeof why) == 0, "%s", why);
	total0 = some_total_us();
	child = start_burst();
	waitpid(child, NULL, 0);
	n = collect_events(&p, &out, "events.jsonl", 5 * NS_PER_S, UINT64_MAX / 2, t0,
			   &first, &real);
	total1 = some_total_us();
	p.ops->close(&p, &out);
	probe_free(&p);
	memcg_destroy();
	close(efd);
	printf("%s, memcg OOM burst: %d event(s), first at %.3f s; some total at arming "
	       "%llu us, +%llu us since\n", spec, n, first / 1e9,
	       (unsigned long long)total0, (unsigned long long)(total1 - total0));
	if (total1 - total0 >= thr_us)
		pnb_skip("the burst stalled %llu us, not less than the threshold: cannot judge",
			    (unsigned long long)(total1 - total0));
	if (!has_cap_sys_resource() && unprivileged_triggers())
		atf_tc_expect_fail("unprivileged triggers (6.5, or backported) (aggregated by the averages "
				   "worker) start their window from group->total[PSI_POLL], which "
				   "only privileged triggers advance: the first stall after "
				   "arming counts all stall since boot (psi_trigger_create)");
	ATF_CHECK_MSG(n == 0, "%d event(s) for a %llu us stall with a %llu us threshold",
		      n, (unsigned long long)(total1 - total0), (unsigned long long)thr_us);
}
ATF_TC_CLEANUP(first_event_needs_new_stall, tc)
{
	memcg_destroy();
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, parse_valid);
	ATF_TP_ADD_TC(tp, parse_invalid);
	ATF_TP_ADD_TC(tp, writes_trigger_with_nul);
	ATF_TP_ADD_TC(tp, event_carries_file_values);
	ATF_TP_ADD_TC(tp, cgroup_needs_memcg_v2);
	ATF_TP_ADD_TC(tp, real_trigger_accepted);
	ATF_TP_ADD_TC(tp, second_trigger_ebusy);
	ATF_TP_ADD_TC(tp, trigger_needs_nul);
	ATF_TP_ADD_TC(tp, event_under_memcg_pressure);
	ATF_TP_ADD_TC(tp, cgroup_trigger_event_and_removal);
	ATF_TP_ADD_TC(tp, first_event_needs_new_stall);
	return atf_no_error();
}
