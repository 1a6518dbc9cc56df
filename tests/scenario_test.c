/* Scenario files: every shipped scenario parses; each kind of bad input is
 * an error naming the file, the line and what is wrong. */
#include <atf-c.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "probe.h"
#include "scenario.h"

static const char *good =
	"# comment\n"
	"[scenario]\n"
	"description = test\n"
	"reps = 5\n"
	"duration = 90s\n"
	"expect = oom\n"
	"\n"
	"[workload]\n"
	"name = fixed-rate\n"
	"args = --rate 10M/s --file {data}\n"
	"data_size = 1G\n"
	"[probes]\n"
	"probe = psi:some:150ms:1s\n"
	"probe = vmpressure:low\n"
	"[machine]\n"
	"memory = 512M\n"
	"cpus = 4\n";

ATF_TC(parse_good);
ATF_TC_HEAD(parse_good, tc)
{
	atf_tc_set_md_var(tc, "descr", "A complete scenario fills every field");
}
ATF_TC_BODY(parse_good, tc)
{
	struct scenario s;
	char err[512] = "";

	ATF_REQUIRE_EQ_MSG(scenario_parse_string("good.ini", good, &s, err, sizeof err), 0, "%s", err);
	ATF_CHECK_STREQ(s.name, "good");
	ATF_CHECK_EQ(s.reps, 5);
	ATF_CHECK_EQ(s.duration_ns, 90000000000ULL);
	ATF_CHECK_EQ(s.expect, SCN_EXPECT_OOM);
	ATF_CHECK_STREQ(s.workload, "fixed-rate");
	ATF_CHECK_STREQ(s.args, "--rate 10M/s --file {data}");
	ATF_CHECK_EQ(s.data_size, 1ULL << 30);
	ATF_CHECK_EQ(s.nprobes, 2);
	ATF_CHECK_STREQ(s.probes[1], "vmpressure:low");
	ATF_CHECK_EQ(s.memory, 512ULL << 20);
	ATF_CHECK_EQ(s.cpus, 4);
	ATF_CHECK_EQ(s.swap, SCN_SWAP_NONE);
	scenario_free(&s);
}

ATF_TC(defaults);
ATF_TC_HEAD(defaults, tc)
{
	atf_tc_set_md_var(tc, "descr", "Keys left out take the documented defaults");
}
ATF_TC_BODY(defaults, tc)
{
	struct scenario s;
	char err[512] = "";

	ATF_REQUIRE_EQ_MSG(scenario_parse_string("d.ini", "[workload]\nname = busy-beaver\n"
				"[probes]\nprobe = oom\n", &s, err, sizeof err), 0, "%s", err);
	ATF_CHECK_EQ(s.reps, 3);
	ATF_CHECK_EQ(s.duration_ns, 120000000000ULL);
	ATF_CHECK_EQ(s.memory, 256ULL << 20);
	ATF_CHECK_EQ(s.cpus, 2);
	ATF_CHECK_EQ(s.expect, SCN_EXPECT_ANY);
	scenario_free(&s);
}

/* Each bad input and the exact message it must produce. */
static const struct { const char *text, *msg; } bad[] = {
	{ "[workload]\nname = x\nrat = 3\n", "scenario x.ini:3: unknown key 'rat' in [workload]" },
	{ "[workload]\nname = x\n[probes]\nprobe = oom\n[nope]\na = b\n",
	  "scenario x.ini:6: unknown section [nope]" },
	{ "[scenario]\nreps = three\n", "scenario x.ini:2: reps: 'three' is not a whole number in range" },
	{ "[scenario]\nreps = 0\n", "scenario x.ini:2: reps: '0' is not a whole number in range" },
	{ "[scenario]\n\nduration = 10\n", "scenario x.ini:3: duration: '10' is not a duration (e.g. 90s, 500ms)" },
	{ "[scenario]\nduration = 100ms\n", "scenario x.ini:2: duration: '100ms' is out of range (1s..24h)" },
	{ "[scenario]\nexpect = maybe\n", "scenario x.ini:2: expect: 'maybe' is not one of oom, no-oom, any" },
	{ "[machine]\nmemory = 12Q\n", "scenario x.ini:2: memory: '12Q' is not a size (e.g. 256M, 1G)" },
	{ "[machine]\nmemory = 1M\n", "scenario x.ini:2: memory: '1M' is out of range" },
	{ "[machine]\nswap = disk\n", "scenario x.ini:2: swap: 'disk' is not none or zram:SIZE[:ALGO]" },
	{ "[machine]\nswap = zram\n", "scenario x.ini:2: swap: 'zram' is not none or zram:SIZE[:ALGO]" },
	{ "[machine]\nswap = zram:\n", "scenario x.ini:2: swap: 'zram:': SIZE must be 1M..1T or 1%..100% of memory" },
	{ "[machine]\nswap = zram:0%\n", "scenario x.ini:2: swap: 'zram:0%': SIZE must be 1M..1T or 1%..100% of memory" },
	{ "[machine]\nswap = zram:101%\n", "scenario x.ini:2: swap: 'zram:101%': SIZE must be 1M..1T or 1%..100% of memory" },
	{ "[machine]\nswap = zram:4k\n", "scenario x.ini:2: swap: 'zram:4k': SIZE must be 1M..1T or 1%..100% of memory" },
	{ "[machine]\nswap = zram:64M:lz5\n", "scenario x.ini:2: swap: 'zram:64M:lz5': ALGO is not one of lzo, lzo-rle, lz4, lz4hc, zstd, 842, deflate" },
	{ "[machine]\nswap = zram:64M:lz4:x\n", "scenario x.ini:2: swap: 'zram:64M:lz4:x': ALGO is not one of lzo, lzo-rle, lz4, lz4hc, zstd, 842, deflate" },
	{ "[machine]\nlru_gen = yes\n", "scenario x.ini:2: lru_gen: 'yes' is not one of on, off, kernel" },
	{ "[machine]\nmin_ttl_ms = 1s\n", "scenario x.ini:2: min_ttl_ms: '1s' is not a whole number of milliseconds 0..3600000" },
	{ "[machine]\nmin_ttl_ms = 3600001\n", "scenario x.ini:2: min_ttl_ms: '3600001' is not a whole number of milliseconds 0..3600000" },
	{ "[machine]\nhierarchy = v3\n", "scenario x.ini:2: hierarchy: 'v3' is not one of v1, v2, both" },
	{ "[machine]\nmemory_max = 50\n", "scenario x.ini:2: memory_max: '50' is not a size 1M..1T or 1%..100% of memory" },
	{ "[machine]\nmemory_high = 150%\n", "scenario x.ini:2: memory_high: '150%' is not a size 1M..1T or 1%..100% of memory" },
	{ "[workload]\nname = x\n[probes]\nprobe = oom\n[machine]\nlru_gen = off\nmin_ttl_ms = 1000\n",
	  "scenario x.ini: [machine] min_ttl_ms is MGLRU's, and lru_gen is off" },
	{ "[workload]\nname = x\n[probes]\nprobe = oom\n[machine]\nmemory_max = 50%\n",
	  "scenario x.ini: [machine] memory_max/memory_high apply to cgroup2 boots, and hierarchy is v1 (say v2 or both)" },
	{ "[machine]\ncpus = 2\ncpus = 3\n", "scenario x.ini:3: key 'cpus' given twice in [machine]" },
	{ "[workload]\nname = x\n", "scenario x.ini: [probes] needs at least one 'probe = SPEC'" },
	{ "[probes]\nprobe = oom\n", "scenario x.ini: [workload] name is required" },
	{ "[workload]\nname = x\nargs = --file {data}\n[probes]\nprobe = oom\n",
	  "scenario x.ini: [workload] args use {data} but data_size is not set" },
	{ "[workload]\nname = x\nthis is not ini\n", "scenario x.ini:3: not a 'key = value' line or [section]" },
};

ATF_TC(errors);
ATF_TC_HEAD(errors, tc)
{
	atf_tc_set_md_var(tc, "descr", "Bad input is an error naming file, line, key and value");
}
ATF_TC_BODY(errors, tc)
{
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct scenario s;
		char err[512] = "";
		int r = scenario_parse_string("x.ini", bad[i].text, &s, err, sizeof err);
		ATF_CHECK_MSG(r != 0, "case %zu accepted", i);
		ATF_CHECK_STREQ_MSG(err, bad[i].msg, "case %zu", i);
		if (r == 0)
			scenario_free(&s);
	}
}

ATF_TC(knobs);
ATF_TC_HEAD(knobs, tc)
{
	atf_tc_set_md_var(tc, "descr", "Machine knobs: accepted forms, their defaults, sizes as a share "
			  "of memory, the shape's run.env lines and overrides");
}
ATF_TC_BODY(knobs, tc)
{
	struct scenario s;
	char err[512] = "", env[512], txt[256];
	const char *base = "[workload]\nname = fixed-rate\n[probes]\nprobe = oom\n[machine]\n";
	char text[1024];

	/* Defaults: nothing asked, and the shape is only its hierarchy. */
	ATF_REQUIRE_EQ_MSG(scenario_parse_string("d.ini", base, &s, err, sizeof err), 0, "%s", err);
	ATF_CHECK_EQ(s.swap, SCN_SWAP_NONE);
	ATF_CHECK_EQ(s.lru_gen, SCN_LRU_GEN_KERNEL);
	ATF_CHECK_EQ(s.min_ttl_ms, -1);
	ATF_CHECK_EQ(s.hierarchy, SCN_HIER_V1);
	ATF_CHECK_EQ(scenario_size_bytes(&s, &s.memory_max), 0);
	ATF_REQUIRE_EQ(scenario_shape_env(&s, "v1", env, sizeof env), 0);
	ATF_CHECK_STREQ(env, "memory_hierarchy=v1\n");
	scenario_knobs_text(&s, txt, sizeof txt);
	ATF_CHECK_STREQ(txt, "");
	scenario_free(&s);

	snprintf(text, sizeof text, "%smemory = 256M\nswap = zram:50%%:lz4\nlru_gen = on\n"
		 "min_ttl_ms = 1000\nhierarchy = both\nmemory_max = 128M\nmemory_high = 40%%\n", base);
	ATF_REQUIRE_EQ_MSG(scenario_parse_string("k.ini", text, &s, err, sizeof err), 0, "%s", err);
	ATF_CHECK_EQ(s.swap, SCN_SWAP_ZRAM);
	ATF_CHECK_STREQ(s.swap_algo, "lz4");
	ATF_CHECK_EQ(scenario_size_bytes(&s, &s.swap_size), 128ULL << 20);
	ATF_CHECK_EQ(s.lru_gen, SCN_LRU_GEN_ON);
	ATF_CHECK_EQ(s.min_ttl_ms, 1000);
	ATF_CHECK_EQ(s.hierarchy, SCN_HIER_BOTH);
	ATF_CHECK_EQ(scenario_size_bytes(&s, &s.memory_max), 128ULL << 20);
	/* 40% of 256M, in whole pages. */
	ATF_CHECK_EQ(scenario_size_bytes(&s, &s.memory_high), (256ULL << 20) * 40 / 100 / 4096 * 4096);
	ATF_REQUIRE_EQ(scenario_shape_env(&s, "v2", env, sizeof env), 0);
	ATF_CHECK_STREQ(env, "memory_hierarchy=v2\nswap=zram:134217728:lz4\nlru_gen=on\nmin_ttl_ms=1000\n");
	/* Too small a buffer is refused, not cut. */
	ATF_CHECK_EQ(scenario_shape_env(&s, "v2", env, 30), -1);
	scenario_knobs_text(&s, txt, sizeof txt);
	ATF_CHECK_STREQ(txt, "swap=zram:50%:lz4 lru_gen=on min_ttl_ms=1000 memory_max=128M memory_high=40%");
	/* A run's override goes through the same table and checks. */
	ATF_CHECK_EQ(scenario_set_machine(&s, "lru_gen=off", err, sizeof err), -EINVAL);
	ATF_CHECK_STREQ(err, "scenario k: [machine] min_ttl_ms is MGLRU's, and lru_gen is off");
	/* ... and leaves the scenario as it was. */
	ATF_CHECK_EQ(s.lru_gen, SCN_LRU_GEN_ON);
	ATF_CHECK_EQ(scenario_set_machine(&s, "swap=none", err, sizeof err), 0);
	ATF_CHECK_EQ(s.swap, SCN_SWAP_NONE);
	ATF_CHECK_EQ(scenario_set_machine(&s, "swap=zram:2%", err, sizeof err), 0);
	ATF_CHECK_STREQ(s.swap_algo, "");
	ATF_REQUIRE_EQ(scenario_shape_env(&s, "v1", env, sizeof env), 0);
	ATF_CHECK_STREQ(env, "memory_hierarchy=v1\nswap=zram:5365760\nlru_gen=on\nmin_ttl_ms=1000\n");
	ATF_CHECK_EQ(scenario_set_machine(&s, "lru_gen=maybe", err, sizeof err), -EINVAL);
	ATF_CHECK_STREQ(err, "machine override 'lru_gen=maybe': lru_gen: 'maybe' is not one of on, off, kernel");
	ATF_CHECK_EQ(scenario_set_machine(&s, "colour=blue", err, sizeof err), -EINVAL);
	ATF_CHECK_STREQ(err, "machine override 'colour=blue': no key 'colour' in [machine] "
			"(pnbench scenario keys)");
	ATF_CHECK_EQ(scenario_set_machine(&s, "lru_gen", err, sizeof err), -EINVAL);
	ATF_CHECK_STREQ(err, "machine override 'lru_gen': not KEY=VALUE");
	scenario_free(&s);
}

ATF_TC(shipped);
ATF_TC_HEAD(shipped, tc)
{
	atf_tc_set_md_var(tc, "descr", "Every scenario under harness/scenarios parses, with valid probe specs");
}
ATF_TC_BODY(shipped, tc)
{
	static const char *names[] = { "fixed-rate", "stream-read", "busy-beaver", "swapless-fill",
				       "android/zram-fixed-rate", "android/zram-busy-beaver",
				       "android/zram-apps-psi" };
	const char *src = atf_tc_get_config_var(tc, "srcdir");

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char path[1024], err[512] = "";
		struct scenario s;
		snprintf(path, sizeof path, "%s/../harness/scenarios/%s.ini", src, names[i]);
		ATF_REQUIRE_EQ_MSG(scenario_load(path, &s, err, sizeof err), 0, "%s", err);
		for (int k = 0; k < s.nprobes; k++) {
			struct probe p;
			char perr[512];
			ATF_CHECK_EQ_MSG(probe_from_spec(&p, s.probes[k], perr, sizeof perr), 0,
					 "%s: %s", path, perr);
			probe_free(&p);
		}
		scenario_free(&s);
	}
}

ATF_TC(probe_specs);
ATF_TC_HEAD(probe_specs, tc)
{
	atf_tc_set_md_var(tc, "descr", "Unknown probes and empty names are rejected by name");
}
ATF_TC_BODY(probe_specs, tc)
{
	struct probe p;
	char err[512];

	ATF_CHECK(probe_from_spec(&p, "nosuch:1", err, sizeof err) != 0);
	ATF_CHECK_STREQ(err, "probe spec 'nosuch:1': unknown probe 'nosuch' (see 'pnbench probes')");
	ATF_CHECK(probe_from_spec(&p, ":x", err, sizeof err) != 0);
	ATF_CHECK_STREQ(err, "probe spec ':x': no probe name");
	for (size_t i = 0; probe_registry[i]; i++) {
		const char *ex = probe_registry[i]->example;
		ATF_CHECK_MSG(ex != NULL, "%s has no example spec", probe_registry[i]->name);
		if (ex) {
			ATF_CHECK_EQ_MSG(probe_from_spec(&p, ex, err, sizeof err), 0, "%s", err);
			probe_free(&p);
		}
	}
}

/* ---- hostile files (issue 10, 13) ---------------------------------------- */

static const char *probes_part = "[workload]\nname = fixed-rate\n[probes]\nprobe = oom\n";

ATF_TC(long_lines);
ATF_TC_HEAD(long_lines, tc)
{
	atf_tc_set_md_var(tc, "descr", "a 400-byte cmdline is one value (inih's 200-byte buffer split it and said 'given twice')");
}
ATF_TC_BODY(long_lines, tc)
{
	char text[2048], cmd[401], err[512] = "";
	struct scenario s;

	for (int i = 0; i < 400; i++)
		cmd[i] = i % 10 == 9 ? ' ' : 'a' + i % 10;
	cmd[400] = 0;
	snprintf(text, sizeof text, "%s[machine]\ncmdline = %s\n", probes_part, cmd);
	ATF_REQUIRE_EQ_MSG(scenario_parse_string("x.ini", text, &s, err, sizeof err), 0, "%s", err);
	ATF_CHECK_EQ(strlen(s.cmdline), 399);	/* the trailing blank trimmed */
	ATF_CHECK_EQ(strncmp(s.cmdline, cmd, 399), 0);
	scenario_free(&s);
}

ATF_TC(no_inline_comments);
ATF_TC_HEAD(no_inline_comments, tc)
{
	atf_tc_set_md_var(tc, "descr", "' ;' inside a value is part of it: comments start a line");
}
ATF_TC_BODY(no_inline_comments, tc)
{
	char text[1024], err[512] = "";
	struct scenario s;

	snprintf(text, sizeof text, "; a comment\n# another\n%s"
		 "[machine]\ncmdline = a=1 ;b=2 # c\n", probes_part);
	ATF_REQUIRE_EQ_MSG(scenario_parse_string("x.ini", text, &s, err, sizeof err), 0, "%s", err);
	ATF_CHECK_STREQ(s.cmdline, "a=1 ;b=2 # c");
	scenario_free(&s);
}

ATF_TC(unclosed_section);
ATF_TC_HEAD(unclosed_section, tc)
{
	atf_tc_set_md_var(tc, "descr", "'[machine' without ']' is reported on its own line");
}
ATF_TC_BODY(unclosed_section, tc)
{
	char text[1024], err[512] = "";
	struct scenario s;

	snprintf(text, sizeof text, "%s[machine\ncpus = 2\n", probes_part);
	ATF_CHECK(scenario_parse_string("x.ini", text, &s, err, sizeof err) != 0);
	ATF_CHECK_STREQ(err, "scenario x.ini:5: section header '[machine' lacks ']'");
}

ATF_TC(duplicate_probe);
ATF_TC_HEAD(duplicate_probe, tc)
{
	atf_tc_set_md_var(tc, "descr", "the same probe spec twice is refused (it merged into one group of double count)");
}
ATF_TC_BODY(duplicate_probe, tc)
{
	struct scenario s;
	char err[512] = "";

	ATF_CHECK(scenario_parse_string("x.ini", "[workload]\nname = x\n[probes]\nprobe = oom\n"
					"probe = vmpressure:low\nprobe = oom\n", &s, err, sizeof err) != 0);
	ATF_CHECK_STREQ(err, "scenario x.ini:6: probe 'oom' given twice");
}

static void write_bytes(const char *path, const char *b, size_t n)
{
	FILE *f = fopen(path, "w");
	ATF_REQUIRE(f);
	ATF_REQUIRE_EQ(fwrite(b, 1, n, f), n);
	ATF_REQUIRE_EQ(fclose(f), 0);
}

ATF_TC(nul_byte);
ATF_TC_HEAD(nul_byte, tc)
{
	atf_tc_set_md_var(tc, "descr", "a NUL byte is refused naming its line (it ended the file before)");
}
ATF_TC_BODY(nul_byte, tc)
{
	static const char b[] = "[workload]\nname = fixed-rate\n[probes]\nprobe = oom\n[machine]\ncpus = 2\0\nmemory = 1T\n";
	struct scenario s;
	char err[512] = "";

	write_bytes("nul.ini", b, sizeof b - 1);
	ATF_CHECK(scenario_load("nul.ini", &s, err, sizeof err) != 0);
	ATF_CHECK_STREQ(err, "scenario nul.ini:6: a NUL byte: not a text file");
}

ATF_TC(not_regular);
ATF_TC_HEAD(not_regular, tc)
{
	atf_tc_set_md_var(tc, "descr", "a directory, /dev/zero and a FIFO are refused at once, not read as empty or forever");
	atf_tc_set_md_var(tc, "timeout", "30");
}
ATF_TC_BODY(not_regular, tc)
{
	struct scenario s;
	char err[512] = "";

	ATF_REQUIRE_EQ(mkdir("dir.ini", 0755), 0);
	ATF_CHECK(scenario_load("dir.ini", &s, err, sizeof err) != 0);
	ATF_CHECK_STREQ(err, "scenario dir.ini: not a regular file");
	ATF_CHECK(scenario_load("/dev/zero", &s, err, sizeof err) != 0);
	ATF_CHECK_STREQ(err, "scenario /dev/zero: not a regular file");
	ATF_REQUIRE_EQ(mkfifo("fifo.ini", 0644), 0);
	ATF_CHECK(scenario_load("fifo.ini", &s, err, sizeof err) != 0);
	ATF_CHECK_STREQ(err, "scenario fifo.ini: not a regular file");
}

ATF_TC(too_big);
ATF_TC_HEAD(too_big, tc)
{
	atf_tc_set_md_var(tc, "descr", "a file over 1 MiB is refused before it is read");
}
ATF_TC_BODY(too_big, tc)
{
	struct scenario s;
	char err[512] = "";
	size_t n = (1 << 20) + 1;
	char *b = malloc(n);

	ATF_REQUIRE(b);
	memset(b, '#', n);
	b[n - 1] = '\n';
	write_bytes("big.ini", b, n);
	free(b);
	ATF_CHECK(scenario_load("big.ini", &s, err, sizeof err) != 0);
	ATF_CHECK_STREQ(err, "scenario big.ini: larger than 1 MiB: not a scenario");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, long_lines);
	ATF_TP_ADD_TC(tp, no_inline_comments);
	ATF_TP_ADD_TC(tp, unclosed_section);
	ATF_TP_ADD_TC(tp, duplicate_probe);
	ATF_TP_ADD_TC(tp, nul_byte);
	ATF_TP_ADD_TC(tp, not_regular);
	ATF_TP_ADD_TC(tp, too_big);
	ATF_TP_ADD_TC(tp, parse_good);
	ATF_TP_ADD_TC(tp, defaults);
	ATF_TP_ADD_TC(tp, knobs);
	ATF_TP_ADD_TC(tp, errors);
	ATF_TP_ADD_TC(tp, shipped);
	ATF_TP_ADD_TC(tp, probe_specs);
	return atf_no_error();
}
