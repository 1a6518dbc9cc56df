/* The one reader of events.jsonl: see events_read.h for the contract. */
#include "events_read.h"

#include <errno.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Deeper objects go to jansson; the recorder writes two levels. */
#define EVR_MAX_DEPTH 4
#define EVR_CHUNK (1u << 20)
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the string scanner reads words little-endian"
#endif

void evr_init(struct evr_reader *rd, FILE *f)
{
	memset(rd, 0, sizeof *rd);
	rd->f = f;
}

void evr_free(struct evr_reader *rd)
{
	free(rd->buf);
	rd->buf = NULL;
}

/* Move the unread tail to the front and read more: 0, or -errno. */
static int refill(struct evr_reader *rd)
{
	if (rd->start) {
		memmove(rd->buf, rd->buf + rd->start, rd->end - rd->start);
		rd->end -= rd->start;
		rd->start = 0;
	}
	/* EVR_SLACK bytes always stay free: the NUL that ends a last line and
	 * the word reads of the string scanner. */
	if (rd->cap - rd->end < EVR_CHUNK / 2) {
		size_t nc = rd->cap ? rd->cap * 2 : EVR_CHUNK;
		char *b = realloc(rd->buf, nc);
		if (!b)
			return -ENOMEM;
		rd->buf = b;
		rd->cap = nc;
	}
	size_t n = fread(rd->buf + rd->end, 1, rd->cap - rd->end - EVR_SLACK, rd->f);
	rd->end += n;
	if (n == 0) {
		if (ferror(rd->f))
			return -EIO;
		rd->eof = 1;
	}
	return 0;
}

int evr_next(struct evr_reader *rd, struct evr_line *l)
{
	for (;;) {
		/* No buffer before the first read (NULL + 0 is undefined). */
		char *s = rd->buf ? rd->buf + rd->start : NULL;
		size_t avail = rd->end - rd->start;
		char *nl = avail ? memchr(s, '\n', avail) : NULL;
		int ret;

		if (nl || (rd->eof && avail)) {
			size_t n = nl ? (size_t)(nl - s) : avail;
			s[n] = 0;
			rd->start += nl ? n + 1 : n;
			l->text = s;
			/* An embedded NUL ends the C string, as it did for getline +
			 * json_loads, and the scanner refuses it: jansson sees
			 * the line as before. */
			l->len = n;
			return 1;
		}
		if (rd->eof)
			return 0;
		if ((ret = refill(rd)))
			return ret;
	}
}

/* ---- the scanner ----------------------------------------------------------- */

struct scan {
	const char *p, *e;
	struct evr_line *l;
	char *sp;		/* next free byte of l->scratch */
};

/* The text ends in a NUL (evr_next cut it there), which no class below
 * takes: the hot loops need no bounds check. */
static inline void ws(struct scan *s)
{
	/* The recorder writes no whitespace: one compare in the common case. */
	while ((unsigned char)*s->p <= ' ' &&
	       (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* Per-byte tests on a little-endian word: the lowest flagged byte is
 * exact (a borrow only flags bytes above a true hit). */
#define ONES UINT64_C(0x0101010101010101)
#define HIGH UINT64_C(0x8080808080808080)
#define HASZERO(w) (((w) - ONES) & ~(w) & HIGH)
#define HASLESS(w, n) (((w) - ONES * (n)) & ~(w) & HIGH)

/* A string without escapes or bytes outside printable ASCII: its text
 * and length in the line; anything else is jansson's to judge. */
static inline __attribute__((always_inline)) int span(struct scan *s, const char **out,
							  size_t *len)
{
	const char *q = ++s->p;

#ifdef __SSE2__
	/* Sixteen bytes at a time (the reader leaves EVR_SLACK bytes after
	 * every line): a signed compare below 0x20 takes control bytes and
	 * every byte >= 0x80 at once; the first flagged byte stops it. */
	const __m128i sp = _mm_set1_epi8(0x20), qu = _mm_set1_epi8('"'),
		      bs = _mm_set1_epi8('\\'), del = _mm_set1_epi8(0x7f);
	for (;;) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
		__m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(v, sp), _mm_cmpeq_epi8(v, qu)),
					   _mm_or_si128(_mm_cmpeq_epi8(v, bs), _mm_cmpeq_epi8(v, del)));
		unsigned m = (unsigned)_mm_movemask_epi8(bad);
		if (m) {
			q += __builtin_ctz(m);
			break;
		}
		q += 16;
	}
#else
	/* Eight bytes at a time (the reader leaves EVR_SLACK bytes after
	 * every line): the first byte that is not plain stops it, and what
	 * follows that byte in the word does not matter. */
	for (;;) {
		uint64_t w, m;
		memcpy(&w, q, 8);
		m = HASLESS(w, 0x20) | HASZERO(w ^ (ONES * '"')) | HASZERO(w ^ (ONES * '\\')) |
		    HASZERO(w ^ (ONES * 0x7f)) | (w & HIGH);
		if (m) {
			q += __builtin_ctzll(m) / 8;
			break;
		}
		q += 8;
	}
#endif
	if (*q != '"')
		return -1;
	*out = s->p;
	*len = (size_t)(q - s->p);
	s->p = q + 1;
	return 0;
}

/* A string value, copied NUL-terminated into the scratch. */
static const char *string(struct scan *s)
{
	const char *b, *out = s->sp;
	size_t n;

	if (span(s, &b, &n))
		return NULL;
	memcpy(s->sp, b, n);
	s->sp += n;
	*s->sp++ = 0;
	return out;
}

static int digits(struct scan *s)
{
	const char *q = s->p;
	while (*s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > q;
}

static const uint64_t pow10_u64[] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
				       100000000 };

/* The digits at p (up to eight, read as one word: the reader leaves
 * EVR_SLACK bytes after every line) appended to *v; how many there were.
 * A byte is a digit when its xor with '0' is below 10; adding 0x76 sets
 * the high bit of every other byte below 0x80, and bytes from 0x80 are
 * flagged by their own high bit (their carry only reaches later bytes,
 * so the first flagged byte is exact).  The digits, shifted to the top of
 * the word, are summed by three multiplications (Lemire's eight-digit
 * parse). */
static inline int leading_digits(const char *p, uint64_t *v)
{
	uint64_t w, x, m, y;
	int nd;

	memcpy(&w, p, 8);
	x = w ^ (ONES * '0');
	m = ((x + ONES * 0x76) | x) & HIGH;
	nd = m ? __builtin_ctzll(m) / 8 : 8;
	if (!nd)
		return 0;
	y = nd == 8 ? x : x << (8 * (8 - nd));
	y = y * 10 + (y >> 8);
	y = (((y & UINT64_C(0x000000FF000000FF)) * UINT64_C(0x000F424000000064)) +
	     (((y >> 16) & UINT64_C(0x000000FF000000FF)) * UINT64_C(0x0000271000000001))) >> 32;
	*v = *v * pow10_u64[nd] + y;
	return nd;
}

/* JSON's number grammar, then the conversions jansson makes. */
static int number(struct scan *s, struct evr_node *n)
{
	const char *b = s->p, *d;
	int real = 0, exp = 0;
	uint64_t v = 0;
	char *end;

	if (*s->p == '-')
		s->p++;
	d = s->p;
	if (*s->p == '0') {
		s->p++;
		if (*s->p >= '0' && *s->p <= '9')
			return -1;
	} else if (*s->p >= '1' && *s->p <= '9') {
		/* The integer part, up to eight digits a word (the common case). */
		for (;;) {
			int nd = leading_digits(s->p, &v);
			s->p += nd;
			if (nd < 8)
				break;
		}
	} else {
		return -1;
	}
	if (*s->p == '.') {
		s->p++;
		real = 1;
		if (!digits(s))
			return -1;
	}
	if (*s->p == 'e' || *s->p == 'E') {
		s->p++;
		real = exp = 1;
		if (*s->p == '+' || *s->p == '-')
			s->p++;
		if (!digits(s))
			return -1;
	}
	if (!real && s->p - d <= 19) {
		/* 19 digits fit a uint64. */
		if (v > (uint64_t)INT64_MAX + (*b == '-'))
			return -1;	/* jansson refuses it */
		n->kind = EVR_INT;
		n->i = *b == '-' ? (int64_t)(0 - v) : (int64_t)v;
		return 0;
	}
	if (real && !exp && s->p - d <= 16) {
		/* Clinger's fast path: an integer below 2^53 divided by an exact
		 * power of ten is rounded once, so it is what strtod gives. */
		static const double p10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
					      1e11, 1e12, 1e13, 1e14, 1e15 };
		uint64_t m = 0;
		int frac = 0, after = 0;
		for (const char *q = d; q < s->p; q++) {
			if (*q == '.') {
				after = 1;
				continue;
			}
			m = m * 10 + (uint64_t)(*q - '0');
			frac += after;
		}
		n->kind = EVR_REAL;
		n->d = (double)m / p10[frac];
		if (*b == '-')
			n->d = -n->d;
		return 0;
	}
	errno = 0;
	if (real) {
		n->kind = EVR_REAL;
		n->d = strtod(b, &end);
	} else {
		n->kind = EVR_INT;
		n->i = strtoll(b, &end, 10);
	}
	/* Out of range: jansson refuses an integer, and a real it may. */
	return errno || end != s->p ? -1 : 0;
}

static int literal(struct scan *s, const char *word, size_t len)
{
	if ((size_t)(s->e - s->p) < len || memcmp(s->p, word, len))
		return -1;
	s->p += len;
	return 0;
}

static int object(struct scan *s, int parent, int depth);

/* A key's length and first four bytes (little-endian) in one word: find()
 * compares one word per member, and the rest of the key only when that
 * matches.  object() computes the same from the line with one load. */
static inline uint64_t tag_of(const char *key, size_t len)
{
	uint32_t w = 0;

	/* A key of four bytes or more has them all: one load. */
	if (len >= 4) {
		memcpy(&w, key, 4);
		return (uint64_t)len << 32 | w;
	}
	for (size_t i = 0; i < len; i++)
		w |= (uint32_t)(unsigned char)key[i] << (8 * i);
	return (uint64_t)len << 32 | w;
}

static int value(struct scan *s, int idx, int depth)
{
	struct evr_node *n = &s->l->node[idx];

	switch (*s->p) {
	case '"':
		n->kind = EVR_STR;
		return (n->str = string(s)) ? 0 : -1;
	case '{':
		n->kind = EVR_OBJ;
		if (depth >= EVR_MAX_DEPTH || object(s, idx, depth + 1))
			return -1;
		s->l->node[idx].end = s->l->nnodes;
		return 0;
	case 't':
		n->kind = EVR_TRUE;
		return literal(s, "true", 4);
	case 'f':
		n->kind = EVR_FALSE;
		return literal(s, "false", 5);
	case 'n':
		n->kind = EVR_NULL;
		return literal(s, "null", 4);
	default:
		return (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) ? number(s, n) : -1;
	}
}

/* At '{': the members, each a node with this parent. */
static int object(struct scan *s, int parent, int depth)
{
	struct evr_line *l = s->l;

	s->p++;
	ws(s);
	if (*s->p == '}') {
		s->p++;
		return 0;
	}
	for (;;) {
		int idx = l->nnodes;
		struct evr_node *n = &l->node[idx];
		if (*s->p != '"' || idx >= EVR_MAX_NODES)
			return -1;
		l->nnodes++;
		n->parent = parent;
		size_t klen;
		if (span(s, &n->key, &klen))
			return -1;
		/* The key is followed by '"', ':' and a value: four bytes are there. */
		uint32_t w;
		memcpy(&w, n->key, 4);
		n->tag = (uint64_t)klen << 32 | (klen >= 4 ? w : w & ((1u << (8 * klen)) - 1));
		ws(s);
		if (*s->p++ != ':')
			return -1;
		ws(s);
		if (value(s, idx, depth))
			return -1;
		ws(s);
		if (*s->p == '}') {
			s->p++;
			return 0;
		}
		if (*s->p++ != ',')
			return -1;
		ws(s);
	}
}

static int fast_parse(struct evr_line *l)
{
	struct scan s = { .p = l->text, .e = l->text + l->len, .l = l };

	/* Each string gains a NUL: twice the line is always enough. */
	if (l->cscratch < 2 * l->len + 2) {
		size_t nc = 2 * l->len + 2 > 4096 ? 2 * l->len + 2 : 4096;
		char *b = realloc(l->scratch, nc);
		if (!b)
			return -1;
		l->scratch = b;
		l->cscratch = nc;
	}
	s.sp = l->scratch;
	l->nnodes = 0;
	ws(&s);
	if (*s.p != '{' || object(&s, -1, 1))
		return -1;
	ws(&s);
	return s.p == s.e ? 0 : -1;
}

void evr_line_clear(struct evr_line *l)
{
	json_decref(l->json);
	l->json = NULL;
	l->nnodes = 0;
	l->fast = 0;
}

void evr_line_free(struct evr_line *l)
{
	evr_line_clear(l);
	free(l->scratch);
	l->scratch = NULL;
	l->cscratch = 0;
}

int evr_parse(struct evr_line *l)
{
	json_error_t e;

	evr_line_clear(l);
	if (!fast_parse(l)) {
		l->fast = 1;
		return 0;
	}
	l->nnodes = 0;
	l->json = json_loads(l->text, 0, &e);
	if (json_is_object(l->json))
		return 0;
	json_decref(l->json);
	l->json = NULL;
	return -1;
}

json_t *evr_json(struct evr_line *l)
{
	json_error_t e;

	if (!l->json && l->fast)
		l->json = json_loads(l->text, 0, &e);
	return l->json;
}

/* ---- values -------------------------------------------------------------- */

struct evr_obj evr_root(const struct evr_line *l)
{
	struct evr_obj o = { .l = l, .node = -1, .j = l->fast ? NULL : l->json,
			     .ok = l->fast || l->json };
	return o;
}

/* The member's node, the last of equal keys as jansson keeps it, or -1. */
static int find(struct evr_obj o, const char *key)
{
	const struct evr_line *l = o.l;
	int from = o.node + 1, to = o.node < 0 ? l->nnodes : l->node[o.node].end, hit = -1;
	size_t n = strlen(key);
	uint64_t tag = tag_of(key, n);

	/* Members only: an object's own members are skipped as a block. */
	for (int i = from; i < to; i = l->node[i].kind == EVR_OBJ ? l->node[i].end : i + 1)
		if (l->node[i].tag == tag && (n <= 4 || !memcmp(l->node[i].key + 4, key + 4, n - 4)))
			hit = i;
	return hit;
}

struct evr_obj evr_get_obj(struct evr_obj o, const char *key)
{
	struct evr_obj r = { .l = o.l, .node = -1 };

	if (!o.ok)
		return r;
	if (!o.l->fast) {
		r.j = json_object_get(o.j, key);
		r.ok = json_is_object(r.j);
		return r;
	}
	int i = find(o, key);
	if (i >= 0 && o.l->node[i].kind == EVR_OBJ) {
		r.node = i;
		r.ok = 1;
	}
	return r;
}

int evr_has(struct evr_obj o, const char *key)
{
	if (!o.ok)
		return 0;
	return o.l->fast ? find(o, key) >= 0 : json_object_get(o.j, key) != NULL;
}

const char *evr_str(struct evr_obj o, const char *key)
{
	if (!o.ok)
		return NULL;
	if (!o.l->fast) {
		json_t *x = json_object_get(o.j, key);
		return json_is_string(x) ? json_string_value(x) : NULL;
	}
	int i = find(o, key);
	return i >= 0 && o.l->node[i].kind == EVR_STR ? o.l->node[i].str : NULL;
}

double evr_num(struct evr_obj o, const char *key)
{
	if (!o.ok)
		return NAN;
	if (!o.l->fast) {
		json_t *x = json_object_get(o.j, key);
		return json_is_number(x) ? json_number_value(x) : NAN;
	}
	int i = find(o, key);
	if (i < 0 || (o.l->node[i].kind != EVR_INT && o.l->node[i].kind != EVR_REAL))
		return NAN;
	return o.l->node[i].kind == EVR_INT ? (double)o.l->node[i].i : o.l->node[i].d;
}

void evr_keys_init(struct evr_keys *k, const char *const *keys, int n)
{
	k->n = n > EVR_KEYS_MAX ? EVR_KEYS_MAX : n;
	for (int i = 0; i < k->n; i++) {
		k->key[i] = keys[i];
		k->len[i] = strlen(keys[i]);
		k->tag[i] = tag_of(keys[i], k->len[i]);
	}
}

void evr_nums_k(struct evr_obj o, const struct evr_keys *k, double *out)
{
	for (int i = 0; i < k->n; i++)
		out[i] = NAN;
	if (!o.ok)
		return;
	if (!o.l->fast) {
		for (int i = 0; i < k->n; i++)
			out[i] = evr_num(o, k->key[i]);
		return;
	}
	const struct evr_line *l = o.l;
	int from = o.node + 1, to = o.node < 0 ? l->nnodes : l->node[o.node].end;
	for (int i = from; i < to; i = l->node[i].kind == EVR_OBJ ? l->node[i].end : i + 1) {
		const struct evr_node *x = &l->node[i];
		for (int j = 0; j < k->n; j++) {
			if (x->tag != k->tag[j] ||
			    (k->len[j] > 4 && memcmp(x->key + 4, k->key[j] + 4, k->len[j] - 4)))
				continue;
			/* The last of equal keys, as evr_num: a later non-number unsets it. */
			out[j] = x->kind == EVR_INT ? (double)x->i : x->kind == EVR_REAL ? x->d : NAN;
		}
	}
}

void evr_nums(struct evr_obj o, const char *const *keys, int n, double *out)
{
	struct evr_keys k;

	if (n > EVR_KEYS_MAX) {
		for (int i = 0; i < n; i++)
			out[i] = evr_num(o, keys[i]);
		return;
	}
	evr_keys_init(&k, keys, n);
	evr_nums_k(o, &k, out);
}

int evr_int(struct evr_obj o, const char *key, int64_t *v)
{
	if (!o.ok)
		return -1;
	if (!o.l->fast) {
		json_t *x = json_object_get(o.j, key);
		if (!json_is_integer(x))
			return -1;
		*v = json_integer_value(x);
		return 0;
	}
	int i = find(o, key);
	if (i < 0 || o.l->node[i].kind != EVR_INT)
		return -1;
	*v = o.l->node[i].i;
	return 0;
}

int evr_i64(struct evr_obj o, const char *key, int64_t *v)
{
	if (!evr_int(o, key, v))
		return 0;
	double d = evr_num(o, key);
	/* Out of range (or NAN) the conversion would be undefined. */
	if (!isnan(d) && d >= -0x1p63 && d < 0x1p63) {
		*v = (int64_t)d;
		return 0;
	}
	return -1;
}

int evr_peek_type(const struct evr_line *l, char *buf, size_t len)
{
	static const char head[] = "{\"t_ns\":", mid[] = ",\"type\":\"";
	const char *p = l->text, *e = l->text + l->len, *q;

	if (l->len < sizeof head || memcmp(p, head, sizeof head - 1))
		return -1;
	p += sizeof head - 1;
	while (p < e && *p >= '0' && *p <= '9')
		p++;
	if ((size_t)(e - p) < sizeof mid || memcmp(p, mid, sizeof mid - 1))
		return -1;
	p += sizeof mid - 1;
	for (q = p; q < e && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20; q++)
		;
	if (q >= e || *q != '"' || (size_t)(q - p) >= len)
		return -1;
	/* A second "type" key would be the one jansson keeps. */
	if (memmem(q, (size_t)(e - q), "\"type\"", 6))
		return -1;
	memcpy(buf, p, (size_t)(q - p));
	buf[q - p] = 0;
	return 0;
}
