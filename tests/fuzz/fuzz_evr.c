/* libFuzzer target, differential: the events reader's own scanner
 * (lib/events_read.c) against jansson on one line.  The scanner may hand a
 * line to jansson, but a line it takes itself must be one jansson accepts,
 * with every member the same (type and value, the last of duplicate keys);
 * and a line jansson takes as an object must parse.  Any difference aborts,
 * which libFuzzer reports with the input. */
#include "events_read.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void differ(const char *what, const char *text)
{
	fprintf(stderr, "fuzz_evr: %s on line: %s\n", what, text);
	abort();
}

static int same_number(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

/* Every member of the jansson object j against the scanner's object o. */
static void compare_object(const struct evr_line *l, int node, json_t *j)
{
	const char *key;
	json_t *v;
	struct evr_obj o = { .l = l, .node = node, .ok = 1 };
	int members = 0;

	json_object_foreach(j, key, v) {
		struct evr_obj sub;
		int64_t i;

		members++;
		if (!evr_has(o, key))
			differ("a member jansson has is missing", l->text);
		switch (json_typeof(v)) {
		case JSON_OBJECT:
			sub = evr_get_obj(o, key);
			if (!evr_ok(sub))
				differ("an object member is not an object", l->text);
			compare_object(l, sub.node, v);
			break;
		case JSON_STRING:
			if (!evr_str(o, key) || strcmp(evr_str(o, key), json_string_value(v)))
				differ("a string member differs", l->text);
			break;
		case JSON_INTEGER:
			if (evr_int(o, key, &i) || i != json_integer_value(v))
				differ("an integer member differs", l->text);
			break;
		case JSON_REAL:
			if (!evr_int(o, key, &i) || !same_number(evr_num(o, key), json_real_value(v)))
				differ("a real member differs", l->text);
			break;
		case JSON_TRUE:
		case JSON_FALSE:
		case JSON_NULL:
			if (evr_str(o, key) || !isnan(evr_num(o, key)) || evr_ok(evr_get_obj(o, key)))
				differ("a literal member reads as a value", l->text);
			break;
		case JSON_ARRAY:
			/* The scanner hands arrays to jansson: it cannot have taken this line. */
			differ("the scanner took a line with an array", l->text);
		}
	}
	/* No member the scanner invented: count its distinct keys. */
	int from = node + 1, to = node < 0 ? l->nnodes : l->node[node].end, distinct = 0;
	for (int a = from; a < to; a = l->node[a].kind == EVR_OBJ ? l->node[a].end : a + 1) {
		int later = 0;
		for (int b = l->node[a].kind == EVR_OBJ ? l->node[a].end : a + 1; b < to;
		     b = l->node[b].kind == EVR_OBJ ? l->node[b].end : b + 1)
			later |= l->node[a].tag == l->node[b].tag &&
				 !memcmp(l->node[a].key, l->node[b].key, (size_t)(l->node[a].tag >> 32));
		distinct += !later;
	}
	if (distinct != members)
		differ("the scanner has other members than jansson", l->text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct evr_line l;
	struct evr_reader rd;
	FILE *f = fmemopen((void *)data, size, "r");

	if (!f)
		return 0;
	evr_init(&rd, f);
	/* The first line only: one comparison per input keeps it fast. */
	if (evr_next(&rd, &l) == 1) {
		json_error_t e;
		json_t *j = json_loadb(l.text, strlen(l.text), 0, &e);
		int parsed = evr_parse(&l) == 0;

		if (l.fast && !json_is_object(j))
			differ("the scanner took a line jansson refuses", l.text);
		if (json_is_object(j) && !parsed)
			differ("a line jansson takes did not parse", l.text);
		if (l.fast)
			compare_object(&l, -1, j);
		json_decref(j);
		evr_line_clear(&l);
	}
	evr_free(&rd);
	fclose(f);
	return 0;
}
