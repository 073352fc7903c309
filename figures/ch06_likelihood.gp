# Chapter 6, section 6.5: the log-likelihood of the exact mixture flow
# computed by the instantaneous change of variables (Dormand-Prince, exact
# divergence; left) next to the closed-form log-density (middle) on a
# 41 x 41 grid. The two maps look the same; the right panel shows how far
# apart they are, log10 |ODE - closed form|, on its own colour scale: the
# error is 1e-11 to 1e-8 (mean 3e-10), Dormand-Prince's tolerance showing
# through, with rings where the adaptive solver's step count changes.
# Data: build/data/ch06_likelihood.tsv.
# Kind: exact (double precision, no BLIS product: the same bits on every x86-64 machine with AVX2 and FMA, on any number of threads)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 1500,520 font "Sans,10"
set output out."/ch06_likelihood.png"
set multiplot layout 1,3 title "log p_1(x): ODE change of variables vs closed form, and their difference"
set size ratio -1
set view map; set pm3d map
unset key
set cbrange [-12:0]
set palette defined (0 "#08306b", 1 "#2171b5", 2 "#6baed6", 3 "#c6dbef", 4 "white")
set title "ODE: log p_0(x_0) - ∫ div u dt"
splot data."/ch06_likelihood.tsv" using 1:2:($3 < -12 ? -12 : $3) with pm3d
set title "closed form log p_1(x)"
splot data."/ch06_likelihood.tsv" using 1:2:($4 < -12 ? -12 : $4) with pm3d
set title "log_{10} |ODE - closed form|"
set cbrange [-12:-8]
set palette defined (0 "white", 1 "#fee391", 2 "#fe9929", 3 "#cc4c02", 4 "#662506")
splot data."/ch06_likelihood.tsv" using 1:2:(abs($5) > 1e-16 ? log10(abs($5)) : -16) with pm3d
unset multiplot
