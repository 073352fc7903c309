# The sampler benchmark (bench/sampler_bench.c): every sampler of chapters 2
# and 6 on the five-mode mixture (vp path, exact scores).
#   top left:     sliced W1 to the reference (the exact flow's image of the same
#                 starts, an exact p_data sample) against NFE;
#   top right:    the same against wall time;
#   bottom left:  |mean NLL gap| (paired with the reference) against NFE;
#   bottom right: sliced W1 to an independent p_data sample against NFE, the
#                 usual two-sample measure, which bottoms out at its noise floor.
# Dashed gray: fresh p_data measured the same way (mean of 5), the floor of
# samplers that do not share the reference's starts (ancestral, DDIM,
# predictor-corrector draw their own). Dotted black: Euler with 1000 steps,
# a yardstick (bench/exact_sampler_bench.c asks what NFE each method needs
# to reach it).
if (!exists("dir")) dir = "bench/results"
set terminal pngcairo size 1500,1100 font "Sans,10"
set output dir."/sampler_error.png"
set multiplot layout 2,2 title "Samplers with exact scores on the five-mode mixture (lower is better)"
set logscale xy
set format y "10^{%L}"
set grid
# one line type per sampler: ODE solvers solid, SDE solvers dashed, the
# discrete samplers dotted, the exponential integrators thick
colors = "#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #7f7f7f #bcbd22 #17becf #000000 #8c564b #1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #e377c2 #000000"
do for [i=1:19] {
    set linetype i lc rgb word(colors, i) lw 1.2 dt solid pt (i % 7 + 1) ps 0.6
    if (i >= 7 && i <= 8) { set linetype i dt 2 }
    if (i >= 9 && i <= 12) { set linetype i dt 3 }
    if (i >= 13) { set linetype i lw 2.5 }
}
set key outside right top font ",7"
# blocks: 0 data vs data, then the samplers in this order (bench/sampler_bench.c, `order`)
names = "euler heun rk4 'dopri5 (adaptive)' 'gsl rk4' 'gsl rkf45' Euler-Maruyama 'stochastic Heun' 'ancestral (eta = 1)' 'DDIM (eta = 0)' predictor-corrector 'annealed Langevin' 'exp. order 1 (DDIM), log-SNR' 'DPM-Solver-2, log-SNR' 'DPM-Solver++(2S), log-SNR' 'DPM-Solver++(2S), time^2' 'DPM-Solver++(2M), log-SNR' 'DPM-Solver++(2M), time^2' 'DPM-Solver++(2M), time^2, to t = 1'"
n = words(names)
f = dir."/sampler_error.tsv"
# Euler-1000 on each measure (block 1 is euler; its row at NFE = 1000)
stats f index 1 using ($2 == 1000 ? $6 : NaN) nooutput; e1000_w1ref = STATS_max
stats f index 1 using ($2 == 1000 ? abs($4) : NaN) nooutput; e1000_nll = STATS_max
stats f index 1 using ($2 == 1000 ? $8 : NaN) nooutput; e1000_w1fresh = STATS_max
set yrange [1e-5:*]
set ylabel "sliced W1 to the coupled reference"
set xlabel "NFE per sample"
plot for [i=1:n] f index i using 2:6 with linespoints lt i title word(names, i), \
     f index 0 using 2:6 with lines dt 2 lw 2 lc rgb "gray" title "data vs data", \
     e1000_w1ref with lines dt 3 lw 2 lc rgb "black" title "Euler-1000"
set xlabel "wall time (s), 4000 samples"
plot for [i=1:n] f index i using 3:6 with linespoints lt i title word(names, i)
set ylabel "|mean NLL gap| (nats), paired"
set xlabel "NFE per sample"
plot for [i=1:n] f index i using 2:(abs($4)) with linespoints lt i title word(names, i), \
     f index 0 using 2:(abs($4) + 2 * $5) with lines dt 2 lw 2 lc rgb "gray" title "data vs data (+2 SE)", \
     e1000_nll with lines dt 3 lw 2 lc rgb "black" title "Euler-1000"
set yrange [0.01:*]
set ylabel "sliced W1 to fresh p_{data}"
plot for [i=1:n] f index i using 2:8 with linespoints lt i title word(names, i), \
     f index 0 using 2:8 with lines dt 2 lw 2 lc rgb "gray" title "data vs data", \
     e1000_w1fresh with lines dt 3 lw 2 lc rgb "black" title "Euler-1000"
unset multiplot
