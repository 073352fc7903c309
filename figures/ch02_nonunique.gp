# Chapter 2, Theorem 3: without a Lipschitz field uniqueness fails. For
# u(x) = 2 sqrt|x| and x(0) = 0, x = 0 and every x_c(t) = (t - c)^2 (t > c)
# are solutions. Euler from exactly 0 stays at 0; from 1e-12 it follows t^2.
# Data: build/data/ch02_nonunique.tsv (chapters/02-*/main.c).
# Kind: exact (double precision, no BLIS product: the same bits on every x86-64 machine with AVX2 and FMA, on any number of threads)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 900,600 font "Sans,11"
set output out."/ch02_nonunique.png"
set title "x' = 2 √|x|, x(0) = 0: infinitely many solutions"
set xlabel "t"; set ylabel "x(t)"
set key top left
plot data."/ch02_nonunique.tsv" using 1:2 with lines lw 2 title "x_c, c = 0", \
     data."/ch02_nonunique.tsv" using 1:3 with lines lw 2 title "c = 0.25", \
     data."/ch02_nonunique.tsv" using 1:4 with lines lw 2 title "c = 0.5", \
     data."/ch02_nonunique.tsv" using 1:5 with lines lw 2 title "c = 0.75", \
     data."/ch02_nonunique.tsv" using 1:6 with lines lw 3 lc rgb "black" title "x = 0", \
     data."/ch02_nonunique.tsv" every 10 using 1:7 with points pt 6 ps 1 lc rgb "black" title "Euler from 0", \
     data."/ch02_nonunique.tsv" every 10 using 1:8 with points pt 2 ps 1 lc rgb "red" title "Euler from 10^{-12}"
