/* JSON-lines event writer: one object per line, one write(2) per line, so a
 * kill of the machine loses at most the line in flight.  Every object gets
 * "t_ns" (CLOCK_MONOTONIC ns since the run started) and "type" first. */
#ifndef PNB_JSONL_H
#define PNB_JSONL_H

#include <jansson.h>
#include <stdint.h>

#define PNB_EVENTS_SCHEMA "pnbench-events/1"

struct jsonl {
	int fd;
	uint64_t t0_ns;		/* CLOCK_MONOTONIC at run start */
	uint64_t lines;
	int error;		/* first -errno from write, sticky */
};

void jsonl_init(struct jsonl *w, int fd, uint64_t t0_ns);
/* New object {"t_ns": now - t0, "type": type}; never NULL (aborts on ENOMEM). */
json_t *jsonl_new(const struct jsonl *w, const char *type, uint64_t now_ns);
/* Write obj as one line and drop the reference.  Returns 0 or -errno. */
int jsonl_emit(struct jsonl *w, json_t *obj);

/* Helpers that never fail silently on allocation. */
void jset_str(json_t *o, const char *k, const char *v);
void jset_int(json_t *o, const char *k, long long v);
void jset_real(json_t *o, const char *k, double v);
void jset_bool(json_t *o, const char *k, int v);

#endif
