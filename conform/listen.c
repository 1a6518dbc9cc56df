#include "listen.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int cf_listen(struct cf_listener *ls, int n, uint64_t t0, uint64_t max_ns, pid_t pid,
	      int stop_when_all, uint64_t *death_ns, int *status)
{
	struct pollfd *pf = calloc((size_t)n + 1, sizeof *pf);
	int pidfd = -1, heard = 0;

	if (!pf)
		return -ENOMEM;
	if (death_ns)
		*death_ns = 0;
	/* The hog's death goes into the same poll as the notifications, so
	 * "before the OOM kill" is decided on one timeline. */
	if (pid > 0)
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	for (int i = 0; i < n; i++)
		pf[i] = (struct pollfd){ .fd = ls[i].fd, .events = ls[i].psi ? POLLPRI : POLLIN };
	pf[n] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	for (;;) {
		uint64_t now = pnb_mono_ns();
		if (now >= t0 + max_ns)
			break;
		int r = poll(pf, (nfds_t)n + 1, (int)((t0 + max_ns - now) / 1000000) + 1);
		if (r < 0 && errno != EINTR) {
			free(pf);
			return -errno;
		}
		now = pnb_mono_ns();
		for (int i = 0; i < n; i++) {
			if (!pf[i].revents)
				continue;
			uint64_t v = 1;
			if (ls[i].psi) {
				if (!(pf[i].revents & POLLPRI))
					continue;
			} else if (read(ls[i].fd, &v, sizeof v) != sizeof v) {
				continue;
			}
			if (!ls[i].first_ns) {
				ls[i].first_ns = now > t0 ? now - t0 : 1;
				heard++;
			}
			ls[i].count += v;
		}
		if (pidfd >= 0 && (pf[n].revents & POLLIN)) {
			if (death_ns)
				*death_ns = now - t0;
			if (status)
				waitpid(pid, status, 0);
			break;
		}
		if (stop_when_all && heard >= n)
			break;
	}
	if (pidfd >= 0)
		close(pidfd);
	free(pf);
	return 0;
}

/* ---- fan-out: one thread per listener ---------------------------------- */

struct fan {
	struct cf_waiter *w;
	int stopfd;			/* eventfd written once: every thread leaves */
	atomic_int ready, woken;
};

struct fan_arg {
	struct fan *f;
	int i;
};

static void *waiter_main(void *p)
{
	struct fan_arg *a = p;
	struct fan *f = a->f;
	struct cf_waiter *w = &f->w[a->i];
	struct pollfd pf[2] = { { .fd = w->fd, .events = w->psi ? POLLPRI : POLLIN },
				{ .fd = f->stopfd, .events = POLLIN } };

	w->tid = (pid_t)syscall(SYS_gettid);
	atomic_fetch_add(&f->ready, 1);
	for (;;) {
		int r = poll(pf, 2, -1);
		/* The stamp comes first: this thread's own return from poll()
		 * is the wake-up time being measured. */
		uint64_t now = pnb_mono_ns();
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		uint64_t v = 0;
		if (w->psi && (pf[0].revents & POLLPRI))
			v = 1;
		else if (!w->psi && (pf[0].revents & POLLIN) && read(w->fd, &v, sizeof v) != sizeof v)
			v = 0;
		if (v) {
			if (!w->wake_ns) {
				w->wake_ns = now;
				w->first_value = v;
				atomic_fetch_add(&f->woken, 1);
			}
			w->events += v;
		}
		if (pf[1].revents & POLLIN)
			break;
	}
	/* An eventfd may hold signals that came with the stop. */
	uint64_t v;
	if (!w->psi && read(w->fd, &v, sizeof v) == sizeof v)
		w->events += v;
	return NULL;
}

/* 'S' in /proc/self/task/TID/stat: the thread sleeps (in poll, the only
 * place these threads sleep). */
static int sleeping(pid_t tid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

int cf_fanout(struct cf_waiter *w, int n, int (*fire)(void *), void *arg, uint64_t max_ns,
	      uint64_t quiet_ns, uint64_t *fire_ns, char *why, size_t whylen)
{
	struct fan f = { .w = w };
	struct fan_arg *args = calloc((size_t)n, sizeof *args);
	pthread_t *th = calloc((size_t)n, sizeof *th);
	pthread_attr_t at;
	int started = 0, ret = 0;

	if (!args || !th) {
		free(args);
		free(th);
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	f.stopfd = eventfd(0, EFD_CLOEXEC);
	if (f.stopfd < 0) {
		ret = -errno;
		snprintf(why, whylen, "eventfd: %s", strerror(errno));
		goto out;
	}
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 64 << 10);
	for (; started < n; started++) {
		args[started] = (struct fan_arg){ &f, started };
		w[started].wake_ns = w[started].events = w[started].first_value = 0;
		int e = pthread_create(&th[started], &at, waiter_main, &args[started]);
		if (e) {
			ret = -e;
			snprintf(why, whylen, "thread %d of %d: %s", started + 1, n, strerror(e));
			break;
		}
	}
	pthread_attr_destroy(&at);
	if (ret)
		goto stop;
	/* Every thread must already sleep in poll() when the event comes, or
	 * its start-up would be measured as wake-up latency. */
	uint64_t end = pnb_mono_ns() + 10 * NS_PER_S;
	int asleep = 0;
	while (pnb_mono_ns() < end) {
		if (atomic_load(&f.ready) == n) {
			asleep = 0;
			for (int i = 0; i < n && sleeping(w[i].tid); i++)
				asleep++;
			if (asleep == n)
				break;
		}
		usleep(10000);
	}
	if (asleep != n) {
		ret = -ETIMEDOUT;
		snprintf(why, whylen, "only %d of %d listener threads asleep in poll() after 10 s", asleep, n);
		goto stop;
	}
	*fire_ns = pnb_mono_ns();
	if ((ret = fire(arg))) {
		snprintf(why, whylen, "starting the episode failed: %s", strerror(ret < 0 ? -ret : ret));
		goto stop;
	}
	/* The main thread sleeps through the episode: it must not compete
	 * with the waiters for the CPUs more than this. */
	uint64_t first = 0;
	for (;;) {
		uint64_t now = pnb_mono_ns();
		if (!first && atomic_load(&f.woken))
			first = now;
		if (first && now >= first + quiet_ns && atomic_load(&f.woken) == n)
			break;
		if (now >= *fire_ns + max_ns && (!first || now >= first + quiet_ns))
			break;
		usleep(20000);
	}
stop:
	if (f.stopfd >= 0) {
		uint64_t one = 1;
		if (write(f.stopfd, &one, sizeof one) != sizeof one && !ret)
			ret = -errno;
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (f.stopfd >= 0)
		close(f.stopfd);
out:
	free(args);
	free(th);
	return ret;
}
