# Chapter 4: the same training (CFM, CondOT, MLP 64 x 3 with Fourier time
# features, 3000 steps) on two 2-D toy sets without a density: data (left of
# each pair) and ODE samples of the trained model (right).
# Data: build/data/ch04_toys.tsv (chapters/04-*/main.c).
# Kind: machine-dependent (a network trained through BLIS's CPU-specific kernels)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 1600,440 font "Sans,10"
set output out."/ch04_toys.png"
set multiplot layout 1,4 title "Flow matching on toy data: data vs samples of the trained model"
set size ratio -1
set xrange [-7:7]; set yrange [-7:7]
unset key
titles = "'moons: data' 'moons: samples' 'checkerboard: data' 'checkerboard: samples'"
do for [q=0:3] {
    set title word(titles, q+1)
    plot data."/ch04_toys.tsv" index q using 1:2 with points pt 7 ps 0.2 lc rgb (q % 2 ? "#d62728" : "#1f77b4")
}
unset multiplot
