# Read latency of the counter files against the guest CPU count, one panel
# per file (pnbench vmstat-cost).  Input: DIR/vmstat-cost.vars (files,
# ncols) and DIR/vmstat-cost-<file>.dat: a row per CPU count, a p50 and a
# p99 column (ns) per kernel x load x maxcpus series; "-" is missing.
#   gnuplot -e "dir='OUT/report'; term='png'" plots/vmstat-cost.gp   (PNG; term='svg': SVG)
#   gnuplot -e "dir='OUT/report'; term='dumb'" plots/vmstat-cost.gp  (text)
# Under TCG the timings are emulated: read the shape across CPU counts.
if (!exists("dir")) dir = "."
if (!exists("term")) term = "png"
load dir."/vmstat-cost.vars"
nf = words(files)
if (nf == 0) exit
set datafile missing "-"
set logscale x 2
set logscale y 10
set xlabel "CPUs"
set ylabel "ns per whole-file read (log scale)"
set key top left font ",8"
set grid
# p50 solid, p99 dashed; one colour per series.
if (term eq "dumb") {
	set terminal dumb size 79, 24
	set key top left
	do for [i=1:nf] {
		f = word(files, i)
		set title "read latency of ".f.", ns (p50 and p99)"
		plot for [c=2:ncols] sprintf("%s/vmstat-cost-%s.dat", dir, f) using 1:c with linespoints title columnhead(c)
	}
} else {
	# PNG for pages and mail, SVG for documents that scale.
	if (term eq "svg") {
		set terminal svg size 1200, 420 * int((nf + 1) / 2) dynamic noenhanced font "sans,10" background "white"
	} else {
		set terminal pngcairo size 1200, 420 * int((nf + 1) / 2) noenhanced font ",10"
	}
	set output dir."/vmstat-cost.".term
	set multiplot layout int((nf + 1) / 2), 2
	do for [i=1:nf] {
		f = word(files, i)
		set title "whole-file read latency: ".f." (p50 solid, p99 dashed)"
		plot for [c=2:ncols] sprintf("%s/vmstat-cost-%s.dat", dir, f) using 1:c \
			with linespoints lc ((c - 2) / 2 + 1) dt 1+c%2 pt 7 ps 0.6 \
			title columnhead(c)
	}
	unset multiplot
	set output
}
