/* Parsers for the /proc and cgroup files the mechanisms are built on.
 * Every reader takes a root prefix ("" or "/" for the live system, a
 * directory of captured files in tests).  Functions return 0 or -errno;
 * -EINVAL means the text is malformed. */
#ifndef PNB_PROCFS_H
#define PNB_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Read a whole small file (root + path) into buf, NUL-terminated.
 * Returns bytes read or -errno (-EFBIG if it does not fit). */
ssize_t pnb_read_file(const char *root, const char *path, char *buf, size_t len);
/* The same from an open fd, from offset 0: pread keeps the fd's position
 * out of it, so seq_file starts over and a probe rereads one fd forever. */
ssize_t pnb_pread_text(int fd, char *buf, size_t len);
/* Write a string (with or without its NUL, as told) to root + path. */
int pnb_write_file(const char *root, const char *path, const char *s, int with_nul);
/* Join root and path into out. */
int pnb_path(char *out, size_t len, const char *root, const char *path);

/* A flat "key value" table: /proc/vmstat, memory.events, memory.stat, and
 * /proc/meminfo ("Key:   123 kB", kept in kB as the file says). */
#define PNB_KV_MAX 320
#define PNB_KEY_LEN 48
struct pnb_kv {
	int n;
	struct { char key[PNB_KEY_LEN]; uint64_t val; } e[PNB_KV_MAX];
};

int pnb_parse_kv(const char *text, struct pnb_kv *kv);		/* "key value" */
int pnb_parse_meminfo(const char *text, struct pnb_kv *kv);	/* "Key: v [kB]" */
/* Value of key, or -ENOENT. */
int pnb_kv_get(const struct pnb_kv *kv, const char *key, uint64_t *val);
/* Value of key, or dflt when missing. */
uint64_t pnb_kv_or(const struct pnb_kv *kv, const char *key, uint64_t dflt);

/* /proc/pressure/<res> and cgroup2 <res>.pressure. */
struct pnb_psi_line {
	int present;
	double avg10, avg60, avg300;
	uint64_t total_us;
};
struct pnb_psi {
	struct pnb_psi_line some, full;
};
int pnb_parse_psi(const char *text, struct pnb_psi *psi);

/* /proc/zoneinfo: what the LMK rule needs. totalreserve pages as the kernel
 * computes them (calculate_totalreserve_pages): per zone, the largest
 * lowmem_reserve ("protection") plus the high watermark (less the transient
 * watermark boost, which was 0 when the kernel summed it), capped at managed.
 * A zone lacking high, managed or protection is -EINVAL. */
struct pnb_zoneinfo {
	int nzones;
	uint64_t totalreserve_pages;
	uint64_t free_pages;		/* sum of "pages free" */
};
int pnb_parse_zoneinfo(const char *text, struct pnb_zoneinfo *zi);

/* Convenience: read and parse in one go. */
int pnb_read_kv(const char *root, const char *path, struct pnb_kv *kv);
int pnb_read_meminfo(const char *root, struct pnb_kv *kv);
int pnb_read_psi(const char *root, const char *path, struct pnb_psi *psi);
int pnb_read_zoneinfo(const char *root, struct pnb_zoneinfo *zi);

#endif
