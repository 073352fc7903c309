# Chapter 3, 3.6: the marginal score grad log p_t at t = 0.5 (CondOT) points
# uphill on the exact density; it is the posterior mean of the conditional
# scores -(x - α_t z)/β_t^2.
# Data: build/data/ch03_fields.tsv, ch03_paths_density.tsv (chapters/03-*/main.c).
# Kind: exact (double precision, no BLIS product: the same bits on every x86-64 machine with AVX2 and FMA, on any number of threads)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 760,700 font "Sans,11"
set output out."/ch03_score.png"
set title "Marginal score ∇ log p_t(x), t = 0.5, over the density p_t"
set size ratio -1
set xrange [-4.2:4.2]; set yrange [-4.2:4.2]
unset key
set view map; set pm3d map; unset colorbox
set palette defined (0 "white", 1 "#c6dbef", 2 "#2171b5")
splot data."/ch03_paths_density.tsv" index 2 using 1:2:3 with pm3d, \
      data."/ch03_fields.tsv" using 1:2:(0):7:8:(0) with vectors head size 0.06,20 filled lc rgb "#333333"
