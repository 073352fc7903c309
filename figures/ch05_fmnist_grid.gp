# Chapter 5: Fashion-MNIST samples of the class-conditional flow model with
# classifier-free guidance: one row per class, one column per w = 0, 1, 2.5, 5
# (the same starting noise along a row). Data: build/data/ch05_fmnist_grid.tsv.
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 560,1120 font "Sans,10"
set output out."/ch05_fmnist_grid.png"
set title "Fashion-MNIST, classifier-free guidance\ncolumns: w = 0, 1, 2.5, 5"
unset key; unset colorbox
set palette gray
set cbrange [-1:1]
set xrange [-0.5:111.5]; set yrange [279.5:-0.5]
set size ratio -1
set xtics ("w = 0" 13.5, "1" 41.5, "2.5" 69.5, "5" 97.5)
set ytics ("T-shirt/top" 13.5, "Trouser" 41.5, "Pullover" 69.5, "Dress" 97.5, "Coat" 125.5, \
           "Sandal" 153.5, "Shirt" 181.5, "Sneaker" 209.5, "Bag" 237.5, "Ankle boot" 265.5)
plot data."/ch05_fmnist_grid.tsv" matrix with image
