/* The guest backend's one cell: build QEMU's command (cold boot or a
 * snapshot restore), run it under a watchdog, and classify how it ended
 * from the console and the events (harness/guest.c has the rest). */
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

/* Boot and poweroff under TCG take a few seconds; a slow CI machine more. */
#define BOOT_ALLOWANCE_S 90

/* How far the guest's clock may drift from the host's over a run before the
 * run is discarded: TCG's timing jitter stays well inside this. */
#define CLOCK_RATIO_MAX 1.25

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

/* QEMU's last words in dir/qemu.log ("qemu: ..."), or "" when it said nothing. */
static void qemu_log_line(const char *dir, char *out, size_t len)
{
	char path[PNB_PATH + 16];
	snprintf(path, sizeof path, "%s/qemu.log", dir);
	char *q = guest_slurp(path);
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

/* Everything one cell's QEMU command is made of. */
struct qemu_cell {
	const char *hier;
	char base[PNB_PATH], disk[PNB_PATH], runcpio[PNB_PATH + 32], initrd[PNB_PATH + 32];
	char console[PNB_PATH + 32], events[PNB_PATH + 32];
	char mem[32], cpus[48], append[2048], serial0[PNB_PATH + 64], serial1[PNB_PATH + 64];
	char drive[PNB_PATH + 64];
	/* The machine: what a snapshot must match, and all a cold boot adds
	 * to is its initramfs and serial ports. */
	const char *machine[40];
	/* A restore: the saved machine and the sockets that resume it. */
	struct snapshot snap;
	int restore;
	char sock[108], runsock[108], runblock[PNB_PATH + 32], s2[2 * PNB_PATH + 64];
	char incoming[PNB_PATH + 64], qmp_arg[160];
	char shape_env[1024];
	const char *argv[64];
};

/* What the watchdog saw of QEMU. */
struct qemu_watch {
	pid_t pid;
	uint64_t t0, t_started, t_end;
	int st, timed_out, silent, run_fd;
};

#define FAIL(st, ...) do { snprintf(res->status, sizeof res->status, "%s", st); \
	snprintf(res->reason, sizeof res->reason, __VA_ARGS__); return -1; } while (0)

/* Paths, kernel command line and the machine's QEMU options. */
static int cell_machine(const struct kernel_image *k, const struct guest_shape *s,
			const char *dir, struct qemu_cell *q, struct run_result *res)
{
	char err[1024];

	if (image_initramfs(k, q->base, sizeof q->base, err, sizeof err))
		FAIL("broken", "%s", err);
	if (s->data_size && image_data_disk(s->data_size, q->disk, sizeof q->disk, err, sizeof err))
		FAIL("broken", "%s", err);

	q->hier = s->memory_hierarchy ? s->memory_hierarchy : "v1";
	if (strcmp(q->hier, "v1") && strcmp(q->hier, "v2"))
		FAIL("broken", "memory hierarchy '%s': not v1 or v2", q->hier);
	snprintf(q->console, sizeof q->console, "%s/console.log", dir);
	snprintf(q->events, sizeof q->events, "%s/events.jsonl", dir);
	snprintf(q->serial0, sizeof q->serial0, "file:%s", q->console);
	snprintf(q->serial1, sizeof q->serial1, "file:%s", q->events);
	snprintf(q->mem, sizeof q->mem, "%llu", (unsigned long long)(s->memory >> 20));
	/* maxcpus > cpus: more possible than online CPUs, which per-possible-CPU
	 * loops in the kernel (e.g. /proc/pressure) pay for. */
	if (s->maxcpus > s->cpus)
		snprintf(q->cpus, sizeof q->cpus, "cpus=%u,maxcpus=%u", s->cpus, s->maxcpus);
	else
		snprintf(q->cpus, sizeof q->cpus, "%u", s->cpus);
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
	snprintf(q->append, sizeof q->append, "console=ttyS0 earlyprintk=serial,ttyS0 loglevel=1 "
		 "panic=-1 lpj=4000000 tsc=reliable %s%s",
		 q->disk[0] ? "pnbench.disk=1 " : "", s->cmdline ? s->cmdline : "");
	snprintf(q->drive, sizeof q->drive, "file=%s,if=virtio,format=raw,readonly=on", q->disk);

	/* The machine: what a snapshot must match, and all a cold boot adds
	 * to is its initramfs and serial ports. */
	int m = 0;
	q->machine[m++] = "qemu-system-x86_64";
	const struct guest_accel *acc = guest_accel(k->bzimage);
	q->machine[m++] = "-accel";
	q->machine[m++] = guest_accel_arg(acc, s->tcg_thread, res->accel, sizeof res->accel);
	snprintf(res->accel_why, sizeof res->accel_why, "%s", acc->why);
	q->machine[m++] = "-machine"; q->machine[m++] = "q35";
	q->machine[m++] = "-nodefaults"; q->machine[m++] = "-no-user-config";
	q->machine[m++] = "-display"; q->machine[m++] = "none";
	q->machine[m++] = "-monitor"; q->machine[m++] = "none";
	q->machine[m++] = "-no-reboot";
	q->machine[m++] = "-m"; q->machine[m++] = q->mem;
	q->machine[m++] = "-smp"; q->machine[m++] = q->cpus;
	q->machine[m++] = "-kernel"; q->machine[m++] = k->bzimage;
	q->machine[m++] = "-append"; q->machine[m++] = q->append;
	if (q->disk[0]) {
		q->machine[m++] = "-drive";
		q->machine[m++] = q->drive;
	}
	q->machine[m] = NULL;
	return 0;
}

/* A restore from the saved machine when the shape allows, else a cold
 * boot's initramfs with the run in it. */
static int cell_start(const char *const *prog_argv, const struct guest_shape *s, const char *dir,
		      const char *fault, struct qemu_cell *q, struct run_result *res)
{
	char err[1024];

	/* Restore from the saved machine when the shape allows; boot cold when
	 * it cannot be made, saying why in meta.json. */
	snprintf(res->start, sizeof res->start, "cold");
	if (snprintf(q->shape_env, sizeof q->shape_env, "memory_hierarchy=%s\n%s", q->hier,
		     s->shape_env ? s->shape_env : "") >= (int)sizeof q->shape_env)
		FAIL("broken", "the machine's run.env lines are longer than %zu bytes", sizeof q->shape_env);
	snprintf(res->hierarchy, sizeof res->hierarchy, "%s", q->hier);
	if (s->snapshot) {
		char why[512];
		snprintf(q->runblock, sizeof q->runblock, "%s/run.block", dir);
		if (!snapshot_prepare(q->machine, q->base, q->shape_env, guest_qemu_version(), boot_timeout_ns(),
				      &q->snap, why, sizeof why) &&
		    !snapshot_run_block(q->runblock, prog_argv, fault, s->run_env, why, sizeof why)) {
			q->restore = 1;
			snprintf(res->start, sizeof res->start, "snapshot");
			snprintf(res->snapshot_key, sizeof res->snapshot_key, "%s", q->snap.key);
			snprintf(res->start_why, sizeof res->start_why, "%s", q->snap.made ?
				 "snapshot made for this cell's shape" : "snapshot from the cache");
			snprintf(q->runsock, sizeof q->runsock, "/tmp/pnbench-run-%d.in", (int)getpid());
			unlink(q->runsock);
			snprintf(q->s2, sizeof q->s2, "socket,id=pnbrun,path=%s,server=on,wait=off", q->runsock);
			snprintf(q->incoming, sizeof q->incoming, "exec:cat '%s'", q->snap.mig);
			snprintf(q->sock, sizeof q->sock, "/tmp/pnbench-run-%d.qmp", (int)getpid());
			snprintf(q->qmp_arg, sizeof q->qmp_arg, "unix:%s,server=on,wait=off", q->sock);
			unlink(q->sock);
		} else {
			snprintf(res->start_why, sizeof res->start_why, "no snapshot: %s", why);
		}
	}
	if (!q->restore) {
		char fault_line[128], envtext[2048];
		const char *env[40];
		int ne = 0;
		/* Shape lines, then the run's: the order a restored /init
		 * would see them in. */
		snprintf(envtext, sizeof envtext, "%s%s", q->shape_env, s->run_env ? s->run_env : "");
		for (char *sv = NULL, *l = strtok_r(envtext, "\n", &sv); l && ne < 36;
		     l = strtok_r(NULL, "\n", &sv))
			env[ne++] = l;
		if (fault) {
			snprintf(fault_line, sizeof fault_line, "fault=%s", fault);
			env[ne++] = fault_line;
		}
		env[ne] = NULL;
		snprintf(q->runcpio, sizeof q->runcpio, "%s/run.cpio", dir);
		snprintf(q->initrd, sizeof q->initrd, "%s/initrd.cpio", dir);
		if (image_run_archive_env(q->runcpio, prog_argv, env, err, sizeof err))
			FAIL("broken", "%s", err);
		if (pnb_concat_files(q->base, q->runcpio, q->initrd, err, sizeof err))
			FAIL("broken", "%s", err);
		unlink(q->runcpio);
	}
	return 0;
}

/* QEMU's argv, and the exact command in dir/qemu.cmd. */
static void cell_argv(struct qemu_cell *q, const char *dir)
{
	int n = 0;
	for (int i = 0; q->machine[i]; i++)
		q->argv[n++] = q->machine[i];
	q->argv[n++] = "-initrd"; q->argv[n++] = q->restore ? q->snap.initrd : q->initrd;
	q->argv[n++] = "-serial"; q->argv[n++] = q->serial0;
	q->argv[n++] = "-serial"; q->argv[n++] = q->serial1;
	if (q->restore) {
		q->argv[n++] = "-chardev"; q->argv[n++] = q->s2;
		q->argv[n++] = "-serial"; q->argv[n++] = "chardev:pnbrun";
		q->argv[n++] = "-qmp"; q->argv[n++] = q->qmp_arg;
		q->argv[n++] = "-incoming"; q->argv[n++] = q->incoming;
	}
	q->argv[n] = NULL;

	/* The exact command, so a run can be reproduced by hand. */
	char qcmd[PNB_PATH + 32];
	snprintf(qcmd, sizeof qcmd, "%s/qemu.cmd", dir);
	FILE *qf = fopen(qcmd, "we");
	if (qf) {
		for (int i = 0; i < n; i++)
			fprintf(qf, "'%s'%s", q->argv[i], i + 1 < n ? " " : "\n");
		fclose(qf);
	}
}

/* Start QEMU (and resume a restore), then watch the console and events
 * until it exits or a deadline passes. */
static int cell_launch(struct qemu_cell *q, const struct guest_shape *s, const char *dir,
		       struct qemu_watch *w, struct run_result *res)
{
	w->t0 = pnb_mono_ns();
	char qlog[PNB_PATH + 32];
	snprintf(qlog, sizeof qlog, "%s/qemu.log", dir);
	/* QEMU dies with the cell worker, however it dies. */
	w->pid = pnb_spawn_child((char *const *)q->argv, qlog, qlog);
	if (w->pid < 0)
		FAIL("broken", "fork: %s", strerror((int)-w->pid));
	w->run_fd = -1;
	if (q->restore) {
		char why[400];
		int rr = snapshot_resume(q->sock, q->runsock, q->runblock, w->t0 + 30 * NS_PER_S, &w->run_fd, why,
					 sizeof why);
		unlink(q->sock);
		unlink(q->runsock);
		if (rr) {
			if (w->run_fd >= 0)
				close(w->run_fd);
			kill(w->pid, SIGKILL);
			waitpid(w->pid, NULL, 0);
			FAIL("broken", "restoring snapshot %s failed: %s (PNBENCH_SNAPSHOT=0 boots cold)",
			     q->snap.key, why);
		}
	}
	uint64_t deadline = w->t0 + s->bound_ns + guest_slack_ns();
	uint64_t init_deadline = w->t0 + boot_timeout_ns();
	uint64_t first_deadline = w->t0 + first_output_timeout_ns();
	int reached_init = 0, spoke = 0;
	for (;;) {
		pid_t wp = waitpid(w->pid, &w->st, WNOHANG);
		uint64_t now = pnb_mono_ns();
		if (wp == w->pid)
			break;
		if (!reached_init)
			reached_init = guest_file_has(q->console, 0, "pnbench-init: reached init");
		if (!spoke)
			spoke = reached_init || guest_file_has(q->console, 0, "Linux version");
		if (!w->t_started && guest_file_has(q->events, 0, "\"what\":\"workload_start\""))
			w->t_started = now;
		if (w->t_started && !w->t_end && guest_file_has(q->events, 4096, "\"type\":\"end\""))
			w->t_end = now;
		if (now > deadline || (!reached_init && now > init_deadline) ||
		    (!spoke && now > first_deadline)) {
			kill(w->pid, SIGKILL);
			waitpid(w->pid, &w->st, 0);
			w->timed_out = 1;
			w->silent = !spoke;
			break;
		}
		usleep(20000);
	}
	uint64_t t_exit = pnb_mono_ns();
	res->boot_s = w->t_started ? (w->t_started - w->t0) / 1e9 : -1;
	res->poweroff_s = w->t_end && !w->timed_out ? (t_exit - w->t_end) / 1e9 : -1;
	res->wall_s = (pnb_mono_ns() - w->t0) / 1e9;
	res->recorder_exit = WIFEXITED(w->st) ? WEXITSTATUS(w->st) : 128 + WTERMSIG(w->st);
	if (!q->restore)
		unlink(q->initrd);
	if (w->run_fd >= 0)
		close(w->run_fd);
	return 0;
}

/* The knobs as /init read them back: the last report wins (a restored
 * cell's console holds only its own). */
static void cell_knobs(const char *c, struct run_result *res)
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

/* How the cell ended, from the console, the events and the watchdog. */
static int cell_classify(const struct qemu_cell *q, const struct qemu_watch *w, const char *dir,
			 struct run_result *res)
{
	char *con = guest_slurp(q->console);
	struct events_summary sum;
	events_summarize(q->events, &sum);
	const char *c = con ? con : "";
	/* The guest's own clock against the host's over the same stretch (the
	 * watchdog saw both lines within its 20 ms poll): under TCG a TSC
	 * calibrated on a busy host can run several times too fast. */
	double clock_ratio = 0;
	if (w->t_started && w->t_end && sum.start_t_ns >= 0 && sum.has_end && w->t_end - w->t_started > 2 * NS_PER_S)
		clock_ratio = (double)(sum.end_t_ns - sum.start_t_ns) / (double)(w->t_end - w->t_started);
	res->clock_ratio = clock_ratio;
	char tail[400], qemu_says[300] = "";
	console_tail(c, 4, tail, sizeof tail);
	qemu_log_line(dir, qemu_says, sizeof qemu_says);
	int reached = strstr(c, "pnbench-init: reached init") != NULL;
	cell_knobs(c, res);
	const char *unsup = strstr(c, "pnbench-init: unsupported: ");
	const char *ex = strstr(c, "pnbench-init: recorder exited ");
	int rec_exit = ex ? atoi(ex + strlen("pnbench-init: recorder exited ")) : -1;

	if (strstr(c, "Kernel panic") || strstr(c, "kernel BUG") || strstr(c, "BUG: ")) {
		snprintf(res->status, sizeof res->status, "panic");
		char why[200];
		panic_line(c, why, sizeof why);
		snprintf(res->reason, sizeof res->reason, "guest kernel panic: %sconsole tail: %s",
			 why, tail);
	} else if (unsup && !w->timed_out) {
		snprintf(res->status, sizeof res->status, "unsupported");
		snprintf(res->reason, sizeof res->reason, "unsupported: %.*s",
			 (int)strcspn(unsup + 27, "\r\n"), unsup + 27);
	} else if (w->timed_out) {
		snprintf(res->status, sizeof res->status, reached ? "hang" : "no_init");
		if (w->silent)
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
			 "console tail: %s", WIFSIGNALED(w->st) ? "killed by signal" : "exit",
			 WIFSIGNALED(w->st) ? WTERMSIG(w->st) : res->recorder_exit,
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
			 (sum.end_t_ns - sum.start_t_ns) / 1e9, (w->t_end - w->t_started) / 1e9,
			 q->restore ? "; snapshot removed" : "");
		if (q->restore) {
			unlink(q->snap.mig);
			unlink(q->snap.initrd);
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
}

int guest_exec(const struct kernel_image *k, const char *const *prog_argv,
	       const struct guest_shape *s, const char *dir, const char *fault,
	       struct run_result *res)
{
	struct qemu_cell cell = { 0 };
	struct qemu_cell *q = &cell;
	struct qemu_watch w = { .run_fd = -1 };

	memset(res, 0, sizeof *res);
	res->boot_s = res->poweroff_s = -1;
	if (cell_machine(k, s, dir, q, res) || cell_start(prog_argv, s, dir, fault, q, res))
		return -1;
	cell_argv(q, dir);
	if (cell_launch(q, s, dir, &w, res))
		return -1;
	return cell_classify(q, &w, dir, res);
}
#undef FAIL
