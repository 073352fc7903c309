# Chapter 3, 3.7 (Thm 13): the SDE dX = [u_t + σ²/2 ∇log p_t] dt + σ dW keeps
# X_t ~ p_t for every σ. Left: sample paths for σ = 0, 0.5, 1, 2 (first
# coordinate). Right: the law of x_1 at t = 1 for each σ (2·10^4 particles)
# against the exact marginal of p_data: one target, four ways there.
# Data: build/data/ch03_sde_paths.tsv, ch03_sde_hist.tsv (chapters/03-*/main.c).
# Kind: exact (double precision, no BLIS product: the same bits on every x86-64 machine with AVX2 and FMA, on any number of threads)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 1500,560 font "Sans,11"
set output out."/ch03_sde.png"
set multiplot layout 1,2 title "SDE extension trick: several σ, the same p_1 = p_{data}"
set title "x_1 along six paths for each σ"
set xlabel "t"; set ylabel "x_1"
set key top left
plot for [s=0:5] data."/ch03_sde_paths.tsv" index s using 1:2 with lines lw 1.2 lc rgb "#1f77b4" notitle, \
     for [s=6:11] data."/ch03_sde_paths.tsv" index s using 1:2 with lines lw 1.2 lc rgb "#2ca02c" notitle, \
     for [s=12:17] data."/ch03_sde_paths.tsv" index s using 1:2 with lines lw 1.2 lc rgb "#ff7f0e" notitle, \
     for [s=18:23] data."/ch03_sde_paths.tsv" index s using 1:2 with lines lw 1.2 lc rgb "#d62728" notitle, \
     1/0 with lines lw 2 lc rgb "#1f77b4" title "σ = 0 (ODE)", 1/0 with lines lw 2 lc rgb "#2ca02c" title "σ = 0.5", \
     1/0 with lines lw 2 lc rgb "#ff7f0e" title "σ = 1", 1/0 with lines lw 2 lc rgb "#d62728" title "σ = 2"
set title "law of x_1 at t = 1"
set xlabel "x_1"; set ylabel "density"
plot data."/ch03_sde_hist.tsv" using 1:2 with steps lw 1.5 lc rgb "#1f77b4" title "σ = 0", \
     data."/ch03_sde_hist.tsv" using 1:3 with steps lw 1.5 lc rgb "#2ca02c" title "σ = 0.5", \
     data."/ch03_sde_hist.tsv" using 1:4 with steps lw 1.5 lc rgb "#ff7f0e" title "σ = 1", \
     data."/ch03_sde_hist.tsv" using 1:5 with steps lw 1.5 lc rgb "#d62728" title "σ = 2", \
     data."/ch03_sde_hist.tsv" using 1:6 with lines lw 3 lc rgb "black" title "exact"
unset multiplot
