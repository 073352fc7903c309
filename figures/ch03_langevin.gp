# Chapter 3, 3.10 (Remark 16): Langevin dynamics dX = ∇log p dt + √2 dW on the
# five-mode mixture, every particle started at (3.5, -3.8). Top: the particles at
# T = 0, 2, 5, 10, 30. Bottom: the density of x_1 estimated from 2·10^4
# particles (histogram) against the exact marginal -- reached by T ≈ 30.
# Data: build/data/ch03_langevin_*.tsv (chapters/03-*/main.c).
# Kind: exact (double precision, no BLIS product: the same bits on every x86-64 machine with AVX2 and FMA, on any number of threads)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 1750,760 font "Sans,10"
set output out."/ch03_langevin.png"
set multiplot layout 2,5 title "Langevin dynamics on a five-mode mixture: from a point to p"
times = "0 2 5 10 30"
unset key
do for [q=0:4] {
    set size ratio -1
    set xrange [-4.5:4.5]; set yrange [-4.5:4.5]
    set title "particles, T = ".word(times, q+1)
    plot data."/ch03_langevin_scatter.tsv" index q using 1:2 with points pt 7 ps 0.25 lc rgb "#1f77b4"
}
do for [q=0:4] {
    set size noratio
    set xrange [-4:4]; set yrange [0:*]
    set title "density of x_1, T = ".word(times, q+1)
    plot data."/ch03_langevin_hist.tsv" index q using 1:2 with steps lw 1.5 lc rgb "#1f77b4", \
         data."/ch03_langevin_hist.tsv" index q using 1:3 with lines lw 2.5 lc rgb "black"
}
unset multiplot
