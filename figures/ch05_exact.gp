# Chapter 5: exact guidance on a labelled mixture (three classes; class 0
# asked). Top: samples of the exact guided ODE (RK4) for w = 0, 1, 2, 4 over
# the tilted density p(x)^(1-w) p(x|y)^w, what the guided score describes at
# t = 1. Bottom: the guided field u~_t = (1 - w) u_t(x) + w u_t(x|y) at t = 0.6.
# Data: build/data/ch05_exact_samples.tsv, ch05_exact_density.tsv, ch05_exact_field.tsv.
# Kind: exact (double precision, no BLIS product: the same bits on every x86-64 machine with AVX2 and FMA, on any number of threads)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 1750,900 font "Sans,10"
set output out."/ch05_exact.png"
set multiplot layout 2,4 title "Classifier-free guidance, exact: class 0 of the three-class mixture" noenhanced
set size ratio -1
set xrange [-4.5:4.5]; set yrange [-4.5:4.5]
unset key
set view map; set pm3d map; unset colorbox
set palette defined (0 "white", 1 "#c6dbef", 2 "#2171b5")
names = "'w = 0 (unconditional)' 'w = 1 (conditional)' 'w = 2' 'w = 4'"
do for [q=0:3] {
    set title word(names, q+1)
    splot data."/ch05_exact_density.tsv" index q using 1:2:3 with pm3d, \
          data."/ch05_exact_samples.tsv" index q using 1:2:(0) with points pt 7 ps 0.2 lc rgb "black"
}
unset pm3d
set xrange [-4.3:4.3]; set yrange [-4.3:4.3]
do for [q=0:3] {
    set title "guided field at t = 0.6, ".word(names, q+1)
    plot data."/ch05_exact_field.tsv" index q using 1:2:($3*0.08):($4*0.08) with vectors head size 0.06,15 lc rgb "#1f77b4"
}
unset multiplot
