/* Waiting on many notification fds at once (vmpressure eventfds, PSI
 * trigger fds) while a hog runs: first-event time and count per fd. */
#ifndef CF_LISTEN_H
#define CF_LISTEN_H

#include <stdint.h>
#include <sys/types.h>

struct cf_listener {
	int fd;
	int psi;		/* PSI trigger: POLLPRI; else an eventfd: read the counter */
	uint64_t count;		/* eventfd: sum of counters; psi: events */
	uint64_t first_ns;	/* since the episode's t0; 0 = none */
};

/* Poll ls[0..n) from t0 until t0 + max_ns, until the hog pid (if > 0)
 * exits (*death_ns then set, since t0; its wait status in *status), or
 * until every listener has heard something when stop_when_all.  Returns 0
 * or -errno. */
int cf_listen(struct cf_listener *ls, int n, uint64_t t0, uint64_t max_ns, pid_t pid,
	      int stop_when_all, uint64_t *death_ns, int *status);

#endif
