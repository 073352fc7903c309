# Chapter 5: Fashion-MNIST samples with classifier-free guidance, the MLP
# denoiser of part 3 (left) beside the U-Net of part 4 (right): one row per
# class, four samples for each w = 0, 1, 2.5, 5, the same starting noise for
# both models. Data: build/data/ch05_fmnist_grid.tsv and
# build/data/ch05_fmnist_unet_grid.tsv (280 x 448 pixel matrices).
# Kind: machine-dependent (networks trained through BLIS's CPU-specific kernels, float32)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 1240,430 font "Sans,10"
set output out."/ch05_fmnist_grid.png"
set multiplot layout 1,2 title "Fashion-MNIST, classifier-free guidance: four samples for each w = 0, 1, 2.5, 5"
unset key; unset colorbox
set palette gray
set cbrange [-1:1]
set xrange [-0.5:447.5]; set yrange [279.5:-0.5]
set size ratio -1
set xtics ("w = 0" 55.5, "1" 167.5, "2.5" 279.5, "5" 391.5) scale 0
set ytics ("T-shirt/top" 13.5, "Trouser" 41.5, "Pullover" 69.5, "Dress" 97.5, "Coat" 125.5, \
           "Sandal" 153.5, "Shirt" 181.5, "Sneaker" 209.5, "Bag" 237.5, "Ankle boot" 265.5) scale 0
set arrow 1 from 111.5,-0.5 to 111.5,279.5 nohead front lc rgb "#d62728" lw 1
set arrow 2 from 223.5,-0.5 to 223.5,279.5 nohead front lc rgb "#d62728" lw 1
set arrow 3 from 335.5,-0.5 to 335.5,279.5 nohead front lc rgb "#d62728" lw 1
set title "MLP denoiser (chapter 4's network, 1.3 M weights)"
plot data."/ch05_fmnist_grid.tsv" matrix with image
set title "U-Net (lecture 002, on 2 x 2 patches, 0.13 M weights)"
set format y ""
plot data."/ch05_fmnist_unet_grid.tsv" matrix with image
unset multiplot
