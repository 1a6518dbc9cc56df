/* The guest backend: boot one run in QEMU, let its events stream out on the
 * second serial port as they happen, and classify how it ended.  A guest
 * that OOMs, panics or hangs loses nothing it already wrote: QEMU writes each
 * byte the guest sends to the file at once. */
#include "guest.h"
#include "cli.h"
#include "clock.h"
#include "fsutil.h"
#include "procfs.h"
#include "log.h"
#include "parse.h"
#include "run.h"
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <linux/kvm.h>
#include <jansson.h>
#include <unistd.h>

/* Boot and poweroff under TCG take a few seconds; a slow CI machine more. */
#define BOOT_ALLOWANCE_S 90

/* The accelerator probe: a kernel under working KVM prints its banner in
 * well under a second; TCG, on a busy 2-core host, in a few. */
#define KVM_PROBE_TIMEOUT_S 5

/* The recorder's SCHED_FIFO priority in guests (below the kernel's own
 * threaded-IRQ handlers at 50). */
#define GUEST_RECORDER_FIFO 40

/* How far the guest's clock may drift from the host's over a run before the
 * run is discarded: TCG's timing jitter stays well inside this. */
#define CLOCK_RATIO_MAX 1.25

/* Boots run again after a panic before the workload started. */
#define BOOT_PANIC_RETRIES 2
#define TCG_PROBE_TIMEOUT_S 30

/* How long a kernel may take to reach /init before the run is called
 * "no_init": a Debian kernel under TCG needs ~2 s, so a minute is a kernel
 * that will not boot, not a slow one.  PNBENCH_BOOT_TIMEOUT=DURATION (e.g. 20s). */
static uint64_t boot_timeout_ns(void)
{
	const char *e = getenv("PNBENCH_BOOT_TIMEOUT");
	uint64_t ns;

	if (e && *e && !pnb_parse_duration_ns(e, &ns) && ns)
		return ns;
	return 60 * NS_PER_S;
}

/* What a guest may take beyond its program's own bound (boot, flushing,
 * poweroff) before the watchdog calls it a hang.  PNBENCH_GUEST_SLACK. */
static uint64_t guest_slack_ns(void)
{
	const char *e = getenv("PNBENCH_GUEST_SLACK");
	uint64_t ns;

	if (e && *e && !pnb_parse_duration_ns(e, &ns) && ns)
		return ns;
	return BOOT_ALLOWANCE_S * NS_PER_S;
}

/* A guest under working KVM or TCG prints its banner in well under a
 * second; 15 s without it is a guest that will never speak.
 * PNBENCH_FIRST_OUTPUT_TIMEOUT=DURATION. */
static uint64_t first_output_timeout_ns(void)
{
	const char *e = getenv("PNBENCH_FIRST_OUTPUT_TIMEOUT");
	uint64_t ns;

	if (e && *e && !pnb_parse_duration_ns(e, &ns) && ns)
		return ns;
	return 15 * NS_PER_S;
}

/* Whether the last `tail` bytes of path (the whole file when 0) hold s. */
static int file_has(const char *path, size_t tail, const char *s)
{
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC), found = 0;
	off_t off = 0;
	ssize_t n;

	if (fd < 0)
		return 0;
	if (tail) {
		off_t size = lseek(fd, 0, SEEK_END);
		off = size > (off_t)tail ? size - (off_t)tail : 0;
	}
	while ((n = pread(fd, buf, sizeof buf - 1, off)) > 0 && !found) {
		buf[n] = 0;
		found = memmem(buf, (size_t)n, s, strlen(s)) != NULL;
		/* Step back by the needle so one split across reads is seen. */
		off += n > (ssize_t)strlen(s) ? n - (ssize_t)strlen(s) : n;
		if (n < (ssize_t)sizeof buf - 1)
			break;
	}
	close(fd);
	return found;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	FILE *m = open_memstream(&buf, &len);
	char chunk[8192];
	size_t n;
	while (m && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	if (m)
		fclose(m);
	return buf;
}

/* QEMU's last words in dir/qemu.log ("qemu: ..."), or "" when it said nothing. */
static void qemu_log_line(const char *dir, char *out, size_t len)
{
	char path[PNB_PATH + 16];
	snprintf(path, sizeof path, "%s/qemu.log", dir);
	char *q = slurp(path);
	out[0] = 0;
	if (!q)
		return;
	size_t n = strlen(q);
	while (n && (q[n - 1] == '\n' || q[n - 1] == '\r'))
		q[--n] = 0;
	char *line = strrchr(q, '\n');
	line = line ? line + 1 : q;
	if (*line)
		snprintf(out, len, "qemu: %.*s", (int)(len > 8 ? len - 8 : 0), line);
	free(q);
}

/* Boot bzimage under accel with no initramfs, its console on a file, and
 * wait up to timeout_ns for the banner ("Linux version"), which the kernel
 * prints once it runs in protected mode.  On the hosts this guards against,
 * /dev/kvm opens and a tiny KVM_RUN program works, yet a Linux guest stops
 * after the real-mode setup: only a real kernel tells (docs/guests.md). */
int guest_probe_boot(const char *accel, const char *bzimage, uint64_t timeout_ns,
		     double *seconds, char *why, size_t len)
{
	char dir[] = "/tmp/pnbench-probe-XXXXXX", con[64], qlog[64], serial[80];
	int ok = 0;

	*seconds = -1;
	if (!mkdtemp(dir)) {
		snprintf(why, len, "cannot create a temporary directory: %s", strerror(errno));
		return -1;
	}
	snprintf(con, sizeof con, "%s/console", dir);
	snprintf(qlog, sizeof qlog, "%s/qemu.log", dir);
	snprintf(serial, sizeof serial, "file:%s", con);
	const char *argv[] = {
		"qemu-system-x86_64", "-accel", accel, "-machine", "q35", "-nodefaults",
		"-no-user-config", "-display", "none", "-monitor", "none", "-no-reboot",
		"-m", "128", "-kernel", bzimage, "-serial", serial,
		"-append", "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 lpj=4000000", NULL
	};
	uint64_t t0 = pnb_mono_ns();
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		rmdir(dir);
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		int lg = open(qlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		dup2(null, 0);
		dup2(lg >= 0 ? lg : null, 1);
		dup2(lg >= 0 ? lg : null, 2);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int st = 0, exited = 0;
	for (;;) {
		if (file_has(con, 0, "Linux version")) {
			ok = 1;
			break;
		}
		if (waitpid(pid, &st, WNOHANG) == pid) {
			exited = 1;
			ok = file_has(con, 0, "Linux version");
			break;
		}
		if (pnb_mono_ns() - t0 > timeout_ns)
			break;
		usleep(10000);
	}
	double el = (pnb_mono_ns() - t0) / 1e9;
	if (!exited) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	if (ok) {
		*seconds = el;
		snprintf(why, len, "%s printed the kernel banner %.2f s after start", accel, el);
	} else {
		/* QEMU's own first complaint says most, e.g. "host doesn't support
		 * requested feature: CPUID.01H:ECX.pni". */
		char *q = slurp(qlog), first[200] = "";
		if (q && *q)
			snprintf(first, sizeof first, "; qemu: %.*s", (int)strcspn(q, "\n"), q);
		free(q);
		if (exited)
			snprintf(why, len, "%s: QEMU exited (status %d) without the kernel banner%s",
				 accel, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), first);
		else
			snprintf(why, len, "%s: no kernel banner within %.0f s%s", accel,
				 timeout_ns / 1e9, first);
	}
	unlink(con);
	unlink(qlog);
	rmdir(dir);
	return ok ? 0 : -1;
}

static int host_boot_id(char *id, size_t len)
{
	char buf[64];
	if (pnb_read_file("", "/proc/sys/kernel/random/boot_id", buf, sizeof buf) <= 0)
		return -1;
	buf[strcspn(buf, "\n")] = 0;
	snprintf(id, len, "%s", buf);
	return strspn(buf, "0123456789abcdef-") == strlen(buf) && *buf ? 0 : -1;
}

/* The verdict holds until the host reboots: keyed on boot_id. */
static void accel_cache_path(const char *boot_id, char *path, size_t len)
{
	snprintf(path, len, "%s/accel/%s", pnb_cache_dir(), boot_id);
}

static int accel_cache_read(const char *path, struct guest_accel *a)
{
	char buf[512];
	if (pnb_read_file("", path, buf, sizeof buf) <= 0)
		return -1;
	buf[strcspn(buf, "\n")] = 0;
	char *tab = strchr(buf, '\t');
	if (!tab)
		return -1;
	*tab = 0;
	if (strcmp(buf, "kvm") && strcmp(buf, "tcg"))
		return -1;
	snprintf(a->kind, sizeof a->kind, "%s", buf);
	snprintf(a->why, sizeof a->why, "%s (verdict cached for this host boot in %s)", tab + 1,
		 path);
	return 0;
}

static void accel_cache_write(const char *path, const struct guest_accel *a)
{
	char tmp[PNB_PATH + 16], dir[PNB_PATH];
	snprintf(dir, sizeof dir, "%s/accel", pnb_cache_dir());
	if (pnb_mkdir_all(dir, 0755))
		return;
	snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid());
	FILE *f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "%s\t%s\n", a->kind, a->why);
	if (fclose(f) || rename(tmp, path))
		unlink(tmp);
}

/* KVM only when a real kernel boots under it (guest_probe_boot); TCG
 * otherwise.  PNBENCH_ACCEL replaces the choice with any -accel value;
 * PNBENCH_KVM_DEVICE names the device to try (tests point it elsewhere,
 * and then the host's cached verdict is neither read nor written). */
int guest_accel_decide(const char *bzimage, struct guest_accel *a)
{
	const char *e = getenv("PNBENCH_ACCEL"), *dev = getenv("PNBENCH_KVM_DEVICE");
	char boot_id[64], cache[PNB_PATH + 64], why[300];
	int use_cache = !(dev && *dev);
	double secs;

	memset(a, 0, sizeof *a);
	if (e && *e) {
		snprintf(a->kind, sizeof a->kind, "%s", strncmp(e, "kvm", 3) ? "tcg" : "kvm");
		snprintf(a->accel, sizeof a->accel, "%s", e);
		snprintf(a->why, sizeof a->why, "set by PNBENCH_ACCEL=%s", e);
		a->overridden = 1;
		return 0;
	}
	if (!use_cache || host_boot_id(boot_id, sizeof boot_id))
		use_cache = 0;
	else
		accel_cache_path(boot_id, cache, sizeof cache);
	if (use_cache && !accel_cache_read(cache, a))
		return 0;
	if (!dev || !*dev)
		dev = "/dev/kvm";

	int fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(a->kind, sizeof a->kind, "tcg");
		snprintf(a->why, sizeof a->why, "%s: %s", dev, strerror(errno));
		goto out;
	}
	int api = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (api != KVM_API_VERSION) {
		snprintf(a->kind, sizeof a->kind, "tcg");
		snprintf(a->why, sizeof a->why, "%s opens but is not a KVM device (KVM_GET_API_VERSION: %s)",
			 dev, api < 0 ? strerror(errno) : "unexpected version");
		goto out;
	}
	if (!bzimage) {
		/* Nothing to probe with: say so, decide nothing for the cache. */
		snprintf(a->kind, sizeof a->kind, "kvm");
		snprintf(a->why, sizeof a->why, "%s opens (not probed: no kernel given)", dev);
		return 0;
	}
	pnb_err("guests: checking that KVM boots a kernel (once per host boot)");
	if (!guest_probe_boot("kvm", bzimage, KVM_PROBE_TIMEOUT_S * NS_PER_S, &secs, why, sizeof why)) {
		snprintf(a->kind, sizeof a->kind, "kvm");
		snprintf(a->why, sizeof a->why, "probe boot under KVM: %s", why);
		goto out;
	}
	/* KVM failed; a kernel that also fails under TCG is the kernel's fault,
	 * not KVM's, and must not decide for every later run. */
	char tcg_why[300];
	if (guest_probe_boot("tcg", bzimage, TCG_PROBE_TIMEOUT_S * NS_PER_S, &secs, tcg_why,
			     sizeof tcg_why)) {
		snprintf(a->kind, sizeof a->kind, "tcg");
		snprintf(a->why, sizeof a->why, "this kernel boots neither under KVM (%s) nor TCG (%s); "
			 "verdict not cached", why, tcg_why);
		return 0;
	}
	snprintf(a->kind, sizeof a->kind, "tcg");
	snprintf(a->why, sizeof a->why, "%s opens but does not run guests (probe boot %s); TCG does",
		 dev, why);
	pnb_err("guests: KVM does not run guests here, using TCG: %s", a->why);
out:
	if (use_cache)
		accel_cache_write(cache, a);
	return 0;
}

/* The -accel value for one guest: the host's verdict, with TCG's threading
 * from the scenario (single by default: multi-threaded TCG lets one vCPU
 * run code another is patching, which oopses 6.12 in int3; docs/guests.md). */
const char *guest_accel_arg(const struct guest_accel *a, const char *tcg_thread,
			    char *buf, size_t len)
{
	if (a->overridden || !strcmp(a->kind, "kvm"))
		snprintf(buf, len, "%s", a->overridden ? a->accel : "kvm");
	else
		snprintf(buf, len, "tcg,thread=%s", tcg_thread && *tcg_thread ? tcg_thread : "single");
	return buf;
}

/* Scenario cells start from a saved machine unless PNBENCH_SNAPSHOT=0. */
int guest_snapshots_wanted(void)
{
	const char *e = getenv("PNBENCH_SNAPSHOT");
	return !(e && !strcmp(e, "0"));
}

/* QEMU's version line, once per process. */
const char *guest_qemu_version(void)
{
	static char v[128];
	if (!v[0]) {
		FILE *p = popen("qemu-system-x86_64 --version 2>/dev/null", "re");
		if (!p || !fgets(v, sizeof v, p))
			snprintf(v, sizeof v, "unknown");
		if (p)
			pclose(p);
		v[strcspn(v, "\n")] = 0;
	}
	return v;
}

/* Once per process: every guest of a run shares the host's verdict. */
const struct guest_accel *guest_accel(const char *bzimage)
{
	static struct guest_accel a;
	static int decided;
	if (!decided || (!a.overridden && !strcmp(a.kind, "kvm") && strstr(a.why, "not probed") && bzimage)) {
		guest_accel_decide(bzimage, &a);
		decided = 1;
	}
	return &a;
}


/* The last lines of the console, for a panic's reason. */
/* The last lines of the console, folded into one line (" | " between them)
 * so a run's reason stays one line in logs and meta.json. */
static void console_tail(const char *text, int lines, char *out, size_t len)
{
	const char *p = text + strlen(text);
	size_t o = 0;
	int n = 0;

	while (p > text && (p[-1] == '\n' || p[-1] == '\r'))
		p--;
	const char *end = p;
	while (p > text && n < lines) {
		p--;
		if (*p == '\n')
			n++;
	}
	if (*p == '\n')
		p++;
	for (; p < end && o + 4 < len; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n') {
			o += (size_t)snprintf(out + o, len - o, " | ");
			continue;
		}
		out[o++] = (unsigned char)*p < 0x20 ? ' ' : *p;
	}
	out[o < len ? o : len - 1] = 0;
	if (!o)
		snprintf(out, len, "(console empty)");
}

/* The kernel's own words about a panic: the "Kernel panic" line, whole. */
static void panic_line(const char *text, char *out, size_t len)
{
	const char *p = strstr(text, "Kernel panic");
	size_t n;

	if (!p) {
		out[0] = 0;
		return;
	}
	n = strcspn(p, "\r\n");
	snprintf(out, len, "%.*s; ", (int)(n < len ? n : len - 3), p);
}


/* What the kernel's config says about a knob the scenario asks for: 0, or
 * -1 with why when the config is known and lacks it (the cell is then
 * "unsupported" without a boot; /init checks again in the guest, where a
 * kernel without a config file is found out). */
static int knobs_precheck(const struct kernel_image *k, const struct scenario *s, char *why,
			  size_t len)
{
	char *cfg = kernel_config_summary(k);
	json_t *c = cfg ? json_loads(cfg, 0, NULL) : NULL;
	int r = 0;

	free(cfg);
	if (!c)
		return 0;
	const char *zram = json_string_value(json_object_get(c, "CONFIG_ZRAM"));
	const char *lru = json_string_value(json_object_get(c, "CONFIG_LRU_GEN"));
	if (s->swap == SCN_SWAP_ZRAM && !(zram && (!strcmp(zram, "y") || !strcmp(zram, "m")))) {
		snprintf(why, len, "swap=zram: kernel %s has no zram (CONFIG_ZRAM %s in %s)", k->name,
			 zram && strcmp(zram, "n") ? zram : "unset", k->config);
		r = -1;
	} else if ((s->lru_gen != SCN_LRU_GEN_KERNEL || s->min_ttl_ms >= 0) &&
		   !(lru && !strcmp(lru, "y"))) {
		snprintf(why, len, "%s: kernel %s has no MGLRU (CONFIG_LRU_GEN %s in %s)",
			 s->lru_gen != SCN_LRU_GEN_KERNEL ? "lru_gen" : "min_ttl_ms", k->name,
			 lru && strcmp(lru, "n") ? lru : "unset", k->config);
		r = -1;
	}
	json_decref(c);
	return r;
}

int guest_run(const struct kernel_image *k, const struct scenario *s, unsigned rep,
	      const char *dir, const char *fault, struct run_result *res)
{
	static struct record_args args;
	int v2 = s->hierarchy == SCN_HIER_V2;
	uint64_t mmax = scenario_size_bytes(s, &s->memory_max);
	uint64_t mhigh = scenario_size_bytes(s, &s->memory_high);
	struct record_where where = {
		.recorder = "/bin/pnbench-record", .workload = "/bin/pnbench-workload",
		.out = NULL, .memcg_flag = v2 ? "--memcg-v2" : "--memcg-v1",
		.memcg_dir = v2 ? "/sys/fs/cgroup/unified/pnbench" : "/sys/fs/cgroup/memory/pnbench",
		/* With memory.max on a cgroup2 boot the workload's memory
		 * domain is its cgroup: the available-memory probes read the
		 * memcg's view, as natively; otherwise the whole machine. */
		.domain = v2 && mmax ? "memcg-v2" : "system",
		.data = "/data/data.bin", .kernel = k->name,
		/* As cyclictest: the thing that timestamps must run the moment its
		 * fd is ready, not after the workload's time slice.  In a guest
		 * the recorder is the only real-time task; RT throttling still
		 * leaves the rest 5% of each second. */
		.fifo_prio = GUEST_RECORDER_FIFO,
	};
	struct guest_shape shape = {
		.memory = s->memory, .cpus = s->cpus, .maxcpus = s->maxcpus, .data_size = s->data_size,
		.bound_ns = s->duration_ns, .cmdline = s->cmdline, .tcg_thread = scenario_tcg_name(s->tcg),
		.snapshot = guest_snapshots_wanted(), .memory_hierarchy = v2 ? "v2" : "v1",
	};
	char first_reason[sizeof res->reason] = "", shape_env[512], run_env[128] = "";
	int retries = 0, r;

	memset(res, 0, sizeof *res);
	snprintf(res->hierarchy, sizeof res->hierarchy, "%s", shape.memory_hierarchy);
	{
		char why[400];
		if (knobs_precheck(k, s, why, sizeof why)) {
			snprintf(res->status, sizeof res->status, "unsupported");
			snprintf(res->reason, sizeof res->reason, "unsupported: %s", why);
			res->boot_s = res->poweroff_s = -1;
			return -1;
		}
	}
	/* The shape's lines past the hierarchy, which guest_exec adds itself. */
	if (scenario_shape_env(s, shape.memory_hierarchy, shape_env, sizeof shape_env)) {
		snprintf(res->status, sizeof res->status, "broken");
		snprintf(res->reason, sizeof res->reason, "the machine knobs are too long for run.env");
		return -1;
	}
	shape.shape_env = strchr(shape_env, '\n') + 1;
	if (v2 && mmax)
		snprintf(run_env, sizeof run_env, "memory_max=%llu\n", (unsigned long long)mmax);
	if (v2 && mhigh)
		snprintf(run_env + strlen(run_env), sizeof run_env - strlen(run_env),
			 "memory_high=%llu\n", (unsigned long long)mhigh);
	shape.run_env = run_env;
	if (record_args_build(s, rep, &where, &args)) {
		snprintf(res->status, sizeof res->status, "broken");
		snprintf(res->reason, sizeof res->reason, "the recorder's command line is too long");
		return -1;
	}
	/* A panic before the workload's first byte is the emulator's fault (the
	 * boot-time code-patching race of TCG), not the kernel's answer to the
	 * workload: boot again, a bounded number of times, and say so.  A panic
	 * after the workload started is a result and is kept. */
	for (;;) {
		r = guest_exec(k, (const char *const *)args.argv, &shape, dir, fault, res);
		if (r == 0 || strcmp(res->status, "panic") || res->boot_s >= 0 ||
		    retries >= BOOT_PANIC_RETRIES || fault)
			break;
		if (!retries)
			snprintf(first_reason, sizeof first_reason, "%s", res->reason);
		retries++;
		char kept[PNB_PATH + 48], con[PNB_PATH + 16];
		snprintf(con, sizeof con, "%s/console.log", dir);
		snprintf(kept, sizeof kept, "%s/console.retry%d.log", dir, retries);
		rename(con, kept);
	}
	res->boot_retries = retries;
	snprintf(res->retry_reason, sizeof res->retry_reason, "%s", first_reason);
	return r;
}

int guest_exec(const struct kernel_image *k, const char *const *prog_argv,
	       const struct guest_shape *s, const char *dir, const char *fault,
	       struct run_result *res)
{
	char err[1024], base[PNB_PATH], disk[PNB_PATH] = "", runcpio[PNB_PATH + 32];
	char initrd[PNB_PATH + 32], console[PNB_PATH + 32], events[PNB_PATH + 32];
	char mem[32], cpus[48], append[2048], serial0[PNB_PATH + 64], serial1[PNB_PATH + 64];
	char drive[PNB_PATH + 64];
	uint64_t t0;

	memset(res, 0, sizeof *res);
	res->boot_s = res->poweroff_s = -1;
#define FAIL(st, ...) do { snprintf(res->status, sizeof res->status, "%s", st); \
	snprintf(res->reason, sizeof res->reason, __VA_ARGS__); return -1; } while (0)

	if (image_initramfs(k, base, sizeof base, err, sizeof err))
		FAIL("broken", "%s", err);
	if (s->data_size && image_data_disk(s->data_size, disk, sizeof disk, err, sizeof err))
		FAIL("broken", "%s", err);

	const char *hier = s->memory_hierarchy ? s->memory_hierarchy : "v1";
	if (strcmp(hier, "v1") && strcmp(hier, "v2"))
		FAIL("broken", "memory hierarchy '%s': not v1 or v2", hier);
	snprintf(console, sizeof console, "%s/console.log", dir);
	snprintf(events, sizeof events, "%s/events.jsonl", dir);
	snprintf(serial0, sizeof serial0, "file:%s", console);
	snprintf(serial1, sizeof serial1, "file:%s", events);
	snprintf(mem, sizeof mem, "%llu", (unsigned long long)(s->memory >> 20));
	/* maxcpus > cpus: more possible than online CPUs, which per-possible-CPU
	 * loops in the kernel (e.g. /proc/pressure) pay for. */
	if (s->maxcpus > s->cpus)
		snprintf(cpus, sizeof cpus, "cpus=%u,maxcpus=%u", s->cpus, s->maxcpus);
	else
		snprintf(cpus, sizeof cpus, "%u", s->cpus);
	/* loglevel=1 keeps printk off the emulated UART while measuring (an
	 * OOM report through it distorts timing); panic=-1 + -no-reboot turns
	 * a panic into a QEMU exit; lpj= skips delay-loop calibration that is
	 * very slow under TCG with several CPUs.  tsc=reliable: under TCG the
	 * clocksource watchdog calls the TSC unstable, and the sched_clock
	 * static-key flip that follows, patched while another vCPU runs that
	 * code, oopsed 6.12 guests in int3 in 6 of 43 boots; with it, 1 of 71
	 * (docs/guests.md).  It also makes clock_gettime a vDSO TSC read
	 * instead of an HPET MMIO exit, so timestamps cost less.
	 * earlyprintk: the kernel's banner ("Linux version") reaches the console
	 * as soon as it runs in protected mode, so a guest that never gets that
	 * far (a broken KVM stops after the real-mode "Probing EDD") fails in
	 * seconds, not at the init deadline.  The early log it prints until the
	 * real console takes over costs a few tens of ms; loglevel=1 still
	 * keeps the kernel's messages off the console after that. */
	snprintf(append, sizeof append, "console=ttyS0 earlyprintk=serial,ttyS0 loglevel=1 "
		 "panic=-1 lpj=4000000 tsc=reliable %s%s",
		 disk[0] ? "pnbench.disk=1 " : "", s->cmdline ? s->cmdline : "");
	snprintf(drive, sizeof drive, "file=%s,if=virtio,format=raw,readonly=on", disk);

	/* The machine: what a snapshot must match, and all a cold boot adds
	 * to is its initramfs and serial ports. */
	const char *machine[40];
	int m = 0;
	machine[m++] = "qemu-system-x86_64";
	const struct guest_accel *acc = guest_accel(k->bzimage);
	machine[m++] = "-accel";
	machine[m++] = guest_accel_arg(acc, s->tcg_thread, res->accel, sizeof res->accel);
	snprintf(res->accel_why, sizeof res->accel_why, "%s", acc->why);
	machine[m++] = "-machine"; machine[m++] = "q35";
	machine[m++] = "-nodefaults"; machine[m++] = "-no-user-config";
	machine[m++] = "-display"; machine[m++] = "none";
	machine[m++] = "-monitor"; machine[m++] = "none";
	machine[m++] = "-no-reboot";
	machine[m++] = "-m"; machine[m++] = mem;
	machine[m++] = "-smp"; machine[m++] = cpus;
	machine[m++] = "-kernel"; machine[m++] = k->bzimage;
	machine[m++] = "-append"; machine[m++] = append;
	if (disk[0]) {
		machine[m++] = "-drive";
		machine[m++] = drive;
	}
	machine[m] = NULL;

	/* Restore from the saved machine when the shape allows; boot cold when
	 * it cannot be made, saying why in meta.json. */
	struct snapshot snap;
	char sock[108] = "", runsock[108] = "", runblock[PNB_PATH + 32], s2[2 * PNB_PATH + 64], incoming[PNB_PATH + 64];
	char qmp_arg[160];
	int restore = 0;
	snprintf(res->start, sizeof res->start, "cold");
	char shape_env[1024];
	if (snprintf(shape_env, sizeof shape_env, "memory_hierarchy=%s\n%s", hier,
		     s->shape_env ? s->shape_env : "") >= (int)sizeof shape_env)
		FAIL("broken", "the machine's run.env lines are longer than %zu bytes", sizeof shape_env);
	snprintf(res->hierarchy, sizeof res->hierarchy, "%s", hier);
	if (s->snapshot) {
		char why[512];
		snprintf(runblock, sizeof runblock, "%s/run.block", dir);
		if (!snapshot_prepare(machine, base, shape_env, guest_qemu_version(), boot_timeout_ns(),
				      &snap, why, sizeof why) &&
		    !snapshot_run_block(runblock, prog_argv, fault, s->run_env, why, sizeof why)) {
			restore = 1;
			snprintf(res->start, sizeof res->start, "snapshot");
			snprintf(res->snapshot_key, sizeof res->snapshot_key, "%s", snap.key);
			snprintf(res->start_why, sizeof res->start_why, "%s", snap.made ?
				 "snapshot made for this cell's shape" : "snapshot from the cache");
			snprintf(runsock, sizeof runsock, "/tmp/pnbench-run-%d.in", (int)getpid());
			unlink(runsock);
			snprintf(s2, sizeof s2, "socket,id=pnbrun,path=%s,server=on,wait=off", runsock);
			snprintf(incoming, sizeof incoming, "exec:cat '%s'", snap.mig);
			snprintf(sock, sizeof sock, "/tmp/pnbench-run-%d.qmp", (int)getpid());
			snprintf(qmp_arg, sizeof qmp_arg, "unix:%s,server=on,wait=off", sock);
			unlink(sock);
		} else {
			snprintf(res->start_why, sizeof res->start_why, "no snapshot: %s", why);
		}
	}
	if (!restore) {
		char fault_line[128], envtext[2048];
		const char *env[40];
		int ne = 0;
		/* Shape lines, then the run's: the order a restored /init
		 * would see them in. */
		snprintf(envtext, sizeof envtext, "%s%s", shape_env, s->run_env ? s->run_env : "");
		for (char *sv = NULL, *l = strtok_r(envtext, "\n", &sv); l && ne < 36;
		     l = strtok_r(NULL, "\n", &sv))
			env[ne++] = l;
		if (fault) {
			snprintf(fault_line, sizeof fault_line, "fault=%s", fault);
			env[ne++] = fault_line;
		}
		env[ne] = NULL;
		snprintf(runcpio, sizeof runcpio, "%s/run.cpio", dir);
		snprintf(initrd, sizeof initrd, "%s/initrd.cpio", dir);
		if (image_run_archive_env(runcpio, prog_argv, env, err, sizeof err))
			FAIL("broken", "%s", err);
		if (pnb_concat_files(base, runcpio, initrd, err, sizeof err))
			FAIL("broken", "%s", err);
		unlink(runcpio);
	}

	const char *argv[64];
	int n = 0;
	for (int i = 0; machine[i]; i++)
		argv[n++] = machine[i];
	argv[n++] = "-initrd"; argv[n++] = restore ? snap.initrd : initrd;
	argv[n++] = "-serial"; argv[n++] = serial0;
	argv[n++] = "-serial"; argv[n++] = serial1;
	if (restore) {
		argv[n++] = "-chardev"; argv[n++] = s2;
		argv[n++] = "-serial"; argv[n++] = "chardev:pnbrun";
		argv[n++] = "-qmp"; argv[n++] = qmp_arg;
		argv[n++] = "-incoming"; argv[n++] = incoming;
	}
	argv[n] = NULL;

	/* The exact command, so a run can be reproduced by hand. */
	char qcmd[PNB_PATH + 32];
	snprintf(qcmd, sizeof qcmd, "%s/qemu.cmd", dir);
	FILE *qf = fopen(qcmd, "we");
	if (qf) {
		for (int i = 0; i < n; i++)
			fprintf(qf, "'%s'%s", argv[i], i + 1 < n ? " " : "\n");
		fclose(qf);
	}

	t0 = pnb_mono_ns();
	pid_t pid = fork();
	if (pid < 0)
		FAIL("broken", "fork: %s", strerror(errno));
	if (pid == 0) {
		/* QEMU dies with the cell worker, however it dies. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		char qlog[PNB_PATH + 32];
		snprintf(qlog, sizeof qlog, "%s/qemu.log", dir);
		int lg = open(qlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		dup2(null, 0);
		dup2(lg >= 0 ? lg : null, 1);
		dup2(lg >= 0 ? lg : null, 2);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int run_fd = -1;
	if (restore) {
		char why[400];
		int rr = snapshot_resume(sock, runsock, runblock, t0 + 30 * NS_PER_S, &run_fd, why,
					 sizeof why);
		unlink(sock);
		unlink(runsock);
		if (rr) {
			if (run_fd >= 0)
				close(run_fd);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			FAIL("broken", "restoring snapshot %s failed: %s (PNBENCH_SNAPSHOT=0 boots cold)",
			     snap.key, why);
		}
	}
	uint64_t deadline = t0 + s->bound_ns + guest_slack_ns();
	uint64_t init_deadline = t0 + boot_timeout_ns();
	uint64_t first_deadline = t0 + first_output_timeout_ns();
	uint64_t t_started = 0, t_end = 0;
	int st = 0, timed_out = 0, reached_init = 0, spoke = 0, silent = 0;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		uint64_t now = pnb_mono_ns();
		if (w == pid)
			break;
		if (!reached_init)
			reached_init = file_has(console, 0, "pnbench-init: reached init");
		if (!spoke)
			spoke = reached_init || file_has(console, 0, "Linux version");
		if (!t_started && file_has(events, 0, "\"what\":\"workload_start\""))
			t_started = now;
		if (t_started && !t_end && file_has(events, 4096, "\"type\":\"end\""))
			t_end = now;
		if (now > deadline || (!reached_init && now > init_deadline) ||
		    (!spoke && now > first_deadline)) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			timed_out = 1;
			silent = !spoke;
			break;
		}
		usleep(20000);
	}
	uint64_t t_exit = pnb_mono_ns();
	res->boot_s = t_started ? (t_started - t0) / 1e9 : -1;
	res->poweroff_s = t_end && !timed_out ? (t_exit - t_end) / 1e9 : -1;
	res->wall_s = (pnb_mono_ns() - t0) / 1e9;
	res->recorder_exit = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (!restore)
		unlink(initrd);
	if (run_fd >= 0)
		close(run_fd);

	char *con = slurp(console);
	struct events_summary sum;
	events_summarize(events, &sum);
	const char *c = con ? con : "";
	/* The guest's own clock against the host's over the same stretch (the
	 * watchdog saw both lines within its 20 ms poll): under TCG a TSC
	 * calibrated on a busy host can run several times too fast. */
	double clock_ratio = 0;
	if (t_started && t_end && sum.start_t_ns >= 0 && sum.has_end && t_end - t_started > 2 * NS_PER_S)
		clock_ratio = (double)(sum.end_t_ns - sum.start_t_ns) / (double)(t_end - t_started);
	res->clock_ratio = clock_ratio;
	char tail[400], qemu_says[300] = "";
	console_tail(c, 4, tail, sizeof tail);
	qemu_log_line(dir, qemu_says, sizeof qemu_says);
	int reached = strstr(c, "pnbench-init: reached init") != NULL;
	/* The knobs as /init read them back: the last report wins (a restored
	 * cell's console holds only its own). */
	{
		size_t o = 0;
		res->knobs[0] = 0;
		for (const char *p = c; (p = strstr(p, "pnbench-init: knob ")); ) {
			char name[64], req[256], eff[512];
			p += strlen("pnbench-init: knob ");
			const char *eol = p + strcspn(p, "\r\n");
			if (sscanf(p, "%63s requested=%255s effective=%511[^\r\n]", name, req, eff) == 3 &&
			    o + strlen(name) + strlen(req) + strlen(eff) + 4 < sizeof res->knobs)
				o += (size_t)snprintf(res->knobs + o, sizeof res->knobs - o, "%s\t%s\t%s\n",
						      name, req, eff);
			p = eol;
		}
	}
	const char *unsup = strstr(c, "pnbench-init: unsupported: ");
	const char *ex = strstr(c, "pnbench-init: recorder exited ");
	int rec_exit = ex ? atoi(ex + strlen("pnbench-init: recorder exited ")) : -1;

	if (strstr(c, "Kernel panic") || strstr(c, "kernel BUG") || strstr(c, "BUG: ")) {
		snprintf(res->status, sizeof res->status, "panic");
		char why[200];
		panic_line(c, why, sizeof why);
		snprintf(res->reason, sizeof res->reason, "guest kernel panic: %sconsole tail: %s",
			 why, tail);
	} else if (unsup && !timed_out) {
		snprintf(res->status, sizeof res->status, "unsupported");
		snprintf(res->reason, sizeof res->reason, "unsupported: %.*s",
			 (int)strcspn(unsup + 27, "\r\n"), unsup + 27);
	} else if (timed_out) {
		snprintf(res->status, sizeof res->status, reached ? "hang" : "no_init");
		if (silent)
			snprintf(res->reason, sizeof res->reason, "guest printed no kernel banner within %.0f s "
				 "of start (accel %s; PNBENCH_FIRST_OUTPUT_TIMEOUT); QEMU killed%s%s",
				 first_output_timeout_ns() / 1e9, res->accel, qemu_says[0] ? "; " : "",
				 qemu_says);
		else if (reached)
			snprintf(res->reason, sizeof res->reason, "guest did not power off within "
				 "%.0f s (the run's bound + %.0f s); QEMU killed; console tail: %s",
				 res->wall_s, guest_slack_ns() / 1e9, tail);
		else
			snprintf(res->reason, sizeof res->reason, "kernel did not reach init within "
				 "%.0f s (PNBENCH_BOOT_TIMEOUT); QEMU killed; console tail: %s",
				 res->wall_s, tail);
	} else if (!reached) {
		snprintf(res->status, sizeof res->status, "no_init");
		snprintf(res->reason, sizeof res->reason, "kernel did not reach init (QEMU %s %d)%s%s; "
			 "console tail: %s", WIFSIGNALED(st) ? "killed by signal" : "exit",
			 WIFSIGNALED(st) ? WTERMSIG(st) : res->recorder_exit,
			 qemu_says[0] ? "; " : "", qemu_says, tail);
	} else if (sum.workload_exit_code == PNB_EXIT_USAGE) {
		snprintf(res->status, sizeof res->status, "broken");
		snprintf(res->reason, sizeof res->reason, "workload usage error: %s",
			 sum.workload_message[0] ? sum.workload_message : "(no message; see console.log)");
	} else if (clock_ratio > 0 && (clock_ratio > CLOCK_RATIO_MAX || clock_ratio < 1 / CLOCK_RATIO_MAX)) {
		/* Every time in the run is off by this factor: not a result.  A
		 * snapshot keeps its boot's TSC calibration for every restore, so
		 * the bad one goes and the next cell makes a new one. */
		snprintf(res->status, sizeof res->status, "broken");
		snprintf(res->reason, sizeof res->reason, "the guest's clock ran %.2f times the host's "
			 "from the workload's start to the end record (%.2f s against %.2f s): its TSC "
			 "was miscalibrated at boot%s", clock_ratio,
			 (sum.end_t_ns - sum.start_t_ns) / 1e9, (t_end - t_started) / 1e9,
			 restore ? "; snapshot removed" : "");
		if (restore) {
			unlink(snap.mig);
			unlink(snap.initrd);
		}
	} else if (!sum.has_end || rec_exit != 0) {
		snprintf(res->status, sizeof res->status, "broken");
		snprintf(res->reason, sizeof res->reason, "%s (recorder exit %d); console tail: %s",
			 sum.has_end ? "recorder failed" : "no end record", rec_exit, tail);
	} else {
		res->complete = 1;
		snprintf(res->status, sizeof res->status, "ok");
	}
	free(con);
	return res->complete ? 0 : -1;
#undef FAIL
}
