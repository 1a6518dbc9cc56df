# False positives per minute per mechanism/level and workload (scenario), on
# one kernel: notifications at a level while the ground truth says that level
# does not hold (docs/metrics.md 3.4).  Median over runs, bar min to max.
#
#   gnuplot -c plots/fp.gp TSV TERM OUT TITLE NSCENARIOS "SCN1 SCN2 ..." NROWS
#
# TSV: row label, then per scenario median min max (per minute); "-" where the
# probe did not run in that scenario.
# pnbench report writes the file and runs this script.
TSV = ARG1
TERM = ARG2
OUT = ARG3
TITLE = ARG4
NS = int(ARG5)
SCNS = ARG6
NROWS = int(ARG7)
DUMB_H = (NROWS + 10 > 24) ? NROWS + 10 : 24
load ARG0[1:strlen(ARG0) - strlen("fp.gp")]."common.gp"

# Every rate 0 (the usual case) is an empty range, which gnuplot warns
# about: then 0..1.  The largest max column of a row, "-" skipped:
rowmax(k) = (k > NS) ? 0 : \
    ((valid(3 * k + 2) && column(3 * k + 2) > rowmax(k + 1)) ? column(3 * k + 2) : rowmax(k + 1))
# Before the y range is set: stats skips points outside it.
stats TSV using (rowmax(1)) nooutput
if (STATS_max > 0) { set xrange [0:*] } else { set xrange [0:1] }

set title TITLE
if (TERM eq "dumb") {
    set xlabel "false positives per minute of run (median of runs)"
} else {
    set xlabel "false positives per minute of run  (point: median of runs; bar: min to max)"
}
set yrange [NROWS + 0.5:0.5]
set ytics 1
set grid xtics
set key outside bottom center horizontal
if (TERM eq "dumb") { set key below horizontal samplen 1 }
set lmargin (TERM eq "dumb" ? 31 : 32)
off(k) = (NS > 1) ? (k - (NS + 1) / 2.0) * 0.18 : 0
# Text keeps to the medians: error bars would make the key three lines tall
# (the tables beside the text plots give min and max).
if (TERM eq "dumb") {
    plot TSV using (NaN):1:ytic(2) notitle, \
         for [k=1:NS] TSV using (column(3 * k)):($1 + off(k)) with points pt (4 + 2 * k) title word(SCNS, k)
} else {
    plot TSV using (NaN):1:ytic(2) notitle, \
         for [k=1:NS] TSV using (column(3 * k)):($1 + off(k)):(column(3 * k + 1)):(column(3 * k + 2)) \
             with xerrorbars pt (4 + 2 * k) ps 1.2 lw 2 title word(SCNS, k)
}
