/* The cgroup v2 memory.events probe: spec parsing, the "unsupported" reason
 * on hosts whose memory controller is not on cgroup2, and the counter diff
 * against root-prefixed copies (this host cannot give it a live cgroup2 memcg). */
#include <atf-c.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonl.h"
#include "probe.h"
#include "probetest.h"
#include "procfs.h"

static void copy_fixture(const atf_tc_t *tc, const char *rel, const char *to)
{
	char src[4096], text[8192];
	ssize_t n;

	snprintf(src, sizeof src, "%s/data/memevents/%s", atf_tc_get_config_var(tc, "srcdir"),
		 rel);
	n = pnb_read_file("", src, text, sizeof text);
	ATF_REQUIRE_MSG(n >= 0, "fixture %s: %s", src, strerror((int)-n));
	put_file(to, text);
}

static void root_here(char *root, size_t len)
{
	ATF_REQUIRE(getcwd(root, len - 8));
	strcat(root, "/root");
}

/* All lines of the events file as JSON objects. */
static int read_events(const char *path, json_t **ev, int max)
{
	char buf[65536], *line, *save;
	ssize_t r = pnb_read_file("", path, buf, sizeof buf);
	int n = 0;

	ATF_REQUIRE_MSG(r >= 0, "read %s: %s", path, strerror((int)-r));
	for (line = strtok_r(buf, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save)) {
		ev[n] = json_loads(line, 0, NULL);
		ATF_REQUIRE_MSG(ev[n], "bad JSON line '%s'", line);
		n++;
	}
	return n;
}

static json_t *find_level(json_t **ev, int n, const char *level)
{
	for (int i = 0; i < n; i++)
		if (strcmp(json_string_value(json_object_get(ev[i], "level")), level) == 0)
			return ev[i];
	return NULL;
}

static long long jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	ATF_REQUIRE_MSG(json_is_integer(v), "event has no integer '%s'", k);
	return json_integer_value(v);
}

ATF_TC_WITHOUT_HEAD(parse_valid);
ATF_TC_BODY(parse_valid, tc)
{
	expect_parse_ok("memevents");
	expect_parse_ok("memevents:local");
}

ATF_TC_WITHOUT_HEAD(parse_invalid);
ATF_TC_BODY(parse_invalid, tc)
{
	expect_parse_bad("memevents:global", "bad argument 'global'");
	expect_parse_bad("memevents:Local", "bad argument 'Local'");
	expect_parse_bad("memevents:local:x", "too many fields");
}

ATF_TC_WITHOUT_HEAD(unsupported_on_this_host);
ATF_TC_BODY(unsupported_on_this_host, tc)
{
	/* The run has no cgroup2 memcg (memcg_v2 ""), as on a host whose memory
	 * controller is bound to cgroup v1: the reason must say so. */
	struct probe_env env = { .root = "", .domain = PNB_DOMAIN_SYSTEM, .workload_pidfd = -1 };
	char why[PROBE_ERR_LEN] = "";
	struct probe p;

	ATF_REQUIRE(probe_from_spec(&p, "memevents", why, sizeof why) == 0);
	ATF_CHECK(p.ops->supported(&p, &env, why, sizeof why) != 0);
	printf("reason: %s\n", why);
	ATF_CHECK_MSG(strstr(why, "no cgroup2 memory controller for this run"),
		      "reason '%s'", why);
	ATF_CHECK_MSG(strstr(why, "cgroup2"), "reason '%s' does not mention cgroup2", why);
	probe_free(&p);
}

ATF_TC_WITHOUT_HEAD(unsupported_reason_names_mount);
ATF_TC_BODY(unsupported_reason_names_mount, tc)
{
	/* This host's mount table and cgroup2 controllers, captured. */
	struct probe_env env = { .domain = PNB_DOMAIN_SYSTEM, .workload_pidfd = -1 };
	char root[4096], why[PROBE_ERR_LEN] = "";
	struct probe p;

	root_here(root, sizeof root);
	copy_fixture(tc, "host-6.18/proc/self/mounts", "root/proc/self/mounts");
	copy_fixture(tc, "host-6.18/sys/fs/cgroup/unified/cgroup.controllers",
		     "root/sys/fs/cgroup/unified/cgroup.controllers");
	env.root = root;
	ATF_REQUIRE(probe_from_spec(&p, "memevents", why, sizeof why) == 0);
	ATF_CHECK_EQ(p.ops->supported(&p, &env, why, sizeof why), -ENOENT);
	ATF_CHECK_STREQ(why, "no cgroup2 memory controller for this run (cgroup2 at "
			"/sys/fs/cgroup/unified has controllers: hugetlb; memory is bound to "
			"cgroup v1 at /sys/fs/cgroup/memory)");

	/* No cgroup2 at all. */
	put_file("root/proc/self/mounts",
		 "proc /proc proc rw 0 0\ncgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n");
	ATF_CHECK_EQ(p.ops->supported(&p, &env, why, sizeof why), -ENOENT);
	ATF_CHECK_STREQ(why, "no cgroup2 memory controller for this run (no cgroup2 is "
			"mounted; memory is on cgroup v1 at /sys/fs/cgroup/memory)");

	/* cgroup2 with an empty controller list and no v1 memory. */
	put_file("root/proc/self/mounts", "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n");
	put_file("root/sys/fs/cgroup/cgroup.controllers", "\n");
	ATF_CHECK_EQ(p.ops->supported(&p, &env, why, sizeof why), -ENOENT);
	ATF_CHECK_STREQ(why, "no cgroup2 memory controller for this run (cgroup2 at "
			"/sys/fs/cgroup has controllers: none)");
	probe_free(&p);
}

ATF_TC_WITHOUT_HEAD(missing_or_malformed_file);
ATF_TC_BODY(missing_or_malformed_file, tc)
{
	struct probe_env env = { .domain = PNB_DOMAIN_MEMCG_V2, .workload_pidfd = -1,
				 .memcg_v2 = "/sys/fs/cgroup/pnbtest" };
	char root[4096], why[PROBE_ERR_LEN] = "";
	struct probe p;

	root_here(root, sizeof root);
	env.root = root;
	copy_fixture(tc, "cg2-memory/sys/fs/cgroup/pnbtest/memory.events",
		     "root/sys/fs/cgroup/pnbtest/memory.events");
	ATF_REQUIRE(probe_from_spec(&p, "memevents:local", why, sizeof why) == 0);
	ATF_CHECK_EQ(p.ops->supported(&p, &env, why, sizeof why), -ENOENT);
	ATF_CHECK_MSG(strstr(why, "memory.events.local") && strstr(why, "5.2"), "reason '%s'",
		      why);
	probe_free(&p);

	put_file("root/sys/fs/cgroup/pnbtest/memory.events", "low 0\nhigh five\n");
	ATF_REQUIRE(probe_from_spec(&p, "memevents", why, sizeof why) == 0);
	ATF_CHECK_EQ(p.ops->supported(&p, &env, why, sizeof why), -EINVAL);
	ATF_CHECK_MSG(strstr(why, "not a 'key count' table"), "reason '%s'", why);
	probe_free(&p);
}

static void counters_case(const atf_tc_t *tc, const char *spec, const char *file)
{
	struct probe_env env = { .domain = PNB_DOMAIN_MEMCG_V2, .workload_pidfd = -1,
				 .memcg_v2 = "/sys/fs/cgroup/pnbtest" };
	char root[4096], why[PROBE_ERR_LEN] = "", path[256];
	json_t *ev[16], *o;
	struct jsonl out;
	struct probe p;
	int efd, n;

	root_here(root, sizeof root);
	env.root = root;
	snprintf(path, sizeof path, "root/sys/fs/cgroup/pnbtest/%s", file);
	copy_fixture(tc, "cg2-memory/sys/fs/cgroup/pnbtest/memory.events", path);
	efd = open("events.jsonl", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ATF_REQUIRE(efd >= 0);
	jsonl_init(&out, efd, 0);
	ATF_REQUIRE(probe_from_spec(&p, spec, why, sizeof why) == 0);
	ATF_REQUIRE_MSG(p.ops->supported(&p, &env, why, sizeof why) == 0, "%s", why);
	ATF_REQUIRE_MSG(p.ops->open(&p, &env, &out, why, sizeof why) == 0, "%s", why);
	ATF_CHECK_EQ(p.nfd, 1);
	ATF_CHECK_EQ(p.events[0], (uint32_t)EPOLLPRI);

	/* Nothing changed: nothing to say. */
	ATF_REQUIRE_EQ(p.ops->handle(&p, 0, 10, &out), 0);
	ATF_CHECK_EQ(out.lines, 0);

	/* high +3, oom +1, oom_kill +1; a key the kernel added later counts
	 * from 0. */
	put_file(path, "low 0\nhigh 8\nmax 2\noom 1\noom_kill 1\noom_group_kill 0\n"
		       "sock_throttled 2\n");
	ATF_REQUIRE_EQ(p.ops->handle(&p, 0, 20, &out), 0);
	n = read_events("events.jsonl", ev, 16);
	ATF_REQUIRE_EQ(n, 4);
	ATF_REQUIRE((o = find_level(ev, n, "high")));
	ATF_CHECK_EQ(jint(o, "delta"), 3);
	ATF_CHECK_EQ(jint(o, "count"), 8);
	ATF_CHECK_EQ(jint(o, "t_ns"), 20);
	ATF_CHECK_STREQ(json_string_value(json_object_get(o, "mech")), "memevents");
	ATF_CHECK_STREQ(json_string_value(json_object_get(o, "probe")), spec);
	ATF_REQUIRE((o = find_level(ev, n, "oom")));
	ATF_CHECK_EQ(jint(o, "delta"), 1);
	ATF_REQUIRE((o = find_level(ev, n, "oom_kill")));
	ATF_CHECK_EQ(jint(o, "count"), 1);
	ATF_REQUIRE((o = find_level(ev, n, "sock_throttled")));
	ATF_CHECK_EQ(jint(o, "delta"), 2);
	ATF_CHECK(!find_level(ev, n, "max"));
	ATF_CHECK(!find_level(ev, n, "low"));
	for (int i = 0; i < n; i++)
		json_decref(ev[i]);

	/* The same text again: the diff is against the last read. */
	ATF_REQUIRE_EQ(p.ops->handle(&p, 0, 30, &out), 0);
	ATF_CHECK_EQ(out.lines, 4);
	put_file(path, "low 0\nhigh 9\nmax 2\noom 1\noom_kill 1\noom_group_kill 0\n"
		       "sock_throttled 2\n");
	ATF_REQUIRE_EQ(p.ops->handle(&p, 0, 40, &out), 0);
	ATF_CHECK_EQ(out.lines, 5);

	/* A file that is no longer a counter table ends the probe. */
	put_file(path, "garbage\n");
	ATF_CHECK_EQ(p.ops->handle(&p, 0, 50, &out), -EINVAL);
	p.ops->close(&p, &out);
	ATF_CHECK_EQ(p.fd[0], -1);
	probe_free(&p);
	close(efd);
}

ATF_TC_WITHOUT_HEAD(counters_diffed);
ATF_TC_BODY(counters_diffed, tc)
{
	counters_case(tc, "memevents", "memory.events");
}

ATF_TC_WITHOUT_HEAD(counters_diffed_local);
ATF_TC_BODY(counters_diffed_local, tc)
{
	counters_case(tc, "memevents:local", "memory.events.local");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, parse_valid);
	ATF_TP_ADD_TC(tp, parse_invalid);
	ATF_TP_ADD_TC(tp, unsupported_on_this_host);
	ATF_TP_ADD_TC(tp, unsupported_reason_names_mount);
	ATF_TP_ADD_TC(tp, missing_or_malformed_file);
	ATF_TP_ADD_TC(tp, counters_diffed);
	ATF_TP_ADD_TC(tp, counters_diffed_local);
	return atf_no_error();
}
