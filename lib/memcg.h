/* Memory cgroups for a workload to run in, v1 and cgroup2 alike: create,
 * limit, join, remove.  The one set of helpers the native backend, the
 * conformance suite and the tests use.
 *
 * dir is always a real path (already prefixed with any root).  Which
 * hierarchy dir is on is told by the files the kernel puts there: a
 * cgroup2 directory has cgroup.controllers, a v1 memory cgroup has
 * memory.limit_in_bytes.  All functions return 0 or -errno. */
#ifndef PNB_MEMCG_H
#define PNB_MEMCG_H

#include <stdint.h>
#include <sys/types.h>

/* 1 (v1 memory controller), 2 (cgroup2), or -ENOENT when dir is neither. */
int pnb_memcg_version(const char *dir);

/* mkdir dir as a plain cgroup, with no controller asked for (a PSI
 * trigger needs none).  fresh: an existing dir is removed first (as
 * pnb_memcg_remove without killing); otherwise an existing dir is fine. */
int pnb_cgroup_mkdir(const char *dir, int fresh);

/* pnb_cgroup_mkdir, as a memory cgroup.  On cgroup2 the parent's
 * cgroup.subtree_control gets "+memory" first, and it is -ENODEV (dir
 * removed again, or the parent's errno) when dir still has no memory
 * controller.  fresh: as pnb_cgroup_mkdir (so no charge of
 * an earlier user stays). */
int pnb_memcg_create(const char *dir, int fresh);

/* The hard limit: v1 memory.limit_in_bytes, cgroup2 memory.max. */
int pnb_memcg_set_limit(const char *dir, uint64_t bytes);
/* The limit the kernel holds now (it rounds to pages); "max" reads as
 * UINT64_MAX. */
int pnb_memcg_get_limit(const char *dir, uint64_t *bytes);

/* No swap for the memcg beyond limit: v1 memory.memsw.limit_in_bytes =
 * limit (-ENOENT without swap accounting), cgroup2 memory.swap.max = 0. */
int pnb_memcg_no_swap(const char *dir, uint64_t limit);

/* Move pid (0: the caller) into dir (its cgroup.procs). */
int pnb_memcg_join(const char *dir, pid_t pid);

/* rmdir dir, retrying every interval_ms up to tries times while the kernel
 * refuses (EBUSY: a member just killed leaves a moment later, and a memcg
 * still dropping charges is busy).  kill_members: SIGKILL whatever is in
 * its cgroup.procs before each try.  0 also when dir did not exist; the
 * last errno otherwise (-EBUSY when it never emptied). */
int pnb_memcg_remove(const char *dir, int kill_members, unsigned tries, unsigned interval_ms);

#endif
