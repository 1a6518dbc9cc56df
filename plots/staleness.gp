# Counter staleness against the guest CPU count, one panel per counter
# (pnbench vmstat-cost, staleness suite).  Input: DIR/staleness.vars
# (counters, ncols) and DIR/staleness-<counter>.dat: a row per CPU count;
# per kernel x load rate a "p50" and a "max" column of |read - read after
# vm.stat_refresh| in pages, and per kernel the "bound" the per-cpu
# thresholds allow (online CPUs x thresholds, from /proc/zoneinfo).
#   gnuplot -e "dir='OUT/report'; term='png'" plots/staleness.gp   (or term='svg')
#   gnuplot -e "dir='OUT/report'; term='dumb'" plots/staleness.gp
if (!exists("dir")) dir = "."
if (!exists("term")) term = "png"
load dir."/staleness.vars"
nc = words(counters)
if (nc == 0) exit
set datafile missing "-"
set logscale x 2
set xlabel "CPUs"
set ylabel "pages off the folded value"
set yrange [0:*]
set key top left font ",8"
set grid
if (term eq "dumb") {
	set terminal dumb size 79, 24
	set key top left
	do for [i=1:nc] {
		n = word(counters, i)
		set title "staleness of ".n.": |read - read after vm.stat_refresh|"
		plot for [c=2:ncols] sprintf("%s/staleness-%s.dat", dir, n) using 1:c with linespoints title columnhead(c)
	}
} else {
	# PNG for pages and mail, SVG for documents that scale.
	if (term eq "svg") {
		set terminal svg size 1200, 420 * int((nc + 1) / 2) dynamic noenhanced font "sans,10" background "white"
	} else {
		set terminal pngcairo size 1200, 420 * int((nc + 1) / 2) noenhanced font ",10"
	}
	set output dir."/staleness.".term
	set multiplot layout int((nc + 1) / 2), 2
	do for [i=1:nc] {
		n = word(counters, i)
		set title "staleness of ".n.": |read - read after vm.stat_refresh|"
		plot for [c=2:ncols] sprintf("%s/staleness-%s.dat", dir, n) using 1:c \
			with linespoints pt 7 ps 0.6 title columnhead(c)
	}
	unset multiplot
	set output
}
