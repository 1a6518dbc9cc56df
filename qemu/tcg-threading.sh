#!/bin/sh
# Panic rate and cell time of busy-beaver cells under single- and
# multi-threaded TCG, per kernel and vCPU count: the evidence behind the
# default `tcg = single` (docs/guests.md, "TCG threading").
#
#   qemu/tcg-threading.sh [-r REPS] [-c "1 2 4 8"] OUT KERNEL...
#
# Runs bin/pnbench with PNBENCH_ACCEL unset (a host whose KVM works would
# measure KVM: the script refuses then) and every cell booted cold
# (PNBENCH_SNAPSHOT=0: a restored cell never meets the boot-time race), and
# prints one table row per (kernel, vCPUs, mode): cells, ok, panics (before /
# after the workload started; a boot-time panic is retried, so it shows as a
# retry unless all three boots panicked), boot retries, median cell wall time.
set -eu
reps=6
cpus="1 2 4 8"
while getopts r:c: o; do
	case $o in
	r) reps=$OPTARG ;;
	c) cpus=$OPTARG ;;
	*) echo "usage: $0 [-r REPS] [-c CPUS] OUT KERNEL..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { echo "usage: $0 [-r REPS] [-c CPUS] OUT KERNEL..." >&2; exit 2; }
out=$1
shift
top=$(cd "$(dirname "$0")/.." && pwd)
unset PNBENCH_ACCEL
export PNBENCH_SNAPSHOT=0
mkdir -p "$out/scenarios"

for c in $cpus; do
	for mode in single multi; do
		# busy-beaver as in harness/scenarios, with the shape under test.
		sed -e "s/^cpus = .*/cpus = $c/" -e "s/^reps = .*/reps = $reps/" \
		    -e "s/^swap = none/swap = none\ntcg = $mode/" -e "s/^hierarchy = .*/hierarchy = v1/" -e "/^memory_max/d" -e "/^memory_high/d" \
		    "$top/harness/scenarios/busy-beaver.ini" > "$out/scenarios/bb-c$c-$mode.ini"
	done
done

for k in "$@"; do
	for f in "$out"/scenarios/*.ini; do
		"$top/bin/pnbench" run --kernel "$k" --scenario "$f" --out "$out/set" >"$out/run.log" 2>&1 || true
	done
done

# meta.json is indented one key a line: awk is enough.
printf '%-34s %5s %-6s %5s %3s %13s %7s %8s\n' kernel vCPUs mode cells ok "panic boot/run" retries "median s"
for kd in "$out"/set/*/; do
	kn=$(basename "$kd")
	for c in $cpus; do
		for mode in single multi; do
			d="$kd/bb-c$c-$mode"
			[ -d "$d" ] || continue
			for m in "$d"/*/meta.json; do
				[ -f "$m" ] || continue
				awk '
				/"accel":/ { if ($0 ~ /"kvm/) kvm = 1 }
				/"status":/ { gsub(/[",]/, "", $2); st = $2 }
				/"wall_s":/ { gsub(/,/, "", $2); w = $2 }
				/"boot_s":/ { started = 1 }
				/"boot_retries":/ { gsub(/,/, "", $2); r = $2 }
				END { printf "%s %s %d %d %d\n", st, w, started, r, kvm }' "$m"
			done | sort -k2 -n | awk -v k="$kn" -v c="$c" -v mode="$mode" '
			{ n++; w[n] = $2; if ($1 == "ok") ok++; if ($1 == "panic") { if ($3) pr++; else pb++ }
			  rt += $4; if ($5) kvm = 1 }
			END {
				if (kvm) { print "tcg-threading: " k " ran under KVM: nothing to measure" > "/dev/stderr"; exit 1 }
				med = n % 2 ? w[(n + 1) / 2] : (w[n / 2] + w[n / 2 + 1]) / 2
				printf "%-34s %5d %-6s %5d %3d %6d/%-6d %7d %8.2f\n", k, c, mode, n, ok, pb, pr, rt, med
			}'
		done
	done
done
