#include "memhog.h"
#include "clock.h"
#include "memcg.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

int pnb_hog_touch(size_t len, char **out)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	/* Same 4 KiB faults on every kernel whatever its THP default, so runs
	 * compare; EINVAL (no THP) is harmless. */
	madvise(p, len, MADV_NOHUGEPAGE);
	/* Non-zero, or a read-only zero page or KSM could stand in for it. */
	for (size_t off = 0; off < len; off += pg)
		p[off] = (char)0xa5;
	if (out)
		*out = p;
	return 0;
}

int pnb_hog_run(const struct pnb_hog *h)
{
	uint64_t t0 = pnb_mono_ns(), total = 0, chunk = h->chunk ? h->chunk : 1 << 20;

	while (!h->bytes || total < h->bytes) {
		uint64_t n = (h->bytes && h->bytes - total < chunk) ? h->bytes - total : chunk;
		int r = pnb_hog_touch(n, NULL);
		if (r)
			return r;
		total += n;
		if (h->progress)
			h->progress(h->arg, total);
		if (!h->rate_bps)
			continue;
		unsigned __int128 due = (unsigned __int128)total * NS_PER_S / h->rate_bps;
		pnb_sleep_until_ns(due > UINT64_MAX - t0 ? UINT64_MAX : t0 + (uint64_t)due);
	}
	return 0;
}

pid_t pnb_hog_spawn(const struct pnb_hog *h, const char *memcg_dir)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid)
		return pid;
	if (memcg_dir && pnb_memcg_join(memcg_dir, 0))
		_exit(3);
	if (pnb_hog_run(h))
		_exit(4);
	for (;;)
		pause();
}
