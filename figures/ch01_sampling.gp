# Chapter 1: generation turns x ~ p_init into z ~ p_data.
# Left: samples of p_init = N(0, I). Right: samples of the labelled mixture
# p_data (colour = class y) over the contours of its exact density.
# Data: build/data/ch01_samples.tsv, ch01_density.tsv (chapters/01-*/main.c).
# Kind: exact (double precision, no BLIS product: the same bits on every x86-64 machine with AVX2 and FMA, on any number of threads)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 1200,560 font "Sans,11"
set output out."/ch01_sampling.png"
set multiplot layout 1,2 title "Generation as sampling: from p_{init} to p_{data}"
set size ratio -1
set xrange [-6:6]; set yrange [-6:6]
set key top left opaque
set title "x ∼ p_{init} = N(0, I)"
plot data."/ch01_samples.tsv" using 1:2 with points pt 7 ps 0.3 lc rgb "#555555" title "3000 draws"
set title "z ∼ p_{data} (colour: class y), exact density contours"
set contour base; set cntrparam levels discrete 0.002, 0.01, 0.03, 0.06; unset surface
set table $contours
splot data."/ch01_density.tsv" using 1:2:3 with lines
unset table
unset contour
plot $contours using 1:2 with lines lc rgb "#999999" lw 1 title "p_{data} contours", \
     data."/ch01_samples.tsv" using ($5==0?$3:1/0):4 with points pt 7 ps 0.3 lc rgb "#1f77b4" title "y = 0", \
     data."/ch01_samples.tsv" using ($5==1?$3:1/0):4 with points pt 7 ps 0.3 lc rgb "#d62728" title "y = 1"
unset multiplot
