# Chapter 4 (Thm 18): training the lab's model by conditional flow matching.
# The CFM loss (what training sees) levels off at Thm 18's constant
# E|u(x|z)|^2 - E|u(x)|^2 > 0, while the exact FM loss against the true
# marginal field (chapter 3's oracle) keeps falling towards 0.
# Data: build/data/ch04_loss.tsv (chapters/04-*/main.c).
# Kind: machine-dependent (a network trained through BLIS's CPU-specific kernels)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 900,560 font "Sans,11"
set output out."/ch04_loss.png"
set title "Conditional flow matching: the CFM loss plateaus, the exact FM loss falls"
set xlabel "training step"; set ylabel "loss"
set logscale y
set key at graph 0.98, graph 0.72 right
plot data."/ch04_loss.tsv" using 1:5 with linespoints pt 7 ps 0.6 lw 2 title "L_{CFM} (evaluation batch)", \
     data."/ch04_loss.tsv" using 1:3:4 with yerrorlines pt 7 ps 0.6 lw 2 title "exact L_{FM} ± SE", \
     data."/ch04_loss.tsv" using 1:2 with lines lw 1 dt 2 title "L_{CFM} (training batches, smoothed)"
