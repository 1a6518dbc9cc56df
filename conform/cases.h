/* The conformance cases, one line each: the guest program (tests/conform),
 * `pnbench conform` (its matrix rows) and tests/conform_test.c (one ATF case
 * each) all expand this one list, so they cannot drift apart.
 *
 *   CF_CASE(name, doc, xfail_release, xfail_reason)
 *
 * doc: the documentation sentence the case checks (source named first).
 * xfail_release: fnmatch(3) pattern of `uname -r` where a failure is known
 * and expected (NULL: none), with the kernel behaviour that causes it. */
CF_CASE(psi_trigger_valid,
	"psi.rst: For example writing \"some 150000 1000000\" into /proc/pressure/memory would add 150ms threshold for partial memory stall measured within 1sec time window.",
	NULL, NULL)
CF_CASE(psi_window_max,
	"psi.rst: The kernel accepts window sizes ranging from 500ms to 10s (psi_trigger_create: a window above WINDOW_MAX_US is -EINVAL).",
	NULL, NULL)
CF_CASE(psi_window_min,
	"psi.rst: The kernel accepts window sizes ranging from 500ms to 10s, therefore min monitoring update interval is 50ms and max is 1s.",
	NULL, NULL)
CF_CASE(psi_threshold_gt_window,
	"psi.rst: <some|full> <stall amount in us> <time window in us> (psi_trigger_create: threshold 0 or above the window is -EINVAL).",
	NULL, NULL)
CF_CASE(psi_bad_keyword,
	"psi.rst: The following format is used: <some|full> <stall amount in us> <time window in us> (anything else: -EINVAL).",
	NULL, NULL)
CF_CASE(psi_second_trigger_ebusy,
	"psi.rst: Write operations to a file descriptor with an already existing psi trigger will fail with EBUSY.",
	NULL, NULL)
CF_CASE(psi_unprivileged,
	"psi.rst: Unprivileged users can also create monitors, with the only limitation that the window size must be a multiple of 2s, in order to prevent excessive resource usage.",
	NULL, NULL)
CF_CASE(psi_fires_thrashing,
	"psi.rst: A trigger describes the maximum cumulative stall time over a specific time window, e.g. 100ms of total stall time within any 500ms window to generate a wakeup event.",
	NULL, NULL)
CF_CASE(psi_one_event_per_window,
	"psi.rst: Notifications to the users are rate-limited to one per tracking window.",
	NULL, NULL)
CF_CASE(psi_cgroup_trigger_scoped,
	"psi.rst: Users can also set triggers on the cgroup's pressure files (cgroup2 <resource>.pressure); the trigger follows the stall of that cgroup's tasks.",
	NULL, NULL)
CF_CASE(psi_close_disarms,
	"psi.rst: the trigger lives with its file descriptor (psi_fop_release destroys it); with the last rtpoll trigger gone the kernel stops the psimon poller.",
	NULL, NULL)
CF_CASE(vmp_levels_modes_accepted,
	"cgroup-v1/memory.rst: Level and event notification mode (\"hierarchy\" or \"local\", if necessary) are specified by a comma-delimited string, i.e. \"low,hierarchy\".",
	NULL, NULL)
CF_CASE(vmp_bad_level_mode_rejected,
	"cgroup-v1/memory.rst: The level string is one of \"low\", \"medium\", \"critical\"; the mode one of \"default\", \"hierarchy\", \"local\" (vmpressure_register_event: anything else -EINVAL).",
	NULL, NULL)
CF_CASE(vmp_levels_before_oom,
	"cgroup-v1/memory.rst: Application will be notified through eventfd when memory pressure is at the specific level (or higher). ... (Expect a bunch of notifications, and eventually, the oom-killer will trigger.)",
	NULL, NULL)
CF_CASE(vmp_mode_local,
	"cgroup-v1/memory.rst: \"local\": ... group C will receive notification if registered for \"local\" notification and the group experiences memory pressure. However, group B will never receive notification, regardless if there is an event listener for group C or not, if group B is registered for local notification.",
	NULL, NULL)
CF_CASE(vmp_mode_hierarchy,
	"cgroup-v1/memory.rst: \"hierarchy\": events always propagate up to the root ... propagation continues regardless of whether there are event listeners at each level.",
	NULL, NULL)
CF_CASE(vmp_mode_default_stops,
	"cgroup-v1/memory.rst: The events are propagated upward until the event is handled ... Group B, will receive notification only if there are no event listers for group C.",
	NULL, NULL)
CF_CASE(vmp_stream_no_medium,
	"cgroup-v1/memory.rst: The \"low\" level means that the system is reclaiming memory for new allocations. ... Application will be notified through eventfd when memory pressure is at the specific level (or higher).",
	NULL, NULL)
CF_CASE(memevents_high,
	"cgroup-v2.rst: high: The number of times processes of the cgroup are throttled and routed to perform direct memory reclaim because the high memory boundary was exceeded. (a value change generates a file modified event)",
	NULL, NULL)
CF_CASE(memevents_oom_counts,
	"cgroup-v2.rst: oom_kill: The number of processes belonging to this cgroup killed by any kind of OOM killer. oom: ... the cgroup's memory usage was reached the limit and allocation was about to fail.",
	NULL, NULL)
CF_CASE(truth_vmstat_oom_kill,
	"mm/oom_kill.c (4.13, count global and memory cgroup oom kills): /proc/vmstat oom_kill counts every OOM kill.",
	NULL, NULL)
CF_CASE(truth_pidfd_victim,
	"pidfd_open(2): When the process that it refers to terminates, these interfaces [poll(2), select(2), epoll(7)] indicate the file descriptor as readable.",
	NULL, NULL)
CF_CASE(truth_kmsg_victim,
	"mm/oom_kill.c __oom_kill_process: pr_err(\"%s: Killed process %d (%s) total-vm:...\", message, task_pid_nr(victim), victim->comm, ...).",
	NULL, NULL)
CF_CASE(fanout_vmpressure_1,
	"cgroup-v1/memory.rst: Application will be notified through eventfd when memory pressure is at the specific level (one listener).",
	NULL, NULL)
CF_CASE(fanout_vmpressure_16,
	"cgroup-v1/memory.rst: Application will be notified through eventfd when memory pressure is at the specific level (16 listeners, one episode: all woken).",
	NULL, NULL)
CF_CASE(fanout_vmpressure_256,
	"cgroup-v1/memory.rst: Application will be notified through eventfd when memory pressure is at the specific level (256 listeners, one episode: all woken).",
	NULL, NULL)
CF_CASE(fanout_psi_1,
	"psi.rst: Triggers can be set on more than one psi metric and more than one trigger for the same psi metric can be specified (one trigger).",
	NULL, NULL)
CF_CASE(fanout_psi_16,
	"psi.rst: Triggers can be set on more than one psi metric and more than one trigger for the same psi metric can be specified (16 triggers, one episode: all fire).",
	NULL, NULL)
CF_CASE(fanout_psi_256,
	"psi.rst: Triggers can be set on more than one psi metric and more than one trigger for the same psi metric can be specified (256 triggers, one episode: all fire).",
	NULL, NULL)
CF_CASE(lmk_inputs_live,
	"lowmemorykiller.c (v4.11): other_free = NR_FREE_PAGES - totalreserve_pages; other_file = NR_FILE_PAGES - NR_SHMEM - NR_UNEVICTABLE - total_swapcache_pages().",
	NULL, NULL)
CF_CASE(klmk_documented_victim,
	"lowmemorykiller.c (v4.11) lowmem_scan: skip tasks below min_score_adj; if (oom_score_adj < selected_oom_score_adj) continue; if (oom_score_adj == selected_oom_score_adj && tasksize <= selected_tasksize) continue; then send_sig(SIGKILL, selected, 0).",
	NULL, NULL)
CF_CASE(memnotify_one_1,
	"mem_notify v4 (2008): poll_wait_exclusive() wakes only one process; current wake up order is simply FIFO by poll(2) called (1 listener).",
	NULL, NULL)
CF_CASE(memnotify_one_16,
	"mem_notify v4 (2008): poll_wait_exclusive() wakes only one process; current wake up order is simply FIFO by poll(2) called (16 listeners: one per notification, all different).",
	NULL, NULL)
CF_CASE(memnotify_one_256,
	"mem_notify v4 (2008): poll_wait_exclusive() wakes only one process; current wake up order is simply FIFO by poll(2) called (256 listeners: one per notification, all different).",
	NULL, NULL)
CF_CASE(memnotify_all_1,
	"mem_notify v3 (2008): wake_up() wakes all sleeping processes polling the device (1 listener).",
	NULL, NULL)
CF_CASE(memnotify_all_16,
	"mem_notify v3 (2008): wake_up() wakes all sleeping processes polling the device (16 listeners, every one per notification; latency spread recorded).",
	NULL, NULL)
CF_CASE(memnotify_all_256,
	"mem_notify v3 (2008): wake_up() wakes all sleeping processes polling the device (256 listeners, every one per notification; latency spread recorded).",
	NULL, NULL)
CF_CASE(killer_pidfd_after_mm,
	"pidfd_open(2): a PID file descriptor becomes readable when the process terminates (do_exit: exit_mm() runs before exit_notify(), so a killer waiting on it sees the victim's memory already gone).",
	NULL, NULL)
CF_CASE(killer_mrelease_frees,
	"process_mrelease(2): Reap the memory of a dying process (... releases the memory of a dying process ... without waiting for it to exit).",
	NULL, NULL)
