# The exact marginal field benchmark (bench/marginal_bench.c): points per
# second evaluating u_t(x) of an 8-component mixture (and of the fitted
# Fashion-MNIST mixture: d = 784, K = 10, covariances of rank 32), ours (C) against
# vectorized NumPy and PyTorch (float64) on the same points in the same run;
# 1 and 2 threads; black: the roofline of the closed form (flops at BLIS's
# dgemm rate + exponentials at SLEEF's rate, or bytes at the copy rate).
if (!exists("dir")) dir = "bench/results"
set terminal pngcairo size 1300,560 font "Sans,10"
set output dir."/marginal_throughput.png"
set title "Exact marginal field u_t(x): K = 8 mixtures, and the Fashion-MNIST mixture (d = 784, K = 10, rank 32); points per second (higher is better); black squares: roofline" font ",10"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set format y "10^{%L}"
set ylabel "points per second"
set xtics rotate by -30 font ",9"
set key top right
set grid ytics
plot dir."/marginal_bars.tsv" using 2:xtic(1) title "ours (C)" lc rgb "#1f77b4", \
     "" using 3 title "NumPy" lc rgb "#ff7f0e", \
     "" using 4 title "PyTorch" lc rgb "#2ca02c", \
     "" using ($0):5 with points pt 5 ps 1.5 lc rgb "black" title "roofline"
