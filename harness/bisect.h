/* pnbench bisect: what the driver (cmd_bisect.c) and a step (bisect_step.c)
 * share.  The driver checks the question, runs the good and bad revisions
 * and hands over to git bisect run; every step is this program again,
 * reading the configuration the driver wrote. */
#ifndef PNB_BISECT_H
#define PNB_BISECT_H

#include <limits.h>
#include <stdio.h>

/* What a step answers.  0 / 1..127 / 125 are git bisect run's good, bad
 * and skip; above 127 aborts the bisect. */
enum {
	STEP_GOOD = 0,
	STEP_BAD = 1,
	STEP_NOROW = 3,		/* --check only: the selector names no row */
	STEP_SKIP = 125,
	STEP_ABORT = 128,
};

struct bisect_conf {
	char tree[PATH_MAX];
	char scenario[PATH_MAX];
	char metric[256];	/* "" = compare's own verdict */
	char out[PATH_MAX];
	char builder[2048], runner[2048];
	char good[64], bad[64];
	unsigned reps, jobs;
	double alpha, threshold;
};

/* The driver's log (NULL in a step: the driver copies step output in). */
extern FILE *bisect_log;

/* "bisect: ..." on stderr and into the log. */
void bisect_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* argv with stdout and stderr copied live to stderr and the log; cwd and
 * env (extra "NAME=value") may be NULL.  Exit status as pnb_spawn. */
int bisect_run_teed(char *const argv[], const char *cwd, const char *const *env);
/* git -C tree ARGS... (NULL-terminated): stdout into out, trailing newline
 * cut; on failure out holds git's last line of stderr.  Exit status. */
int bisect_git(const char *tree, char *out, size_t len, ...);
/* "1a2b3c4d5e6f mm: subject" of a revision, for progress lines. */
void bisect_describe(const char *tree, const char *rev, char *out, size_t len);
/* This program's path, for git bisect run and the runs. */
const char *bisect_self_exe(char *buf, size_t len);

int bisect_conf_write(const char *path, const struct bisect_conf *c);
int bisect_conf_read(const char *path, struct bisect_conf *c, char *err, size_t errlen);
/* <out>/sets/<sha12>: the result set of a revision. */
void bisect_set_dir(const struct bisect_conf *c, const char *sha, char *out, size_t len);

/* 1 when --metric names a compare rule (not one row). */
int bisect_selector_is_rule(const char *sel);

/* One revision, the checked-out one (--step).  baseline: the good
 * revision, run to make the set every other is compared with; check: the
 * bad one, which must regress.  A STEP_* code. */
int bisect_step(const char *confpath, int baseline, int check);

#endif
