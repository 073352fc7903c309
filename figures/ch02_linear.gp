# Chapter 2, section 2.3: Example 4, the linear field u(x) = -theta x
# (theta = 1.37). Every start slides towards 0 along x(t) = e^{-theta t} x_0
# (lines). Euler's steps (points) overshoot towards 0 -- below the curve for
# x_0 > 0, above it for x_0 < 0 -- because each step uses the slope at its
# start, steeper than the curve's average over the step (1 - theta h <
# e^{-theta h}); the gap shrinks in proportion to h (first order).
# Data: build/data/ch02_linear.tsv (chapters/02-*/main.c).
# Kind: exact (double precision, no BLIS product: the same bits on every x86-64 machine with AVX2 and FMA, on any number of threads)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 760,520 font "Sans,11"
set output out."/ch02_linear.png"
set title "Example 4: ψ_t(x_0) = e^{-θt} x_0 (θ = 1.37), and Euler's steps"
set xlabel "t"; set ylabel "x"
set xrange [0:1]
set key top right
plot data."/ch02_linear.tsv" index 0 using 1:2 with lines lw 2.5 lc rgb "black" title "exact flow", \
     data."/ch02_linear.tsv" index 1 using 1:2 with linespoints pt 7 ps 1.0 lw 1.2 lc rgb "#d62728" title "Euler, h = 1/4", \
     data."/ch02_linear.tsv" index 2 using 1:2 with linespoints pt 7 ps 0.5 lw 1.0 lc rgb "#1f77b4" title "Euler, h = 1/16"
