/* pnbench-record: the header line, status lines and the recorder's own protection. */
#include "recorder.h"

static json_t *jstr(const char *s) { return json_string(s ? s : ""); }

void rec_header(struct recorder *r)
{
	json_t *h = jsonl_new(&r->out, "header", pnb_mono_ns());
	struct utsname u;
	char buf[8192];
	json_t *a;

	jset_str(h, "schema", PNB_EVENTS_SCHEMA);
	jset_str(h, "clock", "CLOCK_MONOTONIC");
	jset_int(h, "t0_mono_ns", (long long)r->out.t0_ns);
	jset_int(h, "t0_realtime_s", (long long)time(NULL));
	if (uname(&u) == 0) {
		jset_str(h, "kernel_release", u.release);
		jset_str(h, "kernel_version", u.version);
		jset_str(h, "machine", u.machine);
		jset_str(h, "hostname", u.nodename);
	}
	if (pnb_read_file("", "/proc/cmdline", buf, sizeof buf) > 0) {
		buf[strcspn(buf, "\n")] = 0;
		jset_str(h, "kernel_cmdline", buf);
		/* psi= decides whether PSI exists at all on CONFIG_PSI_DEFAULT_DISABLED kernels. */
		char *psi = strstr(buf, "psi=");
		char val[16] = "default";
		if (psi && (psi == buf || psi[-1] == ' '))
			sscanf(psi + 4, "%15[^ ]", val);
		jset_str(h, "psi_setting", val);
	}
	/* cgroup mounts and their options: which hierarchy owns memory matters. */
	a = json_array();
	if (pnb_read_file("", "/proc/self/mountinfo", buf, sizeof buf) > 0) {
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
			if (strstr(line, " - cgroup ") || strstr(line, " - cgroup2 "))
				json_array_append_new(a, jstr(line));
	}
	json_object_set_new(h, "cgroup_mounts", a);
	jset_int(h, "cpus_online", sysconf(_SC_NPROCESSORS_ONLN));
	jset_int(h, "cpus_configured", sysconf(_SC_NPROCESSORS_CONF));
	jset_int(h, "page_size", sysconf(_SC_PAGESIZE));
	jset_str(h, "domain", pnb_domain_name(r->env.domain));
	jset_str(h, "memcg_v1", r->env.memcg_v1);
	jset_str(h, "memcg_v2", r->env.memcg_v2);
	jset_int(h, "duration_ns", (long long)r->duration_ns);
	if (r->killer_spec) {
		jset_str(h, "killer", r->killer_spec);
		jset_str(h, "killer_action", r->killer_action ? r->killer_action : "kill");
	}
	a = json_array();
	for (int i = 0; i < r->nprobes; i++)
		json_array_append_new(a, jstr(r->probes[i].spec));
	json_object_set_new(h, "probes", a);
	a = json_array();
	for (char **p = r->argv; *p; p++)
		json_array_append_new(a, jstr(*p));
	json_object_set_new(h, "workload_argv", a);
	json_t *l = json_object();
	for (int i = 0; i < r->labels.n; i++) {
		char *eq = strchr(r->labels.kv[i], '=');
		*eq = 0;
		json_object_set_new(l, r->labels.kv[i], jstr(eq + 1));
		*eq = '=';
	}
	json_object_set_new(h, "labels", l);
	jsonl_emit(&r->out, h);
}

void rec_event(struct recorder *r, const char *what, const char *detail)
{
	json_t *o = jsonl_new(&r->out, "recorder", pnb_mono_ns());
	jset_str(o, "what", what);
	if (detail)
		jset_str(o, "detail", detail);
	jsonl_emit(&r->out, o);
}

void rec_probe_status(struct recorder *r, struct probe *p, const char *status, const char *reason)
{
	json_t *o = jsonl_new(&r->out, "probe", pnb_mono_ns());
	jset_str(o, "probe", p->spec);
	jset_str(o, "mech", p->ops->name);
	jset_str(o, "status", status);
	if (reason)
		jset_str(o, "reason", reason);
	jsonl_emit(&r->out, o);
}

/* What protects the recorder, as the kernel now holds it: its policy,
 * oom_score_adj, and its memory cgroup with that cgroup's memory.min
 * (in guests /init puts it in a cgroup2 sibling of the workload's with
 * memory.min; on a v1 boot it stays in the root memcg, which has none). */
static void protection_event(struct recorder *r)
{
	char buf[1024], cg[512] = "", path[700];
	json_t *o = jsonl_new(&r->out, "recorder", pnb_mono_ns());
	int pol = sched_getscheduler(0);
	struct sched_param sp = { 0 };

	jset_str(o, "what", "protection");
	sched_getparam(0, &sp);
	jset_str(o, "sched", pol == SCHED_FIFO ? "fifo" : pol == SCHED_RR ? "rr" : "other");
	jset_int(o, "sched_priority", sp.sched_priority);
	if (pnb_read_file("", "/proc/self/oom_score_adj", buf, sizeof buf) > 0)
		jset_int(o, "oom_score_adj", atoi(buf));
	/* "0::/path" is the cgroup2 line; "N:memory:/path" the v1 memcg. */
	if (pnb_read_file("", "/proc/self/cgroup", buf, sizeof buf) > 0) {
		for (char *sv = NULL, *l = strtok_r(buf, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv)) {
			char *c2 = strchr(l, ':'), *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
			if (!c3)
				continue;
			if (!strncmp(c2, ":memory:", 8)) {
				snprintf(cg, sizeof cg, "v1:%s", c3 + 1);
				break;
			}
			if (!strncmp(c2, "::", 2))
				snprintf(cg, sizeof cg, "v2:%s", c3 + 1);
		}
	}
	jset_str(o, "memcg", cg);
	/* memory.min lives in the cgroup2 directory; the root has none. */
	snprintf(path, sizeof path, "/sys/fs/cgroup/unified%s/memory.min", cg + 3);
	if (!strncmp(cg, "v2:", 3) && pnb_read_file("", path, buf, sizeof buf) <= 0) {
		snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.min", cg + 3);
		if (pnb_read_file("", path, buf, sizeof buf) <= 0)
			buf[0] = 0;
	} else if (strncmp(cg, "v2:", 3)) {
		buf[0] = 0;
	}
	buf[strcspn(buf, "\n")] = 0;
	jset_str(o, "memory_min", buf[0] ? buf : "none");
	jsonl_emit(&r->out, o);
}

/* Protect the recorder from the pressure it measures.  Failures are recorded,
 * not fatal: an unprivileged test run still measures, and says it was exposed. */
void rec_protect_self(struct recorder *r)
{
	char msg[128];

	if (pnb_write_file("", "/proc/self/oom_score_adj", "-1000", 0))
		rec_event(r, "unprotected", "cannot set oom_score_adj -1000");
	if (!r->no_mlock && mlockall(MCL_CURRENT | MCL_FUTURE)) {
		snprintf(msg, sizeof msg, "mlockall: %s", strerror(errno));
		rec_event(r, "unprotected", msg);
	}
	if (r->fifo_prio) {
		struct sched_param sp = { .sched_priority = r->fifo_prio };
		if (sched_setscheduler(0, SCHED_FIFO, &sp)) {
			snprintf(msg, sizeof msg, "SCHED_FIFO %d: %s", r->fifo_prio, strerror(errno));
			rec_event(r, "unprotected", msg);
		}
	}
	protection_event(r);
}
