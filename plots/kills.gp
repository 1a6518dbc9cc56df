# One killer run over time (issue 11): the memory curve of the domain with
# every kill on it: the killer's at its signal time (triangles, at the
# MemAvailable it decided on, labelled with the victim's adj) and the kernel
# OOM killer's (red crosses), so "who freed memory, when, and how much"
# reads off one picture.
#
#   gnuplot -c plots/kills.gp PREFIX TERM OUT TITLE XMAX NSAMPLES
#
# PREFIX.tsv        t_s available_MiB anon_MiB cache_MiB
# PREFIX-kills.tsv  t_s available_MiB adj kind   (kind 1: killer, 2: kernel OOM)
# pnbench report writes these files and runs this script.
PREFIX = ARG1
TERM = ARG2
OUT = ARG3
TITLE = ARG4
XMAX = real(ARG5)
NOSAMPLES = (ARG6 eq "0")
load ARG0[1:strlen(ARG0) - strlen("kills.gp")]."common.gp"

dumb = (TERM eq "dumb")
if (!dumb) { set title TITLE }
set xrange [0:XMAX]
set yrange [0:*]
set xlabel "seconds since the workload started"
set ylabel "MiB"
set grid
if (dumb) { set key top right samplen 1 } else { set key outside bottom center horizontal }
if (NOSAMPLES) {
    set yrange [0:1]
    set label 2 "no samples in this run: memory was not recorded" at graph 0.5, 0.5 center
}
# The kills file always has a line (a point outside the range when none).
if (NOSAMPLES) {
    plot PREFIX."-kills.tsv" using ($4 == 1 ? $1 : NaN):2 with points pt 9 ps 1.5 title "killer kill", \
         "" using ($4 == 2 ? $1 : NaN):2 with points pt 2 ps 2 lc rgb "red" title "kernel OOM kill"
} else {
    if (dumb) {
        plot PREFIX.".tsv" using 1:2 with lines title "available", \
             PREFIX."-kills.tsv" using ($4 == 1 ? $1 : NaN):2 with points pt "K" title "killer", \
             "" using ($4 == 2 ? $1 : NaN):2 with points pt "X" title "kernel OOM"
    } else {
        plot PREFIX.".tsv" using 1:2 with lines lw 2 lc rgb "#1f77b4" title "available", \
             "" using 1:3 with lines lw 1 lc rgb "#d62728" title "anon", \
             "" using 1:4 with lines lw 1 lc rgb "#2ca02c" title "page cache", \
             PREFIX."-kills.tsv" using ($4 == 1 ? $1 : NaN):2 with points pt 9 ps 1.8 lc rgb "black" title "killer kill (adj)", \
             "" using ($4 == 1 ? $1 : NaN):2:(sprintf("%d", $3)) with labels offset 0, 1.2 font ",9" notitle, \
             "" using ($4 == 2 ? $1 : NaN):2 with points pt 2 ps 2 lw 2 lc rgb "red" title "kernel OOM kill"
    }
}
