# Chapter 2, section 2.8: the Ornstein-Uhlenbeck process dX = -θ X dt + σ dW
# (θ = σ = 1) started at X_0 = 3. Left: 30 paths with the exact mean and
# mean ± 2 sd. Right: the histogram of 10^5 particles at t = 4 against the
# exact density, already close to the stationary law N(0, σ²/2θ).
# Data: build/data/ch02_ou_paths.tsv, ch02_ou_hist.tsv (chapters/02-*/main.c).
# Kind: exact (double precision, no BLIS product: the same bits on every x86-64 machine with AVX2 and FMA, on any number of threads)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 1300,520 font "Sans,11"
set output out."/ch02_ou.png"
set multiplot layout 1,2 title "Ornstein-Uhlenbeck: paths approach the stationary law N(0, σ^2/2θ)"
set title "30 paths, exact mean and mean ± 2 sd"
set xlabel "t"; set ylabel "X_t"
set key top right
plot for [i=2:31] data."/ch02_ou_paths.tsv" using 1:i with lines lw 0.8 lc rgb "#88aacc" notitle, \
     data."/ch02_ou_paths.tsv" using 1:32 with lines lw 3 lc rgb "black" title "E[X_t] = e^{-θt} x_0", \
     data."/ch02_ou_paths.tsv" using 1:33 with lines dt 2 lw 2 lc rgb "black" title "± 2 sd", \
     data."/ch02_ou_paths.tsv" using 1:34 with lines dt 2 lw 2 lc rgb "black" notitle
set title "t = 4: histogram of 10^5 particles vs exact density"
set xlabel "x"; set ylabel "density"
set style fill solid 0.5 border lc rgb "#336699"
plot data."/ch02_ou_hist.tsv" using 1:2 with boxes lc rgb "#88aacc" title "samples", \
     data."/ch02_ou_hist.tsv" using 1:3 with lines lw 3 lc rgb "black" title "exact N(m_t, v_t)"
unset multiplot
