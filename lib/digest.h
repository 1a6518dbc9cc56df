/* Digests: SHA-256 as lowercase hex (the cache keys of kernels, sources and
 * patch series, and the digests meta.json records), and FNV-1a. */
#ifndef PNB_DIGEST_H
#define PNB_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/* n bytes of d as 2n hex digits and a NUL. */
void pnb_hex(const uint8_t *d, size_t n, char *hex);
void pnb_sha256_str(const char *s, char hex[65]);
/* 0, or -errno when path cannot be read. */
int pnb_sha256_file(const char *path, char hex[65]);

/* FNV-1a 64 over len bytes, continuing from h (PNB_FNV1A_INIT to start):
 * cheap content keys (guest images, module builds), not for security. */
#define PNB_FNV1A_INIT 0xcbf29ce484222325ULL
uint64_t pnb_fnv1a(uint64_t h, const void *data, size_t len);

#endif
