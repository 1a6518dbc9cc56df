/* Finding cgroup hierarchies and arming cgroup v1 memcg events.
 *
 * Mount lookups read root + "/proc/self/mountinfo" (root "" for the live
 * system, a directory of captured files in tests) and return the mount
 * point as mountinfo prints it, without root: callers prefix root when they
 * open files below it, like every other reader here.  All functions return
 * 0 or -errno. */
#ifndef PNB_CGROUPFS_H
#define PNB_CGROUPFS_H

#include <stddef.h>

/* Mount point of the cgroup v1 hierarchy that carries the memory controller
 * (fstype "cgroup" with "memory" among its super options).  -ENOENT when
 * there is none: CONFIG_MEMCG_V1 off, or memory bound to cgroup2. */
int pnb_cgroup_v1_memory_mount(const char *root, char *out, size_t len);

/* Mount point of the cgroup2 hierarchy; -ENOENT when it is not mounted. */
int pnb_cgroup2_mount(const char *root, char *out, size_t len);

/* Is ctrl listed in cgdir/cgroup.controllers (cgdir absolute, without
 * root; NULL or "" means the cgroup2 mount point)?  0 when it is,
 * -ENODEV when the file lists other controllers only, -ENOENT when there is
 * no such file (no cgroup2 there), other -errno when it cannot be read. */
int pnb_cgroup2_has_controller(const char *root, const char *cgdir, const char *ctrl);

/* The v1 memory cgroup directory a vmpressure listener goes on, prefixed
 * with root: memcg_v1 (absolute, without root) unless it is empty or
 * hierarchy_root is set, then the v1 memory hierarchy's mount point.
 * 0, or -errno with a one-line reason in why (-ENOENT: no v1 memory
 * controller). */
int pnb_vmpressure_cgdir(const char *root, const char *memcg_v1, int hierarchy_root,
			 char *out, size_t len, char *why, size_t whylen);

/* Can a listener go on cgdir (root-prefixed, as from pnb_vmpressure_cgdir)?
 * Changes nothing.  0, or -errno with a reason: -EOPNOTSUPP on PREEMPT_RT
 * kernels (root + /sys/kernel/realtime reads 1), -ENOENT when
 * memory.pressure_level is missing. */
int pnb_vmpressure_supported(const char *root, const char *cgdir, char *why, size_t whylen);

/* Register a vmpressure listener on the v1 memory cgroup directory cgdir (a
 * real path: already prefixed with any root).  level_mode is what goes to
 * the kernel after the two fds: "low", "medium", "critical", optionally
 * followed by ",default", ",hierarchy" or ",local" (4.13+ only).
 * On success *efd is a non-blocking, close-on-exec eventfd whose 8-byte
 * counter grows by one per notification; closing it unregisters the
 * listener.  On failure a one-line reason is in why:
 *   -ENOENT      no memory.pressure_level / cgroup.event_control there
 *   -EOPNOTSUPP  the kernel refuses vmpressure (PREEMPT_RT kernels)
 *   -EINVAL      the kernel rejected level_mode (e.g. a mode before 4.13)
 *   other        as the kernel said. */
int pnb_vmpressure_register(const char *cgdir, const char *level_mode, int *efd,
			    char *why, size_t len);

/* Arm a PSI trigger on path (a real path: /proc/pressure/memory, or a
 * cgroup2 group's memory.pressure): open it read-write, non-blocking and
 * close-on-exec, and write trigger ("some|full STALL_US WINDOW_US") with
 * its NUL: /proc's psi_write() copies at most its buffer and overwrites the
 * last byte copied with NUL, so strlen() bytes would drop the window's last
 * digit.  On success *fd (NULL: closed again, for a check) waits for
 * POLLPRI (POLLIN is always set on the file); closing it removes the
 * trigger.  On failure a one-line reason naming the file, the text and the
 * likely cause on some kernel is in why (may be NULL):
 *   -ENOENT      no such file (no PSI, or no such cgroup)
 *   -EINVAL      window out of range, or unprivileged outside N*2s (6.5+)
 *   -EPERM/-EACCES  CAP_SYS_RESOURCE needed (before 6.5)
 *   -EBUSY       the fd already has a trigger (5.17+)
 *   -EOPNOTSUPP  PSI disabled (psi=0)
 *   -ENODEV      the cgroup was removed
 *   -EIO         a short write. */
int pnb_psi_arm(const char *path, const char *trigger, int *fd, char *why, size_t len);

#endif
