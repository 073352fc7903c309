# Chapter 2, section 2.1: a vector field u(x) = -theta x + omega J x (arrows)
# and its flow: RK4 trajectories from six starting points on a circle.
# Data: build/data/ch02_field.tsv, ch02_trajectories.tsv (chapters/02-*/main.c).
# Kind: exact (double precision, no BLIS product: the same bits on every x86-64 machine with AVX2 and FMA, on any number of threads)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 760,700 font "Sans,11"
set output out."/ch02_flow_field.png"
set title "Vector field u(x) = -0.45 x + 2 (-x_2, x_1) and trajectories of its flow ψ_t"
set size ratio -1
set xrange [-2.2:2.2]; set yrange [-2.2:2.2]
set xlabel "x_1"; set ylabel "x_2"
set key bottom right opaque
plot data."/ch02_field.tsv" using 1:2:3:4 with vectors head size 0.05,20 filled lc rgb "#9a9a9a" title "u(x)", \
     for [s=0:5] data."/ch02_trajectories.tsv" index s using 2:3 with lines lw 2 lc s+1 notitle, \
     for [s=0:5] data."/ch02_trajectories.tsv" index s every ::0::0 using 2:3 with points pt 7 ps 1.2 lc s+1 notitle, \
     1/0 with lines lw 2 lc 1 title "X_t, t ∈ [0, 3] (RK4)"
