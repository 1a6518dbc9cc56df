/* pnbench export lava --cell KERNEL/SCENARIO/REP --kernel-url URL
 * --ramdisk-url URL [--data-disk-url URL] [--scenario PATH]: one cell as a
 * LAVA job for the qemu device type (docs/ci.md).
 *
 * The lab boots the kernel with pnbench's initramfs (the base one, without
 * a run archive) and pnbench.shell=1 on the command line: /init sets the
 * machine up exactly as for a run, then gives the console a shell.  LAVA's
 * test shell types one inline step there: the recorder with the cell's own
 * arguments (the same function builds them as for pnbench run), writing
 * events to /tmp and printing LAVA signal lines at the end (--lava). */
#include "cli.h"
#include "export.h"
#include "log.h"
#include "parse.h"
#include "run.h"
#include "scenario.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pnb_scenario_check(const char *name, struct scenario *s, char *err, size_t len);

/* The recorder's priority in a guest, as harness/guest.c sets it. */
#define LAVA_RECORDER_FIFO 40

/* A YAML single-quoted scalar: '' is the only escape. */
static void yq(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

/* A shell word for the test step, single-quoted unless it is plain. */
static void shq(char *out, size_t len, size_t *o, const char *s)
{
	int plain = *s != 0;
	for (const char *p = s; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=%,+", *p))
			plain = 0;
	if (plain) {
		*o += (size_t)snprintf(out + *o, *o < len ? len - *o : 0, "%s", s);
		return;
	}
	*o += (size_t)snprintf(out + *o, *o < len ? len - *o : 0, "'");
	for (; *s; s++)
		*o += (size_t)snprintf(out + *o, *o < len ? len - *o : 0, *s == '\'' ? "'\\''" : "%c", *s);
	*o += (size_t)snprintf(out + *o, *o < len ? len - *o : 0, "'");
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: pnbench export lava --cell KERNEL/SCENARIO/REP --kernel-url URL\n"
"                           --ramdisk-url URL [--data-disk-url URL]\n"
"                           [--scenario PATH] [--priority high|medium|low]\n"
"  Writes a LAVA job (YAML) for the qemu device type on standard output: deploy\n"
"  kernel and ramdisk to tmpfs, boot: qemu with pnbench.shell=1, one inline\n"
"  test definition that runs the cell's recorder with --lava.  The ramdisk is\n"
"  pnbench's initramfs for that kernel (docs/ci.md says where it is); the data\n"
"  disk, for scenarios that read one, is the ext4 image pnbench builds.\n");
}

static int valid_url(const char *u)
{
	return !strncmp(u, "http://", 7) || !strncmp(u, "https://", 8) || !strncmp(u, "file://", 7);
}

struct lava_job {
	const char *cell, *kurl, *rurl, *durl;
	const char *prio;
	unsigned long long rep;
};

/* The job itself: deploy kernel and ramdisk (and the data disk), boot to
 * the shell prompt, one inline test whose step is the recorder's command. */
static void write_job(FILE *f, const struct lava_job *j, const struct scenario *s,
		      const char *append, const char *step)
{
	/* Boot and set-up are seconds; the run is the scenario's duration. */
	unsigned run_min = (unsigned)((s->duration_ns / 1000000000ULL + 59) / 60) + 5;
	char buf[1400];

	fprintf(f, "# pnbench export lava --cell %s (docs/ci.md)\n", j->cell);
	fprintf(f, "device_type: qemu\njob_name: ");
	snprintf(buf, sizeof buf, "pnbench %s", j->cell);
	yq(f, buf);
	fprintf(f, "\nvisibility: public\npriority: %s\n", j->prio);
	fprintf(f, "timeouts:\n  job:\n    minutes: %u\n  action:\n    minutes: %u\n", run_min + 15, run_min);
	fprintf(f, "context:\n  arch: amd64\n  memory: %llu\n  extra_options:\n  - ",
		(unsigned long long)(s->memory >> 20));
	snprintf(buf, sizeof buf, "-smp %u", s->cpus);
	yq(f, buf);
	fprintf(f, "\nactions:\n- deploy:\n    to: tmpfs\n    os: oe\n    timeout:\n      minutes: 10\n"
		   "    images:\n      kernel:\n        url: ");
	yq(f, j->kurl);
	fprintf(f, "\n        image_arg: ");
	snprintf(buf, sizeof buf, "-kernel {kernel} -append \"%s\"", append);
	yq(f, buf);
	fprintf(f, "\n      ramdisk:\n        url: ");
	yq(f, j->rurl);
	fprintf(f, "\n        image_arg: '-initrd {ramdisk}'\n");
	if (j->durl) {
		fprintf(f, "      data:\n        url: ");
		yq(f, j->durl);
		fprintf(f, "\n        image_arg: '-drive file={data},if=virtio,format=raw,readonly=on'\n");
	}
	fprintf(f, "- boot:\n    method: qemu\n    media: tmpfs\n    timeout:\n      minutes: 5\n"
		   "    prompts:\n    - 'pnbench-lava# '\n");
	fprintf(f, "- test:\n    timeout:\n      minutes: %u\n    definitions:\n    - from: inline\n"
		   "      name: ", run_min);
	kx_path_part(buf, sizeof buf, s->name);
	fprintf(f, "pnbench-%s\n      path: inline/pnbench.yaml\n      repository:\n        metadata:\n"
		   "          format: Lava-Test Test Definition 1.0\n          name: ", buf);
	yq(f, j->cell);
	fprintf(f, "\n          description: ");
	snprintf(buf, sizeof buf, "pnbench scenario %s, repetition %llu: the recorder prints LAVA "
		 "signal lines (first notification, lead before the OOM kill) at its end", s->name, j->rep);
	yq(f, buf);
	fprintf(f, "\n        run:\n          steps:\n          - ");
	yq(f, step);
	fputc('\n', f);
}

int export_lava(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cell", required_argument, NULL, 'c' }, { "kernel-url", required_argument, NULL, 'k' },
		{ "ramdisk-url", required_argument, NULL, 'r' }, { "data-disk-url", required_argument, NULL, 'd' },
		{ "scenario", required_argument, NULL, 's' }, { "priority", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' }, { 0 } };
	const char *cell = NULL, *kurl = NULL, *rurl = NULL, *durl = NULL, *spath = NULL;
	const char *prio = "medium";
	char err[1024], kname[300], sname[300];
	unsigned long long rep = 0;
	struct scenario s;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cell = optarg; break;
		case 'k': kurl = optarg; break;
		case 'r': rurl = optarg; break;
		case 'd': durl = optarg; break;
		case 's': spath = optarg; break;
		case 'p': prio = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return PNB_EXIT_USAGE;
		}
	}
	if (optind != argc || !cell || !kurl || !rurl) {
		pnb_err("export lava: need --cell, --kernel-url and --ramdisk-url (see 'pnbench export lava --help')");
		return PNB_EXIT_USAGE;
	}
	const char *url[] = { kurl, rurl, durl };
	for (int i = 0; i < 3; i++)
		if (url[i] && (!valid_url(url[i]) || strpbrk(url[i], " \t\n'\""))) {
			pnb_err("export lava: '%s': want an http(s):// or file:// URL without blanks or quotes",
				url[i]);
			return PNB_EXIT_USAGE;
		}
	if (strcmp(prio, "high") && strcmp(prio, "medium") && strcmp(prio, "low")) {
		pnb_err("export lava: --priority '%s': high, medium or low", prio);
		return PNB_EXIT_USAGE;
	}
	/* KERNEL/SCENARIO/REP, as pnbench run --list names cells. */
	const char *a = strchr(cell, '/'), *b = a ? strchr(a + 1, '/') : NULL;
	uint64_t r64;
	if (!a || !b || strchr(b + 1, '/') || a == cell || b == a + 1 || pnb_parse_u64(b + 1, &r64) ||
	    r64 < 1 || r64 > 1000) {
		pnb_err("export lava: --cell '%s': want KERNEL/SCENARIO/REP as pnbench run --list prints",
			cell);
		return PNB_EXIT_USAGE;
	}
	rep = r64;
	snprintf(kname, sizeof kname, "%.*s", (int)(a - cell), cell);
	snprintf(sname, sizeof sname, "%.*s", (int)(b - a - 1), a + 1);
	if (pnb_scenario_check(spath ? spath : sname, &s, err, sizeof err)) {
		pnb_err("export lava: %s", err);
		return PNB_EXIT_USAGE;
	}
	if (strcmp(s.name, sname)) {
		pnb_err("export lava: --scenario %s is scenario %s, not the cell's %s", spath, s.name, sname);
		scenario_free(&s);
		return PNB_EXIT_USAGE;
	}
	if (s.data_size && !durl) {
		pnb_err("export lava: scenario %s reads a data disk (/dev/vda): give --data-disk-url",
			s.name);
		scenario_free(&s);
		return PNB_EXIT_USAGE;
	}

	struct record_args args;
	struct record_where where = {
		.recorder = "/bin/pnbench-record", .workload = "/bin/pnbench-workload",
		.out = "/tmp/events.jsonl", .memcg_flag = "--memcg-v1",
		.memcg_dir = "/sys/fs/cgroup/memory/pnbench", .domain = "system",
		.data = "/data/data.bin", .kernel = kname, .fifo_prio = LAVA_RECORDER_FIFO,
	};
	if (record_args_build(&s, (unsigned)rep, &where, &args)) {
		pnb_err("export lava: cell %s: the recorder's command line is too long", cell);
		scenario_free(&s);
		return PNB_EXIT_FAIL;
	}
	char step[16384];
	size_t o = 0;
	for (int i = 0; i < args.argc; i++) {
		if (i)
			o += (size_t)snprintf(step + o, o < sizeof step ? sizeof step - o : 0, " ");
		shq(step, sizeof step, &o, args.argv[i]);
		if (i == 0)
			o += (size_t)snprintf(step + o, o < sizeof step ? sizeof step - o : 0, " --lava");
	}
	if (o >= sizeof step) {
		pnb_err("export lava: cell %s: the test step is longer than %zu bytes", cell, sizeof step);
		scenario_free(&s);
		return PNB_EXIT_FAIL;
	}
	/* The same command line as guest.c's, plus the shell mode. */
	char append[1024];
	snprintf(append, sizeof append, "console=ttyS0 earlyprintk=serial,ttyS0 loglevel=1 panic=-1 "
		 "lpj=4000000 tsc=reliable pnbench.shell=1%s%s%s", s.data_size ? " pnbench.disk=1" : "",
		 s.cmdline[0] ? " " : "", s.cmdline);
	if (strchr(append, '"')) {
		pnb_err("export lava: scenario %s: a kernel command line with '\"' cannot go into "
			"LAVA's image_arg", s.name);
		scenario_free(&s);
		return PNB_EXIT_USAGE;
	}
	struct lava_job j = { .cell = cell, .kurl = kurl, .rurl = rurl, .durl = durl,
			       .prio = prio, .rep = rep };
	write_job(stdout, &j, &s, append, step);
	FILE *f = stdout;
	scenario_free(&s);
	if (fflush(f)) {
		pnb_err("export lava: cannot write standard output");
		return PNB_EXIT_FAIL;
	}
	return 0;
}
