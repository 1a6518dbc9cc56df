/* Parsing the kernel's OOM-kill report out of /dev/kmsg records, apart from
 * the probe so it can be tested on captured lines. */
#ifndef PNB_OOM_H
#define PNB_OOM_H

#include <stddef.h>
#include <stdint.h>

/* One /dev/kmsg record: "pri,seq,ts_us,flags[,more...];text\n[ KEY=val\n...]". */
struct oom_kmsg_rec {
	unsigned facility, level;	/* pri >> 3, pri & 7; the kernel is facility 0 */
	uint64_t seq;
	uint64_t ts_us;			/* printk clock (local_clock), not CLOCK_MONOTONIC */
	const char *text;		/* into the record; not NUL-terminated */
	size_t text_len;		/* up to the first newline */
};

/* The victim as the kernel prints it (mm/oom_kill.c):
 *   4.19+: "<message>: Killed process PID (COMM) total-vm:NkB, anon-rss:NkB,
 *           file-rss:NkB, shmem-rss:NkB, UID:N pgtables:NkB oom_score_adj:N"
 *   <4.19: "Killed process PID (COMM) total-vm:NkB, anon-rss:NkB, file-rss:NkB[, shmem-rss:NkB]"
 * with message "Out of memory", "Memory cgroup out of memory" or
 * "Out of memory (oom_kill_allocating_task)".  Fields missing on a kernel
 * are -1. */
struct oom_kill_info {
	int pid;
	char comm[64];			/* as printed: kmsg escapes odd bytes as \xNN */
	char message[64];		/* "" on kernels before 4.19 */
	int memcg;			/* message says "Memory cgroup out of memory" */
	int64_t total_vm_kb, anon_rss_kb, file_rss_kb, shmem_rss_kb, pgtables_kb;
	int64_t uid;
	int64_t oom_score_adj;
	int has_oom_score_adj;		/* it can be negative, so -1 is no marker */
};

/* Split a record.  0, or -EINVAL when rec is not in the kmsg format. */
int oom_kmsg_split(const char *rec, size_t len, struct oom_kmsg_rec *r);
/* 1 when text (len bytes) reports an OOM kill and *k is filled, 0 when it
 * is some other message (including the 4.x "Kill process ... or sacrifice
 * child" line, which names the candidate before a child may be picked). */
int oom_parse_kill(const char *text, size_t len, struct oom_kill_info *k);
/* Both in one: 1 = a kernel (facility 0) OOM-kill record, 0 = another
 * record (user-written kmsg lines are never taken as kills), -EINVAL =
 * malformed record. */
int oom_parse_kmsg(const char *rec, size_t len, struct oom_kmsg_rec *r,
		   struct oom_kill_info *k);

#endif
