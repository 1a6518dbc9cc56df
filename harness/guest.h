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
 * 0, or -1 with a one-line reason in err. */
int kernel_resolve(const char *spec, int allow_fetch, struct kernel_image *k,
		   char *err, size_t errlen);
/* The mechanisms its config enables, as a JSON object text
 * {"CONFIG_PSI":"y",...}, for meta.json. Caller frees. NULL if no config. */
char *kernel_config_summary(const struct kernel_image *k);

/* The initramfs for a kernel: cached per (release, config digest, binaries).
 * path receives the cpio file.  0 or -1 with err. */
int image_initramfs(const struct kernel_image *k, char *path, size_t len,
		    char *err, size_t errlen);
/* A second newc archive holding /pnbench/run.args (one recorder argument
 * per line) and /pnbench/run.env, appended to the initramfs for one run. */
int image_run_archive(const char *out_path, const char *const *record_argv,
		      char *err, size_t errlen);
/* An ext4 image holding /data.bin of file_size bytes, cached per size. */
int image_data_disk(uint64_t file_size, char *path, size_t len, char *err, size_t errlen);

#endif
