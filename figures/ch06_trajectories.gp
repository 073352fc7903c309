# Chapter 6: from the same 30 starts x_T ~ p_T, the reverse-time SDE (top
# left; Heun, exact scores) and the probability-flow ODE (top right; RK4):
# different paths -- the ODE's are smooth and deterministic -- and the same
# marginals (bottom: the first coordinate of all 4000 particles of each at
# t = 0.5, 0.8 and 1, as histograms over the exact density of p_t).
# Data: build/data/ch06_trajectories.tsv, build/data/ch06_marginals.tsv.
# Kind: exact (double precision, no BLIS product: the same bits on every x86-64 machine with AVX2 and FMA, on any number of threads)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 1200,1000 font "Sans,10"
set output out."/ch06_trajectories.png"
set multiplot title "Reverse SDE and probability-flow ODE from the same starts (VP, exact scores)"
# top row: the paths
set size 0.5,0.58
set size ratio -1
set xrange [-4.5:4.5]; set yrange [-4.5:4.5]
unset key
set origin 0.0,0.38
set title "reverse-time SDE"
plot for [p=0:29] data."/ch06_trajectories.tsv" index p using 2:3 with lines lw 0.7 lc rgb "#d62728", \
     for [p=0:29] data."/ch06_trajectories.tsv" index p every ::0::0 using 2:3 with points pt 7 ps 0.5 lc rgb "black"
set origin 0.5,0.38
set title "probability-flow ODE"
plot for [p=30:59] data."/ch06_trajectories.tsv" index p using 2:3 with lines lw 1 lc rgb "#1f77b4", \
     for [p=30:59] data."/ch06_trajectories.tsv" index p every ::0::0 using 2:3 with points pt 7 ps 0.5 lc rgb "black"
# bottom row: the shared marginals of the first coordinate
set size noratio
set size 0.333,0.38
set xrange [-4.5:4.5]; set yrange [0:*]
set xlabel "x_1"
set key top left font ",9"
times = "0.5 0.8 1"
do for [q=0:2] {
    set origin q*0.333,0.0
    set title sprintf("marginal of x_1 at t = %s", word(times, q+1))
    if (q == 0) { set ylabel "density" } else { unset ylabel }
    plot data."/ch06_marginals.tsv" index 2*q using 1:2 with steps lw 1.2 lc rgb "#d62728" title "reverse SDE", \
         data."/ch06_marginals.tsv" index 2*q using 1:3 with steps lw 1.2 lc rgb "#1f77b4" title "probability flow", \
         data."/ch06_marginals.tsv" index 2*q+1 using 1:2 with lines lw 1.5 dt 2 lc rgb "black" title "exact p_t"
}
unset multiplot
