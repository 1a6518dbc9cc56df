/* Native integration: each workload runs briefly on the machine's kernel in
 * a small memory cgroup, and real events must arrive on one timeline. */
#include <atf-c.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

struct run {
	json_t *lines;		/* array of every event object */
	json_t *meta;
	pid_t workload_pid;
	int oom_kmsg, oom_vmstat;
	json_int_t first_oom_ns, end_ns;
};

static int probe_status(const struct run *r, const char *spec, const char **reason)
{
	size_t i;
	json_t *o;
	json_array_foreach(r->lines, i, o) {
		const char *type, *p, *st, *why = "";
		if (json_unpack(o, "{s:s}", "type", &type) || strcmp(type, "probe"))
			continue;
		if (json_unpack(o, "{s:s, s:s, s?s}", "probe", &p, "status", &st, "reason", &why))
			continue;
		if (!strcmp(p, spec)) {
			if (reason)
				*reason = why;
			return !strcmp(st, "armed") ? 1 : 0;
		}
	}
	return -1;
}

/* First notify time of a probe spec at a level, or -1. */
static json_int_t first_notify(const struct run *r, const char *spec, const char *level, int *count)
{
	size_t i;
	json_t *o;
	json_int_t first = -1;
	*count = 0;
	json_array_foreach(r->lines, i, o) {
		const char *type, *p, *lv;
		json_int_t t;
		if (json_unpack(o, "{s:s, s:I}", "type", &type, "t_ns", &t) || strcmp(type, "notify"))
			continue;
		if (json_unpack(o, "{s:s, s:s}", "probe", &p, "level", &lv))
			continue;
		if (strcmp(p, spec) || (level && strcmp(lv, level)))
			continue;
		if (first < 0)
			first = t;
		(*count)++;
	}
	return first;
}

static void require_native(void)
{
	if (getuid() != 0)
		pnb_skip("native runs create memory cgroups: need root");
	if (access("/sys/fs/cgroup/memory/cgroup.procs", W_OK) &&
	    access("/sys/fs/cgroup/cgroup.subtree_control", W_OK))
		pnb_skip("no writable cgroup v1 memory hierarchy or cgroup2 root on this machine");
}

static void do_run(const atf_tc_t *tc, const char *scenario, struct run *r)
{
	const char *src = atf_tc_get_config_var(tc, "srcdir");
	char pnbench[1024], scn[1024], out[1024], path[1400], cwd[512];
	struct cmd_result *res = calloc(1, sizeof *res);

	require_native();
	getcwd(cwd, sizeof cwd);
	snprintf(out, sizeof out, "%s/results", cwd);
	snprintf(scn, sizeof scn, "%s/data/scenarios/%s.ini", src, scenario);
	bin_path(src, "pnbench", pnbench, sizeof pnbench);
	char *argv[] = { pnbench, "run", "--kernel", "native", "--scenario", scn,
			 "--reps", "1", "--out", out, NULL };
	ATF_REQUIRE_EQ(run_cmd(argv, 240, res), 0);
	ATF_REQUIRE_EQ_MSG(res->status, 0, "pnbench run exit %d: %s%s", res->status, res->out, res->err);

	memset(r, 0, sizeof *r);
	r->lines = json_array();
	r->first_oom_ns = -1;
	snprintf(path, sizeof path, "%s/native/%s/1/meta.json", out, scenario);
	r->meta = json_load_file(path, 0, NULL);
	ATF_REQUIRE_MSG(r->meta, "no meta.json at %s", path);
	snprintf(path, sizeof path, "%s/native/%s/1/events.jsonl", out, scenario);
	FILE *f = fopen(path, "r");
	ATF_REQUIRE_MSG(f, "no events.jsonl at %s", path);
	char *line = NULL;
	size_t cap = 0;
	int n = 0;
	while (getline(&line, &cap, f) > 0) {
		json_error_t e;
		json_t *o = json_loads(line, 0, &e);
		ATF_REQUIRE_MSG(o, "events line %d is not JSON: %s", n + 1, e.text);
		const char *type = NULL, *what = NULL, *source = NULL;
		json_int_t t = -1, pid = 0;
		ATF_REQUIRE_MSG(!json_unpack(o, "{s:I, s:s}", "t_ns", &t, "type", &type),
				"line %d lacks t_ns/type", n + 1);
		if (n == 0)
			ATF_REQUIRE_STREQ(type, "header");
		if (!strcmp(type, "truth") &&
		    !json_unpack(o, "{s:s, s:s, s?I}", "what", &what, "source", &source, "pid", &pid)) {
			if (!strcmp(what, "workload_start"))
				r->workload_pid = (pid_t)pid;
			if (!strcmp(what, "oom_kill") && !strcmp(source, "kmsg")) {
				ATF_CHECK_EQ_MSG(pid, r->workload_pid,
						 "OOM victim pid %lld is not the workload %d",
						 (long long)pid, (int)r->workload_pid);
				if (r->first_oom_ns < 0)
					r->first_oom_ns = t;
				r->oom_kmsg++;
			}
			if (!strcmp(what, "oom_kill") && !strcmp(source, "vmstat"))
				r->oom_vmstat++;
		}
		if (!strcmp(type, "end"))
			r->end_ns = t;
		json_array_append_new(r->lines, o);
		n++;
	}
	free(line);
	fclose(f);
	free(res);
	const char *last;
	ATF_REQUIRE(n > 2);
	json_unpack(json_array_get(r->lines, n - 1), "{s:s}", "type", &last);
	ATF_REQUIRE_STREQ_MSG(last, "end", "the last line is not the end record");
	json_t *complete = json_object_get(json_object_get(r->meta, "result"), "complete");
	ATF_CHECK_MSG(json_is_true(complete), "meta.json does not say complete");
}

static int count_type(const struct run *r, const char *want)
{
	size_t i;
	json_t *o;
	int n = 0;
	json_array_foreach(r->lines, i, o) {
		const char *type;
		if (!json_unpack(o, "{s:s}", "type", &type) && !strcmp(type, want))
			n++;
	}
	return n;
}

static void free_run(struct run *r)
{
	json_decref(r->lines);
	json_decref(r->meta);
}

ATF_TC(fixed_rate_oom);
ATF_TC_HEAD(fixed_rate_oom, tc)
{
	atf_tc_set_md_var(tc, "descr", "fixed-rate in a 96 MB memcg: samples, vmpressure low/medium/"
			  "critical and an OOM kill of the workload, on one timeline (the order of "
			  "vmpressure and the kill is printed, not asserted)");
	atf_tc_set_md_var(tc, "timeout", "300");
}
ATF_TC_BODY(fixed_rate_oom, tc)
{
	struct run r;
	int n;

	do_run(tc, "fixed-rate-small", &r);
	ATF_CHECK_MSG(count_type(&r, "sample") >= 20, "only %d samples", count_type(&r, "sample"));
	ATF_CHECK_MSG(count_type(&r, "progress") >= 10, "too few progress marks");
	ATF_REQUIRE_EQ_MSG(r.oom_kmsg, 1, "%d OOM kills seen in /dev/kmsg", r.oom_kmsg);
	ATF_CHECK_EQ_MSG(r.oom_vmstat, 1, "vmstat oom_kill deltas sum to %d", r.oom_vmstat);
	ATF_CHECK(r.first_oom_ns > 0 && r.first_oom_ns <= r.end_ns);

	const char *why = "";
	if (probe_status(&r, "vmpressure:low:hierarchy", &why) != 1)
		pnb_skip("vmpressure unsupported on this kernel: %s", why);
	static const char *lv[] = { "low", "medium", "critical" };
	static const char *spec[] = { "vmpressure:low:hierarchy", "vmpressure:medium:hierarchy",
				      "vmpressure:critical:hierarchy" };
	for (int i = 0; i < 3; i++) {
		json_int_t t = first_notify(&r, spec[i], lv[i], &n);
		ATF_CHECK_MSG(n > 0, "no vmpressure %s event", lv[i]);
		/* "Critical before OOM" is not promised by vmpressure's design
		 * (a work item delivers it, windows coalesce): measured and
		 * reported here, asserted nowhere. */
		printf("vmpressure %s: %d events, first %+.3f ms from the OOM kill read\n", lv[i],
		       n, (t - r.first_oom_ns) / 1e6);
	}
	free_run(&r);
}

ATF_TC(stream_read_no_oom);
ATF_TC_HEAD(stream_read_no_oom, tc)
{
	atf_tc_set_md_var(tc, "descr", "stream-read of 192 MB through a 64 MB memcg: reclaim "
			  "happens, nobody is OOM-killed, the workload exits 0");
	atf_tc_set_md_var(tc, "timeout", "300");
}
ATF_TC_BODY(stream_read_no_oom, tc)
{
	struct run r;
	json_int_t code = -1;

	do_run(tc, "stream-read-small", &r);
	ATF_CHECK_EQ_MSG(r.oom_kmsg + r.oom_vmstat, 0, "an OOM kill during a streaming read");
	json_unpack(json_array_get(r.lines, json_array_size(r.lines) - 1), "{s?I}",
		    "workload_exit_code", &code);
	ATF_CHECK_EQ_MSG(code, 0, "stream-read exit code %lld", (long long)code);
	free_run(&r);
}

ATF_TC(busy_beaver_oom);
ATF_TC_HEAD(busy_beaver_oom, tc)
{
	atf_tc_set_md_var(tc, "descr", "busy-beaver in a 96 MB memcg is OOM-killed");
	atf_tc_set_md_var(tc, "timeout", "300");
}
ATF_TC_BODY(busy_beaver_oom, tc)
{
	struct run r;

	do_run(tc, "busy-beaver-small", &r);
	ATF_CHECK_MSG(r.oom_kmsg >= 1, "no OOM kill in /dev/kmsg");
	free_run(&r);
}

ATF_TC(swapless_fill_phases);
ATF_TC_HEAD(swapless_fill_phases, tc)
{
	atf_tc_set_md_var(tc, "descr", "swapless-fill: the fill phase comes before the alloc "
			  "phase, and the run ends in an OOM kill");
	atf_tc_set_md_var(tc, "timeout", "300");
}
ATF_TC_BODY(swapless_fill_phases, tc)
{
	struct run r;
	size_t i;
	json_t *o;
	json_int_t fill = -1, alloc = -1;

	do_run(tc, "swapless-fill-small", &r);
	json_array_foreach(r.lines, i, o) {
		const char *type, *ph;
		json_int_t t;
		if (json_unpack(o, "{s:s, s:I, s:s}", "type", &type, "t_ns", &t, "phase", &ph))
			continue;
		if (!strcmp(ph, "fill") && fill < 0)
			fill = t;
		if (!strcmp(ph, "alloc") && alloc < 0)
			alloc = t;
	}
	ATF_CHECK_MSG(fill >= 0 && alloc > fill, "phases fill=%lld alloc=%lld", (long long)fill,
		      (long long)alloc);
	ATF_CHECK_MSG(r.oom_kmsg >= 1, "no OOM kill in /dev/kmsg");
	ATF_CHECK_MSG(r.first_oom_ns > alloc, "OOM kill before the alloc phase");
	free_run(&r);
}

ATF_TC(probe_cpu);
ATF_TC_HEAD(probe_cpu, tc)
{
	atf_tc_set_md_var(tc, "descr", "the recorder's end event charges CPU time to each armed "
			  "probe (probe_cpu_ns): one key per armed spec, none for an unsupported "
			  "one, pollers non-zero, and their sum within the recorder's own CPU time");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(probe_cpu, tc)
{
	const char *src = atf_tc_get_config_var(tc, "srcdir");
	char rec[1024];
	struct cmd_result *res = calloc(1, sizeof *res);
	/* Pollers at 10 ms over 1 s: ~100 calls each, so each has a cost to
	 * measure; klmk is unsupported natively (no module is ever loaded). */
	char *argv[] = { rec, "--no-mlock", "--grace", "0s", "--out", "events.jsonl",
			 "--probe", "sample:10ms", "--probe", "memavail:10%:10ms",
			 "--probe", "lmk:poll:10ms", "--probe", "klmk:report",
			 "--", "/bin/sleep", "1", NULL };

	bin_path(src, "pnbench-record", rec, sizeof rec);
	ATF_REQUIRE_EQ(run_cmd(argv, 30, res), 0);
	ATF_REQUIRE_EQ_MSG(res->status, 0, "pnbench-record exit %d: %s", res->status, res->err);
	free(res);

	json_t *armed = json_object(), *end = NULL, *o;
	FILE *f = fopen("events.jsonl", "r");
	char *line = NULL;
	size_t cap = 0;
	ATF_REQUIRE(f);
	while (getline(&line, &cap, f) > 0) {
		const char *type, *spec, *st;
		o = json_loads(line, 0, NULL);
		ATF_REQUIRE(o);
		if (!json_unpack(o, "{s:s, s:s, s:s}", "type", &type, "probe", &spec, "status", &st) &&
		    !strcmp(type, "probe") && !strcmp(st, "armed"))
			json_object_set_new(armed, spec, json_true());
		if (!json_unpack(o, "{s:s}", "type", &type) && !strcmp(type, "end")) {
			json_decref(end);
			end = json_incref(o);
		}
		json_decref(o);
	}
	free(line);
	fclose(f);
	ATF_REQUIRE_MSG(end, "no end event");
	json_t *pc = json_object_get(end, "probe_cpu_ns");
	ATF_REQUIRE_MSG(json_is_object(pc), "the end event has no probe_cpu_ns object");
	json_int_t total = json_integer_value(json_object_get(end, "recorder_cpu_ns")), sum = 0;
	const char *spec;
	json_t *v;
	ATF_CHECK_EQ_MSG(json_object_size(pc), json_object_size(armed),
			 "%zu probe_cpu_ns keys for %zu armed probes",
			 json_object_size(pc), json_object_size(armed));
	ATF_CHECK_MSG(!json_object_get(pc, "klmk:report"), "an unsupported probe was charged");
	json_object_foreach(armed, spec, v) {
		json_t *ns = json_object_get(pc, spec);
		ATF_CHECK_MSG(json_is_integer(ns) && json_integer_value(ns) > 0,
			      "armed probe %s has no positive probe_cpu_ns", spec);
		/* A 10 ms poller that took a whole second of CPU per second
		 * would be a broken measurement, not a slow probe. */
		ATF_CHECK_MSG(json_integer_value(ns) < 1000000000, "%s: %lld ns of CPU in 1 s",
			      spec, (long long)json_integer_value(ns));
		sum += json_integer_value(ns);
	}
	ATF_CHECK_MSG(total > 0 && sum <= total, "probes' CPU %lld ns > the recorder's %lld ns",
		      (long long)sum, (long long)total);
	json_decref(armed);
	json_decref(end);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, probe_cpu);
	ATF_TP_ADD_TC(tp, fixed_rate_oom);
	ATF_TP_ADD_TC(tp, stream_read_no_oom);
	ATF_TP_ADD_TC(tp, busy_beaver_oom);
	ATF_TP_ADD_TC(tp, swapless_fill_phases);
	return atf_no_error();
}
