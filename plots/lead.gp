# Lead time before the OOM kill per mechanism/level, one series per kernel:
# the median over the runs, whiskers from the shortest to the longest.
#
#   gnuplot -c plots/lead.gp TSV TERM OUT TITLE NKERNELS "KERNEL1 KERNEL2 ..." NROWS
#
# TSV: row label, then per kernel median min max (s) note; "-" where the
# median run missed the kill, and then note says "missed in k of N runs".
# pnbench report writes the file and runs this script.
TSV = ARG1
TERM = ARG2
OUT = ARG3
TITLE = ARG4
NK = int(ARG5)
KERNELS = ARG6
NROWS = int(ARG7)
DUMB_H = (NROWS + 9 > 24) ? NROWS + 9 : 24
load ARG0[1:strlen(ARG0) - strlen("lead.gp")]."common.gp"

# One kernel: its name goes into the title instead of a key.
if (NK == 1) { set title TITLE." (kernel ".KERNELS.")"; unset key } else { set title TITLE }
# 79 columns hold no long title: the report's caption says what this is.
if (NK == 1 && TERM eq "dumb") { set title "kernel ".KERNELS }
if (TERM eq "dumb") {
    set xlabel "lead time before the OOM kill, s (median of runs)"
} else {
    set xlabel "lead time before the OOM kill, s  (point: median of runs; bar: min to max)"
}
set yrange [NROWS + 0.5:0.5]
set xrange [0:*]
set ytics 1
set grid xtics
if (NK > 1) { set key outside bottom center horizontal }
if (NK > 1 && TERM eq "dumb") { set key below horizontal samplen 1 }
set lmargin (TERM eq "dumb" ? 31 : 32)
off(k) = (NK > 1) ? (k - (NK + 1) / 2.0) * 0.25 : 0
# Text keeps to the medians: error bars would make the key three lines tall
# (the tables beside the text plots give min and max).
if (TERM eq "dumb") {
    plot TSV using (NaN):1:ytic(2) notitle, \
         for [k=1:NK] TSV using (0):($1 + off(k)):(stringcolumn(4 * k + 2)) with labels left offset 1, 0 notitle, \
         for [k=1:NK] TSV using (column(4 * k - 1)):($1 + off(k)) with points pt (4 + 2 * k) title word(KERNELS, k)
} else {
    plot TSV using (NaN):1:ytic(2) notitle, \
         for [k=1:NK] TSV using (0):($1 + off(k)):(stringcolumn(4 * k + 2)) with labels left offset 1, 0 tc rgb "gray30" notitle, \
         for [k=1:NK] TSV using (column(4 * k - 1)):($1 + off(k)):(column(4 * k)):(column(4 * k + 1)) \
             with xerrorbars pt (4 + 2 * k) ps 1.2 lw 2 title word(KERNELS, k)
}
