# Chapter 3, 3.3-3.4: at t = 0.5 (CondOT), the conditional field u_t(x|z)
# points every x at one data point z; the marginal field u_t(x) (Thm 10) is
# its posterior average and steers noise to all five modes. Right: ODE
# trajectories of the marginal field from p_0 = N(0, I) to t = 1.
# Data: build/data/ch03_fields.tsv, ch03_trajectories.tsv (chapters/03-*/main.c).
# Kind: exact (double precision, no BLIS product: the same bits on every x86-64 machine with AVX2 and FMA, on any number of threads)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 1750,600 font "Sans,10"
set output out."/ch03_fields.png"
set multiplot layout 1,3 title "Conditional and marginal vector fields (t = 0.5, CondOT) and the flow of the marginal field"
set size ratio -1
set xrange [-4.2:4.2]; set yrange [-4.2:4.2]
unset key
set title "conditional field u_t(x|z), z = (0.7, 2.1)"
plot data."/ch03_fields.tsv" using 1:2:3:4 with vectors head size 0.06,20 filled lc rgb "#d62728", \
     "+" using (0.7):(2.1) with points pt 3 ps 2 lw 2 lc rgb "black"
set title "marginal field u_t(x) (Thm 10)"
plot data."/ch03_fields.tsv" using 1:2:5:6 with vectors head size 0.06,20 filled lc rgb "#1f77b4"
set title "ODE trajectories of u_t, t from 0 (dot) to 1"
plot for [s=0:39] data."/ch03_trajectories.tsv" index s using 2:3 with lines lw 1 lc rgb "#1f77b4", \
     for [s=0:39] data."/ch03_trajectories.tsv" index s every ::0::0 using 2:3 with points pt 7 ps 0.6 lc rgb "black", \
     for [s=0:39] data."/ch03_trajectories.tsv" index s every ::100::100 using 2:3 with points pt 7 ps 0.6 lc rgb "#d62728"
unset multiplot
