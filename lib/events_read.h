/* The one reader of events.jsonl (docs/design.md, "One events reader").
 *
 * Lines come from a large buffer, not getline.  Each line is scanned by a
 * small validating pull scanner that knows exactly the JSON a recorder
 * writes: objects of scalars and objects, ASCII strings without escapes,
 * numbers in range.  That covers the hot "sample" and "notify" lines.
 * Anything else (an array, an escape, a byte >= 0x80, a NUL, deep nesting,
 * a number out of range, invalid JSON) goes to jansson's json_loads, so a
 * line means exactly what it meant when every line went through jansson:
 * the scanner only accepts lines jansson accepts, with the same values
 * (the last of duplicate keys wins, as in jansson).
 *
 * Consumers read values through struct evr_obj, which hides which path
 * parsed the line. */
#ifndef PNB_EVENTS_READ_H
#define PNB_EVENTS_READ_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum evr_kind { EVR_NULL, EVR_TRUE, EVR_FALSE, EVR_INT, EVR_REAL, EVR_STR, EVR_OBJ };

/* One member of an object of a line the scanner took: 40 bytes, as a
 * sample line has about 70 of them. */
struct evr_node {
	const char *key;	/* in the line's text, (tag >> 32) bytes */
	uint64_t tag;		/* the key's length and first bytes (find() in events_read.c) */
	union {
		const char *str;	/* EVR_STR: a NUL-terminated copy in the scratch */
		int64_t i;		/* EVR_INT */
		double d;		/* EVR_REAL */
	};
	int32_t parent;		/* node index of the enclosing object, -1 the top level */
	int32_t end;		/* EVR_OBJ: one past the index of its last member */
	uint8_t kind;		/* enum evr_kind */
};

/* Objects wider than this go to jansson (a sample line has about 70). */
#define EVR_MAX_NODES 192

struct evr_line {
	const char *text;	/* NUL-terminated, without its newline */
	size_t len;		/* up to the newline: more than strlen when it holds a NUL */
	int fast;		/* 1: nodes[] hold it; 0: json does */
	int nnodes;
	json_t *json;		/* the jansson object; on demand for a fast line */
	char *scratch;		/* keys and strings of the fast path */
	size_t cscratch;
	struct evr_node node[EVR_MAX_NODES];
};

/* An object of a line, whichever path parsed it.  A missing or non-object
 * member gives an object for which evr_ok() is 0 and every lookup fails. */
struct evr_obj {
	const struct evr_line *l;
	int node;		/* fast path: -1 the line itself, else its node */
	json_t *j;		/* slow path */
	int ok;
};

/* Readable bytes after the NUL of every line the reader gives. */
#define EVR_SLACK 32

struct evr_reader {
	FILE *f;
	char *buf;
	size_t cap, start, end;
	int eof, err;
};

/* Read lines from f (the reader does not close it). */
void evr_init(struct evr_reader *rd, FILE *f);
/* The next line into l->text (an embedded NUL ends it early, as it did for
 * getline + json_loads: the scanner refuses it, jansson stops there),
 * without its newline: 1, or 0 at the end, or
 * -errno.  The text lives in the reader's buffer until the next call,
 * with EVR_SLACK readable bytes after its NUL: evr_parse needs them, so
 * only lines from evr_next can be parsed. */
int evr_next(struct evr_reader *rd, struct evr_line *l);
void evr_free(struct evr_reader *rd);

/* Parse the line evr_next gave: 0 when it is a JSON object, else -1. */
int evr_parse(struct evr_line *l);
/* Release what evr_parse and evr_json hold (keeps the scratch buffer). */
void evr_line_clear(struct evr_line *l);
void evr_line_free(struct evr_line *l);
/* The line as a jansson object (parsed now for a fast line), or NULL.
 * Owned by the line: valid until the next evr_parse or evr_line_clear. */
json_t *evr_json(struct evr_line *l);

/* The "type" of a line as the recorder writes it ({"t_ns":N,"type":"..."
 * first, no second "type" key) into buf without parsing it: 0, or -1 when
 * the line does not start so (parse it to know).  A pass that wants few
 * types skips the others with it; the line may still be invalid JSON. */
int evr_peek_type(const struct evr_line *l, char *buf, size_t len);

struct evr_obj evr_root(const struct evr_line *l);
struct evr_obj evr_get_obj(struct evr_obj o, const char *key);
static inline int evr_ok(struct evr_obj o) { return o.ok; }
/* The object has the member (of any type, null too). */
int evr_has(struct evr_obj o, const char *key);
/* A string member, or NULL. */
const char *evr_str(struct evr_obj o, const char *key);
/* A number member as a double, NAN when missing or not a number. */
double evr_num(struct evr_obj o, const char *key);
/* evr_num of n keys at once (one pass over the members): out[k] for
 * keys[k]. */
void evr_nums(struct evr_obj o, const char *const *keys, int n, double *out);
/* The same with the keys' lengths and tags worked out once, for a reader
 * that asks for the same keys on every line (the samples). */
#define EVR_KEYS_MAX 16
struct evr_keys {
	int n;
	const char *key[EVR_KEYS_MAX];
	size_t len[EVR_KEYS_MAX];
	uint64_t tag[EVR_KEYS_MAX];
};
void evr_keys_init(struct evr_keys *k, const char *const *keys, int n);
void evr_nums_k(struct evr_obj o, const struct evr_keys *k, double *out);
/* An integer member, or a real one in int64 range truncated: 0, else -1. */
int evr_i64(struct evr_obj o, const char *key, int64_t *v);
/* An integer member only (json_unpack's "I"): 0, else -1. */
int evr_int(struct evr_obj o, const char *key, int64_t *v);

#endif
