/* Guests: kernels to boot, the image they boot with, and the QEMU runner.
 *
 *   kernels.c  resolve a kernel spec to a bootable image (fetch/build/cache)
 *   image.c    the initramfs (busybox, static pnbench programs, modules,
 *              /init) and the ext4 data disk
 *   guest.c    boot one run in QEMU, stream its events out, classify it
 */
#ifndef PNB_GUEST_H
#define PNB_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

#define PNB_PATH 1024

/* A kernel spec:
 *   debian:6.1.0-54-cloud-amd64      Debian's linux-image-<ver>-unsigned
 *   path:/x/bzImage[,modules=/x/lib/modules/<rel>][,config=/x/.config]
 *   tree:/src/linux                  built with qemu/pnbench.config
 *   native                           the running kernel, no guest */
struct kernel_image {
	char spec[256];
	char kind[16];			/* debian | path | tree | native */
	char name[128];			/* directory-safe name for result paths */
	char bzimage[PNB_PATH];
	char modules_dir[PNB_PATH];	/* .../lib/modules/<release>, or "" */
	char config[PNB_PATH];		/* the kernel's .config, or "" */
	char release[128];		/* uname -r of the image */
	char config_digest[65];		/* sha256 of the config, or "" */
};

/* Cache root for kernels, images, disks: $PNBENCH_CACHE, else
 * $XDG_CACHE_HOME/pnbench, else ~/.cache/pnbench. */
const char *pnb_cache_dir(void);

/* Resolve spec into k.  With fetch/build allowed, downloads or builds what is
 * missing; otherwise fails with "not fetched: run pnbench kernels fetch X".
 * 0, or -1 with a one-line reason in err; -2 when the spec itself is
 * malformed (a usage error). */
int kernel_resolve(const char *spec, int allow_fetch, struct kernel_image *k,
		   char *err, size_t errlen);
/* The mechanisms its config enables, as a JSON object text
 * {"CONFIG_PSI":"y",...}, for meta.json. Caller frees. NULL if no config. */
char *kernel_config_summary(const struct kernel_image *k);

/* For `pnbench kernels` and the tests.
 * kernel_build: build tree (a directory, a source tarball, or a Debian
 * linux-source-X.Y name) with qemu/pnbench.config, jobs 0 = every CPU;
 * a cached build is reused.  Same returns as kernel_resolve. */
int kernel_build(const char *tree, unsigned jobs, struct kernel_image *k,
		 char *err, size_t errlen);
/* The release string of a bzImage, from its setup header. 0 or -1 with err. */
int kernel_bzimage_release(const char *path, char *rel, size_t len,
			   char *err, size_t errlen);
/* Fragment lines that did not survive in config ("; "-separated in missing):
 * returns how many, or -errno.  With tree set, lines whose symbol no Kconfig
 * of the tree defines are listed in skipped instead and not counted. */
int kernel_fragment_check(const char *fragment, const char *config, const char *tree,
			  char *missing, size_t mlen, char *skipped, size_t slen);
/* The kernels in the cache, fully resolved; *out is malloc'd. Count or -errno. */
int kernel_cached(struct kernel_image **out);
/* The Debian linux-image-6.1.0-N-FLAVOUR-unsigned versions apt-cache knows,
 * newest first, as "6.1.0-56-cloud-amd64\n..." in buf. Count or -errno. */
int kernel_debian_available(const char *flavour, char *buf, size_t len);

/* The initramfs for a kernel: cached per (release, config digest, binaries).
 * path receives the cpio file.  0 or -1 with err. */
int image_initramfs(const struct kernel_image *k, char *path, size_t len,
		    char *err, size_t errlen);
/* A second newc archive holding /pnbench/run.args (one recorder argument
 * per line) and /pnbench/run.env, appended to the initramfs for one run. */
int image_run_archive(const char *out_path, const char *const *record_argv,
		      char *err, size_t errlen);
/* Same, with /pnbench/run.env lines (NULL-terminated, each "key=value"):
 * memory_hierarchy=v1|v2, fault=panic:DELAY|hang:DELAY (qemu/README.md).
 * The runner passes `cat <image_initramfs> <out_path>` as -initrd: the
 * kernel unpacks concatenated archives in order. */
int image_run_archive_env(const char *out_path, const char *const *record_argv,
			  const char *const *env_lines, char *err, size_t errlen);
/* The modules the guest loads, as /pnbench/modules.load text: paths
 * relative to modules_dir, one a line, dependencies first ("" for an
 * empty modules_dir).  Caller frees *list.  0 or -1 with err. */
int image_module_list(const char *modules_dir, char **list, char *err, size_t errlen);
/* The modules loaded only when a knob asks (zram, its compressors), as
 * /pnbench/modules.optional text: "GROUP PATH" lines, each group's closure
 * dependencies first.  Caller frees *list.  0 or -1 with err. */
int image_optional_modules(const char *modules_dir, char **list, char *err, size_t errlen);
/* An ext4 image holding /data.bin of file_size bytes, cached per size. */
int image_data_disk(uint64_t file_size, char *path, size_t len, char *err, size_t errlen);

struct run_result;

/* What a guest looks like for one boot. */
struct guest_shape {
	uint64_t memory;	/* bytes */
	unsigned cpus;
	unsigned maxcpus;	/* possible CPUs (QEMU maxcpus); 0 or <= cpus: cpus */
	uint64_t data_size;	/* bytes of /data/data.bin on /dev/vda; 0 = no disk */
	uint64_t bound_ns;	/* the program's own bound; the watchdog adds boot time */
	const char *cmdline;	/* extra kernel command line, or "" */
	/* "v1" (NULL: the default): the v1 memory controller at
	 * /sys/fs/cgroup/memory; "v2": cgroup2 gets it (qemu/README.md). */
	const char *memory_hierarchy;
	/* More run.env lines ('\n'-separated, or NULL): shape_env for /init
	 * to act on before the snapshot point (swap=, lru_gen=, min_ttl_ms=;
	 * part of the snapshot key), run_env per run (memory_max=, ...). */
	const char *shape_env;
	const char *run_env;
	/* TCG threading without KVM: "single" (NULL: the default) or "multi". */
	const char *tcg_thread;
	/* Start from a saved machine of this shape (harness/snapshot.c). */
	int snapshot;
};
/* PNBENCH_SNAPSHOT is not 0. */
int guest_snapshots_wanted(void);
/* "QEMU emulator version ...", once per process. */
const char *guest_qemu_version(void);

/* The host's accelerator verdict (docs/guests.md). */
struct guest_accel {
	char kind[8];		/* kvm | tcg */
	char accel[64];		/* the -accel value when overridden */
	char why[512];		/* one line: how it was decided */
	int overridden;		/* PNBENCH_ACCEL */
};
/* Decide: PNBENCH_ACCEL, else the verdict cached for this host boot, else
 * KVM when PNBENCH_KVM_DEVICE (default /dev/kvm) is a KVM device and a
 * probe boot of bzimage under it prints the kernel banner; TCG otherwise. */
int guest_accel_decide(const char *bzimage, struct guest_accel *a);
/* guest_accel_decide once per process (bzimage may be NULL: no probe). */
const struct guest_accel *guest_accel(const char *bzimage);
/* The -accel argument: "kvm", "tcg,thread=single|multi", or the override. */
const char *guest_accel_arg(const struct guest_accel *a, const char *tcg_thread,
			    char *buf, size_t len);
/* Boot bzimage under accel (kvm, tcg) without an initramfs and wait for its
 * banner: 0 with *seconds, or -1; why says what happened, one line. */
int guest_probe_boot(const char *accel, const char *bzimage, uint64_t timeout_ns,
		     double *seconds, char *why, size_t len);

/* Boot k and run argv (argv[0] a path inside the guest, e.g.
 * /bin/pnbench-record) as the guest's only job: its standard output goes to
 * dir/events.jsonl through the second serial port as it is written, the
 * console to dir/console.log.  Classifies the end in res: ok, panic, hang,
 * no_init (kernel did not reach init), broken (no end record). */
/* Shared by guest.c and guest_exec.c: whether the last `tail` bytes of
 * path (the whole file when 0) hold s; a file's whole text (malloc'd), or
 * NULL. */
int guest_file_has(const char *path, size_t tail, const char *s);
char *guest_slurp(const char *path);

int guest_exec(const struct kernel_image *k, const char *const *argv,
	       const struct guest_shape *shape, const char *dir, const char *fault,
	       struct run_result *res);

/* Boot one run of s on k in QEMU; events land in dir/events.jsonl as the
 * guest writes them, the console in dir/console.log.  fault is NULL or a
 * fault= value for the runner's tests. */
int guest_run(const struct kernel_image *k, const struct scenario *s, unsigned rep,
	      const char *dir, const char *fault, struct run_result *res);

#endif
