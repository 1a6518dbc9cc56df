/* Every probe the recorder knows.  Adding a mechanism: one file in probes/
 * defining a struct probe_ops, and one line here. */
#include "probe.h"

extern const struct probe_ops probe_psi;
extern const struct probe_ops probe_vmpressure;
extern const struct probe_ops probe_memevents;
extern const struct probe_ops probe_memavail;
extern const struct probe_ops probe_lmk;
extern const struct probe_ops probe_klmk;
extern const struct probe_ops probe_memnotify;
extern const struct probe_ops probe_simplelmk;
extern const struct probe_ops probe_sampler;
extern const struct probe_ops probe_oom;
extern const struct probe_ops probe_reclaim;
extern const struct probe_ops probe_swapout;

const struct probe_ops *const probe_registry[] = {
	&probe_psi,
	&probe_vmpressure,
	&probe_memevents,
	&probe_memavail,
	&probe_lmk,
	&probe_klmk,
	&probe_memnotify,
	&probe_simplelmk,
	&probe_sampler,
	&probe_oom,
	&probe_reclaim,
	&probe_swapout,
	NULL,
};
