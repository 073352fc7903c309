# Chapter 6: the log-likelihood of the exact mixture flow computed by the
# instantaneous change of variables (Dormand-Prince, exact divergence; left)
# next to the closed-form log-density (right) on a 41 x 41 grid; they agree
# to 1e-8. Data: build/data/ch06_likelihood.tsv.
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "build/figures"
set terminal pngcairo size 1200,560 font "Sans,10"
set output out."/ch06_likelihood.png"
set multiplot layout 1,2 title "log p_1(x): ODE change of variables vs closed form"
set size ratio -1
set view map; set pm3d map
set cbrange [-12:0]
set palette defined (0 "#08306b", 1 "#2171b5", 2 "#6baed6", 3 "#c6dbef", 4 "white")
unset key
set title "ODE: log p_0(x_0) - int div u dt"
splot data."/ch06_likelihood.tsv" using 1:2:($3 < -12 ? -12 : $3) with pm3d
set title "closed form"
splot data."/ch06_likelihood.tsv" using 1:2:($4 < -12 ? -12 : $4) with pm3d
unset multiplot
