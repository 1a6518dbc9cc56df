/* pnbench export FORMAT: result sets and cells in the formats kernel CI
 * engines read (docs/ci.md). */
#ifndef PNB_EXPORT_H
#define PNB_EXPORT_H

#include <stddef.h>

int export_kcidb(int argc, char **argv);
int export_junit(int argc, char **argv);
int export_lava(int argc, char **argv);

/* A KCIDB path part or a LAVA test-case name piece: [a-zA-Z0-9_-]+, with
 * "%" written pct and every other run of characters one "_". */
void kx_path_part(char *dst, size_t len, const char *src);

#endif
