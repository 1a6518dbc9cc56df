/* pnbench-record: arming probes and charging each its CPU time. */
#include "recorder.h"

uint64_t rec_thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Charge the CPU time since t0 (rec_thread_cpu_ns()) to probe i. */
void rec_charge(struct recorder *r, int i, uint64_t t0)
{
	uint64_t t1 = rec_thread_cpu_ns();

	if (t1 > t0)
		r->cpu_ns[i] += t1 - t0;
}

int rec_epoll_add(struct recorder *r, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };
	return epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

void rec_drop_probe(struct recorder *r, int i, const char *why)
{
	struct probe *p = &r->probes[i];

	for (int k = 0; k < p->nfd; k++)
		if (p->fd[k] >= 0)
			epoll_ctl(r->epfd, EPOLL_CTL_DEL, p->fd[k], NULL);
	rec_probe_status(r, p, "dropped", why);
	uint64_t t0 = rec_thread_cpu_ns();
	p->ops->close(p, &r->out);
	rec_charge(r, i, t0);
	r->armed[i] = 0;
}

void rec_arm_probes(struct recorder *r)
{
	char why[PROBE_ERR_LEN];

	for (int i = 0; i < r->nprobes; i++) {
		struct probe *p = &r->probes[i];
		why[0] = 0;
		if (p->ops->supported(p, &r->env, why, sizeof why)) {
			rec_probe_status(r, p, "unsupported", why[0] ? why : "not supported by this kernel");
			continue;
		}
		p->env = &r->env;
		uint64_t t0 = rec_thread_cpu_ns();
		int e = p->ops->open(p, &r->env, &r->out, why, sizeof why);
		rec_charge(r, i, t0);
		if (e) {
			rec_probe_status(r, p, "unsupported", why[0] ? why : "open failed");
			continue;
		}
		r->armed[i] = r->ever_armed[i] = 1;
		for (int k = 0; k < p->nfd; k++) {
			int e = rec_epoll_add(r, p->fd[k], p->events[k] ? p->events[k] : EPOLLIN,
					  ((uint64_t)i << 16) | (uint64_t)k);
			if (e) {
				snprintf(why, sizeof why, "epoll: %s", strerror(-e));
				rec_drop_probe(r, i, why);
				break;
			}
		}
		if (r->armed[i])
			rec_probe_status(r, p, "armed", NULL);
	}
}
