# Chapter 2, section 2.5: eight Brownian motion paths W_t (W_0 = 0, Gaussian
# independent increments, simulated with h = 1/1000) inside the band ±2 sqrt(t).
# Data: build/data/ch02_brownian.tsv (chapters/02-*/main.c).
# Kind: exact (double precision, no BLIS product: the same bits on every x86-64 machine with AVX2 and FMA, on any number of threads)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 900,560 font "Sans,11"
set output out."/ch02_brownian.png"
set title "Brownian motion: W_t - W_s ∼ N(0, t - s), independent increments"
set xlabel "t"; set ylabel "W_t"
set key top left
plot for [i=2:9] data."/ch02_brownian.tsv" using 1:i with lines lw 1.2 notitle, \
     data."/ch02_brownian.tsv" using 1:(2*sqrt($1)) with lines dt 2 lw 2 lc rgb "black" title "±2 √t", \
     data."/ch02_brownian.tsv" using 1:(-2*sqrt($1)) with lines dt 2 lw 2 lc rgb "black" notitle
