/* The probes of pnbench's own modules (klmk, memnotify, simplelmk): spec
 * parsing, support decided from the image (a .ko, the reason file, or
 * nothing on a host), and the record-to-line conversion of each. */
#include <atf-c.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonl.h"
#include "kmodload.h"
#include "probe.h"
#include "probetest.h"

ATF_TC_WITHOUT_HEAD(klmk_specs);
ATF_TC_BODY(klmk_specs, tc)
{
	expect_parse_ok("klmk");
	expect_parse_ok("klmk:report");
	expect_parse_ok("klmk:kill");
	expect_parse_ok("klmk:kill:minfree=100,200:adj=0,900");
	expect_parse_ok("klmk:minfree=1536,2048,4096,16384");
	expect_parse_bad("klmk:shoot", "bad field 'shoot'");
	expect_parse_bad("klmk:report:report", "bad field 'report'");
	expect_parse_bad("klmk:minfree=2,1", "not strictly ascending");
	expect_parse_bad("klmk:minfree=1,2:adj=0", "minfree has 2 entries but adj has 1");
	expect_parse_bad("klmk:minfree=1:minfree=2", "bad field 'minfree=2'");
	expect_parse_bad("klmk:report:minfree=1:adj=1:x", "too many fields");
}

ATF_TC_WITHOUT_HEAD(memnotify_specs);
ATF_TC_BODY(memnotify_specs, tc)
{
	expect_parse_ok("memnotify");
	expect_parse_ok("memnotify:one");
	expect_parse_ok("memnotify:all:n=256");
	expect_parse_ok("memnotify:one:n=16:freq=0");
	expect_parse_ok("memnotify:freq=1s");
	expect_parse_bad("memnotify:some", "bad field 'some'");
	expect_parse_bad("memnotify:all:n=0", "n=1..256");
	expect_parse_bad("memnotify:all:n=257", "n=1..256");
	expect_parse_bad("memnotify:freq=2m", "freq=DURATION");
	expect_parse_bad("memnotify:n=2:n=3", "bad field 'n=3'");
	expect_parse_bad("memnotify:one:n=1:freq=1s:x", "too many fields");
}

ATF_TC_WITHOUT_HEAD(simplelmk_specs);
ATF_TC_BODY(simplelmk_specs, tc)
{
	expect_parse_ok("simplelmk");
	expect_parse_ok("simplelmk:3");
	expect_parse_ok("simplelmk:kswapd");
	expect_parse_ok("simplelmk:12:kswapd");
	expect_parse_bad("simplelmk:0", "bad aggression '0'");
	expect_parse_bad("simplelmk:13", "bad aggression '13'");
	expect_parse_bad("simplelmk:kswapd:3", "bad field '3'");
	expect_parse_bad("simplelmk:1:kswapd:x", "too many fields");
}

static int supported(const char *spec, const char *root, char *why, size_t len)
{
	struct probe p;
	struct probe_env env = { .root = root, .workload_pidfd = -1 };
	char err[512];
	int r;

	ATF_REQUIRE_MSG(!probe_from_spec(&p, spec, err, sizeof err), "%s", err);
	why[0] = 0;
	r = p.ops->supported(&p, &env, why, len);
	probe_free(&p);
	return r;
}

ATF_TC_WITHOUT_HEAD(support_from_image);
ATF_TC_BODY(support_from_image, tc)
{
	char why[512];

	/* A host: nothing under /pnbench/kmod. */
	mkdir("host", 0755);
	ATF_CHECK(supported("klmk", "host", why, sizeof why) < 0);
	ATF_CHECK_MSG(strstr(why, "never load modules into the host's kernel"), "%s", why);
	/* An image whose module build failed: its reason, verbatim. */
	put_file("failed/pnbench/kmod/unsupported",
		 "building pnbench's modules for 6.1.0-x failed (make failed; log /c/x.log): boom\n");
	ATF_CHECK(supported("memnotify:all", "failed", why, sizeof why) < 0);
	ATF_CHECK_STREQ(why, "building pnbench's modules for 6.1.0-x failed (make failed; log /c/x.log): boom");
	/* An image with the modules. */
	put_file("image/pnbench/kmod/pnb_klmk.ko", "x");
	put_file("image/pnbench/kmod/pnb_memnotify.ko", "x");
	ATF_CHECK_EQ(supported("klmk:kill", "image", why, sizeof why), 0);
	ATF_CHECK_EQ(supported("memnotify", "image", why, sizeof why), 0);
	ATF_CHECK(supported("simplelmk", "image", why, sizeof why) < 0);
	ATF_CHECK_MSG(strstr(why, "pnb_simplelmk.ko"), "%s", why);
	/* Loaded by hand already. */
	put_file("loaded/sys/module/pnb_simplelmk/parameters/aggression", "1\n");
	ATF_CHECK_EQ(supported("simplelmk", "loaded", why, sizeof why), 0);
}

/* Emit one record through a probe into a file and parse the line back. */
static json_t *line_of(const char *spec, int kind, const void *rec, uint64_t now_ns)
{
	struct probe p;
	struct jsonl out;
	char err[512], buf[4096];
	json_t *o;
	FILE *f;
	int fd = open("out.jsonl", O_RDWR | O_CREAT | O_TRUNC, 0644);

	ATF_REQUIRE(fd >= 0);
	ATF_REQUIRE_MSG(!probe_from_spec(&p, spec, err, sizeof err), "%s", err);
	jsonl_init(&out, fd, 1000000000ULL);
	/* Without open(): the conversion needs only what parse() set. */
	if (kind == 0) {
		ATF_REQUIRE(!pnb_klmk_emit(&p, rec, now_ns, &out));
	} else if (kind == 1) {
		ATF_REQUIRE(!pnb_memnotify_emit(&p, 3, rec, now_ns, &out));
	} else {
		ATF_REQUIRE(!pnb_simplelmk_emit(&p, rec, now_ns, &out));
	}
	probe_free(&p);
	close(fd);
	f = fopen("out.jsonl", "r");
	ATF_REQUIRE(f && fgets(buf, sizeof buf, f));
	fclose(f);
	o = json_loads(buf, 0, NULL);
	ATF_REQUIRE_MSG(o, "not JSON: %s", buf);
	return o;
}

static long long iget(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	ATF_REQUIRE_MSG(json_is_integer(v), "no integer %s", k);
	return json_integer_value(v);
}

static const char *sget(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	ATF_REQUIRE_MSG(json_is_string(v), "no string %s", k);
	return json_string_value(v);
}

ATF_TC_WITHOUT_HEAD(records_to_lines);
ATF_TC_BODY(records_to_lines, tc)
{
	struct pnb_klmk_event k = { .seq = 1, .t_ns = 3000000000ULL, .other_free = -10,
				    .other_file = 100, .reserve_pages = 862, .scan_calls = 7,
				    .victim_rss = 42000, .min_score_adj = 6, .level_idx = 2,
				    .minfree = 4096, .victim_pid = 87, .victim_adj = 900,
				    .kswapd = 1, .reclaim_pid = 42 };
	memcpy(k.victim_comm, "pnbench-workloa", 16);	/* TASK_COMM_LEN: not terminated */
	json_t *o = line_of("klmk", 0, &k, 3000500000ULL);
	/* The kernel's time is the event's time; the read time rides along. */
	ATF_CHECK_EQ(iget(o, "t_ns"), 2000000000LL);
	ATF_CHECK_EQ(iget(o, "observed_t_ns"), 2000500000LL);
	ATF_CHECK(json_real_value(json_object_get(o, "delivery_us")) == 500.0);
	ATF_CHECK_STREQ(sget(o, "type"), "notify");
	ATF_CHECK_STREQ(sget(o, "mech"), "klmk");
	ATF_CHECK_STREQ(sget(o, "level"), "adj6");
	ATF_CHECK_EQ(iget(o, "victim_pid"), 87);
	ATF_CHECK_EQ(iget(o, "victim_adj"), 900);
	ATF_CHECK_STREQ(sget(o, "victim_comm"), "pnbench-workloa");
	ATF_CHECK(json_is_true(json_object_get(o, "kswapd")));
	ATF_CHECK(json_is_false(json_object_get(o, "killed")));
	ATF_CHECK_EQ(iget(o, "scan_calls"), 7);
	ATF_CHECK_EQ(iget(o, "minfree_kB"), 4096LL * sysconf(_SC_PAGESIZE) / 1024);
	ATF_CHECK_EQ(iget(o, "other_free_kB"), -10LL * sysconf(_SC_PAGESIZE) / 1024);
	json_decref(o);
	/* Nobody eligible: no victim keys but the pid 0. */
	k.victim_pid = 0;
	o = line_of("klmk", 0, &k, 3000500000ULL);
	ATF_CHECK_EQ(iget(o, "victim_pid"), 0);
	ATF_CHECK(!json_object_get(o, "victim_comm"));
	json_decref(o);

	struct pnb_memnotify_event m = { .seq = 5, .t_ns = 2000000000ULL, .nr_deactivated = 32,
					 .missed = 2, .listeners = 16, .delivered = 1, .rank = 0,
					 .priority = 10, .kswapd = 1 };
	o = line_of("memnotify:one:n=16", 1, &m, 2000000250ULL);
	ATF_CHECK_STREQ(sget(o, "level"), "pressure");
	ATF_CHECK_EQ(iget(o, "listener"), 3);
	ATF_CHECK_EQ(iget(o, "seq"), 5);
	ATF_CHECK_EQ(iget(o, "delivered"), 1);
	ATF_CHECK_EQ(iget(o, "listeners"), 16);
	ATF_CHECK_EQ(iget(o, "missed"), 2);
	ATF_CHECK(json_real_value(json_object_get(o, "wakeup_us")) == 0.25);
	json_decref(o);

	struct pnb_simplelmk_event s = { .seq = 1, .t_ns = 1500000000ULL, .free_pages = 600,
					 .priority = 1, .threshold = 1, .kswapd = 0, .reclaim_pid = 87 };
	o = line_of("simplelmk", 2, &s, 1500001000ULL);
	ATF_CHECK_STREQ(sget(o, "level"), "direct");
	ATF_CHECK_EQ(iget(o, "priority"), 1);
	ATF_CHECK_EQ(iget(o, "reclaim_pid"), 87);
	json_decref(o);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, klmk_specs);
	ATF_TP_ADD_TC(tp, memnotify_specs);
	ATF_TP_ADD_TC(tp, simplelmk_specs);
	ATF_TP_ADD_TC(tp, support_from_image);
	ATF_TP_ADD_TC(tp, records_to_lines);
	return atf_no_error();
}
