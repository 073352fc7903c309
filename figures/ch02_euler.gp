# Chapter 2, section 2.4: Euler's method (Algorithm 1's step) against the exact
# flow of the spiral field, for 16, 32, 64 and 256 steps over [0, 3]. The
# error shrinks in proportion to h: Euler is a first-order method. (With
# h > 0.214 it would spiral outwards: |1 + h lambda| > 1 for lambda = -0.45 ± 2i.)
# Data: build/data/ch02_euler.tsv (chapters/02-*/main.c).
# Kind: exact (double precision, no BLIS product: the same bits on every x86-64 machine with AVX2 and FMA, on any number of threads)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 760,700 font "Sans,11"
set output out."/ch02_euler.png"
set title "Euler vs the exact flow ψ_t(x_0) = e^{-θt} R(ωt) x_0"
set size ratio -1
set xlabel "x_1"; set ylabel "x_2"
set key outside bottom center horizontal
plot data."/ch02_euler.tsv" index 0 using 2:3 with lines lw 3 lc rgb "black" title "exact", \
     data."/ch02_euler.tsv" index 1 using 2:3 with linespoints pt 7 ps 0.7 lw 1.5 title "Euler, h = 3/16", \
     data."/ch02_euler.tsv" index 2 using 2:3 with linespoints pt 7 ps 0.5 lw 1.5 title "h = 3/32", \
     data."/ch02_euler.tsv" index 3 using 2:3 with linespoints pt 7 ps 0.4 lw 1.5 title "h = 3/64", \
     data."/ch02_euler.tsv" index 4 using 2:3 with lines lw 1.5 title "h = 3/256"
