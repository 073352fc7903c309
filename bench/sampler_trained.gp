# Row 4.4's two error sources (bench/sampler_bench.c): the same starts, the
# same samplers, once on the exact marginal field of the five-mode mixture
# (solid: the integrator's error alone) and once on the lab's trained network
# (dashed: the integrator's error plus the network's), both against the exact
# flow's image of the starts. Where a dashed curve flattens, the network's
# error is what remains: more steps do not buy accuracy past it.
# Blocks of bench/results/sampler_error.tsv: 1 euler, 2 heun, 3 rk4,
# 18 DPM-Solver++(2M) time^2 (exact); 20-23 the same four on the network.
if (!exists("dir")) dir = "bench/results"
set terminal pngcairo size 1300,520 font "Sans,10"
set output dir."/sampler_trained.png"
f = dir."/sampler_error.tsv"
set multiplot layout 1,2 title "The two error sources of a trained sampler: integrator (exact field, solid) and network (trained, dashed)"
set logscale xy
set format y "10^{%L}"
set grid
set xlabel "NFE per sample"
set key outside right top font ",8"
c1 = "#1f77b4"; c2 = "#ff7f0e"; c3 = "#2ca02c"; c4 = "#000000"
set ylabel "sliced W1 to the coupled reference"
plot f index 1 using 2:6 with linespoints lw 1.5 lc rgb c1 pt 7 ps 0.5 title "euler", \
     f index 20 using 2:6 with linespoints lw 1.5 dt 2 lc rgb c1 pt 6 ps 0.5 title "euler, trained", \
     f index 3 using 2:6 with linespoints lw 1.5 lc rgb c3 pt 7 ps 0.5 title "rk4", \
     f index 22 using 2:6 with linespoints lw 1.5 dt 2 lc rgb c3 pt 6 ps 0.5 title "rk4, trained", \
     f index 18 using 2:6 with linespoints lw 2 lc rgb c4 pt 7 ps 0.5 title "DPM-Solver++(2M)", \
     f index 23 using 2:6 with linespoints lw 2 dt 2 lc rgb c4 pt 6 ps 0.5 title "DPM-Solver++(2M), trained"
set ylabel "|mean NLL gap| (nats), paired"
plot f index 1 using 2:(abs($4)) with linespoints lw 1.5 lc rgb c1 pt 7 ps 0.5 title "euler", \
     f index 20 using 2:(abs($4)) with linespoints lw 1.5 dt 2 lc rgb c1 pt 6 ps 0.5 title "euler, trained", \
     f index 3 using 2:(abs($4)) with linespoints lw 1.5 lc rgb c3 pt 7 ps 0.5 title "rk4", \
     f index 22 using 2:(abs($4)) with linespoints lw 1.5 dt 2 lc rgb c3 pt 6 ps 0.5 title "rk4, trained", \
     f index 18 using 2:(abs($4)) with linespoints lw 2 lc rgb c4 pt 7 ps 0.5 title "DPM-Solver++(2M)", \
     f index 23 using 2:(abs($4)) with linespoints lw 2 dt 2 lc rgb c4 pt 6 ps 0.5 title "DPM-Solver++(2M), trained"
unset multiplot
