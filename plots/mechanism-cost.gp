# Allocation throughput against the number of armed listeners (pnbench
# vmstat-cost, mechanism suite).  Input: DIR/mechanism-cost.vars (ncols) and
# DIR/mechanism-cost.dat: a row per listener count (0 = the oom probe
# alone); per kernel four MiB/s columns: busy-beaver PSI, busy-beaver
# vmpressure, fixed-rate PSI, fixed-rate vmpressure; panels lists the
# workloads that have numbers (0 busy-beaver, 1 fixed-rate).
#   gnuplot -e "dir='OUT/report'; term='png'" plots/mechanism-cost.gp   (or term='svg')
#   gnuplot -e "dir='OUT/report'; term='dumb'" plots/mechanism-cost.gp
if (!exists("dir")) dir = "."
if (!exists("term")) term = "png"
load dir."/mechanism-cost.vars"
nk = (ncols - 1) / 4
np = words(panels)
if (np == 0) exit
data = dir."/mechanism-cost.dat"
set datafile missing "-"
set xlabel "listeners armed (PSI triggers or vmpressure eventfds)"
set ylabel "allocation throughput, MiB/s"
set yrange [0:*]
set key bottom left font ",8"
set grid
wl(w) = w == 0 ? "busy-beaver" : "fixed-rate"
if (term eq "dumb") {
	set terminal dumb size 79, 24
	do for [i=1:np] {
		w = int(word(panels, i))
		set title "throughput vs listeners: ".wl(w)
		plot for [k=0:nk-1] for [m=0:1] data using 0:(column(2 + 4*k + 2*w + m)):xtic(1) \
			with linespoints title columnhead(2 + 4*k + 2*w + m)
	}
} else {
	# PNG for pages and mail, SVG for documents that scale.
	if (term eq "svg") {
		set terminal svg size 600 * np, 450 dynamic noenhanced font "sans,10" background "white"
	} else {
		set terminal pngcairo size 600 * np, 450 noenhanced font ",10"
	}
	set output dir."/mechanism-cost.".term
	set multiplot layout 1, np
	do for [i=1:np] {
		w = int(word(panels, i))
		set title "throughput vs listeners: ".wl(w)
		plot for [k=0:nk-1] for [m=0:1] data using 0:(column(2 + 4*k + 2*w + m)):xtic(1) \
			with linespoints lc (k + 1) dt 1+m pt 7 ps 0.6 title columnhead(2 + 4*k + 2*w + m)
	}
	unset multiplot
	set output
}
