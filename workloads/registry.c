/* Every workload.  Adding one: a file in workloads/ and one line here. */
#include "workload.h"

#include <stddef.h>

extern const struct workload workload_stream_read;
extern const struct workload workload_fixed_rate;
extern const struct workload workload_busy_beaver;
extern const struct workload workload_swapless_fill;
extern const struct workload workload_vmstat_cost;
extern const struct workload workload_vmstat_staleness;
extern const struct workload workload_apps;

const struct workload *const workload_registry[] = {
	&workload_stream_read,
	&workload_fixed_rate,
	&workload_busy_beaver,
	&workload_swapless_fill,
	&workload_vmstat_cost,
	&workload_vmstat_staleness,
	&workload_apps,
	NULL,
};
