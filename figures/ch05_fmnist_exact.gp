# Chapter 5: the same grid as ch05_fmnist_grid with no network -- the exact
# guided field of the low-rank mixture fitted to Fashion-MNIST (fmd fit-gmm,
# one component per class, rank 32), RK4 40 steps, one row per class, one
# column per w = 0, 1, 2.5, 5, the same noise along a row.
# Data: build/data/ch05_fmnist_exact_grid.tsv (chapters/05-*/main.c).
# Kind: machine-dependent (the fitted 784-dimensional mixture's products go through BLIS's CPU-specific kernels)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 560,1120 font "Sans,10"
set output out."/ch05_fmnist_exact.png"
set title "The fitted mixture, exact guidance\ncolumns: w = 0, 1, 2.5, 5"
unset key; unset colorbox
set palette gray
set cbrange [-1:1]
set xrange [-0.5:111.5]; set yrange [279.5:-0.5]
set size ratio -1
set xtics ("w = 0" 13.5, "1" 41.5, "2.5" 69.5, "5" 97.5)
set ytics ("T-shirt/top" 13.5, "Trouser" 41.5, "Pullover" 69.5, "Dress" 97.5, "Coat" 125.5, \
           "Sandal" 153.5, "Shirt" 181.5, "Sneaker" 209.5, "Bag" 237.5, "Ankle boot" 265.5)
plot data."/ch05_fmnist_exact_grid.tsv" matrix with image
