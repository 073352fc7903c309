# Chapter 4: samples of the trained model over the exact density of p_data --
# by the ODE (RK4), and by Thm 13's SDE with sigma_t = S beta_t (S = 0.5, 1),
# its score obtained from the field through Prop 1; and ODE trajectories.
# Data: build/data/ch04_samples.tsv, ch04_density.tsv, ch04_trajectories.tsv.
# Kind: machine-dependent (a network trained through BLIS's CPU-specific kernels)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 1750,460 font "Sans,10"
set output out."/ch04_samples.png"
set multiplot layout 1,4 title "Samples of the trained model over the exact p_{data}"
set size ratio -1
set xrange [-4.5:4.5]; set yrange [-4.5:4.5]
unset key
set view map; set pm3d map; unset colorbox
set palette defined (0 "white", 1 "#c6dbef", 2 "#2171b5")
names = "'ODE (RK4)' 'SDE, S = 0.5' 'SDE, S = 1'"
do for [q=0:2] {
    set title word(names, q+1)
    splot data."/ch04_density.tsv" using 1:2:3 with pm3d, \
          data."/ch04_samples.tsv" index q using 1:2:(0) with points pt 7 ps 0.2 lc rgb "black"
}
unset pm3d
set title "ODE trajectories, t = 0 (black) to 1 (red)"
plot for [s=0:29] data."/ch04_trajectories.tsv" index s using 2:3 with lines lw 1 lc rgb "#1f77b4", \
     for [s=0:29] data."/ch04_trajectories.tsv" index s every ::0::0 using 2:3 with points pt 7 ps 0.5 lc rgb "black", \
     for [s=0:29] data."/ch04_trajectories.tsv" index s every ::100::100 using 2:3 with points pt 7 ps 0.5 lc rgb "#d62728"
unset multiplot
