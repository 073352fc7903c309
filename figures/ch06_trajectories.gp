# Chapter 6: from the same 30 starts x_T ~ p_T, the reverse-time SDE (left;
# Heun, exact scores) and the probability-flow ODE (right; RK4): the same
# marginals, different paths -- the ODE's are smooth and deterministic.
# Data: build/data/ch06_trajectories.tsv.
# Kind: exact (double precision, no BLIS product: the same bits on every x86-64 machine with AVX2 and FMA, on any number of threads)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 1200,600 font "Sans,10"
set output out."/ch06_trajectories.png"
set multiplot layout 1,2 title "Reverse SDE and probability-flow ODE from the same starts (VP, exact scores)"
set size ratio -1
set xrange [-4.5:4.5]; set yrange [-4.5:4.5]
unset key
set title "reverse-time SDE"
plot for [p=0:29] data."/ch06_trajectories.tsv" index p using 2:3 with lines lw 0.7 lc rgb "#d62728", \
     for [p=0:29] data."/ch06_trajectories.tsv" index p every ::0::0 using 2:3 with points pt 7 ps 0.5 lc rgb "black"
set title "probability-flow ODE"
plot for [p=30:59] data."/ch06_trajectories.tsv" index p using 2:3 with lines lw 1 lc rgb "#1f77b4", \
     for [p=30:59] data."/ch06_trajectories.tsv" index p every ::0::0 using 2:3 with points pt 7 ps 0.5 lc rgb "black"
unset multiplot
