# Chapter 4: the learned field u_theta (top) next to the exact marginal field
# u_t (bottom) at t = 0.25, 0.5, 0.75, after 5000 CFM steps.
# Data: build/data/ch04_fields.tsv (chapters/04-*/main.c).
# Kind: machine-dependent (a network trained through BLIS's CPU-specific kernels)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 1500,1000 font "Sans,10"
set output out."/ch04_fields.png"
set multiplot layout 2,3 title "Learned field (top) vs exact marginal field (bottom)"
set size ratio -1
set xrange [-4.3:4.3]; set yrange [-4.3:4.3]
unset key
ts = "0.25 0.5 0.75"
do for [q=0:2] {
    set title "u_θ, t = ".word(ts, q+1)
    plot data."/ch04_fields.tsv" index q using 1:2:3:4 with vectors head size 0.06,20 filled lc rgb "#d62728"
}
do for [q=0:2] {
    set title "exact u_t, t = ".word(ts, q+1)
    plot data."/ch04_fields.tsv" index q using 1:2:5:6 with vectors head size 0.06,20 filled lc rgb "#1f77b4"
}
unset multiplot
