/* Cells restored from a saved machine instead of booted.
 *
 * Everything before the workload is the same for every cell of one machine
 * shape (kernel, initramfs, RAM, CPUs, command line, disk, accelerator,
 * memory hierarchy): boot that once to /init's "snapshot point", save the
 * machine with QEMU's migration to a file, and start each cell from it with
 * -incoming.  The run itself (the recorder's argv, a fault) reaches the
 * restored /init on the third serial port, fed from a file.  Every restored
 * cell starts from the same state, and never repeats the boot-time race of
 * multi-threaded TCG: the snapshot is only taken from a boot that reached
 * its snapshot point without a panic (docs/guests.md). */
#include "snapshot.h"
#include "spawn.h"
#include "clock.h"
#include "fsutil.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <nettle/sha2.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define QMP_TIMEOUT_MS 30000

/* ---- QMP: one command, one answer ---------------------------------------- */

static int qmp_connect(const char *path, uint64_t deadline_ns)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (!connect(fd, (struct sockaddr *)&a, sizeof a))
			return fd;
		close(fd);
		if (pnb_mono_ns() > deadline_ns)
			return -1;
		usleep(10000);
	}
}

/* The next JSON line QEMU sends that is not an event; NULL on timeout. */
static json_t *qmp_read(int fd, char *buf, size_t cap, size_t *len)
{
	uint64_t deadline = pnb_mono_ns() + QMP_TIMEOUT_MS * 1000000ULL;
	for (;;) {
		char *nl;
		while ((nl = memchr(buf, '\n', *len))) {
			*nl = 0;
			json_t *o = json_loads(buf, 0, NULL);
			size_t used = (size_t)(nl - buf) + 1;
			memmove(buf, nl + 1, *len - used);
			*len -= used;
			if (o && !json_object_get(o, "event"))
				return o;
			json_decref(o);
		}
		struct pollfd p = { fd, POLLIN, 0 };
		int left = (int)((deadline - pnb_mono_ns()) / 1000000);
		if (left <= 0 || poll(&p, 1, left) <= 0 || *len + 1 >= cap)
			return NULL;
		ssize_t n = read(fd, buf + *len, cap - 1 - *len);
		if (n <= 0)
			return NULL;
		*len += (size_t)n;
	}
}

struct qmp {
	int fd;
	char buf[65536];
	size_t len;
};

static int qmp_open(struct qmp *q, const char *path, uint64_t deadline_ns, char *why, size_t wl)
{
	q->len = 0;
	if ((q->fd = qmp_connect(path, deadline_ns)) < 0) {
		snprintf(why, wl, "QMP socket %s: %s", path, strerror(errno));
		return -1;
	}
	json_t *greet = qmp_read(q->fd, q->buf, sizeof q->buf, &q->len);
	if (!greet || !json_object_get(greet, "QMP")) {
		json_decref(greet);
		snprintf(why, wl, "QMP: no greeting from QEMU");
		close(q->fd);
		return -1;
	}
	json_decref(greet);
	return 0;
}

/* Run one command; the "return" value (a new reference) or NULL with why. */
static json_t *qmp_cmd(struct qmp *q, const char *cmd, json_t *args, char *why, size_t wl)
{
	json_t *o = json_pack("{s:s}", "execute", cmd);
	if (args)
		json_object_set_new(o, "arguments", args);
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	size_t tl = strlen(text);
	/* MSG_NOSIGNAL: a QEMU that died must be an error here, not a SIGPIPE
	 * that kills the cell's worker without a word. */
	int ok = send(q->fd, text, tl, MSG_NOSIGNAL) == (ssize_t)tl &&
		 send(q->fd, "\n", 1, MSG_NOSIGNAL) == 1;
	free(text);
	if (!ok) {
		snprintf(why, wl, "QMP %s: %s", cmd, strerror(errno));
		return NULL;
	}
	json_t *r = qmp_read(q->fd, q->buf, sizeof q->buf, &q->len);
	json_t *ret = r ? json_object_get(r, "return") : NULL;
	if (!ret) {
		const char *d = r ? json_string_value(json_object_get(json_object_get(r, "error"),
								     "desc")) : NULL;
		snprintf(why, wl, "QMP %s: %s", cmd, d ? d : "no answer");
		json_decref(r);
		return NULL;
	}
	json_incref(ret);
	json_decref(r);
	return ret;
}

/* Poll query-migrate until it leaves "active"/"setup": 0 when completed. */
static int qmp_migration_done(struct qmp *q, uint64_t deadline_ns, char *why, size_t wl)
{
	for (;;) {
		json_t *r = qmp_cmd(q, "query-migrate", NULL, why, wl);
		if (!r)
			return -1;
		const char *st = json_string_value(json_object_get(r, "status"));
		char status[32];
		snprintf(status, sizeof status, "%s", st ? st : "");
		json_decref(r);
		if (!strcmp(status, "completed"))
			return 0;
		if (!strcmp(status, "failed") || !strcmp(status, "cancelled")) {
			snprintf(why, wl, "migration %s", status);
			return -1;
		}
		if (pnb_mono_ns() > deadline_ns) {
			snprintf(why, wl, "migration still '%s' after the deadline", status);
			return -1;
		}
		usleep(20000);
	}
}

/* ---- the saved machine ------------------------------------------------- */

static int has(const char *path, const char *s)
{
	char buf[1 << 16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n > 0 && memmem(buf, (size_t)n, s, strlen(s)) != NULL;
}

/* The key: every machine-defining argument and the identity of the files
 * they name (a rebuilt kernel, initramfs or disk gives a new snapshot). */
static void shape_key(const char *const *machine, const char *base_initrd,
		      const char *qemu_version, char *hex)
{
	struct sha256_ctx c;
	uint8_t d[SHA256_DIGEST_SIZE];
	const char *more[] = { base_initrd, NULL };

	sha256_init(&c);
	sha256_update(&c, strlen(qemu_version), (const uint8_t *)qemu_version);
	for (int i = 0, pass = 0; pass < 2; i++) {
		if (!(pass ? more : machine)[i]) {
			pass++;
			i = -1;
			continue;
		}
		const char *arg = (pass ? more : machine)[i];
		struct stat st;
		char id[96];
		sha256_update(&c, strlen(arg) + 1, (const uint8_t *)arg);
		const char *f = arg;
		if (!strncmp(f, "file=", 5)) {
			static char p[4096];
			snprintf(p, sizeof p, "%s", f + 5);
			p[strcspn(p, ",")] = 0;
			f = p;
		}
		if (f[0] == '/' && !stat(f, &st)) {
			int l = snprintf(id, sizeof id, "%lld:%lld", (long long)st.st_size,
					 (long long)st.st_mtime);
			sha256_update(&c, (size_t)l, (const uint8_t *)id);
		}
	}
	sha256_digest(&c, sizeof d, d);
	for (int i = 0; i < 12; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
}

static void console_tail_line(const char *path, char *out, size_t len)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	out[0] = 0;
	if (fd < 0)
		return;
	off_t size = lseek(fd, 0, SEEK_END);
	ssize_t n = pread(fd, buf, sizeof buf - 1, size > 300 ? size - 300 : 0);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	snprintf(out, len, "%s", buf);
}

/* The guest's CLOCK_MONOTONIC /init printed at its snapshot point, or -1. */
static double guest_clock_at_point(const char *con)
{
	char buf[1 << 16];
	int fd = open(con, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	const char *p = strstr(buf, "snapshot point (CLOCK_MONOTONIC ");
	return p ? atof(p + strlen("snapshot point (CLOCK_MONOTONIC ")) : -1;
}

/* Boot once to the snapshot point and save the machine into snap->mig. */
static int snapshot_take(const char *const *machine, const struct snapshot *snap,
			 uint64_t boot_timeout_ns, int *panicked, char *why, size_t wl)
{
	char con[PNB_SNAP_PATH + 16], log[PNB_SNAP_PATH + 16], tmp[PNB_SNAP_PATH + 16];
	char sock[108], uri[PNB_SNAP_PATH + 32], con_arg[PNB_SNAP_PATH + 32];
	const char *argv[96];
	int n = 0, rc = -1;

	snprintf(con, sizeof con, "%s.console", snap->base);
	snprintf(log, sizeof log, "%s.qemu.log", snap->base);
	snprintf(tmp, sizeof tmp, "%s.mig.tmp", snap->base);
	snprintf(sock, sizeof sock, "/tmp/pnbench-snap-%d.qmp", (int)getpid());
	snprintf(uri, sizeof uri, "exec:cat > '%s'", tmp);
	snprintf(con_arg, sizeof con_arg, "file:%s", con);
	char qmp_arg[160];
	snprintf(qmp_arg, sizeof qmp_arg, "unix:%s,server=on,wait=off", sock);
	for (int i = 0; machine[i]; i++)
		argv[n++] = machine[i];
	argv[n++] = "-initrd"; argv[n++] = snap->initrd;
	argv[n++] = "-serial"; argv[n++] = con_arg;
	argv[n++] = "-serial"; argv[n++] = "null";
	argv[n++] = "-serial"; argv[n++] = "null";
	argv[n++] = "-qmp"; argv[n++] = qmp_arg;
	argv[n] = NULL;
	unlink(sock);
	uint64_t t0 = pnb_mono_ns();
	pid_t pid = pnb_spawn_child((char *const *)argv, log, log);
	if (pid < 0) {
		snprintf(why, wl, "fork: %s", strerror((int)-pid));
		return -1;
	}
	int st, exited = 0;
	for (;;) {
		if (has(con, "pnbench-init: snapshot point"))
			break;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			exited = 1;
			break;
		}
		if (pnb_mono_ns() - t0 > boot_timeout_ns)
			break;
		usleep(20000);
	}
	double host_s = (pnb_mono_ns() - t0) / 1e9;
	char tail[320];
	console_tail_line(con, tail, sizeof tail);
	/* Every restore inherits this boot's TSC calibration: a guest clock
	 * well ahead of the host's (QEMU started before the guest's clock, so
	 * it can only be behind when sane) is a machine not worth saving. */
	double guest_s = guest_clock_at_point(con);
	if (!exited && guest_s > 0 && guest_s > host_s * 1.25 + 0.5) {
		snprintf(why, wl, "the snapshot boot's clock ran ahead of the host's (%.2f s in %.2f s): "
			 "TSC miscalibrated", guest_s, host_s);
		*panicked = 1;	/* as the race: worth another boot */
		goto out;
	}
	/* Only a panic is worth another boot (the emulator's race); a kernel
	 * that does not boot, or boots too slowly, will not do better. */
	*panicked = has(con, "Kernel panic") || has(con, "BUG: ");
	if (exited || !has(con, "pnbench-init: snapshot point") || *panicked) {
		snprintf(why, wl, "the snapshot boot did not reach a clean snapshot point (%s); "
			 "console: %s", exited ? "QEMU exited" : "deadline", tail);
		goto out;
	}
	struct qmp q;
	json_t *r;
	if (qmp_open(&q, sock, pnb_mono_ns() + 5 * NS_PER_S, why, wl))
		goto out;
	if ((r = qmp_cmd(&q, "qmp_capabilities", NULL, why, wl)) &&
	    (json_decref(r), r = qmp_cmd(&q, "stop", NULL, why, wl)) &&
	    (json_decref(r), r = qmp_cmd(&q, "migrate", json_pack("{s:s}", "uri", uri), why, wl))) {
		json_decref(r);
		if (!qmp_migration_done(&q, pnb_mono_ns() + 60 * NS_PER_S, why, wl)) {
			r = qmp_cmd(&q, "quit", NULL, why, wl);
			json_decref(r);
			rc = 0;
		}
	}
	close(q.fd);
out:
	if (!exited) {
		if (rc == 0) {
			/* quit was asked: let it go, then make sure. */
			for (int i = 0; i < 200 && waitpid(pid, &st, WNOHANG) != pid; i++)
				usleep(10000);
		}
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	unlink(sock);
	if (rc == 0 && rename(tmp, snap->mig)) {
		snprintf(why, wl, "rename %s: %s", tmp, strerror(errno));
		rc = -1;
	}
	if (rc)
		unlink(tmp);
	else
		unlink(con), unlink(log);
	return rc;
}

#define SNAP_KEEP 12		/* snapshots kept at most (a rebuild makes new ones) */
#define SNAP_MAX_AGE (7 * 86400)	/* unused this long: gone */

static void drop_snapshot(const char *mig)
{
	char p[PNB_SNAP_PATH + 300];
	int l = (int)strlen(mig) - 4;
	unlink(mig);
	snprintf(p, sizeof p, "%.*s.initrd", l, mig);
	unlink(p);
	snprintf(p, sizeof p, "%.*s.lock", l, mig);
	unlink(p);
}

/* Snapshots are ~100 MB a shape, and every rebuild of the guest programs
 * makes new ones: when a new one is made, those unused for a week go, and
 * beyond the SNAP_KEEP most recently used, the oldest. */
static void prune_old(const char *dir)
{
	struct { char path[PNB_SNAP_PATH + 300]; time_t t; } keep[SNAP_KEEP + 1];
	int nk = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	time_t now = time(NULL);

	while (d && (e = readdir(d))) {
		char p[PNB_SNAP_PATH + 300];
		struct stat st;
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".mig"))
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (stat(p, &st))
			continue;
		if (now - st.st_mtime > SNAP_MAX_AGE) {
			drop_snapshot(p);
			continue;
		}
		/* Insert by recency; what falls off the end goes. */
		int i = nk;
		while (i > 0 && keep[i - 1].t < st.st_mtime) {
			keep[i] = keep[i - 1];
			i--;
		}
		snprintf(keep[i].path, sizeof keep[i].path, "%s", p);
		keep[i].t = st.st_mtime;
		if (nk < SNAP_KEEP)
			nk++;
		else
			drop_snapshot(keep[SNAP_KEEP].path);
	}
	if (d)
		closedir(d);
}

/* Split '\n'-separated env text into at most max lines (modified in place). */
static int env_lines(char *text, const char **lines, int max)
{
	int n = 0;
	for (char *sv = NULL, *l = strtok_r(text, "\n", &sv); l && n < max;
	     l = strtok_r(NULL, "\n", &sv))
		lines[n++] = l;
	lines[n] = NULL;
	return n;
}

int snapshot_prepare(const char *const *machine, const char *base_initrd, const char *shape_env,
		     const char *qemu_version, uint64_t boot_timeout_ns, struct snapshot *snap,
		     char *why, size_t wl)
{
	char dir[PNB_SNAP_PATH], lock[PNB_SNAP_PATH + 16], runcpio[PNB_SNAP_PATH + 16];
	char envtext[1024], hier[8] = "v1";
	const char *env[18];
	int e;

	memset(snap, 0, sizeof *snap);
	snap->tries = 0;
	shape_key(machine, base_initrd, qemu_version, snap->key);
	/* The shape's env lines (hierarchy, swap, MGLRU) decide what /init sets
	 * up before the snapshot point: part of the key.  A shape that is only
	 * its hierarchy keeps the key it had before there were other knobs. */
	if (snprintf(envtext, sizeof envtext, "%s", shape_env) >= (int)sizeof envtext) {
		snprintf(why, wl, "shape env too long (%zu bytes)", strlen(shape_env));
		return -1;
	}
	int nenv = env_lines(envtext, env, 16);
	const char *h = strstr(shape_env, "memory_hierarchy=");
	if (h)
		snprintf(hier, sizeof hier, "%.2s", h + 17);
	size_t kl = strlen(snap->key);
	if (nenv <= 1) {
		snprintf(snap->key + kl, sizeof snap->key - kl, "-%s", hier);
	} else {
		uint64_t f = 0xcbf29ce484222325ULL;
		for (const char *p = shape_env; *p; p++)
			f = (f ^ (unsigned char)*p) * 0x100000001b3ULL;
		snprintf(snap->key + kl, sizeof snap->key - kl, "-%s-%08llx", hier,
			 (unsigned long long)(f & 0xffffffffULL));
	}
	env[nenv++] = "snapshot=1";
	env[nenv] = NULL;
	snprintf(dir, sizeof dir, "%s/snapshots", pnb_cache_dir());
	if ((e = pnb_mkdir_all(dir, 0755))) {
		snprintf(why, wl, "cannot create %s: %s", dir, strerror(-e));
		return -1;
	}
	if (snprintf(snap->base, sizeof snap->base, "%s/%s", dir, snap->key) >= (int)sizeof snap->base) {
		snprintf(why, wl, "cache path too long: %s", dir);
		return -1;
	}
	snprintf(snap->mig, sizeof snap->mig, "%s.mig", snap->base);
	snprintf(snap->initrd, sizeof snap->initrd, "%s.initrd", snap->base);
	snprintf(lock, sizeof lock, "%s.lock", snap->base);
	int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lfd < 0 || flock(lfd, LOCK_EX)) {
		snprintf(why, wl, "cannot lock %s: %s", lock, strerror(errno));
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	struct stat st;
	int rc = 0;
	if (!stat(snap->mig, &st) && !stat(snap->initrd, &st)) {
		utimensat(AT_FDCWD, snap->mig, NULL, 0);	/* in use: keep it */
		goto done;
	}
	prune_old(dir);
	/* The snapshot's initramfs: the base plus a run archive that only says
	 * "stop at the snapshot point" and the shape's env lines. */
	snprintf(runcpio, sizeof runcpio, "%s.run.cpio", snap->base);
	const char *none[] = { "/bin/false", NULL };
	char tmp_initrd[PNB_SNAP_PATH + 16];
	snprintf(tmp_initrd, sizeof tmp_initrd, "%s.initrd.tmp", snap->base);
	if (image_run_archive_env(runcpio, none, env, why, wl) ||
	    pnb_concat_files(base_initrd, runcpio, tmp_initrd, why, wl) ||
	    rename(tmp_initrd, snap->initrd)) {
		unlink(runcpio);
		unlink(tmp_initrd);
		rc = -1;
		goto done;
	}
	unlink(runcpio);
	/* A boot that panics before the snapshot point is the emulator's race,
	 * not a machine to save: try again, a bounded number of times. */
	for (snap->tries = 1; snap->tries <= 3; snap->tries++) {
		int panicked = 0;
		if (!(rc = snapshot_take(machine, snap, boot_timeout_ns, &panicked, why, wl)) ||
		    !panicked)
			break;
	}
	snap->made = rc == 0;
done:
	close(lfd);
	return rc;
}

int snapshot_run_block(const char *path, const char *const *prog_argv, const char *fault,
		       const char *run_env, char *why, size_t wl)
{
	char envtext[1024];
	const char *env[18];
	int nargs = 0, nenv = 0;
	while (prog_argv[nargs])
		nargs++;
	if (run_env) {
		if (snprintf(envtext, sizeof envtext, "%s", run_env) >= (int)sizeof envtext) {
			snprintf(why, wl, "run env too long (%zu bytes)", strlen(run_env));
			return -1;
		}
		nenv = env_lines(envtext, env, 16);
	}
	FILE *f = fopen(path, "we");
	if (!f) {
		snprintf(why, wl, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "pnbench-run %d %d\n", (fault ? 1 : 0) + nenv, nargs);
	if (fault)
		fprintf(f, "fault=%s\n", fault);
	for (int i = 0; i < nenv; i++)
		fprintf(f, "%s\n", env[i]);
	for (int i = 0; i < nargs; i++) {
		if (strchr(prog_argv[i], '\n')) {
			fclose(f);
			snprintf(why, wl, "argument %d holds a newline", i);
			return -1;
		}
		fprintf(f, "%s\n", prog_argv[i]);
	}
	if (fclose(f)) {
		snprintf(why, wl, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int snapshot_feed(const char *sock, const char *block, uint64_t deadline_ns, char *why, size_t wl)
{
	char buf[1 << 16];
	int in = open(block, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		snprintf(why, wl, "cannot read %s: %s", block, strerror(errno));
		return -1;
	}
	ssize_t n = read(in, buf, sizeof buf);
	close(in);
	int fd = qmp_connect(sock, deadline_ns);
	if (fd < 0) {
		snprintf(why, wl, "run port %s: %s", sock, strerror(errno));
		return -1;
	}
	if (n <= 0 || send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n) {
		snprintf(why, wl, "writing the run to %s: %s", sock, n <= 0 ? "empty block" :
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int snapshot_resume(const char *sock, const char *run_sock, const char *block,
		    uint64_t deadline_ns, int *run_fd, char *why, size_t wl)
{
	struct qmp q;
	json_t *r;
	int rc = -1;

	*run_fd = -1;
	if (qmp_open(&q, sock, deadline_ns, why, wl))
		return -1;
	if ((r = qmp_cmd(&q, "qmp_capabilities", NULL, why, wl))) {
		json_decref(r);
		/* Only once the machine is loaded: a byte delivered earlier
		 * lands in the UART and is overwritten by the incoming state. */
		if (!qmp_migration_done(&q, deadline_ns, why, wl) &&
		    (*run_fd = snapshot_feed(run_sock, block, deadline_ns, why, wl)) >= 0 &&
		    (r = qmp_cmd(&q, "cont", NULL, why, wl))) {
			json_decref(r);
			rc = 0;
		}
	}
	close(q.fd);
	return rc;
}
