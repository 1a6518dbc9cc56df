/* The runner (runner.h): a plan's cells, each run in a forked worker into
 * its own directory, written under a temporary name and renamed when done. */
#include "cli.h"
#include "clock.h"
#include "fsutil.h"
#include "guest.h"
#include "log.h"
#include "run.h"
#include "runner.h"
#include "scenario.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int pnb_scenario_check(const char *name, struct scenario *s, char *err, size_t len);

int run_cell_complete(const char *dir)
{
	char path[1300];
	json_t *m;
	int done = 0;

	snprintf(path, sizeof path, "%s/meta.json", dir);
	m = json_load_file(path, 0, NULL);
	if (m) {
		json_t *c = json_object_get(json_object_get(m, "result"), "complete");
		done = json_is_true(c);
		json_decref(m);
	}
	return done;
}

/* Whether the cell in dir (any state) was made from another text of s:
 * rerunning the rest of the set would mix two versions under one name. */
static int cell_scenario_differs(const struct run_plan *p, const char *dir,
				 const struct scenario *s, char *was, size_t len)
{
	char path[1300];
	json_t *m;
	int differs = 0;

	snprintf(path, sizeof path, "%s/meta.json", dir);
	m = json_load_file(path, 0, NULL);
	if (!m)
		return 0;
	json_t *sc = json_object_get(m, "scenario"), *ov = json_object_get(sc, "machine_overrides");
	const char *text = json_string_value(json_object_get(sc, "text"));
	json_t *now = run_overrides_json(p);
	/* Other --machine overrides make another machine: the same as
	 * another text for what a set may hold. */
	json_t *none = json_array();
	int ov_differs = !json_equal(ov ? ov : none, now);
	json_decref(now);
	json_decref(none);
	if ((text && s->text && strcmp(text, s->text)) || ov_differs) {
		differs = 1;
		const char *rev = json_string_value(json_object_get(json_object_get(m, "harness"),
								    "git_rev"));
		snprintf(was, len, "made by pnbench %s", rev ? rev : "of unknown revision");
	}
	json_decref(m);
	return differs;
}

/* One pnbench run per result set at a time: two would rename cells over
 * each other.  flock() on OUT/.lock, released when the process ends; the
 * file holds the holder's pid for the message.  Runs of named cells
 * (--cell, --shard) share it and lock each of their cells instead
 * (lock_cell): GNU parallel starts many of them on one set, and each
 * writes only its own cells' directories. */
int pnb_lock_set(const char *out, int shared, const char *who)
{
	char path[1300], holder[32] = "";
	int e, fd;

	if ((e = pnb_mkdir_all(out, 0755))) {
		pnb_err("%s: cannot create %s: %s", who, out, strerror(-e));
		return -1;
	}
	snprintf(path, sizeof path, "%s/.lock", out);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		pnb_err("%s: cannot write in %s: %s", who, out, strerror(errno));
		return -1;
	}
	if (flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
		holder[n > 0 ? n : 0] = 0;
		holder[strcspn(holder, "\n")] = 0;
		pnb_err("%s: result set %s is in use by pnbench pid %s (lock %s)", who, out,
			holder[0] ? holder : "unknown", path);
		close(fd);
		return -1;
	}
	if (shared)
		return 0;	/* the pid of an exclusive holder is what a refusal names */
	char me[32];
	int len = snprintf(me, sizeof me, "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, me, (size_t)len, 0) != len) {
		pnb_err("%s: cannot write %s: %s", who, path, strerror(errno));
		close(fd);
		return -1;
	}
	return 0;	/* fd stays open (and locked) until exit */
}

/* A named cell's own lock, OUT/KERNEL/SCENARIO/.REP.lock, held until exit:
 * two runs of one cell would rename over each other. */
static int lock_cell(const char *out, const char *name)
{
	char path[1300], dir[1300];
	const char *slash = strrchr(name, '/');
	int e, fd;

	snprintf(dir, sizeof dir, "%s/%.*s", out, (int)(slash - name), name);
	if ((e = pnb_mkdir_all(dir, 0755))) {
		pnb_err("run: cannot create %s: %s", dir, strerror(-e));
		return -1;
	}
	snprintf(path, sizeof path, "%s/.%s.lock", dir, slash + 1);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB)) {
		pnb_err("run: cell %s of %s is being run by another pnbench (lock %s)", name, out, path);
		return -1;
	}
	return 0;
}

int run_plan_add_scenario(struct run_plan *p, const char *name, char *err, size_t len)
{
	struct scenario *a = realloc(p->scenarios, (size_t)(p->nscenarios + 1) * sizeof *a);
	char why[1024];

	if (!a) {
		snprintf(err, len, "no memory for scenario %s", name);
		return PNB_EXIT_FAIL;
	}
	p->scenarios = a;
	struct scenario *s = &a[p->nscenarios];
	memset(s, 0, sizeof *s);
	if (pnb_scenario_check(name, s, why, sizeof why)) {
		snprintf(err, len, "%s", why);
		return PNB_EXIT_USAGE;
	}
	p->nscenarios++;
	for (int o = 0; o < p->noverrides; o++)
		if (scenario_set_machine(s, p->overrides[o], why, sizeof why)) {
			snprintf(err, len, "scenario %s: %s", s->name, why);
			return PNB_EXIT_USAGE;
		}
	return 0;
}

int run_plan_add_kernel(struct run_plan *p, const char *spec, int fetch, int listing,
			char *err, size_t len)
{
	struct kernel_image *a = realloc(p->kernels, (size_t)(p->nkernels + 1) * sizeof *a);
	const char **sp = realloc(p->kernel_specs, (size_t)(p->nkernels + 1) * sizeof *sp);
	char why[1024];

	if (a)
		p->kernels = a;
	if (sp)
		p->kernel_specs = sp;
	if (!a || !sp) {
		snprintf(err, len, "no memory for kernel %s", spec);
		return PNB_EXIT_FAIL;
	}
	struct kernel_image *k = &a[p->nkernels];
	memset(k, 0, sizeof *k);
	sp[p->nkernels] = spec;
	if (!strcmp(spec, "native")) {
		snprintf(k->spec, sizeof k->spec, "native");
		snprintf(k->kind, sizeof k->kind, "native");
		snprintf(k->name, sizeof k->name, "native");
		for (int i = 0; i < p->nscenarios; i++)
			if (native_limit_check(p->scenarios[i].memory, "", why, sizeof why)) {
				snprintf(err, len, "native: scenario %s: %s", p->scenarios[i].name, why);
				return PNB_EXIT_USAGE;
			}
		if (!listing && native_check(why, sizeof why)) {
			snprintf(err, len, "native: %s", why);
			return PNB_EXIT_FAIL;
		}
		p->nkernels++;
		return 0;
	}
	int r = kernel_resolve(spec, fetch && !listing, k, why, sizeof why);
	/* A cell's name carries the kernel's resolved name (debian:cloud is
	 * whichever ABI is newest here), so a listing cannot name the cells
	 * of a kernel it has not got; it downloads nothing itself. */
	if (r == -1 && listing) {
		snprintf(err, len, "%s (cell names carry the kernel's resolved name)", why);
		return PNB_EXIT_FAIL;
	}
	if (r) {
		snprintf(err, len, "%s", why);
		return r == -2 ? PNB_EXIT_USAGE : PNB_EXIT_FAIL;
	}
	p->nkernels++;
	return 0;
}

static unsigned scenario_reps(const struct scenario *s, unsigned reps)
{
	return reps ? reps : s->reps;
}

int run_plan_expand(struct run_plan *p, unsigned reps, unsigned only_rep, char *err, size_t len)
{
	int total = 0, n = 0;

	for (int si = 0; si < p->nscenarios; si++) {
		const struct scenario *s = &p->scenarios[si];
		unsigned nrep = scenario_reps(s, reps);
		if (only_rep > nrep) {
			snprintf(err, len, "--rep %u: scenario %s has %u repetitions%s", only_rep,
				 s->name, nrep, reps ? " (--reps)" : " (its reps key)");
			return PNB_EXIT_USAGE;
		}
		total += p->nkernels * (only_rep ? 1 : (int)nrep) *
			 (s->hierarchy == SCN_HIER_BOTH ? 2 : 1);
	}
	free(p->cells);
	p->ncells = 0;
	if (!(p->cells = calloc((size_t)total + 1, sizeof *p->cells))) {
		snprintf(err, len, "no memory for %d cells", total);
		return PNB_EXIT_FAIL;
	}
	for (int ki = 0; ki < p->nkernels; ki++)
		for (int si = 0; si < p->nscenarios; si++) {
			const struct kernel_image *k = &p->kernels[ki];
			const struct scenario *s = &p->scenarios[si];
			for (unsigned rep = 1; rep <= scenario_reps(s, reps); rep++) {
				if (only_rep && rep != only_rep)
					continue;
				/* A repetition of a "both" scenario is two boots; the
				 * cgroup2 one's directory says so ("<rep>-v2"). */
				for (int h = 0; h < 2; h++) {
					enum scn_hier hh = h ? SCN_HIER_V2 : SCN_HIER_V1;
					/* Natively the host's hierarchy is the only one. */
					if (!strcmp(k->kind, "native") ? h :
					    s->hierarchy != SCN_HIER_BOTH && s->hierarchy != hh)
						continue;
					struct run_cell *c = &p->cells[n++];
					*c = (struct run_cell){ .ki = ki, .si = si, .rep = rep, .hier = hh };
					snprintf(c->final, sizeof c->final, "%s/%s/%s/%u%s", p->out,
						 k->name, s->name, rep, h ? "-v2" : "");
					snprintf(c->name, sizeof c->name, "%s/%s/%u%s", k->name, s->name,
						 rep, h ? "-v2" : "");
				}
			}
		}
	p->ncells = n;
	return 0;
}

/* Keeps the matrix order: the order a listing prints is the order the full
 * matrix runs in, so shards of it are stable. */
int run_plan_select(struct run_plan *p, const char *const *want, int nwant,
		    uint64_t shard_i, uint64_t shard_n, char *err, size_t len)
{
	int kept = 0, n = p->ncells;

	if (!nwant && !shard_n)
		return 0;
	for (int w = 0; w < nwant; w++) {
		int found = 0;
		for (int i = 0; i < n && !found; i++)
			found = !strcmp(p->cells[i].name, want[w]);
		if (!found) {
			snprintf(err, len, "--cell %s: no such cell in this matrix of %d (pnbench run "
				 "with the same --kernel/--scenario/--reps and --list names them)",
				 want[w], n);
			return PNB_EXIT_USAGE;
		}
	}
	for (int i = 0; i < n; i++) {
		int take = !nwant;
		for (int w = 0; w < nwant && !take; w++)
			take = !strcmp(p->cells[i].name, want[w]);
		if (take && shard_n)
			take = (uint64_t)i % shard_n == shard_i - 1;
		if (take)
			p->cells[kept++] = p->cells[i];
	}
	p->ncells = kept;
	p->named = 1;
	return 0;
}

int run_plan_add_job(struct run_plan *p, int ki, const char *name, const char *dir,
		     char *err, size_t len)
{
	struct run_cell *a = realloc(p->cells, (size_t)(p->ncells + 1) * sizeof *a);

	if (!a) {
		snprintf(err, len, "no memory for cell %s", name);
		return PNB_EXIT_FAIL;
	}
	p->cells = a;
	a[p->ncells] = (struct run_cell){ .ki = ki, .si = -1, .rep = 1, .hier = SCN_HIER_V1 };
	snprintf(a[p->ncells].name, sizeof a[p->ncells].name, "%s", name);
	snprintf(a[p->ncells].final, sizeof a[p->ncells].final, "%s", dir);
	p->ncells++;
	return 0;
}

void run_plan_free(struct run_plan *p)
{
	for (int i = 0; i < p->nscenarios; i++)
		scenario_free(&p->scenarios[i]);
	free(p->scenarios);
	free(p->kernels);
	free(p->kernel_specs);
	free(p->cells);
	p->scenarios = NULL;
	p->kernels = NULL;
	p->kernel_specs = NULL;
	p->cells = NULL;
	p->nscenarios = p->nkernels = p->ncells = 0;
}

/* One cell, in the forked worker: its own directory, nothing else. */
static int run_cell(const struct run_plan *p, const struct run_cell *c)
{
	if (c->si < 0)
		return p->job(p, c, p->job_arg);
	const struct kernel_image *k = &p->kernels[c->ki];
	const struct scenario *s = &p->scenarios[c->si];
	char tmp[1300];
	struct run_result res;
	time_t started = time(NULL);

	snprintf(tmp, sizeof tmp, "%s/%s/%s/.%u%s.partial", p->out, k->name, s->name, c->rep,
		 c->hier == SCN_HIER_V2 ? "-v2" : "");
	pnb_rm_rf(tmp);
	if (pnb_mkdir_all(tmp, 0755)) {
		pnb_err("run: cannot create %s: %s", tmp, strerror(errno));
		return 1;
	}
	/* The boot's own copy of the scenario, its hierarchy resolved. */
	struct scenario one = *s;
	char knobs[256];
	one.hierarchy = c->hier;
	if (!strcmp(k->kind, "native")) {
		/* memory.max/high size the cgroup2 boot's workload cgroup; a
		 * native run is confined by the scenario's memory in the host's
		 * own hierarchy, so only real machine knobs count here. */
		struct scenario host = *s;
		memset(&host.memory_max, 0, sizeof host.memory_max);
		memset(&host.memory_high, 0, sizeof host.memory_high);
		scenario_knobs_text(&host, knobs, sizeof knobs);
	} else {
		scenario_knobs_text(s, knobs, sizeof knobs);
	}
	if (!strcmp(k->kind, "native") && knobs[0]) {
		/* Natively the host's swap and MGLRU are what they are: never a
		 * silent default under the scenario's name. */
		memset(&res, 0, sizeof res);
		res.boot_s = res.poweroff_s = -1;
		snprintf(res.status, sizeof res.status, "unsupported");
		snprintf(res.reason, sizeof res.reason, "unsupported: native runs keep the host's "
			 "machine; the scenario sets %s", knobs);
	} else if (!strcmp(k->kind, "native")) {
		native_run(s, c->rep, tmp, &res);
	} else {
		guest_run(k, &one, c->rep, tmp, p->fault, &res);
	}
	run_write_meta(p, tmp, k, s, c->rep, &res, started);
	pnb_rm_rf(c->final);
	if (rename(tmp, c->final)) {
		pnb_err("run: cannot rename %s to %s: %s", tmp, c->final, strerror(errno));
		return 1;
	}
	return res.complete ? 0 : 1;
}

/* The set lock, the named cells' locks, and the one-text-per-set rule. */
static int plan_prepare(struct run_plan *p, char *err, size_t len)
{
	/* The lock functions have said why already: err stays empty. */
	if (pnb_lock_set(p->out, p->named, p->who ? p->who : "run"))
		return PNB_EXIT_FAIL;
	for (int i = 0; i < p->ncells && p->named; i++)
		if (lock_cell(p->out, p->cells[i].name))
			return PNB_EXIT_FAIL;
	for (int i = 0; i < p->ncells && !p->force; i++) {
		char was[64];
		const struct run_cell *c = &p->cells[i];
		if (c->si >= 0 &&
		    cell_scenario_differs(p, c->final, &p->scenarios[c->si], was, sizeof was)) {
			snprintf(err, len, "%s was run from another text of scenario %s (%s): a set "
				 "holds one version; use a new --out, or --force to rerun every cell",
				 c->final, p->scenarios[c->si].name, was);
			return PNB_EXIT_USAGE;
		}
	}
	return 0;
}

/* Progress bookkeeping shared by the events of one execution. */
struct exec_state {
	struct run_plan *p;
	run_progress_fn progress;
	void *arg;
	int finished, skipped, running;
	uint64_t t0, busy_ns;
};

static void emit(struct exec_state *x, enum run_event_kind kind, const struct run_cell *c)
{
	int ran = x->finished - x->skipped;
	struct run_event ev = {
		.kind = kind, .cell = c, .finished = x->finished, .total = x->p->ncells,
		.running = x->running, .skipped = x->skipped,
		.elapsed_s = (pnb_mono_ns() - x->t0) / 1e9,
		.left_s = ran ? x->busy_ns / 1e9 / ran * (x->p->ncells - x->finished) /
				(double)x->p->jobs : -1,
	};
	if (x->progress)
		x->progress(x->p, &ev, x->arg);
}

/* Fork the worker of cell c: 0, or -errno. */
static int start_cell(struct exec_state *x, struct run_cell *c, pid_t parent)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Dies with pnbench, however pnbench dies (SIGTERM, SIGHUP,
		 * SIGKILL): its QEMU or recorder follow the same way. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(1);
		/* A peer that went away (QEMU's sockets) is an error to report
		 * in meta.json, not a silent death. */
		signal(SIGPIPE, SIG_IGN);
		_exit(run_cell(x->p, c));
	}
	c->pid = pid;
	c->state = RUN_RUNNING;
	c->started_ns = pnb_mono_ns();
	x->running++;
	emit(x, RUN_EV_STARTED, c);
	return 0;
}

/* Wait for the workers still running (after a failure to start one). */
static void stop_all(struct run_plan *p)
{
	for (int i = 0; i < p->ncells; i++)
		if (p->cells[i].state == RUN_RUNNING) {
			kill(p->cells[i].pid, SIGKILL);
			waitpid(p->cells[i].pid, NULL, 0);
		}
}

int run_plan_execute(struct run_plan *p, run_progress_fn progress, void *arg,
		     struct run_totals *t, char *err, size_t len)
{
	struct exec_state x = { .p = p, .progress = progress, .arg = arg, .t0 = pnb_mono_ns() };
	pid_t parent = getpid();
	int rc, next = 0, failed = 0;

	memset(t, 0, sizeof *t);
	err[0] = 0;
	if (p->jobs < 1)
		p->jobs = 1;
	for (int i = 0; i < p->ncells; i++)
		if (p->cells[i].si < 0 && !p->job) {
			snprintf(err, len, "cell %s is a job cell and the plan has no job", p->cells[i].name);
			return PNB_EXIT_FAIL;
		}
	if ((rc = plan_prepare(p, err, len)))
		return rc;
	fflush(stdout);
	while (x.finished < p->ncells) {
		while (x.running < (int)p->jobs && next < p->ncells) {
			struct run_cell *c = &p->cells[next++];
			if (!p->force && (p->complete ? p->complete(c->final) :
					  run_cell_complete(c->final))) {
				c->state = RUN_DONE;
				x.finished++;
				x.skipped++;
				emit(&x, RUN_EV_SKIPPED, c);
			} else if ((rc = start_cell(&x, c, parent))) {
				snprintf(err, len, "cannot start the worker of cell %s: fork: %s", c->name,
					 strerror(-rc));
				stop_all(p);
				return PNB_EXIT_FAIL;
			}
		}
		if (!x.running)
			continue;
		int st;
		pid_t w = waitpid(-1, &st, WNOHANG);
		if (w <= 0) {
			emit(&x, RUN_EV_TICK, NULL);
			usleep(250000);
			continue;
		}
		for (int i = 0; i < p->ncells; i++) {
			struct run_cell *c = &p->cells[i];
			if (c->state != RUN_RUNNING || c->pid != w)
				continue;
			c->state = RUN_DONE;
			c->wstatus = st;
			c->ended_ns = pnb_mono_ns();
			x.running--;
			x.finished++;
			x.busy_ns += pnb_mono_ns() - c->started_ns;
			failed += !WIFEXITED(st) || WEXITSTATUS(st);
			emit(&x, RUN_EV_DONE, c);
		}
	}
	*t = (struct run_totals){ .cells = p->ncells, .failed = failed, .skipped = x.skipped };
	return 0;
}

/* A finished cell's two lines: status, time and fixed cost; what each
 * probe saw. */
static void print_done(const struct run_plan *p, const struct run_event *ev)
{
	const struct run_cell *c = ev->cell;
	if (c->si < 0) {
		int code = WIFEXITED(c->wstatus) ? WEXITSTATUS(c->wstatus) : -1;
		printf("[%d/%d] %s: %s in %.1fs\n", ev->finished, ev->total, c->name,
		       code == 0 ? "ok" : "failed", (c->ended_ns - c->started_ns) / 1e9);
		return;
	}
	char path[1400], line[1024], how[160], cost[96] = "";
	struct events_summary sum;
	const char *status = "broken", *reason = how;
	double wall = 0, boot = -1, poweroff = -1;

	/* No meta.json: say how the cell's worker ended, or nobody can tell
	 * a crash from a kill from outside. */
	if (WIFSIGNALED(c->wstatus))
		snprintf(how, sizeof how, "no meta.json: the cell's worker was killed by signal %d (%s)",
			 WTERMSIG(c->wstatus), strsignal(WTERMSIG(c->wstatus)));
	else
		snprintf(how, sizeof how, "no meta.json: the cell's worker exited %d before writing it",
			 WIFEXITED(c->wstatus) ? WEXITSTATUS(c->wstatus) : -1);
	snprintf(path, sizeof path, "%s/meta.json", c->final);
	json_t *m = json_load_file(path, 0, NULL);
	if (m)
		json_unpack(json_object_get(m, "result"), "{s?s, s?s, s?F, s?F, s?F}", "status",
			    &status, "reason", &reason, "wall_s", &wall, "boot_s", &boot,
			    "poweroff_s", &poweroff);
	if (boot >= 0 && poweroff >= 0)
		snprintf(cost, sizeof cost, " (boot to workload %.2fs, end to poweroff %.2fs)",
			 boot, poweroff);
	snprintf(path, sizeof path, "%s/events.jsonl", c->final);
	events_summarize(path, &sum);
	events_summary_line(&sum, line, sizeof line);
	printf("[%d/%d] %s %s rep %u%s: %s in %.1fs%s%s%s\n        %s\n", ev->finished, ev->total,
	       p->kernels[c->ki].name, p->scenarios[c->si].name, c->rep,
	       c->hier == SCN_HIER_V2 ? " (cgroup2)" : "", status, wall, cost,
	       strcmp(status, "ok") ? ": " : "", strcmp(status, "ok") ? reason : "", line);
	json_decref(m);
	if (ev->left_s >= 0 && ev->finished < ev->total)
		printf("        elapsed %.0fs, about %.0fs left\n", ev->elapsed_s, ev->left_s);
}

void run_progress_print(const struct run_plan *p, const struct run_event *ev, void *arg)
{
	const struct run_cell *c = ev->cell;
	/* On a terminal one line is redrawn while cells run; in a log,
	 * each start gets its own line instead. */
	int tty = isatty(1);

	(void)arg;
	switch (ev->kind) {
	case RUN_EV_SKIPPED:
		if (c->si < 0)
			printf("[%d/%d] %s: complete already, skipped\n", ev->finished, ev->total, c->name);
		else
			printf("[%d/%d] %s %s rep %u: complete already, skipped\n", ev->finished,
			       ev->total, p->kernels[c->ki].name, p->scenarios[c->si].name, c->rep);
		break;
	case RUN_EV_STARTED:
		if (!tty && c->si < 0)
			printf("        start %s\n", c->name);
		else if (!tty)
			printf("        start %s %s rep %u\n", p->kernels[c->ki].name,
			       p->scenarios[c->si].name, c->rep);
		break;
	case RUN_EV_TICK:
		if (!tty)
			return;
		printf("\r\033[K[%d/%d] %d running, elapsed %.0fs%s", ev->finished, ev->total,
		       ev->running, ev->elapsed_s, ev->left_s < 0 ? ", ETA after the first cell" : "");
		if (ev->left_s >= 0)
			printf(", ETA %.0fs", ev->left_s);
		break;
	case RUN_EV_DONE:
		if (tty)
			printf("\r\033[K");
		print_done(p, ev);
		break;
	}
	fflush(stdout);
}
