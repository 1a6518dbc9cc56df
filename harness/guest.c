/* The guest backend: boot one run in QEMU, let its events stream out on the
 * second serial port as they happen, and classify how it ended.  A guest
 * that OOMs, panics or hangs loses nothing it already wrote: QEMU writes each
 * byte the guest sends to the file at once. */
#include "guest.h"
#include "spawn.h"
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

/* The accelerator probe: a kernel under working KVM prints its banner in
 * well under a second; TCG, on a busy 2-core host, in a few. */
#define KVM_PROBE_TIMEOUT_S 5

/* The recorder's SCHED_FIFO priority in guests (below the kernel's own
 * threaded-IRQ handlers at 50). */
#define GUEST_RECORDER_FIFO 40

/* Boots run again after a panic before the workload started. */
#define BOOT_PANIC_RETRIES 2
#define TCG_PROBE_TIMEOUT_S 30

/* Whether the last `tail` bytes of path (the whole file when 0) hold s. */
int guest_file_has(const char *path, size_t tail, const char *s)
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

char *guest_slurp(const char *path)
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
	pid_t pid = pnb_spawn_child((char *const *)argv, qlog, qlog);
	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror((int)-pid));
		rmdir(dir);
		return -1;
	}
	int st = 0, exited = 0;
	for (;;) {
		if (guest_file_has(con, 0, "Linux version")) {
			ok = 1;
			break;
		}
		if (waitpid(pid, &st, WNOHANG) == pid) {
			exited = 1;
			ok = guest_file_has(con, 0, "Linux version");
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
		char *q = guest_slurp(qlog), first[200] = "";
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
		char *const argv[] = { "qemu-system-x86_64", "--version", NULL };
		if (pnb_spawn(argv, &(struct pnb_spawn){ .out = v, .outlen = sizeof v,
							 .timeout_s = 30 }) || !v[0])
			snprintf(v, sizeof v, "unknown");
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
