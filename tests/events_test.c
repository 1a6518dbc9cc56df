/* The runner's brief reading of events.jsonl (harness/events.c): what the
 * progress line and the run status are built from. */
#include "analysis.h"
#include "events_read.h"
#include "run.h"

#include <atf-c.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>

static void write_events(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ATF_REQUIRE(f);
	fputs(text, f);
	fclose(f);
}

ATF_TC_WITHOUT_HEAD(unprotected_recorder_is_shown);
ATF_TC_BODY(unprotected_recorder_is_shown, tc)
{
	struct events_summary s;
	char line[2048];

	write_events("e.jsonl",
		"{\"t_ns\":1,\"type\":\"header\"}\n"
		"{\"t_ns\":2,\"type\":\"recorder\",\"what\":\"unprotected\",\"detail\":\"cannot set oom_score_adj -1000\"}\n"
		"{\"t_ns\":3,\"type\":\"recorder\",\"what\":\"unprotected\",\"detail\":\"mlockall: Cannot allocate memory\"}\n"
		"{\"t_ns\":4,\"type\":\"end\",\"reason\":\"workload exited\"}\n");
	ATF_REQUIRE_EQ(events_summarize("e.jsonl", &s), 0);
	ATF_CHECK_EQ(s.unprotected_count, 2);
	ATF_CHECK_STREQ(s.unprotected, "cannot set oom_score_adj -1000");
	events_summary_line(&s, line, sizeof line);
	ATF_CHECK_MSG(strstr(line, "recorder UNPROTECTED (cannot set oom_score_adj -1000, and more)"),
		      "%s", line);
}

ATF_TC_WITHOUT_HEAD(protected_recorder_says_nothing);
ATF_TC_BODY(protected_recorder_says_nothing, tc)
{
	struct events_summary s;
	char line[2048];

	write_events("e.jsonl",
		"{\"t_ns\":1,\"type\":\"header\"}\n"
		"{\"t_ns\":2,\"type\":\"recorder\",\"what\":\"missed_deadline\",\"detail\":\"x\"}\n"
		"{\"t_ns\":4,\"type\":\"end\",\"reason\":\"workload exited\"}\n");
	ATF_REQUIRE_EQ(events_summarize("e.jsonl", &s), 0);
	ATF_CHECK_EQ(s.unprotected_count, 0);
	events_summary_line(&s, line, sizeof line);
	ATF_CHECK_MSG(!strstr(line, "UNPROTECTED"), "%s", line);
	ATF_CHECK_STREQ(line, "no oom_kill");
}

/* A memcg run: kmsg reports the workload's kill and another task's, and
 * tracefs marks the workload's thread group twice. */
static const char memcg_kills[] =
	"{\"t_ns\":1,\"type\":\"header\",\"domain\":\"memcg\",\"probes\":[\"oom\"]}\n"
	"{\"t_ns\":10,\"type\":\"truth\",\"what\":\"workload_start\",\"source\":\"recorder\",\"pid\":100}\n"
	"{\"t_ns\":50,\"type\":\"truth\",\"what\":\"oom_kill\",\"source\":\"kmsg\",\"pid\":200}\n"
	"{\"t_ns\":60,\"type\":\"truth\",\"what\":\"mark_victim\",\"source\":\"tracefs\",\"pid\":100,\"tgid\":100}\n"
	"{\"t_ns\":61,\"type\":\"truth\",\"what\":\"mark_victim\",\"source\":\"tracefs\",\"pid\":100,\"tgid\":100}\n"
	"{\"t_ns\":70,\"type\":\"truth\",\"what\":\"oom_kill\",\"source\":\"kmsg\",\"pid\":100}\n"
	"{\"t_ns\":90,\"type\":\"end\",\"reason\":\"workload_exit\"}\n";

ATF_TC_WITHOUT_HEAD(progress_and_analyze_agree_on_kills);
ATF_TC_BODY(progress_and_analyze_agree_on_kills, tc)
{
	struct events_summary s;
	struct an_run r;
	char err[256];

	ATF_REQUIRE_EQ(mkdir("run", 0755), 0);
	write_events("run/events.jsonl", memcg_kills);
	ATF_REQUIRE_EQ(events_summarize("run/events.jsonl", &s), 0);
	ATF_REQUIRE_EQ(an_run_load("run", &r, err, sizeof err), 0);
	/* The other task's kmsg kill is not the workload's. */
	ATF_CHECK_EQ(r.oom_kills, 1);
	ATF_CHECK_EQ(s.oom_kills, r.oom_kills);
	/* tracefs first: the kernel's own time. */
	ATF_CHECK_EQ(r.t_oom, 60);
	ATF_CHECK_EQ(s.first_oom_t_ns, r.t_oom);
	an_run_free(&r);
}

/* Each line read by the reader's scanner and by jansson alone: the same
 * verdict and the same values. */
static void same_as_jansson(const char *text, int want_fast)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct evr_reader rd;
	struct evr_line l = { 0 };
	json_error_t e;

	ATF_REQUIRE(f);
	evr_init(&rd, f);
	ATF_REQUIRE_EQ(evr_next(&rd, &l), 1);
	json_t *j = json_loads(l.text, 0, &e);
	int ok = evr_parse(&l) == 0;
	ATF_CHECK_EQ_MSG(ok, json_is_object(j), "%s", text);
	ATF_CHECK_EQ_MSG(l.fast, want_fast, "%s", text);
	if (ok && json_is_object(j)) {
		struct evr_obj o = evr_root(&l), v = evr_get_obj(o, "v");
		const char *keys[] = { "a", "b", "c", "s" };
		int64_t i1 = 0, i2 = 0;
		for (size_t k = 0; k < 4; k++) {
			json_t *x = json_object_get(j, keys[k]);
			double d = evr_num(o, keys[k]);
			ATF_CHECK_MSG(json_is_number(x) ? d == json_number_value(x) : isnan(d), "%s %s", text, keys[k]);
			ATF_CHECK_EQ_MSG(evr_i64(o, keys[k], &i1) == 0, json_is_number(x), "%s", text);
			if (json_is_integer(x))
				ATF_CHECK_EQ(i1, json_integer_value(x));
			const char *str = evr_str(o, keys[k]);
			ATF_CHECK_MSG(json_is_string(x) ? str && !strcmp(str, json_string_value(x)) : !str,
				      "%s %s", text, keys[k]);
		}
		ATF_CHECK_EQ(evr_ok(v), json_is_object(json_object_get(j, "v")));
		ATF_CHECK_EQ(evr_i64(v, "x", &i2) == 0, json_is_integer(json_object_get(json_object_get(j, "v"), "x")));
	}
	json_decref(j);
	evr_line_free(&l);
	evr_free(&rd);
	fclose(f);
}

ATF_TC_WITHOUT_HEAD(reader_matches_jansson);
ATF_TC_BODY(reader_matches_jansson, tc)
{
	same_as_jansson("{\"a\":1,\"b\":-2.5,\"c\":1e3,\"s\":\"x y\",\"v\":{\"x\":7}}\n", 1);
	same_as_jansson("{\"a\":0.1,\"b\":123456789.123456,\"c\":-0.0,\"s\":\"\"}", 1);
	/* The last of equal keys, as jansson keeps it. */
	same_as_jansson("{\"a\":1,\"a\":2,\"v\":{\"x\":1},\"v\":{\"y\":2}}\n", 1);
	same_as_jansson(" { \"a\" : 9223372036854775807 , \"b\" : -9223372036854775808 }\n", 1);
	/* jansson's, by fallback: escapes, arrays, non-ASCII. */
	same_as_jansson("{\"s\":\"a\\\"b\",\"a\":1}\n", 0);
	same_as_jansson("{\"a\":[1,2],\"b\":3}\n", 0);
	same_as_jansson("{\"s\":\"\xc3\xa9\"}\n", 0);
	same_as_jansson("{\"a\":1e400}\n", 0);
	/* Not JSON objects: refused by both. */
	same_as_jansson("{\"a\":9223372036854775808}\n", 0);
	same_as_jansson("{\"a\":01}\n", 0);
	same_as_jansson("{\"a\":1,}\n", 0);
	same_as_jansson("{\"a\":1} x\n", 0);
	same_as_jansson("{\"a\":1, \"v\":{\"x\":\n", 0);
	same_as_jansson("[1]\n", 0);
	same_as_jansson("{\"a\":tru}\n", 0);
}

/* The type of a recorder line without a parse; anything else says "parse". */
ATF_TC_WITHOUT_HEAD(peek_type);
ATF_TC_BODY(peek_type, tc)
{
	static const struct { const char *line; const char *type; } t[] = {
		{ "{\"t_ns\":12,\"type\":\"sample\",\"view\":{}}\n", "sample" },
		{ "{\"t_ns\":12,\"type\":\"notify\"\n", "notify" },	/* cut: the type is still known */
		{ "{\"type\":\"sample\",\"t_ns\":12}\n", NULL },	/* not the recorder's order */
		{ "{\"t_ns\":12,\"type\":\"sample\",\"type\":\"app\"}\n", NULL },	/* jansson keeps the last */
		{ "{\"t_ns\":12,\"type\":\"sa\\\"mple\"}\n", NULL },
		{ "{\"t_ns\":,\"type\":\"x\"}\n", "x" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		FILE *f = fmemopen((void *)t[i].line, strlen(t[i].line), "r");
		struct evr_reader rd;
		struct evr_line l = { 0 };
		char buf[32];

		ATF_REQUIRE(f);
		evr_init(&rd, f);
		ATF_REQUIRE_EQ(evr_next(&rd, &l), 1);
		int r = evr_peek_type(&l, buf, sizeof buf);
		ATF_CHECK_EQ_MSG(r == 0, t[i].type != NULL, "%s", t[i].line);
		if (!r && t[i].type)
			ATF_CHECK_STREQ(buf, t[i].type);
		evr_free(&rd);
		fclose(f);
	}
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, unprotected_recorder_is_shown);
	ATF_TP_ADD_TC(tp, protected_recorder_says_nothing);
	ATF_TP_ADD_TC(tp, progress_and_analyze_agree_on_kills);
	ATF_TP_ADD_TC(tp, reader_matches_jansson);
	ATF_TP_ADD_TC(tp, peek_type);
	return atf_no_error();
}
