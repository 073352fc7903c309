# The integrator benchmark (bench/ode_bench.c): for each reference problem,
# the worst particle's relative error against the exact flow versus field
# evaluations per particle (left) and versus wall time for the batch of 10^5
# particles (right). Legends give the fitted slope of log error against
# log NFE: minus the order for the fixed-step methods.
if (!exists("dir")) dir = "bench/results"
set terminal pngcairo size 1500,1500 font "Sans,10"
set output dir."/ode_error_vs_nfe.png"
set logscale xy
set format y "10^{%L}"
set format x "10^{%L}"
set grid
set key outside right top font ",8" spacing 0.9
set multiplot layout 3,2 title "Integrators on 10^5 particles in d = 2: ours (solid) vs GSL gsl\\_odeiv2 (dashed)"
problems = "linear rotation riccati"
names = "'Example 4: u = -1.37 x' 'rotation, omega = 2.385' 'Riccati u = -t x^2'"
do for [p=1:3] {
    f = dir."/ode_".word(problems, p).".tsv"
    set title word(names, p)." -- error vs NFE"
    set xlabel "field evaluations per particle"; set ylabel "max relative error"
    plot for [i=0:6] f index i using 3:5 with linespoints lw 1.5 pt 7 ps 0.5 lt (i+1) dt 1 title columnheader(1), \
         for [i=7:14] f index i using 3:5 with linespoints lw 1.5 pt 6 ps 0.5 lt (i+1) dt 2 title columnheader(1)
    set title word(names, p)." -- error vs time"
    set xlabel "seconds for the batch (1 thread)"
    plot for [i=0:6] f index i using 4:5 with linespoints lw 1.5 pt 7 ps 0.5 lt (i+1) dt 1 notitle, \
         for [i=7:14] f index i using 4:5 with linespoints lw 1.5 pt 6 ps 0.5 lt (i+1) dt 2 notitle
}
unset multiplot
