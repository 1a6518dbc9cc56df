# Shared by the pnbench plot scripts: the terminal from a name.
# Call: load "common.gp" with TERM and OUT set; sizes in pixels / characters.
if (TERM eq "dumb") {
    # A script with many rows sets DUMB_H first; the width stays 79.
    if (!exists("DUMB_H")) { DUMB_H = 24 }
    set terminal dumb size 79, DUMB_H
} else {
    if (TERM eq "svg") {
        set terminal svg size 1000, 700 dynamic enhanced font "sans,12" background "white"
    } else {
        if (TERM eq "pngcairo") {
            set terminal pngcairo size 1000, 700 enhanced font "sans,11" background "white"
        } else {
            set terminal png size 1000, 700 enhanced background "white"
        }
    }
}
set output OUT
set datafile separator "\t"
set datafile missing "-"
set encoding utf8
