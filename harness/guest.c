/* The guest backend: boot one run in QEMU, let its events stream out on the
 * second serial port as they happen, and classify how it ended.  A guest
 * that OOMs, panics or hangs loses nothing it already wrote: QEMU writes each
 * byte the guest sends to the file at once. */
#include "guest.h"
#include "cli.h"
#include "clock.h"
#include "log.h"
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Boot and poweroff under TCG take a few seconds; a slow CI machine more. */
#define BOOT_ALLOWANCE_S 90

static int have_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static int concat(const char *a, const char *b, const char *out, char *err, size_t len)
{
	const char *in[2] = { a, b };
	char buf[1 << 16];
	int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (o < 0) {
		snprintf(err, len, "cannot create %s: %s", out, strerror(errno));
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		int fd = open(in[i], O_RDONLY | O_CLOEXEC);
		ssize_t n;
		if (fd < 0) {
			snprintf(err, len, "cannot read %s: %s", in[i], strerror(errno));
			close(o);
			return -1;
		}
		while ((n = read(fd, buf, sizeof buf)) > 0)
			if (write(o, buf, (size_t)n) != n) {
				snprintf(err, len, "writing %s: %s", out, strerror(errno));
				close(fd);
				close(o);
				return -1;
			}
		close(fd);
	}
	return close(o);
}

/* The last lines of the console, for a panic's reason. */
static void console_tail(const char *text, int lines, char *out, size_t len)
{
	const char *p = text + strlen(text);
	int n = 0;

	while (p > text && n <= lines) {
		p--;
		if (*p == '\n')
			n++;
	}
	snprintf(out, len, "%s", p == text ? p : p + 1);
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

int guest_run(const struct kernel_image *k, const struct scenario *s, unsigned rep,
	      const char *dir, const char *fault, struct run_result *res)
{
	static struct record_args args;
	struct record_where where = {
		.recorder = "/bin/pnbench-record", .workload = "/bin/pnbench-workload",
		.out = NULL, .memcg_flag = "--memcg-v1", .memcg_dir = "/sys/fs/cgroup/memory/pnbench",
		.domain = "system", .data = "/data/data.bin", .kernel = k->name,
	};
	struct guest_shape shape = {
		.memory = s->memory, .cpus = s->cpus, .maxcpus = s->maxcpus, .data_size = s->data_size,
		.bound_ns = s->duration_ns, .cmdline = s->cmdline,
	};

	memset(res, 0, sizeof *res);
	if (record_args_build(s, rep, &where, &args)) {
		snprintf(res->status, sizeof res->status, "broken");
		snprintf(res->reason, sizeof res->reason, "the recorder's command line is too long");
		return -1;
	}
	return guest_exec(k, (const char *const *)args.argv, &shape, dir, fault, res);
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
#define FAIL(st, ...) do { snprintf(res->status, sizeof res->status, "%s", st); \
	snprintf(res->reason, sizeof res->reason, __VA_ARGS__); return -1; } while (0)

	if (image_initramfs(k, base, sizeof base, err, sizeof err))
		FAIL("broken", "%s", err);
	if (s->data_size && image_data_disk(s->data_size, disk, sizeof disk, err, sizeof err))
		FAIL("broken", "%s", err);

	char fault_line[128];
	const char *env[3] = { "memory_hierarchy=v1", NULL, NULL };
	if (fault) {
		snprintf(fault_line, sizeof fault_line, "fault=%s", fault);
		env[1] = fault_line;
	}
	snprintf(runcpio, sizeof runcpio, "%s/run.cpio", dir);
	snprintf(initrd, sizeof initrd, "%s/initrd.cpio", dir);
	if (image_run_archive_env(runcpio, prog_argv, env, err, sizeof err))
		FAIL("broken", "%s", err);
	if (concat(base, runcpio, initrd, err, sizeof err))
		FAIL("broken", "%s", err);
	unlink(runcpio);

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
	 * very slow under TCG with several CPUs. */
	snprintf(append, sizeof append, "console=ttyS0 loglevel=1 panic=-1 lpj=4000000 %s%s",
		 disk[0] ? "pnbench.disk=1 " : "", s->cmdline ? s->cmdline : "");
	snprintf(drive, sizeof drive, "file=%s,if=virtio,format=raw,readonly=on", disk);

	const char *argv[40];
	int n = 0;
	argv[n++] = "qemu-system-x86_64";
	argv[n++] = "-accel";
	argv[n++] = have_kvm() ? "kvm" : "tcg";
	argv[n++] = "-machine"; argv[n++] = "q35";
	argv[n++] = "-nodefaults"; argv[n++] = "-no-user-config";
	argv[n++] = "-display"; argv[n++] = "none";
	argv[n++] = "-monitor"; argv[n++] = "none";
	argv[n++] = "-no-reboot";
	argv[n++] = "-m"; argv[n++] = mem;
	argv[n++] = "-smp"; argv[n++] = cpus;
	argv[n++] = "-kernel"; argv[n++] = k->bzimage;
	argv[n++] = "-initrd"; argv[n++] = initrd;
	argv[n++] = "-append"; argv[n++] = append;
	argv[n++] = "-serial"; argv[n++] = serial0;
	argv[n++] = "-serial"; argv[n++] = serial1;
	if (disk[0]) {
		argv[n++] = "-drive";
		argv[n++] = drive;
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
	uint64_t deadline = t0 + s->bound_ns + BOOT_ALLOWANCE_S * NS_PER_S;
	int st = 0, timed_out = 0;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (pnb_mono_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			timed_out = 1;
			break;
		}
		usleep(20000);
	}
	res->wall_s = (pnb_mono_ns() - t0) / 1e9;
	res->recorder_exit = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	unlink(initrd);

	char *con = slurp(console);
	struct events_summary sum;
	events_summarize(events, &sum);
	const char *c = con ? con : "";
	char tail[400];
	console_tail(c, 8, tail, sizeof tail);
	int reached = strstr(c, "pnbench-init: reached init") != NULL;
	const char *ex = strstr(c, "pnbench-init: recorder exited ");
	int rec_exit = ex ? atoi(ex + strlen("pnbench-init: recorder exited ")) : -1;

	if (strstr(c, "Kernel panic") || strstr(c, "kernel BUG") || strstr(c, "BUG: ")) {
		snprintf(res->status, sizeof res->status, "panic");
		snprintf(res->reason, sizeof res->reason, "guest kernel panic; console tail: %s", tail);
	} else if (timed_out) {
		snprintf(res->status, sizeof res->status, reached ? "hang" : "no_init");
		snprintf(res->reason, sizeof res->reason, "%s within %.0f s (the run's bound + %d s); "
			 "QEMU killed; console tail: %s", reached ? "guest did not power off" :
			 "kernel did not reach init", res->wall_s, BOOT_ALLOWANCE_S, tail);
	} else if (!reached) {
		snprintf(res->status, sizeof res->status, "no_init");
		snprintf(res->reason, sizeof res->reason, "kernel did not reach init (QEMU exit %d); "
			 "console tail: %s", res->recorder_exit, tail);
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
