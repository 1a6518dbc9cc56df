/* Shared by the probe test programs: spec parsing checks and fixture files.
 * They report through ATF, so only test case bodies may call them. */
#ifndef PNB_PROBETEST_H
#define PNB_PROBETEST_H

/* probe_from_spec(spec) succeeds. */
void expect_parse_ok(const char *spec);
/* probe_from_spec(spec) fails with -EINVAL and an error naming needle. */
void expect_parse_bad(const char *spec, const char *needle);
/* Write text to path, creating the directories above it. */
void put_file(const char *path, const char *text);

#endif
