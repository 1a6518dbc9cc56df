/* Loading pnbench's own modules (probes/kmod/) from a probe's open():
 * the parameters come from the probe's spec, so a module is loaded per run
 * by the recorder (finit_module), never by /init, which runs before the
 * saved-machine snapshot point and cannot know the scenario.
 *
 * Where the modules are: /pnbench/kmod/<name>.ko in the guest image
 * (harness/kmod.c builds them for that kernel), or the one-line reason
 * they are not in /pnbench/kmod/unsupported.  The host never has either:
 * native runs do not load modules into the host's kernel. */
#ifndef PNB_KMODLOAD_H
#define PNB_KMODLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "probe.h"
#include "kmod/pnb_kmod.h"

struct pnb_kmod {
	const char *name;	/* "pnb_klmk" */
	int loaded_here;	/* we loaded it: close() unloads it */
	uint64_t load_ns;	/* finit_module's duration */
};

/* supported(): the module is loaded already, or its .ko is in the image.
 * 0, or -ENOENT/-EPERM with the reason in why.  Changes nothing. */
int pnb_kmod_supported(const char *root, const char *name, char *why, size_t whylen);

/* Load name with params ("k=v k=v"); when it is loaded already, each k=v
 * must match /sys/module/NAME/parameters/k (a second probe of the same
 * mechanism cannot have other parameters: one module, one setting).
 * Emits a "kmod" line (module, params, load_ms, tainted, already) on out.
 * 0 or -errno with why. */
int pnb_kmod_load(const struct probe *p, struct pnb_kmod *m, const char *root, const char *params,
		  struct jsonl *out, char *why, size_t whylen);

/* The loading itself, without a probe: finit_module(/pnbench/kmod/NAME.ko,
 * params); *already = 1 when it was loaded (then params must match).  0 or
 * -errno with why.  pnb_kmod_remove: delete_module(O_NONBLOCK), 0 or -errno. */
int pnb_kmod_insert(const char *root, const char *name, const char *params, int *already,
		    char *why, size_t whylen);
int pnb_kmod_remove(const char *name);

/* Unload, when this probe loaded it (O_NONBLOCK: never wait on users). */
void pnb_kmod_unload(struct pnb_kmod *m);

/* Read /sys/module/NAME/parameters/PARAM into buf (newline stripped).
 * 0 or -errno. */
int pnb_kmod_param(const char *root, const char *name, const char *param, char *buf, size_t len);

/* The device's path under root. */
void pnb_kmod_dev(const char *root, const char *dev, char *out, size_t len);

/* The probes' record-to-line conversions (klmk.c, memnotify.c,
 * simplelmk.c), exposed for tests/probe_kmod_test. */
int pnb_klmk_emit(struct probe *p, const struct pnb_klmk_event *ev, uint64_t now_ns,
		  struct jsonl *out);
int pnb_memnotify_emit(struct probe *p, int idx, const struct pnb_memnotify_event *ev,
		       uint64_t now_ns, struct jsonl *out);
int pnb_simplelmk_emit(struct probe *p, const struct pnb_simplelmk_event *ev, uint64_t now_ns,
		       struct jsonl *out);

#endif
