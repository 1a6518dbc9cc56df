#include "procfs.h"
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int pnb_path(char *out, size_t len, const char *root, const char *path)
{
	int n;

	if (!root || !*root || strcmp(root, "/") == 0)
		n = snprintf(out, len, "%s", path);
	else
		n = snprintf(out, len, "%s%s%s", root, path[0] == '/' ? "" : "/", path);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

ssize_t pnb_pread_text(int fd, char *buf, size_t len)
{
	size_t off = 0;

	for (;;) {
		ssize_t n;
		if (off + 1 >= len)
			return -EFBIG;
		n = pread(fd, buf + off, len - 1 - off, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	buf[off] = 0;
	return (ssize_t)off;
}

ssize_t pnb_read_file(const char *root, const char *path, char *buf, size_t len)
{
	char full[4096];
	size_t off = 0;
	int fd, r;

	if ((r = pnb_path(full, sizeof full, root, path)))
		return r;
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (len == 0) {
		close(fd);
		return -EFBIG;
	}
	for (;;) {
		ssize_t n;
		if (off + 1 >= len) {
			/* Full: a file of exactly len - 1 bytes still fits,
			 * which only a read at EOF can tell. */
			char extra;
			do
				n = read(fd, &extra, 1);
			while (n < 0 && errno == EINTR);
			r = n < 0 ? -errno : (n > 0 ? -EFBIG : 0);
			if (r) {
				close(fd);
				return r;
			}
			break;
		}
		n = read(fd, buf + off, len - 1 - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return r;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	buf[off] = 0;
	return (ssize_t)off;
}

int pnb_write_file(const char *root, const char *path, const char *s, int with_nul)
{
	char full[4096];
	size_t len = strlen(s) + (with_nul ? 1 : 0);
	ssize_t n;
	int fd, r;

	if ((r = pnb_path(full, sizeof full, root, path)))
		return r;
	fd = open(full, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	r = n < 0 ? -errno : ((size_t)n == len ? 0 : -EIO);
	close(fd);
	return r;
}

static int kv_add(struct pnb_kv *kv, const char *key, size_t klen, uint64_t val)
{
	if (klen == 0 || klen >= PNB_KEY_LEN)
		return -EINVAL;
	if (kv->n >= PNB_KV_MAX)
		return -E2BIG;
	memcpy(kv->e[kv->n].key, key, klen);
	kv->e[kv->n].key[klen] = 0;
	kv->e[kv->n].val = val;
	kv->n++;
	return 0;
}

/* Split text into lines; call fn on each non-empty one. */
static int each_line(const char *text, int (*fn)(const char *line, size_t len, void *arg), void *arg)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len) {
			int r = fn(p, len, arg);
			if (r)
				return r;
		}
		p += len + (nl ? 1 : 0);
	}
	return 0;
}

static int number_field(const char *s, size_t len, uint64_t *val)
{
	char num[32];
	if (len == 0 || len >= sizeof num)
		return -EINVAL;
	memcpy(num, s, len);
	num[len] = 0;
	return pnb_parse_u64(num, val);
}

static int kv_line(const char *line, size_t len, void *arg)
{
	const char *sp = memchr(line, ' ', len);
	uint64_t val;

	if (!sp)
		return -EINVAL;
	if (number_field(sp + 1, len - (size_t)(sp + 1 - line), &val))
		return -EINVAL;
	return kv_add(arg, line, (size_t)(sp - line), val);
}

int pnb_parse_kv(const char *text, struct pnb_kv *kv)
{
	kv->n = 0;
	return each_line(text, kv_line, kv);
}

static int meminfo_line(const char *line, size_t len, void *arg)
{
	const char *colon = memchr(line, ':', len);
	const char *v, *end = line + len;
	uint64_t val;

	if (!colon)
		return -EINVAL;
	v = colon + 1;
	while (v < end && *v == ' ')
		v++;
	const char *ve = v;
	while (ve < end && isdigit((unsigned char)*ve))
		ve++;
	if (number_field(v, (size_t)(ve - v), &val))
		return -EINVAL;
	if (ve < end && !(end - ve == 3 && memcmp(ve, " kB", 3) == 0))
		return -EINVAL;
	return kv_add(arg, line, (size_t)(colon - line), val);
}

int pnb_parse_meminfo(const char *text, struct pnb_kv *kv)
{
	kv->n = 0;
	return each_line(text, meminfo_line, kv);
}

int pnb_kv_get(const struct pnb_kv *kv, const char *key, uint64_t *val)
{
	for (int i = 0; i < kv->n; i++) {
		if (strcmp(kv->e[i].key, key) == 0) {
			*val = kv->e[i].val;
			return 0;
		}
	}
	return -ENOENT;
}

uint64_t pnb_kv_or(const struct pnb_kv *kv, const char *key, uint64_t dflt)
{
	uint64_t v;
	return pnb_kv_get(kv, key, &v) ? dflt : v;
}

static int psi_line(const char *line, size_t len, void *arg)
{
	struct pnb_psi *psi = arg;
	struct pnb_psi_line *pl;
	char buf[256];
	char *tok, *save;
	int seen = 0;

	if (len >= sizeof buf)
		return -EINVAL;
	memcpy(buf, line, len);
	buf[len] = 0;
	tok = strtok_r(buf, " ", &save);
	if (!tok)
		return -EINVAL;
	if (strcmp(tok, "some") == 0)
		pl = &psi->some;
	else if (strcmp(tok, "full") == 0)
		pl = &psi->full;
	else
		return -EINVAL;
	if (pl->present)
		return -EINVAL;
	while ((tok = strtok_r(NULL, " ", &save))) {
		char *eq = strchr(tok, '=');
		if (!eq)
			return -EINVAL;
		*eq++ = 0;
		if (strcmp(tok, "avg10") == 0 && !pnb_parse_double(eq, &pl->avg10))
			seen |= 1;
		else if (strcmp(tok, "avg60") == 0 && !pnb_parse_double(eq, &pl->avg60))
			seen |= 2;
		else if (strcmp(tok, "avg300") == 0 && !pnb_parse_double(eq, &pl->avg300))
			seen |= 4;
		else if (strcmp(tok, "total") == 0 && !pnb_parse_u64(eq, &pl->total_us))
			seen |= 8;
		else
			return -EINVAL;
	}
	if (seen != 15)
		return -EINVAL;
	pl->present = 1;
	return 0;
}

int pnb_parse_psi(const char *text, struct pnb_psi *psi)
{
	int r;

	memset(psi, 0, sizeof *psi);
	r = each_line(text, psi_line, psi);
	if (r)
		return r;
	return psi->some.present ? 0 : -EINVAL;
}

/* zoneinfo is indented free text; we need per zone: high, boost, managed,
 * protection.  Every zone the kernel prints carries all but boost (5.0+). */
struct zone_acc {
	struct pnb_zoneinfo *zi;
	int in_zone;
	uint64_t high, boost, managed, maxprot;
	int have_high, have_managed, have_prot;
};

static int zone_flush(struct zone_acc *a)
{
	if (a->in_zone) {
		uint64_t max;
		if (!a->have_high || !a->have_managed || !a->have_prot)
			return -EINVAL;
		/* "high" prints high_wmark_pages(), which adds the transient
		 * watermark_boost; calculate_totalreserve_pages() ran when
		 * the boost was reset to 0, so take it out again. */
		max = a->maxprot + (a->high > a->boost ? a->high - a->boost : 0);
		if (max > a->managed)
			max = a->managed;
		a->zi->totalreserve_pages += max;
	}
	a->in_zone = a->have_high = a->have_managed = a->have_prot = 0;
	a->high = a->boost = a->managed = a->maxprot = 0;
	return 0;
}

/* "name   <u64>" after the indentation: 1 if s names it, -EINVAL if the
 * number is bad, 0 if s is another line. */
static int zone_field(const char *s, const char *name, uint64_t *v)
{
	size_t n = strlen(name);

	if (strncmp(s, name, n) != 0 || s[n] != ' ')
		return 0;
	s += n + strspn(s + n, " ");
	return pnb_parse_u64(s, v) ? -EINVAL : 1;
}

static int zone_line(const char *line, size_t len, void *arg)
{
	struct zone_acc *a = arg;
	char buf[512];
	char *s;
	uint64_t v;
	int r;

	if (len >= sizeof buf)
		return -EINVAL;
	memcpy(buf, line, len);
	buf[len] = 0;
	if (strncmp(buf, "Node ", 5) == 0) {
		if (!strstr(buf, ", zone"))
			return -EINVAL;
		if ((r = zone_flush(a)))
			return r;
		a->in_zone = 1;
		a->zi->nzones++;
		return 0;
	}
	if (!a->in_zone)
		return 0;
	s = buf;
	while (*s == ' ')
		s++;
	if ((r = zone_field(s, "pages free", &v))) {
		if (r < 0)
			return r;
		a->zi->free_pages += v;
	} else if ((r = zone_field(s, "high", &a->high))) {
		if (r < 0)
			return r;
		a->have_high = 1;
	} else if ((r = zone_field(s, "boost", &a->boost))) {
		if (r < 0)
			return r;
	} else if ((r = zone_field(s, "managed", &a->managed))) {
		if (r < 0)
			return r;
		a->have_managed = 1;
	} else if (strncmp(s, "protection: (", 13) == 0) {
		char *p = s + 13, *end;
		for (;;) {
			unsigned long long x;
			/* lowmem_reserve is a long printed with %ld: digits only. */
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			errno = 0;
			x = strtoull(p, &end, 10);
			if (errno == ERANGE)
				return -EINVAL;
			if (x > a->maxprot)
				a->maxprot = x;
			if (*end == ')' && end[1] == 0)
				break;
			if (*end != ',')
				return -EINVAL;
			p = end + 1;
			while (*p == ' ')
				p++;
		}
		a->have_prot = 1;
	}
	return 0;
}

int pnb_parse_zoneinfo(const char *text, struct pnb_zoneinfo *zi)
{
	struct zone_acc a = { .zi = zi };
	int r;

	memset(zi, 0, sizeof *zi);
	r = each_line(text, zone_line, &a);
	if (!r)
		r = zone_flush(&a);
	if (!r && !zi->nzones)
		r = -EINVAL;
	return r;
}

/* 64 KiB covers /proc/vmstat, meminfo, memory.stat; zoneinfo on many CPUs is
 * bigger, hence the heap buffer sized for it. */
#define SMALL_FILE (64 * 1024)
#define BIG_FILE (4 * 1024 * 1024)

int pnb_read_kv(const char *root, const char *path, struct pnb_kv *kv)
{
	char buf[SMALL_FILE];
	ssize_t n = pnb_read_file(root, path, buf, sizeof buf);
	return n < 0 ? (int)n : pnb_parse_kv(buf, kv);
}

int pnb_read_meminfo(const char *root, struct pnb_kv *kv)
{
	char buf[SMALL_FILE];
	ssize_t n = pnb_read_file(root, "/proc/meminfo", buf, sizeof buf);
	return n < 0 ? (int)n : pnb_parse_meminfo(buf, kv);
}

int pnb_read_psi(const char *root, const char *path, struct pnb_psi *psi)
{
	char buf[1024];
	ssize_t n = pnb_read_file(root, path, buf, sizeof buf);
	return n < 0 ? (int)n : pnb_parse_psi(buf, psi);
}

int pnb_read_zoneinfo(const char *root, struct pnb_zoneinfo *zi)
{
	char *buf = malloc(BIG_FILE);
	ssize_t n;
	int r;

	if (!buf)
		return -ENOMEM;
	n = pnb_read_file(root, "/proc/zoneinfo", buf, BIG_FILE);
	r = n < 0 ? (int)n : pnb_parse_zoneinfo(buf, zi);
	free(buf);
	return r;
}
