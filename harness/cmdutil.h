/* Small helpers the pnbench subcommands share (harness/cmdutil.c). */
#ifndef PNB_CMDUTIL_H
#define PNB_CMDUTIL_H

/* mkdir -p: every missing component of path, mode 0755.  0 or -errno. */
int pnb_mkdir_p(const char *path);

#endif
