/* Multi-listener wake-up: N listeners on one vmpressure level, or N PSI
 * triggers, for one pressure episode (the /dev/mem_notify fairness
 * question): are all woken, and how far apart? */
#include "conform.h"
#include "cgroupfs.h"
#include "clock.h"
#include "jsonl.h"
#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FCG CF_V1 "/cf-fan"

static enum cf_result episode(struct cf_ctx *c, int n, int psi)
{
	struct cf_listener *ls = calloc((size_t)n, sizeof *ls);
	char why[256];
	int e, armed = 0;
	enum cf_result res;

	if (!ls)
		return cf_say(c, CF_FAIL, "out of memory");
	if (!cf_have_data()) {
		res = cf_say(c, CF_SKIP, "no data file %s (the guest needs its data disk)", CF_DATA);
		goto out;
	}
	if ((e = cf_cg_make(FCG)) || (e = cf_put(FCG "/memory.limit_in_bytes", "32M"))) {
		res = cf_say(c, CF_SKIP, "unsupported: v1 memcg %s: %s", FCG, strerror(-e));
		goto out;
	}
	for (; armed < n; armed++) {
		ls[armed].psi = psi;
		if (psi) {
			static const char spec[] = "some 10000 500000";
			int fd = open("/proc/pressure/memory", O_RDWR | O_NONBLOCK | O_CLOEXEC);
			if (fd < 0 || write(fd, spec, sizeof spec) < 0) {
				e = errno;
				if (fd >= 0)
					close(fd);
				res = cf_say(c, e == ENOENT ? CF_SKIP : CF_FAIL, "PSI trigger %d of %d: %s",
					     armed + 1, n, strerror(e));
				goto out;
			}
			ls[armed].fd = fd;
		} else if ((e = pnb_vmpressure_register(FCG, "low", &ls[armed].fd, why, sizeof why))) {
			res = cf_say(c, e == -EOPNOTSUPP || e == -ENOENT ? CF_SKIP : CF_FAIL,
				     "%slistener %d of %d: %s", e == -EOPNOTSUPP ? "unsupported: " : "",
				     armed + 1, n, why);
			goto out;
		}
	}
	struct cf_hog h = { .kind = CF_HOG_THRASH, .anon_bytes = 8 << 20, .procs = { FCG "/cgroup.procs" } };
	uint64_t t0 = pnb_mono_ns();
	pid_t pid = cf_hog_start(&h);
	cf_listen(ls, n, t0, 8 * NS_PER_S, pid, 1, NULL, NULL);
	cf_hog_stop(pid);
	uint64_t first = UINT64_MAX, last = 0;
	int woken = 0;
	for (int i = 0; i < n; i++) {
		if (!ls[i].first_ns)
			continue;
		woken++;
		if (ls[i].first_ns < first)
			first = ls[i].first_ns;
		if (ls[i].first_ns > last)
			last = ls[i].first_ns;
	}
	jset_int(c->detail, "listeners", n);
	jset_int(c->detail, "woken", woken);
	jset_int(c->detail, "first_ns", woken ? (long long)first : -1);
	jset_int(c->detail, "last_ns", woken ? (long long)last : -1);
	jset_int(c->detail, "spread_ns", woken ? (long long)(last - first) : -1);
	if (!woken)
		res = cf_say(c, CF_FAIL, "none of %d %s woken in 8 s of thrashing", n,
			     psi ? "PSI triggers" : "vmpressure listeners");
	else if (woken < n)
		res = cf_say(c, CF_FAIL, "%d of %d %s woken in 8 s (first at %.3f s)", woken, n,
			     psi ? "PSI triggers" : "vmpressure listeners", first / 1e9);
	else
		res = cf_say(c, CF_PASS, "all %d woken; first %.3f s after start, spread first-last %.3f ms",
			     n, first / 1e9, (last - first) / 1e6);
out:
	for (int i = 0; i < armed; i++)
		close(ls[i].fd);
	free(ls);
	cf_cg_remove(FCG);
	return res;
}

enum cf_result cf_fanout_vmpressure_1(struct cf_ctx *c) { return episode(c, 1, 0); }
enum cf_result cf_fanout_vmpressure_16(struct cf_ctx *c) { return episode(c, 16, 0); }
enum cf_result cf_fanout_vmpressure_256(struct cf_ctx *c) { return episode(c, 256, 0); }
enum cf_result cf_fanout_psi_1(struct cf_ctx *c) { return episode(c, 1, 1); }
enum cf_result cf_fanout_psi_16(struct cf_ctx *c) { return episode(c, 16, 1); }
enum cf_result cf_fanout_psi_256(struct cf_ctx *c) { return episode(c, 256, 1); }
