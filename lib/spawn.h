/* Running host tools: one helper for every program the harness starts.
 * argv is exec'd directly, never through a shell: kernel specs, tree paths
 * and series names reach these argv, and a shell would reinterpret them. */
#ifndef PNB_SPAWN_H
#define PNB_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

/* Where the child's output goes, first match wins:
 *   stdout: out buffer (and tee), tee, log, /dev/null
 *   stderr: err buffer, tee, log, /dev/null
 * stdin is /dev/null.  Buffers are NUL-terminated and keep the first
 * outlen-1 bytes; the rest is read and dropped so the child never blocks. */
struct pnb_spawn {
	const char *cwd;
	const char *const *env;	/* extra "NAME=value" entries, NULL-terminated */
	const char *log;	/* appended to, created 0644 */
	char *out;
	size_t outlen;
	char *err;
	size_t errlen;
	/* Every chunk of stdout and stderr as it arrives (a live copy). */
	void (*tee)(void *arg, const char *buf, size_t n);
	void *tee_arg;
	/* > 0: the child's process group gets SIGKILL after this long and
	 * pnb_spawn returns -ETIMEDOUT. */
	double timeout_s;
	/* > 0: tick(tick_arg, seconds so far) every tick_s while it runs. */
	unsigned tick_s;
	void (*tick)(void *arg, double elapsed_s);
	void *tick_arg;
	/* On failure, one line: "exit 2: <the log's or stderr's error line>",
	 * "killed by signal 9", "timed out after 30s", "cannot fork: ...". */
	char *why;
	size_t whylen;
};

/* Exit status, 128 + signal, -ETIMEDOUT, or -errno when it could not be
 * started (an exec failure is exit 127, as from a shell). */
int pnb_spawn(char *const argv[], const struct pnb_spawn *o);

/* A child that runs beside pnbench (QEMU, the native recorder): started,
 * not waited for.  stdin is /dev/null; stdout goes to out_path and stderr
 * to err_path (NULL: /dev/null; the same path: one file), created 0644 and
 * truncated.  It gets SIGKILL when the thread that started it dies, so a
 * guest or a recorder never outlives its cell.  The pid, or -errno. */
pid_t pnb_spawn_child(char *const argv[], const char *out_path, const char *err_path);

/* The line of a tool's log that says what went wrong: the last one naming
 * an error, else the last line; "(no output)" for none. */
void pnb_log_reason(const char *log, char *out, size_t len);
/* The same over a buffer (captured stderr). */
void pnb_text_reason(const char *text, char *out, size_t len);

#endif
