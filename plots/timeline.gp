# One run over time: what memory the domain had left, how hard the kernel
# reclaimed, when each mechanism/level spoke, and when the OOM killer acted.
#
#   gnuplot -c plots/timeline.gp PREFIX TERM OUT TITLE OOM_S RECLAIM_LABEL NROWS XMAX NSAMPLES
#
# PREFIX.tsv          t_s available_MiB cache_MiB anon_MiB total_MiB
# PREFIX-reclaim.tsv  t_s rate          (RECLAIM_LABEL names it; "none": no data)
# PREFIX-rows.tsv     row label         (one row per mechanism/level)
# PREFIX-marks.tsv    t_s row           (one line per notification)
# OOM_S: OOM kill time in s since workload start, or "none".
# NSAMPLES: lines in PREFIX.tsv; 0 (a run cut before the sampler's first
# tick) draws an empty memory panel that says so instead of failing.
# pnbench report writes these files and runs this script.
PREFIX = ARG1
TERM = ARG2
OUT = ARG3
TITLE = ARG4
OOM = ARG5
RLABEL = ARG6
NROWS = int(ARG7)
XMAX = real(ARG8)
NOSAMPLES = (ARG9 eq "0")
# Text: the rows panel is 56% of the height and needs a line per row.
DUMB_H = int(ceil((NROWS + 3) / 0.56))
if (DUMB_H < 24) { DUMB_H = 24 }
load ARG0[1:strlen(ARG0) - strlen("timeline.gp")]."common.gp"

dumb = (TERM eq "dumb")
# Text (79x24) keeps what fits: no title line (the caption has it), the key
# on the first line, memory curves without total and reclaim rate.
if (dumb) { set multiplot } else { set multiplot title TITLE }
set xrange [0:XMAX]
set lmargin at screen (dumb ? 0.40 : 0.24)
set rmargin at screen (dumb ? 0.97 : 0.88)

# Top: memory of the domain (the guest, or the native memcg limit).
set tmargin at screen (dumb ? 0.93 : 0.86)
set bmargin at screen (dumb ? 0.66 : 0.42)
set format x ""
set ylabel "MiB"
set yrange [0:*]
set grid
if (dumb) {
    set key at screen 0.25, 1.0 left top horizontal maxcols 3 maxrows 1 reverse Left samplen 1 width -1
} else {
    set key at screen 0.5, 0.925 center top horizontal samplen 2 font ",10"
}
if (OOM ne "none") {
    set arrow 1 from real(OOM), graph 0 to real(OOM), graph 1 nohead lw 2 lc rgb "red" dt 2
    set label 1 "OOM kill" at real(OOM), graph 1.0 right offset -0.5, -0.8 tc rgb "red"
}
if (NOSAMPLES) {
    set yrange [0:1]
    set label 2 "no samples in this run: memory was not recorded" at graph 0.5, 0.5 center
    plot 1/0 notitle
    unset label 2
}
if (!NOSAMPLES && dumb) {
    plot PREFIX.".tsv" using 1:2 with lines title "available ", \
         "" using 1:3 with lines title "cache", \
         "" using 1:4 with lines title "anon"
}
if (!NOSAMPLES && !dumb) {
    if (RLABEL ne "none") {
        set y2label RLABEL
        set y2tics
        set ytics nomirror
        # A run without reclaim is an empty range, which gnuplot warns
        # about: then 0..1.
        stats PREFIX."-reclaim.tsv" using 2 nooutput
        if (STATS_max > 0) { set y2range [0:*] } else { set y2range [0:1] }
        plot PREFIX.".tsv" using 1:2 with lines lw 2 lc rgb "#1f77b4" title "available", \
             "" using 1:3 with lines lw 1 lc rgb "#2ca02c" title "page cache", \
             "" using 1:4 with lines lw 1 lc rgb "#d62728" title "anon", \
             "" using 1:5 with lines lw 1 dt 3 lc rgb "black" title "total (RAM or memcg limit)", \
             PREFIX."-reclaim.tsv" using 1:2 axes x1y2 with steps lw 1 lc rgb "#9467bd" title "reclaim rate (right axis)"
    } else {
        plot PREFIX.".tsv" using 1:2 with lines lw 2 lc rgb "#1f77b4" title "available", \
             "" using 1:3 with lines lw 1 lc rgb "#2ca02c" title "page cache", \
             "" using 1:4 with lines lw 1 lc rgb "#d62728" title "anon", \
             "" using 1:5 with lines lw 1 dt 3 lc rgb "black" title "total (RAM or memcg limit)"
    }
}
unset y2label
unset y2tics
set ytics mirror
unset label 1

# Bottom: one row per mechanism/level, a mark per notification.
set tmargin at screen (dumb ? 0.66 : 0.42)
set bmargin at screen (dumb ? 0.10 : 0.08)
set format x "%g"
set xlabel "seconds since the workload started"
unset ylabel
set yrange [NROWS + 0.5:0.5]
set ytics 1 font ",9"
set grid noytics
unset key
if (OOM ne "none") {
    set arrow 1 from real(OOM), graph 0 to real(OOM), graph 1 nohead lw 2 lc rgb "red" dt 2
}
plot PREFIX."-rows.tsv" using (NaN):1:ytic(2) notitle, \
     PREFIX."-marks.tsv" using 1:2:2 with points pt 7 ps 0.6 lc variable notitle
unset multiplot
