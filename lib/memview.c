#include "memview.h"
#include "parse.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* What page_counter's PAGE_COUNTER_MAX (LONG_MAX / PAGE_SIZE pages) reads
 * as in v1 memory.limit_in_bytes with 4 KiB pages.  Any limit at or above
 * MemTotal is treated the same way (see read_v1), so other page sizes need
 * no special case. */
#define V1_UNLIMITED 9223372036854771712ULL

const char *pnb_domain_name(enum pnb_domain d)
{
	switch (d) {
	case PNB_DOMAIN_SYSTEM: return "system";
	case PNB_DOMAIN_MEMCG_V1: return "memcg_v1";
	case PNB_DOMAIN_MEMCG_V2: return "memcg_v2";
	}
	return "unknown";
}

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* Every key we rely on must be there: a missing one means the file is not
 * what we think it is, which is "malformed" for our purpose. */
static int need(const struct pnb_kv *kv, const char *key, uint64_t *val)
{
	return pnb_kv_get(kv, key, val) ? -EINVAL : 0;
}

/* dir + "/" + name; unlike pnb_path, dir "/" (a root cgroup) is kept. */
static int join(char *out, size_t len, const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	int n;

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	n = snprintf(out, len, "%.*s%s%s", (int)dl, dir, dir[dl - 1] == '/' ? "" : "/", name);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

enum { FD_LIMIT, FD_USAGE, FD_STAT, FD_MEMINFO };

/* path (under root) into buf as pnb_read_file does; with keep_open on the
 * live system, from an fd opened once (pnb_pread_text reads from offset
 * 0, where a seq_file regenerates its text). */
static ssize_t src_read(struct pnb_memview_src *src, int slot, const char *path, char *buf,
			size_t len)
{
	ssize_t n;

	if (!src->keep_open || (src->root && src->root[0]))
		return pnb_read_file(src->root, path, buf, len);
	if (!src->fd[slot]) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		src->fd[slot] = fd + 1;
	}
	n = pnb_pread_text(src->fd[slot] - 1, buf, len);
	if (n < 0 && n != -EFBIG) {
		close(src->fd[slot] - 1);
		src->fd[slot] = 0;
	}
	return n;
}

void pnb_memview_src_close(struct pnb_memview_src *src)
{
	for (size_t i = 0; i < sizeof src->fd / sizeof src->fd[0]; i++)
		if (src->fd[i]) {
			close(src->fd[i] - 1);
			src->fd[i] = 0;
		}
}

/* A one-number cgroup file ("123\n"); "max" (v2) gives *is_max. */
static int read_one(struct pnb_memview_src *src, int slot, const char *name, uint64_t *val,
		    int *is_max)
{
	char path[4096], buf[64];
	ssize_t n;
	int r;

	r = join(path, sizeof path, src->memcg_dir, name);
	if (r)
		return r;
	n = src_read(src, slot, path, buf, sizeof buf);
	if (n < 0)
		return n == -EFBIG ? -EINVAL : (int)n;
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	if (is_max) {
		*is_max = strcmp(buf, "max") == 0;
		if (*is_max)
			return 0;
	}
	/* -ERANGE too: a cgroup file cannot hold a number past u64. */
	return pnb_parse_u64(buf, val) ? -EINVAL : 0;
}

static int read_stat(struct pnb_memview_src *src, struct pnb_kv *kv)
{
	char path[4096], buf[16384];
	ssize_t n;
	int r = join(path, sizeof path, src->memcg_dir, "memory.stat");

	if (r)
		return r;
	n = src_read(src, FD_STAT, path, buf, sizeof buf);
	return n < 0 ? (int)n : pnb_parse_kv(buf, kv);
}

/* MemTotal bounds a memcg domain whose limit is above the machine.  It
 * moves only with memory hotplug, and a poller reading all of
 * /proc/meminfo ten times a second for it was a tenth of the recorder's
 * CPU: read once per src, as totalreserve is. */
static int memtotal_kb(struct pnb_memview_src *src, uint64_t *kb)
{
	struct pnb_kv mi;
	int r;

	if (!src->memtotal_kb) {
		if ((r = pnb_read_meminfo(src->root, &mi)) || (r = need(&mi, "MemTotal", kb)))
			return r;
		src->memtotal_kb = *kb;
	}
	*kb = src->memtotal_kb;
	return 0;
}

static int read_system(struct pnb_memview_src *src, struct pnb_memview *v)
{
	struct pnb_kv mi;
	uint64_t total, mfree, avail, buffers, cached, anon, shmem, unevict;
	uint64_t page_kb, reserve_kb;
	long psz;
	int r;

	{
		char buf[16384];
		ssize_t n = src_read(src, FD_MEMINFO, "/proc/meminfo", buf, sizeof buf);
		r = n < 0 ? (int)n : pnb_parse_meminfo(buf, &mi);
	}
	if (r)
		return r;
	if ((r = need(&mi, "MemTotal", &total)) || (r = need(&mi, "MemFree", &mfree)) ||
	    (r = need(&mi, "MemAvailable", &avail)) || (r = need(&mi, "Buffers", &buffers)) ||
	    (r = need(&mi, "Cached", &cached)) || (r = need(&mi, "AnonPages", &anon)) ||
	    (r = need(&mi, "Shmem", &shmem)) || (r = need(&mi, "Unevictable", &unevict)))
		return r;

	/* totalreserve only moves when watermarks or lowmem_reserve_ratio are
	 * retuned, and zoneinfo costs O(zones x CPUs) to read: once is enough. */
	if (!src->totalreserve_pages) {
		struct pnb_zoneinfo zi;
		r = pnb_read_zoneinfo(src->root, &zi);
		if (r)
			return r;
		src->totalreserve_pages = zi.totalreserve_pages;
	}
	psz = sysconf(_SC_PAGESIZE);
	page_kb = psz > 0 ? (uint64_t)psz / 1024 : 4;
	reserve_kb = src->totalreserve_pages * page_kb;

	v->total_kb = total;
	v->free_kb = mfree;
	v->available_kb = avail;
	v->anon_kb = anon;
	v->cache_kb = cached + buffers;
	/* The driver: other_free = NR_FREE_PAGES - totalreserve_pages. */
	v->lmk_free_kb = sub0(mfree, reserve_kb);
	/* The driver: other_file = NR_FILE_PAGES - NR_SHMEM - NR_UNEVICTABLE
	 * - total_swapcache_pages().  NR_FILE_PAGES counts swap cache and block
	 * device buffers, while meminfo prints Cached = NR_FILE_PAGES -
	 * SwapCached - Buffers; so NR_FILE_PAGES - swapcache is Cached +
	 * Buffers.  Unevictable holds mlocked anon too: the driver subtracted
	 * all of it, so do we.  The driver's int went negative; we clamp. */
	v->lmk_file_kb = sub0(cached + buffers, shmem + unevict);
	return 0;
}

/* Shared by v1 and v2 once the numbers are in kB. */
static void fill_memcg(struct pnb_memview *v, uint64_t limit_kb, uint64_t usage_kb,
		       uint64_t anon_kb, uint64_t file_kb, uint64_t shmem_kb,
		       uint64_t unevict_kb, uint64_t swapcache_kb,
		       uint64_t inactive_file_kb, uint64_t active_file_kb)
{
	v->total_kb = limit_kb;
	v->free_kb = sub0(limit_kb, usage_kb);
	v->available_kb = v->free_kb + inactive_file_kb + active_file_kb;
	if (v->available_kb > v->total_kb)
		v->available_kb = v->total_kb;
	v->anon_kb = anon_kb;
	v->cache_kb = file_kb;
	/* A memcg has no watermarks or lowmem reserve of its own: the charge
	 * fails at the limit, so all of limit - usage is usable. */
	v->lmk_free_kb = v->free_kb;
	v->lmk_file_kb = sub0(file_kb, shmem_kb + unevict_kb + swapcache_kb);
}

static int read_v1(struct pnb_memview_src *src, struct pnb_memview *v)
{
	struct pnb_kv st;
	uint64_t limit, usage, memtotal, cache, rss, shmem, unevict, inact, act;
	uint64_t swapcache;
	int r;

	if ((r = read_one(src, FD_LIMIT, "memory.limit_in_bytes", &limit, NULL)) ||
	    (r = read_one(src, FD_USAGE, "memory.usage_in_bytes", &usage, NULL)) ||
	    (r = read_stat(src, &st)) ||
	    (r = memtotal_kb(src, &memtotal)))
		return r;
	if ((r = need(&st, "total_cache", &cache)) || (r = need(&st, "total_rss", &rss)) ||
	    (r = need(&st, "total_shmem", &shmem)) ||
	    (r = need(&st, "total_unevictable", &unevict)) ||
	    (r = need(&st, "total_inactive_file", &inact)) ||
	    (r = need(&st, "total_active_file", &act)))
		return r;
	/* total_swapcached only exists since NR_SWAPCACHE became a memcg stat
	 * (5.12); before, swap cache pages sat in "cache" unseparated. */
	swapcache = pnb_kv_or(&st, "total_swapcached", 0);
	/* The unlimited value, and any limit above the machine, bound nothing:
	 * the machine's RAM is the domain then. */
	if (limit != V1_UNLIMITED && limit / 1024 < memtotal)
		memtotal = limit / 1024;
	fill_memcg(v, memtotal, usage / 1024, rss / 1024, cache / 1024, shmem / 1024,
		   unevict / 1024, swapcache / 1024, inact / 1024, act / 1024);
	return 0;
}

static int read_v2(struct pnb_memview_src *src, struct pnb_memview *v)
{
	struct pnb_kv st;
	uint64_t max = 0, cur, memtotal, anon, file, shmem, unevict, inact, act;
	uint64_t swapcache;
	int is_max, r;

	if ((r = read_one(src, FD_LIMIT, "memory.max", &max, &is_max)) ||
	    (r = read_one(src, FD_USAGE, "memory.current", &cur, NULL)) ||
	    (r = read_stat(src, &st)) ||
	    (r = memtotal_kb(src, &memtotal)))
		return r;
	if ((r = need(&st, "anon", &anon)) || (r = need(&st, "file", &file)) ||
	    (r = need(&st, "shmem", &shmem)) || (r = need(&st, "unevictable", &unevict)) ||
	    (r = need(&st, "inactive_file", &inact)) || (r = need(&st, "active_file", &act)))
		return r;
	swapcache = pnb_kv_or(&st, "swapcached", 0);
	if (!is_max && max / 1024 < memtotal)
		memtotal = max / 1024;
	fill_memcg(v, memtotal, cur / 1024, anon / 1024, file / 1024, shmem / 1024,
		   unevict / 1024, swapcache / 1024, inact / 1024, act / 1024);
	return 0;
}

int pnb_memview_read(struct pnb_memview_src *src, struct pnb_memview *v)
{
	int r;

	memset(v, 0, sizeof *v);
	switch (src->domain) {
	case PNB_DOMAIN_SYSTEM:
		r = read_system(src, v);
		break;
	case PNB_DOMAIN_MEMCG_V1:
	case PNB_DOMAIN_MEMCG_V2:
		if (!src->memcg_dir || !*src->memcg_dir)
			return -EINVAL;
		r = src->domain == PNB_DOMAIN_MEMCG_V1 ? read_v1(src, v) : read_v2(src, v);
		break;
	default:
		return -EINVAL;
	}
	if (r)
		memset(v, 0, sizeof *v);
	v->domain = src->domain;
	return r;
}
