/* lib/jsonl.h: one object per line, "t_ns" and "type" first, strings
 * escaped, write errors reported and kept, nothing lost through a pipe. */
#include <atf-c.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "jsonl.h"

/* Everything the write end produced, once it is closed. */
static char *drain(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	ATF_REQUIRE(buf);
	for (;;) {
		ssize_t r;
		if (n + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			ATF_REQUIRE(buf);
		}
		r = read(fd, buf + n, cap - 1 - n);
		ATF_REQUIRE_MSG(r >= 0, "read: %s", strerror(errno));
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

static size_t count_char(const char *s, size_t len, char c)
{
	size_t k = 0;
	for (size_t i = 0; i < len; i++)
		k += s[i] == c;
	return k;
}

ATF_TC_WITHOUT_HEAD(one_line);
ATF_TC_BODY(one_line, tc)
{
	struct jsonl w;
	int p[2];
	json_t *o, *back;
	json_error_t jerr;
	char *text;
	size_t len;

	ATF_REQUIRE_EQ(pipe(p), 0);
	jsonl_init(&w, p[1], 1000000000ULL);
	o = jsonl_new(&w, "sample", 1000000500ULL);
	/* Inserted out of alphabetical order on purpose. */
	jset_int(o, "zeta", -3);
	jset_str(o, "alpha", "x");
	jset_real(o, "mid", 0.5);
	jset_bool(o, "flag", 1);
	jset_str(o, "nul", NULL);
	jset_int(o, "big", 9007199254740993LL);
	ATF_REQUIRE_EQ(jsonl_emit(&w, o), 0);
	ATF_CHECK_EQ(w.lines, 1);
	ATF_CHECK_EQ(w.error, 0);
	close(p[1]);
	text = drain(p[0], &len);
	close(p[0]);

	ATF_CHECK_STREQ(text, "{\"t_ns\":500,\"type\":\"sample\",\"zeta\":-3,\"alpha\":\"x\","
			      "\"mid\":0.5,\"flag\":true,\"nul\":\"\",\"big\":9007199254740993}\n");
	ATF_CHECK_EQ(count_char(text, len, '\n'), 1);
	ATF_CHECK_EQ(text[len - 1], '\n');
	back = json_loads(text, 0, &jerr);
	ATF_REQUIRE_MSG(back, "jansson: %s", jerr.text);
	ATF_CHECK_EQ(json_integer_value(json_object_get(back, "t_ns")), 500);
	ATF_CHECK_STREQ(json_string_value(json_object_get(back, "type")), "sample");
	json_decref(back);
	free(text);
}

ATF_TC_WITHOUT_HEAD(t_ns);
ATF_TC_BODY(t_ns, tc)
{
	struct jsonl w;
	json_t *o;

	jsonl_init(&w, -1, 5000);
	ATF_CHECK_EQ(w.lines, 0);
	ATF_CHECK_EQ(w.error, 0);
	o = jsonl_new(&w, "x", 5000);
	ATF_CHECK_EQ(json_integer_value(json_object_get(o, "t_ns")), 0);
	json_decref(o);
	o = jsonl_new(&w, "x", 5000 + 123456789012ULL);
	ATF_CHECK_EQ(json_integer_value(json_object_get(o, "t_ns")), 123456789012LL);
	json_decref(o);
	/* An event stamped before the run started (a kernel timestamp read
	 * late) must not wrap to 2^64 - n. */
	o = jsonl_new(&w, "x", 4000);
	ATF_CHECK_EQ(json_integer_value(json_object_get(o, "t_ns")), 0);
	json_decref(o);
}

ATF_TC_WITHOUT_HEAD(escaping);
ATF_TC_BODY(escaping, tc)
{
	static const char nasty[] = "say \"hi\"\nback\\slash\ttab\x01\x1f del\x7f "
				    "\xc2\xb5s \xe2\x86\x92";
	struct jsonl w;
	int p[2];
	json_t *o, *back;
	json_error_t jerr;
	char *text;
	size_t len;

	ATF_REQUIRE_EQ(pipe(p), 0);
	jsonl_init(&w, p[1], 0);
	o = jsonl_new(&w, "type with \"quotes\"\n", 1);
	jset_str(o, "comm", nasty);
	jset_str(o, "key\nwith newline", "v");
	ATF_REQUIRE_EQ(jsonl_emit(&w, o), 0);
	close(p[1]);
	text = drain(p[0], &len);
	close(p[0]);

	/* The only raw newline is the terminator; no raw control bytes. */
	ATF_CHECK_EQ(count_char(text, len, '\n'), 1);
	ATF_CHECK_EQ(text[len - 1], '\n');
	for (size_t i = 0; i + 1 < len; i++)
		ATF_CHECK_MSG((unsigned char)text[i] >= 0x20, "raw byte %#x at %zu",
			      (unsigned char)text[i], i);
	ATF_CHECK(strstr(text, "say \\\"hi\\\"\\nback\\\\slash\\ttab\\u0001\\u001F"));
	ATF_CHECK(strstr(text, "\"key\\nwith newline\":\"v\""));
	back = json_loads(text, 0, &jerr);
	ATF_REQUIRE_MSG(back, "jansson: %s", jerr.text);
	ATF_CHECK_STREQ(json_string_value(json_object_get(back, "comm")), nasty);
	ATF_CHECK_STREQ(json_string_value(json_object_get(back, "type")), "type with \"quotes\"\n");
	json_decref(back);
	free(text);
}

ATF_TC_WITHOUT_HEAD(write_error_closed);
ATF_TC_BODY(write_error_closed, tc)
{
	struct jsonl w;
	int p[2];

	ATF_REQUIRE_EQ(pipe(p), 0);
	close(p[0]);
	close(p[1]);
	jsonl_init(&w, p[1], 0);
	ATF_CHECK_EQ(jsonl_emit(&w, jsonl_new(&w, "x", 1)), -EBADF);
	ATF_CHECK_EQ(w.error, -EBADF);
	ATF_CHECK_EQ(w.lines, 0);
}

ATF_TC_WITHOUT_HEAD(write_error_sticky);
ATF_TC_BODY(write_error_sticky, tc)
{
	struct jsonl w;
	int p[2], fd;

	/* No reader: EPIPE, with SIGPIPE ignored as the recorder does. */
	ATF_REQUIRE(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
	ATF_REQUIRE_EQ(pipe(p), 0);
	close(p[0]);
	jsonl_init(&w, p[1], 0);
	ATF_CHECK_EQ(jsonl_emit(&w, jsonl_new(&w, "x", 1)), -EPIPE);
	ATF_CHECK_EQ(w.error, -EPIPE);
	/* A later, different failure is returned but the first one stays. */
	close(p[1]);
	ATF_CHECK_EQ(jsonl_emit(&w, jsonl_new(&w, "x", 2)), -EBADF);
	ATF_CHECK_EQ(w.error, -EPIPE);
	/* Success afterwards does not clear it either. */
	fd = open("/dev/null", O_WRONLY);
	ATF_REQUIRE(fd >= 0);
	w.fd = fd;
	ATF_CHECK_EQ(jsonl_emit(&w, jsonl_new(&w, "x", 3)), 0);
	ATF_CHECK_EQ(w.error, -EPIPE);
	ATF_CHECK_EQ(w.lines, 1);
	close(fd);
}

#define MANY 10000

struct reader {
	int fd;
	long lines, bad, out_of_order;
};

static void *read_lines(void *arg)
{
	struct reader *rd = arg;
	FILE *f = fdopen(rd->fd, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return NULL;
	while ((n = getline(&line, &cap, f)) > 0) {
		json_error_t jerr;
		json_t *o;

		if (line[n - 1] != '\n') {
			rd->bad++;
			continue;
		}
		o = json_loads(line, 0, &jerr);
		if (!o || !json_is_integer(json_object_get(o, "i")))
			rd->bad++;
		else if (json_integer_value(json_object_get(o, "i")) != rd->lines)
			rd->out_of_order++;
		json_decref(o);
		rd->lines++;
	}
	free(line);
	fclose(f);
	return NULL;
}

ATF_TC_WITHOUT_HEAD(many_through_pipe);
ATF_TC_BODY(many_through_pipe, tc)
{
	struct reader rd = { 0 };
	struct jsonl w;
	pthread_t th;
	int p[2];

	ATF_REQUIRE_EQ(pipe(p), 0);
	rd.fd = p[0];
	ATF_REQUIRE_EQ(pthread_create(&th, NULL, read_lines, &rd), 0);
	jsonl_init(&w, p[1], 0);
	for (int i = 0; i < MANY; i++) {
		json_t *o = jsonl_new(&w, "progress", (uint64_t)i);
		jset_int(o, "i", i);
		/* Lines of varying length, some longer than PIPE_BUF. */
		if (i % 97 == 0) {
			static char pad[6000];
			memset(pad, 'p', sizeof pad - 1);
			jset_str(o, "pad", pad);
		}
		ATF_REQUIRE_EQ(jsonl_emit(&w, o), 0);
	}
	close(p[1]);
	ATF_REQUIRE_EQ(pthread_join(th, NULL), 0);
	ATF_CHECK_EQ(w.lines, MANY);
	ATF_CHECK_EQ(w.error, 0);
	ATF_CHECK_EQ(rd.lines, MANY);
	ATF_CHECK_EQ(rd.bad, 0);
	ATF_CHECK_EQ(rd.out_of_order, 0);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, one_line);
	ATF_TP_ADD_TC(tp, t_ns);
	ATF_TP_ADD_TC(tp, escaping);
	ATF_TP_ADD_TC(tp, write_error_closed);
	ATF_TP_ADD_TC(tp, write_error_sticky);
	ATF_TP_ADD_TC(tp, many_through_pipe);
	return atf_no_error();
}
