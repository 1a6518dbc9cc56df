/* LAVA test-case signal lines from a finished events.jsonl (pnbench-record
 * --lava): what LAVA's result parser reads from the console. */
#ifndef PNB_LAVA_H
#define PNB_LAVA_H

#include <stdio.h>

/* Print, to out, one line
 *   <LAVA_SIGNAL_TESTCASE TEST_CASE_ID=NAME RESULT=pass|fail MEASUREMENT=X UNITS=U>
 * per figure of the run in path: oom_kill (time to the first OOM kill
 * since the workload started), and per (probe, level) that was armed:
 * NAME.notifications, NAME.first (s after the workload started) and
 * NAME.lead (s before the OOM kill; fail when it fired only after the kill
 * or never).  Returns the number of lines, or -errno. */
int lava_signals(const char *path, FILE *out);

#endif
