#include "clock.h"

#include <errno.h>
#include <time.h>

uint64_t pnb_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

void pnb_sleep_until_ns(uint64_t t_ns)
{
	struct timespec ts = { .tv_sec = t_ns / NS_PER_S, .tv_nsec = t_ns % NS_PER_S };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}
