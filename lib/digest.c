/* Digest helpers (digest.h): SHA-256 over nettle, and FNV-1a. */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <string.h>
#include <unistd.h>

void pnb_hex(const uint8_t *d, size_t n, char *hex)
{
	static const char x[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = x[d[i] >> 4];
		hex[2 * i + 1] = x[d[i] & 15];
	}
	hex[2 * n] = 0;
}

void pnb_sha256_str(const char *s, char hex[65])
{
	struct sha256_ctx c;
	uint8_t d[SHA256_DIGEST_SIZE];

	sha256_init(&c);
	sha256_update(&c, strlen(s), (const uint8_t *)s);
	sha256_digest(&c, sizeof d, d);
	pnb_hex(d, sizeof d, hex);
}

int pnb_sha256_file(const char *path, char hex[65])
{
	struct sha256_ctx c;
	uint8_t d[SHA256_DIGEST_SIZE], buf[1 << 16];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	sha256_init(&c);
	while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			sha256_update(&c, (size_t)n, buf);
	if (n < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	close(fd);
	sha256_digest(&c, sizeof d, d);
	pnb_hex(d, sizeof d, hex);
	return 0;
}

uint64_t pnb_fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}
