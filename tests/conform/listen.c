#include "listen.h"
#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
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
