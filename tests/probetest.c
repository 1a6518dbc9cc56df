/* Helpers the probe test programs share (tests/probetest.h). */
#include "probetest.h"

#include "probe.h"

#include <atf-c.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void expect_parse_ok(const char *spec)
{
	struct probe p;
	char err[PROBE_ERR_LEN] = "";
	int r = probe_from_spec(&p, spec, err, sizeof err);

	ATF_CHECK_MSG(r == 0, "'%s' rejected: %s", spec, err);
	if (r == 0)
		probe_free(&p);
}

void expect_parse_bad(const char *spec, const char *needle)
{
	struct probe p;
	char err[PROBE_ERR_LEN] = "";
	int r = probe_from_spec(&p, spec, err, sizeof err);

	ATF_CHECK_MSG(r == -EINVAL, "'%s' accepted (r=%d), want an error naming '%s'",
		      spec, r, needle);
	if (r == 0) {
		probe_free(&p);
		return;
	}
	ATF_CHECK_MSG(strstr(err, needle), "'%s': error '%s' does not name '%s'", spec, err,
		      needle);
}

void put_file(const char *path, const char *text)
{
	char dir[4096], *s;
	int fd;

	snprintf(dir, sizeof dir, "%s", path);
	for (s = strchr(dir + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		ATF_REQUIRE_MSG(mkdir(dir, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", dir,
				strerror(errno));
		*s = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ATF_REQUIRE_MSG(fd >= 0, "create %s: %s", path, strerror(errno));
	ATF_REQUIRE(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}
