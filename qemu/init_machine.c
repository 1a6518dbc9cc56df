/* pnbench-init: the machine's set-up (filesystems, modules, cgroups, zram,
 * MGLRU) and the knobs read back for the host. */
#include "init.h"


void parse_env(struct run_env *env)
{
	static char buf[8192];
	ssize_t n = slurp("/pnbench/run.env", buf, sizeof buf);
	int lineno = 0;

	memset(env, 0, sizeof *env);
	env->lru_gen = -1;
	env->min_ttl_ms = -1;
	if (n == -ENOENT)
		return;
	if (n < 0)
		fail("reading /pnbench/run.env failed: %s", strerror((int)-n));
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		parse_env_line(env, line, ++lineno);
}

void parse_env_line(struct run_env *env, char *line, int lineno)
{
	{
		if (!*line || *line == '#')
			return;
		char *eq = strchr(line, '=');
		if (!eq)
			fail("/pnbench/run.env line %d '%s' failed: not key=value", lineno, line);
		*eq = 0;
		const char *key = line, *val = eq + 1;
		if (!strcmp(key, "memory_hierarchy")) {
			if (!strcmp(val, "v1"))
				env->memcg_v2 = 0;
			else if (!strcmp(val, "v2"))
				env->memcg_v2 = 1;
			else
				fail("/pnbench/run.env memory_hierarchy '%s' failed: not v1 or v2", val);
		} else if (!strcmp(key, "fault")) {
			const char *colon = strchr(val, ':');
			size_t kl = colon ? (size_t)(colon - val) : strlen(val);
			if (kl == 5 && !strncmp(val, "panic", 5))
				env->fault = FAULT_PANIC;
			else if (kl == 4 && !strncmp(val, "hang", 4))
				env->fault = FAULT_HANG;
			else
				fail("/pnbench/run.env fault '%s' failed: not panic:DELAY or hang:DELAY", val);
			if (!colon || pnb_parse_duration_ns(colon + 1, &env->fault_delay_ns))
				fail("/pnbench/run.env fault '%s' failed: DELAY must be a duration "
				     "such as 2s or 500ms", val);
		} else if (!strcmp(key, "snapshot") && !strcmp(val, "1")) {
			env->snapshot = 1;
		} else if (!strcmp(key, "swap")) {
			/* zram:BYTES[:ALGO], as lib/scenario.c writes it. */
			char num[32];
			const char *algo = strchr(val + (strncmp(val, "zram:", 5) ? 0 : 5), ':');
			size_t nl = algo ? (size_t)(algo - val - 5) : strlen(val) - 5;
			if (strncmp(val, "zram:", 5) || nl >= sizeof num ||
			    (memcpy(num, val + 5, nl), num[nl] = 0, pnb_parse_u64(num, &env->zram_bytes)) ||
			    !env->zram_bytes || (algo && strlen(algo + 1) >= sizeof env->zram_algo))
				fail("/pnbench/run.env swap '%s' failed: not zram:BYTES[:ALGO]", val);
			snprintf(env->zram_algo, sizeof env->zram_algo, "%s", algo ? algo + 1 : "");
		} else if (!strcmp(key, "lru_gen")) {
			if (strcmp(val, "on") && strcmp(val, "off"))
				fail("/pnbench/run.env lru_gen '%s' failed: not on or off", val);
			env->lru_gen = !strcmp(val, "on");
		} else if (!strcmp(key, "min_ttl_ms")) {
			if (pnb_parse_i64(val, &env->min_ttl_ms) || env->min_ttl_ms < 0)
				fail("/pnbench/run.env min_ttl_ms '%s' failed: not a number", val);
		} else if (!strcmp(key, "memory_max") || !strcmp(key, "memory_high")) {
			uint64_t *dst = key[7] == 'm' ? &env->memory_max : &env->memory_high;
			if (pnb_parse_u64(val, dst) || !*dst)
				fail("/pnbench/run.env %s '%s' failed: not a number of bytes", key, val);
		} else {
			fail("/pnbench/run.env key '%s' failed: unknown (memory_hierarchy, fault, "
			     "snapshot, swap, lru_gen, min_ttl_ms, memory_max, memory_high)", key);
		}
	}
}

/* ---- set-up steps ---- */

/* Under TCG the kernel's own entropy gathering takes about a second after
 * init starts, and the first reader of /dev/urandom (jansson seeding its
 * hash tables in the recorder) waits for it.  The host put a fresh random
 * seed in the run archive: credit it, as a bootloader seed would be, so the
 * recorder starts at once.  Without it nothing breaks, it is only slower. */
void credit_seed(void)
{
	struct { struct rand_pool_info info; unsigned char buf[64]; } seed;
	ssize_t n = slurp("/pnbench/seed", (char *)seed.buf, sizeof seed.buf);
	int fd;

	if (n == -ENOENT)
		return;
	/* slurp keeps a byte for its NUL: a 32-byte seed reads whole. */
	if (n < 16) {
		say("random seed: /pnbench/seed unreadable or short (%zd), not used", n);
		return;
	}
	seed.info.entropy_count = (int)n * 8;
	seed.info.buf_size = (int)n;
	fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, RNDADDENTROPY, &seed.info))
		say("random seed: crediting it failed: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	/* Not for anyone else to read later. */
	unlink("/pnbench/seed");
}

int cmdline_has(const char *word)
{
	char buf[4096];
	size_t wl = strlen(word);

	if (slurp("/proc/cmdline", buf, sizeof buf) < 0)
		return 0;
	for (char *p = buf; (p = strstr(p, word)); p += wl)
		if ((p == buf || p[-1] == ' ') && (p[wl] == ' ' || p[wl] == '\n' || !p[wl]))
			return 1;
	return 0;
}

void mount_cgroups(int v2)
{
	must_mount("cgroup_root", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		   "mode=0755,size=64k");
	/* The memory controller binds to one hierarchy only: with v2 it must
	 * not be claimed by a v1 mount first. */
	if (!v2)
		must_mount("memory", "/sys/fs/cgroup/memory", "cgroup",
			   MS_NOSUID | MS_NODEV | MS_NOEXEC, "memory");
	must_mount("cgroup2", "/sys/fs/cgroup/unified", "cgroup2",
		   MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	if (v2) {
		int e = put("/sys/fs/cgroup/unified/cgroup.subtree_control", "+memory");
		if (e)
			fail("enabling +memory in /sys/fs/cgroup/unified/cgroup.subtree_control "
			     "failed: %s", strerror(-e));
	}
	const char *wl = v2 ? "/sys/fs/cgroup/unified/pnbench" : "/sys/fs/cgroup/memory/pnbench";
	if (mkdir(wl, 0755) && errno != EEXIST)
		fail("mkdir %s failed: %s", wl, strerror(errno));
}

void mount_tracefs(void)
{
	/* A kernel without tracing has no tracefs: the ground-truth probe then
	 * reports tracefs unsupported and falls back to kmsg/vmstat, so that
	 * is no reason to stop the run. */
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
		if (errno == ENODEV || errno == ENOENT)
			say("no tracefs in this kernel (%s): tracing probes will say unsupported",
			    strerror(errno));
		else
			fail("mount tracefs on /sys/kernel/tracing failed: %s", strerror(errno));
	}
}

/* Load one module, path relative to dir: 0, or -errno (said on the console
 * unless quiet is asked by the caller's context). */
static int load_one(const char *dir, const char *rel)
{
	char path[700];
	struct stat st;
	int fd, e = 0;

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (stat(dir, &st))
			fail("modules for this kernel failed: %s is not in the initramfs "
			     "(image built for another kernel release?)", dir);
		say("module %s failed: %s", path, strerror(e));
		return -e;
	}
	/* Compressed modules (.ko.xz/.zst/.gz) are decompressed by the
	 * kernel itself when it was built with MODULE_DECOMPRESS. */
	size_t rl = strlen(rel);
	int flags = (rl > 3 && strcmp(rel + rl - 3, ".ko")) ? MODULE_INIT_COMPRESSED_FILE : 0;
	/* ENODEV: an alternative this CPU cannot use (crc32c-intel
	 * without SSE4.2 under TCG), as modprobe would also find. */
	if (syscall(SYS_finit_module, fd, "", flags) == 0 || errno == EEXIST)
		;
	else if (errno == ENODEV)
		say("module %s: not for this machine (ENODEV), skipped", rel);
	else {
		e = errno;
		say("loading module %s failed: %s", rel, strerror(e));
	}
	close(fd);
	return -e;
}

static void modules_dir(char *dir, size_t len)
{
	struct utsname u;
	uname(&u);
	snprintf(dir, len, "/lib/modules/%s", u.release);
}

void load_modules(void)
{
	static char list[16384];
	char dir[300];
	ssize_t n = slurp("/pnbench/modules.load", list, sizeof list);

	if (n == -ENOENT)
		return;
	if (n < 0)
		fail("reading /pnbench/modules.load failed: %s", strerror((int)-n));
	modules_dir(dir, sizeof dir);
	for (char *save = NULL, *rel = strtok_r(list, "\n", &save); rel;
	     rel = strtok_r(NULL, "\n", &save))
		if (*rel)
			load_one(dir, rel);
}

/* The optional modules of one group ("zram", or a compressor such as
 * "lz4"), in the image's order (dependencies first): how many lines the
 * group had, or -errno of the first module that failed to load. */
static int load_group(const char *group)
{
	static char list[16384];
	char dir[300];
	size_t gl = strlen(group);
	int lines = 0;
	ssize_t n = slurp("/pnbench/modules.optional", list, sizeof list);

	if (n < 0)
		return 0;
	modules_dir(dir, sizeof dir);
	for (char *save = NULL, *l = strtok_r(list, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, group, gl) || l[gl] != ' ')
			continue;
		lines++;
		int e = load_one(dir, l + gl + 1);
		if (e)
			return e;
	}
	return lines;
}

/* ---- machine knobs (before the snapshot point) ---- */

static void unsupported(struct run_env *env, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void unsupported(struct run_env *env, const char *fmt, ...)
{
	va_list ap;
	if (env->unsupported[0])
		return;
	va_start(ap, fmt);
	vsnprintf(env->unsupported, sizeof env->unsupported, fmt, ap);
	va_end(ap);
}

/* A one-line value of a small sysfs/proc file, without its newline. */
static int read_line_of(const char *path, char *out, size_t len)
{
	ssize_t n = slurp(path, out, len);
	if (n < 0) {
		snprintf(out, len, "unreadable: %s", strerror((int)-n));
		return (int)n;
	}
	out[strcspn(out, "\n")] = 0;
	return 0;
}

/* A swap signature of our own (there is no mkswap in the image): the
 * version-1 header of include/linux/swap.h in the first page, magic
 * "SWAPSPACE2" in its last ten bytes. */
static int write_swap_header(const char *dev, uint64_t bytes)
{
	long page = sysconf(_SC_PAGESIZE);
	static unsigned char hdr[65536];
	uint32_t version = 1, last_page = (uint32_t)(bytes / (uint64_t)page - 1), nbad = 0;
	int fd, e = 0;

	if (page <= 0 || page > (long)sizeof hdr)
		return -EINVAL;
	memset(hdr, 0, (size_t)page);
	memcpy(hdr + 1024, &version, 4);
	memcpy(hdr + 1028, &last_page, 4);
	memcpy(hdr + 1032, &nbad, 4);
	memcpy(hdr + page - 10, "SWAPSPACE2", 10);
	if ((fd = open(dev, O_WRONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (write(fd, hdr, (size_t)page) != page || fsync(fd))
		e = -errno;
	close(fd);
	return e;
}

void setup_zram(struct run_env *env)
{
	uint64_t deadline = mono_ns() + DISK_WAIT_NS;
	char num[32], why[200];
	struct stat st;
	int e;

	/* A kernel with zram built in has nothing in the group: fine. */
	if ((e = load_group("zram")) < 0) {
		unsupported(env, "swap=zram: loading the zram module failed: %s", strerror(-e));
		return;
	}
	if (stat("/sys/block/zram0", &st)) {
		unsupported(env, "swap=zram: this kernel has no zram (/sys/block/zram0: %s; "
			    "CONFIG_ZRAM unset, or not in the image)", strerror(errno));
		return;
	}
	if (env->zram_algo[0]) {
		/* zram asks the crypto API, whose request_module has no
		 * modprobe here: load the compressor first. */
		char group[20];
		snprintf(group, sizeof group, "%s", env->zram_algo);
		for (char *p = group; *p; p++)
			if (*p == '-')
				*p = '_';
		load_group(group);
		if ((e = put("/sys/block/zram0/comp_algorithm", env->zram_algo))) {
			unsupported(env, "swap=zram: compressor %s refused by /sys/block/zram0/"
				    "comp_algorithm: %s (the kernel lacks it)", env->zram_algo,
				    strerror(-e));
			return;
		}
	}
	snprintf(num, sizeof num, "%llu", (unsigned long long)env->zram_bytes);
	if ((e = put("/sys/block/zram0/disksize", num))) {
		unsupported(env, "swap=zram: disksize %s: %s", num, strerror(-e));
		return;
	}
	while (stat("/dev/zram0", &st)) {
		if (mono_ns() > deadline) {
			unsupported(env, "swap=zram: /dev/zram0 did not appear within 5 s");
			return;
		}
		usleep(5000);
	}
	if ((e = write_swap_header("/dev/zram0", env->zram_bytes))) {
		snprintf(why, sizeof why, "%s", strerror(-e));
		unsupported(env, "swap=zram: writing a swap header on /dev/zram0: %s", why);
		return;
	}
	if (swapon("/dev/zram0", 0))
		unsupported(env, "swap=zram: swapon /dev/zram0: %s (CONFIG_SWAP unset?)",
			    strerror(errno));
}

void setup_lru_gen(struct run_env *env)
{
	int e;

	if (env->lru_gen >= 0 &&
	    (e = put("/sys/kernel/mm/lru_gen/enabled", env->lru_gen ? "y" : "n"))) {
		unsupported(env, "lru_gen=%s: /sys/kernel/mm/lru_gen/enabled: %s%s",
			    env->lru_gen ? "on" : "off", strerror(-e),
			    e == -ENOENT ? " (kernel without CONFIG_LRU_GEN)" : "");
		return;
	}
	if (env->min_ttl_ms >= 0) {
		char num[32];
		snprintf(num, sizeof num, "%lld", (long long)env->min_ttl_ms);
		if ((e = put("/sys/kernel/mm/lru_gen/min_ttl_ms", num)))
			unsupported(env, "min_ttl_ms=%s: /sys/kernel/mm/lru_gen/min_ttl_ms: %s%s", num,
				    strerror(-e), e == -ENOENT ? " (kernel without CONFIG_LRU_GEN)" : "");
	}
}

/* The workload cgroup's limits, per run (cgroup2 boots). */
void setup_limits(struct run_env *env, const char *cg)
{
	static const char *const names[2] = { "memory.max", "memory.high" };
	uint64_t v[2] = { env->memory_max, env->memory_high };
	char path[300], num[32];

	for (int i = 0; i < 2; i++) {
		if (!v[i])
			continue;
		if (!env->memcg_v2) {
			unsupported(env, "%s is a cgroup2 file and this boot has the v1 hierarchy",
				    names[i]);
			return;
		}
		snprintf(path, sizeof path, "%s/%s", cg, names[i]);
		snprintf(num, sizeof num, "%llu", (unsigned long long)v[i]);
		int e = put(path, num);
		if (e)
			unsupported(env, "%s: writing %s: %s", path, num, strerror(-e));
	}
}

/* The recorder's own memory cgroup on a cgroup2 boot: a sibling of the
 * workload's, with memory.min, so neither the workload's global reclaim
 * nor reclaim at its memory.max takes the pages of the thing measuring
 * it (its killer, started by it, sits there too).  memory.min protects
 * only what the group uses (the recorder is a few MB, mlocked besides),
 * so the value is a cap on the protection, not memory taken from the
 * workload; the workload's cgroup stays unprotected.  cgroup v1 has no
 * memory.min: on a v1 boot the recorder stays in the root memcg and the
 * knob line says why. */
#define RECORDER_CG "/sys/fs/cgroup/unified/pnbench-recorder"
#define RECORDER_MEMORY_MIN (32ULL << 20)

/* Returns the cgroup the recorder should join, or NULL; the knob line
 * goes out either way. */
const char *setup_recorder_cg(const struct run_env *env)
{
	char num[32], v[256];
	int e;

	snprintf(num, sizeof num, "%llu", (unsigned long long)RECORDER_MEMORY_MIN);
	if (!env->memcg_v2) {
		say("knob recorder_memory_min requested=%s effective=none (cgroup v1 boot: "
		    "v1 has no memory.min; the recorder is only mlocked)", num);
		return NULL;
	}
	if (mkdir(RECORDER_CG, 0755) && errno != EEXIST) {
		say("knob recorder_memory_min requested=%s effective=none (mkdir %s: %s)", num,
		    RECORDER_CG, strerror(errno));
		return NULL;
	}
	if ((e = put(RECORDER_CG "/memory.min", num))) {
		say("knob recorder_memory_min requested=%s effective=none (writing %s/memory.min: "
		    "%s)", num, RECORDER_CG, strerror(-e));
		return NULL;
	}
	if (read_line_of(RECORDER_CG "/memory.min", v, sizeof v))
		snprintf(v, sizeof v, "unreadable");
	say("knob recorder_memory_min requested=%s effective=%s", num, v);
	return RECORDER_CG;
}

/* Every knob read back from the kernel, one console line each, so the
 * host records what the kernel holds and not only what was asked
 * (meta.json "knobs").  Read after a restore too: these lines must be in
 * the cell's own console. */
void report_knobs(const struct run_env *env, const char *cg)
{
	char v[256], w[256], req[64];

	say("knob memory_hierarchy requested=%s effective=%s", env->memcg_v2 ? "v2" : "v1",
	    access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0 ? "v1" :
	    access("/sys/fs/cgroup/unified/pnbench/memory.max", F_OK) == 0 ? "v2" : "none");
	if (env->zram_bytes)
		snprintf(req, sizeof req, "zram:%llu%s%s", (unsigned long long)env->zram_bytes,
			 env->zram_algo[0] ? ":" : "", env->zram_algo);
	else
		snprintf(req, sizeof req, "none");
	/* /proc/swaps lists what is on; the zram device says its size and
	 * compressor ("lzo [lzo-rle] lz4": the bracketed one is in use). */
	{
		static char swaps[4096];
		unsigned long long total = 0;
		ssize_t n = slurp("/proc/swaps", swaps, sizeof swaps);
		int devs = 0;
		for (char *sv = NULL, *l = n > 0 ? strtok_r(swaps, "\n", &sv) : NULL; l;
		     l = strtok_r(NULL, "\n", &sv)) {
			unsigned long long size;
			if (sscanf(l, "%*s %*s %llu", &size) == 1) {
				total += size;
				devs++;
			}
		}
		if (!devs) {
			snprintf(v, sizeof v, "none");
		} else if (!access("/sys/block/zram0/disksize", F_OK) && !read_line_of("/sys/block/zram0/comp_algorithm", w, sizeof w)) {
			char ds[32] = "";
			read_line_of("/sys/block/zram0/disksize", ds, sizeof ds);
			char *b = strchr(w, '['), *e = b ? strchr(b, ']') : NULL;
			if (b && e)
				*e = 0;
			snprintf(v, sizeof v, "zram:%s:%s swap_kB=%llu", ds, b ? b + 1 : w, total);
		} else {
			snprintf(v, sizeof v, "swap_kB=%llu devices=%d", total, devs);
		}
	}
	say("knob swap requested=%s effective=%s", req, v);
	if (read_line_of("/sys/kernel/mm/lru_gen/enabled", v, sizeof v))
		snprintf(v, sizeof v, "absent");
	say("knob lru_gen requested=%s effective=%s", env->lru_gen < 0 ? "kernel" :
	    env->lru_gen ? "on" : "off", v);
	if (read_line_of("/sys/kernel/mm/lru_gen/min_ttl_ms", v, sizeof v))
		snprintf(v, sizeof v, "absent");
	snprintf(req, sizeof req, "%lld", (long long)env->min_ttl_ms);
	say("knob min_ttl_ms requested=%s effective=%s", env->min_ttl_ms < 0 ? "kernel" : req, v);
	if (env->memcg_v2) {
		char path[300];
		snprintf(path, sizeof path, "%s/memory.max", cg);
		read_line_of(path, v, sizeof v);
		snprintf(req, sizeof req, "%llu", (unsigned long long)env->memory_max);
		say("knob memory_max requested=%s effective=%s", env->memory_max ? req : "max", v);
		snprintf(path, sizeof path, "%s/memory.high", cg);
		read_line_of(path, v, sizeof v);
		snprintf(req, sizeof req, "%llu", (unsigned long long)env->memory_high);
		say("knob memory_high requested=%s effective=%s", env->memory_high ? req : "max", v);
	}
}

void mount_data_disk(void)
{
	uint64_t deadline = mono_ns() + DISK_WAIT_NS;
	struct stat st;

	/* virtio_blk probes the disk when it loads, but the node appears
	 * through devtmpfs a moment later. */
	while (stat("/dev/vda", &st)) {
		if (mono_ns() > deadline)
			fail("waiting for /dev/vda failed: not there after 5 s "
			     "(virtio_pci/virtio_blk missing from this kernel?)");
		usleep(5000);
	}
	must_mount("/dev/vda", "/data", "ext4", MS_RDONLY | MS_NOATIME, NULL);
}
