# Chapter 4, section 4.4: which sigma_t? The trained lab model sampled by
# Thm 13's SDE with sigma_t = S beta_t for S = 0 (the ODE) .. 3, the same
# starts and Brownian increments for every S, stochastic Heun 200 steps:
# the exact NLL gap (mean -log p_data of 20000 samples minus the data's own
# mean over 4000 draws), +- 1 SE of the samples' mean: the data's term, shared
# by every S, moves the whole curve by its own SE (0.022) but not one S
# against another.
# Data: build/data/ch04_sigma.tsv (chapters/04-*/main.c).
# Kind: machine-dependent (a network trained through BLIS's CPU-specific kernels)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 760,480 font "Sans,11"
set output out."/ch04_sigma.png"
set title "Sampling the trained model with σ_t = S β_t: exact NLL gap"
set xlabel "S"; set ylabel "NLL gap (nats)"
set grid
set xzeroaxis lt -1
set key off
plot data."/ch04_sigma.tsv" using 1:2:3 with yerrorlines pt 7 lw 2 lc rgb "#1f77b4"
