/* Cells restored from a saved machine (harness/snapshot.c). */
#ifndef PNB_SNAPSHOT_H
#define PNB_SNAPSHOT_H

#include <stdint.h>
#include <stddef.h>

#include "guest.h"

#define PNB_SNAP_PATH 1024

struct snapshot {
	char key[64];			/* digest of the machine shape + hierarchy */
	char base[PNB_SNAP_PATH];	/* <cache>/snapshots/<key> */
	char mig[PNB_SNAP_PATH + 8];	/* the saved machine */
	char initrd[PNB_SNAP_PATH + 8];	/* the initramfs it booted (QEMU wants it again) */
	int made;			/* taken by this call (else found in the cache) */
	int tries;			/* boots it took when made */
};

/* Find or make the snapshot for the machine whose QEMU arguments are
 * `machine` (NULL-terminated, without -initrd, serials, -qmp, -incoming).
 * shape_env: the run.env lines /init acts on before the snapshot point
 * ("memory_hierarchy=v1\n" and any swap=, lru_gen=, min_ttl_ms=), part of
 * the key.  0, or -1 with why (the caller then boots cold). */
int snapshot_prepare(const char *const *machine, const char *base_initrd, const char *shape_env,
		     const char *qemu_version, uint64_t boot_timeout_ns, struct snapshot *snap,
		     char *why, size_t wl);
/* The run for a restored /init: fault (or NULL), per-run env lines
 * ('\n'-separated, or NULL) and the recorder's argv. */
int snapshot_run_block(const char *path, const char *const *prog_argv, const char *fault,
		       const char *run_env, char *why, size_t wl);
/* Connect to the restored guest's run port (a QEMU socket chardev) and
 * write the block: the fd to keep open while the guest runs, or -1. */
int snapshot_feed(const char *sock, const char *block, uint64_t deadline_ns, char *why, size_t wl);
/* After starting QEMU with -incoming, -qmp unix:sock and the run port at
 * run_sock: wait for the machine to be loaded, feed it the run block, let
 * it run.  0 with *run_fd to keep open while the guest runs, or -1. */
int snapshot_resume(const char *sock, const char *run_sock, const char *block,
		    uint64_t deadline_ns, int *run_fd, char *why, size_t wl);

#endif
