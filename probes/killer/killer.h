/* pnbench-killer's parts: killer.c (options, arming, the event loop),
 * killer_act.c (choosing and killing or paging out an app) and
 * killer_external.c (earlyoom as the killer).  killer.c's head comment
 * says what the program does. */
#ifndef PNB_KILLER_H
#define PNB_KILLER_H

#include "probe.h"
#include "clock.h"
#include "jsonl.h"
#include "log.h"
#include "memview.h"
#include "parse.h"
#include "procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sysnum.h"
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define EXIT_WAIT_MS 5000	/* a victim not gone by then is reported as such */
#define MAX_IOV 1024		/* UIO_MAXIOV: process_madvise's limit per call */
#define MAX_APPS 64

enum action { ACT_KILL, ACT_RECLAIM };

struct killer {
	struct probe probe;
	struct probe_env env;
	struct jsonl out;		/* the run's events */
	struct jsonl probe_out;		/* the probe's own lines, into pipe[1] */
	int pipe[2];
	char pbuf[65536];
	size_t plen;
	enum action action;
	pid_t pgid;
	int epfd, sigfd, no_mlock;
	int have_mrelease, have_madvise;
	char mrelease_why[96], madvise_why[96];
	struct pnb_memview_src view;
	int kills, reclaims, notifications;
	pid_t reclaimed[MAX_APPS];
	int nreclaimed;
	/* External killer (earlyoom): its pid and its output. */
	int external;
	pid_t ext_pid;
	int ext_fd;
	char ebuf[8192];
	size_t elen;
};

struct cand {
	pid_t pid;
	int adj;
	long long rss_kb;
	char comm[32];
};

static inline uint64_t now_ns(void) { return pnb_mono_ns(); }

/* Process pid of our group: its adj, RSS and comm.  0, or -1 when it is
 * not a candidate (gone, another group, a zombie, no memory). */
int killer_candidate(struct killer *k, pid_t pid, struct cand *c);
json_t *killer_line(struct killer *k, const char *what, uint64_t t);
void killer_jset_rel(struct killer *k, json_t *o, const char *key, uint64_t t);
long long killer_avail_kb(struct killer *k);
int killer_read_small(const char *path, char *buf, size_t len);
void killer_do_kill(struct killer *k, json_t *note, uint64_t t_note);
void killer_do_reclaim(struct killer *k, json_t *note, uint64_t t_note);
void killer_drain(struct killer *k, uint64_t t_note);
int killer_start_external(struct killer *k, char *why, size_t len);
void killer_external_line(struct killer *k, char *line, uint64_t t);
int killer_read_external(struct killer *k, uint64_t t);

#endif
