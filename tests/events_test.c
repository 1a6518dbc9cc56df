/* The runner's brief reading of events.jsonl (harness/events.c): what the
 * progress line and the run status are built from. */
#include "run.h"

#include <atf-c.h>
#include <stdio.h>
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

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, unprotected_recorder_is_shown);
	ATF_TP_ADD_TC(tp, protected_recorder_says_nothing);
	return atf_no_error();
}
