/* Waiting on notification fds (vmpressure eventfds, PSI trigger fds) while
 * a hog runs. */
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

/* Poll ls[0..n) from one thread from t0 until t0 + max_ns, until the hog
 * pid (if > 0) exits (*death_ns then set, since t0; its wait status in
 * *status), or until every listener has heard something when
 * stop_when_all.  Every fd ready in one poll() gets that poll's return
 * time, so first_ns orders events against the hog's death on one
 * timeline but says nothing about how far apart listeners woke: that is
 * cf_fanout's job.  Returns 0 or -errno. */
int cf_listen(struct cf_listener *ls, int n, uint64_t t0, uint64_t max_ns, pid_t pid,
	      int stop_when_all, uint64_t *death_ns, int *status);

/* One listener of a fan-out episode, served by its own thread. */
struct cf_waiter {
	int fd;
	int psi;		/* PSI trigger: POLLPRI; else an eventfd */
	uint64_t wake_ns;	/* CLOCK_MONOTONIC at return of the poll() that first
				 * reported an event to this listener; 0 = never */
	uint64_t first_value;	/* eventfd: the counter read at that wake-up; psi: 1 */
	uint64_t events;	/* over the whole episode: eventfd counter sum; psi: POLLPRIs */
	pid_t tid;
};

/* Start one thread per waiter, wait until every one of them sleeps in
 * poll(), then call fire(arg) (*fire_ns: CLOCK_MONOTONIC just before it)
 * to start the episode.  Ends when every waiter has woken or max_ns after
 * fire, then keeps listening for quiet_ns after the first wake-up so that
 * a second event is counted, not missed.  Returns 0, fire's nonzero
 * return, or -errno with why filled. */
int cf_fanout(struct cf_waiter *w, int n, int (*fire)(void *), void *arg, uint64_t max_ns,
	      uint64_t quiet_ns, uint64_t *fire_ns, char *why, size_t whylen);

#endif
