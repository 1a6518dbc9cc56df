/* pnbench-init's parts: init.c (the run: ports, the recorder, power off),
 * init_util.c (console lines, files, mounts) and init_machine.c (the
 * machine's set-up and knobs before and after the snapshot point).
 * init.c's head comment describes the program and its inputs. */
#ifndef PNB_INIT_H
#define PNB_INIT_H

#include "parse.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/random.h>
#include <sys/swap.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

#define MAX_ARGS 512
#define DISK_WAIT_NS (5 * 1000000000ULL)

extern int con;		/* the console; the kernel opened it as fds 0-2 */

enum fault_kind { FAULT_NONE, FAULT_PANIC, FAULT_HANG };

struct run_env {
	int memcg_v2;
	enum fault_kind fault;
	uint64_t fault_delay_ns;
	/* Stop after the set-up, where the host saves the machine, and take
	 * the run (env lines and args) from ttyS2 once restored. */
	int snapshot;
	/* Machine knobs, set before the snapshot point (qemu/README.md). */
	uint64_t zram_bytes;		/* 0: no swap */
	char zram_algo[16];		/* "" = the kernel's default */
	int lru_gen;			/* -1 as booted, 0 off, 1 on */
	int64_t min_ttl_ms;		/* -1 as booted */
	/* The workload cgroup's limits (cgroup2 boots), set per run. */
	uint64_t memory_max, memory_high;
	/* Why a knob could not be had: the run is "unsupported", not run. */
	char unsupported[600];
};

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...);
uint64_t mono_ns(void);
__attribute__((noreturn)) void power_off(void);
void must_mount(const char *src, const char *dir, const char *type,
		       unsigned long flags, const char *opts);
ssize_t slurp(const char *path, char *buf, size_t len);
int put(const char *path, const char *s);
void parse_env(struct run_env *env);
void parse_env_line(struct run_env *env, char *line, int lineno);
void credit_seed(void);
int cmdline_has(const char *word);
void mount_cgroups(int v2);
void mount_tracefs(void);
void load_modules(void);
void setup_zram(struct run_env *env);
void setup_lru_gen(struct run_env *env);
void setup_limits(struct run_env *env, const char *cg);
const char *setup_recorder_cg(const struct run_env *env);
void report_knobs(const struct run_env *env, const char *cg);
void mount_data_disk(void);

#endif
