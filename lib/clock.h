#ifndef PNB_CLOCK_H
#define PNB_CLOCK_H

#include <stdint.h>

#define NS_PER_US 1000ULL
#define NS_PER_MS 1000000ULL
#define NS_PER_S  1000000000ULL

/* CLOCK_MONOTONIC in nanoseconds: the one timeline every event lands on. */
uint64_t pnb_mono_ns(void);
/* Sleep until an absolute CLOCK_MONOTONIC time (restarts on EINTR). */
void pnb_sleep_until_ns(uint64_t t_ns);

#endif
