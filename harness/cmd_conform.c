/* pnbench conform --kernel K... [--out DIR] [--force]: the conformance
 * suite on each kernel, one guest boot per kernel (never two at once),
 * then the matrix: DIR/matrix.txt (80 columns, for mail) and
 * DIR/junit.xml (for CI). */
#include "events_read.h"
#include "cli.h"
#include "conform.h"
#include "fsutil.h"
#include "guest.h"
#include "junit.h"
#include "log.h"
#include "run.h"
#include "runner.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *const conform_case_names[CONFORM_NCASES] = {
#define CF_CASE(name, doc, xr, xw) #name,
#include "conform/cases.h"
#undef CF_CASE
};

/* One boot of the suite: phase v1 (every case but memory.events, the v1
 * memory controller mounted) or v2 (memory.events, cgroup2 owning it). */
static int boot_phase(const struct kernel_image *k, const char *spec, const char *phase,
		      const char *dir, char *err, size_t errlen)
{
	struct run_result res;
	const char *argv[] = { "/bin/pnbench-conform", "--phase", phase, NULL };
	/* 512 MiB leaves the suite's own 32..64 MiB memcgs far from a global
	 * OOM; the data disk gives the thrashing and streaming hogs real,
	 * reclaimable page cache. */
	struct guest_shape shape = { .memory = 512ULL << 20, .cpus = 2, .data_size = 128ULL << 20,
				     .bound_ns = 420ULL * 1000000000ULL, .cmdline = "",
				     .memory_hierarchy = phase };
	int e;

	if ((e = pnb_mkdir_all(dir, 0755))) {
		snprintf(err, errlen, "conform: cannot create %s: %s", dir, strerror(-e));
		return -1;
	}
	if (guest_exec(k, argv, &shape, dir, NULL, &res) || !res.complete) {
		snprintf(err, errlen, "conform: guest on %s (phase %s): %s: %s (see %s/console.log)",
			 spec, phase, res.status[0] ? res.status : "broken", res.reason, dir);
		return -1;
	}
	return 0;
}

static int boot_image(const struct kernel_image *k, const char *spec, const char *dir,
		      char *err, size_t errlen)
{
	char v2dir[PNB_PATH + 8];

	snprintf(v2dir, sizeof v2dir, "%s/v2", dir);
	if (boot_phase(k, spec, "v1", dir, err, errlen))
		return -1;
	return boot_phase(k, spec, "v2", v2dir, err, errlen);
}

int conform_boot(const char *spec, const char *dir, char *kname, size_t klen, char *err, size_t errlen)
{
	struct kernel_image k;

	if (kernel_resolve(spec, 1, &k, err, errlen))
		return -1;
	if (kname)
		snprintf(kname, klen, "%s", k.name);
	return boot_image(&k, spec, dir, err, errlen);
}

/* A worker is another process: its one-line reason comes back to the
 * matrix through this file in the kernel's directory. */
#define BOOT_ERROR "conform-error.txt"

/* The runner's job: both boots of one kernel, in the cell's worker. */
static int boot_job(const struct run_plan *p, const struct run_cell *c, void *arg)
{
	char err[1024], path[PNB_PATH + 32];
	FILE *f;

	(void)arg;
	snprintf(path, sizeof path, "%s/" BOOT_ERROR, c->final);
	unlink(path);
	if (!boot_image(&p->kernels[c->ki], p->kernel_specs[c->ki], c->final, err, sizeof err))
		return 0;
	pnb_err("%s", err);
	if ((f = fopen(path, "we"))) {
		fprintf(f, "%s\n", err);
		fclose(f);
	}
	return 1;
}

/* Complete: both boots' events end (the runner skips it unless --force). */
static int boot_complete(const char *dir)
{
	struct conform_row *rows = calloc(CONFORM_NCASES, sizeof *rows);
	int done = rows && conform_load(dir, rows) == 1;

	free(rows);
	return done;
}

/* Standard output is the matrix: the runner's progress stays on stderr. */
static void boot_progress(const struct run_plan *p, const struct run_event *ev, void *arg)
{
	(void)arg;
	if (ev->kind == RUN_EV_STARTED)
		fprintf(stderr, "pnbench: conform: booting %s (about 2-4 minutes under TCG)\n",
			p->kernel_specs[ev->cell->ki]);
}

static int load_one(const char *dir, struct conform_row *rows)
{
	char path[PNB_PATH + 16], type[16];
	struct evr_reader rd;
	struct evr_line l = { 0 };
	int end = 0, r;

	snprintf(path, sizeof path, "%s/events.jsonl", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	evr_init(&rd, f);
	while ((r = evr_next(&rd, &l)) == 1) {
		/* Only end and case lines matter: the rest is not parsed. */
		if (!evr_peek_type(&l, type, sizeof type) && strcmp(type, "end") && strcmp(type, "case"))
			continue;
		if (evr_parse(&l))
			continue;
		struct evr_obj o = evr_root(&l);
		const char *t = evr_str(o, "type");
		if (t && !strcmp(t, "end"))
			end = 1;
		if (t && !strcmp(t, "case")) {
			const char *name = evr_str(o, "case"), *res = evr_str(o, "result");
			const char *why = evr_str(o, "reason");
			for (int i = 0; name && res && i < CONFORM_NCASES; i++)
				if (!strcmp(name, conform_case_names[i])) {
					snprintf(rows[i].result, sizeof rows[i].result, "%s", res);
					snprintf(rows[i].reason, sizeof rows[i].reason, "%s", why ? why : "");
				}
		}
	}
	evr_line_free(&l);
	evr_free(&rd);
	fclose(f);
	return end;
}

/* Both boots' case lines, the v2 boot's after the v1 boot's: 1 when both
 * ended, 0 when either did not, -errno when a file is missing. */
int conform_load(const char *dir, struct conform_row *rows)
{
	char v2dir[PNB_PATH + 8];
	int a, b;

	memset(rows, 0, sizeof *rows * CONFORM_NCASES);
	snprintf(v2dir, sizeof v2dir, "%s/v2", dir);
	a = load_one(dir, rows);
	b = load_one(v2dir, rows);
	if (a < 0)
		return a;
	if (b < 0)
		return b;
	return a && b;
}

static const char *cell(const char *r)
{
	if (!r[0])
		return "-";
	if (!strcmp(r, "passed"))
		return "pass";
	if (!strcmp(r, "failed"))
		return "FAIL";
	if (!strcmp(r, "skipped"))
		return "skip";
	if (!strcmp(r, "expected_failure"))
		return "xfail";
	return "?";
}

/* Greedy wrap at width with a hanging indent, for the reasons under the table. */
static void wrap(FILE *f, const char *text, int width, int indent)
{
	int col = indent;
	const char *s = text;

	while (*s) {
		const char *w = s;
		while (*w && *w != ' ')
			w++;
		int len = (int)(w - s);
		if (col > indent && col + 1 + len > width) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%.*s", len, s);
		col += len;
		s = *w ? w + 1 : w;
	}
	fputc('\n', f);
}

static void matrix(FILE *f, int nk, char (*kname)[128], struct conform_row (*rows)[CONFORM_NCASES],
		   const char **status)
{
	fprintf(f, "pnbench conformance matrix (docs/conformance.md)\n\n");
	for (int k = 0; k < nk; k++)
		fprintf(f, "  K%d = %s%s%s\n", k + 1, kname[k], status[k] ? "  -- " : "", status[k] ? status[k] : "");
	fprintf(f, "\n%-28s", "case");
	for (int k = 0; k < nk; k++)
		fprintf(f, " %-6s", (char[8]){ 'K', (char)('1' + k), 0 });
	fputc('\n', f);
	for (int i = 0; i < CONFORM_NCASES; i++) {
		fprintf(f, "%-28.28s", conform_case_names[i]);
		for (int k = 0; k < nk; k++)
			fprintf(f, " %-6s", cell(rows[k][i].result));
		fputc('\n', f);
	}
	int counts[5] = { 0 };
	for (int k = 0; k < nk; k++)
		for (int i = 0; i < CONFORM_NCASES; i++) {
			const char *c = cell(rows[k][i].result);
			counts[!strcmp(c, "pass") ? 0 : !strcmp(c, "FAIL") ? 1 : !strcmp(c, "skip") ? 2
			       : !strcmp(c, "xfail") ? 3 : 4]++;
		}
	fprintf(f, "\n%d pass, %d FAIL, %d skip, %d xfail, %d missing\n", counts[0], counts[1], counts[2],
		counts[3], counts[4]);
	fprintf(f, "\nReasons (FAIL, skip, xfail):\n");
	for (int i = 0; i < CONFORM_NCASES; i++)
		for (int k = 0; k < nk; k++) {
			const char *c = cell(rows[k][i].result);
			if (!strcmp(c, "pass"))
				continue;
			char head[1400];
			snprintf(head, sizeof head, "K%d %s %s: %s", k + 1, conform_case_names[i], c,
				 rows[k][i].result[0] ? rows[k][i].reason : "no result line (the guest stopped early)");
			fputs("- ", f);
			wrap(f, head, 78, 2);
		}
}

static void junit(FILE *f, int nk, char (*kname)[128], struct conform_row (*rows)[CONFORM_NCASES])
{
	junit_open(f);
	for (int k = 0; k < nk; k++) {
		int fails = 0, skips = 0;
		char cls[160];
		for (int i = 0; i < CONFORM_NCASES; i++) {
			fails += !strcmp(rows[k][i].result, "failed") || !rows[k][i].result[0];
			skips += !strcmp(rows[k][i].result, "skipped");
		}
		snprintf(cls, sizeof cls, "conform.%s", kname[k]);
		junit_suite_open(f, cls, CONFORM_NCASES, fails, skips, 0);
		for (int i = 0; i < CONFORM_NCASES; i++) {
			const struct conform_row *r = &rows[k][i];
			char out[sizeof r->reason + 32];
			struct junit_case c = { .classname = cls, .name = conform_case_names[i] };
			if (!strcmp(r->result, "failed") || !r->result[0]) {
				c.result = JUNIT_FAILURE;
				c.message = r->result[0] ? r->reason : "no result line";
			} else if (!strcmp(r->result, "skipped")) {
				c.result = JUNIT_SKIPPED;
				c.message = r->reason;
			} else if (!strcmp(r->result, "expected_failure")) {
				snprintf(out, sizeof out, "expected failure: %s", r->reason);
				c.system_out = out;
			}
			junit_case(f, &c);
		}
		junit_suite_close(f);
	}
	junit_close(f);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pnbench conform --kernel K [--kernel K...] [--out DIR] [--force]\n"
		"  Boots each kernel twice (one guest at a time) with the conformance suite as\n"
		"  the guest's only job: phase v1, then v2 (cgroup2 owns the memory controller,\n"
		"  for memory.events) into DIR/<kernel>/ and DIR/<kernel>/v2/; writes DIR/matrix.txt,\n"
		"  DIR/junit.xml and prints the matrix.  A kernel whose DIR/<kernel> already\n"
		"  holds a complete run is not booted again unless --force.\n"
		"  DIR defaults to results/runs/conform.\n");
}

int cmd_conform(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' }, { "out", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, { 0 } };
	const char *kernels[8], *out = "results/runs/conform";
	int nk = 0, force = 0, c, bad = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "k:o:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (nk == 8) {
				pnb_err("conform: at most 8 kernels");
				return PNB_EXIT_USAGE;
			}
			kernels[nk++] = optarg;
			break;
		case 'o': out = optarg; break;
		case 'f': force = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return PNB_EXIT_USAGE;
		}
	}
	if (!nk || optind != argc) {
		usage(stderr);
		return PNB_EXIT_USAGE;
	}
	char (*kname)[128] = calloc((size_t)nk, sizeof *kname);
	struct conform_row (*rows)[CONFORM_NCASES] = calloc((size_t)nk, sizeof *rows);
	const char *status[8] = { 0 };
	static char errs[8][512];
	if (!kname || !rows) {
		pnb_err("conform: out of memory");
		return PNB_EXIT_FAIL;
	}
	/* One cell per kernel, one at a time: two TCG guests of the suite
	 * would slow each other past its timeouts. */
	struct run_plan p = { .jobs = 1, .force = force, .argc = argc, .argv = argv,
			      .job = boot_job, .complete = boot_complete, .who = "conform" };
	struct run_totals t;
	int pk[8];
	snprintf(p.out, sizeof p.out, "%s", out);
	for (int k = 0; k < nk; k++) {
		char dir[PNB_PATH];
		pk[k] = -1;
		snprintf(kname[k], sizeof kname[k], "%s", kernels[k]);
		if (!strcmp(kernels[k], "native"))
			snprintf(errs[k], sizeof errs[k], "conform boots its suite in guests: native "
				 "is not a kernel to boot");
		else if (!run_plan_add_kernel(&p, kernels[k], 1, 0, errs[k], sizeof errs[k]))
			pk[k] = p.nkernels - 1;
		if (pk[k] < 0) {
			pnb_err("conform: %s", errs[k]);
			status[k] = errs[k];
			bad = 1;
			continue;
		}
		snprintf(kname[k], sizeof kname[k], "%s", p.kernels[pk[k]].name);
		snprintf(dir, sizeof dir, "%s/%s", out, kname[k]);
		if (run_plan_add_job(&p, pk[k], kname[k], dir, errs[k], sizeof errs[k])) {
			pnb_err("conform: %s", errs[k]);
			free(kname);
			free(rows);
			run_plan_free(&p);
			return PNB_EXIT_FAIL;
		}
	}
	char err[1024];
	if (p.ncells && run_plan_execute(&p, boot_progress, NULL, &t, err, sizeof err)) {
		if (err[0])
			pnb_err("conform: %s", err);
		bad = 1;
	}
	for (int i = 0; i < p.ncells; i++) {
		const struct run_cell *c = &p.cells[i];
		int k;
		for (k = 0; k < nk && pk[k] != c->ki; k++)
			;
		if (k < nk && c->state == RUN_DONE && (!WIFEXITED(c->wstatus) || WEXITSTATUS(c->wstatus))) {
			char path[PNB_PATH + 32];
			FILE *ef;
			snprintf(path, sizeof path, "%s/" BOOT_ERROR, c->final);
			snprintf(errs[k], sizeof errs[k], "conform: the boot of %s failed (worker status "
				 "%d, see %s/console.log)", kernels[k], c->wstatus, c->final);
			if ((ef = fopen(path, "re"))) {
				if (fgets(errs[k], sizeof errs[k], ef))
					errs[k][strcspn(errs[k], "\n")] = 0;
				fclose(ef);
			}
			status[k] = errs[k];
			bad = 1;
		}
		if (k < nk)
			conform_load(c->final, rows[k]);
	}
	run_plan_free(&p);
	char path[PNB_PATH];
	FILE *f;
	matrix(stdout, nk, kname, rows, status);
	snprintf(path, sizeof path, "%s/matrix.txt", out);
	if (!pnb_mkdir_all(out, 0755) && (f = fopen(path, "we"))) {
		matrix(f, nk, kname, rows, status);
		fclose(f);
	}
	snprintf(path, sizeof path, "%s/junit.xml", out);
	if ((f = fopen(path, "we"))) {
		junit(f, nk, kname, rows);
		fclose(f);
	}
	for (int k = 0; k < nk; k++)
		for (int i = 0; i < CONFORM_NCASES; i++)
			bad |= !strcmp(rows[k][i].result, "failed") || !rows[k][i].result[0];
	free(kname);
	free(rows);
	return bad ? PNB_EXIT_FAIL : 0;
}
