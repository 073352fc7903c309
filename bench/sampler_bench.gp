# The sampler benchmark (bench/sampler_bench.c): every sampler of chapters 2
# and 6 on the five-mode mixture (vp path, exact scores), sliced W1 to fresh
# data against NFE (left) and wall time (right); the dashed line is the noise
# floor, fresh data against the same reference data (mean of 5).
if (!exists("dir")) dir = "bench/results"
set terminal pngcairo size 1500,620 font "Sans,10"
set output dir."/sampler_error.png"
set multiplot layout 1,2 title "Samplers with exact scores: sliced W1 to p_{data} (lower is better)"
set logscale xy
set grid
set key outside right top font ",8"
set ylabel "sliced W1"
# blocks: data vs data, then the samplers in this order
names = "euler heun rk4 'dopri5 (adaptive)' 'gsl rk4' 'gsl rkf45' Euler-Maruyama 'stochastic Heun' 'ancestral (eta = 1)' 'DDIM (eta = 0)' predictor-corrector 'exponential, order 1' 'exponential, order 2' 'exponential, data form, order 2'"
set xlabel "NFE per sample"
plot for [i=1:14] dir."/sampler_error.tsv" index i using 2:6 with linespoints pt (i % 7 + 1) ps 0.6 title word(names, i), \
     dir."/sampler_error.tsv" index 0 using 2:6 with lines dt 2 lw 2 lc rgb "gray" title "data vs data"
set xlabel "wall time (s), 4000 samples"
plot for [i=1:14] dir."/sampler_error.tsv" index i using 3:6 with linespoints pt (i % 7 + 1) ps 0.6 title word(names, i), \
     dir."/sampler_error.tsv" index 0 using 3:6 with lines dt 2 lw 2 lc rgb "gray" title "data vs data"
unset multiplot
