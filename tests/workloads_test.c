/* The workloads, run as the real static binary bin/pnbench-workload (config
 * variable "bindir", default srcdir/../bin) with a pipe on
 * PNBENCH_PROGRESS_FD: option errors, progress marks, pacing, page cache. */
#include <atf-c.h>

#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MiB (1024ULL * 1024)
#define MAX_MARKS 4096

struct mark {
	char what[32];		/* a progress word, or "phase" */
	char name[32];		/* the phase name */
	uint64_t value;
};

struct run {
	int status;		/* exit code, or 128 + signal */
	double wall_s;
	char out[16384], err[16384];
	size_t out_n, err_n;
	struct mark marks[MAX_MARKS];
	size_t n_marks;
	uint64_t rss_anon_hold_kB;	/* RssAnon when "phase hold" arrived */
	double alloc_MBps;		/* the "result alloc_MBps" line, or -1 */
};

static char bin[4096];

static void find_bin(const atf_tc_t *tc)
{
	char def[4096];

	snprintf(def, sizeof def, "%s/../bin", atf_tc_get_config_var_wd(tc, "srcdir", "."));
	snprintf(bin, sizeof bin, "%s/pnbench-workload",
		 atf_tc_get_config_var_wd(tc, "bindir", def));
	if (access(bin, X_OK) != 0)
		atf_tc_fail("%s: %s (build it: make bin/pnbench-workload)", bin, strerror(errno));
}

static uint64_t rss_anon_kB(pid_t pid)
{
	char path[64], line[256];
	uint64_t v = 0;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "RssAnon: %" SCNu64, &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Progress lines complete so far in buf[0..*n): parse them, keep the rest. */
static void take_marks(struct run *r, char *buf, size_t *n, pid_t pid)
{
	char *nl;
	while ((nl = memchr(buf, '\n', *n))) {
		struct mark *m = &r->marks[r->n_marks];
		*nl = 0;
		ATF_REQUIRE(r->n_marks < MAX_MARKS);
		if (sscanf(buf, "progress %31s %" SCNu64, m->what, &m->value) == 2) {
			r->n_marks++;
		} else if (sscanf(buf, "phase %31s", m->name) == 1) {
			strcpy(m->what, "phase");
			r->n_marks++;
			if (strcmp(m->name, "hold") == 0)
				r->rss_anon_hold_kB = rss_anon_kB(pid);
		} else if (!strncmp(buf, "result ", 7)) {
			char key[64], *end;
			double v;
			ATF_REQUIRE_MSG(sscanf(buf, "result %63s", key) == 1, "result line '%s'", buf);
			v = strtod(buf + 7 + strlen(key), &end);
			ATF_REQUIRE_MSG(*end == 0 && end != buf + 7 + strlen(key),
					"result line '%s': value is not a number", buf);
			if (!strcmp(key, "alloc_MBps"))
				r->alloc_MBps = v;
		} else {
			atf_tc_fail("malformed progress line '%s'", buf);
		}
		size_t used = (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, *n - used);
		*n -= used;
	}
}

/* Run "pnbench-workload args..." and collect everything it says. */
static void run_wl(struct run *r, const char *const *args)
{
	int p[3][2];		/* stdout, stderr, progress */
	char *argv[32] = { "pnbench-workload" }, prog[4096];
	size_t argc = 1, prog_n = 0;
	struct timespec t0, t1;

	memset(r, 0, sizeof *r);
	r->alloc_MBps = -1;
	for (; args[argc - 1]; argc++) {
		ATF_REQUIRE(argc < 31);
		argv[argc] = (char *)args[argc - 1];
	}
	for (int i = 0; i < 3; i++)
		ATF_REQUIRE(pipe2(p[i], O_CLOEXEC) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	ATF_REQUIRE(pid >= 0);
	if (pid == 0) {
		/* dup2 clears O_CLOEXEC on the copies only. */
		if (dup2(p[0][1], 1) < 0 || dup2(p[1][1], 2) < 0 || dup2(p[2][1], 9) < 0)
			_exit(127);
		setenv("PNBENCH_PROGRESS_FD", "9", 1);
		execv(bin, argv);
		_exit(127);
	}
	struct pollfd pfd[3];
	for (int i = 0; i < 3; i++) {
		close(p[i][1]);
		pfd[i] = (struct pollfd){ .fd = p[i][0], .events = POLLIN };
	}
	for (int open_fds = 3; open_fds > 0;) {
		ATF_REQUIRE(poll(pfd, 3, -1) >= 0 || errno == EINTR);
		for (int i = 0; i < 3; i++) {
			char *dst = i == 0 ? r->out + r->out_n : i == 1 ? r->err + r->err_n : prog + prog_n;
			size_t *n = i == 0 ? &r->out_n : i == 1 ? &r->err_n : &prog_n;
			size_t room = (i == 2 ? sizeof prog : sizeof r->out) - 1 - *n;
			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			ATF_REQUIRE_MSG(room > 0, "workload output too long");
			ssize_t got = read(pfd[i].fd, dst, room);
			if (got <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
				continue;
			}
			*n += (size_t)got;
			if (i == 2)
				take_marks(r, prog, &prog_n, pid);
		}
	}
	int st;
	ATF_REQUIRE(waitpid(pid, &st, 0) == pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->wall_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ATF_REQUIRE_MSG(prog_n == 0, "unterminated progress line");
}

static void require_ok(const struct run *r)
{
	ATF_REQUIRE_MSG(r->status == 0, "exit %d, stderr: %s", r->status, r->err);
	ATF_REQUIRE_MSG(r->out_n == 0, "wrote to stdout during the run: %s", r->out);
	ATF_REQUIRE_MSG(r->err_n == 0, "wrote to stderr: %s", r->err);
}

/* Index of the first "phase name" mark, or -1. */
static int phase_at(const struct run *r, const char *name)
{
	for (size_t i = 0; i < r->n_marks; i++)
		if (!strcmp(r->marks[i].what, "phase") && !strcmp(r->marks[i].name, name))
			return (int)i;
	return -1;
}

/* Marks of one kind: how many, the last value; checks they never go down. */
static size_t marks_of(const struct run *r, const char *what, uint64_t *last)
{
	size_t n = 0;
	*last = 0;
	for (size_t i = 0; i < r->n_marks; i++) {
		if (strcmp(r->marks[i].what, what))
			continue;
		ATF_REQUIRE_MSG(r->marks[i].value >= *last, "%s went down: %" PRIu64 " after %" PRIu64,
				what, r->marks[i].value, *last);
		*last = r->marks[i].value;
		n++;
	}
	return n;
}

/* ---- usage ---- */

/* Each argument list must be refused with exit 2, before doing anything,
 * with one stderr line "<workload>: ..." naming the option. */
struct bad { const char *args[8]; const char *names; };

static void check_bad(const struct bad *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct run r;
		char prefix[64];
		run_wl(&r, b[i].args);
		snprintf(prefix, sizeof prefix, "%s: ", b[i].args[0]);
		ATF_CHECK_MSG(r.status == 2, "%s %s: exit %d", b[i].args[0], b[i].args[1], r.status);
		ATF_CHECK_MSG(r.err_n > 0 && strchr(r.err, '\n') == r.err + r.err_n - 1,
			      "%s %s: not one stderr line: '%s'", b[i].args[0], b[i].args[1], r.err);
		ATF_CHECK_MSG(strncmp(r.err, prefix, strlen(prefix)) == 0 && strstr(r.err, b[i].names),
			      "%s %s: message '%s' does not name '%s'", b[i].args[0], b[i].args[1],
			      r.err, b[i].names);
		ATF_CHECK_MSG(r.out_n == 0 && r.n_marks == 0, "%s %s: started working",
			      b[i].args[0], b[i].args[1]);
		ATF_CHECK_MSG(access("never-created", F_OK) != 0, "%s %s: created the file",
			      b[i].args[0], b[i].args[1]);
	}
}

#define BAD_TC(id, ...)							\
	ATF_TC_WITHOUT_HEAD(bad_options_##id);				\
	ATF_TC_BODY(bad_options_##id, tc)				\
	{								\
		static const struct bad b[] = { __VA_ARGS__ };		\
		find_bin(tc);						\
		check_bad(b, sizeof b / sizeof b[0]);			\
	}

#define F "--file", "never-created"
BAD_TC(stream_read,
	{ { "stream-read", NULL }, "--file" },
	{ { "stream-read", F, "--passes", "0", NULL }, "--passes '0'" },
	{ { "stream-read", F, "--passes", "2x", NULL }, "--passes '2x'" },
	{ { "stream-read", F, "--size", "-1", NULL }, "--size '-1'" },
	{ { "stream-read", F, "--size", "0", NULL }, "--size '0'" },
	{ { "stream-read", F, "--block", "1Q", NULL }, "--block '1Q'" },
	{ { "stream-read", F, "--block", "2G", NULL }, "--block '2G'" },
	{ { "stream-read", F, "--fadvise", "willneed", NULL }, "--fadvise 'willneed'" },
	{ { "stream-read", F, "--direct", "--block", "1000", NULL }, "--block '1000'" },
	{ { "stream-read", F, "--direct=yes", NULL }, "--direct" },
	{ { "stream-read", F, "--passes", NULL }, "--passes" },
	{ { "stream-read", F, "--bogus", NULL }, "--bogus" },
	{ { "stream-read", F, "stray", NULL }, "stray" })
BAD_TC(fixed_rate,
	{ { "fixed-rate", "--rate", "0", NULL }, "--rate '0'" },
	{ { "fixed-rate", "--rate", "0M/s", NULL }, "--rate '0M/s'" },
	{ { "fixed-rate", "--rate", "10X/s", NULL }, "--rate '10X/s'" },
	{ { "fixed-rate", "--rate", "fast", NULL }, "--rate 'fast'" },
	{ { "fixed-rate", "--chunk", "1000", NULL }, "--chunk '1000'" },
	{ { "fixed-rate", "--chunk", "2G", NULL }, "--chunk '2G'" },
	{ { "fixed-rate", "--limit", "1e9", NULL }, "--limit '1e9'" },
	{ { "fixed-rate", "--hold", "5", NULL }, "--hold '5'" },
	{ { "fixed-rate", "--hold", "-1s", NULL }, "--hold '-1s'" },
	{ { "fixed-rate", "--limit", NULL }, "--limit" },
	{ { "fixed-rate", "-x", NULL }, "-x" },
	{ { "fixed-rate", "--threads=2", NULL }, "--threads" })
BAD_TC(busy_beaver,
	{ { "busy-beaver", "--threads", "0", NULL }, "--threads '0'" },
	{ { "busy-beaver", "--threads", "100000", NULL }, "--threads '100000'" },
	{ { "busy-beaver", "--threads", "all", NULL }, "--threads 'all'" },
	{ { "busy-beaver", "--chunk", "0", NULL }, "--chunk '0'" },
	{ { "busy-beaver", "--chunk", "4M5", NULL }, "--chunk '4M5'" },
	{ { "busy-beaver", "--limit", "17", NULL }, "--limit '17'" },
	{ { "busy-beaver", "--hold", "forever", NULL }, "--hold 'forever'" },
	{ { "busy-beaver", "--rate", "1M/s", NULL }, "--rate" })
BAD_TC(swapless_fill,
	{ { "swapless-fill", "--rate", "1M/s", NULL }, "--file" },
	{ { "swapless-fill", F, "--fill", "0", NULL }, "--fill '0'" },
	{ { "swapless-fill", F, "--fill", "lots", NULL }, "--fill 'lots'" },
	{ { "swapless-fill", F, "--size", "1.5.1M", NULL }, "--size '1.5.1M'" },
	{ { "swapless-fill", F, "--rate", "0/s", NULL }, "--rate '0/s'" },
	{ { "swapless-fill", F, "--chunk", "3k", NULL }, "--chunk '3k'" },
	{ { "swapless-fill", F, "--limit", "x", NULL }, "--limit 'x'" },
	{ { "swapless-fill", F, "--passes", "2", NULL }, "--passes" })
#undef F

ATF_TC_WITHOUT_HEAD(unknown_workload);
ATF_TC_BODY(unknown_workload, tc)
{
	struct run r;
	find_bin(tc);
	run_wl(&r, (const char *[]){ "no-such-workload", "--rate", "1M/s", NULL });
	ATF_CHECK_EQ(r.status, 2);
	ATF_CHECK_MSG(strchr(r.err, '\n') == r.err + r.err_n - 1 && strstr(r.err, "'no-such-workload'"),
		      "stderr: '%s'", r.err);
	run_wl(&r, (const char *[]){ NULL });
	ATF_CHECK_MSG(r.status == 2 && r.err_n > 0 && r.out_n == 0,
		      "no workload: exit %d, stderr '%s'", r.status, r.err);
}

ATF_TC_WITHOUT_HEAD(help);
ATF_TC_BODY(help, tc)
{
	static const struct { const char *name, *opts[8]; } wl[] = {
		{ "stream-read", { "--file", "--size", "--passes", "--block", "--fadvise", "--direct" } },
		{ "fixed-rate", { "--rate", "--chunk", "--limit", "--hold" } },
		{ "busy-beaver", { "--chunk", "--threads", "--limit", "--hold" } },
		{ "swapless-fill", { "--file", "--size", "--fill", "--rate", "--chunk", "--limit" } },
	};
	struct run r;

	find_bin(tc);
	run_wl(&r, (const char *[]){ "--help", NULL });
	ATF_REQUIRE_EQ(r.status, 0);
	for (size_t i = 0; i < 4; i++)
		ATF_CHECK_MSG(strstr(r.out, wl[i].name), "--help does not list %s", wl[i].name);
	for (size_t i = 0; i < 4; i++) {
		run_wl(&r, (const char *[]){ wl[i].name, "--help", NULL });
		ATF_CHECK_MSG(r.status == 0 && r.err_n == 0, "%s --help: exit %d, stderr '%s'",
			      wl[i].name, r.status, r.err);
		ATF_CHECK_MSG(r.n_marks == 0, "%s --help started working", wl[i].name);
		for (size_t j = 0; j < 8 && wl[i].opts[j]; j++)
			ATF_CHECK_MSG(strstr(r.out, wl[i].opts[j]), "%s --help lacks %s",
				      wl[i].name, wl[i].opts[j]);
	}
}

/* ---- allocators ---- */

ATF_TC(fixed_rate_pacing);
ATF_TC_HEAD(fixed_rate_pacing, tc)
{
	atf_tc_set_md_var(tc, "descr", "40M at 20M/s takes 2 s, one mark per 1M chunk");
	atf_tc_set_md_var(tc, "timeout", "30");
}
ATF_TC_BODY(fixed_rate_pacing, tc)
{
	struct run r;
	uint64_t last;

	find_bin(tc);
	run_wl(&r, (const char *[]){ "fixed-rate", "--rate", "20M/s", "--limit", "40M",
				     "--hold", "0s", NULL });
	require_ok(&r);
	ATF_CHECK_MSG(r.wall_s >= 1.6 && r.wall_s <= 3.0, "took %.3f s, want about 2", r.wall_s);
	ATF_CHECK_EQ(marks_of(&r, "alloc_bytes", &last), 40);
	ATF_CHECK_EQ(last, 41943040);
	/* 40 MiB at 20 MiB/s: the workload's own throughput figure agrees. */
	ATF_CHECK_MSG(r.alloc_MBps > 18 && r.alloc_MBps < 21, "alloc_MBps %.3f", r.alloc_MBps);
	for (size_t i = 0, k = 0; i < r.n_marks; i++)
		if (!strcmp(r.marks[i].what, "alloc_bytes"))
			ATF_CHECK_EQ(r.marks[i].value, ++k * MiB);
	ATF_CHECK(phase_at(&r, "alloc") == 0);
	ATF_CHECK(phase_at(&r, "hold") == (int)r.n_marks - 1);
}

ATF_TC(busy_beaver_limit);
ATF_TC_HEAD(busy_beaver_limit, tc)
{
	atf_tc_set_md_var(tc, "descr", "--limit 64M is reached, really resident, not exceeded");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(busy_beaver_limit, tc)
{
	struct run r;
	uint64_t last;
	size_t n;

	find_bin(tc);
	run_wl(&r, (const char *[]){ "busy-beaver", "--limit", "64M", "--hold", "1s", NULL });
	require_ok(&r);
	n = marks_of(&r, "alloc_bytes", &last);
	ATF_CHECK_MSG(last >= 64 * MiB, "final alloc_bytes %" PRIu64, last);
	ATF_CHECK_EQ(last, 64 * MiB);
	ATF_CHECK_MSG(n >= 1 && n <= 4, "%zu alloc_bytes marks for 64M, want at most one per 16M", n);
	/* Touched, anonymous and kept: the process holds it while it waits. */
	ATF_CHECK_MSG(r.rss_anon_hold_kB >= 64 * 1024, "RssAnon %" PRIu64 " kB at hold",
		      r.rss_anon_hold_kB);
	ATF_CHECK_MSG(r.wall_s >= 1.0, "held only %.3f s", r.wall_s);

	run_wl(&r, (const char *[]){ "busy-beaver", "--threads", "cpus", "--chunk", "3M",
				     "--limit", "64M", "--hold", "0s", NULL });
	require_ok(&r);
	marks_of(&r, "alloc_bytes", &last);
	ATF_CHECK_EQ(last, 64 * MiB);
}

/* ---- file readers ---- */

/* Fraction of path's pages in the page cache. */
static double resident(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	ATF_REQUIRE(fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0);
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = ((size_t)st.st_size + pg - 1) / pg, in = 0;
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	unsigned char *vec = malloc(n);
	ATF_REQUIRE(p != MAP_FAILED && vec && mincore(p, (size_t)st.st_size, vec) == 0);
	for (size_t i = 0; i < n; i++)
		in += vec[i] & 1;
	munmap(p, (size_t)st.st_size);
	free(vec);
	close(fd);
	return (double)in / (double)n;
}

static void check_passes(const struct run *r, uint64_t file_size, uint64_t passes)
{
	uint64_t last, pass = 0, prev = 0;

	require_ok(r);
	ATF_CHECK_EQ(marks_of(r, "pass", &last), passes);
	ATF_CHECK_EQ(last, passes);
	ATF_CHECK(marks_of(r, "read_bytes", &last) <= (passes * file_size) / (16 * MiB) + passes);
	ATF_CHECK_EQ(last, passes * file_size);
	ATF_REQUIRE(phase_at(r, "read") >= 0);
	for (size_t i = (size_t)phase_at(r, "read"); i < r->n_marks; i++) {
		const struct mark *m = &r->marks[i];
		if (!strcmp(m->what, "pass")) {
			ATF_CHECK_EQ(m->value, ++pass);
			ATF_CHECK_EQ(prev, (pass - 1) * file_size);	/* previous pass complete */
		} else if (!strcmp(m->what, "read_bytes")) {
			ATF_CHECK_MSG(pass > 0 && m->value <= pass * file_size,
				      "read_bytes %" PRIu64 " in pass %" PRIu64, m->value, pass);
			prev = m->value;
		}
	}
}

ATF_TC(stream_read_passes);
ATF_TC_HEAD(stream_read_passes, tc)
{
	atf_tc_set_md_var(tc, "descr", "2 passes over a 32M file it creates: 64M read");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(stream_read_passes, tc)
{
	struct run r;
	uint64_t last;

	find_bin(tc);
	run_wl(&r, (const char *[]){ "stream-read", "--file", "data", "--size", "32M",
				     "--passes", "2", NULL });
	check_passes(&r, 32 * MiB, 2);
	ATF_CHECK(phase_at(&r, "create") == 0 && phase_at(&r, "read") > 0);
	marks_of(&r, "write_bytes", &last);
	ATF_CHECK_EQ(last, 32 * MiB);

	/* Now it exists: used as is, no second create. */
	run_wl(&r, (const char *[]){ "stream-read", "--file", "data", "--size", "32M",
				     "--block", "64k", "--fadvise", "sequential", NULL });
	check_passes(&r, 32 * MiB, 2);
	ATF_CHECK_EQ(phase_at(&r, "create"), -1);
}

ATF_TC(stream_read_create);
ATF_TC_HEAD(stream_read_create, tc)
{
	atf_tc_set_md_var(tc, "descr", "created data is non-zero and a function of the offset");
}
ATF_TC_BODY(stream_read_create, tc)
{
	static const char *sizes[] = { "1000001", "3000000" };
	struct run r;
	struct stat st;

	find_bin(tc);
	run_wl(&r, (const char *[]){ "stream-read", "--file", "once", "--size", "3000000",
				     "--passes", "1", NULL });
	check_passes(&r, 3000000, 1);
	for (size_t i = 0; i < 2; i++) {
		run_wl(&r, (const char *[]){ "stream-read", "--file", "grown", "--size", sizes[i],
					     "--passes", "1", NULL });
		require_ok(&r);
		ATF_CHECK(phase_at(&r, "create") == 0);
	}
	ATF_REQUIRE(stat("grown", &st) == 0);
	ATF_CHECK_EQ(st.st_size, 3000000);

	FILE *a = fopen("once", "rb"), *b = fopen("grown", "rb");
	ATF_REQUIRE(a && b);
	static unsigned char x[3000001], y[3000001];
	ATF_REQUIRE_EQ(fread(x, 1, sizeof x, a), 3000000);
	ATF_REQUIRE_EQ(fread(y, 1, sizeof y, b), 3000000);
	ATF_CHECK_MSG(memcmp(x, y, 3000000) == 0, "file grown in two steps differs");
	ATF_CHECK_MSG(memchr(x, 0, 3000000) == NULL, "created data has a zero byte");
	ATF_CHECK_MSG(memcmp(x, x + 4096, 4096) != 0, "created data repeats every page");
	fclose(a);
	fclose(b);
}

static int memory_fs(const char *dir)
{
	struct statfs sf;
	ATF_REQUIRE_MSG(statfs(dir, &sf) == 0, "statfs %s: %s", dir, strerror(errno));
	return sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC;
}

/* Where page cache can be dropped: the work directory, or when kyua put
 * that on tmpfs (TMPDIR=/tmp on tmpfs, as Debian 13 mounts it) a fresh
 * directory under /var/tmp, named in the file "elsewhere" for cleanup.
 * A skip is decided here, before any check. */
static void cd_to_disk(void)
{
	char dir[] = "/var/tmp/pnbench-wl.XXXXXX";
	FILE *f;

	if (!memory_fs("."))
		return;
	if (memory_fs("/var/tmp"))
		pnb_skip("the work directory and /var/tmp are on tmpfs/ramfs: their page "
			 "cache cannot be dropped or bypassed");
	ATF_REQUIRE_MSG(mkdtemp(dir), "mkdtemp %s: %s", dir, strerror(errno));
	ATF_REQUIRE((f = fopen("elsewhere", "w")));
	fprintf(f, "%s\n", dir);
	fclose(f);
	ATF_REQUIRE_MSG(chdir(dir) == 0, "chdir %s: %s", dir, strerror(errno));
}

ATF_TC_WITH_CLEANUP(stream_read_cache_control);
ATF_TC_HEAD(stream_read_cache_control, tc)
{
	atf_tc_set_md_var(tc, "descr", "plain reads fill the page cache; dontneed and --direct do not");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(stream_read_cache_control, tc)
{
	struct run r;
	int fd;

	find_bin(tc);
	cd_to_disk();
	/* A filesystem without O_DIRECT is known before anything is checked. */
	ATF_REQUIRE((fd = open("direct-probe", O_RDWR | O_CREAT, 0644)) >= 0);
	close(fd);
	fd = open("direct-probe", O_RDONLY | O_DIRECT);
	if (fd < 0 && errno == EINVAL)
		pnb_skip("this filesystem refuses O_DIRECT");
	ATF_REQUIRE_MSG(fd >= 0, "open O_DIRECT: %s", strerror(errno));
	close(fd);

	run_wl(&r, (const char *[]){ "stream-read", "--file", "data", "--size", "32M",
				     "--passes", "1", NULL });
	check_passes(&r, 32 * MiB, 1);
	ATF_CHECK_MSG(resident("data") > 0.9, "after a plain read %.2f resident", resident("data"));

	run_wl(&r, (const char *[]){ "stream-read", "--file", "data", "--passes", "1",
				     "--fadvise", "dontneed", NULL });
	check_passes(&r, 32 * MiB, 1);
	ATF_CHECK_MSG(resident("data") < 0.1, "after dontneed %.2f resident", resident("data"));

	run_wl(&r, (const char *[]){ "stream-read", "--file", "data", "--passes", "1",
				     "--direct", NULL });
	check_passes(&r, 32 * MiB, 1);
	ATF_CHECK_MSG(resident("data") < 0.1, "after --direct %.2f resident", resident("data"));
}
ATF_TC_CLEANUP(stream_read_cache_control, tc)
{
	char dir[256] = "", cmd[300];
	FILE *f = fopen("elsewhere", "r");

	(void)tc;
	if (!f)
		return;
	if (fgets(dir, sizeof dir, f) && !strncmp(dir, "/var/tmp/pnbench-wl.", 20)) {
		dir[strcspn(dir, "\n")] = 0;
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		(void)!system(cmd);
	}
	fclose(f);
}

ATF_TC(swapless_fill_order);
ATF_TC_HEAD(swapless_fill_order, tc)
{
	atf_tc_set_md_var(tc, "descr", "fill the cache, then allocate: phases in that order");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(swapless_fill_order, tc)
{
	struct run r;
	uint64_t last;
	int fill, alloc;

	find_bin(tc);
	run_wl(&r, (const char *[]){ "swapless-fill", "--file", "data", "--size", "4M",
				     "--rate", "100M/s", "--limit", "8M", "--hold", "0s", NULL });
	require_ok(&r);
	fill = phase_at(&r, "fill");
	alloc = phase_at(&r, "alloc");
	ATF_CHECK_MSG(phase_at(&r, "create") == 0, "no create phase first");
	ATF_REQUIRE_MSG(fill > 0 && alloc > fill, "fill at %d, alloc at %d", fill, alloc);
	ATF_CHECK(phase_at(&r, "hold") == (int)r.n_marks - 1);
	for (size_t i = 0; i < r.n_marks; i++) {
		if (!strcmp(r.marks[i].what, "read_bytes"))
			ATF_CHECK_MSG((int)i > fill && (int)i < alloc, "read_bytes outside fill");
		if (!strcmp(r.marks[i].what, "alloc_bytes"))
			ATF_CHECK_MSG((int)i > alloc, "alloc_bytes before alloc");
	}
	marks_of(&r, "read_bytes", &last);
	ATF_CHECK_EQ(last, 4 * MiB);
	ATF_CHECK_EQ(marks_of(&r, "alloc_bytes", &last), 8);
	ATF_CHECK_EQ(last, 8 * MiB);
	ATF_CHECK_MSG(resident("data") > 0.9, "fill left %.2f of the file cached", resident("data"));

	/* --fill reads only a prefix; the existing file is not recreated. */
	run_wl(&r, (const char *[]){ "swapless-fill", "--file", "data", "--size", "4M",
				     "--fill", "1M", "--limit", "1M", "--hold", "0s", NULL });
	require_ok(&r);
	ATF_CHECK_EQ(phase_at(&r, "create"), -1);
	marks_of(&r, "read_bytes", &last);
	ATF_CHECK_EQ(last, 1 * MiB);
}

/* ---- options checked on the host (issue 10, 3) ---- */

#include "log.h"
#include "run.h"
#include "workload.h"

static void prog_path(const atf_tc_t *tc, const char *prog, char *buf, size_t len)
{
	char def[4096];

	snprintf(def, sizeof def, "%s/../bin", atf_tc_get_config_var_wd(tc, "srcdir", "."));
	snprintf(buf, len, "%s/%s", atf_tc_get_config_var_wd(tc, "bindir", def), prog);
	if (access(buf, X_OK) != 0)
		atf_tc_fail("%s: %s (build it: make all)", buf, strerror(errno));
}

/* Run argv with stdout on /dev/null; its stderr into err.  Exit code, or
 * 128 + signal. */
static int run_prog(char *const argv[], char *err, size_t len)
{
	int p[2], st;
	size_t n = 0;

	ATF_REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	pid_t pid = fork();
	ATF_REQUIRE(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null < 0 || dup2(null, 1) < 0 || dup2(p[1], 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	for (ssize_t got; n < len - 1 && (got = read(p[0], err + n, len - 1 - n)) > 0;)
		n += (size_t)got;
	err[n] = 0;
	close(p[0]);
	ATF_REQUIRE(waitpid(pid, &st, 0) == pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

ATF_TC(check_args_same_parser);
ATF_TC_HEAD(check_args_same_parser, tc)
{
	atf_tc_set_md_var(tc, "descr", "workload_check_args gives the guest's verdict in the guest's words");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(check_args_same_parser, tc)
{
	/* Good and bad in turn: a refusal must not leave getopt state that
	 * changes the next verdict. */
	static const struct { int ok; const char *args[8]; } c[] = {
		{ 0, { "fixed-rate", "--rate", "banana" } },
		{ 1, { "fixed-rate", "--rate", "10M/s", "--limit", "8M" } },
		{ 0, { "fixed-rate", "--rate", "0" } },
		{ 0, { "fixed-rate", "--bogus" } },
		{ 0, { "fixed-rate", "--chunk", "3" } },
		{ 0, { "fixed-rate", "--rate", "1M/s", "stray" } },
		{ 0, { "fixed-rate", "--limit" } },
		{ 0, { "fixed-rate", "-x" } },
		{ 1, { "fixed-rate" } },
		{ 0, { "busy-beaver", "--threads", "lots" } },
		{ 1, { "busy-beaver", "--threads", "cpus", "--chunk", "8M" } },
		{ 0, { "busy-beaver", "--hold=5" } },
		{ 0, { "stream-read", "--passes", "2" } },
		{ 1, { "stream-read", "--file", "{data}", "--fadvise", "dontneed" } },
		{ 0, { "stream-read", "--file", "f", "--direct", "--block", "1000" } },
		{ 0, { "swapless-fill", "--file", "f", "--fill", "lots" } },
		{ 1, { "swapless-fill", "--file", "f", "--fill", "64M", "--rate", "20M/s" } },
		{ 0, { "vmstat-cost", "--mode", "fast" } },
		{ 0, { "vmstat-cost", "--files", "vmstat,nope" } },
		{ 0, { "vmstat-cost", "--duration", "0s" } },
		{ 0, { "vmstat-cost", "--load-cpus", "x" } },
		{ 1, { "vmstat-cost", "--files", "vmstat", "--duration", "1s", "--load", "others" } },
		{ 0, { "vmstat-staleness", "--counters", "Bad-Name" } },
		{ 0, { "vmstat-staleness", "--rate", "fast" } },
		{ 1, { "vmstat-staleness", "--rate", "0", "--iterations", "10" } },
	};
	char wl[4096];

	prog_path(tc, "pnbench-workload", wl, sizeof wl);
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		char *argv[8], *copy[8], err[512], gerr[1024], want[600];
		int argc = 0;
		for (; argc < 7 && c[i].args[argc + 1]; argc++)
			argv[argc] = copy[argc] = (char *)c[i].args[argc + 1];
		int r = workload_check_args(c[i].args[0], argc, argv, err, sizeof err);
		for (int k = 0; k < argc; k++)
			ATF_CHECK_MSG(argv[k] == copy[k], "%s: the caller's argv was reordered", c[i].args[0]);
		if (c[i].ok) {
			ATF_CHECK_MSG(r == 0, "case %zu %s %s: refused: %s", i, c[i].args[0],
				      c[i].args[1] ? c[i].args[1] : "", err);
			continue;
		}
		ATF_CHECK_MSG(r == PNB_EXIT_USAGE && err[0], "case %zu %s %s: accepted (%d)", i,
			      c[i].args[0], c[i].args[1], r);
		/* The guest's words for the same options: "<workload>: <err>". */
		char *gargv[10] = { wl, (char *)c[i].args[0] };
		for (int k = 0; k < argc; k++)
			gargv[k + 2] = (char *)c[i].args[k + 1];
		int g = run_prog(gargv, gerr, sizeof gerr);
		snprintf(want, sizeof want, "%s: %s\n", c[i].args[0], err);
		ATF_CHECK_MSG(g == PNB_EXIT_USAGE && !strcmp(gerr, want),
			      "case %zu: guest exit %d said '%s', host said '%s'", i, g, gerr, want);
	}

	char err[512];
	ATF_CHECK(workload_check_args("fixed-rate", 1, (char *[]){ "--help" }, err, sizeof err) == PNB_EXIT_USAGE);
	ATF_CHECK_MSG(strstr(err, "--help"), "--help refused with '%s'", err);
	ATF_CHECK(workload_check_args("no-such", 0, (char *[]){ NULL }, err, sizeof err) == PNB_EXIT_USAGE);
	ATF_CHECK_MSG(strstr(err, "'no-such'"), "unknown workload: '%s'", err);
}

ATF_TC(scenario_check_args);
ATF_TC_HEAD(scenario_check_args, tc)
{
	atf_tc_set_md_var(tc, "descr", "pnbench scenario check refuses workload options the workload refuses");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(scenario_check_args, tc)
{
	static const struct { const char *name, *args, *want; } c[] = {
		{ "fixed-rate", "--rate banana", "--rate 'banana': not a rate (e.g. 10M/s)" },
		{ "fixed-rate", "--rate 0", "--rate '0': out of range (must be above 0)" },
		{ "fixed-rate", "--rate 1M/s  --bogus", "--bogus: unknown option (try --help)" },
		{ "busy-beaver", "--threads lots", "--threads 'lots': not a whole number" },
		{ "fixed-rate", "--chunk 3", "--chunk '3': not a multiple of the page size (4096)" },
		{ "stream-read", "--file {data} --passes 0", "--passes '0': out of range (1..1000000)" },
		{ "fixed-rate", "--rate 5M/s --limit 64M", NULL },
		{ "stream-read", "--file {data} --passes 3", NULL },
	};
	char pnb[4096];

	prog_path(tc, "pnbench", pnb, sizeof pnb);
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		char err[2048], want[600];
		FILE *f = fopen("x.ini", "w");
		ATF_REQUIRE(f);
		fprintf(f, "[scenario]\nreps = 1\n\n[workload]\nname = %s\ndata_size = 64M\nargs = %s\n"
			"[probes]\nprobe = psi:some:150ms:1s\n", c[i].name, c[i].args);
		fclose(f);
		int r = run_prog((char *[]){ pnb, "scenario", "check", "x.ini", NULL }, err, sizeof err);
		if (!c[i].want) {
			ATF_CHECK_MSG(r == 0 && !err[0], "'%s': exit %d, '%s'", c[i].args, r, err);
			continue;
		}
		snprintf(want, sizeof want, "pnbench: scenario x.ini:7: args: %s\n", c[i].want);
		ATF_CHECK_MSG(r == PNB_EXIT_USAGE && !strcmp(err, want), "'%s': exit %d, said '%s', want '%s'",
			      c[i].args, r, err, want);
	}

	/* No args at all is judged too: stream-read cannot run without --file. */
	FILE *f = fopen("y.ini", "w");
	ATF_REQUIRE(f);
	fprintf(f, "[workload]\nname = stream-read\n[probes]\nprobe = psi:some:150ms:1s\n");
	fclose(f);
	char err[2048];
	int r = run_prog((char *[]){ pnb, "scenario", "check", "y.ini", NULL }, err, sizeof err);
	ATF_CHECK_MSG(r == PNB_EXIT_USAGE && !strcmp(err, "pnbench: scenario y.ini: [workload] args: "
						     "--file: required\n"), "exit %d, '%s'", r, err);
}

ATF_TC(recorder_usage_exit);
ATF_TC_HEAD(recorder_usage_exit, tc)
{
	atf_tc_set_md_var(tc, "descr", "a workload's usage error fails the recorder (exit 2) with its message");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(recorder_usage_exit, tc)
{
	static const struct { const char *args[6]; int rec_exit, wl_exit; const char *msg; } c[] = {
		{ { "fixed-rate", "--rate", "banana" }, 2, 2, "fixed-rate: --rate 'banana': not a rate (e.g. 10M/s)" },
		/* A failure that is not about its options is data, not a broken run. */
		{ { "stream-read", "--file", "/nonexistent/x" }, 0, 1, "stream-read: /nonexistent/x: open: No such file or directory" },
		{ { "fixed-rate", "--rate", "100M/s", "--limit", "1M", "--hold" }, 0, 0, NULL },
	};
	char rec[4096], wl[4096];

	prog_path(tc, "pnbench-record", rec, sizeof rec);
	prog_path(tc, "pnbench-workload", wl, sizeof wl);
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		char *argv[20] = { rec, "--no-mlock", "--grace", "0s", "--probe", "sample:100ms",
				   "--out", "ev.jsonl", "--", wl };
		int argc = 10;
		for (int k = 0; k < 6 && c[i].args[k]; k++)
			argv[argc++] = (char *)c[i].args[k];
		if (!c[i].msg)
			argv[argc++] = "0s";
		char err[4096], line[700];
		int r = run_prog(argv, err, sizeof err);
		ATF_CHECK_MSG(r == c[i].rec_exit, "%s %s: recorder exit %d, stderr '%s'", c[i].args[0],
			      c[i].args[2], r, err);
		if (c[i].msg) {
			/* Its stderr still reaches ours, then the recorder says why it failed. */
			snprintf(line, sizeof line, "%s\n", c[i].msg);
			ATF_CHECK_MSG(!strncmp(err, line, strlen(line)), "stderr '%s'", err);
		}
		if (c[i].rec_exit) {
			snprintf(line, sizeof line, "pnbench-record: the workload refused its options (exit 2): "
				 "%s\n", c[i].msg);
			ATF_CHECK_MSG(strstr(err, line), "stderr '%s' lacks '%s'", err, line);
		}
		struct events_summary sum;
		ATF_REQUIRE(events_summarize("ev.jsonl", &sum) == 0);
		ATF_CHECK(sum.has_end);
		ATF_CHECK_EQ(sum.workload_exit_code, c[i].wl_exit);
		ATF_CHECK_MSG(!strcmp(sum.workload_message, c[i].msg ? c[i].msg : ""),
			      "message '%s'", sum.workload_message);
	}
}

/* Every workload has the parser the host checks options with: one without
 * let `scenario check` call through a null pointer (found by fuzz_wlargs
 * when the apps workload arrived without one). */
ATF_TC_WITHOUT_HEAD(every_workload_checks_options);
ATF_TC_BODY(every_workload_checks_options, tc)
{
	int n = 0;
	for (size_t i = 0; workload_registry[i]; i++, n++)
		ATF_CHECK_MSG(workload_registry[i]->check, "workload %s has no check()",
			      workload_registry[i]->name);
	ATF_CHECK(n >= 5);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, unknown_workload);
	ATF_TP_ADD_TC(tp, help);
	ATF_TP_ADD_TC(tp, bad_options_stream_read);
	ATF_TP_ADD_TC(tp, bad_options_fixed_rate);
	ATF_TP_ADD_TC(tp, bad_options_busy_beaver);
	ATF_TP_ADD_TC(tp, bad_options_swapless_fill);
	ATF_TP_ADD_TC(tp, fixed_rate_pacing);
	ATF_TP_ADD_TC(tp, busy_beaver_limit);
	ATF_TP_ADD_TC(tp, stream_read_passes);
	ATF_TP_ADD_TC(tp, stream_read_create);
	ATF_TP_ADD_TC(tp, stream_read_cache_control);
	ATF_TP_ADD_TC(tp, swapless_fill_order);
	ATF_TP_ADD_TC(tp, check_args_same_parser);
	ATF_TP_ADD_TC(tp, scenario_check_args);
	ATF_TP_ADD_TC(tp, recorder_usage_exit);
	ATF_TP_ADD_TC(tp, every_workload_checks_options);
	return atf_no_error();
}
