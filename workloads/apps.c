/* apps: Android's shape for the closed loop (issue 11).  N background
 * "cached apps" at oom_score_adj 900, 800, ... each hold anonymous memory
 * (and optionally file pages), then the foreground app (this process, adj
 * 0) holds its own and runs a pressure source.  A killer that follows
 * lmkd's policy should take the background apps from the top, never the
 * foreground; the kernel OOM killer should not be needed.
 *
 * The sizes are bounded on purpose: the source stops at --limit and the
 * foreground then holds for --hold and exits 0, so "the foreground lived
 * to the end" is observable (an unbounded allocator would end with the
 * foreground killed whatever the killer did).  Defaults fit a 256 MB guest
 * (~175 MB MemAvailable): 6 x 16 MB apps + 8 MB foreground + 120 MB from
 * the source need about four background apps to go.
 *
 * Every app announces itself with an "app" line (pid, adj, role, sizes),
 * so the analysis can tell a right victim from a wrong one. */
#include "common.h"
#include "memhog.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern const struct workload workload_apps;

enum src { SRC_FIXED_RATE, SRC_BUSY_BEAVER, SRC_SWAPLESS_FILL, SRC_STREAM_READ };
static const char *const src_names[] = { "fixed-rate", "busy-beaver", "swapless-fill", "stream-read" };

#define APPS_MAX 9	/* adj 900 .. 100: one level per app above the foreground */

enum { OPT_APPS = 1, OPT_APP_ANON, OPT_APP_FILE, OPT_FG_ANON, OPT_SOURCE, OPT_RATE, OPT_CHUNK,
       OPT_LIMIT, OPT_HOLD, OPT_FILE, OPT_SIZE, OPT_FILL, OPT_PASSES };

static const struct option opts[] = {
	{ "apps", required_argument, NULL, OPT_APPS },
	{ "app-anon", required_argument, NULL, OPT_APP_ANON },
	{ "app-file", required_argument, NULL, OPT_APP_FILE },
	{ "fg-anon", required_argument, NULL, OPT_FG_ANON },
	{ "source", required_argument, NULL, OPT_SOURCE },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "chunk", required_argument, NULL, OPT_CHUNK },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "hold", required_argument, NULL, OPT_HOLD },
	{ "file", required_argument, NULL, OPT_FILE },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "fill", required_argument, NULL, OPT_FILL },
	{ "passes", required_argument, NULL, OPT_PASSES },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

struct apps {
	uint64_t napps, app_anon, app_file, fg_anon, rate, chunk, limit, hold, size, fill, passes;
	enum src src;
	const char *file;
	pid_t pid[APPS_MAX];
};

static int set_adj(int adj)
{
	char v[16];
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	int n = snprintf(v, sizeof v, "%d", adj), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, v, (size_t)n) != n)
		r = -errno;
	close(fd);
	return r;
}

/* Map len bytes of the data file at off and read every page: file pages
 * the app "uses", which reclaim can drop without swap. */
static int hold_file(const char *file, uint64_t off, uint64_t len)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	const volatile char *p;
	size_t pg = wl_page_size();

	if (fd < 0)
		return -errno;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)off);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	for (uint64_t i = 0; i < len; i += pg)
		(void)p[i];	/* a volatile read: the page is touched */
	return 0;
}

/* One background app: its level, its memory, its line, then nothing
 * (cached apps sit idle).  It dies with the foreground. */
static void background(const struct apps *a, unsigned i, int ready_fd)
{
	int adj = 900 - 100 * (int)i, r;
	char c = 'r';

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if ((r = set_adj(adj))) {
		pnb_err("app %u: cannot set oom_score_adj %d: %s", i, adj, strerror(-r));
		_exit(PNB_EXIT_FAIL);
	}
	if ((r = pnb_hog_touch(a->app_anon, NULL))) {
		pnb_err("app %u: allocating %llu bytes: %s", i, (unsigned long long)a->app_anon, strerror(-r));
		_exit(PNB_EXIT_FAIL);
	}
	if (a->app_file && (r = hold_file(a->file, i * a->app_file, a->app_file))) {
		pnb_err("app %u: mapping %s: %s", i, a->file, strerror(-r));
		_exit(PNB_EXIT_FAIL);
	}
	wl_app(getpid(), adj, "background", a->app_anon, a->app_file);
	(void)!write(ready_fd, &c, 1);
	close(ready_fd);
	for (;;)
		pause();
}

static int start_apps(struct apps *a)
{
	for (unsigned i = 0; i < a->napps; i++) {
		int p[2];
		char c;
		if (pipe2(p, O_CLOEXEC))
			return -errno;
		pid_t pid = fork();
		if (pid < 0)
			return -errno;
		if (pid == 0) {
			close(p[0]);
			background(a, i, p[1]);
		}
		close(p[1]);
		a->pid[i] = pid;
		/* One at a time, so the levels come up in a fixed order and the
		 * source starts only when every app holds its memory. */
		ssize_t n = read(p[0], &c, 1);
		close(p[0]);
		if (n != 1) {
			pnb_err("app %u (pid %d) died before it was ready", i, (int)pid);
			return -ECHILD;
		}
	}
	return 0;
}

static int busy_beaver(uint64_t chunk, uint64_t limit)
{
	uint64_t total = 0, marked = 0;

	while (total < limit) {
		uint64_t n = limit - total < chunk ? limit - total : chunk;
		int r = pnb_hog_touch(n, NULL);
		if (r)
			return r;
		total += n;
		if (total - marked >= WL_MARK_EVERY || total == limit)
			wl_progress("alloc_bytes", marked = total);
	}
	return 0;
}

static int read_file(const struct apps *a, uint64_t limit, uint64_t passes)
{
	struct wl_reader rd;
	int r = wl_reader_open(&rd, a->file, 1 << 20, WL_FADV_NONE, 0);

	if (r)
		return r;
	for (uint64_t i = 0; i < passes && !r; i++)
		r = wl_reader_pass(&rd, limit);
	wl_reader_close(&rd);
	return r;
}

static int run_source(const struct apps *a, const char **what)
{
	int r;

	switch (a->src) {
	case SRC_FIXED_RATE:
		*what = "allocating";
		wl_phase("alloc");
		return wl_alloc_paced(a->rate, a->chunk, a->limit);
	case SRC_BUSY_BEAVER:
		*what = "allocating";
		wl_phase("alloc");
		return busy_beaver(a->chunk, a->limit);
	case SRC_SWAPLESS_FILL:
		*what = "reading the file";
		wl_phase("fill");
		if ((r = read_file(a, a->fill, 1)))
			return r;
		*what = "allocating";
		wl_phase("alloc");
		return wl_alloc_paced(a->rate, a->chunk, a->limit);
	case SRC_STREAM_READ:
		*what = "reading the file";
		wl_phase("read");
		return read_file(a, 0, a->passes);
	}
	return -EINVAL;
}

/* The options, for main and for the host's check alike (workloads/check.c). */
static int parse(int argc, char **argv, struct apps *ap)
{
	struct apps a = { .napps = 6, .app_anon = 16 << 20, .fg_anon = 8 << 20,
			  .src = SRC_FIXED_RATE, .rate = 10 << 20, .chunk = 1 << 20,
			  .limit = 120 << 20, .hold = 3 * NS_PER_S, .passes = 1 };
	int c, r = 0;

	while ((c = wl_getopt(argc, argv, opts)) != -1) {
		switch (c) {
		case OPT_APPS: r = wl_opt_count("--apps", optarg, 0, APPS_MAX, &a.napps); break;
		case OPT_APP_ANON: r = wl_opt_size("--app-anon", optarg, 0, 1ULL << 40, 1, &a.app_anon); break;
		case OPT_APP_FILE: r = wl_opt_size("--app-file", optarg, 0, 1ULL << 40, 1, &a.app_file); break;
		case OPT_FG_ANON: r = wl_opt_size("--fg-anon", optarg, 0, 1ULL << 40, 1, &a.fg_anon); break;
		case OPT_SOURCE: {
			size_t k;
			for (k = 0; k < sizeof src_names / sizeof src_names[0]; k++)
				if (!strcmp(optarg, src_names[k]))
					break;
			if (k == sizeof src_names / sizeof src_names[0])
				return wl_opt_error("--source", optarg, "not one of fixed-rate, busy-beaver, "
						    "swapless-fill, stream-read");
			a.src = (enum src)k;
			break;
		}
		case OPT_RATE: r = wl_opt_rate("--rate", optarg, &a.rate); break;
		case OPT_CHUNK: r = wl_opt_size("--chunk", optarg, 1, 1ULL << 30, 1, &a.chunk); break;
		case OPT_LIMIT: r = wl_opt_size("--limit", optarg, 1, UINT64_MAX, 1, &a.limit); break;
		case OPT_HOLD: r = wl_opt_duration("--hold", optarg, &a.hold); break;
		case OPT_FILE: a.file = optarg; break;
		case OPT_SIZE: r = wl_opt_size("--size", optarg, 1, UINT64_MAX, 0, &a.size); break;
		case OPT_FILL: r = wl_opt_size("--fill", optarg, 1, UINT64_MAX, 0, &a.fill); break;
		case OPT_PASSES: r = wl_opt_count("--passes", optarg, 1, 1000, &a.passes); break;
		case 'h': return WL_PARSE_HELP;
		default: return PNB_EXIT_USAGE;
		}
		if (r)
			return PNB_EXIT_USAGE;
	}
	int need_file = a.app_file || a.src == SRC_SWAPLESS_FILL || a.src == SRC_STREAM_READ;
	if (need_file && !a.file)
		return wl_opt_error("--file", NULL, a.app_file ? "required with --app-file" :
				    "required by this --source");
	*ap = a;
	return 0;
}

static int check(int argc, char **argv)
{
	struct apps a;
	return parse(argc, argv, &a);
}

static int apps_main(int argc, char **argv)
{
	struct apps a;
	const char *what = "";
	int r = parse(argc, argv, &a);

	if (r == WL_PARSE_HELP) {
		wl_help(&workload_apps);
		return PNB_EXIT_OK;
	}
	if (r)
		return r;
	if (a.file) {
		r = wl_file_prepare(a.file, a.size, &what);
		if (r) {
			pnb_err("%s: %s: %s", a.file, what, strerror(-r));
			return PNB_EXIT_FAIL;
		}
		struct stat st;
		if (a.app_file && (stat(a.file, &st) || (uint64_t)st.st_size < a.napps * a.app_file))
			return wl_opt_error("--app-file", a.file, "the file is smaller than apps x app-file");
	}

	/* A killed background app must not linger as a zombie holding its
	 * pid: nobody waits for it here. */
	struct sigaction sa = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT };
	sigaction(SIGCHLD, &sa, NULL);

	wl_phase("apps");
	if ((r = start_apps(&a))) {
		if (r != -ECHILD)
			pnb_err("starting the background apps: %s", strerror(-r));
		return PNB_EXIT_FAIL;
	}
	if ((r = set_adj(0))) {
		pnb_err("foreground: cannot set oom_score_adj 0: %s", strerror(-r));
		return PNB_EXIT_FAIL;
	}
	if ((r = pnb_hog_touch(a.fg_anon, NULL))) {
		pnb_err("foreground: allocating %llu bytes: %s", (unsigned long long)a.fg_anon, strerror(-r));
		return PNB_EXIT_FAIL;
	}
	wl_app(getpid(), 0, "foreground", a.fg_anon, 0);

	r = run_source(&a, &what);
	if (r) {
		pnb_err("foreground %s (%s): %s", what, src_names[a.src], strerror(-r));
		return PNB_EXIT_FAIL;
	}
	wl_hold(a.hold);
	/* How many background apps are still there: a check on the killer's
	 * and the kernel's accounting, from the apps' side. */
	uint64_t alive = 0;
	for (unsigned i = 0; i < a.napps; i++)
		alive += kill(a.pid[i], 0) == 0;
	wl_progress("apps_alive", alive);
	wl_phase("done");
	return PNB_EXIT_OK;
}

const struct workload workload_apps = {
	.name = "apps",
	.check = check,
	.summary = "background apps at adj 900..100 and a foreground one under a pressure source",
	.usage =
	"  --apps N          background apps, adj 900, 800, ... (0-9, default 6)\n"
	"  --app-anon SIZE   anonymous memory per background app (default 16M)\n"
	"  --app-file SIZE   file pages per background app, mapped from --file (default 0)\n"
	"  --fg-anon SIZE    anonymous memory of the foreground app (default 8M)\n"
	"  --source S        fixed-rate | busy-beaver | swapless-fill | stream-read\n"
	"                    (default fixed-rate; stream-read: no kill is the right answer)\n"
	"  --rate RATE       fixed-rate and swapless-fill allocation rate (default 10M/s)\n"
	"  --chunk SIZE      bytes per allocation, whole pages (default 1M)\n"
	"  --limit SIZE      what the source allocates before it holds (default 120M)\n"
	"  --hold DURATION   how long the foreground holds after the source, then exits 0 (default 3s)\n"
	"  --file PATH       data file (stream-read, swapless-fill, --app-file)\n"
	"  --size SIZE       first create/extend the file to SIZE bytes of fixed data\n"
	"  --fill SIZE       swapless-fill: read only the first SIZE bytes (default: all)\n"
	"  --passes N        stream-read passes over the file (default 1)\n",
	.main = apps_main,
};
