/* pnbench-record's parts: recorder.c (options, event loop, end line),
 * recorder_meta.c (header, status lines, self-protection),
 * recorder_probes.c (arming probes, charging their CPU) and
 * recorder_workload.c (the workload, its killer, its pipes). */
#ifndef PNB_RECORDER_H
#define PNB_RECORDER_H

#include "probe.h"
#include "clock.h"
#include "jsonl.h"
#include "log.h"
#include "parse.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include "lava.h"
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <poll.h>
#include <unistd.h>

#define MAX_PROBES 64

/* epoll tags: probes use (index << 16 | fd index); the rest are fixed. */
enum {
	TAG_SIGNAL = 1ULL << 40,
	TAG_PROGRESS,
	TAG_PIDFD,
	TAG_TIMER,
	TAG_STDERR,
};

struct labels { int n; char *kv[32]; };

struct recorder {
	struct jsonl out;
	struct probe_env env;
	struct probe probes[MAX_PROBES];
	int armed[MAX_PROBES];
	/* Per-probe CPU (issue 13): thread CPU time spent in each probe's own
	 * calls, so a mechanism that polls pays for its polling in the report
	 * rather than the harness.  ever_armed keeps a probe dropped mid-run
	 * in the end event: what it cost until then was spent. */
	int ever_armed[MAX_PROBES];
	uint64_t cpu_ns[MAX_PROBES];
	int nprobes;
	int epfd, sigfd, timerfd, progress_fd, pidfd, stderr_fd;
	pid_t child;
	int child_done, child_status;
	uint64_t duration_ns, grace_ns;
	int fifo_prio, no_mlock;
	char **argv;
	struct labels labels;
	const char *end_reason;
	/* The killer (issue 11): pnbench-killer beside the workload. */
	const char *killer_spec, *killer_action;
	pid_t killer_pid;
	char progress_buf[4096];
	size_t progress_len;
	/* The workload's standard error passes through us on its way to ours,
	 * so its last line can be quoted when it fails: a usage error (exit
	 * 2) must reach the host's verdict with the workload's own words. */
	char err_line[512];		/* the line being read */
	size_t err_len;
	char err_last[512];		/* the last complete non-empty line */
};

void rec_header(struct recorder *r);
void rec_event(struct recorder *r, const char *what, const char *detail);
void rec_probe_status(struct recorder *r, struct probe *p, const char *status, const char *reason);
void rec_protect_self(struct recorder *r);
uint64_t rec_thread_cpu_ns(void);
void rec_charge(struct recorder *r, int i, uint64_t t0);
int rec_epoll_add(struct recorder *r, int fd, uint32_t events, uint64_t tag);
void rec_drop_probe(struct recorder *r, int i, const char *why);
void rec_arm_probes(struct recorder *r);
void rec_stop_killer(struct recorder *r);
int rec_start_workload(struct recorder *r);
void rec_read_stderr(struct recorder *r);
void rec_read_progress(struct recorder *r);
void rec_reap(struct recorder *r, const char *source);
void rec_stop_workload(struct recorder *r, const char *reason);

#endif
