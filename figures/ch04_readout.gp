# Chapter 4, "Reading a field off a score": the exact field error
# E|u_theta(x, t) - u_t(x)|^2 (4000 points of p_t, the same for every model)
# of the lab's network trained by each objective on the unseen five-mode
# mixture, the field read off each through Prop 1. Dashed: the plain
# read-out (the network's output is the noise, score or clean data); solid:
# EDM's preconditioned read-out c_skip x + c_out F. The plain noise and
# score models blow up like 1/t^2 near the noise end, the plain denoiser
# like 1/(1 - t)^2 near the data end; preconditioned, all three stay at the
# flow model's level.
# Data: build/data/ch04_readout_t.tsv (chapters/04-*/main.c).
# Kind: machine-dependent (a network trained through BLIS's CPU-specific kernels)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 800,500 font "Sans,11"
set output out."/ch04_readout.png"
set title "The field each objective's network gives, against the exact one"
set xlabel "t"; set ylabel "E |u_θ - u_t|^2"
set logscale y
set format y "10^{%T}"
set grid
set key outside right
f = data."/ch04_readout_t.tsv"
plot f using 1:2 with linespoints pt 7 lw 2 lc rgb "#000000" title "cfm", \
     f using 1:3 with linespoints pt 5 lw 2 dt 2 lc rgb "#1f77b4" title "ddpm (plain)", \
     f using 1:4 with linespoints pt 5 lw 2 lc rgb "#1f77b4" title "ddpm (edm)", \
     f using 1:5 with linespoints pt 9 lw 2 dt 2 lc rgb "#d62728" title "dsm (plain)", \
     f using 1:6 with linespoints pt 9 lw 2 lc rgb "#d62728" title "dsm (edm)", \
     f using 1:7 with linespoints pt 13 lw 2 dt 2 lc rgb "#2ca02c" title "denoiser (plain)", \
     f using 1:8 with linespoints pt 13 lw 2 lc rgb "#2ca02c" title "denoiser (edm)", \
     f using 1:9 with linespoints pt 6 lw 2 lc rgb "#9467bd" title "cfm+dsm (field head)"
