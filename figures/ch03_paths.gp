# Chapter 3, 3.1: the conditional path p_t(.|z) (top: one data point z,
# shrinking noise) against the marginal path p_t (bottom: samples over the
# exact density), at t = 0, 0.25, 0.5, 0.75, 1 (CondOT schedule).
# Data: build/data/ch03_paths_*.tsv (chapters/03-*/main.c).
# Kind: exact (double precision, no BLIS product: the same bits on every x86-64 machine with AVX2 and FMA, on any number of threads)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 1750,760 font "Sans,10"
set output out."/ch03_paths.png"
set multiplot layout 2,5 title "Conditional path N(α_t z, β_t^2 I) (top) and marginal path p_t (bottom), CondOT"
set size ratio -1
set xrange [-4.5:4.5]; set yrange [-4.5:4.5]
unset key
ts = "0 0.25 0.5 0.75 1"
do for [q=0:4] {
    set title "p_t(·|z), t = ".word(ts, q+1)
    plot data."/ch03_paths_samples.tsv" index q using 1:2 with points pt 7 ps 0.25 lc rgb "#d62728", \
         "+" using (0.7):(2.1) with points pt 3 ps 2 lw 2 lc rgb "black"
}
set view map; set pm3d map; unset colorbox
set palette defined (0 "white", 1 "#c6dbef", 2 "#2171b5")
do for [q=0:4] {
    set title "p_t, t = ".word(ts, q+1)
    splot data."/ch03_paths_density.tsv" index q using 1:2:3 with pm3d, \
          data."/ch03_paths_samples.tsv" index q using 3:4:(0) with points pt 7 ps 0.2 lc rgb "black"
}
unset multiplot
